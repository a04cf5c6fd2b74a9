/* tapir host: a userspace host on a TAP device.
 *
 * The stack runs in the socket layer's stack thread (api/net.c) over the
 * TAP driver; the services (services.c, http.c) are an event loop that
 * thread runs after each turn (tapir_net_set_service); this main thread
 * waits for signals and drives the optional --ping client, calling the
 * core only with the net's lock held. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <net/if.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "addr6.h"
#include "control.h"
#include "forward.h"
#include <sys/un.h>
#include "run/gate.h"
#include "run/proto.h"
#include <tapir/spin.h>
#include "host_dhcp.h"
#include "personalities/personality.h"
#include "commands.h"
#include "host.h"
#include "netutil.h"
#include "shared.h"
#include "util.h"

static const char host_usage[] =
	"usage: tapir host --tap NAME --addr A.B.C.D/LEN [options]\n"
	"       tapir host --iface IF --addr A.B.C.D/LEN [options]\n"
	"       tapir host --iface IF --shared-addr [--ports A-B] [--shared-addr6 ADDR] [options]\n"
	"\n"
	"Runs a userspace TCP/IP host on the TAP device NAME (created if absent),\n"
	"or beside the kernel on the interface IF.\n"
	"\n"
	"  --tap NAME             TAP device to use, in this network namespace\n"
	"  --iface IF             the existing Ethernet interface IF instead (AF_PACKET,\n"
	"                         beside the kernel's stack, with tapir's own --addr\n"
	"                         and MAC)\n"
	"  --shared-addr          with --iface: IF's own MAC, IPv4 address and global IPv6\n"
	"                         one (if it has one), shared\n"
	"                         with the kernel: tapir owns --ports and the ports it\n"
	"                         listens on, the kernel the rest (an nftables table\n"
	"                         inet tapir_<pid> while it runs; docs/shared-addr.md)\n"
	"  --ports A-B            tapir's own ports with --shared-addr (default\n"
	"                         61000-65535; outside net.ipv4.ip_local_port_range)\n"
	"  --shared-addr6 ADDR    which of IF's global IPv6 addresses --shared-addr\n"
	"                         shares (default: a stable one before a temporary one)\n"
	"  --addr A.B.C.D/LEN     tapir's address and prefix; repeat it with IPv6\n"
	"                         prefixes (fd00::2/64) to add those (IPv6 on), or\n"
	"                         'slaac' for addresses from router advertisements;\n"
	"                         'dhcp' (instead of A.B.C.D/LEN): a DHCP lease.\n"
	"                         With IPv6, an advertisement's O flag has tapir ask\n"
	"                         DHCPv6 for DNS servers: 'dhcp6 dns SERVERS [search\n"
	"                         LIST]' on stdout when they are learned or change\n"
	"  --peer-addr A.B.C.D/LEN  also give the kernel's side of the TAP this address\n"
	"                         (repeatable; IPv6 ones without DAD)\n"
	"  --gateway IP           default gateway (on the --addr subnet); an IPv6 one\n"
	"                         (link-local, or on an IPv6 --addr prefix) beside it\n"
	"  --mac MAC              tapir's MAC (default: random, locally administered)\n"
	"  --addr-gen eui64|stable  interface identifiers of the IPv6 link-local and\n"
	"                         SLAAC addresses: from the MAC (eui64, the default) or\n"
	"                         RFC 7217's, stable per prefix and revealing no MAC\n"
	"  --stable-secret FILE   RFC 7217's secret: FILE's bytes (16 or more, e.g.\n"
	"                         head -c 16 /dev/urandom >FILE), the same addresses\n"
	"                         after a restart (default: random for each run)\n"
	"  --mtu N                the TAP's MTU, both sides (576-65520; default: the device's)\n"
	"  --no-tso               MTU-sized TCP segments only, both ways, each with its\n"
	"                         checksum (by default up to 64 KiB cross the TAP at a\n"
	"                         time, cut by the kernel, which also completes the\n"
	"                         checksums: offload; a capture on the kernel's side\n"
	"                         shows them uncut and unsummed); --pcap, --trace\n"
	"                         link/ip/tcp and --personality turn it off\n"
	"  --serve LIST           services, comma-separated: echo (port 7), discard (9),\n"
	"                         daytime (13), chargen (19), on TCP and UDP; http=DIR\n"
	"                         (TCP port 80: the files below DIR, GET and HEAD)\n"
	"                         (default: echo,discard,daytime,chargen)\n"
	"  --pcap FILE            write every frame sent and received to FILE\n"
	"  --trace CHANNELS       print events: all, or a list of link,arp,ip,icmp,udp\n"
	"                         (and ip6,icmp6,nd)\n"
	"  --ping IP              ping IP from tapir (prints ping-style lines)\n"
	"  --ping-count N         echo requests to send (default 5)\n"
	"  --ping-size N          data bytes per request (default 56)\n"
	"  --ping-interval MS     between requests (default 1000)\n"
	"  --personality NAME[=ARGS]  misbehave (repeatable; --personality help lists them)\n"
	"  --control PATH         serve tapir ss/stats/trace on the UNIX socket PATH\n"
	"  --profile NAME         rfc (default), linux or freebsd: where those differ,\n"
	"                         behave as they do (docs/profiles.md)\n"
	"  --recovery rfc6675|rack  loss recovery whatever the profile: RFC 6675 alone,\n"
	"                         or RACK-TLP (RFC 8985) with PRR (RFC 6937)\n"
	"  --fastopen             TCP Fast Open (RFC 7413) on every listener: data on\n"
	"                         SYNs with a valid cookie is taken at once\n"
	"  --max-sockets N        at most N sockets and connections (TIME-WAIT included;\n"
	"                         default 1024); beyond, accept fails with EMFILE and new\n"
	"                         connections wait in the listen queue, or their SYNs go\n"
	"                         unanswered as with a full backlog\n"
	"  --forward PORT=HOST:HPORT  relay connections to tapir's PORT to HOST:HPORT\n"
	"                         through the kernel's stack (repeatable)\n"
	"  --outbound ADDR:PORT=HOST:HPORT  the kernel listens on ADDR:PORT; relay each\n"
	"                         connection to HOST:HPORT through tapir (repeatable)\n"
	"                         (IPv6 addresses in brackets: 80=[::1]:8080)\n"
	"\n"
	"Prints 'ready ...' on stdout once it answers.  SIGINT/SIGTERM: prints the\n"
	"counters on stderr and exits 0; SIGUSR1: prints the counters and goes on.\n";

static volatile sig_atomic_t got_stop, got_usr1;
static int link_err; /* the link's fatal error (errno): the host ends */
struct host_hook *host_hook;
static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

