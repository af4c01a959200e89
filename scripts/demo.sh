#!/usr/bin/env bash
# The main job: install what is needed, build podnet, bring up the default lab (3 nodes running
# the real agent, 6 pods wired by the real CNI plugin, all in namespaces the lab creates), run
# the connectivity check, and take the lab down again. Run as root.
#   bash scripts/demo.sh --keep    leaves the lab up to explore (podnet lab status / exec / down)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --bin podnet
podnet=./target/release/podnet
$podnet lab down --name default >/dev/null 2>&1 || true
$podnet lab up
status=0
$podnet lab check || status=$?
if [ "${1:-}" = "--keep" ]; then
  echo
  echo "The lab is still up. Try:"
  echo "  $podnet lab status"
  echo "  $podnet lab exec n1-a -- ip route"
  echo "  $podnet lab exec n1 -- bridge fdb show dev podnet.1"
  echo "  $podnet lab down"
else
  $podnet lab down
fi
exit $status
