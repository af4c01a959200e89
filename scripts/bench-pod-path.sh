#!/usr/bin/env bash
# What the pod path costs on top of the underlay, by hand (no podnet involved): two node
# namespaces on one L2 segment, and on each node one pod behind a bridge (podnet's design
# today) and one pod on a routed veth (a /32 route per pod, no bridge: Calico's design).
# iperf3, 1 stream, rotating order; prints the per-round figures and the medians.
#
#   bash scripts/bench-pod-path.sh [rounds] [seconds]
#   NOBRNF=1: br_netfilter off in the nodes; NFT=1: a NAT table (so conntrack) in the nodes
#
# Everything lives in namespaces named pnpath-<pid>-*; they are removed at exit, also on failure.
set -euo pipefail
ROUNDS=${1:-8}
SECS=${2:-5}
P="pnpath-$$"
NS=(sw n1 n2 p1 p2 q1 q2)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for n in "${NS[@]}"; do ip netns del "$P-$n" 2>/dev/null || true; done
}
trap cleanup EXIT
X() { local ns=$1; shift; nsenter --net="/run/netns/$P-$ns" "$@"; }

for n in "${NS[@]}"; do ip netns add "$P-$n"; X "$n" ip link set lo up; done
X sw ip link add br0 type bridge
X sw ip link set br0 up
for i in 1 2; do
  n=n$i
  ip -n "$P-$n" link add eth0 type veth peer name port$i netns "$P-sw"
  X sw ip link set port$i master br0 up
  X $n ip addr add 192.168.77.$i/24 dev eth0
  X $n ip link set eth0 up
  X $n sysctl -qw net.ipv4.ip_forward=1
  if [ "${NOBRNF:-0}" = 1 ]; then X $n sysctl -qw net.bridge.bridge-nf-call-iptables=0; fi
  # NFT=1: a NAT table like podnet's in each node, which turns conntrack on for all its traffic.
  if [ "${NFT:-0}" = 1 ]; then
    X $n nft 'add table ip t; add chain ip t pre { type nat hook prerouting priority dstnat; };
      add chain ip t post { type nat hook postrouting priority srcnat; };
      add rule ip t post ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 masquerade'
  fi
  # Bridged pod p$i: 10.244.$i.2/24 behind cni0 (10.244.$i.1).
  X $n ip link add cni0 type bridge
  X $n ip addr add 10.244.$i.1/24 dev cni0
  X $n ip link set cni0 up
  ip -n "$P-$n" link add vp$i type veth peer name eth0 netns "$P-p$i"
  X $n ip link set vp$i master cni0 up
  X p$i ip addr add 10.244.$i.2/24 dev eth0
  X p$i ip link set eth0 up
  X p$i ip route add default via 10.244.$i.1
  # Routed pod q$i: 10.244.$i.3/32, a /32 route to its veth on the node, and in the pod a
  # default route via a link-local gateway whose neighbour entry is the node side's MAC.
  ip -n "$P-$n" link add vq$i type veth peer name eth0 netns "$P-q$i"
  X $n ip link set vq$i up
  X $n ip route add 10.244.$i.3/32 dev vq$i scope link
  mac=$(ip -n "$P-$n" -br link show vq$i | awk '{print $3}')
  X q$i ip addr add 10.244.$i.3/32 dev eth0
  X q$i ip link set eth0 up
  X q$i ip route add 169.254.1.1 dev eth0 scope link
  X q$i ip route add default via 169.254.1.1 dev eth0
  X q$i ip neigh add 169.254.1.1 lladdr "$mac" dev eth0 nud permanent
done
X n1 ip route add 10.244.2.0/24 via 192.168.77.2
X n2 ip route add 10.244.1.0/24 via 192.168.77.1
X p1 ping -c1 -W2 10.244.2.2 >/dev/null
X q1 ping -c1 -W2 10.244.2.3 >/dev/null

for pair in "n2 5301" "p2 5302" "q2 5303"; do
  set -- $pair
  # nsenter execs iperf3, so $! is the server itself.
  nsenter --net="/run/netns/$P-$1" iperf3 -s -p "$2" >/dev/null 2>&1 &
  PIDS+=($!)
done
sleep 1
gbps() { X "$1" iperf3 -c "$2" -p "$3" -t "$SECS" -J | python3 -c \
  'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'; }
declare -a U B R
paths=("U n1 192.168.77.2 5301" "B p1 10.244.2.2 5302" "R q1 10.244.2.3 5303")
for r in $(seq 1 "$ROUNDS"); do
  for k in 0 1 2; do
    set -- ${paths[$(( (k + r) % 3 ))]}
    v=$(gbps "$2" "$3" "$4")
    eval "$1+=($v)"
  done
  echo "round $r: underlay ${U[-1]}  bridge ${B[-1]}  routed ${R[-1]}"
done
python3 - "${U[*]}" "${B[*]}" "${R[*]}" <<'EOF'
import statistics as s, sys
u, b, r = ([float(x) for x in a.split()] for a in sys.argv[1:4])
mu = s.median(u)
print(f"median Gbit/s: underlay {mu:.2f}  bridge {s.median(b):.2f} ({s.median(b)/mu:.2f}x)  "
      f"routed veth {s.median(r):.2f} ({s.median(r)/mu:.2f}x)")
EOF
