//! [`EmbeddedStore`]: the datastore for one machine, with no server. A SQLite file in WAL mode
//! that any number of agent processes open; every write is one `BEGIN IMMEDIATE` transaction, so
//! create-if-absent and compare-and-swap are atomic across processes, and a process killed
//! mid-write leaves nothing half-done.
//!
//! Leases are rows with an expiry time; expired leases and their keys are removed (with delete
//! events) by whichever operation notices them first. Watch is a poll of the event log, which
//! keeps the most recent [`EVENT_LOG_KEEP`] changes; a watcher that fell further behind gets
//! [`StoreError::Compacted`] and must re-list.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::clock::{Clock, SystemClock};
use crate::types::{Event, KeyValue, LeaseId, Revision, StoreError};
use crate::Datastore;

/// Retries of a busy write, each after [`BUSY_RETRY`].
const BUSY_RETRIES: i32 = (BUSY_TIMEOUT.as_micros() / BUSY_RETRY.as_micros()) as i32;
const BUSY_RETRY: Duration = Duration::from_micros(500);

fn retry_busy(attempt: i32) -> bool {
    std::thread::sleep(BUSY_RETRY);
    attempt < BUSY_RETRIES
}

/// Changes kept for watchers.
pub const EVENT_LOG_KEEP: i64 = 10_000;
/// How often a watch polls the log.
const WATCH_POLL: Duration = Duration::from_millis(100);
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The embedded store.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    path: PathBuf,
    clock: Box<dyn Clock>,
}

type Tx<'a> = rusqlite::Transaction<'a>;

impl EmbeddedStore {
    /// Opens (creating) the store at `path` with the system clock.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_clock(path, SystemClock)
    }

    /// Opens the store with an injected clock (tests).
    pub fn open_with_clock(path: &Path, clock: impl Clock) -> Result<Self, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("create {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path).map_err(err)?;
        // SQLite's default busy handler sleeps up to 100 ms between retries; with many agents
        // contending that dominates (measured: 32 racing clients took ~2 s per race). Retry every
        // 0.5 ms instead, for up to BUSY_TIMEOUT.
        conn.busy_handler(Some(retry_busy)).map_err(err)?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL,
                 mod_rev INTEGER NOT NULL, lease INTEGER);
             CREATE TABLE IF NOT EXISTS leases (id INTEGER PRIMARY KEY AUTOINCREMENT,
                 ttl_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS events (rev INTEGER PRIMARY KEY, key TEXT NOT NULL,
                 value TEXT, lease INTEGER);
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
             INSERT OR IGNORE INTO meta (k, v) VALUES ('rev', 0);",
        )
        .map_err(err)?;
        let inner = Inner {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            clock: Box::new(clock),
        };
        Ok(EmbeddedStore {
            inner: Arc::new(inner),
        })
    }

    /// Puts every `(key, value)` (no lease) in one transaction, each with its own revision and
    /// event, as that many puts would: bulk imports, and tests that need a long history fast.
    /// Returns the last revision.
    pub async fn put_many(&self, kvs: Vec<(String, String)>) -> Result<Revision, StoreError> {
        self.write(move |tx, _| {
            let mut rev = 0;
            for (k, v) in &kvs {
                rev = put(tx, k, v, None)?;
            }
            Ok(rev)
        })
        .await
    }

    /// Runs `f` on a blocking thread with the connection (SQLite calls block).
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .conn
                .lock()
                .map_err(|_| StoreError::Backend("connection lock poisoned".into()))?;
            f(&mut conn, &inner)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    /// Runs `f` in one write transaction, after expiring overdue leases.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Tx<'_>, i64) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.with(move |conn, inner| {
            let err = |source| StoreError::Sqlite {
                path: inner.path.display().to_string(),
                source,
            };
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let now = inner.clock.now_ms();
            expire(&tx, now).map_err(err)?;
            let out = f(&tx, now).map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(out)
        })
        .await
    }
}

fn next_rev(tx: &Tx<'_>) -> rusqlite::Result<Revision> {
    tx.query_row(
        "UPDATE meta SET v = v + 1 WHERE k = 'rev' RETURNING v",
        [],
        |r| r.get(0),
    )
}

