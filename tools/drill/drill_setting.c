/* tapir drill: the sysctls a script's shell lines write, onto tapir.
 *
 * FreeBSD's names (net.inet.tcp.*, tcp(4)) and Linux's (net.ipv4.tcp_*,
 * Documentation/networking/ip-sysctl.rst) that have a tapir equivalent set
 * a field of struct tapir_config or of the profile (include/tapir/
 * profile.h).  The general ones (buffers, SACK, timestamps, window
 * scaling, ECN) apply under every profile; those that are a system's own
 * choice only under its profile (the rest is noted with -v: the script then
 * shows the profile's behaviour).  A name drill does not know is reported
 * on a line of its own and counted. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill_run.h"

/* when a setting may still change: the config before the stack exists,
 * the running stack's profile at any time */
enum when { BEFORE, ANYTIME };

/* the numbers of VALUE ("4096 131072 6291456"): how many were read */
static int numbers(const char *value, long long *v, int max)
{
	int n = 0;
	char *end;
	while (n < max) {
		long long x = strtoll(value, &end, 0);
		if (end == value)
			break;
		v[n++] = x;
		value = end;
	}
	while (*value == ' ' || *value == '\t')
		value++;
	return *value ? -1 : n;
}

/* FreeBSD's sysctls that are fields of the freebsd profile (tcp(4)):
 * flags, and times in milliseconds */
static bool freebsd_profile(struct drill *d, const char *name, long long v)
{
	static const struct { const char *name; size_t off; } flags[] = {
		{"net.inet.tcp.insecure_syn", offsetof(struct tapir_profile, insecure_syn)},
		{"net.inet.tcp.insecure_rst", offsetof(struct tapir_profile, insecure_rst)},
		{"net.inet.tcp.drop_synfin", offsetof(struct tapir_profile, drop_synfin)},
		{"net.inet.tcp.icmp_may_rst", offsetof(struct tapir_profile, icmp_may_rst)},
	};
	struct tapir_config *c = &d->cfg;
	/* before the stack, its config; then the running stack's profile */
	struct tapir_profile *p = d->s ? tapir_stack_profile(d->s) : &c->profile;
	if (v < 0)
		return false;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(name, flags[i].name)) {
			*((uint8_t *)p + flags[i].off) = v != 0;
			return true;
		}
	if (!strcmp(name, "net.inet.tcp.keepidle") && v >= 1000)
		p->keepidle_s = (uint32_t)(v / 1000);
	else if (!strcmp(name, "net.inet.tcp.keepintvl") && v >= 1000)
		p->keepintvl_s = (uint32_t)(v / 1000);
	else if (!strcmp(name, "net.inet.tcp.keepcnt") && v > 0)
		p->keepcnt = (uint32_t)v;
	else if (!strcmp(name, "net.inet.tcp.keepinit") && v >= 1000)
		p->keepinit_s = (uint32_t)(v / 1000);
	else if (d->s) /* the rest is fixed once the stack runs */
		return false;
	else if (!strcmp(name, "net.inet.tcp.rexmit_initial") && v > 0)
		c->profile.rto_initial_us = c->tcp_rto_initial_us = TAPIR_MS(v);
	else if (!strcmp(name, "net.inet.tcp.rexmit_min") && v > 0)
		c->profile.rto_min_us = c->tcp_rto_min_us = TAPIR_MS(v);
	else if (!strcmp(name, "kern.ipc.maxsockbuf") && v > 0 && v <= UINT32_MAX)
		p->wscale_bufmax = (uint32_t)v;
	else if (!strcmp(name, "net.inet.tcp.rexmit_slop"))
		c->profile.rto_slop_us = TAPIR_MS(v);
	else if (!strcmp(name, "net.inet.tcp.delacktime") && v > 0)
		c->profile.delack_us = c->tcp_delack_us = TAPIR_MS(v);
	else
		return false;
	return true;
}

