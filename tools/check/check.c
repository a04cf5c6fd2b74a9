/* tapir check: is that port listening?  Many hosts and ports, fewest packets.
 *
 * Every (host, port) pair is a probe with a slot in one array; probes go out
 * in rounds, each round in a fresh keyed random order across all hosts and
 * ports, paced by a token bucket (sched.c).  A round re-sends only the
 * probes that have no answer yet; a probe nobody answered after the last
 * round is `filtered`.  Three engines send them (engine.h):
 *
 *  connect  unprivileged connect()s (probe_connect.c)
 *  syn      raw SYNs with keyed cookies, replies from libpcap (probe_syn.c)
 *  stack    the same SYNs from tapir's own stack and address (probe_stack.c)
 *
 * This file: the command line, the targets and the output.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <tapir/addr.h>
#include <tapir/stack.h>

#include "banner.h"
#include "engine.h"
#include "commands.h"
#include "util.h"
#include "shared.h"

static const char check_usage[] =
	"usage: tapir check [options] HOST:PORTS...\n"
	"\n"
	"Tells which TCP ports listen: open (SYN/ACK), closed (RST) or filtered\n"
	"(ICMP unreachable, or no answer after the retries), with the round-trip time.\n"
	"HOST is an IPv4 address, a name, a CIDR block, or an IPv6 address or prefix\n"
	"(/112 or longer) in brackets: [2001:db8::1]:80; PORTS is 80, 1-1024 or\n"
	"22,80,8000-8010.  Probes go out in a random order across hosts and ports.\n"
	"\n"
	"  --mode MODE     auto (default: syn with CAP_NET_RAW, else connect),\n"
	"                  connect (unprivileged connect()s), syn (raw SYNs),\n"
	"                  stack (tapir's own stack and address: needs --iface or\n"
	"                  --tap, and --addr)\n"
	"  --rate PPS      probes per second, all hosts together (default 1000)\n"
	"  --retries N     re-probe unanswered ports N more times (default 2)\n"
	"  --timeout MS    wait at most this long for an answer (default 1000); the wait\n"
	"                  adapts to the round-trip times seen, like TCP's RTO\n"
	"  --json          one JSON object per line: host, port, state, rtt_ms\n"
	"  --open-only     print open ports only\n"
	"  --udp           UDP ports instead (as nmap -sU): a request of the port's\n"
	"                  protocol (DNS 53, NTP 123, SNMP 161, NetBIOS 137, RPC 111,\n"
	"                  SSDP 1900, mDNS 5353, memcached 11211; else empty): open\n"
	"                  when it answers, closed on ICMP port unreachable,\n"
	"                  filtered on other ICMP unreachables, else open|filtered\n"
	"  --banners       (--mode stack) then connect to each open port and report what\n"
	"                  the service says: HTTP ports (80, 8000, 8080, ...) the status\n"
	"                  line and Server header of GET /; TLS ports (443, 993, 995,\n"
	"                  465, 8443, ...) the certificate's subject and issuer (a TLS 1.2\n"
	"                  ClientHello, SNI for a name); other ports the first line\n"
	"  --banner-wait MS  wait this long after the handshake (default 2000)\n"
	"  --banner-bytes N  read at most N bytes from a service (default 16384; TLS\n"
	"                  ports: 16384), then RST if it says more\n"
	"  --banner-conns N  connections to one host at once (default 4)\n"
	"  -oX FILE        also write nmap's XML to FILE (-: to stdout, instead of\n"
	"                  the lines), for ndiff and the other readers of nmap XML\n"
	"\n"
	"Splitting and resuming a scan (as masscan and zmap do):\n"
	"  --seed N        the order of the probes, from N (0 to 2^64-1): the same\n"
	"                  seed and targets give the same order on every machine\n"
	"  --shard I/N     probe only shard I of N (1 <= I <= N): every N-th probe of\n"
	"                  the seeded order, so N runs with the same --seed and the\n"
	"                  same targets (in the same order) share them out, disjoint,\n"
	"                  none left out; needs --seed\n"
	"  --exclude FILE  never probe the addresses in FILE: an address or CIDR block\n"
	"                  (IPv4 or IPv6) per line; # comments and blank lines allowed\n"
	"  --resume FILE   on SIGINT or SIGTERM: print the ports answered so far, save\n"
	"                  the seed, targets and progress in FILE, exit 3; then\n"
	"                  tapir check --resume FILE (alone) probes the rest and\n"
	"                  removes FILE: the two outputs hold every port once\n"
	"\n"
	"--mode stack only:\n"
	"  --iface IF      send and receive on interface IF (AF_PACKET), beside the\n"
	"                  kernel's stack, with tapir's own MAC and address\n"
	"  --tap NAME      or on the TAP device NAME (created when absent)\n"
	"  --shared-addr   with --iface: IF's own MAC and addresses (IPv4, and its\n"
	"                  global IPv6 one), beside the kernel;\n"
	"                  probes from tapir's own ports (an nftables table keeps the\n"
	"                  kernel from resetting the answers; docs/shared-addr.md)\n"
	"  --ports A-B     those ports (default 61000-65535)\n"
	"  --shared-addr6 ADDR  which of IF's global IPv6 addresses to share (default:\n"
	"                  a stable one before a temporary one)\n"
	"  --peer-addr A.B.C.D/LEN  with --tap: the kernel's address on the TAP; an\n"
	"                  IPv6 one too (fd00::1/64: twice, one of each family)\n"
	"  --addr A.B.C.D/LEN       tapir's address and prefix (required); for IPv6\n"
	"                  targets an IPv6 one (fd00::9/64), or both: --addr twice\n"
	"  --gateway IP    the router for targets off that subnet; an IPv6 one too\n"
	"                  (fe80::1 or on the IPv6 prefix: twice, one of each family).\n"
	"                  Without an IPv6 one, off-link IPv6 targets go through the\n"
	"                  router that router discovery finds (RFC 4861)\n"
	"  --mac MAC       tapir's MAC (default: random, locally administered)\n"
	"\n"
	"Exit status: 0 every port open, 1 some closed or filtered, 2 error,\n"
	"3 interrupted with --resume (FILE written).\n";

enum { CHECK_OPT_SHARED = 1000, CHECK_OPT_PORTS, CHECK_OPT_BANNERS, CHECK_OPT_BWAIT,
       CHECK_OPT_BBYTES, CHECK_OPT_BCONNS, CHECK_OPT_SHARED6 }; /* long options only */

