//! What a span keeps of what it is given: the SDK's count limits, and the
//! attribute value length limit the SDK (0.33) does not have.

use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanLimits};

/// The limits every recorded span is held to.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Limits {
    /// Attributes, events and links per span, attributes per event and link.
    pub(crate) counts: SpanLimits,
    /// The characters a string attribute value (or each string of an array)
    /// keeps; `None` keeps them all, the specification's default.
    pub(crate) value_length: Option<usize>,
}

impl Limits {
    /// Cuts `attribute`'s value to the length limit.
    #[inline]
    pub(crate) fn cut(&self, attribute: &mut KeyValue) {
        if let Some(length) = self.value_length {
            cut_value(&mut attribute.value, length);
        }
    }

    /// Cuts `value` to the length limit.
    #[inline]
    pub(crate) fn cut_value(&self, value: &mut Value) {
        if let Some(length) = self.value_length {
            cut_value(value, length);
        }
    }

    /// The part of `text` a string value of it would keep.
    #[inline]
    pub(crate) fn cut_text<'a>(&self, text: &'a str) -> &'a str {
        match self.value_length.and_then(|length| cut_end(text, length)) {
            Some(end) => &text[..end],
            None => text,
        }
    }

    /// Cuts the values of all attributes `attributes` holds.
    #[inline]
    pub(crate) fn cut_all(&self, attributes: &mut [KeyValue]) {
        if let Some(length) = self.value_length {
            for attribute in attributes {
                cut_value(&mut attribute.value, length);
            }
        }
    }

    /// Cuts the attribute values of a span, its events and its links: for
    /// spans the SDK's provider made, which has no such limit.
    pub(crate) fn cut_span_data(&self, span: &mut SpanData) {
        if self.value_length.is_none() {
            return;
        }
        self.cut_all(&mut span.attributes);
        for event in span.events.events.iter_mut() {
            self.cut_all(&mut event.attributes);
        }
        for link in span.links.links.iter_mut() {
            self.cut_all(&mut link.attributes);
        }
    }
}

/// The first `length` characters of a string value, or of each string of an
/// array; other values are left as they are, as the specification says.
/// Characters, not bytes, so that a cut never splits one (the other SDKs
/// count characters too).
fn cut_value(value: &mut Value, length: usize) {
    match value {
        Value::String(string) => {
            if let Some(cut) = cut_string(string, length) {
                *string = cut;
            }
        }
        Value::Array(Array::String(strings)) => {
            for string in strings {
                if let Some(cut) = cut_string(string, length) {
                    *string = cut;
                }
            }
        }
        _ => {}
    }
}

/// Where the first `length` characters of `text` end; `None` when it is
/// no longer than that.
fn cut_end(text: &str, length: usize) -> Option<usize> {
    if text.len() <= length {
        // Never more characters than bytes.
        return None;
    }
    text.char_indices().nth(length).map(|(end, _)| end)
}

/// `None` when `string` is no longer than `length` characters.
fn cut_string(string: &StringValue, length: usize) -> Option<StringValue> {
    let text = string.as_str();
    let end = cut_end(text, length)?;
    Some(StringValue::from(text[..end].to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(length: usize) -> Limits {
        Limits {
            value_length: Some(length),
            ..Limits::default()
        }
    }

    #[test]
    fn string_values_keep_their_first_characters() {
        let mut attribute = KeyValue::new("s", "abcdef");
        limited(4).cut(&mut attribute);
        assert_eq!(attribute.value, Value::from("abcd"));

        // "é" is two bytes: four characters are six bytes here.
        let mut attribute = KeyValue::new("s", "ééééé");
        limited(4).cut(&mut attribute);
        assert_eq!(attribute.value, Value::from("éééé"));

        let mut attribute = KeyValue::new("s", "abc");
        limited(4).cut(&mut attribute);
        assert_eq!(attribute.value, Value::from("abc"));

        let mut attribute = KeyValue::new("s", "abc");
        limited(0).cut(&mut attribute);
        assert_eq!(attribute.value, Value::from(""));
    }

    #[test]
    fn each_string_of_an_array_is_cut_and_other_values_are_kept() {
        let strings = vec![StringValue::from("abcdef"), StringValue::from("ab")];
        let mut attribute = KeyValue::new("a", Value::Array(Array::String(strings)));
        limited(3).cut(&mut attribute);
        let expected = vec![StringValue::from("abc"), StringValue::from("ab")];
        assert_eq!(attribute.value, Value::Array(Array::String(expected)));

        let mut others = [
            KeyValue::new("i", 123_456_789_i64),
            KeyValue::new("f", 1.234_567),
            KeyValue::new("b", true),
            KeyValue::new("ai", Value::Array(Array::I64(vec![1, 2, 3, 4, 5]))),
        ];
        let before = others.to_vec();
        limited(1).cut_all(&mut others);
        assert_eq!(others.to_vec(), before);
    }

    #[test]
    fn text_keeps_its_first_characters() {
        assert_eq!(limited(4).cut_text("ééééé"), "éééé");
        assert_eq!(limited(4).cut_text("abc"), "abc");
        assert_eq!(limited(0).cut_text("abc"), "");
        assert_eq!(Limits::default().cut_text("abcdef"), "abcdef");
    }

    #[test]
    fn no_limit_keeps_every_value() {
        let mut attribute = KeyValue::new("s", "x".repeat(100_000));
        Limits::default().cut(&mut attribute);
        assert_eq!(attribute.value.as_str().len(), 100_000);
    }
}
