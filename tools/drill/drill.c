/* tapir drill: runs packetdrill scripts against the tapir core.
 *
 * This file is the command line and the script runner: one tapir stack per
 * script, on an in-memory link of our own, and the event loop.  What tapir
 * sends is captured in a queue; what the script sends ('<' lines) is built
 * by drill_packet.c and handed to tapir_stack_input; system calls are
 * drill_syscall.c's.  The clock is the script's: time advances only from
 * event to event, running the stack's timers on the way, so a script of
 * minutes runs in milliseconds.
 *
 * tapir is packetdrill's "local" host (192.168.0.1, or fd3d:fa7b:d17d::);
 * the script plays the remote end (192.0.2.1, or 2001:db8::1) behind the
 * router 192.168.0.2 (fe80::2), whose ARP (neighbor discovery) the link
 * answers itself. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapir/wire.h>

#include "drill_run.h"
#include "commands.h"
#include "util.h"

void drill_note(struct drill *d, const char *fmt, ...)
{
	va_list ap;
	if (!d->verbose)
		return;
	printf("  %8.3f  ", drill_script_s(d->now));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void drill_finish(struct drill *d, int result, int line, const char *fmt, ...)
{
	va_list ap;
	if (d->result != R_RUN)
		return;
	d->result = result;
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

double drill_script_s(tapir_time_t t)
{
	return (double)((int64_t)t - (int64_t)DL_BASE) / 1e6;
}

/* ---- the link ---- */

static int link_send(struct tapir_link *l, const uint8_t *f, size_t len)
{
	struct drill *d = (struct drill *)l;
	struct nbr_req q;
	if (drill_nbr_request(d, f, len, &q)) {
		/* answered with the router's MAC once tapir's call has
		 * returned (a link must not call back into the stack) */
		char a[TAPIR_IP_STRLEN];
		drill_note(d, "tapir asks for %s: the link answers", tapir_ip_str(&q.target, a));
		if (d->nnbr < DL_NBRQ)
			d->nbrq[d->nnbr++] = q;
		return 0;
	}
	if (!drill_is_tcp(d, f, len)) {
		drill_note(d, "tapir sent a frame that is not TCP/IPv%c (%zu bytes): ignored",
			   d->sc->cfg.ipv6 ? '6' : '4', len);
		return 0;
	}
	if (d->qlen == DL_QUEUE) {
		d->qoverflow = true;
		return 0;
	}
	{
		struct frame *fr = &d->q[(d->qhead + d->qlen) % DL_QUEUE];
		fr->data = malloc(len);
		if (!fr->data)
			return -ENOMEM;
		memcpy(fr->data, f, len);
		fr->len = len;
		fr->t = d->now;
		d->qlen++;
	}
	return 0;
}

/* The oldest frame tapir sent (the caller frees its data). */
static struct frame q_pop(struct drill *d)
{
	struct frame fr = d->q[d->qhead];
	d->qhead = (d->qhead + 1) % DL_QUEUE;
	d->qlen--;
	return fr;
}

static void q_clear(struct drill *d)
{
	while (d->qlen)
		free(q_pop(d).data);
}

void drill_settle(struct drill *d)
{
	for (int rounds = 0; rounds < 4 && d->nnbr; rounds++) {
		struct nbr_req q[DL_NBRQ];
		unsigned n = d->nnbr;
		memcpy(q, d->nbrq, n * sizeof(q[0]));
		d->nnbr = 0;
		for (unsigned i = 0; i < n; i++)
			drill_nbr_reply(d, &q[i]);
	}
	d->deadline = tapir_stack_poll(d->s, d->now);
}

/* ---- time ---- */

/* Runs the stack's timers up to T; with STOP_ON_FRAME, stops as soon as
 * tapir has sent something. */
static void advance(struct drill *d, tapir_time_t t, bool stop_on_frame)
{
	unsigned guard = 0;
	if (stop_on_frame && d->qlen)
		return;
	while (d->deadline <= t && d->result == R_RUN) {
		if (d->deadline > d->now)
			d->now = d->deadline;
		d->deadline = tapir_stack_poll(d->s, d->now);
		drill_settle(d);
		if (d->pend.on)
			drill_call_retry(d);
		if (stop_on_frame && d->qlen)
			return;
		if (++guard > 1000000) {
			drill_finish(d, R_FAIL, 0, "the stack's timers do not advance at %.6f",
				     drill_script_s(d->now));
			return;
		}
		if (d->deadline <= d->now)
			d->deadline = d->now + 1; /* a timer due now ran: look again later */
	}
	if (t > d->now)
		d->now = t;
}

