//! `podnet lab up`: build the lab from a spec. Every object is a namespace with the lab's prefix;
//! the host namespace is never touched. What exists is recorded in the state file as it is
//! created, so `lab down` can always clean up. The spec's pods are applied as Pod objects and
//! made by the lab's kubelet (`kubelet`), as `lab apply` makes them; then the spec's manifests.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use podnet_kubectl::manifests::{self, Source};
use podnet_kubectl::{ApplyArgs, Verb};
use podnet_netns::{add_ns, command, ns_path, run, sysctl};

use super::kubelet::plan::pod_objects;
use super::objects::change;
use super::spec::{
    node_ip, router_ip, segment_ip, underlay_mac, LabSpec, INET_HOST, INET_ROUTER, NODE_PORT,
    POD_PORT, SEGMENT_PREFIX, STREAM_PORT,
};
use super::state::{prefix, LabState, NodeState, Proc};

/// How the spec's pods are named as a manifest source in messages.
const SPEC_SOURCE: &str = "lab spec pods";

/// How long agents get to lease their subnets.
const AGENT_READY: Duration = Duration::from_secs(30);

struct Up<'a> {
    spec: &'a LabSpec,
    st: LabState,
    exe: PathBuf,
    dir: PathBuf,
    store: String,
}

impl Up<'_> {
    fn ns(&self, what: &str) -> String {
        format!("{}{what}", self.st.prefix)
    }

    fn add(&mut self, what: &str) -> Result<String> {
        podnet_netns::interrupt::check()?;
        let ns = self.ns(what);
        self.st.namespaces.push(ns.clone());
        self.st.save()?;
        add_ns(&ns)?;
        Ok(ns)
    }

    /// Starts `argv` in `ns` in the background (own process group, output to `log`) and records it.
    fn spawn(&mut self, what: &str, ns: &str, argv: &[&str], log: &Path) -> Result<u32> {
        podnet_netns::interrupt::check()?;
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        let pid = super::procs::start(ns, &argv, log).with_context(|| format!("start {what}"))?;
        self.st.procs.push(Proc {
            what: what.into(),
            pid,
            netns: ns.into(),
            argv,
            log: log.to_path_buf(),
        });
        self.st.save()?;
        Ok(pid)
    }

    /// `podnet serve` in `ns`; `stream` adds the echo port (one per namespace).
    fn serve(&mut self, what: &str, ns: &str, port: u16, stream: bool) -> Result<()> {
        let exe = self.exe.display().to_string();
        let log = self.dir.join(format!("serve-{what}.log"));
        let (port, sp) = (port.to_string(), STREAM_PORT.to_string());
        let mut argv = vec![exe.as_str(), "serve", "--port", &port];
        if stream {
            argv.extend(["--stream-port", sp.as_str()]);
        }
        self.spawn(&format!("serve {what}"), ns, &argv, &log)
            .map(|_| ())
    }
}

/// Builds the lab; `store` is `embedded` or `etcd`.
pub fn up(spec: &LabSpec, store_kind: &str) -> Result<LabState> {
    if LabState::dir(&spec.name).join("state.json").exists() {
        bail!(
            "lab {:?} already exists: run `podnet lab down --name {}` first",
            spec.name,
            spec.name
        );
    }
    let dir = LabState::dir(&spec.name);
    std::fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe().context("find the podnet binary")?;
    let st = LabState {
        name: spec.name.clone(),
        prefix: prefix(&spec.name),
        backend: spec.backend.clone(),
        pod_path: spec.pod_path.clone(),
        ..Default::default()
    };
    let mut u = Up {
        spec,
        st,
        exe,
        dir: dir.clone(),
        store: String::new(),
    };
    let pb = ProgressBar::new(5 + spec.nodes.len() as u64 + spec.pods.len() as u64);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));

    pb.set_message("underlay: switches, router, internet");
    build_underlay(&mut u)?;
    pb.inc(1);
    pb.set_message(format!("datastore ({store_kind})"));
    start_store(&mut u, store_kind)?;
    pb.inc(1);
    for n in &spec.nodes {
        pb.set_message(format!("node {}: namespace, underlay, agent", n.name));
        add_node(&mut u, &n.name, n.segment)?;
        pb.inc(1);
    }
    pb.set_message("underlay: neighbours pinned");
    pin_neighbours(&u)?;
    pb.set_message("waiting for the agents' leases");
    wait_for_leases(&mut u)?;
    pb.inc(1);
    pb.set_message(format!(
        "pods: {} Pod objects applied, the kubelet makes them",
        spec.pods.len()
    ));
    apply_spec_pods(&mut u)?;
    pb.inc(spec.pods.len() as u64);
    let inet = u.ns("inet");
    u.serve("inet", &inet, POD_PORT, true)?;
    pb.inc(1);
    if !spec.manifests.is_empty() {
        pb.set_message("manifests");
        let applied = apply_manifests(&mut u)?;
        pb.suspend(|| print!("{applied}"));
    }
    pb.finish_and_clear();
    u.st.save()?;
    Ok(u.st)
}

