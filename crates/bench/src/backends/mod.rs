//! `podnet bench backends`: every backend side by side in one run, against the underlay itself
//! and against a hand-built kernel VXLAN.
//!
//! It builds one two-node lab per backend (host-gw, vxlan, udp, udp with its offloads off —
//! flannel's one-packet-per-syscall design — and host-gw with routed pods instead of the node
//! bridge), and measures these paths, rotating their order every round:
//!
//! - node→node over the underlay (the ceiling);
//! - node→node over a VXLAN device made by hand in the vxlan lab's node namespaces (`ip link add
//!   … type vxlan … remote …`, VNI 99, port 4799 — the peer) and node→node over podnet's own
//!   VXLAN device in the same namespaces (same shape, so the two compare podnet's VXLAN set-up);
//! - pod→pod across nodes for every backend.
//!
//! Per path and round: TCP throughput with iperf3 (1 and 4 streams by default), machine-wide CPU
//! seconds per GB moved (/proc/stat), and with `podnet rr` against `podnet serve --stream-port`
//! the request/response latency (64-byte exchanges on one connection) and the connection rate
//! (connect, exchange, close). Reported: the median over the rounds with min–max, as a table,
//! `--json`, and `--svg FILE` (a chart). Everything it built is removed at the end, also on
//! failure.
//!
//! This file builds the labs and measures; `report` turns the samples into medians, targets and
//! the table, `chart` draws the SVG.

use std::fmt::Write as _;
use std::process::{Child, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use podnet_lab::spec::LabSpec;
use podnet_lab::state::LabState;
use podnet_netns::{command, run};

mod chart;
mod report;

use self::report::{targets, PathResult, Report, Stat, Throughput};
use crate::rr::RrResult;

#[derive(clap::Args, Debug, Clone)]
pub struct NetBenchArgs {
    /// Seconds per throughput measurement.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Seconds per latency and per connection-rate measurement (0: skip both).
    #[arg(long, default_value_t = 3)]
    pub rr_seconds: u64,
    /// Rounds (each measures every path once, in rotating order).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Parallel TCP streams to measure (each value is a separate measurement).
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    pub streams: Vec<u32>,
    /// Only these paths, comma-separated (names as in the table, e.g. `udp pod→pod`); default: all.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[arg(long)]
    pub json: bool,
    /// Also write a chart of the results (SVG) to this file.
    #[arg(long)]
    pub svg: Option<std::path::PathBuf>,
}

struct Path {
    name: String,
    from_ns: String,
    /// iperf3 server address.
    to: String,
    /// `podnet serve --stream-port` address.
    echo: String,
}

/// The labs: (backend, lab name suffix, udp offloads on, pod path).
const LABS: [(&str, &str, bool, &str); 6] = [
    ("host-gw", "hostgw", true, "bridge"),
    ("host-gw", "hostgwrt", true, "routed"),
    ("host-gw", "hostgwbpf", true, "ebpf"),
    ("vxlan", "vxlan", true, "bridge"),
    ("udp", "udp", true, "bridge"),
    ("udp", "udpplain", false, "bridge"),
];
const IPERF_PORT: &str = "5201";
/// Echo port of the extra `podnet serve` started in node n2 (pods already serve on 9000).
const NODE_ECHO_PORT: &str = "9001";
const POD_ECHO_PORT: &str = "9000";
/// The hand-built VXLAN: device, VNI, port, addresses.
const HAND_VXLAN: (&str, &str, &str) = ("pnbench.vx", "99", "4799");
const HAND_NET: &str = "172.31.99";

/// Busy CPU time of the whole machine so far, in seconds (/proc/stat, USER_HZ = 100).
fn busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy: u64 = cpu
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    busy as f64 / 100.0
}

/// One iperf3 client run: (Gbit/s received, bytes).
fn iperf(p: &Path, secs: u64, streams: u32) -> Result<(f64, f64)> {
    let out = run(
        &p.from_ns,
        &[
            "iperf3",
            "-c",
            &p.to,
            "-p",
            IPERF_PORT,
            "-t",
            &secs.to_string(),
            "-P",
            &streams.to_string(),
            "-J",
        ],
    )
    .with_context(|| format!("iperf3 for {}", p.name))?;
    let v: serde_json::Value = serde_json::from_str(&out).context("iperf3 JSON")?;
    let sum = &v["end"]["sum_received"];
    let (bps, bytes) = (sum["bits_per_second"].as_f64(), sum["bytes"].as_f64());
    match (bps, bytes) {
        (Some(b), Some(n)) => Ok((b / 1e9, n)),
        _ => bail!("iperf3 for {} reported no result: {}", p.name, v["error"]),
    }
}

