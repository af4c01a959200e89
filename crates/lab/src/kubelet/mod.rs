//! The lab's kubelet: makes the Pod objects of the lab's datastore real, and removes the pods
//! whose objects are gone. It runs after every `lab apply` and `lab delete` (and `lab up`,
//! which applies the spec's pods), level-triggered: it compares every stored Pod bound to one
//! of the lab's nodes with the pods it runs ([`plan::plan_sync`]), so a pod deleted with its
//! Namespace goes the same way as one deleted by name, and a failed pod is tried again.
//!
//! A bridged pod is made in these steps (what `lab up` used to do by hand, see docs/lab.md):
//!
//! 1. `ip netns add pnlab-LAB-NS.NAME` (recorded in the state file first).
//! 2. `CNI_COMMAND=ADD CNI_CONTAINERID=pnlab-LAB-NS.NAME … nsenter --net=NODE podnet < conf`:
//!    the real plugin, run inside the node's namespace as a runtime would.
//! 3. `nsenter --net=POD podnet serve --identity NS/NAME --tcp P … --udp P …`, then wait for
//!    its ready file: every declared port listens.
//! 4. `status`: `Running`, `Ready`, `podIP`/`podIPs`, `hostIP` (via `Api::update_status`).
//!
//! Removing is the reverse, best-effort: the server stopped by PID, `CNI_COMMAND=DEL` (the
//! address goes back to the node's IPAM store), any other process in the namespace stopped,
//! `ip netns del`. Host pods run in their node's namespace, `none` pods skip the plugin and
//! `container:` pods join another pod's namespace; only what a pod made is removed with it.

pub mod drain;
pub mod plan;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use podnet_api::Api;
use podnet_model::defaults::DEFAULT_NAMESPACE;
use podnet_model::{Kind, Object, ObjectKey, Pod, PodStatus};
use podnet_netns::{add_ns, del_ns, ns_path, stop_processes_in, CniCall};
use podnet_store::Datastore;

use super::spec::PodMode;
use super::state::{LabState, PodState, Proc};
use plan::{describe_ports, network_mode, serve_argv, serve_plan};

/// How long a pod's server gets to bind its ports.
const SERVE_READY: Duration = Duration::from_secs(5);
/// How often the kubelet looks for the ready file.
const READY_POLL: Duration = Duration::from_millis(10);
/// The interface every pod gets from the plugin.
const POD_IFNAME: &str = "eth0";
/// How much of a failed server's log a status message carries.
const LOG_TAIL: usize = 300;

/// What a sync did to one pod, for the person who ran the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Running {
        key: String,
        node: String,
        ip: Option<Ipv4Addr>,
        netns: String,
        ports: String,
    },
    Removed {
        key: String,
        released: Option<Ipv4Addr>,
        /// Steps of the teardown that failed (it went on with the others).
        errors: Vec<String>,
    },
    Failed {
        key: String,
        message: String,
    },
}

impl Event {
    /// Whether the event is a failure (the command exits 1).
    pub fn failed(&self) -> bool {
        match self {
            Event::Running { .. } => false,
            Event::Removed { errors, .. } => !errors.is_empty(),
            Event::Failed { .. } => true,
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Running {
                key,
                node,
                ip,
                netns,
                ports,
            } => {
                let at = ip.map(|ip| format!(" at {ip}")).unwrap_or_default();
                write!(
                    f,
                    "kubelet: pod {key} running on {node}{at} (netns {netns}; serving {ports})"
                )
            }
            Event::Removed {
                key,
                released,
                errors,
            } => {
                write!(f, "kubelet: pod {key} removed")?;
                if let Some(ip) = released {
                    write!(f, " (CNI DEL: {ip} released)")?;
                }
                for e in errors {
                    write!(f, "\nerror: kubelet: pod {key}: teardown: {e}")?;
                }
                Ok(())
            }
            Event::Failed { key, message } => write!(f, "error: kubelet: pod {key}: {message}"),
        }
    }
}

/// Why a pod could not be made: the status' `reason` and `message`.
#[derive(Debug)]
struct Failure {
    reason: &'static str,
    message: String,
}

fn failure(reason: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        reason,
        message: message.into(),
    }
}

/// The kubelet of one lab, over its state (which it keeps saved as it goes).
pub struct Kubelet<'a> {
    pub st: &'a mut LabState,
    exe: PathBuf,
    dir: PathBuf,
}

impl<'a> Kubelet<'a> {
    pub fn new(st: &'a mut LabState) -> Result<Self> {
        let exe = std::env::current_exe().context("find the podnet binary")?;
        let dir = LabState::dir(&st.name);
        Ok(Kubelet { st, exe, dir })
    }

