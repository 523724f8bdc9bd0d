//! spanflow for HTTP: every request continues the caller's trace.
//!
//! * Servers: [`TraceLayer`], a tower layer for axum, hyper and tonic
//!   (feature `tower`; `axum` adds the route from `MatchedPath`). The span
//!   lasts until the response body has been sent ([`TracedBody`]), so a
//!   streamed response is timed whole and its work nests under it. Every
//!   server layer here enters its span while the handler runs, so what a
//!   plain handler adds to the current span (log lines through spanflow's
//!   bridges, `spanflow::current::set_attribute`) lands on the request's.
//! * Clients: [`TracingMiddleware`] for `reqwest-middleware`, and
//!   [`RequestBuilderExt::send_traced`] for plain `reqwest` (feature
//!   `reqwest`); [`HttpClientLayer`] for tower clients such as hyper-util's
//!   `Client` (feature `tower`).
//! * gRPC: [`GrpcServerLayer`] and [`GrpcClientLayer`] for tonic, over the
//!   call's metadata, with the RPC conventions (feature `grpc`; `tonic`
//!   adds the server's peer).
//! * actix-web: [`ActixTrace`], the server middleware (feature `actix-web`),
//!   whose span likewise lasts until the body has been sent
//!   ([`ActixTracedBody`]).
//! * Any other `http::HeaderMap`: [`Headers`] and [`HeadersMut`], the
//!   carriers the layers above use, for propagators.
//!
//! Context crosses the wire through OpenTelemetry's global propagator, which
//! a spanflow pipeline sets to W3C Trace Context (spanflow's, to the letter)
//! and W3C Baggage, so Java, Go and Python services join the same traces.
//! Server spans start with their names (`{method} {route}`, gRPC's
//! `package.Service/Method`) and identifying attributes, so that
//! [`SamplingRules`](spanflow::SamplingRules) can match the requests that
//! start traces; an unsampled request builds neither.
//!
//! # Attributes
//!
//! They follow the HTTP and RPC semantic conventions. A recorded span
//! carries:
//!
//! | span | attributes |
//! | --- | --- |
//! | HTTP server (tower, actix-web) | `http.request.method` (and `http.request.method_original`), `http.route`, `url.path`, `url.query`, `url.scheme`, `server.address`, `server.port`, `client.address`, `network.peer.address`, `network.peer.port`, `network.protocol.version`, `user_agent.original`, `http.response.status_code`, `error.type` |
//! | HTTP client (reqwest, tower) | `http.request.method` (and `http.request.method_original`), `url.full`, `server.address`, `server.port`, `peer.service` (when mapped), `network.protocol.version` (the response's), `network.peer.address` and `.port` (reqwest; the tower client over hyper-util's legacy `Client`, feature `hyper-util`), `http.response.status_code`, `error.type` |
//! | gRPC (server, client) | `rpc.system.name`, `rpc.method` (`_OTHER` for a method the server does not know, with `rpc.method_original`), `rpc.response.status_code`, `server.address`, `server.port`, `peer.service` (client, when mapped or given), `network.peer.address` and `.port` (tonic's server, feature `tonic`), `error.type` |
//!
//! Each is recorded when the request has it. A response fails a span as
//! the conventions say: a 5xx both spans, a 4xx only the client's (a
//! server answering 404 did its job), with `error.type` the code and a
//! status without description (the code says it). A request that gets no
//! response fails its span with `error.type` naming what went wrong
//! (reqwest: `timeout`, `connect`, `redirect`, `body`, `decode`, `request`,
//! else `reqwest::Error`; `middleware` for a reqwest middleware's own
//! error; the tower client: its error's type) and a body that breaks off with the
//! body's error type; gRPC calls fail with the status's name. The servers
//! take `url.scheme`,
//! `server.address` and `client.address` from a proxy's `Forwarded` or
//! `X-Forwarded-*` headers first, as the conventions ask; the tower layer
//! knows the peer when axum serves with `ConnectInfo<SocketAddr>`. URLs are
//! redacted as the conventions say: credentials show as `REDACTED:REDACTED`
//! in `url.full`, and the values of the query keys that carry signatures
//! and tokens (`X-Amz-Signature`, `X-Amz-Credential`,
//! `X-Amz-Security-Token`, `sig`, `X-Goog-Signature`, or the list a
//! configuration file gives: [`spanflow::config::sensitive_query_parameters`])
//! as `REDACTED` in `url.full` and `url.query`. A method the conventions do not name is
//! `_OTHER`, kept as sent in `http.request.method_original`, and names its
//! span `HTTP`. The spans carry no `code.*` attributes: they would name this
//! crate's source, not the application's.
//!
//! Beyond those, each layer and middleware records what an application
//! asks for, in code ([`HttpSpanOptions`], through `with_options`) or in a
//! configuration file (`instrumentation/development.general.http.server`
//! and `.client`, [`spanflow::config::http_instrumentation`]): request and
//! response headers as `http.request.header.<name>` and
//! `http.response.header.<name>`, and a list of known methods that replaces
//! the conventions' ten (for WebDAV's methods or a cache's `PURGE`; also
//! `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`, the variable the conventions
//! name, [`spanflow::config::HTTP_KNOWN_METHODS`]). Client spans
//! name the service at the host they call as `peer.service`, from the
//! file's `instrumentation/development.general.peer.service_mapping`
//! ([`spanflow::config::peer_service_mapping`]) or
//! [`HttpSpanOptions::peer_services`] (the gRPC client: for the server its
//! `with_server` names, or `with_peer_service`), so that service graphs
//! show a called service that sends no traces of its own. The gRPC
//! layers record the metadata keys they are given
//! (`capture_request_metadata`, `capture_response_metadata`) as
//! `rpc.request.metadata.<key>` and `rpc.response.metadata.<key>`.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use spanflow_http::{TraceLayer, TracingMiddleware};
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let _tracing = spanflow::pipeline!().install()?;
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(TracingMiddleware::new())
//!     .build();
//! let app: Router = Router::new()
//!     .route("/checkout", get(move || async move {
//!         // Continues the trace of the incoming request.
//!         let _ = client.get("http://127.0.0.1:8081/stock").send().await;
//!         "ok"
//!     }))
//!     .layer(TraceLayer::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "actix-web")]
mod actix;
#[cfg(feature = "actix-web")]
mod actix_body;
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
mod attributes;
#[cfg(any(feature = "tower", feature = "actix-web"))]
mod body_span;
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
mod captured_headers;
mod carrier;
#[cfg(feature = "reqwest")]
mod client;
#[cfg(any(feature = "tower", feature = "reqwest"))]
mod client_span;
#[cfg(feature = "tower")]
mod forwarded;
#[cfg(feature = "grpc")]
mod grpc;
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
mod known_methods;
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
mod peer_service;
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
mod redacted;
#[cfg(feature = "tower")]
mod response_body;
#[cfg(feature = "tower")]
mod server;
#[cfg(any(feature = "tower", feature = "actix-web"))]
mod server_span;
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
mod shared_values;
#[cfg(any(feature = "tower", feature = "actix-web"))]
mod span_names;
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
mod span_options;
#[cfg(feature = "tower")]
mod tower_client;

#[cfg(feature = "actix-web")]
pub use actix::{ActixTrace, ActixTraceService};
#[cfg(feature = "actix-web")]
pub use actix_body::ActixTracedBody;
pub use carrier::{Headers, HeadersMut};
#[cfg(feature = "reqwest")]
pub use client::{RequestBuilderExt, TracingMiddleware};
#[cfg(feature = "grpc")]
pub use grpc::{GrpcBody, GrpcClientLayer, GrpcFuture, GrpcServerLayer, GrpcService};
#[cfg(feature = "tower")]
pub use response_body::TracedBody;
#[cfg(feature = "tower")]
pub use server::{ResponseFuture, TraceLayer, TraceService};
#[cfg(any(feature = "tower", feature = "reqwest", feature = "actix-web"))]
pub use span_options::HttpSpanOptions;
#[cfg(feature = "tower")]
pub use tower_client::{HttpClientFuture, HttpClientLayer, HttpClientService};
