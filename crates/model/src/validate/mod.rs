//! Validation as the Kubernetes API server does it on create (and, in [`validate_update`], what
//! an update may not change): every rule podnet's consumers
//! rely on, with kubectl's wording, and every error naming its full field path
//! (`spec.ingress[0].from[1].ipBlock.except[0]`, `metadata.labels[app]`).
//!
//! [`validate()`] accepts an object either as written or after
//! [`apply_defaults`](crate::apply_defaults): a field the defaults fill in (a port's protocol,
//! a Service's type, an object's namespace) may be absent, and is then judged by its default.
//! It never changes the object. It reports every error it finds, not just the first; the
//! order is that of the fields in the object.

mod endpointslice;
mod meta;
pub mod names;
mod networkpolicy;
mod pod;
mod service;
mod update;

#[cfg(test)]
mod tests;

use std::fmt;

use crate::object::Object;

pub use service::{NODE_PORT_MAX, NODE_PORT_MIN};
pub use update::{validate_update, POD_UPDATABLE_FIELDS};

/// Checks an object against the API server's rules (see the module doc).
pub fn validate(object: &Object) -> Result<(), ValidationErrors> {
    let mut errs = Errors::default();
    meta::validate_meta(object.kind(), object.meta(), &mut errs);
    match object {
        Object::Namespace(_) => {}
        Object::Pod(pod) => pod::validate_pod(pod, &mut errs),
        Object::Service(svc) => service::validate_service(svc, &mut errs),
        Object::EndpointSlice(slice) => endpointslice::validate_endpoint_slice(slice, &mut errs),
        Object::NetworkPolicy(policy) => networkpolicy::validate_network_policy(policy, &mut errs),
    }
    if errs.0.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(errs.0))
    }
}

/// The kind of a field error, as the API server's `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// A required field is missing (`Required value`).
    Required,
    /// The value is malformed or out of range (`Invalid value`).
    Invalid,
    /// The value must be unique and is not (`Duplicate value`).
    Duplicate,
    /// The value is not one of a fixed set (`Unsupported value`).
    NotSupported,
    /// The field may not be set here (`Forbidden`).
    Forbidden,
    /// The value is too long (`Too long`).
    TooLong,
    /// The list has too many items (`Too many`).
    TooMany,
}

/// One broken rule: where, and what is wrong (`Invalid value: 0: must be between 1 and 65535,
/// inclusive`). Displays as kubectl prints it: `spec.ports[1].targetPort: Invalid value: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The full field path, e.g. `spec.ports[1].targetPort` or `metadata.labels[app]`.
    pub path: String,
    pub kind: FieldErrorKind,
    /// Everything after the path: the kind's phrase, the bad value if any, and the detail.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for FieldError {}

/// A value as it appears in a message: strings quoted, numbers bare (as Go's `%#v`).
#[derive(Debug, Clone)]
pub(crate) enum BadValue {
    Str(String),
    Int(i64),
}

impl From<&str> for BadValue {
    fn from(s: &str) -> Self {
        BadValue::Str(s.to_owned())
    }
}

impl From<&String> for BadValue {
    fn from(s: &String) -> Self {
        BadValue::Str(s.clone())
    }
}

impl From<i32> for BadValue {
    fn from(n: i32) -> Self {
        BadValue::Int(i64::from(n))
    }
}

impl From<usize> for BadValue {
    fn from(n: usize) -> Self {
        BadValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<&crate::IntOrString> for BadValue {
    fn from(v: &crate::IntOrString) -> Self {
        match v {
            crate::IntOrString::Int(n) => BadValue::from(*n),
            crate::IntOrString::String(s) => BadValue::from(s),
        }
    }
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::Str(s) => write!(f, "{s:?}"),
            BadValue::Int(n) => write!(f, "{n}"),
        }
    }
}

impl FieldError {
    fn new(path: &FieldPath, kind: FieldErrorKind, message: String) -> Self {
        FieldError {
            path: path.0.clone(),
            kind,
            message,
        }
    }

    pub(crate) fn required(path: &FieldPath, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_owned()
        } else {
            format!("Required value: {detail}")
        };
        FieldError::new(path, FieldErrorKind::Required, message)
    }

    pub(crate) fn invalid(path: &FieldPath, value: impl Into<BadValue>, detail: &str) -> Self {
        let message = format!("Invalid value: {}: {detail}", value.into());
        FieldError::new(path, FieldErrorKind::Invalid, message)
    }

    pub(crate) fn duplicate(path: &FieldPath, value: impl Into<BadValue>) -> Self {
        let message = format!("Duplicate value: {}", value.into());
        FieldError::new(path, FieldErrorKind::Duplicate, message)
    }

    pub(crate) fn not_supported(path: &FieldPath, value: &str, supported: &[&str]) -> Self {
        let supported: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let message = format!(
            "Unsupported value: {value:?}: supported values: {}",
            supported.join(", ")
        );
        FieldError::new(path, FieldErrorKind::NotSupported, message)
    }

    pub(crate) fn forbidden(path: &FieldPath, detail: &str) -> Self {
        FieldError::new(
            path,
            FieldErrorKind::Forbidden,
            format!("Forbidden: {detail}"),
        )
    }

    pub(crate) fn too_long(path: &FieldPath, max_bytes: usize) -> Self {
        let message = format!("Too long: must have at most {max_bytes} bytes");
        FieldError::new(path, FieldErrorKind::TooLong, message)
    }

    pub(crate) fn too_many(path: &FieldPath, actual: usize, max_items: usize) -> Self {
        let message = format!("Too many: {actual}: must have at most {max_items} items");
        FieldError::new(path, FieldErrorKind::TooMany, message)
    }
}

/// Every rule an object breaks, in field order. Displays as the API server aggregates them:
/// one error alone, several as `[first, second]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// The errors.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// The field paths named, in order (useful in tests).
    pub fn paths(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.path.as_str()).collect()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                f.write_str("[")?;
                for (i, e) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A field path under construction, rendered as the API server renders `field.Path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPath(String);

impl FieldPath {
    /// A top-level field (`metadata`, `spec`, `addressType`).
    pub(crate) fn root(name: &str) -> Self {
        FieldPath(name.to_owned())
    }

    /// `path.name`
    pub(crate) fn child(&self, name: &str) -> Self {
        FieldPath(format!("{}.{name}", self.0))
    }

    /// `path[index]`
    pub(crate) fn index(&self, index: usize) -> Self {
        FieldPath(format!("{}[{index}]", self.0))
    }

    /// `path[key]`, for map entries.
    pub(crate) fn key(&self, key: &str) -> Self {
        FieldPath(format!("{}[{key}]", self.0))
    }
}

/// The errors found so far.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub(crate) fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// One `Invalid value` per message of a name check.
    pub(crate) fn invalid_each(&mut self, path: &FieldPath, value: &str, messages: Vec<String>) {
        for message in messages {
            self.push(FieldError::invalid(path, value, &message));
        }
    }
}

/// A string field given a non-empty value (the API server's "set").
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}
