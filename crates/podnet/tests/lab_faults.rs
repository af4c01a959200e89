//! Faults on a running lab: agents restarted 20 times under a live cross-node TCP stream (the
//! stream never breaks; routes, neighbours, FDB and nftables are identical afterwards), and the
//! datastore (a real etcd) stopped for a minute (pods keep talking, agents stay cheap, and they
//! converge again once it is back).
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Child;
use std::time::{Duration, Instant};

use common::lab::{ok, podnet, Lab};

fn finish(stream: Child) -> String {
    let out = stream.wait_with_output().unwrap();
    ok(&out, "the TCP stream")
}

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: u32) -> f64 {
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
