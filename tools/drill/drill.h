/* tapir drill: packetdrill scripts against the tapir core.
 *
 * drill_parse.c turns a script into a list of events; drill.c runs them
 * against one tapir stack over an in-memory link, in simulated time.  The
 * dialect is packetdrill's (github.com/google/packetdrill) as the FreeBSD
 * TCP test suite uses it; docs/drill.md lists what is supported. */
#ifndef TAPIR_DRILL_H
#define TAPIR_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tapir/addr.h>

#define DL_MAX_EVENTS 20000     /* per script: bounded memory */
#define DL_MAX_FILE (1u << 20)  /* bytes of script */
#define DL_MAX_OPTS 16          /* TCP options on one packet line */
#define DL_MAX_ARGS 8           /* system call arguments */
#define DL_MAX_DEFINES 8        /* -D NAME */
#define DL_MAX_CMDOPTS 16
#define DL_FO_COOKIE_MAX 16     /* RFC 7413 4.1.1: 4 to 16 bytes */       /* packetdrill options on drill's command line */

/* When an event happens (packetdrill: absolute, "+relative", "*" any time,
 * and "a...b" / "a~b" ranges). */
enum dl_time_kind { DL_T_ABS, DL_T_REL, DL_T_ANY };
struct dl_time {
	enum dl_time_kind kind;
	int64_t us;      /* start (or the exact time) */
	int64_t end_us;  /* end of a range; == us when no range */
	bool end_rel;    /* "+a...+b": the end is relative too */
};

enum dl_opt_kind { DL_OPT_EOL, DL_OPT_NOP, DL_OPT_MSS, DL_OPT_WSCALE, DL_OPT_SACKOK,
		   DL_OPT_SACK, DL_OPT_TS, DL_OPT_FO };
struct dl_opt {
	enum dl_opt_kind kind;
	uint32_t v[8];   /* mss/wscale: v[0]; TS: val, ecr; sack: pairs; FO (RFC
			  * 7413 4.1.1): v[0] the cookie's length in bytes, its
			  * bytes from v[1] on, four to a word (big-endian) */
	unsigned n;      /* values used */
};

/* Flags as on the wire; E and W are ECE and CWR. */
#define DL_FIN 0x01
#define DL_SYN 0x02
#define DL_RST 0x04
#define DL_PSH 0x08
#define DL_ACK 0x10
#define DL_URG 0x20
#define DL_ECE 0x40
#define DL_CWR 0x80

struct dl_pkt {
	bool out;              /* '>': tapir sends it; '<': injected */
	uint8_t flags;
	bool seq_any;          /* "..." instead of seq:end(len) */
	uint32_t seq, len;
	bool has_ack, ack_any;
	uint32_t ack;
	bool has_win, win_any;
	uint32_t win;
	enum { DL_OPTS_NONE, DL_OPTS_LIST, DL_OPTS_ANY } opts;
	struct dl_opt opt[DL_MAX_OPTS];
	unsigned nopt;
	int ecn;               /* the IP ECN field: -1 not given; 0 [noecn], 1 [ect1],
				* 2 [ect0], 3 [ce]; 4 [ect01] (either ECT) */
	bool rest_any;         /* a trailing "...": nothing more is checked */
	bool seq_abs;          /* "seq:end(len)!": SEQ is absolute */
	int ip_ttl, ip_tos;    /* "(ttl N)" / "(hlim N)", "(tos N)" / "(class N)": the
				* TTL or hop limit, the whole TOS or traffic class
				* byte; -1 not given */
};

/* An ICMP (RFC 792) or, in an IPv6 script, ICMPv6 (RFC 4443) message */
struct dl_icmp {
	uint8_t type, code;
	uint16_t mtu;
	uint32_t seq, len;     /* the quoted segment, relative to tapir's ISN */
};

struct dl_call {
	const char *name;
	const char *arg[DL_MAX_ARGS];
	unsigned nargs;
	const char *ret;       /* the expected return value expression */
	const char *err;       /* the expected errno symbol, or NULL */
};

enum dl_ev_type { DL_EV_CALL, DL_EV_PKT, DL_EV_ICMP, DL_EV_SHELL, DL_EV_CODE };
struct dl_event {
	int line;
	struct dl_time time;
	enum dl_ev_type type;
	const char *text;      /* the shell command (for notes) */
	struct dl_pkt pkt;
	struct dl_icmp icmp;
	struct dl_call call;
};

/* Options a script sets with --name=value lines. */
struct dl_config {
	int ipv6;              /* --ip_version=ipv6: IPv6 on the wire */
	int v6_socket;         /* ipv6 and ipv4-mapped-ipv6: the sockets are AF_INET6 */
	int64_t tolerance_us;  /* --tolerance_usecs (packetdrill's default: 4000) */
	unsigned tolerance_pct;/* --tolerance_percent: of the time since the last event */
	unsigned mtu;          /* --mtu (default 1500) */
	/* tapir's address (and its prefix), the script's, and the router
	 * between them; IPv4 ones v4-mapped (tapir/addr.h) */
	struct tapir_ip local, remote, gateway;
	unsigned prefix_len;
	uint16_t bind_port, connect_port;
	int strict_segments;   /* --strict_segments: one > line per segment (no GSO) */
};

/* A parsed script.  Strings point into BUF.  A script that cannot be
 * parsed has bad_line set: a FAIL, or a SKIP when bad_skip (valid
 * packetdrill that tapir drill does not implement). */
struct dl_script {
	char *buf;
	struct dl_event *ev;
	size_t nev;
	struct dl_config cfg;
	int bad_line;
	bool bad_skip;
	char bad_msg[200];
};

/* Reads and parses PATH; DEFINES are the names #ifdef tests (NULL-ended).
 * Returns -1 only when the file cannot be read (a message in sc->bad_msg). */
int dl_parse_file(const char *path, const char *const *defines, const char *const *opts,
		  struct dl_script *sc);
/* Whether "name=value" (without the --) is one of packetdrill's options
 * drill takes on its command line, for every script (OPTS above). */
bool dl_option_known(const char *name);
void dl_script_free(struct dl_script *sc);

/* Evaluates a numeric expression of the call syntax: 12, 0x2, -1,
 * O_RDWR | O_NONBLOCK.  Returns 0, or -1 with the unknown name in BAD. */
int dl_eval(const char *expr, long long *v, char *bad, size_t badlen);

/* "ECONNRESET" for ECONNRESET, or NULL */
const char *dl_errno_name(int err);

#endif
