//! The object verbs end to end, through the binary: `podnet apply | get | delete --store
//! embedded:…` on a store in a tempdir (no privileges), and `podnet lab apply | get | delete`
//! on a real lab, embedded and etcd (root; the etcd one proves the client reaches etcd from
//! inside the lab's control-plane namespace).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::lab::Lab;
use common::PLUGIN;
use podnet_model::{parse_manifests, Object};
use podnet_store::embedded::EmbeddedStore;
use podnet_store::Datastore;

const CLUSTER: &str = "\
# three namespaces, two pods, a service and a policy, in one file
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: y, labels: {ns: y}}
---
apiVersion: v1
kind: Namespace
metadata: {name: z, labels: {ns: z}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec:
  containers:
  - name: serve
    ports: [{name: http, containerPort: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: y, labels: {pod: b}}
spec:
  containers: [{name: serve}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: x}
spec:
  selector: {pod: a}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}}
";

const CREATED: &str = "\
namespace/x created
namespace/y created
namespace/z created
pod/a created
pod/b created
service/web created
networkpolicy.networking.k8s.io/deny-all created
";

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

fn podnet(args: &[&str]) -> Output {
    podnet_in(args, "")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts exit 1 and returns stderr.
fn fails(out: &Output, what: &str) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: {}{}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

/// The store's revision: a write of any kind moves it.
fn revision(db: &Path) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { EmbeddedStore::open(db).unwrap().list("/").await.unwrap().1 })
}