/// The spec's `pods:` as Pod objects in their namespaces, applied as `lab apply` applies them
/// (admission, API server, kubelet); any pod that is not made fails the build.
fn apply_spec_pods(u: &mut Up<'_>) -> Result<()> {
    let objects = pod_objects(&u.spec.pods);
    if objects.is_empty() {
        return Ok(());
    }
    let sources = vec![Source {
        name: SPEC_SOURCE.into(),
        objects: Ok(objects),
    }];
    let changed = change(&mut u.st, &apply_verb(SPEC_SOURCE), sources)?;
    if changed.failed() {
        bail!("the spec's pods:\n{}", changed.errors());
    }
    Ok(())
}

/// The spec's `manifests:`, applied as `lab apply -f` would; returns kubectl's lines.
fn apply_manifests(u: &mut Up<'_>) -> Result<String> {
    let files: Vec<String> = u
        .spec
        .manifests
        .iter()
        .map(|m| m.display().to_string())
        .collect();
    let sources = manifests::read(&files);
    let changed = change(&mut u.st, &apply_verb(&files.join(",")), sources)?;
    if changed.failed() {
        bail!("manifests {}:\n{}", files.join(", "), changed.errors());
    }
    let mut text = String::from_utf8_lossy(&changed.out).into_owned();
    for e in &changed.events {
        text.push_str(&format!("{e}\n"));
    }
    Ok(text)
}

fn apply_verb(source: &str) -> Verb {
    Verb::Apply(ApplyArgs {
        filename: vec![source.to_owned()],
        namespace: None,
    })
}

fn build_underlay(u: &mut Up<'_>) -> Result<()> {
    let router = u.add("router")?;
    sysctl(&router, "net.ipv4.ip_forward", "1")?;
    for k in 0..u.spec.segments {
        let sw = u.add(&format!("sw{k}"))?;
        run(&sw, &["ip", "link", "add", "br0", "type", "bridge"])?;
        run(&sw, &["ip", "link", "set", "br0", "up"])?;
        let leg = format!("s{k}");
        run(
            &router,
            &[
                "ip",
                "link",
                "add",
                &leg,
                "address",
                &underlay_mac(router_ip(k)),
                "type",
                "veth",
                "peer",
                "name",
                "router",
                "netns",
                &ns_path(&sw).display().to_string(),
            ],
        )?;
        run(&sw, &["ip", "link", "set", "router", "master", "br0", "up"])?;
        run(
            &router,
            &[
                "ip",
                "addr",
                "add",
                &format!("{}/{SEGMENT_PREFIX}", router_ip(k)),
                "dev",
                &leg,
            ],
        )?;
        run(&router, &["ip", "link", "set", &leg, "up"])?;
    }
    let inet = u.add("inet")?;
    run(
        &router,
        &[
            "ip",
            "link",
            "add",
            "inet0",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &ns_path(&inet).display().to_string(),
        ],
    )?;
    run(
        &router,
        &[
            "ip",
            "addr",
            "add",
            &format!("{INET_ROUTER}/24"),
            "dev",
            "inet0",
        ],
    )?;
    run(&router, &["ip", "link", "set", "inet0", "up"])?;
    run(
        &inet,
        &[
            "ip",
            "addr",
            "add",
            &format!("{INET_HOST}/24"),
            "dev",
            "eth0",
        ],
    )?;
    run(&inet, &["ip", "link", "set", "eth0", "up"])?;
    run(
        &inet,
        &[
            "ip",
            "route",
            "add",
            "198.18.0.0/15",
            "via",
            &INET_ROUTER.to_string(),
        ],
    )?;
    Ok(())
}

