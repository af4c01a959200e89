//! Pure planning: from the validated config, the attachment and the allocated address to every
//! name, address, route and rule of the attachment, and the result to print. No I/O.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;
use podnet_cni::config::{check_subnet, IpamConf};
use podnet_cni::env::Attachment;
use podnet_cni::{
    CniError, CniResult, ErrorCode, Interface, IpConfig, NetConf, PodPath, PortMapping, Protocol,
    Route,
};
use podnet_model::facts::ParsedFacts;
use podnet_netspec::{BridgeSpec, ContainerIfSpec, FastPath, PodRouteSpec, VethSpec};
use podnet_nft::PodEntry;

use crate::naming::{format_mac, host_veth, pod_mac};
use crate::record::{AttachmentRecord, HostPortRecord};

/// MTU when neither the config nor the node facts give one.
pub const DEFAULT_MTU: u32 = 1500;

/// A routed pod's gateway: link-local, on no interface of the node; the pod reaches it through a
/// permanent neighbour entry for [`ROUTED_HOST_MAC`], so every pod sees the same gateway.
pub const ROUTED_GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);
/// The host side's MAC of every routed pod's veth (locally administered, unicast; each veth is
/// its own link, so sharing it is fine — Calico does the same).
pub const ROUTED_HOST_MAC: [u8; 6] = [0xee; 6];

/// The node-level parameters of a network: where pod addresses come from and how they route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetParams {
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub mtu: u32,
    pub cluster_cidr: Ipv4Net,
}

/// Combines the config with the node facts (config wins) and validates the combination.
pub fn resolve_params(conf: &NetConf, facts: Option<&ParsedFacts>) -> Result<NetParams, CniError> {
    let (subnet, gateway) = match &conf.ipam {
        IpamConf::BuiltIn {
            subnet: Some(s),
            gateway,
            ..
        } => (*s, *gateway),
        IpamConf::BuiltIn {
            subnet: None,
            gateway,
            ..
        } => match facts {
            Some(f) => (f.subnet, gateway.or(f.gateway)),
            None => {
                return Err(CniError::new(
                    ErrorCode::InvalidConfig,
                    "ipam.subnet: missing, and no node facts",
                ));
            }
        },
        IpamConf::Delegated { plugin } => {
            return Err(CniError::new(
                ErrorCode::InvalidConfig,
                format!(
                "ipam.type {plugin:?}: addresses come from the delegate, not from node parameters"
            ),
            ))
        }
    };
    let gateway = gateway.unwrap_or_else(|| first_host(subnet));
    let cluster_cidr = conf
        .cluster_cidr
        .or(facts.and_then(|f| f.cluster_cidr))
        .unwrap_or(subnet);
    check_subnet(subnet, Some(gateway), Some(cluster_cidr))?;
    let mtu = conf
        .mtu
        .or(facts.and_then(|f| f.mtu))
        .unwrap_or(DEFAULT_MTU);
    Ok(NetParams {
        subnet,
        gateway,
        mtu,
        cluster_cidr,
    })
}

/// The first usable address of a subnet (the default gateway).
pub fn first_host(subnet: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()).saturating_add(1))
}

/// Where the host side of the pod's veth goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSide {
    /// Into the node bridge.
    Bridge { bridge: BridgeSpec, hairpin: bool },
    /// Nowhere: the node routes the pod's /32 to it.
    Routed(PodRouteSpec),
}

/// Everything ADD will create for one attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPlan {
    pub host: HostSide,
    pub veth: VethSpec,
    pub container: ContainerIfSpec,
    /// The gateway the pod is given (and the result reports).
    pub gateway: Ipv4Addr,
    pub pod: PodEntry,
}

/// The record stored with an allocation, known before the address is (hostPorts, veth name).
pub fn record_for(conf: &NetConf, att: &Attachment, cluster_cidr: Ipv4Net) -> AttachmentRecord {
    AttachmentRecord {
        host_veth: host_veth(&conf.name, &att.container_id, &att.ifname),
        cluster_cidr,
        masquerade: conf.ip_masq,
        host_ports: conf.port_mappings.iter().map(host_port_record).collect(),
    }
}