#define MAX_PROBES (1u << 23) /* 12 bytes each: ~100 MB at most */

static void on_signal(int sig)
{
	(void)sig;
	check_interrupted = 1;
}

/* ---- targets ---- */

void *check_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		die("out of memory");
	return p;
}

void *check_realloc(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n, size);
	if (!p)
		die("out of memory");
	return p;
}

struct add_ctx {
	struct check *c;
	uint32_t set;
	uint32_t memo_old, memo_new; /* last union made: a CIDR block's hosts share it */
	bool memo;
};

static uint32_t union_sets(struct check *c, uint32_t a, uint32_t b)
{
	struct portset *x = &c->sets[a], *y = &c->sets[b], u;
	size_t i = 0, j = 0;
	u.p = check_calloc(x->n + y->n, sizeof(*u.p));
	u.n = 0;
	while (i < x->n || j < y->n) {
		uint16_t v;
		if (j >= y->n || (i < x->n && x->p[i] < y->p[j]))
			v = x->p[i++];
		else if (i >= x->n || y->p[j] < x->p[i])
			v = y->p[j++];
		else {
			v = x->p[i++];
			j++;
		}
		u.p[u.n++] = v;
	}
	c->sets = check_realloc(c->sets, c->nsets + 1, sizeof(*c->sets));
	c->sets[c->nsets] = u;
	return (uint32_t)c->nsets++;
}

