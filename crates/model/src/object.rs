//! `Object`: any one of the kinds podnet stores, with its type metadata (`apiVersion`, `kind`).
//!
//! The per-kind structs carry no `apiVersion`/`kind` fields (the Rust type says which kind it
//! is); `Object` adds them when encoding and checks them when decoding, so what it writes is a
//! manifest `kubectl apply` accepts, and what the datastore holds is exactly that JSON.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::endpointslice::EndpointSlice;
use crate::kind::Kind;
use crate::meta::ObjectMeta;
use crate::namespace::Namespace;
use crate::networkpolicy::NetworkPolicy;
use crate::pod::Pod;
use crate::service::Service;

/// One object of a kind podnet knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    Namespace(Namespace),
    Pod(Pod),
    Service(Service),
    EndpointSlice(EndpointSlice),
    NetworkPolicy(NetworkPolicy),
}

/// Why a JSON value is not an [`Object`].
#[derive(Debug, Error)]
pub enum ObjectError {
    #[error("expected an object with apiVersion and kind, found {found}")]
    NotAMapping { found: &'static str },
    #[error("missing {field}")]
    MissingTypeField { field: &'static str },
    #[error("{field} must be a string, found {found}")]
    TypeFieldNotString {
        field: &'static str,
        found: &'static str,
    },
    #[error("unknown kind {kind:?} (apiVersion {api_version:?}); podnet knows Namespace, Pod, Service, EndpointSlice and NetworkPolicy")]
    UnknownKind { api_version: String, kind: String },
    #[error("kind {kind} has apiVersion {expected:?}, not {api_version:?}")]
    WrongApiVersion {
        kind: Kind,
        api_version: String,
        expected: &'static str,
    },
    #[error("{path}: {source}")]
    Field {
        /// Where in the object, e.g. `spec.ports[0].port` (`.` for the object itself).
        path: String,
        source: serde_json::Error,
    },
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Namespace(_) => Kind::Namespace,
            Object::Pod(_) => Kind::Pod,
            Object::Service(_) => Kind::Service,
            Object::EndpointSlice(_) => Kind::EndpointSlice,
            Object::NetworkPolicy(_) => Kind::NetworkPolicy,
        }
    }

    /// The `apiVersion` of the object's kind.
    pub fn api_version(&self) -> &'static str {
        self.kind().api_version()
    }

    /// The object's metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Namespace(o) => &o.metadata,
            Object::Pod(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::EndpointSlice(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
        }
    }

    /// The object's metadata, to change.
    pub fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Object::Namespace(o) => &mut o.metadata,
            Object::Pod(o) => &mut o.metadata,
            Object::Service(o) => &mut o.metadata,
            Object::EndpointSlice(o) => &mut o.metadata,
            Object::NetworkPolicy(o) => &mut o.metadata,
        }
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.meta().name
    }

    /// `metadata.namespace`, `None` when unset or empty.
    pub fn namespace(&self) -> Option<&str> {
        self.meta().namespace()
    }

    /// `kind/namespace/name` or `kind/name`, for messages (`Service/default/web`).
    pub fn display_name(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{}/{}/{}", self.kind(), ns, self.name()),
            None => format!("{}/{}", self.kind(), self.name()),
        }
    }

    /// Decodes an object from a JSON value holding `apiVersion` and `kind`.
    pub fn from_value(value: serde_json::Value) -> Result<Object, ObjectError> {
        let kind = type_meta(&value)?;
        match kind {
            Kind::Namespace => typed(value).map(Object::Namespace),
            Kind::Pod => typed(value).map(Object::Pod),
            Kind::Service => typed(value).map(Object::Service),
            Kind::EndpointSlice => typed(value).map(Object::EndpointSlice),
            Kind::NetworkPolicy => typed(value).map(Object::NetworkPolicy),
        }
    }

    /// Encodes the object as JSON, with `apiVersion` and `kind` first.
    pub fn to_value(&self) -> serde_json::Value {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The name of a JSON value's type, for messages.
pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a sequence",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// Reads `apiVersion` and `kind` as strings.
pub(crate) fn type_fields(value: &serde_json::Value) -> Result<(&str, &str), ObjectError> {
    let map = value.as_object().ok_or(ObjectError::NotAMapping {
        found: json_type_name(value),
    })?;
    let field = |name: &'static str| match map.get(name) {
        None | Some(serde_json::Value::Null) => Err(ObjectError::MissingTypeField { field: name }),
        Some(serde_json::Value::String(s)) if s.is_empty() => {
            Err(ObjectError::MissingTypeField { field: name })
        }
        Some(serde_json::Value::String(s)) => Ok(s.as_str()),
        Some(other) => Err(ObjectError::TypeFieldNotString {
            field: name,
            found: json_type_name(other),
        }),
    };
    Ok((field("apiVersion")?, field("kind")?))
}

fn type_meta(value: &serde_json::Value) -> Result<Kind, ObjectError> {
    let (api_version, kind_name) = type_fields(value)?;
    let kind = Kind::from_name(kind_name).ok_or_else(|| ObjectError::UnknownKind {
        api_version: api_version.to_owned(),
        kind: kind_name.to_owned(),
    })?;
    if kind.api_version() != api_version {
        return Err(ObjectError::WrongApiVersion {
            kind,
            api_version: api_version.to_owned(),
            expected: kind.api_version(),
        });
    }
    Ok(kind)
}

fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ObjectError> {
    serde_path_to_error::deserialize(value).map_err(|e| ObjectError::Field {
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

/// `apiVersion` and `kind` followed by the kind's own fields.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (api_version, kind) = (self.api_version(), self.kind().name());
        match self {
            Object::Namespace(body) => Tagged {
                api_version,
                kind,
                body,
            }
            .serialize(serializer),
            Object::Pod(body) => Tagged {
                api_version,
                kind,
                body,
            }
            .serialize(serializer),
            Object::Service(body) => Tagged {
                api_version,
                kind,
                body,
            }
            .serialize(serializer),
            Object::EndpointSlice(body) => Tagged {
                api_version,
                kind,
                body,
            }
            .serialize(serializer),
            Object::NetworkPolicy(body) => Tagged {
                api_version,
                kind,
                body,
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Object::from_value(value).map_err(serde::de::Error::custom)
    }
}

macro_rules! from_kind {
    ($($ty:ident),+) => {
        $(impl From<$ty> for Object {
            fn from(o: $ty) -> Object {
                Object::$ty(o)
            }
        })+
    };
}

from_kind!(Namespace, Pod, Service, EndpointSlice, NetworkPolicy);
