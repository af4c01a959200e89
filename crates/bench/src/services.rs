//! `podnet bench services`: the Service proxy against a kube-proxy-iptables-shaped ruleset, side
//! by side in one run on the same topology, at several Service counts (10 endpoints each):
//!
//! - **full sync**: podnet's whole `ip podnet_proxy` table in one `nft -f` (what the agent
//!   sends at start), against `iptables-restore` of the whole nat table with KUBE-SERVICES /
//!   KUBE-SVC-* / KUBE-SEP-* chains (kube-proxy's full sync);
//! - **one change**: one endpoint of the last Service removed — podnet's diff
//!   ([`podnet_nft::diff::update`]), against `iptables-restore --noflush` of that Service's
//!   chains (kube-proxy's partial sync);
//! - **first-packet latency**: TCP connect time to the last Service created, p50 and p99 over
//!   many connects (each a new conntrack entry, so each runs the rules).
//!
//! Topology (all namespaces of its own, `pnbench<pid>-svc-*`, removed at the end): a client
//! and a server namespace on either side of a node namespace holding the rules; the server has
//! the 10 endpoint addresses and accepts on port 8080. Services are 10.96.0.0/12 addresses,
//! port 80. Only one ruleset is loaded at a time.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use podnet_netns::{enter, NetnsGuard};
use podnet_nft::diff::update;
use podnet_nft::{Op, Transaction, L4};
use podnet_proxy::{table, Plan, PortId, PortPlan, Target};
use serde::Serialize;

#[derive(clap::Args, Debug, Clone)]
pub struct ServicesBenchArgs {
    /// Service counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10,1000,10000")]
    pub services: Vec<usize>,
    /// Endpoints per Service.
    #[arg(long, default_value_t = 10)]
    pub endpoints: usize,
    /// TCP connects per latency measurement.
    #[arg(long, default_value_t = 500)]
    pub connects: usize,
    /// Runs of each sync measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

const SERVER_PORT: u16 = 8080;
const SERVICE_PORT: u16 = 80;
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 250, 0, 2);
const CLIENT_GW: Ipv4Addr = Ipv4Addr::new(10, 250, 0, 1);
const SERVER_GW: Ipv4Addr = Ipv4Addr::new(10, 250, 1, 1);

fn endpoint(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 250, 1, 2 + i as u8)
}

fn vip(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 10)) + i as u32)
}

/// One measurement of one ruleset at one count.
#[derive(Debug, Clone, Serialize)]
struct Row {
    services: usize,
    full_sync_ms: f64,
    one_change_ms: f64,
    connect_p50_us: f64,
    connect_p99_us: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    command: String,
    endpoints: usize,
    connects: usize,
    iptables: String,
    podnet: Vec<Row>,
    iptables_rows: Vec<Row>,
}

fn plan(services: usize, endpoints: usize, drop_last: bool) -> Plan {
    let mut ports = BTreeMap::new();
    for i in 0..services {
        let id = PortId {
            namespace: "bench".into(),
            name: format!("s{i}"),
            proto: L4::Tcp,
            port: SERVICE_PORT,
        };
        let n = if drop_last && i + 1 == services {
            endpoints - 1
        } else {
            endpoints
        };
        let internal: Vec<Target> = (0..n)
            .map(|e| Target {
                addr: endpoint(e),
                port: SERVER_PORT,
            })
            .collect();
        ports.insert(
            id.clone(),
            PortPlan {
                id,
                cluster_ip: vip(i),
                any_endpoints: true,
                internal,
                node_port: None,
                affinity: None,
            },
        );
    }
    Plan { ports, skipped: 0 }
}

