/* ttl=N: every packet tapir sends leaves with TTL (IPv4) or hop limit
 * (IPv6) N -- a host that looks far away (or, with N=1, one whose answers
 * die at the first router).  The worked example of docs/hacking.md: copy
 * this file, rename it, and rebuild; the build finds it by itself. */
#include "personality.h"

/* An IP_TX hook sees each IP packet (or fragment) about to be sent,
 * starting at its header: IPv4's (RFC 791 3.1) or IPv6's (RFC 8200 3), as
 * P->family says.  ARG is the TTL itself: a hook that needs more state
 * gets memory that lives as long as the stack from pers_new. */
static enum tapir_verdict ttl_tx(void *arg, struct tapir_hook_pkt *p)
{
	if (pers_is_link_control(p))
		return TAPIR_PASS; /* ND keeps its 255 (RFC 4861 7.1.1), like ARP */
	p->data[p->family == 6 ? TAPIR_IPV6_HLIM : TAPIR_IPV4_TTL] = (uint8_t)(uintptr_t)arg;
	tapir_hook_fix_checksums(p); /* IPv4's header checksum covers the TTL */
	return TAPIR_PASS;
}

static int ttl_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	unsigned long n;
	if (pers_parse_uint("N", args, 1, 255, &n, err, errlen) < 0)
		return -1;
	return pers_hook_add(s, TAPIR_HOOK_IP_TX, ttl_tx, (void *)(uintptr_t)n, err, errlen);
}

PERSONALITY(ttl, "ttl", "=N", "every packet sent leaves with TTL (hop limit) N (example)",
	    ttl_install)
