//! `podnet lab apply | delete | get`: the object verbs of [`podnet_kubectl`] on a lab's
//! datastore, found from the lab's state, with what a cluster adds around the API server:
//! the lab's [`LabAdmission`] in front of `apply` (nodes, scheduling), and after `apply` and
//! `delete` the lab's [`Kubelet`], which makes the stored Pods real and removes the deleted
//! ones. `lab up` applies its spec's pods (and manifests) through the same [`change`].
//!
//! The datastore is what the lab's agents were started with (`--store` in their recorded
//! command lines): the embedded store's file under the lab's run dir, or etcd at
//! `198.18.0.2:2379`, which exists only inside the lab's control-plane namespace. For etcd the
//! verb runs on a thread that has entered that namespace (`setns`, which moves that one
//! thread); the process's other threads, and the host namespace, are left as they are. The
//! kubelet's commands (`ip netns`, the plugin, `podnet serve`) name the namespace each runs in,
//! so the thread's own does not matter to them.
//!
//! Changes hold the lab's `kubelet.lock` (`flock`): two `lab apply`s at once take turns
//! instead of making the same pod twice.

use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};
use podnet_api::Api;
use podnet_kubectl::manifests::{self, Source};
use podnet_kubectl::store_url::StoreUrl;
use podnet_kubectl::{execute_admitted, now_secs, Outcome, Report, Verb};
use podnet_model::{Kind, Object};
use podnet_netns::{in_netns, ns_path};
use podnet_store::embedded::EmbeddedStore;
use podnet_store::etcd::EtcdStore;
use podnet_store::Datastore;

use super::admission::LabAdmission;
use super::kubelet::{stored_pods, Event, Kubelet};
use super::state::LabState;

/// Where a lab's datastore is, and the namespace a client must be in to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabStore {
    pub url: StoreUrl,
    /// The lab namespace to connect from (`None`: any, the embedded store is a file).
    pub netns: Option<String>,
}

/// The datastore of the lab recorded in `st` (see the module doc).
pub fn lab_store(st: &LabState) -> Result<LabStore> {
    let recorded = st
        .procs
        .iter()
        .filter(|p| p.what.starts_with("agent "))
        .find_map(|p| {
            p.argv
                .windows(2)
                .find(|w| w[0] == "--store")
                .map(|w| w[1].clone())
        });
    let url = match recorded {
        Some(text) => StoreUrl::parse(&text)?,
        None => StoreUrl::Embedded(LabState::dir(&st.name).join("store.db")),
    };
    let netns = match &url {
        StoreUrl::Embedded(_) => None,
        StoreUrl::Etcd(_) => Some(
            st.procs
                .iter()
                .find(|p| p.what == "etcd")
                .map(|p| p.netns.clone())
                .unwrap_or_else(|| format!("{}cp", st.prefix)),
        ),
    };
    Ok(LabStore { url, netns })
}

/// Runs `verb` on lab `name`'s datastore, printing as kubectl does (the kubelet's lines on
/// stderr); what it changed is in the [`Outcome`], which has failed if the kubelet failed.
pub fn run(name: &str, verb: &Verb) -> Result<Outcome> {
    if let Verb::Get(_) = verb {
        let st = LabState::load(name)?;
        let store = lab_store(&st)?;
        let url = store.url.to_string();
        return on_lab_netns(store.netns.as_deref(), || {
            Ok(podnet_kubectl::run(verb, &url))
        });
    }
    let _lock = lock(name)?;
    let mut st = LabState::load(name)?;
    let sources = match verb {
        Verb::Apply(a) => manifests::read(&a.filename),
        Verb::Delete(d) => manifests::read(&d.filename),
        Verb::Get(_) => Vec::new(),
    };
    let changed = change(&mut st, verb, sources)?;
    let _ = std::io::stdout().write_all(&changed.out);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(&changed.err);
    for e in &changed.events {
        let _ = writeln!(err, "{e}");
    }
    let mut outcome = changed.outcome;
    outcome.failed |= changed.events.iter().any(Event::failed);
    Ok(outcome)
}

/// What [`change`] did: the verb's stdout and stderr, its outcome, and the kubelet's events.
#[derive(Debug)]
pub struct Changed {
    pub out: Vec<u8>,
    pub err: Vec<u8>,
    pub outcome: Outcome,
    pub events: Vec<Event>,
}

impl Changed {
    /// Whether the verb or the kubelet failed.
    pub fn failed(&self) -> bool {
        self.outcome.failed || self.events.iter().any(Event::failed)
    }

