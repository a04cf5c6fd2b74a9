/* slow-accept=MS: the application is slow to accept.  Unlike the others,
 * this one is not a hook: the accept queue is the application's to drain,
 * so the built-in services (tools/services.c) wait MS milliseconds before
 * each accept().  Connections complete in the kernel of tapir, fill the
 * listen backlog (128 for the services), and then further SYNs are
 * dropped silently (counter tcp_syn_queue_full) so that clients
 * retransmit them -- the backlog overflow of UNP 4.5. */
#include "personality.h"

static int slow_accept_install(struct tapir_stack *s, const char *args, char *err,
			       size_t errlen)
{
	unsigned long ms;
	if (pers_parse_uint("MS", args, 1, 3600000, &ms, err, errlen) < 0)
		return -1;
	atomic_store(&tapir_services_accept_delay_ms, (unsigned)ms);
	return 0;
}

PERSONALITY(slow_accept, "slow-accept", "=MS",
	    "the services wait MS ms before each accept (backlog overflow)", slow_accept_install)
