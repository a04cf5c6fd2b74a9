/* The path MTU cache, both families (RFC 1191 6.2 for IPv4, RFC 8201 5.2
 * for IPv6): a small table of destinations whose path MTU a too-big
 * message lowered below the first hop's.  Entries age out (RFC 1191 6.3,
 * RFC 8201 5.3), after which the first hop's MTU is tried again.  Keyed by
 * struct tapir_ip, so IPv4 (v4-mapped) and IPv6 share one table; each
 * family applies its own floor before it stores (ipv4.c, ipv6.c). */
#include "core.h"

/* RFC 1191 6.3 "on the order of 10 minutes"; RFC 8201 5.3: no less than
 * 5 minutes, 10 suggested */
#define PMTU_AGE_DEFAULT TAPIR_SEC(600)

static tapir_time_t pmtu_age(const struct tapir_stack *s)
{
	return s->cfg.pmtu_age_us ? s->cfg.pmtu_age_us : PMTU_AGE_DEFAULT;
}

static const struct tp_pmtu *pmtu_find(const struct tapir_stack *s, const struct tapir_ip *dst)
{
	for (int i = 0; i < TP_PMTU; i++) {
		const struct tp_pmtu *e = &s->pmtu[i];
		if (e->mtu && e->expires > s->now && !memcmp(e->dst.b, dst->b, 16))
			return e;
	}
	return NULL;
}

unsigned tp_pmtu_get(const struct tapir_stack *s, const struct tapir_ip *dst, unsigned mtu)
{
	const struct tp_pmtu *e = pmtu_find(s, dst);
	return e && e->mtu < mtu ? e->mtu : mtu;
}

tapir_time_t tp_pmtu_expires(const struct tapir_stack *s, const struct tapir_ip *dst)
{
	const struct tp_pmtu *e = pmtu_find(s, dst);
	return e ? e->expires : TAPIR_TIME_NEVER;
}

bool tp_pmtu_lower(struct tapir_stack *s, const struct tapir_ip *dst, unsigned mtu, unsigned cur)
{
	struct tp_pmtu *e = (struct tp_pmtu *)pmtu_find(s, dst);
	/* RFC 1191 8, RFC 8201 4: never an increase from a too-big message */
	if (!cur || mtu >= cur)
		return false;
	for (int i = 0; !e && i < TP_PMTU; i++) { /* a free slot, or the one expiring first */
		struct tp_pmtu *c = &s->pmtu[i];
		if (!c->mtu || c->expires <= s->now) {
			e = c;
			break;
		}
		if (i == TP_PMTU - 1) {
			e = c;
			for (int k = 0; k < TP_PMTU; k++)
				if (s->pmtu[k].expires < e->expires)
					e = &s->pmtu[k];
		}
	}
	e->dst = *dst;
	e->mtu = mtu;
	/* RFC 1191 6.3: the clock starts at each decrease; "infinity" is
	 * TAPIR_TIME_NEVER */
	e->expires = pmtu_age(s) == TAPIR_TIME_NEVER ? TAPIR_TIME_NEVER : s->now + pmtu_age(s);
	return true;
}
