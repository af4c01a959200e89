//! The crash-safe allocation table, shared by every plugin process on a node.
//!
//! SQLite in WAL mode: readers never block the writer, and each operation is one
//! `BEGIN IMMEDIATE` transaction, so concurrent plugins serialise on the write lock (with a busy
//! timeout) instead of racing. A process SIGKILLed mid-transaction leaves nothing: SQLite rolls
//! the journal back on the next open. Commits are not fsynced one by one (`synchronous=NORMAL`):
//! a power loss may forget the latest allocations, but a power loss also removes every pod, and
//! [`Store::reclaim_after_reboot`] clears records from an earlier boot.
//!
//! Equivalent by hand: `sqlite3 /var/lib/podnet/ipam/ipam.sqlite3 'select * from allocations'`.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::Ipv4Net;
use rusqlite::{params, Connection, ErrorCode as SqlCode, OptionalExtension, TransactionBehavior};

use crate::allocator::{next_free, Exhausted};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "ipam.sqlite3";
/// How long a plugin waits for another one to finish its transaction.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(20);
const SCHEMA_VERSION: i64 = 1;
/// WAL size past which a write checkpoints it. A new connection reads the whole WAL to rebuild
/// its index, so an unbounded WAL makes every plugin start slower (measured: +3 ms at 7 MB).
pub const WAL_CHECKPOINT_BYTES: u64 = 256 << 10;
/// Pause between attempts to initialise a store another process is initialising.
const INIT_RETRY: Duration = Duration::from_millis(2);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(SqlCode::DatabaseBusy) | Some(SqlCode::DatabaseLocked)
    )
}

/// How long a checkpoint waits for other processes before giving up for now.
const CHECKPOINT_WAIT: Duration = Duration::from_millis(50);

/// Failures of the store; the plugin maps them to CNI codes with [`StoreError::is_transient`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create IPAM data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("IPAM store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
    #[error("IPAM store {path} holds an unreadable address {value:?} for {owner}")]
    Corrupt {
        path: PathBuf,
        value: String,
        owner: String,
    },
}

impl StoreError {
    /// Whether retrying later can succeed (lock contention, a full subnet).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Exhausted(_) => true,
            StoreError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(SqlCode::DatabaseBusy) | Some(SqlCode::DatabaseLocked)
            ),
            _ => false,
        }
    }
}

/// One address owned by one attachment `(container_id, ifname)` of one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub network: String,
    pub ip: Ipv4Addr,
    pub container_id: String,
    pub ifname: String,
    /// Opaque JSON the plugin keeps with the allocation (host veth name, MAC, port mappings),
    /// written in the same transaction as the address so the two can never disagree.
    pub data: String,
}

