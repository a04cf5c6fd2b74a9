/* tapir host --addr dhcp: see host_dhcp.h. */
#define _GNU_SOURCE
#include <poll.h>
#include <string.h>
#include <time.h>

#include "host_dhcp.h"
#include "util.h"

#define NOTICE_AFTER TAPIR_SEC(10) /* issue 14: say so after 10 s, keep trying */

bool host_dhcp_option(struct host_dhcp *d, const char *arg)
{
	if (strcmp(arg, "dhcp"))
		return false;
	d->on = true;
	return true;
}

void host_dhcp_start(struct host_dhcp *d, struct tapir_stack *s, int ifindex)
{
	int r;
	if (!d->on)
		return;
	r = tapir_dhcp_start(s, ifindex, mono_us());
	if (r < 0)
		die("--addr dhcp: cannot start the DHCP client: %s", strerror(-r));
}

/* The lease's details, once, when it is first bound. */
static void print_lease(FILE *f, const struct tapir_dhcp_lease *l)
{
	char a[16];
	fprintf(f, "dhcp lease %s/%u from %s for ", tapir_ipv4_str(l->addr, a), l->prefix_len,
		tapir_ipv4_str(l->server, (char[16]){0}));
	if (l->lease_secs == 0xffffffffu)
		fputs("ever", f);
	else
		fprintf(f, "%u s", l->lease_secs);
	if (l->router)
		fprintf(f, " router %s", tapir_ipv4_str(l->router, a));
	for (unsigned i = 0; i < l->ndns; i++)
		fprintf(f, "%s%s", i ? "," : " dns ", tapir_ipv4_str(l->dns[i], a));
	fputc('\n', f);
}

bool host_dhcp_wait(struct host_dhcp *d, struct tapir_net *net, struct tapir_stack *s,
		    const sigset_t *orig, volatile sig_atomic_t *stop, uint32_t *addr,
		    unsigned *plen)
{
	tapir_time_t t0 = mono_us();
	bool told = false;
	while (!*stop) {
		struct tapir_dhcp_lease l;
		tapir_net_lock(net);
		tapir_dhcp_lease(s, &l);
		tapir_net_unlock(net);
		if (l.addr) {
			*addr = d->seen = l.addr;
			*plen = d->seen_plen = l.prefix_len;
			print_lease(stdout, &l);
			return true;
		}
		if (!told && mono_us() - t0 >= NOTICE_AFTER) {
			fprintf(stderr, "tapir: --addr dhcp: no DHCP server has answered in 10 s "
					"(%s); still trying\n", tapir_dhcp_state_name(l.state));
			told = true;
		}
		ppoll(NULL, 0, &(struct timespec){0, 50 * 1000 * 1000}, orig);
	}
	return false;
}

void host_dhcp_watch(struct host_dhcp *d, FILE *f, struct tapir_stack *s)
{
	struct tapir_dhcp_lease l;
	char a[16], b[16];
	if (!d->on || tapir_dhcp_lease(s, &l) < 0 ||
	    (l.addr == d->seen && l.prefix_len == d->seen_plen))
		return;
	if (d->seen && l.addr)
		fprintf(f, "address %s/%u replaced by %s/%u\n", tapir_ipv4_str(d->seen, a),
			d->seen_plen, tapir_ipv4_str(l.addr, b), l.prefix_len);
	else if (d->seen)
		fprintf(f, "address %s/%u removed\n", tapir_ipv4_str(d->seen, a), d->seen_plen);
	else
		fprintf(f, "address %s/%u added\n", tapir_ipv4_str(l.addr, a), l.prefix_len);
	d->seen = l.addr;
	d->seen_plen = l.prefix_len;
}

void host_dhcp_release(struct host_dhcp *d, struct tapir_net *net, struct tapir_stack *s)
{
	struct tapir_dhcp_lease l;
	if (!d->on)
		return;
	tapir_net_lock(net);
	tapir_dhcp_release(s, mono_us());
	tapir_net_unlock(net);
	/* ARP for the server takes one round trip on a link; its retries
	 * give up after 3 s, so this ends in any case */
	for (int i = 0; i < 200; i++) {
		tapir_net_lock(net);
		tapir_dhcp_lease(s, &l);
		tapir_net_unlock(net);
		if (!l.release_waiting)
			return;
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	}
}

void host_dhcp6_start(struct host_dhcp *d, struct tapir_stack *s, int ifindex, bool ipv6)
{
	int r;
	if (!ipv6)
		return;
	r = tapir_dhcp6_start(s, ifindex, 0, mono_us());
	if (r < 0)
		die("IPv6: cannot start the DHCPv6 client: %s", strerror(-r));
	d->v6 = true;
}

void host_dhcp6_watch(struct host_dhcp *d, FILE *f, struct tapir_stack *s)
{
	struct tapir_dhcp6_info i;
	char a[TAPIR_IP_STRLEN];
	if (!d->v6 || tapir_dhcp6_info(s, &i) < 0 || i.changes == d->seen6)
		return;
	d->seen6 = i.changes;
	fputs("dhcp6 dns", f);
	for (unsigned k = 0; k < i.ndns; k++)
		fprintf(f, "%c%s", k ? ',' : ' ', tapir_ipv6_str(i.dns[k], a));
	if (!i.ndns)
		fputs(" none", f);
	for (unsigned k = 0; k < i.nsearch; k++)
		fprintf(f, "%s%s", k ? "," : " search ", i.search[k]);
	fputc('\n', f);
}
