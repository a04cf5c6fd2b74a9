/* tapir check's output: text lines, JSON lines, and -oX, the XML nmap
 * writes (nmap.dtd, xmloutputversion 1.05) so that ndiff and the other
 * readers of nmap's XML take it: an <nmaprun> with one <host> per address,
 * its <status>, <address>, <hostnames> and <ports>, and <runstats>.
 *
 * Only this run's probes are written (not another shard's, not excluded
 * ones); after an interrupt with --resume, only the answered ones: the
 * rest are the resumed run's. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <tapir/tapir.h>

#include "check.h"
#include "engine.h"
#include "util.h"

/* (what is printed: a probe's state, and for a UDP port nothing answered,
 * ST_OPEN_FILTERED) */
enum { ST_OPEN_FILTERED = ST_OUT + 1, N_OUT_STATES };
static const char *const state_name[] = {"filtered", "open", "closed", "filtered", "out",
					 "open|filtered"};

/* Whether probe P is written: this run's, and answered unless the run
 * ended normally (then no answer is `filtered`). */
static bool shown(const struct probe *p)
{
	return p->state != ST_OUT && (p->state != ST_PENDING || !check_interrupted);
}

/* What P is printed as: with no answer at the end, `filtered` (TCP) or
 * `open|filtered` (UDP: an open port may ignore the datagram). */
static int out_state(const struct check *c, const struct probe *p)
{
	if (p->state != ST_PENDING)
		return p->state;
	return c->udp ? ST_OPEN_FILTERED : ST_FILTERED;
}

static bool has_rtt(const struct probe *p)
{
	return p->state != ST_PENDING && (p->rtt_us || p->state != ST_FILTERED);
}

static uint16_t port_at(const struct check *c, size_t h, uint64_t idx)
{
	return c->sets[c->hosts.v[h].portset].p[idx - c->off[h]];
}

void check_print_results(struct check *c)
{
	size_t h;
	char buf[NU_ADDRSTRLEN];
	for (h = 0; h < c->hosts.n; h++) {
		const char *name = nu_host_str(&c->hosts.v[h], buf);
		uint64_t idx;
		for (idx = c->off[h]; idx < c->off[h + 1]; idx++) {
			const struct probe *p = &c->pr[idx];
			uint16_t port = port_at(c, h, idx);
			if (!shown(p) || (c->open_only && p->state != ST_OPEN))
				continue;
			const struct check_banner *b = check_banner_of(c, idx);
			if (c->json) {
				fputs("{\"host\":", stdout);
				nu_json_str(stdout, name);
				printf(",\"port\":%u,\"state\":\"%s\",\"rtt_ms\":", port,
				       state_name[out_state(c, p)]);
				if (has_rtt(p))
					printf("%.3f", p->rtt_us / 1000.0);
				else
					fputs("null", stdout);
				if (b)
					check_banner_json(stdout, b);
				fputs("}\n", stdout);
				continue;
			}
			if (has_rtt(p))
				printf("%s %u %s %.3f", name, port, state_name[out_state(c, p)],
				       p->rtt_us / 1000.0);
			else
				printf("%s %u %s -", name, port, state_name[out_state(c, p)]);
			if (b)
				check_banner_text(stdout, b);
			putchar('\n');
		}
	}
	fflush(stdout);
}

/* ---- -oX ---- */

/* S as XML attribute text. */
static void xml_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if ((unsigned char)*s < 0x20)
				fprintf(f, "&#%u;", (unsigned char)*s);
			else
				fputc(*s, f);
		}
	}
}

/* --banners: as nmap's banner script's output (<script id="banner">) */
static void xml_banner(FILE *f, const struct check_banner *b)
{
	char *s = NULL;
	size_t n = 0;
	FILE *m;
	if (!b || !(m = open_memstream(&s, &n)))
		return;
	check_banner_text(m, b);
	fclose(m);
	fputs("<script id=\"banner\" output=\"", f);
	xml_str(f, s + 1); /* (after its leading space) */
	fputs("\"/>", f);
	free(s);
}

