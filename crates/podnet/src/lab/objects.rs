//! `podnet lab apply | delete | get`: the object verbs of [`crate::kubectl`] on a lab's
//! datastore, found from the lab's state. Thin on purpose: whatever a lab adds to a verb (the
//! kubelet that makes an applied Pod real) belongs in the shared implementation's callers, not
//! in a second copy of the verbs.
//!
//! The datastore is what the lab's agents were started with (`--store` in their recorded
//! command lines): the embedded store's file under the lab's run dir, or etcd at
//! `198.18.0.2:2379`, which exists only inside the lab's control-plane namespace. For etcd the
//! verb runs on a thread that has entered that namespace (`setns`, which moves that one
//! thread); the process's other threads, and the host namespace, are left as they are.

use std::path::Path;

use anyhow::{anyhow, Result};

use super::sh::ns_path;
use super::state::LabState;
use crate::kubectl::{self, Outcome, Verb};
use crate::store_url::StoreUrl;

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

/// Runs `verb` on lab `name`'s datastore; what it changed is in the [`Outcome`].
pub fn run(name: &str, verb: &Verb) -> Result<Outcome> {
    let st = LabState::load(name)?;
    let store = lab_store(&st)?;
    let url = store.url.to_string();
    let Some(netns) = store.netns else {
        return Ok(kubectl::run(verb, &url));
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            crate::nsutil::enter(Path::new(&ns_path(&netns)))?;
            Ok(kubectl::run(verb, &url))
        })
        .join()
        .map_err(|_| anyhow!("the {netns} client thread panicked"))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::state::Proc;

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
