//! Turning `fields(...)` and `args(...)` into OpenTelemetry values.

use std::borrow::Cow;
use std::fmt::{Debug, Display};
use std::sync::Arc;

use opentelemetry::{Array, StringValue, Value};

/// A value that records as a typed OpenTelemetry attribute.
///
/// Implemented for booleans, integers, floats, strings and arrays of them;
/// `#[trace(fields(key = %expr))]` and `?expr` record anything `Display` or
/// `Debug` as a string instead.
pub trait AttributeValue {
    /// The OpenTelemetry value.
    fn to_value(&self) -> Value;
}

macro_rules! int_values {
    ($($int:ty),*) => {$(
        impl AttributeValue for $int {
            fn to_value(&self) -> Value {
                Value::I64(i64::from(*self))
            }
        }
    )*};
}
int_values!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_int_values {
    ($($int:ty),*) => {$(
        /// Values beyond `i64::MAX` are recorded as strings, exactly.
        impl AttributeValue for $int {
            fn to_value(&self) -> Value {
                match i64::try_from(*self) {
                    Ok(value) => Value::I64(value),
                    Err(_) => Value::String(self.to_string().into()),
                }
            }
        }
    )*};
}
wide_int_values!(u64, usize, isize, i128, u128);

impl AttributeValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl AttributeValue for f64 {
    fn to_value(&self) -> Value {
        Value::F64(*self)
    }
}

impl AttributeValue for f32 {
    fn to_value(&self) -> Value {
        Value::F64(f64::from(*self))
    }
}

impl AttributeValue for str {
    fn to_value(&self) -> Value {
        Value::String(self.to_owned().into())
    }
}

impl AttributeValue for String {
    fn to_value(&self) -> Value {
        Value::String(self.clone().into())
    }
}

impl AttributeValue for Cow<'static, str> {
    fn to_value(&self) -> Value {
        Value::String(self.clone().into())
    }
}

impl AttributeValue for Arc<str> {
    fn to_value(&self) -> Value {
        Value::String(StringValue::from(Arc::clone(self)))
    }
}

impl AttributeValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<T: AttributeValue + ?Sized> AttributeValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: AttributeValue + ?Sized> AttributeValue for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// Element types of array values.
pub trait ArrayElement {
    /// Collects a slice of these into an OpenTelemetry array.
    fn to_array(items: &[Self]) -> Array
    where
        Self: Sized;
}

impl ArrayElement for bool {
    fn to_array(items: &[Self]) -> Array {
        Array::Bool(items.to_vec())
    }
}

impl ArrayElement for i64 {
    fn to_array(items: &[Self]) -> Array {
        Array::I64(items.to_vec())
    }
}

impl ArrayElement for f64 {
    fn to_array(items: &[Self]) -> Array {
        Array::F64(items.to_vec())
    }
}

impl ArrayElement for String {
    fn to_array(items: &[Self]) -> Array {
        Array::String(items.iter().map(|item| item.clone().into()).collect())
    }
}

impl ArrayElement for &'static str {
    fn to_array(items: &[Self]) -> Array {
        Array::String(items.iter().map(|item| StringValue::from(*item)).collect())
    }
}

impl<T: ArrayElement> AttributeValue for [T] {
    fn to_value(&self) -> Value {
        Value::Array(T::to_array(self))
    }
}

impl<T: ArrayElement> AttributeValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::Array(T::to_array(self))
    }
}

impl<T: ArrayElement, const N: usize> AttributeValue for [T; N] {
    fn to_value(&self) -> Value {
        Value::Array(T::to_array(self))
    }
}

/// `%expr`: the value's `Display` text.
#[doc(hidden)]
pub fn display_value<T: Display + ?Sized>(value: &T) -> Value {
    Value::String(value.to_string().into())
}

/// `?expr`: the value's `Debug` text.
#[doc(hidden)]
pub fn debug_value<T: Debug + ?Sized>(value: &T) -> Value {
    Value::String(format!("{value:?}").into())
}
