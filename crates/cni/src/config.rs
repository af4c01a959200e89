//! The network configuration on stdin: decoding (code 6 on malformed JSON, naming the path of a
//! wrongly typed field) and validation (code 7 naming the field and value, code 1 for versions,
//! code 2 for fields podnet recognises but does not support).
//!
//! Unknown keys are ignored, as the SPEC requires of plugins in a chain.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::Deserialize;

use crate::addr::{is_special, parse_ipv4, parse_subnet, AddrError};
use crate::error::{CniError, ErrorCode};
use crate::names::{check_ifname, check_network_name, check_plugin_type};
use crate::version::CniVersion;

/// Largest config accepted on stdin; a runtime never sends anything near this.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// Default bridge name on the node.
pub const DEFAULT_BRIDGE: &str = "podnet0";
/// Default IPAM data directory.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/podnet/ipam";
/// Default location of the node facts file written by the agent.
pub const DEFAULT_NODE_FACTS: &str = "/run/podnet/node.json";
/// Smallest MTU the kernel allows on an IPv4 interface.
pub const MIN_MTU: u32 = 68;
/// Largest MTU podnet configures.
pub const MAX_MTU: u32 = 65535;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConf {
    cni_version: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    plugin_type: Option<String>,
    bridge: Option<String>,
    mode: Option<String>,
    mtu: Option<u32>,
    ip_masq: Option<bool>,
    #[serde(rename = "clusterCIDR")]
    cluster_cidr: Option<String>,
    hairpin_mode: Option<bool>,
    ipam: Option<RawIpam>,
    runtime_config: Option<RawRuntimeConfig>,
    prev_result: Option<serde_json::Value>,
    #[serde(rename = "cni.dev/valid-attachments")]
    valid_attachments: Option<Vec<RawAttachment>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIpam {
    #[serde(rename = "type")]
    plugin_type: Option<String>,
    subnet: Option<String>,
    gateway: Option<String>,
    data_dir: Option<String>,
    node_facts: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRuntimeConfig {
    port_mappings: Option<Vec<RawPortMapping>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPortMapping {
    host_port: i64,
    container_port: i64,
    protocol: Option<String>,
    #[serde(rename = "hostIP")]
    host_ip: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAttachment {
    #[serde(rename = "containerID")]
    container_id: String,
    ifname: String,
}

/// Layer-4 protocol of a port mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

/// A validated hostPort mapping (capability `portMappings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortMapping {
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
    /// `None` means every local address of the node.
    pub host_ip: Option<Ipv4Addr>,
}

/// Where pod addresses come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpamConf {
    /// podnet's own store. `subnet: None` means "read it from the node facts file".
    BuiltIn {
        subnet: Option<Ipv4Net>,
        gateway: Option<Ipv4Addr>,
        data_dir: PathBuf,
        node_facts: PathBuf,
    },
    /// Another IPAM plugin, a bare file name found on CNI_PATH.
    Delegated { plugin: String },
}

/// How a pod's veth meets the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PodPath {
    /// Host side enslaved to the node bridge; the pod has the subnet's prefix and the bridge's
    /// address as its gateway (the CNI `bridge` plugin's and flannel's design).
    #[default]
    Bridge,
    /// No bridge: a /32 route per pod on the node, the pod has a /32 address and a link-local
    /// gateway (169.254.1.1) answered by a permanent neighbour entry (Calico's design).
    Routed,
    /// Routed pods plus the eBPF fast path: tc programs on the host veths and the node's
    /// underlay forward pod-to-pod packets by a FIB lookup and a redirect, skipping the node's
    /// forwarding path and netfilter (Cilium's host routing). Pods with port mappings keep the
    /// kernel path for their own packets, which need conntrack to undo the DNAT.
    Ebpf,
}

impl PodPath {
    /// The config value, as written in `"mode"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PodPath::Bridge => "bridge",
            PodPath::Routed => "routed",
            PodPath::Ebpf => "ebpf",
        }
    }

    /// Bridge-less (`routed` or `ebpf`): a /32 pod behind a /32 route.
    pub fn is_routed(self) -> bool {
        matches!(self, PodPath::Routed | PodPath::Ebpf)
    }
}

