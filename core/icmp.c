/* ICMPv4 (RFC 792, RFC 1122 3.2.2): echo, errors we send (rate limited per
 * RFC 1812 4.3.2.8) and errors we receive, which go to the socket that sent
 * the packet they quote. */
#include <errno.h>

#include "core.h"

#define ICMP_HLEN 8
#define ICMP_ERROR_MAX 576 /* RFC 1812 4.3.2.3: the error's total size */

int icmp_errno(uint8_t type, uint8_t code)
{
	if (type == TAPIR_ICMP_TIME_EXCEEDED)
		return EHOSTUNREACH;
	if (type == TAPIR_ICMP_PARAM_PROBLEM)
		return EPROTO;
	switch (code) {
	case TAPIR_ICMP_UNREACH_NET: case 6: case 9: case 11:
		return ENETUNREACH;
	case TAPIR_ICMP_UNREACH_PROTO:
		return ENOPROTOOPT;
	case TAPIR_ICMP_UNREACH_PORT:
		return ECONNREFUSED;
	case TAPIR_ICMP_UNREACH_NEEDFRAG:
		return EMSGSIZE;
	case 5:
		return EOPNOTSUPP;
	default: /* host, host unknown, prohibited: RFC 1122 4.2.3.9 */
		return EHOSTUNREACH;
	}
}

static bool icmp_is_error(uint8_t type)
{
	return type == TAPIR_ICMP_UNREACH || type == TAPIR_ICMP_SOURCE_QUENCH || type == 5 ||
	       type == TAPIR_ICMP_TIME_EXCEEDED || type == TAPIR_ICMP_PARAM_PROBLEM;
}

/* RFC 1812 4.3.2.8: a token bucket, refilled from the time passed in. */
bool icmp_rate_ok(struct tapir_stack *s)
{
	uint64_t cap = (uint64_t)s->cfg.icmp_burst * 1000;
	if (s->now > s->icmp_refill_at) {
		uint64_t add = (s->now - s->icmp_refill_at) * s->cfg.icmp_rate / 1000;
		s->icmp_tokens_milli = s->icmp_tokens_milli + add > cap ? cap
									: s->icmp_tokens_milli + add;
		s->icmp_refill_at = s->now;
	}
	if (s->icmp_tokens_milli < 1000)
		return false;
	s->icmp_tokens_milli -= 1000;
	return true;
}

void icmp_send_error(struct tapir_stack *s, const uint8_t *orig, size_t len, uint8_t type,
		     uint8_t code)
{
	size_t hlen = (size_t)(orig[0] & 15) * 4, n;
	uint32_t osrc = tapir_get32(orig + 12), odst = tapir_get32(orig + 16);
	struct tp_pkt *p;
	uint8_t *m;
	char a[16];

	/* RFC 1122 3.2.2: never about an ICMP error, a broadcast or multicast,
	 * a non-initial fragment, or a source that is not one host */
	if (orig[9] == TAPIR_IPPROTO_ICMP &&
	    (len < hlen + 1 || icmp_is_error(orig[hlen])))
		return;
	if (ipv4_is_broadcast(s, odst) || tapir_ipv4_is_multicast(odst) ||
	    (tapir_get16(orig + TAPIR_IPV4_FRAG) & TAPIR_IPV4_OFFMASK) || s->rx_l2_broadcast)
		return;
	if (osrc == 0 || ipv4_is_broadcast(s, osrc) || tapir_ipv4_is_multicast(osrc) ||
	    tapir_ipv4_is_reserved(osrc))
		return;
	if (!icmp_rate_ok(s)) {
		STAT(s, icmp_rate_limited);
		return;
	}
	n = len < ICMP_ERROR_MAX - TAPIR_IPV4_HLEN - ICMP_HLEN ? len : ICMP_ERROR_MAX - TAPIR_IPV4_HLEN - ICMP_HLEN;
	p = tp_pkt_alloc(s, ICMP_HLEN + n);
	if (!p) {
		STAT(s, tx_nomem);
		return;
	}
	m = p->data;
	p->len = (uint32_t)(ICMP_HLEN + n);
	m[0] = type;
	m[1] = code;
	memset(m + 2, 0, 6);
	memcpy(m + ICMP_HLEN, orig, n);
	tapir_put16(m + 2, tapir_csum(m, p->len));
	STAT(s, icmp_errors_sent);
	TRACE(s, TAPIR_TR_ICMP, "tx %s %u/%u to %s about %s proto %u",
	      type == TAPIR_ICMP_UNREACH ? "unreachable" : "error", type, code, tp_ip_str(osrc, a),
	      tp_ip_str(odst, (char[16]){0}), orig[9]);
	ipv4_output(s, p, ipv4_is_local(s, odst) ? odst : 0, osrc, TAPIR_IPPROTO_ICMP, 0);
}

