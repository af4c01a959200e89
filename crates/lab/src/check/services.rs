//! `lab check`'s Service sections, from the Services and EndpointSlices in the lab's
//! datastore: every cluster IP and port from every pod and every node (answered by one of the
//! Service's endpoints, which sees the client's own address — or, for a pod reaching itself
//! through its Service, its node's), a Service without endpoints refused, node ports from the
//! internet namespace (policy `Cluster`: every node answers, masqueraded; `Local`: only nodes
//! with an endpoint answer, and the endpoint sees the internet host's address; the others stay
//! silent), and session affinity (20 requests from one pod, one answering endpoint).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use podnet_model::endpointslice::SERVICE_NAME_LABEL;
use podnet_model::service::{SessionAffinity, TrafficPolicy};
use podnet_model::{EndpointSlice, Object, Pod, Protocol, Service};
use podnet_proxy::endpoints::slices_for;

use super::{probe, Expect, Probe};
use crate::spec::{PodMode, INET_HOST};
use crate::state::{LabState, PodState};

/// The kinds of probe this module makes, in the order `lab check` prints them.
pub const KINDS: &[&str] = &[
    "endpointslices current",
    "pod→service",
    "pod→service udp",
    "node→service",
    "node→service udp",
    "service without endpoints",
    "internet→nodeport",
    "nodeport Local: silent",
    "session affinity",
];

/// One ready endpoint: its address and node.
struct Ep {
    addr: Ipv4Addr,
    node: Option<String>,
}

fn ready_endpoints(slices: &[&EndpointSlice], port_name: &str, proto: &Protocol) -> Vec<Ep> {
    let mut out = Vec::new();
    for s in slices {
        let Some(p) = s.ports.iter().find(|p| {
            p.name.clone().unwrap_or_default() == port_name
                && p.protocol.clone().unwrap_or(Protocol::Tcp) == *proto
        }) else {
            continue;
        };
        if p.port.and_then(|p| u16::try_from(p).ok()).is_none() {
            continue;
        }
        for e in s.endpoints.iter().filter(|e| e.conditions.is_ready()) {
            if let Some(addr) = e.addresses.first().and_then(|a| a.parse().ok()) {
                out.push(Ep {
                    addr,
                    node: e.node_name.clone(),
                });
            }
        }
    }
    out
}

/// Whether two sets of slices hold the same endpoints (addresses and readiness).
fn same_endpoints(a: &[EndpointSlice], b: &[&EndpointSlice]) -> bool {
    let set = |it: Vec<&EndpointSlice>| -> BTreeSet<(String, bool)> {
        it.iter()
            .flat_map(|s| &s.endpoints)
            .map(|e| {
                (
                    e.addresses.first().cloned().unwrap_or_default(),
                    e.conditions.is_ready(),
                )
            })
            .collect()
    };
    set(a.iter().collect()) == set(b.to_vec())
}

