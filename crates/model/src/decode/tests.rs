use super::*;

fn err(text: &str) -> DecodeError {
    parse_manifests(text).unwrap_err()
}

#[test]
fn multi_document_yaml_skips_empty_documents() {
    let text = "---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n...\n";
    let objects = parse_manifests(text).unwrap();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0].kind(), Kind::Namespace);
    assert_eq!(objects[1].kind(), Kind::Pod);
    assert!(parse_manifests("").unwrap().is_empty());
    assert!(parse_manifests("---\n---\n").unwrap().is_empty());
}

#[test]
fn documents_are_counted_as_a_person_counts_them() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n---\napiVersion: apps/v1\nkind: Deployment\n";
    let e = err(text);
    assert_eq!(e.document(), 3);
    assert_eq!(
        e.to_string(),
        "document 3: unknown kind \"Deployment\" (apiVersion \"apps/v1\"); podnet knows Namespace, Pod, Service, EndpointSlice and NetworkPolicy"
    );
}

#[test]
fn json_objects_one_or_many() {
    let one = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}"#;
    assert_eq!(parse_manifests(one).unwrap().len(), 1);
    let many = format!("{one}\n\t{one}\n");
    assert_eq!(parse_manifests(&many).unwrap().len(), 2);
    let e = err(&format!("{one}\n{{\"apiVersion\": "));
    assert_eq!(e.document(), 2);
    assert!(
        e.to_string().starts_with("document 2: invalid json: "),
        "{e}"
    );
}

#[test]
fn lists_are_flattened() {
    let text = r#"
apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: x}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny, namespace: x}
  spec: {podSelector: {}}
"#;
    let objects = parse_manifests(text).unwrap();
    assert_eq!(
        objects.iter().map(Object::kind).collect::<Vec<_>>(),
        [Kind::Namespace, Kind::NetworkPolicy]
    );
    assert!(parse_manifests("apiVersion: v1\nkind: List\nitems: []\n")
        .unwrap()
        .is_empty());
}

#[test]
fn typed_lists_fill_in_item_type_meta() {
    let text =
        "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n- metadata: {name: b}\n";
    let objects = parse_manifests(text).unwrap();
    assert_eq!(objects.len(), 2);
    assert!(objects.iter().all(|o| o.kind() == Kind::Pod));
    // A typed list of the wrong apiVersion is not a list of that kind.
    let e = err("apiVersion: v2\nkind: PodList\nitems: []\n");
    assert!(
        matches!(
            e,
            DecodeError::Object {
                source: ObjectError::UnknownKind { .. },
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn list_errors_name_the_item() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: x}\n- apiVersion: v1\n  kind: Service\n  spec:\n    ports:\n    - port: \"80\"\n";
    let e = err(text);
    assert_eq!(e.path(), Some("spec.ports[0].port"));
    assert!(
        e.to_string()
            .starts_with("document 1, items[1]: spec.ports[0].port: invalid type: string \"80\""),
        "{e}"
    );
    let e = err("apiVersion: v1\nkind: List\nitems: {a: 1}\n");
    assert_eq!(
        e.to_string(),
        "document 1: items must be a sequence, found a mapping"
    );
    let e = err("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n");
    assert_eq!(
        e.to_string(),
        "document 1, items[0]: a List may not contain another List"
    );
    let e = err("apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n");
    assert_eq!(e.to_string(), "document 1, items[0]: missing apiVersion");
}

#[test]
fn type_meta_is_required_and_checked() {
    assert_eq!(
        err("kind: Pod\nmetadata: {name: a}\n").to_string(),
        "document 1: missing apiVersion"
    );
    assert_eq!(
        err("apiVersion: v1\nmetadata: {name: a}\n").to_string(),
        "document 1: missing kind"
    );
    assert_eq!(
        err("apiVersion: v1\nkind: \"\"\n").to_string(),
        "document 1: missing kind"
    );
    assert_eq!(
        err("apiVersion: v1\nkind: [Pod]\n").to_string(),
        "document 1: kind must be a string, found a sequence"
    );
    assert_eq!(
        err("apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\n").to_string(),
        "document 1: kind NetworkPolicy has apiVersion \"networking.k8s.io/v1\", not \"networking.k8s.io/v1beta1\""
    );
    assert_eq!(
        err("apiVersion: v1\nkind: pod\n").to_string(),
        "document 1: unknown kind \"pod\" (apiVersion \"v1\"); podnet knows Namespace, Pod, Service, EndpointSlice and NetworkPolicy"
    );
    assert_eq!(
        err("- a\n- b\n").to_string(),
        "document 1: expected an object with apiVersion and kind, found a sequence"
    );
    assert_eq!(
        err("just text\n").to_string(),
        "document 1: expected an object with apiVersion and kind, found a string"
    );
}

#[test]
fn syntax_errors_name_document_and_line() {
    let e = err("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: [a\n");
    assert_eq!(e.document(), 2);
    let text = e.to_string();
    assert!(text.starts_with("document 2: invalid yaml: "), "{text}");
    assert!(text.contains("line"), "{text}");
    let e = err("apiVersion: v1\napiVersion: v1\nkind: Pod\n");
    assert!(e.to_string().contains("duplicate"), "{e}");
}

#[test]
fn field_errors_carry_the_path() {
    let e = err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels:\n    enabled: true\n");
    assert_eq!(e.path(), Some("metadata.labels.enabled"));
    let e = err("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: 99999999999\n");
    assert_eq!(e.path(), Some("spec.containers[0].ports[0].containerPort"));
    let e =
        err("apiVersion: v1\nkind: Service\nspec:\n  ports:\n  - port: 80\n    targetPort: 1.5\n");
    assert_eq!(e.path(), Some("spec.ports[0].targetPort"));
    let e = err("apiVersion: v1\nkind: Service\nspec: 5\n");
    assert_eq!(e.path(), Some("spec"));
}
