//! Carriers that can count a field's lines, so that an extract sees one
//! `traceparent` without collecting it into a list.

use opentelemetry::propagation::Extractor;

/// An [`Extractor`] that can say how many lines of a field it holds.
///
/// W3C Trace Context makes a request with two `traceparent` headers
/// invalid, and OpenTelemetry's `Extractor` can tell that only through
/// `get_all`, which collects the lines in a `Vec`: one allocation per
/// extract, for the one line nearly every request has. A carrier that
/// implements this trait is read through [`Extracted::from_counting`]
/// instead, which asks for the count and then the line, and allocates
/// nothing when the installed propagators are spanflow's W3C ones.
///
/// [`Extracted::from_counting`]: super::Extracted::from_counting
///
/// ```
/// use opentelemetry::propagation::Extractor;
/// use spanflow::propagation::CountingExtractor;
///
/// /// Fields as `(name, value)` pairs, names lowercase, repeats allowed.
/// struct Pairs<'a>(&'a [(&'a str, &'a str)]);
///
/// impl Extractor for Pairs<'_> {
///     fn get(&self, key: &str) -> Option<&str> {
///         self.0.iter().find(|(name, _)| *name == key).map(|(_, value)| *value)
///     }
///     fn keys(&self) -> Vec<&str> {
///         self.0.iter().map(|(name, _)| *name).collect()
///     }
///     fn get_all(&self, key: &str) -> Option<Vec<&str>> {
///         let all: Vec<&str> = self.0.iter().filter(|(name, _)| *name == key).map(|(_, value)| *value).collect();
///         (!all.is_empty()).then_some(all)
///     }
/// }
///
/// impl CountingExtractor for Pairs<'_> {
///     fn line_count(&self, key: &str) -> usize {
///         self.0.iter().filter(|(name, _)| *name == key).count()
///     }
/// }
///
/// let pairs = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")];
/// # opentelemetry::global::set_text_map_propagator(
/// #     spanflow::propagation::TraceContextPropagator::new());
/// let parent = spanflow::propagation::Extracted::from_counting(
///     &opentelemetry::Context::new(),
///     &Pairs(&pairs),
/// );
/// assert_eq!(parent.span_context().span_id().to_string(), "b7ad6b7169203331");
/// ```
pub trait CountingExtractor: Extractor {
    /// How many lines of `key` the carrier holds, text or not; `get(key)`
    /// must return the first when there is one. `key` is lowercase, as
    /// propagators ask.
    fn line_count(&self, key: &str) -> usize;
}
