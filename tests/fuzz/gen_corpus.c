/* Writes the seed corpus: a few dozen small valid inputs per harness,
 * built with the same helpers and against the same world the harnesses
 * use, so that addresses, ports and sequence numbers fit.
 *   gen_corpus DIR   (DIR/<harness>/<name> for each seed; the repo's
 *                     copy is tests/fuzz/corpus)
 * Input formats: the comment at the top of each fuzz_*.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "world.h"

static const char *root;


static void save(const char *h, const char *name, const uint8_t *d, size_t n)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", root, h);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", root, h, name);
	f = fopen(path, "wb");
	if (!f || fwrite(d, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* a growing byte buffer */
struct buf {
	uint8_t d[8192];
	size_t n;
};
static void b8(struct buf *b, unsigned v) { b->d[b->n++] = (uint8_t)v; }
static void b16(struct buf *b, unsigned v) { b8(b, v >> 8), b8(b, v & 255); }
static void bmem(struct buf *b, const void *p, size_t n)
{
	if (n)
		memcpy(b->d + b->n, p, n);
	b->n += n;
}

/* ---- building blocks ---- */

static size_t arp(uint8_t *a, uint16_t op, const uint8_t *sha, uint32_t spa, uint32_t tpa)
{
	tapir_put16(a, 1), tapir_put16(a + 2, 0x0800), a[4] = 6, a[5] = 4, tapir_put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	tapir_put32(a + 14, spa);
	memset(a + 18, 0, 6);
	tapir_put32(a + 24, tpa);
	return 28;
}

/* an IPv4 packet peer -> DST with a transport payload; checksums right */
static size_t ipv4(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *opt,
		   size_t optlen, const uint8_t *l4, size_t l4len, uint16_t frag)
{
	size_t hl = 20 + optlen;
	w_ip(ip, src, dst, proto, optlen + l4len, 0x1234, frag);
	ip[0] = (uint8_t)(0x40 | hl / 4);
	if (optlen)
		memcpy(ip + 20, opt, optlen);
	memcpy(ip + hl, l4, l4len);
	w_fix_checksums(ip, hl + l4len);
	return hl + l4len;
}

/* an IPv6 packet SRC -> DST: EXT (extension headers, the first named by
 * NH) then L4; the ICMPv6 checksum right */
static size_t ipv6(uint8_t *ip, const uint8_t *src, const uint8_t *dst, uint8_t nh, uint8_t hlim,
		   const uint8_t *ext, size_t extlen, const uint8_t *l4, size_t l4len)
{
	tapir_put32(ip, 6u << 28);
	tapir_put16(ip + 4, (uint16_t)(extlen + l4len));
	ip[6] = nh;
	ip[7] = hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	if (extlen)
		memcpy(ip + 40, ext, extlen);
	memcpy(ip + 40 + extlen, l4, l4len);
	w_fix_checksums(ip, 40 + extlen + l4len);
	return 40 + extlen + l4len;
}

static size_t udp(uint8_t *u, uint16_t sport, uint16_t dport, const char *payload)
{
	size_t n = strlen(payload);
	tapir_put16(u, sport), tapir_put16(u + 2, dport), tapir_put16(u + 4, (uint16_t)(8 + n)), tapir_put16(u + 6, 0);
	memcpy(u + 8, payload, n);
	return 8 + n;
}

static size_t icmp_echo(uint8_t *m, uint8_t type, const char *payload)
{
	size_t n = strlen(payload);
	m[0] = type, m[1] = 0, tapir_put16(m + 2, 0), tapir_put16(m + 4, 0x4242), tapir_put16(m + 6, 1);
	memcpy(m + 8, payload, n);
	return 8 + n;
}

/* a TCP header with options and data; checksum left 0 */
static size_t tcph(uint8_t *th, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		   uint8_t flags, uint16_t wnd, const uint8_t *opt, size_t optlen, const char *data)
{
	size_t hl = 20 + ((optlen + 3) & ~(size_t)3), n = data ? strlen(data) : 0;
	memset(th, 0, hl);
	tapir_put16(th, sport), tapir_put16(th + 2, dport), tapir_put32(th + 4, seq), tapir_put32(th + 8, ack);
	th[12] = (uint8_t)(hl / 4 << 4), th[13] = flags, tapir_put16(th + 14, wnd);
	if (optlen)
		memcpy(th + 20, opt, optlen);
	if (n)
		memcpy(th + hl, data, n);
	return hl + n;
}