static void on_host(void *arg, size_t idx, int is_new)
{
	struct add_ctx *a = arg;
	struct nu_host *h = &a->c->hosts.v[idx];
	if (is_new) {
		h->portset = a->set;
		return;
	}
	/* the same host in two targets (a:22 a:80): probe the union once */
	if (h->portset == a->set)
		return;
	if (!(a->memo && a->memo_old == h->portset)) {
		a->memo_old = h->portset;
		a->memo_new = union_sets(a->c, h->portset, a->set);
		a->memo = true;
	}
	h->portset = a->memo_new;
}

void check_add_target(struct check *c, char *t)
{
	const char *ports;
	char err[256], *host;
	struct add_ctx a = {.c = c};
	struct portset ps;
	if (nu_split_target(t, &host, &ports, err, sizeof(err)))
		die("check: %s", err);
	c->tstr = check_realloc(c->tstr, c->ntstr + 1, sizeof(*c->tstr));
	c->tstr[c->ntstr++] = host; /* kept: a name is printed as given */
	if (nu_parse_ports(ports, &ps.p, &ps.n, err, sizeof(err)))
		die("check: %s", err);
	c->sets = check_realloc(c->sets, c->nsets + 1, sizeof(*c->sets));
	c->sets[c->nsets] = ps;
	a.set = (uint32_t)c->nsets++;
	if (nu_hosts_add(&c->hosts, host, on_host, &a, err, sizeof(err)))
		die("check: %s", err);
}

static void index_probes(struct check *c)
{
	size_t i;
	c->off = check_calloc(c->hosts.n + 1, sizeof(*c->off));
	c->total = 0;
	for (i = 0; i < c->hosts.n; i++) {
		c->off[i] = c->total;
		c->total += c->sets[c->hosts.v[i].portset].n;
		if (c->total > MAX_PROBES)
			die("check: more than %u host:port pairs in one run", MAX_PROBES);
	}
	c->off[c->hosts.n] = c->total;
	c->per_host = c->hosts.n ? c->off[1] : 0;
	for (i = 1; i < c->hosts.n && c->per_host; i++)
		if (c->off[i + 1] - c->off[i] != c->per_host)
			c->per_host = 0;
	c->pr = check_calloc(c->total, sizeof(*c->pr));
}

static size_t host_of(const struct check *c, uint64_t idx)
{
	size_t lo = 0, hi = c->hosts.n; /* off[lo] <= idx < off[hi] */
	if (c->per_host) /* (every host the same ports: no search) */
		return (size_t)(idx / c->per_host);
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->off[mid] <= idx)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static uint16_t port_of(const struct check *c, size_t h, uint64_t idx)
{
	return c->sets[c->hosts.v[h].portset].p[idx - c->off[h]];
}

void check_target_of(const struct check *c, uint64_t idx, struct check_target *t)
{
	size_t h = host_of(c, idx);
	*t = (struct check_target){.addr = c->hosts.v[h].addr,
				   .port = port_of(c, h, idx), .host = h, .idx = idx,
				   .try = c->pr[idx].tries};
}

long long check_probe_of(const struct check *c, const struct nu_addr *addr, uint16_t port)
{
	long h = nu_hosts_find(&c->hosts, addr);
	const struct portset *ps;
	size_t lo = 0, hi;
	if (h < 0)
		return -1;
	ps = &c->sets[c->hosts.v[h].portset];
	hi = ps->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ps->p[mid] < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ps->n && ps->p[lo] == port)
		return (long long)(c->off[h] + lo);
	return -1;
}

/* ---- the command ---- */

