//! The bytes of an object key, both ways. Writing: the object's JSON without
//! `metadata.resourceVersion` (the key's mod revision is the only authority on it). Reading:
//! the value is untrusted input (another program, an older podnet, a hand-edited store may have
//! written it), so it must be a key [`parse_object_key`] accepts holding JSON that decodes, is
//! the object that key names, and passes validation; the result then gets its
//! `resourceVersion` from the key's mod revision. Failures are values, never panics.

use podnet_model::{
    parse_object_key, set_resource_version, validate, Object, ObjectKey, ValidationErrors,
};
use podnet_store::KeyValue;
use thiserror::Error;

/// Why a stored value is not an object.
#[derive(Debug, Error)]
pub enum StoredError {
    #[error("the key is not an object key")]
    BadKey,
    #[error("the value is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the value does not decode: {0}")]
    Decode(#[source] podnet_model::ObjectError),
    #[error("the value is {found}, not the object its key names")]
    Elsewhere { found: String },
    #[error("the value fails validation: {0}")]
    Invalid(#[source] ValidationErrors),
}

/// The value to store for `object`: its JSON without `resourceVersion`.
pub fn encode(object: &Object) -> String {
    let mut object = object.clone();
    object.meta_mut().resource_version = None;
    object.to_value().to_string()
}

/// Reads one stored key (see the module doc).
pub fn decode(kv: &KeyValue) -> Result<(ObjectKey, Object), StoredError> {
    let key = parse_object_key(&kv.key).ok_or(StoredError::BadKey)?;
    let value: serde_json::Value = serde_json::from_str(&kv.value).map_err(StoredError::NotJson)?;
    let mut object = Object::from_value(value).map_err(StoredError::Decode)?;
    if ObjectKey::of(&object).as_ref() != Ok(&key) {
        return Err(StoredError::Elsewhere {
            found: object.display_name(),
        });
    }
    validate(&object).map_err(StoredError::Invalid)?;
    set_resource_version(&mut object, kv.mod_revision);
    Ok((key, object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use podnet_model::{ObjectMeta, Pod};

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
            mod_revision: 7,
            lease: None,
        }
    }

    const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x","resourceVersion":"3"},"spec":{"containers":[{"name":"c"}]}}"#;

    #[test]
    fn decodes_and_takes_the_mod_revision() {
        let (key, object) = decode(&kv("/podnet/objects/pods/x/a", POD)).unwrap();
        assert_eq!(key.to_string(), "/podnet/objects/pods/x/a");
        assert_eq!(object.meta().resource_version.as_deref(), Some("7"));
    }

    #[test]
    fn encode_strips_the_resource_version() {
        let mut pod = Object::Pod(Pod {
            metadata: ObjectMeta::namespaced("x", "a"),
            ..Pod::default()
        });
        pod.meta_mut().resource_version = Some("9".into());
        assert!(
            !encode(&pod).contains("resourceVersion"),
            "{}",
            encode(&pod)
        );
    }

    #[test]
    fn refuses_untrusted_values() {
        let cases = [
            ("/podnet/objects/pods/x/a/b", POD, "not an object key"),
            ("/podnet/objects/pods/x/a", "{not json", "not JSON"),
            ("/podnet/objects/pods/x/a", "[]", "does not decode"),
            (
                "/podnet/objects/pods/x/a",
                r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":7}}"#,
                "spec.containers",
            ),
            ("/podnet/objects/pods/y/a", POD, "Pod/x/a, not the object"),
            ("/podnet/objects/services/x/a", POD, "not the object"),
            (
                "/podnet/objects/pods/x/a",
                r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x"},"spec":{}}"#,
                "spec.containers: Required value",
            ),
        ];
        for (key, value, want) in cases {
            let err = decode(&kv(key, value)).unwrap_err().to_string();
            assert!(err.contains(want), "{key} {value}: {err}");
        }
    }
}