/* RFC 1122 4.2.3.9: protocol and port unreachable are hard errors;
 * fragmentation needed (code 4) is not, for a connect.  The profile's
 * icmp_bsd_hard adds FreeBSD's (tcp_ctlinput): the prohibited codes 9, 10
 * and 13 and time exceeded in transit (code 0); its icmp_may_rst 0 makes
 * none hard. */
static bool icmp_tcp_hard(const struct tapir_stack *s, uint8_t type, uint8_t code)
{
	const struct tapir_profile *p = &s->cfg.profile;
	if (!p->icmp_may_rst)
		return false;
	if (type == TAPIR_ICMP_UNREACH && code >= TAPIR_ICMP_UNREACH_PROTO &&
	    code <= TAPIR_ICMP_UNREACH_PORT)
		return true;
	return p->icmp_bsd_hard && ((type == TAPIR_ICMP_TIME_EXCEEDED && code == 0) ||
				    (type == TAPIR_ICMP_UNREACH && (code == 9 || code == 10 || code == 13)));
}

/* FreeBSD (icmp_bsd_hard) reports the prohibited codes and protocol
 * unreachable as "connection refused" */
static int icmp_tcp_errno(const struct tapir_stack *s, uint8_t type, uint8_t code, int err)
{
	if (s->cfg.profile.icmp_bsd_hard && type == TAPIR_ICMP_UNREACH &&
	    (code == 9 || code == 10 || code == 13 || code == TAPIR_ICMP_UNREACH_PROTO))
		return ECONNREFUSED;
	return err;
}

/* RFC 1191 7, table 7-1: the plateaus, for routers that leave the
 * next-hop MTU 0 (RFC 792's message) */
