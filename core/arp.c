/* ARP (RFC 826) for IPv4 over Ethernet: the cache, resolution with a
 * bounded queue of waiting packets, RFC 1122 2.3.2.1's unicast re-check of
 * old entries, and RFC 5227's announcement and address defence. */
#include <stdlib.h>

#include "core.h"

#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define ANNOUNCE_INTERVAL TAPIR_SEC(2)

int arp_init(struct tapir_stack *s)
{
	s->arp = calloc(s->cfg.arp_cache_size, sizeof(*s->arp));
	return s->arp ? 0 : -1;
}

static struct arp_entry *arp_find(const struct tapir_stack *s, uint32_t ip)
{
	for (unsigned i = 0; i < s->cfg.arp_cache_size; i++)
		if (s->arp[i].state != ARP_FREE && s->arp[i].ip == ip)
			return &s->arp[i];
	return NULL;
}

const struct arp_entry *arp_lookup(const struct tapir_stack *s, uint32_t ip)
{
	return arp_find(s, ip);
}

static void arp_forget(struct tapir_stack *s, struct arp_entry *e)
{
	s->stats.arp_queue_dropped += e->queued;
	tp_pkt_free_list(s, e->queue);
	memset(e, 0, sizeof(*e));
}

/* A free entry; when the cache is full the least recently confirmed entry
 * makes room, preferring resolved ones over those still being resolved. */
static struct arp_entry *arp_alloc(struct tapir_stack *s, uint32_t ip, int ifindex)
{
	struct arp_entry *victim = TP_EVICT_PICK(s->arp, s->cfg.arp_cache_size, struct arp_entry);
	if (victim->state != ARP_FREE) {
		STAT(s, arp_evicted);
		arp_forget(s, victim);
	}
	victim->ip = ip;
	victim->ifindex = (uint8_t)ifindex;
	victim->updated = s->now;
	return victim;
}

static void arp_send(struct tapir_stack *s, int ifindex, uint16_t op, const uint8_t *tha,
		     uint32_t spa, uint32_t tpa, const uint8_t *dst)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	struct tp_pkt *p = tp_pkt_alloc(s, ARP_LEN);
	uint8_t *a;
	if (!p) {
		STAT(s, tx_nomem);
		return;
	}
	a = p->data;
	p->len = ARP_LEN;
	tapir_put16(a, 1);          /* hardware: Ethernet */
	tapir_put16(a + 2, TAPIR_ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	tapir_put16(a + 6, op);
	memcpy(a + 8, ifc->mac, 6);
	tapir_put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	tapir_put32(a + 24, tpa);
	ether_send(s, ifindex, p, dst, TAPIR_ETH_P_ARP);
}

static const uint8_t zero_mac[6];

static void arp_request(struct tapir_stack *s, struct arp_entry *e, const uint8_t *dst)
{
	char ip[16];
	STAT(s, arp_requests_sent);
	TRACE(s, TAPIR_TR_ARP, "tx who-has %s tell %s%s", tp_ip_str(e->ip, ip),
	      tp_ip_str(s->ifaces[e->ifindex].addr, (char[16]){0}),
	      dst == tp_mac_broadcast ? "" : " (unicast re-check)");
	arp_send(s, e->ifindex, ARP_OP_REQUEST, dst == tp_mac_broadcast ? zero_mac : dst,
		 s->ifaces[e->ifindex].addr, e->ip, dst);
}

void arp_announce(struct tapir_stack *s, int ifindex)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	char ip[16];
	/* RFC 5227 2.3: an ARP request with sender and target IP both ours */
	STAT(s, arp_announces_sent);
	TRACE(s, TAPIR_TR_ARP, "tx announce %s is-at %s", tp_ip_str(ifc->addr, ip),
	      tp_mac_str(ifc->mac, (char[18]){0}));
	arp_send(s, ifindex, ARP_OP_REQUEST, zero_mac, ifc->addr, ifc->addr, tp_mac_broadcast);
}

void arp_probe(struct tapir_stack *s, int ifindex, uint32_t tpa)
{
	char ip[16];
	STAT(s, arp_requests_sent);
	TRACE(s, TAPIR_TR_ARP, "tx probe who-has %s tell 0.0.0.0", tp_ip_str(tpa, ip));
	arp_send(s, ifindex, ARP_OP_REQUEST, zero_mac, 0, tpa, tp_mac_broadcast);
}

