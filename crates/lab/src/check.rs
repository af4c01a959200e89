//! `podnet lab check`: the connectivity matrix, proving the Kubernetes network model on the real
//! lab: every pod reaches every pod (same node and across nodes), nodes reach pods, pods reach
//! nodes, pods reach the internet. Each probe is an HTTP GET to `podnet serve`, which answers with
//! the address it saw: between pods and nodes that must be the sender's own address (no NAT);
//! towards the internet it must be the node's (masquerade).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use anyhow::Result;
use podnet_model::Kind;
use podnet_netns::{ns_path, run};
use serde::Serialize;

use super::spec::{PodMode, INET_HOST, NODE_PORT, POD_PORT};
use super::state::LabState;

mod services;

/// One probe and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub url: String,
    pub ok: bool,
    /// The source address the receiver saw.
    pub seen: Option<Ipv4Addr>,
    pub detail: String,
    /// The server that answered (`NS/NAME` of a lab pod), when it names itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(skip)]
    ns: String,
    #[serde(skip)]
    accept: BTreeSet<Ipv4Addr>,
    /// When not empty: the servers allowed to answer (a Service's endpoints).
    #[serde(skip)]
    backends: BTreeSet<String>,
    #[serde(skip)]
    expect: Expect,
    /// Asks this many times; every answer must come from the same server (session affinity).
    #[serde(skip)]
    repeat: u32,
}

/// What a probe must meet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Expect {
    /// An answer from an accepted source, by an allowed backend.
    #[default]
    Answer,
    /// A refusal: TCP reset or ICMP port unreachable (a Service without endpoints).
    Refused,
    /// Nothing at all (a node-port with `Local` policy on a node without a local endpoint).
    Silence,
    /// Not run: the outcome was decided when the probe was made (`ok` and `detail` as set).
    Recorded,
}

fn node_addresses(ns: &str) -> BTreeSet<Ipv4Addr> {
    let out = run(ns, &["ip", "-j", "-4", "addr"]).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["local"].as_str().and_then(|s| s.parse().ok()))
        .collect()
}

fn probe(
    kind: &'static str,
    from: &str,
    ns: &str,
    to: &str,
    ip: Ipv4Addr,
    port: u16,
    accept: BTreeSet<Ipv4Addr>,
) -> Probe {
    Probe {
        kind,
        from: from.into(),
        to: to.into(),
        url: format!("http://{ip}:{port}/"),
        ok: false,
        seen: None,
        detail: String::new(),
        answered_by: None,
        ns: ns.into(),
        accept,
        backends: BTreeSet::new(),
        expect: Expect::Answer,
        repeat: 1,
    }
}

/// How long a probe waits for its answer (curl's `--max-time 3` before probes ran in-process).
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// An HTTP GET to `podnet serve` from the calling thread's namespace; the response's body.
fn http_get(to: SocketAddr) -> std::io::Result<String> {
    let mut c = TcpStream::connect_timeout(&to, PROBE_TIMEOUT)?;
    c.set_read_timeout(Some(PROBE_TIMEOUT))?;
    c.set_write_timeout(Some(PROBE_TIMEOUT))?;
    // One write, one segment (`write!` would send a write per fragment).
    c.write_all(format!("GET / HTTP/1.0\r\nHost: {to}\r\n\r\n").as_bytes())?;
    let mut response = String::new();
    c.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or(response))
}

/// One datagram to `podnet serve`'s UDP port from the calling thread's namespace; its answer.
/// `connected`: an ICMP port unreachable (a rejected Service) is reported as a refusal — but
/// only an answer from `to` itself is taken (a host-network server may answer from another
/// of its node's addresses).
fn udp_ask(to: SocketAddr, connected: bool) -> std::io::Result<String> {
    let sock = UdpSocket::bind(("0.0.0.0", 0))?;
    sock.set_read_timeout(Some(PROBE_TIMEOUT))?;
    let mut buf = [0u8; 512];
    let n = if connected {
        sock.connect(to)?;
        sock.send(b"probe")?;
        sock.recv(&mut buf)?
    } else {
        sock.send_to(b"probe", to)?;
        sock.recv_from(&mut buf)?.0
    };
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// One request of a probe: the answer's body.
fn ask(url: &str, connected: bool) -> std::io::Result<String> {
    match url.strip_prefix("udp://") {
        Some(to) => to
            .parse()
            .map_err(std::io::Error::other)
            .and_then(|to| udp_ask(to, connected)),
        None => url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(std::io::Error::other)
            .and_then(http_get),
    }
}

/// `podnet serve NS/NAME: hello …` → `NS/NAME`.
fn identity(body: &str) -> Option<String> {
    let rest = body.strip_prefix("podnet serve ")?;
    rest.split_once(": hello").map(|(id, _)| id.to_owned())
}

fn refused(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
    )
}

