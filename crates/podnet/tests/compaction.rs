//! An agent whose watch falls behind the datastore's kept history relists exactly once and goes
//! on converging — on the embedded store (more than its 10,000 kept events written while the
//! agent is stopped) and on a real etcd (`etcdctl compact` while the agent's watch is broken).
//! Counted: the agent's lists and compactions (status.json) and its CPU seconds afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::cpu_seconds;
use common::lab::{ok, podnet, Lab};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

fn informer(lab: &Lab, node: &str) -> Value {
    lab.agent_status(node)["controllers"]["leases"]["informer"].clone()
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// After the agent on n1 resumed behind a compaction: one relist, then quiet and converged.
fn relisted_once_and_quiet(lab: &Lab, pid: u32, lists_before: u64) {
    wait_for("n1 notices the compaction", Duration::from_secs(30), || {
        informer(lab, "n1")["compactions"].as_u64() >= Some(1)
    });
    let cpu0 = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(10));
    let cpu = cpu_seconds(pid) - cpu0;
    let inf = informer(lab, "n1");
    eprintln!("n1 after the compaction: {inf}; {cpu:.2} CPU-seconds in the next 10 s");
    assert_eq!(inf["compactions"], 1, "{inf}");
    assert_eq!(
        inf["lists"].as_u64(),
        Some(lists_before + 1),
        "exactly one relist: {inf}"
    );
    assert!(
        cpu < 1.0,
        "{cpu:.2} CPU-seconds in 10 s: the agent is looping"
    );
    assert_eq!(lab.agent_status("n1")["datastoreOk"], true);
    ok(&lab.check(), "lab check after the compaction");
}

#[test]
fn embedded_store_compaction_relists_once() {
    let lab = Lab::up("cpe", &["--nodes", "2", "--pods-per-node", "1"]);
    wait_for("n1 status", Duration::from_secs(20), || {
        informer(&lab, "n1")["lists"].as_u64() >= Some(1)
    });
    let lists = informer(&lab, "n1")["lists"].as_u64().unwrap();
    let pid = lab.pid("agent n1");
    kill(Pid::from_raw(pid as i32), Signal::SIGSTOP).unwrap();
    // More than the store keeps, outside the leases' prefix: the agent sees none of them, but its
    // watch position falls out of the log.
    let path = format!("/run/podnet/labs/{}/store.db", lab.0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wrote = rt.block_on(async {
        let s = podnet_store::embedded::EmbeddedStore::open(std::path::Path::new(&path)).unwrap();
        let n = podnet_store::embedded::EVENT_LOG_KEEP + 500;
        s.put_many(
            (0..n)
                .map(|i| (format!("/podnet/test-junk/{i}"), "x".to_string()))
                .collect(),
        )
        .await
        .unwrap()
    });
    kill(Pid::from_raw(pid as i32), Signal::SIGCONT).unwrap();
    eprintln!("wrote up to revision {wrote} while n1's agent was stopped");
    relisted_once_and_quiet(&lab, pid, lists);
    // n2 ran on, but one transaction of 10,500 writes overtook its watch too: at most one
    // relist there as well.
    let n2 = informer(&lab, "n2");
    assert!(n2["compactions"].as_u64() <= Some(1), "{n2}");
    assert_eq!(
        n2["lists"].as_u64(),
        n2["compactions"].as_u64().map(|c| c + 1),
        "{n2}"
    );
}

/// `etcdctl` inside the lab's control-plane namespace.
fn etcdctl(lab: &Lab, args: &[&str]) -> String {
    let ns = format!("pnlab-{}-cp", lab.0);
    let out = podnet_netns::command(&ns, &["etcdctl", "--endpoints", "http://198.18.0.2:2379"])
        .args(args)
        .env("ETCDCTL_API", "3")
        .output()
        .expect("run etcdctl (Debian etcd-client)");
    ok(&out, &format!("etcdctl {args:?}"))
}

#[test]
fn etcd_compaction_relists_once() {
    let lab = Lab::up(
        "cpx",
        &["--nodes", "2", "--pods-per-node", "1", "--store", "etcd"],
    );
    wait_for("n1 status", Duration::from_secs(20), || {
        informer(&lab, "n1")["lists"].as_u64() >= Some(1)
    });
    let lists = informer(&lab, "n1")["lists"].as_u64().unwrap();
    let pid = lab.pid("agent n1");
    kill(Pid::from_raw(pid as i32), Signal::SIGSTOP).unwrap();
    // Break n1's watch stream (etcd restarts), then write and compact the history past n1.
    ok(
        &podnet(&["lab", "store", "--name", &lab.0, "stop"]),
        "stop etcd",
    );
    ok(
        &podnet(&["lab", "store", "--name", &lab.0, "start"]),
        "start etcd",
    );
    wait_for("etcd answers", Duration::from_secs(20), || {
        podnet_netns::command(
            &format!("pnlab-{}-cp", lab.0),
            &[
                "etcdctl",
                "--endpoints",
                "http://198.18.0.2:2379",
                "endpoint",
                "health",
            ],
        )
        .env("ETCDCTL_API", "3")
        .output()
        .is_ok_and(|o| o.status.success())
    });
    for i in 0..20 {
        etcdctl(&lab, &["put", &format!("/podnet/test-junk/{i}"), "x"]);
    }
    let status = etcdctl(&lab, &["endpoint", "status", "-w", "json"]);
    let v: Value = serde_json::from_str(status.trim()).unwrap();
    let rev = v[0]["Status"]["header"]["revision"].as_i64().unwrap();
    etcdctl(&lab, &["compact", &rev.to_string()]);
    kill(Pid::from_raw(pid as i32), Signal::SIGCONT).unwrap();
    relisted_once_and_quiet(&lab, pid, lists);
}
