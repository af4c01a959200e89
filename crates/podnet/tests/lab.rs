//! Tier 4: real labs. The default lab comes up, checks green and goes away leaving the host
//! namespace byte-identical; both backends pass on one segment; across two segments joined by a
//! router vxlan passes and host-gw names the unreachable peers; the etcd store works; two labs
//! coexist.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::lab::{ok, podnet, Lab};
use common::PLUGIN;

/// The host namespace's links, addresses, routes, ruleset and ip_forward; a command that fails
/// panics (an empty "before" would otherwise equal an empty "after").
fn host_snapshot() -> String {
    let mut s = String::new();
    for argv in [
        vec!["ip", "-j", "link", "show"],
        vec!["ip", "-j", "addr", "show"],
        vec!["ip", "-j", "route", "show", "table", "all"],
        vec!["nft", "list", "ruleset"],
        vec!["cat", "/proc/sys/net/ipv4/ip_forward"],
    ] {
        s.push_str(&common::run_ok(&argv));
    }
    s
}

#[test]
fn default_lab_is_green_and_leaves_the_host_untouched() {
    let before = host_snapshot();
    let lab = Lab::up("d", &[]);
    let text = ok(&lab.check(), "lab check");
    assert!(text.contains("102 passed, 0 failed"), "{text}");
    let status = ok(&podnet(&["lab", "status", "--name", &lab.0]), "lab status");
    assert!(
        status.contains("n3") && status.contains("10.244."),
        "{status}"
    );
    // exec runs inside a pod.
    let exec = ok(
        &podnet(&[
            "lab", "exec", "--name", &lab.0, "n1-a", "--", "ip", "-br", "addr", "show", "eth0",
        ]),
        "lab exec",
    );
    assert!(exec.contains("10.244."), "{exec}");
    // --json: every probe, machine-readable, each with the address the receiver saw.
    let json = ok(
        &podnet(&["lab", "check", "--name", &lab.0, "--json"]),
        "lab check --json",
    );
    let probes: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(probes.len(), 102);
    assert!(
        probes
            .iter()
            .all(|p| p["ok"] == true && p["seen"].is_string()),
        "{json}"
    );
    // The underlay's neighbours are pinned (the kernel's neighbour table is shared by every
    // namespace and capped by the host's gc_thresh3; docs/lab.md): n1 knows n3 and the router
    // as permanent entries with their fixed MACs, before and without any ARP.
    let neigh = ok(
        &podnet(&[
            "lab", "exec", "--name", &lab.0, "n1", "--", "ip", "neigh", "show", "dev", "eth0",
        ]),
        "ip neigh on n1",
    );
    for want in [
        "198.18.0.13 lladdr 02:50:c6:12:00:0d PERMANENT",
        "198.18.0.1 lladdr 02:50:c6:12:00:01 PERMANENT",
    ] {
        assert!(
            neigh.contains(want),
            "{want:?} not in n1's neighbours:\n{neigh}"
        );
    }
    // VXLAN from outside the cluster is dropped (and counted) before decapsulation.
    let inet = format!("pnlab-{}-inet", lab.0);
    let _ = podnet_netns::command(
        &inet,
        &[
            PLUGIN,
            "udp-probe",
            "--to",
            "198.18.0.11:8472",
            "--timeout-ms",
            "300",
        ],
    )
    .output();
    let nft_n1 = |argv: &[&str]| {
        let mut args = vec!["lab", "exec", "--name", &lab.0, "n1", "--", "nft"];
        args.extend_from_slice(argv);
        podnet(&args)
    };
    let counter = || {
        ok(
            &nft_n1(&["list", "counter", "inet", "podnet_agent", "foreign_vxlan"]),
            "nft list counter",
        )
    };
    assert!(counter().contains("packets 1 "), "{}", counter());
    // Drift repair, within a resync (5 s in the lab): a peer deleted from the guard's set comes
    // back, and re-applying the guard keeps its counter; the whole table deleted comes back.
    let within_15s = |what: &str, done: &dyn Fn() -> bool| {
        let back = (0..150).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            done()
        });
        assert!(back, "{what} not restored within 15 s");
    };
    let has_peer = || {
        ok(
            &nft_n1(&["list", "set", "inet", "podnet_agent", "nodes"]),
            "nft list set",
        )
        .contains("198.18.0.12")
    };
    assert!(has_peer());
    ok(
        &nft_n1(&[
            "delete",
            "element",
            "inet",
            "podnet_agent",
            "nodes",
            "{ 198.18.0.12 }",
        ]),
        "nft delete element",
    );
    assert!(!has_peer());
    within_15s("the peer in the guard's set", &has_peer);
    assert!(
        counter().contains("packets 1 "),
        "counter lost: {}",
        counter()
    );
    ok(
        &nft_n1(&["delete", "table", "inet", "podnet_agent"]),
        "nft delete table",
    );
    within_15s("the VXLAN guard", &|| {
        nft_n1(&["list", "chain", "inet", "podnet_agent", "vxlan_guard"])
            .status
            .success()
    });
    let guard = ok(
        &nft_n1(&["list", "table", "inet", "podnet_agent"]),
        "nft list table",
    );
    assert!(
        guard.contains("udp dport 8472 ip saddr != @nodes counter name \"foreign_vxlan\" drop")
            && guard.contains("198.18.0.12"),
        "{guard}"
    );
    // A daemon the lab did not start (as a learner would: `lab exec … -- iperf3 -s -D`) goes
    // with it too, instead of keeping the pod's namespace alive.
    ok(
        &podnet(&[
            "lab", "exec", "--name", &lab.0, "n1-a", "--", "iperf3", "-s", "-D", "-p", "5998",
        ]),
        "iperf3 -D in a pod",
    );
    let pids = Command::new("ip")
        .args(["netns", "pids", &format!("pnlab-{}-n1-a", lab.0)])
        .output()
        .unwrap();
    let daemon: Vec<u32> = String::from_utf8_lossy(&pids.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "iperf3")
        })
        .collect();
    assert_eq!(daemon.len(), 1, "{daemon:?}");
    ok(&podnet(&["lab", "down", "--name", &lab.0]), "lab down");
    assert_eq!(
        common::netns_with_prefix(&format!("pnlab-{}-", lab.0)),
        Vec::<String>::new()
    );
    // Gone, or a zombie waiting for init to reap it.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", daemon[0])).unwrap_or_default();
    let running = stat.contains("(iperf3)")
        && !stat
            .rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('Z');
    assert!(!running, "lab down left the pod's iperf3 running: {stat}");
    assert_eq!(host_snapshot(), before, "the host namespace changed");
}