fn start_store(u: &mut Up<'_>, kind: &str) -> Result<()> {
    match kind {
        "embedded" => {
            u.store = format!("embedded:{}", u.dir.join("store.db").display());
            Ok(())
        }
        "etcd" => {
            // etcd runs in its own "control plane" namespace on segment 0.
            let cp = u.add("cp")?;
            let ip = segment_ip(0, 2);
            plug_into_segment(u, &cp, "cp", 0, ip)?;
            let data = u.dir.join("etcd");
            std::fs::create_dir_all(&data)?;
            let (client, peer) = (format!("http://{ip}:2379"), format!("http://{ip}:2380"));
            let argv = [
                "etcd",
                "--name",
                "podnet",
                "--data-dir",
                &data.display().to_string(),
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
                "--initial-cluster",
                &format!("podnet={peer}"),
                "--log-level",
                "error",
            ];
            let log = u.dir.join("etcd.log");
            u.spawn("etcd", &cp, &argv, &log)?;
            u.store = format!("etcd://{ip}:2379");
            Ok(())
        }
        other => bail!("--store {other:?}: use embedded or etcd"),
    }
}

/// Plugs namespace `ns` into L2 segment `segment`: a veth `eth0` (MAC fixed by its address) whose
/// peer (`port`) joins the segment's bridge, address `ip`/23, default route via the segment's
/// router. `ip link add eth0 address MAC type veth peer name PORT netns SW;
/// ip -n SW link set PORT master br0 up; ip -n NS addr add IP/23 dev eth0;
/// ip -n NS link set eth0 up; ip -n NS route add default via R`
fn plug_into_segment(u: &Up<'_>, ns: &str, port: &str, segment: usize, ip: Ipv4Addr) -> Result<()> {
    let sw = u.ns(&format!("sw{segment}"));
    run(
        ns,
        &[
            "ip",
            "link",
            "add",
            "eth0",
            "address",
            &underlay_mac(ip),
            "type",
            "veth",
            "peer",
            "name",
            port,
            "netns",
            &ns_path(&sw).display().to_string(),
        ],
    )?;
    run(&sw, &["ip", "link", "set", port, "master", "br0", "up"])?;
    run(
        ns,
        &[
            "ip",
            "addr",
            "add",
            &format!("{ip}/{SEGMENT_PREFIX}"),
            "dev",
            "eth0",
        ],
    )?;
    run(ns, &["ip", "link", "set", "eth0", "up"])?;
    run(
        ns,
        &[
            "ip",
            "route",
            "add",
            "default",
            "via",
            &router_ip(segment).to_string(),
        ],
    )?;
    Ok(())
}

