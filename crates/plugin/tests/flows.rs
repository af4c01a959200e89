//! Tier 2: whole plugin flows against the recording effects (recording netlink and nftables, a
//! real SQLite store in a temp dir). No privileges needed.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use podnet_ipam::Store;
use podnet_plugin::effects::RecordingEffects;
use podnet_plugin::{add::STEPS, run, Outcome};

const NS: &str = "/run/netns/pod-a";

struct Fixture {
    dir: tempfile::TempDir,
    fx: RecordingEffects,
}

impl Fixture {
    fn new() -> Self {
        let mut fx = RecordingEffects::default();
        fx.net.namespaces.insert(NS.into());
        fx.net.namespaces.insert("/run/netns/pod-b".into());
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            fx,
        }
    }

    fn conf(&self, extra: &str) -> String {
        format!(
            r#"{{"cniVersion":"1.1.0","name":"podnet","type":"podnet","clusterCIDR":"10.244.0.0/16",
            "ipam":{{"subnet":"10.244.1.0/24","dataDir":"{}"}}{extra}}}"#,
            self.dir.path().display()
        )
    }

    fn call(&mut self, cmd: &str, cid: &str, ns: &str, stdin: &str) -> Outcome {
        let env: HashMap<&str, String> = [
            ("CNI_COMMAND", cmd.to_string()),
            ("CNI_CONTAINERID", cid.to_string()),
            ("CNI_NETNS", ns.to_string()),
            ("CNI_IFNAME", "eth0".to_string()),
            ("CNI_PATH", "/nonexistent".to_string()),
        ]
        .into();
        run(|k| env.get(k).cloned(), stdin.as_bytes(), &mut self.fx)
    }

    fn allocations(&self) -> usize {
        Store::open(self.dir.path())
            .unwrap()
            .list("podnet")
            .unwrap()
            .len()
    }
}

#[test]
fn add_then_del_leaves_nothing() {
    let mut f = Fixture::new();
    let conf = f.conf(r#","runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":8080,"protocol":"tcp"}]}"#);
    let out = f.call("ADD", "c1", NS, &conf);
    assert_eq!(out.exit_code, 0, "{}", out.stdout);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["ips"][0]["address"], "10.244.1.2/24");
    assert_eq!(v["interfaces"][1]["sandbox"], NS);
    assert_eq!(f.fx.steps, STEPS);
    assert_eq!(f.allocations(), 1);
    // First pod: the fast nft path fails (no static ruleset) and the full one is sent.
    assert!(f.fx.nft.scripts[0].contains("add rule ip podnet hostports"));
    assert!(f.fx.net.ops.iter().any(|o| o.contains("accept_ra=0")));

    let out = f.call("DEL", "c1", NS, &conf);
    assert_eq!(out.exit_code, 0, "{}", out.stdout);
    assert_eq!(f.allocations(), 0);
    assert!(
        f.fx.net.links.keys().all(|l| !l.starts_with("pn")),
        "{:?}",
        f.fx.net.links
    );
    assert!(f.fx.net.container_links.is_empty());
    let last = f.fx.nft.scripts.last().unwrap();
    assert!(last.contains("delete element ip podnet hostports { tcp . 18080 : 10.244.1.2 . 8080 }"));

    // DEL again, and DEL of something never added: still success.
    assert_eq!(f.call("DEL", "c1", NS, &conf).exit_code, 0);
    assert_eq!(f.call("DEL", "never", "", &conf).exit_code, 0);
}

#[test]
fn a_failure_at_each_kernel_step_leaves_nothing() {
    for prefix in [
        "ip link add podnet0",
        "ip link add pn",
        "ip -n",
        "ip link set pn",
        "nft",
    ] {
        let mut f = Fixture::new();
        let conf = f.conf("");
        if prefix == "nft" {
            f.fx.nft.base_present = true;
            f.fx.nft.fail_next = true;
        } else {
            f.fx.net.fail_on(prefix);
        }
        let out = f.call("ADD", "c1", NS, &conf);
        assert_ne!(out.exit_code, 0, "{prefix}: ADD should fail");
        let e: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(e["code"], 100, "{prefix}: {}", out.stdout);
        assert_eq!(f.allocations(), 0, "{prefix}: allocation leaked");
        assert!(
            f.fx.net.links.keys().all(|l| !l.starts_with("pn")),
            "{prefix}: veth leaked"
        );
        assert!(
            f.fx.net.container_links.is_empty(),
            "{prefix}: pod interface leaked"
        );
    }
}

