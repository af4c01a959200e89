//! Faults on a running lab: agents restarted 20 times under a live cross-node TCP stream (the
//! stream never breaks; routes, neighbours, FDB and nftables are identical afterwards), and the
//! datastore (a real etcd) stopped for a minute (pods keep talking, agents stay cheap, and they
//! converge again once it is back).
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::PLUGIN;

fn podnet(args: &[&str]) -> Output {
    Command::new(PLUGIN).args(args).output().unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

struct Lab(String);

impl Lab {
    fn up(tag: &str, extra: &[&str]) -> Lab {
        common::require_root();
        let name = format!("t{}{tag}", std::process::id() % 100_000);
        let lab = Lab(name.clone());
        let mut args = vec![
            "lab",
            "up",
            "--name",
            &name,
            "--nodes",
            "2",
            "--pods-per-node",
            "1",
        ];
        args.extend_from_slice(extra);
        ok(&podnet(&args), "lab up");
        lab
    }

    fn state(&self) -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(format!("/run/podnet/labs/{}/state.json", self.0)).unwrap(),
        )
        .unwrap()
    }

    fn pod_ip(&self, pod: &str) -> String {
        let st = self.state();
        let p = st["pods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == pod)
            .unwrap();
        p["ip"].as_str().unwrap().to_string()
    }

    fn pid(&self, what: &str) -> u32 {
        let st = self.state();
        st["procs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["what"] == what)
            .unwrap()["pid"]
            .as_u64()
            .unwrap() as u32
    }

    /// `podnet stream` from pod n1-a to pod n2-a for `secs`.
    fn stream(&self, secs: u64) -> Child {
        let to = format!("{}:9000", self.pod_ip("n2-a"));
        Command::new(PLUGIN)
            .args([
                "lab",
                "exec",
                "--name",
                &self.0,
                "n1-a",
                "--",
                PLUGIN,
                "stream",
                "--to",
                &to,
                "--seconds",
                &secs.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The node's datapath as text: routes, VXLAN neighbours and FDB, nftables (no counters).
    fn datapath(&self, node: &str) -> String {
        let script = "ip -4 route show table all; ip neigh show dev podnet.1 nud permanent; bridge fdb show dev podnet.1; nft -s list ruleset";
        ok(
            &podnet(&[
                "lab", "exec", "--name", &self.0, node, "--", "sh", "-c", script,
            ]),
            "datapath snapshot",
        )
    }

    fn agent_status(&self, node: &str) -> serde_json::Value {
        let p = format!("/run/podnet/labs/{}/{node}/agent/status.json", self.0);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = podnet(&["lab", "down", "--name", &self.0]);
    }
}

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

#[test]
fn twenty_agent_restarts_break_no_connection() {
    let lab = Lab::up("r", &[]);
    let stream = lab.stream(25);
    std::thread::sleep(Duration::from_secs(1));
    let before = (lab.datapath("n1"), lab.datapath("n2"));
    for i in 0..20 {
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
    eprintln!(
        "20 agent restarts (10 SIGTERM, 10 SIGKILL): {}",
        report.trim()
    );
    ok(
        &podnet(&["lab", "check", "--name", &lab.0]),
        "lab check after restarts",
    );
}

#[test]
fn datastore_down_for_a_minute() {
    let lab = Lab::up("o", &["--store", "etcd"]);
    let stream = lab.stream(75);
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