static const uint8_t opt_syn[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
static const uint8_t opt_ts[] = {1, 1, 8, 10, 0, 3, 0, 0, 0, 0, 0, 0};
static const uint8_t opt_sack[] = {1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0};

/* ---- per harness ---- */

static void gen_ether(void)
{
	uint8_t f[1600], l4[256];
	size_t n;
	static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 7};

#define FRAME(name, flags, type, body)                                                  \
	do {                                                                            \
		f[0] = flags;                                                           \
		n = 1 + w_eth(f + 1, type);                                             \
		n += body;                                                              \
		save("ether", name, f, n);                                              \
	} while (0)
	FRAME("arp-request", 0, 0x0806, arp(f + n, 1, w_mac_peer, W_PEER, W_US));
	FRAME("arp-reply-pending", 0, 0x0806, arp(f + n, 2, other_mac, W_OTHER, W_US));
	FRAME("arp-conflict", 0, 0x0806, arp(f + n, 1, other_mac, W_US, W_US));
	FRAME("arp-probe", 0, 0x0806, arp(f + n, 1, other_mac, 0, W_US));
	FRAME("udp-53", 1, 0x0800,
	      ipv4(f + n, W_PEER, W_US, 17, NULL, 0, l4, udp(l4, 1234, 53, "query"), 0));
	FRAME("udp-closed", 1, 0x0800,
	      ipv4(f + n, W_PEER, W_US, 17, NULL, 0, l4, udp(l4, 1234, 99, "x"), 0));
	FRAME("icmp-echo", 1, 0x0800,
	      ipv4(f + n, W_PEER, W_US, 1, NULL, 0, l4, icmp_echo(l4, 8, "ping"), 0));
	FRAME("tcp-syn-closed", 1, 0x0800,
	      ipv4(f + n, W_PEER, W_US, 6, NULL, 0, l4,
		   tcph(l4, 1111, 81, 1, 0, 2, 1000, NULL, 0, NULL), 0));
	FRAME("ipv6", 0, 0x86dd, 40);
	FRAME("ipv6-echo", 1, 0x86dd,
	      ipv6(f + n, w_peer6, w_us6, 58, 64, NULL, 0, l4, icmp_echo(l4, 128, "ping6")));
	{
		/* hop-by-hop (PadN), a first fragment, destination options */
		static const uint8_t ext[24] = {44, 0, 1, 4, 0, 0, 0, 0, 60, 0, 0, 1, 0, 0, 0, 9,
						58, 0, 1, 4, 0, 0, 0, 0};
		FRAME("ipv6-ext-frag", 1, 0x86dd,
		      ipv6(f + n, w_peer6, w_us6, 0, 64, ext, 24, l4, icmp_echo(l4, 128, "fragment 0 of 2..")));
	}
	{
		/* an NS for our address with the peer's MAC, to its solicited-node group */
		uint8_t ns[32] = {135, 0, 0, 0, 0, 0, 0, 0}, sn[16] = {0xff, 2, [11] = 1, 0xff, 0, 0, 2};
		memcpy(ns + 8, w_us6, 16);
		ns[24] = 1, ns[25] = 1, memcpy(ns + 26, w_mac_peer, 6);
		FRAME("ipv6-ns", 0, 0x86dd, ipv6(f + n, w_peer_ll, sn, 58, 255, NULL, 0, ns, 32));
		memcpy(f + 1, (uint8_t[6]){0x33, 0x33, 0xff, 0, 0, 2}, 6);
		save("ether", "ipv6-ns", f, n);
	}
	FRAME("short", 0, 0x0800, 0);
	/* to someone else's MAC; from our own MAC */
	f[0] = 0, n = 1 + w_eth(f + 1, 0x0800), memcpy(f + 1, other_mac, 6);
	n += ipv4(f + n, W_PEER, W_US, 17, NULL, 0, l4, udp(l4, 1, 53, "a"), 0);
	save("ether", "not-for-us", f, n);
	f[0] = 0, n = 1 + w_eth(f + 1, 0x0806), memcpy(f + 7, w_mac_us, 6);
	n += arp(f + n, 1, w_mac_peer, W_PEER, W_US);
	save("ether", "own-source", f, n);
	f[0] = 1, n = 1 + w_eth(f + 1, 0x0800), memset(f + 1, 0xff, 6);
	n += ipv4(f + n, W_PEER, 0x0a0000ff, 17, NULL, 0, l4, udp(l4, 1, 53, "bcast"), 0);
	save("ether", "udp-broadcast", f, n);
#undef FRAME
}

static void gen_arp(void)
{
	struct buf b;
	static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 7};
	static const uint8_t mac9[6] = {0x02, 0, 0, 0, 0, 9};
#define REC(t, op, sha, spa, tpa) (b8(&b, t), b.n += arp(b.d + b.n, op, sha, spa, tpa))
	b.n = 0, REC(0, 1, w_mac_peer, W_PEER, W_US), save("arp", "request", b.d, b.n);
	b.n = 0, REC(0, 2, other_mac, W_OTHER, W_US), save("arp", "reply-pending", b.d, b.n);
	b.n = 0, REC(0, 1, other_mac, W_US, W_US), REC(0x81, 1, other_mac, W_US, W_US),
	REC(0x8b, 1, other_mac, W_US, W_US), save("arp", "conflict-defend", b.d, b.n);
	b.n = 0, REC(0, 1, mac9, 0, W_US), save("arp", "probe", b.d, b.n);
	b.n = 0, REC(0, 1, mac9, 0x0a000009, 0x0a000003), save("arp", "for-other", b.d, b.n);
	b.n = 0, REC(0x82, 2, w_mac_peer, W_PEER, W_US), REC(0xc2, 2, mac9, W_PEER, W_US),
	save("arp", "peer-moves", b.d, b.n);
	b.n = 0, REC(0xa5, 2, other_mac, W_OTHER, W_US), REC(0, 1, mac9, 0x0a000009, W_US),
	REC(0xc1, 1, w_mac_peer, W_PEER, W_US), save("arp", "late-reply-expiry", b.d, b.n);
	b.n = 0, REC(0, 3, w_mac_peer, W_PEER, W_US), save("arp", "bad-op", b.d, b.n);
	b.n = 0, REC(0, 1, w_mac_peer, W_PEER, W_US), b.n -= 5, save("arp", "truncated", b.d, b.n);
#undef REC
}

