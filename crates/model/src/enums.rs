//! String-valued enumerations as Kubernetes writes them (`TCP`, `ClusterIP`, `NotIn`, ...), and
//! the macro that defines them.
//!
//! Kubernetes is case-sensitive about these values, and so is podnet. A value podnet does not
//! know is kept as `Other(text)` rather than failing to decode: rejecting it is validation's job,
//! which can then name the field and list the supported values. An empty string means "not set",
//! as in Go's zero value, and is what [`apply_defaults`](crate::apply_defaults) fills in.

/// Defines a string enum with an `Other(String)` catch-all, serde as the bare string, `Display`,
/// `From<&str>`, `as_str`, `is_unset` (the empty string) and `SUPPORTED` (sorted, as the API
/// server lists supported values in its messages).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value podnet does not know, kept as written (validation rejects it).
            Other(String),
        }

        impl $name {
            /// Every known value, sorted as the API server lists them.
            pub const SUPPORTED: &'static [&'static str] = &{
                let mut values = [$( $text ),+];
                crate::enums::sort_strs(&mut values);
                values
            };

            /// The value as Kubernetes writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Other(text) => text,
                }
            }

            /// True for the empty string, Kubernetes' "not set".
            pub fn is_unset(&self) -> bool {
                matches!(self, Self::Other(text) if text.is_empty())
            }

            /// True for a value this crate knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $( $text => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(text.as_ref()))
            }
        }
    };
}

pub(crate) use string_enum;

/// Sorts at compile time (insertion sort; the lists have at most a handful of entries).
pub(crate) const fn sort_strs<const N: usize>(values: &mut [&'static str; N]) {
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && str_less(values[j], values[j - 1]) {
            let tmp = values[j];
            values[j] = values[j - 1];
            values[j - 1] = tmp;
            j -= 1;
        }
        i += 1;
    }
}

const fn str_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

string_enum! {
    /// The transport protocol of a port (`core/v1 Protocol`). Defaults to TCP everywhere.
    pub enum Protocol {
        /// `TCP`
        Tcp = "TCP",
        /// `UDP`
        Udp = "UDP",
        /// `SCTP`
        Sctp = "SCTP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_values_are_sorted() {
        assert_eq!(Protocol::SUPPORTED, &["SCTP", "TCP", "UDP"]);
    }

    #[test]
    fn unknown_values_are_kept() {
        let p: Protocol = serde_json::from_str("\"ICMP\"").unwrap();
        assert_eq!(p, Protocol::Other("ICMP".into()));
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"ICMP\"");
        assert!(!p.is_known());
        assert!(Protocol::from("").is_unset());
        // Case matters, as in Kubernetes.
        assert_eq!(Protocol::from("tcp"), Protocol::Other("tcp".into()));
        assert_eq!(Protocol::from("TCP"), Protocol::Tcp);
    }
}
