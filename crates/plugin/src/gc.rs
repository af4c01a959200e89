//! GC (CNI 1.1): undo every attachment of this network that `cni.dev/valid-attachments` does not
//! list, and forward GC to a delegated IPAM plugin.

use std::collections::HashSet;

use podnet_cni::config::IpamConf;
use podnet_cni::{CniError, Command, ErrorCode, NetConf};
use podnet_ipam::Store;

use crate::del::teardown;
use crate::effects::Effects;
use crate::error::PluginError;
use crate::record::AttachmentRecord;

/// Runs GC; returns how many attachments were released.
pub fn gc(
    fx: &mut dyn Effects,
    cni_path: &[std::path::PathBuf],
    conf: &NetConf,
) -> Result<usize, PluginError> {
    let valid = conf.valid_attachments.as_ref().ok_or_else(|| {
        CniError::new(
            ErrorCode::InvalidConfig,
            "cni.dev/valid-attachments: required for GC",
        )
    })?;
    let keep: HashSet<(String, String)> = valid.iter().cloned().collect();
    match &conf.ipam {
        IpamConf::BuiltIn { data_dir, .. } => {
            let mut store = Store::open(data_dir)?;
            let mut released = 0;
            let mut errors = Vec::new();
            for a in store.list(&conf.name)? {
                if keep.contains(&(a.container_id.clone(), a.ifname.clone())) {
                    continue;
                }
                let record = match AttachmentRecord::from_json(&a.data) {
                    Some(r) => r,
                    None => crate::plan::record_for(
                        conf,
                        &podnet_cni::env::Attachment {
                            container_id: a.container_id.clone(),
                            ifname: a.ifname.clone(),
                            netns: None,
                        },
                        conf.cluster_cidr.unwrap_or_default(),
                    ),
                };
                let errs = teardown(fx, &conf.name, &record, Some(a.ip));
                if errs.is_empty() {
                    store.release(&conf.name, &a.container_id, &a.ifname)?;
                    released += 1;
                } else {
                    errors.extend(errs);
                }
            }
            match errors.is_empty() {
                true => Ok(released),
                false => Err(errors.remove(0)),
            }
        }
        IpamConf::Delegated { plugin } => {
            fx.delegate()
                .exec(plugin, Command::Gc, cni_path, &conf.raw)?;
            Ok(0)
        }
    }
}