    /// Brings the running pods to the stored ones (see the module doc).
    pub async fn sync<D: Datastore>(&mut self, api: &Api<D>) -> Result<Vec<Event>> {
        let mut stored = stored_pods(api).await?;
        // Deleted pods (marked): out of every Service first, then gone (drain.rs).
        let terminating: Vec<Pod> = stored
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_some())
            .cloned()
            .collect();
        for pod in &terminating {
            podnet_netns::interrupt::check()?;
            if !drain::drain(api, self.st, pod).await? {
                tracing::warn!(
                    "pod {} still in a Service's rotation after {:?}; stopping it anyway",
                    pod_key(pod),
                    drain::DRAIN_TIMEOUT
                );
            }
            let key = ObjectKey::new(
                Kind::Pod,
                Some(pod.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE)),
                &pod.metadata.name,
            )?;
            match api.delete_now(&key).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !terminating.is_empty() {
            stored = stored_pods(api).await?;
        }
        let nodes: Vec<String> = self.st.nodes.iter().map(|n| n.name.clone()).collect();
        let plan = plan::plan_sync(&stored, &self.st.pods, &nodes);
        let mut events = Vec::new();
        let gone: Vec<String> = plan.remove.iter().map(|&i| self.st.pods[i].key()).collect();
        for key in gone {
            podnet_netns::interrupt::check()?;
            if let Some(e) = self.remove(&key) {
                events.push(e);
            }
        }
        for pod in &plan.create {
            podnet_netns::interrupt::check()?;
            let key = pod_key(pod);
            let host_ip = pod
                .spec
                .node_name
                .as_deref()
                .and_then(|n| self.st.node(n))
                .and_then(|n| n.ip);
            let (status, event) = match self.create(pod) {
                Ok(p) => {
                    let ports = serve_plan(pod, &p.mode)
                        .map(|plan| describe_ports(&plan))
                        .unwrap_or_default();
                    let event = Event::Running {
                        key: key.clone(),
                        node: p.node.clone(),
                        ip: p.ip,
                        netns: p.netns.clone(),
                        ports,
                    };
                    (plan::running_status(p.ip, host_ip), event)
                }
                Err(f) => {
                    let status = plan::failed_status(host_ip, f.reason, &f.message);
                    (
                        status,
                        Event::Failed {
                            key: key.clone(),
                            message: f.message,
                        },
                    )
                }
            };
            events.push(event);
            if let Err(e) = write_status(api, pod, status).await {
                events.push(Event::Failed {
                    key,
                    message: format!("status not written: {e:#}"),
                });
            }
        }
        Ok(events)
    }

    /// Makes one pod (the steps of the module doc); on failure removes what it made.
    fn create(&mut self, pod: &Pod) -> Result<PodState, Failure> {
        let mode = network_mode(pod).map_err(|e| failure("InvalidNetworkMode", e.to_string()))?;
        let serve = serve_plan(pod, &mode).map_err(|e| failure("InvalidPorts", e.to_string()))?;
        let node_name = pod.spec.node_name.clone().unwrap_or_default();
        let node = self
            .st
            .node(&node_name)
            .cloned()
            .ok_or_else(|| failure("NodeNotFound", format!("no node {node_name:?}")))?;
        let namespace = pod
            .metadata
            .namespace()
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_owned();
        let name = pod.metadata.name.clone();
        let suffix = plan::netns_suffix(&namespace, &name);
        let (netns, ip) = match &mode {
            PodMode::Bridge | PodMode::None => (format!("{}{suffix}", self.st.prefix), None),
            PodMode::Host => (node.netns.clone(), node.ip),
            PodMode::Container(target) => {
                let t = self
                    .st
                    .pod(target)
                    .filter(|t| t.ready && matches!(t.mode, PodMode::Bridge | PodMode::None))
                    .ok_or_else(|| {
                        failure(
                            "NetworkNamespaceNotFound",
                            format!("container:{target}: no running pod {target} with a network namespace of its own"),
                        )
                    })?;
                if t.node != node.name {
                    return Err(failure(
                        "NetworkNamespaceNotFound",
                        format!("container:{target} runs on {}, not {}", t.node, node.name),
                    ));
                }
                (t.netns.clone(), t.ip)
            }
        };
        let record = PodState {
            namespace,
            name,
            uid: pod.metadata.uid.clone(),
            node: node.name.clone(),
            mode: mode.clone(),
            netns: netns.clone(),
            ip,
            port: serve.check_port,
            ready: false,
        };
        let key = record.key();
        let pod_dir = self.dir.join("pods").join(&suffix);
        let made = self.make(record, &pod_dir, &serve);
        match made {
            Ok(p) => Ok(p),
            Err(f) => {
                let mut f = f;
                if let Some(Event::Removed { errors, .. }) = self.remove(&key) {
                    for e in errors {
                        f.message.push_str(&format!("; teardown: {e}"));
                    }
                }
                Err(f)
            }
        }
    }

    fn save(&self) -> Result<(), Failure> {
        self.st
            .save()
            .map_err(|e| failure("StateNotSaved", format!("save the lab state: {e:#}")))
    }

    /// The steps after the decisions: each recorded before it is taken.
    fn make(
        &mut self,
        mut record: PodState,
        pod_dir: &Path,
        serve: &plan::ServePlan,
    ) -> Result<PodState, Failure> {
        std::fs::create_dir_all(pod_dir).map_err(|e| {
            failure(
                "StateNotSaved",
                format!("create {}: {e}", pod_dir.display()),
            )
        })?;
        let own_netns = matches!(record.mode, PodMode::Bridge | PodMode::None);
        if own_netns && !self.st.namespaces.contains(&record.netns) {
            self.st.namespaces.push(record.netns.clone());
        }
        self.st.pods.push(record.clone());
        self.save()?;
        let index = self.st.pods.len() - 1;
        if own_netns {
            add_ns(&record.netns)
                .map_err(|e| failure("NetworkNamespaceNotCreated", format!("{e:#}")))?;
        }
        if record.mode == PodMode::Bridge {
            let ip = cni_add(self.st, &self.exe, &record)
                .map_err(|e| failure("NetworkNotReady", format!("CNI ADD: {e:#}")))?;
            record.ip = Some(ip);
            self.st.pods[index].ip = Some(ip);
            self.save()?;
        }
        let ready = pod_dir.join("ready");
        let _ = std::fs::remove_file(&ready);
        let log = pod_dir.join("serve.log");
        let mut argv = vec![self.exe.display().to_string()];
        argv.extend(serve_argv(
            serve,
            &record.key(),
            &ready.display().to_string(),
        ));
        let pid = super::procs::start(&record.netns, &argv, &log)
            .map_err(|e| failure("ContainerCannotRun", format!("{e:#}")))?;
        self.st.procs.push(Proc {
            what: serve_what(&record),
            pid,
            netns: record.netns.clone(),
            argv,
            log: log.clone(),
        });
        self.save()?;
        wait_ready(pid, &ready, &log)?;
        record.ready = true;
        self.st.pods[index].ready = true;
        self.save()?;
        Ok(record)
    }

    /// Removes the running pod `key` (see the module doc); `None` if there is none.
    pub fn remove(&mut self, key: &str) -> Option<Event> {
        let index = self.st.pods.iter().position(|p| p.key() == key)?;
        let p = self.st.pods[index].clone();
        let mut errors = Vec::new();
        let what = serve_what(&p);
        for proc in self.st.procs.iter().filter(|x| x.what == what) {
            if let Err(e) = super::procs::stop(proc.pid, nix::sys::signal::Signal::SIGTERM) {
                errors.push(format!("{e:#}"));
            }
        }
        self.st.procs.retain(|x| x.what != what);
        let mut released = None;
        let own_netns = matches!(p.mode, PodMode::Bridge | PodMode::None)
            && !self.st.nodes.iter().any(|n| n.netns == p.netns);
        if own_netns {
            if p.mode == PodMode::Bridge {
                match cni_del(self.st, &self.exe, &p) {
                    Ok(()) => released = p.ip,
                    Err(e) => errors.push(format!("CNI DEL: {e:#}")),
                }
            }
            stop_processes_in(std::slice::from_ref(&p.netns));
            del_ns(&p.netns);
            if ns_path(&p.netns).exists() {
                errors.push(format!("ip netns del {} left it", p.netns));
            }
            self.st.namespaces.retain(|n| *n != p.netns);
            let suffix = p.netns.strip_prefix(&self.st.prefix).unwrap_or(&p.netns);
            let _ = std::fs::remove_dir_all(self.dir.join("pods").join(suffix));
        }
        self.st.pods.remove(index);
        if let Err(e) = self.st.save() {
            errors.push(format!("save the lab state: {e:#}"));
        }
        Some(Event::Removed {
            key: p.key(),
            released,
            errors,
        })
    }
}

