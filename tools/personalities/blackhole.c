/* blackhole: accept nothing, answer nothing -- the host behind a firewall
 * rule that DROPs.  Every IPv4 packet addressed to tapir dies in the IP_RX
 * hook: no SYN,ACK, no RST, no ICMP port unreachable, no echo reply.  ARP
 * is still answered (it is below IP), so a peer on the link resolves the
 * address and its connects time out (ETIMEDOUT) rather than failing at
 * once with EHOSTUNREACH: the silent drop that makes clients hang. */
#include "personality.h"

static enum tapir_verdict blackhole_rx(void *arg, struct tapir_hook_pkt *p)
{
	return TAPIR_DROP;
}

static int blackhole_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	return pers_install_hook(s, args, TAPIR_HOOK_IP_RX, blackhole_rx, NULL, err, errlen);
}

PERSONALITY(blackhole, "blackhole", "", "drop every IPv4 packet received (ARP still answered)",
	    blackhole_install)