/* nmap's reasons (its reason.cc names): what made a port's state. */
static const char *reason_of(const struct check *c, const struct probe *p)
{
	static const char *const why[] = {
		[WHY_NET_UNREACH] = "net-unreach",   [WHY_HOST_UNREACH] = "host-unreach",
		[WHY_PROTO_UNREACH] = "proto-unreach", [WHY_PORT_UNREACH] = "port-unreach",
		[WHY_NET_PROHIB] = "net-prohibited", [WHY_HOST_PROHIB] = "host-prohibited",
		[WHY_ADMIN_PROHIB] = "admin-prohibited", [WHY_NO_ROUTE] = "no-route",
		[WHY_BEYOND_SCOPE] = "beyond-scope", [WHY_REJECT_ROUTE] = "reject-route",
		[WHY_PERM_DENIED] = "perm-denied",   [WHY_DEST_UNREACH] = "dest-unreach",
	};
	bool connect = c->eng == &check_engine_connect;
	if (p->state != ST_PENDING && p->why && p->why < sizeof(why) / sizeof(why[0]))
		return why[p->why];
	switch (p->state) {
	case ST_OPEN: return c->udp ? "udp-response" : "syn-ack";
	case ST_CLOSED: return c->udp ? "port-unreach" : connect ? "conn-refused" : "reset";
	case ST_FILTERED: return "dest-unreach"; /* (an ICMP error of no known code) */
	default: return "no-response";
	}
}

/* The TCP service names of /etc/services, read once ("table" in nmap's
 * terms: a name by port number, not a probe of the service). */
struct services {
	char *name[65536];
};

static struct services *services_load(const char *proto)
{
	struct services *s = check_calloc(1, sizeof(*s));
	struct servent *e;
	setservent(1);
	while ((e = getservent()))
		if (!strcmp(e->s_proto, proto) && !s->name[ntohs((uint16_t)e->s_port)])
			s->name[ntohs((uint16_t)e->s_port)] = strdup(e->s_name);
	endservent();
	return s;
}

static void services_free(struct services *s)
{
	for (size_t i = 0; i < 65536; i++)
		free(s->name[i]);
	free(s);
}

/* Ranges of the ports in BITS: "1-1024,8080". */
static void print_ranges(FILE *f, const uint8_t *bits)
{
	bool first = true;
	for (unsigned p = 1; p < 65536; p++) {
		unsigned q = p;
		if (!(bits[p >> 3] & (1u << (p & 7))))
			continue;
		while (q + 1 < 65536 && (bits[(q + 1) >> 3] & (1u << ((q + 1) & 7))))
			q++;
		fprintf(f, q > p ? "%s%u-%u" : "%s%u", first ? "" : ",", p, q);
		first = false;
		p = q;
	}
}

static void time_str(uint64_t sec, char *buf, size_t len)
{
	time_t t = (time_t)sec;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm);
}

static void xml_head(FILE *f, const struct check *c, const uint8_t *bits, uint64_t nports)
{
	char ts[64];
	time_str(c->t0_wall / 1000000, ts, sizeof(ts));
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n", f);
	fputs("<nmaprun scanner=\"tapir\" args=\"", f);
	for (int i = 0; i < c->sc.argc; i++) {
		fputs(i ? " " : "tapir ", f);
		xml_str(f, c->sc.argv[i]);
	}
	fprintf(f, "\" start=\"%llu\" startstr=\"%s\" version=\"%s\" xmloutputversion=\"1.05\">\n",
		(unsigned long long)(c->t0_wall / 1000000), ts, TAPIR_VERSION);
	fprintf(f, "<scaninfo type=\"%s\" protocol=\"%s\" numservices=\"%llu\" services=\"",
		c->udp ? "udp" : c->eng == &check_engine_connect ? "connect" : "syn",
		c->udp ? "udp" : "tcp", (unsigned long long)nports);
	print_ranges(f, bits);
	fputs("\"/>\n<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n", f);
}

