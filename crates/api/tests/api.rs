//! Tier 2: the API server's requests against the in-memory store (and one against the embedded
//! store in a tempdir): what is stored, what is refused, and that a refused or no-op write
//! leaves the store's revision where it was.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use podnet_api::{Api, ApiError, Applied};
use podnet_model::{parse_manifests, Kind, Object, ObjectKey, PodPhase};
use podnet_store::embedded::EmbeddedStore;
use podnet_store::memory::MemoryStore;
use podnet_store::{Datastore, ManualClock};

/// 2024-05-01T12:00:00Z
const NOW_MS: i64 = 1_714_564_800_000;

fn api<D: Datastore>(store: D) -> Api<D> {
    let n = Arc::new(AtomicUsize::new(0));
    Api::new(store)
        .with_clock(ManualClock::new(NOW_MS))
        .with_uids(move || format!("uid-{}", n.fetch_add(1, Ordering::SeqCst)))
}

fn memory_api() -> (MemoryStore, Api<MemoryStore>) {
    let store = MemoryStore::new();
    (store.clone(), api(store))
}

fn one(text: &str) -> Object {
    parse_manifests(text).unwrap().remove(0)
}

fn ns(name: &str) -> Object {
    one(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{ns: {name}}}}}\n"
    ))
}

fn pod(namespace: &str, name: &str, labels: &str) -> Object {
    one(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}, labels: {{{labels}}}}}\nspec: {{containers: [{{name: c, ports: [{{name: http, containerPort: 80}}]}}]}}\n"
    ))
}

fn key(kind: Kind, namespace: Option<&str>, name: &str) -> ObjectKey {
    ObjectKey::new(kind, namespace, name).unwrap()
}

async fn stored_value(store: &MemoryStore, key: &str) -> Option<String> {
    store.get(key).await.unwrap().map(|kv| kv.value)
}

