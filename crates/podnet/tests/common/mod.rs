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

use podnet_ipam::{Allocation, Store};
use podnet_netns::{CniCall, NetnsGuard};
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

    /// Elements in podnet's sets and maps. A table that `nft list tables` does not show counts
    /// 0 (no ADD made it yet); in a table that exists every set must list, or this panics.
    pub fn nft_elements(&self) -> usize {
        let node = self.ns.path().display().to_string();
        let tables: Value = serde_json::from_str(&run_ok(&[
            "nsenter",
            &format!("--net={node}"),
            "nft",
            "-j",
            "list",
            "tables",
        ]))
        .expect("nft -j list tables");
        let has_table = |family: &str| {
            tables["nftables"]
                .as_array()
                .expect("nft -j: an nftables array")
                .iter()
                .any(|t| t["table"]["family"] == family && t["table"]["name"] == "podnet")
        };
        let mut n = 0;
        for (family, set) in [
            ("bridge", "pod_ifnames"),
            ("bridge", "pod_ports"),
            ("ip", "pods"),
            ("ip", "masq_src"),
            ("ip", "hostports"),
            ("ip", "hostports_ip"),
        ] {
            if !has_table(family) {
                continue;
            }
            let kind = if set.starts_with("hostports") || set == "masq_src" {
                "map"
            } else {
                "set"
            };
            let out = run_ok(&[
                "nsenter",
                &format!("--net={node}"),
                "nft",
                "-j",
                "list",
                kind,
                family,
                "podnet",
                set,
            ]);
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

/// Runs `argv`; its output, whatever the exit status (panics only if it cannot start).
pub fn output(argv: &[&str]) -> Output {
    std::process::Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"))
}

/// Panics with the command, its exit status and its stderr.
pub fn command_failed(argv: &[&str], out: &Output) -> ! {
    panic!(
        "{argv:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

/// Runs `argv`; its stdout, or a panic naming the command, its exit status and stderr.
pub fn run_ok(argv: &[&str]) -> String {
    let out = output(argv);
    if !out.status.success() {
        command_failed(argv, &out);
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `ifname` exists in the namespace at `netns`. `false` only when `ip` says the device
/// does not exist; any other failure (a namespace that is gone, `ip` itself failing) panics.
pub fn has_link(netns: &str, ifname: &str) -> bool {
    let net = format!("--net={netns}");
    let argv = ["nsenter", &net, "ip", "link", "show", "dev", ifname];
    let out = output(&argv);
    if out.status.success() {
        return true;
    }
    let absent = format!("Device \"{ifname}\" does not exist.");
    if String::from_utf8_lossy(&out.stderr).trim() == absent {
        return false;
    }
    command_failed(&argv, &out)
}

/// Names of the namespaces starting with `prefix`; panics if `ip netns list` fails.
pub fn netns_with_prefix(prefix: &str) -> Vec<String> {
    run_ok(&["ip", "netns", "list"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
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

/// CPU seconds (user + system) a process has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}