/// A validated podnet network configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConf {
    pub cni_version: CniVersion,
    pub name: String,
    pub plugin_type: String,
    pub bridge: String,
    /// `"mode"`: `bridge` (default), `routed` or `ebpf`.
    pub mode: PodPath,
    pub mtu: Option<u32>,
    pub ip_masq: bool,
    pub cluster_cidr: Option<Ipv4Net>,
    pub hairpin_mode: bool,
    pub ipam: IpamConf,
    pub port_mappings: Vec<PortMapping>,
    pub prev_result: Option<serde_json::Value>,
    pub valid_attachments: Option<Vec<(String, String)>>,
    /// The config exactly as received, passed unchanged to a delegated IPAM plugin.
    pub raw: Vec<u8>,
}

/// Only the version, for VERSION (which must work even with an otherwise broken config).
pub fn peek_version(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct V {
        #[serde(rename = "cniVersion")]
        v: Option<String>,
    }
    serde_json::from_slice::<V>(bytes).ok().and_then(|v| v.v)
}

fn bad(field: &str, msg: impl std::fmt::Display) -> CniError {
    CniError::new(ErrorCode::InvalidConfig, format!("{field}: {msg}"))
}

fn addr_err(field: &str, e: AddrError) -> CniError {
    let code = if e.is_unsupported() {
        ErrorCode::UnsupportedField
    } else {
        ErrorCode::InvalidConfig
    };
    CniError::new(code, format!("{field}: {e}"))
}

fn port(field: &str, n: i64) -> Result<u16, CniError> {
    match u16::try_from(n) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(bad(field, format!("port {n} is not in 1..=65535"))),
    }
}

impl NetConf {
    /// Decodes and validates the config bytes from stdin.
    pub fn parse(bytes: &[u8]) -> Result<NetConf, CniError> {
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(CniError::new(
                ErrorCode::Decode,
                format!(
                    "network config is {} bytes; the limit is {MAX_CONFIG_BYTES}",
                    bytes.len()
                ),
            ));
        }
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(CniError::new(
                ErrorCode::Decode,
                "network config on stdin is empty",
            ));
        }
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let raw: RawConf = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = if path == "." || path.is_empty() {
                format!("network config is not valid JSON: {inner}")
            } else {
                format!("network config field {path}: {inner}")
            };
            CniError::new(ErrorCode::Decode, msg)
        })?;
        Self::validate(raw, bytes)
    }

    fn validate(raw: RawConf, bytes: &[u8]) -> Result<NetConf, CniError> {
        let version = raw
            .cni_version
            .ok_or_else(|| bad("cniVersion", "is required"))?;
        let cni_version = CniVersion::parse(&version)?;
        let name = raw.name.ok_or_else(|| bad("name", "is required"))?;
        check_network_name(&name).map_err(|why| bad("name", format!("{name:?} {why}")))?;
        let plugin_type = raw.plugin_type.ok_or_else(|| bad("type", "is required"))?;
        check_plugin_type(&plugin_type)
            .map_err(|why| bad("type", format!("{plugin_type:?} {why}")))?;
        let bridge = raw.bridge.unwrap_or_else(|| DEFAULT_BRIDGE.to_string());
        check_ifname(&bridge).map_err(|why| bad("bridge", format!("{bridge:?} {why}")))?;
        let mode = match raw.mode.as_deref() {
            None | Some("bridge") => PodPath::Bridge,
            Some("routed") => PodPath::Routed,
            Some("ebpf") => PodPath::Ebpf,
            Some(m) => {
                return Err(bad(
                    "mode",
                    format!("{m:?} is not \"bridge\", \"routed\" or \"ebpf\""),
                ))
            }
        };
        if let Some(mtu) = raw.mtu {
            if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
                return Err(bad("mtu", format!("{mtu} is not in {MIN_MTU}..={MAX_MTU}")));
            }
        }
        let cluster_cidr = raw
            .cluster_cidr
            .as_deref()
            .map(|s| parse_subnet(s).map_err(|e| addr_err("clusterCIDR", e)))
            .transpose()?;

        let ipam_raw = raw.ipam.ok_or_else(|| bad("ipam", "is required"))?;
        let ipam = match ipam_raw.plugin_type {
            Some(t) => {
                check_plugin_type(&t).map_err(|why| bad("ipam.type", format!("{t:?} {why}")))?;
                IpamConf::Delegated { plugin: t }
            }
            None => {
                let subnet = ipam_raw
                    .subnet
                    .as_deref()
                    .map(|s| parse_subnet(s).map_err(|e| addr_err("ipam.subnet", e)))
                    .transpose()?;
                let gateway = ipam_raw
                    .gateway
                    .as_deref()
                    .map(|s| parse_ipv4(s).map_err(|e| addr_err("ipam.gateway", e)))
                    .transpose()?;
                if let Some(subnet) = subnet {
                    check_subnet(subnet, gateway, cluster_cidr)?;
                }
                let data_dir = abs_path("ipam.dataDir", ipam_raw.data_dir, DEFAULT_DATA_DIR)?;
                let node_facts =
                    abs_path("ipam.nodeFacts", ipam_raw.node_facts, DEFAULT_NODE_FACTS)?;
                IpamConf::BuiltIn {
                    subnet,
                    gateway,
                    data_dir,
                    node_facts,
                }
            }
        };

        let port_mappings = raw
            .runtime_config
            .and_then(|r| r.port_mappings)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, pm)| validate_port_mapping(i, pm))
            .collect::<Result<Vec<_>, _>>()?;

        if let Some(prev) = &raw.prev_result {
            if !prev.is_object() {
                return Err(bad("prevResult", "must be an object"));
            }
        }
        let valid_attachments = raw
            .valid_attachments
            .map(|v| v.into_iter().map(|a| (a.container_id, a.ifname)).collect());

        Ok(NetConf {
            cni_version,
            name,
            plugin_type,
            bridge,
            mode,
            mtu: raw.mtu,
            ip_masq: raw.ip_masq.unwrap_or(true),
            cluster_cidr,
            hairpin_mode: raw.hairpin_mode.unwrap_or(false),
            ipam,
            port_mappings,
            prev_result: raw.prev_result,
            valid_attachments,
            raw: bytes.to_vec(),
        })
    }
}

