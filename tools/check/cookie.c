/* SYN cookies for the engines that send their own SYNs (syn, stack): see
 * check.h.  A reply is trusted on its cookie alone. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"

/* The hash input for a 4-tuple: the target's address (4 or 16 bytes, so
 * the families never share an input), its port and ours. */
static uint64_t tuple_hash(const struct check_cookie *k, const struct nu_addr *dst,
			   uint16_t dport, uint32_t sport)
{
	uint32_t in[6] = {dport, sport};
	size_t alen = dst->family == AF_INET6 ? 16 : 4;
	memcpy(in + 2, dst->family == AF_INET6 ? (const void *)dst->u.v6 : &dst->u.v4, alen);
	return nu_siphash(k->key, in, 8 + alen);
}

uint32_t check_cookie_isn(const struct check_cookie *k, const struct nu_addr *dst,
			  uint16_t dport, uint16_t sport)
{
	return (uint32_t)tuple_hash(k, dst, dport, sport);
}

uint16_t check_cookie_sport(const struct check_cookie *k, const struct nu_addr *dst,
			    uint16_t dport, unsigned try)
{
	uint64_t h = tuple_hash(k, dst, dport, 0xffffffffu);
	return (uint16_t)(k->sport_lo + (h + try) % k->sport_n);
}

void check_credit(struct check *c, const struct check_cookie *k, const struct check_reply *r)
{
	long long idx = check_probe_of(c, &r->peer, r->port);
	unsigned try;
	uint64_t rtt;
	struct probe *p;
	if (idx < 0)
		return;
	if (r->seqack != check_cookie_isn(k, &r->peer, r->port, r->ours))
		return; /* not ours: another scanner, a stale or forged segment */
	if (r->ours < k->sport_lo || r->ours - k->sport_lo >= k->sport_n)
		return;
	p = &c->pr[idx];
	/* the source port says which try it answers */
	try = (unsigned)((r->ours - k->sport_lo + k->sport_n -
			  (check_cookie_sport(k, &r->peer, r->port, 0) - k->sport_lo)) % k->sport_n);
	if (try >= p->tries)
		return;
	rtt = r->rx_us > p->sent_us ? r->rx_us - p->sent_us : 0;
	if (p->state == ST_PENDING) {
		if (try + 1u != p->tries)
			c->late++; /* an earlier try answered: the RTT is a lower bound */
		else
			check_rtt_sample(c, rtt); /* no ambiguity */
	}
	check_resolve_why(c, (uint64_t)idx, r->state, rtt, r->why);
}

uint8_t check_why_icmp(int family, unsigned code)
{
	/* RFC 4443 3.1's codes */
	static const uint8_t v6[] = {WHY_NO_ROUTE,     WHY_ADMIN_PROHIB, WHY_BEYOND_SCOPE,
				     WHY_HOST_UNREACH, WHY_PORT_UNREACH, WHY_ADMIN_PROHIB,
				     WHY_REJECT_ROUTE};
	if (family == AF_INET6)
		return code < sizeof(v6) ? v6[code] : WHY_DEST_UNREACH;
	switch (code) { /* RFC 792, and RFC 1812 5.2.7.1 for 9, 10, 13 */
	case 0: return WHY_NET_UNREACH;
	case 1: return WHY_HOST_UNREACH;
	case 2: return WHY_PROTO_UNREACH;
	case 3: return WHY_PORT_UNREACH;
	case 9: return WHY_NET_PROHIB;
	case 10: return WHY_HOST_PROHIB;
	case 13: return WHY_ADMIN_PROHIB;
	default: return WHY_DEST_UNREACH;
	}
}

uint8_t check_why_errno(int e)
{
	switch (e) {
	case ENETUNREACH:
	case ENETDOWN: return WHY_NET_UNREACH; /* our own interface is down */
	case EHOSTUNREACH:
	case EHOSTDOWN: return WHY_HOST_UNREACH;
	case ENOPROTOOPT: return WHY_PROTO_UNREACH;
	case ECONNREFUSED: return WHY_PORT_UNREACH;
	case EACCES:
	case EPERM: return WHY_PERM_DENIED; /* a local firewall, or a broadcast */
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT: return WHY_NO_ROUTE; /* no source address */
	default: return WHY_DEST_UNREACH;
	}
}