/* nmap leaves out of the port list a state held by more than 25 ports
 * (`Not shown: N closed ports`, <extraports>); so do we, so that ndiff
 * compares like with like.  Open ports are always listed. */
#define XML_MAX_PER_STATE 25

/* Whether state ST's ports are folded into <extraports> for a host with
 * N of them: more than 25; with --open-only (nmap's --open) every state
 * but open and open|filtered. */
static bool folded(const struct check *c, int st, uint64_t n)
{
	if (st == ST_OPEN || st == ST_OUT || !n)
		return false;
	return n > XML_MAX_PER_STATE || (c->open_only && st != ST_OPEN_FILTERED);
}

static void xml_extraports(FILE *f, const struct check *c, size_t h, int st, uint64_t n)
{
	static const char *const reasons[] = {
		"reset",          "conn-refused",  "port-unreach",    "net-unreach",
		"host-unreach",   "proto-unreach", "net-prohibited",  "host-prohibited",
		"admin-prohibited", "no-route",    "beyond-scope",    "reject-route",
		"perm-denied",    "dest-unreach",  "no-response"};
	uint8_t bits[65536 / 8];
	fprintf(f, "<extraports state=\"%s\" count=\"%llu\">\n", state_name[st],
		(unsigned long long)n);
	for (size_t r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++) {
		uint64_t k = 0;
		memset(bits, 0, sizeof(bits));
		for (uint64_t idx = c->off[h]; idx < c->off[h + 1]; idx++) {
			const struct probe *p = &c->pr[idx];
			uint16_t port = port_at(c, h, idx);
			if (!shown(p) || out_state(c, p) != st ||
			    strcmp(reason_of(c, p), reasons[r]))
				continue;
			bits[port >> 3] |= (uint8_t)(1u << (port & 7));
			k++;
		}
		if (!k)
			continue;
		fprintf(f, "<extrareasons reason=\"%s\" count=\"%llu\" proto=\"%s\" ports=\"",
			reasons[r], (unsigned long long)k, c->udp ? "udp" : "tcp");
		print_ranges(f, bits);
		fputs("\"/>\n", f);
	}
	fputs("</extraports>\n", f);
}

/* One <host>; returns 1 when it is up (an open or closed port), 0 down,
 * -1 when it has no port of this run to write. */