/// Checks a pod subnet, its gateway and the cluster CIDR against each other (code 7).
pub fn check_subnet(
    subnet: Ipv4Net,
    gateway: Option<Ipv4Addr>,
    cluster_cidr: Option<Ipv4Net>,
) -> Result<(), CniError> {
    if subnet.prefix_len() > 30 {
        return Err(bad(
            "ipam.subnet",
            format!("{subnet} leaves no room for a gateway and pods (use /30 or larger)"),
        ));
    }
    if is_special(subnet.network())
        || subnet.network().octets()[0] == 0
        || subnet.network().octets()[0] >= 224
    {
        return Err(bad(
            "ipam.subnet",
            format!("{subnet} is not a unicast range usable for pods"),
        ));
    }
    if let Some(gw) = gateway {
        if !subnet.contains(&gw) {
            return Err(bad(
                "ipam.gateway",
                format!("{gw} is outside ipam.subnet {subnet}"),
            ));
        }
        if gw == subnet.network() || gw == subnet.broadcast() {
            return Err(bad(
                "ipam.gateway",
                format!("{gw} is the network or broadcast address of {subnet}"),
            ));
        }
    }
    if let Some(cluster) = cluster_cidr {
        if !cluster.contains(&subnet) {
            return Err(bad(
                "clusterCIDR",
                format!("{cluster} does not contain ipam.subnet {subnet}"),
            ));
        }
    }
    Ok(())
}

fn abs_path(field: &str, value: Option<String>, default: &str) -> Result<PathBuf, CniError> {
    let v = value.unwrap_or_else(|| default.to_string());
    if !v.starts_with('/') || v.contains('\0') || v.split('/').any(|c| c == "..") {
        return Err(bad(
            field,
            format!("{v:?} must be an absolute path without '..'"),
        ));
    }
    Ok(PathBuf::from(v))
}

fn validate_port_mapping(i: usize, pm: RawPortMapping) -> Result<PortMapping, CniError> {
    let field = format!("runtimeConfig.portMappings[{i}]");
    let host_port = port(&format!("{field}.hostPort"), pm.host_port)?;
    let container_port = port(&format!("{field}.containerPort"), pm.container_port)?;
    let proto = pm.protocol.unwrap_or_else(|| "tcp".into());
    let protocol = Protocol::parse(&proto).ok_or_else(|| {
        bad(
            &format!("{field}.protocol"),
            format!("{proto:?} is not tcp, udp or sctp"),
        )
    })?;
    let host_ip = match pm.host_ip.as_deref() {
        None | Some("") | Some("0.0.0.0") => None,
        Some(s) => {
            let ip = parse_ipv4(s).map_err(|e| addr_err(&format!("{field}.hostIP"), e))?;
            if is_special(ip) {
                return Err(bad(
                    &format!("{field}.hostIP"),
                    format!("{ip} is not a unicast host address"),
                ));
            }
            Some(ip)
        }
    };
    Ok(PortMapping {
        host_port,
        container_port,
        protocol,
        host_ip,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
