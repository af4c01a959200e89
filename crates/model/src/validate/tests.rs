//! Unit tests of the error rendering; the table of invalid objects is `tests/bad_manifests.rs`.

use super::*;

#[test]
fn renders_as_kubectl_does() {
    let p = FieldPath::root("spec")
        .child("ports")
        .index(1)
        .child("targetPort");
    assert_eq!(
        FieldError::invalid(&p, 0, names::PORT_RANGE_MSG).to_string(),
        "spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"
    );
    let p = FieldPath::root("metadata").child("labels").key("app");
    assert_eq!(
        FieldError::invalid(&p, "-x", "bad").to_string(),
        "metadata.labels[app]: Invalid value: \"-x\": bad"
    );
    let p = FieldPath::root("spec").child("type");
    assert_eq!(
        FieldError::not_supported(&p, "Foo", crate::ServiceType::SUPPORTED).to_string(),
        "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
    );
    assert_eq!(
        FieldError::required(&p, "").to_string(),
        "spec.type: Required value"
    );
    assert_eq!(
        FieldError::duplicate(&p, "http").to_string(),
        "spec.type: Duplicate value: \"http\""
    );
    assert_eq!(
        FieldError::forbidden(&p, "no").to_string(),
        "spec.type: Forbidden: no"
    );
    assert_eq!(
        FieldError::too_many(&p, 101, 100).to_string(),
        "spec.type: Too many: 101: must have at most 100 items"
    );
}

#[test]
fn aggregates_as_the_api_server_does() {
    let p = FieldPath::root("a");
    let one = ValidationErrors(vec![FieldError::required(&p, "")]);
    assert_eq!(one.to_string(), "a: Required value");
    let two = ValidationErrors(vec![
        FieldError::required(&p, ""),
        FieldError::forbidden(&FieldPath::root("b"), "no"),
    ]);
    assert_eq!(two.to_string(), "[a: Required value, b: Forbidden: no]");
    assert_eq!(two.paths(), ["a", "b"]);
}