#[test]
fn host_gw_passes_on_one_segment() {
    let lab = Lab::up("h", &["--backend", "host-gw", "--pods-per-node", "1"]);
    let text = ok(&lab.check(), "lab check");
    assert!(text.contains("33 passed, 0 failed"), "{text}");
}

/// Routed pods (no bridge) under host-gw: the whole matrix, no podnet0 anywhere, and the node
/// routes each pod as a /32 with the subnet unreachable behind it.
#[test]
fn host_gw_with_routed_pods() {
    let lab = Lab::up(
        "hr",
        &[
            "--backend",
            "host-gw",
            "--nodes",
            "2",
            "--pod-path",
            "routed",
        ],
    );
    let text = ok(&lab.check(), "lab check");
    assert!(text.contains(" 0 failed"), "{text}");
    assert!(!text.contains(" 0 passed"), "{text}");
    let routes = ok(&lab.exec("n1", &["ip", "route"]), "ip route on n1");
    let pod = lab.pod_ip("n1-a");
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with(&format!("{pod} dev pn")) && l.contains("scope link")),
        "{routes}"
    );
    assert!(routes.contains("unreachable 10.244."), "{routes}");
    let links = ok(&lab.exec("n1", &["ip", "-br", "link"]), "ip link on n1");
    assert!(!links.contains("podnet0"), "{links}");
    // A reader that has gone away (`| true`, like `| head -1` once it has its line) ends the
    // status quietly, not with a panic in println!.
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!("{PLUGIN} lab status --name {} | true", lab.0))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

