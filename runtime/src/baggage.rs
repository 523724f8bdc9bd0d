//! Request-scoped entries that travel with the trace (W3C Baggage): a tenant
//! id, a request priority, feature flags.
//!
//! Entries live in the OpenTelemetry `Context`, so they cross `.await`,
//! [`spawn`](crate::spawn) and every hop that propagates the context;
//! [`Pipeline::with_baggage_attributes`](crate::Pipeline::with_baggage_attributes)
//! copies chosen ones onto every span.
//!
//! ```
//! let cx = spanflow::baggage::with_entries([("tenant.id", "acme"), ("priority", "high")]);
//! spanflow::with_context(&cx, || {
//!     assert_eq!(spanflow::baggage::get("tenant.id").as_deref(), Some("acme"));
//! });
//! assert_eq!(spanflow::baggage::get("tenant.id"), None);
//! ```

use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::{Context, Key, StringValue};

/// The current context with these entries added to (or replacing those in)
/// its baggage. Make it current with [`with_context`](crate::with_context)
/// or [`in_context`](crate::in_context).
pub fn with_entries<K, V>(entries: impl IntoIterator<Item = (K, V)>) -> Context
where
    K: Into<Key>,
    V: Into<StringValue>,
{
    let added: Vec<KeyValueMetadata> = entries
        .into_iter()
        .map(|(key, value)| KeyValueMetadata::new(key, value, ""))
        .collect();
    Context::map_current(|cx| {
        // Existing entries first, so that an added key replaces its value.
        let existing = cx.baggage().iter().map(|(key, (value, metadata))| {
            KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone())
        });
        let merged: Vec<KeyValueMetadata> = existing.chain(added).collect();
        cx.with_baggage(merged)
    })
}

/// An entry of the current context's baggage.
pub fn get(key: &str) -> Option<String> {
    Context::map_current(|cx| cx.baggage().get(key).map(|value| value.as_str().to_owned()))
}