static void gen_ipv4(struct world *w)
{
	uint8_t f[1600] = {0}, l4[600] = {0};
	size_t n;
	struct tapir_tcp_info srv;
	static const uint8_t o_nop[] = {1, 1, 1, 0};
	static const uint8_t o_rr[] = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t o_ts[] = {68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t o_lsrr[] = {131, 7, 4, 10, 0, 0, 9, 0};
	static const uint8_t o_bad[] = {7, 40, 4, 0};
	tapir_tcp_get_info(w->tcp[0], &srv);
#define PKT(name, flags, body)                                                          \
	do {                                                                            \
		f[0] = flags;                                                           \
		n = 1 + (body);                                                         \
		save("ipv4", name, f, n);                                               \
	} while (0)
	PKT("udp", 1, ipv4(f + 1, W_PEER, W_US, 17, NULL, 0, l4, udp(l4, 9, 53, "q"), 0));
	PKT("opt-nop", 1, ipv4(f + 1, W_PEER, W_US, 17, o_nop, 4, l4, udp(l4, 9, 53, "q"), 0));
	PKT("opt-rr", 1, ipv4(f + 1, W_PEER, W_US, 1, o_rr, 12, l4, icmp_echo(l4, 8, "rr"), 0));
	PKT("opt-ts", 1, ipv4(f + 1, W_PEER, W_US, 17, o_ts, 12, l4, udp(l4, 9, 99, "t"), 0));
	PKT("opt-lsrr", 1, ipv4(f + 1, W_PEER, W_US, 17, o_lsrr, 8, l4, udp(l4, 9, 53, "l"), 0));
	PKT("opt-bad", 1, ipv4(f + 1, W_PEER, W_US, 17, o_bad, 4, l4, udp(l4, 9, 53, "b"), 0));
	PKT("frag-first", 1,
	    ipv4(f + 1, W_PEER, W_US, 17, NULL, 0, l4, udp(l4, 9, 53, "12345678"), 0x2000));
	PKT("frag-last", 1, ipv4(f + 1, W_PEER, W_US, 17, NULL, 0, l4, udp(l4, 9, 53, "x"), 2));
	PKT("proto-99", 1, ipv4(f + 1, W_PEER, W_US, 99, NULL, 0, l4, 8, 0));
	PKT("echo", 1, ipv4(f + 1, W_PEER, W_US, 1, NULL, 0, l4, icmp_echo(l4, 8, "hello"), 0));
	PKT("bcast", 1, ipv4(f + 1, W_PEER, 0x0a0000ff, 17, NULL, 0, l4, udp(l4, 9, 53, "b"), 0));
	PKT("land", 1, ipv4(f + 1, W_US, W_US, 17, NULL, 0, l4, udp(l4, 9, 53, "b"), 0));
	PKT("not-us", 1, ipv4(f + 1, W_PEER, 0x0a000003, 17, NULL, 0, l4, udp(l4, 9, 53, "b"), 0));
	PKT("tcp-syn", 1, ipv4(f + 1, W_PEER, W_US, 6, NULL, 0, l4,
			       tcph(l4, 3333, 80, 7, 0, 2, 1000, opt_syn, 20, NULL), 0));
	/* in-window data on the accepted connection, with a timestamp */
	PKT("tcp-data", 1, ipv4(f + 1, W_PEER, W_US, 6, NULL, 0, l4,
				tcph(l4, W_PASSIVE_PPORT, 80, srv.rcv_nxt, srv.snd_una, 0x18, 1024,
				     opt_ts, 12, "GET / HTTP/1.0\r\n\r\n"),
				0));
	f[0] = 0, n = 1 + ipv4(f + 1, W_PEER, W_US, 17, NULL, 0, l4, udp(l4, 9, 53, "q"), 0);
	f[1] = 0x4f; /* IHL 15, beyond the packet */
	save("ipv4", "bad-ihl", f, n);
#undef PKT
}

static void gen_reasm(void)
{
	struct buf b;
	uint8_t u[64];
#define FRAG(t, sel, frag, len, payload, plen)                                          \
	(b8(&b, t), b8(&b, sel), b16(&b, frag), b16(&b, len), bmem(&b, payload, plen))
	/* a seed: up to three fragments, each [t][sel][frag][len] + payload */
	struct rfrag {
		uint8_t t, sel;
		uint16_t frag, len;
		const void *payload;
		size_t plen;
	};
	struct rseed {
		const char *name;
		unsigned n;
		struct rfrag f[3];
	};
	const struct rseed seeds[] = {
		{"udp-2", 2, {{0, 0, 0x2000, 16, u, 16}, {0, 0, 2, 24, u + 16, 24}}},
		{"udp-2-reversed", 2, {{0, 0, 2, 24, u + 16, 24}, {1, 0, 0x2000, 16, u, 16}}},
		{"udp-3-options", 3,
		 {{0, 0x20, 0x2000, 8, u, 8}, {0, 0, 0x2001, 8, u + 8, 8}, {0, 0, 2, 24, u + 16, 24}}},
		{"overlap", 2, {{0, 0, 0x2000, 16, u, 16}, {0, 0, 0x2001, 16, u + 8, 16}}},
		{"duplicate", 3,
		 {{0, 0, 0x2000, 16, u, 16}, {0, 0, 0x2000, 16, u, 16}, {0, 0, 2, 24, u + 16, 24}}},
		{"timeout", 2, {{0xa4, 0, 0x2000, 16, u, 16}, {0, 0, 2, 24, u + 16, 24}}},
		{"ping-of-death", 3,
		 {{0, 1, 0x2000, 1480, u, 0}, {0, 1, 0x20b9, 1480, u, 0}, {0, 1, 0x1ff0, 1480, u, 0}}},
		{"icmp-echo", 2,
		 {{0, 4, 0x2000, 8, "\x08\0\0\0\0\0\0\0", 8}, {0, 4, 1, 8, "abcdefgh", 8}}},
		{"proto-99", 2, {{0, 0x0c, 0x2000, 8, u, 8}, {0, 0x0c, 1, 8, u, 8}}},
		{"jumbo", 2, {{0, 0, 0x2000, 8000, u, 16}, {0, 0, 1000, 100, u, 0}}},
		{"from-other", 2, {{0, 0x10, 0x2000, 16, u, 16}, {0, 0x10, 2, 24, u + 16, 24}}},
		{"two-lasts", 3,
		 {{0, 0, 0x2000, 16, u, 16}, {0, 0, 0x0001, 8, u, 8}, {0, 0, 0x0002, 8, u, 8}}},
	};
	udp(u, 9, 53, "0123456789abcdefghijklmnopqrstuv"); /* 40 bytes, checksum 0 */
	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
		b.n = 0;
		for (unsigned i = 0; i < seeds[k].n; i++) {
			const struct rfrag *g = &seeds[k].f[i];
			FRAG(g->t, g->sel, g->frag, g->len, g->payload, g->plen);
		}
		save("reasm", seeds[k].name, b.d, b.n);
	}
	b.n = 0;
	for (unsigned i = 0; i < 6; i++)
		FRAG(0, i & 3, 0x2000 | (i * 8), 64, u, 0);
	save("reasm", "many-ids", b.d, b.n);
#undef FRAG
}

