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

use std::fmt::Write as _;
use std::process::{Child, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::lab::sh::{command, run};
use crate::lab::spec::LabSpec;
use crate::lab::state::LabState;
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

/// A median with its range.
#[derive(Debug, Clone, Copy, Serialize)]
struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

impl Stat {
    fn of(mut v: Vec<f64>) -> Stat {
        v.retain(|x| x.is_finite());
        v.sort_by(|a, b| a.total_cmp(b));
        match (v.first(), v.last()) {
            (Some(min), Some(max)) => Stat {
                median: v[v.len() / 2],
                min: *min,
                max: *max,
            },
            _ => Stat {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Throughput {
    streams: u32,
    gbps: Stat,
    /// Median Gbit/s over the underlay's median.
    vs_underlay: f64,
    /// Paired: this path's Gbit/s over the underlay's in the same round (the two measured
    /// minutes apart at most), median and range over the rounds — robust to the machine's load
    /// drifting during a run.
    vs_underlay_paired: Option<Stat>,
    cpu_s_per_gb: f64,
}

#[derive(Debug, Clone, Serialize)]
struct PathResult {
    path: String,
    throughput: Vec<Throughput>,
    /// Median latency of one 64-byte exchange on an open connection, µs.
    rr_p50_us: Option<Stat>,
    rr_p99_us: Option<Stat>,
    /// Connections per second (connect, exchange, close).
    connections_per_s: Option<Stat>,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    command: String,
    paths: Vec<PathResult>,
    /// The targets of docs/benchmarks.md whose two paths were both measured with one stream.
    targets: Vec<TargetResult>,
}

/// A path's single-stream throughput against a reference path, and the ratio it should reach.
#[derive(Debug, Clone, Serialize)]
struct TargetResult {
    path: String,
    reference: String,
    at_least: f64,
    /// Median over median.
    ratio: f64,
    /// Per-round ratios (the two measured in the same round): median and range.
    paired: Stat,
    /// "yes" (both ratios reach it), "paired only", "medians only" or "no".
    met: &'static str,
}

/// (path, reference, ratio to reach) with one stream — the targets of issue C / PERFORMANCE.md.
const TARGETS: [(&str, &str, f64); 5] = [
    ("host-gw pod→pod", UNDERLAY, 0.95),
    ("host-gw pod→pod (routed veth)", UNDERLAY, 0.95),
    ("host-gw pod→pod (eBPF host routing)", UNDERLAY, 0.95),
    (PODNET_VXLAN_PATH, HAND_VXLAN_PATH, 0.98),
    ("udp pod→pod", "vxlan pod→pod", 0.80),
];

/// The targets whose paths are both in `names`, from single-stream throughput per round
/// (`gbps[path][round]`, paths in `names` order). Pure, for tests.
fn targets(names: &[String], gbps: &[Vec<f64>]) -> Vec<TargetResult> {
    let find = |n: &str| names.iter().position(|x| x == n);
    TARGETS
        .iter()
        .filter_map(|&(path, reference, at_least)| {
            let (p, r) = (find(path)?, find(reference)?);
            let (a, b) = (&gbps[p], &gbps[r]);
            let ratio = Stat::of(a.clone()).median / Stat::of(b.clone()).median;
            let paired = Stat::of(a.iter().zip(b).map(|(x, y)| x / y).collect());
            let met = match (ratio >= at_least, paired.median >= at_least) {
                (true, true) => "yes",
                (false, true) => "paired only",
                (true, false) => "medians only",
                (false, false) => "no",
            };
            Some(TargetResult {
                path: path.into(),
                reference: reference.into(),
                at_least,
                ratio,
                paired,
                met,
            })
        })
        .collect()
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
        let _ = crate::lab::down::down(&l);
    }
    let report = result?;
    if let Some(path) = &a.svg {
        std::fs::write(path, svg(&report)).with_context(|| format!("write {}", path.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
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

fn table(r: &Report) -> String {
    let mut out = format!("{}\n", r.command);
    let _ = writeln!(
        out,
        "{:<34} {:>7} {:>8} {:>15} {:>9} {:>17} {:>8} {:>9} {:>9} {:>9}",
        "path",
        "streams",
        "Gbit/s",
        "min-max",
        "vs under",
        "paired (min-max)",
        "CPU s/GB",
        "RR p50µs",
        "RR p99µs",
        "conn/s"
    );
    for p in &r.paths {
        for (i, t) in p.throughput.iter().enumerate() {
            let lat = |s: &Option<Stat>| match (i, s) {
                (0, Some(s)) => format!("{:.0}", s.median),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<34} {:>7} {:>8.2} {:>7.2}-{:<7.2} {:>9} {:>17} {:>8.2} {:>9} {:>9} {:>9}",
                if i == 0 { p.path.as_str() } else { "" },
                t.streams,
                t.gbps.median,
                t.gbps.min,
                t.gbps.max,
                if t.vs_underlay.is_finite() {
                    format!("{:.2}x", t.vs_underlay)
                } else {
                    "-".into()
                },
                match t.vs_underlay_paired {
                    Some(s) if s.median.is_finite() => {
                        format!("{:.2}x ({:.2}-{:.2})", s.median, s.min, s.max)
                    }
                    _ => "-".into(),
                },
                t.cpu_s_per_gb,
                lat(&p.rr_p50_us),
                lat(&p.rr_p99_us),
                lat(&p.connections_per_s),
            );
        }
    }
    if !r.targets.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<62} {:>8} {:>13} {:>17}  met",
            "target (1 stream): path / reference", "at least", "median/median", "paired (min-max)"
        );
        for t in &r.targets {
            let _ = writeln!(
                out,
                "{:<62} {:>7.2}x {:>12.2}x {:>5.2}x ({:.2}-{:.2})  {}",
                format!("{} / {}", t.path, t.reference),
                t.at_least,
                t.ratio,
                t.paired.median,
                t.paired.min,
                t.paired.max,
                t.met
            );
        }
    }
    out
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
        crate::interrupt::check()?;
        let name = format!("bench-{suffix}");
        let _ = crate::lab::down::down(&name);
        let mut spec = LabSpec::generated(&name, backend, 2, 1, 1);
        spec.agent_args = vec!["--udp-offload".into(), offload.to_string()];
        spec.pod_path = pod_path.into();
        labs.push(name.clone());
        eprintln!("bench: building the {name} lab");
        let st = crate::lab::up::up(&spec, "embedded")?;
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
                crate::interrupt::check()?;
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A chart a person can open: throughput bars per path and stream count (with min–max
/// whiskers), then RR latency and connection rate.
fn svg(r: &Report) -> String {
    const LABEL: f64 = 250.0;
    const WIDTH: f64 = 980.0;
    const BAR: f64 = 14.0;
    let colors = ["#4878a8", "#e49444", "#6a9f58", "#967662"];
    let nstreams = r.paths.first().map_or(0, |p| p.throughput.len());
    let row_h = BAR * nstreams.max(1) as f64 + 10.0;
    let panel = |title: &str, y0: f64| {
        format!(
            "<text x=\"10\" y=\"{:.1}\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
            y0 - 8.0,
            esc(title)
        )
    };
    let mut body = String::new();
    let mut y = 60.0;
    // Panel 1: throughput.
    let max_gbps = r
        .paths
        .iter()
        .flat_map(|p| p.throughput.iter().map(|t| t.gbps.max))
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    let scale = (WIDTH - LABEL - 130.0) / max_gbps;
    body.push_str(&panel(
        "TCP throughput, Gbit/s (median of the rounds; whiskers: min–max)",
        y,
    ));
    for p in &r.paths {
        let _ = writeln!(
            body,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>",
            LABEL - 8.0,
            y + row_h / 2.0,
            esc(&p.path)
        );
        for (j, t) in p.throughput.iter().enumerate() {
            let by = y + j as f64 * BAR;
            let w = (t.gbps.median * scale).max(0.0);
            let _ = writeln!(
                body,
                "<rect x=\"{LABEL}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                BAR - 2.0,
                colors[j % colors.len()]
            );
            let (x0, x1, cy) = (
                LABEL + t.gbps.min * scale,
                LABEL + t.gbps.max * scale,
                by + (BAR - 2.0) / 2.0,
            );
            let _ = writeln!(
                body,
                "<line x1=\"{x0:.1}\" y1=\"{cy:.1}\" x2=\"{x1:.1}\" y2=\"{cy:.1}\" stroke=\"#222\"/>"
            );
            let _ = writeln!(
                body,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{:.2} ({} stream{})</text>",
                x1.max(LABEL + w) + 6.0,
                by + BAR - 4.0,
                t.gbps.median,
                t.streams,
                if t.streams == 1 { "" } else { "s" }
            );
        }
        y += row_h;
    }
    // Panels 2 and 3: latency and connection rate (if measured).
    type Pick = fn(&PathResult) -> Option<Stat>;
    let more: [(&str, Pick, &str); 2] = [
        (
            "Request/response latency, µs (64-byte exchange, median p50 of the rounds)",
            |p| p.rr_p50_us,
            "#8c6bb1",
        ),
        (
            "Connection rate, connections/s (connect, exchange, close)",
            |p| p.connections_per_s,
            "#c44e52",
        ),
    ];
    for (title, pick, color) in more {
        if r.paths.iter().all(|p| pick(p).is_none()) {
            continue;
        }
        y += 40.0;
        body.push_str(&panel(title, y));
        let max = r
            .paths
            .iter()
            .filter_map(|p| pick(p).map(|s| s.max))
            .filter(|v| v.is_finite())
            .fold(1.0f64, f64::max);
        let scale = (WIDTH - LABEL - 80.0) / max;
        for p in &r.paths {
            let Some(s) = pick(p) else { continue };
            let w = (s.median * scale).max(0.0);
            let _ = writeln!(
                body,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>\n\
                 <rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\n\
                 <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#222\"/>\n\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{:.0}</text>",
                LABEL - 8.0,
                y + BAR - 3.0,
                esc(&p.path),
                BAR - 2.0,
                LABEL + s.min * scale,
                y + (BAR - 2.0) / 2.0,
                LABEL + s.max * scale,
                y + (BAR - 2.0) / 2.0,
                LABEL + (s.max * scale).max(w) + 6.0,
                y + BAR - 4.0,
                s.median
            );
            y += BAR + 4.0;
        }
    }
    let height = y + 30.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"22\" font-size=\"13\">{}</text>\n{body}</svg>\n",
        esc(&r.command)
    )
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn targets_report_both_ratios_and_which_one_is_met() {
        let names: Vec<String> = [
            UNDERLAY,
            "host-gw pod→pod (eBPF host routing)",
            "udp pod→pod",
        ]
        .map(String::from)
        .to_vec();
        let gbps = vec![
            vec![10.0, 12.0, 8.0],
            vec![9.8, 11.0, 8.4],
            vec![5.0, 5.0, 5.0],
        ];
        let t = targets(&names, &gbps);
        // udp's reference (vxlan pod→pod) was not measured: no target for it.
        assert_eq!(t.len(), 1);
        let t = &t[0];
        assert_eq!(t.reference, UNDERLAY);
        assert!((t.ratio - 9.8 / 10.0).abs() < 1e-9, "{t:?}");
        assert!((t.paired.median - 0.98).abs() < 1e-9, "{t:?}");
        assert!((t.paired.max - 1.05).abs() < 1e-9, "{t:?}");
        assert_eq!(t.met, "yes");
        // Paired ratios 0.90, 0.97, 1.05 reach 0.95; the medians (9.0 / 10.0) do not.
        let low = targets(
            &names,
            &[vec![10.0, 12.0, 8.0], vec![9.0, 11.6, 8.4], vec![]],
        );
        assert!((low[0].ratio - 0.9).abs() < 1e-9);
        assert_eq!(low[0].met, "paired only", "{:?}", low[0]);
        let none = targets(&names, &[vec![10.0; 3], vec![5.0; 3], vec![]]);
        assert_eq!(none[0].met, "no");
    }
}
