/* OS profiles (include/tapir/profile.h): one table per profile, each
 * figure with its source.  docs/profiles.md has the same table for people. */
#include <string.h>

#include "core.h"

static const struct tapir_profile profiles[TAPIR_PROFILE_COUNT] = {
	/* the RFCs as tapir reads them: today's defaults */
	[TAPIR_PROFILE_RFC] = {
		.id = TAPIR_PROFILE_RFC,
		.icmp_may_rst = 1,             /* RFC 1122 4.2.3.9 */
		.keepidle_s = 7200,            /* RFC 1122 4.2.3.6: >= 2 hours */
		.keepintvl_s = 75, .keepcnt = 9,
		.uto_keepalive = 0,            /* RFC 5482 1: the user timeout bounds
						* unacknowledged data; probes send none */
		.rcvbuf = 65535,               /* the largest window without scaling */
		.sndbuf = 131072,
		.initial_window = 10,          /* RFC 6928 */
		.rto_initial_us = TAPIR_SEC(1),/* RFC 6298 2.1 */
		.rto_min_us = TAPIR_MS(200),   /* RFC 6298 2.4 allows less than 1 s (Linux's) */
		.syn_retries = 6,
		.delack_us = TAPIR_MS(40),     /* RFC 1122 4.2.3.2: < 500 ms */
		.fastopen = 3,                 /* RFC 7413: both ends, each socket opting in (4.2) */
	},
	/* Linux 6.x: include/net/tcp.h and Documentation/networking/ip-sysctl.rst */
	[TAPIR_PROFILE_LINUX] = {
		.id = TAPIR_PROFILE_LINUX,
		.icmp_may_rst = 1,             /* tcp_v4_err: hard errors end a connect */
		.rack = 1,                     /* tcp_recovery = 1 (RACK loss detection) */
		.tlp = 1,                      /* tcp_early_retrans = 3 (TLP) */
		.prr = 1,                      /* PRR in recovery since Linux 3.2 (RFC 6937) */
		.quickack = 1,                 /* tcp_incr_quickack, TCP_MAX_QUICKACKS 16 */
		.keepidle_s = 7200,            /* tcp_keepalive_time */
		.keepintvl_s = 75,             /* tcp_keepalive_intvl */
		.keepcnt = 9,                  /* tcp_keepalive_probes */
		.uto_keepalive = 1,            /* tcp(7) TCP_USER_TIMEOUT: "will override keepalive" */
		.rcvbuf = 131072,              /* tcp_rmem[1] */
		.sndbuf = 16384,               /* tcp_wmem[1] */
		.initial_window = 10,          /* TCP_INIT_CWND */
		.rto_initial_us = TAPIR_SEC(1),/* TCP_TIMEOUT_INIT */
		.rto_min_us = TAPIR_MS(200),   /* TCP_RTO_MIN */
		.syn_retries = 6,              /* tcp_syn_retries */
		.delack_us = TAPIR_MS(40),     /* TCP_DELACK_MIN */
		.fastopen = 1,                 /* net.ipv4.tcp_fastopen: client only */
	},
	/* FreeBSD 14: tcp(4), sys/netinet/tcp_timer.h, tcp_var.h */
	[TAPIR_PROFILE_FREEBSD] = {
		.id = TAPIR_PROFILE_FREEBSD,
		.insecure_syn = 0,             /* net.inet.tcp.insecure_syn */
		.insecure_rst = 0,             /* net.inet.tcp.insecure_rst */
		.drop_synfin = 0,              /* net.inet.tcp.drop_synfin */
		.icmp_may_rst = 1,             /* net.inet.tcp.icmp_may_rst */
		.icmp_bsd_hard = 1,     /* tcp_ctlinput: inetctlerrmap */
		.fin_on_ack = 1,               /* tcp_output: FIN resent until ACKed */
		.rst_closing_reset = 1,       /* tcp_input: RST in CLOSING, LAST_ACK: ECONNRESET */
		.rcvbuf_mss = 1,               /* tcp_input.c tcp_mss_update */
		.listen_synack_drop = 1,       /* tcp_input: SYN|ACK to a listener */
		.options_bsd = 1,              /* tcp_output.c tcp_addoptions */
		.tw_ack_segments = 1,          /* tcp_timewait.c tcp_twcheck */
		.old_fin_ack = 1,              /* tcp_input: todrop trims the FIN, ACK taken */
		.mss_opt_pmtu6 = 1,            /* tcp_mssopt: the IPv6 route's MTU, which PTB lowers */
		.keepidle_s = 7200,            /* net.inet.tcp.keepidle (TCPTV_KEEP_IDLE) */
		.keepintvl_s = 75,             /* net.inet.tcp.keepintvl (TCPTV_KEEPINTVL) */
		.keepcnt = 8,                  /* net.inet.tcp.keepcnt (TCPTV_KEEPCNT) */
		.uto_keepalive = 0,            /* tcp(4) has no TCP_USER_TIMEOUT */
		.wscale_bufmax = 2097152,      /* kern.ipc.maxsockbuf (tcp_usr_connect) */
		.rcvbuf = 65536,               /* net.inet.tcp.recvspace */
		.sndbuf = 32768,               /* net.inet.tcp.sendspace */
		.initial_window = 10,          /* net.inet.tcp.initcwnd_segments */
		.rto_initial_us = TAPIR_SEC(1),/* net.inet.tcp.rexmit_initial */
		.rto_min_us = TAPIR_MS(30),    /* net.inet.tcp.rexmit_min */
		.rto_slop_us = TAPIR_MS(200),  /* net.inet.tcp.rexmit_slop */
		.syn_retries = 12,             /* TCP_MAXRXTSHIFT */
		.delack_us = TAPIR_MS(40),     /* net.inet.tcp.delacktime */
		.fastopen = 1,                 /* net.inet.tcp.fastopen.client_enable 1,
						* server_enable 0 */
		.keepinit_s = 75,              /* net.inet.tcp.keepinit (TCPTV_KEEP_INIT) */
	},
};

static const char *const names[TAPIR_PROFILE_COUNT] = {"rfc", "linux", "freebsd"};

const struct tapir_profile *tapir_profile_get(enum tapir_profile_id id)
{
	return (unsigned)id < TAPIR_PROFILE_COUNT ? &profiles[id] : NULL;
}

int tapir_profile_by_name(const char *name)
{
	for (int i = 0; i < TAPIR_PROFILE_COUNT; i++)
		if (name && !strcmp(name, names[i]))
			return i;
	return -1;
}

const char *tapir_profile_name(enum tapir_profile_id id)
{
	return (unsigned)id < TAPIR_PROFILE_COUNT ? names[id] : NULL;
}

int tapir_config_profile(struct tapir_config *c, enum tapir_profile_id id)
{
	const struct tapir_profile *p = tapir_profile_get(id);
	if (!p)
		return -1;
	c->profile = *p;
	c->tcp_rcvbuf = p->rcvbuf;
	c->tcp_sndbuf = p->sndbuf;
	c->tcp_initial_window = p->initial_window;
	c->tcp_rto_initial_us = p->rto_initial_us;
	c->tcp_rto_min_us = p->rto_min_us;
	c->tcp_syn_retries = p->syn_retries;
	c->tcp_delack_us = p->delack_us;
	return 0;
}

struct tapir_profile *tapir_stack_profile(struct tapir_stack *s)
{
	return &s->cfg.profile;
}