/* An IPv6 ADDR/PLEN a host may hold (RFC 4291 2.5): 0, or -1 */
static int ipv6_option(const char *arg, uint8_t a[16], unsigned *plen)
{
	if (tapir_parse_ipv6(arg, a, plen) || !strchr(arg, '/') || *plen == 0 || *plen > 128)
		return -1;
	if (tapir_ipv6_is_unspecified(a) || tapir_ipv6_is_martian_source(a) ||
	    tapir_ipv6_is_link_local(a))
		return -1;
	return 0;
}

/* OPT's IPv6 address and prefix (one at most, beside one IPv4), into
 * A/PLEN; EXAMPLE shows a good one in the error */
static void addr6_once(const char *opt, const char *arg, bool *have, uint8_t a[16], unsigned *plen,
		       const char *example)
{
	if (*have)
		die("check: %s: one IPv6 address (and one IPv4), not two", opt);
	if (ipv6_option(arg, a, plen))
		die("check: %s: '%s' is not an IPv6 address and prefix such as %s", opt, arg, example);
	*have = true;
}

/* A --mode stack option: into c->stack, remembering the first one given
 * (it is an error in other modes).  0 when OPT is none of them. */
static int stack_option(struct check_stack_cfg *s, int opt, const char *arg, const char **first)
{
	const char *name;
	switch (opt) {
	case 'I': s->iface = arg; name = "--iface"; break;
	case 'T': s->tap_name = arg; name = "--tap"; break;
	case 'A':
		name = "--addr";
		if (strchr(arg, ':')) { /* an IPv6 prefix, as tapir host takes */
			addr6_once("--addr", arg, &s->have_addr6, s->my6, &s->my6_plen, "fd00::9/64");
			break;
		}
		if (s->have_addr)
			die("check: --addr: one IPv4 address (and one IPv6), not two");
		if (tapir_parse_cidr(arg, &s->my_addr, &s->my_plen) || s->my_plen == 0 ||
		    s->my_plen > 30)
			die("check: --addr: '%s' is not an address and prefix such as 10.0.0.9/24 (/1 to /30)",
			    arg);
		s->have_addr = true;
		name = "--addr";
		break;
	case 'G':
		name = "--gateway";
		if (strchr(arg, ':')) {
			if (s->have_gw6)
				die("check: --gateway: one IPv6 router (and one IPv4), not two");
			if (tapir_parse_ipv6(arg, s->gw6, NULL) || tapir_ipv6_is_unspecified(s->gw6) ||
			    tapir_ipv6_is_martian_source(s->gw6))
				die("check: --gateway: '%s' is not a unicast IPv6 address such as fe80::1", arg);
			s->have_gw6 = true;
			break;
		}
		if (s->have_gw)
			die("check: --gateway: one IPv4 router (and one IPv6), not two");
		if (tapir_parse_ipv4(arg, &s->gw))
			die("check: --gateway: '%s' is not an IPv4 address", arg);
		s->have_gw = true;
		name = "--gateway";
		break;
	case 'M':
		if (tapir_parse_mac(arg, s->mac) || (s->mac[0] & 1))
			die("check: --mac: '%s' is not a unicast MAC such as 02:00:00:00:00:01", arg);
		s->have_mac = true;
		name = "--mac";
		break;
	case CHECK_OPT_SHARED: s->want_shared = true; name = "--shared-addr"; break;
	case CHECK_OPT_PORTS: s->ports = arg; name = "--ports"; break;
	case CHECK_OPT_SHARED6: s->shared6 = arg; name = "--shared-addr6"; break;
	case 'P':
		name = "--peer-addr";
		if (strchr(arg, ':')) {
			addr6_once("--peer-addr", arg, &s->have_peer6, s->peer6, &s->peer6_plen,
				   "fd00::1/64");
			break;
		}
		if (tapir_parse_cidr(arg, &s->peer, &s->peer_plen) || s->peer_plen == 0)
			die("check: --peer-addr: '%s' is not an address and prefix such as 10.0.0.1/24",
			    arg);
		s->have_peer = true;
		name = "--peer-addr";
		break;
	default:
		return 0;
	}
	if (!*first)
		*first = name;
	return 1;
}