/* ---- the stack ---- */

static void trace_fn(void *arg, tapir_time_t now, const char *channel, const char *line)
{
	(void)arg;
	printf("  %8.3f  [%s] %s\n", drill_script_s(now), channel, line);
}

static bool stack_up(struct drill *d, int line)
{
	const struct dl_config *c = &d->sc->cfg;
	if (d->s)
		return true;
	d->s = tapir_stack_new(&d->cfg);
	if (!d->s) {
		drill_finish(d, R_FAIL, line, "tapir_stack_new failed");
		return false;
	}
	if (d->verbose)
		tapir_set_trace(d->s, TAPIR_TR_TCP | TAPIR_TR_ICMP | TAPIR_TR_ICMP6, trace_fn, d);
	d->link.send = link_send;
	d->link.name = "drill";
	d->ifindex = tapir_iface_add(d->s, &d->link, drill_mac_tapir, c->mtu);
	if (d->ifindex < 0) {
		drill_finish(d, R_SKIP, line, "tapir does not take an interface MTU of %u", c->mtu);
		return false;
	}
	if (c->ipv6) {
		/* the default route comes with the router's advertisement
		 * (drill_link_seed) */
		int err = tapir_iface_add_ipv6(d->s, d->ifindex, c->local.b, c->prefix_len, d->now);
		if (err < 0) {
			drill_finish(d, R_FAIL, line, "tapir_iface_add_ipv6: %s", strerror(-err));
			return false;
		}
	} else {
		tapir_iface_set_ipv4(d->s, d->ifindex, tapir_ip_v4(&c->local), c->prefix_len, d->now);
		tapir_route_add(d->s, 0, 0, tapir_ip_v4(&c->gateway), d->ifindex);
	}
	drill_link_seed(d);
	drill_settle(d);
	/* what tapir sent while coming up (its RFC 5227 announcements, the
	 * ARP reply; router solicitations, MLD reports) is not part of the
	 * script */
	q_clear(d);
	return true;
}

/* ---- the script ---- */

/* Linux's scripts see what the stack sends through GSO (packetdrill's
 * tun): one line for a burst of segments, "P. 1:5841(5840)".  Under
 * --profile linux the segments tapir sent at the same moment after G, in
 * sequence, make one up to WANT bytes, with the PSH and FIN of the last. */
static void gso_merge(struct drill *d, struct seg *g, tapir_time_t t, uint32_t want)
{
	while (g->len < want && d->qlen) {
		const struct frame *fr = &d->q[d->qhead];
		struct seg h;
		if (fr->t != t || !drill_decode(d, fr, &h) || !h.csum_ok || !h.len ||
		    h.sport != g->sport || h.dport != g->dport || h.seq != g->seq + g->len ||
		    g->len + h.len > want || (g->flags & DL_FIN))
			return;
		g->len += h.len;
		g->flags |= h.flags & (DL_PSH | DL_FIN);
		free(q_pop(d).data);
	}
}

