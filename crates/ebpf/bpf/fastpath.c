// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// podnet's eBPF fast path: host routing for routed pods (see docs/ebpf.md).
//
// Two tc ingress programs forward pod-to-pod IPv4 packets without the node's IP forwarding
// path and netfilter: they ask the kernel FIB where the packet goes (the same routes and
// neighbour entries the slow path uses), rewrite the Ethernet header, decrement the TTL and
// redirect the packet to the egress device. Anything they do not fully understand goes on to
// the normal stack unchanged (TC_ACT_OK): the fast path never drops a packet.
//
//   from_pod    on a pod's host veth: packets of that pod, from its own address, to a pod
//               address. A local pod is entered directly (bpf_redirect_peer, no second
//               backlog queue); a remote one leaves through the egress device (bpf_redirect).
//   from_uplink on the node's underlay device: packets to a pod of this node's subnet,
//               entered directly with bpf_redirect_peer.
//
// Services: a pod's packets to an address outside the cluster's pod range (a Service's
// cluster IP among them) take the kernel path, where the proxy's nftables DNAT translates
// them; their replies come from a pod address and would be forwarded here, past the conntrack
// entry that must turn the endpoint's address back into the cluster IP. So from_pod records
// each such flow's client side (address, port, protocol) in service_flows, and both programs
// leave packets to a recorded client to the kernel path. The map is pinned (per node network
// namespace) so every program instance on the node shares it; an LRU, so old flows age out.
// A false hit (a client port reused for a direct pod connection) only costs that flow the
// fast path.
//
// Set at load time (aya writes .rodata before the program is verified); addresses and masks
// are in network byte order, as they are in the packet.
//
// The license string is what the kernel requires for bpf_fib_lookup (a GPL-only helper); the
// file is dual-licensed (as Cilium's are), and BSD-2-Clause sits well with podnet's Apache-2.0.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2

volatile const __u32 cluster_net = 0;
volatile const __u32 cluster_mask = 0;
volatile const __u32 local_net = 0;
volatile const __u32 local_mask = 0;
// from_pod only: the pod's own address; any other source takes the slow path, where the host
// veth's strict rp_filter drops it.
volatile const __u32 pod_addr = 0;

struct flow {
	__u32 addr;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} service_flows SEC(".maps");

// The flow of one side of the packet: source (the client's side of a request) or
// destination (the client's side of a reply). Ports only for TCP, UDP and SCTP.
static __always_inline int flow_of(struct iphdr *ip, void *end, int source, struct flow *f)
{
	__u16 *ports = (void *)(ip + 1);

	f->addr = source ? ip->saddr : ip->daddr;
	f->proto = ip->protocol;
	f->port = 0;
	f->pad = 0;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_SCTP) {
		if ((void *)(ports + 2) > end)
			return 0;
		f->port = source ? ports[0] : ports[1];
	}
	return 1;
}

static __always_inline int in(__u32 addr, __u32 net, __u32 mask)
{
	return (addr & mask) == net;
}

// The host side of every routed pod's veth (ROUTED_HOST_MAC in crates/plugin/src/plan.rs).
static __always_inline int routed_host_mac(const __u8 *mac)
{
	return mac[0] == 0xee && mac[1] == 0xee && mac[2] == 0xee && mac[3] == 0xee &&
	       mac[4] == 0xee && mac[5] == 0xee;
}

static __always_inline int forward(struct __sk_buff *skb, int from_pod)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end)
		return TC_ACT_OK;
	// IPv4 without options, still allowed a hop; the stack answers the rest (ICMP included).
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->ttl <= 1)
		return TC_ACT_OK;
	if (from_pod && ip->saddr != pod_addr)
		return TC_ACT_OK;
	if (!in(ip->daddr, cluster_net, cluster_mask)) {
		struct flow f;
		__u8 one = 1;
		if (from_pod && flow_of(ip, end, 1, &f))
			bpf_map_update_elem(&service_flows, &f, &one, BPF_ANY);
		return TC_ACT_OK;
	}
	if (!in(ip->saddr, cluster_net, cluster_mask))
		return TC_ACT_OK;
	{
		struct flow f;
		if (!flow_of(ip, end, 0, &f) || bpf_map_lookup_elem(&service_flows, &f))
			return TC_ACT_OK;
	}
	int local = in(ip->daddr, local_net, local_mask);
	if (!from_pod && !local)
		return TC_ACT_OK;

	struct bpf_fib_lookup fib = {};
	fib.family = AF_INET;
	fib.tos = ip->tos;
	fib.l4_protocol = ip->protocol;
	// tot_len stays 0: the kernel then checks the packet itself against the egress MTU
	// (is_skb_forwardable(), which knows a GSO super-packet by its segment size); an iph
	// tot_len of 64 KB would be answered FRAG_NEEDED and every TCP packet would miss.
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	fib.ifindex = skb->ingress_ifindex;
	// Not SUCCESS: no route, unreachable, neighbour not resolved yet, too big for the MTU...
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return TC_ACT_OK;
	if (fib.ifindex == skb->ingress_ifindex)
		return TC_ACT_OK;
	// A local destination must be a routed pod: its /32 route names its host veth, whose MAC
	// is the fixed ee:ee:ee:ee:ee:ee (bpf_redirect_peer needs a veth; a bridged pod's route
	// names the bridge, and that packet stays on the kernel path).
	if (local && !routed_host_mac(fib.smac))
		return TC_ACT_OK;

	// ip_decrease_ttl(): incremental checksum update (RFC 1624).
	__u32 check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	// The veth's peer is the pod's eth0.
	if (local)
		return bpf_redirect_peer(fib.ifindex, 0);
	return bpf_redirect(fib.ifindex, 0);
}

SEC("classifier")
int from_pod(struct __sk_buff *skb)
{
	return forward(skb, 1);
}

SEC("classifier")
int from_uplink(struct __sk_buff *skb)
{
	return forward(skb, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
