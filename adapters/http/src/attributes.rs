//! Values of the HTTP semantic-convention attributes.

/// The method as the conventions spell it: the known methods as they are,
/// anything else `_OTHER` (a client may send arbitrary methods, and an
/// unbounded set of span names would break every backend's grouping).
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) fn method_name(method: &http::Method) -> &'static str {
    method_name_str(method.as_str())
}

/// [`method_name`] for frameworks with their own method type (actix-web).
pub(crate) fn method_name_str(method: &str) -> &'static str {
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
        _ => "_OTHER",
    }
}

/// `network.protocol.version`.
#[cfg(feature = "tower")]
pub(crate) fn protocol_version(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}