/// Runs one probe from the calling thread, which is already in the probe's namespace.
fn execute(p: &mut Probe) {
    match p.expect {
        Expect::Answer => {}
        Expect::Recorded => return,
        Expect::Refused => {
            match ask(&p.url, true) {
                Err(e) if refused(&e) => p.ok = true,
                Err(e) => p.detail = format!("expected a refusal, got: {e}"),
                Ok(body) => p.detail = format!("expected a refusal, got an answer {body:?}"),
            }
            return;
        }
        Expect::Silence => {
            match ask(&p.url, false) {
                Err(e)
                    if e.kind() == std::io::ErrorKind::TimedOut
                        || e.kind() == std::io::ErrorKind::WouldBlock =>
                {
                    p.ok = true
                }
                Err(e) => p.detail = format!("expected no answer, got: {e}"),
                Ok(body) => p.detail = format!("expected no answer, got {body:?}"),
            }
            return;
        }
    }
    for i in 0..p.repeat.max(1) {
        let body = match ask(&p.url, false) {
            Err(e) => {
                p.detail = format!("no answer ({e})");
                p.ok = false;
                return;
            }
            Ok(body) => body,
        };
        p.seen = body
            .split("hello ")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .and_then(|s| s.trim().parse().ok());
        let by = identity(&body);
        if i > 0 && by != p.answered_by {
            p.detail = format!(
                "request {} answered by {by:?}, the first by {:?} (no affinity)",
                i + 1,
                p.answered_by
            );
            p.ok = false;
            return;
        }
        p.answered_by = by;
        if !p.backends.is_empty()
            && !p
                .answered_by
                .as_ref()
                .is_some_and(|b| p.backends.contains(b))
        {
            p.detail = format!(
                "answered by {:?}, not an endpoint of the Service",
                p.answered_by
            );
            p.ok = false;
            return;
        }
        match p.seen {
            Some(s) if p.accept.contains(&s) => p.ok = true,
            Some(s) => {
                p.detail = format!("receiver saw {s} (NAT?)");
                p.ok = false;
                return;
            }
            None => {
                p.detail = format!("unexpected answer {body:?}");
                p.ok = false;
                return;
            }
        }
    }
}

/// Runs `probes` (all from one namespace) in a thread moved into that namespace: no process per
/// probe, so a 50-node lab's ~10,000 probes take seconds, not minutes.
fn execute_from(ns: &str, probes: &mut [&mut Probe]) {
    if let Err(e) = podnet_netns::enter(&ns_path(ns)) {
        for p in probes.iter_mut() {
            p.detail = format!("cannot enter {ns}: {e:#}");
        }
        return;
    }
    probes.iter_mut().for_each(|p| execute(p));
}

/// Runs every probe, at most PROBE_WORKERS threads at once, each taking whole namespaces.
fn execute_all(probes: &mut [Probe]) {
    let mut by_ns: BTreeMap<String, Vec<&mut Probe>> = BTreeMap::new();
    for p in probes.iter_mut().filter(|p| p.expect != Expect::Recorded) {
        by_ns.entry(p.ns.clone()).or_default().push(p);
    }
    let mut groups: Vec<(String, Vec<&mut Probe>)> = by_ns.into_iter().collect();
    let per_worker = groups.len().div_ceil(PROBE_WORKERS).max(1);
    std::thread::scope(|s| {
        for chunk in groups.chunks_mut(per_worker) {
            s.spawn(move || {
                for (ns, group) in chunk.iter_mut() {
                    execute_from(ns, group);
                }
            });
        }
    });
}

