//! Kernel tests of the helpers (tier 3): they need root and make only namespaces named
//! `pnt<pid>-netns-*`, each removed by its guard; the host namespace is only read (its inode).
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use podnet_netns::{in_netns, list_with_prefix, ns_path, run, NetnsError, NetnsGuard};

/// Fails loudly (never skips) without root, as the other kernel tests do.
fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "kernel tests need root (network namespaces); run the suite as root"
    );
}

/// A prefix no other test process uses.
fn prefix(tag: &str) -> String {
    format!("pnt{}-netns-{tag}", std::process::id())
}

/// The interface names in a `/proc/net/dev` text (two header lines, then `NAME: counters`).
fn interfaces(dev: &str) -> Vec<String> {
    dev.lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|n| n.trim().to_string())
        .collect()
}

/// The nsfs inode of a namespace file.
fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn in_netns_runs_in_a_fresh_namespace_that_goes_with_its_guard() {
    require_root();
    let prefix = prefix("fresh");
    let name = format!("{prefix}-a");
    let here = inode(Path::new("/proc/thread-self/ns/net"));
    let g = NetnsGuard::new(&name).unwrap();
    assert_eq!(list_with_prefix(&prefix), std::slice::from_ref(&name));

    let (ns_inode, devs, echo) = in_netns(&g.path(), || {
        // /proc/self is the main thread's; this thread's own namespace is thread-self's.
        let dev = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
        // lo is up: a connection to itself goes through.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        c.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        l.accept().unwrap().0.read_exact(&mut buf).unwrap();
        (
            inode(Path::new("/proc/thread-self/ns/net")),
            interfaces(&dev),
            buf,
        )
    })
    .unwrap();
    assert_eq!(devs, ["lo"], "a new namespace has only lo");
    assert_eq!(&echo, b"ping");
    assert_eq!(
        ns_inode,
        inode(&g.path()),
        "the closure ran in the guard's namespace"
    );
    assert_ne!(ns_inode, here);
    assert_eq!(
        inode(Path::new("/proc/thread-self/ns/net")),
        here,
        "the calling thread did not move"
    );

    drop(g);
    assert!(!ns_path(&name).exists(), "{name} outlived its guard");
    assert!(list_with_prefix(&prefix).is_empty());
}

#[test]
fn dropping_the_guard_stops_what_runs_inside() {
    require_root();
    let g = NetnsGuard::new(&format!("{}-a", prefix("procs"))).unwrap();
    let mut child = g.command(&["sleep", "60"]).spawn().unwrap();
    // Wait until nsenter has become sleep inside the namespace.
    let target = inode(&g.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::metadata(format!("/proc/{}/ns/net", child.id()))
        .map(|m| m.ino())
        .ok()
        != Some(target)
    {
        assert!(std::time::Instant::now() < deadline, "sleep never entered");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let started = std::time::Instant::now();
    drop(g);
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "sleep was stopped, not finished: {status}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn failures_name_the_command_and_the_namespace() {
    require_root();
    let name = format!("{}-a", prefix("fail"));
    let g = NetnsGuard::new(&name).unwrap();
    match run(&name, &["ip", "link", "show", "dev", "pnx0"]) {
        Err(NetnsError::Failed { argv, ns, stderr }) => {
            assert_eq!(argv, "ip link show dev pnx0");
            assert_eq!(ns, name);
            assert!(stderr.contains("pnx0"), "{stderr}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // A panic inside is an error, not a crash of the caller.
    match in_netns(&g.path(), || panic!("probe failed")) {
        Err(NetnsError::Panicked { message, .. }) => assert_eq!(message, "probe failed"),
        other => panic!("expected a panic error, got {other:?}"),
    }
    // add_ns reuses an existing namespace (lo stays up).
    podnet_netns::add_ns(&name).unwrap();
    assert!(g
        .run(&["ip", "-br", "link", "show", "lo"])
        .unwrap()
        .contains("UP"));
}
