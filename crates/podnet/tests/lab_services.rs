//! Tier 4: Services on the real lab. examples/services.yaml applied to a 3-node lab — on bridge
//! pods over vxlan, and on eBPF fast-path pods over host-gw — passes every Service section of
//! `lab check` (cluster IPs from every pod and node, answered by an endpoint that saw the
//! client's own address; no endpoints refused; node ports from the internet namespace under
//! both policies; affinity); exactly one agent runs the endpoints controller and every proxy
//! applied its table without error. On the bridge lab besides: a Service's only pod replaced
//! 20 times under a client asking without pause (graceful deletion: 0 failed requests), a UDP
//! Service scaled to zero
//! and back answers the same client socket again within 2 s of the new endpoint (stale
//! conntrack entries deleted), and killing the endpoints leader hands the controller to
//! another agent, which updates the slices within the lease TTL.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::lab::{ok, podnet, Lab};
use serde_json::Value;

const SERVICES: &str = include_str!("../../../examples/services.yaml");
const NODES: [&str; 3] = ["n1", "n2", "n3"];
/// The lab's agents lease with a 30 s TTL: the endpoints leader key expires within it.
const LEASE_TTL: Duration = Duration::from_secs(30);

fn udp_pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: demo, labels: {{app: udp}}}}\nspec:\n  nodeName: n2\n  containers:\n  - name: serve\n    ports: [{{name: echo, containerPort: 8080, protocol: UDP}}]\n"
    )
}

const UDP_SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: udp, namespace: demo}\nspec:\n  clusterIP: 10.96.7.53\n  selector: {app: udp}\n  ports: [{name: echo, port: 53, protocol: UDP, targetPort: echo}]\n";

fn apply(lab: &Lab, manifest: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, manifest).unwrap();
    ok(
        &podnet(&[
            "lab",
            "apply",
            "--name",
            &lab.0,
            "-f",
            &path.display().to_string(),
        ]),
        "lab apply",
    )
}

/// `lab check` until it passes (the endpoints controller and the proxies converge within a
/// second or two of the apply); the last output.
fn check_passes(lab: &Lab) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = lab.check();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "lab check still fails after 30 s:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn assert_sections(text: &str, sections: &[&str]) {
    for s in sections {
        let line = text
            .lines()
            .find(|l| l.starts_with(s))
            .unwrap_or_else(|| panic!("no {s:?} section in:\n{text}"));
        assert!(line.trim_end().ends_with("ok"), "{line}\n{text}");
    }
}

/// `lab get endpointslices -n demo -o json`.
fn slices(lab: &Lab) -> Value {
    let out = ok(
        &podnet(&[
            "lab",
            "get",
            "--name",
            &lab.0,
            "endpointslices",
            "-n",
            "demo",
            "-o",
            "json",
        ]),
        "lab get endpointslices",
    );
    serde_json::from_str(&out).unwrap()
}

fn controllers(lab: &Lab, node: &str) -> Value {
    lab.agent_status(node)["controllers"].clone()
}

fn leaders(lab: &Lab) -> Vec<&'static str> {
    NODES
        .into_iter()
        .filter(|n| controllers(lab, n)["endpoints"]["leader"] == true)
        .collect()
}

fn services_pass(lab: &Lab) {
    apply(lab, SERVICES);
    let text = check_passes(lab);
    assert_sections(
        &text,
        &[
            "pod→service ",
            "pod→service udp",
            "node→service ",
            "node→service udp",
            "service without endpoints",
            "internet→nodeport",
            "session affinity",
        ],
    );
    assert_eq!(leaders(lab).len(), 1, "exactly one endpoints leader");
    for n in NODES {
        let p = &controllers(lab, n)["proxy"];
        assert!(p["passes"].as_u64().unwrap_or(0) > 0, "{n}: {p}");
        assert!(p.get("lastError").is_none(), "{n}: {p}");
        assert_eq!(p["fullSyncs"], 1, "{n}: one rebuild, at start: {p}");
        assert!(p["servicePorts"].as_u64().unwrap_or(0) >= 5, "{n}: {p}");
    }
}

