//! Fixtures shared by the agent's tests and the kernel tests of the `podnet` crate: a lease and
//! the node "n1" (10.244.1.0/24 on 198.18.0.0/24, VTEP podnet.1). Not used by the agent itself.
#![allow(clippy::unwrap_used)]

use podnet_model::lease::{Existing, LeaseRecord};

use crate::backend::LocalNode;

/// A lease of `subnet` by `node` at underlay address `ip`, with an optional VTEP MAC.
pub fn lease(node: &str, subnet: &str, ip: &str, mac: Option<&str>) -> Existing {
    Existing {
        subnet: subnet.parse().unwrap(),
        record: LeaseRecord {
            node: node.into(),
            public_ip: ip.parse().unwrap(),
            backend: "x".into(),
            vtep_mac: mac.map(String::from),
        },
        revision: 1,
    }
}

/// Node n1 as the planner sees it.
pub fn local() -> LocalNode {
    LocalNode {
        node: "n1".into(),
        subnet: "10.244.1.0/24".parse().unwrap(),
        underlay_dev: "eth0".into(),
        underlay_nets: vec!["198.18.0.0/24".parse().unwrap()],
        tunnel_dev: "podnet.1".into(),
    }
}