/// How the state file names a pod's server process.
fn serve_what(p: &PodState) -> String {
    format!("serve {}", p.key())
}

fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE),
        pod.metadata.name
    )
}

/// Waits for `podnet serve` to say every port listens; its log if it died or took too long.
fn wait_ready(pid: u32, ready: &Path, log: &Path) -> Result<(), Failure> {
    let start = Instant::now();
    loop {
        if ready.exists() {
            return Ok(());
        }
        let tail = || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let text = text.trim();
            let from = text.len().saturating_sub(LOG_TAIL);
            text.get(from..).unwrap_or(text).to_owned()
        };
        if exited(pid) {
            return Err(failure(
                "ContainerCannotRun",
                format!("podnet serve exited: {}", tail()),
            ));
        }
        if start.elapsed() > SERVE_READY {
            return Err(failure(
                "ContainerCannotRun",
                format!(
                    "podnet serve did not listen within {SERVE_READY:?}: {}",
                    tail()
                ),
            ));
        }
        std::thread::sleep(READY_POLL);
    }
}

/// Whether our child `pid` has exited: gone, or a zombie (it is never waited for). Not
/// `down::ours`, which reads the command line: in the middle of an `execve` (nsenter becoming
/// podnet) that reads empty.
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_none_or(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}

/// Writes `status` onto the stored pod (a pod deleted meanwhile is no error).
/// Every Pod the API server holds, in all namespaces.
pub(crate) async fn stored_pods<D: Datastore>(api: &Api<D>) -> Result<Vec<Pod>> {
    let list = api.list(Kind::Pod, None).await.context("list the pods")?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| match o {
            Object::Pod(p) => Some(p),
            _ => None,
        })
        .collect())
}

