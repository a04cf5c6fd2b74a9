/* blackhole: accept nothing, answer nothing -- the host behind a firewall
 * rule that DROPs.  Every IP packet addressed to tapir, of either family,
 * dies in the IP_RX hook: no SYN,ACK, no RST, no ICMP port unreachable, no
 * echo reply.  ARP is still answered (it is below IP), and so are IPv6's
 * neighbor solicitations (pers_is_link_control), so a peer on the link
 * resolves the address and its connects time out (ETIMEDOUT) rather than
 * failing at once with EHOSTUNREACH: the silent drop that makes clients
 * hang. */
#include "personality.h"

static enum tapir_verdict blackhole_rx(void *arg, struct tapir_hook_pkt *p)
{
	return pers_is_link_control(p) ? TAPIR_PASS : TAPIR_DROP;
}

static int blackhole_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	return pers_install_hook(s, args, TAPIR_HOOK_IP_RX, blackhole_rx, NULL, err, errlen);
}

PERSONALITY(blackhole, "blackhole", "",
	    "drop every IP packet received (ARP and neighbor discovery still answered)",
	    blackhole_install)
