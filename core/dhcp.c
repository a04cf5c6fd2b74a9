/* The DHCPv4 client (RFC 2131, options RFC 2132): one lease on one
 * interface.  INIT -> SELECTING (DISCOVER, the first OFFER taken) ->
 * REQUESTING (REQUEST naming the server and the address) -> PROBING (the
 * ARP check of 4.4.1, RFC 5227 2.1; a conflict is DECLINEd) -> BOUND ->
 * RENEWING at T1 (unicast to the server) -> REBINDING at T2 (broadcast) ->
 * the lease's end removes the address; a NAK restarts.  Time comes from the
 * caller as everywhere in the core; retransmission times are randomized
 * with the stack's seeded generator.  Replies reach dhcp_input from
 * udp_input (port 68, which the client holds as a UDP socket so that no one
 * else binds it); what is malformed is counted and dropped. */
#include <errno.h>
#include <stdlib.h>

#include <tapir/dhcp.h>

#include "core.h"

#define DHCP_SERVER_PORT 67
#define DHCP_FIXED 236                /* RFC 2131 2, Figure 1: op .. file */
#define DHCP_COOKIE 0x63825363u       /* RFC 2131 3: 99.130.83.99 */
#define DHCP_MIN_LEN 300              /* RFC 1542 2.1: what BOOTP relays expect */
#define DHCP_BUF 320
#define DHCP_FLAG_BROADCAST 0x8000    /* RFC 2131 2, Figure 2 */
#define DHCP_REQUEST_TRIES 4          /* 4 + 8 + 16 + 32 s, then INIT (4.1) */
#define DHCP_DECLINE_WAIT TAPIR_SEC(10) /* RFC 2131 3.1.5 */
#define DHCP_RETX_MIN TAPIR_SEC(60)   /* RFC 2131 4.4.5 */
/* RFC 5227 1.1's constants for the probe */
#define PROBE_WAIT TAPIR_SEC(1)
#define PROBE_NUM 3
#define PROBE_MIN TAPIR_SEC(1)
#define PROBE_MAX TAPIR_SEC(2)
#define ANNOUNCE_WAIT TAPIR_SEC(2)

enum { BOOTREQUEST = 1, BOOTREPLY = 2 };
/* RFC 2132 9.6 message types */
enum { DHCPDISCOVER = 1, DHCPOFFER, DHCPREQUEST, DHCPDECLINE, DHCPACK, DHCPNAK, DHCPRELEASE };
/* RFC 2132 option codes */
enum {
	OPT_PAD = 0, OPT_MASK = 1, OPT_ROUTER = 3, OPT_DNS = 6, OPT_REQ_ADDR = 50,
	OPT_LEASE = 51, OPT_OVERLOAD = 52, OPT_TYPE = 53, OPT_SERVER = 54, OPT_PARAMS = 55,
	OPT_T1 = 58, OPT_T2 = 59, OPT_CLIENT_ID = 61, OPT_END = 255,
};

/* What a reply said, as far as the client uses it. */
struct dhcp_msg {
	uint8_t type;
	uint32_t yiaddr, server, mask, router, lease, t1, t2;
	uint32_t dns[TAPIR_DHCP_DNS_MAX];
	unsigned ndns;
	bool has_mask, has_lease, has_t1, has_t2;
};

struct tp_dhcp {
	struct tapir_dhcp_lease l;    /* what tapir_dhcp_lease tells */
	struct tapir_udp *u;          /* holds port 68 */
	uint32_t xid;
	tapir_time_t timer;           /* the state's next step */
	tapir_time_t req_at;          /* the first REQUEST of this exchange (4.4.1) */
	tapir_time_t began;           /* acquisition or renewal began: secs (2) */
	unsigned tries;               /* transmissions in this state */
	uint8_t probes_left;
	struct dhcp_msg offer;        /* SELECTING's choice; then the ACK being probed */
	uint32_t release_hop;         /* the next hop of our DHCPRELEASE */
};

static const char *const state_names[] = {
	"off", "init", "selecting", "requesting", "probing", "bound", "renewing", "rebinding",
};

