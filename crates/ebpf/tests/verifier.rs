//! The kernel's verifier accepts both programs (loading needs root: CAP_BPF and CAP_NET_ADMIN;
//! nothing is attached, so nothing on the host's network changes; the shared map's pin is
//! removed at the end).

use podnet_ebpf::{load, Hook};
use podnet_netspec::FastPath;

#[test]
fn the_verifier_accepts_both_programs() {
    assert!(
        is_root(),
        "loading eBPF programs needs root; run the suite as root"
    );
    let fp = FastPath {
        cluster: "10.244.0.0/16".parse().expect("cidr"),
        local: "10.244.7.0/24".parse().expect("cidr"),
    };
    for hook in [
        Hook::FromPod {
            pod: "10.244.7.2".parse().expect("addr"),
        },
        Hook::FromUplink,
    ] {
        if let Err(e) = load(hook, &fp) {
            panic!("{}: {e:?}", hook.program());
        }
    }
    // Both loads shared one pinned map (the second found the first's pin).
    let pins = podnet_ebpf::pin_dir().expect("pin dir");
    assert!(
        pins.join("service_flows").exists(),
        "no pinned service_flows in {}",
        pins.display()
    );
    let inode = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata("/proc/thread-self/ns/net").expect("netns"),
    );
    podnet_ebpf::unpin(inode);
    assert!(!pins.exists(), "{} left behind", pins.display());
}

/// Root without a libc dependency: /proc/self/status names the effective uid.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}
