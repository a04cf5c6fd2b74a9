/* ICMPv6 (RFC 4443): echo, the errors we send (RFC 4443 2.4's rules, rate
 * limited by icmp.c's token bucket) and those we receive: a Packet Too Big
 * lowers the path MTU (RFC 8201).  Neighbor discovery and MLD messages go
 * to nd.c. */
#include <errno.h>

#include "core.h"

/* RFC 4443 2.4 (c): an error never makes a packet beyond the minimum MTU */
#define ICMP6_ERROR_MAX TAPIR_IPV6_MIN_MTU

void icmp6_checksum(uint8_t *m, size_t len, const uint8_t *src, const uint8_t *dst)
{
	/* RFC 4443 2.3: over the RFC 8200 8.1 pseudo header and the message */
	tapir_put16(m + 2, 0);
	tapir_put16(m + 2, tapir_csum_fold(tapir_csum_add(
				   tapir_csum_pseudo6(src, dst, TAPIR_IPPROTO_ICMPV6, (uint32_t)len), m, len)));
}

/* RFC 4443 2.4 (e.1), (e.2): is ORIG itself an ICMPv6 error or a redirect? */
static bool icmp6_about_error(const uint8_t *orig, size_t len)
{
	uint8_t nh = orig[TAPIR_IPV6_NXT];
	int up = ipv6_upper(orig, len, TAPIR_IPV6_HLEN, &nh);
	if (up < 0)
		return false; /* a later fragment: what it holds is unknown */
	if (nh != TAPIR_IPPROTO_ICMPV6)
		return false;
	return (size_t)up >= len || orig[up] < 128 || orig[up] == TAPIR_ICMP6_REDIRECT;
}

void icmp6_send_error(struct tapir_stack *s, int ifindex, const uint8_t *orig, size_t len,
		      uint8_t type, uint8_t code, uint32_t param)
{
	const uint8_t *osrc = orig + TAPIR_IPV6_SRC, *odst = orig + TAPIR_IPV6_DST, *src;
	/* RFC 4443 2.4 (e.3)-(e.5): these two may answer a multicast */
	bool exempt = type == TAPIR_ICMP6_PKT_TOO_BIG ||
		      (type == TAPIR_ICMP6_PARAM_PROBLEM && code == TAPIR_ICMP6_PARAM_OPTION);
	struct tp_pkt *p;
	size_t n;
	char a[46];

	if (icmp6_about_error(orig, len))
		return;
	if (!exempt && (tapir_ipv6_is_multicast(odst) || s->rx_l2_broadcast))
		return;
	/* (e.6): a source that is not one node */
	if (tapir_ipv6_is_unspecified(osrc) || tapir_ipv6_is_multicast(osrc))
		return;
	if (!icmp_rate_ok(s)) { /* (f) */
		STAT(s, icmp_rate_limited);
		return;
	}
	/* (d)-ish: from the address the packet was sent to, when it is ours */
	src = ipv6_local_iface(s, odst, false) >= 0 ? odst : NULL;
	n = len < ICMP6_ERROR_MAX - TAPIR_IPV6_HLEN - TAPIR_ICMP6_HLEN
		    ? len : ICMP6_ERROR_MAX - TAPIR_IPV6_HLEN - TAPIR_ICMP6_HLEN;
	p = tp_pkt_alloc(s, TAPIR_ICMP6_HLEN + n);
	if (!p) {
		STAT(s, tx_nomem);
		return;
	}
	p->len = (uint32_t)(TAPIR_ICMP6_HLEN + n);
	p->data[0] = type;
	p->data[1] = code;
	tapir_put32(p->data + 4, param);
	memcpy(p->data + TAPIR_ICMP6_HLEN, orig, n);
	if (!src && !(src = ipv6_select_source(s, ifindex, osrc))) {
		tp_pkt_free(s, p);
		return;
	}
	icmp6_checksum(p->data, p->len, src, osrc);
	STAT(s, icmp6_errors_sent);
	TRACE(s, TAPIR_TR_ICMP6, "tx error %u/%u (%u) to %s", type, code, (unsigned)param,
	      tp_ip6_str(osrc, a));
	ipv6_output(s, p, src, osrc, TAPIR_IPPROTO_ICMPV6, 0, ifindex, 0);
}

/* RFC 4443 4.2: the reply carries the request's identifier, sequence and
 * data; to a multicast request (ff02::1) it comes from a unicast address
 * of the interface, the link-local one. */
