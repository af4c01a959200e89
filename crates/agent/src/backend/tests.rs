//! Backend planning cases.

use podnet_netspec::diff;

use super::*;
use crate::testing::{lease, local};

fn leases() -> Vec<Existing> {
    vec![
        lease(
            "n1",
            "10.244.1.0/24",
            "198.18.0.11",
            Some("0e:00:00:00:00:01"),
        ),
        lease(
            "n2",
            "10.244.2.0/24",
            "198.18.0.12",
            Some("0e:00:00:00:00:02"),
        ),
        lease(
            "n3",
            "10.244.3.0/24",
            "198.18.1.13",
            Some("0e:00:00:00:00:03"),
        ),
    ]
}

#[test]
fn host_gw_routes_adjacent_peers_and_names_the_others() {
    let d = desired(BackendKind::HostGw, &local(), &leases());
    let routes: Vec<_> = d
        .routes
        .iter()
        .map(|r| (r.dst.to_string(), r.via.to_string()))
        .collect();
    assert_eq!(
        routes,
        vec![("10.244.2.0/24".to_string(), "198.18.0.12".to_string())]
    );
    assert_eq!(
        d.unreachable,
        vec![("n3".to_string(), "198.18.1.13".parse().unwrap())]
    );
    assert!(d.neighbours.is_empty() && d.fdb.is_empty());
}

#[test]
fn vxlan_reaches_every_peer_through_the_vtep() {
    let d = desired(BackendKind::Vxlan, &local(), &leases());
    assert_eq!(d.routes.len(), 2);
    assert!(d
        .routes
        .iter()
        .all(|r| r.onlink && r.dev.as_deref() == Some("podnet.1")));
    assert!(d.neighbours.contains(&Neigh {
        ip: "10.244.3.0".parse().unwrap(),
        mac: [0x0e, 0, 0, 0, 0, 3]
    }));
    assert!(d.fdb.contains(&Fdb {
        mac: [0x0e, 0, 0, 0, 0, 3],
        dst: "198.18.1.13".parse().unwrap()
    }));
    assert!(d.unreachable.is_empty());
    assert_eq!(d.peer_ips.len(), 2);
}

#[test]
fn diff_touches_only_what_differs() {
    let d = desired(BackendKind::Vxlan, &local(), &leases());
    let mut observed: Vec<Route> = d.routes.iter().cloned().collect();
    observed.push(Route {
        dst: "10.244.9.0/24".parse().unwrap(),
        via: "10.244.9.0".parse().unwrap(),
        dev: None,
        onlink: true,
    });
    let changes = diff(&observed, &d.routes);
    assert!(changes.add.is_empty());
    assert_eq!(changes.remove.len(), 1);
    assert!(diff(&observed[..2], &d.routes).is_empty());
}

#[test]
fn a_peer_without_a_vtep_mac_is_skipped() {
    let mut l = leases();
    l[1].record.vtep_mac = Some("not-a-mac".into());
    let d = desired(BackendKind::Vxlan, &local(), &l);
    assert_eq!(d.routes.len(), 1);
}
