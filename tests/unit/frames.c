/* Frame builders, the capturing link and the one-interface fixture shared
 * by the unit tests.  See frames.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

const uint8_t MAC_US[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const uint8_t MAC_PEER[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
const uint8_t MAC_OTHER[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x03};
const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const uint8_t MAC_ZERO[6] = {0};

/* ---- builders ---- */

size_t fr_eth(uint8_t *out, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(out, dst, 6);
	memcpy(out + 6, src, 6);
	tapir_put16(out + 12, type);
	return TAPIR_ETH_HLEN;
}

size_t fr_arp(uint8_t *out, uint16_t op, const uint8_t sha[6], uint32_t spa,
	      const uint8_t tha[6], uint32_t tpa)
{
	tapir_put16(out, 1);
	tapir_put16(out + 2, TAPIR_ETH_P_IPV4);
	out[4] = 6;
	out[5] = 4;
	tapir_put16(out + 6, op);
	memcpy(out + 8, sha, 6);
	tapir_put32(out + 14, spa);
	memcpy(out + 18, tha, 6);
	tapir_put32(out + 24, tpa);
	return 28;
}

void fr_ip_fix_csum(uint8_t *ip)
{
	size_t hlen = (size_t)(ip[0] & 15) * 4;
	tapir_put16(ip + 10, 0);
	tapir_put16(ip + 10, tapir_csum(ip, hlen));
}

size_t fr_ipv4(uint8_t *out, const struct ip_spec *ip, const void *payload, size_t len)
{
	size_t hlen = TAPIR_IPV4_HLEN + ip->optlen;
	out[0] = (uint8_t)(0x40 | (hlen / 4));
	out[1] = 0;
	tapir_put16(out + 2, (uint16_t)(hlen + len));
	tapir_put16(out + 4, ip->id);
	tapir_put16(out + 6, ip->frag);
	out[8] = ip->ttl ? ip->ttl : 64;
	out[9] = ip->proto;
	tapir_put32(out + 12, ip->src);
	tapir_put32(out + 16, ip->dst);
	if (ip->optlen)
		memcpy(out + TAPIR_IPV4_HLEN, ip->opt, ip->optlen);
	if (len)
		memmove(out + hlen, payload, len);
	fr_ip_fix_csum(out);
	return hlen + len;
}

size_t fr_udp(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
	      const void *data, size_t len)
{
	uint16_t ulen = (uint16_t)(8 + len), sum;
	if (len)
		memmove(out + 8, data, len);
	tapir_put16(out, sport);
	tapir_put16(out + 2, dport);
	tapir_put16(out + 4, ulen);
	tapir_put16(out + 6, 0);
	sum = tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo(src, dst, TAPIR_IPPROTO_UDP, ulen), out, ulen));
	tapir_put16(out + 6, sum ? sum : 0xffff);
	return ulen;
}

size_t fr_icmp(uint8_t *out, uint8_t type, uint8_t code, uint32_t rest, const void *data,
	       size_t len)
{
	if (len)
		memmove(out + 8, data, len);
	out[0] = type;
	out[1] = code;
	tapir_put16(out + 2, 0);
	tapir_put32(out + 4, rest);
	tapir_put16(out + 2, tapir_csum(out, 8 + len));
	return 8 + len;
}

size_t fr_ip_frame(uint8_t *out, const struct ip_spec *ip, const void *payload, size_t len)
{
	size_t n = fr_eth(out, MAC_US, MAC_PEER, TAPIR_ETH_P_IPV4);
	return n + fr_ipv4(out + n, ip, payload, len);
}

size_t fr_udp_frame(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport,
		    uint16_t dport, const void *data, size_t len)
{
	uint8_t *udp = malloc(8 + len);
	struct ip_spec ip = {.src = src, .dst = dst, .proto = TAPIR_IPPROTO_UDP, .id = 1};
	size_t ulen, n;
	assert_non_null(udp);
	ulen = fr_udp(udp, src, dst, sport, dport, data, len);
	n = fr_ip_frame(out, &ip, udp, ulen);
	free(udp);
	return n;
}

size_t fr_arp_frame(uint8_t *out, const uint8_t eth_dst[6], uint16_t op,
		    const uint8_t sha[6], uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	size_t n = fr_eth(out, eth_dst, sha, TAPIR_ETH_P_ARP);
	return n + fr_arp(out + n, op, sha, spa, tha, tpa);
}