#[test]
fn services_on_ebpf_pods_over_host_gw() {
    let lab = Lab::up(
        "sve",
        &[
            "--nodes",
            "3",
            "--pods-per-node",
            "1",
            "--backend",
            "host-gw",
            "--pod-path",
            "ebpf",
        ],
    );
    services_pass(&lab);
}

/// Sends one datagram a 100 ms from one socket (so one conntrack entry) in `netns` to `to`,
/// noting when answers came, until `stop`.
fn udp_client(
    netns: String,
    to: &'static str,
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Instant>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        podnet_netns::enter(&podnet_netns::ns_path(&netns)).unwrap();
        let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        sock.connect(to).unwrap();
        let mut buf = [0u8; 256];
        while !stop.load(Ordering::Relaxed) {
            let _ = sock.send(b"ping");
            if sock.recv(&mut buf).is_ok() {
                answers.lock().unwrap().push(Instant::now());
            } else {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    })
}

fn churn_pod(i: usize) -> String {
    let node = NODES[i % NODES.len()];
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: churn-{i}, namespace: demo, labels: {{app: churn}}}}\nspec:\n  nodeName: {node}\n  containers:\n  - name: serve\n    ports: [{{name: http, containerPort: 8080}}]\n"
    )
}

const CHURN_SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: churn, namespace: demo}\nspec:\n  clusterIP: 10.96.7.80\n  selector: {app: churn}\n  ports: [{name: http, port: 80, targetPort: http}]\n";

