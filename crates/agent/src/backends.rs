//! The [`Backend`] trait and its three implementations: how each datapath sets itself up, what it
//! repairs and feeds on every pass, and what it adds to the agent's nftables table. The agent's
//! loop (`run.rs`) is written once over the trait; the only `match` on the backend's kind picks
//! the implementation at start. What each backend *plans* (routes, neighbours, FDB entries) is
//! pure and lives in [`crate::backend`].
//!
//! | backend | before the lease | after the lease | every pass | nftables |
//! |---|---|---|---|---|
//! | host-gw | — | — | — | `nonat` |
//! | vxlan | the VTEP device (its MAC goes into the lease record) | the node's `.0` address on it | the device is made again if it was deleted | `nonat` + `vxlan_guard` |
//! | udp | — | the TUN device and its relay threads | the peers handed to the relay | `nonat` |

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddrV4};

use ipnet::Ipv4Net;
use podnet_model::lease::Existing;
use podnet_netlink::NetError;
use podnet_netspec::{LinkState, VxlanSpec};
use podnet_udp::Peer;
use tracing::warn;

use crate::backend::{BackendKind, UDP_OVERHEAD, VXLAN_OVERHEAD};
use crate::error::AgentError;
use crate::kernel::Kernel;
use crate::run::{AgentConfig, UdpStatus, UDP_DEV};
use crate::udp_relay::Relay;

/// One datapath between the nodes.
pub trait Backend: Send {
    fn kind(&self) -> BackendKind;

    /// The pods' MTU: the underlay's, less what the encapsulation adds.
    fn mtu(&self) -> u32;

    /// The device that routes to peers name (host-gw: none of its own).
    fn tunnel_dev(&self) -> String;

    /// Devices besides the underlay whose ingress carries the eBPF fast path's `from_uplink`.
    fn uplinks(&self) -> Vec<String> {
        Vec::new()
    }

    /// The UDP port whose packets only cluster nodes may send (the VXLAN guard).
    fn guarded_port(&self) -> Option<u16> {
        None
    }

    /// Before the subnet is claimed: devices whose identity the lease record publishes. Returns
    /// the VTEP MAC to publish, if any.
    fn prepare(
        &mut self,
        _kernel: &Kernel,
    ) -> impl Future<Output = Result<Option<String>, AgentError>> + Send {
        async { Ok(None) }
    }

    /// Once the subnet is leased.
    fn start(
        &mut self,
        _kernel: &Kernel,
        _subnet: Ipv4Net,
    ) -> impl Future<Output = Result<(), AgentError>> + Send {
        async { Ok(()) }
    }

    /// Every pass, before the routes are reconciled: repair the backend's own devices and hand
    /// the peers to a userspace datapath. `leases` are the validated ones, this node's included.
    fn pass(
        &mut self,
        _kernel: &Kernel,
        _leases: &[Existing],
    ) -> impl Future<Output = Result<(), AgentError>> + Send {
        async { Ok(()) }
    }

    /// The backend's part of `status.json`.
    fn status(&self) -> Option<UdpStatus> {
        None
    }
}

/// host-gw: routes via the peers' underlay addresses; nothing of its own to set up.
pub struct HostGw {
    underlay_dev: String,
    mtu: u32,
}

impl HostGw {
    pub fn new(cfg: &AgentConfig, underlay: &LinkState) -> Self {
        HostGw {
            underlay_dev: cfg.underlay_dev.clone(),
            mtu: underlay.mtu,
        }
    }
}

impl Backend for HostGw {
    fn kind(&self) -> BackendKind {
        BackendKind::HostGw
    }

    fn mtu(&self) -> u32 {
        self.mtu
    }

    fn tunnel_dev(&self) -> String {
        self.underlay_dev.clone()
    }
}

/// vxlan: one VTEP device, static neighbours and FDB entries per peer.
pub struct Vxlan {
    spec: VxlanSpec,
    subnet: Option<Ipv4Net>,
}

impl Vxlan {
    pub fn new(cfg: &AgentConfig, underlay: &LinkState, public_ip: Ipv4Addr) -> Self {
        Vxlan {
            spec: VxlanSpec {
                name: cfg.vxlan_dev.clone(),
                vni: cfg.vxlan_vni,
                port: cfg.vxlan_port,
                local: public_ip,
                underlay_dev: cfg.underlay_dev.clone(),
                mtu: underlay.mtu.saturating_sub(VXLAN_OVERHEAD),
            },
            subnet: None,
        }
    }