struct pinger {
	uint32_t dst;
	unsigned count, size, sent, received, errors;
	tapir_time_t interval, next_at, deadline;
	uint16_t id;
	tapir_time_t *sent_at;
	uint8_t *pattern;
	double min, max, sum, sum2;
	bool done;
};

struct host {
	struct tapir_net *net;
	struct tapir_stack *s;  /* the net's: only with tapir_net_lock held */
	struct tapir_tap *tap;
	struct tapir_pcap *pcap;
	struct services *services;
	int64_t wall_offset; /* wall = mono + offset, for pcap timestamps */
	tapir_time_t t0;
	struct pinger ping;
	size_t trim_tcbs;    /* connections at the last give_back */
};

/* When half of the connections are gone since the last look, the heap's
 * free pages go back to the system (malloc_trim): RSS follows the
 * connections down instead of staying at their peak.  Checked once per
 * second of the main loop; trimming costs a walk of the heap's free lists. */
static void give_back(struct host *h)
{
	struct tapir_tcp_mem m;
	tapir_net_lock(h->net);
	tapir_tcp_mem(h->s, &m);
	tapir_net_unlock(h->net);
	if (m.tcbs + m.time_wait < h->trim_tcbs / 2)
		malloc_trim(0);
	if (m.tcbs + m.time_wait < h->trim_tcbs / 2 || m.tcbs + m.time_wait > h->trim_tcbs)
		h->trim_tcbs = m.tcbs + m.time_wait;
}

static void print_trace(void *arg, tapir_time_t now, const char *chan, const char *line)
{
	struct host *h = arg;
	printf("%10.6f %-5s %s\n", (double)(now - h->t0) / 1e6, chan, line);
}

static void record_frame(void *arg, int ifindex, enum tapir_dir dir, const uint8_t *frame,
			 size_t len, tapir_time_t now)
{
	struct host *h = arg;
	tapir_pcap_write(h->pcap, frame, len, (uint64_t)((int64_t)now + h->wall_offset));
}

static void print_counter(void *arg, const char *name, uint64_t v)
{
	if (v)
		fprintf(stderr, "  %-24s %llu\n", name, (unsigned long long)v);
}

static void print_counters(struct host *h)
{
	const struct tapir_stats *st = tapir_stats(h->s);
	fprintf(stderr, "tapir: counters (frames: %llu received, %llu delivered, %llu dropped)\n",
		(unsigned long long)st->rx_frames, (unsigned long long)st->rx_delivered,
		(unsigned long long)tapir_drops_total(st));
	tapir_stats_foreach(h->s, print_counter, NULL);
	fflush(stderr);
}

