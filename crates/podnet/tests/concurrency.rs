//! Many plugin processes at once on one node: 100 concurrent ADDs get 100 distinct addresses and
//! 100 DELs leave nothing; a storm of mixed ADD/DEL from 64 workers never hands out a duplicate.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use common::Node;

fn ip_of(v: &serde_json::Value) -> String {
    v["ips"][0]["address"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn hundred_concurrent_adds_then_dels() {
    let node = Arc::new(Node::new("conc"));
    let conf = Arc::new(node.conf(""));
    let pods: Vec<String> = (0..100).map(|i| node.pod(&format!("p{i}"))).collect();
    let run_all = |cmd: &'static str| {
        let handles: Vec<_> = pods
            .iter()
            .enumerate()
            .map(|(i, pod)| {
                let (node, conf, pod) = (node.clone(), conf.clone(), pod.clone());
                std::thread::spawn(move || node.cni(cmd, &format!("c{i}"), &pod, &conf))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    };
    let adds = run_all("ADD");
    let failed: Vec<_> = adds.iter().filter(|(c, _)| *c != 0).collect();
    assert!(
        failed.is_empty(),
        "{} ADDs failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    let ips: HashSet<String> = adds.iter().map(|(_, v)| ip_of(v)).collect();
    assert_eq!(ips.len(), 100, "duplicate addresses handed out");
    assert_eq!(node.allocations().len(), 100);
    assert_eq!(node.veths().len(), 100);

    let dels = run_all("DEL");
    assert!(dels.iter().all(|(c, _)| *c == 0), "a DEL failed: {dels:?}");
    node.assert_clean("after 100 concurrent DELs");
}

#[test]
fn storm_of_mixed_add_del_never_duplicates() {
    const WORKERS: usize = 64;
    const ROUNDS: usize = 16; // 64 workers x 16 rounds x (ADD + DEL) = 2048 operations
    let node = Arc::new(Node::new("storm"));
    let conf = Arc::new(node.conf(""));
    let held: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let dups: Arc<Mutex<Vec<String>>> = Arc::default();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let pods: Vec<String> = (0..WORKERS).map(|w| node.pod(&format!("w{w}"))).collect();
    let handles: Vec<_> = pods
        .into_iter()
        .enumerate()
        .map(|(w, pod)| {
            let (node, conf, held, dups, errors) = (
                node.clone(),
                conf.clone(),
                held.clone(),
                dups.clone(),
                errors.clone(),
            );
            std::thread::spawn(move || {
                for r in 0..ROUNDS {
                    let cid = format!("w{w}r{r}");
                    let (code, v) = node.cni("ADD", &cid, &pod, &conf);
                    if code != 0 {
                        errors.lock().unwrap().push(format!("ADD {cid}: {v}"));
                        continue;
                    }
                    let ip = ip_of(&v);
                    if let Some(other) = held.lock().unwrap().insert(ip.clone(), w) {
                        dups.lock()
                            .unwrap()
                            .push(format!("{ip} held by worker {other} and {w}"));
                    }
                    // Release our claim before DEL starts: the address may be reused once DEL ends.
                    held.lock().unwrap().remove(&ip);
                    let (code, v) = node.cni("DEL", &cid, &pod, &conf);
                    if code != 0 {
                        errors.lock().unwrap().push(format!("DEL {cid}: {v}"));
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        *dups.lock().unwrap(),
        Vec::<String>::new(),
        "duplicate addresses"
    );
    assert_eq!(
        *errors.lock().unwrap(),
        Vec::<String>::new(),
        "failed operations"
    );
    node.assert_clean("after the storm");
    // 2,048 plugin processes later the store's WAL is still bounded (it slows every plugin start).
    let wal = std::fs::metadata(node.data_dir().join("ipam.sqlite3-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(
        wal <= 2 * podnet_ipam::store::WAL_CHECKPOINT_BYTES,
        "IPAM WAL grew to {wal} bytes"
    );
}
