//! `v1 Namespace`: podnet reads only its name and labels (NetworkPolicy `namespaceSelector`s
//! match the labels, including `kubernetes.io/metadata.name` which the defaults set).

use serde::{Deserialize, Serialize};

use crate::enums::string_enum;
use crate::meta::ObjectMeta;

/// The label the API server puts on every Namespace, holding its name.
pub const METADATA_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A Namespace (`core/v1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<NamespaceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NamespaceStatus>,
}

/// `spec` of a Namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// `status` of a Namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<NamespacePhase>,
}

string_enum! {
    /// `status.phase` of a Namespace.
    pub enum NamespacePhase {
        /// In use.
        Active = "Active",
        /// Being deleted.
        Terminating = "Terminating",
    }
}

impl Namespace {
    /// A Namespace with just a name.
    pub fn new(name: &str) -> Self {
        Namespace {
            metadata: ObjectMeta::named(name),
            ..Namespace::default()
        }
    }
}
