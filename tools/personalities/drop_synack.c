/* drop-synack: tapir never sends a SYN,ACK.  The client's SYNs arrive,
 * tapir's listeners take them (SYN-RECEIVED, counted), but every SYN,ACK
 * dies in the TCP_TX hook: to the client the server looks like a lost
 * path in one direction (RFC 9293 3.8.1: the client retransmits its SYN
 * until it gives up; tapir retransmits its SYN,ACK into the void). */
#include "personality.h"

static enum tapir_verdict drop_synack_tx(void *arg, struct tapir_hook_pkt *p)
{
	uint8_t f = p->data[TAPIR_TH_FLAGS];
	return (f & (TAPIR_TH_SYN | TAPIR_TH_ACK)) == (TAPIR_TH_SYN | TAPIR_TH_ACK) ? TAPIR_DROP
										    : TAPIR_PASS;
}

static int drop_synack_install(struct tapir_stack *s, const char *args, char *err,
			       size_t errlen)
{
	return pers_install_hook(s, args, TAPIR_HOOK_TCP_TX, drop_synack_tx, NULL, err, errlen);
}

PERSONALITY(drop_synack, "drop-synack", "", "send no SYN,ACK: connects to tapir time out",
	    drop_synack_install)