/* The address is resolved: send what waited for it. */
static void arp_resolved(struct tapir_stack *s, struct arp_entry *e, const uint8_t *mac)
{
	struct tp_pkt *q = e->queue;
	if (e->state == ARP_INCOMPLETE)
		STAT(s, arp_resolved);
	memcpy(e->mac, mac, 6);
	e->state = ARP_REACHABLE;
	TP_ARM(s, e->deadline, s->now + s->cfg.arp_reachable_us);
	e->updated = s->now;
	e->tries = 0;
	e->used = 0;
	e->queue = NULL;
	e->queued = 0;
	ether_send_queue(s, e->ifindex, q, e->mac, TAPIR_ETH_P_IPV4);
}

int arp_input(struct tapir_stack *s, int ifindex, const uint8_t *a, size_t len)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	const uint8_t *sha = a + 8;
	uint32_t spa, tpa;
	uint16_t op;
	struct arp_entry *e;
	bool merged = false;
	char b1[16], b2[16], m[18];

	if (len < ARP_LEN)
		return TAPIR_DROP_arp_short;
	if (tapir_get16(a) != 1 || tapir_get16(a + 2) != TAPIR_ETH_P_IPV4 || a[4] != 6 || a[5] != 4)
		return TAPIR_DROP_arp_format;
	op = tapir_get16(a + 6);
	spa = tapir_get32(a + 14);
	tpa = tapir_get32(a + 24);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
		return TAPIR_DROP_arp_op;
	/* RFC 1122 3.2.1.3: no host has a multicast, broadcast, loopback or
	 * class E address; 0.0.0.0 is an RFC 5227 probe */
	if ((sha[0] & 1) || !memcmp(sha, ifc->mac, 6) ||
	    (spa != 0 && tapir_ipv4_is_martian_source(spa)) || ipv4_is_broadcast(s, spa))
		return TAPIR_DROP_arp_bad_sender;
	if (op == ARP_OP_REQUEST)
		TRACE(s, TAPIR_TR_ARP, "rx who-has %s tell %s (%s)", tp_ip_str(tpa, b1),
		      tp_ip_str(spa, b2), tp_mac_str(sha, m));
	else
		TRACE(s, TAPIR_TR_ARP, "rx reply %s is-at %s", tp_ip_str(spa, b1),
		      tp_mac_str(sha, m));

	if (dhcp_listening(s, ifindex))
		dhcp_arp(s, sha, spa, tpa, op);
	if (ifc->up && spa == ifc->addr) {
		/* RFC 5227 2.4: another host claims our address.  Defend it once
		 * per DEFEND_INTERVAL; never take the other host's mapping. */
		STAT(s, arp_conflicts);
		TRACE(s, TAPIR_TR_ARP, "conflict: %s claims our address %s", m, b2);
		/* last_defend holds the time of the last defence plus one, so
		 * that 0 means "never" even when the caller's clock starts at
		 * 0 (a defence at time 0 must still hold off the next one). */
		if (!ifc->last_defend || s->now + 1 >= ifc->last_defend + DEFEND_INTERVAL) {
			ifc->last_defend = s->now + 1;
			arp_announce(s, ifindex);
		}
		return TP_OK;
	}

	/* RFC 826 "Packet Reception": update an existing entry first ... */
	if (spa != 0 && (e = arp_find(s, spa)) != NULL) {
		arp_resolved(s, e, sha);
		merged = true;
	}
	if (!ifc->up || tpa != ifc->addr)
		return merged ? TP_OK : TAPIR_DROP_arp_not_for_us;
	/* ... and add one only when we are the target.  An RFC 5227 probe
	 * (sender 0.0.0.0) is answered but not cached. */
	if (!merged && spa != 0)
		arp_resolved(s, arp_alloc(s, spa, ifindex), sha);
	if (op == ARP_OP_REQUEST) {
		STAT(s, arp_replies_sent);
		TRACE(s, TAPIR_TR_ARP, "tx reply %s is-at %s", tp_ip_str(tpa, b1),
		      tp_mac_str(ifc->mac, m));
		arp_send(s, ifindex, ARP_OP_REPLY, sha, ifc->addr, spa, sha);
	}
	return TP_OK;
}