/// kube-proxy's iptables shape for `services` Services: the whole nat table (`full`), or only
/// the last Service's chains with one endpoint fewer (the partial restore of one change).
fn iptables_rules(services: usize, endpoints: usize, full: bool) -> String {
    let mut chains = String::from("*nat\n");
    let mut rules = String::new();
    if full {
        chains.push_str(
            ":KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n",
        );
        rules.push_str(
            "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n",
        );
        rules.push_str(
            "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n",
        );
        rules.push_str("-A POSTROUTING -j KUBE-POSTROUTING\n");
        rules.push_str("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
        rules.push_str("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n");
        rules.push_str("-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n");
        rules.push_str("-A KUBE-POSTROUTING -j MASQUERADE --random-fully\n");
    }
    let first = if full { 0 } else { services - 1 };
    for i in first..services {
        let n = if !full && i + 1 == services {
            endpoints - 1
        } else {
            endpoints
        };
        let svc = format!("KUBE-SVC-{i:016}");
        chains.push_str(&format!(":{svc} - [0:0]\n"));
        if full {
            rules.push_str(&format!(
                "-A KUBE-SERVICES -d {}/32 -p tcp -m comment --comment \"bench/s{i}:http cluster IP\" -m tcp --dport {SERVICE_PORT} -j {svc}\n",
                vip(i)
            ));
        }
        for e in 0..n {
            let sep = format!("KUBE-SEP-{i:08}{e:08}");
            chains.push_str(&format!(":{sep} - [0:0]\n"));
            let left = n - e;
            if left > 1 {
                rules.push_str(&format!(
                    "-A {svc} -m comment --comment \"bench/s{i}:http\" -m statistic --mode random --probability {:.11} -j {sep}\n",
                    1.0 / left as f64
                ));
            } else {
                rules.push_str(&format!(
                    "-A {svc} -m comment --comment \"bench/s{i}:http\" -j {sep}\n"
                ));
            }
            rules.push_str(&format!(
                "-A {sep} -s {}/32 -j KUBE-MARK-MASQ\n",
                endpoint(e)
            ));
            rules.push_str(&format!(
                "-A {sep} -p tcp -m tcp -j DNAT --to-destination {}:{SERVER_PORT}\n",
                endpoint(e)
            ));
        }
        if !full {
            // The removed endpoint's chain goes, as kube-proxy deletes stale chains: declared
            // (so flushed) and deleted.
            let stale = format!("KUBE-SEP-{i:08}{:08}", endpoints - 1);
            chains.push_str(&format!(":{stale} - [0:0]\n"));
            rules.push_str(&format!("-X {stale}\n"));
        }
    }
    format!("{chains}{rules}COMMIT\n")
}

/// Runs `argv` in `ns` with `input` on stdin; its wall time in ms.
fn timed(ns: &NetnsGuard, argv: &[&str], input: &str) -> Result<f64> {
    let started = Instant::now();
    let mut child = ns
        .command(argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("run {argv:?}"))?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(input.as_bytes())?;
    let out = child.wait_with_output()?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        bail!("{argv:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(ms)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// TCP connect times (µs) from the client namespace to `to`, `n` times.
fn connects(client: &NetnsGuard, to: SocketAddr, n: usize) -> Result<Vec<f64>> {
    let path = client.path();
    podnet_netns::in_netns(&path, move || -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            let mut c = TcpStream::connect_timeout(&to, Duration::from_secs(2))
                .with_context(|| format!("connect {to}"))?;
            out.push(started.elapsed().as_secs_f64() * 1e6);
            let mut b = [0u8; 8];
            let _ = c.read(&mut b);
        }
        out.sort_by(f64::total_cmp);
        Ok(out)
    })?
}

struct Topology {
    node: NetnsGuard,
    client: NetnsGuard,
    server: NetnsGuard,
    stop: Arc<AtomicBool>,
}

impl Drop for Topology {
    fn drop(&mut self) {
        // Wake the server's accept so its thread leaves the namespace (a thread inside keeps a
        // deleted namespace alive).
        self.stop.store(true, Ordering::Relaxed);
        let _ = podnet_netns::in_netns(&self.server.path(), || {
            TcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, SERVER_PORT)),
                Duration::from_secs(1),
            )
        });
    }
}