/* Linux's sysctls that are fields of the linux profile (ip-sysctl.rst) */
static bool linux_profile(struct drill *d, const char *name, long long v)
{
	struct tapir_config *c = &d->cfg;
	struct tapir_profile *p = d->s ? tapir_stack_profile(d->s) : &c->profile;
	if (v < 0)
		return false;
	if (!strcmp(name, "net.ipv4.tcp_keepalive_time") && v > 0)
		p->keepidle_s = (uint32_t)v;
	else if (!strcmp(name, "net.ipv4.tcp_keepalive_intvl") && v > 0)
		p->keepintvl_s = (uint32_t)v;
	else if (!strcmp(name, "net.ipv4.tcp_keepalive_probes") && v > 0)
		p->keepcnt = (uint32_t)v;
	else if (!strcmp(name, "net.ipv4.tcp_recovery") && !(v & ~1LL))
		p->rack = (uint8_t)v; /* 0x1: RACK loss detection (RFC 8985 6) */
	else if (!strcmp(name, "net.ipv4.tcp_early_retrans") && v <= 4)
		p->tlp = v >= 3; /* 3, 4: tail loss probes (RFC 8985 7) */
	else if (!strcmp(name, "net.ipv4.tcp_fastopen") && !(v & ~0x403LL))
		/* 0x1 client, 0x2 server, 0x400 every listener (RFC 7413) */
		p->fastopen = (uint8_t)((v & 3) | (v & 0x400 ? 4 : 0));
	else if (d->s)
		return false;
	else if (!strcmp(name, "net.ipv4.tcp_syn_retries") && v > 0 && v <= 127)
		c->profile.syn_retries = c->tcp_syn_retries = (unsigned)v;
	else if (!strcmp(name, "net.ipv4.tcp_rto_min_us") && v > 0)
		c->profile.rto_min_us = c->tcp_rto_min_us = (tapir_time_t)v;
	else if (!strcmp(name, "net.ipv4.tcp_rto_max_ms") && v > 0)
		c->tcp_rto_max_us = TAPIR_MS(v);
	else if (!strcmp(name, "net.ipv4.tcp_retries2") && v > 0)
		c->tcp_retries2 = (unsigned)v;
	else if (!strcmp(name, "net.ipv4.tcp_fin_timeout") && v > 0)
		c->tcp_fin_timeout_us = TAPIR_SEC(v);
	else
		return false;
	return true;
}

/* Either system's names for what struct tapir_config holds; before the
 * first socket. */
static bool general(struct drill *d, const char *name, const long long *v, int n)
{
	struct tapir_config *c = &d->cfg;
	bool flag = n == 1 && (v[0] == 0 || v[0] == 1);
	if (d->s || n < 1)
		return false;
	if ((!strcmp(name, "net.inet.tcp.ecn.enable") || !strcmp(name, "net.ipv4.tcp_ecn")) &&
	    n == 1 && v[0] >= 0 && v[0] <= 2)
		/* both systems' values are tapir's: 0 off, 1 ask and accept,
		 * 2 accept only */
		c->tcp_ecn = (uint8_t)v[0];
	else if (!strcmp(name, "net.inet.tcp.ecn.maxretries") && v[0] >= 0 && v[0] < 256)
		c->tcp_ecn_syn_retries = (uint8_t)v[0];
	else if (!strcmp(name, "net.inet.tcp.recvspace") && v[0] > 0)
		c->tcp_rcvbuf = (uint32_t)v[0];
	else if (!strcmp(name, "net.inet.tcp.sendspace") && v[0] > 0)
		c->tcp_sndbuf = (uint32_t)v[0];
	else if (!strcmp(name, "net.ipv4.tcp_rmem") && n == 3 && v[1] > 0 && v[2] >= v[1]) {
		/* min, default, max: the default buffer, and how far
		 * autotuning grows it */
		c->profile.rcvbuf = c->tcp_rcvbuf = (uint32_t)v[1];
		c->tcp_rcvbuf_max = (uint32_t)v[2];
	} else if (!strcmp(name, "net.ipv4.tcp_wmem") && n == 3 && v[1] > 0)
		c->profile.sndbuf = c->tcp_sndbuf = (uint32_t)v[1];
	else if ((!strcmp(name, "net.ipv4.tcp_sack") || !strcmp(name, "net.inet.tcp.sack.enable")) &&
		 flag)
		c->tcp_sack = (uint8_t)v[0];
	else if (!strcmp(name, "net.ipv4.tcp_timestamps") && n == 1 && v[0] >= 0 && v[0] <= 2)
		c->tcp_timestamps = v[0] != 0; /* 2: without the random offset */
	else if (!strcmp(name, "net.ipv4.tcp_window_scaling") && flag)
		c->tcp_window_scaling = (uint8_t)v[0];
	else if (!strcmp(name, "net.inet.tcp.rfc1323") && flag)
		/* RFC 1323's two options, window scale and timestamps */
		c->tcp_window_scaling = c->tcp_timestamps = (uint8_t)v[0];
	else if ((!strcmp(name, "net.ipv4.tcp_syncookies") ||
		  !strcmp(name, "net.inet.tcp.syncookies")) && flag)
		c->tcp_syncookies = (uint8_t)v[0];
	else if (!strcmp(name, "net.ipv4.tcp_max_syn_backlog") && v[0] > 0)
		c->tcp_max_syn_backlog = (unsigned)v[0];
	else
		return false;
	return true;
}