/// How many times the kernel found its neighbour table full (`table_fulls`, summed over the
/// per-CPU rows of /proc/net/stat/arp_cache). The table is shared by every namespace.
fn neighbour_table_fulls() -> u64 {
    let stat = std::fs::read_to_string("/proc/net/stat/arp_cache").unwrap_or_default();
    let mut lines = stat.lines();
    let col = lines
        .next()
        .and_then(|h| h.split_whitespace().position(|c| c == "table_fulls"));
    let Some(col) = col else { return 0 };
    lines
        .filter_map(|l| l.split_whitespace().nth(col))
        .filter_map(|v| u64::from_str_radix(v, 16).ok())
        .sum()
}

/// Probe threads at once (each runs one namespace's probes after another).
const PROBE_WORKERS: usize = 16;

/// Builds and runs every probe.
pub fn check(st: &LabState) -> Vec<Probe> {
    let node_addrs: Vec<(String, BTreeSet<Ipv4Addr>)> = st
        .nodes
        .iter()
        .map(|n| (n.name.clone(), node_addresses(&n.netns)))
        .collect();
    let addrs_of = |node: &str| {
        node_addrs
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, a)| a.clone())
            .unwrap_or_default()
    };
    let sender = |pod: &super::state::PodState| match pod.mode {
        PodMode::Host => addrs_of(&pod.node),
        _ => pod.ip.into_iter().collect(),
    };
    let mut probes = Vec::new();
    let reachable: Vec<_> = st.pods.iter().filter(|p| p.ip.is_some()).collect();
    for src in &reachable {
        for dst in &reachable {
            if src.key() != dst.key() && src.netns != dst.netns {
                if let Some(ip) = dst.ip {
                    probes.push(probe(
                        "pod→pod",
                        &src.key(),
                        &src.netns,
                        &dst.key(),
                        ip,
                        dst.port,
                        sender(src),
                    ));
                    let mut udp = probe(
                        "pod→pod udp",
                        &src.key(),
                        &src.netns,
                        &dst.key(),
                        ip,
                        dst.port,
                        sender(src),
                    );
                    udp.url = format!("udp://{ip}:{}", dst.port);
                    probes.push(udp);
                }
            }
        }
    }
    for n in &st.nodes {
        for dst in st.pods.iter().filter(|p| p.mode == PodMode::Bridge) {
            if let Some(ip) = dst.ip {
                probes.push(probe(
                    "node→pod",
                    &n.name,
                    &n.netns,
                    &dst.key(),
                    ip,
                    POD_PORT,
                    addrs_of(&n.name),
                ));
            }
        }
    }
    for src in st.pods.iter().filter(|p| p.mode == PodMode::Bridge) {
        for n in &st.nodes {
            if let Some(ip) = n.ip {
                probes.push(probe(
                    "pod→node",
                    &src.key(),
                    &src.netns,
                    &n.name,
                    ip,
                    NODE_PORT,
                    sender(src),
                ));
            }
        }
        let masq: BTreeSet<Ipv4Addr> = st.node(&src.node).and_then(|n| n.ip).into_iter().collect();
        probes.push(probe(
            "pod→internet",
            &src.key(),
            &src.netns,
            "internet",
            INET_HOST,
            POD_PORT,
            masq,
        ));
    }
    match super::objects::list_kinds(st, &[Kind::Service, Kind::EndpointSlice, Kind::Pod]) {
        Ok(objects) => probes.extend(services::probes(st, &objects, &addrs_of, &sender)),
        Err(e) => {
            let mut p = probe(
                "services",
                "lab",
                "",
                "datastore",
                Ipv4Addr::UNSPECIFIED,
                0,
                BTreeSet::new(),
            );
            p.detail = format!("cannot read Services from the datastore: {e:#}");
            probes.push(p);
        }
    }
    execute_all(&mut probes);
    // A `container:` pod shares the other pod's namespace: it reaches it on loopback.
    let mut shared = Vec::new();
    for p in &st.pods {
        if let PodMode::Container(other) = &p.mode {
            if let Some(o) = st.pod(other) {
                let lo: BTreeSet<Ipv4Addr> = [Ipv4Addr::LOCALHOST].into();
                shared.push(probe(
                    "container: shared netns",
                    &p.key(),
                    &p.netns,
                    &o.key(),
                    Ipv4Addr::LOCALHOST,
                    o.port,
                    lo,
                ));
            }
        }
    }
    execute_all(&mut shared);
    probes.extend(shared);
    // A `none` pod must have loopback only.
    for p in st.pods.iter().filter(|p| p.mode == PodMode::None) {
        let links = run(&p.netns, &["ip", "-o", "link"]).unwrap_or_default();
        let only_lo = links.lines().count() == 1 && links.contains(": lo:");
        let mut pr = probe(
            "none: loopback only",
            &p.key(),
            &p.netns,
            &p.key(),
            Ipv4Addr::LOCALHOST,
            POD_PORT,
            BTreeSet::new(),
        );
        pr.ok = only_lo;
        if !only_lo {
            pr.detail = links;
        }
        probes.push(pr);
    }
    probes
}

