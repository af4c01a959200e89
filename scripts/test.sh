#!/usr/bin/env bash
# Every test: install what is needed, check formatting, then all four tiers (unit, flows against
# the recording fakes, kernel tests in private namespaces, podman end to end). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Namespaces the tests make: `pnt*`, `pnbench*`, `pndemo*`, and labs (`pnlab-NAME-*`: the lab
# tests' own names, `pnlab-bench-*`), which take themselves down. A lab someone left up on
# purpose before the run (`demo.sh --keep`) is not the tests' doing. A failing `ip` fails here.
netns() { ip netns list | awk '{print $1}' | sort; }
before=$(netns)
cargo test --workspace --locked
after=$(netns)
leftover=$(
  grep -E '^(pnt|pnbench|pndemo)' <<<"$after" || true
  comm -13 <(grep -E '^pnlab-' <<<"$before" || true) <(grep -E '^pnlab-' <<<"$after" || true)
)
if [ -n "$leftover" ]; then
  echo "test.sh: namespaces left behind by the tests:" >&2
  echo "$leftover" >&2
  exit 1
fi
