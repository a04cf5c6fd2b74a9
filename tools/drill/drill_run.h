/* tapir drill: what the parts of the script runner share.
 *
 * One struct drill per script.  drill.c owns it: the command line, the
 * in-memory link, the script's clock and the event loop.  drill_packet.c
 * builds what the script sends ('<' lines) and decodes and compares what
 * tapir sends ('>' lines).  drill_syscall.c carries out the script's system
 * calls on tapir's TCP API.  drill_parse.c (drill.h) knows none of this. */
#ifndef TAPIR_DRILL_RUN_H
#define TAPIR_DRILL_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tapir/link.h>
#include <tapir/stack.h>
#include <tapir/tcp.h>

#include "drill.h"

#define DL_BASE TAPIR_SEC(1)         /* tapir time of script time 0 */
#define DL_ANY_HORIZON TAPIR_SEC(600) /* how long a "*" line waits */
#define DL_MAX_FD 64
#define DL_QUEUE 64                  /* frames tapir sent, not yet read */
#define DL_NBRQ 8                    /* ARP requests and neighbor solicitations to answer */
#define DL_FRAME_MAX (65535 + 14)
#define DL_REMOTE_PORT 40000         /* the script's port when it connects to tapir */

/* tapir's MAC and the remote end's (the gateway's): drill_packet.c */
extern const uint8_t drill_mac_tapir[6], drill_mac_remote[6];

struct frame {
	uint8_t *data;
	size_t len;
	tapir_time_t t;
};

/* An address tapir asked for (ARP request, RFC 826; neighbor
 * solicitation, RFC 4861 7.2.2): asked by ASKER, from MAC, for TARGET */
struct nbr_req {
	struct tapir_ip asker, target;
	uint8_t mac[6];
};

/* a TCP segment tapir sent, decoded */
struct seg {
	uint8_t flags, tos, ttl;
	uint16_t sport, dport, win;
	uint32_t seq, ack, len;
	struct dl_opt opt[DL_MAX_OPTS];
	unsigned nopt;
	bool csum_ok;
};

enum { R_RUN, R_PASS, R_FAIL, R_SKIP };

struct drill_call; /* a row of drill_syscall.c's table */

struct pending { /* a blocking call that has not returned yet */
	bool on;
	const struct dl_event *e;
	const struct drill_call *call;
	tapir_time_t lo, hi;
	size_t left;     /* send: bytes still to take */
	long done;       /* send: bytes taken so far */
	bool fastopen;   /* send: MSG_FASTOPEN connected it (returns once connected) */
};

struct dl_epoll; /* drill_io.c */
struct dfd {
	struct tapir_tcp *t;
	struct dl_epoll *ep;    /* an epoll descriptor (t NULL) */
	bool dropped;           /* its connection was tcpdrop'ed (t NULL): close works */
	bool nonblock;
};

struct drill {
	struct tapir_link link; /* first: the send callback finds us from it */
	const struct dl_script *sc;
	bool verbose, lenient_win, lenient_opts;
	int profile;        /* enum tapir_profile_id (--profile) */
	struct tapir_config cfg;
	struct tapir_stack *s;
	int ifindex;
	tapir_time_t now, deadline;
	int64_t last_us;        /* script time of the previous event */
	int64_t tol;
	uint32_t isn;           /* tapir's ISN: outbound seq and inbound ack are relative */
	/* the script's ISN in an active open (its SYN,ACK's sequence number):
	 * its later segments' sequence numbers and tapir's ACKs are relative
	 * to it, as in Linux's scripts ("< S. 123:123(0)", then "1:1");
	 * 0 otherwise (FreeBSD's scripts: absolute) */
	uint32_t risn;
	bool synack_pending;    /* tapir sent a SYN: the next SYN,ACK sets risn */
	/* the script's SYN's sequence number (a passive open): once tapir's
	 * SYN,ACK has come, risn, as Linux's scripts write the lines after
	 * it ("< S 999000:999040(40)", then "< . 1:1(0)") */
	uint32_t syn_isn;
	uint16_t lport, rport;  /* tapir's port and the script's */
	uint16_t ip_id;
	struct dfd fd[DL_MAX_FD];
	struct frame q[DL_QUEUE];
	unsigned qhead, qlen;
	bool qoverflow;
	struct nbr_req nbrq[DL_NBRQ];  /* answered once tapir's call has returned */
	unsigned nnbr;
	struct pending pend;
	char dir[1024];         /* the script's directory: shell lines run there */
	unsigned unmapped;      /* settings and commands drill could not take */
	unsigned ns_runs;       /* shell commands run in a throwaway namespace */
	unsigned py_run, py_skipped; /* %{ }% blocks */
	int result, line;
	bool plain;             /* a script error, not a mismatch: no "expected" */
	char msg[512];
	uint8_t buf[DL_FRAME_MAX];
};