static void run_out(struct drill *d, const struct dl_event *e, tapir_time_t lo, tapir_time_t hi)
{
	struct frame fr;
	struct seg g;
	bool decoded;
	char want[256], got[256];
	advance(d, hi, true);
	if (d->result != R_RUN)
		return;
	drill_fmt_exp(want, sizeof(want), &e->pkt);
	if (d->qoverflow) {
		drill_finish(d, R_FAIL, e->line, "%s, got more than %u unexpected segments", want,
			     DL_QUEUE);
		return;
	}
	if (!d->qlen) {
		drill_finish(d, R_FAIL, e->line, "%s at %.3f, got nothing", want, drill_script_s(hi));
		return;
	}
	fr = q_pop(d);
	decoded = drill_decode(d, &fr, &g);
	free(fr.data);
	if (!decoded) {
		drill_finish(d, R_FAIL, e->line, "%s, got a malformed TCP/IPv%c packet", want,
			     d->sc->cfg.ipv6 ? '6' : '4');
		return;
	}
	/* packetdrill: the first SYN tapir sends defines its ISN; outbound
	 * sequence numbers (and inbound ACKs) are relative to it */
	if ((g.flags & DL_SYN) && (e->pkt.flags & DL_SYN) && !e->pkt.seq_any)
		d->isn = g.seq - e->pkt.seq;
	if ((g.flags & (DL_SYN | DL_ACK)) == DL_SYN) {
		d->risn = 0; /* a new active open: its SYN,ACK will tell */
		d->synack_pending = true;
	}
	if (d->profile == TAPIR_PROFILE_LINUX && !d->sc->cfg.strict_segments &&
	    !e->pkt.seq_any && g.len && g.len < e->pkt.len &&
	    g.seq - d->isn == e->pkt.seq)
		gso_merge(d, &g, fr.t, e->pkt.len);
	drill_fmt_seg(d, got, sizeof(got), &g);
	if (e->pkt.ip_ttl >= 0 || e->pkt.ip_tos >= 0) /* the IP fields the script names */
		drill_fmt_ip(want, sizeof(want), got, sizeof(got), &e->pkt, &g);
	drill_note(d, "line %d: > %s", e->line, got);
	if (!g.csum_ok) {
		drill_finish(d, R_FAIL, e->line, "%s, got %s with a bad checksum", want, got);
		return;
	}
	if (g.sport != d->lport || g.dport != d->rport) {
		/* a new connection of tapir's: follow its ports */
		if (g.flags & DL_SYN) {
			d->lport = g.sport;
			d->rport = g.dport;
		} else {
			drill_finish(d, R_FAIL, e->line, "%s on ports %u>%u, got ports %u>%u", want,
				     d->lport, d->rport, g.sport, g.dport);
			return;
		}
	}
	if (!drill_seg_match(d, &e->pkt, &g)) {
		drill_finish(d, R_FAIL, e->line, "%s, got %s", want, got);
		return;
	}
	if (fr.t < lo) {
		drill_finish(d, R_FAIL, e->line, "%s at %.3f, got it at %.3f", want,
			     drill_script_s(lo), drill_script_s(fr.t));
		return;
	}
	/* tapir's SYN,ACK to the script's SYN: what follows is relative to it */
	if ((g.flags & (DL_SYN | DL_ACK)) == (DL_SYN | DL_ACK))
		d->risn = d->syn_isn;
	/* packetdrill: what follows is timed from when it actually came */
	d->last_us = (int64_t)(fr.t - DL_BASE);
}

static void run_event(struct drill *d, const struct dl_event *e)
{
	int64_t base = e->time.kind == DL_T_REL ? d->last_us : 0;
	int64_t start = base + e->time.us, end = base + e->time.end_us, tol;
	tapir_time_t lo, hi;
	if (e->time.kind == DL_T_ANY)
		start = end = d->last_us;
	if (e->time.kind == DL_T_ABS && !e->time.end_rel)
		end = e->time.end_us;
	tol = d->tol;
	/* --tolerance_percent: of the time since the previous event */
	if (d->sc->cfg.tolerance_pct && start > d->last_us &&
	    (start - d->last_us) * d->sc->cfg.tolerance_pct / 100 > tol)
		tol = (start - d->last_us) * d->sc->cfg.tolerance_pct / 100;
	lo = (tapir_time_t)(DL_BASE + start - (start - tol < -(int64_t)DL_BASE ? 0 : tol));
	hi = (tapir_time_t)(DL_BASE + end + tol);
	if (e->time.kind == DL_T_ANY) {
		lo = d->now;
		hi = d->now + DL_ANY_HORIZON;
	}

	if (e->type == DL_EV_SHELL || e->type == DL_EV_CODE) {
		/* at their time: sockstat and TCP_INFO see the stack then */
		if (d->s)
			advance(d, (tapir_time_t)(DL_BASE + start), false);
		if (d->result != R_RUN)
			return;
		if (e->type == DL_EV_SHELL)
			drill_shell(d, e);
		else
			drill_python(d, e);
		d->last_us = start;
		return;
	}
	if (!stack_up(d, e->line))
		return;
	if (e->type == DL_EV_PKT && e->pkt.out) {
		run_out(d, e, lo, hi);
		return;
	}
	/* everything else happens at its time exactly */
	advance(d, (tapir_time_t)(DL_BASE + start), false);
	if (d->result != R_RUN)
		return;
	d->last_us = start;
	switch (e->type) {
	case DL_EV_PKT:
		drill_note(d, "line %d: < injected", e->line);
		drill_inject_tcp(d, e);
		drill_settle(d);
		break;
	case DL_EV_ICMP:
		drill_note(d, "line %d: < icmp injected", e->line);
		drill_inject_icmp(d, e);
		drill_settle(d);
		break;
	case DL_EV_CALL:
		drill_note(d, "line %d: %s", e->line, e->call.name);
		/* a blocking call returns within the range, else at its time */
		drill_call_run(d, e, lo, hi);
		break;
	default:
		break;
	}
	if (d->pend.on && d->result == R_RUN)
		drill_call_retry(d);
}