fn log_event(
    tx: &Tx<'_>,
    rev: Revision,
    key: &str,
    value: Option<&str>,
    lease: Option<i64>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO events (rev, key, value, lease) VALUES (?1, ?2, ?3, ?4)",
        params![rev, key, value, lease],
    )?;
    tx.execute("DELETE FROM events WHERE rev <= ?1", [rev - EVENT_LOG_KEEP])?;
    Ok(())
}

fn put(tx: &Tx<'_>, key: &str, value: &str, lease: Option<LeaseId>) -> rusqlite::Result<Revision> {
    let rev = next_rev(tx)?;
    let lease = lease.map(|l| l.0);
    tx.execute(
        "INSERT INTO kv (key, value, mod_rev, lease) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev, lease = excluded.lease",
        params![key, value, rev, lease],
    )?;
    log_event(tx, rev, key, Some(value), lease)?;
    Ok(rev)
}

fn remove(tx: &Tx<'_>, key: &str) -> rusqlite::Result<bool> {
    if tx.execute("DELETE FROM kv WHERE key = ?1", [key])? == 0 {
        return Ok(false);
    }
    let rev = next_rev(tx)?;
    log_event(tx, rev, key, None, None)?;
    Ok(true)
}

/// Deletes expired leases and their keys (with delete events).
fn expire(tx: &Tx<'_>, now: i64) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare(
        "SELECT key FROM kv WHERE lease IN (SELECT id FROM leases WHERE expires_ms < ?1)",
    )?;
    let keys: Vec<String> = stmt
        .query_map([now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    drop(stmt);
    for k in keys {
        remove(tx, &k)?;
    }
    tx.execute("DELETE FROM leases WHERE expires_ms < ?1", [now])?;
    Ok(())
}

fn lease_alive(tx: &Tx<'_>, lease: Option<LeaseId>) -> rusqlite::Result<bool> {
    match lease {
        None => Ok(true),
        Some(l) => Ok(tx
            .query_row("SELECT 1 FROM leases WHERE id = ?1", [l.0], |_| Ok(()))
            .optional()?
            .is_some()),
    }
}

fn row_kv(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyValue> {
    Ok(KeyValue {
        key: r.get(0)?,
        value: r.get(1)?,
        mod_revision: r.get(2)?,
        lease: r.get::<_, Option<i64>>(3)?.map(LeaseId),
    })
}

/// Keys whose lease has expired are invisible to reads even before a write removes them.
const LIVE: &str = "(lease IS NULL OR lease IN (SELECT id FROM leases WHERE expires_ms >= ?2))";

impl Datastore for EmbeddedStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_string();
        self.with(move |conn, inner| {
            let sql =
                format!("SELECT key, value, mod_rev, lease FROM kv WHERE key = ?1 AND {LIVE}");
            conn.query_row(&sql, params![key, inner.clock.now_ms()], row_kv)
                .optional()
                .map_err(|source| StoreError::Sqlite {
                    path: inner.path.display().to_string(),
                    source,
                })
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<(Vec<KeyValue>, Revision), StoreError> {
        let prefix = prefix.to_string();
        self.with(move |conn, inner| {
            let err = |source| StoreError::Sqlite { path: inner.path.display().to_string(), source };
            let tx = conn.transaction().map_err(err)?;
            let rev: Revision = tx.query_row("SELECT v FROM meta WHERE k = 'rev'", [], |r| r.get(0)).map_err(err)?;
            let sql = format!(
                "SELECT key, value, mod_rev, lease FROM kv WHERE substr(key, 1, length(?1)) = ?1 AND {LIVE} ORDER BY key"
            );
            let mut stmt = tx.prepare(&sql).map_err(err)?;
            let kvs = stmt
                .query_map(params![prefix, inner.clock.now_ms()], row_kv)
                .map_err(err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            Ok((kvs, rev))
        })
        .await
    }

    async fn create(
        &self,
        key: &str,
        value: &str,
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        let out = self
            .write(move |tx, _| {
                if !lease_alive(tx, lease)? {
                    return Ok(Err(()));
                }
                let exists = tx
                    .query_row("SELECT 1 FROM kv WHERE key = ?1", [&key], |_| Ok(()))
                    .optional()?;
                match exists {
                    Some(()) => Ok(Ok(None)),
                    None => put(tx, &key, &value, lease).map(|r| Ok(Some(r))),
                }
            })
            .await?;
        out.map_err(|()| StoreError::LeaseExpired(lease.unwrap_or(LeaseId(0))))
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Revision,
        value: &str,
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        let out = self
            .write(move |tx, _| {
                if !lease_alive(tx, lease)? {
                    return Ok(Err(()));
                }
                let current: Option<Revision> = tx
                    .query_row("SELECT mod_rev FROM kv WHERE key = ?1", [&key], |r| {
                        r.get(0)
                    })
                    .optional()?;
                match current {
                    Some(r) if r == expected => put(tx, &key, &value, lease).map(|r| Ok(Some(r))),
                    _ => Ok(Ok(None)),
                }
            })
            .await?;
        out.map_err(|()| StoreError::LeaseExpired(lease.unwrap_or(LeaseId(0))))
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.write(move |tx, _| remove(tx, &key)).await
    }

    async fn grant(&self, ttl: Duration) -> Result<LeaseId, StoreError> {
        let ttl_ms = ttl.as_millis() as i64;
        self.write(move |tx, now| {
            tx.query_row(
                "INSERT INTO leases (ttl_ms, expires_ms) VALUES (?1, ?2) RETURNING id",
                params![ttl_ms, now + ttl_ms],
                |r| r.get(0),
            )
            .map(LeaseId)
        })
        .await
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        let n = self
            .write(move |tx, now| {
                tx.execute(
                    "UPDATE leases SET expires_ms = ?2 + ttl_ms WHERE id = ?1",
                    params![lease.0, now],
                )
            })
            .await?;
        match n {
            0 => Err(StoreError::LeaseExpired(lease)),
            _ => Ok(()),
        }
    }

    async fn revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.write(move |tx, _| {
            let mut stmt = tx.prepare("SELECT key FROM kv WHERE lease = ?1")?;
            let keys: Vec<String> = stmt
                .query_map([lease.0], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            drop(stmt);
            for k in keys {
                remove(tx, &k)?;
            }
            tx.execute("DELETE FROM leases WHERE id = ?1", [lease.0])?;
            Ok(())
        })
        .await
    }

    async fn watch(
        &self,
        prefix: &str,
        after: Revision,
        timeout: Duration,
    ) -> Result<(Vec<Event>, Revision), StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Expired leases are removed by a write (so watchers see their keys' deletions); take
            // the write lock only when there is something to expire.
            let overdue = self
                .with(|conn, inner| {
                    conn.query_row(
                        "SELECT 1 FROM leases WHERE expires_ms < ?1 LIMIT 1",
                        [inner.clock.now_ms()],
                        |_| Ok(()),
                    )
                    .optional()
                    .map(|o| o.is_some())
                    .map_err(|source| StoreError::Sqlite {
                        path: inner.path.display().to_string(),
                        source,
                    })
                })
                .await?;
            if overdue {
                self.write(|_, _| Ok(())).await?;
            }
            let p = prefix.to_string();
            let (events, rev) = self
                .with(move |conn, inner| {
                    let err = |source| StoreError::Sqlite {
                        path: inner.path.display().to_string(),
                        source,
                    };
                    let oldest: Option<Revision> = conn
                        .query_row("SELECT MIN(rev) FROM events", [], |r| r.get(0))
                        .map_err(err)?;
                    if let Some(oldest) = oldest {
                        if after + 1 < oldest {
                            return Err(StoreError::Compacted {
                                requested: after,
                                oldest,
                            });
                        }
                    }
                    let mut stmt = conn
                        .prepare(
                            "SELECT rev, key, value, lease FROM events
                             WHERE rev > ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY rev",
                        )
                        .map_err(err)?;
                    let events = stmt
                        .query_map(params![after, p], |r| {
                            let (rev, key, value, lease): (
                                Revision,
                                String,
                                Option<String>,
                                Option<i64>,
                            ) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                            Ok(match value {
                                Some(value) => Event::Put(KeyValue {
                                    key,
                                    value,
                                    mod_revision: rev,
                                    lease: lease.map(LeaseId),
                                }),
                                None => Event::Delete { key, revision: rev },
                            })
                        })
                        .map_err(err)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(err)?;
                    let rev: Revision = conn
                        .query_row("SELECT v FROM meta WHERE k = 'rev'", [], |r| r.get(0))
                        .map_err(err)?;
                    Ok((events, rev))
                })
                .await?;
            if !events.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok((events, rev));
            }
            tokio::time::sleep(WATCH_POLL.min(deadline - tokio::time::Instant::now())).await;
        }
    }
}