/// The resourceVersions of a `-o json` List, by `namespace/name`.
fn versions(json: &str) -> Vec<(String, String)> {
    let list: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["apiVersion"], "v1");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let m = &o["metadata"];
            (
                format!(
                    "{}/{}",
                    m["namespace"].as_str().unwrap_or(""),
                    m["name"].as_str().unwrap()
                ),
                m["resourceVersion"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn apply_get_delete_on_an_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let store = format!("embedded:{}", db.display());
    let s = store.as_str();
    let file = dir.path().join("cluster.yaml");
    std::fs::write(&file, CLUSTER).unwrap();
    let f = file.to_str().unwrap();

    // Reading a store that does not exist is an error, not a new empty store.
    let err = fails(
        &podnet(&["get", "pods", "--store", s]),
        "get before any apply",
    );
    assert!(err.contains("no datastore at"), "{err}");
    assert!(!db.exists());

    assert_eq!(ok_out(&podnet(&["apply", "-f", f, "--store", s])), CREATED);
    let rev = revision(&db);
    let before = ok_out(&podnet(&["get", "pods", "-A", "-o", "json", "--store", s]));

    // Again, from the file and from stdin: every object unchanged, nothing written.
    let again = ok_out(&podnet(&["apply", "-f", f, "--store", s]));
    assert_eq!(again, CREATED.replace(" created", " unchanged"));
    let again = ok_out(&podnet_in(&["apply", "-f", "-", "--store", s], CLUSTER));
    assert_eq!(again, CREATED.replace(" created", " unchanged"));
    assert_eq!(revision(&db), rev);
    let after = ok_out(&podnet(&["get", "pods", "-A", "-o", "json", "--store", s]));
    assert_eq!(versions(&after), versions(&before));
    assert_eq!(versions(&after).len(), 2);

    // A new label: that pod is configured, everything else unchanged.
    let relabelled = CLUSTER.replace("labels: {pod: a}", "labels: {pod: a, tier: web}");
    std::fs::write(&file, &relabelled).unwrap();
    let out = ok_out(&podnet(&["apply", "-f", f, "--store", s]));
    assert!(out.contains("pod/a configured\n"), "{out}");
    assert_eq!(out.matches(" unchanged\n").count(), 6, "{out}");
    assert!(revision(&db) > rev);

    // Tables.
    let ns = ok_out(&podnet(&["get", "ns", "--store", s]));
    let lines: Vec<&str> = ns.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "STATUS", "AGE"]
    );
    assert_eq!(lines.len(), 4, "{ns}");
    assert!(lines[1].starts_with("x      Active   "), "{ns}");
    let pods = ok_out(&podnet(&["get", "po", "-n", "x", "--store", s]));
    assert!(
        pods.starts_with(
            "NAME   READY   STATUS    RESTARTS   AGE\na      0/1     Pending   0          "
        ),
        "{pods}"
    );
    let wide = ok_out(&podnet(&["get", "pods", "-A", "-o", "wide", "--store", s]));
    let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
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
    assert!(
        wide.lines()
            .nth(2)
            .unwrap()
            .starts_with("y           b      0/1"),
        "{wide}"
    );
    let svc = ok_out(&podnet(&["get", "svc", "-n", "x", "--store", s]));
    // The API server allocated a cluster IP from 10.96.0.0/12.
    let row: Vec<&str> = svc.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..2], ["web", "ClusterIP"], "{svc}");
    let ip: std::net::Ipv4Addr = row[2].parse().unwrap_or_else(|_| panic!("{svc}"));
    assert!(
        "10.96.0.0/12"
            .parse::<ipnet::Ipv4Net>()
            .unwrap()
            .contains(&ip),
        "{svc}"
    );
    assert_eq!(&row[3..5], ["<none>", "80/TCP"], "{svc}");
    let pol = ok_out(&podnet(&[
        "get",
        "networkpolicies.networking.k8s.io",
        "-n",
        "x",
        "--store",
        s,
    ]));
    assert!(
        pol.starts_with("NAME       POD-SELECTOR   AGE\ndeny-all   <none>         "),
        "{pol}"
    );
    let empty = podnet(&["get", "pods", "--store", s]);
    assert!(empty.status.success());
    assert_eq!(
        (stdout(&empty).as_str(), stderr(&empty).as_str()),
        ("", "No resources found in default namespace.\n")
    );

    // JSON and YAML decode as manifests again; applying them back changes nothing.
    let json = ok_out(&podnet(&["get", "ns", "-o", "json", "--store", s]));
    let objects = parse_manifests(&json).unwrap();
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[0].meta().labels["kubernetes.io/metadata.name"], "x");
    let rev = revision(&db);
    let back = ok_out(&podnet_in(&["apply", "-f", "-", "--store", s], &json));
    assert_eq!(
        back,
        "namespace/x unchanged\nnamespace/y unchanged\nnamespace/z unchanged\n"
    );
    let yaml = ok_out(&podnet(&["get", "pods", "-A", "-o", "yaml", "--store", s]));
    let pods = parse_manifests(&yaml).unwrap();
    assert_eq!(
        pods.iter().map(Object::display_name).collect::<Vec<_>>(),
        ["Pod/x/a", "Pod/y/b"]
    );
    assert_eq!(pods[0].meta().labels["tier"], "web");
    assert_eq!(revision(&db), rev);
    let one: serde_json::Value = serde_json::from_str(&ok_out(&podnet(&[
        "get", "pod", "a", "-n", "x", "-o", "json", "--store", s,
    ])))
    .unwrap();
    assert_eq!(one["kind"], "Pod");
    assert_eq!(one["status"]["phase"], "Pending");
    assert_eq!(
        ok_out(&podnet(&["get", "svc", "-A", "-o", "name", "--store", s])),
        "service/web\n"
    );

    // Errors: exit 1, kubectl's words.
    let err = fails(
        &podnet(&["get", "pod", "nope", "-n", "x", "--store", s]),
        "get nope",
    );
    assert_eq!(
        err,
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
    let err = fails(&podnet(&["get", "foo", "--store", s]), "get foo");
    assert_eq!(
        err,
        "error: the server doesn't have a resource type \"foo\"\n"
    );
    let err = fails(
        &podnet(&["get", "pods", "--store", "mysql://x"]),
        "bad --store",
    );
    assert!(err.contains("use embedded:/path/store.db"), "{err}");

    // Delete by file and by name.
    let svc_file = dir.path().join("svc.yaml");
    std::fs::write(&svc_file, CLUSTER.split("---\n").nth(5).unwrap()).unwrap();
    let out = ok_out(&podnet(&[
        "delete",
        "-f",
        svc_file.to_str().unwrap(),
        "--store",
        s,
    ]));
    assert_eq!(out, "service \"web\" deleted\n");
    assert_eq!(
        ok_out(&podnet(&["delete", "pod", "b", "-n", "y", "--store", s])),
        "pod \"b\" deleted\n"
    );
    let err = fails(
        &podnet(&["delete", "pod", "b", "-n", "y", "--store", s]),
        "delete twice",
    );
    assert_eq!(err, "Error from server (NotFound): pods \"b\" not found\n");
    assert!(podnet(&[
        "delete",
        "pod",
        "b",
        "-n",
        "y",
        "--ignore-not-found",
        "--store",
        s
    ])
    .status
    .success());
    // The namespace takes its objects along.
    assert_eq!(
        ok_out(&podnet(&["delete", "ns", "x", "--store", s])),
        "namespace \"x\" deleted\n"
    );
    let gone = podnet(&["get", "netpol", "-n", "x", "--store", s]);
    assert_eq!(stderr(&gone), "No resources found in x namespace.\n");
    let ns = ok_out(&podnet(&["get", "ns", "-o", "name", "--store", s]));
    assert_eq!(ns, "namespace/y\nnamespace/z\n");
}

