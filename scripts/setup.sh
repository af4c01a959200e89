#!/usr/bin/env bash
# Installs what podnet's demo, tests and benchmarks need on a Debian 12 machine, as root.
# Idempotent: packages already present are skipped; safe to run again.
set -euo pipefail

PACKAGES=(
  iproute2            # ip, used by tests to create namespaces
  nftables            # nft: podnet renders rulesets and applies them with `nft -f`
  util-linux          # nsenter
  podman runc         # the real container runtime test
  containernetworking-plugins  # reference bridge/host-local/portmap/tuning/bandwidth
  busybox-static      # the container rootfs for the podman test
  iputils-ping        # ping inside namespaces
  curl                # HTTP checks from node namespaces
  conntrack
  iptables            # the reference portmap plugin programs iptables
  etcd-server         # the multi-machine datastore, started by the tests themselves
  etcd-client         # etcdctl: the compaction test compacts a lab's etcd
  protobuf-compiler   # protoc, needed to build the etcd client
  libprotobuf-dev     # the well-known .proto files protoc needs for etcd's API
  iperf3              # throughput in podnet bench
  clang               # compiles the eBPF fast path (crates/ebpf/bpf/fastpath.c) at build time
  libbpf-dev          # bpf_helpers.h for it
  linux-libc-dev      # linux/bpf.h
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all packages present"
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust with rustup first" >&2
  exit 1
fi
