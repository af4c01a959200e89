//! Tier 3: the real plugin binary against the real kernel, inside private namespaces.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{has_link, Node, PLUGIN};
use serde_json::{json, Value};

fn ip_of(result: &Value) -> String {
    result["ips"][0]["address"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn add_check_del_on_the_kernel() {
    let node = Node::new("acd");
    let pod = node.pod("a");
    let conf = node.conf("");
    let (code, r) = node.cni("ADD", "c1", &pod, &conf);
    assert_eq!(code, 0, "{r}");
    let ip = ip_of(&r);
    assert_eq!(ip, "10.244.1.2");

    // The pod side: address, default route, lo up, accept_ra=0, derived MAC.
    let addr = node
        .ns
        .run(&[
            "nsenter",
            &format!("--net={pod}"),
            "ip",
            "-j",
            "addr",
            "show",
            "eth0",
        ])
        .unwrap();
    assert!(addr.contains("\"local\":\"10.244.1.2\""), "{addr}");
    assert!(addr.contains("0a:58:0a:f4:01:02"), "{addr}");
    let route = node
        .ns
        .run(&[
            "nsenter",
            &format!("--net={pod}"),
            "ip",
            "route",
            "show",
            "default",
        ])
        .unwrap();
    assert!(route.contains("via 10.244.1.1 dev eth0"), "{route}");
    let ra = node
        .ns
        .run(&[
            "nsenter",
            &format!("--net={pod}"),
            "cat",
            "/proc/sys/net/ipv6/conf/eth0/accept_ra",
        ])
        .unwrap();
    assert_eq!(ra.trim(), "0");
    let lo = node
        .ns
        .run(&[
            "nsenter",
            &format!("--net={pod}"),
            "ip",
            "-br",
            "link",
            "show",
            "lo",
        ])
        .unwrap();
    assert!(lo.contains("UNKNOWN") || lo.contains("UP"), "{lo}");
    // The node side: forwarding on in the node namespace, bridge with the gateway.
    assert_eq!(
        node.ns
            .run(&["cat", "/proc/sys/net/ipv4/ip_forward"])
            .unwrap()
            .trim(),
        "1"
    );
    let br = node
        .ns
        .run(&["ip", "-br", "addr", "show", "podnet0"])
        .unwrap();
    assert!(br.contains("10.244.1.1/24"), "{br}");
    node.ns
        .run(&["ping", "-c1", "-W2", &ip])
        .expect("node reaches the pod");

    // CHECK passes, and fails once the pod's address is gone.
    let with_prev = node.conf(&format!(r#","prevResult":{r}"#));
    assert_eq!(node.cni("CHECK", "c1", &pod, &with_prev).0, 0);
    node.ns
        .run(&[
            "nsenter",
            &format!("--net={pod}"),
            "ip",
            "addr",
            "del",
            "10.244.1.2/24",
            "dev",
            "eth0",
        ])
        .unwrap();
    let (code, e) = node.cni("CHECK", "c1", &pod, &with_prev);
    assert_eq!((code, e["code"].as_u64()), (1, Some(101)), "{e}");

    assert_eq!(node.cni("STATUS", "", "", &node.conf("")).0, 0);
    assert_eq!(node.cni("DEL", "c1", &pod, &conf).0, 0);
    assert!(!has_link(&pod, "eth0"));
    node.assert_clean("after DEL");
    // DEL is idempotent, also without a netns.
    assert_eq!(node.cni("DEL", "c1", &pod, &conf).0, 0);
    assert_eq!(node.cni("DEL", "c1", "", &conf).0, 0);
}

#[test]
fn hostport_dnat_antispoofing_and_gc() {
    let node = Node::new("hp");
    let (a, b) = (node.pod("a"), node.pod("b"));
    let conf_a = node.conf(r#","runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":8080,"protocol":"tcp"}]}"#);
    let (ca, ra) = node.cni("ADD", "ca", &a, &conf_a);
    let (cb, rb) = node.cni("ADD", "cb", &b, &node.conf(""));
    assert_eq!((ca, cb), (0, 0), "{ra} {rb}");
    let (ip_a, ip_b) = (ip_of(&ra), ip_of(&rb));

    let mut serve = node
        .pod_guard_cmd("a", &[PLUGIN, "serve", "--port", "8080"])
        .spawn()
        .unwrap();
    // From the node to its own (local) gateway address: DNAT to pod a.
    let body = common::http_get(&node.ns.path(), "http://10.244.1.1:18080/");
    serve.kill().ok();
    serve.wait().ok();
    assert!(
        body.contains("podnet serve"),
        "hostPort 18080 did not reach pod a: {body:?}"
    );

    // Anti-spoofing: pod b may use its own address, not another one.
    let nsb = format!("--net={b}");
    node.ns
        .run(&["nsenter", &nsb, "ping", "-c1", "-W2", &ip_a])
        .expect("b reaches a from its own address");
    assert_spoofed_source_dropped(&node, &b, &ip_b, "10.244.1.77/24", &a, &ip_a);
    node.ns
        .run(&[
            "nsenter",
            &nsb,
            "ip",
            "addr",
            "del",
            "10.244.1.77/24",
            "dev",
            "eth0",
        ])
        .unwrap();
    node.ns
        .run(&[
            "nsenter",
            &nsb,
            "ip",
            "link",
            "set",
            "eth0",
            "address",
            "0a:58:0a:f4:01:63",
        ])
        .unwrap();
    // A's MAC stays known to b, so the echo requests themselves are sent (with the spoofed
    // source MAC) rather than only ARP requests; counted at a, none may arrive.
    let link_a = node
        .ns
        .run(&[
            "nsenter",
            &format!("--net={a}"),
            "ip",
            "-j",
            "link",
            "show",
            "eth0",
        ])
        .unwrap();
    let mac_a = serde_json::from_str::<Value>(&link_a).unwrap()[0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    node.ns
        .run(&["nsenter", &nsb, "ip", "neigh", "flush", "all"])
        .unwrap();
    node.ns
        .run(&[
            "nsenter",
            &nsb,
            "ip",
            "neigh",
            "replace",
            &ip_a,
            "lladdr",
            &mac_a,
            "dev",
            "eth0",
            "nud",
            "permanent",
        ])
        .unwrap();
    let arrived = echo_requests_from(&a, &ip_b, || {
        let spoofed_mac = node
            .ns
            .run(&["nsenter", &nsb, "ping", "-c3", "-i0.2", "-W1", &ip_a]);
        assert!(spoofed_mac.is_err(), "a spoofed MAC got an answer");
    });
    assert_eq!(
        arrived, 0,
        "{arrived} pings from a spoofed MAC arrived at a"
    );
    let dropped = node
        .ns
        .run(&["nft", "list", "chain", "bridge", "podnet", "antispoof"])
        .unwrap();
    assert!(
        !dropped.contains("packets 0 "),
        "drops are counted: {dropped}"
    );

    // GC with only pod a valid removes pod b completely.
    let gc = node.conf(r#","cni.dev/valid-attachments":[{"containerID":"ca","ifname":"eth0"}]"#);
    assert_eq!(node.cni("GC", "", "", &gc).0, 0);
    let left: Vec<_> = node
        .allocations()
        .into_iter()
        .map(|a| a.container_id)
        .collect();
    assert_eq!(left, vec!["ca"]);
    assert!(!has_link(&b, "eth0"));
    assert_eq!(node.cni("DEL", "ca", &a, &conf_a).0, 0);
    node.assert_clean("after GC and DEL");
}

/// `"mode": "routed"`: /32 pods with a link-local gateway, /32 routes on the node, a fallback for
/// free addresses, strict reverse-path filtering against spoofing, hostPorts, CHECK and DEL.
#[test]
fn routed_pods() {
    let node = Node::new("rt");
    let (a, b) = (node.pod("a"), node.pod("b"));
    let routed = |extra: &str| node.conf(&format!(r#","mode":"routed"{extra}"#));
    let ports = r#","runtimeConfig":{"portMappings":[{"hostPort":18081,"containerPort":8080,"protocol":"tcp"}]}"#;
    let (ca, ra) = node.cni("ADD", "ca", &a, &routed(ports));
    let (cb, rb) = node.cni("ADD", "cb", &b, &routed(""));
    assert_eq!((ca, cb), (0, 0), "{ra} {rb}");
    let (ip_a, ip_b) = (ip_of(&ra), ip_of(&rb));
    assert!(
        !has_link(&node.ns.path().display().to_string(), "podnet0"),
        "routed mode made a bridge"
    );
    assert_eq!(ra["ips"][0]["address"], format!("{ip_a}/32"));
    assert_eq!(ra["ips"][0]["gateway"], "169.254.1.1");
    assert_eq!(ra["interfaces"][0]["mac"], "ee:ee:ee:ee:ee:ee");
    let in_a = |argv: &[&str]| {
        let mut full = vec!["nsenter".to_string(), format!("--net={a}")];
        full.extend(argv.iter().map(|s| s.to_string()));
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        node.ns.run(&full)
    };
    let route = in_a(&["ip", "route", "show", "default"]).unwrap();
    assert!(
        route.contains("via 169.254.1.1 dev eth0") && route.contains("onlink"),
        "{route}"
    );
    let neigh = in_a(&["ip", "neigh", "show", "169.254.1.1"]).unwrap();
    assert!(
        neigh.contains("ee:ee:ee:ee:ee:ee") && neigh.contains("PERMANENT"),
        "{neigh}"
    );
    let host = ra["interfaces"][0]["name"].as_str().unwrap().to_string();
    let routes = node.ns.run(&["ip", "route", "show"]).unwrap();
    let line = |start: &str, parts: &[&str]| {
        routes
            .lines()
            .any(|l| l.starts_with(start) && parts.iter().all(|p| l.contains(p)))
    };
    assert!(
        line(
            &format!("{ip_a} "),
            &[&format!("dev {host} "), "scope link"]
        ),
        "{routes}"
    );
    assert!(
        line("unreachable 10.244.1.0/24 ", &["metric 4242"]),
        "{routes}"
    );
    let rp = node
        .ns
        .run(&["cat", &format!("/proc/sys/net/ipv4/conf/{host}/rp_filter")])
        .unwrap();
    assert_eq!(rp.trim(), "1");

    // Pod ↔ pod and node → pod; a free address is refused at the node. The node's own address
    // is on lo (in a cluster: its underlay address; a routed node has no bridge).
    node.ns
        .run(&["ip", "addr", "add", "192.0.2.1/32", "dev", "lo"])
        .unwrap();
    in_a(&["ping", "-c1", "-W2", &ip_b]).expect("a reaches b");
    node.ns
        .run(&["ping", "-c1", "-W2", &ip_a])
        .expect("node reaches a");
    let free = in_a(&["ping", "-c1", "-W2", "10.244.1.99"]);
    assert!(free.is_err(), "a free address answered: {free:?}");

    // hostPort on the node's address reaches pod a.
    let mut serve = node
        .pod_guard_cmd("a", &[PLUGIN, "serve", "--port", "8080"])
        .spawn()
        .unwrap();
    let body = common::http_get(&node.ns.path(), "http://192.0.2.1:18081/");
    serve.kill().ok();
    serve.wait().ok();
    assert!(body.contains("podnet serve"), "hostPort: {body:?}");

    // Spoofing: b may use its own address only; the node's reverse-path check drops the rest.
    let nsb = format!("--net={b}");
    assert_spoofed_source_dropped(&node, &b, &ip_b, "10.244.1.77/32", &a, &ip_a);
    node.ns
        .run(&["nsenter", &nsb, "ping", "-c1", "-W2", &ip_a])
        .expect("b still reaches a from its own address");

    // CHECK passes, and fails once the gateway route is gone.
    let with_prev = routed(&format!(r#","prevResult":{ra}"#));
    let (code, e) = node.cni("CHECK", "ca", &a, &with_prev);
    assert_eq!(code, 0, "{e}");
    in_a(&["ip", "route", "del", "default"]).unwrap();
    let (code, e) = node.cni("CHECK", "ca", &a, &with_prev);
    assert_eq!((code, e["code"].as_u64()), (1, Some(101)), "{e}");

    for (cid, ns, conf) in [("ca", &a, routed(ports)), ("cb", &b, routed(""))] {
        assert_eq!(node.cni("DEL", cid, ns, &conf).0, 0);
        assert_eq!(node.cni("DEL", cid, ns, &conf).0, 0, "DEL is idempotent");
    }
    let routes = node.ns.run(&["ip", "route", "show"]).unwrap();
    assert!(
        !routes.contains(&ip_a) && !routes.contains(&ip_b),
        "{routes}"
    );
    node.assert_clean("after DEL of routed pods");
}

/// podnet followed by the reference tuning, portmap and bandwidth plugins, as a conflist runs them.
#[test]
fn chained_with_reference_plugins() {
    let node = Node::new("chain");
    let pod = node.pod("a");
    let conf = node.conf("").replace("\"1.1.0\"", "\"1.0.0\"");
    let (code, r1) = node.cni("ADD", "c1", &pod, &conf);
    assert_eq!(code, 0, "{r1}");
    let plugins = [
        json!({"type": "tuning", "sysctl": {"net.core.somaxconn": "512"}}),
        json!({"type": "portmap", "capabilities": {"portMappings": true},
               "runtimeConfig": {"portMappings": [{"hostPort": 18081, "containerPort": 8080, "protocol": "tcp"}]}}),
        json!({"type": "bandwidth", "ingressRate": 100_000_000, "ingressBurst": 1_000_000}),
    ];
    let mut prev = r1.clone();
    let mut confs = Vec::new();
    for p in &plugins {
        let mut c = p.clone();
        c["cniVersion"] = json!("1.0.0");
        c["name"] = json!("podnet");
        c["prevResult"] = prev.clone();
        let bin = std::path::PathBuf::from(format!("/usr/lib/cni/{}", p["type"].as_str().unwrap()));
        let (code, out) = node.cni_other(&bin, "ADD", "c1", &pod, &c.to_string());
        assert_eq!(code, 0, "{} rejected podnet's result: {out}", p["type"]);
        assert_eq!(out["ips"], r1["ips"], "{} changed the IPs", p["type"]);
        confs.push(c);
        prev = out;
    }
    let somaxconn = node
        .ns
        .run(&[
            "nsenter",
            &format!("--net={pod}"),
            "cat",
            "/proc/sys/net/core/somaxconn",
        ])
        .unwrap();
    assert_eq!(somaxconn.trim(), "512");
    for c in confs.iter().rev() {
        let bin = std::path::PathBuf::from(format!("/usr/lib/cni/{}", c["type"].as_str().unwrap()));
        let (code, out) = node.cni_other(&bin, "DEL", "c1", &pod, &c.to_string());
        assert_eq!(code, 0, "{} DEL: {out}", c["type"]);
    }
    assert_eq!(node.cni("DEL", "c1", &pod, &conf).0, 0);
    node.assert_clean("after chained DEL");
}

#[test]
fn del_after_the_pod_namespace_is_gone() {
    let node = Node::new("gone");
    let conf = node.conf("");
    let pod_ns = podnet_netns::NetnsGuard::new(&format!("{}-gone", node.prefix)).unwrap();
    let pod = pod_ns.path().display().to_string();
    assert_eq!(node.cni("ADD", "c1", &pod, &conf).0, 0);
    drop(pod_ns); // the runtime removed the namespace before calling DEL
    let (code, e) = node.cni("DEL", "c1", &pod, &conf);
    assert_eq!(code, 0, "{e}");
    node.assert_clean("after DEL with the netns gone");
    // CHECK on a namespace that no longer exists is code 3.
    let with_prev = node.conf(
        r#","prevResult":{"interfaces":[{"name":"eth0","sandbox":"/run/netns/pn-none"}],"ips":[]}"#,
    );
    let (_, e) = node.cni("CHECK", "c1", "/run/netns/pn-none", &with_prev);
    assert_eq!(e["code"], 3, "{e}");
}

/// An "outside" namespace linked to the node: node 198.18.0.1, outside 198.18.0.2, and the outside
/// routes 10.99.0.0/16 through the node (transit traffic the node must not capture).
fn outside(node: &Node) -> podnet_netns::NetnsGuard {
    let inet = podnet_netns::NetnsGuard::new(&format!("{}-inet", node.prefix)).unwrap();
    let peer_ns = inet.path().display().to_string();
    node.ns
        .run(&[
            "ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1", "netns", &peer_ns,
        ])
        .unwrap();
    node.ns
        .run(&["ip", "addr", "add", "198.18.0.1/24", "dev", "up0"])
        .unwrap();
    node.ns.run(&["ip", "link", "set", "up0", "up"]).unwrap();
    inet.run(&["ip", "addr", "add", "198.18.0.2/24", "dev", "up1"])
        .unwrap();
    inet.run(&["ip", "link", "set", "up1", "up"]).unwrap();
    inet.run(&["ip", "route", "add", "10.99.0.0/16", "via", "198.18.0.1"])
        .unwrap();
    inet
}

/// Traffic to destinations outside clusterCIDR leaves masqueraded as the node.
#[test]
fn masquerade_to_the_outside() {
    let node = Node::new("masq");
    let inet = outside(&node);
    let pod = node.pod("a");
    let (code, r) = node.cni("ADD", "c1", &pod, &node.conf(""));
    assert_eq!(code, 0, "{r}");
    let mut serve = inet
        .command(&[PLUGIN, "serve", "--port", "8080"])
        .spawn()
        .unwrap();
    let body = common::http_get(std::path::Path::new(&pod), "http://198.18.0.2:8080/");
    serve.kill().ok();
    serve.wait().ok();
    assert!(
        body.contains("hello 198.18.0.1:"),
        "outside should see the node's address: {body:?}"
    );
    assert_eq!(node.cni("DEL", "c1", &pod, &node.conf("")).0, 0);
    node.assert_clean("after masquerade test");
}

/// A hostPort answers on the node's own addresses, never for traffic passing through the node
/// to other addresses (CVE-2025-67499: DNAT only when `fib daddr type local`).
#[test]
fn hostports_only_for_local_destinations() {
    let node = Node::new("hpl");
    let inet = outside(&node);
    let pod = node.pod("a");
    let conf =
        node.conf(r#","runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":8080}]}"#);
    assert_eq!(node.cni("ADD", "c1", &pod, &conf).0, 0);
    let mut serve = node
        .pod_guard_cmd("a", &[PLUGIN, "serve", "--port", "8080"])
        .spawn()
        .unwrap();
    let local = common::http_get(&inet.path(), "http://198.18.0.1:18080/");
    let transit = inet.run(&["curl", "-s", "--max-time", "2", "http://10.99.0.5:18080/"]);
    serve.kill().ok();
    serve.wait().ok();
    assert!(
        local.contains("podnet serve"),
        "hostPort on the node's address: {local:?}"
    );
    assert!(
        transit.is_err(),
        "transit traffic to 10.99.0.5 was captured by the hostPort: {transit:?}"
    );
    assert_eq!(node.cni("DEL", "c1", &pod, &conf).0, 0);
    node.assert_clean("after hostPort locality test");
}

/// DEL variants: the host veth already gone, the store wiped (the address is read back from the
/// pod), the pod's interface gone; each succeeds and leaves nothing.
#[test]
fn del_variants_leave_nothing() {
    let node = Node::new("delv");
    let pod = node.pod("a");
    let conf =
        node.conf(r#","runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":8080}]}"#);

    // Host veth deleted behind the plugin's back.
    assert_eq!(node.cni("ADD", "c1", &pod, &conf).0, 0);
    let veth = node.veths().pop().unwrap();
    node.ns.run(&["ip", "link", "del", &veth]).unwrap();
    assert_eq!(node.cni("DEL", "c1", &pod, &conf).0, 0);
    node.assert_clean("DEL with the veth gone");

    // The IPAM store lost entirely.
    assert_eq!(node.cni("ADD", "c2", &pod, &conf).0, 0);
    std::fs::remove_dir_all(node.data_dir()).unwrap();
    assert_eq!(node.cni("DEL", "c2", &pod, &conf).0, 0);
    node.assert_clean("DEL with the store gone");
    assert!(!has_link(&pod, "eth0"));

    // The pod's interface deleted from inside the pod.
    assert_eq!(node.cni("ADD", "c3", &pod, &conf).0, 0);
    node.ns
        .run(&[
            "nsenter",
            &format!("--net={pod}"),
            "ip",
            "link",
            "del",
            "eth0",
        ])
        .unwrap();
    assert_eq!(node.cni("DEL", "c3", &pod, &conf).0, 0);
    node.assert_clean("DEL with the pod interface gone");
}

/// `"mode": "ebpf"`: routed pods with the eBPF fast path. `from_pod` sits at the host veth's tc
/// ingress; pod-to-pod packets skip the node's forwarding path (its forward counter stays put);
/// a pod with port mappings keeps the kernel path, so a hostPort reached from a fast-path pod
/// still gets its DNAT undone; a spoofed source still takes the kernel path and is dropped; DEL
/// leaves nothing.
#[test]
fn ebpf_pods() {
    let node = Node::new("bpf");
    let (a, b, c) = (node.pod("a"), node.pod("b"), node.pod("c"));
    let conf = |extra: &str| node.conf(&format!(r#","mode":"ebpf"{extra}"#));
    let ports = r#","runtimeConfig":{"portMappings":[{"hostPort":18082,"containerPort":8080,"protocol":"tcp"}]}"#;
    let (ca, ra) = node.cni("ADD", "ca", &a, &conf(ports));
    let (cb, rb) = node.cni("ADD", "cb", &b, &conf(""));
    let (cc, rc) = node.cni("ADD", "cc", &c, &conf(""));
    assert_eq!((ca, cb, cc), (0, 0, 0), "{ra} {rb} {rc}");
    let host = |r: &Value| r["interfaces"][0]["name"].as_str().unwrap().to_string();
    let filters = |dev: &str| {
        node.ns
            .run(&["tc", "filter", "show", "dev", dev, "ingress"])
            .unwrap()
    };
    for r in [&rb, &rc] {
        let f = filters(&host(r));
        assert!(f.contains("from_pod") && f.contains("direct-action"), "{f}");
    }
    assert!(
        !filters(&host(&ra)).contains("from_pod"),
        "a pod with port mappings got the fast path"
    );
    assert_eq!(rb["ips"][0]["gateway"], "169.254.1.1");

    let (ip_a, ip_c) = (ip_of(&ra), ip_of(&rc));
    let nsb = format!("--net={b}");
    let from_b = |argv: &[&str]| {
        let mut full = vec!["nsenter", nsb.as_str()];
        full.extend_from_slice(argv);
        node.ns.run(&full)
    };
    let forwarded = || {
        common::snmp_ip(
            &node.ns.run(&["cat", "/proc/net/snmp"]).unwrap(),
            "ForwDatagrams",
        )
    };
    // The first packet resolves c's neighbour entry on the kernel path; then the fast path.
    from_b(&["ping", "-c1", "-W2", &ip_c]).expect("b reaches c");
    let before = forwarded();
    from_b(&["ping", "-c10", "-i0.2", "-W2", &ip_c]).expect("b reaches c");
    assert_eq!(
        forwarded(),
        before,
        "b→c went through the node's forwarding path"
    );
    // TCP too: GSO super-packets (64 KB) must pass the fast path's MTU check.
    let nsc = format!("--net={c}");
    node.ns
        .run(&["nsenter", &nsc, "iperf3", "-s", "-1", "-D", "-p", "5299"])
        .unwrap();
    let tcp = (0..20)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            from_b(&["iperf3", "-c", &ip_c, "-p", "5299", "-t", "1"])
        })
        .find(Result::is_ok);
    assert!(tcp.is_some(), "iperf3 b→c failed");
    assert_eq!(
        forwarded(),
        before,
        "TCP b→c went through the node's forwarding path"
    );
    from_b(&["ping", "-c3", "-i0.2", "-W2", &ip_a]).expect("b reaches a");
    assert!(
        forwarded() > before,
        "a's replies should take the kernel path"
    );

    // hostPort of a, reached from b through the node's address: b's packets go to a node
    // address (kernel path, DNAT), a's replies take the kernel path (conntrack undoes the DNAT).
    node.ns
        .run(&["ip", "addr", "add", "192.0.2.1/32", "dev", "lo"])
        .unwrap();
    let mut serve = node
        .pod_guard_cmd("a", &[PLUGIN, "serve", "--port", "8080"])
        .spawn()
        .unwrap();
    let body = common::http_get(Path::new(&b), "http://192.0.2.1:18082/");
    serve.kill().ok();
    serve.wait().ok();
    assert!(
        body.contains("podnet serve"),
        "hostPort from a fast-path pod: {body:?}"
    );

    // Spoofing: b may use its own address only; the program passes anything else to the kernel,
    // whose reverse-path check drops it.
    assert_spoofed_source_dropped(&node, &b, &ip_of(&rb), "10.244.1.77/32", &c, &ip_c);

    for (cid, ns, conf) in [
        ("ca", &a, conf(ports)),
        ("cb", &b, conf("")),
        ("cc", &c, conf("")),
    ] {
        assert_eq!(node.cni("DEL", cid, ns, &conf).0, 0);
        assert_eq!(node.cni("DEL", cid, ns, &conf).0, 0, "DEL is idempotent");
    }
    node.assert_clean("after DEL of eBPF pods");
}

/// Counted at the receiver: runs `send`, and returns how many ICMP echo requests with source
/// `src` arrived in the namespace at `netns` meanwhile (a named nft counter in a table of the
/// test's own, in front of everything else in the receiver's prerouting).
fn echo_requests_from(netns: &str, src: &str, send: impl FnOnce()) -> u64 {
    let n = format!("--net={netns}");
    let nft = |script: &str| {
        common::run_ok(&["nsenter", &n, "nft", script]);
    };
    nft(&format!(
        "add table ip pnt_seen; add counter ip pnt_seen from_src; \
         add chain ip pnt_seen in {{ type filter hook prerouting priority -400; }}; \
         add rule ip pnt_seen in ip saddr {src} icmp type echo-request counter name from_src"
    ));
    send();
    let out = common::run_ok(&[
        "nsenter", &n, "nft", "-j", "list", "counter", "ip", "pnt_seen", "from_src",
    ]);
    nft("delete table ip pnt_seen");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|i| i["counter"]["packets"].as_u64())
        .unwrap_or_else(|| panic!("no counter in {out}"))
}

/// Gives the pod in `netns` (whose own address is `own`) a second address `extra` and pings the
/// pod at `to_netns`/`to` from both. Counted at the receiver: none of the spoofed echo requests
/// may arrive, and the control from `own` must (so the receiver was listening and reachable).
/// The extra address stays; the caller removes it if it must.
fn assert_spoofed_source_dropped(
    node: &Node,
    netns: &str,
    own: &str,
    extra: &str,
    to_netns: &str,
    to: &str,
) {
    let n = format!("--net={netns}");
    node.ns
        .run(&["nsenter", &n, "ip", "addr", "add", extra, "dev", "eth0"])
        .unwrap();
    let src = extra.split('/').next().unwrap_or(extra);
    let spoofed = echo_requests_from(to_netns, src, || {
        let ping = node
            .ns
            .run(&["nsenter", &n, "ping", "-c3", "-i0.2", "-W1", "-I", src, to]);
        assert!(
            ping.is_err(),
            "a spoofed source ({src}) got an answer from {to}"
        );
    });
    let control = echo_requests_from(to_netns, own, || {
        node.ns
            .run(&["nsenter", &n, "ping", "-c3", "-i0.2", "-W2", "-I", own, to])
            .expect("the control ping from the pod's own address");
    });
    assert!(control >= 3, "{to} counted {control} of 3 pings from {own}");
    assert_eq!(
        spoofed, 0,
        "{spoofed} of 3 pings from the spoofed source {src} arrived at {to}"
    );
}

/// The panic message of `f`, which must panic.
fn panic_of(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let e = std::panic::catch_unwind(f).expect_err("should have panicked");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The fixture's probes answer "absent" only when the kernel says so: `has_link` is false for a
/// device `ip` says does not exist, and panics (command, status, stderr) for a namespace that is
/// gone; the nft auditor counts a missing table as 0 but panics on a set it cannot list.
#[test]
fn fixture_probes_fail_loudly() {
    let node = Node::new("loud");
    let pod = node.pod("a");
    assert!(has_link(&pod, "lo"));
    assert!(!has_link(&pod, "eth0"));
    let gone = format!("/run/netns/{}-gone", node.prefix);
    let msg = panic_of(|| {
        has_link(&gone, "lo");
    });
    assert!(
        msg.contains("nsenter") && msg.contains("exit status") && msg.contains(&gone),
        "{msg}"
    );
    assert_eq!(node.nft_elements(), 0, "no tables yet");
    // A table without podnet's sets (as the agent's `nonat` script alone would leave it).
    node.ns
        .run(&[
            "nft",
            "add table ip podnet; add set ip podnet nonat { type ipv4_addr; }",
        ])
        .unwrap();
    let msg = panic_of(|| {
        node.nft_elements();
    });
    assert!(
        msg.contains("\"nft\"") && msg.contains("pods") && msg.contains("No such file"),
        "{msg}"
    );
}
