//! The Service controllers of one agent — the endpoints controller (in the elected agent only)
//! and the proxy controller (in every agent) — run beside the lease loop, sharing their state
//! with it for `status.json` through [`Shared`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use podnet_store::Datastore;
use serde::Serialize;

use crate::endpoints_ctl::{self, EndpointsStatus};
use crate::kernel::Kernel;
use crate::proxy_ctl::{self, ProxyStatus};

/// The Service controllers' state.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicesStatus {
    pub endpoints: EndpointsStatus,
    pub proxy: ProxyStatus,
}

/// The status shared with the agent's loop, and a signal that it changed.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    status: Arc<Mutex<ServicesStatus>>,
    changed: Arc<tokio::sync::Notify>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, ServicesStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the agent's loop to write `status.json`.
    pub fn changed(&self) {
        self.changed.notify_one();
    }

    /// Resolves at the next [`Shared::changed`].
    pub async fn wait_changed(&self) {
        self.changed.notified().await;
    }
}

/// Runs both controllers until the future is dropped.
pub async fn run<D: Datastore>(
    node: String,
    store: D,
    kernel: Kernel,
    lease_ttl: Duration,
    resync: Duration,
    shared: Shared,
) {
    tokio::join!(
        endpoints_ctl::run(node.clone(), store.clone(), lease_ttl, shared.clone()),
        proxy_ctl::run(node, store, kernel, resync, shared),
    );
}