/* ---- the --ping client ---- */

static void ping_reply(void *arg, const struct tapir_echo_reply *r)
{
	struct host *h = arg;
	struct pinger *p = &h->ping;
	char a[16];
	double ms;

	if (r->id != p->id || r->target != p->dst || r->seq == 0 || r->seq > p->sent)
		return; /* not ours */
	tapir_ipv4_str(r->from, a);
	if (r->error) {
		p->errors++;
		printf("From %s icmp_seq=%u %s\n", a, r->seq, strerror(r->error));
		return;
	}
	if (!p->sent_at[r->seq - 1]) {
		printf("%zu bytes from %s: icmp_seq=%u (DUP!)\n", r->len + 8, a, r->seq);
		return;
	}
	ms = (double)(r->now - p->sent_at[r->seq - 1]) / 1000.0;
	p->sent_at[r->seq - 1] = 0;
	p->received++;
	p->min = p->received == 1 || ms < p->min ? ms : p->min;
	p->max = ms > p->max ? ms : p->max;
	p->sum += ms;
	p->sum2 += ms * ms;
	printf("%zu bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms%s\n", r->len + 8, a, r->seq,
	       r->ttl,
	       ms, r->len == p->size && !memcmp(r->data, p->pattern, p->size) ? ""
										: " (wrong data)");
}

static void ping_step(struct host *h, tapir_time_t now)
{
	struct pinger *p = &h->ping;
	char a[16];
	if (!p->dst || p->done)
		return;
	if (p->sent < p->count && now >= p->next_at) {
		int r;
		p->sent++;
		p->sent_at[p->sent - 1] = now ? now : 1;
		r = tapir_echo_send(h->s, p->dst, p->id, (uint16_t)p->sent, p->pattern, p->size,
				    now);
		if (r < 0)
			printf("ping: icmp_seq=%u: %s\n", p->sent, strerror(-r));
		p->next_at = now + p->interval;
		if (p->sent == p->count) /* like ping -W: a second for the last reply */
			p->deadline = now + (p->interval > TAPIR_SEC(1) ? p->interval : TAPIR_SEC(1));
	}
	if (p->sent == p->count && (p->received + p->errors >= p->count || now >= p->deadline)) {
		double avg = p->received ? p->sum / p->received : 0;
		double var = p->received ? p->sum2 / p->received - avg * avg : 0;
		p->done = true;
		printf("--- %s ping statistics ---\n", tapir_ipv4_str(p->dst, a));
		printf("%u packets transmitted, %u received, %u%% packet loss\n", p->sent,
		       p->received, p->sent ? 100u * (p->sent - p->received) / p->sent : 0);
		if (p->received)
			printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", p->min, avg,
			       p->max, var > 0 ? sqrt(var) : 0.0);
	}
}

static tapir_time_t ping_next(const struct host *h)
{
	const struct pinger *p = &h->ping;
	if (!p->dst || p->done)
		return TAPIR_TIME_NEVER;
	return p->sent < p->count ? p->next_at : p->deadline;
}

/* ---- set-up ---- */

static unsigned long parse_num(const char *opt, const char *v, unsigned long lo,
			       unsigned long hi)
{
	long long n = nu_parse_num(v, (long long)lo, (long long)hi);
	if (n < 0)
		die("%s: '%s' is not a number from %lu to %lu", opt, v, lo, hi);
	return (unsigned long)n;
}

/* An address already on an interface of this namespace is not ours to take
 * (except the TAP's own kernel side, which --peer-addr sets). */
static void check_addr_free(uint32_t addr, const char *what, const char *tap_name)
{
	char a[16], name[IF_NAMESIZE];
	if (nu_addr_in_use(addr, tap_name, name, sizeof(name)))
		die("%s %s is in use by interface %s in this namespace", what, tapir_ipv4_str(addr, a), name);
}

/* --iface's options make sense together; with --shared-addr, the
 * interface's own address, prefix and default gateway become tapir's
 * (unless --gateway chose one), and its global IPv6 address too (H6). */
