//! Bad inputs, table-driven: each case gets the exact CNI error code, a message, no panic, and
//! leaves nothing behind (no allocation, no veth, no nft element, no interface in the pod).
//! Bad `podnet lab up` flags: refused naming the flag, before any namespace is made.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{has_link, Node, PLUGIN};
use serde_json::Value;

struct Case {
    name: &'static str,
    /// Environment changes over a valid ADD: (variable, Some(value) | None to unset).
    env: Vec<(&'static str, Option<String>)>,
    stdin: String,
    code: u64,
}

fn case(
    name: &'static str,
    env: Vec<(&'static str, Option<String>)>,
    stdin: String,
    code: u64,
) -> Case {
    Case {
        name,
        env,
        stdin,
        code,
    }
}

/// A valid config with one JSON fragment replaced.
fn with(node: &Node, from: &str, to: &str) -> String {
    let good = node.conf("");
    assert!(good.contains(from), "fixture: {from:?} not in config");
    good.replacen(from, to, 1)
}

fn set(k: &'static str, v: &str) -> (&'static str, Option<String>) {
    (k, Some(v.to_string()))
}

fn unset(k: &'static str) -> (&'static str, Option<String>) {
    (k, None)
}

fn cases(node: &Node, pod: &str) -> Vec<Case> {
    let good = node.conf("");
    let c = |name, env, code| case(name, env, good.clone(), code);
    let s = |name, from: &str, to: &str, code| case(name, vec![], with(node, from, to), code);
    // Deep nesting inside a field the plugin decodes (unknown keys are skipped without decoding).
    let nested = with(
        node,
        r#""ipMasq""#,
        &format!(
            r#""prevResult":{}{},"ipMasq""#,
            "[".repeat(5000),
            "]".repeat(5000)
        ),
    );
    let huge = format!(
        r#"{{"cniVersion":"1.1.0","pad":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    let pm = |frag: &str| {
        good.replacen(
            r#""ipMasq""#,
            &format!(r#""runtimeConfig":{{"portMappings":[{frag}]}},"ipMasq""#),
            1,
        )
    };
    vec![
        // CNI environment (code 4, or 3 for a namespace that does not exist).
        c("CNI_COMMAND empty", vec![set("CNI_COMMAND", "")], 4),
        c("CNI_COMMAND lowercase", vec![set("CNI_COMMAND", "add")], 4),
        c("CNI_COMMAND unknown", vec![set("CNI_COMMAND", "FROB")], 4),
        c("CNI_CONTAINERID missing", vec![unset("CNI_CONTAINERID")], 4),
        c("CNI_NETNS missing", vec![unset("CNI_NETNS")], 4),
        c("CNI_IFNAME missing", vec![unset("CNI_IFNAME")], 4),
        c("CNI_PATH missing", vec![unset("CNI_PATH")], 4),
        c(
            "three variables missing",
            vec![
                unset("CNI_CONTAINERID"),
                unset("CNI_NETNS"),
                unset("CNI_IFNAME"),
            ],
            4,
        ),
        c(
            "CNI_CONTAINERID with slash",
            vec![set("CNI_CONTAINERID", "a/b")],
            4,
        ),
        c(
            "CNI_CONTAINERID with space",
            vec![set("CNI_CONTAINERID", "a b")],
            4,
        ),
        c(
            "CNI_CONTAINERID leading dash",
            vec![set("CNI_CONTAINERID", "-abc")],
            4,
        ),
        c(
            "CNI_CONTAINERID non-ascii",
            vec![set("CNI_CONTAINERID", "caf\u{e9}")],
            4,
        ),
        c(
            "CNI_CONTAINERID dot-dot",
            vec![set("CNI_CONTAINERID", "..")],
            4,
        ),
        c("CNI_IFNAME empty", vec![set("CNI_IFNAME", "")], 4),
        c(
            "CNI_IFNAME 16 characters",
            vec![set("CNI_IFNAME", "abcdefghijklmnop")],
            4,
        ),
        c("CNI_IFNAME dot", vec![set("CNI_IFNAME", ".")], 4),
        c("CNI_IFNAME dot-dot", vec![set("CNI_IFNAME", "..")], 4),
        c("CNI_IFNAME slash", vec![set("CNI_IFNAME", "a/b")], 4),
        c("CNI_IFNAME colon", vec![set("CNI_IFNAME", "eth0:1")], 4),
        c("CNI_IFNAME space", vec![set("CNI_IFNAME", "et h0")], 4),
        c(
            "CNI_NETNS relative",
            vec![set("CNI_NETNS", "run/netns/x")],
            4,
        ),
        c(
            "CNI_NETNS does not exist",
            vec![set("CNI_NETNS", "/run/netns/pn-does-not-exist")],
            3,
        ),
        c(
            "CNI_NETNS is a proc file",
            vec![set("CNI_NETNS", "/proc/self/status")],
            4,
        ),
        c(
            "CNI_NETNS is a regular file",
            vec![set("CNI_NETNS", "/etc/hostname")],
            4,
        ),
        c(
            "CNI_NETNS is a mount namespace",
            vec![set("CNI_NETNS", "/proc/self/ns/mnt")],
            4,
        ),
        c(
            "CNI_NETNS is a directory",
            vec![set("CNI_NETNS", "/run")],
            4,
        ),
        c(
            "CNI_ARGS malformed",
            vec![set("CNI_ARGS", "K8S_POD_NAME")],
            4,
        ),
        c(
            "DEL without CNI_CONTAINERID",
            vec![set("CNI_COMMAND", "DEL"), unset("CNI_CONTAINERID")],
            4,
        ),
        c(
            "CHECK without CNI_NETNS",
            vec![set("CNI_COMMAND", "CHECK"), unset("CNI_NETNS")],
            4,
        ),
        // stdin that does not decode (code 6).
        case("stdin empty", vec![], String::new(), 6),
        case("stdin whitespace", vec![], " \n\t".into(), 6),
        case(
            "stdin truncated",
            vec![],
            good[..good.len() / 2].to_string(),
            6,
        ),
        case("stdin not JSON", vec![], "hello".into(), 6),
        case("stdin a JSON array", vec![], "[1,2]".into(), 6),
        case("stdin deeply nested", vec![], nested, 6),
        case("stdin over 1 MiB", vec![], huge, 6),
        s("mtu is a string", r#""mtu":1500"#, r#""mtu":"1500""#, 6),
        s("name is a number", r#""name":"podnet""#, r#""name":7"#, 6),
        s(
            "ipMasq is a string",
            r#""ipMasq":true"#,
            r#""ipMasq":"yes""#,
            6,
        ),
        case(
            "ipam is a string",
            vec![],
            r#"{"cniVersion":"1.1.0","name":"n","type":"podnet","ipam":"x"}"#.into(),
            6,
        ),
        // Versions (code 1).
        s(
            "cniVersion 0.2.0",
            r#""cniVersion":"1.1.0""#,
            r#""cniVersion":"0.2.0""#,
            1,
        ),
        s(
            "cniVersion 9.9.9",
            r#""cniVersion":"1.1.0""#,
            r#""cniVersion":"9.9.9""#,
            1,
        ),
        // Invalid network config (code 7; 2 for IPv6, recognised but unsupported).
        s("cniVersion missing", r#""cniVersion":"1.1.0","#, "", 7),
        s("name missing", r#""name":"podnet","#, "", 7),
        s(
            "name with a space",
            r#""name":"podnet""#,
            r#""name":"pod net""#,
            7,
        ),
        s("type missing", r#""type":"podnet","#, "", 7),
        s(
            "type is a path",
            r#""type":"podnet""#,
            r#""type":"../../sbin/reboot""#,
            7,
        ),
        s(
            "ipam.type is a path (CVE-2021-20206)",
            r#""subnet""#,
            r#""type":"../../sbin/reboot","subnet""#,
            7,
        ),
        s(
            "ipam.type is absolute",
            r#""subnet""#,
            r#""type":"/bin/sh","subnet""#,
            7,
        ),
        s(
            "ipam.type not in CNI_PATH",
            r#""subnet""#,
            r#""type":"no-such-ipam","subnet""#,
            7,
        ),
        case(
            "ipam missing",
            vec![],
            r#"{"cniVersion":"1.1.0","name":"n","type":"podnet"}"#.into(),
            7,
        ),
        s(
            "bridge name too long",
            r#""bridge":"podnet0""#,
            r#""bridge":"podnet0123456789ab""#,
            7,
        ),
        s(
            "bridge name with slash",
            r#""bridge":"podnet0""#,
            r#""bridge":"pod/net""#,
            7,
        ),
        s("mtu too small", r#""mtu":1500"#, r#""mtu":10"#, 7),
        s("mtu too large", r#""mtu":1500"#, r#""mtu":70000"#, 7),
        s("subnet /33", "10.244.1.0/24", "10.244.1.0/33", 7),
        s("subnet with host bits", "10.244.1.0/24", "10.244.1.5/24", 7),
        s(
            "subnet with a leading zero",
            "10.244.1.0/24",
            "010.244.1.0/24",
            7,
        ),
        s("subnet IPv6", "10.244.1.0/24", "fd00::/64", 2),
        s("subnet /31", "10.244.1.0/24", "10.244.1.0/31", 7),
        s("subnet multicast", "10.244.1.0/24", "224.1.0.0/24", 7),
        s("subnet loopback", "10.244.1.0/24", "127.0.0.0/24", 7),
        s("subnet without prefix", "10.244.1.0/24", "10.244.1.0", 7),
        s(
            "gateway outside the subnet",
            r#""subnet""#,
            r#""gateway":"10.9.9.1","subnet""#,
            7,
        ),
        s(
            "gateway is the network address",
            r#""subnet""#,
            r#""gateway":"10.244.1.0","subnet""#,
            7,
        ),
        s(
            "gateway is the broadcast address",
            r#""subnet""#,
            r#""gateway":"10.244.1.255","subnet""#,
            7,
        ),
        s(
            "gateway with a leading zero",
            r#""subnet""#,
            r#""gateway":"10.244.1.01","subnet""#,
            7,
        ),
        s(
            "gateway with a zone",
            r#""subnet""#,
            r#""gateway":"10.244.1.1%eth0","subnet""#,
            7,
        ),
        s(
            "gateway v4-mapped IPv6",
            r#""subnet""#,
            r#""gateway":"::ffff:10.244.1.1","subnet""#,
            2,
        ),
        s(
            "clusterCIDR does not contain the subnet",
            "10.244.0.0/16",
            "10.96.0.0/16",
            7,
        ),
        s(
            "clusterCIDR with host bits",
            "10.244.0.0/16",
            "10.244.0.1/16",
            7,
        ),
        s(
            "dataDir relative",
            r#""dataDir":""#,
            r#""dataDir":"rel/"#,
            7,
        ),
        s(
            "dataDir with ..",
            r#""dataDir":""#,
            r#""dataDir":"/tmp/../"#,
            7,
        ),
        case(
            "hostPort 0",
            vec![],
            pm(r#"{"hostPort":0,"containerPort":80}"#),
            7,
        ),
        case(
            "hostPort over 65535",
            vec![],
            pm(r#"{"hostPort":70000,"containerPort":80}"#),
            7,
        ),
        case(
            "containerPort negative",
            vec![],
            pm(r#"{"hostPort":8080,"containerPort":-1}"#),
            7,
        ),
        case(
            "protocol icmp",
            vec![],
            pm(r#"{"hostPort":8080,"containerPort":80,"protocol":"icmp"}"#),
            7,
        ),
        case(
            "hostIP multicast",
            vec![],
            pm(r#"{"hostPort":8080,"containerPort":80,"hostIP":"224.0.0.1"}"#),
            7,
        ),
        case(
            "hostIP garbage",
            vec![],
            pm(r#"{"hostPort":8080,"containerPort":80,"hostIP":"$(reboot)"}"#),
            7,
        ),
        case(
            "hostPort is a string",
            vec![],
            pm(r#"{"hostPort":"80","containerPort":80}"#),
            6,
        ),
        s(
            "prevResult not an object",
            r#""ipMasq""#,
            r#""prevResult":[],"ipMasq""#,
            7,
        ),
        c(
            "CHECK without prevResult",
            vec![set("CNI_COMMAND", "CHECK")],
            7,
        ),
        c(
            "GC without valid-attachments",
            vec![set("CNI_COMMAND", "GC")],
            7,
        ),
        s(
            "STATUS on cniVersion 1.0.0",
            r#""cniVersion":"1.1.0""#,
            r#""cniVersion":"1.0.0""#,
            1,
        )
        .with_env(vec![set("CNI_COMMAND", "STATUS")]),
        s(
            "no subnet and no node facts",
            r#""subnet":"10.244.1.0/24","#,
            r#""nodeFacts":"/run/pn-test-none/node.json","#,
            11,
        ),
        c(
            "pod already has the interface",
            vec![set("CNI_IFNAME", "taken0")],
            100,
        ),
    ]
    .into_iter()
    .map(|mut k| {
        k.env.insert(0, ("CNI_NETNS", Some(pod.to_string())));
        k
    })
    .collect()
}

impl Case {
    fn with_env(mut self, env: Vec<(&'static str, Option<String>)>) -> Self {
        self.env = env;
        self
    }
}

fn run(node: &Node, k: &Case) -> (i32, Value, String) {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net={}", node.ns.path().display()))
        .arg(PLUGIN)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", "ADD")
        .env("CNI_CONTAINERID", "bad-input")
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", "/usr/lib/cni");
    for (key, v) in &k.env {
        match v {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A plugin may stop reading an oversized stdin early; a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(k.stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_bad_input_gets_its_code_and_leaves_nothing() {
    let node = Node::new("bad");
    let pod = node.pod("p");
    node.ns
        .run(&[
            "nsenter",
            &format!("--net={pod}"),
            "ip",
            "link",
            "add",
            "taken0",
            "type",
            "veth",
            "peer",
            "name",
            "taken1",
        ])
        .unwrap();
    let cases = cases(&node, &pod);
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for k in &cases {
        let (exit, v, stderr) = run(&node, k);
        let code = v["code"].as_u64();
        let msg = v["msg"].as_str().unwrap_or_default();
        if exit == 0 || code != Some(k.code) || msg.is_empty() || stderr.contains("panicked") {
            failures.push(format!(
                "{}: exit {exit}, want code {}, got {v} {stderr}",
                k.name, k.code
            ));
        }
        if !node.allocations().is_empty()
            || !node.veths().is_empty()
            || node.nft_elements() != 0
            || has_link(&pod, "eth0")
        {
            failures.push(format!("{}: left something behind", k.name));
        }
    }
    assert!(
        has_link(&pod, "taken0"),
        "the pod's own interface must survive a conflicting ADD"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn exhaustion_is_code_11_and_leaves_nothing() {
    let node = Node::new("exh");
    let conf = node.conf_with("10.244.1.0/30", "");
    let (p1, p2) = (node.pod("a"), node.pod("b"));
    assert_eq!(node.cni("ADD", "first", &p1, &conf).0, 0);
    let (code, e) = node.cni("ADD", "second", &p2, &conf);
    assert_eq!((code, e["code"].as_u64()), (1, Some(11)), "{e}");
    assert!(
        e["msg"]
            .as_str()
            .unwrap()
            .contains("no free address in 10.244.1.0/30"),
        "{e}"
    );
    assert!(!has_link(&p2, "eth0"));
    assert_eq!(node.allocations().len(), 1);
    assert_eq!(node.cni("DEL", "first", &p1, &conf).0, 0);
    node.assert_clean("after exhaustion");
}

/// `podnet lab up` with a bad flag: a non-zero exit, a message naming the flag (and the value),
/// no panic, and nothing built — no `pnlab-NAME-*` namespace, no state directory.
#[test]
fn bad_lab_flags_are_refused_before_anything_is_built() {
    let name = format!("bf{}", std::process::id() % 100_000);
    let prefix = format!("pnlab-{name}-");
    // Values bad under any future limit too: a case that became valid would build a lab.
    let cases: &[(&[&str], &str)] = &[
        (&["--pods-per-node", "0"], "--pods-per-node 0:"),
        (&["--pods-per-node", "1000000"], "--pods-per-node 1000000:"),
        // Too large for the type: clap refuses it, naming the flag too.
        (
            &["--pods-per-node", "99999999999999999999999"],
            "--pods-per-node",
        ),
        (&["--nodes", "0"], "--nodes 0:"),
        (&["--nodes", "300"], "--nodes 300:"),
        (&["--segments", "0"], "--segments 0:"),
        (&["--segments", "300"], "--segments 300:"),
        (
            &["--segments", "3", "--nodes", "2"],
            "--segments 3: more segments than --nodes (2)",
        ),
        (&["--backend", "bgp"], "--backend \"bgp\""),
        (&["--store", "zk"], "--store \"zk\""),
        (&["--pod-path", "macvlan"], "--pod-path \"macvlan\""),
    ];
    let mut failures = Vec::new();
    for (flags, want) in cases {
        let mut args = vec!["lab", "up", "--name", &name];
        args.extend_from_slice(flags);
        let out = Command::new(PLUGIN).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !stderr.contains(want) || stderr.contains("panicked") {
            failures.push(format!(
                "{flags:?}: {}, want a message with {want:?}, got: {}",
                out.status,
                stderr.trim()
            ));
        }
        let left = common::netns_with_prefix(&prefix);
        if !left.is_empty() {
            failures.push(format!("{flags:?}: namespaces created: {left:?}"));
            let _ = Command::new(PLUGIN)
                .args(["lab", "down", "--name", &name])
                .output();
        }
        if std::path::Path::new(&format!("/run/podnet/labs/{name}")).exists() {
            failures.push(format!("{flags:?}: a state directory was created"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad lab flags:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