uint16_t fr_verify_l4(const uint8_t *ip)
{
	size_t hlen = (size_t)(ip[0] & 15) * 4, len = tapir_get16(ip + 2) - hlen;
	uint32_t sum = 0;
	if (ip[9] == TAPIR_IPPROTO_UDP)
		sum = tapir_csum_pseudo(tapir_get32(ip + 12), tapir_get32(ip + 16), TAPIR_IPPROTO_UDP,
				     (uint16_t)len);
	return tapir_csum_fold(tapir_csum_add(sum, ip + hlen, len));
}

/* ---- capturing link ---- */

static int cap_send(struct tapir_link *link, const uint8_t *frame, size_t len)
{
	struct cap *c = (struct cap *)link;
	if (c->fail)
		return c->fail;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->f = realloc(c->f, c->cap * sizeof(*c->f));
		assert_non_null(c->f);
	}
	c->f[c->n].data = malloc(len);
	assert_non_null(c->f[c->n].data);
	memcpy(c->f[c->n].data, frame, len);
	c->f[c->n].len = len;
	c->n++;
	return 0;
}

void cap_init(struct cap *c)
{
	memset(c, 0, sizeof(*c));
	c->link.send = cap_send;
	c->link.name = "cap";
}

void cap_clear(struct cap *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->f[i].data);
	c->n = 0;
}

void cap_free(struct cap *c)
{
	cap_clear(c);
	free(c->f);
	c->f = NULL;
	c->cap = 0;
}

const uint8_t *cap_l3(const struct cap *c, size_t i, uint16_t type, size_t *len)
{
	if (i >= c->n || c->f[i].len < TAPIR_ETH_HLEN || tapir_get16(c->f[i].data + 12) != type)
		return NULL;
	if (len)
		*len = c->f[i].len - TAPIR_ETH_HLEN;
	return c->f[i].data + TAPIR_ETH_HLEN;
}

size_t cap_count_ip(const struct cap *c, uint8_t proto)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++) {
		const uint8_t *ip = cap_l3(c, i, TAPIR_ETH_P_IPV4, NULL);
		if (ip && (!proto || ip[9] == proto))
			n++;
	}
	return n;
}

size_t cap_count_arp(const struct cap *c, uint16_t op)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++) {
		const uint8_t *a = cap_l3(c, i, TAPIR_ETH_P_ARP, NULL);
		if (a && (!op || tapir_get16(a + 6) == op))
			n++;
	}
	return n;
}

const uint8_t *cap_last_ip(const struct cap *c, uint8_t proto, size_t *len)
{
	for (size_t i = c->n; i-- > 0;) {
		const uint8_t *ip = cap_l3(c, i, TAPIR_ETH_P_IPV4, len);
		if (ip && ip[9] == proto)
			return ip;
	}
	return NULL;
}

/* ---- fixture ---- */

struct fx *fx_new_cfg(const struct tapir_config *cfg, unsigned mtu)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (cfg)
		f->cfg = *cfg;
	else
		tapir_config_default(&f->cfg);
	cap_init(&f->cap);
	f->s = tapir_stack_new(&f->cfg);
	assert_non_null(f->s);
	f->ifi = tapir_iface_add(f->s, &f->cap.link, MAC_US, mtu ? mtu : 1500);
	assert_true(f->ifi >= 0);
	assert_int_equal(tapir_iface_set_ipv4(f->s, f->ifi, IP_US, PREFIX_LEN, TAPIR_SEC(1)), 0);
	/* RFC 5227 2.3: two announcements, 2 s apart; let both go out so the
	 * tests see only the frames they cause. */
	tapir_stack_poll(f->s, TAPIR_SEC(3));
	assert_int_equal(cap_count_arp(&f->cap, 1), 2);
	cap_clear(&f->cap);
	f->now = TAPIR_SEC(10);
	return f;
}

struct fx *fx_new(void) { return fx_new_cfg(NULL, 0); }

void fx_free(struct fx *f)
{
	const struct tapir_stats *st = tapir_stats(f->s);
	/* the accounting invariant of include/tapir/stack.h */
	assert_int_equal(st->rx_frames, st->rx_delivered + tapir_drops_total(st));
	tapir_stack_free(f->s);
	cap_free(&f->cap);
	free(f);
}

void fx_input(struct fx *f, uint8_t *frame, size_t len)
{
	tapir_stack_input(f->s, f->ifi, frame, len, f->now);
}