static void iface_options(struct shared_addr *sa, const char *iface, bool shared,
			  const char *ports, bool addr_given, bool mac_given, bool peer_given,
			  unsigned mtu, uint32_t *addr, unsigned *plen, uint32_t *gw, struct host6 *h6)
{
	char err[256];
	if (peer_given)
		die("host: --peer-addr goes with --tap (the kernel's side of the TAP)");
	if (mtu)
		die("host: --mtu goes with --tap (with --iface, the interface's MTU is used)");
	if ((ports || sa->want6_given) && !shared)
		die("host: %s goes with --shared-addr", ports ? "--ports" : "--shared-addr6");
	if (!shared)
		return;
	if (addr_given || mac_given)
		die("host: --shared-addr takes %s's own address and MAC: no --addr or --mac beside it",
		    iface);
	sa->iface = iface;
	if ((ports && shared_parse_ports(sa, ports, err, sizeof(err)) < 0) ||
	    shared_discover(sa, err, sizeof(err)) < 0)
		die("%s", err);
	*addr = sa->addr;
	*plen = sa->plen;
	if (!*gw)
		*gw = sa->gw;
	if (sa->have_addr6) {
		memcpy(h6->addr[0], sa->addr6, 16);
		h6->plen[0] = sa->plen6;
		h6->n = 1;
	}
}

static long afp_recv(void *ctx, uint8_t *buf, size_t cap) { return tapir_afp_recv(ctx, buf, cap); }
static void afp_close(void *ctx) { tapir_afp_close(ctx); }

static long tap_recv(void *ctx, uint8_t *buf, size_t cap) { return tapir_tap_recv(ctx, buf, cap); }
static long tap_recv_flags(void *ctx, uint8_t *buf, size_t cap, unsigned *flags)
{
	return tapir_tap_recv_flags(ctx, buf, cap, flags);
}
static long tap_recv_ref(void *ctx, uint8_t **frame, unsigned *flags)
{
	return tapir_tap_recv_ref(ctx, frame, flags);
}
static void tap_close(void *ctx) { tapir_tap_close(ctx); }
static bool tap_batch(void *ctx, bool on) { return tapir_tap_batch(ctx, on); }

