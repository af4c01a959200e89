//! ADD: allocate, then create the bridge (bridge mode), the veth (born inside the pod namespace),
//! configure the pod side, attach the host side (to the bridge, or routed: a /32 route and strict
//! reverse-path filtering), add the pod's nftables elements. The allocation record is
//! written first and removed last, so a plugin killed between any two steps leaves an attachment
//! that DEL or GC can undo completely. A failed ADD undoes itself before answering.

use std::path::Path;

use podnet_cni::addr::{parse_cidr, parse_ipv4};
use podnet_cni::config::IpamConf;
use podnet_cni::env::Attachment;
use podnet_cni::{CniError, CniResult, Command, ErrorCode, NetConf};
use podnet_ipam::Store;
use podnet_model::facts;
use podnet_nft::{render_add, Change};

use crate::del::teardown;
use crate::effects::Effects;
use crate::error::PluginError;
use crate::plan::{
    first_host, plan_add, record_for, resolve_params, result_for, AddPlan, HostSide, NetParams,
};

/// Step names passed to [`Effects::step`], in order.
pub const STEPS: &[&str] = &[
    "after-ipam",
    "after-bridge",
    "after-veth",
    "after-container",
    "after-attach",
    "after-nft",
];

/// Runs ADD and returns the result to print.
pub fn add(
    fx: &mut dyn Effects,
    cni_path: &[std::path::PathBuf],
    att: &Attachment,
    conf: &NetConf,
) -> Result<CniResult, PluginError> {
    let netns = att
        .netns
        .as_deref()
        .ok_or_else(|| CniError::new(ErrorCode::InvalidEnv, "CNI_NETNS is required for ADD"))?;
    // A bad namespace is refused before anything is allocated.
    fx.net()?.check_netns(netns)?;
    match &conf.ipam {
        IpamConf::BuiltIn { data_dir, .. } => add_builtin(fx, att, conf, netns, data_dir),
        IpamConf::Delegated { plugin } => add_delegated(fx, cni_path, att, conf, netns, plugin),
    }
}

