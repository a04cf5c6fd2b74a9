/* --mode syn's fast path (syn_ring.h): a PACKET_TX_RING per interface.
 *
 * Each frame is written into the ring mapped from the kernel (TPACKET_V2),
 * marked TP_STATUS_SEND_REQUEST, and one sendto() hands every marked frame
 * to the interface's queue; the kernel marks a frame available again once
 * its buffer is freed.  A frame the queue refused (ENOBUFS) stays marked and
 * the ring's head stays on it, so the next sendto() sends it again: no SYN
 * is lost to a full queue, as with the raw socket's retry.
 *
 * The IPv4 header's checksum is its constant words' sum, computed once,
 * plus the words that change (identification, addresses): RFC 1071's sum
 * taken in two parts, as RFC 1624 updates one. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tapir/wire.h>

#include "syn_hop.h"
#include "syn_ring.h"
#include "util.h"

#define FRAME_SIZE 128 /* a TPACKET2 header (32), a virtio_net_hdr (10), the largest SYN frame (78) */
#define BLOCK_SIZE 4096
#define BLOCKS 64      /* 2048 frames in flight per interface */
#define FRAMES (BLOCKS * (BLOCK_SIZE / FRAME_SIZE))
#define DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll)) /* where the kernel reads a TX frame */
#define SEND_EVERY 256 /* frames queued before a sendto() even without a flush */
#define RECHECK_US 10000u   /* a next hop without MAC: asked again after 10 ms */
#define REVERIFY_US 1000000u /* a known MAC: asked again every second */

struct ring_if {
	int ifindex, fd;
	uint8_t mac[6];
	uint8_t *map;
	unsigned head, pending;
	bool dead; /* the ring failed (the interface went down or away): raw socket from then on */
};

struct hop_ent {
	struct syn_hop h;
	unsigned ifi;
	bool known;
	uint8_t mac[6];
	uint64_t checked_us;
	bool checked;
};

struct syn_ring {
	int nl;
	unsigned nifs, nhops;
	struct ring_if ifs[SYN_RING_MAX_IFS];
	struct hop_ent hops[SYN_RING_MAX_HOPS];
};

struct syn_ring *syn_ring_open(void)
{
	struct syn_ring *r;
	int nl = syn_hop_open();
	if (nl < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		die("check: out of memory");
	r->nl = nl;
	return r;
}

/* The interface's MAC when it is an Ethernet one that is up and does ARP:
 * 0, or -1. */
static int ether_mac(int ifindex, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok = -1;
	memset(&ifr, 0, sizeof(ifr));
	if (fd < 0)
		return -1;
	if (if_indextoname((unsigned)ifindex, ifr.ifr_name) && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
	    (ifr.ifr_flags & IFF_UP) && !(ifr.ifr_flags & (IFF_NOARP | IFF_LOOPBACK)) &&
	    ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		ok = 0;
	}
	close(fd);
	return ok;
}

/* A TX ring bound to IFINDEX into RI: 0, or -1 (the raw socket then). */
static int ring_if_open(struct ring_if *ri, int ifindex)
{
	struct tpacket_req req = {.tp_block_size = BLOCK_SIZE, .tp_block_nr = BLOCKS,
				  .tp_frame_size = FRAME_SIZE, .tp_frame_nr = FRAMES};
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
	int v2 = TPACKET_V2, one = 1, sndbuf = 8 << 20;
	/* protocol 0: the socket only sends, nothing is copied to it */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	memset(ri, 0, sizeof(*ri));
	if (fd < 0 || ether_mac(ifindex, ri->mac))
		goto fail;
	/* a malformed frame is skipped, not left to stop the ring */
	/* each frame after a virtio_net_hdr whose hdr_len is the whole frame:
	 * the kernel then copies it into the buffer instead of lending it the
	 * ring's page, which a veth would copy again, and the frame is freed
	 * (its slot available) at once */
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof(v2)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)))
		goto fail;
	/* the frames in flight are charged to the send buffer: room for all */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	ri->map = mmap(NULL, (size_t)BLOCK_SIZE * BLOCKS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ri->map == MAP_FAILED || bind(fd, (struct sockaddr *)&ll, sizeof(ll))) {
		if (ri->map != MAP_FAILED)
			munmap(ri->map, (size_t)BLOCK_SIZE * BLOCKS);
		goto fail;
	}
	ri->fd = fd;
	ri->ifindex = ifindex;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	ri->map = NULL;
	return -1;
}

