//! The verbs against the in-memory store: kubectl's lines on stdout and stderr, and the failure
//! flag that becomes exit status 1.

use podnet_api::Api;
use podnet_model::ObjectKey;
use podnet_store::memory::MemoryStore;

use super::manifests::{decode, Source};
use super::*;

/// 2024-05-01T12:00:00Z
const NOW: i64 = 1_714_564_800;

const CLUSTER: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}
";

struct Run {
    out: String,
    err: String,
    failed: bool,
    outcome: Outcome,
}

async fn run(api: &Api<MemoryStore>, verb: Verb, manifest: Option<&str>) -> Run {
    let sources = manifest
        .map(|text| {
            vec![Source {
                name: "m.yaml".into(),
                objects: decode(text),
            }]
        })
        .unwrap_or_default();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut report = Report::new(&mut out, &mut err);
    let outcome = execute(api, &verb, sources, NOW, &mut report).await;
    let failed = report.failed;
    assert_eq!(outcome.failed, failed);
    Run {
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
        failed,
        outcome,
    }
}

fn apply_args() -> Verb {
    Verb::Apply(ApplyArgs {
        filename: vec!["m.yaml".into()],
        namespace: None,
    })
}

fn get(kind: &str, name: Option<&str>, output: Option<&str>) -> Verb {
    Verb::Get(GetArgs {
        kind: kind.into(),
        object: name.map(Into::into),
        namespace: Some("x".into()),
        all_namespaces: false,
        output: output.map(Into::into),
    })
}

fn delete(args: &[&str], filename: &[&str]) -> Verb {
    Verb::Delete(DeleteArgs {
        args: args.iter().map(|s| s.to_string()).collect(),
        filename: filename.iter().map(|s| s.to_string()).collect(),
        namespace: Some("x".into()),
        ignore_not_found: false,
    })
}

#[tokio::test]
async fn apply_reports_each_object_namespaces_first() {
    let api = Api::new(MemoryStore::new());
    let r = run(&api, apply_args(), Some(CLUSTER)).await;
    assert!(!r.failed, "{}", r.err);
    assert_eq!(
        r.out,
        "namespace/x created\npod/a created\nnetworkpolicy.networking.k8s.io/deny created\n"
    );
    let r = run(&api, apply_args(), Some(CLUSTER)).await;
    assert_eq!(
        r.out,
        "namespace/x unchanged\npod/a unchanged\nnetworkpolicy.networking.k8s.io/deny unchanged\n"
    );
    let r = run(
        &api,
        apply_args(),
        Some(&CLUSTER.replace("pod: a", "pod: b")),
    )
    .await;
    assert!(r.out.contains("pod/a configured\n"), "{}", r.out);
}

#[tokio::test]
async fn apply_goes_on_after_a_failure_and_fails_at_the_end() {
    let api = Api::new(MemoryStore::new());
    let text = format!(
        "{CLUSTER}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: b, namespace: nowhere}}\nspec: {{containers: [{{name: c}}]}}\n\
         ---\napiVersion: v1\nkind: Service\nmetadata: {{name: s, namespace: x}}\nspec: {{ports: [{{port: 0}}]}}\n"
    );
    let r = run(&api, apply_args(), Some(&text)).await;
    assert!(r.failed);
    assert!(r.out.contains("pod/a created"), "{}", r.out);
    assert_eq!(
        r.err,
        "Error from server (NotFound): error when applying \"m.yaml\": namespaces \"nowhere\" not found\n\
         Error from server (Invalid): error when applying \"m.yaml\": Service \"s\" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive\n"
    );

    let r = run(
        &api,
        apply_args(),
        Some("apiVersion: v1\nkind: Pod\nspec: 7\n"),
    )
    .await;
    assert!(r.failed);
    assert!(
        r.err
            .starts_with("error: error parsing m.yaml: document 1: spec: invalid type"),
        "{}",
        r.err
    );
    let r = run(&api, apply_args(), Some("# nothing\n")).await;
    assert_eq!(r.err, "error: no objects passed to apply\n");
}

#[tokio::test]
async fn namespace_flag_fills_in_and_must_agree() {
    let api = Api::new(MemoryStore::new());
    run(&api, apply_args(), Some(CLUSTER)).await;
    let verb = Verb::Apply(ApplyArgs {
        filename: vec!["m.yaml".into()],
        namespace: Some("y".into()),
    });
    let r = run(&api, verb, Some(CLUSTER)).await;
    assert!(r.failed);
    assert!(r.err.contains("error: the namespace from the provided object \"x\" does not match the namespace \"y\". You must pass '--namespace=x' to perform this operation."), "{}", r.err);
}