/// Builds the Service probes. `addrs_of(node)` are a node's addresses; `sender(pod)` the
/// addresses a receiver may see for a pod.
pub fn probes(
    st: &LabState,
    objects: &[Object],
    addrs_of: &dyn Fn(&str) -> BTreeSet<Ipv4Addr>,
    sender: &dyn Fn(&PodState) -> BTreeSet<Ipv4Addr>,
) -> Vec<Probe> {
    let services: Vec<&Service> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Service(s) => Some(s),
            _ => None,
        })
        .collect();
    let pods: Vec<&Pod> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Pod(p) => Some(p),
            _ => None,
        })
        .collect();
    let mut stored: BTreeMap<(String, String), Vec<&EndpointSlice>> = BTreeMap::new();
    for o in objects {
        if let Object::EndpointSlice(s) = o {
            if let Some(svc) = s.metadata.labels.get(SERVICE_NAME_LABEL) {
                let ns = s.metadata.namespace.clone().unwrap_or_default();
                stored.entry((ns, svc.clone())).or_default().push(s);
            }
        }
    }
    let by_ip: BTreeMap<Ipv4Addr, &PodState> =
        st.pods.iter().filter_map(|p| Some((p.ip?, p))).collect();
    let clients: Vec<&PodState> = st
        .pods
        .iter()
        .filter(|p| p.ip.is_some() && !matches!(p.mode, PodMode::None | PodMode::Container(_)))
        .collect();
    let inet_ns = format!("{}inet", st.prefix);
    let mut out = Vec::new();
    for svc in services {
        let Some(vip) = svc
            .spec
            .cluster_ip
            .as_deref()
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
        else {
            continue;
        };
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        let name = format!("{ns}/{}", svc.metadata.name);
        // The endpoints the Service must have, from the Pods themselves; the stored slices
        // must say the same (else the endpoints controller lags, and the check says so).
        let want = slices_for(svc, pods.iter().copied());
        let svc_slices: Vec<&EndpointSlice> = want.iter().collect();
        let have = stored
            .get(&(ns.clone(), svc.metadata.name.clone()))
            .cloned()
            .unwrap_or_default();
        if !svc.spec.selector.is_empty() && !same_endpoints(&want, &have) {
            let mut p = probe(
                "endpointslices current",
                "lab",
                "",
                &name,
                Ipv4Addr::UNSPECIFIED,
                0,
                BTreeSet::new(),
            );
            p.detail =
                "the stored EndpointSlices do not list the Service's ready pods (yet)".into();
            p.expect = Expect::Recorded;
            out.push(p);
        }
        for sp in &svc.spec.ports {
            let proto = sp.protocol.clone().unwrap_or(Protocol::Tcp);
            let udp = match proto {
                Protocol::Tcp => false,
                Protocol::Udp => true,
                _ => continue,
            };
            let Ok(port) = u16::try_from(sp.port) else {
                continue;
            };
            let eps = ready_endpoints(&svc_slices, &sp.name.clone().unwrap_or_default(), &proto);
            let url = |ip: Ipv4Addr, port: u16| {
                if udp {
                    format!("udp://{ip}:{port}")
                } else {
                    format!("http://{ip}:{port}/")
                }
            };
            let to = format!("{name}:{port}");
            if eps.is_empty() {
                // Only from one pod: a refusal is the same from everywhere.
                if let Some(c) = clients.first() {
                    let mut p = probe(
                        "service without endpoints",
                        &c.key(),
                        &c.netns,
                        &to,
                        vip,
                        port,
                        BTreeSet::new(),
                    );
                    p.url = url(vip, port);
                    p.expect = Expect::Refused;
                    out.push(p);
                }
                continue;
            }
            let backends: BTreeSet<String> = eps
                .iter()
                .filter_map(|e| by_ip.get(&e.addr))
                .map(|p| p.key())
                .collect();
            let ep_addrs: BTreeSet<Ipv4Addr> = eps.iter().map(|e| e.addr).collect();
            for c in &clients {
                let mut accept = sender(c);
                if c.ip.is_some_and(|ip| ep_addrs.contains(&ip)) {
                    // Hairpin: masqueraded to an address of its node.
                    accept.extend(addrs_of(&c.node));
                }
                let kind = if udp {
                    "pod→service udp"
                } else {
                    "pod→service"
                };
                let mut p = probe(kind, &c.key(), &c.netns, &to, vip, port, accept);
                p.url = url(vip, port);
                p.backends = backends.clone();
                out.push(p);
            }
            for n in &st.nodes {
                let kind = if udp {
                    "node→service udp"
                } else {
                    "node→service"
                };
                let mut p = probe(kind, &n.name, &n.netns, &to, vip, port, addrs_of(&n.name));
                p.url = url(vip, port);
                p.backends = backends.clone();
                out.push(p);
            }
            if svc.spec.session_affinity == Some(SessionAffinity::ClientIp) {
                if let Some(c) = clients.first() {
                    let mut p = probe(
                        "session affinity",
                        &c.key(),
                        &c.netns,
                        &to,
                        vip,
                        port,
                        sender(c),
                    );
                    p.url = url(vip, port);
                    p.backends = backends.clone();
                    p.repeat = 20;
                    out.push(p);
                }
            }
            let Some(node_port) = sp
                .node_port
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n != 0)
            else {
                continue;
            };
            let local = svc.spec.external_traffic_policy == Some(TrafficPolicy::Local);
            for n in &st.nodes {
                let Some(node_ip) = n.ip else { continue };
                let has_local = eps
                    .iter()
                    .any(|e| e.node.as_deref() == Some(n.name.as_str()));
                let to = format!("{name}:{node_port} on {}", n.name);
                if local && !has_local {
                    let mut p = probe(
                        "nodeport Local: silent",
                        "internet",
                        &inet_ns,
                        &to,
                        node_ip,
                        node_port,
                        BTreeSet::new(),
                    );
                    p.url = url(node_ip, node_port);
                    p.expect = Expect::Silence;
                    out.push(p);
                    continue;
                }
                let accept = if local {
                    [INET_HOST].into()
                } else {
                    addrs_of(&n.name)
                };
                let mut p = probe(
                    "internet→nodeport",
                    "internet",
                    &inet_ns,
                    &to,
                    node_ip,
                    node_port,
                    accept,
                );
                p.url = url(node_ip, node_port);
                p.backends = if local {
                    eps.iter()
                        .filter(|e| e.node.as_deref() == Some(n.name.as_str()))
                        .filter_map(|e| by_ip.get(&e.addr))
                        .map(|p| p.key())
                        .collect()
                } else {
                    backends.clone()
                };
                out.push(p);
            }
        }
    }
    out
}
