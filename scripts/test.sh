#!/usr/bin/env bash
# Every test: install what is needed, check formatting, then all four tiers (unit, flows against
# the recording fakes, kernel tests in private namespaces, podman end to end). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
leftover=$(ip netns list | awk '{print $1}' | grep -E '^(pnt|pnbench|pndemo)' || true)
if [ -n "$leftover" ]; then
  echo "test.sh: namespaces left behind by the tests:" >&2
  echo "$leftover" >&2
  exit 1
fi
