//! `podnet apply`, `podnet delete` and `podnet get`: kubectl's verbs on the objects of a
//! datastore, through the API server of `podnet-api`, with kubectl's output and exit codes.
//! `podnet lab apply|delete|get` are the same verbs on a lab's datastore (`podnet-lab`'s
//! `objects`, which adds its admission through [`apply::Admission`]). The datastore is named by
//! a [`store_url::StoreUrl`] (`--store`).
//!
//! Every verb goes on through all of its objects and exits 1 at the end if any failed, as
//! kubectl does. Messages are kubectl's: `pod/a created`, `pod "a" deleted`,
//! `Error from server (NotFound): pods "a" not found`, `error: ...` for what never reached
//! the server.

pub mod apply;
pub mod delete;
pub mod get;
pub mod manifests;
pub mod store_url;
pub mod table;

use std::fmt;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use podnet_api::{Api, ApiError, Applied, Deletion};
use podnet_model::defaults::DEFAULT_NAMESPACE;
use podnet_model::{Kind, Object};
use podnet_store::embedded::EmbeddedStore;
use podnet_store::etcd::EtcdStore;
use podnet_store::Datastore;

use crate::store_url::StoreUrl;
use manifests::Source;

/// `podnet apply`'s arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct ApplyArgs {
    /// A manifest file, a directory of them, or `-` for stdin: YAML (several documents), JSON
    /// or `kind: List`. Repeatable.
    #[arg(short = 'f', long = "filename", required = true)]
    pub filename: Vec<String>,
    /// The namespace of objects that name none (an object naming another one is an error).
    #[arg(short, long)]
    pub namespace: Option<String>,
}

/// `podnet delete`'s arguments: `-f FILE` or `KIND NAME...`.
#[derive(clap::Args, Debug, Clone)]
pub struct DeleteArgs {
    /// `KIND NAME...` (instead of -f).
    #[arg(conflicts_with = "filename")]
    pub args: Vec<String>,
    /// The objects of these manifests (file, directory or `-`).
    #[arg(short = 'f', long = "filename")]
    pub filename: Vec<String>,
    /// The namespace (default: `default`).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Treat "not found" as success.
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// `podnet get`'s arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct GetArgs {
    /// The resource type, as kubectl takes it: `pods`, `po`, `svc`, `netpol`, `ns`,
    /// `endpointslices`, `networkpolicies.networking.k8s.io`, ...
    pub kind: String,
    /// One object's name (all of them without it).
    #[arg(value_name = "NAME")]
    pub object: Option<String>,
    /// The namespace (default: `default`).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Every namespace (a NAMESPACE column first).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// `wide`, `yaml`, `json` or `name`; a table without it.
    #[arg(short, long)]
    pub output: Option<String>,
}

/// `--store` of the object verbs outside a lab.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArg {
    /// Datastore: `embedded:/path/store.db` or `etcd://HOST:PORT[,HOST:PORT]`.
    #[arg(long, env = "PODNET_STORE")]
    pub store: String,
}

/// One of the verbs.
#[derive(Debug, Clone)]
pub enum Verb {
    Apply(ApplyArgs),
    Delete(DeleteArgs),
    Get(GetArgs),
}

/// The error of a verb that has printed its errors already (the exit status is all that is
/// left to give).
#[derive(Debug)]
pub struct Reported;

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("errors were reported above")
    }
}

impl std::error::Error for Reported {}

/// Where a verb's output goes, and whether anything failed.
pub struct Report<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    pub failed: bool,
}

impl<'a> Report<'a> {
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Report {
            out,
            err,
            failed: false,
        }
    }

    /// A line (or lines) of results, on stdout.
    pub fn out(&mut self, text: impl fmt::Display) {
        let _ = writeln!(self.out, "{text}");
    }

    /// Text on stdout as it is (a table, JSON).
    pub fn out_raw(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    /// A note on stderr that is not a failure.
    pub fn note(&mut self, text: impl fmt::Display) {
        let _ = writeln!(self.err, "{text}");
    }

    /// A failure, on stderr; the verb will exit 1.
    pub fn error(&mut self, text: impl fmt::Display) {
        let _ = writeln!(self.err, "{text}");
        self.failed = true;
    }
}

/// What a verb changed, for callers that act on it (a lab's kubelet making applied Pods
/// real), and whether anything failed. Objects that failed are in neither list.
#[derive(Debug, Default)]
pub struct Outcome {
    pub applied: Vec<(Applied, Object)>,
    pub deleted: Vec<Deletion>,
    pub failed: bool,
}

impl Outcome {
    /// The exit status: `Err(Reported)` when anything failed (the errors are printed already).
    pub fn status(&self) -> Result<()> {
        if self.failed {
            Err(Reported.into())
        } else {
            Ok(())
        }
    }
}