/* --shared-addr: the interface's address, prefix, MAC and gateway become
 * tapir's, its ports checked against the kernel's (shared.c). */
static void shared_options(struct check_stack_cfg *s)
{
	char err[256];
	if (!s->want_shared) {
		if (s->ports || s->shared6)
			die("check: %s goes with --shared-addr", s->ports ? "--ports" : "--shared-addr6");
		return;
	}
	if (!s->iface || s->tap_name || s->have_addr || s->have_addr6 || s->have_mac || s->have_peer ||
	    s->have_peer6)
		die("check: --shared-addr takes the interface's own address and MAC: --iface IF only (no --tap, --addr, --mac or --peer-addr)");
	s->shared = check_calloc(1, sizeof(*s->shared));
	s->shared->iface = s->iface;
	if ((s->ports && shared_parse_ports(s->shared, s->ports, err, sizeof(err)) < 0) ||
	    (s->shared6 && shared_parse_addr6(s->shared, s->shared6, err, sizeof(err)) < 0) ||
	    shared_discover(s->shared, err, sizeof(err)) < 0)
		die("check: %s", err);
	s->my_addr = s->shared->addr;
	s->my_plen = s->shared->plen;
	memcpy(s->mac, s->shared->mac, sizeof(s->mac));
	s->have_addr = s->have_mac = true;
	if (!s->have_gw && s->shared->gw) {
		s->gw = s->shared->gw;
		s->have_gw = true;
	}
	if (s->shared->have_addr6) { /* the interface's global IPv6 address too */
		memcpy(s->my6, s->shared->addr6, 16);
		s->my6_plen = s->shared->plen6;
		s->have_addr6 = true;
		if (!s->have_gw6 && s->shared->have_gw6) {
			memcpy(s->gw6, s->shared->gw6, 16);
			s->have_gw6 = true;
		}
	}
}

/* --mode stack's options make sense together. */
static void stack_options_check(struct check_stack_cfg *s)
{
	char a[16];
	shared_options(s);
	if (!s->iface == !s->tap_name)
		die("check: --mode stack needs an interface: --iface IF (AF_PACKET) or --tap NAME, one of them");
	if (!s->have_addr && !s->have_addr6)
		die("check: --mode stack needs tapir's own address: --addr A.B.C.D/LEN or --addr IPV6/LEN (or both)");
	if ((s->have_peer || s->have_peer6) && !s->tap_name)
		die("check: --peer-addr goes with --tap (the kernel's side of the TAP)");
	if (s->have_peer6 && (!s->have_addr6 || s->peer6_plen != s->my6_plen ||
			      !memcmp(s->peer6, s->my6, 16) ||
			      !tapir_ipv6_prefix_eq(s->peer6, s->my6, s->my6_plen)))
		die("check: --peer-addr: an IPv6 peer needs another address on the prefix of an IPv6 --addr");
	if (s->have_gw6 && (!s->have_addr6 || !memcmp(s->gw6, s->my6, 16) ||
			    !(tapir_ipv6_is_link_local(s->gw6) ||
			      tapir_ipv6_prefix_eq(s->gw6, s->my6, s->my6_plen))))
		die("check: --gateway: an IPv6 router needs an IPv6 --addr and is link-local or another address on its prefix");
	if (!s->have_addr) {
		if (s->have_gw || s->have_peer)
			die("check: --gateway and an IPv4 --peer-addr need an IPv4 --addr");
		return;
	}
	s->my_mask = ~0u << (32 - s->my_plen);
	if (s->have_gw && ((s->gw & s->my_mask) != (s->my_addr & s->my_mask) || s->gw == s->my_addr))
		die("check: --gateway %s is not another address on the subnet of --addr",
		    tapir_ipv4_str(s->gw, a));
	if (s->have_peer && ((s->peer & s->my_mask) != (s->my_addr & s->my_mask) ||
			     s->peer == s->my_addr || s->peer_plen != s->my_plen))
		die("check: --peer-addr %s/%u is not another address on tapir's subnet",
		    tapir_ipv4_str(s->peer, a), s->peer_plen);
}