/* ---- drill.c ---- */
/* A line of -v output, at the script time now. */
void drill_note(struct drill *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The first FAIL or SKIP ends the script; it is the one reported. */
void drill_finish(struct drill *d, int result, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* tapir time T as script seconds */
double drill_script_s(tapir_time_t t);
/* After every call into the stack: answer ARP and neighbor solicitations,
 * learn the next deadline. */
void drill_settle(struct drill *d);

/* ---- drill_packet.c ---- */
/* What the router tells tapir as it comes up: its link-layer address
 * (IPv4: its ARP request for tapir; IPv6: its router advertisement). */
void drill_link_seed(struct drill *d);
/* Whether frame F is an ARP request or neighbor solicitation of tapir's
 * that the link answers (into *Q); the answer, into tapir. */
bool drill_nbr_request(const struct drill *d, const uint8_t *f, size_t len, struct nbr_req *q);
void drill_nbr_reply(struct drill *d, const struct nbr_req *q);
/* Whether frame F is a TCP segment in the script's IP family. */
bool drill_is_tcp(const struct drill *d, const uint8_t *f, size_t len);
/* The segment or ICMP message of a '<' line, into tapir. */
void drill_inject_tcp(struct drill *d, const struct dl_event *e);
void drill_inject_icmp(struct drill *d, const struct dl_event *e);
/* A TCP frame tapir sent (drill_is_tcp); false when malformed.  The
 * checksum is checked against the script's addresses. */
bool drill_decode(const struct drill *d, const struct frame *fr, struct seg *g);
/* As in scripts: "S. 0:0(0) ack 1 win 65535 <mss 1460>" */
void drill_fmt_seg(struct drill *d, char *b, size_t n, const struct seg *g);
void drill_fmt_exp(char *b, size_t n, const struct dl_pkt *k);
void drill_fmt_ip(char *want, size_t wn, char *got, size_t gn, const struct dl_pkt *k,
		  const struct seg *g);
/* Whether what tapir sent (G) is what the '>' line K expects. */
bool drill_seg_match(struct drill *d, const struct dl_pkt *k, const struct seg *g);

/* ---- drill_shell.c, drill_setting.c, drill_python.c ---- */
/* A `shell line`: its sysctl writes (also in the files it runs), FreeBSD's
 * sockstat, the rest in a throwaway network and mount namespace. */
void drill_shell(struct drill *d, const struct dl_event *e);
/* sysctl NAME=VALUE onto tapir's config or profile; an unknown one is
 * reported and counted. */
void drill_setting(struct drill *d, int line, const char *name, const char *value);
/* A %{ }% block against tapir's TCP_INFO of the socket under test. */
void drill_python(struct drill *d, const struct dl_event *e);
/* Ends the python3 the blocks ran in (one per run). */
void drill_python_end(void);

/* ---- drill_syscall.c ---- */
/* The call of E, due between LO and HI: at once, or pending when it blocks. */
void drill_call_run(struct drill *d, const struct dl_event *e, tapir_time_t lo, tapir_time_t hi);
/* The pending call: try again; report when it completes. */
void drill_call_retry(struct drill *d);

#endif