#[tokio::test]
async fn create_sets_the_server_fields_and_keeps_the_version_out_of_the_value() {
    let (store, api) = memory_api();
    api.create(ns("x")).await.unwrap();
    let created = api.create(pod("x", "a", "app: web")).await.unwrap();
    let meta = created.meta();
    let rev = store.revision();
    assert_eq!(meta.resource_version, Some(rev.to_string()));
    assert_eq!(meta.uid.as_deref(), Some("uid-1"));
    assert_eq!(meta.generation, Some(1));
    assert_eq!(
        meta.creation_timestamp.as_deref(),
        Some("2024-05-01T12:00:00Z")
    );
    let Object::Pod(p) = &created else { panic!() };
    assert_eq!(p.status.as_ref().unwrap().phase, Some(PodPhase::Pending));

    let value = stored_value(&store, "/podnet/objects/pods/x/a")
        .await
        .unwrap();
    assert!(!value.contains("resourceVersion"), "{value}");
    assert!(
        value.contains(r#""protocol":"TCP""#),
        "defaults stored: {value}"
    );
    let got = api.get(&key(Kind::Pod, Some("x"), "a")).await.unwrap();
    assert_eq!(got, created);

    let err = api.create(pod("x", "a", "")).await.unwrap_err();
    assert_eq!(err.to_string(), r#"pods "a" already exists"#);
    assert_eq!(err.reason(), Some("AlreadyExists"));
    assert_eq!(store.revision(), rev);
}

#[tokio::test]
async fn a_missing_namespace_refuses_the_create_but_default_is_made_on_first_use() {
    let (store, api) = memory_api();
    let err = api.create(pod("nowhere", "a", "")).await.unwrap_err();
    assert_eq!(err.to_string(), r#"namespaces "nowhere" not found"#);
    assert!(err.is_not_found());
    assert_eq!(store.revision(), 0, "nothing stored");

    let mut bare = pod("default", "a", "");
    bare.meta_mut().namespace = None;
    let created = api.create(bare).await.unwrap();
    assert_eq!(created.namespace(), Some("default"));
    let default = api
        .get(&key(Kind::Namespace, None, "default"))
        .await
        .unwrap();
    assert_eq!(
        default.meta().labels["kubernetes.io/metadata.name"],
        "default"
    );
    let err = api
        .delete(&key(Kind::Namespace, None, "default"))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), Some("Forbidden"));
}

#[tokio::test]
async fn apply_creates_then_is_unchanged_then_configured() {
    let (store, api) = memory_api();
    assert_eq!(api.apply(ns("x")).await.unwrap().0, Applied::Created);
    let (what, created) = api.apply(pod("x", "a", "app: web")).await.unwrap();
    assert_eq!(what, Applied::Created);

    let (rev, writes) = (store.revision(), store.stats().writes);
    for object in [ns("x"), pod("x", "a", "app: web")] {
        let (what, same) = api.apply(object).await.unwrap();
        assert_eq!(what, Applied::Unchanged);
        assert!(same.meta().resource_version.is_some());
    }
    assert_eq!(store.revision(), rev, "an unchanged apply writes nothing");
    assert_eq!(store.stats().writes, writes);

    // A controller sets the status; apply keeps it, and keeps uid and creationTimestamp.
    let k = key(Kind::Pod, Some("x"), "a");
    api.update_status(&k, |o| {
        if let Object::Pod(p) = o {
            let status = p.status.get_or_insert_with(Default::default);
            status.phase = Some(PodPhase::Running);
            status.pod_ip = Some("10.244.1.5".into());
        }
    })
    .await
    .unwrap();
    let (what, relabelled) = api.apply(pod("x", "a", "app: api")).await.unwrap();
    assert_eq!(what, Applied::Configured);
    assert_eq!(relabelled.meta().labels["app"], "api");
    assert_eq!(relabelled.meta().uid, created.meta().uid);
    assert_eq!(relabelled.meta().generation, Some(1), "labels are not spec");
    let Object::Pod(p) = &relabelled else {
        panic!()
    };
    assert_eq!(
        p.status.as_ref().unwrap().pod_ip.as_deref(),
        Some("10.244.1.5")
    );
    assert_eq!(
        relabelled.meta().resource_version,
        Some(store.revision().to_string())
    );

    // A pod's spec is immutable but for images, as in Kubernetes: a new port is refused and
    // nothing is stored; a new image is a spec change that bumps the generation.
    let rev = store.revision();
    let mut moved = pod("x", "a", "app: api");
    let Object::Pod(p) = &mut moved else { panic!() };
    p.spec.containers[0].ports[0].container_port = 81;
    let err = api.apply(moved).await.unwrap_err();
    assert_eq!(err.reason(), Some("Invalid"));
    assert!(
        err.to_string().starts_with(
            "Pod \"a\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
        ) && err.to_string().ends_with("(changed: spec.containers[0].ports)"),
        "{err}"
    );
    assert_eq!(store.revision(), rev, "a refused update stores nothing");
    let mut image = pod("x", "a", "app: api");
    let Object::Pod(p) = &mut image else { panic!() };
    p.spec.containers[0].image = Some("busybox".into());
    let (what, image) = api.apply(image).await.unwrap();
    assert_eq!(what, Applied::Configured);
    assert_eq!(image.meta().generation, Some(2));
}

#[tokio::test]
async fn a_bound_pod_keeps_its_node_through_apply_and_update() {
    let (_, api) = memory_api();
    api.apply(ns("x")).await.unwrap();
    let mut bound = pod("x", "a", "app: web");
    let Object::Pod(p) = &mut bound else { panic!() };
    p.spec.node_name = Some("n1".into());
    api.apply(bound).await.unwrap();
    // The manifest without nodeName: nothing to change.
    let (what, kept) = api.apply(pod("x", "a", "app: web")).await.unwrap();
    assert_eq!(what, Applied::Unchanged);
    let Object::Pod(p) = &kept else { panic!() };
    assert_eq!(p.spec.node_name.as_deref(), Some("n1"));
    // Another node is a spec change, refused by update as by apply.
    let mut moved = kept.clone();
    let Object::Pod(p) = &mut moved else { panic!() };
    p.spec.node_name = Some("n2".into());
    let err = api.update(moved).await.unwrap_err();
    assert!(
        err.to_string().ends_with("(changed: spec.nodeName)"),
        "{err}"
    );
    // An unbound pod may be bound once.
    api.apply(pod("x", "b", "")).await.unwrap();
    let mut bind = pod("x", "b", "");
    let Object::Pod(p) = &mut bind else { panic!() };
    p.spec.node_name = Some("n2".into());
    assert_eq!(api.apply(bind).await.unwrap().0, Applied::Configured);
}

#[tokio::test]
async fn applying_the_truth_table_twice_changes_nothing() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../model/tests/data/truth-table.yaml"
    ))
    .unwrap();
    let objects = parse_manifests(&text).unwrap();
    let (store, api) = memory_api();
    for o in objects.clone() {
        assert_eq!(api.apply(o).await.unwrap().0, Applied::Created);
    }
    let rev = store.revision();
    for o in objects {
        let name = o.display_name();
        assert_eq!(api.apply(o).await.unwrap().0, Applied::Unchanged, "{name}");
    }
    assert_eq!(store.revision(), rev);
    let pods = api.list(Kind::Pod, None).await.unwrap();
    assert_eq!(pods.items.len(), 9);
    assert_eq!(pods.revision, rev);
    assert!(pods.invalid.is_empty());
    assert_eq!(api.list(Kind::Pod, Some("y")).await.unwrap().items.len(), 3);
}

