//! The node's whole nftables ruleset, as the kernel keeps it: the plugin's full ADD script and
//! the agent's scripts (in the order the agent sends them) applied by the real `nft` in a private
//! network namespace (`unshare --net`, gone when the command exits), and `nft list ruleset`
//! compared with the listing in docs/nftables.md — so the documented ruleset is the real one, and
//! re-applying both scripts (drift repair, resync) leaves exactly the same ruleset.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use podnet_agent::firewall::{nonat_script, vxlan_guard_script};
use podnet_nft::{render_add, HostPort, PodEntry, L4};

/// Marks the listing's code block in docs/nftables.md.
const MARKER: &str = "<!-- nft list ruleset: checked by crates/agent/tests/nft_ruleset.rs -->";

fn pod() -> PodEntry {
    PodEntry {
        network: "podnet".into(),
        host_veth: "pn0123456789ab".into(),
        mac: [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x02],
        ip: "10.244.1.2".parse().unwrap(),
        masquerade: true,
        cluster_cidr: "10.244.0.0/16".parse().unwrap(),
        host_ports: vec![HostPort {
            proto: L4::Tcp,
            host_ip: None,
            host_port: 18080,
            pod_port: 8080,
        }],
    }
}

/// Applies `scripts` one `nft -f` each in a fresh network namespace; the listing after the last.
fn listing_after(scripts: &[String]) -> String {
    assert!(
        nix::unistd::geteuid().is_root(),
        "kernel tests need root (network namespaces, nftables); run the suite as root"
    );
    let mut sh = String::new();
    for (i, s) in scripts.iter().enumerate() {
        sh.push_str(&format!("nft -f - <<'PODNET{i}'\n{s}PODNET{i}\n"));
    }
    sh.push_str("nft list ruleset\n");
    let mut child = Command::new("unshare")
        .args(["--net", "sh", "-e"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sh.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().replace('\t', "  ")
}

fn documented() -> String {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/nftables.md"
    ))
    .unwrap();
    let (_, after) = doc
        .split_once(MARKER)
        .expect("the marker in docs/nftables.md");
    let block = after.split_once("```text\n").unwrap().1;
    block.split_once("```").unwrap().0.to_string()
}

#[test]
fn the_documented_ruleset_is_the_kernels() {
    let nodes: BTreeSet<Ipv4Addr> =
        [Ipv4Addr::new(198, 18, 0, 12), Ipv4Addr::new(198, 18, 0, 13)].into();
    let plugin = render_add(&pod(), true);
    let agent = nonat_script(&nodes) + &vxlan_guard_script(8472, &nodes);
    let once = listing_after(&[plugin.clone(), agent.clone()]);
    assert_eq!(once, documented(), "docs/nftables.md differs from:\n{once}");
    let again = listing_after(&[
        plugin.clone(),
        agent.clone(),
        agent,
        render_add(&pod(), true),
    ]);
    assert_eq!(again, once);
}
