//! The pure crates stay pure: none of them may reach, through its normal (non-dev, non-build)
//! dependencies, a crate that does I/O on podnet's behalf — an async runtime, netlink, a
//! datastore client, SQLite, eBPF, raw system calls — or one of podnet's effect crates. This is
//! what lets the planners be unit-tested without privileges and keeps an effect from creeping
//! into a planner through a convenient import.
//!
//! It asks `cargo tree -e normal` (offline: the lock file is already resolved when the tests
//! run) for each pure crate's dependency tree and fails naming the crate and the chain from it
//! to each forbidden dependency.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crates that must stay pure. Add a crate here when it becomes pure.
const PURE: &[&str] = &[
    "podnet-cni",
    "podnet-dns",
    "podnet-model",
    "podnet-netspec",
    "podnet-nft-model",
    "podnet-proxy",
    "podnet-udp",
];

/// Crates a pure crate must not depend on, directly or not, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("tokio", "async runtime"),
    ("mio", "async I/O"),
    ("rtnetlink", "netlink"),
    ("netlink-sys", "netlink sockets"),
    ("netlink-proto", "netlink"),
    ("netlink-packet-route", "netlink messages"),
    ("netlink-packet-core", "netlink messages"),
    ("etcd-client", "datastore client"),
    ("rusqlite", "SQLite"),
    ("libsqlite3-sys", "SQLite"),
    ("aya", "eBPF loader"),
    ("aya-obj", "eBPF objects"),
    ("nix", "system calls"),
    ("libc", "system calls"),
    ("socket2", "sockets"),
    ("tun-rs", "TUN devices"),
    ("quinn-udp", "UDP sockets"),
    ("signal-hook", "signal handlers"),
    ("podnet-netlink", "podnet's kernel effects"),
    ("podnet-nft", "podnet's nftables effects"),
    ("podnet-ebpf", "podnet's eBPF loader"),
    ("podnet-ipam", "podnet's IPAM store"),
    ("podnet-store", "podnet's datastores"),
    ("podnet-plugin", "the CNI plugin (effects)"),
    ("podnet-agent", "the node agent (effects)"),
    ("podnet-api", "the API server over a datastore"),
    ("podnet-netns", "podnet's namespace and process helpers"),
    ("podnet-kubectl", "kubectl's verbs on a datastore"),
    ("podnet-lab", "the lab (namespaces, processes)"),
    ("podnet-bench", "the benchmarks"),
    ("podnet", "the binary"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/model sits two levels below the workspace root")
        .to_path_buf()
}

/// One line of `cargo tree --prefix depth --format {p}`: its depth and package name.
fn parse_line(line: &str) -> Option<(usize, &str)> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let depth = line[..digits].parse().ok()?;
    let name = line[digits..].split_whitespace().next()?;
    Some((depth, name))
}

fn forbidden(name: &str) -> Option<&'static str> {
    FORBIDDEN
        .iter()
        .find(|(f, _)| *f == name)
        .map(|(_, why)| *why)
}

/// Every path from the root of `tree` (cargo tree output, depth-prefixed) to a forbidden
/// package, as `a -> b -> c`; what a forbidden package pulls in itself is not repeated.
fn offending_chains(tree: &str) -> Vec<String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut chains = Vec::new();
    for (depth, name) in tree.lines().filter_map(parse_line) {
        stack.truncate(depth);
        let below_forbidden = stack.iter().skip(1).any(|n| forbidden(n).is_some());
        stack.push(name);
        match forbidden(name) {
            Some(why) if depth > 0 && !below_forbidden => {
                chains.push(format!("{} ({why})", stack.join(" -> ")));
            }
            _ => {}
        }
    }
    chains
}

/// Chains to a forbidden crate that are known and harmless, and why. Each is the end of the
/// chain as the checker prints it.
const ALLOWED: &[(&str, &str)] = &[(
    "hickory-proto -> rand -> getrandom -> libc (system calls)",
    "hickory-proto's `std` feature turns on rand's thread_rng, which reads the kernel's entropy \
     when drawn; podnet-dns never draws (query ids come from the server shell, podnet-dnsd), and \
     without `std` hickory-proto does not link",
)];

fn tree_of(krate: &str) -> String {
    let out = Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args(["tree", "--offline", "-e", "normal", "--prefix", "depth"])
        .args(["--format", "{p}", "-p", krate])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {krate} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

#[test]
fn pure_crates_depend_on_no_effects() {
    let mut failures = Vec::new();
    for krate in PURE {
        let tree = tree_of(krate);
        // A misspelt or renamed crate must not pass by printing nothing.
        assert_eq!(
            tree.lines().next().and_then(parse_line).map(|(_, n)| n),
            Some(*krate),
            "cargo tree -p {krate} printed:\n{tree}"
        );
        for chain in offending_chains(&tree) {
            if ALLOWED.iter().any(|(c, _)| chain.ends_with(c)) {
                continue;
            }
            failures.push(format!("{krate} is not pure: {chain}"));
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

#[test]
fn the_checker_finds_a_forbidden_crate_at_any_depth() {
    let tree = "0podnet-x v0.1.0 (/w/crates/x)\n\
                1ipnet v2.12.2\n\
                1podnet-y v0.1.0 (/w/crates/y)\n\
                2serde v1.0.229\n\
                2tokio v1.48.0\n\
                3mio v1.1.0\n\
                1thiserror v2.0.21\n\
                1nix v0.31.0\n";
    assert_eq!(
        offending_chains(tree),
        vec![
            "podnet-x -> podnet-y -> tokio (async runtime)",
            "podnet-x -> nix (system calls)",
        ]
    );
    assert!(offending_chains("0podnet-x v0.1.0\n1ipnet v2.12.2\n").is_empty());
}
