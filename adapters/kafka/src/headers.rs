//! W3C Trace Context and Baggage in Kafka record headers: the carriers.
//!
//! Written by hand, over librdkafka's header functions, because rdkafka's
//! own header accessors unwrap a UTF-8 conversion of every key: a record
//! with a non-UTF-8 header key, which any client may produce, would panic
//! the consumer. Here keys and values are compared as bytes, and anything
//! that is not UTF-8, or is empty, counts as absent.

use std::ffi::{CStr, CString, c_char, c_void};

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use rdkafka::message::{BorrowedHeaders, Message, OwnedHeaders};
use rdkafka_sys as rdsys;
use rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
use spanflow::propagation::{Extracted, SingleLineExtractor};

/// Writes propagation fields into [`OwnedHeaders`] for an
/// `opentelemetry` propagator: each key exactly once (earlier headers of
/// that key are removed; every other header stays, in order).
///
/// ```
/// use opentelemetry::propagation::Injector;
/// use rdkafka::message::{Header, OwnedHeaders};
/// use spanflow_kafka::{HeaderExtractor, HeaderInjector};
/// use opentelemetry::propagation::Extractor;
///
/// let mut headers = OwnedHeaders::new()
///     .insert(Header { key: "traceparent", value: Some("stale") })
///     .insert(Header { key: "tenant", value: Some("acme") });
/// HeaderInjector::new(&mut headers).set("traceparent", "fresh".to_owned());
/// let read = HeaderExtractor::new(&headers);
/// assert_eq!(read.get("traceparent"), Some("fresh"));
/// assert_eq!(read.keys(), ["tenant", "traceparent"]);
/// ```
pub struct HeaderInjector<'a> {
    headers: &'a mut OwnedHeaders,
}

impl<'a> HeaderInjector<'a> {
    /// An injector writing into `headers`.
    pub fn new(headers: &'a mut OwnedHeaders) -> Self {
        HeaderInjector { headers }
    }
}

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let list = native_mut(self.headers);
        // A key with a NUL byte cannot be a C string; no propagator writes one.
        with_c_key(key, |name| {
            // SAFETY: `list` is the live, writable header list `self.headers`
            // owns (we hold it exclusively); `name` is NUL-terminated;
            // librdkafka copies name and value. An absent key makes remove
            // answer NOENT, which is what we want.
            unsafe {
                rdsys::rd_kafka_header_remove(list, name.as_ptr());
                rdsys::rd_kafka_header_add(
                    list,
                    name.as_ptr(),
                    key.len() as isize,
                    value.as_ptr().cast::<c_void>(),
                    value.len() as isize,
                );
            }
        });
    }
}

/// Reads propagation fields from record headers, for an `opentelemetry`
/// propagator. The last header of a key wins (the rule of the Java
/// instrumentation); a non-UTF-8 or empty value is absent, and a non-UTF-8
/// key is never listed.
pub struct HeaderExtractor<'a> {
    headers: &'a BorrowedHeaders,
}

impl<'a> HeaderExtractor<'a> {
    /// An extractor over a consumed message's headers or over
    /// [`OwnedHeaders`].
    pub fn new(headers: &'a impl AsBorrowedHeaders) -> Self {
        HeaderExtractor {
            headers: headers.as_borrowed_headers(),
        }
    }
}

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let (found, value, size) = with_c_key(key, |name| {
            let mut value: *const c_void = std::ptr::null();
            let mut size = 0usize;
            // SAFETY: the list lives as long as `self.headers`; librdkafka
            // points `value` into it (not NUL-terminated: `size` bytes).
            let found = unsafe {
                rdsys::rd_kafka_header_get_last(
                    native(self.headers),
                    name.as_ptr(),
                    &mut value,
                    &mut size,
                )
            };
            (found, value, size)
        })?;
        if found != RD_KAFKA_RESP_ERR_NO_ERROR || value.is_null() || size == 0 {
            return None;
        }
        // SAFETY: as above; the bytes stay valid while the list does.
        let bytes = unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) };
        std::str::from_utf8(bytes).ok()
    }

    fn keys(&self) -> Vec<&str> {
        let list = native(self.headers);
        // SAFETY: a live header list.
        let count = unsafe { rdsys::rd_kafka_header_cnt(list) };
        (0..count)
            .filter_map(|index| {
                let mut name: *const c_char = std::ptr::null();
                let mut value: *const c_void = std::ptr::null();
                let mut size = 0usize;
                // SAFETY: `index` is below the count; librdkafka points `name`
                // at its NUL-terminated copy of the key, inside the list.
                let found = unsafe {
                    rdsys::rd_kafka_header_get_all(list, index, &mut name, &mut value, &mut size)
                };
                if found != RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
                    return None;
                }
                // SAFETY: as above.
                unsafe { CStr::from_ptr(name) }.to_str().ok()
            })
            .collect()
    }
}

