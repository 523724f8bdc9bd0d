//! Request and response headers recorded on a span, as the HTTP
//! conventions name them (`http.request.header.<name>` and
//! `http.response.header.<name>`) and the RPC conventions name gRPC
//! metadata (`rpc.request.metadata.<key>`, `rpc.response.metadata.<key>`),
//! each a list of strings with one item per header line, for the headers
//! an application asks for (none by default: headers carry cookies and
//! tokens).

use std::sync::Arc;

use http::HeaderName;
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_semantic_conventions::attribute::{HTTP_REQUEST_HEADER, HTTP_RESPONSE_HEADER};
use spanflow::Span;

/// The headers one side of a request records, with their attribute keys
/// made once.
#[derive(Clone, Debug, Default)]
pub(crate) struct CapturedHeaders(Box<[CapturedHeader]>);

#[derive(Clone, Debug)]
struct CapturedHeader {
    name: HeaderName,
    key: Key,
}

/// Which headers a list captures.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Message {
    Request,
    Response,
    #[cfg(feature = "grpc")]
    RpcRequest,
    #[cfg(feature = "grpc")]
    RpcResponse,
}

impl CapturedHeaders {
    /// `names` under the attribute prefix of `message`'s headers; a name
    /// listed twice is captured once.
    pub(crate) fn new(message: Message, names: impl IntoIterator<Item = HeaderName>) -> Self {
        let prefix = match message {
            Message::Request => HTTP_REQUEST_HEADER,
            Message::Response => HTTP_RESPONSE_HEADER,
            #[cfg(feature = "grpc")]
            Message::RpcRequest => {
                opentelemetry_semantic_conventions::attribute::RPC_REQUEST_METADATA
            }
            #[cfg(feature = "grpc")]
            Message::RpcResponse => {
                opentelemetry_semantic_conventions::attribute::RPC_RESPONSE_METADATA
            }
        };
        let mut captured: Vec<CapturedHeader> = Vec::new();
        for name in names {
            if captured.iter().any(|known| known.name == name) {
                continue;
            }
            // `HeaderName`s are lower case, as the conventions want the key.
            let key = Key::from(Arc::<str>::from(format!("{prefix}.{}", name.as_str())));
            captured.push(CapturedHeader { name, key });
        }
        CapturedHeaders(captured.into_boxed_slice())
    }

    /// The attribute keys, in order.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Vec<&str> {
        self.0
            .iter()
            .map(|captured| captured.key.as_str())
            .collect()
    }

    /// Sets an attribute for each captured header that `headers` has.
    pub(crate) fn record(&self, span: &mut Span, headers: &impl HeaderLines) {
        if self.0.is_empty() || !span.is_recording() {
            return;
        }
        for captured in &self.0 {
            let mut values = Vec::new();
            headers.values(&captured.name, &mut values);
            if !values.is_empty() {
                span.set_attribute(KeyValue::new(
                    captured.key.clone(),
                    Value::Array(Array::String(values)),
                ));
            }
        }
    }
}

#[cfg(feature = "grpc")]
impl CapturedHeaders {
    /// Adds the values of the captured headers in `headers` to `gathered`
    /// (one list per captured header), for a message whose headers come in
    /// more than one map: a gRPC response's metadata is in its headers and
    /// its trailers.
    pub(crate) fn gather(&self, headers: &impl HeaderLines, gathered: &mut Vec<Vec<StringValue>>) {
        gathered.resize_with(self.0.len(), Vec::new);
        for (captured, values) in self.0.iter().zip(gathered.iter_mut()) {
            headers.values(&captured.name, values);
        }
    }

    /// Sets an attribute for each captured header [`gather`](Self::gather)
    /// found.
    pub(crate) fn record_gathered(&self, span: &mut Span, gathered: Vec<Vec<StringValue>>) {
        for (captured, values) in self.0.iter().zip(gathered) {
            if !values.is_empty() {
                span.set_attribute(KeyValue::new(
                    captured.key.clone(),
                    Value::Array(Array::String(values)),
                ));
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A header map of any framework: every line of a header, as text.
pub(crate) trait HeaderLines {
    /// Adds the value of each line of the header `name` to `values`.
    fn values(&self, name: &HeaderName, values: &mut Vec<StringValue>);
}

impl HeaderLines for http::HeaderMap {
    fn values(&self, name: &HeaderName, values: &mut Vec<StringValue>) {
        values.extend(
            self.get_all(name)
                .iter()
                .map(|value| text(value.as_bytes())),
        );
    }
}

/// actix-web's headers are another `http` major version's type.
#[cfg(feature = "actix-web")]
impl HeaderLines for actix_web::http::header::HeaderMap {
    fn values(&self, name: &HeaderName, values: &mut Vec<StringValue>) {
        values.extend(
            self.get_all(name.as_str())
                .map(|value| text(value.as_bytes())),
        );
    }
}

/// A header value as text: bytes that are not UTF-8 (which HTTP allows)
/// are replaced, not dropped, so that the header still shows.
fn text(bytes: &[u8]) -> StringValue {
    String::from_utf8_lossy(bytes).into_owned().into()
}
