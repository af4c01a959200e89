//! [`EtcdStore`]: the [`Datastore`] on a real etcd v3 cluster (multi-machine), through the
//! `etcd-client` crate. Create-if-absent and compare-and-swap are etcd transactions
//! (`create_revision == 0`, `mod_revision == expected`); leases and watch are etcd's own.
//!
//! Equivalent by hand: `etcdctl put --lease=ID KEY VALUE`, `etcdctl txn`, `etcdctl watch --prefix`.

use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, PutOptions, Txn, TxnOp,
    WatchOptions,
};

use crate::types::{Event, KeyValue, LeaseId, Revision, StoreError, WatchBatch};
use crate::{Datastore, WatchStream};

/// How long one request may take before the store counts as unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// A client of one etcd cluster.
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
}

fn unavailable(e: etcd_client::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn kv(k: &etcd_client::KeyValue) -> KeyValue {
    KeyValue {
        key: String::from_utf8_lossy(k.key()).into_owned(),
        value: String::from_utf8_lossy(k.value()).into_owned(),
        mod_revision: k.mod_revision(),
        lease: (k.lease() != 0).then_some(LeaseId(k.lease())),
    }
}

fn put_opts(lease: Option<LeaseId>) -> Option<PutOptions> {
    lease.map(|l| PutOptions::new().with_lease(l.0))
}

impl EtcdStore {
    /// Connects to `endpoints` (e.g. `["127.0.0.1:2379"]`).
    pub async fn connect(endpoints: &[String]) -> Result<Self, StoreError> {
        let opts = ConnectOptions::new()
            .with_connect_timeout(REQUEST_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT);
        let client = Client::connect(endpoints, Some(opts))
            .await
            .map_err(unavailable)?;
        Ok(EtcdStore { client })
    }

    /// Compacts the history up to `revision` (`etcdctl compact REV`): watches from before it
    /// fail with [`StoreError::Compacted`]. Operators and tests use it; agents never do.
    pub async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.client
            .clone()
            .compact(revision, None)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn txn_put(
        &self,
        guard: Compare,
        key: &str,
        value: &str,
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        let txn =
            Txn::new()
                .when(vec![guard])
                .and_then(vec![TxnOp::put(key, value, put_opts(lease))]);
        let resp = self
            .client
            .clone()
            .txn(txn)
            .await
            .map_err(|e| lease_or_unavailable(e, lease))?;
        Ok(resp
            .succeeded()
            .then(|| resp.header().map(|h| h.revision()).unwrap_or_default()))
    }
}

/// etcd answers "requested lease not found" for a put with an expired lease.
fn lease_or_unavailable(e: etcd_client::Error, lease: Option<LeaseId>) -> StoreError {
    match lease {
        Some(l) if e.to_string().contains("lease not found") => StoreError::LeaseExpired(l),
        _ => unavailable(e),
    }
}

impl Datastore for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let resp = self
            .client
            .clone()
            .get(key, None)
            .await
            .map_err(unavailable)?;
        Ok(resp.kvs().first().map(kv))
    }

    async fn list(&self, prefix: &str) -> Result<(Vec<KeyValue>, Revision), StoreError> {
        let resp = self
            .client
            .clone()
            .get(prefix, Some(GetOptions::new().with_prefix()))
            .await
            .map_err(unavailable)?;
        let rev = resp.header().map(|h| h.revision()).unwrap_or_default();
        Ok((resp.kvs().iter().map(kv).collect(), rev))
    }

    async fn create(
        &self,
        key: &str,
        value: &str,
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        self.txn_put(
            Compare::create_revision(key, CompareOp::Equal, 0),
            key,
            value,
            lease,
        )
        .await
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Revision,
        value: &str,
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        self.txn_put(
            Compare::mod_revision(key, CompareOp::Equal, expected),
            key,
            value,
            lease,
        )
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let resp = self
            .client
            .clone()
            .delete(key, None)
            .await
            .map_err(unavailable)?;
        Ok(resp.deleted() > 0)
    }

    async fn grant(&self, ttl: Duration) -> Result<LeaseId, StoreError> {
        let secs = ttl.as_secs().max(1) as i64;
        let resp = self
            .client
            .clone()
            .lease_grant(secs, None)
            .await
            .map_err(unavailable)?;
        Ok(LeaseId(resp.id()))
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        let err = |e| lease_or_unavailable(e, Some(lease));
        let (mut keeper, mut stream) = self
            .client
            .clone()
            .lease_keep_alive(lease.0)
            .await
            .map_err(err)?;
        keeper.keep_alive().await.map_err(err)?;
        match tokio::time::timeout(REQUEST_TIMEOUT, stream.message()).await {
            Ok(Ok(Some(resp))) if resp.ttl() > 0 => Ok(()),
            Ok(Ok(_)) => Err(StoreError::LeaseExpired(lease)),
            Ok(Err(e)) => Err(err(e)),
            Err(_) => Err(StoreError::Unavailable("lease keep-alive timed out".into())),
        }
    }

    async fn revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        match self.client.clone().lease_revoke(lease.0).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("lease not found") => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn watch(
        &self,
        prefix: &str,
        after: Revision,
        timeout: Duration,
    ) -> Result<(Vec<Event>, Revision), StoreError> {
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(after + 1);
        let mut stream = self
            .client
            .clone()
            .watch(prefix, Some(opts))
            .await
            .map_err(unavailable)?;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut next = after;
        loop {
            let msg = match tokio::time::timeout_at(deadline, stream.message()).await {
                Err(_) => return Ok((Vec::new(), next)),
                Ok(m) => m.map_err(unavailable)?,
            };
            let Some(resp) = msg else {
                return Err(StoreError::Unavailable("watch stream closed".into()));
            };
            if resp.compact_revision() > 0 {
                return Err(StoreError::Compacted {
                    requested: after,
                    oldest: resp.compact_revision(),
                });
            }
            let events = events_of(&resp, &mut next);
            if !events.is_empty() {
                return Ok((events, next));
            }
        }
    }

    /// One etcd watch stream for the stream's whole life (no new request per batch); progress
    /// notifications keep the resume revision moving while nothing under the prefix changes.
    fn watch_stream(&self, prefix: &str, after: Revision) -> WatchStream {
        let (client, prefix) = (self.client.clone(), prefix.to_string());
        WatchStream::spawn(move |tx| async move {
            let opts = WatchOptions::new()
                .with_prefix()
                .with_progress_notify()
                .with_start_revision(after + 1);
            let mut client = client;
            let mut stream = match client.watch(prefix.as_str(), Some(opts)).await {
                Ok(w) => w,
                Err(e) => {
                    tx.send(Err(unavailable(e))).await;
                    return;
                }
            };
            let mut next = after;
            loop {
                let resp = match stream.message().await {
                    Ok(Some(r)) => r,
                    Ok(None) => {
                        tx.send(Err(StoreError::Unavailable("watch stream closed".into())))
                            .await;
                        return;
                    }
                    Err(e) => {
                        tx.send(Err(unavailable(e))).await;
                        return;
                    }
                };
                if resp.compact_revision() > 0 {
                    tx.send(Err(StoreError::Compacted {
                        requested: next,
                        oldest: resp.compact_revision(),
                    }))
                    .await;
                    return;
                }
                if resp.canceled() {
                    let why = resp.cancel_reason().to_string();
                    tx.send(Err(StoreError::Unavailable(format!(
                        "watch canceled: {why}"
                    ))))
                    .await;
                    return;
                }
                let events = events_of(&resp, &mut next);
                if let Some(h) = resp.header() {
                    // A progress notification (no events) carries the revision reached.
                    if events.is_empty() && h.revision() > next {
                        next = h.revision();
                    }
                }
                // An empty batch is progress: the watch was created, or a progress notification.
                let batch = WatchBatch {
                    events,
                    revision: next,
                };
                if !tx.send(Ok(batch)).await {
                    return;
                }
            }
        })
    }
}

/// The events of one watch response; `next` moves to the newest revision among them.
fn events_of(resp: &etcd_client::WatchResponse, next: &mut Revision) -> Vec<Event> {
    resp.events()
        .iter()
        .filter_map(|e| {
            let k = e.kv()?;
            *next = (*next).max(k.mod_revision());
            Some(match e.event_type() {
                EventType::Put => Event::Put(kv(k)),
                EventType::Delete => Event::Delete {
                    key: String::from_utf8_lossy(k.key()).into_owned(),
                    revision: k.mod_revision(),
                },
            })
        })
        .collect()
}