fn topology(tag: &str, endpoints: usize) -> Result<Topology> {
    let node = NetnsGuard::new(&format!("{tag}-node"))?;
    let client = NetnsGuard::new(&format!("{tag}-client"))?;
    let server = NetnsGuard::new(&format!("{tag}-server"))?;
    let ip = |ns: &NetnsGuard, args: &[&str]| -> Result<()> {
        let mut argv = vec!["ip"];
        argv.extend_from_slice(args);
        ns.run(&argv)
            .map(|_| ())
            .with_context(|| format!("ip {args:?}"))
    };
    let (cp, sp) = (
        client.path().display().to_string(),
        server.path().display().to_string(),
    );
    ip(
        &node,
        &[
            "link", "add", "c0", "type", "veth", "peer", "name", "eth0", "netns", &cp,
        ],
    )?;
    ip(
        &node,
        &[
            "link", "add", "s0", "type", "veth", "peer", "name", "eth0", "netns", &sp,
        ],
    )?;
    ip(
        &node,
        &["addr", "add", &format!("{CLIENT_GW}/24"), "dev", "c0"],
    )?;
    ip(
        &node,
        &["addr", "add", &format!("{SERVER_GW}/24"), "dev", "s0"],
    )?;
    for d in ["c0", "s0", "lo"] {
        ip(&node, &["link", "set", d, "up"])?;
    }
    podnet_netns::sysctl(&node.name, "net.ipv4.ip_forward", "1")?;
    ip(
        &client,
        &["addr", "add", &format!("{CLIENT}/24"), "dev", "eth0"],
    )?;
    ip(&client, &["link", "set", "eth0", "up"])?;
    ip(&client, &["link", "set", "lo", "up"])?;
    ip(
        &client,
        &["route", "add", "default", "via", &CLIENT_GW.to_string()],
    )?;
    for e in 0..endpoints {
        ip(
            &server,
            &["addr", "add", &format!("{}/24", endpoint(e)), "dev", "eth0"],
        )?;
    }
    ip(&server, &["link", "set", "eth0", "up"])?;
    ip(&server, &["link", "set", "lo", "up"])?;
    ip(
        &server,
        &["route", "add", "default", "via", &SERVER_GW.to_string()],
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let (path, stop2) = (server.path(), stop.clone());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if enter(&path).is_err() {
            return;
        }
        let Ok(l) = TcpListener::bind(("0.0.0.0", SERVER_PORT)) else {
            return;
        };
        let _ = ready_tx.send(());
        for c in l.incoming() {
            if stop2.load(Ordering::Relaxed) {
                break;
            }
            if let Ok(mut c) = c {
                let _ = c.write_all(b"ok");
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .context("the bench server did not start")?;
    Ok(Topology {
        node,
        client,
        server,
        stop,
    })
}

fn measure_podnet(t: &Topology, services: usize, args: &ServicesBenchArgs) -> Result<Row> {
    let full_plan = plan(services, args.endpoints, false);
    let full = table(&full_plan);
    let full_script = Transaction::new()
        .push(Op::DeleteTable(full.id()))
        .install(&full)
        .render();
    let changed = table(&plan(services, args.endpoints, true));
    let change_script = update(&full, &changed).render();
    let back_script = update(&changed, &full).render();
    let mut fulls = Vec::new();
    let mut changes = Vec::new();
    for _ in 0..args.runs {
        fulls.push(timed(&t.node, &["nft", "-f", "-"], &full_script)?);
        changes.push(timed(&t.node, &["nft", "-f", "-"], &change_script)?);
        timed(&t.node, &["nft", "-f", "-"], &back_script)?;
    }
    let to = SocketAddr::from((vip(services - 1), SERVICE_PORT));
    let lat = connects(&t.client, to, args.connects)?;
    t.node
        .run(&["nft", "delete", "table", "ip", podnet_proxy::TABLE])?;
    Ok(Row {
        services,
        full_sync_ms: median(fulls),
        one_change_ms: median(changes),
        connect_p50_us: percentile(&lat, 0.5),
        connect_p99_us: percentile(&lat, 0.99),
    })
}

fn measure_iptables(t: &Topology, services: usize, args: &ServicesBenchArgs) -> Result<Row> {
    let full = iptables_rules(services, args.endpoints, true);
    let change = iptables_rules(services, args.endpoints, false);
    let mut fulls = Vec::new();
    let mut changes = Vec::new();
    for _ in 0..args.runs {
        fulls.push(timed(&t.node, &["iptables-restore"], &full)?);
        changes.push(timed(&t.node, &["iptables-restore", "--noflush"], &change)?);
    }
    timed(&t.node, &["iptables-restore"], &full)?;
    let to = SocketAddr::from((vip(services - 1), SERVICE_PORT));
    let lat = connects(&t.client, to, args.connects)?;
    timed(&t.node, &["iptables-restore"], "*nat\nCOMMIT\n")?;
    Ok(Row {
        services,
        full_sync_ms: median(fulls),
        one_change_ms: median(changes),
        connect_p50_us: percentile(&lat, 0.5),
        connect_p99_us: percentile(&lat, 0.99),
    })
}

pub fn run(args: &ServicesBenchArgs) -> Result<()> {
    if args.endpoints == 0
        || args.endpoints > 200
        || args.services.iter().any(|&n| n == 0 || n > 60_000)
    {
        bail!("--endpoints 1-200 and --services counts 1-60000");
    }
    let tag = format!("pnbench{}-svc", std::process::id());
    let t = topology(&tag, args.endpoints)?;
    let version = t
        .node
        .run(&["iptables-restore", "--version"])
        .unwrap_or_default();
    let (mut podnet, mut iptables) = (Vec::new(), Vec::new());
    for &n in &args.services {
        podnet_netns::interrupt::check()?;
        podnet.push(measure_podnet(&t, n, args)?);
        iptables.push(measure_iptables(&t, n, args)?);
    }
    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        endpoints: args.endpoints,
        connects: args.connects,
        iptables: version.trim().to_string(),
        podnet,
        iptables_rows: iptables,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "Services x {} endpoints; {} connects per latency; {}",
        report.endpoints, report.connects, report.iptables
    );
    println!(
        "{:>8}  {:>24}  {:>24}  {:>26}  {:>26}",
        "services",
        "full sync ms (podnet/ipt)",
        "one change ms (podnet/ipt)",
        "connect p50 µs (podnet/ipt)",
        "connect p99 µs (podnet/ipt)"
    );
    for (p, i) in report.podnet.iter().zip(&report.iptables_rows) {
        println!(
            "{:>8}  {:>11.1} / {:>10.1}  {:>11.1} / {:>10.1}  {:>12.0} / {:>11.0}  {:>12.0} / {:>11.0}",
            p.services, p.full_sync_ms, i.full_sync_ms, p.one_change_ms, i.one_change_ms,
            p.connect_p50_us, i.connect_p50_us, p.connect_p99_us, i.connect_p99_us
        );
    }
    if let (Some(first), Some(last)) = (report.podnet.first(), report.podnet.last()) {
        let (fi, li) = (
            &report.iptables_rows[0],
            &report.iptables_rows[report.iptables_rows.len() - 1],
        );
        println!(
            "p50 at {} / at {}: podnet {:.2}x, iptables {:.2}x",
            last.services,
            first.services,
            last.connect_p50_us / first.connect_p50_us.max(1.0),
            li.connect_p50_us / fi.connect_p50_us.max(1.0)
        );
    }
    drop(t);
    Ok(())
}
