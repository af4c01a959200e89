//! `podnet apply -f FILE|DIR|-` (`kubectl apply -f`): every object of the manifests through
//! [`Api::apply`], one line each: `pod/a created`, `pod/a configured`, `pod/a unchanged`.
//!
//! Namespaces are applied before everything else (the order of the manifests is kept
//! otherwise), so a file may list a Namespace after the objects that live in it.

use podnet_api::{Api, Applied};
use podnet_model::{Kind, Object};
use podnet_store::Datastore;

use super::manifests::Source;
use super::{collect, kind_ref, place, server_error, ApplyArgs, Report};

/// Applies every object of `sources`; failures are reported and the others still applied.
/// Returns what was applied, as stored.
pub async fn run<D: Datastore>(
    api: &Api<D>,
    args: &ApplyArgs,
    sources: Vec<Source>,
    report: &mut Report<'_>,
) -> Vec<(Applied, Object)> {
    let mut applied = Vec::new();
    let mut objects = collect(sources, report);
    if objects.is_empty() {
        if !report.failed {
            report.error("error: no objects passed to apply");
        }
        return applied;
    }
    objects.sort_by_key(|(_, o)| o.kind() != Kind::Namespace);
    for (source, mut object) in objects {
        if let Err(e) = place(&mut object, args.namespace.as_deref()) {
            report.error(e);
            continue;
        }
        match api.apply(object).await {
            Ok((what, o)) => {
                report.out(format!(
                    "{}/{} {}",
                    kind_ref(o.kind()),
                    o.name(),
                    what.as_str()
                ));
                applied.push((what, o));
            }
            Err(e) => report.error(server_error(&e, Some(("applying", &source)))),
        }
    }
    applied
}
