//! `podnet demo`: one node with two pods, built from namespaces through the real CNI plugin, and
//! the checks a person would do by hand (ping the other pod and the gateway, HTTP between pods
//! showing the real source address). Everything it creates is removed at the end, also when a
//! check fails; `--keep` leaves it for inspection and `--cleanup` removes it later.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use podnet_netns::{list_with_prefix, CniCall, NetnsGuard};
use serde_json::Value;

const PREFIX: &str = "pndemo";
const STATE_DIR: &str = "/run/podnet-demo";
const SUBNET: &str = "10.244.1.0/24";
const GATEWAY: &str = "10.244.1.1";
const SERVE_PORT: &str = "8080";

fn conf(data_dir: &Path) -> String {
    serde_json::json!({
        "cniVersion": "1.1.0", "name": "podnet", "type": "podnet", "bridge": "podnet0",
        "mtu": 1500, "ipMasq": true, "clusterCIDR": "10.244.0.0/16",
        "ipam": { "subnet": SUBNET, "gateway": GATEWAY, "dataDir": data_dir }
    })
    .to_string()
}

/// Runs the demo.
pub fn run(keep: bool, cleanup: bool) -> Result<()> {
    if cleanup {
        for n in list_with_prefix(PREFIX) {
            drop(NetnsGuard { name: n });
        }
        let _ = std::fs::remove_dir_all(STATE_DIR);
        println!("removed the demo's namespaces and state");
        return Ok(());
    }
    let plugin = std::env::current_exe().context("find the podnet binary")?;
    let data_dir = PathBuf::from(STATE_DIR).join("ipam");
    let _ = std::fs::remove_dir_all(STATE_DIR);
    let node = NetnsGuard::new(&format!("{PREFIX}-node"))?;
    let pods = [
        NetnsGuard::new(&format!("{PREFIX}-a"))?,
        NetnsGuard::new(&format!("{PREFIX}-b"))?,
    ];
    let result = exercise(&plugin, &node, &pods, &data_dir);
    if keep {
        println!("\nkept: namespaces {PREFIX}-node, {PREFIX}-a, {PREFIX}-b (try: nsenter --net=/run/netns/{PREFIX}-node ip -br addr; nft list ruleset)");
        println!("remove with: podnet demo --cleanup");
        std::mem::forget(pods);
        std::mem::forget(node);
    } else {
        let _ = std::fs::remove_dir_all(STATE_DIR);
    }
    result
}

fn exercise(
    plugin: &Path,
    node: &NetnsGuard,
    pods: &[NetnsGuard; 2],
    data_dir: &Path,
) -> Result<()> {
    let conf = conf(data_dir);
    let cni_path = plugin
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let node_path = node.path();
    let call = |cmd: &str, pod: &NetnsGuard, id: &str| CniCall {
        plugin: plugin.to_path_buf(),
        command: cmd.into(),
        container_id: id.into(),
        netns: pod.path().display().to_string(),
        ifname: "eth0".into(),
        cni_path: cni_path.clone(),
        node: Some(node_path.clone()),
        extra_env: vec![],
    };
    println!(
        "node namespace {}: bridge podnet0, gateway {GATEWAY}, pod subnet {SUBNET}",
        node.name
    );
    let mut ips = Vec::new();
    for (pod, id) in pods.iter().zip(["demo-a", "demo-b"]) {
        podnet_netns::interrupt::check()?;
        let out = call("ADD", pod, id).exec(conf.as_bytes())?;
        if !out.status.success() {
            bail!(
                "CNI ADD for {} failed: {}",
                pod.name,
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let v: Value = serde_json::from_slice(&out.stdout).context("plugin result")?;
        let addr = v["ips"][0]["address"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        println!("  CNI ADD {:<10} -> eth0 {addr}", pod.name);
        ips.push(addr.split('/').next().unwrap_or_default().to_string());
    }
    let mut server = ServeGuard::start(plugin, &pods[1])?;
    let checks = run_checks(node, pods, &ips);
    server.stop();
    let mut failed = 0;
    println!("\n  {:<38} result", "check");
    for (name, ok, detail) in &checks {
        println!(
            "  {name:<38} {} {detail}",
            if *ok { "ok  " } else { "FAIL" }
        );
        failed += usize::from(!ok);
    }
    for (pod, id) in pods.iter().zip(["demo-a", "demo-b"]) {
        let out = call("DEL", pod, id).exec(conf.as_bytes())?;
        if !out.status.success() {
            bail!(
                "CNI DEL for {} failed: {}",
                pod.name,
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    let veths = node.run(&["ip", "-br", "link", "show", "type", "veth"])?;
    println!(
        "\n  after CNI DEL: veths left on the node: {}",
        if veths.trim().is_empty() {
            "none"
        } else {
            veths.trim()
        }
    );
    if failed > 0 {
        bail!("{failed} check(s) failed");
    }
    println!("  all checks passed");
    Ok(())
}

fn run_checks(
    node: &NetnsGuard,
    pods: &[NetnsGuard; 2],
    ips: &[String],
) -> Vec<(String, bool, String)> {
    let ping = |ns: &NetnsGuard, ip: &str| ns.run(&["ping", "-c", "1", "-W", "2", ip]).is_ok();
    let mut out = vec![
        (
            format!("pod a -> pod b ({}) ping", ips[1]),
            ping(&pods[0], &ips[1]),
            String::new(),
        ),
        (
            format!("pod b -> pod a ({}) ping", ips[0]),
            ping(&pods[1], &ips[0]),
            String::new(),
        ),
        (
            format!("pod a -> gateway ({GATEWAY}) ping"),
            ping(&pods[0], GATEWAY),
            String::new(),
        ),
        (
            format!("node -> pod a ({}) ping", ips[0]),
            ping(node, &ips[0]),
            String::new(),
        ),
    ];
    let url = format!("http://{}:{SERVE_PORT}/", ips[1]);
    let mut body = String::new();
    for _ in 0..20 {
        if let Ok(b) = pods[0].run(&["curl", "-s", "--max-time", "2", &url]) {
            body = b;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let no_nat = body.contains(&format!("hello {}:", ips[0]));
    out.push((
        format!("pod a -> pod b HTTP {url}"),
        !body.is_empty(),
        String::new(),
    ));
    out.push((
        "pod b sees pod a's own address (no NAT)".into(),
        no_nat,
        body.trim().to_string(),
    ));
    out
}

/// `podnet serve` running inside a pod, stopped by PID.
struct ServeGuard(Option<Child>);

impl ServeGuard {
    fn start(plugin: &Path, pod: &NetnsGuard) -> Result<Self> {
        let child = pod
            .command(&[&plugin.display().to_string(), "serve", "--port", SERVE_PORT])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start podnet serve in the pod")?;
        Ok(ServeGuard(Some(child)))
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ServeGuard {
    fn drop(&mut self) {
        self.stop();
    }
}