int cmd_host(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tap", required_argument, 0, 't'},
		{"iface", required_argument, 0, 'I'},
		{"shared-addr", no_argument, 0, 'H'},
		{"ports", required_argument, 0, 'R'},
		{"shared-addr6", required_argument, 0, 'j'},
		{"addr", required_argument, 0, 'a'},
		{"peer-addr", required_argument, 0, 'p'},
		{"gateway", required_argument, 0, 'g'},
		{"mac", required_argument, 0, 'm'},
		{"mtu", required_argument, 0, 'M'},
		{"no-tso", no_argument, 0, 'O'},
		{"serve", required_argument, 0, 's'},
		{"pcap", required_argument, 0, 'w'},
		{"trace", required_argument, 0, 'T'},
		{"ping", required_argument, 0, 'P'},
		{"ping-count", required_argument, 0, 'c'},
		{"ping-size", required_argument, 0, 'S'},
		{"ping-interval", required_argument, 0, 'i'},
		{"personality", required_argument, 0, 'Y'},
		{"control", required_argument, 0, 'C'},
		{"max-sockets", required_argument, 0, 'N'},
		{"profile", required_argument, 0, 'Q'},
		{"recovery", required_argument, 0, 'K'},
		{"fastopen", no_argument, 0, 'X'},
		{"forward", required_argument, 0, 'F'},
		{"outbound", required_argument, 0, 'B'},
		{"addr-gen", required_argument, 0, 'G'},
		{"stable-secret", required_argument, 0, 'J'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	char *pers[32];
	int npers = 0;
	const char *control_path = NULL;
	const char *tap_name = NULL, *iface = NULL, *ports = NULL, *serve = "echo,discard,daytime,chargen", *pcap_path = NULL;
	uint32_t addr = 0, peer = 0, gw = 0, ping_dst = 0;
	unsigned plen = 0, peer_plen = 0, trace_mask = 0, mtu = 0;
	unsigned long ping_count = 5, ping_size = 56, ping_interval = 1000;
	unsigned long max_sockets = 0; /* 0: the net's default */
	bool have_addr = false, have_peer = false, have_mac = false, tso = true, shared = false;
	static struct shared_addr sh; /* the hooks' argument for the process's life */
	uint8_t mac[6];
	int c;
	char err[256];
	struct host h;
	struct forward *fwd = NULL; /* forward.h */
	struct host6 h6 = {0};
	struct host_dhcp hd = {0};
	int ifi;
	struct tapir_config cfg;
	int profile = TAPIR_PROFILE_RFC;
	int recovery = -1; /* --recovery: rack (1), rfc6675 (0), the profile's (-1) */
	bool fastopen = false;
	struct tapir_net_driver drv;
	sigset_t block, orig;
	struct sigaction sa;

	memset(&h, 0, sizeof(h));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *bad;
		switch (c) {
		case 't': tap_name = optarg; break;
		case 'I': iface = optarg; break;
		case 'H': shared = true; break;
		case 'R': ports = optarg; break;
		case 'j':
			if (shared_parse_addr6(&sh, optarg, err, sizeof(err)))
				die("%s", err);
			break;
		case 'a':
			if (host6_option(&h6, "--addr", optarg, false) || host_dhcp_option(&hd, optarg))
				break;
			if (tapir_parse_cidr(optarg, &addr, &plen) || plen == 0)
				die("--addr: '%s' is not an address/prefix such as 10.0.0.2/24", optarg);
			have_addr = true;
			break;
		case 'p':
			if (host6_option(&h6, "--peer-addr", optarg, true))
				break;
			if (tapir_parse_cidr(optarg, &peer, &peer_plen) || peer_plen == 0)
				die("--peer-addr: '%s' is not an address/prefix such as 10.0.0.1/24",
				    optarg);
			have_peer = true;
			break;
		case 'g':
			if (!host6_gateway_option(&h6, optarg) && tapir_parse_ipv4(optarg, &gw))
				die("--gateway: '%s' is not an IPv4 or IPv6 address", optarg);
			break;
		case 'm':
			if (tapir_parse_mac(optarg, mac) || (mac[0] & 1))
				die("--mac: '%s' is not a unicast MAC such as 02:00:00:00:00:01", optarg);
			have_mac = true;
			break;
		case 'M': mtu = (unsigned)parse_num("--mtu", optarg, 576, 65520); break;
		case 'G': host6_addr_gen_option(&h6, optarg); break;
		case 'J': host6_secret_option(&h6, optarg); break;
		case 'O': tso = false; break;
		case 's': serve = optarg; break;
		case 'w': pcap_path = optarg; break;
		case 'T':
			if (tapir_trace_parse(optarg, &trace_mask, &bad))
				die("--trace: unknown channel at '%s' (all, link, arp, ip, icmp, udp, "
				    "tcp, socket, ip6, icmp6, nd)", bad);
			break;
		case 'P':
			if (tapir_parse_ipv4(optarg, &ping_dst))
				die("--ping: '%s' is not an IPv4 address", optarg);
			break;
		case 'c': ping_count = parse_num("--ping-count", optarg, 1, 65535); break;
		case 'S': ping_size = parse_num("--ping-size", optarg, 0, 65507); break;
		case 'i': ping_interval = parse_num("--ping-interval", optarg, 1, 3600000); break;
		case 'Y': /* docs/hacking.md; tools/personalities/ */
			if (!strcmp(optarg, "help") || !strcmp(optarg, "list")) {
				puts("personalities (tapir host --personality NAME[=ARGS], repeatable):");
				personalities_print(stdout);
				return 0;
			}
			if (npers == (int)(sizeof(pers) / sizeof(pers[0])))
				die("--personality: at most %d", npers);
			pers[npers++] = optarg;
			break;
		case 'C': control_path = optarg; break;
		case 'N': max_sockets = parse_num("--max-sockets", optarg, 1, 10000000); break;
		case 'X': fastopen = true; break;
		case 'Q':
			if ((profile = tapir_profile_by_name(optarg)) < 0)
				die("--profile: unknown '%s' (rfc, linux, freebsd)", optarg);
			break;
		case 'K':
			if (strcmp(optarg, "rack") && strcmp(optarg, "rfc6675"))
				die("--recovery: unknown '%s' (rfc6675, rack)", optarg);
			recovery = !strcmp(optarg, "rack");
			break;
		case 'F':
		case 'B':
			if (forward_add(&fwd, c == 'B', optarg, err, sizeof(err)) < 0)
				die("%s", err);
			break;
		case 'h': fputs(host_usage, stdout); return 0;
		default:
			die("host: unknown or incomplete option '%s' (try tapir host --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("host: unexpected argument '%s'", argv[optind]);
	if (!tap_name == !iface)
		die("host: one of --tap NAME or --iface IF is required (try tapir host --help)");
	if (iface)
		iface_options(&sh, iface, shared, ports, have_addr || hd.on || h6.n || h6.slaac,
			      have_mac, have_peer || h6.npeer, mtu, &addr, &plen, &gw, &h6);
	else if (shared || ports || sh.want6_given)
		die("host: %s goes with --iface IF",
		    shared ? "--shared-addr" : ports ? "--ports" : "--shared-addr6");
	host6_check_gateway(&h6);
	have_addr = have_addr || shared;
	have_mac = have_mac || shared;
	if (!have_addr && !hd.on)
		die("host: an IPv4 --addr A.B.C.D/LEN is required (IPv6 ones go beside it)");
	if (hd.on && (have_addr || gw))
		die("--addr dhcp: the server gives the address and gateway: no --addr A.B.C.D/LEN "
		    "or --gateway beside it");
	if (have_addr) {
		uint32_t mask = ~0u << (32 - plen);
		char a[16];
		if (have_peer && ((peer & mask) != (addr & mask) || peer_plen != plen))
			die("--peer-addr %s/%u is not on tapir's subnet %s/%u",
			    tapir_ipv4_str(peer, a), peer_plen, tapir_ipv4_str(addr & mask, (char[16]){0}),
			    plen);
		if (have_peer && peer == addr)
			die("--peer-addr and --addr are the same address");
		if (gw && (gw & mask) != (addr & mask))
			die("--gateway %s is not on the subnet of --addr", tapir_ipv4_str(gw, a));
	}
	if (have_addr && !shared)
		check_addr_free(addr, "address", NULL);
	if (have_peer)
		check_addr_free(peer, "--peer-addr", tap_name);

	/* A host's connections come and go by thousands: the core's TCB chunks
	 * (64 KiB) and large rings are mapped on their own, not carved from
	 * the heap, so their memory goes back to the system when they are
	 * freed instead of staying as the heap's high-water mark (a fixed
	 * threshold: glibc's adaptive one would rise after the first free). */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024);
	tapir_config_default(&cfg);
	tapir_config_profile(&cfg, (enum tapir_profile_id)profile);
	if (recovery >= 0) /* the profile fields rack, tlp, prr (docs/profiles.md) */
		cfg.profile.rack = cfg.profile.tlp = cfg.profile.prr = (uint8_t)recovery;
	if (fastopen) /* the server, on listeners that did not ask (profile.h) */
		cfg.profile.fastopen |= 2 | 4;
	cfg.tcp_rcvbuf_max = TAPIR_TCP_RCVBUF_AUTO; /* receive buffers follow their readers */
	cfg.tcp_sndbuf_max = TAPIR_TCP_SNDBUF_AUTO; /* send buffers the windows */
	host6_tune(&h6, &cfg);
	if (shared) { /* tapir's own connections take their ports from its range */
		cfg.ephemeral_lo = sh.lo;
		cfg.ephemeral_hi = sh.hi;
	}
	if (getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
		cfg.seed = (uint64_t)mono_us() ^ ((uint64_t)getpid() << 32);
	if (!have_mac) { /* locally administered, unicast (IEEE 802 U/L and I/G bits) */
		uint64_t r = cfg.seed * 0x9e3779b97f4a7c15ull;
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)(r >> (8 * i));
		mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
	}
	if (pcap_path) {
		h.pcap = tapir_pcap_open(pcap_path, err, sizeof(err));
		if (!h.pcap)
			die("--pcap: %s", err);
	}
	if (iface) {
		struct tapir_afp *afp = shared ? tapir_afp_open_shared(iface, mac, err, sizeof(err))
					       : tapir_afp_open(iface, mac, err, sizeof(err));
		if (!afp)
			die("--iface: %s", err);
		drv = (struct tapir_net_driver){.link = tapir_afp_link(afp), .fd = tapir_afp_fd(afp),
						.recv = afp_recv, .close = afp_close, .ctx = afp,
						.mtu = tapir_afp_mtu(afp)};
		goto have_link;
	}
	h.tap = tapir_tap_open(tap_name, err, sizeof(err));
	if (!h.tap)
		die("%s", err);
	if (mtu && tapir_tap_set_mtu(h.tap, mtu, err, sizeof(err)))
		die("%s", err);
	/* a capture, a trace of frames or segments and the personalities (which
	 * hook frames and segments) see each frame as on a wire: offload off,
	 * both ways (the core would stop sending super-segments by itself,
	 * but the kernel's side would still send them) */
	if (pcap_path || npers || (trace_mask & (TAPIR_TR_LINK | TAPIR_TR_IP | TAPIR_TR_TCP)))
		tso = false;
	tapir_tap_set_tso(h.tap, tso);
	if (have_peer && tapir_tap_set_peer_addr(h.tap, peer, peer_plen, err, sizeof(err)))
		die("%s", err);
	host6_set_peers(&h6, h.tap);
	/* fewer system calls per frame where io_uring works (docs/performance.md);
	 * where it does not, or with TAPIR_NO_URING=1, plain reads and writes */
	(void)tapir_tap_set_uring(h.tap, true);
	drv = (struct tapir_net_driver){.link = tapir_tap_link(h.tap), .fd = tapir_tap_fd(h.tap),
					.recv = tap_recv, .recv_flags = tap_recv_flags,
					.close = tap_close, .batch = tap_batch, .ctx = h.tap,
					.mtu = tapir_tap_mtu(h.tap), .recv_ref = tap_recv_ref};
have_link:
	/* One limit for the host, as RLIMIT_NOFILE is a process's: the
	 * socket layer's descriptors (EMFILE beyond it) and the core's TCBs,
	 * which the built-in services use directly (at the limit a listener
	 * drops new SYNs, as with a full backlog: UNP 4.5) */
	if (!max_sockets)
		max_sockets = TAPIR_NET_DEFAULT_MAX_SOCKETS;
	cfg.tcp_sockets = (unsigned)max_sockets;
	h.net = tapir_net_new(&cfg, &drv);
	if (!h.net)
		die("out of memory creating the stack");
	tapir_net_set_max_sockets(h.net, (unsigned)max_sockets);
	/* TAPIR_BUSY_POLL=US (docs/run.md): 50 unless set, 0 turns it off */
	tapir_net_set_busy_poll(h.net, (unsigned)tapir_spin_window(getenv(TRUN_ENV_BUSY_POLL)));
	h.s = tapir_net_stack(h.net);

	setvbuf(stdout, NULL, _IOLBF, 0);
	h.t0 = mono_us();
	h.wall_offset = (int64_t)wall_us() - (int64_t)mono_us();
	if (trace_mask)
		tapir_set_trace(h.s, trace_mask, print_trace, &h);
	if (h.pcap)
		tapir_set_frame_observer(h.s, record_frame, &h);
	if (shared && shared_hooks(&sh, h.s, err, sizeof(err)) < 0)
		die("%s", err);
	if ((ifi = tapir_net_add_iface(h.net, mac, 0, addr, plen, gw)) < 0)
		die(errno == EADDRNOTAVAIL ? "--addr: %s/%u cannot be a host's address (network, "
					     "broadcast, loopback or multicast)"
					   : "--addr: %s/%u: cannot configure the interface",
		    tapir_ipv4_str(addr, err), plen);
	host6_configure(&h6, h.s, ifi);
	/* --shared-addr: the kernel's IPv6 default router is tapir's too */
	if (shared && sh.have_gw6 && tapir_iface_add_router6(h.s, ifi, sh.gw6) < 0)
		die("--shared-addr: cannot add the IPv6 default router");
	host_dhcp_start(&hd, h.s, ifi);
	host_dhcp6_start(&hd, h.s, ifi, h6.n || h6.slaac);
	h.services = services_start(h.net, serve, err, sizeof(err));
	if (!h.services)
		die("%s", err);
	if (fwd && forward_start(fwd, h.net, (unsigned)max_sockets, err, sizeof(err)) < 0)
		die("%s", err);
	/* the ports tapir listens on are known now; the personalities come
	 * after the shared-addr hooks and see only what is tapir's */
	if (shared && shared_guard(&sh, h.s, err, sizeof(err)) < 0)
		die("%s", err);
	if (personalities_install(h.s, pers, npers, err, sizeof(err)) < 0)
		die("%s", err);
	if (ping_dst) {
		h.ping = (struct pinger){.dst = ping_dst, .count = (unsigned)ping_count,
					 .size = (unsigned)ping_size,
					 .interval = TAPIR_MS(ping_interval),
					 .id = (uint16_t)getpid(), .next_at = mono_us()};
		h.ping.sent_at = calloc(ping_count, sizeof(*h.ping.sent_at));
		h.ping.pattern = malloc(ping_size ? ping_size : 1);
		if (!h.ping.sent_at || !h.ping.pattern)
			die("out of memory");
		for (unsigned long i = 0; i < ping_size; i++)
			h.ping.pattern[i] = (uint8_t)(i + 8);
		tapir_echo_set_handler(h.s, ping_reply, &h);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* the signals go to this thread only, and only while it waits, so none
	 * is lost between the check and the wait; threads started from here on
	 * (the stack thread) inherit the blocked mask */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &orig);
	if (tapir_net_start(h.net) < 0)
		die("cannot start the stack thread: %s", strerror(errno));
	if (control_path &&
	    control_start(h.net, control_path, print_trace, &h, err, sizeof(err)) < 0)
		die("%s", err);
	if (control_path) { /* `tapir run --attach PATH` joins here */
		char gpath[sizeof(((struct sockaddr_un *)0)->sun_path)];
		if (snprintf(gpath, sizeof(gpath), "%s%s", control_path, TRUN_GATE_SUFFIX) >=
		    (int)sizeof(gpath))
			die("--control: path too long: %s", control_path);
		struct gate *g = gate_start(h.net, gpath, err, sizeof(err));
		if (!g)
			die("%s", err);
		if (host_hook)
			host_hook->gate = g;
	}
	if (host_hook) { /* tapir run: its command starts now */
		/* once its IPv6 addresses passed DAD (RFC 4862 5.4): before, an
		 * IPv6 connect finds no source address (EADDRNOTAVAIL) */
		host6_wait_dad(h.net, h.s, ifi);
		/* the addresses as they are now are no news: the watch prints
		 * only later changes (not onto the command's stdout at start) */
		tapir_net_lock(h.net);
		host6_watch(&h6, NULL, h.s, ifi);
		tapir_net_unlock(h.net);
		host_hook->start(host_hook->arg, h.net);
		goto loop;
	}

	{
		char a[16], m[18];
		snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5]);
		host6_wait_dad(h.net, h.s, ifi); /* INTERFACE.md: ready once DAD passed */
		if (hd.on && !host_dhcp_wait(&hd, h.net, h.s, &orig, &got_stop, &addr, &plen))
			goto stop;
		printf("ready %s=%s addr=%s/%u", iface ? "iface" : "tap", iface ? iface : tap_name,
		       tapir_ipv4_str(addr, a), plen);
		host6_print(stdout, h.net, h.s, ifi);
		tapir_net_lock(h.net);
		host6_watch(&h6, NULL, h.s, ifi);
		tapir_net_unlock(h.net);
		forward_describe(fwd, err, sizeof(err));
		if (shared) {
			size_t n = strlen(err);
			shared_describe(&sh, err + n, sizeof(err) - n);
		}
		printf(" mac=%s mtu=%u serve=%s%s%s%s\n", m, drv.mtu, serve, pcap_path ? " pcap=" : "",
		       pcap_path ? pcap_path : "", err);
		if (ping_dst)
			printf("PING %s: %lu data bytes\n", tapir_ipv4_str(ping_dst, a), ping_size);
		fflush(stdout);
	}

loop:;
	tapir_time_t last_trim = mono_us();
	while (!got_stop) {
		tapir_time_t now = mono_us(), next;
		struct timespec ts;

		tapir_net_lock(h.net);
		ping_step(&h, now);
		host6_watch(&h6, stdout, h.s, ifi);
		host_dhcp_watch(&hd, stdout, h.s);
		host_dhcp6_watch(&hd, stdout, h.s);
		next = ping_next(&h);
		tapir_net_unlock(h.net);
		if (next <= now) {
			ts.tv_sec = 0;
			ts.tv_nsec = 0;
		} else {
			tapir_time_t wait = next - now;
			if (wait > TAPIR_SEC(1))
				wait = TAPIR_SEC(1);
			ts.tv_sec = (time_t)(wait / 1000000);
			ts.tv_nsec = (long)(wait % 1000000) * 1000;
		}
		ppoll(NULL, 0, &ts, &orig);
		if ((link_err = tapir_net_link_error(h.net)))
			break;
		if (now >= last_trim + TAPIR_SEC(1)) {
			give_back(&h);
			last_trim = now;
		}
		if (host_hook && host_hook->tick(host_hook->arg))
			break;
		if (got_usr1) {
			got_usr1 = 0;
			tapir_net_lock(h.net);
			print_counters(&h);
			tapir_net_unlock(h.net);
		}
	}

stop:
	host_dhcp_release(&hd, h.net, h.s);
	/* The control thread may be blocked in the stack's calls; rather than
	 * unwind it, take the lock for good, report, and leave: the kernel
	 * closes the TAP device with the process. */
	tapir_net_lock(h.net);
	if (h.pcap)
		tapir_pcap_flush(h.pcap);
	/* ... but io_uring's read holds it until a kernel worker ends it after
	 * the exit: ended here, the TAP is free for the next tapir at once */
	if (h.tap)
		(void)tapir_tap_set_uring(h.tap, false);
	if (link_err) {
		/* the device is gone: nothing more can come or go.  Leaving closes
		 * every connection's descriptor, so programs under tapir run see
		 * ECONNRESET/EPIPE (as when the host crashes), never a hang. */
		fprintf(stderr, "tapir: link %s: %s\n", iface ? iface : tap_name, strerror(link_err));
		if (!host_hook)
			print_counters(&h);
		exit(1);
	}
	if (host_hook)
		exit(host_hook->status);
	print_counters(&h);
	if (shared)
		shared_report(&sh);
	fflush(stdout);
	exit(0); /* atexit: the nftables table goes (nftguard.c) */
}
