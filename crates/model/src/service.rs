//! `v1 Service`: the virtual IP, its ports and how they map onto pod ports (`targetPort`), which
//! pods back it (`selector`), and the knobs the Service proxy honours: type (node ports),
//! session affinity, traffic policies and `publishNotReadyAddresses`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enums::{string_enum, Protocol};
use crate::intstr::IntOrString;
use crate::meta::ObjectMeta;

/// `spec.clusterIP` of a headless Service.
pub const CLUSTER_IP_NONE: &str = "None";
/// The default `sessionAffinityConfig.clientIP.timeoutSeconds` (three hours), as the API server.
pub const DEFAULT_AFFINITY_TIMEOUT_SECONDS: i32 = 10_800;
/// The largest allowed affinity timeout (one day).
pub const MAX_AFFINITY_TIMEOUT_SECONDS: i32 = 86_400;

/// A Service (`core/v1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ServiceSpec,
}

/// `spec` of a Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<ServiceType>,
    /// An IPv4 address, `None` (headless) or empty (to be allocated).
    #[serde(default, rename = "clusterIP", skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    #[serde(default, rename = "clusterIPs", skip_serializing_if = "Vec::is_empty")]
    pub cluster_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<SessionAffinity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity_config: Option<SessionAffinityConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<TrafficPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_traffic_policy: Option<TrafficPolicy>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub publish_not_ready_addresses: bool,
    /// The DNS name an `ExternalName` Service aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
}

/// One entry of `spec.ports`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    /// A DNS-1123 label; required when the Service has more than one port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    #[serde(default)]
    pub port: i32,
    /// A pod port number, or the name of a container port; defaults to `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    /// `0` and absent both mean "none" (allocated by whoever allocates node ports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i32>,
}

/// `spec.sessionAffinityConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAffinityConfig {
    #[serde(default, rename = "clientIP", skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<ClientIpConfig>,
}

/// `spec.sessionAffinityConfig.clientIP`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientIpConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
}

string_enum! {
    /// `spec.type` of a Service.
    pub enum ServiceType {
        /// A virtual IP reachable inside the cluster.
        ClusterIp = "ClusterIP",
        /// ClusterIP plus a port on every node.
        NodePort = "NodePort",
        /// NodePort plus an external load balancer.
        LoadBalancer = "LoadBalancer",
        /// A DNS alias (`spec.externalName`), no proxying.
        ExternalName = "ExternalName",
    }
}

string_enum! {
    /// `spec.sessionAffinity`.
    pub enum SessionAffinity {
        /// Every connection is balanced independently.
        None = "None",
        /// Connections from one client IP stick to one endpoint.
        ClientIp = "ClientIP",
    }
}

string_enum! {
    /// `spec.externalTrafficPolicy` and `spec.internalTrafficPolicy`.
    pub enum TrafficPolicy {
        /// Any ready endpoint in the cluster.
        Cluster = "Cluster",
        /// Only endpoints on the node the traffic arrived at.
        Local = "Local",
    }
}

impl ServiceSpec {
    /// The type, `ClusterIP` when unset.
    pub fn service_type(&self) -> ServiceType {
        match &self.type_ {
            Some(t) if !t.is_unset() => t.clone(),
            _ => ServiceType::ClusterIp,
        }
    }

    /// Whether the Service is headless (`clusterIP: None`).
    pub fn is_headless(&self) -> bool {
        self.cluster_ip.as_deref() == Some(CLUSTER_IP_NONE)
    }
}
