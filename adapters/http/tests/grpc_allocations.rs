//! What `GrpcServerLayer` adds to a call's allocations on the call's
//! thread, with a counting global allocator (this binary's only test): a
//! gRPC service answering with a trailers-only response is called on the
//! test's thread with the layer and without it, and the difference counted.

#[path = "../../../tests/tests/counting/mod.rs"]
mod counting;
mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Empty;
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, TraceId};
use spanflow_http::GrpcServerLayer;
use support::{attribute, installed, spans_of};
use tower_layer::Layer;
use tower_service::Service;

const TRACE: &str = "2af7651916cd43dd8448eb211c80319c";
const METHOD: &str = "shop.Cart/Add";

fn request() -> Request<Empty<Bytes>> {
    Request::post(format!("/{METHOD}"))
        .header("traceparent", format!("00-{TRACE}-b7ad6b7169203331-01"))
        .header("content-type", "application/grpc")
        .body(Empty::new())
        .expect("a request")
}

/// An OK answer with its status in the headers, as a unary call that fails
/// early or a trailers-only response has it: the layer's span ends with the
/// response.
async fn answer(_request: Request<Empty<Bytes>>) -> Result<Response<Empty<Bytes>>, Infallible> {
    let mut response = Response::new(Empty::new());
    response
        .headers_mut()
        .insert("grpc-status", http::HeaderValue::from_static("0"));
    Ok(response)
}

/// The allocations of `calls` calls of `service` on this thread, responses
/// dropped; the pipeline flushed (uncounted) every 256 calls, so that the
/// spans find the spare records the warm-up left.
fn allocations_of<S>(service: &mut S, calls: u64) -> u64
where
    S: Service<Request<Empty<Bytes>>>,
{
    let mut made = 0;
    for done in 1..=calls {
        let request = request();
        made += counting::allocations_of(|| {
            let response = futures::executor::block_on(service.call(request));
            drop(response);
        });
        if done % 256 == 0 {
            installed().1.flush().expect("flushed in time");
        }
    }
    made
}

#[test]
fn a_call_allocates_once_more_when_traced() {
    installed();
    let mut plain = FnService(answer);
    let mut traced = GrpcServerLayer::new().layer(FnService(answer));
    let trace = TraceId::from_hex(TRACE).expect("hex");

    // Warm the thread's rings, spare records and names.
    allocations_of(&mut plain, 2_048);
    allocations_of(&mut traced, 2_048);
    assert_eq!(spans_of(trace).len(), 2_048);

    const CALLS: u64 = 1_000;
    let untraced = allocations_of(&mut plain, CALLS);
    let made = allocations_of(&mut traced, CALLS) - untraced;
    // The span's own `Context`. The name and `rpc.method` are lent from a
    // per-thread store, and the `traceparent` line is read without
    // OpenTelemetry's `get_all` list.
    assert_eq!(made, CALLS, "allocations for {CALLS} calls");

    let spans = spans_of(trace);
    assert_eq!(spans.len(), 2_048 + CALLS as usize);
    let last = spans.last().expect("spans");
    assert_eq!(last.name, METHOD);
    assert_eq!(last.span_kind, SpanKind::Server);
    assert_eq!(format!("{:016x}", last.parent_span_id), "b7ad6b7169203331");
    assert_eq!(attribute(last, "rpc.method"), Some(&Value::from(METHOD)));
    assert_eq!(
        attribute(last, "rpc.response.status_code"),
        Some(&Value::from("OK"))
    );
}

/// A `Service` from an async fn (tower's `service_fn` is behind its `util`
/// feature, which this crate does not use).
struct FnService<F>(F);

impl<F, Fut> Service<Request<Empty<Bytes>>> for FnService<F>
where
    F: FnMut(Request<Empty<Bytes>>) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Empty<Bytes>>, Infallible>>,
{
    type Response = Response<Empty<Bytes>>;
    type Error = Infallible;
    type Future = Fut;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Empty<Bytes>>) -> Fut {
        (self.0)(request)
    }
}