static int xml_host(FILE *f, const struct check *c, size_t h, const struct services *sv)
{
	const struct nu_host *x = &c->hosts.v[h];
	uint64_t n[N_OUT_STATES] = {0}, idx, shown_n = 0;
	char buf[NU_ADDRSTRLEN];
	bool up;
	for (idx = c->off[h]; idx < c->off[h + 1]; idx++)
		if (shown(&c->pr[idx])) {
			n[out_state(c, &c->pr[idx])]++;
			shown_n++;
		}
	if (!shown_n)
		return -1;
	up = n[ST_OPEN] || n[ST_CLOSED];
	/* (--open-only: as nmap --open, only hosts with a port maybe open are
	 * written; all count in <runstats>) */
	if (c->open_only && !n[ST_OPEN] && !n[ST_OPEN_FILTERED])
		return up;
	fprintf(f, "<host starttime=\"%llu\" endtime=\"%llu\"><status state=\"%s\" reason=\"%s\" reason_ttl=\"0\"/>\n",
		(unsigned long long)(c->t0_wall / 1000000), (unsigned long long)(wall_us() / 1000000),
		up ? "up" : "down",
		!up ? "no-response" : n[ST_OPEN] ? (c->udp ? "udp-response" : "syn-ack")
		: c->udp ? "port-unreach" : c->eng == &check_engine_connect ? "conn-refused" : "reset");
	fprintf(f, "<address addr=\"%s\" addrtype=\"%s\"/>\n<hostnames>\n",
		nu_addr_str(&x->addr, buf), x->addr.family == AF_INET6 ? "ipv6" : "ipv4");
	if (x->name) {
		fputs("<hostname name=\"", f);
		xml_str(f, x->name);
		fputs("\" type=\"user\"/>\n", f);
	}
	fputs("</hostnames>\n<ports>", f);
	for (int st = ST_CLOSED; st < N_OUT_STATES; st++)
		if (folded(c, st, n[st]))
			xml_extraports(f, c, h, st, n[st]);
	for (idx = c->off[h]; idx < c->off[h + 1]; idx++) {
		const struct probe *p = &c->pr[idx];
		int st = out_state(c, p);
		uint16_t port = port_at(c, h, idx);
		if (!shown(p) || folded(c, st, n[st]))
			continue;
		fprintf(f, "<port protocol=\"%s\" portid=\"%u\"><state state=\"%s\" reason=\"%s\" reason_ttl=\"0\"/>",
			c->udp ? "udp" : "tcp", port, state_name[st], reason_of(c, p));
		/* (as nmap: a port its table has no name for is "unknown" when
		 * open, and has no <service> otherwise) */
		if (sv->name[port] || st == ST_OPEN) {
			fputs("<service name=\"", f);
			xml_str(f, sv->name[port] ? sv->name[port] : "unknown");
			fputs("\" method=\"table\" conf=\"3\"/>", f);
		}
		xml_banner(f, check_banner_of(c, idx));
		fputs("</port>\n", f);
	}
	fprintf(f, "</ports>\n<times srtt=\"%.0f\" rttvar=\"%.0f\" to=\"%llu\"/>\n</host>\n", c->srtt,
		c->rttvar, (unsigned long long)(check_wait_ns(c) / 1000));
	return up;
}

void check_write_xml(struct check *c)
{
	const char *path = c->sc.xml_file;
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	uint8_t bits[65536 / 8] = {0};
	uint64_t nports = 0, up = 0, down = 0, now = wall_us();
	struct services *sv;
	char ts[64];
	if (!f)
		die("check: -oX: cannot write %s: %s", path, strerror(errno));
	for (size_t k = 0; k < c->nsets; k++)
		for (size_t i = 0; i < c->sets[k].n; i++) {
			uint16_t p = c->sets[k].p[i];
			nports += !(bits[p >> 3] & (1u << (p & 7)));
			bits[p >> 3] |= (uint8_t)(1u << (p & 7));
		}
	xml_head(f, c, bits, nports);
	sv = services_load(c->udp ? "udp" : "tcp");
	for (size_t h = 0; h < c->hosts.n; h++) {
		int r = xml_host(f, c, h, sv);
		up += r == 1;
		down += r == 0;
	}
	services_free(sv);
	time_str(now / 1000000, ts, sizeof(ts));
	fprintf(f, "<runstats><finished time=\"%llu\" timestr=\"%s\" summary=\"tapir check done at %s; %llu IP address%s (%llu host%s up) scanned in %.2f seconds\" elapsed=\"%.2f\" exit=\"%s\"/><hosts up=\"%llu\" down=\"%llu\" total=\"%llu\"/>\n</runstats>\n</nmaprun>\n",
		(unsigned long long)(now / 1000000), ts, ts, (unsigned long long)(up + down),
		up + down == 1 ? "" : "es", (unsigned long long)up, up == 1 ? "" : "s", (now - c->t0_wall) / 1e6, (now - c->t0_wall) / 1e6,
		check_interrupted ? "error" : "success", (unsigned long long)up,
		(unsigned long long)down, (unsigned long long)(up + down));
	if (f == stdout ? fflush(f) : fclose(f))
		die("check: -oX: cannot write %s: %s", path, strerror(errno));
}