async fn write_status<D: Datastore>(api: &Api<D>, pod: &Pod, status: PodStatus) -> Result<()> {
    let key = ObjectKey::new(
        Kind::Pod,
        Some(pod.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE)),
        &pod.metadata.name,
    )?;
    let uid = pod.metadata.uid.clone();
    let result = api
        .update_status(&key, |o| {
            if let Object::Pod(p) = o {
                // Only the pod this status is about (not one made again under its name).
                if p.metadata.uid == uid {
                    p.status = Some(status.clone());
                }
            }
        })
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The pods' network config on `node`: the plugin reads the subnet from the node facts file
/// its agent writes.
pub fn pod_conf(dir: &Path, node: &str, pod_path: &str) -> String {
    let ndir = dir.join(node);
    let mode = if pod_path.is_empty() {
        "bridge"
    } else {
        pod_path
    };
    serde_json::json!({
        "cniVersion": "1.1.0", "name": "podnet", "type": "podnet", "bridge": "podnet0", "ipMasq": true,
        // A pod reaching itself through its Service: the DNATed frame goes back out the port
        // it came in on (br_netfilter bridges it), which a bridge does only in hairpin mode.
        "hairpinMode": true,
        "mode": mode,
        "ipam": {"nodeFacts": ndir.join("node.json"), "dataDir": ndir.join("ipam")}
    })
    .to_string()
}

/// Runs the plugin for pod `p` as a runtime would: inside its node's namespace, the pod's
/// network namespace name as the container ID.
fn cni(st: &LabState, exe: &Path, command: &str, p: &PodState) -> Result<Output> {
    let node = st
        .node(&p.node)
        .with_context(|| format!("no node {:?}", p.node))?;
    let call = CniCall {
        plugin: exe.to_path_buf(),
        command: command.into(),
        container_id: p.netns.clone(),
        netns: ns_path(&p.netns).display().to_string(),
        ifname: POD_IFNAME.into(),
        cni_path: exe
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        node: Some(ns_path(&node.netns)),
        extra_env: vec![],
    };
    let conf = pod_conf(&LabState::dir(&st.name), &p.node, &st.pod_path);
    Ok(call.exec(conf.as_bytes())?)
}

/// CNI ADD for pod `p`; the address the plugin gave it.
fn cni_add(st: &LabState, exe: &Path, p: &PodState) -> Result<Ipv4Addr> {
    let out = cni(st, exe, "ADD", p)?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stdout).trim());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("the CNI result")?;
    v["ips"][0]["address"]
        .as_str()
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok())
        .with_context(|| format!("no address in the CNI result {v}"))
}

/// CNI DEL for pod `p` (idempotent: a pod the plugin never saw is no error).
pub fn cni_del(st: &LabState, exe: &Path, p: &PodState) -> Result<()> {
    let out = cni(st, exe, "DEL", p)?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stdout).trim());
    }
    Ok(())
}
