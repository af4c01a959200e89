//! `v1 Pod`: where it runs (`spec.nodeName`, `spec.hostNetwork`), its named container ports
//! (what a Service's or a NetworkPolicy's named `targetPort`/`port` resolves against) and the
//! status fields that say whether and where it can be reached (`podIP`, `podIPs`, `Ready`).

use serde::{Deserialize, Serialize};

use crate::enums::{string_enum, Protocol};
use crate::meta::ObjectMeta;

/// A Pod (`core/v1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

/// `spec` of a Pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// The node the pod is bound to; `None` while unscheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The pod shares its node's network namespace (no pod IP of its own).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_network: bool,
    #[serde(default)]
    pub containers: Vec<Container>,
}

/// One entry of `spec.containers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    /// Not required here, unlike the API server: the lab's pods run podnet's built-in server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
}

/// One entry of `spec.containers[].ports`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    /// An IANA_SVC_NAME, unique within the pod; what named target ports refer to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub container_port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// `0` and absent both mean "no host port".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
}

/// `status` of a Pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PodPhase>,
    #[serde(default, rename = "podIP", skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    #[serde(default, rename = "podIPs", skip_serializing_if = "Vec::is_empty")]
    pub pod_ips: Vec<PodIp>,
    #[serde(default, rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PodCondition>,
    /// Why the pod is in its phase, one CamelCase word (`Failed` pods say why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The same for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One entry of `status.podIPs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodIp {
    #[serde(default)]
    pub ip: String,
}

/// One entry of `status.conditions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodCondition {
    /// `Ready`, `ContainersReady`, `PodScheduled`, `Initialized`, ...
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ConditionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

string_enum! {
    /// `status.phase` of a Pod.
    pub enum PodPhase {
        /// Accepted, not all containers running yet.
        Pending = "Pending",
        /// Bound to a node, at least one container running.
        Running = "Running",
        /// All containers exited successfully.
        Succeeded = "Succeeded",
        /// All containers exited, at least one in failure.
        Failed = "Failed",
        /// The node could not be asked.
        Unknown = "Unknown",
    }
}

string_enum! {
    /// The status of a condition.
    pub enum ConditionStatus {
        /// `True`
        True = "True",
        /// `False`
        False = "False",
        /// `Unknown`
        Unknown = "Unknown",
    }
}

/// The condition type saying the pod can serve traffic.
pub const CONDITION_READY: &str = "Ready";

impl Pod {
    /// The named container port `name` of any container, with its protocol (TCP if unset).
    pub fn named_port(&self, name: &str) -> Option<(i32, Protocol)> {
        self.spec
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .find(|p| p.name.as_deref() == Some(name))
            .map(|p| {
                let protocol = p
                    .protocol
                    .clone()
                    .filter(|p| !p.is_unset())
                    .unwrap_or(Protocol::Tcp);
                (p.container_port, protocol)
            })
    }

    /// Whether the pod's `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == CONDITION_READY && c.status == ConditionStatus::True)
        })
    }

    /// The pod's IP addresses: `status.podIPs`, or `status.podIP` when only that is set.
    pub fn ips(&self) -> Vec<&str> {
        let Some(status) = &self.status else {
            return Vec::new();
        };
        if status.pod_ips.is_empty() {
            status.pod_ip.as_deref().into_iter().collect()
        } else {
            status.pod_ips.iter().map(|ip| ip.ip.as_str()).collect()
        }
    }
}
