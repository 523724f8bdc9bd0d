//! spanflow for actix actors: the context travels with each message, and
//! the time each message waited in the mailbox shows on its span.
//!
//! Actor messages carry no headers, so the context rides in an envelope,
//! [`Traced<M>`]. Two changes make an actor traced:
//!
//! * Senders write `send_traced` / `do_send_traced` / `try_send_traced`
//!   instead of `send` / `do_send` / `try_send` ([`TracedSend`], on `Addr<A>`
//!   and `Recipient<Traced<M>>`). An extension trait was chosen over a
//!   wrapping call (`addr.send(msg.traced())`) because it keeps one word the
//!   difference, returns your message (not an envelope) in `SendError`, and
//!   opens the sender's span at the right moment.
//! * The handler is written once, for `M`, with
//!   [`#[traced_handler]`](traced_handler) on its `impl Handler<M>` block,
//!   which generates the `impl Handler<Traced<M>>` (Rust's orphan rule
//!   rules out a blanket impl in this crate).
//!
//! Every response shape is traced: plain values and `MessageResult` (the
//! span covers the handler), `ResponseFuture` (the span follows the future's
//! task), `ResponseActFuture` and [`AtomicResponse`] (the span is current on
//! every poll of the actor future; use this crate's `AtomicResponse` in
//! place of actix's, whose future cannot be reached), and `SyncArbiter`
//! actors (the context crosses to their threads with the message).
//!
//! Spans: the send is a PRODUCER span `{Message} send` (for `send_traced`
//! it lasts until the reply: the caller's wait), named when it starts, so
//! that [`SamplingRules`](spanflow::SamplingRules) can match the send that
//! starts a trace by that name; the handler is a CONSUMER
//! span `{Actor} handle {Message}` (or the name given with
//! `#[traced_handler(name = "orders.place")]`), child of the send, with
//! [`spanflow.mailbox_ns`](attributes::MAILBOX_NS).
//!
//! ```
//! use actix::prelude::*;
//! use spanflow_actix::{TracedSend, traced_handler};
//!
//! struct Reserve(u32);
//! impl Message for Reserve {
//!     type Result = bool;
//! }
//!
//! struct Inventory;
//! impl Actor for Inventory {
//!     type Context = Context<Self>;
//! }
//!
//! #[traced_handler]
//! impl Handler<Reserve> for Inventory {
//!     type Result = bool;
//!     fn handle(&mut self, message: Reserve, _: &mut Context<Self>) -> bool {
//!         message.0 < 10
//!     }
//! }
//!
//! # actix::System::new().block_on(async {
//! let inventory = Inventory.start();
//! assert_eq!(inventory.send_traced(Reserve(3)).await, Ok(true));
//! # });
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod actor_future;
pub mod attributes;
mod envelope;
mod send;
mod send_callsite;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use actor_future::{AtomicResponse, TracedActorFuture};
pub use envelope::Traced;
pub use send::TracedSend;
pub use spanflow_macros::traced_handler;