/// eBPF host routing under host-gw: the whole matrix, `from_uplink` on the node's eth0 and
/// `from_pod` on each pod's host veth, and pod-to-pod traffic between the nodes leaves the nodes'
/// forwarding counters where they were (the kernel's forwarding path is skipped).
#[test]
fn host_gw_with_ebpf_host_routing() {
    let lab = Lab::up(
        "hb",
        &["--backend", "host-gw", "--nodes", "2", "--pod-path", "ebpf"],
    );
    let text = ok(&lab.check(), "lab check");
    assert!(text.contains(" 0 failed"), "{text}");
    assert!(!text.contains(" 0 passed"), "{text}");
    let tc = |node: &str, dev: &str| {
        ok(
            &lab.exec(node, &["tc", "filter", "show", "dev", dev, "ingress"]),
            "tc filter show",
        )
    };
    for node in ["n1", "n2"] {
        let f = tc(node, "eth0");
        assert!(
            f.contains("from_uplink") && f.contains("direct-action"),
            "{node}: {f}"
        );
        let links = ok(&lab.exec(node, &["ip", "-br", "link"]), "ip link");
        let veths: Vec<&str> = links
            .lines()
            .filter_map(|l| l.split(['@', ' ']).next())
            .filter(|n| n.starts_with("pn"))
            .collect();
        assert!(!veths.is_empty(), "{links}");
        for v in veths {
            assert!(tc(node, v).contains("from_pod"), "{node} {v}");
        }
    }
    let forwarded = |node: &str| {
        common::snmp_ip(
            &ok(&lab.exec(node, &["cat", "/proc/net/snmp"]), "snmp"),
            "ForwDatagrams",
        )
    };
    let (a, b) = (lab.pod_ip("n1-a"), lab.pod_ip("n2-a"));
    let ping = |from: &str, to: &str, n: &str| {
        ok(
            &podnet(&[
                "lab", "exec", "--name", &lab.0, from, "--", "ping", "-c", n, "-i", "0.2", "-W",
                "2", to,
            ]),
            "ping",
        )
    };
    ping("n1-a", &b, "1");
    let before = (forwarded("n1"), forwarded("n2"));
    ping("n1-a", &b, "10");
    ping("n2-a", &a, "10");
    // TCP too: GSO super-packets (64 KB) must pass the fast path's MTU check.
    ok(
        &lab.exec("n2-a", &["iperf3", "-s", "-1", "-D", "-p", "5299"]),
        "iperf3 server",
    );
    let tcp = (0..20).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        lab.exec("n1-a", &["iperf3", "-c", &b, "-p", "5299", "-t", "1"])
            .status
            .success()
    });
    assert!(tcp, "iperf3 n1-a → n2-a failed");
    assert_eq!(
        (forwarded("n1"), forwarded("n2")),
        before,
        "pod-to-pod packets went through a node's forwarding path"
    );
    // A restarted agent replaces its program in place (a new program id, the same filter).
    let id = |f: &str| {
        f.split_whitespace()
            .skip_while(|w| *w != "id")
            .nth(1)
            .map(str::to_string)
    };
    let old = id(&tc("n1", "eth0"));
    assert!(old.is_some());
    ok(
        &podnet(&["lab", "restart-agent", "--name", &lab.0, "n1"]),
        "restart-agent",
    );
    let replaced = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let f = tc("n1", "eth0");
        f.contains("from_uplink") && id(&f).is_some() && id(&f) != old
    });
    assert!(
        replaced,
        "from_uplink was not replaced: {}",
        tc("n1", "eth0")
    );
    let text = ok(&lab.check(), "lab check after the restart");
    assert!(text.contains(" 0 failed"), "{text}");
    // Drift repair: the filter (n1) or the whole clsact qdisc (n2) removed behind the agents'
    // backs is attached again at their next resync (every 5 s in the lab).
    ok(
        &lab.exec("n1", &["tc", "filter", "del", "dev", "eth0", "ingress"]),
        "tc filter del",
    );
    ok(
        &lab.exec("n2", &["tc", "qdisc", "del", "dev", "eth0", "clsact"]),
        "tc qdisc del",
    );
    assert!(!tc("n1", "eth0").contains("from_uplink"));
    let back = (0..150).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        ["n1", "n2"]
            .iter()
            .all(|n| tc(n, "eth0").contains("from_uplink"))
    });
    assert!(
        back,
        "from_uplink not re-attached after 15 s: n1 {} n2 {}",
        tc("n1", "eth0"),
        tc("n2", "eth0")
    );
    let before = (forwarded("n1"), forwarded("n2"));
    ping("n1-a", &b, "5");
    assert_eq!(
        (forwarded("n1"), forwarded("n2")),
        before,
        "the re-attached fast path does not carry pod-to-pod traffic"
    );
}