    /// The device spec (the planner's `LocalNode` carries it).
    pub fn spec(&self) -> &VxlanSpec {
        &self.spec
    }
}

/// The node's `.0` address on a tunnel device.
fn tunnel_addr(subnet: Ipv4Net) -> Ipv4Net {
    Ipv4Net::new(subnet.network(), 32).unwrap_or(subnet)
}

impl Backend for Vxlan {
    fn kind(&self) -> BackendKind {
        BackendKind::Vxlan
    }

    fn mtu(&self) -> u32 {
        self.spec.mtu
    }

    fn tunnel_dev(&self) -> String {
        self.spec.name.clone()
    }

    fn uplinks(&self) -> Vec<String> {
        vec![self.spec.name.clone()]
    }

    fn guarded_port(&self) -> Option<u16> {
        Some(self.spec.port)
    }

    async fn prepare(&mut self, kernel: &Kernel) -> Result<Option<String>, AgentError> {
        let spec = self.spec.clone();
        let st = kernel.call(move |k| k.ops.ensure_vxlan(&spec)).await??;
        Ok(Some(
            st.mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ))
    }

    async fn start(&mut self, kernel: &Kernel, subnet: Ipv4Net) -> Result<(), AgentError> {
        self.subnet = Some(subnet);
        let (dev, addr) = (self.spec.name.clone(), tunnel_addr(subnet));
        kernel
            .call(move |k| k.ops.ensure_address(&dev, addr))
            .await??;
        Ok(())
    }

    /// Drift repair for the device itself: a deleted VXLAN device is made again (same MAC, so
    /// the peers' entries stay right) with its address; the reconcile then refills its
    /// neighbours, FDB and routes, and the fast path re-attaches.
    async fn pass(&mut self, kernel: &Kernel, _leases: &[Existing]) -> Result<(), AgentError> {
        let Some(subnet) = self.subnet else {
            return Ok(());
        };
        let (spec, addr) = (self.spec.clone(), tunnel_addr(subnet));
        let existed = kernel
            .call(move |k| {
                let existed = k.ops.link_state(&spec.name)?.is_some();
                k.ops.ensure_vxlan(&spec)?;
                k.ops.ensure_address(&spec.name, addr)?;
                Ok::<_, NetError>(existed)
            })
            .await??;
        if !existed {
            warn!(dev = %self.spec.name, "VXLAN device was missing; created it again");
        }
        Ok(())
    }
}

/// udp: podnet's userspace encapsulation through a TUN device and a relay.
pub struct Udp {
    node: String,
    listen: SocketAddrV4,
    offload: bool,
    mtu: u32,
    relay: Option<Relay>,
}

impl Udp {
    pub fn new(cfg: &AgentConfig, underlay: &LinkState, public_ip: Ipv4Addr) -> Self {
        Udp {
            node: cfg.node.clone(),
            listen: SocketAddrV4::new(public_ip, cfg.udp_port),
            offload: cfg.udp_offload,
            mtu: underlay.mtu.saturating_sub(UDP_OVERHEAD),
            relay: None,
        }
    }
}

impl Backend for Udp {
    fn kind(&self) -> BackendKind {
        BackendKind::Udp
    }

    fn mtu(&self) -> u32 {
        self.mtu
    }

    fn tunnel_dev(&self) -> String {
        UDP_DEV.into()
    }

    async fn start(&mut self, kernel: &Kernel, subnet: Ipv4Net) -> Result<(), AgentError> {
        let relay = Relay::start(UDP_DEV, self.listen, subnet, self.offload)?;
        let (mtu, addr) = (self.mtu, tunnel_addr(subnet));
        kernel
            .call(move |k| {
                k.ops.disable_ipv6(UDP_DEV)?;
                k.ops.set_link_up(UDP_DEV, mtu)?;
                k.ops.ensure_address(UDP_DEV, addr)
            })
            .await??;
        self.relay = Some(relay);
        Ok(())
    }

    async fn pass(&mut self, _kernel: &Kernel, leases: &[Existing]) -> Result<(), AgentError> {
        if let Some(r) = &self.relay {
            let port = self.listen.port();
            r.set_peers(
                leases
                    .iter()
                    .filter(|l| l.record.node != self.node)
                    .map(|l| Peer {
                        node: l.record.node.clone(),
                        underlay: SocketAddrV4::new(l.record.public_ip, port),
                        subnet: l.subnet,
                    })
                    .collect(),
            );
        }
        Ok(())
    }

    fn status(&self) -> Option<UdpStatus> {
        self.relay.as_ref().map(UdpStatus::of)
    }
}