static int icmp6_echo(struct tapir_stack *s, int ifindex, const uint8_t *pkt, const uint8_t *m,
		      size_t mlen)
{
	const uint8_t *src = pkt + TAPIR_IPV6_DST, *dst = pkt + TAPIR_IPV6_SRC;
	struct tp_pkt *p;

	if (tapir_ipv6_is_unspecified(dst))
		return TAPIR_DROP_ip6_bad_source; /* no one to answer */
	if (tapir_ipv6_is_multicast(src)) {
		const struct tp_iface *ifc = &s->ifaces[ifindex];
		src = ifc->a6[0].state == TAPIR_ADDR6_PREFERRED ? ifc->a6[0].a
								: ipv6_select_source(s, ifindex, dst);
		if (!src)
			return TAPIR_DROP_icmp6_type;
	}
	p = icmp_echo_reply(s, m, mlen, TAPIR_ICMP6_ECHO_REPLY);
	if (!p)
		return TAPIR_DROP_nomem;
	icmp6_checksum(p->data, mlen, src, dst);
	STAT(s, icmp6_echo_replied);
	TRACE(s, TAPIR_TR_ICMP6, "tx echo reply id %u seq %u len %zu", tapir_get16(m + 4),
	      tapir_get16(m + 6), mlen - TAPIR_ICMP6_HLEN);
	ipv6_output(s, p, src, dst, TAPIR_IPPROTO_ICMPV6, 0, ifindex, 0);
	return TP_OK;
}

/* RFC 4443 3: what an error means to the sender, as errno (RFC 3542's
 * and Linux's reading) */
static int icmp6_errno(uint8_t type, uint8_t code)
{
	if (type == TAPIR_ICMP6_UNREACH)
		return code == TAPIR_ICMP6_UNREACH_NOROUTE ? ENETUNREACH
		       : code == TAPIR_ICMP6_UNREACH_PORT  ? ECONNREFUSED
		       : code == 1                         ? EACCES /* administratively prohibited */
							   : EHOSTUNREACH;
	if (type == TAPIR_ICMP6_PKT_TOO_BIG)
		return EMSGSIZE;
	return type == TAPIR_ICMP6_PARAM_PROBLEM ? EPROTO : EHOSTUNREACH;
}

/* The profile's icmp_bsd_hard (FreeBSD's tcp6_ctlinput): administratively
 * prohibited and unrecognized next header (protocol unreachable's analogue)
 * end a connect with ECONNREFUSED, hop limit exceeded with EHOSTUNREACH.
 * Returns that errno, or 0 when the error is not one of them. */
static int icmp6_tcp_bsd(const struct tapir_stack *s, uint8_t type, uint8_t code)
{
	if (!s->cfg.profile.icmp_bsd_hard)
		return 0;
	if ((type == TAPIR_ICMP6_UNREACH && code == 1) ||
	    (type == TAPIR_ICMP6_PARAM_PROBLEM && code == 1))
		return ECONNREFUSED;
	return type == TAPIR_ICMP6_TIME_EXCEEDED && code == 0 ? EHOSTUNREACH : 0;
}

/* A Packet Too Big's MTU for TCP, never 0 (RFC 8201 4: below 1280 counts
 * as 1280; ipv6_pmtu_update stored it already) */
static unsigned icmp6_ptb_mtu(const uint8_t *m)
{
	uint32_t mtu = tapir_get32(m + 4);
	return mtu < TAPIR_IPV6_MIN_MTU ? TAPIR_IPV6_MIN_MTU : mtu > 65535 ? 65535 : (unsigned)mtu;
}

/* The error M quoting Q (QLEN bytes from its IPv6 header, one of ours) to
 * the transport that sent it (RFC 4443 3: as much of the packet as fits,
 * so the ports and TCP's sequence number: 8 bytes of the upper header) */