#[test]
fn a_bad_manifest_stores_nothing_and_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let store = format!("embedded:{}", db.display());
    let s = store.as_str();
    ok_out(&podnet_in(&["apply", "-f", "-", "--store", s], CLUSTER));
    let rev = revision(&db);

    // Validation: the API server's message with the field paths; the other document of the
    // file is still applied (it is unchanged, so nothing is written).
    let bad = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {ns: x}}\n---\n\
               apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: x}\n\
               spec: {type: NodePort, ports: [{port: 80, nodePort: 80}, {port: 81, name: b}]}\n";
    let out = podnet_in(&["apply", "-f", "-", "--store", s], bad);
    let err = fails(&out, "apply invalid");
    assert_eq!(stdout(&out), "namespace/x unchanged\n");
    assert_eq!(
        err,
        "Error from server (Invalid): error when applying \"STDIN\": Service \"bad\" is invalid: \
         [spec.ports[0].name: Required value, spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767]\n"
    );
    // Decoding: the document and the field path; nothing of that file is applied.
    let out = podnet_in(
        &["apply", "-f", "-", "--store", s],
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: w}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, ports: [{containerPort: http}]}]}\n",
    );
    let err = fails(&out, "apply undecodable");
    assert!(
        err.starts_with("error: error parsing STDIN: document 2: spec.containers[0].ports[0].containerPort: invalid type: string \"http\""),
        "{err}"
    );
    let out = podnet_in(
        &["apply", "-f", "-", "--store", s],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: nowhere}\nspec: {containers: [{name: c}]}\n",
    );
    assert_eq!(
        fails(&out, "apply into a missing namespace"),
        "Error from server (NotFound): error when applying \"STDIN\": namespaces \"nowhere\" not found\n"
    );
    assert_eq!(revision(&db), rev, "nothing was stored");
}

fn ok_out(out: &Output) -> String {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    stdout(out)
}

/// `podnet lab apply | get | delete` on a running lab, from a file and from stdin.
fn lab_verbs(lab: &Lab) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.yaml");
    std::fs::write(&file, CLUSTER).unwrap();
    let f = file.to_str().unwrap();
    let n = lab.0.as_str();
    assert_eq!(
        ok_out(&podnet(&["lab", "apply", "--name", n, "-f", f])),
        CREATED
    );
    let again = ok_out(&podnet_in(
        &["lab", "apply", "--name", n, "-f", "-"],
        CLUSTER,
    ));
    assert_eq!(again, CREATED.replace(" created", " unchanged"));
    let json = ok_out(&podnet(&[
        "lab", "get", "--name", n, "pods", "-A", "-o", "json",
    ]));
    // The lab's own pods (default/n1-a, ...) are Pod objects too.
    let keys: Vec<String> = versions(&json).into_iter().map(|(k, _)| k).collect();
    let (own, applied): (Vec<&str>, Vec<&str>) = keys
        .iter()
        .map(String::as_str)
        .partition(|k| k.starts_with("default/"));
    assert_eq!(applied, ["x/a", "y/b"]);
    assert!(own.contains(&"default/n1-a"), "{own:?}");
    let table = ok_out(&podnet(&["lab", "get", "--name", n, "ns"]));
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["x", "Active"])),
        "{table}"
    );
    let err = fails(
        &podnet(&["lab", "get", "--name", n, "svc", "nope", "-n", "x"]),
        "lab get nope",
    );
    assert_eq!(
        err,
        "Error from server (NotFound): services \"nope\" not found\n"
    );
    let out = ok_out(&podnet(&["lab", "delete", "--name", n, "-f", f]));
    assert_eq!(
        out,
        "pod \"a\" deleted\npod \"b\" deleted\nservice \"web\" deleted\n\
         networkpolicy.networking.k8s.io \"deny-all\" deleted\n\
         namespace \"x\" deleted\nnamespace \"y\" deleted\nnamespace \"z\" deleted\n"
    );
    // Only default is left, with the lab's own pods.
    let left = ok_out(&podnet(&["lab", "get", "--name", n, "ns", "-o", "name"]));
    assert_eq!(left, "namespace/default\n");
}

#[test]
fn lab_verbs_on_an_embedded_lab() {
    let lab = Lab::up("ob", &["--nodes", "1", "--pods-per-node", "1"]);
    lab_verbs(&lab);
    assert!(Path::new(&format!("/run/podnet/labs/{}/store.db", lab.0)).exists());
}

#[test]
fn lab_verbs_on_an_etcd_lab_run_inside_the_control_plane_namespace() {
    let lab = Lab::up(
        "oe",
        &["--store", "etcd", "--nodes", "2", "--pods-per-node", "1"],
    );
    // The objects go to etcd, which only the cp namespace reaches: there is no store file.
    let n = lab.0.as_str();
    ok_out(&podnet_in(
        &["lab", "apply", "--name", n, "-f", "-"],
        CLUSTER,
    ));
    let keys = podnet_netns::run(
        &format!("pnlab-{n}-cp"),
        &[
            "etcdctl",
            "--endpoints=http://198.18.0.2:2379",
            "get",
            "--prefix",
            "--keys-only",
            "/podnet/objects/pods/",
        ],
    )
    .expect("etcdctl get in the control-plane namespace");
    assert_eq!(
        keys.split_whitespace()
            .filter(|k| !k.starts_with("/podnet/objects/pods/default/"))
            .collect::<Vec<_>>(),
        ["/podnet/objects/pods/x/a", "/podnet/objects/pods/y/b"]
    );
    assert!(keys.contains("/podnet/objects/pods/default/n1-a"), "{keys}");
    assert!(!Path::new(&format!("/run/podnet/labs/{n}/store.db")).exists());
    ok_out(&podnet_in(
        &["lab", "delete", "--name", n, "-f", "-"],
        CLUSTER,
    ));
    lab_verbs(&lab);
}
