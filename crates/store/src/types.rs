//! Values exchanged with a [`crate::Datastore`].

/// A store-wide change counter; every write gets the next one.
pub type Revision = i64;

/// A lease handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseId(pub i64);

/// A key with its value and the revision of its last change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    pub mod_revision: Revision,
    pub lease: Option<LeaseId>,
}

/// One change seen by a watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Put(KeyValue),
    Delete { key: String, revision: Revision },
}

/// What one wake-up of a [`crate::WatchStream`] carries: the changes (possibly none, as a
/// progress note) and the revision to resume after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchBatch {
    pub events: Vec<Event>,
    pub revision: Revision,
}

/// Datastore failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached right now; retry with backoff.
    #[error("datastore unavailable: {0}")]
    Unavailable(String),
    #[error("lease {} has expired", .0 .0)]
    LeaseExpired(LeaseId),
    #[error("datastore {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    /// A watch asked for changes the store no longer keeps: re-list, then watch from the list's
    /// revision.
    #[error("watch from revision {requested} is compacted (oldest kept: {oldest}); re-list")]
    Compacted {
        requested: Revision,
        oldest: Revision,
    },
    #[error("datastore: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether a retry later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }
}
