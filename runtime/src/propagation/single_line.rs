//! Carriers that give a field's only line, so that an extract sees one
//! `traceparent` without collecting it into a list.

use opentelemetry::propagation::Extractor;

/// An [`Extractor`] that can give a field's only line, telling one line
/// from several without collecting them.
///
/// W3C Trace Context makes a request with two `traceparent` headers
/// invalid, and OpenTelemetry's `Extractor` can tell that only through
/// `get_all`, which collects the lines in a `Vec`: one allocation per
/// extract, for the one line nearly every request has. A carrier that
/// implements this trait is read through [`Extracted::from_single_line`]
/// instead, which asks for the one line and allocates nothing when the
/// installed propagators are spanflow's W3C ones.
///
/// [`Extracted::from_single_line`]: super::Extracted::from_single_line
///
/// ```
/// use opentelemetry::propagation::Extractor;
/// use spanflow::propagation::SingleLineExtractor;
///
/// /// Fields as `(name, value)` lines, names lowercase, repeats allowed.
/// struct Lines<'a>(&'a [(&'a str, &'a str)]);
///
/// impl<'a> Lines<'a> {
///     fn all(&self, key: &str) -> Vec<&'a str> {
///         self.0.iter().filter(|(name, _)| *name == key).map(|(_, value)| *value).collect()
///     }
/// }
///
/// impl Extractor for Lines<'_> {
///     fn get(&self, key: &str) -> Option<&str> {
///         self.all(key).first().copied()
///     }
///     fn keys(&self) -> Vec<&str> {
///         self.0.iter().map(|(name, _)| *name).collect()
///     }
///     fn get_all(&self, key: &str) -> Option<Vec<&str>> {
///         let all = self.all(key);
///         (!all.is_empty()).then_some(all)
///     }
/// }
///
/// impl SingleLineExtractor for Lines<'_> {
///     fn single_line(&self, key: &str) -> Option<&str> {
///         let mut lines = self.0.iter().filter(|(name, _)| *name == key);
///         let (_, first) = lines.next()?;
///         lines.next().is_none().then_some(*first)
///     }
/// }
///
/// # opentelemetry::global::set_text_map_propagator(
/// #     spanflow::propagation::TraceContextPropagator::new());
/// let one = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")];
/// let parent = spanflow::propagation::Extracted::from_single_line(
///     &opentelemetry::Context::new(),
///     &Lines(&one),
/// );
/// assert_eq!(parent.span_context().span_id().to_string(), "b7ad6b7169203331");
///
/// let two = [one[0], one[0]];
/// let parent = spanflow::propagation::Extracted::from_single_line(
///     &opentelemetry::Context::new(),
///     &Lines(&two),
/// );
/// assert!(!parent.span_context().is_valid(), "two traceparents are invalid");
/// ```
pub trait SingleLineExtractor: Extractor {
    /// The line of `key` when the carrier holds exactly one and it is
    /// text; `None` when it holds none, or several. `key` is lowercase, as
    /// propagators ask.
    fn single_line(&self, key: &str) -> Option<&str>;
}