/// Pins every underlay neighbour as a permanent entry, in every namespace on each segment (nodes,
/// the router's leg, etcd's namespace):
/// `ip -n NS neigh replace PEER lladdr MAC dev eth0 nud permanent` for each peer, in one
/// `ip -batch` per namespace.
///
/// Why: all namespaces share one kernel neighbour table whose limit (`gc_thresh3`, 1,024 by
/// default) counts the resolved entries of every namespace together, and it is the host's
/// sysctl, which the lab must not change. A full mesh of N nodes resolves N×(N−1) underlay
/// addresses (VXLAN's outer destinations, host-gw's next hops), so from about 30 nodes on the
/// table overflowed and probes were lost at random (`table_fulls` in /proc/net/stat/arp_cache).
/// Permanent entries are not counted, are never garbage-collected, and need no ARP at all, as
/// with the static neighbours of a provisioning system. Pods' and the internet's neighbours
/// stay dynamic.
fn pin_neighbours(u: &Up<'_>) -> Result<()> {
    // (namespace, device, segment, address) of every interface on an underlay segment.
    let mut ends: Vec<(String, String, usize, Ipv4Addr)> = (0..u.spec.segments)
        .map(|k| (u.ns("router"), format!("s{k}"), k, router_ip(k)))
        .collect();
    if u.store.starts_with("etcd") {
        ends.push((u.ns("cp"), "eth0".into(), 0, segment_ip(0, 2)));
    }
    for n in &u.st.nodes {
        if let Some(ip) = n.ip {
            ends.push((n.netns.clone(), "eth0".into(), n.segment, ip));
        }
    }
    for (ns, dev, segment, ip) in &ends {
        let batch: String = ends
            .iter()
            .filter(|(_, _, s, peer)| s == segment && peer != ip)
            .map(|(_, _, _, peer)| {
                format!(
                    "neigh replace {peer} lladdr {} dev {dev} nud permanent\n",
                    underlay_mac(*peer)
                )
            })
            .collect();
        if batch.is_empty() {
            continue;
        }
        let mut child = command(ns, &["ip", "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("run ip -batch in {ns}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, batch.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "pinning the underlay neighbours in {ns} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

fn add_node(u: &mut Up<'_>, name: &str, segment: usize) -> Result<()> {
    let index = u
        .spec
        .nodes
        .iter()
        .position(|n| n.name == name)
        .unwrap_or(0)
        + 1;
    let ns = u.add(name)?;
    let ip = node_ip(segment, index);
    plug_into_segment(u, &ns, name, segment, ip)?;
    sysctl(&ns, "net.ipv4.ip_forward", "1")?;
    let ndir = u.dir.join(name);
    std::fs::create_dir_all(&ndir)?;
    let exe = u.exe.display().to_string();
    let (facts, state) = (
        ndir.join("node.json").display().to_string(),
        ndir.join("agent").display().to_string(),
    );
    let store = u.store.clone();
    let mut argv = vec![
        exe.as_str(),
        "agent",
        "--node",
        name,
        "--store",
        &store,
        "--backend",
        &u.spec.backend,
        "--underlay-dev",
        "eth0",
        "--facts",
        &facts,
        "--state-dir",
        &state,
        "--lease-ttl",
        "30",
        "--resync",
        "5",
    ];
    if u.spec.pod_path == "ebpf" {
        argv.push("--fast-path");
    }
    argv.extend(u.spec.agent_args.iter().map(String::as_str));
    u.spawn(
        &format!("agent {name}"),
        &ns,
        &argv,
        &ndir.join("agent.log"),
    )?;
    u.st.nodes.push(NodeState {
        name: name.into(),
        netns: ns.clone(),
        segment,
        ip: Some(ip),
        subnet: None,
    });
    u.serve(name, &ns, NODE_PORT, false)?;
    Ok(())
}

fn wait_for_leases(u: &mut Up<'_>) -> Result<()> {
    let start = Instant::now();
    for i in 0..u.st.nodes.len() {
        let facts = u.dir.join(&u.st.nodes[i].name).join("node.json");
        loop {
            if let Ok(bytes) = std::fs::read(&facts) {
                if let Ok(f) = podnet_model::facts::parse(&bytes) {
                    u.st.nodes[i].subnet = Some(f.subnet.to_string());
                    break;
                }
            }
            if start.elapsed() > AGENT_READY {
                let log = u.dir.join(&u.st.nodes[i].name).join("agent.log");
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                bail!(
                    "agent on {} did not lease a subnet in {AGENT_READY:?}; its log:\n{tail}",
                    u.st.nodes[i].name
                );
            }
            podnet_netns::interrupt::check()?;
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    u.st.save()
}
