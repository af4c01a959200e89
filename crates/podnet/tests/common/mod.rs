//! Shared fixture of the kernel tests: a private "node" namespace (the plugin always runs inside
//! it, never in the host namespace), pod namespaces, an IPAM dir, and an auditor that checks
//! nothing was left behind: no allocation, no podnet veth, no nftables element.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

pub mod lab;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use podnet::nsutil::{CniCall, NetnsGuard};
use podnet_ipam::{Allocation, Store};
use serde_json::Value;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub const PLUGIN: &str = env!("CARGO_BIN_EXE_podnet");

/// One `Ip:` counter of a namespace's /proc/net/snmp text (header line, then values), e.g.
/// `ForwDatagrams`: the packets its IP forwarding path handled.
pub fn snmp_ip(snmp: &str, counter: &str) -> u64 {
    let rows: Vec<Vec<&str>> = snmp
        .lines()
        .filter(|l| l.starts_with("Ip: "))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "no Ip: rows in {snmp}");
    let col = rows[0]
        .iter()
        .position(|c| *c == counter)
        .unwrap_or_else(|| panic!("no {counter} in {snmp}"));
    rows[1][col].parse().expect("a counter")
}

/// Fails loudly (never skips) when the kernel tests cannot run.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "kernel tests need root (network namespaces, veth, nftables); run the suite as root"
    );
}

pub struct Node {
    pub ns: NetnsGuard,
    pub dir: tempfile::TempDir,
    pub prefix: String,
    pods: Mutex<Vec<NetnsGuard>>,
}

impl Node {
    pub fn new(tag: &str) -> Node {
        require_root();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("pnt{}-{tag}{n}", std::process::id());
        let ns = NetnsGuard::new(&format!("{prefix}-node")).expect("create node namespace");
        Node {
            ns,
            dir: tempfile::tempdir().expect("tempdir"),
            prefix,
            pods: Mutex::new(Vec::new()),
        }
    }

    /// Creates a pod namespace; returns its path.
    pub fn pod(&self, name: &str) -> String {
        let g = NetnsGuard::new(&format!("{}-{name}", self.prefix)).expect("create pod namespace");
        let p = g.path().display().to_string();
        self.pods.lock().unwrap().push(g);
        p
    }

    pub fn pod_guard_cmd(&self, name: &str, argv: &[&str]) -> std::process::Command {
        let g = NetnsGuard {
            name: format!("{}-{name}", self.prefix),
        };
        let c = g.command(argv);
        std::mem::forget(g);
        c
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("ipam")
    }

    pub fn conf_with(&self, subnet: &str, extra: &str) -> String {
        format!(
            r#"{{"cniVersion":"1.1.0","name":"podnet","type":"podnet","bridge":"podnet0","mtu":1500,
              "ipMasq":true,"clusterCIDR":"10.244.0.0/16",
              "ipam":{{"subnet":"{subnet}","dataDir":"{}"}}{extra}}}"#,
            self.data_dir().display()
        )
    }

    pub fn conf(&self, extra: &str) -> String {
        self.conf_with("10.244.1.0/24", extra)
    }

    pub fn call(&self, cmd: &str, cid: &str, netns: &str, ifname: &str) -> CniCall {
        CniCall {
            plugin: PathBuf::from(PLUGIN),
            command: cmd.into(),
            container_id: cid.into(),
            netns: netns.into(),
            ifname: ifname.into(),
            cni_path: format!(
                "{}:/usr/lib/cni",
                Path::new(PLUGIN).parent().unwrap().display()
            ),
            node: Some(self.ns.path()),
            extra_env: vec![],
        }
    }

    /// Runs the plugin; returns (exit code, stdout as JSON or Null).
    pub fn cni(&self, cmd: &str, cid: &str, netns: &str, stdin: &str) -> (i32, Value) {
        let out = self
            .call(cmd, cid, netns, "eth0")
            .exec(stdin.as_bytes())
            .expect("run plugin");
        parse(&out)
    }

    /// Runs another plugin binary (e.g. a reference plugin) the same way.
    pub fn cni_other(
        &self,
        plugin: &Path,
        cmd: &str,
        cid: &str,
        netns: &str,
        stdin: &str,
    ) -> (i32, Value) {
        let mut call = self.call(cmd, cid, netns, "eth0");
        call.plugin = plugin.to_path_buf();
        parse(&call.exec(stdin.as_bytes()).expect("run plugin"))
    }

    pub fn allocations(&self) -> Vec<Allocation> {
        if !self.data_dir().exists() {
            return Vec::new();
        }
        Store::open(&self.data_dir())
            .expect("open store")
            .list_all()
            .expect("list")
    }

    /// podnet's host-side veths in the node namespace.
    pub fn veths(&self) -> Vec<String> {
        let out = self.ns.run(&["ip", "-j", "link", "show"]).expect("ip link");
        let v: Value = serde_json::from_str(&out).expect("ip -j");
        v.as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["ifname"].as_str())
            .filter(|n| n.starts_with("pn"))
            .map(str::to_string)
            .collect()
    }

    /// Elements in podnet's sets and maps (0 when the tables do not exist).
    pub fn nft_elements(&self) -> usize {
        let mut n = 0;
        for (family, set) in [
            ("bridge", "pod_ifnames"),
            ("bridge", "pod_ports"),
            ("ip", "pods"),
            ("ip", "masq_src"),
            ("ip", "hostports"),
            ("ip", "hostports_ip"),
        ] {
            let kind = if set.starts_with("hostports") || set == "masq_src" {
                "map"
            } else {
                "set"
            };
            let Ok(out) = self
                .ns
                .run(&["nft", "-j", "list", kind, family, "podnet", set])
            else {
                continue;
            };
            let v: Value = serde_json::from_str(&out).expect("nft -j");
            for item in v["nftables"].as_array().unwrap() {
                if let Some(elems) = item[kind]["elem"].as_array() {
                    n += elems.len();
                }
            }
        }
        n
    }

    /// The auditor: nothing allocated, no veth, no nft element.
    pub fn assert_clean(&self, context: &str) {
        assert_eq!(self.allocations(), vec![], "{context}: allocations left");
        assert_eq!(self.veths(), Vec::<String>::new(), "{context}: veths left");
        assert_eq!(self.nft_elements(), 0, "{context}: nft elements left");
    }
}

pub fn parse(out: &Output) -> (i32, Value) {
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

/// Whether `ifname` exists in the namespace at `netns`.
pub fn has_link(netns: &str, ifname: &str) -> bool {
    std::process::Command::new("nsenter")
        .args([&format!("--net={netns}"), "ip", "link", "show", ifname])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `curl URL` from inside the namespace at `netns`, retried for up to ~3 s while a server starts;
/// the body, or "" if it never answered.
pub fn http_get(netns: &Path, url: &str) -> String {
    for _ in 0..30 {
        let out = std::process::Command::new("nsenter")
            .arg(format!("--net={}", netns.display()))
            .args(["curl", "-s", "--max-time", "2", url])
            .output();
        if let Ok(out) = out {
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    String::new()
}