/// Runs `use_key` on `key` as a C string, for librdkafka's header
/// functions; `None` for a key holding a NUL byte. Propagation keys are
/// short (`traceparent`, `baggage`): they are terminated on the stack, so
/// that a lookup allocates nothing; a longer key is copied to the heap.
fn with_c_key<R>(key: &str, use_key: impl FnOnce(&CStr) -> R) -> Option<R> {
    const ON_STACK: usize = 64;
    if key.len() < ON_STACK {
        let mut buffer = [0u8; ON_STACK];
        buffer[..key.len()].copy_from_slice(key.as_bytes());
        CStr::from_bytes_with_nul(&buffer[..=key.len()])
            .ok()
            .map(use_key)
    } else {
        CString::new(key).ok().map(|name| use_key(&name))
    }
}

/// Header lists this crate can read: a consumed message's
/// [`BorrowedHeaders`] and [`OwnedHeaders`]. Sealed.
pub trait AsBorrowedHeaders: sealed::Sealed {
    /// The headers as rdkafka's borrowed view.
    fn as_borrowed_headers(&self) -> &BorrowedHeaders;
}

impl AsBorrowedHeaders for BorrowedHeaders {
    fn as_borrowed_headers(&self) -> &BorrowedHeaders {
        self
    }
}

impl AsBorrowedHeaders for OwnedHeaders {
    fn as_borrowed_headers(&self) -> &BorrowedHeaders {
        self.as_borrowed()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for rdkafka::message::BorrowedHeaders {}
    impl Sealed for rdkafka::message::OwnedHeaders {}
}

/// Writes `context` into `headers` through the global propagator
/// (`traceparent`, `tracestate`, `baggage` with spanflow's default).
pub fn inject_context(context: &Context, headers: &mut OwnedHeaders) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(context, &mut HeaderInjector::new(headers));
    });
}

/// The context a message carries, through the global propagator: its
/// producer's span as a remote parent, or an empty context when the headers
/// carry none or garbage.
pub fn extract_context<M>(message: &M) -> Context
where
    M: Message,
    M::Headers: AsBorrowedHeaders,
{
    match message.headers() {
        Some(headers) => opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract_with_context(&Context::new(), &HeaderExtractor::new(headers))
        }),
        None => Context::new(),
    }
}

/// The last header of a key wins, so a key's value is its only line: what
/// lets spanflow's extract read a `traceparent` without OpenTelemetry's
/// `get_all` list (an allocation per message).
impl SingleLineExtractor for HeaderExtractor<'_> {
    fn single_line(&self, key: &str) -> Option<&str> {
        self.get(key)
    }
}

/// [`extract_context`] for a span started under it (or linked to it) at
/// once: with spanflow's propagators the producer's span context is not
/// put in a `Context` of its own (see [`Extracted`]). `None` for a message
/// without headers, which names no parent (a new trace, no link), without
/// asking the propagator.
#[inline]
pub(crate) fn extract_parent<M>(message: &M) -> Option<Extracted>
where
    M: Message,
    M::Headers: AsBorrowedHeaders,
{
    let headers = message.headers()?;
    Some(Extracted::from_single_line(
        &Context::new(),
        &HeaderExtractor::new(headers),
    ))
}