/// Waits until `ip` is a ready endpoint in the stored slices and every node's proxy has
/// programmed them (what a rollout waits for before it takes the next old pod away).
fn wait_in_rotation(lab: &Lab, ip: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let list = slices(lab);
        let rev = list["items"].as_array().unwrap().iter().find_map(|s| {
            let listed = s["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["addresses"][0] == ip && e["conditions"]["ready"] != false);
            listed.then(|| {
                s["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
            })
        });
        if let Some(rev) = rev {
            let at = NODES
                .iter()
                .map(|n| {
                    controllers(lab, n)["proxy"]["revision"]
                        .as_i64()
                        .unwrap_or(0)
                })
                .min()
                .unwrap_or(0);
            if at >= rev {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{ip} never entered the Service's rotation"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Requests `http://to/` without pause from `netns` until `stop`: (answered, failed, failures).
fn http_client(
    netns: String,
    to: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(u64, u64, Vec<String>)> {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        podnet_netns::enter(&podnet_netns::ns_path(&netns)).unwrap();
        let addr: std::net::SocketAddr = to.parse().unwrap();
        let (mut okc, mut bad, mut why) = (0, 0, Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let r = (|| -> std::io::Result<String> {
                let mut c = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
                c.set_read_timeout(Some(Duration::from_secs(2)))?;
                c.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
                let mut body = String::new();
                c.read_to_string(&mut body)?;
                Ok(body)
            })();
            match r {
                Ok(body) if body.contains("podnet serve demo/churn-") => okc += 1,
                Ok(body) => {
                    bad += 1;
                    why.push(format!("unexpected answer {body:?}"));
                }
                Err(e) => {
                    bad += 1;
                    why.push(e.to_string());
                }
            }
        }
        (okc, bad, why)
    })
}

fn pod_netns(lab: &Lab, name: &str) -> String {
    lab.state()["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| p["netns"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("pod {name} in the lab state"))
}

#[test]
fn services_on_bridge_pods_churn_udp_scale_to_zero_and_leader_failover() {
    let lab = Lab::up("svb", &["--nodes", "3", "--pods-per-node", "1"]);
    services_pass(&lab);

    // Endpoint churn under traffic: the Service's only pod replaced 20 times, a client asking
    // without pause all along, and not one request fails.
    apply(&lab, &format!("{}---\n{CHURN_SERVICE}", churn_pod(0)));
    wait_in_rotation(&lab, &lab.pod_ip("churn-0"));
    let stop = Arc::new(AtomicBool::new(false));
    let client = http_client(pod_netns(&lab, "n1-a"), "10.96.7.80:80", stop.clone());
    for i in 1..=20 {
        apply(&lab, &churn_pod(i));
        wait_in_rotation(&lab, &lab.pod_ip(&format!("churn-{i}")));
        ok(
            &podnet(&[
                "lab",
                "delete",
                "--name",
                &lab.0,
                "pod",
                &format!("churn-{}", i - 1),
                "-n",
                "demo",
            ]),
            "lab delete the old pod",
        );
    }
    stop.store(true, Ordering::Relaxed);
    let (answered, failed, why) = client.join().unwrap();
    eprintln!("churn: {answered} requests answered, {failed} failed over 20 replacements");
    assert!(
        answered > 100,
        "only {answered} requests in 20 replacements"
    );
    assert_eq!(failed, 0, "failed requests: {:?}", &why[..why.len().min(5)]);

    // A UDP Service, one client socket, the only endpoint deleted and another created.
    apply(&lab, &format!("{}---\n{UDP_SERVICE}", udp_pod("u-1")));
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let st = lab.state();
    let client_ns = st["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "n1-a")
        .map(|p| p["netns"].as_str().unwrap().to_string())
        .expect("pod n1-a in the lab state");
    let client = udp_client(client_ns, "10.96.7.53:53", stop.clone(), answers.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    while answers.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the UDP Service never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    ok(
        &podnet(&[
            "lab", "delete", "--name", &lab.0, "pod", "u-1", "-n", "demo",
        ]),
        "lab delete pod u-1",
    );
    std::thread::sleep(Duration::from_secs(2));
    apply(&lab, &udp_pod("u-2"));
    let back = Instant::now();
    let deadline = back + Duration::from_secs(10);
    let resumed = loop {
        if let Some(t) = answers.lock().unwrap().iter().find(|t| **t > back) {
            break *t - back;
        }
        assert!(
            Instant::now() < deadline,
            "the UDP Service did not answer the client again"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    eprintln!("UDP traffic resumed {resumed:?} after the new endpoint was running");
    assert!(
        resumed <= Duration::from_secs(2),
        "resumed only after {resumed:?}"
    );
    let deletes: u64 = NODES
        .iter()
        .map(|n| {
            controllers(&lab, n)["proxy"]["conntrackDeletes"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    assert!(deletes > 0, "no stale UDP flow was deleted");

    // Kill the endpoints leader; another agent takes over and keeps the slices current.
    let leader = leaders(&lab)[0];
    let pid = lab.pid(&format!("agent {leader}"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let killed = Instant::now();
    apply(&lab, &udp_pod("u-3"));
    let deadline = killed + LEASE_TTL + Duration::from_secs(10);
    loop {
        let list = slices(&lab);
        let u3 = lab.pod_ip("u-3");
        let has = list["items"].as_array().unwrap().iter().any(|s| {
            s["metadata"]["name"] == "udp-0"
                && s["endpoints"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e["addresses"][0] == u3.as_str())
        });
        if has {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no agent updated the slices after the leader was killed"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let took = killed.elapsed();
    eprintln!("slices updated by the new leader {took:?} after the old one was killed");
    assert!(took <= LEASE_TTL + Duration::from_secs(5), "{took:?}");
    // The killed agent's status file still says what it last was.
    let now: Vec<_> = leaders(&lab).into_iter().filter(|n| *n != leader).collect();
    assert_eq!(
        now.len(),
        1,
        "one new leader besides the killed {leader}: {now:?}"
    );
}
