#!/usr/bin/env bash
# The agent and the datastore at scale, in one lab: time for `podnet lab up` and `podnet lab
# check`, per-agent RSS and idle CPU, the datastore's RSS and (etcd) its write and watch rates
# while the lab idles. Prints one block of figures; docs/benchmarks.md keeps them.
#
#   bash scripts/bench-scale.sh [nodes] [store] [pods-per-node] [idle-seconds]
#   e.g. bash scripts/bench-scale.sh 50 etcd 1 60
#   POD_PATH=routed|ebpf: pods' path (default bridge; many bridge pods per node overflow the
#   kernel's shared neighbour table during the check, docs/lab.md)
#   OBJECTS=N: also store N objects (Services, with `podnet lab apply`) before measuring, and
#   print the agents' RSS before and after
#
# The lab is named scale<pid> (namespaces pnlab-scale<pid>-*) and is taken down at exit, also on
# failure. Run as root after `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${1:-50}
STORE=${2:-etcd}
PODS=${3:-1}
IDLE=${4:-60}
POD_PATH=${POD_PATH:-bridge}
NAME="scale$$"
BIN=./target/release/podnet
DIR=/run/podnet/labs/$NAME
trap '$BIN lab down --name "$NAME" >/dev/null 2>&1 || true' EXIT

ms() { date +%s%3N; }
t0=$(ms)
$BIN lab up --name "$NAME" --nodes "$NODES" --pods-per-node "$PODS" --store "$STORE" --pod-path "$POD_PATH" >/dev/null
t1=$(ms)
set +e
$BIN lab check --name "$NAME" --json >"/tmp/$NAME-check.json"
check_rc=$?
set -e
t2=$(ms)
probes=$(python3 -c "
import json
p = json.load(open('/tmp/$NAME-check.json'))
bad = [x for x in p if not x.get('ok')]
print(f'{len(p)} probes, {len(bad)} failed')
for x in bad[:5]:
    print('   ', {k: v for k, v in x.items() if k != 'ok'})
" 2>/dev/null || echo "?")
rm -f "/tmp/$NAME-check.json"
OBJECTS=${OBJECTS:-0}
if [ "$OBJECTS" -gt 0 ]; then
  rss_before=$(python3 -c "import json; s=json.load(open('$DIR/state.json')); print('\n'.join(str(p['pid']) for p in s['procs'] if p['what'].startswith('agent ')))" |
    xargs -I{} awk '/^VmRSS/ {print $2}' /proc/{}/status | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  python3 - "$OBJECTS" >"/tmp/$NAME-objects.yaml" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print(f"""---
apiVersion: v1
kind: Service
metadata:
  name: svc-{i}
  labels: {{app: svc-{i}}}
spec:
  selector: {{app: svc-{i}}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]""")
PY
  ta=$(ms)
  $BIN lab apply --name "$NAME" -f "/tmp/$NAME-objects.yaml" >/dev/null
  tb=$(ms)
  rm -f "/tmp/$NAME-objects.yaml"
fi

# PIDs of the agents (and etcd) from the lab's state.
mapfile -t AGENTS < <(python3 -c "import json; s=json.load(open('$DIR/state.json')); [print(p['pid']) for p in s['procs'] if p['what'].startswith('agent ')]")
ETCD=$(python3 -c "import json; s=json.load(open('$DIR/state.json')); print(next((p['pid'] for p in s['procs'] if p['what']=='etcd'), ''))")

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
etcd_metrics() {
  nsenter --net="/run/netns/pnlab-$NAME-cp" curl -s http://198.18.0.2:2379/metrics |
    awk '/^etcd_debugging_mvcc_put_total |^etcd_debugging_mvcc_delete_total |^etcd_debugging_mvcc_txn_total |^etcd_debugging_mvcc_events_total |^etcd_debugging_lease_renewed_total |^etcd_debugging_mvcc_watcher_total |^etcd_debugging_mvcc_range_total / {print $1, $2}'
}

declare -A c0
for p in "${AGENTS[@]}"; do c0[$p]=$(cpu_ticks "$p"); done
[ -n "$ETCD" ] && { e0=$(cpu_ticks "$ETCD"); m0=$(etcd_metrics); }
sleep "$IDLE"
total=0
for p in "${AGENTS[@]}"; do total=$((total + $(cpu_ticks "$p") - ${c0[$p]})); done
rss=$(for p in "${AGENTS[@]}"; do rss_kb "$p"; done | sort -n)
n=${#AGENTS[@]}
median=$(echo "$rss" | awk -v n="$n" 'NR == int((n + 1) / 2) {print $1}')
max=$(echo "$rss" | tail -1)

echo "lab: $NODES nodes, $PODS $POD_PATH pod(s) per node, store $STORE, commit $(git rev-parse --short HEAD)"
echo "lab up:     $(( (t1 - t0) )) ms"
echo "lab check:  $(( (t2 - t1) )) ms, exit $check_rc: $probes"
echo "agents:     $n, RSS median $((median / 1024)) MiB, max $((max / 1024)) MiB"
if [ "$OBJECTS" -gt 0 ]; then
  echo "objects:    $OBJECTS Services applied in $((tb - ta)) ms; agent RSS median $((rss_before / 1024)) MiB before, $((median / 1024)) MiB after"
fi
echo "idle CPU:   all agents together $(awk -v t="$total" -v s="$IDLE" 'BEGIN {printf "%.3f", t / 100 / s}') cores over ${IDLE} s ($(awk -v t="$total" -v s="$IDLE" -v n="$n" 'BEGIN {printf "%.2f", t / 100 / s / n * 1000}') ms/s per agent)"
if [ -n "$ETCD" ]; then
  e1=$(cpu_ticks "$ETCD")
  m1=$(etcd_metrics)
  echo "etcd:       RSS $(( $(rss_kb "$ETCD") / 1024 )) MiB, CPU $(awk -v t="$((e1 - e0))" -v s="$IDLE" 'BEGIN {printf "%.3f", t / 100 / s}') cores while idle"
  join <(echo "$m0" | sort) <(echo "$m1" | sort) | awk -v s="$IDLE" '{
    name = $1; sub(/^etcd_debugging_/, "", name);
    if (name == "mvcc_watcher_total") printf "  %-24s %d watchers\n", name, $3;
    else printf "  %-24s %.2f /s\n", name, ($3 - $2) / s }'
fi