/* what the scripts of one run did besides their packets and calls */
struct totals {
	unsigned unmapped, ns_runs, py_run, py_skipped;
};

static int run_script(const char *path, const char *const *defines, const char *const *opts,
		      bool verbose,
		      bool lenient_win, bool lenient_opts, int profile, struct totals *tot)
{
	struct dl_script sc;
	struct drill *d;
	int result;

	if (dl_parse_file(path, defines, opts, &sc) < 0) {
		printf("FAIL %s: %s\n", path, sc.bad_msg);
		dl_script_free(&sc);
		return R_FAIL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		die("out of memory");
	d->sc = &sc;
	/* packetdrill's runner starts it in the script's directory: shell
	 * lines find their files from there */
	snprintf(d->dir, sizeof(d->dir), "%s", path);
	if (strrchr(d->dir, '/'))
		*strrchr(d->dir, '/') = 0;
	else
		snprintf(d->dir, sizeof(d->dir), ".");
	d->verbose = verbose;
	d->lenient_win = lenient_win;
	d->lenient_opts = lenient_opts;
	d->tol = sc.cfg.tolerance_us;
	d->now = DL_BASE;
	d->deadline = TAPIR_TIME_NEVER;
	tapir_config_default(&d->cfg);
	tapir_config_profile(&d->cfg, (enum tapir_profile_id)profile);
	d->profile = profile;
	d->cfg.seed = 1; /* deterministic: the same run every time */
	if (profile == TAPIR_PROFILE_LINUX) /* Linux's tcp_rmem[2], 6 MiB: wscale 7 */
		d->cfg.tcp_rcvbuf_max = TAPIR_TCP_RCVBUF_AUTO;
	/* RFC 4862 5.1: DupAddrDetectTransmits 0, no DAD: tapir's addresses
	 * are usable at once, as packetdrill's (added with nodad) */
	d->cfg.nd_dad_transmits = 0;
	d->result = R_RUN;

	for (size_t i = 0; i < sc.nev && d->result == R_RUN; i++) {
		/* a parse problem after the events before it have run: the
		 * events up to it may already fail */
		if (sc.bad_line && sc.ev[i].line >= sc.bad_line)
			break;
		run_event(d, &sc.ev[i]);
	}
	if (d->result == R_RUN && sc.bad_line) {
		d->plain = true;
		drill_finish(d, sc.bad_skip ? R_SKIP : R_FAIL, sc.bad_line, "%s", sc.bad_msg);
	}
	if (d->result == R_RUN && d->pend.on) {
		advance(d, d->pend.hi, false);
		if (d->result == R_RUN && d->pend.on)
			drill_finish(d, R_FAIL, d->pend.e->line, "%s never returned",
				     d->pend.e->call.name);
	}
	if (d->result == R_RUN)
		d->result = R_PASS;

	result = d->result;
	tot->unmapped += d->unmapped;
	tot->ns_runs += d->ns_runs;
	tot->py_run += d->py_run;
	tot->py_skipped += d->py_skipped;
	if (result == R_PASS)
		printf("PASS %s\n", path);
	else
		printf("%s %s: line %d, %s%s\n", result == R_FAIL ? "FAIL" : "SKIP", path, d->line,
		       result == R_FAIL && !d->plain ? "expected " : "", d->msg);
	q_clear(d);
	for (int i = 0; i < DL_MAX_FD; i++)
		free(d->fd[i].ep); /* epoll descriptors (drill_io.c) */
	if (d->s)
		tapir_stack_free(d->s);
	free(d);
	dl_script_free(&sc);
	return result;
}

static void usage(FILE *f)
{
	fputs("usage: tapir drill [-v] [-D NAME]... [--lenient win,options] [--profile NAME]\n"
	      "                   [--tolerance_usecs=N|--OPTION=VALUE]... SCRIPT.pkt...\n"
	      "\n"
	      "Runs packetdrill scripts against the tapir TCP core in simulated time.\n"
	      "  -v                 show every event, packet and skipped line\n"
	      "  -D NAME            take the #ifdef NAME branches (default: STANDARD,\n"
	      "                     FreeBSD under --profile freebsd)\n"
	      "  --profile NAME     rfc (default), linux or freebsd (docs/profiles.md);\n"
	      "                     under freebsd the scripts' sysctl lines set its fields\n"
	      "  --lenient LIST     win: any open window (and buffer size) matches;\n"
	      "                     options: compare only the options tapir implements (MSS)\n"
	      "  --OPTION=VALUE     packetdrill's script options (--tolerance_usecs=N,\n"
	      "                     --ip_version=..., --mtu=N...) for every script,\n"
	      "                     over the script's own header, as packetdrill's\n"
	      "\n"
	      "Prints PASS|FAIL|SKIP per script and 'N passed, N failed, N skipped';\n"
	      "exits 1 when a script failed, 2 on a usage error.\n",
	      f);
}

int cmd_drill(int argc, char **argv)
{
	const char *defines[DL_MAX_DEFINES + 1] = {0};
	unsigned ndef = 0, counts[4] = {0};
	struct totals tot = {0};
	const char *opts[DL_MAX_CMDOPTS + 1] = {0};
	unsigned nopts = 0;
	bool verbose = false, lwin = false, lopts = false, any_d = false;
	int i, profile = TAPIR_PROFILE_RFC;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v")) {
			verbose = true;
		} else if (!strcmp(a, "-D") || !strncmp(a, "-D", 2)) {
			const char *n = a[2] ? a + 2 : (++i < argc ? argv[i] : NULL);
			if (!n)
				die("-D needs a name");
			if (ndef == DL_MAX_DEFINES)
				die("at most %d -D names", DL_MAX_DEFINES);
			defines[ndef++] = n;
			any_d = true;
		} else if (!strcmp(a, "--lenient") || !strncmp(a, "--lenient=", 10)) {
			char list[64], *tok, *save;
			const char *v = a[9] == '=' ? a + 10 : (++i < argc ? argv[i] : NULL);
			if (!v)
				die("--lenient needs a list (win,options)");
			snprintf(list, sizeof(list), "%s", v);
			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "win"))
					lwin = true;
				else if (!strcmp(tok, "options"))
					lopts = true;
				else
					die("--lenient: unknown '%s' (win, options)", tok);
			}
		} else if (!strcmp(a, "--profile") || !strncmp(a, "--profile=", 10)) {
			const char *v = a[9] == '=' ? a + 10 : (++i < argc ? argv[i] : NULL);
			profile = tapir_profile_by_name(v);
			if (profile < 0)
				die("--profile: unknown '%s' (rfc, linux, freebsd)", v ? v : "");
		} else if (a[0] == '-' && a[1] == '-' && strchr(a, '=') && dl_option_known(a + 2)) {
			/* packetdrill's own options, for every script */
			if (nopts == DL_MAX_CMDOPTS)
				die("at most %d packetdrill options", DL_MAX_CMDOPTS);
			opts[nopts++] = a + 2;
		} else if (a[0] == '-' && a[1]) {
			die("drill: unknown option '%s' (try tapir drill --help)", a);
		} else {
			break;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	/* the RFC's behaviour, where the suite offers FreeBSD's as well;
	 * FreeBSD's under its profile */
	if (!any_d)
		defines[ndef++] = profile == TAPIR_PROFILE_FREEBSD ? "FreeBSD" : "STANDARD";
	for (; i < argc; i++)
		counts[run_script(argv[i], defines, opts, verbose, lwin, lopts, profile, &tot)]++;
	drill_python_end();
	printf("%u settings or commands not taken, %u shell commands run in a namespace, "
	       "%u python blocks run, %u skipped\n",
	       tot.unmapped, tot.ns_runs, tot.py_run, tot.py_skipped);
	printf("%u passed, %u failed, %u skipped\n", counts[R_PASS], counts[R_FAIL],
	       counts[R_SKIP]);
	return counts[R_FAIL] ? 1 : 0;
}
