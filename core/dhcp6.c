/* The stateless DHCPv6 client (RFC 8415 6.1, 18.2.6): no addresses (SLAAC
 * gives those), only what a host needs beside them: the DNS servers (RFC
 * 3646 option 23) and the domain search list (24).  WAITING for a router
 * advertisement with the O flag (RFC 4861 4.2) -> REQUESTING: an
 * Information-request from the link-local address to ff02::1:2 port 547,
 * retransmitted by RFC 8415 15 -> DONE: the first Reply of our
 * transaction taken -> REQUESTING again at its Information Refresh Time
 * (21.23).  Time comes from the caller as everywhere in the core, the
 * random parts from the stack's seeded generator.  Replies reach
 * dhcp6_input from udp_input (port 546, which the client holds as a UDP
 * socket, and through which it sends); what is malformed is counted and
 * dropped.  What is kept is bounded (TAPIR_DHCP6_*_MAX). */
#include <errno.h>
#include <stdlib.h>

#include <tapir/dhcp.h>

#include "core.h"

#define DHCP6_SERVER_PORT 547
/* RFC 8415 7.3 message types, 21 option codes */
enum { MSG_REPLY = 7, MSG_INFORMATION_REQUEST = 11 };
enum {
	OPT_CLIENTID = 1, OPT_SERVERID = 2, OPT_ORO = 6, OPT_ELAPSED_TIME = 8,
	OPT_STATUS_CODE = 13, OPT_DNS_SERVERS = 23, OPT_DOMAIN_LIST = 24,
	OPT_INFO_REFRESH_TIME = 32, OPT_INF_MAX_RT = 83,
};
/* RFC 8415 7.6 */
#define INF_MAX_DELAY TAPIR_SEC(1)
#define INF_TIMEOUT TAPIR_SEC(1)
#define INF_MAX_RT 3600
#define IRT_DEFAULT 86400
#define IRT_MINIMUM 600
#define DUID_LEN 10       /* RFC 8415 11.4: DUID-LL of an Ethernet MAC */
#define DHCP6_BUF 64      /* our Information-request: 4 + 14 + 6 + 12 */

/* RFC 8415 7.1: All_DHCP_Relay_Agents_and_Servers */
static const uint8_t all_dhcp_agents[16] = {0xff, 0x02, [13] = 1, [15] = 2};

/* What a Reply said, as far as the client uses it. */
struct dhcp6_msg {
	const uint8_t *clientid;
	size_t clientid_len;
	bool has_server, has_status, has_refresh, has_max_rt;
	uint16_t status;
	uint32_t refresh, max_rt;
	uint8_t dns[TAPIR_DHCP6_DNS_MAX][16];
	unsigned ndns;
	char search[TAPIR_DHCP6_SEARCH_MAX][TAPIR_DHCP6_NAME_MAX];
	unsigned nsearch;
};

struct tp_dhcp6 {
	struct tapir_dhcp6_info i;    /* what tapir_dhcp6_info tells */
	struct tapir_udp *u;          /* holds port 546; sends */
	uint32_t xid;                 /* 24 bits */
	tapir_time_t timer;           /* the next transmission or refresh */
	tapir_time_t began;           /* the exchange's first transmission (21.9) */
	tapir_time_t rt;              /* RFC 8415 15's RT of the last transmission */
	unsigned tries;               /* transmissions in this exchange */
};

static const char *const state_names[] = {"off", "waiting", "requesting", "done"};

