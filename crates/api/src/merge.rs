//! What a write stores, decided without I/O: the fields the API server owns on create, and how
//! a manifest (apply) or a full object (update) lands on the stored object.
//!
//! - **Create**: the server's fields are reset whatever the manifest says: a new `uid`,
//!   `creationTimestamp` now, `generation` 1, no `resourceVersion` or `deletionTimestamp`, and
//!   the kind's initial status (a Namespace is `Active`, a Pod `Pending`, as the API server's
//!   create strategies set them); then the defaults.
//! - **Apply / update**: the request's `metadata.labels`, `metadata.annotations` and spec
//!   (everything but `metadata` and `status`; for an EndpointSlice its top-level fields) replace
//!   the stored ones; every other metadata field and the status are kept. Then the defaults, and
//!   `generation` + 1 if the spec changed. A bound Pod keeps its `spec.nodeName` when the
//!   manifest names none: the scheduler set it, and kubectl's three-way merge never clears a
//!   field the manifest did not set.
//! - **Status update**: only the status of the changed copy is taken.

use podnet_model::{apply_defaults, NamespacePhase, NamespaceStatus, Object, PodPhase, PodStatus};

/// Makes `object` what a create stores (see the module doc). `now` is RFC 3339.
pub fn prepare_create(object: &mut Object, now: &str, new_uid: &mut dyn FnMut() -> String) {
    let meta = object.meta_mut();
    meta.uid = None;
    meta.resource_version = None;
    meta.deletion_timestamp = None;
    meta.generation = Some(1);
    meta.creation_timestamp = Some(now.to_owned());
    match object {
        Object::Namespace(ns) => {
            ns.status = Some(NamespaceStatus {
                phase: Some(NamespacePhase::Active),
            })
        }
        Object::Pod(pod) => {
            pod.status = Some(PodStatus {
                phase: Some(PodPhase::Pending),
                ..PodStatus::default()
            })
        }
        Object::Service(_) | Object::EndpointSlice(_) | Object::NetworkPolicy(_) => {}
    }
    apply_defaults(object, new_uid);
}

/// The object an apply or update of `desired` onto `stored` stores (see the module doc). The
/// result has no `resourceVersion`.
pub fn merge(stored: &Object, desired: Object, new_uid: &mut dyn FnMut() -> String) -> Object {
    let mut out = desired;
    let mut meta = stored.meta().clone();
    meta.labels = std::mem::take(&mut out.meta_mut().labels);
    meta.annotations = std::mem::take(&mut out.meta_mut().annotations);
    meta.resource_version = None;
    *out.meta_mut() = meta;
    copy_status(&mut out, stored);
    if let (Object::Pod(out), Object::Pod(stored)) = (&mut out, stored) {
        if out.spec.node_name.is_none() {
            out.spec.node_name.clone_from(&stored.spec.node_name);
        }
    }
    apply_defaults(&mut out, new_uid);
    set_generation(stored, &mut out);
    out
}

/// `generation`: the stored one, plus one if the spec changed. Called again after a write
/// filled in server-owned spec fields (a Service's allocations) that the manifest left out.
pub fn set_generation(stored: &Object, out: &mut Object) {
    let base = stored.meta().generation.unwrap_or(0).max(0);
    let changed = spec(out) != spec(stored);
    out.meta_mut().generation = Some(base + i64::from(changed));
}

/// `stored` with the status of `changed` (everything else of `changed` is ignored).
pub fn with_status_of(stored: &Object, changed: &Object) -> Object {
    let mut out = stored.clone();
    copy_status(&mut out, changed);
    out
}

/// Whether podnet keeps a status for objects of this kind (Namespaces and Pods).
pub fn has_status(object: &Object) -> bool {
    matches!(object, Object::Namespace(_) | Object::Pod(_))
}

/// `stored` without its `resourceVersion`, to compare with what a write would store.
pub fn without_version(stored: &Object) -> Object {
    let mut o = stored.clone();
    o.meta_mut().resource_version = None;
    o
}

fn copy_status(dst: &mut Object, src: &Object) {
    match (dst, src) {
        (Object::Namespace(d), Object::Namespace(s)) => d.status.clone_from(&s.status),
        (Object::Pod(d), Object::Pod(s)) => d.status.clone_from(&s.status),
        _ => {}
    }
}