static const struct check_engine *mode_of(const char *arg)
{
	if (!strcmp(arg, "auto"))
		return NULL;
	if (!strcmp(arg, "connect"))
		return &check_engine_connect;
	if (!strcmp(arg, "syn"))
		return &check_engine_syn;
	if (!strcmp(arg, "stack"))
		return &check_engine_stack;
	die("check: --mode: '%s' is not auto, connect, syn or stack", arg);
}

/* A scan-splitting option (scope.c) into S: 0 when OPT is none of them. */
static int scope_option(struct check_scope *s, int opt, const char *arg, bool *shard_given)
{
	switch (opt) {
	case 'S': check_parse_seed(s, arg); break;
	case 'H': check_parse_shard(s, arg); *shard_given = true; break;
	case 'E': s->exclude_file = arg; break;
	case 'X': s->xml_file = arg; break;
	case 'U': s->resume_file = arg; break;
	default: return 0;
	}
	return 1;
}

/* Parses the options into C (its engine NULL for auto); returns 1 when
 * --help was asked for. */
static int parse_options(struct check *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"mode", required_argument, 0, 'm'},   {"rate", required_argument, 0, 'r'},
		{"retries", required_argument, 0, 'R'}, {"timeout", required_argument, 0, 't'},
		{"json", no_argument, 0, 'j'},          {"open-only", no_argument, 0, 'o'},
		{"iface", required_argument, 0, 'I'},   {"tap", required_argument, 0, 'T'},
		{"addr", required_argument, 0, 'A'},    {"gateway", required_argument, 0, 'G'},
		{"mac", required_argument, 0, 'M'},     {"peer-addr", required_argument, 0, 'P'},
		{"seed", required_argument, 0, 'S'},    {"shard", required_argument, 0, 'H'},
		{"exclude", required_argument, 0, 'E'}, {"oX", required_argument, 0, 'X'},
		{"resume", required_argument, 0, 'U'},  {"udp", no_argument, 0, 'u'},
		{"shared-addr", no_argument, 0, CHECK_OPT_SHARED},
		{"ports", required_argument, 0, CHECK_OPT_PORTS},
		{"shared-addr6", required_argument, 0, CHECK_OPT_SHARED6},
		{"banners", no_argument, 0, CHECK_OPT_BANNERS},
		{"banner-wait", required_argument, 0, CHECK_OPT_BWAIT},
		{"banner-bytes", required_argument, 0, CHECK_OPT_BBYTES},
		{"banner-conns", required_argument, 0, CHECK_OPT_BCONNS},
		{"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
	};
	const struct nu_numopt nums[] = {
		{'r', "--rate", 1, 10000000, "a number", &c->rate},
		{'R', "--retries", 0, 20, "a number", &c->retries},
		{'t', "--timeout", 1, 600000, "a number of ms", &c->timeout_ms},
		{CHECK_OPT_BWAIT, "--banner-wait", 1, 600000, "a number of ms", &c->banner_wait_ms},
		{CHECK_OPT_BBYTES, "--banner-bytes", 64, BANNER_MAX, "a number of bytes", &c->banner_bytes},
		{CHECK_OPT_BCONNS, "--banner-conns", 1, 64, "a number", &c->banner_conns},
	};
	const char *stack_opt = NULL; /* the first --mode stack option given */
	bool shard_given = false;
	char err[256];
	int opt, r;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if ((r = nu_numopt_set(nums, sizeof(nums) / sizeof(nums[0]), opt, optarg, err,
				       sizeof(err))) < 0)
			die("check: %s", err);
		if (r || stack_option(&c->stack, opt, optarg, &stack_opt) ||
		    scope_option(&c->sc, opt, optarg, &shard_given))
			continue;
		switch (opt) {
		case 'm': c->eng = mode_of(optarg); break;
		case 'j': c->json = true; break;
		case 'o': c->open_only = true; break;
		case 'u': c->udp = true; break;
		case CHECK_OPT_BANNERS: c->banners = true; break;
		case 'h': fputs(check_usage, stdout); return 1;
		default:
			die("check: unknown or incomplete option '%s' (try tapir check --help)",
			    argv[optind - 1]);
		}
	}
	if (c->eng != &check_engine_stack && stack_opt)
		die("check: %s is for --mode stack only", stack_opt);
	if (c->eng == &check_engine_stack)
		stack_options_check(&c->stack);
	if (c->udp && c->eng && c->eng != &check_engine_connect)
		die("check: --udp sends from UDP sockets: --mode %s is TCP only (leave --mode out)",
		    c->eng->name);
	if (c->udp)
		c->eng = &check_engine_connect;
	if (c->banners && c->eng != &check_engine_stack)
		die("check: --banners connects from tapir's own stack: it needs --mode stack");
	if (shard_given && !c->sc.have_seed)
		die("check: --shard needs --seed N: every shard must follow the same order");
	if (c->sc.resume_file && optind >= argc && (c->sc.have_seed || c->sc.exclude_file))
		die("check: --resume %s alone goes on with its own seed, shard, exclusions and targets: give none of them",
		    c->sc.resume_file);
	return 0;
}

