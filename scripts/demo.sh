#!/usr/bin/env bash
# The main job: install what is needed, build podnet, bring up the default lab (3 nodes running
# the real agent, 6 pods wired by the real CNI plugin, all in namespaces the lab creates), apply
# examples/services.yaml (three pods and one Service of each shape), run the connectivity check
# (pods, nodes, internet, and every Service: cluster IPs, node ports, affinity, no endpoints),
# and take the lab down again. Run as root.
#   bash scripts/demo.sh --keep    leaves the lab up to explore (podnet lab status / exec / down)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --bin podnet
podnet=./target/release/podnet
$podnet lab down --name default >/dev/null 2>&1 || true
$podnet lab up
$podnet lab apply -f examples/services.yaml
$podnet lab get services -A
$podnet lab get endpointslices -A
status=0
# The endpoints controller and every node's proxy converge within a second or two.
for attempt in 1 2 3 4 5; do
  if $podnet lab check >/tmp/podnet-demo-check.$$ 2>&1; then status=0; break; fi
  status=1
  sleep 2
done
cat /tmp/podnet-demo-check.$$
rm -f /tmp/podnet-demo-check.$$
if [ "${1:-}" = "--keep" ]; then
  echo
  echo "The lab is still up. Try:"
  echo "  $podnet lab status"
  echo "  $podnet lab exec n1-a -- ip route"
  echo "  $podnet lab exec n1 -- bridge fdb show dev podnet.1"
  echo "  $podnet lab exec n1 -- nft list table ip podnet_proxy"
  echo "  $podnet lab down"
else
  $podnet lab down
fi
exit $status
