/* A service: code the host runs on the stack thread itself, after every
 * turn (frames taken in, timers run), under the net's mutex.  It is how a
 * program on the core's own event-driven API (tcp.h, udp.h) serves many
 * connections per wake-up with no thread and no api descriptor for each:
 * the core's event functions only note what became ready (they must not
 * call back into the stack, tcp.h), and the service acts on it here. */
#include "api_int.h"

void tapir_net_set_service(struct tapir_net *net, tapir_net_service_fn fn, void *arg)
{
	pthread_mutex_lock(&net->rt->lock);
	net->service = fn;
	net->service_arg = arg;
	pthread_mutex_unlock(&net->rt->lock);
}

tapir_time_t net_service_run(struct tapir_net *net, tapir_time_t now)
{
	tapir_time_t next, armed;
	if (!net || !net->service)
		return TAPIR_TIME_NEVER;
	next = net->service(net->service_arg, net->stack, now);
	/* what the service's own core calls armed (a retransmission, a delayed
	 * ACK) comes before the deadline the turn's poll returned */
	armed = tapir_stack_armed(net->stack);
	return armed < next ? armed : next;
}
