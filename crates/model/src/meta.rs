//! `ObjectMeta`: the `metadata` every object carries (name, namespace, labels, annotations and
//! the fields the datastore fills: uid, resourceVersion, generation, timestamps).
//!
//! Other metadata (`managedFields`, `ownerReferences`, `finalizers`, ...) is accepted on input
//! and dropped; podnet neither reads nor writes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `metadata` of an object (`meta/v1 ObjectMeta`, the fields podnet uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name; required, unique per kind (and namespace).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The namespace of a namespaced object; `None` for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The datastore's mod revision of the object's key, as a decimal string (see
    /// [`crate::keys::resource_version`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// RFC 3339, as written by whoever created the object; podnet does not parse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
}

impl ObjectMeta {
    /// Metadata with just a name (cluster-scoped objects).
    pub fn named(name: &str) -> Self {
        ObjectMeta {
            name: name.to_owned(),
            ..ObjectMeta::default()
        }
    }

    /// Metadata with a namespace and a name.
    pub fn namespaced(namespace: &str, name: &str) -> Self {
        ObjectMeta {
            name: name.to_owned(),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        }
    }

    /// The namespace, treating `Some("")` like `None` as the API server does.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref().filter(|ns| !ns.is_empty())
    }
}