/// rdkafka's `BorrowedHeaders` is a zero-sized view whose address is
/// librdkafka's header list (`BorrowedHeaders::as_native_ptr` is private);
/// the unit test `native_pointer_is_the_header_list` checks that this holds.
fn native(headers: &BorrowedHeaders) -> *const rdsys::rd_kafka_headers_t {
    (headers as *const BorrowedHeaders).cast()
}

fn native_mut(headers: &mut OwnedHeaders) -> *mut rdsys::rd_kafka_headers_t {
    native(headers.as_borrowed()).cast_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::{Header, Headers};

    #[test]
    fn native_pointer_is_the_header_list() {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "a",
                value: Some("1"),
            })
            .insert(Header {
                key: "b",
                value: Some("2"),
            });
        // SAFETY: a live list.
        let count = unsafe { rdsys::rd_kafka_header_cnt(native(headers.as_borrowed())) };
        assert_eq!(count, headers.count());
        assert_eq!(HeaderExtractor::new(&headers).get("b"), Some("2"));
    }

    #[test]
    fn injecting_replaces_every_earlier_header_of_the_key_and_keeps_the_rest_in_order() {
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: "traceparent",
                value: Some("old-1"),
            })
            .insert(Header {
                key: "user",
                value: Some("u"),
            })
            .insert(Header {
                key: "traceparent",
                value: Some("old-2"),
            })
            .insert(Header {
                key: "z",
                value: None::<&str>,
            });
        HeaderInjector::new(&mut headers).set("traceparent", "new".to_owned());
        let pairs: Vec<(String, Option<Vec<u8>>)> = headers
            .iter()
            .map(|header| (header.key.to_owned(), header.value.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(
            pairs,
            [
                ("user".to_owned(), Some(b"u".to_vec())),
                ("z".to_owned(), None),
                ("traceparent".to_owned(), Some(b"new".to_vec())),
            ]
        );
    }

    #[test]
    fn the_last_header_of_a_key_wins_and_empty_or_non_utf8_values_are_absent() {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "k",
                value: Some("first"),
            })
            .insert(Header {
                key: "k",
                value: Some("last"),
            })
            .insert(Header {
                key: "empty",
                value: Some(""),
            })
            .insert(Header {
                key: "null",
                value: None::<&str>,
            })
            .insert(Header {
                key: "binary",
                value: Some(&[0xff_u8, 0xfe][..]),
            });
        let read = HeaderExtractor::new(&headers);
        assert_eq!(read.get("k"), Some("last"));
        assert_eq!(read.get("empty"), None);
        assert_eq!(read.get("null"), None);
        assert_eq!(read.get("binary"), None);
        assert_eq!(read.get("missing"), None);
        assert_eq!(read.get("nul\0key"), None);
    }

    #[test]
    fn non_utf8_keys_are_skipped_without_panicking() {
        let mut headers = OwnedHeaders::new().insert(Header {
            key: "ok",
            value: Some("1"),
        });
        let key = [0xc3_u8, 0x28, 0];
        // SAFETY: a writable list we own; the key is NUL-terminated.
        unsafe {
            rdsys::rd_kafka_header_add(
                native_mut(&mut headers),
                key.as_ptr().cast(),
                2,
                b"v".as_ptr().cast(),
                1,
            );
        }
        let read = HeaderExtractor::new(&headers);
        assert_eq!(read.keys(), ["ok"]);
        assert_eq!(read.get("ok"), Some("1"));
    }

    #[test]
    fn keys_of_any_length_are_written_and_read_and_keys_with_nul_are_absent() {
        let long = "k".repeat(200);
        let mut headers = OwnedHeaders::new();
        for key in ["", "traceparent", &"x".repeat(63), &"y".repeat(64), &long] {
            HeaderInjector::new(&mut headers).set(key, format!("value of {}", key.len()));
            let read = HeaderExtractor::new(&headers);
            assert_eq!(read.get(key), Some(&*format!("value of {}", key.len())));
        }
        HeaderInjector::new(&mut headers).set("nul\0inside", "never".to_owned());
        let read = HeaderExtractor::new(&headers);
        assert_eq!(read.keys().len(), 5);
        assert_eq!(read.get("nul\0inside"), None);
        assert_eq!(read.get("nul"), None);
    }
}
