//! [`ApiError`]: why an API request failed, worded as the Kubernetes API server words it (the
//! text kubectl prints after `Error from server (REASON): `), and the resource names those
//! messages use (`pods`, `networkpolicies.networking.k8s.io`).

use std::fmt;

use podnet_model::{KeyError, Kind, ValidationErrors};
use podnet_store::StoreError;
use thiserror::Error;

/// A failed request. [`ApiError::reason`] is the API server's status reason.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The object (or, for a create, its namespace) does not exist.
    #[error("{} {name:?} not found", Resource(*kind))]
    NotFound { kind: Kind, name: String },
    /// A create found the key taken.
    #[error("{} {name:?} already exists", Resource(*kind))]
    AlreadyExists { kind: Kind, name: String },
    /// The object changed since the `resourceVersion` the request carried (or kept changing
    /// through every retry).
    #[error("Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again", Resource(*kind))]
    Conflict { kind: Kind, name: String },
    /// The object breaks the API server's rules; nothing was stored.
    #[error("{} {name:?} is invalid: {errors}", GroupKind(*kind))]
    Invalid {
        kind: Kind,
        name: String,
        errors: ValidationErrors,
    },
    /// A create in a namespace that is being deleted.
    #[error("{} {name:?} is forbidden: unable to create new content in namespace {namespace} because it is being terminated", Resource(*kind))]
    NamespaceTerminating {
        kind: Kind,
        name: String,
        namespace: String,
    },
    /// `default` is created on first use and may not be deleted, as in Kubernetes.
    #[error("namespaces {name:?} is forbidden: this namespace may not be deleted")]
    UndeletableNamespace { name: String },
    /// Only Namespaces and Pods have a status podnet keeps.
    #[error("{} have no status to update", Resource(*kind))]
    NoStatus { kind: Kind },
    /// The request names no valid key (a malformed name or resourceVersion).
    #[error("bad request: {0}")]
    BadRequest(#[source] KeyError),
    /// The stored value is not a valid object (written by something else, or corrupted); it
    /// can still be deleted.
    #[error("stored value at {key} is not a valid object: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("datastore request failed: {0}")]
    Store(#[from] StoreError),
}

impl ApiError {
    /// The API server's status reason (`NotFound`, `Invalid`, ...), which kubectl prints as
    /// `Error from server (REASON)`; `None` when the server was not reached.
    pub fn reason(&self) -> Option<&'static str> {
        Some(match self {
            ApiError::NotFound { .. } => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::NamespaceTerminating { .. } | ApiError::UndeletableNamespace { .. } => {
                "Forbidden"
            }
            ApiError::NoStatus { .. } => "MethodNotAllowed",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Corrupt { .. } => "InternalError",
            ApiError::Store(_) => return None,
        })
    }

    /// Whether this is [`ApiError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound { .. })
    }

    /// Whether this is [`ApiError::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Conflict { .. })
    }
}

/// A kind's resource as the API server names it in messages: the plural, qualified by the
/// group outside the core group (`pods`, `networkpolicies.networking.k8s.io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource(pub Kind);

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.plural())?;
        qualify(f, self.0)
    }
}

/// A kind as the API server names it in `is invalid` messages (`Pod`,
/// `NetworkPolicy.networking.k8s.io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupKind(pub Kind);

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())?;
        qualify(f, self.0)
    }
}

fn qualify(f: &mut fmt::Formatter<'_>, kind: Kind) -> fmt::Result {
    match kind.group() {
        "" => Ok(()),
        group => write!(f, ".{group}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_as_the_api_server_words_them() {
        let pod = |name: &str| (Kind::Pod, name.to_owned());
        let (kind, name) = pod("a");
        assert_eq!(
            ApiError::NotFound { kind, name }.to_string(),
            r#"pods "a" not found"#
        );
        assert_eq!(
            ApiError::NotFound {
                kind: Kind::NetworkPolicy,
                name: "deny".into()
            }
            .to_string(),
            r#"networkpolicies.networking.k8s.io "deny" not found"#
        );
        let (kind, name) = pod("a");
        assert_eq!(
            ApiError::Conflict { kind, name }.to_string(),
            r#"Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again"#
        );
        assert_eq!(
            GroupKind(Kind::EndpointSlice).to_string(),
            "EndpointSlice.discovery.k8s.io"
        );
        assert_eq!(GroupKind(Kind::Service).to_string(), "Service");
        assert_eq!(
            ApiError::UndeletableNamespace {
                name: "default".into()
            }
            .to_string(),
            r#"namespaces "default" is forbidden: this namespace may not be deleted"#
        );
    }
}