/// Prints the matrix a person reads at a glance; returns whether everything passed.
pub fn print(st: &LabState, probes: &[Probe]) -> bool {
    let pods: Vec<String> = st
        .pods
        .iter()
        .filter(|p| p.ip.is_some())
        .map(|p| p.key())
        .collect();
    let w = pods.iter().map(|p| p.len()).max().unwrap_or(4).max(6);
    println!("pod → pod (rows: from, columns: to; ok = reached and saw the sender's own address)");
    print!("{:w$}", "");
    for d in &pods {
        print!(" {d:>w$}");
    }
    println!();
    for s in &pods {
        print!("{s:w$}");
        for d in &pods {
            let cell = probes
                .iter()
                .find(|p| p.kind == "pod→pod" && p.from == *s && p.to == *d)
                .map(|p| if p.ok { "ok" } else { "FAIL" })
                .unwrap_or("·");
            print!(" {cell:>w$}");
        }
        println!();
    }
    println!();
    for kind in [
        "pod→pod udp",
        "node→pod",
        "pod→node",
        "pod→internet",
        "container: shared netns",
        "none: loopback only",
    ]
    .into_iter()
    .chain(services::KINDS.iter().copied())
    {
        let of: Vec<&Probe> = probes.iter().filter(|p| p.kind == kind).collect();
        if of.is_empty() {
            continue;
        }
        let ok = of.iter().filter(|p| p.ok).count();
        println!(
            "{kind:<24} {ok}/{} {}",
            of.len(),
            if ok == of.len() { "ok" } else { "FAIL" }
        );
    }
    let failed: Vec<&Probe> = probes.iter().filter(|p| !p.ok).collect();
    for f in &failed {
        println!(
            "  FAIL {}: {} → {} ({}): {}",
            f.kind, f.from, f.to, f.url, f.detail
        );
    }
    println!(
        "{} passed, {} failed",
        probes.len() - failed.len(),
        failed.len()
    );
    failed.is_empty()
}

/// All namespaces share one kernel neighbour table, capped by the host's `gc_thresh3` (1,024 by
/// default), which the lab must not change; the kernel frees only entries older than 5 s. Bridge
/// pods resolve every pod of their node, so many pods per node (4 × 25: 2,400 entries) overflow
/// it during the check's burst and probes are lost for that reason alone: say so, loudly.
fn warn_if_the_neighbour_table_overflowed(overflows: u64) {
    if overflows == 0 {
        return;
    }
    let limit = std::fs::read_to_string("/proc/sys/net/ipv4/neigh/default/gc_thresh3")
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    eprintln!(
        "podnet: warning: the kernel's neighbour table, shared by all namespaces (gc_thresh3 \
         {limit}), was full {overflows} times during the check, so probes may have been lost \
         to that alone: bridge pods resolve every pod on their node; with many pods per node use \
         --pod-path routed (two entries per pod) or fewer pods per node (docs/lab.md)"
    );
}

/// Runs the check and prints it (or JSON); `Ok(false)` when something failed.
pub fn run_check(st: &LabState, json: bool) -> Result<bool> {
    let fulls = neighbour_table_fulls();
    let probes = check(st);
    warn_if_the_neighbour_table_overflowed(neighbour_table_fulls().saturating_sub(fulls));
    if json {
        println!("{}", serde_json::to_string_pretty(&probes)?);
        return Ok(probes.iter().all(|p| p.ok));
    }
    Ok(print(st, &probes))
}
