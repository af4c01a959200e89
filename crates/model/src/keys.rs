//! The datastore key layout of objects, and how the store's revisions become
//! `metadata.resourceVersion`.
//!
//! ```text
//! /podnet/objects/<plural>/<namespace>/<name>   namespaced kinds   /podnet/objects/pods/default/web-0
//! /podnet/objects/<plural>/<name>               cluster-scoped     /podnet/objects/namespaces/default
//! /podnet/subnets/<a.b.c.d>-<len>               node subnet leases (crate::lease)
//! ```
//!
//! Every prefix ends in `/`, so a prefix scan of `pods` never returns `podsx`, and a scan of
//! namespace `a` never returns namespace `ab`. Names and namespaces may not contain `/` (the
//! validation rules already forbid it), so a key splits back into exactly one object.
//!
//! An object's `resourceVersion` is the store's mod revision of its key, written in decimal.
//! It is the store's to set: on read the store fills it in, and an update carrying a
//! `resourceVersion` that is no longer the key's mod revision is refused as a conflict.

use std::fmt;

use thiserror::Error;

use crate::kind::Kind;
use crate::object::Object;

/// The prefix of every object key.
pub const OBJECTS_PREFIX: &str = "/podnet/objects/";

/// Why a key cannot be made, or a resourceVersion read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("{kind} is namespaced: its key needs a namespace")]
    MissingNamespace { kind: Kind },
    #[error("{kind} is cluster-scoped: its key takes no namespace (got {namespace:?})")]
    UnexpectedNamespace { kind: Kind, namespace: String },
    #[error(
        "invalid {what} {value:?} for a key: must be non-empty, without '/', and not '.' or '..'"
    )]
    BadSegment { what: &'static str, value: String },
    #[error("metadata.resourceVersion {0:?} is not a store revision (a positive decimal integer)")]
    BadResourceVersion(String),
}

/// Where one object lives: its kind, namespace (for namespaced kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    /// Checks that the parts make a key: a namespace exactly for namespaced kinds, and segments
    /// that cannot be confused with the separators.
    pub fn new(kind: Kind, namespace: Option<&str>, name: &str) -> Result<ObjectKey, KeyError> {
        let namespace = match (kind.namespaced(), namespace) {
            (true, None) => return Err(KeyError::MissingNamespace { kind }),
            (true, Some(ns)) => Some(segment("namespace", ns)?.to_owned()),
            (false, None) => None,
            (false, Some(ns)) => {
                return Err(KeyError::UnexpectedNamespace {
                    kind,
                    namespace: ns.to_owned(),
                })
            }
        };
        Ok(ObjectKey {
            kind,
            namespace,
            name: segment("name", name)?.to_owned(),
        })
    }

    /// The key of an object; a namespaced object without a namespace has none (apply the
    /// defaults first).
    pub fn of(object: &Object) -> Result<ObjectKey, KeyError> {
        ObjectKey::new(object.kind(), object.namespace(), object.name())
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{OBJECTS_PREFIX}{}/", self.kind.plural())?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        f.write_str(&self.name)
    }
}

fn segment<'a>(what: &'static str, value: &'a str) -> Result<&'a str, KeyError> {
    if value.is_empty() || value.contains('/') || value == "." || value == ".." {
        Err(KeyError::BadSegment {
            what,
            value: value.to_owned(),
        })
    } else {
        Ok(value)
    }
}

/// The key of one object: `/podnet/objects/pods/default/web-0`, `/podnet/objects/namespaces/x`.
pub fn object_key(kind: Kind, namespace: Option<&str>, name: &str) -> Result<String, KeyError> {
    ObjectKey::new(kind, namespace, name).map(|k| k.to_string())
}

/// The prefix of every object of a kind: `/podnet/objects/pods/`.
pub fn kind_prefix(kind: Kind) -> String {
    format!("{OBJECTS_PREFIX}{}/", kind.plural())
}

/// The prefix of every object of a namespaced kind in one namespace:
/// `/podnet/objects/pods/default/`.
pub fn namespace_prefix(kind: Kind, namespace: &str) -> Result<String, KeyError> {
    if !kind.namespaced() {
        return Err(KeyError::UnexpectedNamespace {
            kind,
            namespace: namespace.to_owned(),
        });
    }
    let namespace = segment("namespace", namespace)?;
    Ok(format!("{}{namespace}/", kind_prefix(kind)))
}

/// Splits an object key back into its parts; `None` for anything that [`object_key`] would
/// not have produced (another prefix, an unknown plural, missing or extra segments).
pub fn parse_object_key(key: &str) -> Option<ObjectKey> {
    let rest = key.strip_prefix(OBJECTS_PREFIX)?;
    let mut parts = rest.split('/');
    let kind = Kind::from_plural(parts.next()?)?;
    let (namespace, name) = if kind.namespaced() {
        (Some(parts.next()?), parts.next()?)
    } else {
        (None, parts.next()?)
    };
    if parts.next().is_some() {
        return None;
    }
    ObjectKey::new(kind, namespace, name).ok()
}