static void gen_icmp(void)
{
	uint8_t m[600];
	size_t n;
	/* [flags][message]; with bit 3 only the 8-byte header is read, the
	 * harness appends a frame the stack sent (bits 4-6: which) */
	static const struct {
		const char *name;
		uint8_t flags, type, code;
		uint16_t mtu;
	} err[] = {
		{"unreach-port-0", 0x09, 3, 3, 0},   {"unreach-port-1", 0x19, 3, 3, 0},
		{"needfrag-0", 0x09, 3, 4, 576},     {"needfrag-2", 0x29, 3, 4, 300},
		{"unreach-host-3", 0x39, 3, 1, 0},   {"unreach-net-4", 0x49, 3, 0, 0},
		{"time-exceeded-5", 0x59, 11, 0, 0}, {"param-problem-6", 0x69, 12, 0, 0},
		{"quench-7", 0x79, 4, 0, 0},         {"redirect-0", 0x09, 5, 1, 0},
		{"proto-unreach-1", 0x19, 3, 2, 0},
	};
	for (size_t i = 0; i < sizeof(err) / sizeof(err[0]); i++) {
		m[0] = err[i].flags, m[1] = err[i].type, m[2] = err[i].code;
		memset(m + 3, 0, 6);
		tapir_put16(m + 7, err[i].mtu);
		save("icmp", err[i].name, m, 9);
	}
	m[0] = 1, n = 1 + icmp_echo(m + 1, 8, "ping data");
	save("icmp", "echo", m, n);
	m[0] = 1, n = 1 + icmp_echo(m + 1, 0, "pong");
	save("icmp", "echo-reply", m, n);
	m[0] = 5, n = 1 + icmp_echo(m + 1, 8, "bcast");
	save("icmp", "echo-broadcast", m, n);
	m[0] = 1, n = 1 + icmp_echo(m + 1, 13, "timestamp...");
	save("icmp", "timestamp", m, n);
	/* an error quoting something we never sent */
	m[0] = 1, m[1] = 3, m[2] = 3, memset(m + 3, 0, 6);
	n = 9 + ipv4(m + 9, W_US, W_PEER, 17, NULL, 0, m + 100, udp(m + 100, 4444, 53, "x"), 0);
	save("icmp", "unreach-unknown", m, n);
	m[0] = 0, n = 1 + icmp_echo(m + 1, 8, "badsum");
	save("icmp", "bad-checksum", m, n);
}

static void gen_udp(void)
{
	uint8_t d[600];
	size_t n;
#define DG(name, flags, sport, dport, text)                                             \
	(d[0] = flags, n = 1 + udp(d + 1, sport, dport, text), save("udp", name, d, n))
	DG("bound", 1, 1234, W_UDP_PORT, "query");
	DG("bound-read", 9, 1234, W_UDP_PORT, "query");
	DG("bound-full", 0x19, 1234, W_UDP_PORT, "a longer datagram than sixteen bytes");
	DG("connected", 9, W_UDPC_PPORT, W_UDPC_LPORT, "answer");
	DG("connected-wrong-peer", 1, 1111, W_UDPC_LPORT, "answer");
	DG("closed", 1, 1234, 9999, "nobody");
	DG("closed-bcast", 5, 1234, 9999, "nobody");
	DG("other-src", 3, 1234, W_UDP_PORT, "hi");
	DG("no-checksum", 0, 1234, W_UDP_PORT, "zero sum");
	DG("empty", 1, 1234, W_UDP_PORT, "");
	d[0] = 1, n = 1 + udp(d + 1, 1, 53, "xx"), tapir_put16(d + 5, 200);
	save("udp", "bad-length", d, n);
#undef DG
}

