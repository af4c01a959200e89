//! Tier 4: the lab's kubelet. Pods applied to a real lab are made for real — the NetworkPolicy
//! e2e suite's nine pods (examples/netpol-pods.yaml) answer on every declared port, TCP and
//! UDP, from every other pod, naming themselves and the client's own pod IP (no NAT) — and
//! deleting them (by name, or with their Namespace) gives their address back to the node's IPAM
//! store and removes their network namespace; relabelling changes only the object, a changed
//! spec and an unknown node are refused with nothing made. A spec's manifests are applied after
//! `up`, with placement, the network modes and `lab exec NS/POD`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::lab::{ok, podnet, Lab};
use common::PLUGIN;
use serde_json::Value;

const NETPOL_PODS: &str = include_str!("../../../examples/netpol-pods.yaml");
const PORTS: [u16; 2] = [80, 81];
/// Per attempt; a probe tries again until [`PROBE_DEADLINE`] (the first packet to a new
/// neighbour waits for ARP, and a loaded machine answers late). On a quiet machine every probe
/// answers at its first attempt.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
const PROBE_DEADLINE: Duration = Duration::from_secs(6);

/// Runs podnet with `input` on stdin.
fn podnet_in(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(PLUGIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run podnet");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One pod as `lab get pods -o json` shows it.
#[derive(Debug, Clone)]
struct PodView {
    key: String,
    node: String,
    ip: Ipv4Addr,
    phase: String,
    ready: bool,
    host_ip: String,
}

fn pods(lab: &Lab) -> BTreeMap<String, PodView> {
    let out = ok(
        &podnet(&["lab", "get", "--name", &lab.0, "pods", "-A", "-o", "json"]),
        "lab get pods -A -o json",
    );
    let list: Value = serde_json::from_str(&out).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let key = format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap(),
                p["metadata"]["name"].as_str().unwrap()
            );
            let status = &p["status"];
            let ready = status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            assert_eq!(status["podIPs"][0]["ip"], status["podIP"], "{p}");
            let view = PodView {
                key: key.clone(),
                node: p["spec"]["nodeName"].as_str().unwrap_or("").to_owned(),
                ip: status["podIP"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(Ipv4Addr::UNSPECIFIED),
                phase: status["phase"].as_str().unwrap_or("").to_owned(),
                ready,
                host_ip: status["hostIP"].as_str().unwrap_or("").to_owned(),
            };
            (key, view)
        })
        .collect()
}

/// The netpol pods (not the lab's own in `default`).
fn netpol(all: &BTreeMap<String, PodView>) -> Vec<PodView> {
    all.values()
        .filter(|p| !p.key.starts_with("default/"))
        .cloned()
        .collect()
}

/// The pod's network namespace, as the lab names it.
fn netns(lab: &Lab, key: &str) -> String {
    format!("pnlab-{}-{}", lab.0, key.replacen('/', ".", 1))
}

