/* ttl=N: every IPv4 packet tapir sends leaves with TTL N -- a host that
 * looks far away (or, with N=1, one whose answers die at the first
 * router).  The worked example of docs/hacking.md: copy this file, rename
 * it, and rebuild; the build finds it by itself. */
#include "personality.h"

struct ttl {
	uint8_t ttl;
};

/* An IP_TX hook sees each IPv4 packet (or fragment) about to be sent,
 * starting at its header; byte 8 is the TTL (RFC 791 3.1). */
static enum tapir_verdict ttl_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct ttl *t = arg;
	p->data[8] = t->ttl;
	tapir_hook_fix_checksums(p); /* the header checksum covers the TTL */
	return TAPIR_PASS;
}

static int ttl_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	unsigned long n;
	struct ttl *t;
	if (pers_parse_uint("N", args, 1, 255, &n, err, errlen) < 0)
		return -1;
	t = pers_new(s, sizeof(*t), err, errlen); /* lives as long as the stack */
	if (!t)
		return -1;
	t->ttl = (uint8_t)n;
	return pers_hook_add(s, TAPIR_HOOK_IP_TX, ttl_tx, t, err, errlen);
}

PERSONALITY(ttl, "ttl", "=N", "every IPv4 packet sent leaves with TTL N (example)",
	    ttl_install)