/// Drift repair of the VXLAN device itself: deleted on a node, the agent makes it again at its
/// next resync with the same MAC (the peers' neighbour entries stay right), its address, its
/// routes, neighbours and FDB, and the fast path's filter; the matrix passes again.
#[test]
fn deleted_vxlan_device_comes_back() {
    let lab = Lab::up(
        "vd",
        &["--backend", "vxlan", "--nodes", "2", "--pod-path", "ebpf"],
    );
    // None only while `ip` says the device does not exist; any other failure panics.
    let show = || {
        let out = lab.exec("n1", &["ip", "-j", "-d", "addr", "show", "dev", "podnet.1"]);
        if out.status.success() {
            return Some(
                serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone(),
            );
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Device \"podnet.1\" does not exist."),
            "ip addr show on n1 failed ({}): {err}",
            out.status
        );
        None
    };
    let before = show().expect("podnet.1 on n1");
    ok(
        &lab.exec("n1", &["ip", "link", "del", "podnet.1"]),
        "ip link del",
    );
    // Not "absent now": the agent may already have made it again (any watch event runs a pass,
    // and each pass repairs the device). A new device has a new ifindex, whenever it came back.
    let remade = |v: &serde_json::Value| v["ifindex"] != before["ifindex"];
    // The fast path's filter is attached in the same pass, after the routes: wait for it too.
    let filter = || {
        ok(
            &lab.exec(
                "n1",
                &["tc", "filter", "show", "dev", "podnet.1", "ingress"],
            ),
            "tc filter show",
        )
    };
    let green = (0..150).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        show().is_some_and(|v| remade(&v))
            && filter().contains("from_uplink")
            && lab.check().status.success()
    });
    assert!(
        green,
        "the lab did not recover: {}",
        ok(&lab.check(), "check")
    );
    let after = show().unwrap();
    assert_eq!(after["address"], before["address"], "{after}");
    // IPv4 only: the IPv6 link-local address comes back too, but "tentative" for a second.
    let v4 = |v: &serde_json::Value| -> Vec<String> {
        v["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["family"] == "inet")
            .map(|a| format!("{}/{}", a["local"], a["prefixlen"]))
            .collect()
    };
    assert_eq!(v4(&after), v4(&before), "{after}");
    assert_eq!(v4(&before).len(), 1, "{before}");
}

