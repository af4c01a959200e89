//! `--store URL`, as `podnet agent` and the object verbs (`apply`, `get`, `delete`) take it:
//! `embedded:/path/store.db` (the SQLite store, one machine) or `etcd://HOST:PORT[,HOST:PORT]`.

use std::fmt;
use std::path::PathBuf;

use anyhow::{bail, Result};

/// Where a datastore is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// The embedded store's file.
    Embedded(PathBuf),
    /// etcd client endpoints, `HOST:PORT` each.
    Etcd(Vec<String>),
}

impl StoreUrl {
    /// Parses `embedded:/path` or `etcd://HOST:PORT[,HOST:PORT]`.
    pub fn parse(text: &str) -> Result<StoreUrl> {
        let usage = || {
            format!("--store {text:?}: use embedded:/path/store.db or etcd://HOST:PORT[,HOST:PORT]")
        };
        if let Some(path) = text.strip_prefix("embedded:") {
            if path.is_empty() {
                bail!("{}", usage());
            }
            return Ok(StoreUrl::Embedded(PathBuf::from(path)));
        }
        if let Some(list) = text.strip_prefix("etcd://") {
            let endpoints: Vec<String> = list.split(',').map(str::to_owned).collect();
            if endpoints
                .iter()
                .any(|e| e.is_empty() || e.contains('/') || !e.contains(':'))
            {
                bail!("{}", usage());
            }
            return Ok(StoreUrl::Etcd(endpoints));
        }
        bail!("{}", usage())
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Embedded(path) => write!(f, "embedded:{}", path.display()),
            StoreUrl::Etcd(endpoints) => write!(f, "etcd://{}", endpoints.join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_round_trips() {
        for text in [
            "embedded:/run/podnet/labs/default/store.db",
            "etcd://198.18.0.2:2379",
            "etcd://10.0.0.1:2379,10.0.0.2:2379",
        ] {
            assert_eq!(StoreUrl::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            StoreUrl::parse("etcd://a:1,b:2").unwrap(),
            StoreUrl::Etcd(vec!["a:1".into(), "b:2".into()])
        );
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "",
            "embedded:",
            "/run/store.db",
            "etcd://",
            "etcd://host",
            "etcd://a:1,",
            "etcd://a:1/path",
            "http://a:1",
        ] {
            let err = StoreUrl::parse(bad).unwrap_err().to_string();
            assert!(err.contains("use embedded:/path/store.db"), "{bad}: {err}");
        }
    }
}