/// Records the store's mod revision of the object's key as its `metadata.resourceVersion`.
pub fn set_resource_version(object: &mut Object, revision: i64) {
    object.meta_mut().resource_version = Some(revision.to_string());
}

/// The store revision in `metadata.resourceVersion`: `None` when unset (a new object, or an
/// update that does not care about conflicts), an error when it is not a positive integer.
pub fn resource_version(object: &Object) -> Result<Option<i64>, KeyError> {
    match object.meta().resource_version.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => match text.parse::<i64>() {
            // Only plain digits: `+5` and ` 5` are not what the store writes.
            Ok(n) if n > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
            _ => Err(KeyError::BadResourceVersion(text.to_owned())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::ObjectMeta;
    use crate::pod::Pod;

    #[test]
    fn layout() {
        assert_eq!(
            object_key(Kind::Pod, Some("default"), "web-0").unwrap(),
            "/podnet/objects/pods/default/web-0"
        );
        assert_eq!(
            object_key(Kind::Namespace, None, "x").unwrap(),
            "/podnet/objects/namespaces/x"
        );
        assert_eq!(
            object_key(Kind::NetworkPolicy, Some("y"), "deny-all").unwrap(),
            "/podnet/objects/networkpolicies/y/deny-all"
        );
        assert_eq!(kind_prefix(Kind::Service), "/podnet/objects/services/");
        assert_eq!(
            namespace_prefix(Kind::EndpointSlice, "z").unwrap(),
            "/podnet/objects/endpointslices/z/"
        );
    }

    #[test]
    fn keys_round_trip() {
        for kind in Kind::ALL {
            let ns = kind.namespaced().then_some("ns-1");
            let key = object_key(kind, ns, "obj.a-b").unwrap();
            assert!(key.starts_with(&kind_prefix(kind)));
            if let Some(ns) = ns {
                assert!(key.starts_with(&namespace_prefix(kind, ns).unwrap()));
            }
            let parsed = parse_object_key(&key).unwrap();
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.namespace.as_deref(), ns);
            assert_eq!(parsed.name, "obj.a-b");
            assert_eq!(parsed.to_string(), key);
        }
    }

    #[test]
    fn refuses_bad_parts() {
        assert_eq!(
            object_key(Kind::Pod, None, "a"),
            Err(KeyError::MissingNamespace { kind: Kind::Pod })
        );
        assert!(matches!(
            object_key(Kind::Namespace, Some("x"), "a"),
            Err(KeyError::UnexpectedNamespace { .. })
        ));
        for (ns, name) in [
            ("a/b", "c"),
            ("a", "b/c"),
            ("", "c"),
            ("a", ""),
            ("..", "c"),
            ("a", "."),
        ] {
            assert!(
                matches!(
                    object_key(Kind::Pod, Some(ns), name),
                    Err(KeyError::BadSegment { .. })
                ),
                "{ns:?} {name:?}"
            );
        }
        assert!(namespace_prefix(Kind::Namespace, "x").is_err());
        assert!(namespace_prefix(Kind::Pod, "a/b").is_err());
    }

    #[test]
    fn refuses_malformed_keys() {
        for key in [
            "",
            "/podnet/objects/",
            "/podnet/objects/pods",
            "/podnet/objects/pods/",
            "/podnet/objects/pods/default",
            "/podnet/objects/pods/default/",
            "/podnet/objects/pods//web",
            "/podnet/objects/pods/default/web/extra",
            "/podnet/objects/namespaces/x/y",
            "/podnet/objects/namespaces/",
            "/podnet/objects/deployments/default/web",
            "/podnet/objects/Pods/default/web",
            "/podnet/subnets/10.244.3.0-24",
            "podnet/objects/pods/default/web",
            "/podnet/objects/pods/../web",
        ] {
            assert_eq!(parse_object_key(key), None, "{key}");
        }
    }

    #[test]
    fn resource_versions() {
        let mut pod = Object::Pod(Pod {
            metadata: ObjectMeta::namespaced("default", "a"),
            ..Pod::default()
        });
        assert_eq!(resource_version(&pod), Ok(None));
        set_resource_version(&mut pod, 42);
        assert_eq!(pod.meta().resource_version.as_deref(), Some("42"));
        assert_eq!(resource_version(&pod), Ok(Some(42)));
        for bad in ["abc", "-1", "0", "+5", " 5", "1.5", "99999999999999999999"] {
            pod.meta_mut().resource_version = Some(bad.to_owned());
            assert_eq!(
                resource_version(&pod),
                Err(KeyError::BadResourceVersion(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn key_of_an_object() {
        let pod = Object::Pod(Pod {
            metadata: ObjectMeta::namespaced("x", "a"),
            ..Pod::default()
        });
        assert_eq!(
            ObjectKey::of(&pod).unwrap().to_string(),
            "/podnet/objects/pods/x/a"
        );
    }
}