tapir_time_t fx_poll(struct fx *f) { return tapir_stack_poll(f->s, f->now); }

void fx_advance(struct fx *f, tapir_time_t dt)
{
	f->now += dt;
	fx_poll(f);
}

const struct tapir_stats *fx_st(const struct fx *f) { return tapir_stats(f->s); }

void fx_learn_peer(struct fx *f)
{
	uint8_t fr[64];
	size_t n = fr_arp_frame(fr, MAC_BCAST, 1, MAC_PEER, IP_PEER, MAC_ZERO, IP_US);
	fx_input(f, fr, n);
	assert_non_null(arp_lookup(f->s, IP_PEER));
	cap_clear(&f->cap);
}

void fx_expect_drop_(struct fx *f, uint8_t *frame, size_t len, enum tapir_drop reason,
		     const char *file, int line)
{
	struct tapir_stats before = *fx_st(f);
	const struct tapir_stats *after;
	fx_input(f, frame, len);
	after = fx_st(f);
	for (int d = 0; d < TAPIR_DROP_COUNT; d++) {
		uint64_t want = before.drop[d] + (d == (int)reason);
		if (after->drop[d] != want) {
			print_error("drop.%s: %llu, expected %llu (wanted drop.%s)\n",
				    tapir_drop_name((enum tapir_drop)d),
				    (unsigned long long)after->drop[d],
				    (unsigned long long)want, tapir_drop_name(reason));
			_fail(file, line);
		}
	}
	_assert_int_equal(after->rx_delivered, before.rx_delivered, file, line);
}

void fx_expect_ok_(struct fx *f, uint8_t *frame, size_t len, const char *file, int line)
{
	struct tapir_stats before = *fx_st(f);
	fx_input(f, frame, len);
	for (int d = 0; d < TAPIR_DROP_COUNT; d++)
		if (fx_st(f)->drop[d] != before.drop[d]) {
			print_error("unexpected drop.%s\n", tapir_drop_name((enum tapir_drop)d));
			_fail(file, line);
		}
	_assert_int_equal(fx_st(f)->rx_delivered, before.rx_delivered + 1, file, line);
}

const uint8_t *cap_arp_request(const struct cap *c, size_t i, const uint8_t *eth_dst,
			       uint32_t tpa)
{
	const uint8_t *a = cap_l3(c, i, TAPIR_ETH_P_ARP, NULL);
	assert_non_null(a);
	assert_memory_equal(c->f[i].data, eth_dst, 6);
	assert_int_equal(tapir_get16(a + 6), 1); /* request */
	assert_memory_equal(a + 8, MAC_US, 6);
	assert_int_equal(tapir_get32(a + 14), IP_US);
	assert_int_equal(tapir_get32(a + 24), tpa);
	return a;
}

int fx_setup(void **state)
{
	*state = fx_new();
	return 0;
}

int fx_setup_opts(void **state)
{
	const struct fx_opts *o = *state;
	struct tapir_config cfg;
	struct fx *f;
	tapir_config_default(&cfg);
	if (o->tune)
		o->tune(&cfg);
	f = fx_new_cfg(&cfg, o->mtu);
	if (o->udp_port) {
		struct tapir_udp *u = tapir_udp_new(f->s);
		assert_int_equal(tapir_udp_bind(u, 0, o->udp_port), 0);
	}
	if (o->learn_peer)
		fx_learn_peer(f);
	*state = f;
	return 0;
}

int fx_teardown(void **state)
{
	fx_free(*state);
	return 0;
}

uint8_t pattern_byte(uint32_t seed, size_t i)
{
	uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u;
	x ^= x >> 13;
	x *= 0x5bd1e995u;
	return (uint8_t)(x ^ (x >> 15));
}

void pattern_fill(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, i);
}

/* ---- IPv6 ---- */

