//! What of a URL may leave in telemetry, as the HTTP semantic conventions
//! say: credentials in a URL become `REDACTED:REDACTED`, and the values of
//! the query keys that carry signatures and tokens (presigned S3, Azure
//! SAS and Google Cloud Storage URLs) become `REDACTED`, the keys kept. A
//! configuration file may replace the list of keys
//! ([`spanflow::config::sensitive_query_parameters`]).

use std::borrow::Cow;
use std::sync::LazyLock;

/// What a URL's user, its password and a sensitive query value are
/// replaced by.
pub(crate) const REDACTED: &str = "REDACTED";

/// The conventions' default list of query keys whose values are redacted,
/// matched case-sensitively as they ask.
const DEFAULT_SENSITIVE_QUERY_KEYS: [&str; 5] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "sig",
    "X-Goog-Signature",
];

/// The keys in force: the configuration file's list (the file named by
/// `OTEL_CONFIG_FILE`, read on the first request that needs the list), else
/// the default.
static SENSITIVE_QUERY_KEYS: LazyLock<Vec<Cow<'static, str>>> =
    LazyLock::new(|| match spanflow::config::sensitive_query_parameters() {
        Some(listed) => listed.into_iter().map(Cow::Owned).collect(),
        None => DEFAULT_SENSITIVE_QUERY_KEYS.map(Cow::Borrowed).to_vec(),
    });

/// `query` (without its `?`) with the values of sensitive keys redacted;
/// lent as it is when it has none, the usual case.
pub(crate) fn redacted_query(query: &str) -> Cow<'_, str> {
    redacted_query_by(query, &SENSITIVE_QUERY_KEYS)
}

fn redacted_query_by<'q>(query: &'q str, sensitive: &[Cow<'static, str>]) -> Cow<'q, str> {
    let sensitive_key = |pair: &'q str| {
        let (key, _) = pair.split_once('=')?;
        sensitive.iter().any(|known| known == key).then_some(key)
    };
    if !query.split('&').any(|pair| sensitive_key(pair).is_some()) {
        return Cow::Borrowed(query);
    }
    let mut shown = String::with_capacity(query.len());
    for (index, pair) in query.split('&').enumerate() {
        if index > 0 {
            shown.push('&');
        }
        match sensitive_key(pair) {
            Some(key) => {
                shown.push_str(key);
                shown.push('=');
                shown.push_str(REDACTED);
            }
            None => shown.push_str(pair),
        }
    }
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_are_redacted_and_their_keys_kept() {
        for (query, shown) in [
            ("q=OpenTelemetry", "q=OpenTelemetry"),
            ("", ""),
            ("color=blue&sig=abc%2Fdef", "color=blue&sig=REDACTED"),
            (
                "X-Amz-Credential=AKIA%2F20261127&X-Amz-Signature=f00d&X-Amz-Expires=60",
                "X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Expires=60",
            ),
            (
                "X-Goog-Signature=1&X-Amz-Security-Token=2",
                "X-Goog-Signature=REDACTED&X-Amz-Security-Token=REDACTED",
            ),
            // Case-sensitive, as the conventions ask; a key without a value
            // has nothing to hide.
            ("SIG=1&x-amz-signature=2&sig", "SIG=1&x-amz-signature=2&sig"),
            ("signature=1&sigs=2", "signature=1&sigs=2"),
        ] {
            let redacted = redacted_query(query);
            assert_eq!(redacted, shown, "{query}");
            assert_eq!(matches!(redacted, Cow::Borrowed(_)), query == shown);
        }
    }

    #[test]
    fn a_configured_list_replaces_the_default_one() {
        let listed = [Cow::Borrowed("token")];
        assert_eq!(
            redacted_query_by("token=abc&sig=def", &listed),
            "token=REDACTED&sig=def"
        );
        assert_eq!(
            redacted_query_by("token=abc&sig=def", &[]),
            "token=abc&sig=def"
        );
    }
}