const char *tapir_dhcp_state_name(enum tapir_dhcp_state st)
{
	return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

static void set_state(struct tapir_stack *s, struct tp_dhcp *d, enum tapir_dhcp_state st)
{
	TRACE(s, TAPIR_TR_UDP, "dhcp %s -> %s", state_names[d->l.state], state_names[st]);
	d->l.state = st;
}

/* RFC 2131 4.1: 4 s before the first retransmission, doubling up to 64 s,
 * each randomized by -1 to +1 s. */
static tapir_time_t backoff(struct tapir_stack *s, unsigned tries)
{
	tapir_time_t base = TAPIR_SEC(tries >= 4 ? 64 : 4u << tries);
	return base - TAPIR_SEC(1) + tp_rand_between(s, 0, TAPIR_SEC(2));
}

/* RFC 2131 4.4.5: half the time left until END, no less than 60 s, but
 * never past END (where the next state begins). */
static tapir_time_t retx_before(tapir_time_t now, tapir_time_t end)
{
	tapir_time_t half = end > now ? (end - now) / 2 : 0;
	tapir_time_t at = now + (half > DHCP_RETX_MIN ? half : DHCP_RETX_MIN);
	return at < end ? at : end;
}

/* ---- output ---- */

static uint8_t *put_opt(uint8_t *o, uint8_t code, uint8_t len, const void *v)
{
	o[0] = code;
	o[1] = len;
	memcpy(o + 2, v, len);
	return o + 2 + len;
}

static uint8_t *put_opt32(uint8_t *o, uint8_t code, uint32_t v)
{
	uint8_t b[4];
	tapir_put32(b, v);
	return put_opt(o, code, 4, b);
}

/* The message of TYPE for the current state (RFC 2131 4.4.1 Table 5). */
static size_t dhcp_build(struct tapir_stack *s, struct tp_dhcp *d, uint8_t type, uint8_t *m)
{
	static const uint8_t params[] = {OPT_MASK, OPT_ROUTER, OPT_DNS, OPT_LEASE, OPT_T1, OPT_T2};
	const struct tp_iface *ifc = &s->ifaces[d->l.ifindex];
	enum tapir_dhcp_state st = d->l.state;
	bool ciaddr = type == DHCPRELEASE ||
		      (type == DHCPREQUEST && (st == TAPIR_DHCP_RENEWING || st == TAPIR_DHCP_REBINDING));
	tapir_time_t secs = (s->now - d->began) / TAPIR_SEC(1);
	uint8_t id[7] = {1}, *o;

	memset(m, 0, DHCP_BUF);
	m[0] = BOOTREQUEST;
	m[1] = 1; /* htype: Ethernet (RFC 1700) */
	m[2] = 6;
	tapir_put32(m + 4, d->xid);
	if (type != DHCPDECLINE && type != DHCPRELEASE) /* Table 5: secs 0 for these */
		tapir_put16(m + 8, (uint16_t)(secs > 0xffff ? 0xffff : secs));
	/* 4.1: without an address we cannot take unicast yet: ask for broadcast */
	if (ciaddr)
		tapir_put32(m + 12, d->l.addr);
	else if (type != DHCPDECLINE)
		tapir_put16(m + 10, DHCP_FLAG_BROADCAST);
	memcpy(m + 28, ifc->mac, 6);
	tapir_put32(m + DHCP_FIXED, DHCP_COOKIE);
	o = put_opt(m + DHCP_FIXED + 4, OPT_TYPE, 1, &type);
	memcpy(id + 1, ifc->mac, 6); /* RFC 2132 9.14: type 1, the MAC */
	o = put_opt(o, OPT_CLIENT_ID, 7, id);
	/* Table 5: the requested address in SELECTING's REQUEST and in a
	 * DECLINE, the server identifier in those and in a RELEASE */
	if (type == DHCPDECLINE || (type == DHCPREQUEST && st == TAPIR_DHCP_REQUESTING))
		o = put_opt32(o, OPT_REQ_ADDR, d->offer.yiaddr);
	if (type == DHCPDECLINE || type == DHCPRELEASE ||
	    (type == DHCPREQUEST && st == TAPIR_DHCP_REQUESTING))
		o = put_opt32(o, OPT_SERVER, type == DHCPRELEASE ? d->l.server : d->offer.server);
	if (type == DHCPDISCOVER || type == DHCPREQUEST)
		o = put_opt(o, OPT_PARAMS, sizeof(params), params);
	*o++ = OPT_END;
	return (size_t)(o - m) < DHCP_MIN_LEN ? DHCP_MIN_LEN : (size_t)(o - m);
}

static void dhcp_send(struct tapir_stack *s, struct tp_dhcp *d, uint8_t type)
{
	static const char *const names[] = {"", "DISCOVER", "OFFER", "REQUEST", "DECLINE",
					    "ACK", "NAK", "RELEASE"};
	/* RFC 2131 4.4.5, 4.4.6: RENEWING and RELEASE go to the server
	 * itself, from our address; all else is broadcast (4.1) */
	bool unicast = type == DHCPRELEASE ||
		       (type == DHCPREQUEST && d->l.state == TAPIR_DHCP_RENEWING);
	uint32_t src = d->l.state >= TAPIR_DHCP_BOUND ? d->l.addr : 0;
	uint32_t dst = unicast ? d->l.server : TAPIR_IPV4_BROADCAST;
	struct tp_pkt *p = tp_pkt_alloc(s, 8 + DHCP_BUF);
	char a[16];

	if (!p) {
		STAT(s, tx_nomem);
		return;
	}
	p->len = (uint32_t)(8 + dhcp_build(s, d, type, p->data + 8));
	udp_header(p, src, TP_DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT);
	STAT(s, dhcp_tx);
	TRACE(s, TAPIR_TR_UDP, "dhcp tx %s xid %08x to %s", names[type], d->xid, tp_ip_str(dst, a));
	if (unicast)
		ipv4_output(s, p, src, dst, TAPIR_IPPROTO_UDP, 0);
	else
		ipv4_broadcast(s, d->l.ifindex, p, src, TAPIR_IPPROTO_UDP);
}

/* ---- the address ---- */

static void route_del(struct tapir_stack *s, uint32_t dst, uint32_t mask, uint32_t gw)
{
	for (int i = 0; i < TP_MAX_ROUTES; i++) {
		struct tp_route *r = &s->routes[i];
		if (r->used && r->dst == dst && r->mask == mask && r->gateway == gw)
			r->used = false;
	}
}

/* The lease is gone: the address, its subnet's route, the default route. */
static void dhcp_unbind(struct tapir_stack *s, struct tp_dhcp *d)
{
	struct tp_iface *ifc = &s->ifaces[d->l.ifindex];
	uint32_t mask = tapir_ipv4_mask(d->l.prefix_len);
	char a[16];
	if (!d->l.addr)
		return;
	TRACE(s, TAPIR_TR_UDP, "dhcp address %s removed", tp_ip_str(d->l.addr, a));
	if (d->l.router)
		route_del(s, 0, 0, d->l.router);
	route_del(s, d->l.addr & mask, mask, 0);
	if (ifc->addr == d->l.addr) {
		ifc->up = false;
		ifc->addr = 0;
		ifc->mask = 0;
		ifc->announces_left = 0;
	}
	d->l.addr = 0;
	d->l.prefix_len = 0;
	d->l.router = 0;
}

/* RFC 1122 3.3.1.1's natural mask when the server sends none. */
static unsigned natural_plen(uint32_t a)
{
	return a < 0x80000000u ? 8 : a < 0xc0000000u ? 16 : 24;
}

static unsigned mask_plen(uint32_t mask)
{
	unsigned n = 0;
	while (n < 32 && (mask & (0x80000000u >> n)))
		n++;
	return n;
}

/* The lease times of ACK M, from the REQUEST's time (RFC 2131 4.4.1);
 * T1 and T2 by default at 0.5 and 0.875 of the lease (4.4.5). */
static void lease_times(struct tp_dhcp *d, const struct dhcp_msg *m)
{
	uint32_t t1 = m->lease / 2, t2 = (uint32_t)((uint64_t)m->lease * 7 / 8);
	d->l.lease_secs = m->lease;
	if (m->lease == 0xffffffffu) { /* RFC 2131 3.3: infinite */
		d->l.t1 = d->l.t2 = d->l.expires = TAPIR_TIME_NEVER;
		return;
	}
	if (m->has_t2 && m->t2 < m->lease)
		t2 = m->t2;
	if (m->has_t1 && m->t1 < t2)
		t1 = m->t1;
	if (t1 > t2)
		t1 = t2;
	d->l.t1 = d->req_at + TAPIR_SEC(t1);
	d->l.t2 = d->req_at + TAPIR_SEC(t2);
	d->l.expires = d->req_at + TAPIR_SEC(m->lease);
}

static void lease_params(struct tp_dhcp *d, const struct dhcp_msg *m)
{
	d->l.server = m->server;
	memcpy(d->l.dns, m->dns, sizeof(d->l.dns));
	d->l.ndns = m->ndns;
}

static unsigned msg_plen(const struct dhcp_msg *m)
{
	return m->has_mask ? mask_plen(m->mask) : natural_plen(m->yiaddr);
}

/* The default route through ROUTER (option 3's first), replacing the old
 * one; a router off our subnet could never be reached: ignored. */
static void set_router(struct tapir_stack *s, struct tp_dhcp *d, uint32_t router)
{
	uint32_t mask = tapir_ipv4_mask(d->l.prefix_len);
	if (d->l.router && d->l.router != router)
		route_del(s, 0, 0, d->l.router);
	d->l.router = 0;
	if (router && router != d->l.addr && (router & mask) == (d->l.addr & mask) &&
	    tapir_route_add(s, 0, 0, router, d->l.ifindex) == 0)
		d->l.router = router;
}

/* The probe found no one: the address is ours (RFC 2131 4.4.1). */
static void dhcp_bind(struct tapir_stack *s, struct tp_dhcp *d, tapir_time_t now)
{
	const struct dhcp_msg *m = &d->offer;
	unsigned plen = msg_plen(m);
	char a[16];
	if (tapir_iface_set_ipv4(s, d->l.ifindex, m->yiaddr, plen, now) < 0)
		return; /* dhcp_reply checked it: cannot happen */
	d->l.addr = m->yiaddr;
	d->l.prefix_len = plen;
	set_router(s, d, m->router);
	lease_params(d, m);
	lease_times(d, m);
	d->l.leases++;
	STAT(s, dhcp_leases);
	TRACE(s, TAPIR_TR_UDP, "dhcp address %s/%u bound, lease %u s", tp_ip_str(m->yiaddr, a),
	      plen, m->lease);
	set_state(s, d, TAPIR_DHCP_BOUND);
	TP_ARM(s, d->timer, d->l.t1);
}

/* Back to INIT at AT (a NAK, a declined address, a lease that ended). */
static void dhcp_restart(struct tapir_stack *s, struct tp_dhcp *d, tapir_time_t at)
{
	dhcp_unbind(s, d);
	set_state(s, d, TAPIR_DHCP_INIT);
	TP_ARM(s, d->timer, at);
}

/* ---- timers ---- */

static void dhcp_timeout(struct tapir_stack *s, struct tp_dhcp *d, tapir_time_t now)
{
	switch (d->l.state) {
	case TAPIR_DHCP_INIT: /* RFC 2131 4.4.1: a new transaction */
		d->xid = (uint32_t)tp_rand(s);
		d->l.started = d->began = now;
		d->tries = 0;
		set_state(s, d, TAPIR_DHCP_SELECTING);
		/* fall through */
	case TAPIR_DHCP_SELECTING:
		dhcp_send(s, d, DHCPDISCOVER);
		TP_ARM(s, d->timer, now + backoff(s, d->tries++));
		break;
	case TAPIR_DHCP_REQUESTING:
		if (d->tries >= DHCP_REQUEST_TRIES) { /* 4.1: no answer, start over */
			dhcp_restart(s, d, now);
			break;
		}
		dhcp_send(s, d, DHCPREQUEST);
		TP_ARM(s, d->timer, now + backoff(s, d->tries++));
		break;
	case TAPIR_DHCP_PROBING:
		if (!d->probes_left) { /* ANNOUNCE_WAIT passed in silence */
			dhcp_bind(s, d, now);
			break;
		}
		/* RFC 5227 2.1.1: PROBE_NUM probes PROBE_MIN..PROBE_MAX apart */
		arp_probe(s, d->l.ifindex, d->offer.yiaddr);
		d->probes_left--;
		TP_ARM(s, d->timer, now + (d->probes_left ? tp_rand_between(s, PROBE_MIN, PROBE_MAX)
							  : ANNOUNCE_WAIT));
		break;
	case TAPIR_DHCP_BOUND: /* T1: RFC 2131 4.4.5 */
		set_state(s, d, TAPIR_DHCP_RENEWING);
		d->xid = (uint32_t)tp_rand(s);
		d->req_at = d->began = now;
		/* fall through */
	case TAPIR_DHCP_RENEWING:
		if (now >= d->l.t2) { /* T2: any server may extend it */
			set_state(s, d, TAPIR_DHCP_REBINDING);
			d->req_at = now;
		} else {
			dhcp_send(s, d, DHCPREQUEST);
			TP_ARM(s, d->timer, retx_before(now, d->l.t2));
			break;
		}
		/* fall through */
	case TAPIR_DHCP_REBINDING:
		if (now >= d->l.expires) { /* 4.4.5: the lease ended: stop using it */
			STAT(s, dhcp_expired);
			dhcp_restart(s, d, now);
			break;
		}
		dhcp_send(s, d, DHCPREQUEST);
		TP_ARM(s, d->timer, retx_before(now, d->l.expires));
		break;
	case TAPIR_DHCP_OFF:
		d->timer = TAPIR_TIME_NEVER;
		break;
	}
}

tapir_time_t dhcp_poll(struct tapir_stack *s, tapir_time_t now)
{
	struct tp_dhcp *d = s->dhcp;
	/* a restart at once runs INIT in the same call: a bounded loop */
	for (int i = 0; d && i < 4 && d->l.state != TAPIR_DHCP_OFF && d->timer <= now; i++)
		dhcp_timeout(s, d, now);
	return d && d->l.state != TAPIR_DHCP_OFF ? d->timer : TAPIR_TIME_NEVER;
}

/* ---- input ---- */

/* One options region (RFC 2132 2): PAD and END are one byte, every other
 * option a code, a length and that many bytes, all inside LEN. */
static int dhcp_options(const uint8_t *o, size_t len, struct dhcp_msg *m, uint8_t *overload)
{
	size_t i = 0;
	while (i < len && o[i] != OPT_END) {
		const uint8_t *v = o + i + 2;
		uint8_t n;
		if (o[i] == OPT_PAD) {
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + o[i + 1] > len)
			return -1;
		n = o[i + 1];
		switch (o[i]) {
		case OPT_TYPE:
			if (n != 1)
				return -1;
			m->type = v[0];
			break;
		case OPT_OVERLOAD:
			if (n != 1 || !overload || v[0] < 1 || v[0] > 3)
				return -1;
			*overload = v[0];
			break;
		case OPT_ROUTER:
		case OPT_DNS:
			if (n < 4 || n % 4)
				return -1;
			if (o[i] == OPT_ROUTER) {
				m->router = tapir_get32(v);
				break;
			}
			for (unsigned k = 0; k < n / 4u && m->ndns < TAPIR_DHCP_DNS_MAX; k++)
				m->dns[m->ndns++] = tapir_get32(v + 4 * k);
			break;
		case OPT_MASK: case OPT_SERVER: case OPT_LEASE: case OPT_T1: case OPT_T2: {
			uint32_t x = tapir_get32(v);
			if (n != 4)
				return -1;
			switch (o[i]) {
			case OPT_MASK: m->mask = x; m->has_mask = true; break;
			case OPT_SERVER: m->server = x; break;
			case OPT_LEASE: m->lease = x; m->has_lease = true; break;
			case OPT_T1: m->t1 = x; m->has_t1 = true; break;
			default: m->t2 = x; m->has_t2 = true; break;
			}
			break;
		}
		default: /* not asked for: skipped */
			break;
		}
		i += 2u + n;
	}
	return 0;
}

/* A whole reply: the fixed part, the cookie, the options, then the file
 * and sname fields when option 52 says they hold options too (RFC 2131
 * 4.1: file first).  A TAPIR_DROP_ reason or TP_OK. */
static int dhcp_parse(const uint8_t *b, size_t len, struct dhcp_msg *m)
{
	uint8_t overload = 0;
	uint32_t mask;
	memset(m, 0, sizeof(*m));
	if (len < DHCP_FIXED + 4 || b[0] != BOOTREPLY || b[1] != 1 || b[2] != 6 ||
	    tapir_get32(b + DHCP_FIXED) != DHCP_COOKIE)
		return TAPIR_DROP_dhcp_malformed;
	if (dhcp_options(b + DHCP_FIXED + 4, len - DHCP_FIXED - 4, m, &overload) < 0 ||
	    ((overload & 1) && dhcp_options(b + 108, 128, m, NULL) < 0) ||
	    ((overload & 2) && dhcp_options(b + 44, 64, m, NULL) < 0))
		return TAPIR_DROP_dhcp_malformed;
	/* RFC 2131 Table 3: a type, and from a server its identifier */
	if (m->type < DHCPOFFER || m->type > DHCPNAK || m->type == DHCPREQUEST ||
	    m->type == DHCPDECLINE || !m->server)
		return TAPIR_DROP_dhcp_malformed;
	m->yiaddr = tapir_get32(b + 16);
	mask = m->mask;
	if (m->has_mask && (mask == 0 || (~mask & (~mask + 1)) != 0)) /* not contiguous */
		return TAPIR_DROP_dhcp_malformed;
	return TP_OK;
}

/* An OFFER or an ACK must give an address a host can have; an ACK, its
 * lease (Table 3: MUST). */
static bool lease_ok(const struct dhcp_msg *m)
{
	return tapir_ipv4_is_host_addr(m->yiaddr, msg_plen(m)) &&
	       (m->type == DHCPOFFER || (m->has_lease && m->lease));
}

static void dhcp_probe_start(struct tapir_stack *s, struct tp_dhcp *d, tapir_time_t now)
{
	set_state(s, d, TAPIR_DHCP_PROBING);
	d->probes_left = PROBE_NUM;
	TP_ARM(s, d->timer, now + tp_rand_between(s, 0, PROBE_WAIT)); /* RFC 5227 2.1.1 */
}

static int dhcp_ack(struct tapir_stack *s, struct tp_dhcp *d, const struct dhcp_msg *m)
{
	if (d->l.state == TAPIR_DHCP_REQUESTING) {
		if (m->server != d->offer.server)
			return TAPIR_DROP_dhcp_unexpected;
		d->offer = *m;
		dhcp_probe_start(s, d, s->now);
		return TP_OK;
	}
	/* RENEWING, REBINDING: the same address extended, or a new one to check */
	if (m->yiaddr == d->l.addr && msg_plen(m) == d->l.prefix_len) {
		d->offer = *m;
		lease_params(d, m);
		lease_times(d, m);
		d->l.leases++;
		STAT(s, dhcp_leases);
		set_router(s, d, m->router);
		set_state(s, d, TAPIR_DHCP_BOUND);
		TP_ARM(s, d->timer, d->l.t1);
		return TP_OK;
	}
	dhcp_unbind(s, d);
	d->offer = *m;
	dhcp_probe_start(s, d, s->now);
	return TP_OK;
}

int dhcp_input(struct tapir_stack *s, const uint8_t *b, size_t len)
{
	struct tp_dhcp *d = s->dhcp;
	enum tapir_dhcp_state st = d->l.state;
	struct dhcp_msg m;
	int r = dhcp_parse(b, len, &m);
	char a[16];

	if (r != TP_OK)
		return r;
	/* ours: our transaction and our MAC (RFC 2131 4.4.1) */
	if (tapir_get32(b + 4) != d->xid || memcmp(b + 28, s->ifaces[d->l.ifindex].mac, 6) ||
	    st == TAPIR_DHCP_OFF || st == TAPIR_DHCP_INIT || st == TAPIR_DHCP_PROBING ||
	    st == TAPIR_DHCP_BOUND)
		return TAPIR_DROP_dhcp_unexpected;
	STAT(s, dhcp_rx);
	TRACE(s, TAPIR_TR_UDP, "dhcp rx %s %s from server %s",
	      m.type == DHCPOFFER ? "OFFER" : m.type == DHCPACK ? "ACK" : "NAK",
	      tp_ip_str(m.yiaddr, a), tp_ip_str(m.server, (char[16]){0}));
	if (m.type == DHCPNAK) {
		/* RFC 2131 3.1.5, 4.4.5: start over (a NAK in REQUESTING only
		 * from the server we asked) */
		if (st == TAPIR_DHCP_SELECTING ||
		    (st == TAPIR_DHCP_REQUESTING && m.server != d->offer.server))
			return TAPIR_DROP_dhcp_unexpected;
		STAT(s, dhcp_naks);
		dhcp_restart(s, d, s->now);
		return TP_OK;
	}
	if (!lease_ok(&m))
		return TAPIR_DROP_dhcp_bad_lease;
	if (m.type == DHCPOFFER) {
		if (st != TAPIR_DHCP_SELECTING)
			return TAPIR_DROP_dhcp_unexpected;
		/* 4.4.1: the first acceptable offer; REQUEST it, same xid */
		d->offer = m;
		set_state(s, d, TAPIR_DHCP_REQUESTING);
		d->tries = 0;
		d->req_at = s->now;
		dhcp_send(s, d, DHCPREQUEST);
		TP_ARM(s, d->timer, s->now + backoff(s, d->tries++));
		return TP_OK;
	}
	if (st == TAPIR_DHCP_SELECTING)
		return TAPIR_DROP_dhcp_unexpected;
	return dhcp_ack(s, d, &m);
}

/* RFC 5227 2.1.1: while probing, any ARP packet whose sender is the
 * address, or a probe of another host for it, means it is in use. */
void dhcp_arp(struct tapir_stack *s, const uint8_t *sha, uint32_t spa, uint32_t tpa, uint16_t op)
{
	struct tp_dhcp *d = s->dhcp;
	char a[16], m[18];
	if (d->l.state != TAPIR_DHCP_PROBING ||
	    !(spa == d->offer.yiaddr || (spa == 0 && op == 1 && tpa == d->offer.yiaddr)))
		return;
	STAT(s, arp_conflicts);
	STAT(s, dhcp_declines);
	d->l.declines++;
	TRACE(s, TAPIR_TR_UDP, "dhcp %s is in use by %s: DECLINE", tp_ip_str(d->offer.yiaddr, a),
	      tp_mac_str(sha, m));
	dhcp_send(s, d, DHCPDECLINE);
	dhcp_restart(s, d, s->now + DHCP_DECLINE_WAIT);
}

bool dhcp_listening(const struct tapir_stack *s, int ifindex)
{
	return s->dhcp && s->dhcp->l.ifindex == ifindex && s->dhcp->l.state != TAPIR_DHCP_OFF;
}

/* ---- the API ---- */

int tapir_dhcp_start(struct tapir_stack *s, int ifindex, tapir_time_t now)
{
	struct tp_dhcp *d = s->dhcp;
	int r;
	if (ifindex < 0 || ifindex >= s->nifaces || s->ifaces[ifindex].up)
		return -EINVAL;
	if (d && d->l.state != TAPIR_DHCP_OFF)
		return -EBUSY;
	s->now = now;
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		d->u = tapir_udp_new(s);
		if (!d->u) {
			free(d);
			return -ENOMEM;
		}
		if ((r = tapir_udp_bind(d->u, 0, TP_DHCP_CLIENT_PORT)) < 0) {
			tapir_udp_free(d->u);
			free(d);
			return r;
		}
		s->dhcp = d;
	}
	memset(&d->l, 0, sizeof(d->l));
	d->l.ifindex = ifindex;
	d->release_hop = 0;
	dhcp_restart(s, d, now);
	dhcp_poll(s, now); /* the first DISCOVER at once */
	return 0;
}

