//! Running a single-member etcd (Debian's etcd-server) for tests and the lab: on a given
//! address, with its own data directory, stopped by its PID (never by name).
//!
//! Equivalent by hand: `etcd --data-dir D --listen-client-urls http://A:P --advertise-client-urls
//! http://A:P --listen-peer-urls http://A:P2 --initial-advertise-peer-urls http://A:P2
//! --initial-cluster NAME=http://A:P2`.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::types::StoreError;

/// How long etcd may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running etcd, stopped (SIGTERM, then SIGKILL) on drop.
pub struct EtcdServer {
    child: Option<Child>,
    pub client: SocketAddr,
    pub data_dir: PathBuf,
}

/// A free TCP port on 127.0.0.1 (bound and released; fine for tests).
pub fn free_loopback_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl EtcdServer {
    /// Starts etcd listening on `client` (peer port: client port + 1), with `wrap` as an optional
    /// command prefix (e.g. `nsenter --net=/run/netns/X`), and waits until it accepts connections.
    pub fn start(client: SocketAddr, data_dir: &Path, wrap: &[&str]) -> Result<Self, StoreError> {
        let peer = SocketAddr::new(client.ip(), client.port() + 1);
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Backend(format!("create {}: {e}", data_dir.display())))?;
        let mut argv: Vec<String> = wrap.iter().map(|s| s.to_string()).collect();
        argv.extend([
            "etcd".to_string(),
            "--name".into(),
            "podnet".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--listen-client-urls".into(),
            format!("http://{client}"),
            "--advertise-client-urls".into(),
            format!("http://{client}"),
            "--listen-peer-urls".into(),
            format!("http://{peer}"),
            "--initial-advertise-peer-urls".into(),
            format!("http://{peer}"),
            "--initial-cluster".into(),
            format!("podnet=http://{peer}"),
            "--log-level".into(),
            "error".into(),
        ]);
        let log = std::fs::File::create(data_dir.join("etcd.log")).ok();
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdout(Stdio::null())
            .stderr(log.map(Stdio::from).unwrap_or_else(Stdio::null))
            .spawn()
            .map_err(|e| StoreError::Backend(format!("start etcd ({}): {e}", argv.join(" "))))?;
        let mut server = EtcdServer {
            child: Some(child),
            client,
            data_dir: data_dir.to_path_buf(),
        };
        server.wait_ready(wrap)?;
        Ok(server)
    }

    fn wait_ready(&mut self, wrap: &[&str]) -> Result<(), StoreError> {
        let start = Instant::now();
        while start.elapsed() < START_TIMEOUT {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(StoreError::Backend(format!(
                        "etcd exited at start ({status}); see {}/etcd.log",
                        self.data_dir.display()
                    )));
                }
            }
            // Inside another namespace the port is not reachable from here; trust the process.
            if !wrap.is_empty()
                || TcpStream::connect_timeout(&self.client, Duration::from_millis(200)).is_ok()
            {
                if !wrap.is_empty() {
                    std::thread::sleep(Duration::from_millis(500));
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(StoreError::Unavailable(format!(
            "etcd did not start within {START_TIMEOUT:?}"
        )))
    }

    /// The process ID (to stop or freeze it in fault tests).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The endpoint for [`crate::etcd::EtcdStore::connect`].
    pub fn endpoint(&self) -> String {
        self.client.to_string()
    }

    /// Stops etcd: SIGTERM, then SIGKILL after 5 s. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.stop();
    }
}