/* Opens the engine asked for; auto: syn with CAP_NET_RAW, else connect. */
static void open_engine(struct check *c)
{
	char err[256];
	if (c->eng && c->eng->open(c, &c->es, err, sizeof(err)) == 0)
		return;
	if (c->eng == &check_engine_syn)
		die("check: --mode syn needs CAP_NET_RAW (%s); try --mode connect", err);
	if (c->eng)
		die("check: %s", err);
	c->eng = &check_engine_syn;
	if (c->eng->open(c, &c->es, err, sizeof(err)) == 0)
		return;
	c->eng = &check_engine_connect;
	if (c->eng->open(c, &c->es, err, sizeof(err)))
		die("check: %s", err);
}

static void free_targets(struct check *c)
{
	for (size_t k = 0; k < c->nsets; k++)
		free(c->sets[k].p);
	for (size_t k = 0; k < c->ntstr; k++)
		free(c->tstr[k]);
	free(c->tstr);
	free(c->sets);
	free(c->off);
	free(c->pr);
	nu_hosts_free(&c->hosts);
	if (c->sc.own_targets) {
		for (size_t k = 0; k < c->sc.ntargets; k++)
			free(c->sc.targets[k]);
		free(c->sc.targets);
	}
	free(c->sc.excl);
	free(c->sc.done);
}

/* The targets and which of them this run probes: from the command line,
 * or (--resume FILE alone) from FILE. */
static void setup_targets(struct check *c, int argc, char **argv)
{
	struct check_scope *s = &c->sc;
	if (s->resume_file && optind >= argc) {
		bool udp = c->udp;
		check_resume_load(c);
		s->resuming = true;
		if (udp && !c->udp)
			die("check: --udp: the run in %s probes TCP ports", s->resume_file);
		if (c->udp && c->eng && c->eng != &check_engine_connect)
			die("check: the run in %s probes UDP ports: --mode %s is TCP only",
			    s->resume_file, c->eng->name);
		if (c->udp)
			c->eng = &check_engine_connect;
	} else {
		if (optind >= argc)
			die("check: no target (try tapir check --help)");
		if (s->resume_file && access(s->resume_file, F_OK) == 0)
			die("check: --resume %s: the file exists: go on with its run by tapir check --resume %s alone, or remove it",
			    s->resume_file, s->resume_file);
		s->targets = argv + optind;
		s->ntargets = (size_t)(argc - optind);
		if (!s->have_seed) { /* a random order, still written to a resume file */
			struct nu_key k;
			nu_key_random(&k);
			s->seed = k.k0;
		}
		if (s->exclude_file)
			check_read_exclude(s);
	}
	for (size_t i = 0; i < s->ntargets; i++)
		check_add_target(c, s->targets[i]);
	index_probes(c);
	check_scope_apply(c);
}