/// The object's spec: everything but `metadata` and `status`.
fn spec(object: &Object) -> serde_json::Value {
    let mut value = object.to_value();
    if let Some(map) = value.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use podnet_model::parse_manifests;

    fn one(text: &str) -> Object {
        parse_manifests(text).unwrap().remove(0)
    }

    fn uid() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("uid-{n}")
        }
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: web}, uid: forged, resourceVersion: '5', generation: 9, creationTimestamp: '2000-01-01T00:00:00Z'}\nspec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\nstatus: {phase: Running, podIP: 10.0.0.9}\n";

    #[test]
    fn create_resets_what_the_server_owns() {
        let mut pod = one(POD);
        prepare_create(&mut pod, "2024-05-01T12:00:00Z", &mut uid());
        let meta = pod.meta();
        assert_eq!(meta.uid.as_deref(), Some("uid-1"));
        assert_eq!(meta.resource_version, None);
        assert_eq!(meta.generation, Some(1));
        assert_eq!(
            meta.creation_timestamp.as_deref(),
            Some("2024-05-01T12:00:00Z")
        );
        let Object::Pod(p) = &pod else { panic!() };
        let status = p.status.as_ref().unwrap();
        assert_eq!(status.phase, Some(PodPhase::Pending));
        assert_eq!(status.pod_ip, None);
        // The defaults ran: the port's protocol is TCP.
        assert!(pod.to_value().to_string().contains(r#""protocol":"TCP""#));
    }

    #[test]
    fn apply_keeps_status_and_server_fields() {
        let mut stored = one(POD);
        prepare_create(&mut stored, "2024-05-01T12:00:00Z", &mut uid());
        let Object::Pod(p) = &mut stored else {
            panic!()
        };
        p.status.as_mut().unwrap().pod_ip = Some("10.244.1.5".into());
        stored.meta_mut().resource_version = Some("12".into());

        // The same manifest again: nothing changes.
        let same = merge(&stored, one(POD), &mut uid());
        assert_eq!(same, without_version(&stored));

        // New labels only: metadata changes, the generation does not.
        let relabelled = merge(
            &stored,
            one(&POD.replace("app: web", "app: api")),
            &mut uid(),
        );
        assert_eq!(relabelled.meta().labels["app"], "api");
        assert_eq!(relabelled.meta().generation, Some(1));
        assert_eq!(relabelled.meta().uid.as_deref(), Some("uid-1"));
        let Object::Pod(p) = &relabelled else {
            panic!()
        };
        assert_eq!(
            p.status.as_ref().unwrap().pod_ip.as_deref(),
            Some("10.244.1.5")
        );

        // A spec change bumps the generation.
        let moved = merge(
            &stored,
            one(&POD.replace("containerPort: 80", "containerPort: 81")),
            &mut uid(),
        );
        assert_eq!(moved.meta().generation, Some(2));
        assert_eq!(
            moved.meta().creation_timestamp.as_deref(),
            Some("2024-05-01T12:00:00Z")
        );
    }

    #[test]
    fn a_bound_pod_keeps_its_node() {
        let mut stored = one(POD);
        prepare_create(&mut stored, "2024-05-01T12:00:00Z", &mut uid());
        let Object::Pod(p) = &mut stored else {
            panic!()
        };
        p.spec.node_name = Some("n2".into());
        let kept = merge(&stored, one(POD), &mut uid());
        let Object::Pod(p) = &kept else { panic!() };
        assert_eq!(p.spec.node_name.as_deref(), Some("n2"));
        assert_eq!(kept.meta().generation, stored.meta().generation);
        let moved = merge(
            &stored,
            one(&POD.replace("spec: {", "spec: {nodeName: n3, ")),
            &mut uid(),
        );
        let Object::Pod(p) = &moved else { panic!() };
        assert_eq!(p.spec.node_name.as_deref(), Some("n3"));
    }

    #[test]
    fn status_updates_take_only_the_status() {
        let mut stored = one(POD);
        prepare_create(&mut stored, "2024-05-01T12:00:00Z", &mut uid());
        let mut changed = stored.clone();
        changed.meta_mut().labels.clear();
        let Object::Pod(p) = &mut changed else {
            panic!()
        };
        p.status.as_mut().unwrap().phase = Some(PodPhase::Running);
        let out = with_status_of(&stored, &changed);
        assert_eq!(out.meta().labels["app"], "web");
        let Object::Pod(p) = &out else { panic!() };
        assert_eq!(p.status.as_ref().unwrap().phase, Some(PodPhase::Running));
    }
}
