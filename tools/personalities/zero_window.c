/* zero-window=MS: for MS milliseconds after the handshake, every segment
 * tapir sends on the connection advertises a zero window; then the real
 * one shows again.  The peer must stop sending and probe the window
 * (RFC 9293 3.8.6.1, persist timer) until tapir's answer to a probe opens
 * it.  Advertising zero after the SYN,ACK offered more "shrinks" the
 * window, which RFC 9293 3.8.6.2.1 says a receiver SHOULD NOT do and a
 * sender MUST cope with -- a good test of the peer.
 *
 * A TCP_TX hook rewrites the window field (and the checksum); a TCP_RX
 * hook notes when the handshake completes (the peer's ACK of our SYN,ACK;
 * for an active open, our first segment after the SYN). */
#include <stdlib.h>

#include "personality.h"

#define SLOTS 256

struct zero_window {
	tapir_time_t ms;
	struct zw_conn {
		struct tapir_ip raddr; /* either family */
		uint16_t lport, rport;
		bool used;
		tapir_time_t t0; /* handshake done; TAPIR_TIME_NEVER: not yet */
	} c[SLOTS];
};

/* The slot is chosen by the address's last 32 bits (IPv4's, or half an
 * IPv6 interface identifier) and the ports; the whole address must match. */
static struct zw_conn *slot(struct zero_window *z, const struct tapir_ip *raddr, uint16_t lport,
			    uint16_t rport, bool create)
{
	struct zw_conn *c = &z->c[(tapir_get32(raddr->b + 12) * 31u + lport * 7u + rport) % SLOTS];
	if (create) /* a newer connection takes the slot */
		*c = (struct zw_conn){*raddr, lport, rport, true, TAPIR_TIME_NEVER};
	return c->used && tapir_ip_eq(&c->raddr, raddr) && c->lport == lport && c->rport == rport
		       ? c
		       : NULL;
}

static enum tapir_verdict zw_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct zero_window *z = arg;
	uint8_t f = p->data[TAPIR_TH_FLAGS];
	struct zw_conn *c;
	if (!p->sock || (f & TAPIR_TH_RST))
		return TAPIR_PASS;
	c = slot(z, &p->daddr, tapir_get16(p->data), tapir_get16(p->data + 2), f & TAPIR_TH_SYN);
	if (!c || (f & TAPIR_TH_SYN))
		return TAPIR_PASS;
	if (c->t0 == TAPIR_TIME_NEVER)
		c->t0 = p->now;
	if (p->now < c->t0 + z->ms && tapir_get16(p->data + TAPIR_TH_WIN) != 0) {
		tapir_put16(p->data + TAPIR_TH_WIN, 0);
		tapir_hook_fix_checksums(p);
	}
	return TAPIR_PASS;
}

static enum tapir_verdict zw_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct zero_window *z = arg;
	uint8_t f = p->data[TAPIR_TH_FLAGS];
	struct zw_conn *c;
	if ((f & (TAPIR_TH_SYN | TAPIR_TH_ACK | TAPIR_TH_RST)) != TAPIR_TH_ACK)
		return TAPIR_PASS;
	c = slot(z, &p->saddr, tapir_get16(p->data + 2), tapir_get16(p->data), false);
	if (c && c->t0 == TAPIR_TIME_NEVER)
		c->t0 = p->now; /* the ACK that completes a passive open */
	return TAPIR_PASS;
}

static int zw_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	unsigned long ms;
	struct zero_window *z;
	if (pers_parse_uint("MS", args, 1, 3600000, &ms, err, errlen) < 0)
		return -1;
	z = pers_new(s, sizeof(*z), err, errlen);
	if (!z)
		return -1;
	z->ms = TAPIR_MS(ms);
	if (pers_hook_add(s, TAPIR_HOOK_TCP_TX, zw_tx, z, err, errlen) < 0 ||
	    pers_hook_add(s, TAPIR_HOOK_TCP_RX, zw_rx, z, err, errlen) < 0)
		return -1; /* (the process exits on this error) */
	return 0;
}

PERSONALITY(zero_window, "zero-window", "=MS",
	    "advertise a zero window for MS ms after the handshake", zw_install)