/* Settings with nothing to do in tapir at the value given: FreeBSD's host
 * cache (tapir keeps none: nothing to purge), blackhole off (tapir answers
 * closed ports, RFC 9293 3.10.7.1), rexmit_drop_options off (tapir's SYN
 * keeps its options on every retransmission) */
static bool no_op(const char *name, const long long *v, int n)
{
	bool off = n == 1 && v[0] == 0;
	return !strcmp(name, "net.inet.tcp.hostcache.purgenow") ||
	       (!strcmp(name, "net.inet.tcp.blackhole") && off) ||
	       (!strcmp(name, "net.inet.tcp.rexmit_drop_options") && off);
}

/* Every name above: the freebsd profile's, the linux profile's, and those
 * of every profile */
static const char *const known_freebsd[] = {
	"net.inet.tcp.insecure_syn", "net.inet.tcp.insecure_rst", "net.inet.tcp.drop_synfin",
	"net.inet.tcp.icmp_may_rst", "net.inet.tcp.keepidle", "net.inet.tcp.keepintvl",
	"net.inet.tcp.keepcnt", "net.inet.tcp.keepinit", "net.inet.tcp.rexmit_initial",
	"net.inet.tcp.rexmit_min", "kern.ipc.maxsockbuf", "net.inet.tcp.rexmit_slop",
	"net.inet.tcp.delacktime", NULL
};
static const char *const known_linux[] = {
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_rto_min_us",
	"net.ipv4.tcp_rto_max_ms", "net.ipv4.tcp_retries2", "net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_recovery", "net.ipv4.tcp_early_retrans", "net.ipv4.tcp_fastopen", NULL
};
static const char *const known_all[] = {
	"net.inet.tcp.ecn.enable", "net.ipv4.tcp_ecn", "net.inet.tcp.ecn.maxretries",
	"net.inet.tcp.recvspace", "net.inet.tcp.sendspace", "net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem", "net.ipv4.tcp_sack", "net.inet.tcp.sack.enable",
	"net.ipv4.tcp_timestamps", "net.ipv4.tcp_window_scaling", "net.inet.tcp.rfc1323",
	"net.ipv4.tcp_syncookies", "net.inet.tcp.syncookies", "net.inet.tcp.rexmit_drop_options",
	"net.inet.tcp.blackhole", "net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.tcp_congestion_control", NULL
};

/* NAME's profile: "freebsd", "linux", "" (every one), or NULL (unknown) */
static const char *known_profile(const char *name)
{
	static const struct { const char *const *names; const char *profile; } lists[] = {
		{known_freebsd, "freebsd"}, {known_linux, "linux"}, {known_all, ""}};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (const char *const *n = lists[i].names; *n; n++)
			if (!strcmp(*n, name))
				return lists[i].profile;
	return NULL;
}

void drill_setting(struct drill *d, int line, const char *name, const char *value)
{
	long long v[3] = {0};
	int n = numbers(value, v, 3);
	const char *profile;
	drill_note(d, "line %d: sysctl %s=%s", line, name, value);
	if (general(d, name, v, n) || no_op(name, v, n))
		return;
	if (n == 1 && d->profile == TAPIR_PROFILE_FREEBSD && freebsd_profile(d, name, v[0]))
		return;
	if (n == 1 && d->profile == TAPIR_PROFILE_LINUX && linux_profile(d, name, v[0]))
		return;
	if (!strcmp(name, "net.ipv4.tcp_congestion_control") && !d->s &&
	    (!strcmp(value, "reno") || !strcmp(value, "cubic"))) {
		d->cfg.tcp_congestion = !strcmp(value, "reno") ? TAPIR_CC_NEWRENO : TAPIR_CC_CUBIC;
		return;
	}
	if ((profile = known_profile(name))) {
		/* another profile's, a value tapir has no use for, or after
		 * the first socket when the stack fixes it: the script then
		 * shows the profile's own behaviour */
		drill_note(d, "line %d: sysctl %s=%s skipped (%s%s)", line, name, value,
			   profile[0] ? profile : "value or time",
			   profile[0] ? " profile only, or its value or time" : "");
		return;
	}
	d->unmapped++;
	printf("  line %d: sysctl %s=%s: unknown to tapir drill, skipped\n", line, name, value);
}
