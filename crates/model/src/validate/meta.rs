//! Rules for `metadata` (name, namespace, labels, annotations) and for label selectors, which
//! share the label-key and label-value checks.

use std::collections::BTreeMap;

use super::names::{dns1035_label, dns1123_label, dns1123_subdomain, label_value, qualified_name};
use super::{Errors, FieldError, FieldPath};
use crate::kind::Kind;
use crate::meta::ObjectMeta;
use crate::selector::{LabelSelector, Operator};

/// The API server's limit on the total size of an object's annotations (keys and values).
pub const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

pub(super) fn validate_meta(kind: Kind, meta: &ObjectMeta, errs: &mut Errors) {
    let path = FieldPath::root("metadata");
    let name_path = path.child("name");
    if meta.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.invalid_each(&name_path, &meta.name, name_rule(kind)(&meta.name));
    }
    let ns_path = path.child("namespace");
    match meta.namespace() {
        Some(ns) if kind.namespaced() => errs.invalid_each(&ns_path, ns, dns1123_label(ns)),
        Some(_) => errs.push(FieldError::forbidden(&ns_path, "not allowed on this type")),
        // A namespaced object without one gets `default` from the defaults.
        None => {}
    }
    validate_labels(&meta.labels, &path.child("labels"), errs);
    validate_annotations(&meta.annotations, &path.child("annotations"), errs);
}

/// The name rule of each kind: Namespaces are DNS-1123 labels and Services DNS-1035 labels
/// (their names become DNS labels: `web.default.svc`), everything else DNS-1123 subdomains.
fn name_rule(kind: Kind) -> fn(&str) -> Vec<String> {
    match kind {
        Kind::Namespace => dns1123_label,
        Kind::Service => dns1035_label,
        Kind::Pod | Kind::EndpointSlice | Kind::NetworkPolicy => dns1123_subdomain,
    }
}

/// Label keys are qualified names, values label values; errors at `path[key]`.
pub(super) fn validate_labels(
    labels: &BTreeMap<String, String>,
    path: &FieldPath,
    errs: &mut Errors,
) {
    for (key, value) in labels {
        let entry = path.key(key);
        errs.invalid_each(&entry, key, qualified_name(key));
        errs.invalid_each(&entry, value, label_value(value));
    }
}

fn validate_annotations(
    annotations: &BTreeMap<String, String>,
    path: &FieldPath,
    errs: &mut Errors,
) {
    let mut total = 0usize;
    for (key, value) in annotations {
        // As the API server: a qualified name, except that case does not matter.
        errs.invalid_each(
            &path.key(key),
            key,
            qualified_name(&key.to_ascii_lowercase()),
        );
        total = total.saturating_add(key.len()).saturating_add(value.len());
    }
    if total > MAX_ANNOTATIONS_BYTES {
        errs.push(FieldError::too_long(path, MAX_ANNOTATIONS_BYTES));
    }
}

pub(super) fn validate_selector(selector: &LabelSelector, path: &FieldPath, errs: &mut Errors) {
    validate_labels(&selector.match_labels, &path.child("matchLabels"), errs);
    for (i, req) in selector.match_expressions.iter().enumerate() {
        let req_path = path.child("matchExpressions").index(i);
        let values_path = req_path.child("values");
        match req.operator {
            Operator::In | Operator::NotIn => {
                if req.values.is_empty() {
                    errs.push(FieldError::required(
                        &values_path,
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !req.values.is_empty() {
                    errs.push(FieldError::forbidden(
                        &values_path,
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            Operator::Other(ref op) => errs.push(FieldError::invalid(
                &req_path.child("operator"),
                op,
                "not a valid selector operator",
            )),
        }
        errs.invalid_each(&req_path.child("key"), &req.key, qualified_name(&req.key));
        for (j, value) in req.values.iter().enumerate() {
            errs.invalid_each(&values_path.index(j), value, label_value(value));
        }
    }
}
