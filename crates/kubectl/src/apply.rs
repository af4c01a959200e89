//! `podnet apply -f FILE|DIR|-` (`kubectl apply -f`): every object of the manifests through
//! [`Api::apply`], one line each: `pod/a created`, `pod/a configured`, `pod/a unchanged`.
//!
//! Namespaces are applied before everything else (the order of the manifests is kept
//! otherwise), so a file may list a Namespace after the objects that live in it.
//!
//! A caller may put an [`Admission`] in front of the API server, as a cluster's admission
//! webhooks are: it sees each object (and what is stored under its key) before the write, may
//! complete it, or refuse it — then nothing is written and the refusal is reported like the
//! API server's own.

use podnet_api::{Api, ApiError, Applied};
use podnet_model::defaults::DEFAULT_NAMESPACE;
use podnet_model::{Kind, Object, ObjectKey};
use podnet_store::Datastore;

use super::manifests::Source;
use super::{collect, kind_ref, place, server_error, ApplyArgs, Report};

/// Checks (and may complete) objects before `apply` writes them.
pub trait Admission {
    /// Whether objects of `kind` are to be admitted (the others go straight to the server).
    fn wants(&self, kind: Kind) -> bool;
    /// Admits `object` (in its namespace already); `stored` is what its key holds now. An
    /// error refuses it: nothing is written.
    fn admit(&mut self, object: &mut Object, stored: Option<&Object>) -> Result<(), ApiError>;
}

/// No admission: every object goes to the API server as it is.
pub struct AdmitAll;

impl Admission for AdmitAll {
    fn wants(&self, _: Kind) -> bool {
        false
    }

    fn admit(&mut self, _: &mut Object, _: Option<&Object>) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Applies every object of `sources`; failures are reported and the others still applied.
/// Returns what was applied, as stored.
pub async fn run<D: Datastore>(
    api: &Api<D>,
    args: &ApplyArgs,
    sources: Vec<Source>,
    admission: &mut dyn Admission,
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
        if admission.wants(object.kind()) {
            if let Err(e) = admit(api, admission, &mut object).await {
                report.error(server_error(&e, Some(("applying", &source))));
                continue;
            }
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

/// Reads what `object`'s key holds and runs the admission on it.
async fn admit<D: Datastore>(
    api: &Api<D>,
    admission: &mut dyn Admission,
    object: &mut Object,
) -> Result<(), ApiError> {
    let kind = object.kind();
    let namespace = kind
        .namespaced()
        .then(|| object.namespace().unwrap_or(DEFAULT_NAMESPACE));
    let key = ObjectKey::new(kind, namespace, object.name()).map_err(ApiError::BadRequest)?;
    let stored = match api.get(&key).await {
        Ok(o) => Some(o),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    if kind.namespaced() && object.namespace().is_none() {
        object.meta_mut().namespace = Some(DEFAULT_NAMESPACE.to_owned());
    }
    admission.admit(object, stored.as_ref())
}
