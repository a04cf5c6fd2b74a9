/* rst-after=N: a connection is reset once N bytes of data have crossed it
 * (sent and received together) -- the middlebox that kills long transfers,
 * or a server that dies mid-response.
 *
 * The TCP_TX hook reads the connection's numbers (tapir_tcp_get_info):
 * when the segment about to leave would take the count to N or beyond, it
 * is dropped and a RST goes out in its place, with the segment's own
 * sequence number: the one RFC 5961 3.2 accepts at once (SEG.SEQ ==
 * RCV.NXT at the peer).  tapir's own socket is then ended from the hook
 * timer (a hook must not change a socket while the core is sending on it),
 * without a second RST: tapir_tcp_force_state(CLOSED); its application
 * sees ECONNABORTED. */
#include <stdlib.h>

#include "personality.h"

#define MAX_DOOMED 64

struct rst_after {
	struct tapir_stack *s;
	unsigned long limit;
	struct doomed {
		struct tapir_tcp *sock; /* may be freed before the timer runs: checked */
		struct tapir_ip raddr;  /* either family */
		uint16_t lport, rport;
	} doomed[MAX_DOOMED];
	unsigned n;
};

static bool is_doomed(struct rst_after *r, const struct tapir_tcp *t)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->doomed[i].sock == t)
			return true;
	return false;
}

static enum tapir_verdict rst_after_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct rst_after *r = arg;
	struct tapir_tcp_info i;
	struct tapir_tcp_out o = {0};
	const uint8_t *data;
	uint32_t seq = tapir_get32(p->data + TAPIR_TH_SEQ), end, sent, rcvd;
	uint8_t flags = p->data[TAPIR_TH_FLAGS];

	if (!p->sock || (flags & (TAPIR_TH_SYN | TAPIR_TH_RST)))
		return TAPIR_PASS;
	if (is_doomed(r, p->sock))
		return TAPIR_DROP;
	tapir_tcp_get_info(p->sock, &i);
	end = seq + (uint32_t)pers_tcp_payload(p, &data);
	sent = ((int32_t)(end - i.snd_nxt) > 0 ? end : i.snd_nxt) - i.iss - 1;
	rcvd = i.rcv_nxt - i.irs - 1;
	if ((uint64_t)sent + rcvd < r->limit || r->n == MAX_DOOMED)
		return TAPIR_PASS;
	o.laddr = p->src; /* IPv4 */
	o.raddr = p->dst;
	o.laddr6 = p->saddr; /* either: send_raw takes IPv4 from the above */
	o.raddr6 = p->daddr;
	o.lport = tapir_get16(p->data);
	o.rport = tapir_get16(p->data + 2);
	o.seq = seq;
	o.ack = tapir_get32(p->data + TAPIR_TH_ACK_NO);
	o.flags = TAPIR_TH_RST | TAPIR_TH_ACK;
	tapir_tcp_send_raw(r->s, &o, p->now);
	r->doomed[r->n++] = (struct doomed){p->sock, p->daddr, o.lport, o.rport};
	pers_timer_at(r->s, p->now);
	return TAPIR_DROP;
}

struct find {
	const struct doomed *d;
	bool live;
};

static void find_sock(void *arg, const struct tapir_tcp *t)
{
	struct find *f = arg;
	struct tapir_tcp_info i;
	if (t != f->d->sock)
		return;
	tapir_tcp_get_info(t, &i);
	f->live = tapir_ip_eq(&i.raddr_ip, &f->d->raddr) && i.lport == f->d->lport && i.rport == f->d->rport &&
		  i.state != TAPIR_TCP_CLOSED;
}

static tapir_time_t rst_after_timer(void *arg, tapir_time_t now)
{
	struct rst_after *r = arg;
	for (unsigned k = 0; k < r->n; k++) {
		struct find f = {&r->doomed[k], false};
		tapir_tcp_foreach(r->s, find_sock, &f); /* still the same socket? */
		if (f.live)
			tapir_tcp_force_state(r->doomed[k].sock, TAPIR_TCP_CLOSED, now);
	}
	r->n = 0;
	return TAPIR_TIME_NEVER;
}

static int rst_after_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	struct rst_after *r = pers_new(s, sizeof(*r), err, errlen);
	if (!r)
		return -1;
	r->s = s;
	if (pers_parse_uint("N", args, 0, 0xffffffffu, &r->limit, err, errlen) < 0 ||
	    pers_timer_add(s, rst_after_timer, r) < 0 ||
	    pers_hook_add(s, TAPIR_HOOK_TCP_TX, rst_after_tx, r, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "cannot install (hook timer or hook slots in use)");
		return -1;
	}
	return 0;
}

PERSONALITY(rst_after, "rst-after", "=N",
	    "reset a connection once N bytes of data have crossed it", rst_after_install)