/// Reads the node facts file when the config has no subnet of its own.
pub fn load_facts(
    fx: &dyn Effects,
    conf: &NetConf,
) -> Result<Option<facts::ParsedFacts>, PluginError> {
    let IpamConf::BuiltIn {
        subnet: None,
        node_facts,
        ..
    } = &conf.ipam
    else {
        return Ok(None);
    };
    match fx.read_file(node_facts) {
        Ok(bytes) => facts::parse(&bytes)
            .map(Some)
            .map_err(|source| PluginError::Facts {
                path: node_facts.clone(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(PluginError::FactsMissing {
            path: node_facts.clone(),
        }),
        Err(source) => Err(PluginError::FactsIo {
            path: node_facts.clone(),
            source,
        }),
    }
}

fn add_builtin(
    fx: &mut dyn Effects,
    att: &Attachment,
    conf: &NetConf,
    netns: &Path,
    data_dir: &Path,
) -> Result<CniResult, PluginError> {
    let facts = load_facts(fx, conf)?;
    let params = resolve_params(conf, facts.as_ref())?;
    let mut store = Store::open(data_dir)?;
    if let Some(boot) = fx.boot_id() {
        store.reclaim_after_reboot(&boot)?;
    }
    let record = record_for(conf, att, params.cluster_cidr);
    let (alloc, _) = store.allocate(
        &conf.name,
        params.subnet,
        params.gateway,
        &att.container_id,
        &att.ifname,
        &record.to_json(),
    )?;
    fx.step("after-ipam");
    let plan = plan_add(conf, att, &params, alloc.ip, &[]);
    match apply(fx, &plan, netns) {
        Ok(host_mac) => Ok(result_for(conf, &plan, netns, host_mac)?),
        Err(e) => {
            // Undo in reverse; the record goes last, and only if the kernel side is clean.
            if teardown(fx, &conf.name, &record, Some(alloc.ip)).is_empty() {
                let _ = store.release(&conf.name, &att.container_id, &att.ifname);
            }
            Err(e)
        }
    }
}

fn add_delegated(
    fx: &mut dyn Effects,
    cni_path: &[std::path::PathBuf],
    att: &Attachment,
    conf: &NetConf,
    netns: &Path,
    plugin: &str,
) -> Result<CniResult, PluginError> {
    let out = fx
        .delegate()
        .exec(plugin, Command::Add, cni_path, &conf.raw)?;
    let ipam = CniResult::from_value(&out.unwrap_or_default())?;
    let undo = |fx: &mut dyn Effects| {
        let _ = fx
            .delegate()
            .exec(plugin, Command::Del, cni_path, &conf.raw);
    };
    let params_and_ip = (|| {
        let first = ipam
            .ips
            .iter()
            .find(|c| !c.address.contains(':'))
            .ok_or_else(|| {
                CniError::new(
                    ErrorCode::InvalidConfig,
                    format!("ipam plugin {plugin} returned no IPv4 address"),
                )
            })?;
        let bad = |e: podnet_cni::addr::AddrError| {
            CniError::new(ErrorCode::Decode, format!("ipam plugin {plugin}: {e}"))
        };
        let net = parse_cidr(&first.address).map_err(bad)?;
        let gateway = first
            .gateway
            .as_deref()
            .map(parse_ipv4)
            .transpose()
            .map_err(bad)?;
        let subnet = net.trunc();
        let params = NetParams {
            subnet,
            gateway: gateway.unwrap_or_else(|| first_host(subnet)),
            mtu: conf.mtu.unwrap_or(crate::plan::DEFAULT_MTU),
            cluster_cidr: conf.cluster_cidr.unwrap_or(subnet),
        };
        Ok::<_, CniError>((params, net.addr()))
    })();
    let (params, ip) = match params_and_ip {
        Ok(v) => v,
        Err(e) => {
            undo(fx);
            return Err(e.into());
        }
    };
    let routes: Vec<_> = ipam
        .routes
        .iter()
        .filter_map(|r| {
            let dst = podnet_cni::addr::parse_subnet(&r.dst).ok()?;
            let gw =
                r.gw.as_deref()
                    .and_then(|g| parse_ipv4(g).ok())
                    .unwrap_or(params.gateway);
            Some((dst, gw))
        })
        .collect();
    let plan = plan_add(conf, att, &params, ip, &routes);
    fx.step("after-ipam");
    match apply(fx, &plan, netns) {
        Ok(host_mac) => Ok(result_for(conf, &plan, netns, host_mac)?),
        Err(e) => {
            let record = record_for(conf, att, params.cluster_cidr);
            teardown(fx, &conf.name, &record, Some(ip));
            undo(fx);
            Err(e)
        }
    }
}

/// Applies an ADD plan; returns the host-side MAC.
fn apply(fx: &mut dyn Effects, plan: &AddPlan, netns: &Path) -> Result<[u8; 6], PluginError> {
    fx.net()?.enable_ip_forward()?;
    if let HostSide::Bridge { bridge, .. } = &plan.host {
        fx.net()?.ensure_bridge(bridge)?;
    }
    fx.step("after-bridge");
    fx.net()?.create_veth(netns, &plan.veth)?;
    fx.step("after-veth");
    fx.net()?.configure_container(netns, &plan.container)?;
    fx.step("after-container");
    let host_mac = match &plan.host {
        HostSide::Bridge { bridge, hairpin } => {
            fx.net()?
                .attach_to_bridge(&plan.veth.host_name, &bridge.name, *hairpin)?
        }
        HostSide::Routed(route) => fx.net()?.route_to_pod(route)?,
    };
    fx.step("after-attach");
    // Fast path: only this pod's elements. If the static ruleset is missing (first pod on the
    // node, or someone flushed it), send it along in the same transaction.
    match fx.nft().pod_elements(Change::Add, &plan.pod) {
        Ok(()) => {}
        Err(e) if e.is_missing_object() => fx.nft().apply(&render_add(&plan.pod, true))?,
        Err(e) => return Err(e.into()),
    }
    fx.step("after-nft");
    Ok(host_mac)
}
