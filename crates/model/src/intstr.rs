//! `IntOrString`: a field that holds either a number or a name, such as a Service's
//! `targetPort: 8080` or `targetPort: http`.
//!
//! It decodes from a JSON/YAML number or string and encodes back to the same form, so a
//! round trip never turns `"8080"` (a port *name*, which validation rejects) into `8080`.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A number or a string (`k8s.io/apimachinery/pkg/util/intstr.IntOrString`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IntOrString {
    /// A number, e.g. a port number.
    Int(i32),
    /// A string, e.g. a named port.
    String(String),
}

impl IntOrString {
    /// The number, if this is one.
    pub fn as_int(&self) -> Option<i32> {
        match self {
            IntOrString::Int(n) => Some(*n),
            IntOrString::String(_) => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            IntOrString::Int(_) => None,
            IntOrString::String(s) => Some(s),
        }
    }

    /// The Go zero values `0` and `""`, which the API server treats as "not set".
    pub fn is_zero(&self) -> bool {
        match self {
            IntOrString::Int(n) => *n == 0,
            IntOrString::String(s) => s.is_empty(),
        }
    }
}

impl From<i32> for IntOrString {
    fn from(n: i32) -> Self {
        IntOrString::Int(n)
    }
}

impl From<&str> for IntOrString {
    fn from(s: &str) -> Self {
        IntOrString::String(s.to_owned())
    }
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(n) => write!(f, "{n}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrString::Int(n) => serializer.serialize_i32(*n),
            IntOrString::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntOrStringVisitor)
    }
}

struct IntOrStringVisitor;

impl Visitor<'_> for IntOrStringVisitor {
    type Value = IntOrString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 32-bit integer or a string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrString, E> {
        i32::try_from(v)
            .map(IntOrString::Int)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrString, E> {
        i32::try_from(v)
            .map(IntOrString::Int)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrString, E> {
        Ok(IntOrString::String(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_keep_their_form() {
        for text in ["8080", "\"http\"", "\"8080\"", "-1"] {
            let v: IntOrString = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&v).unwrap(), text);
        }
        let v: IntOrString = serde_yaml_ng::from_str("http").unwrap();
        assert_eq!(v, IntOrString::from("http"));
        let v: IntOrString = serde_yaml_ng::from_str("80").unwrap();
        assert_eq!(v, IntOrString::Int(80));
    }

    #[test]
    fn out_of_range_and_other_types_are_errors() {
        assert!(serde_json::from_str::<IntOrString>("4294967296").is_err());
        assert!(serde_json::from_str::<IntOrString>("1.5").is_err());
        assert!(serde_json::from_str::<IntOrString>("true").is_err());
        assert!(serde_json::from_str::<IntOrString>("null").is_err());
    }

    #[test]
    fn zero_values() {
        assert!(IntOrString::Int(0).is_zero());
        assert!(IntOrString::from("").is_zero());
        assert!(!IntOrString::from("http").is_zero());
    }
}