    /// The errors, as the command would print them.
    pub fn errors(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.err).into_owned();
        for e in self.events.iter().filter(|e| e.failed()) {
            text.push_str(&format!("{e}\n"));
        }
        text
    }
}

/// Runs `apply` or `delete` (of `sources`, the manifests read already) on lab `st` behind the
/// lab's admission, then the kubelet's sync; `st` is kept saved.
pub fn change(st: &mut LabState, verb: &Verb, sources: Vec<Source>) -> Result<Changed> {
    let store = lab_store(st)?;
    let url = store.url;
    on_lab_netns(store.netns.as_deref(), move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("start the runtime")?;
        rt.block_on(async {
            match &url {
                StoreUrl::Embedded(path) => {
                    let api = Api::new(EmbeddedStore::open(path)?).with_graceful_pod_deletion();
                    flow(&api, st, verb, sources).await
                }
                StoreUrl::Etcd(endpoints) => {
                    let store = EtcdStore::connect(endpoints)
                        .await
                        .with_context(|| format!("connect to {url}"))?;
                    flow(
                        &Api::new(store).with_graceful_pod_deletion(),
                        st,
                        verb,
                        sources,
                    )
                    .await
                }
            }
        })
    })
}

/// Every stored object of `kinds` in the lab's datastore (for `lab check`'s Service probes).
pub fn list_kinds(st: &LabState, kinds: &[Kind]) -> Result<Vec<Object>> {
    let store = lab_store(st)?;
    let url = store.url;
    let kinds = kinds.to_vec();
    on_lab_netns(store.netns.as_deref(), move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("start the runtime")?;
        rt.block_on(async {
            match &url {
                StoreUrl::Embedded(path) => {
                    list_all(&Api::new(EmbeddedStore::open(path)?), &kinds).await
                }
                StoreUrl::Etcd(endpoints) => {
                    let store = EtcdStore::connect(endpoints)
                        .await
                        .with_context(|| format!("connect to {url}"))?;
                    list_all(&Api::new(store), &kinds).await
                }
            }
        })
    })
}

async fn list_all<D: Datastore>(api: &Api<D>, kinds: &[Kind]) -> Result<Vec<Object>> {
    let mut out = Vec::new();
    for kind in kinds {
        out.extend(api.list(*kind, None).await?.items);
    }
    Ok(out)
}

async fn flow<D: Datastore>(
    api: &Api<D>,
    st: &mut LabState,
    verb: &Verb,
    sources: Vec<Source>,
) -> Result<Changed> {
    let stored = stored_pods(api).await?;
    let mut admission = LabAdmission::new(st, &stored);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = {
        let mut report = Report::new(&mut out, &mut err);
        let now = now_secs();
        execute_admitted(api, verb, sources, now, &mut admission, &mut report).await
    };
    let events = Kubelet::new(st)?.sync(api).await?;
    Ok(Changed {
        out,
        err,
        outcome,
        events,
    })
}

/// Runs `f` here, or on a thread that has entered lab namespace `netns`.
fn on_lab_netns<T: Send>(netns: Option<&str>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let Some(netns) = netns else {
        return f();
    };
    in_netns(&ns_path(netns), f)?
}

/// Holds lab `name`'s `kubelet.lock` until dropped.
fn lock(name: &str) -> Result<Flock<std::fs::File>> {
    let dir = LabState::dir(name);
    if !dir.join("state.json").exists() {
        bail!(
            "no lab {name:?} ({} missing)",
            dir.join("state.json").display()
        );
    }
    let path = dir.join("kubelet.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow!("lock {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Proc;

    fn agent(store: &str) -> Proc {
        Proc {
            what: "agent n1".into(),
            pid: 1,
            netns: "pnlab-t-n1".into(),
            argv: ["podnet", "agent", "--node", "n1", "--store", store]
                .map(String::from)
                .to_vec(),
            log: "agent.log".into(),
        }
    }

    #[test]
    fn finds_the_agents_store() {
        let mut st = LabState {
            name: "t".into(),
            prefix: "pnlab-t-".into(),
            ..LabState::default()
        };
        assert_eq!(
            lab_store(&st).unwrap(),
            LabStore {
                url: StoreUrl::Embedded("/run/podnet/labs/t/store.db".into()),
                netns: None
            }
        );
        st.procs.push(agent("etcd://198.18.0.2:2379"));
        assert_eq!(
            lab_store(&st).unwrap(),
            LabStore {
                url: StoreUrl::Etcd(vec!["198.18.0.2:2379".into()]),
                netns: Some("pnlab-t-cp".into())
            }
        );
        st.procs[0] = agent("embedded:/elsewhere/store.db");
        assert_eq!(lab_store(&st).unwrap().netns, None);
    }
}