/// An agent run with `--fast-path` on nodes of *bridged* pods changes nothing: `from_uplink`
/// fast-paths only into routed pods' veths (`bpf_redirect_peer` into the bridge would drop the
/// packet), so the whole matrix still passes on the kernel path.
#[test]
fn fast_path_agent_with_bridged_pods_changes_nothing() {
    let lab = Lab::up_spec("fb", |name| {
        format!(
            "name: {name}\nbackend: host-gw\nagentArgs: [\"--fast-path\"]\nnodes:\n  - name: n1\n  - name: n2\n\
             pods:\n  - {{name: a, node: n1}}\n  - {{name: b, node: n2}}\n"
        )
    });
    let f = ok(
        &lab.exec("n1", &["tc", "filter", "show", "dev", "eth0", "ingress"]),
        "tc filter show",
    );
    assert!(f.contains("from_uplink"), "{f}");
    let text = ok(&lab.check(), "lab check");
    assert!(text.contains(" 0 failed"), "{text}");
    assert!(!text.contains(" 0 passed"), "{text}");
}

#[test]
fn two_segments_vxlan_passes_host_gw_names_unreachable_peers() {
    let vx = Lab::up("v2", &["--segments", "2", "--pods-per-node", "1"]);
    let text = ok(&vx.check(), "vxlan lab check");
    assert!(text.contains("0 failed"), "{text}");

    let hg = Lab::up(
        "g2",
        &[
            "--backend",
            "host-gw",
            "--segments",
            "2",
            "--pods-per-node",
            "1",
        ],
    );
    assert!(
        !hg.check().status.success(),
        "host-gw across a router cannot pass"
    );
    // n2 is alone on segment 1: it names both other nodes, and they name n2.
    let n2: Vec<String> = hg.agent_status("n2")["unreachable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(n2, vec!["n1 (198.18.0.11)", "n3 (198.18.0.13)"]);
    assert_eq!(hg.agent_status("n1")["unreachable"][0], "n2 (198.18.2.12)");
    let status = ok(&podnet(&["lab", "status", "--name", &hg.0]), "lab status");
    assert!(
        status.contains("UNREACHABLE by host-gw: n1 (198.18.0.11), n3 (198.18.0.13)"),
        "{status}"
    );
}

#[test]
fn the_four_network_modes() {
    let lab = Lab::up_spec("m", |name| {
        include_str!("../../../examples/modes.yaml")
            .replace("name: modes", &format!("name: {name}"))
    });
    let name = lab.0.clone();
    let text = ok(&lab.check(), "lab check");
    for kind in ["container: shared netns", "none: loopback only"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_default();
        assert!(line.ends_with("1/1 ok"), "{kind}: {line:?}\n{text}");
    }
    assert!(text.contains(" 0 failed"), "{text}");
    // host mode: the pod's address is the node's; container mode: the same IP as the pod it
    // joins. Pods are NS/NAME: web is in namespace shop, the others in default.
    let status = ok(&podnet(&["lab", "status", "--name", &name]), "lab status");
    let row = |pod: &str| -> Vec<String> {
        status
            .lines()
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .find(|cols| cols.first().map(String::as_str) == Some(pod))
            .unwrap_or_else(|| panic!("no {pod} in {status}"))
    };
    assert_eq!(
        row("default/tools")[1..],
        ["n1", "host", "198.18.0.11:8080"]
    );
    let web = row("shop/web");
    assert_eq!(web[1..3], ["n1", "bridge"]);
    let web_ip = web[3].split(':').next().unwrap().to_string();
    assert_eq!(
        row("default/sidecar")[1..],
        [
            "n1".to_string(),
            "container:shop/web".into(),
            format!("{web_ip}:8082")
        ]
    );
    // none: no interface but loopback.
    let links = ok(
        &podnet(&[
            "lab", "exec", "--name", &name, "isolated", "--", "ip", "-o", "link",
        ]),
        "exec isolated",
    );
    assert_eq!(links.lines().count(), 1, "{links}");
}

#[test]
fn udp_backend_passes() {
    let lab = Lab::up("u", &["--backend", "udp", "--pods-per-node", "1"]);
    let text = ok(&lab.check(), "lab check");
    assert!(text.contains("33 passed, 0 failed"), "{text}");
    let link = ok(
        &podnet(&[
            "lab",
            "exec",
            "--name",
            &lab.0,
            "n1",
            "--",
            "ip",
            "-j",
            "link",
            "show",
            "podnet.udp",
        ]),
        "TUN link",
    );
    let link: serde_json::Value = serde_json::from_str(link.trim()).unwrap();
    assert_eq!(link[0]["mtu"], 1468, "underlay 1500 - 32: {link}");
    // Bulk data both ways through the offloaded path (TUN super-packets split into datagrams,
    // UDP GSO/GRO, segments re-coalesced for the TUN write), every byte compared.
    let to = format!("{}:9000", lab.pod_ip("n2-a"));
    let rr = ok(
        &podnet(&[
            "lab",
            "exec",
            "--name",
            &lab.0,
            "n1-a",
            "--",
            PLUGIN,
            "rr",
            "--to",
            &to,
            "--seconds",
            "3",
            "--size",
            "200000",
        ]),
        "200 KB exchanges across the udp backend",
    );
    let rr: serde_json::Value = serde_json::from_str(rr.trim()).unwrap();
    assert!(rr["transactions"].as_u64().unwrap() > 20, "{rr}");
    let status = lab.agent_status("n2");
    let udp = &status["udp"];
    assert_eq!(udp["offloads"]["tunVnetHdr"], true, "{status}");
    assert!(
        udp["offloads"]["udpGsoSegments"].as_u64().unwrap() > 1,
        "{status}"
    );
    for reason in [
        "unknown_sender",
        "bad_header",
        "bad_inner_packet",
        "spoofed_source",
        "not_for_this_node",
    ] {
        assert_eq!(udp["drops"][reason], 0, "{reason}: {status}");
    }
}

#[test]
fn etcd_lab_passes() {
    let lab = Lab::up(
        "e",
        &["--store", "etcd", "--nodes", "2", "--pods-per-node", "1"],
    );
    let text = ok(&lab.check(), "lab check");
    assert!(text.contains("0 failed"), "{text}");
}

/// `podnet bench backends` end to end, one short round of two paths — a smoke test of the
/// command, not a measurement (figures come from the command, into docs/benchmarks.md): only
/// the labs `--only` needs are built, the JSON names both paths with non-zero figures and a
/// paired ratio, and no lab namespace is left behind.
#[test]
fn bench_backends_runs_a_short_round() {
    common::require_root();
    let paths = [
        "node→node (underlay)",
        "host-gw pod→pod (eBPF host routing)",
    ];
    let only = paths.join(",");
    let out = podnet(&[
        "bench",
        "backends",
        "--only",
        &only,
        "--runs",
        "1",
        "--seconds",
        "1",
        "--streams",
        "1",
        "--rr-seconds",
        "1",
        "--json",
    ]);
    ok(&out, "bench backends");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("bench-hostgw lab") && log.contains("bench-hostgwbpf lab"),
        "{log}"
    );
    assert!(
        !log.contains("bench-vxlan lab"),
        "built a lab --only did not need: {log}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<&str> = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(got, paths);
    for p in v["paths"].as_array().unwrap() {
        let t = &p["throughput"][0];
        assert!(t["gbps"]["median"].as_f64().unwrap() > 0.0, "{p}");
        assert!(
            p["connections_per_s"]["median"].as_f64().unwrap() > 0.0,
            "{p}"
        );
        assert!(t["vs_underlay_paired"]["median"].as_f64().is_some(), "{p}");
    }
    // The one target both paths make up: eBPF host routing against the underlay.
    let targets = v["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert_eq!(targets[0]["path"], paths[1]);
    assert_eq!(targets[0]["reference"], paths[0]);
    assert!(targets[0]["ratio"].as_f64().unwrap() > 0.0);
    assert!(
        ["yes", "paired only", "medians only", "no"].contains(&targets[0]["met"].as_str().unwrap())
    );
    assert_eq!(
        common::netns_with_prefix("pnlab-bench-"),
        Vec::<String>::new()
    );
}