fn tcp_probe(to: SocketAddr) -> Result<String, String> {
    let mut c = TcpStream::connect_timeout(&to, PROBE_TIMEOUT).map_err(|e| e.to_string())?;
    c.set_read_timeout(Some(PROBE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut body = String::new();
    c.read_to_string(&mut body).map_err(|e| e.to_string())?;
    Ok(body)
}

fn udp_probe(to: SocketAddr) -> Result<String, String> {
    let s = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(PROBE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.send_to(b"probe", to).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 512];
    let n = s.recv(&mut buf).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// From inside `src`'s network namespace (this thread only), every port of every other pod
/// over TCP and UDP; the failures, each with what was seen.
fn probe_from(lab: &Lab, src: &PodView, all: &[PodView]) -> (usize, Vec<String>) {
    let path = format!("/run/netns/{}", netns(lab, &src.key));
    podnet_netns::enter(Path::new(&path)).unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for dst in all.iter().filter(|d| d.key != src.key) {
        for port in PORTS {
            for proto in ["tcp", "udp"] {
                n += 1;
                let to = SocketAddr::from((dst.ip, port));
                let want = format!("podnet serve {}: hello {}:", dst.key, src.ip);
                let mut last = String::new();
                let start = Instant::now();
                let answered =
                    std::iter::from_fn(|| (start.elapsed() < PROBE_DEADLINE).then_some(())).any(
                        |()| {
                            let got = if proto == "tcp" {
                                tcp_probe(to)
                            } else {
                                udp_probe(to)
                            };
                            last = got.unwrap_or_else(|e| format!("no answer: {e}"));
                            last.contains(&want)
                        },
                    );
                if !answered {
                    failures.push(format!(
                        "{} → {} {port}/{proto}: want {want:?}, got {last:?}",
                        src.key, dst.key
                    ));
                }
            }
        }
    }
    (n, failures)
}

/// `curl URL` in `target` (a pod or node), tried again for a few seconds; its body.
fn curl(lab: &Lab, target: &str, url: &str) -> String {
    let start = Instant::now();
    loop {
        let out = lab.exec(target, &["curl", "-s", "--max-time", "1", url]);
        if out.status.success() || start.elapsed() > PROBE_DEADLINE {
            return ok(&out, &format!("curl {url} in {target}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The node's IPAM allocations: (container ID, address).
fn allocations(lab: &Lab, node: &str) -> Vec<(String, Ipv4Addr)> {
    let dir = format!("/run/podnet/labs/{}/{node}/ipam", lab.0);
    podnet_ipam::Store::open(Path::new(&dir))
        .unwrap()
        .list_all()
        .unwrap()
        .into_iter()
        .map(|a| (a.container_id, a.ip))
        .collect()
}

/// The PID of the lab's process recorded as `what`, if any.
fn pid_of(lab: &Lab, what: &str) -> Option<u32> {
    lab.state()["procs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["what"] == what)
        .and_then(|p| p["pid"].as_u64())
        .map(|p| p as u32)
}

/// Whether `pid` runs `podnet serve` (not a zombie, not another program under a reused PID).
fn serving(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("serve"))
}

#[test]
fn netpol_pods_are_made_for_real_and_removed_for_real() {
    let lab = Lab::up("np", &["--nodes", "2", "--pods-per-node", "1"]);
    let n = lab.0.as_str();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/netpol-pods.yaml"
    );

    let t = Instant::now();
    let out = podnet(&["lab", "apply", "--name", n, "-f", file]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let apply_took = t.elapsed();
    let mut want = String::from("namespace/x created\nnamespace/y created\nnamespace/z created\n");
    for _ in 0..3 {
        want.push_str("pod/a created\npod/b created\npod/c created\n");
    }
    assert_eq!(stdout, want);
    assert_eq!(
        stderr.matches("kubelet: pod ").count(),
        9,
        "one line per pod made: {stderr}"
    );

    // Nine pods, Running and Ready, with addresses, spread over both nodes (fewest pods first).
    let all = pods(&lab);
    let np = netpol(&all);
    assert_eq!(np.len(), 9, "{all:?}");
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &np {
        assert_eq!((p.phase.as_str(), p.ready), ("Running", true), "{p:?}");
        assert_ne!(p.ip, Ipv4Addr::UNSPECIFIED, "{p:?}");
        assert!(p.host_ip.starts_with("198.18."), "{p:?}");
        *per_node.entry(p.node.as_str()).or_default() += 1;
        assert!(
            common::netns_with_prefix(&netns(&lab, &p.key)).contains(&netns(&lab, &p.key)),
            "{} has no namespace",
            p.key
        );
    }
    assert_eq!(per_node.len(), 2, "{per_node:?}");
    assert!(per_node.values().all(|&c| c >= 4), "{per_node:?}");
    let ips: std::collections::BTreeSet<Ipv4Addr> = all.values().map(|p| p.ip).collect();
    assert_eq!(ips.len(), all.len(), "addresses are unique: {all:?}");

    // -o wide: every pod with its IP and node, as kubectl prints them.
    let wide = ok(
        &podnet(&["lab", "get", "--name", n, "pods", "-A", "-o", "wide"]),
        "lab get pods -A -o wide",
    );
    let mut lines = wide.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE"
        ]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), all.len(), "{wide}");
    for p in &np {
        let (ns, name) = p.key.split_once('/').unwrap();
        let row = rows
            .iter()
            .find(|r| r[0] == ns && r[1] == name)
            .unwrap_or_else(|| panic!("{} not in {wide}", p.key));
        assert_eq!(
            (row[2], row[3], row[6], row[7]),
            ("1/1", "Running", p.ip.to_string().as_str(), p.node.as_str()),
            "{wide}"
        );
    }

    // Every pod answers on 80 and 81, TCP and UDP, from every other pod: it names itself and
    // the sender's own pod IP (no NAT). 9 × 8 × 4 probes, one thread per source pod.
    let t = Instant::now();
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let threads: Vec<_> = np
            .iter()
            .map(|src| s.spawn(|| probe_from(&lab, src, &np)))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let probes: usize = results.iter().map(|(n, _)| n).sum();
    let failures: Vec<&String> = results.iter().flat_map(|(_, f)| f).collect();
    assert_eq!(probes, 9 * 8 * 4);
    assert!(
        failures.is_empty(),
        "{} of {probes} probes failed:\n{failures:#?}",
        failures.len()
    );
    eprintln!(
        "apply of 9 pods: {apply_took:?}; {probes} probes: {:?}",
        t.elapsed()
    );

    // The same manifest again changes nothing; a new label is `configured`, and only the
    // object changes: the same server, address and namespace.
    let again = podnet_in(&["lab", "apply", "--name", n, "-f", "-"], NETPOL_PODS);
    let (stdout, stderr) = text(&again);
    assert!(again.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, want.replace(" created", " unchanged"));
    assert!(!stderr.contains("kubelet"), "nothing to make: {stderr}");
    let server = pid_of(&lab, "serve x/a").unwrap();
    let relabelled = NETPOL_PODS.replacen(
        "name: a\n  namespace: x\n  labels: {pod: a}",
        "name: a\n  namespace: x\n  labels: {pod: a, tier: web}",
        1,
    );
    assert_ne!(relabelled, NETPOL_PODS);
    let out = podnet_in(&["lab", "apply", "--name", n, "-f", "-"], &relabelled);
    let applied = Instant::now();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.matches("configured").count(), 1, "{stdout}");
    assert!(stdout.contains("pod/a configured"), "{stdout}");
    let labelled = loop {
        let json = ok(
            &podnet(&[
                "lab", "get", "--name", n, "pod", "a", "-n", "x", "-o", "json",
            ]),
            "lab get pod a -n x",
        );
        let v: Value = serde_json::from_str(&json).unwrap();
        if v["metadata"]["labels"]["tier"] == "web" || applied.elapsed() > Duration::from_secs(1) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(labelled["metadata"]["labels"]["tier"], "web", "{labelled}");
    assert!(applied.elapsed() < Duration::from_secs(1));
    assert_eq!(labelled["status"]["podIP"], all["x/a"].ip.to_string());
    assert_eq!(
        pid_of(&lab, "serve x/a"),
        Some(server),
        "the pod was not restarted"
    );
    assert!(serving(server));

    // A changed spec is refused as the API server refuses it, and nothing changes.
    let moved = relabelled.replacen(
        "name: b\n  namespace: x",
        "name: b\n  namespace: x\n  annotations: {moved: 'yes'}",
        1,
    );
    let moved = {
        // x/b's first port, 80 → 82.
        let at = moved.find("name: b\n  namespace: x").unwrap();
        let (head, tail) = moved.split_at(at);
        format!(
            "{head}{}",
            tail.replacen(
                "containerPort: 80, protocol: TCP",
                "containerPort: 82, protocol: TCP",
                1
            )
        )
    };
    let out = podnet_in(&["lab", "apply", "--name", n, "-f", "-"], &moved);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("Pod \"b\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"),
        "{stderr}"
    );
    let b = ok(
        &podnet(&[
            "lab", "get", "--name", n, "pod", "b", "-n", "x", "-o", "json",
        ]),
        "lab get pod b",
    );
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(b["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
    assert!(b["metadata"]["annotations"]["moved"].is_null(), "{b}");

    // A node the lab does not have: refused naming spec.nodeName, nothing stored or made.
    let nope = "apiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: x}\n\
                spec: {nodeName: nope, containers: [{name: c, ports: [{containerPort: 80}]}]}\n";
    let out = podnet_in(&["lab", "apply", "--name", n, "-f", "-"], nope);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("Pod \"d\" is invalid: spec.nodeName: Invalid value: \"nope\""),
        "{stderr}"
    );
    let get = podnet(&["lab", "get", "--name", n, "pod", "d", "-n", "x"]);
    assert_eq!(
        text(&get).1,
        "Error from server (NotFound): pods \"d\" not found\n"
    );
    assert_eq!(
        common::netns_with_prefix(&netns(&lab, "x/d")),
        Vec::<String>::new()
    );
    assert!(lab.state()["pods"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["name"] != "d"));

    // The node bridges' MAC is fixed (0a:58 + the gateway): removing the port whose MAC the
    // kernel would otherwise have given the bridge must not cut the others off the gateway.
    let bridge_macs = || -> Vec<String> {
        ["n1", "n2"]
            .iter()
            .map(|node| {
                let j = ok(
                    &lab.exec(node, &["ip", "-j", "link", "show", "podnet0"]),
                    "ip link",
                );
                let v: Value = serde_json::from_str(&j).unwrap();
                v[0]["address"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let macs = bridge_macs();
    assert!(
        macs.iter().all(|m| m.starts_with("0a:58:0a:f4:")),
        "{macs:?}"
    );

    // Deleting a pod: CNI DEL gives its address back, its server stops, its namespace goes.
    let a = &all["x/a"];
    let cid = netns(&lab, "x/a");
    assert!(allocations(&lab, &a.node).contains(&(cid.clone(), a.ip)));
    let out = ok(
        &podnet(&["lab", "delete", "--name", n, "pod", "a", "-n", "x"]),
        "lab delete pod a -n x",
    );
    assert!(out.contains("pod \"a\" deleted"), "{out}");
    assert!(
        out.contains(&format!(
            "kubelet: pod x/a removed (CNI DEL: {} released)",
            a.ip
        )),
        "{out}"
    );
    assert!(
        allocations(&lab, &a.node)
            .iter()
            .all(|(c, ip)| *c != cid && *ip != a.ip),
        "{:?}",
        allocations(&lab, &a.node)
    );
    assert_eq!(common::netns_with_prefix(&cid), Vec::<String>::new());
    assert!(!serving(server), "the server of x/a still runs");
    assert_eq!(pid_of(&lab, "serve x/a"), None);

    // Deleting a Namespace takes its pods along, each removed the same way.
    let y: Vec<PodView> = np
        .iter()
        .filter(|p| p.key.starts_with("y/"))
        .cloned()
        .collect();
    ok(
        &podnet(&["lab", "delete", "--name", n, "namespace", "y"]),
        "lab delete namespace y",
    );
    for p in &y {
        let cid = netns(&lab, &p.key);
        assert_eq!(common::netns_with_prefix(&cid), Vec::<String>::new());
        assert!(
            allocations(&lab, &p.node).iter().all(|(c, _)| *c != cid),
            "{} still holds an address",
            p.key
        );
    }
    let left: Vec<PodView> = netpol(&pods(&lab));
    let keys: Vec<&str> = left.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["x/b", "x/c", "z/a", "z/b", "z/c"]);
    assert_eq!(bridge_macs(), macs);
    // The ones left still answer each other, at once (no gateway lost to a stale ARP entry).
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let threads: Vec<_> = left
            .iter()
            .map(|src| s.spawn(|| probe_from(&lab, src, &left)))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let failures: Vec<&String> = results.iter().flat_map(|(_, f)| f).collect();
    assert!(failures.is_empty(), "after the deletes: {failures:#?}");
}

/// A spec's `manifests:` (relative to the spec file) are applied after `up`: a pod without a
/// node goes to the emptier node, the network modes come from `hostNetwork` and the
/// annotation, and `lab exec NS/POD` runs in the pod's namespace.
#[test]
fn a_spec_applies_its_manifests_after_up() {
    let manifest = "\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers: [{name: web, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: sidecar
  namespace: shop
  annotations: {podnet.dev/network-mode: 'container:web'}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: quiet
  namespace: shop
  annotations: {podnet.dev/network-mode: none}
spec: {nodeName: n1, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: tools, namespace: shop}
spec: {nodeName: n1, hostNetwork: true, containers: [{name: c, ports: [{containerPort: 7070}]}]}
";
    let lab = Lab::up_files("sm", &[("shop.yaml", manifest)], |name| {
        format!(
            "name: {name}\nnodes: [{{name: n1}}, {{name: n2}}]\n\
             pods: [{{name: a, node: n1}}]\nmanifests: [shop.yaml]\n"
        )
    });
    let n = lab.0.as_str();
    let all = pods(&lab);
    let keys: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "default/a",
            "shop/quiet",
            "shop/sidecar",
            "shop/tools",
            "shop/web"
        ]
    );
    for p in all.values() {
        assert_eq!((p.phase.as_str(), p.ready), ("Running", true), "{p:?}");
    }
    // n1 has a; web (no node) goes to n2, and its sidecar with it, sharing its address.
    assert_eq!(all["shop/web"].node, "n2");
    assert_eq!(all["shop/sidecar"].node, "n2");
    assert_eq!(all["shop/sidecar"].ip, all["shop/web"].ip);
    // The host pod's address is its node's, and it serves its port there.
    assert_eq!(all["shop/tools"].ip.to_string(), "198.18.0.11");
    assert_eq!(all["shop/tools"].host_ip, "198.18.0.11");
    let body = curl(&lab, "default/a", "http://198.18.0.11:7070/");
    assert!(body.contains("podnet serve shop/tools: hello"), "{body}");
    // none: loopback only, and no address.
    assert_eq!(all["shop/quiet"].ip, Ipv4Addr::UNSPECIFIED);
    let links = ok(
        &lab.exec("shop/quiet", &["ip", "-o", "link"]),
        "exec shop/quiet",
    );
    assert_eq!(links.lines().count(), 1, "{links}");
    // exec NS/POD: inside web's namespace, where the sidecar answers on loopback.
    let side = curl(&lab, "shop/web", "http://127.0.0.1:8082/");
    assert!(
        side.contains("podnet serve shop/sidecar: hello 127.0.0.1:"),
        "{side}"
    );
    // lab status and lab check name pods NS/NAME.
    let status = ok(&podnet(&["lab", "status", "--name", n]), "lab status");
    assert!(status.contains("shop/web"), "{status}");
    // The whole matrix, once the agents have their peers (a first check right after `up` on a
    // busy machine may still miss one).
    let green = (0..5).any(|_| lab.check().status.success());
    let check = ok(&lab.check(), "lab check");
    assert!(
        green && check.contains("shop/web") && check.contains(" 0 failed"),
        "{check}"
    );
}