/// An open store. One per plugin invocation; cheap to open.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
        let store = Store { conn, path };
        // Many plugins may open a brand-new store at once. Switching it to WAL and creating the
        // schema can fail with SQLITE_BUSY without going through the busy handler (seen in the
        // 64-worker storm), so initialisation itself is retried within the busy timeout.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match store.init() {
                Ok(()) => return Ok(store),
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(INIT_RETRY);
                }
                Err(source) => return Err(store.sql(source)),
            }
        }
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn init(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // Each plugin process is usually the last connection: without this, every exit would
        // checkpoint the WAL and fsync. SQLite's auto-checkpoint (every 1000 pages) still runs.
        self.conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // When the WAL restarts after a checkpoint, truncate the file back to this size.
        self.conn
            .query_row("PRAGMA journal_size_limit = 1048576", [], |_| Ok(()))?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        // journal_mode is persistent in the file; set it once, outside a transaction.
        self.conn
            .query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        self.conn.execute_batch(
            "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS allocations (
                 network      TEXT NOT NULL,
                 ip           TEXT NOT NULL,
                 container_id TEXT NOT NULL,
                 ifname       TEXT NOT NULL,
                 data         TEXT NOT NULL,
                 PRIMARY KEY (network, ip),
                 UNIQUE (network, container_id, ifname)
             );
             CREATE TABLE IF NOT EXISTS cursors (network TEXT PRIMARY KEY, last_ip TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             PRAGMA user_version = 1;
             COMMIT;",
        )
    }

    /// Checkpoints and truncates the WAL when it has grown past [`WAL_CHECKPOINT_BYTES`].
    ///
    /// Why by hand: every plugin is a new process, and a new process rebuilds the WAL index by
    /// recovery, which forgets how much was already checkpointed; the WAL then never restarts
    /// and grows without bound (seen: 7 MB after 500 pods, +3 ms per ADD). TRUNCATE resets the
    /// file itself. It waits at most [`CHECKPOINT_WAIT`] for other processes; if they are busy,
    /// a later write tries again.
    fn maybe_checkpoint(&self) {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let big = std::fs::metadata(&wal)
            .map(|m| m.len() > WAL_CHECKPOINT_BYTES)
            .unwrap_or(false);
        if big {
            let _ = self.conn.busy_timeout(CHECKPOINT_WAIT);
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            let _ = self.conn.busy_timeout(BUSY_TIMEOUT);
        }
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction (taking the write lock first, so concurrent
    /// plugins queue instead of failing on upgrade), commits, and keeps the WAL bounded.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Connection, &Path) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let path = self.path.clone();
        let sql = sql_err(&path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&sql)?;
        let out = f(&tx, &path)?;
        tx.commit().map_err(&sql)?;
        self.maybe_checkpoint();
        Ok(out)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Allocates an address for `(container_id, ifname)`, or returns the one it already has
    /// (ADD is idempotent: a runtime retrying after a crash gets the same address). The bool is
    /// true when the address is new.
    pub fn allocate(
        &mut self,
        network: &str,
        subnet: Ipv4Net,
        gateway: Ipv4Addr,
        container_id: &str,
        ifname: &str,
        data: &str,
    ) -> Result<(Allocation, bool), StoreError> {
        self.write(|tx, path| {
            let sql = sql_err(path);
            if let Some(existing) = get_in(tx, path, network, container_id, ifname)? {
                return Ok((existing, false));
            }
            let used: HashSet<Ipv4Addr> = list_in(tx, path, network)?.into_iter().map(|a| a.ip).collect();
            let last: Option<String> = tx
                .query_row("SELECT last_ip FROM cursors WHERE network = ?1", [network], |r| r.get(0))
                .optional()
                .map_err(&sql)?;
            let ip = next_free(subnet, gateway, &used, last.and_then(|s| s.parse().ok()))?;
            tx.execute(
                "INSERT INTO allocations (network, ip, container_id, ifname, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![network, ip.to_string(), container_id, ifname, data],
            )
            .map_err(&sql)?;
            tx.execute(
                "INSERT INTO cursors (network, last_ip) VALUES (?1, ?2)
                 ON CONFLICT(network) DO UPDATE SET last_ip = excluded.last_ip",
                params![network, ip.to_string()],
            )
            .map_err(&sql)?;
            let alloc = Allocation {
                network: network.into(),
                ip,
                container_id: container_id.into(),
                ifname: ifname.into(),
                data: data.into(),
            };
            Ok((alloc, true))
        })
    }

    /// The allocation of one attachment, if any.
    pub fn get(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<Option<Allocation>, StoreError> {
        get_in(&self.conn, &self.path, network, container_id, ifname)
    }

    /// Every allocation of a network, ordered by address.
    pub fn list(&self, network: &str) -> Result<Vec<Allocation>, StoreError> {
        list_in(&self.conn, &self.path, network)
    }

    /// Every allocation of every network (audits).
    pub fn list_all(&self) -> Result<Vec<Allocation>, StoreError> {
        let sql = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT network FROM allocations ORDER BY network")
            .map_err(&sql)?;
        let networks: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(&sql)?
            .collect::<Result<_, _>>()
            .map_err(&sql)?;
        let mut out = Vec::new();
        for n in networks {
            out.extend(self.list(&n)?);
        }
        Ok(out)
    }

    /// Releases one attachment's address; `None` when there was none (DEL is idempotent).
    pub fn release(
        &mut self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<Option<Allocation>, StoreError> {
        self.write(|tx, path| {
            let found = get_in(tx, path, network, container_id, ifname)?;
            if found.is_some() {
                tx.execute(
                    "DELETE FROM allocations WHERE network = ?1 AND container_id = ?2 AND ifname = ?3",
                    params![network, container_id, ifname],
                )
                .map_err(sql_err(path))?;
            }
            Ok(found)
        })
    }

    /// Clears every allocation recorded under another boot: after a reboot no pod of the old boot
    /// exists, so its addresses are free (the reference host-local store leaks them). Returns how
    /// many were cleared. The common case (same boot) is one read, no write.
    pub fn reclaim_after_reboot(&mut self, boot_id: &str) -> Result<usize, StoreError> {
        if read_boot_id(&self.conn, &self.path)?.as_deref() == Some(boot_id) {
            return Ok(0);
        }
        self.write(|tx, path| {
            let sql = sql_err(path);
            let known = read_boot_id(tx, path)?;
            if known.as_deref() == Some(boot_id) {
                return Ok(0); // another plugin got here first
            }
            let cleared = match known {
                Some(_) => tx.execute("DELETE FROM allocations", []).map_err(&sql)?,
                None => 0,
            };
            set_meta(tx, path, "boot_id", boot_id)?;
            Ok(cleared)
        })
    }

    /// STATUS: proves the store can take a write transaction right now.
    pub fn check_writable(&mut self) -> Result<(), StoreError> {
        self.write(|tx, path| set_meta(tx, path, "status_probe", "1"))
    }
}

fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn read_boot_id(conn: &Connection, path: &Path) -> Result<Option<String>, StoreError> {
    conn.query_row("SELECT value FROM meta WHERE key = 'boot_id'", [], |r| {
        r.get(0)
    })
    .optional()
    .map_err(sql_err(path))
}

fn set_meta(conn: &Connection, path: &Path, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map(|_| ())
    .map_err(sql_err(path))
}

fn row_to_alloc(
    path: &Path,
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<Allocation, StoreError>> {
    let ip: String = r.get(1)?;
    let network: String = r.get(0)?;
    let container_id: String = r.get(2)?;
    let ifname: String = r.get(3)?;
    let data: String = r.get(4)?;
    Ok(match ip.parse() {
        Ok(ip) => Ok(Allocation {
            network,
            ip,
            container_id,
            ifname,
            data,
        }),
        Err(_) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            value: ip,
            owner: format!("{container_id}/{ifname}"),
        }),
    })
}

fn get_in(
    conn: &Connection,
    path: &Path,
    network: &str,
    cid: &str,
    ifname: &str,
) -> Result<Option<Allocation>, StoreError> {
    let sql = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    conn.query_row(
        "SELECT network, ip, container_id, ifname, data FROM allocations
         WHERE network = ?1 AND container_id = ?2 AND ifname = ?3",
        params![network, cid, ifname],
        |r| row_to_alloc(path, r),
    )
    .optional()
    .map_err(&sql)?
    .transpose()
}

fn list_in(conn: &Connection, path: &Path, network: &str) -> Result<Vec<Allocation>, StoreError> {
    let sql = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let mut stmt = conn
        .prepare(
            "SELECT network, ip, container_id, ifname, data FROM allocations WHERE network = ?1",
        )
        .map_err(&sql)?;
    let rows = stmt
        .query_map([network], |r| row_to_alloc(path, r))
        .map_err(&sql)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(&sql)??);
    }
    out.sort_by_key(|a| a.ip);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
