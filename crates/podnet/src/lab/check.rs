//! `podnet lab check`: the connectivity matrix, proving the Kubernetes network model on the real
//! lab: every pod reaches every pod (same node and across nodes), nodes reach pods, pods reach
//! nodes, pods reach the internet. Each probe is an HTTP GET to `podnet serve`, which answers with
//! the address it saw: between pods and nodes that must be the sender's own address (no NAT);
//! towards the internet it must be the node's (masquerade).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use anyhow::Result;
use serde::Serialize;

use super::sh::run;
use super::spec::{PodMode, INET_HOST, NODE_PORT, POD_PORT};
use super::state::LabState;

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
    #[serde(skip)]
    ns: String,
    #[serde(skip)]
    accept: BTreeSet<Ipv4Addr>,
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
        ns: ns.into(),
        accept,
    }
}

fn execute(p: &mut Probe) {
    let answer = match p.url.strip_prefix("udp://") {
        Some(to) => {
            let exe = std::env::current_exe()
                .map(|e| e.display().to_string())
                .unwrap_or_else(|_| "podnet".into());
            run(&p.ns, &[&exe, "udp-probe", "--to", to])
        }
        None => run(&p.ns, &["curl", "-s", "--max-time", "3", &p.url]),
    };
    match answer {
        Err(_) => p.detail = "no answer".into(),
        Ok(body) => {
            p.seen = body
                .split("hello ")
                .nth(1)
                .and_then(|r| r.split(':').next())
                .and_then(|s| s.trim().parse().ok());
            match p.seen {
                Some(s) if p.accept.contains(&s) => p.ok = true,
                Some(s) => p.detail = format!("receiver saw {s} (NAT?)"),
                None => p.detail = format!("unexpected answer {body:?}"),
            }
        }
    }
}

/// Probes run at once (each is a process in a namespace).
const PROBE_WORKERS: usize = 32;

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
    // At most PROBE_WORKERS probes in flight: a 50-node lab has ~10,000 probes, and a thread
    // (and a curl) for every 8 of them starved the machine until the probes timed out.
    let per_worker = probes.len().div_ceil(PROBE_WORKERS).max(1);
    std::thread::scope(|s| {
        for chunk in probes.chunks_mut(per_worker) {
            s.spawn(move || chunk.iter_mut().for_each(execute));
        }
    });
    // A `container:` pod shares the other pod's namespace: it reaches it on loopback.
    for p in &st.pods {
        if let PodMode::Container(other) = &p.mode {
            if let Some(o) = st.pod(other) {
                let lo: BTreeSet<Ipv4Addr> = [Ipv4Addr::LOCALHOST].into();
                let mut pr = probe(
                    "container: shared netns",
                    &p.key(),
                    &p.netns,
                    &o.key(),
                    Ipv4Addr::LOCALHOST,
                    o.port,
                    lo,
                );
                execute(&mut pr);
                probes.push(pr);
            }
        }
    }
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
    ] {
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

/// Runs the check and prints it (or JSON); `Ok(false)` when something failed.
pub fn run_check(st: &LabState, json: bool) -> Result<bool> {
    let probes = check(st);
    if json {
        println!("{}", serde_json::to_string_pretty(&probes)?);
        return Ok(probes.iter().all(|p| p.ok));
    }
    Ok(print(st, &probes))
}