const char *tapir_dhcp6_state_name(enum tapir_dhcp6_state st)
{
	return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

static void set_state(struct tapir_stack *s, struct tp_dhcp6 *d, enum tapir_dhcp6_state st)
{
	TRACE(s, TAPIR_TR_UDP, "dhcp6 %s -> %s", state_names[d->i.state], state_names[st]);
	d->i.state = st;
}

/* RFC 8415 15: BASE + RAND*X, RAND uniform in [-0.1, +0.1] */
static tapir_time_t rand_around(struct tapir_stack *s, tapir_time_t base, tapir_time_t x)
{
	return base - x / 10 + tp_rand_between(s, 0, x / 5);
}

/* RFC 8415 15: RT = IRT + RAND*IRT first, then 2*RTprev + RAND*RTprev,
 * above MRT (18.2.6: INF_MAX_RT, or the server's option 83) MRT + RAND*MRT;
 * MRC and MRD 0: no end. */
static tapir_time_t next_rt(struct tapir_stack *s, struct tp_dhcp6 *d)
{
	tapir_time_t mrt = TAPIR_SEC(d->i.inf_max_rt);
	tapir_time_t rt = d->tries ? rand_around(s, 2 * d->rt, d->rt)
				   : rand_around(s, INF_TIMEOUT, INF_TIMEOUT);
	return rt > mrt ? rand_around(s, mrt, mrt) : rt;
}

/* ---- output ---- */

static uint8_t *put_opt6(uint8_t *o, uint16_t code, uint16_t len, const void *v)
{
	tapir_put16(o, code);
	tapir_put16(o + 2, len);
	memcpy(o + 4, v, len);
	return o + 4 + len;
}

/* RFC 8415 11.4: DUID-LL, type 3, hardware type 1 (Ethernet), the MAC */
static void duid_ll(const struct tapir_stack *s, const struct tp_dhcp6 *d, uint8_t *b)
{
	tapir_put16(b, 3);
	tapir_put16(b + 2, 1);
	memcpy(b + 4, s->ifaces[d->i.ifindex].mac, 6);
}

/* RFC 8415 18.2.6: our identifier, the elapsed time (21.9, hundredths of
 * a second, all ones beyond), and the options we want (21.7: INF_MAX_RT
 * and the refresh time MUST be among them). */
static size_t info_request(struct tapir_stack *s, struct tp_dhcp6 *d, uint8_t *m)
{
	static const uint16_t want[] = {OPT_DNS_SERVERS, OPT_DOMAIN_LIST, OPT_INFO_REFRESH_TIME,
					OPT_INF_MAX_RT};
	uint8_t duid[DUID_LEN], oro[sizeof(want)], el[2], *o;
	tapir_time_t cs = (s->now - d->began) / TAPIR_MS(10);
	m[0] = MSG_INFORMATION_REQUEST;
	m[1] = (uint8_t)(d->xid >> 16);
	m[2] = (uint8_t)(d->xid >> 8);
	m[3] = (uint8_t)d->xid;
	duid_ll(s, d, duid);
	o = put_opt6(m + 4, OPT_CLIENTID, DUID_LEN, duid);
	tapir_put16(el, (uint16_t)(cs > 0xffff ? 0xffff : cs));
	o = put_opt6(o, OPT_ELAPSED_TIME, 2, el);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		tapir_put16(oro + 2 * k, want[k]);
	o = put_opt6(o, OPT_ORO, sizeof(oro), oro);
	return (size_t)(o - m);
}

static void dhcp6_send(struct tapir_stack *s, struct tp_dhcp6 *d)
{
	uint8_t m[DHCP6_BUF];
	struct tapir_ip dst = tapir_ip_from_v6(all_dhcp_agents);
	long r = tapir_udp_sendto_addr(d->u, m, info_request(s, d, m), &dst, DHCP6_SERVER_PORT, s->now);
	TRACE(s, TAPIR_TR_UDP, "dhcp6 tx Information-request xid %06x try %u%s", d->xid, d->tries + 1,
	      r < 0 ? " (not sent)" : "");
	if (r >= 0) {
		STAT(s, dhcp6_tx);
		d->i.requests++;
	}
}

/* ---- timers ---- */

/* A new exchange (RFC 8415 18.2.6): a new transaction id; the first
 * message on the interface after a random delay of up to INF_MAX_DELAY. */
static void exchange_begin(struct tapir_stack *s, struct tp_dhcp6 *d, tapir_time_t now, bool delay)
{
	d->xid = (uint32_t)tp_rand(s) & 0xffffff;
	d->tries = 0;
	set_state(s, d, TAPIR_DHCP6_REQUESTING);
	TP_ARM(s, d->timer, now + (delay ? tp_rand_between(s, 0, INF_MAX_DELAY) : 0));
}

/* RFC 8415 13.1, RFC 4862 5.4: the link-local source must have passed
 * DAD; until then, the time to look again (its DAD's next step). */
static bool link_local_ready(const struct tapir_stack *s, const struct tp_dhcp6 *d, tapir_time_t now,
			     tapir_time_t *again)
{
	const struct tp_addr6 *a = &s->ifaces[d->i.ifindex].a6[0];
	if (a->state == TAPIR_ADDR6_PREFERRED)
		return true;
	*again = a->state == TAPIR_ADDR6_TENTATIVE && a->dad_at > now ? a->dad_at : now + INF_TIMEOUT;
	return false;
}

static void dhcp6_timeout(struct tapir_stack *s, struct tp_dhcp6 *d, tapir_time_t now)
{
	tapir_time_t again;
	switch (d->i.state) {
	case TAPIR_DHCP6_DONE: /* RFC 8415 21.23: refresh */
		exchange_begin(s, d, now, false);
		/* fall through */
	case TAPIR_DHCP6_REQUESTING:
		if (!link_local_ready(s, d, now, &again)) {
			TP_ARM(s, d->timer, again);
			break;
		}
		if (!d->tries)
			d->began = now;
		d->rt = next_rt(s, d);
		dhcp6_send(s, d);
		d->tries++;
		TP_ARM(s, d->timer, now + d->rt);
		break;
	default:
		d->timer = TAPIR_TIME_NEVER;
		break;
	}
}

tapir_time_t dhcp6_poll(struct tapir_stack *s, tapir_time_t now)
{
	struct tp_dhcp6 *d = s->dhcp6;
	if (!d)
		return TAPIR_TIME_NEVER;
	if (d->timer <= now)
		dhcp6_timeout(s, d, now);
	return d->timer;
}

void dhcp6_ra(struct tapir_stack *s, int ifindex, uint8_t flags)
{
	struct tp_dhcp6 *d = s->dhcp6;
	/* RFC 4861 4.2: O, other configuration by DHCPv6; M (addresses by
	 * DHCPv6) makes O redundant, so it says the same to us */
	if (d && d->i.state == TAPIR_DHCP6_WAITING && d->i.ifindex == ifindex && (flags & 0xc0))
		exchange_begin(s, d, s->now, true);
}

/* ---- input ---- */

static bool name_char(uint8_t c)
{
	uint8_t l = c | 0x20;
	return (l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* RFC 3646 4, RFC 8415 10: a list of names, each as RFC 1035 3.1 labels
 * ending with the root's empty one, uncompressed, at most 255 octets.
 * Names with characters a host name never has are not kept (they would be
 * printed); -1 when the encoding is broken. */
static int search_list(const uint8_t *v, size_t n, struct dhcp6_msg *m)
{
	size_t i = 0;
	while (i < n) {
		char name[TAPIR_DHCP6_NAME_MAX];
		size_t tl = 0, wire = 0;
		bool ok = true;
		for (;;) {
			uint8_t l;
			if (i >= n)
				return -1; /* no root label */
			l = v[i++];
			wire += 1u + l;
			/* a compression pointer (0xc0) or label type is > 63 */
			if (l > 63 || wire > 255 || l > n - i)
				return -1;
			if (!l)
				break;
			if (tl)
				name[tl++] = '.';
			for (size_t k = 0; k < l; k++)
				ok &= name_char(v[i + k]);
			memcpy(name + tl, v + i, l);
			tl += l;
			i += l;
		}
		name[tl] = 0; /* wire <= 255 keeps tl <= 253 */
		if (ok && tl && m->nsearch < TAPIR_DHCP6_SEARCH_MAX)
			memcpy(m->search[m->nsearch++], name, tl + 1);
	}
	return 0;
}

/* One option of CODE with N bytes at V; -1 when malformed. */
static int dhcp6_option(uint16_t code, const uint8_t *v, uint16_t n, struct dhcp6_msg *m)
{
	switch (code) {
	case OPT_CLIENTID:
		if (!m->clientid) {
			m->clientid = v;
			m->clientid_len = n;
		}
		return 0;
	case OPT_SERVERID: /* RFC 8415 11.1: a type and 1 to 128 octets */
		m->has_server |= n >= 3 && n <= 130;
		return n >= 3 && n <= 130 ? 0 : -1;
	case OPT_STATUS_CODE: /* 21.13: the code, then a message */
		if (n < 2)
			return -1;
		if (!m->has_status)
			m->status = tapir_get16(v);
		m->has_status = true;
		return 0;
	case OPT_DNS_SERVERS: /* RFC 3646 3: addresses, 16 bytes each */
		if (n % 16)
			return -1;
		for (uint16_t k = 0; k < n; k += 16)
			if (!tapir_ipv6_is_unspecified(v + k) && !tapir_ipv6_is_multicast(v + k) &&
			    m->ndns < TAPIR_DHCP6_DNS_MAX)
				memcpy(m->dns[m->ndns++], v + k, 16);
		return 0;
	case OPT_DOMAIN_LIST:
		return search_list(v, n, m);
	case OPT_INFO_REFRESH_TIME:
	case OPT_INF_MAX_RT:
		if (n != 4)
			return -1;
		if (code == OPT_INF_MAX_RT) {
			m->max_rt = tapir_get32(v);
			m->has_max_rt = true;
		} else {
			m->refresh = tapir_get32(v);
			m->has_refresh = true;
		}
		return 0;
	default: /* not asked for (IA options of a stateful server...): skipped */
		return 0;
	}
}

/* The top-level options (RFC 8415 21.1: a code, a length and that many
 * bytes, all inside LEN).  A TAPIR_DROP_ reason or TP_OK. */
static int dhcp6_parse(const uint8_t *b, size_t len, struct dhcp6_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len < 4)
		return TAPIR_DROP_dhcp6_malformed;
	for (size_t i = 4; i < len;) {
		uint16_t n;
		if (len - i < 4 || (n = tapir_get16(b + i + 2)) > len - i - 4 ||
		    dhcp6_option(tapir_get16(b + i), b + i + 4, n, m) < 0)
			return TAPIR_DROP_dhcp6_malformed;
		i += 4u + n;
	}
	/* RFC 8415 16.10: a Reply without a server id is discarded, and so is
	 * one without our client id when we sent it */
	return m->has_server && m->clientid ? TP_OK : TAPIR_DROP_dhcp6_malformed;
}

/* The Reply M's servers and names; counted as a change when they differ. */
static void reply_take(struct tapir_stack *s, struct tp_dhcp6 *d, const struct dhcp6_msg *m,
		       const struct tapir_ip *src)
{
	struct tapir_dhcp6_info *i = &d->i;
	bool same = i->replies && i->ndns == m->ndns && i->nsearch == m->nsearch &&
		    !memcmp(i->dns, m->dns, sizeof(i->dns[0]) * m->ndns);
	for (unsigned k = 0; same && k < m->nsearch; k++)
		same = !strcmp(i->search[k], m->search[k]);
	memset(i->dns, 0, sizeof(i->dns));
	memset(i->search, 0, sizeof(i->search));
	memcpy(i->dns, m->dns, sizeof(i->dns[0]) * m->ndns);
	memcpy(i->search, m->search, sizeof(i->search[0]) * m->nsearch);
	i->ndns = m->ndns;
	i->nsearch = m->nsearch;
	memcpy(i->server, src->b, 16);
	i->replies++;
	i->changes += !same;
	/* RFC 8415 21.25: INF_MAX_RT from 60 to 86400 s, else ignored */
	if (m->has_max_rt && m->max_rt >= 60 && m->max_rt <= 86400)
		i->inf_max_rt = m->max_rt;
	/* 21.23: IRT_DEFAULT without the option, never below IRT_MINIMUM */
	i->refresh_secs = !m->has_refresh ? IRT_DEFAULT : m->refresh < IRT_MINIMUM ? IRT_MINIMUM
											   : m->refresh;
	i->refresh_at = i->refresh_secs == 0xffffffffu ? TAPIR_TIME_NEVER
						       : s->now + TAPIR_SEC(i->refresh_secs);
	STAT(s, dhcp6_rx);
	set_state(s, d, TAPIR_DHCP6_DONE);
	TP_ARM(s, d->timer, i->refresh_at);
}

int dhcp6_input(struct tapir_stack *s, const struct tapir_ip *src, uint16_t sport, const uint8_t *b,
		size_t len)
{
	struct tp_dhcp6 *d = s->dhcp6;
	struct dhcp6_msg m;
	uint8_t duid[DUID_LEN];
	char a[TAPIR_IP_STRLEN];
	int r = dhcp6_parse(b, len, &m);

	if (r != TP_OK)
		return r;
	/* RFC 8415 16: only a Reply is for a client doing Information-request
	 * (7.2: from a server's or relay's port), of our transaction, while
	 * it waits, for our DUID (16.10) */
	duid_ll(s, d, duid);
	if (b[0] != MSG_REPLY || sport != DHCP6_SERVER_PORT || d->i.state != TAPIR_DHCP6_REQUESTING ||
	    !d->tries || (uint32_t)(b[1] << 16 | b[2] << 8 | b[3]) != d->xid ||
	    m.clientid_len != DUID_LEN || memcmp(m.clientid, duid, DUID_LEN))
		return TAPIR_DROP_dhcp6_unexpected;
	/* 18.2.10: a failure status (UnspecFail...): not taken; the
	 * retransmissions go on at their pace */
	if (m.has_status && m.status != 0)
		return TAPIR_DROP_dhcp6_status;
	TRACE(s, TAPIR_TR_UDP, "dhcp6 rx Reply xid %06x from %s: %u dns, %u names", d->xid,
	      tapir_ip_str(src, a), m.ndns, m.nsearch);
	reply_take(s, d, &m, src);
	return TP_OK;
}

/* ---- the API ---- */

static int dhcp6_new(struct tapir_stack *s)
{
	struct tp_dhcp6 *d = calloc(1, sizeof(*d));
	struct tapir_ip any = {{0}};
	int r = -ENOMEM;
	if (!d)
		return -ENOMEM;
	/* (an IPv6-only socket on ::, so IPv4's port 546 stays free) */
	if (!(d->u = tapir_udp_new(s)) || (r = tapir_udp_set_v6only(d->u, true)) < 0 ||
	    (r = tapir_udp_bind_addr(d->u, &any, TP_DHCP6_CLIENT_PORT)) < 0) {
		if (d->u)
			tapir_udp_free(d->u);
		free(d);
		return r;
	}
	s->dhcp6 = d;
	return 0;
}

int tapir_dhcp6_start(struct tapir_stack *s, int ifindex, unsigned flags, tapir_time_t now)
{
	struct tp_dhcp6 *d = s->dhcp6;
	int r;
	if (ifindex < 0 || ifindex >= s->nifaces || !s->ifaces[ifindex].v6)
		return -EINVAL;
	if (d && d->i.state != TAPIR_DHCP6_OFF)
		return -EBUSY;
	s->now = now;
	if (!d) {
		if ((r = dhcp6_new(s)) < 0)
			return r;
		d = s->dhcp6;
	}
	memset(&d->i, 0, sizeof(d->i));
	d->i.ifindex = ifindex;
	d->i.inf_max_rt = INF_MAX_RT;
	d->i.refresh_at = TAPIR_TIME_NEVER;
	d->timer = TAPIR_TIME_NEVER;
	set_state(s, d, TAPIR_DHCP6_WAITING);
	if (flags & TAPIR_DHCP6_NOW)
		exchange_begin(s, d, now, true);
	return 0;
}

void tapir_dhcp6_stop(struct tapir_stack *s)
{
	struct tp_dhcp6 *d = s->dhcp6;
	if (!d)
		return;
	set_state(s, d, TAPIR_DHCP6_OFF);
	d->timer = TAPIR_TIME_NEVER;
}

int tapir_dhcp6_info(const struct tapir_stack *s, struct tapir_dhcp6_info *i)
{
	if (!s->dhcp6)
		return -ENOENT;
	*i = s->dhcp6->i;
	return 0;
}

void dhcp6_free(struct tapir_stack *s)
{
	free(s->dhcp6); /* its UDP socket goes with the stack's table */
	s->dhcp6 = NULL;
}