#[test]
fn gc_removes_exactly_the_stale_attachments() {
    let mut f = Fixture::new();
    let conf = f.conf("");
    for i in 0..4 {
        let ns = format!("/run/netns/pod-{i}");
        f.fx.net.namespaces.insert(ns.clone());
        let out = f.call("ADD", &format!("c{i}"), &ns, &conf);
        assert_eq!(out.exit_code, 0, "{}", out.stdout);
    }
    // Half the attachments are stale: only c1 and c3 are still valid.
    let gc = f.conf(
        r#","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"},{"containerID":"c3","ifname":"eth0"}]"#,
    );
    let out = f.call("GC", "", "", &gc);
    assert_eq!(out.exit_code, 0, "{}", out.stdout);
    let left = Store::open(f.dir.path()).unwrap().list("podnet").unwrap();
    let left: Vec<_> = left.iter().map(|a| a.container_id.as_str()).collect();
    assert_eq!(left, vec!["c1", "c3"]);
    let pods: Vec<_> =
        f.fx.net
            .container_links
            .keys()
            .map(|(ns, _)| ns.clone())
            .collect();
    assert_eq!(pods, vec!["/run/netns/pod-1", "/run/netns/pod-3"]);
    assert_eq!(
        f.fx.net
            .links
            .keys()
            .filter(|l| l.starts_with("pn"))
            .count(),
        2
    );
}

#[test]
fn check_compares_with_prev_result() {
    let mut f = Fixture::new();
    let conf = f.conf("");
    let out = f.call("ADD", "c1", NS, &conf);
    assert_eq!(out.exit_code, 0);
    let with_prev = f.conf(&format!(r#","prevResult":{}"#, out.stdout));
    let ok = f.call("CHECK", "c1", NS, &with_prev);
    assert_eq!(ok.exit_code, 0, "{}", ok.stdout);
    let wrong = with_prev.replace("10.244.1.2/24", "10.244.1.9/24");
    let bad = f.call("CHECK", "c1", NS, &wrong);
    assert!(bad.stdout.contains("\"code\":101"), "{}", bad.stdout);
}

#[test]
fn subnet_from_node_facts_or_code_11() {
    let mut f = Fixture::new();
    let conf = format!(
        r#"{{"cniVersion":"1.1.0","name":"podnet","type":"podnet","ipam":{{"dataDir":"{}","nodeFacts":"/run/podnet/node.json"}}}}"#,
        f.dir.path().display()
    );
    let out = f.call("ADD", "c1", NS, &conf);
    assert!(out.stdout.contains("\"code\":11"), "{}", out.stdout);
    f.fx.files.insert(
        "/run/podnet/node.json".into(),
        br#"{"version":1,"node":"n1","subnet":"10.244.9.0/24","mtu":1450,"clusterCIDR":"10.244.0.0/16"}"#.to_vec(),
    );
    let out = f.call("ADD", "c1", NS, &conf);
    assert_eq!(out.exit_code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("10.244.9.2/24"));
    assert!(f.fx.net.ops.iter().any(|o| o.contains("mtu 1450")));
}

#[test]
fn delegated_ipam_is_called_and_undone() {
    let mut f = Fixture::new();
    f.fx.delegate.add_result = Some(serde_json::json!({
        "cniVersion": "1.0.0", "ips": [{"address": "10.22.0.5/16", "gateway": "10.22.0.1"}]
    }));
    let conf =
        r#"{"cniVersion":"1.0.0","name":"podnet","type":"podnet","ipam":{"type":"host-local"}}"#;
    let out = f.call("ADD", "c1", NS, conf);
    assert_eq!(out.exit_code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("10.22.0.5/16"));
    let del = format!(
        r#"{{"cniVersion":"1.0.0","name":"podnet","type":"podnet","ipam":{{"type":"host-local"}},"prevResult":{}}}"#,
        out.stdout
    );
    assert_eq!(f.call("DEL", "c1", NS, &del).exit_code, 0);
    assert_eq!(
        f.fx.delegate.calls,
        vec![
            ("host-local".to_string(), "ADD"),
            ("host-local".to_string(), "DEL")
        ]
    );
    assert!(f.fx.net.container_links.is_empty());
}

#[test]
fn status_and_version() {
    let mut f = Fixture::new();
    let conf = f.conf("");
    assert_eq!(f.call("STATUS", "", "", &conf).exit_code, 0);
    let out = f.call("VERSION", "", "", r#"{"cniVersion":"1.0.0"}"#);
    assert_eq!(
        out.stdout,
        r#"{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"#
    );
    let old = conf.replace("1.1.0", "1.0.0");
    assert!(f.call("STATUS", "", "", &old).stdout.contains("\"code\":1"));
    // nftables unusable: running pods are affected too (51).
    f.fx.nft.broken = true;
    assert!(f
        .call("STATUS", "", "", &conf)
        .stdout
        .contains("\"code\":51"));
    f.fx.nft.broken = false;
    // The store unusable: new pods cannot be added (50).
    let bad_store = conf.replace(
        &f.dir.path().display().to_string(),
        "/proc/podnet-cannot-exist",
    );
    assert!(f
        .call("STATUS", "", "", &bad_store)
        .stdout
        .contains("\"code\":50"));
}
