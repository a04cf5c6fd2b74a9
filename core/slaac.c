/* Stateless address autoconfiguration (RFC 4862 5.5), when asked for
 * (tapir_iface_set_slaac): an address from each /64 prefix a router
 * advertises as autonomous, with an interface identifier from iid.c
 * (modified EUI-64, RFC 4291 Appendix A, or RFC 7217's), through DAD like
 * any other; its lifetimes kept by 5.5.3 (e)'s two-hour rule so that a
 * forged advertisement cannot cut them short, and the address removed
 * when the valid one ends.  Bounded by the interface's address slots. */
#include <errno.h>

#include "core.h"

#define ND_PREFIX_A 0x40               /* RFC 4861 4.6.2 autonomous flag */
#define TWO_HOURS TAPIR_SEC(2 * 3600)  /* RFC 4862 5.5.3 (e) */

int tapir_iface_set_slaac(struct tapir_stack *s, int ifindex, int on, tapir_time_t now)
{
	if (ifindex < 0 || ifindex >= s->nifaces)
		return -EINVAL;
	tapir_iface_enable_ipv6(s, ifindex, now);
	s->ifaces[ifindex].slaac = on != 0;
	return 0;
}

/* A lifetime in seconds from now; all ones is forever (RFC 4861 4.6.2). */
static tapir_time_t until(const struct tapir_stack *s, uint32_t secs)
{
	return secs == 0xffffffffu ? 0 : s->now + TAPIR_SEC(secs);
}

void slaac_prefix(struct tapir_stack *s, int ifindex, const uint8_t *o)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	uint32_t valid = tapir_get32(o + 4), preferred = tapir_get32(o + 8);
	const uint8_t *prefix = o + 16;
	uint8_t addr[16];
	struct tp_addr6 *a = NULL;
	tapir_time_t v;
	char t[46];
	int k, c;

	/* RFC 4862 5.5.3 (a)-(c) */
	if (!ifc->slaac || !(o[3] & ND_PREFIX_A) || tapir_ipv6_is_link_local(prefix) ||
	    preferred > valid)
		return;
	for (k = 1; k < TAPIR_IPV6_ADDRS && !a; k++)
		if (ifc->a6[k].autoconf && ifc->a6[k].state != TAPIR_ADDR6_FREE &&
		    ifc->a6[k].plen == o[2] && tapir_ipv6_prefix_eq(ifc->a6[k].a, prefix, o[2]))
			a = &ifc->a6[k];
	if (!a) {
		/* (d): a new one, for a prefix that leaves the 64 bits of
		 * our interface identifier */
		if (!valid || o[2] != 64)
			return;
		if ((c = iid_form(s, ifindex, addr, prefix, 0)) < 0 ||
		    (k = nd_addr_add(s, ifindex, addr, 64)) < 0)
			return;
		a = &ifc->a6[k];
		iid_note(s, a, c);
		a->autoconf = true;
		a->valid_until = until(s, valid);
		a->preferred_until = until(s, preferred);
		TRACE(s, TAPIR_TR_ND, "slaac: %s from a router's prefix", tp_ip6_str(addr, t));
		return;
	}
	/* (e): the preferred lifetime as given; the valid one lowered to
	 * no less than two hours unless it was already below that */
	a->preferred_until = until(s, preferred);
	v = until(s, valid);
	if (!v || valid > 2 * 3600 || (a->valid_until && v > a->valid_until))
		a->valid_until = v;
	else if (!a->valid_until || a->valid_until > s->now + TWO_HOURS)
		a->valid_until = s->now + TWO_HOURS;
}

tapir_time_t slaac_poll(struct tapir_stack *s, int ifindex, tapir_time_t now)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	tapir_time_t next = TAPIR_TIME_NEVER;
	char t[46];
	for (int k = 1; k < TAPIR_IPV6_ADDRS; k++) {
		struct tp_addr6 *a = &ifc->a6[k];
		if (!a->autoconf || a->state == TAPIR_ADDR6_FREE || !a->valid_until)
			continue;
		if (a->valid_until <= now) { /* RFC 4862 5.5.4: invalid, gone */
			TRACE(s, TAPIR_TR_ND, "slaac: %s expired", tp_ip6_str(a->a, t));
			memset(a, 0, sizeof(*a));
			continue;
		}
		if (a->valid_until < next)
			next = a->valid_until;
	}
	return next;
}