static void gen_tcp(void)
{
	uint8_t d[600], o[40];
	size_t n;
	/* flags 0x03: checksum fixed, seq/ack relative to the connection */
#define SEG(name, fl, sport, dport, seq, ack, flags, wnd, opt, ol, data)                \
	(d[0] = fl, n = 1 + tcph(d + 1, sport, dport, seq, ack, flags, wnd, opt, ol, data), \
	 save("tcp", name, d, n))
	SEG("srv-ack", 3, W_PASSIVE_PPORT, 80, 0, 1448, 0x10, 1024, opt_ts, 12, NULL);
	SEG("srv-data", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x18, 1024, opt_ts, 12, "hello there");
	SEG("srv-no-ts", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x18, 1024, NULL, 0, "hello there");
	SEG("srv-fin", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x11, 1024, opt_ts, 12, NULL);
	SEG("srv-rst", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x04, 0, NULL, 0, NULL);
	SEG("srv-rst-window", 3, W_PASSIVE_PPORT, 80, 100, 0, 0x04, 0, NULL, 0, NULL);
	SEG("srv-syn", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x02, 1024, opt_syn, 20, NULL);
	SEG("srv-ooo", 3, W_PASSIVE_PPORT, 80, 500, 0, 0x18, 1024, opt_ts, 12, "later bytes");
	SEG("srv-zero-window", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x10, 0, opt_ts, 12, NULL);
	SEG("srv-dupack", 0x13, W_PASSIVE_PPORT, 80, 0, 0, 0x10, 1024, opt_ts, 12, NULL);
	memcpy(o, opt_ts, 12);
	o[12] = 1, o[13] = 1, o[14] = 5, o[15] = 10;
	memset(o + 16, 0, 8);
	SEG("srv-sack-bad", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x10, 1024, o, 24, NULL);
	SEG("srv-urg", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x38, 1024, opt_ts, 12, "urgent");
	SEG("srv-dth", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x10, 1024, opt_ts, 12, NULL);
	d[13] |= 0x08; /* the RFC 9401 reserved bit: re-save with it */
	save("tcp", "srv-dth", d, n);
	SEG("cli-ack", 3, W_ACTIVE_PPORT, W_ACTIVE_LPORT, 0, 500, 0x10, 8192, NULL, 0, NULL);
	SEG("cli-sack", 3, W_ACTIVE_PPORT, W_ACTIVE_LPORT, 0, 0, 0x10, 8192, opt_sack, 12, NULL);
	SEG("cli-data-fin", 3, W_ACTIVE_PPORT, W_ACTIVE_LPORT, 0, 500, 0x19, 8192, NULL, 0,
	    "SSH-2.0-x\r\n");
	SEG("cli-old-ack", 3, W_ACTIVE_PPORT, W_ACTIVE_LPORT, 0, 0xfffff000, 0x10, 8192, NULL, 0,
	    NULL);
	SEG("cli-future-ack", 3, W_ACTIVE_PPORT, W_ACTIVE_LPORT, 0, 100000, 0x10, 8192, NULL, 0,
	    NULL);
	SEG("listen-syn", 1, 3333, 80, 77, 0, 0x02, 65535, opt_syn, 20, NULL);
	SEG("listen-syn-tiny-mss", 1, 3333, 80, 77, 0, 0x02, 65535, (const uint8_t *)"\x02\x04\x00\x01", 4,
	    NULL);
	SEG("listen-ack", 1, 3333, 80, 77, 99, 0x10, 65535, NULL, 0, NULL);
	SEG("listen-syn-data", 1, 3333, 80, 77, 0, 0x02, 65535, NULL, 0, "early data");
	SEG("closed-syn", 1, 3333, 81, 77, 0, 0x02, 65535, NULL, 0, NULL);
	SEG("closed-rst", 1, 3333, 81, 77, 0, 0x04, 0, NULL, 0, NULL);
	memcpy(o, "\x01\x03\x03\x0e\x02\x04\x05\xb4\x05\x02\x1e\x28\xff", 13);
	SEG("bad-options", 3, W_PASSIVE_PPORT, 80, 0, 0, 0x10, 1024, o, 13, NULL);
	d[0] = 1, n = 1 + tcph(d + 1, 1, 80, 0, 0, 2, 0, NULL, 0, NULL), d[13] = 0x10;
	save("tcp", "bad-offset", d, n);
#undef SEG
}

/* ---- the whole-path harness: sequences of records ---- */

static void r_tcp(struct buf *b, uint8_t kind, uint8_t t, unsigned conn, uint8_t flags,
		  int dseq, int dack, unsigned wnd, const uint8_t *opt, size_t ol, unsigned dlen)
{
	b8(b, 1 | kind), b8(b, t), b8(b, conn), b8(b, flags);
	b16(b, (unsigned)dseq & 0xffff), b16(b, (unsigned)dack & 0xffff), b16(b, wnd);
	b8(b, (unsigned)ol), bmem(b, opt, ol), b16(b, dlen);
}
static void r_app(struct buf *b, uint8_t t, unsigned op, unsigned s, unsigned amount)
{
	b8(b, 2), b8(b, t), b8(b, op), b8(b, s), b8(b, amount);
}

