//! `podnet bench backends`: TCP throughput of every backend side by side in one run, against
//! the underlay itself. It builds one two-node lab per backend (host-gw, vxlan, udp), starts an
//! iperf3 server on node n2 and in pod n2-a of each, and then measures, rotating the order every
//! round: node→node over the underlay (the ceiling) and pod→pod across nodes for each backend,
//! with 1 and with 4 streams. Reported per path: median Gbit/s with min–max over the rounds,
//! the ratio to the underlay, and machine-wide CPU seconds per GB moved (from /proc/stat).
//! Everything it built is removed at the end, also on failure.

use std::process::{Child, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::lab::sh::{command, run};
use crate::lab::spec::LabSpec;
use crate::lab::state::LabState;

#[derive(clap::Args, Debug, Clone)]
pub struct NetBenchArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Rounds (each measures every path once, in rotating order).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Parallel TCP streams to measure (each value is a separate measurement).
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    pub streams: Vec<u32>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Serialize)]
struct Row {
    path: String,
    streams: u32,
    gbps_median: f64,
    gbps_min: f64,
    gbps_max: f64,
    vs_underlay: f64,
    cpu_s_per_gb: f64,
}

struct Path {
    name: String,
    from_ns: String,
    to: String,
}

const BACKENDS: [&str; 3] = ["host-gw", "vxlan", "udp"];
const IPERF_PORT: &str = "5201";

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

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
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

fn server(ns: &str) -> Result<Child> {
    command(ns, &["iperf3", "-s", "-p", IPERF_PORT])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start iperf3 -s (install iperf3: scripts/setup.sh)")
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
    let rows = result?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "podnet bench backends --seconds {} --runs {} --streams {}",
        a.seconds,
        a.runs,
        a.streams
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    println!(
        "{:<26} {:>7} {:>10} {:>17} {:>12} {:>10}",
        "path", "streams", "Gbit/s", "min-max", "vs underlay", "CPU s/GB"
    );
    for r in &rows {
        println!(
            "{:<26} {:>7} {:>10.2} {:>8.2}-{:<8.2} {:>11.2}x {:>10.2}",
            r.path, r.streams, r.gbps_median, r.gbps_min, r.gbps_max, r.vs_underlay, r.cpu_s_per_gb
        );
    }
    Ok(())
}

fn measure(a: &NetBenchArgs, servers: &mut Vec<Child>, labs: &mut Vec<String>) -> Result<Vec<Row>> {
    let mut paths = Vec::new();
    for backend in BACKENDS {
        let name = format!("bench-{}", backend.replace('-', ""));
        let _ = crate::lab::down::down(&name);
        let spec = LabSpec::generated(&name, backend, 2, 1, 1);
        labs.push(name.clone());
        eprintln!("bench: building the {backend} lab");
        let st = crate::lab::up::up(&spec, "embedded")?;
        let pod_ip = |p: &str| {
            st.pod(p)
                .and_then(|p| p.ip)
                .map(|i| i.to_string())
                .unwrap_or_default()
        };
        servers.push(server(&ns_of(&st, "n2-a"))?);
        if backend == "host-gw" {
            servers.push(server(&ns_of(&st, "n2"))?);
            let n2 = st
                .node("n2")
                .and_then(|n| n.ip)
                .map(|i| i.to_string())
                .unwrap_or_default();
            paths.push(Path {
                name: "node→node (underlay)".into(),
                from_ns: ns_of(&st, "n1"),
                to: n2,
            });
        }
        paths.push(Path {
            name: format!("{backend} pod→pod"),
            from_ns: ns_of(&st, "n1-a"),
            to: pod_ip("n2-a"),
        });
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut samples: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); paths.len() * a.streams.len()];
    for round in 0..a.runs {
        for k in 0..paths.len() {
            let i = (k + round) % paths.len();
            for (j, streams) in a.streams.iter().enumerate() {
                let cpu0 = busy_seconds();
                let (gbps, bytes) = iperf(&paths[i], a.seconds, *streams)?;
                let cpu = busy_seconds() - cpu0;
                eprintln!(
                    "bench: round {} {} x{streams}: {gbps:.2} Gbit/s",
                    round + 1,
                    paths[i].name
                );
                samples[i * a.streams.len() + j].push((gbps, bytes, cpu));
            }
        }
    }
    let mut rows = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        for (j, streams) in a.streams.iter().enumerate() {
            let s = &samples[i * a.streams.len() + j];
            let mut g: Vec<f64> = s.iter().map(|x| x.0).collect();
            let mut cpg: Vec<f64> = s.iter().map(|x| x.2 / (x.1 / 1e9)).collect();
            let (min, max) = g.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
            rows.push(Row {
                path: p.name.clone(),
                streams: *streams,
                gbps_median: median(&mut g),
                gbps_min: min,
                gbps_max: max,
                vs_underlay: 0.0,
                cpu_s_per_gb: median(&mut cpg),
            });
        }
    }
    for j in 0..a.streams.len() {
        let base = rows[j].gbps_median;
        for i in 0..paths.len() {
            let r = &mut rows[i * a.streams.len() + j];
            r.vs_underlay = r.gbps_median / base;
        }
    }
    Ok(rows)
}

fn ns_of(st: &LabState, what: &str) -> String {
    st.pod(what)
        .map(|p| p.netns.clone())
        .or_else(|| st.node(what).map(|n| n.netns.clone()))
        .unwrap_or_default()
}
