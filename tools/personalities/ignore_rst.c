/* ignore-rst: every RST that arrives is dropped before TCP sees it, as by
 * a stack that does not implement RFC 9293 3.10.7.4's "reset processing"
 * (or a firewall that eats RSTs).  A peer that resets a connection then
 * finds tapir still retransmitting into it, until R2 gives up
 * (RFC 9293 3.8.3). */
#include "personality.h"

static enum tapir_verdict ignore_rst_rx(void *arg, struct tapir_hook_pkt *p)
{
	return p->data[TAPIR_TH_FLAGS] & TAPIR_TH_RST ? TAPIR_DROP : TAPIR_PASS;
}

static int ignore_rst_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	return pers_install_hook(s, args, TAPIR_HOOK_TCP_RX, ignore_rst_rx, NULL, err, errlen);
}

PERSONALITY(ignore_rst, "ignore-rst", "", "drop every RST received", ignore_rst_install)
