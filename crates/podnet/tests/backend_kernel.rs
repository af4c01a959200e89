//! The agent's reconcile against the real kernel, in a private node namespace: a real VXLAN
//! device, its FDB and neighbour entries, routes tagged proto 112; converged state is a no-op;
//! a departed peer's entries go and nothing else moves.
#![allow(clippy::unwrap_used)]

mod common;

use podnet_agent::backend::{desired, BackendKind};
use podnet_agent::reconcile::reconcile;
use podnet_agent::testing::{lease, local};
use podnet_netlink::{BackendOps, KernelNetOps, Netns};
use podnet_netns::NetnsGuard;
use podnet_netspec::VxlanSpec;

#[test]
fn vxlan_and_host_gw_converge_by_diff_on_the_kernel() {
    common::require_root();
    let tag = format!("pnt{}-bk", std::process::id());
    let node = NetnsGuard::new(&format!("{tag}-node")).unwrap();
    let sw = NetnsGuard::new(&format!("{tag}-sw")).unwrap();
    let sw_path = sw.path().display().to_string();
    node.run(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "p0", "netns", &sw_path,
    ])
    .unwrap();
    node.run(&["ip", "addr", "add", "198.18.0.11/24", "dev", "eth0"])
        .unwrap();
    node.run(&["ip", "link", "set", "eth0", "up"]).unwrap();
    sw.run(&["ip", "link", "set", "p0", "up"]).unwrap();

    let ns = Netns::open(&node.path()).unwrap();
    let mut ops = ns.run(KernelNetOps::new).unwrap().unwrap();
    let vtep = ops
        .ensure_vxlan(&VxlanSpec {
            name: "podnet.1".into(),
            vni: 1,
            port: 8472,
            local: "198.18.0.11".parse().unwrap(),
            underlay_dev: "eth0".into(),
            mtu: 1450,
        })
        .unwrap();
    assert_eq!((vtep.mtu, vtep.up), (1450, true));
    let details = node.run(&["ip", "-d", "link", "show", "podnet.1"]).unwrap();
    assert!(
        details.contains("vxlan id 1")
            && details.contains("dstport 8472")
            && details.contains("nolearning"),
        "{details}"
    );

    let mut leases = vec![
        lease(
            "n2",
            "10.244.2.0/24",
            "198.18.0.12",
            Some("0e:00:00:00:00:02"),
        ),
        lease(
            "n3",
            "10.244.3.0/24",
            "198.18.0.13",
            Some("0e:00:00:00:00:03"),
        ),
    ];
    let want = desired(BackendKind::Vxlan, &local(), &leases);
    let c = reconcile(&mut ops, BackendKind::Vxlan, &local(), &want).unwrap();
    assert_eq!(c.added, 6);
    let routes = node.run(&["ip", "route", "show", "proto", "112"]).unwrap();
    assert!(
        routes.contains("10.244.2.0/24 via 10.244.2.0 dev podnet.1 onlink"),
        "{routes}"
    );
    let fdb = node
        .run(&["bridge", "fdb", "show", "dev", "podnet.1"])
        .unwrap();
    assert!(
        fdb.contains("0e:00:00:00:00:03 dst 198.18.0.13 self permanent"),
        "{fdb}"
    );
    let neigh = node
        .run(&["ip", "neigh", "show", "dev", "podnet.1"])
        .unwrap();
    assert!(
        neigh.contains("10.244.3.0 lladdr 0e:00:00:00:00:03 PERMANENT"),
        "{neigh}"
    );

    // Converged: nothing to do. A departed peer: exactly its three entries go.
    assert_eq!(
        reconcile(&mut ops, BackendKind::Vxlan, &local(), &want)
            .unwrap()
            .total(),
        0
    );
    leases.pop();
    let want = desired(BackendKind::Vxlan, &local(), &leases);
    let c = reconcile(&mut ops, BackendKind::Vxlan, &local(), &want).unwrap();
    assert_eq!((c.added, c.removed), (0, 3));
    let routes = node.run(&["ip", "route", "show", "proto", "112"]).unwrap();
    assert!(
        !routes.contains("10.244.3.0") && routes.contains("10.244.2.0"),
        "{routes}"
    );

    // Switch to host-gw: routes via the underlay; the non-podnet routes are untouched.
    let main_before = node
        .run(&["ip", "route", "show", "proto", "kernel"])
        .unwrap();
    let want = desired(BackendKind::HostGw, &local(), &leases);
    reconcile(&mut ops, BackendKind::HostGw, &local(), &want).unwrap();
    let routes = node.run(&["ip", "route", "show", "proto", "112"]).unwrap();
    assert_eq!(
        routes.trim(),
        "10.244.2.0/24 via 198.18.0.12 dev eth0",
        "{routes}"
    );
    assert_eq!(
        node.run(&["ip", "route", "show", "proto", "kernel"])
            .unwrap(),
        main_before
    );
}
