//! The netlink fast path writes exactly what the `nft -f` script writes: same ruleset listing
//! after adding a pod's elements both ways, and back to empty sets after removal.
#![allow(clippy::unwrap_used)]

mod common;

use podnet_netlink::Netns;
use podnet_netns::NetnsGuard;
use podnet_nft::{render_add, Change, HostPort, Nft, NftCli, NftKernel, PodEntry, L4};

fn ruleset(ns: &NetnsGuard) -> String {
    ns.run(&["nft", "list", "ruleset"])
        .expect("nft list ruleset")
}

#[test]
fn netlink_batch_equals_the_script() {
    common::require_root();
    let ns = NetnsGuard::new(&format!("pnt{}-nftwire", std::process::id())).unwrap();
    let handle = Netns::open(&ns.path()).unwrap();
    let pod = PodEntry {
        network: "podnet".into(),
        host_veth: "pn0123456789ab".into(),
        mac: [0x0a, 0x58, 10, 244, 1, 7],
        ip: "10.244.1.7".parse().unwrap(),
        masquerade: true,
        cluster_cidr: "10.244.0.0/16".parse().unwrap(),
        host_ports: vec![
            HostPort {
                proto: L4::Tcp,
                host_ip: None,
                host_port: 18080,
                pod_port: 8080,
            },
            HostPort {
                proto: L4::Udp,
                host_ip: Some("198.18.0.1".parse().unwrap()),
                host_port: 53,
                pod_port: 5353,
            },
            HostPort {
                proto: L4::Sctp,
                host_ip: None,
                host_port: 9999,
                pod_port: 9,
            },
        ],
    };
    let mut cli = NftCli::default();
    let mut kernel = NftKernel::default();
    handle
        .run(|| {
            // Without the static ruleset the batch fails cleanly as "missing".
            let e = kernel.pod_elements(Change::Add, &pod).unwrap_err();
            assert!(e.is_missing_object(), "{e}");
            cli.apply(&render_add(&pod, true)).unwrap();
            cli.pod_elements(Change::Remove, &pod).unwrap();
        })
        .unwrap();
    let empty = ruleset(&ns);
    handle
        .run(|| cli.pod_elements(Change::Add, &pod).unwrap())
        .unwrap();
    let by_script = ruleset(&ns);
    handle
        .run(|| cli.pod_elements(Change::Remove, &pod).unwrap())
        .unwrap();
    assert_eq!(ruleset(&ns), empty);
    handle
        .run(|| kernel.pod_elements(Change::Add, &pod).unwrap())
        .unwrap();
    let by_netlink = ruleset(&ns);
    assert!(
        by_netlink.contains("\"pn0123456789ab\" . 0a:58:0a:f4:01:07 . 10.244.1.7"),
        "{by_netlink}"
    );
    assert_eq!(by_netlink, by_script);
    // Adding again is fine; removing twice is fine.
    handle
        .run(|| kernel.pod_elements(Change::Add, &pod).unwrap())
        .unwrap();
    handle
        .run(|| kernel.pod_elements(Change::Remove, &pod).unwrap())
        .unwrap();
    handle
        .run(|| kernel.pod_elements(Change::Remove, &pod).unwrap())
        .unwrap();
    assert_eq!(ruleset(&ns), empty);
}
