//! Store behaviour: idempotent allocation, exhaustion, GC, reboot reclaim, concurrent writers.

use super::*;

fn subnet() -> (Ipv4Net, Ipv4Addr) {
    (
        "10.244.1.0/29".parse().unwrap(),
        "10.244.1.1".parse().unwrap(),
    )
}

#[test]
fn allocate_is_idempotent_and_release_frees() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let (net, gw) = subnet();
    let (a, fresh) = s.allocate("n", net, gw, "c1", "eth0", "{}").unwrap();
    assert!(fresh);
    let (b, fresh) = s.allocate("n", net, gw, "c1", "eth0", "{}").unwrap();
    assert!(!fresh);
    assert_eq!(a.ip, b.ip);
    assert_eq!(
        s.release("n", "c1", "eth0").unwrap().map(|a| a.ip),
        Some(a.ip)
    );
    assert_eq!(s.release("n", "c1", "eth0").unwrap(), None);
    assert!(s.list("n").unwrap().is_empty());
}

#[test]
fn exhaustion_is_a_clean_transient_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let (net, gw) = subnet();
    // /29: 6 hosts, minus the gateway = 5.
    for i in 0..5 {
        s.allocate("n", net, gw, &format!("c{i}"), "eth0", "{}")
            .unwrap();
    }
    let e = s.allocate("n", net, gw, "c9", "eth0", "{}").unwrap_err();
    assert!(e.is_transient());
    assert!(
        e.to_string().contains("no free address in 10.244.1.0/29"),
        "{e}"
    );
    assert_eq!(s.list("n").unwrap().len(), 5);
}

#[test]
fn networks_are_separate() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let (net, gw) = subnet();
    let (a, _) = s.allocate("a", net, gw, "c1", "eth0", "{}").unwrap();
    let (b, _) = s.allocate("b", net, gw, "c1", "eth0", "{}").unwrap();
    assert_eq!(a.ip, b.ip);
}

#[test]
fn reboot_reclaims_old_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let (net, gw) = subnet();
    assert_eq!(s.reclaim_after_reboot("boot-a").unwrap(), 0);
    s.allocate("n", net, gw, "c1", "eth0", "{}").unwrap();
    assert_eq!(s.reclaim_after_reboot("boot-a").unwrap(), 0);
    assert_eq!(s.reclaim_after_reboot("boot-b").unwrap(), 1);
    assert!(s.list("n").unwrap().is_empty());
}

#[test]
fn concurrent_processes_never_duplicate() {
    // Threads with their own connections contend exactly as plugin processes do.
    let dir = tempfile::tempdir().unwrap();
    let net: Ipv4Net = "10.244.1.0/24".parse().unwrap();
    let gw: Ipv4Addr = "10.244.1.1".parse().unwrap();
    Store::open(dir.path()).unwrap();
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let d = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let mut s = Store::open(&d).unwrap();
                (0..10)
                    .map(|i| {
                        s.allocate("n", net, gw, &format!("t{t}-{i}"), "eth0", "{}")
                            .unwrap()
                            .0
                            .ip
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: Vec<Ipv4Addr> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 160);
    assert_eq!(distinct.len(), 160);
}

#[test]
fn many_processes_opening_a_new_store_at_once() {
    // The first plugins on a node all find no database and initialise it together.
    for _ in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(48));
        let handles: Vec<_> = (0..48)
            .map(|i| {
                let (p, b) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    let mut s = Store::open(&p).map_err(|e| e.to_string())?;
                    let (net, gw) = (
                        "10.244.1.0/24".parse().unwrap(),
                        "10.244.1.1".parse().unwrap(),
                    );
                    s.allocate("n", net, gw, &format!("c{i}"), "eth0", "{}")
                        .map_err(|e| e.to_string())?;
                    Ok::<_, String>(())
                })
            })
            .collect();
        let errors: Vec<String> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect();
        assert_eq!(errors, Vec::<String>::new());
    }
}
