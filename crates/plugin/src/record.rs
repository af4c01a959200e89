//! What the IPAM store keeps with each allocation, written in the same transaction as the
//! address. It is everything DEL and GC need to undo an ADD without re-reading the config:
//! the host veth, the rules' inputs and the hostPorts.
//!
//! Invariant: the record exists before the first kernel object of an attachment is created and is
//! removed only after the last one is gone.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use podnet_nft::{HostPort, PodEntry, L4};
use serde::{Deserialize, Serialize};

use crate::naming::pod_mac;

/// The allocation's plugin data, stored as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRecord {
    pub host_veth: String,
    pub cluster_cidr: Ipv4Net,
    pub masquerade: bool,
    #[serde(default)]
    pub host_ports: Vec<HostPortRecord>,
}

/// A hostPort as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostPortRecord {
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
}

impl AttachmentRecord {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_json(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }

    /// The nftables entry of the pod with address `ip` on `network`.
    pub fn pod_entry(&self, network: &str, ip: Ipv4Addr) -> PodEntry {
        PodEntry {
            network: network.to_string(),
            host_veth: self.host_veth.clone(),
            mac: pod_mac(ip),
            ip,
            masquerade: self.masquerade,
            cluster_cidr: self.cluster_cidr,
            host_ports: self
                .host_ports
                .iter()
                .filter_map(|h| {
                    let proto = match h.protocol.as_str() {
                        "tcp" => L4::Tcp,
                        "udp" => L4::Udp,
                        "sctp" => L4::Sctp,
                        _ => return None,
                    };
                    Some(HostPort {
                        proto,
                        host_ip: h.host_ip,
                        host_port: h.host_port,
                        pod_port: h.container_port,
                    })
                })
                .collect(),
        }
    }
}