static void gen_stack(void)
{
	struct buf b;
	uint8_t f[600], l4[64];
	size_t n;
	const uint8_t TS = 8; /* kind bit: append a timestamp */

	/* the accepted connection: ACK our data, send a request, close */
	b.n = 0;
	r_tcp(&b, TS, 0x21, 0, 0x10, 0, 1448, 1024, NULL, 0, 0);
	r_tcp(&b, TS, 0x21, 0, 0x18, 0, 0, 1024, NULL, 0, 100);
	r_tcp(&b, TS, 0x22, 0, 0x10, 0, 3000, 1024, NULL, 0, 0);
	r_tcp(&b, TS, 0x21, 0, 0x11, 0, 0, 1024, NULL, 0, 0);
	r_app(&b, 0x21, 3, 0, 0);
	r_tcp(&b, TS, 0x41, 0, 0x10, 0, 1, 1024, NULL, 0, 0);
	save("stack", "srv-request-close", b.d, b.n);

	/* a new connection through the listener: SYN, ACK, data, RST */
	b.n = 0;
	r_tcp(&b, 0, 0x21, 2, 0x02, 0, 0, 65535, opt_syn, 20, 0);
	r_tcp(&b, 0, 0x21, 2, 0x10, 0, 1, 512, NULL, 0, 0);
	r_tcp(&b, 0, 0x21, 2, 0x18, 0, 0, 512, NULL, 0, 300);
	r_app(&b, 0x21, 0, 2, 40);
	r_tcp(&b, 0, 0x41, 2, 0x14, 0, 0, 0, NULL, 0, 0);
	save("stack", "new-conn-rst", b.d, b.n);

	/* wrapping sequence numbers, out of order data, SACKs */
	b.n = 0;
	r_tcp(&b, 0, 0x21, 3, 0x02, 0, 0, 65535, opt_syn, 16, 0);
	r_tcp(&b, 0, 0x21, 3, 0x10, 0, 1, 512, NULL, 0, 0);
	r_tcp(&b, 0, 0x21, 3, 0x10, 100, 0, 512, NULL, 0, 50);
	r_tcp(&b, 0, 0x21, 3, 0x10, 0, 0, 512, NULL, 0, 100);
	r_tcp(&b, 0, 0x21, 3, 0x10, 200, 0, 512, NULL, 0, 1000);
	save("stack", "wrap-ooo", b.d, b.n);

	/* the opened connection: zero window, persist, window opens */
	b.n = 0;
	r_tcp(&b, 0, 0x21, 1, 0x10, 0, 0, 0, NULL, 0, 0);
	r_app(&b, 0x85, 0, 1, 200);
	r_tcp(&b, 0, 0x21, 1, 0x10, 0, 500, 8192, NULL, 0, 0);
	save("stack", "cli-zero-window", b.d, b.n);

	/* SACK blocks and duplicate ACKs: fast retransmit */
	b.n = 0;
	r_app(&b, 0x01, 0, 1, 255);
	for (int i = 0; i < 4; i++) {
		uint8_t o[12] = {1, 1, 5, 10};
		tapir_put32(o + 4, 0), tapir_put32(o + 8, 0); /* filled by the fuzzer's mutations */
		r_tcp(&b, 0, 0x01, 1, 0x10, 0, 0, 8192, o, 12, 0);
	}
	r_tcp(&b, 0, 0x25, 1, 0x10, 0, 4000, 8192, NULL, 0, 0);
	save("stack", "cli-dupacks", b.d, b.n);

	/* retransmissions until the connections die */
	b.n = 0;
	b8(&b, 0), b8(&b, 0xdf), b16(&b, 0);
	b8(&b, 0), b8(&b, 0xdf), b16(&b, 0);
	save("stack", "timeouts", b.d, b.n);

	/* ICMP errors quoting our frames */
	b.n = 0;
	b8(&b, 4), b8(&b, 0x21), b8(&b, 3), b8(&b, 4), b8(&b, 0), b16(&b, 576);
	b8(&b, 4), b8(&b, 0x21), b8(&b, 3), b8(&b, 1), b8(&b, 9), b16(&b, 0);
	b8(&b, 4), b8(&b, 0x21), b8(&b, 11), b8(&b, 0), b8(&b, 2), b16(&b, 0);
	save("stack", "icmp-errors", b.d, b.n);

	/* UDP: datagrams in, reads, sends; an error on the connected socket */
	b.n = 0;
	b8(&b, 3), b8(&b, 0x21), b8(&b, 0), b8(&b, 4);
	b8(&b, 3), b8(&b, 0x21), b8(&b, 1), b8(&b, 2);
	r_app(&b, 0x21, 10, 0, 64);
	r_app(&b, 0x21, 9, 0, 10);
	b8(&b, 4), b8(&b, 0x21), b8(&b, 3), b8(&b, 3), b8(&b, 0), b16(&b, 0);
	r_app(&b, 0x21, 9, 0, 10);
	save("stack", "udp", b.d, b.n);

	/* an active open of our own, answered, then both sides close */
	b.n = 0;
	r_app(&b, 0x21, 5, 2, 0);
	r_tcp(&b, 0, 0x21, 6, 0x12, 0, 1, 4096, (const uint8_t *)"\x02\x04\x02\x18", 4, 0);
	r_app(&b, 0x21, 0, 2, 10);
	r_tcp(&b, 0, 0x21, 6, 0x11, 0, 161, 4096, NULL, 0, 0);
	r_app(&b, 0x21, 3, 2, 0);
	r_tcp(&b, 0, 0x21, 6, 0x10, 1, 1, 4096, NULL, 0, 0);
	save("stack", "connect-close", b.d, b.n);

	/* keepalive on, and an application that stops reading */
	b.n = 0;
	r_app(&b, 0x01, 6, 1, 1 | 0x10);
	r_app(&b, 0x01, 6, 1, 2);
	r_app(&b, 0x01, 1, 0, 0);
	r_tcp(&b, 0, 0x21, 1, 0x18, 0, 500, 8192, NULL, 0, 1500);
	r_tcp(&b, 0, 0x21, 1, 0x18, 1500, 500, 8192, NULL, 0, 1500);
	r_tcp(&b, 0, 0x21, 1, 0x18, 3000, 500, 8192, NULL, 0, 1500);
	b8(&b, 0), b8(&b, 0xcf), b16(&b, 0);
	save("stack", "keepalive-no-read", b.d, b.n);

	/* raw frames: an ARP request, an echo, fragments */
	b.n = 0;
	n = w_eth(f, 0x0806), memset(f, 0xff, 6), n += arp(f + n, 1, w_mac_peer, W_PEER, W_US);
	b8(&b, 0), b8(&b, 0x21), b16(&b, (unsigned)n), bmem(&b, f, n);
	n = ipv4(f, W_PEER, W_US, 1, NULL, 0, l4, icmp_echo(l4, 8, "ping"), 0);
	b8(&b, 0x18), b8(&b, 0x21), b16(&b, (unsigned)n), bmem(&b, f, n);
	n = ipv4(f, W_PEER, W_US, 17, NULL, 0, l4, udp(l4, 9, 53, "0123456789abcdef"), 0x2000);
	f[3] = 36, f[2] = 0; /* total 36: the first 16 bytes of the UDP datagram */
	w_fix_checksums(f, 36);
	b8(&b, 0x18), b8(&b, 0x21), b16(&b, 36), bmem(&b, f, 36);
	save("stack", "raw-frames", b.d, b.n);

	/* simultaneous close on the accepted connection */
	b.n = 0;
	r_tcp(&b, TS, 0x21, 0, 0x10, 0, 3000, 1024, NULL, 0, 0);
	r_app(&b, 0x00, 3, 0, 0);
	r_tcp(&b, TS, 0x21, 0, 0x11, 0, 0, 1024, NULL, 0, 0);
	r_tcp(&b, TS, 0x21, 0, 0x10, 1, 1, 1024, NULL, 0, 0);
	save("stack", "simultaneous-close", b.d, b.n);
}

/* fuzz_dhcp: [mode][time][message]; every seed with our xid written in */
static void gen_dhcp(void)
{
	static const struct {
		const char *name;
		uint8_t mode, time, type;
	} seeds[] = {
		{"offer", 4, 0, 2},       {"ack", 1 | 4, 4 * 32 + 5, 5}, {"nak", 1 | 4, 0, 6},
		{"renew-ack", 2 | 4 | 8, 0, 5}, {"renew-nak", 2 | 4 | 8, 0, 6},
		{"rebind-ack", 3 | 4, 0, 5}, {"ack-conflict", 1 | 4 | 16, 4 * 32 + 3, 5},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		uint8_t d[302];
		d[0] = seeds[i].mode;
		d[1] = seeds[i].time;
		save("dhcp", seeds[i].name, d,
		     2 + w_dhcp_msg(d + 2, seeds[i].type, 0, W_DHCP_ADDR, 1000));
	}
}