/// One `podnet rr` run inside the path's source namespace.
fn rr(p: &Path, secs: u64, connect: bool) -> Result<RrResult> {
    let exe = std::env::current_exe().context("own executable")?;
    let exe = exe.to_string_lossy();
    let secs = secs.to_string();
    let mut argv = vec![&*exe, "rr", "--to", &p.echo, "--seconds", &secs];
    if connect {
        argv.push("--connect");
    }
    let out = run(&p.from_ns, &argv).with_context(|| format!("podnet rr for {}", p.name))?;
    serde_json::from_str(out.trim()).context("podnet rr JSON")
}

fn spawn(ns: &str, argv: &[&str]) -> Result<Child> {
    command(ns, argv)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("start {argv:?} in {ns} (install iperf3: scripts/setup.sh)"))
}

/// Runs the benchmark.
pub fn run_bench(a: &NetBenchArgs) -> Result<()> {
    let mut servers: Vec<Child> = Vec::new();
    let mut labs: Vec<String> = Vec::new();
    let result = measure(a, &mut servers, &mut labs);
    for mut s in servers {
        let _ = s.kill();
        let _ = s.wait();
    }
    for l in labs {
        let _ = podnet_lab::down::down(&l);
    }
    let report = result?;
    if let Some(path) = &a.svg {
        std::fs::write(path, chart::svg(&report))
            .with_context(|| format!("write {}", path.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::table(&report));
    }
    Ok(())
}

fn command_line(a: &NetBenchArgs) -> String {
    let mut s = format!(
        "podnet bench backends --seconds {} --rr-seconds {} --runs {} --streams {}",
        a.seconds,
        a.rr_seconds,
        a.runs,
        a.streams
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    if !a.only.is_empty() {
        let _ = write!(s, " --only '{}'", a.only.join(","));
    }
    s
}

const UNDERLAY: &str = "node→node (underlay)";
const HAND_VXLAN_PATH: &str = "kernel VXLAN by hand node→node";
const PODNET_VXLAN_PATH: &str = "podnet vxlan node→node";

/// The paths a lab is measured on, its pod→pod path last. The node paths are measured once, in
/// the labs with bridged pods (host-gw: the underlay; vxlan: by hand and podnet's).
fn path_names(backend: &str, offload: bool, pod_path: &str) -> Vec<String> {
    let mut names: Vec<String> = match (backend, pod_path) {
        ("host-gw", "bridge") => vec![UNDERLAY.into()],
        ("vxlan", "bridge") => vec![HAND_VXLAN_PATH.into(), PODNET_VXLAN_PATH.into()],
        _ => Vec::new(),
    };
    names.push(match (offload, pod_path) {
        (false, _) => format!("{backend} pod→pod (no offloads)"),
        (true, "routed") => format!("{backend} pod→pod (routed veth)"),
        (true, "ebpf") => format!("{backend} pod→pod (eBPF host routing)"),
        (true, _) => format!("{backend} pod→pod"),
    });
    names
}

fn lab_paths(
    st: &LabState,
    backend: &str,
    offload: bool,
    servers: &mut Vec<Child>,
) -> Result<Vec<Path>> {
    let names = path_names(backend, offload, &st.pod_path);
    let has = |n: &str| names.iter().any(|x| x == n);
    let exe = std::env::current_exe().context("own executable")?;
    let exe = exe.to_string_lossy().into_owned();
    let ip_of = |what: &str| {
        st.pod(what)
            .and_then(|p| p.ip)
            .or_else(|| st.node(what).and_then(|n| n.ip))
            .map(|i| i.to_string())
            .unwrap_or_default()
    };
    let (n1, n2, pod1, pod2) = (
        ns_of(st, "n1"),
        ns_of(st, "n2"),
        ns_of(st, "n1-a"),
        ns_of(st, "n2-a"),
    );
    servers.push(spawn(&pod2, &["iperf3", "-s", "-p", IPERF_PORT])?);
    let mut paths = Vec::new();
    let node_path = |name: &str, to: &str| Path {
        name: name.into(),
        from_ns: n1.clone(),
        to: to.into(),
        echo: format!("{to}:{NODE_ECHO_PORT}"),
    };
    if has(UNDERLAY) || has(HAND_VXLAN_PATH) {
        servers.push(spawn(&n2, &["iperf3", "-s", "-p", IPERF_PORT])?);
        servers.push(spawn(
            &n2,
            &[
                &exe,
                "serve",
                "--port",
                "18080",
                "--stream-port",
                NODE_ECHO_PORT,
            ],
        )?);
    }
    if has(UNDERLAY) {
        paths.push(node_path(UNDERLAY, &ip_of("n2")));
    }
    if has(HAND_VXLAN_PATH) {
        hand_built_vxlan(&n1, &ip_of("n1"), &ip_of("n2"), 1)?;
        hand_built_vxlan(&n2, &ip_of("n2"), &ip_of("n1"), 2)?;
        paths.push(node_path(HAND_VXLAN_PATH, &format!("{HAND_NET}.2")));
        let n2_vxlan = st
            .node("n2")
            .and_then(|n| n.subnet.as_deref())
            .and_then(|s| s.parse::<ipnet::Ipv4Net>().ok())
            .map(|s| s.network().to_string())
            .context("node n2 has no subnet")?;
        paths.push(node_path(PODNET_VXLAN_PATH, &n2_vxlan));
    }
    paths.push(Path {
        name: names.last().cloned().unwrap_or_default(),
        from_ns: pod1,
        to: ip_of("n2-a"),
        echo: format!("{}:{POD_ECHO_PORT}", ip_of("n2-a")),
    });
    Ok(paths)
}

/// `ip link add pnbench.vx type vxlan id 99 dstport 4799 local A remote B dev eth0`, MTU as
/// podnet's (underlay − 50), address 172.31.99.N/24.
fn hand_built_vxlan(ns: &str, local: &str, remote: &str, n: u8) -> Result<()> {
    let (dev, vni, port) = HAND_VXLAN;
    run(
        ns,
        &[
            "ip", "link", "add", dev, "type", "vxlan", "id", vni, "dstport", port, "local", local,
            "remote", remote, "dev", "eth0",
        ],
    )?;
    run(ns, &["ip", "link", "set", dev, "mtu", "1450", "up"])?;
    run(
        ns,
        &[
            "ip",
            "addr",
            "add",
            &format!("{HAND_NET}.{n}/24"),
            "dev",
            dev,
        ],
    )?;
    Ok(())
}

fn measure(a: &NetBenchArgs, servers: &mut Vec<Child>, labs: &mut Vec<String>) -> Result<Report> {
    let mut paths = Vec::new();
    for (backend, suffix, offload, pod_path) in LABS {
        let wanted = path_names(backend, offload, pod_path);
        if !a.only.is_empty() && !wanted.iter().any(|n| a.only.contains(n)) {
            continue;
        }
        podnet_netns::interrupt::check()?;
        let name = format!("bench-{suffix}");
        let _ = podnet_lab::down::down(&name);
        let mut spec = LabSpec::generated(&name, backend, 2, 1, 1);
        spec.agent_args = vec!["--udp-offload".into(), offload.to_string()];
        spec.pod_path = pod_path.into();
        labs.push(name.clone());
        eprintln!("bench: building the {name} lab");
        let st = podnet_lab::up::up(&spec, "embedded")?;
        paths.extend(lab_paths(&st, backend, offload, servers)?);
    }
    if !a.only.is_empty() {
        paths.retain(|p| a.only.iter().any(|o| o == &p.name));
        if paths.is_empty() {
            bail!("--only matches no path");
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    // Per path: per streams value (Gbit/s, bytes, CPU s); then RR and CRR results.
    let mut tput: Vec<Vec<Vec<(f64, f64, f64)>>> =
        vec![vec![Vec::new(); a.streams.len()]; paths.len()];
    let mut rrs: Vec<Vec<(RrResult, RrResult)>> = vec![Vec::new(); paths.len()];
    for round in 0..a.runs {
        for k in 0..paths.len() {
            let i = (k + round) % paths.len();
            let p = &paths[i];
            for (j, streams) in a.streams.iter().enumerate() {
                podnet_netns::interrupt::check()?;
                let cpu0 = busy_seconds();
                let (gbps, bytes) = iperf(p, a.seconds, *streams)?;
                let cpu = busy_seconds() - cpu0;
                eprintln!(
                    "bench: round {} {} x{streams}: {gbps:.2} Gbit/s",
                    round + 1,
                    p.name
                );
                tput[i][j].push((gbps, bytes, cpu));
            }
            if a.rr_seconds > 0 {
                let (r, c) = (rr(p, a.rr_seconds, false)?, rr(p, a.rr_seconds, true)?);
                eprintln!(
                    "bench: round {} {}: RR p50 {:.0} µs, {:.0} connections/s",
                    round + 1,
                    p.name,
                    r.p50_us,
                    c.per_second
                );
                rrs[i].push((r, c));
            }
        }
    }
    let underlay = paths
        .iter()
        .position(|p| p.name.starts_with("node→node (underlay)"));
    let mut out = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let throughput = a
            .streams
            .iter()
            .enumerate()
            .map(|(j, streams)| {
                let s = &tput[i][j];
                Throughput {
                    streams: *streams,
                    gbps: Stat::of(s.iter().map(|x| x.0).collect()),
                    vs_underlay: f64::NAN,
                    vs_underlay_paired: underlay.map(|u| {
                        Stat::of(s.iter().zip(&tput[u][j]).map(|(x, b)| x.0 / b.0).collect())
                    }),
                    cpu_s_per_gb: Stat::of(s.iter().map(|x| x.2 / (x.1 / 1e9)).collect()).median,
                }
            })
            .collect();
        let stat = |f: fn(&(RrResult, RrResult)) -> f64| {
            (!rrs[i].is_empty()).then(|| Stat::of(rrs[i].iter().map(f).collect()))
        };
        out.push(PathResult {
            path: p.name.clone(),
            throughput,
            rr_p50_us: stat(|r| r.0.p50_us),
            rr_p99_us: stat(|r| r.0.p99_us),
            connections_per_s: stat(|r| r.1.per_second),
        });
    }
    if let Some(base) = out
        .iter()
        .find(|p| p.path.starts_with("node→node (underlay)"))
        .map(|p| {
            p.throughput
                .iter()
                .map(|t| t.gbps.median)
                .collect::<Vec<_>>()
        })
    {
        for p in &mut out {
            for (t, b) in p.throughput.iter_mut().zip(&base) {
                t.vs_underlay = t.gbps.median / b;
            }
        }
    }
    let single: Vec<Vec<f64>> = match a.streams.iter().position(|&s| s == 1) {
        Some(j) => tput
            .iter()
            .map(|t| t[j].iter().map(|x| x.0).collect())
            .collect(),
        None => Vec::new(),
    };
    let names: Vec<String> = paths.iter().map(|p| p.name.clone()).collect();
    Ok(Report {
        command: command_line(a),
        paths: out,
        targets: if single.is_empty() {
            Vec::new()
        } else {
            targets(&names, &single)
        },
    })
}

fn ns_of(st: &LabState, what: &str) -> String {
    st.pod(what)
        .map(|p| p.netns.clone())
        .or_else(|| st.node(what).map(|n| n.netns.clone()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::report::TARGETS;
    use super::*;

    #[test]
    fn each_lab_names_its_paths_and_only_bridged_labs_measure_the_nodes() {
        assert_eq!(
            path_names("host-gw", true, "bridge"),
            vec![UNDERLAY, "host-gw pod→pod"]
        );
        assert_eq!(
            path_names("host-gw", true, "ebpf"),
            vec!["host-gw pod→pod (eBPF host routing)"]
        );
        assert_eq!(
            path_names("vxlan", true, "bridge"),
            vec![HAND_VXLAN_PATH, PODNET_VXLAN_PATH, "vxlan pod→pod"]
        );
        assert_eq!(
            path_names("udp", false, "bridge"),
            vec!["udp pod→pod (no offloads)"]
        );
        // Every lab contributes a distinct pod path, so `--only` can pick the labs to build.
        let mut all: Vec<String> = LABS
            .iter()
            .flat_map(|(b, _, o, p)| path_names(b, *o, p))
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
        // Every target compares two paths the bench measures.
        for (path, reference, _) in TARGETS {
            assert!(all.iter().any(|x| x == path), "{path}");
            assert!(all.iter().any(|x| x == reference), "{reference}");
        }
    }
}