fn host_port_record(pm: &PortMapping) -> HostPortRecord {
    HostPortRecord {
        protocol: match pm.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
        .into(),
        host_ip: pm.host_ip,
        host_port: pm.host_port,
        container_port: pm.container_port,
    }
}

/// Plans ADD for `ip` (with the subnet's prefix) in a network with parameters `p`.
pub fn plan_add(
    conf: &NetConf,
    att: &Attachment,
    p: &NetParams,
    ip: Ipv4Addr,
    routes: &[(Ipv4Net, Ipv4Addr)],
) -> AddPlan {
    let record = record_for(conf, att, p.cluster_cidr);
    let routed = conf.mode.is_routed();
    let (gateway, prefix) = if routed {
        (ROUTED_GATEWAY, 32)
    } else {
        (p.gateway, p.subnet.prefix_len())
    };
    let routes: Vec<_> = if routes.is_empty() {
        vec![(Ipv4Net::default(), gateway)]
    } else if routed {
        // A routed pod has one way out, whatever gateway the IPAM plugin named.
        routes.iter().map(|(dst, _)| (*dst, gateway)).collect()
    } else {
        routes.to_vec()
    };
    let host = if routed {
        HostSide::Routed(PodRouteSpec {
            host: record.host_veth.clone(),
            pod: ip,
            subnet: p.subnet,
            // A pod with port mappings answers DNATed connections: its replies need conntrack.
            fast_path: (conf.mode == PodPath::Ebpf && conf.port_mappings.is_empty()).then_some(
                FastPath {
                    cluster: p.cluster_cidr,
                    local: p.subnet,
                },
            ),
        })
    } else {
        HostSide::Bridge {
            bridge: BridgeSpec {
                name: conf.bridge.clone(),
                mtu: p.mtu,
                gateway: Ipv4Net::new(p.gateway, prefix).unwrap_or_default(),
            },
            hairpin: conf.hairpin_mode,
        }
    };
    AddPlan {
        host,
        veth: VethSpec {
            host_name: record.host_veth.clone(),
            container_name: att.ifname.clone(),
            container_mac: pod_mac(ip),
            host_mac: routed.then_some(ROUTED_HOST_MAC),
            mtu: p.mtu,
        },
        container: ContainerIfSpec {
            ifname: att.ifname.clone(),
            address: Ipv4Net::new(ip, prefix).unwrap_or_default(),
            routes,
            onlink: routed,
            gateway_neigh: routed.then_some((ROUTED_GATEWAY, ROUTED_HOST_MAC)),
        },
        gateway,
        pod: record.pod_entry(&conf.name, ip),
    }
}

/// The ADD result: `prevResult` (if chained) followed by the host veth and the pod interface.
pub fn result_for(
    conf: &NetConf,
    plan: &AddPlan,
    netns: &Path,
    host_mac: [u8; 6],
) -> Result<CniResult, CniError> {
    let mut out = match &conf.prev_result {
        Some(prev) => CniResult::from_value(prev)?,
        None => CniResult::default(),
    };
    let base = out.interfaces.len();
    out.interfaces.push(Interface {
        name: plan.veth.host_name.clone(),
        mac: format_mac(&host_mac),
        sandbox: None,
    });
    out.interfaces.push(Interface {
        name: plan.veth.container_name.clone(),
        mac: format_mac(&plan.veth.container_mac),
        sandbox: Some(netns.display().to_string()),
    });
    out.ips.push(IpConfig {
        address: plan.container.address.to_string(),
        gateway: Some(plan.gateway.to_string()),
        interface: Some(base + 1),
    });
    for (dst, gw) in &plan.container.routes {
        out.routes.push(Route {
            dst: dst.to_string(),
            gw: Some(gw.to_string()),
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
