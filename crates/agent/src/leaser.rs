//! Claiming and renewing the node's subnet lease against a [`Datastore`].

use std::time::Duration;

use ipnet::Ipv4Net;
use podnet_store::{Datastore, LeaseId, StoreError};

use crate::error::AgentError;
use podnet_model::lease::{
    parse_key, plan_claim, subnet_key, ClaimPlan, Existing, LeaseRecord, SubnetConfig,
    SUBNETS_PREFIX,
};

/// A held subnet lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub subnet: Ipv4Net,
    pub key: String,
    pub lease: LeaseId,
}

/// Every well-formed lease in the store (malformed keys or records are ignored).
pub async fn list_leases<D: Datastore>(store: &D) -> Result<(Vec<Existing>, i64), AgentError> {
    let (kvs, rev) = store.list(SUBNETS_PREFIX).await?;
    let existing = kvs
        .iter()
        .filter_map(|kv| {
            Some(Existing {
                subnet: parse_key(&kv.key)?,
                record: LeaseRecord::from_json(&kv.value)?,
                revision: kv.mod_revision,
            })
        })
        .collect();
    Ok((existing, rev))
}

/// Claims a subnet for `record.node`: adopts its existing lease (a restarted agent keeps its
/// subnet), else tries `preferred`, else the free subnets. Exactly one node can hold a key
/// (create-if-absent). Retries when it loses a race for a key it planned to adopt.
pub async fn acquire<D: Datastore>(
    store: &D,
    cfg: &SubnetConfig,
    record: &LeaseRecord,
    preferred: Option<Ipv4Net>,
    ttl: Duration,
) -> Result<Lease, AgentError> {
    let value = record.to_json();
    for _attempt in 0..8 {
        let (existing, _) = list_leases(store).await?;
        let lease = store.grant(ttl).await?;
        match plan_claim(cfg, &record.node, preferred, &existing) {
            ClaimPlan::Adopt { subnet, revision } => {
                let key = subnet_key(subnet);
                if store
                    .compare_and_swap(&key, revision, &value, Some(lease))
                    .await?
                    .is_some()
                {
                    return Ok(Lease { subnet, key, lease });
                }
            }
            ClaimPlan::Create(order) => {
                for subnet in order {
                    let key = subnet_key(subnet);
                    if store.create(&key, &value, Some(lease)).await?.is_some() {
                        return Ok(Lease { subnet, key, lease });
                    }
                }
                let _ = store.revoke(lease).await;
                return Err(AgentError::NoFreeSubnet {
                    cluster: cfg.cluster,
                    subnet_len: cfg.subnet_len,
                });
            }
        }
        let _ = store.revoke(lease).await;
    }
    Err(AgentError::Store(StoreError::Backend(
        "lease adoption kept racing; giving up for now".into(),
    )))
}

/// Renews a held lease. When the datastore lease has expired, claims the same subnet again if it
/// is still free (or still ours); if another node holds it now, returns [`AgentError::Lost`]: the
/// caller must stop routing that subnet.
pub async fn renew<D: Datastore>(
    store: &D,
    cfg: &SubnetConfig,
    record: &LeaseRecord,
    held: &Lease,
    ttl: Duration,
) -> Result<Lease, AgentError> {
    match store.keep_alive(held.lease).await {
        Ok(()) => Ok(held.clone()),
        Err(StoreError::LeaseExpired(_)) => {
            let again = acquire(store, cfg, record, Some(held.subnet), ttl).await?;
            if again.subnet == held.subnet {
                return Ok(again);
            }
            // We got another subnet: the old one belongs to someone else now (or will).
            let _ = store.revoke(again.lease).await;
            let holder = store
                .get(&held.key)
                .await?
                .and_then(|kv| LeaseRecord::from_json(&kv.value))
                .map(|r| r.node)
                .unwrap_or_default();
            Err(AgentError::Lost {
                subnet: held.subnet,
                holder,
            })
        }
        Err(e) => Err(e.into()),
    }
}