const uint8_t IP6_US[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t IP6_PEER[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const uint8_t IP6_OTHER[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
const uint8_t LL_US[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 1};
const uint8_t LL_PEER[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const uint8_t IP6_ALLNODES[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t IP6_UNSPEC[16];

size_t fr_ipv6(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint8_t nh, uint8_t hlim,
	       const void *payload, size_t len)
{
	if (len)
		memmove(out + 40, payload, len);
	tapir_put32(out, 6u << 28);
	tapir_put16(out + 4, (uint16_t)len);
	out[6] = nh;
	out[7] = hlim ? hlim : 64;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, dst, 16);
	return 40 + len;
}

size_t fr_icmp6(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint8_t type, uint8_t code,
		uint32_t rest, const void *data, size_t len)
{
	if (len)
		memmove(out + 8, data, len);
	out[0] = type;
	out[1] = code;
	tapir_put32(out + 4, rest);
	tapir_put16(out + 2, 0);
	tapir_put16(out + 2, tapir_csum_fold(tapir_csum_add(
				     tapir_csum_pseudo6(src, dst, TAPIR_IPPROTO_ICMPV6, (uint32_t)(8 + len)),
				     out, 8 + len)));
	return 8 + len;
}

size_t fr_ip6_frame(uint8_t *out, const uint8_t *eth_dst, const uint8_t *src, const uint8_t *dst,
		    uint8_t nh, uint8_t hlim, const void *payload, size_t len)
{
	uint8_t mac[6];
	if (!eth_dst) {
		if (tapir_ipv6_is_multicast(dst)) {
			tapir_ipv6_mcast_mac(mac, dst);
			eth_dst = mac;
		} else {
			eth_dst = MAC_US;
		}
	}
	size_t n = fr_eth(out, eth_dst, MAC_PEER, TAPIR_ETH_P_IPV6);
	return n + fr_ipv6(out + n, src, dst, nh, hlim, payload, len);
}

size_t fr_icmp6_frame(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint8_t hlim,
		      uint8_t type, uint8_t code, uint32_t rest, const void *data, size_t len)
{
	static uint8_t m[70000];
	size_t ml = fr_icmp6(m, src, dst, type, code, rest, data, len);
	return fr_ip6_frame(out, NULL, src, dst, TAPIR_IPPROTO_ICMPV6, hlim, m, ml);
}

void fx_enable_ipv6(struct fx *f)
{
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, IP6_US, 64, f->now), 0);
	/* RFC 4862 5.4.2: at most 1 s of delay, then RetransTimer */
	fx_advance(f, TAPIR_SEC(1));
	fx_advance(f, TAPIR_SEC(1));
	fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 0, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 1, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	cap_clear(&f->cap);
}

void fx_learn_peer6(struct fx *f, const uint8_t *peer)
{
	uint8_t fr[128], ns[24], sn[16];
	const uint8_t *us = tapir_ipv6_is_link_local(peer) ? LL_US : IP6_US;
	memcpy(ns, us, 16);
	ns[16] = TAPIR_ND_OPT_SRC_LLADDR;
	ns[17] = 1;
	memcpy(ns + 18, MAC_PEER, 6);
	tapir_ipv6_solicited_node(sn, us);
	fx_input(f, fr, fr_icmp6_frame(fr, peer, sn, 255, TAPIR_ICMP6_NEIGHBOR_SOLICIT, 0, 0, ns, 24));
	assert_non_null(nd_lookup(f->s, peer));
	cap_clear(&f->cap);
}

const uint8_t *cap_last_icmp6(const struct cap *c, uint8_t type, const uint8_t **msg, size_t *mlen)
{
	for (size_t i = c->n; i-- > 0;) {
		size_t len;
		const uint8_t *ip = cap_l3(c, i, TAPIR_ETH_P_IPV6, &len);
		uint8_t nh;
		int up;
		if (!ip)
			continue;
		len = 40 + tapir_get16(ip + 4);
		nh = ip[6];
		up = ipv6_upper(ip, len, 40, &nh);
		if (up < 0 || nh != TAPIR_IPPROTO_ICMPV6 || ip[up] != type)
			continue;
		if (msg)
			*msg = ip + up;
		if (mlen)
			*mlen = len - (size_t)up;
		return ip;
	}
	return NULL;
}

size_t cap_count_icmp6(const struct cap *c, uint8_t type)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct cap one = {.f = &c->f[i], .n = 1};
		if (cap_last_icmp6(&one, type, NULL, NULL))
			n++;
	}
	return n;
}

void assert_icmp6_csum(const uint8_t *ip6, const uint8_t *msg, size_t mlen)
{
	assert_int_equal(tapir_csum_fold(tapir_csum_add(
				 tapir_csum_pseudo6(ip6 + 8, ip6 + 24, TAPIR_IPPROTO_ICMPV6, (uint32_t)mlen),
				 msg, mlen)), 0);
}

int fx6_setup(void **state)
{
	struct fx *f = fx_new();
	fx_enable_ipv6(f);
	*state = f;
	return 0;
}