static int icmp6_notify(struct tapir_stack *s, const uint8_t *pkt, const uint8_t *m,
			const uint8_t *q, size_t qlen)
{
	uint8_t nh = q[TAPIR_IPV6_NXT];
	int off = ipv6_upper(q, qlen, TAPIR_IPV6_HLEN, &nh), err = icmp6_errno(m[0], m[1]);
	struct tapir_ip src, dst;
	bool local;
	if (off < 0 || (size_t)off + 8 > qlen)
		return TAPIR_DROP_icmp6_error_bad;
	src = tapir_ip_from_v6(q + TAPIR_IPV6_SRC);
	dst = tapir_ip_from_v6(q + TAPIR_IPV6_DST);
	/* our own neighbor discovery's failure (nd_fail) comes from us */
	local = ipv6_local_iface(s, pkt + TAPIR_IPV6_SRC, false) >= 0;
	if (nh == TAPIR_IPPROTO_UDP)
		return udp_icmp_error(s, &src, tapir_get16(q + off), &dst, tapir_get16(q + off + 2), err);
	if (nh == TAPIR_IPPROTO_TCP)
		/* RFC 4443 3.1 / RFC 1122 4.2.3.9's analogue: port unreachable
		 * is hard; the rest soft */
		return tcp_icmp_error(s, &src, &dst, q + off,
				      icmp6_tcp_bsd(s, m[0], m[1]) ? icmp6_tcp_bsd(s, m[0], m[1]) : err,
				      local || (s->cfg.profile.icmp_may_rst &&
						((m[0] == TAPIR_ICMP6_UNREACH &&
						  m[1] == TAPIR_ICMP6_UNREACH_PORT) ||
						 icmp6_tcp_bsd(s, m[0], m[1]))),
				      m[0] == TAPIR_ICMP6_PKT_TOO_BIG ? icmp6_ptb_mtu(m) : 0);
	return TP_OK; /* an echo of ours, or nothing that waits for it */
}

/* An error about a packet (QUOTED, its IPv6 header first) that we sent. */
static int icmp6_error_input(struct tapir_stack *s, const uint8_t *pkt, const uint8_t *m,
			     size_t mlen)
{
	const uint8_t *q = m + TAPIR_ICMP6_HLEN;
	size_t qlen = mlen - TAPIR_ICMP6_HLEN;
	char a[46];

	STAT(s, icmp6_errors_rx);
	TRACE(s, TAPIR_TR_ICMP6, "rx error %u/%u from %s", m[0], m[1],
	      tp_ip6_str(pkt + TAPIR_IPV6_SRC, a));
	/* RFC 5927 4.1's check, as for IPv4: it must quote one of ours */
	if (qlen < TAPIR_IPV6_HLEN || q[0] >> 4 != 6 ||
	    ipv6_local_iface(s, q + TAPIR_IPV6_SRC, false) < 0)
		return TAPIR_DROP_icmp6_error_bad;
	if (m[0] == TAPIR_ICMP6_PKT_TOO_BIG) /* RFC 8201 4 */
		ipv6_pmtu_update(s, q + TAPIR_IPV6_DST, tapir_get32(m + 4));
	return icmp6_notify(s, pkt, m, q, qlen);
}

int icmp6_input(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len, size_t off)
{
	const uint8_t *m = pkt + off;
	size_t mlen = len - off;
	char a[46];

	if (off > len || mlen < TAPIR_ICMP6_HLEN)
		return TAPIR_DROP_icmp6_short;
	if (tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo6(pkt + TAPIR_IPV6_SRC, pkt + TAPIR_IPV6_DST,
							      TAPIR_IPPROTO_ICMPV6, (uint32_t)mlen),
					   m, mlen)) != 0)
		return TAPIR_DROP_icmp6_checksum;
	switch (m[0]) {
	case TAPIR_ICMP6_ECHO:
		TRACE(s, TAPIR_TR_ICMP6, "rx echo request from %s id %u seq %u len %zu",
		      tp_ip6_str(pkt + TAPIR_IPV6_SRC, a), tapir_get16(m + 4), tapir_get16(m + 6),
		      mlen - TAPIR_ICMP6_HLEN);
		return icmp6_echo(s, ifindex, pkt, m, mlen);
	case TAPIR_ICMP6_UNREACH:
	case TAPIR_ICMP6_PKT_TOO_BIG:
	case TAPIR_ICMP6_TIME_EXCEEDED:
	case TAPIR_ICMP6_PARAM_PROBLEM:
		return icmp6_error_input(s, pkt, m, mlen);
	case TAPIR_ICMP6_MLD_QUERY:
	case TAPIR_ICMP6_ROUTER_ADVERT:
	case TAPIR_ICMP6_NEIGHBOR_SOLICIT:
	case TAPIR_ICMP6_NEIGHBOR_ADVERT:
		return nd_input(s, ifindex, pkt, len, off);
	default:
		/* RFC 4443 2.4 (a), (b): unknown types are dropped; so are
		 * router solicitations (a host's to ignore, RFC 4861 6.2.6),
		 * redirects (not followed: RFC 4861 8.3 is next session's) and
		 * echo replies (no IPv6 echo client yet) */
		return TAPIR_DROP_icmp6_type;
	}
}
