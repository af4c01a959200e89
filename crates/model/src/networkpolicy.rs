//! `networking.k8s.io/v1 NetworkPolicy`: which pods a policy isolates (`podSelector` and
//! `policyTypes`) and which peers and ports its ingress and egress rules allow.
//!
//! The distinction between an absent selector (`None`) and an empty one (`Some`, `{}`) matters
//! in a peer (`namespaceSelector: {}` means "all namespaces", absent means "the policy's own
//! namespace"), so both survive decoding and encoding.

use serde::{Deserialize, Serialize};

use crate::enums::{string_enum, Protocol};
use crate::intstr::IntOrString;
use crate::meta::ObjectMeta;
use crate::selector::LabelSelector;

/// A NetworkPolicy (`networking.k8s.io/v1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicy {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: NetworkPolicySpec,
}

/// `spec` of a NetworkPolicy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// The pods (in the policy's namespace) the policy applies to; empty selects all of them.
    #[serde(default)]
    pub pod_selector: LabelSelector,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_types: Vec<PolicyType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<NetworkPolicyIngressRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<NetworkPolicyEgressRule>,
}

string_enum! {
    /// An entry of `spec.policyTypes`.
    pub enum PolicyType {
        /// The policy isolates the selected pods for incoming traffic.
        Ingress = "Ingress",
        /// The policy isolates the selected pods for outgoing traffic.
        Egress = "Egress",
    }
}

/// One entry of `spec.ingress`: traffic from any of `from` (all sources when empty) to any of
/// `ports` (all ports when empty) is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicyIngressRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<NetworkPolicyPeer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<NetworkPolicyPort>,
}

/// One entry of `spec.egress`: traffic to any of `to` on any of `ports` is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicyEgressRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<NetworkPolicyPeer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<NetworkPolicyPort>,
}

/// A peer: pods (by pod and/or namespace selector) or an IP block, never both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicyPeer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_block: Option<IpBlock>,
}

/// `ipBlock`: a CIDR minus some strictly smaller CIDRs inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpBlock {
    #[serde(default)]
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

/// One entry of a rule's `ports`: a protocol and a port number, port range or named port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicyPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// A number or a container port name; absent means every port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<IntOrString>,
    /// With a numeric `port`, the last port of the range `port..=endPort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_port: Option<i32>,
}

impl NetworkPolicySpec {
    /// The effective policy types: `policyTypes` if set, else what the API server would default
    /// (Ingress, plus Egress when there are egress rules).
    pub fn effective_policy_types(&self) -> Vec<PolicyType> {
        if self.policy_types.is_empty() {
            crate::defaults::default_policy_types(self)
        } else {
            self.policy_types.clone()
        }
    }

    /// Whether the policy isolates the selected pods for incoming traffic.
    pub fn affects_ingress(&self) -> bool {
        self.effective_policy_types().contains(&PolicyType::Ingress)
    }

    /// Whether the policy isolates the selected pods for outgoing traffic.
    pub fn affects_egress(&self) -> bool {
        self.effective_policy_types().contains(&PolicyType::Egress)
    }
}
