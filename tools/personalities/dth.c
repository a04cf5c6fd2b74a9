/* dth[=all|every=N|marker=STRING]: RFC 9401's "Death" flag on the wire.
 *
 * RFC 9401 (an April 1st RFC, but a well-formed use of a reserved bit)
 * gives the first reserved bit of byte 12 (0x08, just left of CWR in
 * RFC 9293 3.1's picture) the meaning "this segment is about to die".
 * Here tapir sets it on the data segments of the chosen connections:
 *
 *   all        every connection (the default)
 *   every=N    the Nth, 2Nth, ... connection (opened either way)
 *   marker=S   only the segments whose payload contains the string S
 *
 * Never on a SYN (RFC 9401 3.3).  IPv4 and IPv6 alike (the TCP points
 * see both).  A DTH that tapir receives is already
 * reported by the core (counter tcp_dth_rx, event TAPIR_EV_DTH, a tcp
 * trace line) and never closes a connection (RFC 9401 3.1); see the test
 * tests/hook/test_hook.c.
 *
 * "all" and "every" choose a connection when its SYN (or SYN,ACK) leaves,
 * and hand the bit to the core with tapir_tcp_set_tx_reserved: the core
 * then puts it on that connection's data segments, retransmissions
 * included, and never on a SYN.  "marker" looks at each segment in the
 * TCP_TX hook, sets the bit itself and fixes the checksum. */
#include <stdlib.h>
#include <string.h>

#include "personality.h"

struct dth {
	unsigned long every; /* 1 for all; 0 with a marker */
	char *marker;
	size_t marker_len;
	unsigned long conns;
	/* the last SYNs counted, so a retransmitted SYN is not a new connection */
	struct {
		struct tapir_ip raddr; /* either family */
		uint32_t isn;
		uint16_t lport, rport;
	} seen[16];
	unsigned seen_at;
	char marker_buf[];
};

static bool contains(const uint8_t *hay, size_t n, const char *needle, size_t m)
{
	for (size_t i = 0; m && i + m <= n; i++)
		if (hay[i] == (uint8_t)needle[0] && !memcmp(hay + i, needle, m))
			return true;
	return false;
}

static void choose(struct dth *d, struct tapir_hook_pkt *p)
{
	uint32_t isn = tapir_get32(p->data + TAPIR_TH_SEQ);
	uint16_t lport = tapir_get16(p->data), rport = tapir_get16(p->data + 2);
	for (unsigned i = 0; i < 16; i++)
		if (tapir_ip_eq(&d->seen[i].raddr, &p->daddr) && d->seen[i].isn == isn &&
		    d->seen[i].lport == lport && d->seen[i].rport == rport)
			return; /* a retransmitted SYN: already chosen (or not) */
	d->seen[d->seen_at].raddr = p->daddr;
	d->seen[d->seen_at].isn = isn;
	d->seen[d->seen_at].lport = lport;
	d->seen[d->seen_at].rport = rport;
	d->seen_at = (d->seen_at + 1) % 16;
	d->conns++;
	tapir_tcp_set_tx_reserved(p->sock, d->conns % d->every == 0 ? TAPIR_TH_RES_DTH : 0);
}

static enum tapir_verdict dth_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct dth *d = arg;
	const uint8_t *data;
	size_t n = pers_tcp_payload(p, &data);

	if (p->data[TAPIR_TH_FLAGS] & TAPIR_TH_SYN) {
		if (d->every && p->sock)
			choose(d, p);
		return TAPIR_PASS; /* RFC 9401 3.3: never on a SYN */
	}
	if (d->marker && contains(data, n, d->marker, d->marker_len)) {
		p->data[TAPIR_TH_OFF] |= TAPIR_TH_RES_DTH;
		tapir_hook_fix_checksums(p);
	}
	return TAPIR_PASS;
}

static int dth_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	struct dth *d = pers_new(s, sizeof(*d) + (args ? strlen(args) : 0) + 1, err, errlen);
	if (!d)
		return -1;
	d->every = 1;
	if (args && !strncmp(args, "marker=", 7) && args[7]) {
		d->every = 0;
		d->marker = strcpy(d->marker_buf, args + 7);
		d->marker_len = strlen(args + 7);
	} else if (args && !strncmp(args, "every=", 6)) {
		if (pers_parse_uint("every", args + 6, 1, 1000000, &d->every, err, errlen) < 0)
			return -1;
	} else if (args && strcmp(args, "all")) {
		snprintf(err, errlen, "'%s': expected all, every=N or marker=STRING", args);
		return -1;
	}
	return pers_hook_add(s, TAPIR_HOOK_TCP_TX, dth_tx, d, err, errlen);
}

PERSONALITY(dth, "dth", "[=all|every=N|marker=S]",
	    "RFC 9401: set the DTH bit on data segments of the chosen connections", dth_install)
