//! What the proxy makes of Services and EndpointSlices on one node, before any nftables: one
//! [`PortPlan`] per Service port that has a cluster IP, with the endpoints internal traffic
//! goes to and, for a node port, those external traffic goes to — after the traffic policies,
//! as kube-proxy chooses them:
//!
//! - usable endpoints are the `ready` ones; when none is ready, the `serving` and
//!   `terminating` ones (so connections keep working while every pod of a rollout is
//!   shutting down);
//! - `internalTrafficPolicy: Local` sends cluster traffic only to this node's endpoints;
//! - `externalTrafficPolicy: Local` sends node-port traffic only to this node's endpoints and
//!   keeps the client's address; `Cluster` may send it anywhere and masquerades it, so replies
//!   come back through this node.
//!
//! Slices are untrusted input: an address that is not IPv4, a port out of range or a slice of
//! another address type is skipped (and counted in [`Plan::skipped`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use podnet_model::endpointslice::SERVICE_NAME_LABEL;
use podnet_model::service::{SessionAffinity, TrafficPolicy, DEFAULT_AFFINITY_TIMEOUT_SECONDS};
use podnet_model::{AddressType, EndpointSlice, Protocol, Service, ServiceType};
use podnet_nft_model::L4;

/// One Service port: `namespace/name/proto/port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId {
    pub namespace: String,
    pub name: String,
    pub proto: L4,
    pub port: u16,
}

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.namespace,
            self.name,
            self.proto.as_str(),
            self.port
        )
    }
}

/// One endpoint of a port: where its connections are translated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub addr: Ipv4Addr,
    pub port: u16,
}

/// What the proxy does with one Service port on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPlan {
    pub id: PortId,
    pub cluster_ip: Ipv4Addr,
    /// Endpoints for traffic to the cluster IP (after `internalTrafficPolicy`).
    pub internal: Vec<Target>,
    /// Whether the port has usable endpoints anywhere (none: reject, as kube-proxy does;
    /// some, but none here under a `Local` policy: drop).
    pub any_endpoints: bool,
    pub node_port: Option<NodePort>,
    /// `sessionAffinity: ClientIP`: the timeout in seconds.
    pub affinity: Option<u32>,
}

/// The node-port side of a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePort {
    pub port: u16,
    /// Endpoints for traffic to the node port (after `externalTrafficPolicy`).
    pub targets: Vec<Target>,
    /// `Cluster` policy: masquerade, so replies return through this node.
    pub masquerade: bool,
}

/// Every port plan of the node, by id, and what was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub ports: BTreeMap<PortId, PortPlan>,
    /// Slice entries refused as invalid (bad address, port or type).
    pub skipped: usize,
}

fn l4(p: &Option<Protocol>) -> Option<L4> {
    match p.clone().filter(|p| !p.is_unset()).unwrap_or(Protocol::Tcp) {
        Protocol::Tcp => Some(L4::Tcp),
        Protocol::Udp => Some(L4::Udp),
        Protocol::Sctp => Some(L4::Sctp),
        Protocol::Other(_) => None,
    }
}

/// One endpoint as read from a slice.
#[derive(Debug, Clone, Copy)]
struct Seen {
    target: Target,
    local: bool,
    ready: bool,
    serving: bool,
    terminating: bool,
}

/// The usable endpoints among `seen`: the ready ones, else the serving terminating ones.
fn usable(seen: &[Seen]) -> Vec<Target> {
    let mut ready: Vec<Target> = seen.iter().filter(|s| s.ready).map(|s| s.target).collect();
    if ready.is_empty() {
        ready = seen
            .iter()
            .filter(|s| s.serving && s.terminating)
            .map(|s| s.target)
            .collect();
    }
    ready.sort();
    ready.dedup();
    ready
}

/// The plan of `node` for these Services and slices.
pub fn plan(services: &[Service], slices: &[EndpointSlice], node: &str) -> Plan {
    let mut out = Plan::default();
    // (namespace, service) -> port name -> (proto, endpoints)
    let mut by_service: BTreeMap<(String, String), Vec<&EndpointSlice>> = BTreeMap::new();
    for s in slices {
        let Some(svc) = s.metadata.labels.get(SERVICE_NAME_LABEL) else {
            continue;
        };
        let ns = s
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        by_service.entry((ns, svc.clone())).or_default().push(s);
    }
    for svc in services {
        let spec = &svc.spec;
        if spec.service_type() == ServiceType::ExternalName || spec.is_headless() {
            continue;
        }
        let Some(cluster_ip) = spec
            .cluster_ip
            .as_deref()
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
        else {
            continue;
        };
        let namespace = svc
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let slices = by_service
            .get(&(namespace.clone(), svc.metadata.name.clone()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let affinity = (spec.session_affinity == Some(SessionAffinity::ClientIp)).then(|| {
            let t = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .unwrap_or(DEFAULT_AFFINITY_TIMEOUT_SECONDS);
            u32::try_from(t).unwrap_or(1).max(1)
        });
        let internal_local = spec.internal_traffic_policy == Some(TrafficPolicy::Local);
        let external_local = spec.external_traffic_policy == Some(TrafficPolicy::Local);
        let takes_node_ports = matches!(
            spec.service_type(),
            ServiceType::NodePort | ServiceType::LoadBalancer
        );
        for sp in &spec.ports {
            let (Some(proto), Ok(port)) = (l4(&sp.protocol), u16::try_from(sp.port)) else {
                continue;
            };
            if port == 0 {
                continue;
            }
            let port_name = sp.name.clone().unwrap_or_default();
            let mut seen = Vec::new();
            for slice in slices {
                if slice.address_type != Some(AddressType::Ipv4) {
                    out.skipped += slice.endpoints.len();
                    continue;
                }
                let Some(ep_port) = slice.ports.iter().find(|p| {
                    p.name.clone().unwrap_or_default() == port_name
                        && l4(&p.protocol) == Some(proto)
                }) else {
                    continue;
                };
                let Some(target_port) = ep_port
                    .port
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p != 0)
                else {
                    out.skipped += slice.endpoints.len();
                    continue;
                };
                for ep in &slice.endpoints {
                    let Some(addr) = ep
                        .addresses
                        .first()
                        .and_then(|a| a.parse::<Ipv4Addr>().ok())
                    else {
                        out.skipped += 1;
                        continue;
                    };
                    seen.push(Seen {
                        target: Target {
                            addr,
                            port: target_port,
                        },
                        local: ep.node_name.as_deref() == Some(node),
                        ready: ep.conditions.is_ready(),
                        serving: ep.conditions.is_serving(),
                        terminating: ep.conditions.is_terminating(),
                    });
                }
            }
            let locals: Vec<Seen> = seen.iter().copied().filter(|s| s.local).collect();
            let cluster = usable(&seen);
            let local = usable(&locals);
            let node_port = sp
                .node_port
                .filter(|_| takes_node_ports)
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n != 0)
                .map(|port| NodePort {
                    port,
                    targets: if external_local {
                        local.clone()
                    } else {
                        cluster.clone()
                    },
                    masquerade: !external_local,
                });
            let id = PortId {
                namespace: namespace.clone(),
                name: svc.metadata.name.clone(),
                proto,
                port,
            };
            out.ports.insert(
                id.clone(),
                PortPlan {
                    id,
                    cluster_ip,
                    internal: if internal_local {
                        local
                    } else {
                        cluster.clone()
                    },
                    any_endpoints: !cluster.is_empty(),
                    node_port,
                    affinity,
                },
            );
        }
    }
    out
}
