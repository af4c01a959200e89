//! DEL and the teardown shared with GC and a failed ADD. Idempotent and best-effort: every step
//! runs even when an earlier one failed, and "already gone" counts as success. The allocation is
//! released only once its kernel objects are gone, so a failed teardown can be retried.

use std::net::Ipv4Addr;

use podnet_cni::config::IpamConf;
use podnet_cni::env::Attachment;
use podnet_cni::{CniResult, Command, NetConf};
use podnet_ipam::Store;
use podnet_nft::{render_delete, Change};

use crate::effects::Effects;
use crate::error::PluginError;
use crate::plan::record_for;
use crate::record::AttachmentRecord;

/// Removes the kernel objects of one attachment; returns the errors (empty = clean).
/// `nft`: add-then-delete the pod's elements; `ip link del HOST` (takes the pod side with it).
pub fn teardown(
    fx: &mut dyn Effects,
    network: &str,
    record: &AttachmentRecord,
    ip: Option<Ipv4Addr>,
) -> Vec<PluginError> {
    let mut errors = Vec::new();
    if let Some(ip) = ip {
        // Fast path: one netlink batch. If a table, set or the network's chain is missing, the
        // script form declares them first (add-then-delete), which always applies.
        let pod = record.pod_entry(network, ip);
        let result = match fx.nft().pod_elements(Change::Remove, &pod) {
            Err(e) if e.is_missing_object() => fx.nft().apply(&render_delete(&pod)),
            other => other,
        };
        if let Err(e) = result {
            errors.push(e.into());
        }
    }
    match fx.net() {
        Ok(net) => {
            if let Err(e) = net.delete_link(&record.host_veth) {
                errors.push(e.into());
            }
        }
        Err(e) => errors.push(e),
    }
    errors
}

/// Runs DEL.
pub fn del(
    fx: &mut dyn Effects,
    cni_path: &[std::path::PathBuf],
    att: &Attachment,
    conf: &NetConf,
) -> Result<(), PluginError> {
    match &conf.ipam {
        IpamConf::BuiltIn { data_dir, .. } => {
            let mut store = Store::open(data_dir)?;
            let found = store.get(&conf.name, &att.container_id, &att.ifname)?;
            let (record, ip) = match &found {
                Some(a) => (
                    AttachmentRecord::from_json(&a.data)
                        .unwrap_or_else(|| fallback_record(conf, att)),
                    Some(a.ip),
                ),
                None => (fallback_record(conf, att), address_from_pod(fx, att)),
            };
            let mut errors = teardown(fx, &conf.name, &record, ip);
            if errors.is_empty() && found.is_some() {
                store.release(&conf.name, &att.container_id, &att.ifname)?;
            }
            match errors.is_empty() {
                true => Ok(()),
                false => Err(errors.remove(0)),
            }
        }
        IpamConf::Delegated { plugin } => {
            // No store of ours: the address comes from prevResult when the runtime passes it.
            let ip = conf
                .prev_result
                .as_ref()
                .and_then(|p| CniResult::from_value(p).ok())
                .and_then(|r| {
                    r.ips
                        .into_iter()
                        .find_map(|c| podnet_cni::addr::parse_cidr(&c.address).ok())
                })
                .map(|n| n.addr());
            let record = fallback_record(conf, att);
            let mut errors = teardown(fx, &conf.name, &record, ip);
            if let Err(e) = fx
                .delegate()
                .exec(plugin, Command::Del, cni_path, &conf.raw)
            {
                errors.push(e);
            }
            match errors.is_empty() {
                true => Ok(()),
                false => Err(errors.remove(0)),
            }
        }
    }
}

/// Without a record (the store was lost or wiped), the pod's address can still be read from its
/// interface, if the namespace exists: `ip -n NS addr show IF`. It is used only when the MAC is
/// the one podnet derives from that address, i.e. the interface is podnet's.
fn address_from_pod(fx: &mut dyn Effects, att: &Attachment) -> Option<Ipv4Addr> {
    let netns = att.netns.as_deref()?;
    let net = fx.net().ok()?;
    net.check_netns(netns).ok()?;
    let state = net.container_state(netns, &att.ifname).ok()??;
    state
        .addresses
        .iter()
        .map(|a| a.addr())
        .find(|ip| crate::naming::pod_mac(*ip) == state.mac)
}

/// A record rebuilt from the config alone (names are deterministic).
fn fallback_record(conf: &NetConf, att: &Attachment) -> AttachmentRecord {
    record_for(conf, att, conf.cluster_cidr.unwrap_or_default())
}
