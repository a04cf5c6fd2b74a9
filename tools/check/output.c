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

static const char *const state_name[] = {"filtered", "open", "closed", "filtered", "out"};

/* Whether probe P is written: this run's, and answered unless the run
 * ended normally (then no answer is `filtered`). */
static bool shown(const struct probe *p)
{
	return p->state != ST_OUT && (p->state != ST_PENDING || !check_interrupted);
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
			if (c->json) {
				fputs("{\"host\":", stdout);
				nu_json_str(stdout, name);
				printf(",\"port\":%u,\"state\":\"%s\",\"rtt_ms\":", port,
				       state_name[p->state]);
				if (has_rtt(p))
					printf("%.3f}\n", p->rtt_us / 1000.0);
				else
					fputs("null}\n", stdout);
			} else if (has_rtt(p)) {
				printf("%s %u %s %.3f\n", name, port, state_name[p->state],
				       p->rtt_us / 1000.0);
			} else {
				printf("%s %u %s -\n", name, port, state_name[p->state]);
			}
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

/* nmap's reasons (its reason.cc names): what made a port's state. */
static const char *reason_of(const struct check *c, const struct probe *p)
{
	bool connect = c->eng == &check_engine_connect;
	switch (p->state) {
	case ST_OPEN: return "syn-ack";
	case ST_CLOSED: return connect ? "conn-refused" : "reset";
	case ST_FILTERED: return "unreach"; /* an ICMP destination unreachable */
	default: return "no-response";
	}
}

/* The TCP service names of /etc/services, read once ("table" in nmap's
 * terms: a name by port number, not a probe of the service). */
struct services {
	char *name[65536];
};

static struct services *services_load(void)
{
	struct services *s = check_calloc(1, sizeof(*s));
	struct servent *e;
	setservent(1);
	while ((e = getservent()))
		if (!strcmp(e->s_proto, "tcp") && !s->name[ntohs((uint16_t)e->s_port)])
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
	fprintf(f, "<scaninfo type=\"%s\" protocol=\"tcp\" numservices=\"%llu\" services=\"",
		c->eng == &check_engine_connect ? "connect" : "syn", (unsigned long long)nports);
	print_ranges(f, bits);
	fputs("\"/>\n<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n", f);
}

/* nmap leaves out of the port list a state held by more than 25 ports
 * (`Not shown: N closed ports`, <extraports>); so do we, so that ndiff
 * compares like with like.  Open ports are always listed. */
#define XML_MAX_PER_STATE 25

static void xml_extraports(FILE *f, const struct check *c, size_t h, int st, uint64_t n)
{
	static const char *const reasons[] = {"reset", "conn-refused", "unreach", "no-response"};
	uint8_t bits[65536 / 8];
	fprintf(f, "<extraports state=\"%s\" count=\"%llu\">\n", state_name[st],
		(unsigned long long)n);
	for (size_t r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++) {
		uint64_t k = 0;
		memset(bits, 0, sizeof(bits));
		for (uint64_t idx = c->off[h]; idx < c->off[h + 1]; idx++) {
			const struct probe *p = &c->pr[idx];
			uint16_t port = port_at(c, h, idx);
			if (!shown(p) || (p->state == ST_PENDING ? ST_FILTERED : p->state) != st ||
			    strcmp(reason_of(c, p), reasons[r]))
				continue;
			bits[port >> 3] |= (uint8_t)(1u << (port & 7));
			k++;
		}
		if (!k)
			continue;
		fprintf(f, "<extrareasons reason=\"%s\" count=\"%llu\" proto=\"tcp\" ports=\"",
			reasons[r], (unsigned long long)k);
		print_ranges(f, bits);
		fputs("\"/>\n", f);
	}
	fputs("</extraports>\n", f);
}

/* One <host>; returns 1 when it is up (an open or closed port), 0 down,
 * -1 when it has nothing to write. */
static int xml_host(FILE *f, const struct check *c, size_t h, const struct services *sv)
{
	const struct nu_host *x = &c->hosts.v[h];
	uint64_t n[5] = {0}, idx, shown_n = 0;
	char buf[NU_ADDRSTRLEN];
	bool up;
	for (idx = c->off[h]; idx < c->off[h + 1]; idx++)
		if (shown(&c->pr[idx])) {
			n[c->pr[idx].state == ST_PENDING ? ST_FILTERED : c->pr[idx].state]++;
			shown_n++;
		}
	if (!shown_n)
		return -1;
	up = n[ST_OPEN] || n[ST_CLOSED];
	fprintf(f, "<host starttime=\"%llu\" endtime=\"%llu\"><status state=\"%s\" reason=\"%s\" reason_ttl=\"0\"/>\n",
		(unsigned long long)(c->t0_wall / 1000000), (unsigned long long)(wall_us() / 1000000),
		up ? "up" : "down",
		!up ? "no-response" : n[ST_OPEN] ? "syn-ack"
		: c->eng == &check_engine_connect ? "conn-refused" : "reset");
	fprintf(f, "<address addr=\"%s\" addrtype=\"%s\"/>\n<hostnames>\n",
		nu_addr_str(&x->addr, buf), x->addr.family == AF_INET6 ? "ipv6" : "ipv4");
	if (x->name) {
		fputs("<hostname name=\"", f);
		xml_str(f, x->name);
		fputs("\" type=\"user\"/>\n", f);
	}
	fputs("</hostnames>\n<ports>", f);
	for (int st = ST_CLOSED; st <= ST_FILTERED; st++)
		if (n[st] > XML_MAX_PER_STATE)
			xml_extraports(f, c, h, st, n[st]);
	for (idx = c->off[h]; idx < c->off[h + 1]; idx++) {
		const struct probe *p = &c->pr[idx];
		int st = p->state == ST_PENDING ? ST_FILTERED : p->state;
		uint16_t port = port_at(c, h, idx);
		if (!shown(p) || (st != ST_OPEN && n[st] > XML_MAX_PER_STATE))
			continue;
		fprintf(f, "<port protocol=\"tcp\" portid=\"%u\"><state state=\"%s\" reason=\"%s\" reason_ttl=\"0\"/>",
			port, state_name[st], reason_of(c, p));
		/* (nmap too says "unknown" for a port its table has no name for) */
		fputs("<service name=\"", f);
		xml_str(f, sv->name[port] ? sv->name[port] : "unknown");
		fputs("\" method=\"table\" conf=\"3\"/>", f);
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
	sv = services_load();
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