/// Runs a verb on the datastore at `store`, printing to stdout and stderr.
pub fn run(verb: &Verb, store: &str) -> Outcome {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let mut report = Report::new(&mut out, &mut err);
    let mut outcome = run_on(verb, store, &mut report).unwrap_or_else(|e| {
        report.error(format!("error: {e:#}"));
        Outcome::default()
    });
    outcome.failed |= report.failed;
    outcome
}

fn run_on(verb: &Verb, store: &str, report: &mut Report<'_>) -> Result<Outcome> {
    let url = StoreUrl::parse(store)?;
    // Manifests are read before the store is opened: a typo costs no connection.
    let sources = match verb {
        Verb::Apply(a) => manifests::read(&a.filename),
        Verb::Delete(d) => manifests::read(&d.filename),
        Verb::Get(_) => Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the runtime")?;
    rt.block_on(async {
        match &url {
            StoreUrl::Embedded(path) => {
                // Only apply may bring a store into being; reading a mistyped path must not.
                if !matches!(verb, Verb::Apply(_)) && !path.exists() {
                    bail!("no datastore at {}", path.display());
                }
                let store = EmbeddedStore::open(path)?;
                Ok(execute(&Api::new(store), verb, sources, now_secs(), report).await)
            }
            StoreUrl::Etcd(endpoints) => {
                let store = EtcdStore::connect(endpoints)
                    .await
                    .with_context(|| format!("connect to {url}"))?;
                Ok(execute(&Api::new(store), verb, sources, now_secs(), report).await)
            }
        }
    })
}

/// Runs a verb against an API server (`sources`: the manifests of `-f`; `now_secs`: for AGE).
pub async fn execute<D: Datastore>(
    api: &Api<D>,
    verb: &Verb,
    sources: Vec<Source>,
    now_secs: i64,
    report: &mut Report<'_>,
) -> Outcome {
    execute_admitted(api, verb, sources, now_secs, &mut apply::AdmitAll, report).await
}

/// [`execute`] with `admission` in front of the API server's writes of `apply`.
pub async fn execute_admitted<D: Datastore>(
    api: &Api<D>,
    verb: &Verb,
    sources: Vec<Source>,
    now_secs: i64,
    admission: &mut dyn apply::Admission,
    report: &mut Report<'_>,
) -> Outcome {
    let mut outcome = Outcome::default();
    match verb {
        Verb::Apply(a) => outcome.applied = apply::run(api, a, sources, admission, report).await,
        Verb::Delete(d) => outcome.deleted = delete::run(api, d, sources, report).await,
        Verb::Get(g) => get::run(api, g, now_secs, report).await,
    }
    outcome.failed = report.failed;
    outcome
}

/// Now, in seconds since the epoch (for AGE).
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// How kubectl names a kind in `KIND/NAME` and `KIND "NAME" deleted`: lowercase, qualified by
/// the group outside the core group (`pod`, `networkpolicy.networking.k8s.io`).
pub fn kind_ref(kind: Kind) -> String {
    let name = kind.name().to_ascii_lowercase();
    match kind.group() {
        "" => name,
        group => format!("{name}.{group}"),
    }
}

/// kubectl's line for a failed request; `during` is the operation and the manifest it came
/// from (`("deleting", "x.yaml")`).
pub fn server_error(e: &ApiError, during: Option<(&str, &str)>) -> String {
    match (e.reason(), during) {
        (Some(reason), Some((op, source))) => {
            format!("Error from server ({reason}): error when {op} {source:?}: {e}")
        }
        (Some(reason), None) => format!("Error from server ({reason}): {e}"),
        (None, _) => format!("error: {e}"),
    }
}

/// kubectl's line for a resource type it does not know.
pub fn unknown_kind(text: &str) -> String {
    format!("error: the server doesn't have a resource type {text:?}")
}

/// The namespace a request is about: `-n`, else `default`.
pub fn namespace_or_default(namespace: Option<&str>) -> &str {
    namespace.unwrap_or(DEFAULT_NAMESPACE)
}

/// The objects of every decoded source, with the source's name; the sources that did not
/// decode are reported.
pub fn collect(sources: Vec<Source>, report: &mut Report<'_>) -> Vec<(String, Object)> {
    let mut objects = Vec::new();
    for source in sources {
        match source.objects {
            Ok(list) => objects.extend(list.into_iter().map(|o| (source.name.clone(), o))),
            Err(e) => report.error(format!("error: error parsing {}: {e}", source.name)),
        }
    }
    objects
}

/// Puts an object without a namespace into `-n`'s; an object naming another one than `-n` is
/// an error, worded as kubectl words it.
pub fn place(object: &mut Object, namespace: Option<&str>) -> Result<(), String> {
    if !object.kind().namespaced() {
        return Ok(());
    }
    match (object.namespace(), namespace) {
        (None, Some(ns)) => {
            object.meta_mut().namespace = Some(ns.to_owned());
            Ok(())
        }
        (Some(have), Some(want)) if have != want => Err(format!(
            "error: the namespace from the provided object {have:?} does not match the namespace {want:?}. You must pass '--namespace={have}' to perform this operation."
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