#[tokio::test]
async fn get_and_delete_messages() {
    let api = Api::new(MemoryStore::new());
    let r = run(&api, get("pods", None, None), None).await;
    assert!(!r.failed);
    assert_eq!(
        (r.out.as_str(), r.err.as_str()),
        ("", "No resources found in x namespace.\n")
    );
    run(&api, apply_args(), Some(CLUSTER)).await;

    let r = run(&api, get("po", None, Some("name")), None).await;
    assert_eq!(r.out, "pod/a\n");
    let r = run(&api, get("netpol", Some("deny"), None), None).await;
    assert!(
        r.out
            .starts_with("NAME   POD-SELECTOR   AGE\ndeny   <none>         "),
        "{}",
        r.out
    );
    let r = run(&api, get("pods", Some("zz"), None), None).await;
    assert!(r.failed);
    assert_eq!(
        r.err,
        "Error from server (NotFound): pods \"zz\" not found\n"
    );
    let r = run(&api, get("foo", None, None), None).await;
    assert_eq!(
        r.err,
        "error: the server doesn't have a resource type \"foo\"\n"
    );
    let r = run(&api, get("pods", None, Some("table")), None).await;
    assert!(r.failed && r.err.contains("allowed formats are: json,name,wide,yaml"));

    let r = run(&api, delete(&["pod", "a", "zz"], &[]), None).await;
    assert!(r.failed);
    assert_eq!(r.outcome.deleted.len(), 1);
    assert_eq!(r.outcome.deleted[0].deleted.key.name, "a");
    assert_eq!(r.out, "pod \"a\" deleted\n");
    assert_eq!(
        r.err,
        "Error from server (NotFound): pods \"zz\" not found\n"
    );

    // From the manifest, the namespace goes last, so the policy is reported, not lost.
    let r = run(&api, delete(&[], &["m.yaml"]), Some(CLUSTER)).await;
    assert_eq!(
        r.out,
        "networkpolicy.networking.k8s.io \"deny\" deleted\nnamespace \"x\" deleted\n"
    );
    assert_eq!(
        r.err,
        "Error from server (NotFound): error when deleting \"m.yaml\": pods \"a\" not found\n"
    );
    let r = run(&api, delete(&["pods"], &[]), None).await;
    assert_eq!(
        r.err,
        "error: resource(s) were provided, but no name was specified\n"
    );
}

#[test]
fn kind_refs_as_kubectl() {
    let names: Vec<String> = Kind::ALL.into_iter().map(kind_ref).collect();
    assert_eq!(
        names,
        [
            "namespace",
            "pod",
            "service",
            "endpointslice.discovery.k8s.io",
            "networkpolicy.networking.k8s.io"
        ]
    );
}

/// Binds pods that name no node to `n1` and refuses the ones on `n9`, seeing what is stored.
struct TestAdmission {
    seen: Vec<(String, bool)>,
}

impl apply::Admission for TestAdmission {
    fn wants(&self, kind: Kind) -> bool {
        kind == Kind::Pod
    }

    fn admit(&mut self, object: &mut Object, stored: Option<&Object>) -> Result<(), ApiError> {
        self.seen.push((object.display_name(), stored.is_some()));
        let Object::Pod(pod) = object else {
            return Ok(());
        };
        match pod.spec.node_name.as_deref() {
            Some("n9") => Err(ApiError::NotFound {
                kind: Kind::Pod,
                name: "n9".into(),
            }),
            Some(_) => Ok(()),
            None => {
                pod.spec.node_name = Some("n1".into());
                Ok(())
            }
        }
    }
}

#[tokio::test]
async fn an_admission_sees_each_pod_may_complete_it_or_refuse_it() {
    let api = Api::new(MemoryStore::new());
    let text = format!(
        "{CLUSTER}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: b, namespace: x}}\nspec: {{nodeName: n9, containers: [{{name: c}}]}}\n"
    );
    let sources = vec![Source {
        name: "m.yaml".into(),
        objects: decode(&text),
    }];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut report = Report::new(&mut out, &mut err);
    let mut admission = TestAdmission { seen: Vec::new() };
    let outcome = execute_admitted(
        &api,
        &apply_args(),
        sources,
        NOW,
        &mut admission,
        &mut report,
    )
    .await;
    assert!(outcome.failed);
    let err = String::from_utf8(err).unwrap();
    assert_eq!(
        err,
        "Error from server (NotFound): error when applying \"m.yaml\": pods \"n9\" not found\n"
    );
    assert_eq!(
        admission.seen,
        [
            ("Pod/x/a".to_string(), false),
            ("Pod/x/b".to_string(), false)
        ]
    );
    let key = ObjectKey::new(Kind::Pod, Some("x"), "a").unwrap();
    let Object::Pod(a) = api.get(&key).await.unwrap() else {
        panic!()
    };
    assert_eq!(a.spec.node_name.as_deref(), Some("n1"));
    let b = ObjectKey::new(Kind::Pod, Some("x"), "b").unwrap();
    assert!(
        api.get(&b).await.unwrap_err().is_not_found(),
        "refused: nothing stored"
    );
    // The second time the admission sees what is stored.
    let sources = vec![Source {
        name: "m.yaml".into(),
        objects: decode(CLUSTER),
    }];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut report = Report::new(&mut out, &mut err);
    admission.seen.clear();
    execute_admitted(
        &api,
        &apply_args(),
        sources,
        NOW,
        &mut admission,
        &mut report,
    )
    .await;
    assert_eq!(admission.seen, [("Pod/x/a".to_string(), true)]);
}