/* The ring for IFINDEX (opened at its first use), or -1. */
static int ring_for(struct syn_ring *r, int ifindex)
{
	for (unsigned i = 0; i < r->nifs; i++)
		if (r->ifs[i].ifindex == ifindex)
			return (int)i;
	if (r->nifs == SYN_RING_MAX_IFS || ring_if_open(&r->ifs[r->nifs], ifindex))
		return -1;
	return (int)r->nifs++;
}

int syn_ring_route(struct syn_ring *r, const struct nu_addr *dst, bool *onlink)
{
	struct syn_hop h;
	int ifi;
	*onlink = true;
	if (syn_hop_route(r->nl, dst, &h))
		return -1;
	*onlink = !h.gw;
	for (unsigned i = 0; i < r->nhops; i++)
		if (r->hops[i].h.family == h.family && r->hops[i].h.ifindex == h.ifindex &&
		    !memcmp(r->hops[i].h.addr, h.addr, sizeof(h.addr)))
			return (int)i;
	if (r->nhops == SYN_RING_MAX_HOPS || (ifi = ring_for(r, h.ifindex)) < 0)
		return -1;
	r->hops[r->nhops] = (struct hop_ent){.h = h, .ifi = (unsigned)ifi};
	return (int)r->nhops++;
}

/* RI's ring failed with ERR (the interface went down or was removed, or
 * its queue stayed full): one warning, the ring closed, and its SYNs go
 * through the raw socket from then on, where the kernel routes them (an
 * interface that is down has no route: those ports come out filtered, as
 * net-unreach).  The frames still queued in the ring are lost: their
 * probes are retried, as any unanswered probe, or time out. */
static void ring_dead(struct ring_if *ri, const char *why)
{
	char name[IF_NAMESIZE];
	if (!if_indextoname((unsigned)ri->ifindex, name))
		snprintf(name, sizeof(name), "#%d", ri->ifindex);
	fprintf(stderr, "tapir check: warning: %s: the packet ring failed (%s): its SYNs go through the raw socket now\n",
		name, why);
	munmap(ri->map, (size_t)BLOCK_SIZE * BLOCKS);
	close(ri->fd);
	ri->map = NULL;
	ri->fd = -1;
	ri->pending = 0;
	ri->dead = true;
}

/* Hands RI's marked frames to the kernel.  A full queue is waited out a
 * little at a time (the frame it refused is sent again); bounded. */
