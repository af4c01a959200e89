//! Faults on a running lab: agents restarted 20 times under a live cross-node TCP stream (the
//! stream never breaks; routes, neighbours, FDB and nftables are identical afterwards), and the
//! datastore (a real etcd) stopped for a minute (pods keep talking, agents stay cheap, and they
//! converge again once it is back). And Ctrl-C/SIGTERM in the middle of `podnet lab up` or `podnet
//! bench backends` leaves no namespace and no process behind.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Child;
use std::time::{Duration, Instant};

use common::cpu_seconds;
use common::lab::{ok, podnet, Lab};

fn finish(stream: Child) -> String {
    let out = stream.wait_with_output().unwrap();
    ok(&out, "the TCP stream")
}

/// Restarts the agents `count` times, alternating nodes, every other pair with SIGKILL, under a
/// cross-node TCP stream (an echo every 10 ms that fails on a stall over 2 s); the datapath
/// (routes, VXLAN neighbours/FDB, nftables) must be the same afterwards. Returns the stream's
/// report.
fn restarts_under_a_stream(tag: &str, extra: &[&str], count: usize, secs: u64) -> String {
    let mut args = vec!["--nodes", "2", "--pods-per-node", "1"];
    args.extend_from_slice(extra);
    let lab = Lab::up(tag, &args);
    let stream = lab.stream("n1-a", "n2-a", secs);
    std::thread::sleep(Duration::from_secs(1));
    let before = (lab.datapath("n1"), lab.datapath("n2"));
    for i in 0..count {
        let node = if i % 2 == 0 { "n1" } else { "n2" };
        let mut args = vec!["lab", "restart-agent", "--name", &lab.0, node];
        if i % 4 >= 2 {
            args.push("--kill");
        }
        ok(&podnet(&args), "restart-agent");
        std::thread::sleep(Duration::from_millis(400));
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = (lab.datapath("n1"), lab.datapath("n2"));
    assert_eq!(after.0, before.0, "n1's datapath changed across restarts");
    assert_eq!(after.1, before.1, "n2's datapath changed across restarts");
    let report = finish(stream);
    assert!(report.contains("stream ok"), "{report}");
    ok(
        &podnet(&["lab", "check", "--name", &lab.0]),
        "lab check after restarts",
    );
    report
}

#[test]
fn twenty_agent_restarts_break_no_connection() {
    let report = restarts_under_a_stream("r", &[], 20, 25);
    eprintln!(
        "vxlan, 20 agent restarts (10 SIGTERM, 10 SIGKILL): {}",
        report.trim()
    );
}

/// The udp backend's relay lives in the agent: while it restarts nobody reads the TUN device.
/// The device is persistent (its routes stay), so packets pause for the restart and TCP
/// retransmits; the connection must survive every restart.
#[test]
fn udp_agent_restarts_break_no_connection() {
    let report = restarts_under_a_stream("ru", &["--backend", "udp"], 10, 15);
    eprintln!(
        "udp, 10 agent restarts (5 SIGTERM, 5 SIGKILL): {}",
        report.trim()
    );
}

#[test]
fn datastore_down_for_a_minute() {
    let lab = Lab::up(
        "o",
        &["--nodes", "2", "--pods-per-node", "1", "--store", "etcd"],
    );
    let stream = lab.stream("n1-a", "n2-a", 75);
    std::thread::sleep(Duration::from_secs(1));
    let agents = [lab.pid("agent n1"), lab.pid("agent n2")];
    ok(
        &podnet(&["lab", "store", "--name", &lab.0, "stop"]),
        "stop etcd",
    );
    let cpu0: f64 = agents.iter().map(|p| cpu_seconds(*p)).sum();
    std::thread::sleep(Duration::from_secs(60));
    let cpu = agents.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - cpu0;
    for node in ["n1", "n2"] {
        assert_eq!(
            lab.agent_status(node)["datastoreOk"],
            false,
            "{node} should notice the outage"
        );
    }
    ok(
        &podnet(&["lab", "store", "--name", &lab.0, "start"]),
        "start etcd",
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    while ["n1", "n2"]
        .iter()
        .any(|n| lab.agent_status(n)["datastoreOk"] != true)
    {
        assert!(
            Instant::now() < deadline,
            "agents did not reconnect: {:?}",
            (lab.agent_status("n1"), lab.agent_status("n2"))
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let report = finish(stream);
    eprintln!(
        "etcd down 60 s: both agents used {cpu:.2} CPU-seconds in that minute; {}",
        report.trim()
    );
    assert!(
        cpu < 3.0,
        "agents used {cpu:.2} CPU-seconds while the datastore was down"
    );
    ok(
        &podnet(&["lab", "check", "--name", &lab.0]),
        "lab check after the outage",
    );
}

/// Namespaces whose name starts with `prefix` (a failing `ip netns list` panics).
fn namespaces(prefix: &str) -> Vec<String> {
    common::netns_with_prefix(prefix)
}

/// A process's command name ("" once it is gone or a zombie).
fn comm(pid: u32) -> String {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')').next().unwrap().trim_start().starts_with('Z')
    });
    if zombie {
        return String::new();
    }
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Signals `child` and returns its stderr and whether it exited successfully.
fn interrupt(mut child: Child, sig: nix::sys::signal::Signal) -> (String, bool) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, sig).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "podnet still running 60 s after {sig}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn interrupted_lab_up_leaves_nothing_behind() {
    common::require_root();
    let name = Lab::name("int");
    let _cleanup = Lab(name.clone());
    let child = std::process::Command::new(common::PLUGIN)
        .args(["lab", "up", "--name", &name, "--nodes", "4"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until two agents run: the lab is half built (namespaces, store, processes).
    let state = format!("/run/podnet/labs/{name}/state.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    let pids: Vec<u32> = loop {
        assert!(Instant::now() < deadline, "no agents after 60 s");
        let procs: Vec<serde_json::Value> = std::fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["procs"].as_array().cloned())
            .unwrap_or_default();
        let agents = procs
            .iter()
            .filter(|p| p["what"].as_str().is_some_and(|w| w.starts_with("agent")))
            .count();
        if agents >= 2 {
            break procs
                .iter()
                .map(|p| p["pid"].as_u64().unwrap() as u32)
                .collect();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let prefix = format!("pnlab-{name}-");
    assert!(!namespaces(&prefix).is_empty());
    let (log, success) = interrupt(child, nix::sys::signal::Signal::SIGTERM);
    assert!(!success, "lab up succeeded despite SIGTERM: {log}");
    assert!(log.contains("interrupted by SIGTERM"), "{log}");
    assert!(log.contains("everything it created was removed"), "{log}");
    assert_eq!(namespaces(&prefix), Vec::<String>::new(), "{log}");
    let alive: Vec<u32> = pids.into_iter().filter(|&p| comm(p) == "podnet").collect();
    assert!(
        alive.is_empty(),
        "processes of the lab still run: {alive:?}"
    );
    assert!(!std::path::Path::new(&state).exists(), "state file left");
}

#[test]
fn interrupted_bench_leaves_nothing_behind() {
    use std::io::BufRead;
    common::require_root();
    let mut child = std::process::Command::new(common::PLUGIN)
        .args([
            "bench",
            "backends",
            "--only",
            "node→node (underlay)",
            "--runs",
            "1000",
            "--seconds",
            "1",
            "--streams",
            "1",
            "--rr-seconds",
            "0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read until the first measurement is out: the lab and its iperf3 servers are up.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    while !log.contains("round 1 ") {
        assert!(
            stderr.read_line(&mut log).unwrap() > 0,
            "bench ended: {log}"
        );
    }
    // Everything running in the bench's namespaces (agents, iperf3 and podnet servers).
    let procs: Vec<(u32, String)> = namespaces("pnlab-bench-")
        .iter()
        .flat_map(|ns| {
            let out = std::process::Command::new("ip")
                .args(["netns", "pids", ns])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.trim().parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .map(|p| (p, comm(p)))
        .collect();
    assert!(
        procs.iter().any(|(_, c)| c == "iperf3") && procs.iter().any(|(_, c)| c == "podnet"),
        "{procs:?}"
    );
    // Ctrl-C as a terminal sends it, but to podnet alone: the running iperf3 client finishes
    // and podnet must stop at its next step on its own.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    let status = child.wait().unwrap();
    log.push_str(&reader.join().unwrap());
    assert!(!status.success(), "bench succeeded despite SIGINT: {log}");
    assert!(log.contains("interrupted by SIGINT"), "{log}");
    assert_eq!(namespaces("pnlab-bench-"), Vec::<String>::new(), "{log}");
    let left: Vec<&(u32, String)> = procs.iter().filter(|(p, c)| comm(*p) == *c).collect();
    assert!(
        left.is_empty(),
        "processes of the bench still run: {left:?}"
    );
}