/* fuzz_dhcp6: [mode][time][message]; a Reply with a server id, DNS
 * servers, a search list and a refresh time (the harness writes in our
 * xid, bit 0, and appends our client id, bit 1) */
static void gen_dhcp6(void)
{
	static const uint8_t reply[] = {
		7, 0, 0, 0,
		0, 2, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 1,                /* server id */
		0, 23, 0, 32, 0xfd, [37] = 0x53, 0xfd, [53] = 0x54,      /* fd00::53, ::54 */
		0, 24, 0, 14, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
		0, 32, 0, 4, 0, 0, 3, 0xe8,                              /* refresh 1000 s */
		0, 83, 0, 4, 0, 0, 0, 120,                               /* INF_MAX_RT */
	};
	static const uint8_t status[] = {7, 0, 0, 0, 0, 2, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 1,
					 0, 13, 0, 6, 0, 1, 'f', 'a', 'i', 'l'};
	static const struct {
		const char *name;
		uint8_t mode, time;
		const uint8_t *m;
		size_t n;
	} seeds[] = {
		{"reply-ra", 1 | 2, 0, reply, sizeof(reply)},
		{"reply-now", 1 | 2 | 4, 4 * 32 + 5, reply, sizeof(reply)},
		{"reply-twice", 1 | 2 | 16, 0, reply, sizeof(reply)},
		{"reply-refresh", 1 | 2 | 32, 0, reply, sizeof(reply)},
		{"reply-no-client-id", 1, 0, reply, sizeof(reply)},
		{"status-fail", 1 | 2, 6 * 32 + 3, status, sizeof(status)},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		uint8_t d[2 + sizeof(reply)];
		d[0] = seeds[i].mode;
		d[1] = seeds[i].time;
		memcpy(d + 2, seeds[i].m, seeds[i].n);
		save("dhcp6", seeds[i].name, d, 2 + seeds[i].n);
	}
}

/* fuzz_ipv6 records: [time][nh][len hi][len lo][payload] */
static void rec6(struct buf *b, uint8_t t, uint8_t nh, const uint8_t *p, size_t n)
{
	b8(b, t), b8(b, nh), b16(b, (unsigned)n), bmem(b, p, n);
}

static void gen_ipv6(void)
{
	/* a 16-byte echo request with its checksum (fd00::1 -> fd00::2), to be
	 * sent whole or in two fragments (RFC 8200 4.5) */
	uint8_t e[16], fr[2][8 + 8];
	struct buf b;
	size_t n = icmp_echo(e, 128, "fragment");
	tapir_put16(e + 2, tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo6(w_peer6, w_us6, 58, (uint32_t)n), e, n)));
	for (int k = 0; k < 2; k++) {
		static const uint8_t h[2][8] = {{58, 0, 0, 1, 0, 0, 0, 7}, {58, 0, 0, 8, 0, 0, 0, 7}};
		memcpy(fr[k], h[k], 8);
		memcpy(fr[k] + 8, e + 8 * k, 8);
	}
	b.n = 0, b8(&b, 1), rec6(&b, 0, 58, e, n);
	save("ipv6", "echo", b.d, b.n);
	b.n = 0, b8(&b, 0), rec6(&b, 1, 44, fr[0], 16), rec6(&b, 1, 44, fr[1], 16);
	save("ipv6", "frag-pair", b.d, b.n);
	b.n = 0, b8(&b, 0), rec6(&b, 1, 44, fr[1], 16), rec6(&b, 1, 44, fr[0], 16);
	save("ipv6", "frag-reversed", b.d, b.n);
	/* RFC 5722: an overlapping fragment discards the whole datagram */
	fr[1][3] = 0;
	b.n = 0, b8(&b, 0), rec6(&b, 1, 44, fr[0], 16), rec6(&b, 1, 44, fr[1], 16);
	save("ipv6", "frag-overlap", b.d, b.n);
	/* a lone first fragment: the 60 s timeout and its time exceeded */
	b.n = 0, b8(&b, 8), rec6(&b, 6 * 32 + 2, 44, fr[0], 16);
	save("ipv6", "frag-timeout", b.d, b.n);
	{
		/* hop-by-hop with an unknown option whose type says discard and
		 * send a parameter problem (RFC 8200 4.2: 10xxxxxx) */
		uint8_t p[8 + 16] = {58, 0, 0x85, 4, 0, 0, 0, 0};
		memcpy(p + 8, e, 16);
		b.n = 0, b8(&b, 1), rec6(&b, 0, 0, p, sizeof(p));
		save("ipv6", "hbh-unknown-option", b.d, b.n);
		/* routing header type 0 with segments left (RFC 5095: deprecated) */
		memset(p, 0, 24), p[0] = 58, p[1] = 2, p[2] = 0, p[3] = 1;
		b.n = 0, b8(&b, 1), rec6(&b, 0, 43, p, 24);
		save("ipv6", "routing-type0", b.d, b.n);
		/* destination options, PadN, then the echo */
		memset(p, 0, 8), p[0] = 58, p[2] = 1, p[3] = 4;
		memcpy(p + 8, e, 16);
		b.n = 0, b8(&b, 1), rec6(&b, 0, 60, p, 24);
		save("ipv6", "dstopts-echo", b.d, b.n);
	}
	b.n = 0, b8(&b, 0), rec6(&b, 0, 99, e, 16);
	save("ipv6", "unknown-next-header", b.d, b.n);
	b.n = 0, b8(&b, 4), rec6(&b, 0, 59, NULL, 0);
	save("ipv6", "no-next-header", b.d, b.n);
}