/* The answers, in the forms asked for. */
static void output(struct check *c)
{
	if (!c->sc.xml_file || strcmp(c->sc.xml_file, "-"))
		check_print_results(c);
	if (c->sc.xml_file)
		check_write_xml(c);
}

/* An interrupt with --resume: what was answered is printed; the rest goes
 * to the resume file. */
static int interrupted(struct check *c)
{
	output(c);
	c->eng->close(c->es);
	check_resume_save(c);
	fprintf(stderr, "tapir check: %s%s: %llu of %llu probes answered; the rest: tapir check --resume %s\n",
		check_stop_why[0] ? "stopped: " : "interrupted", check_stop_why,
		(unsigned long long)c->resolved, (unsigned long long)c->todo, c->sc.resume_file);
	close(c->ep);
	return 3;
}

int cmd_check(int argc, char **argv)
{
	struct check c;
	bool all_open = true;
	struct sigaction sa;
	char **args = check_calloc((size_t)argc + 1, sizeof(*args));
	int rc;

	memset(&c, 0, sizeof(c));
	c.rate = 1000;
	c.retries = 2;
	c.timeout_ms = 1000;
	c.banner_wait_ms = 2000;
	c.banner_bytes = BANNER_MAX;
	c.banner_conns = 4;
	c.sc.shard_i = c.sc.shard_n = 1;
	c.sc.argc = argc;
	c.sc.argv = argv;
	/* nmap's -oX FILE: a long option to getopt */
	for (int i = 0; i < argc; i++)
		args[i] = strcmp(argv[i], "-oX") ? argv[i] : "--oX";
	if (parse_options(&c, argc, args)) {
		free(args);
		return 0;
	}
	setup_targets(&c, argc, args);
	nu_key_random(&c.key);
	c.ep = epoll_create1(EPOLL_CLOEXEC);
	if (c.ep < 0)
		die("check: epoll_create1: %s", strerror(errno));
	open_engine(&c);
	c.progress = isatty(2);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	c.t0_ns = nu_now_ns();
	c.t0_wall = wall_us();
	check_run(&c);
	if (c.banners && !check_interrupted)
		c.eng->banners(c.es);
	if (check_interrupted && !c.sc.resume_file)
		die("check: %s", check_stop_why[0] ? check_stop_why : "interrupted");
	if (check_interrupted) {
		rc = interrupted(&c);
		free(c.stack.shared);
		free_targets(&c);
		free(args);
		return rc;
	}
	output(&c);
	c.eng->close(c.es);
	if (c.retry_answers)
		fprintf(stderr, "tapir check: warning: %llu ports answered only on a retry: probes or replies are being lost (rate too high?); later rounds went slower\n",
			(unsigned long long)c.retry_answers);
	for (uint64_t k = 0; k < c.total; k++)
		if (c.pr[k].state != ST_OPEN && c.pr[k].state != ST_OUT)
			all_open = false;
	close(c.ep);
	check_banners_free(&c);
	free(c.stack.shared); /* (its nftables table went with the engine) */
	if (c.sc.resuming && unlink(c.sc.resume_file) && errno != ENOENT)
		fprintf(stderr, "tapir check: warning: cannot remove %s: %s\n", c.sc.resume_file,
			strerror(errno));
	free_targets(&c);
	free(args);
	return all_open ? 0 : 1;
}
