//! The first attributes a named span starts with.

use opentelemetry::KeyValue;

/// The attributes that identify a span from its start, beside its name
/// (`messaging.destination.name`, `http.route`), for
/// [`Span::with_parent_named`](crate::Span::with_parent_named) and the
/// lazily named starts: head-sampling rules see them as a slice, then the
/// span keeps them one by one.
///
/// Implemented for `Vec<KeyValue>` and for arrays (`[KeyValue; 2]`), which
/// cost a span no allocation of their own.
pub trait Identifying: AsRef<[KeyValue]> + IntoIterator<Item = KeyValue> {}

impl<A: AsRef<[KeyValue]> + IntoIterator<Item = KeyValue>> Identifying for A {}
