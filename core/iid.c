/* Interface identifiers of the addresses the stack forms itself: the
 * link-local one (RFC 4862 5.3) and SLAAC's (5.5.3 (d)).  By default the
 * modified EUI-64 of the MAC (RFC 4291 Appendix A); with cfg.nd_addr_gen
 * TAPIR_ADDR_GEN_STABLE, RFC 7217's semantically opaque ones, which RFC
 * 8064 3 recommends: stable for a prefix on an interface, different for
 * each prefix, and revealing neither the MAC nor anything that ties the
 * addresses of two networks together.  The secret comes from the caller
 * (cfg.nd_secret), so the core stays deterministic. */
#include "core.h"

/* RFC 7217 5: RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter,
 * secret_key).  F is the stack's keyed PRF, SipHash-2-4 with the 128-bit
 * secret as its key (the one RFC 6528's ISNs and the SYN and Fast Open
 * cookies use), whose 64-bit output is the whole interface identifier.
 * Net_Iface is the interface index (5 allows it: stable while tapir's
 * interfaces are added in the same order, and unlike the MAC, tapir's
 * random default, stable across restarts); Network_ID, optional, is left
 * out. */
static void stable_iid(const struct tapir_stack *s, int ifindex, const uint8_t *prefix,
		       unsigned counter, uint8_t out[8])
{
	uint8_t b[8 + 4 + 1];
	uint64_t rid;
	memcpy(b, prefix, 8);
	tapir_put32(b + 8, (uint32_t)ifindex);
	b[12] = (uint8_t)counter;
	rid = tp_siphash(s->cfg.nd_secret, b, sizeof(b));
	tapir_put32(out, (uint32_t)(rid >> 32));
	tapir_put32(out + 4, (uint32_t)rid);
}

/* RFC 5453 and the IANA registry of reserved interface identifiers it
 * set up: the subnet-router anycast one (RFC 4291 2.6.1), the range of
 * the IANA Ethernet block (RFC 5453 4, Proxy Mobile IPv6's 0200:5EFF:
 * FE00:5213 within it) and the reserved subnet anycast ones (RFC 2526). */
bool iid_reserved(const uint8_t *iid)
{
	uint64_t v = (uint64_t)tapir_get32(iid) << 32 | tapir_get32(iid + 4);
	return v == 0 || (v >= 0x02005efffe000000ull && v <= 0x02005efffeffffffull) ||
	       v >= 0xfdffffffffffff80ull;
}

/* RFC 7217 5 step 2: "already employed in an address of the same network
 * interface and the same network prefix" (any address of ours). */
static bool in_use(const struct tapir_stack *s, int ifindex, const uint8_t *a)
{
	const struct tp_iface *ifc = &s->ifaces[ifindex];
	for (int k = 0; k < TAPIR_IPV6_ADDRS; k++)
		if (ifc->a6[k].state != TAPIR_ADDR6_FREE && !memcmp(ifc->a6[k].a, a, 16))
			return true;
	return false;
}

int iid_form(const struct tapir_stack *s, int ifindex, uint8_t out[16], const uint8_t *prefix,
	     unsigned counter)
{
	if (s->cfg.nd_addr_gen != TAPIR_ADDR_GEN_STABLE) {
		tapir_ipv6_eui64(out, prefix, s->ifaces[ifindex].mac);
		return 0;
	}
	/* RFC 7217 5: an identifier that is reserved or already ours is
	 * handled as a DAD conflict (6): the next DAD_Counter, at most
	 * IDGEN_RETRIES times */
	for (; counter <= IID_IDGEN_RETRIES; counter++) {
		memcpy(out, prefix, 8);
		stable_iid(s, ifindex, prefix, counter, out + 8);
		if (!iid_reserved(out + 8) && !in_use(s, ifindex, out))
			return (int)counter;
	}
	return -1;
}

void iid_note(const struct tapir_stack *s, struct tp_addr6 *a, int counter)
{
	a->stable = s->cfg.nd_addr_gen == TAPIR_ADDR_GEN_STABLE;
	a->dad_counter = (uint8_t)counter;
}

bool iid_retry(const struct tapir_stack *s, int ifindex, struct tp_addr6 *a)
{
	uint8_t next[16];
	int c;
	/* RFC 7217 6: a stable address found a duplicate is formed again with
	 * DAD_Counter one more, up to IDGEN_RETRIES times; an EUI-64 one has
	 * no other to try (RFC 4862 5.4.5) */
	if (!a->stable || (c = iid_form(s, ifindex, next, a->a, a->dad_counter + 1u)) < 0)
		return false;
	memcpy(a->a, next, 16);
	a->dad_counter = (uint8_t)c;
	a->last_defend = 0;
	return true;
}
