//! [`WatchStream`]: one long-lived watch of a prefix, as informers use it.
//!
//! A task owned by the stream follows the store and hands over batches of changes in revision
//! order; the consumer only awaits [`WatchStream::next`]. A batch with no events is progress:
//! the store answered (the watch is established, or nothing changed for a while). The first error (the store went away,
//! or [`StoreError::Compacted`]: the start revision is no longer kept) ends the stream, and the
//! consumer decides: resume from the last revision it saw, or re-list. Dropping the stream stops
//! its task.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::types::{Revision, StoreError, WatchBatch};

/// Batches buffered between the store's task and the consumer.
const DEPTH: usize = 64;

/// A stream of changes under one prefix, from a revision on.
pub struct WatchStream {
    rx: mpsc::Receiver<Result<WatchBatch, StoreError>>,
    task: AbortHandle,
}

impl WatchStream {
    /// Starts `follow` on its own task; it sends batches (and at most one error) into the
    /// stream and ends when the stream is dropped.
    pub fn spawn<F, Fut>(follow: F) -> WatchStream
    where
        F: FnOnce(Sender) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(DEPTH);
        let task = tokio::spawn(follow(Sender(tx))).abort_handle();
        WatchStream { rx, task }
    }

    /// The next batch of changes. After an error the stream is over.
    pub async fn next(&mut self) -> Result<WatchBatch, StoreError> {
        match self.rx.recv().await {
            Some(r) => r,
            None => Err(StoreError::Unavailable("watch ended".into())),
        }
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The task's end of a [`WatchStream`].
pub struct Sender(mpsc::Sender<Result<WatchBatch, StoreError>>);

impl Sender {
    /// Hands a batch over; `false` when the consumer is gone (stop following).
    pub async fn send(&self, batch: Result<WatchBatch, StoreError>) -> bool {
        self.0.send(batch).await.is_ok()
    }
}

/// A stream made of repeated bounded waits (`watch(prefix, after, wait)`), for stores whose watch
/// is a poll: the embedded and in-memory ones. The first, immediate poll and every empty wait
/// are reported as progress (a batch with no events), so a consumer learns that the store
/// answers again without waiting for a change.
pub(crate) fn polled<S: crate::Datastore + Clone>(
    store: &S,
    prefix: &str,
    after: Revision,
) -> WatchStream {
    const WAIT: Duration = Duration::from_secs(5);
    let (store, prefix) = (store.clone(), prefix.to_string());
    WatchStream::spawn(move |tx| async move {
        let mut after = after;
        let mut wait = Duration::ZERO;
        loop {
            match store.watch(&prefix, after, wait).await {
                Ok((events, revision)) => {
                    wait = WAIT;
                    after = revision.max(after);
                    if !tx.send(Ok(WatchBatch { events, revision })).await {
                        return;
                    }
                }
                Err(e) => {
                    tx.send(Err(e)).await;
                    return;
                }
            }
        }
    })
}