void arp_output(struct tapir_stack *s, int ifindex, uint32_t nexthop, struct tp_pkt *p)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	struct arp_entry *e;

	if (nexthop == TAPIR_IPV4_BROADCAST ||
	    (ifc->mask != ~0u && (nexthop & ~ifc->mask) == ~ifc->mask &&
	     (nexthop & ifc->mask) == (ifc->addr & ifc->mask))) {
		ether_send(s, ifindex, p, tp_mac_broadcast, TAPIR_ETH_P_IPV4);
		return;
	}
	e = arp_find(s, nexthop);
	if (e && e->state != ARP_INCOMPLETE) {
		e->used = 1;
		ether_send(s, ifindex, p, e->mac, TAPIR_ETH_P_IPV4);
		return;
	}
	if (!e) {
		e = arp_alloc(s, nexthop, ifindex);
		e->state = ARP_INCOMPLETE;
		e->tries = 1;
		TP_ARM(s, e->deadline, s->now + s->cfg.arp_retry_us);
		arp_request(s, e, tp_mac_broadcast);
	}
	/* Queue behind the request; a full queue loses its oldest packet, as
	 * RFC 1122 2.3.2.2 allows ("SHOULD save at least one"). */
	p->addr = nexthop;
	s->stats.arp_queue_dropped += tp_queue_bounded(s, &e->queue, &e->queued, s->cfg.arp_queue_len, p);
}

static void arp_fail(struct tapir_stack *s, struct arp_entry *e)
{
	char ip[16];
	struct tp_pkt *q = e->queue;
	STAT(s, arp_resolve_failed);
	TRACE(s, TAPIR_TR_ARP, "%s: no answer after %u requests, host unreachable",
	      tp_ip_str(e->ip, ip), e->tries);
	e->queue = NULL;
	e->queued = 0;
	memset(e, 0, sizeof(*e));
	/* Each waiting packet was ours: tell its sender (RFC 1122 2.3.2.2). */
	while (q) {
		struct tp_pkt *next = q->next;
		icmp_local_unreachable(s, q);
		tp_pkt_free(s, q);
		q = next;
	}
}

tapir_time_t arp_poll(struct tapir_stack *s, tapir_time_t now)
{
	tapir_time_t next = TAPIR_TIME_NEVER;

	for (int i = 0; i < s->nifaces; i++) {
		struct tp_iface *ifc = &s->ifaces[i];
		if (!ifc->up || !ifc->announces_left)
			continue;
		if (ifc->announce_at <= now) {
			arp_announce(s, i);
			ifc->announces_left--;
			TP_ARM(s, ifc->announce_at, now + ANNOUNCE_INTERVAL);
		}
		if (ifc->announces_left && ifc->announce_at < next)
			next = ifc->announce_at;
	}
	for (unsigned i = 0; i < s->cfg.arp_cache_size; i++) {
		struct arp_entry *e = &s->arp[i];
		if (e->state == ARP_FREE)
			continue;
		if (e->deadline <= now) {
			switch (e->state) {
			case ARP_INCOMPLETE:
				if (e->tries >= s->cfg.arp_retries) {
					arp_fail(s, e);
					continue;
				}
				e->tries++;
				arp_request(s, e, tp_mac_broadcast);
				break;
			case ARP_REACHABLE:
				if (!e->used) { /* idle and old: forget it */
					memset(e, 0, sizeof(*e));
					continue;
				}
				/* RFC 1122 2.3.2.1: in use and old, re-check it by
				 * unicast while still sending to the known MAC */
				e->state = ARP_PROBE;
				e->tries = 1;
				arp_request(s, e, e->mac);
				break;
			case ARP_PROBE:
				if (e->tries >= s->cfg.arp_retries) {
					memset(e, 0, sizeof(*e));
					continue;
				}
				e->tries++;
				arp_request(s, e, e->mac);
				break;
			}
			TP_ARM(s, e->deadline, now + s->cfg.arp_retry_us);
		}
		if (e->deadline < next)
			next = e->deadline;
	}
	return next;
}