static const uint16_t mtu_plateaus[] = {32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

/* RFC 1191 4: a fragmentation needed's next-hop MTU (the low 16 bits of
 * the word after type, code and checksum); when 0, RFC 1191 5: the
 * largest plateau below the quoted Total Length, which 4.2BSD-derived
 * routers report with the header length added, so a Total Length not below
 * our estimate loses 4 * IHL first.  INNER: the quoted IPv4 header. */
static unsigned icmp_needfrag_mtu(const struct tapir_stack *s, const uint8_t *m,
				  const uint8_t *inner)
{
	unsigned mtu = tapir_get16(m + 6), tot = tapir_get16(inner + 2);
	if (mtu)
		return mtu;
	if (tot >= ipv4_path_mtu(s, tapir_get32(inner + TAPIR_IPV4_DST)) && tot > 4u * (inner[0] & 15))
		tot -= 4u * (inner[0] & 15);
	for (size_t i = 0; i < sizeof(mtu_plateaus) / sizeof(mtu_plateaus[0]); i++)
		if (mtu_plateaus[i] < tot)
			return mtu_plateaus[i];
	return TP_IPV4_MIN_MTU;
}

/* An error M about INNER, a datagram we sent (its IPv4 header and at least
 * 8 bytes): hand it to the protocol that sent it. */
static int icmp_notify(struct tapir_stack *s, const uint8_t *m, const uint8_t *inner, size_t len,
		       int err, uint32_t from)
{
	uint8_t type = m[0], code = m[1];
	size_t hlen;
	if (len < TAPIR_IPV4_HLEN || inner[0] >> 4 != 4)
		return TAPIR_DROP_icmp_error_bad;
	hlen = (size_t)(inner[0] & 15) * 4;
	if (hlen < TAPIR_IPV4_HLEN || len < hlen + 8 || !ipv4_is_local(s, tapir_get32(inner + 12)))
		return TAPIR_DROP_icmp_error_bad;
	struct tapir_ip src = tapir_ip_from_v4(tapir_get32(inner + TAPIR_IPV4_SRC)),
			dst = tapir_ip_from_v4(tapir_get32(inner + TAPIR_IPV4_DST));
	switch (inner[9]) {
	case TAPIR_IPPROTO_UDP:
		return udp_icmp_error(s, &src, tapir_get16(inner + hlen), &dst,
				      tapir_get16(inner + hlen + 2), err);
	case TAPIR_IPPROTO_TCP:
		/* RFC 1122 4.2.3.9: protocol and port unreachable are hard
		 * errors; fragmentation needed (code 4) is not, for a connect,
		 * but lowers the path MTU once TCP believes it (RFC 1191 6.4,
		 * RFC 5927 4.1).  (UDP never sets DF: for it, only EMSGSIZE.) */
		return tcp_icmp_error(s, &src, &dst, inner + hlen,
				      icmp_tcp_errno(s, type, code, err),
				      ipv4_is_local(s, from) || icmp_tcp_hard(s, type, code),
				      type == TAPIR_ICMP_UNREACH && code == TAPIR_ICMP_UNREACH_NEEDFRAG
					      ? icmp_needfrag_mtu(s, m, inner) : 0);
	case TAPIR_IPPROTO_ICMP:
		if (inner[hlen] != TAPIR_ICMP_ECHO || !s->echo_fn)
			return TAPIR_DROP_icmp_error_bad;
		s->echo_fn(s->echo_arg, &(struct tapir_echo_reply){
			.from = from, .target = tapir_get32(inner + 16), .id = tapir_get16(inner + hlen + 4),
			.seq = tapir_get16(inner + hlen + 6), .error = err, .icmp_type = type,
			.icmp_code = code, .now = s->now});
		return TP_OK;
	default:
		return TAPIR_DROP_icmp_error_bad;
	}
}

void icmp_local_unreachable(struct tapir_stack *s, const struct tp_pkt *p)
{
	static const uint8_t m[ICMP_HLEN] = {TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_HOST};
	icmp_notify(s, m, p->data, p->len, EHOSTUNREACH, tapir_get32(p->data + 12));
}

/* RFC 792, RFC 4443 4.2: an echo reply is the request's message with
 * the reply's TYPE (identifier, sequence and data unchanged); the caller
 * fills in the checksum. */
struct tp_pkt *icmp_echo_reply(struct tapir_stack *s, const uint8_t *m, size_t len, uint8_t type)
{
	struct tp_pkt *p = tp_pkt_alloc(s, len);
	if (!p)
		return NULL;
	memcpy(p->data, m, len);
	p->len = (uint32_t)len;
	p->data[0] = type;
	return p;
}

static int icmp_echo(struct tapir_stack *s, const uint8_t *pkt, const uint8_t *m, size_t len)
{
	uint32_t src = tapir_get32(pkt + 12), dst = tapir_get32(pkt + 16);
	struct tp_pkt *p;

	/* RFC 1122 3.2.2.6 lets a host ignore echo to broadcast; we do, as
	 * Linux does by default (smurf amplification). */
	if (!ipv4_is_local(s, dst))
		return TAPIR_DROP_icmp_broadcast;
	p = icmp_echo_reply(s, m, len, TAPIR_ICMP_ECHO_REPLY);
	if (!p)
		return TAPIR_DROP_nomem;
	tapir_put16(p->data + 2, 0);
	tapir_put16(p->data + 2, tapir_csum(p->data, len));
	STAT(s, icmp_echo_replied);
	TRACE(s, TAPIR_TR_ICMP, "tx echo reply id %u seq %u len %zu", tapir_get16(m + 4),
	      tapir_get16(m + 6), len - ICMP_HLEN);
	ipv4_output(s, p, dst, src, TAPIR_IPPROTO_ICMP, 0);
	return TP_OK;
}

int icmp_input(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len, size_t hlen)
{
	const uint8_t *m = pkt + hlen;
	size_t mlen = len - hlen;
	uint32_t src = tapir_get32(pkt + 12);
	char a[16];

	if (mlen < ICMP_HLEN)
		return TAPIR_DROP_icmp_short;
	if (tapir_csum(m, mlen) != 0)
		return TAPIR_DROP_icmp_checksum;
	switch (m[0]) {
	case TAPIR_ICMP_ECHO:
		TRACE(s, TAPIR_TR_ICMP, "rx echo request from %s id %u seq %u len %zu",
		      tp_ip_str(src, a), tapir_get16(m + 4), tapir_get16(m + 6), mlen - ICMP_HLEN);
		return icmp_echo(s, pkt, m, mlen);
	case TAPIR_ICMP_ECHO_REPLY:
		TRACE(s, TAPIR_TR_ICMP, "rx echo reply from %s id %u seq %u len %zu",
		      tp_ip_str(src, a), tapir_get16(m + 4), tapir_get16(m + 6), mlen - ICMP_HLEN);
		if (!s->echo_fn)
			return TAPIR_DROP_icmp_type;
		STAT(s, icmp_echo_reply_rx);
		s->echo_fn(s->echo_arg, &(struct tapir_echo_reply){
			.from = src, .target = src, .id = tapir_get16(m + 4), .seq = tapir_get16(m + 6),
			.ttl = pkt[8], .data = m + ICMP_HLEN, .len = mlen - ICMP_HLEN,
			.icmp_type = m[0], .now = s->now});
		return TP_OK;
	case TAPIR_ICMP_UNREACH:
	case TAPIR_ICMP_TIME_EXCEEDED:
	case TAPIR_ICMP_PARAM_PROBLEM:
		STAT(s, icmp_errors_rx);
		TRACE(s, TAPIR_TR_ICMP, "rx error %u/%u from %s", m[0], m[1], tp_ip_str(src, a));
		return icmp_notify(s, m, m + ICMP_HLEN, mlen - ICMP_HLEN, icmp_errno(m[0], m[1]), src);
	default:
		/* includes source quench, which RFC 6633 says to ignore */
		return TAPIR_DROP_icmp_type;
	}
}

void tapir_echo_set_handler(struct tapir_stack *s, tapir_echo_fn fn, void *arg)
{
	s->echo_fn = fn;
	s->echo_arg = arg;
}

int tapir_echo_send(struct tapir_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
		    const void *data, size_t len, tapir_time_t now)
{
	struct tp_pkt *p;
	char a[16];
	if (len > 65535 - TAPIR_IPV4_HLEN - ICMP_HLEN)
		return -EMSGSIZE;
	s->now = now;
	p = tp_pkt_alloc(s, ICMP_HLEN + len);
	if (!p) {
		STAT(s, tx_nomem);
		return -ENOBUFS;
	}
	p->data[0] = TAPIR_ICMP_ECHO;
	p->data[1] = 0;
	tapir_put16(p->data + 2, 0);
	tapir_put16(p->data + 4, id);
	tapir_put16(p->data + 6, seq);
	if (len)
		memcpy(p->data + ICMP_HLEN, data, len);
	p->len = (uint32_t)(ICMP_HLEN + len);
	tapir_put16(p->data + 2, tapir_csum(p->data, p->len));
	STAT(s, icmp_echo_sent);
	TRACE(s, TAPIR_TR_ICMP, "tx echo request to %s id %u seq %u len %zu",
	      tp_ip_str(dst, a), id, seq, len);
	return ipv4_output(s, p, 0, dst, TAPIR_IPPROTO_ICMP, 0);
}
