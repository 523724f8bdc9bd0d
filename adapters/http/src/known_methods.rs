//! The methods HTTP spans record as they are; any other is `_OTHER`. The
//! conventions name ten (RFC 9110's eight, `PATCH` and `QUERY`) and ask
//! instrumentation to let users replace the list (for WebDAV's methods,
//! or a cache's `PURGE`).

use std::sync::{Mutex, PoisonError};

/// `http.request.method` for a method not known.
pub(crate) const OTHER_METHOD: &str = "_OTHER";

/// The methods a layer calls known.
#[derive(Clone, Debug, Default)]
pub(crate) enum KnownMethods {
    /// `GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `CONNECT`, `OPTIONS`,
    /// `TRACE`, `PATCH`, `QUERY`.
    #[default]
    Conventions,
    /// A list replacing the conventions' one.
    Listed(Box<[&'static str]>),
}

impl KnownMethods {
    /// `methods` as the known ones, matched case-sensitively.
    pub(crate) fn listed<'a>(methods: impl IntoIterator<Item = &'a str>) -> Self {
        let mut listed: Vec<&'static str> = Vec::new();
        for method in methods {
            let kept = kept_method(method);
            if !listed.contains(&kept) {
                listed.push(kept);
            }
        }
        KnownMethods::Listed(listed.into_boxed_slice())
    }

    /// `http.request.method` for `method`: as sent when known, else
    /// `_OTHER` (a client may send any method, and an unbounded set of
    /// span names would break every backend's grouping).
    pub(crate) fn name(&self, method: &str) -> &'static str {
        match self {
            KnownMethods::Conventions => conventions_name(method),
            KnownMethods::Listed(listed) => listed
                .iter()
                .find(|known| **known == method)
                .copied()
                .unwrap_or(OTHER_METHOD),
        }
    }
}

/// [`KnownMethods::Conventions`]' naming, a match on the sent method.
fn conventions_name(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        "QUERY" => "QUERY",
        _ => OTHER_METHOD,
    }
}

/// Methods an application listed beyond the conventions' ten, kept for
/// the rest of the process: span names and attribute values borrow them.
/// Only configuration reaches here, never a request, so the list is as
/// long as the distinct methods an application names.
static LISTED_METHODS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn kept_method(method: &str) -> &'static str {
    let known = conventions_name(method);
    if known != OTHER_METHOD {
        return known;
    }
    let mut listed = LISTED_METHODS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(kept) = listed.iter().find(|kept| **kept == method) {
        return kept;
    }
    let kept: &'static str = Box::leak(method.into());
    listed.push(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conventions_name_ten_methods() {
        let known = KnownMethods::Conventions;
        for method in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
        ] {
            assert_eq!(known.name(method), method);
        }
        assert_eq!(known.name("get"), OTHER_METHOD);
        assert_eq!(known.name("PROPFIND"), OTHER_METHOD);
    }

    #[test]
    fn a_listed_set_replaces_the_conventions_one() {
        let known = KnownMethods::listed(["GET", "PURGE", "PURGE", "PROPFIND"]);
        assert_eq!(known.name("PURGE"), "PURGE");
        assert_eq!(known.name("PROPFIND"), "PROPFIND");
        assert_eq!(known.name("GET"), "GET");
        assert_eq!(known.name("POST"), OTHER_METHOD);
        assert_eq!(known.name("QUERY"), OTHER_METHOD);
        assert_eq!(known.name("purge"), OTHER_METHOD);
        let KnownMethods::Listed(listed) = &known else {
            panic!("listed");
        };
        assert_eq!(listed.len(), 3);
        // Kept once, whoever lists it.
        let again = KnownMethods::listed(["PURGE"]);
        assert!(std::ptr::eq(again.name("PURGE"), known.name("PURGE")));
        assert_eq!(KnownMethods::listed([]).name("GET"), OTHER_METHOD);
    }
}
