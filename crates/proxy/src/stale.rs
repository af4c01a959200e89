//! Which UDP conntrack entries a change of plan leaves stale. UDP has no end of connection, so
//! conntrack keeps sending a client's flow where its first packet went for as long as the
//! client keeps sending: to an endpoint that is gone, or — for a Service that had no endpoints
//! and rejected it — nowhere (kube-proxy's stale-UDP bug). After a change the proxy deletes:
//!
//! - for every UDP endpoint removed from a port: the flows to the cluster IP (and to the node
//!   port) answered by that endpoint;
//! - for every UDP port that has endpoints now and had none: every flow to the cluster IP
//!   (and to the node port), so the next packet is translated.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use podnet_nft_model::L4;

use crate::plan::{Plan, PortPlan, Target};

/// UDP conntrack entries to delete: to `dst` (`None`: any address, for a node port) on
/// `port`, answered by `reply_src` (`None`: whoever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flows {
    pub dst: Option<Ipv4Addr>,
    pub port: u16,
    pub reply_src: Option<Ipv4Addr>,
}

impl Flows {
    /// The `conntrack` command's arguments (`conntrack -D -p udp …`).
    pub fn args(&self) -> Vec<String> {
        let mut a = vec!["-D".to_string(), "-p".into(), "udp".into()];
        if let Some(d) = self.dst {
            a.extend(["--orig-dst".into(), d.to_string()]);
        }
        a.extend(["--orig-port-dst".into(), self.port.to_string()]);
        if let Some(r) = self.reply_src {
            a.extend(["--reply-src".into(), r.to_string()]);
        }
        a
    }
}

fn targets(p: &PortPlan) -> BTreeSet<Target> {
    let mut t: BTreeSet<Target> = p.internal.iter().copied().collect();
    if let Some(np) = &p.node_port {
        t.extend(np.targets.iter().copied());
    }
    t
}

/// The flows to delete after going from `old` to `new`.
pub fn stale_flows(old: &Plan, new: &Plan) -> BTreeSet<Flows> {
    let mut out = BTreeSet::new();
    for (id, was) in old.ports.iter().filter(|(id, _)| id.proto == L4::Udp) {
        let now = new.ports.get(id);
        let keep = now.map(targets).unwrap_or_default();
        for t in targets(was).difference(&keep) {
            out.insert(Flows {
                dst: Some(was.cluster_ip),
                port: id.port,
                reply_src: Some(t.addr),
            });
            if let Some(np) = &was.node_port {
                out.insert(Flows {
                    dst: None,
                    port: np.port,
                    reply_src: Some(t.addr),
                });
            }
        }
    }
    for (id, now) in new.ports.iter().filter(|(id, _)| id.proto == L4::Udp) {
        let had = old.ports.get(id).map(targets).unwrap_or_default();
        if had.is_empty() && !targets(now).is_empty() {
            out.insert(Flows {
                dst: Some(now.cluster_ip),
                port: id.port,
                reply_src: None,
            });
            if let Some(np) = &now.node_port {
                out.insert(Flows {
                    dst: None,
                    port: np.port,
                    reply_src: None,
                });
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::PortId;

    fn plan(eps: &[&str]) -> Plan {
        let id = PortId {
            namespace: "x".into(),
            name: "dns".into(),
            proto: L4::Udp,
            port: 53,
        };
        let internal: Vec<Target> = eps
            .iter()
            .map(|a| Target {
                addr: a.parse().unwrap(),
                port: 5353,
            })
            .collect();
        let p = PortPlan {
            id: id.clone(),
            cluster_ip: "10.96.0.10".parse().unwrap(),
            any_endpoints: !internal.is_empty(),
            internal,
            node_port: None,
            affinity: None,
        };
        Plan {
            ports: BTreeMap::from([(id, p)]),
            skipped: 0,
        }
    }

    #[test]
    fn a_removed_endpoint_and_a_first_endpoint_clear_their_flows() {
        let gone = stale_flows(&plan(&["10.244.1.2", "10.244.2.2"]), &plan(&["10.244.2.2"]));
        let args: Vec<String> = gone.iter().map(|f| f.args().join(" ")).collect();
        assert_eq!(
            args,
            ["-D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --reply-src 10.244.1.2"]
        );
        let back = stale_flows(&plan(&[]), &plan(&["10.244.3.2"]));
        let args: Vec<String> = back.iter().map(|f| f.args().join(" ")).collect();
        assert_eq!(args, ["-D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53"]);
        assert!(stale_flows(&plan(&["10.244.1.2"]), &plan(&["10.244.1.2"])).is_empty());
    }
}
