//! `podnet delete -f FILE|DIR|-` and `podnet delete KIND NAME... [-n NS]` (`kubectl delete`):
//! one line per object, `pod "a" deleted`. Deleting a Namespace deletes everything in it.
//!
//! From manifests, Namespaces go last: their objects are then reported one by one instead of
//! vanishing with the Namespace and failing as not found.

use podnet_api::{Api, Deletion};
use podnet_model::{Kind, ObjectKey};
use podnet_store::Datastore;

use super::manifests::Source;
use super::{
    collect, kind_ref, namespace_or_default, place, server_error, unknown_kind, DeleteArgs, Report,
};

/// Deletes what the arguments name; failures are reported and the rest still deleted.
/// Returns what was deleted (with what went along with each Namespace).
pub async fn run<D: Datastore>(
    api: &Api<D>,
    args: &DeleteArgs,
    sources: Vec<Source>,
    report: &mut Report<'_>,
) -> Vec<Deletion> {
    let mut deleted = Vec::new();
    if !args.filename.is_empty() {
        by_manifests(api, args, sources, report, &mut deleted).await;
        return deleted;
    }
    let Some((kind, names)) = args.args.split_first() else {
        report.error("error: You must provide one or more resources by argument or filename.");
        return deleted;
    };
    let Ok(kind) = Kind::parse(kind) else {
        report.error(unknown_kind(kind));
        return deleted;
    };
    if names.is_empty() {
        report.error("error: resource(s) were provided, but no name was specified");
        return deleted;
    }
    let namespace = kind
        .namespaced()
        .then(|| namespace_or_default(args.namespace.as_deref()));
    for name in names {
        match ObjectKey::new(kind, namespace, name) {
            Ok(key) => {
                let one = delete_one(api, &key, None, args.ignore_not_found, report).await;
                deleted.extend(one);
            }
            Err(e) => report.error(format!("error: {e}")),
        }
    }
    deleted
}

async fn by_manifests<D: Datastore>(
    api: &Api<D>,
    args: &DeleteArgs,
    sources: Vec<Source>,
    report: &mut Report<'_>,
    deleted: &mut Vec<Deletion>,
) {
    let mut objects = collect(sources, report);
    if objects.is_empty() {
        if !report.failed {
            report.error("error: no objects passed to delete");
        }
        return;
    }
    objects.sort_by_key(|(_, o)| o.kind() == Kind::Namespace);
    for (source, mut object) in objects {
        if let Err(e) = place(&mut object, args.namespace.as_deref()) {
            report.error(e);
            continue;
        }
        let namespace = object
            .kind()
            .namespaced()
            .then(|| namespace_or_default(object.namespace()));
        match ObjectKey::new(object.kind(), namespace, object.name()) {
            Ok(key) => {
                let one = delete_one(api, &key, Some(&source), args.ignore_not_found, report);
                deleted.extend(one.await);
            }
            Err(e) => report.error(format!("error: {e}")),
        }
    }
}

async fn delete_one<D: Datastore>(
    api: &Api<D>,
    key: &ObjectKey,
    source: Option<&str>,
    ignore_not_found: bool,
    report: &mut Report<'_>,
) -> Option<Deletion> {
    match api.delete(key).await {
        Ok(deletion) => {
            report.out(format!("{} {:?} deleted", kind_ref(key.kind), key.name));
            return Some(deletion);
        }
        Err(e) if e.is_not_found() && ignore_not_found => {}
        Err(e) => report.error(server_error(&e, source.map(|s| ("deleting", s)))),
    }
    None
}
