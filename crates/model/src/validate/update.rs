//! Rules for updates, as the API server's `ValidateUpdate` strategies apply them on top of the
//! create rules: what may not change once an object exists. Today that is a Pod's spec, which
//! is immutable but for the containers' images (`ValidatePodUpdate`), and — because podnet has
//! no `binding` subresource — the scheduler's first `spec.nodeName` on an unbound pod.

use super::{Errors, FieldError, FieldPath, ValidationErrors};
use crate::object::Object;
use crate::pod::{Pod, PodSpec};

/// The fields a pod update may change, as the API server lists them in its refusal.
pub const POD_UPDATABLE_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Checks that `new` may replace `old` (the same object, stored): `Ok` for every kind but Pod;
/// a Pod whose spec changes in anything but an image is refused with one `spec: Forbidden`
/// error naming the fields that changed.
pub fn validate_update(old: &Object, new: &Object) -> Result<(), ValidationErrors> {
    let mut errs = Errors::default();
    if let (Object::Pod(old), Object::Pod(new)) = (old, new) {
        validate_pod_update(old, new, &mut errs);
    }
    if errs.0.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(errs.0))
    }
}

fn validate_pod_update(old: &Pod, new: &Pod, errs: &mut Errors) {
    let changed = changed_fields(&old.spec, &new.spec);
    if changed.is_empty() {
        return;
    }
    let detail = format!(
        "pod updates may not change fields other than {POD_UPDATABLE_FIELDS} (changed: {})",
        changed.join(", ")
    );
    errs.push(FieldError::forbidden(&FieldPath::root("spec"), &detail));
}

/// The spec fields that differ, images aside; a first `nodeName` on an unbound pod is the
/// scheduler's binding and not a change.
fn changed_fields(old: &PodSpec, new: &PodSpec) -> Vec<String> {
    let mut changed = Vec::new();
    let binds = old.node_name.is_none() && new.node_name.is_some();
    if old.node_name != new.node_name && !binds {
        changed.push("spec.nodeName".to_owned());
    }
    if old.host_network != new.host_network {
        changed.push("spec.hostNetwork".to_owned());
    }
    if old.containers.len() != new.containers.len() {
        changed.push("spec.containers".to_owned());
        return changed;
    }
    for (i, (o, n)) in old.containers.iter().zip(&new.containers).enumerate() {
        if o.name != n.name {
            changed.push(format!("spec.containers[{i}].name"));
        }
        if o.ports != n.ports {
            changed.push(format!("spec.containers[{i}].ports"));
        }
    }
    changed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::parse_manifests;

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {pod: a}}\n\
        spec: {nodeName: n1, containers: [{name: c, image: busybox, ports: [{name: http, containerPort: 80}]}]}\n";

    fn pod(text: &str) -> Object {
        parse_manifests(text).unwrap().remove(0)
    }

    #[test]
    fn labels_and_images_may_change() {
        let old = pod(POD);
        assert_eq!(validate_update(&old, &old), Ok(()));
        let relabelled = pod(&POD.replace("pod: a", "pod: b"));
        assert_eq!(validate_update(&old, &relabelled), Ok(()));
        let image = pod(&POD.replace("busybox", "alpine"));
        assert_eq!(validate_update(&old, &image), Ok(()));
    }

    #[test]
    fn the_first_node_name_is_a_binding() {
        let unbound = pod(&POD.replace("nodeName: n1, ", ""));
        assert_eq!(validate_update(&unbound, &pod(POD)), Ok(()));
        let err = validate_update(&pod(POD), &unbound).unwrap_err();
        assert!(
            err.to_string().ends_with("(changed: spec.nodeName)"),
            "{err}"
        );
    }

    #[test]
    fn every_other_spec_change_is_forbidden() {
        let old = pod(POD);
        let cases = [
            (POD.replace("nodeName: n1", "nodeName: n2"), "spec.nodeName"),
            (
                POD.replace("containerPort: 80", "containerPort: 81"),
                "spec.containers[0].ports",
            ),
            (
                POD.replace("name: c,", "name: d,"),
                "spec.containers[0].name",
            ),
            (
                POD.replace("spec: {", "spec: {hostNetwork: true, "),
                "spec.hostNetwork",
            ),
            (
                POD.replace("containers: [", "containers: [{name: e}, "),
                "spec.containers",
            ),
        ];
        for (text, field) in cases {
            let err = validate_update(&old, &pod(&text)).unwrap_err();
            assert_eq!(err.paths(), ["spec"], "{text}");
            assert_eq!(
                err.to_string(),
                format!("spec: Forbidden: pod updates may not change fields other than {POD_UPDATABLE_FIELDS} (changed: {field})")
            );
        }
    }

    #[test]
    fn other_kinds_have_no_update_rules() {
        let ns = pod("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
        let labelled =
            pod("apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {a: b}}\n");
        assert_eq!(validate_update(&ns, &labelled), Ok(()));
    }
}