static void ring_send(struct ring_if *ri)
{
	unsigned spins = 0;
	while (ri->pending && !ri->dead) {
		if (sendto(ri->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
			ri->pending = 0;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == ENOBUFS || errno == EAGAIN || errno == ENOMEM) {
			struct timespec ts = {0, 100000}; /* the queue drains in µs */
			if (++spins > 100000)
				ring_dead(ri, "the queue stays full");
			else
				nanosleep(&ts, NULL);
			continue;
		}
		/* ENETDOWN: the interface is down; ENXIO, ENODEV: it is gone */
		ring_dead(ri, strerror(errno));
	}
}

void syn_ring_flush(struct syn_ring *r)
{
	for (unsigned i = 0; i < r->nifs; i++)
		ring_send(&r->ifs[i]);
}

/* Whether hop E's MAC is known at NOW_US, asking the kernel when it is due. */
static bool hop_known(struct syn_ring *r, struct hop_ent *e, uint64_t now_us)
{
	if (!e->checked || now_us - e->checked_us >= (e->known ? REVERIFY_US : RECHECK_US)) {
		e->known = syn_hop_mac(r->nl, &e->h, e->mac) == 0;
		e->checked = true;
		e->checked_us = now_us;
	}
	return e->known;
}

/* The next free frame of RI, or NULL when the ring stays full (the frames
 * in flight are freed as the interface sends them: waited for, bounded). */
static struct tpacket2_hdr *free_frame(struct ring_if *ri)
{
	struct tpacket2_hdr *ph = (struct tpacket2_hdr *)(ri->map + (size_t)ri->head * FRAME_SIZE);
	for (unsigned spins = 0; spins < 2000 && !ri->dead; spins++) {
		uint32_t st = __atomic_load_n(&ph->tp_status, __ATOMIC_ACQUIRE);
		struct timespec ts = {0, 10000};
		if (st == TP_STATUS_AVAILABLE || st == TP_STATUS_WRONG_FORMAT)
			return ph;
		ring_send(ri);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The IPv4 header of a SYN of SEG_LEN bytes from SRC to DST (RFC 791 3.1):
 * DF set, so the identification need not be unique (RFC 6864 4.1); it is
 * taken from the ISN's low bits. */
static void put_ipv4(uint8_t *ip, const struct nu_addr *src, const struct nu_addr *dst,
		     unsigned seg_len, uint16_t id)
{
	uint32_t sum;
	ip[0] = 0x45;
	ip[1] = 0;
	tapir_put16(ip + 2, (uint16_t)(TAPIR_IPV4_HLEN + seg_len));
	tapir_put16(ip + 4, id);
	tapir_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = TAPIR_IPPROTO_TCP;
	memcpy(ip + 12, &src->u.v4, 4);
	memcpy(ip + 16, &dst->u.v4, 4);
	/* the constant words (0x4500, 0x4000, 0x4006) and length, then the rest */
	sum = 0x4500u + 0x4000u + 0x4006u + TAPIR_IPV4_HLEN + seg_len + id;
	sum += tapir_get16(ip + 12) + tapir_get16(ip + 14) + tapir_get16(ip + 16) + tapir_get16(ip + 18);
	tapir_put16(ip + 10, tapir_csum_fold(sum));
}

/* The IPv6 header (RFC 8200 3): no flow label, hop limit 64. */
static void put_ipv6(uint8_t *ip, const struct nu_addr *src, const struct nu_addr *dst, unsigned seg_len)
{
	memset(ip, 0, 4);
	ip[0] = 0x60;
	tapir_put16(ip + 4, (uint16_t)seg_len);
	ip[6] = TAPIR_IPPROTO_TCP;
	ip[7] = 64;
	memcpy(ip + 8, src->u.v6, 16);
	memcpy(ip + 24, dst->u.v6, 16);
}

int syn_ring_put(struct syn_ring *r, int hop, const struct nu_addr *src, const struct nu_addr *dst,
		 const uint8_t *seg, unsigned len, uint64_t now_us)
{
	struct hop_ent *e = &r->hops[hop];
	struct ring_if *ri = &r->ifs[e->ifi];
	struct tpacket2_hdr *ph;
	uint8_t *f;
	bool v6 = dst->family == AF_INET6;
	unsigned iphl = v6 ? TAPIR_IPV6_HLEN : TAPIR_IPV4_HLEN;
	if (ri->dead || !hop_known(r, e, now_us) || !(ph = free_frame(ri)))
		return -1;
	f = (uint8_t *)ph + DATA_OFF;
	*(struct virtio_net_hdr *)f = (struct virtio_net_hdr){.hdr_len = (uint16_t)(TAPIR_ETH_HLEN + iphl + len)};
	f += sizeof(struct virtio_net_hdr);
	memcpy(f, e->mac, 6);
	memcpy(f + 6, ri->mac, 6);
	tapir_put16(f + 12, v6 ? ETH_P_IPV6 : ETH_P_IP);
	if (v6)
		put_ipv6(f + TAPIR_ETH_HLEN, src, dst, len);
	else
		put_ipv4(f + TAPIR_ETH_HLEN, src, dst, len, tapir_get16(seg + TAPIR_TH_SEQ + 2));
	memcpy(f + TAPIR_ETH_HLEN + iphl, seg, len);
	ph->tp_len = ph->tp_snaplen = (uint32_t)(sizeof(struct virtio_net_hdr) + TAPIR_ETH_HLEN + iphl + len);
	__atomic_store_n(&ph->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	ri->head = (ri->head + 1) % FRAMES;
	if (++ri->pending >= SEND_EVERY)
		ring_send(ri);
	return 0;
}

void syn_ring_close(struct syn_ring *r)
{
	if (!r)
		return;
	syn_ring_flush(r);
	for (unsigned i = 0; i < r->nifs; i++) {
		if (r->ifs[i].dead)
			continue;
		munmap(r->ifs[i].map, (size_t)BLOCK_SIZE * BLOCKS);
		close(r->ifs[i].fd);
	}
	close(r->nl);
	free(r);
}
