/* Services: code the host runs on the stack thread itself, after every
 * turn (frames taken in, timers run), under the net's mutex.  It is how a
 * program on the core's own event-driven API (tcp.h, udp.h) serves many
 * connections per wake-up with no thread and no api descriptor for each:
 * the core's event functions only note what became ready (they must not
 * call back into the stack, tcp.h), and the service acts on it here.  A
 * service may also name a kernel descriptor (its epoll set) that the stack
 * thread waits on beside the driver's, so relays between tapir's
 * connections and the kernel's sockets run in the same loop. */
#include <errno.h>
#include <poll.h>

#include "api_int.h"

int tapir_net_add_service(struct tapir_net *net, tapir_net_service_fn fn, void *arg, int fd)
{
	int r = 0;
	pthread_mutex_lock(&net->rt->lock);
	for (int i = 0; i < net->nservices; i++)
		if (net->services[i].fn == fn && net->services[i].arg == arg)
			r = EEXIST;
	if (!r && net->nservices == TAPIR_NET_MAX_SERVICES)
		r = ENOSPC;
	if (!r)
		net->services[net->nservices++] = (struct net_service){fn, arg, fd};
	net_wake(net); /* the thread's next ppoll includes FD */
	pthread_mutex_unlock(&net->rt->lock);
	if (r) {
		errno = r;
		return -1;
	}
	return 0;
}

/* The stack thread runs services with the mutex held, so once we hold it
 * the service is not running, and after removal it is not called again. */
void tapir_net_remove_service(struct tapir_net *net, tapir_net_service_fn fn, void *arg)
{
	pthread_mutex_lock(&net->rt->lock);
	for (int i = 0; i < net->nservices; i++) {
		if (net->services[i].fn != fn || net->services[i].arg != arg)
			continue;
		for (int j = i + 1; j < net->nservices; j++)
			net->services[j - 1] = net->services[j];
		net->nservices--;
		break;
	}
	net_wake(net);
	pthread_mutex_unlock(&net->rt->lock);
}

void tapir_net_set_service(struct tapir_net *net, tapir_net_service_fn fn, void *arg)
{
	pthread_mutex_lock(&net->rt->lock);
	net->nservices = 0;
	if (fn)
		net->services[net->nservices++] = (struct net_service){fn, arg, -1};
	pthread_mutex_unlock(&net->rt->lock);
}

tapir_time_t net_service_run(struct tapir_net *net, tapir_time_t now)
{
	tapir_time_t next = TAPIR_TIME_NEVER, t, armed;
	if (!net || !net->nservices)
		return TAPIR_TIME_NEVER;
	for (int i = 0; i < net->nservices; i++) {
		t = net->services[i].fn(net->services[i].arg, net->stack, now);
		if (t < next)
			next = t;
	}
	/* what the services' own core calls armed (a retransmission, a delayed
	 * ACK) comes before the deadline the turn's poll returned */
	armed = tapir_stack_armed(net->stack);
	return armed < next ? armed : next;
}

int net_service_fds(struct tapir_net *net, struct pollfd *pfd)
{
	int n = 0;
	if (!net)
		return 0;
	for (int i = 0; i < net->nservices; i++)
		if (net->services[i].fd >= 0)
			pfd[n++] = (struct pollfd){.fd = net->services[i].fd, .events = POLLIN};
	return n;
}