void tapir_dhcp_release(struct tapir_stack *s, tapir_time_t now)
{
	struct tp_dhcp *d = s->dhcp;
	if (!d || d->l.state == TAPIR_DHCP_OFF)
		return;
	s->now = now;
	if (d->l.state >= TAPIR_DHCP_BOUND) {
		/* RFC 2131 4.4.6: to the server, then the address is no more */
		d->xid = (uint32_t)tp_rand(s);
		if (ipv4_route(s, d->l.server, &d->release_hop) < 0)
			d->release_hop = 0;
		dhcp_send(s, d, DHCPRELEASE);
		dhcp_unbind(s, d);
	}
	set_state(s, d, TAPIR_DHCP_OFF);
	d->timer = TAPIR_TIME_NEVER;
}

int tapir_dhcp_lease(const struct tapir_stack *s, struct tapir_dhcp_lease *l)
{
	const struct tp_dhcp *d = s->dhcp;
	const struct arp_entry *e;
	if (!d)
		return -ENOENT;
	*l = d->l;
	e = d->release_hop ? arp_lookup(s, d->release_hop) : NULL;
	l->release_waiting = e && e->state == ARP_INCOMPLETE && e->queue;
	return 0;
}

void dhcp_free(struct tapir_stack *s)
{
	free(s->dhcp); /* its UDP socket goes with the stack's table */
	s->dhcp = NULL;
}