static void gen_icmp6(void)
{
	uint8_t m[64];
	struct {
		const char *name;
		uint8_t fl;
		uint8_t h[8];
	} seeds[] = {
		{"ptb-1280", 1 | 8, {2, 0, 0, 0, 0, 0, 5, 0}},
		{"ptb-too-small", 1 | 8, {2, 0, 0, 0, 0, 0, 1, 0xf4}},
		{"unreach-port", 1 | 8 | 16, {1, 4, 0, 0, 0, 0, 0, 0}},
		{"time-exceeded", 1 | 8, {3, 0, 0, 0, 0, 0, 0, 0}},
		{"param-problem", 1 | 8, {4, 1, 0, 0, 0, 0, 0, 6}},
		{"unknown-error", 1 | 8, {5, 0, 0, 0, 0, 0, 0, 0}},
		{"unknown-info", 1, {200, 0, 0, 0, 0, 0, 0, 0}},
		{"echo-reply", 1, {129, 0, 0, 0, 0x42, 0x42, 0, 1}},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		m[0] = seeds[i].fl;
		memcpy(m + 1, seeds[i].h, 8);
		save("icmp6", seeds[i].name, m, 9);
	}
	m[0] = 1, save("icmp6", "echo", m, 1 + icmp_echo(m + 1, 128, "ping6"));
	m[0] = 1 | 4, save("icmp6", "echo-multicast", m, 1 + icmp_echo(m + 1, 128, "ping6"));
	m[0] = 0x80, save("icmp6", "bad-checksum", m, 1 + icmp_echo(m + 1, 128, "ping6"));
}

/* fuzz_nd: [flags][time][message] */
static void nd_save(const char *name, uint8_t fl, uint8_t t, const struct buf *m)
{
	struct buf b;
	b.n = 0, b8(&b, fl), b8(&b, t), bmem(&b, m->d, m->n);
	save("nd", name, b.d, b.n);
}

static void gen_nd(void)
{
	static const uint8_t pfx[16] = {0x20, 1, 0xd, 0xb8, 0, 1};
	static const uint8_t other[16] = {0xfe, 0x80, [15] = 5};
	struct buf m;
	/* RA (RFC 4861 4.2): source link-layer, MTU, a prefix for SLAAC */
	for (int k = 0; k < 3; k++) {
		m.n = 0, b8(&m, 134), b8(&m, 0), b16(&m, 0), b8(&m, 64), b8(&m, 0), b16(&m, 1800);
		b16(&m, 0), b16(&m, 0), b16(&m, 0), b16(&m, 0);
		b8(&m, 1), b8(&m, 1), bmem(&m, w_mac_peer, 6);
		b8(&m, 5), b8(&m, 1), b16(&m, 0), b16(&m, 0), b16(&m, 1400);
		b8(&m, 3), b8(&m, 4), b8(&m, 64), b8(&m, 0xc0);
		b16(&m, 0), b16(&m, k == 1 ? 30 : 7200), b16(&m, 0), b16(&m, k == 1 ? 20 : 3600);
		b16(&m, 0), b16(&m, 0), bmem(&m, pfx, 16);
		if (k == 2)
			b8(&m, 1), b8(&m, 0); /* a zero-length option: RFC 4861 4.6 drop */
		nd_save(k == 0 ? "ra-prefix" : k == 1 ? "ra-prefix-expires" : "ra-zero-length-option",
			1 | 1 << 4 | (k == 1 ? 0x40 : 0), k == 1 ? 6 * 32 + 1 : 0, &m);
	}
	/* NS for our address, with the peer's link-layer address */
	m.n = 0, b8(&m, 135), b8(&m, 0), b16(&m, 0), b16(&m, 0), b16(&m, 0), bmem(&m, w_us6, 16);
	b8(&m, 1), b8(&m, 1), bmem(&m, w_mac_peer, 6);
	nd_save("ns", 1 | 2 << 4, 0, &m);
	nd_save("ns-hop-limit-64", 1 | 2 | 2 << 4, 0, &m);
	m.n -= 8; /* RFC 4862 5.4.3: DAD, from ::, no link-layer option */
	nd_save("ns-dad", 1 | 2 << 2 | 2 << 4, 0, &m);
	/* an unsolicited NA with override for fe80::1 */
	m.n = 0, b8(&m, 136), b8(&m, 0), b16(&m, 0), b8(&m, 0x20), b8(&m, 0), b16(&m, 0);
	bmem(&m, w_peer_ll, 16), b8(&m, 2), b8(&m, 1), bmem(&m, w_mac_peer, 6);
	nd_save("na-override", 1 | 1 << 4, 0, &m);
	/* RS from a host (we are not a router: ignored) */
	m.n = 0, b8(&m, 133), b8(&m, 0), b16(&m, 0), b16(&m, 0), b16(&m, 0);
	b8(&m, 1), b8(&m, 1), bmem(&m, w_mac_peer, 6);
	nd_save("rs", 1 | 3 << 2 | 3 << 4, 0, &m);
	/* redirect (RFC 4861 4.5): to fe80::5 for 2001:db8:1::1 */
	m.n = 0, b8(&m, 137), b8(&m, 0), b16(&m, 0), b16(&m, 0), b16(&m, 0);
	bmem(&m, other, 16), bmem(&m, pfx, 15), b8(&m, 1);
	b8(&m, 2), b8(&m, 1), bmem(&m, w_mac_peer, 6);
	b8(&m, 4), b8(&m, 1), b16(&m, 0), b16(&m, 0), b16(&m, 0);
	nd_save("redirect", 1, 0, &m);
}

int main(int argc, char **argv)
{
	struct world w;
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) && errno != EEXIST) {
		perror(root);
		return 1;
	}
	world_init(&w, W_TCP | W_UDP);
	gen_ether();
	gen_arp();
	gen_ipv4(&w);
	gen_reasm();
	gen_icmp();
	gen_udp();
	gen_tcp();
	gen_stack();
	gen_dhcp();
	gen_dhcp6();
	gen_ipv6();
	gen_icmp6();
	gen_nd();
	world_finish(&w, true);
	return 0;
}