#[tokio::test]
async fn an_invalid_object_is_refused_with_its_field_paths_and_nothing_is_stored() {
    let (store, api) = memory_api();
    api.create(ns("x")).await.unwrap();
    let rev = store.revision();
    let mut bad = pod("x", "a", "app: -x");
    let Object::Pod(p) = &mut bad else { panic!() };
    p.spec.containers[0].ports[0].container_port = 0;
    for err in [
        api.apply(bad.clone()).await.unwrap_err(),
        api.create(bad).await.unwrap_err(),
    ] {
        let ApiError::Invalid { errors, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(
            errors.paths(),
            [
                "metadata.labels[app]",
                "spec.containers[0].ports[0].containerPort"
            ]
        );
        assert!(
            err.to_string().starts_with(r#"Pod "a" is invalid: ["#),
            "{err}"
        );
        assert_eq!(err.reason(), Some("Invalid"));
    }
    // Not even the namespace `default` is made for an invalid object.
    let err = api.apply(pod("default", "UPPER", "")).await.unwrap_err();
    assert_eq!(err.reason(), Some("Invalid"));
    assert_eq!(store.revision(), rev);
}

#[tokio::test]
async fn update_needs_the_current_resource_version() {
    let (store, api) = memory_api();
    api.create(ns("x")).await.unwrap();
    let created = api.create(pod("x", "a", "app: web")).await.unwrap();

    let mut change = created.clone();
    change.meta_mut().labels.insert("tier".into(), "1".into());
    let updated = api.update(change.clone()).await.unwrap();
    assert_eq!(updated.meta().labels["tier"], "1");
    let rev = store.revision();

    // `change` still carries the old version.
    let err = api.update(change.clone()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again"#
    );
    assert!(err.is_conflict());

    change.meta_mut().resource_version = None;
    let err = api.update(change.clone()).await.unwrap_err();
    assert!(
        err.to_string().contains(
            r#"metadata.resourceVersion: Invalid value: "": must be specified for an update"#
        ),
        "{err}"
    );
    change.meta_mut().resource_version = Some("abc".into());
    assert_eq!(
        api.update(change).await.unwrap_err().reason(),
        Some("Invalid")
    );
    assert_eq!(store.revision(), rev);

    let err = api.update(pod("x", "b", "")).await.unwrap_err();
    assert_eq!(err.reason(), Some("Invalid"), "no version: {err}");
    let mut missing = pod("x", "b", "");
    missing.meta_mut().resource_version = Some("3".into());
    assert!(api.update(missing).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn update_status_retries_on_a_concurrent_change() {
    let (store, api) = memory_api();
    api.create(ns("x")).await.unwrap();
    api.create(pod("x", "a", "app: web")).await.unwrap();
    let k = key(Kind::Pod, Some("x"), "a");
    let raw = store.get(&k.to_string()).await.unwrap().unwrap().value;
    let mut calls = 0;
    let updated = api
        .update_status(&k, |o| {
            calls += 1;
            if calls == 1 {
                // Another writer gets in between this read and the compare-and-swap.
                store.put("/podnet/objects/pods/x/a", &raw).unwrap();
            }
            if let Object::Pod(p) = o {
                p.status.get_or_insert_with(Default::default).phase = Some(PodPhase::Running);
                // Changes outside the status are ignored.
                p.metadata.labels.clear();
            }
        })
        .await
        .unwrap();
    assert_eq!(calls, 2);
    let Object::Pod(p) = &updated else { panic!() };
    assert_eq!(p.status.as_ref().unwrap().phase, Some(PodPhase::Running));
    assert_eq!(p.metadata.labels["app"], "web");
    assert_eq!(api.get(&k).await.unwrap(), updated);

    // No change, no write.
    let rev = store.revision();
    api.update_status(&k, |_| {}).await.unwrap();
    assert_eq!(store.revision(), rev);

    api.apply(one("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\nspec: {ports: [{port: 80}]}\n"))
        .await
        .unwrap();
    let err = api
        .update_status(&key(Kind::Service, Some("x"), "s"), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::NoStatus { .. }), "{err}");
}

#[tokio::test]
async fn get_and_delete_of_what_is_not_there() {
    let (_, api) = memory_api();
    let k = key(Kind::Pod, Some("x"), "a");
    let err = api.get(&k).await.unwrap_err();
    assert_eq!(err.to_string(), r#"pods "a" not found"#);
    assert_eq!(err.reason(), Some("NotFound"));
    assert!(api.delete(&k).await.unwrap_err().is_not_found());
    let k = key(Kind::NetworkPolicy, Some("x"), "p");
    assert_eq!(
        api.get(&k).await.unwrap_err().to_string(),
        r#"networkpolicies.networking.k8s.io "p" not found"#
    );
}

#[tokio::test]
async fn deleting_a_namespace_deletes_everything_in_it() {
    let (store, api) = memory_api();
    for o in parse_manifests(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n\
         apiVersion: v1\nkind: Namespace\nmetadata: {name: xy}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\nspec: {ports: [{port: 80}]}\n---\n\
         apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n---\n\
         apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s-1, namespace: x}\naddressType: IPv4\nendpoints: [{addresses: [10.244.1.5]}]\n",
    )
    .unwrap()
    {
        api.apply(o).await.unwrap();
    }
    api.apply(pod("x", "a", "")).await.unwrap();
    api.apply(pod("xy", "a", "")).await.unwrap();
    store
        .put("/podnet/objects/pods/x/corrupt", "{not json")
        .unwrap();

    let deletion = api.delete(&key(Kind::Namespace, None, "x")).await.unwrap();
    assert_eq!(deletion.deleted.key.name, "x");
    let mut gone: Vec<String> = deletion
        .cascaded
        .iter()
        .map(|d| d.key.to_string())
        .collect();
    gone.sort();
    assert_eq!(
        gone,
        [
            "/podnet/objects/endpointslices/x/s-1",
            "/podnet/objects/networkpolicies/x/deny",
            "/podnet/objects/pods/x/a",
            "/podnet/objects/pods/x/corrupt",
            "/podnet/objects/services/x/s",
        ]
    );
    let corrupt = deletion
        .cascaded
        .iter()
        .find(|d| d.key.name == "corrupt")
        .unwrap();
    assert_eq!(corrupt.object, None);
    let (left, _) = store.list("/podnet/objects/").await.unwrap();
    let left: Vec<&str> = left.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        left,
        ["/podnet/objects/namespaces/xy", "/podnet/objects/pods/xy/a"]
    );
    assert!(api
        .get(&key(Kind::Namespace, None, "x"))
        .await
        .unwrap_err()
        .is_not_found());
    assert_eq!(
        api.create(pod("x", "b", "")).await.unwrap_err().to_string(),
        r#"namespaces "x" not found"#
    );
}

#[tokio::test]
async fn a_terminating_namespace_takes_no_new_objects() {
    let (_, api) = memory_api();
    api.create(ns("x")).await.unwrap();
    api.update_status(&key(Kind::Namespace, None, "x"), |o| {
        if let Object::Namespace(n) = o {
            n.status.get_or_insert_with(Default::default).phase =
                Some(podnet_model::NamespacePhase::Terminating);
        }
    })
    .await
    .unwrap();
    let err = api.create(pod("x", "a", "")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"pods "a" is forbidden: unable to create new content in namespace x because it is being terminated"#
    );
    assert_eq!(err.reason(), Some("Forbidden"));
    // Deleting it again finishes the job.
    api.delete(&key(Kind::Namespace, None, "x")).await.unwrap();
}

#[tokio::test]
async fn invalid_stored_values_are_skipped_by_list_and_can_be_deleted() {
    let (store, api) = memory_api();
    api.create(ns("x")).await.unwrap();
    api.create(pod("x", "a", "")).await.unwrap();
    let raw_pod = |ns: &str, name: &str, port: i32| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"{ns}"}},"spec":{{"containers":[{{"name":"c","ports":[{{"containerPort":{port}}}]}}]}}}}"#
        )
    };
    for (key, value) in [
        ("/podnet/objects/pods/x/b", "{not json".to_owned()),
        ("/podnet/objects/pods/x/c", raw_pod("x", "c", 0)),
        ("/podnet/objects/pods/x/d", raw_pod("y", "d", 80)),
        ("/podnet/objects/pods/x/e/f", raw_pod("x", "e", 80)),
        (
            "/podnet/objects/pods/x/g",
            r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"g","namespace":"x"}}"#
                .to_owned(),
        ),
    ] {
        store.put(key, &value).unwrap();
    }
    let list = api.list(Kind::Pod, Some("x")).await.unwrap();
    let names: Vec<&str> = list.items.iter().map(Object::name).collect();
    assert_eq!(names, ["a"]);
    let invalid: Vec<(&str, &str)> = list
        .invalid
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(invalid.len(), 5, "{invalid:?}");
    assert!(invalid[0].1.contains("not JSON"), "{invalid:?}");
    assert!(invalid[1].1.contains("containerPort"), "{invalid:?}");
    assert!(
        invalid[2].1.contains("Pod/y/d, not the object"),
        "{invalid:?}"
    );
    assert!(invalid[3].1.contains("not an object key"), "{invalid:?}");
    assert!(invalid[4].1.contains("Service/x/g"), "{invalid:?}");

    let k = key(Kind::Pod, Some("x"), "b");
    let err = api.get(&k).await.unwrap_err();
    assert!(matches!(err, ApiError::Corrupt { .. }), "{err}");
    assert_eq!(err.reason(), Some("InternalError"));
    // apply does not paper over it; delete removes it.
    assert!(matches!(
        api.apply(pod("x", "b", "")).await.unwrap_err(),
        ApiError::Corrupt { .. }
    ));
    let deletion = api.delete(&k).await.unwrap();
    assert_eq!(deletion.deleted.object, None);
    assert_eq!(
        api.apply(pod("x", "b", "")).await.unwrap().0,
        Applied::Created
    );
}

#[tokio::test]
async fn the_embedded_store_behaves_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("store.db")).unwrap();
    let api = api(store.clone());
    assert_eq!(api.apply(ns("x")).await.unwrap().0, Applied::Created);
    let (what, created) = api.apply(pod("x", "a", "app: web")).await.unwrap();
    assert_eq!(what, Applied::Created);
    let (_, rev) = store.list("/").await.unwrap();
    assert_eq!(
        api.apply(pod("x", "a", "app: web")).await.unwrap().0,
        Applied::Unchanged
    );
    assert_eq!(store.list("/").await.unwrap().1, rev);
    let (what, changed) = api.apply(pod("x", "a", "app: api")).await.unwrap();
    assert_eq!(what, Applied::Configured);
    assert_ne!(
        changed.meta().resource_version,
        created.meta().resource_version
    );
    let list = api.list(Kind::Pod, None).await.unwrap();
    assert_eq!(list.items, [changed]);
    let err = api.update(created).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    api.delete(&key(Kind::Namespace, None, "x")).await.unwrap();
    assert!(api.list(Kind::Pod, None).await.unwrap().items.is_empty());
}
