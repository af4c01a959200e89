//! Applying a [`Desired`] state through [`BackendOps`]: observe, diff, change only the difference.
//! Running it twice in a row changes nothing the second time; entries podnet does not own (other
//! routing protocols, other devices) are never looked at.

use std::collections::BTreeSet;

use podnet_netlink::{BackendOps, NetError};
use podnet_netspec::diff;

use crate::backend::{BackendKind, Desired, LocalNode};

/// How many kernel objects one pass added and removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: usize,
    pub removed: usize,
}

impl Changes {
    pub fn total(&self) -> usize {
        self.added + self.removed
    }
}

/// One reconcile pass.
pub fn reconcile(
    ops: &mut dyn BackendOps,
    kind: BackendKind,
    local: &LocalNode,
    want: &Desired,
) -> Result<Changes, NetError> {
    let mut c = Changes::default();
    if kind == BackendKind::Vxlan {
        // Neighbour and FDB first, so a new route never points at an unresolvable next hop.
        let n = diff(&ops.neighbours(&local.tunnel_dev)?, &want.neighbours);
        for x in &n.add {
            ops.replace_neighbour(&local.tunnel_dev, x)?;
        }
        let f = diff(&ops.fdb(&local.tunnel_dev)?, &want.fdb);
        for x in &f.add {
            ops.replace_fdb(&local.tunnel_dev, x)?;
        }
        c.added += n.add.len() + f.add.len();
        let r = apply_routes(ops, want)?;
        c.added += r.added;
        c.removed += r.removed;
        for x in &n.remove {
            ops.delete_neighbour(&local.tunnel_dev, x)?;
        }
        for x in &f.remove {
            ops.delete_fdb(&local.tunnel_dev, x)?;
        }
        c.removed += n.remove.len() + f.remove.len();
    } else {
        let r = apply_routes(ops, want)?;
        c.added += r.added;
        c.removed += r.removed;
    }
    Ok(c)
}

fn apply_routes(ops: &mut dyn BackendOps, want: &Desired) -> Result<Changes, NetError> {
    let r = diff(&ops.podnet_routes()?, &want.routes);
    for x in &r.add {
        ops.replace_route(x)?;
    }
    // A route replaced in place (same destination, new next hop) is already gone.
    let replaced: BTreeSet<_> = r.add.iter().map(|x| x.dst).collect();
    let mut removed = 0;
    for x in r.remove.iter().filter(|x| !replaced.contains(&x.dst)) {
        ops.delete_route(x)?;
        removed += 1;
    }
    Ok(Changes {
        added: r.add.len(),
        removed,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::backend::desired;
    use crate::testing::local;
    use podnet_netlink::RecordingNetOps;

    #[test]
    fn converges_then_is_a_no_op_then_removes_a_departed_peer() {
        let mut ops = RecordingNetOps::new();
        let mut leases = vec![
            crate::testing::lease(
                "n2",
                "10.244.2.0/24",
                "198.18.0.12",
                Some("0e:00:00:00:00:02"),
            ),
            crate::testing::lease(
                "n3",
                "10.244.3.0/24",
                "198.18.0.13",
                Some("0e:00:00:00:00:03"),
            ),
        ];
        for kind in [BackendKind::Vxlan, BackendKind::HostGw] {
            let want = desired(kind, &local(), &leases);
            let first = reconcile(&mut ops, kind, &local(), &want).unwrap();
            assert!(first.added > 0);
            let ops_before = ops.ops.len();
            assert_eq!(
                reconcile(&mut ops, kind, &local(), &want).unwrap().total(),
                0
            );
            assert_eq!(
                ops.ops.len(),
                ops_before,
                "a converged node must not touch the kernel"
            );
        }
        // Back to vxlan, then n3 leaves: exactly its route, neighbour and FDB entry go.
        let want = desired(BackendKind::Vxlan, &local(), &leases);
        reconcile(&mut ops, BackendKind::Vxlan, &local(), &want).unwrap();
        leases.pop();
        let want = desired(BackendKind::Vxlan, &local(), &leases);
        let c = reconcile(&mut ops, BackendKind::Vxlan, &local(), &want).unwrap();
        assert_eq!(
            c,
            Changes {
                added: 0,
                removed: 3
            }
        );
        assert_eq!(ops.backend.routes.len(), 1);
    }
}
