/* tapir check, inside: what the scheduler (sched.c), the command line and
 * output (check.c) and the probe engines (probe_*.c, behind engine.h)
 * share.  The scheduler owns the probes (one per host:port pair), the
 * rounds, the pacing and the adaptive wait; an engine only sends a probe
 * for a target and reports answers with check_resolve(). */
#ifndef TAPIR_CHECK_H
#define TAPIR_CHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netutil.h"

/* ST_OUT: not this run's to probe (another shard's, excluded, or done
 * before a --resume); never sent, never printed. */
enum { ST_PENDING, ST_OPEN, ST_CLOSED, ST_FILTERED, ST_OUT };

/* Why a port is filtered (or closed by ICMP): nmap's reason names, from
 * the ICMP type and code when the engine saw them (output.c names them). */
enum check_why {
	WHY_NONE, WHY_NET_UNREACH, WHY_HOST_UNREACH, WHY_PROTO_UNREACH, WHY_PORT_UNREACH,
	WHY_NET_PROHIB, WHY_HOST_PROHIB, WHY_ADMIN_PROHIB, WHY_NO_ROUTE, WHY_BEYOND_SCOPE,
	WHY_REJECT_ROUTE, WHY_PERM_DENIED, WHY_DEST_UNREACH,
};

struct probe {
	uint32_t sent_us; /* when the latest try went out, since the start */
	uint32_t rtt_us;
	uint8_t state;
	uint8_t tries;
	uint8_t answered_round; /* the round (1-based) that got the answer */
	uint8_t why;            /* enum check_why: set with an ICMP answer */
};

struct portset {
	uint16_t *p;
	size_t n;
};

struct check_target {
	struct nu_addr addr;
	uint16_t port;
	size_t host;  /* index into check.hosts (per-host state in engines) */
	uint64_t idx; /* the probe: what check_resolve() is told */
	unsigned try; /* tries before this one (0: the first) */
};

/* --mode stack's options, parsed by the command line (host order). */
struct check_stack_cfg {
	const char *iface, *tap_name;
	uint32_t my_addr, my_mask, gw, peer;
	unsigned my_plen, peer_plen;
	bool have_addr, have_gw, have_mac, have_peer; /* have_addr, have_peer: IPv4 */
	uint8_t mac[6];
	/* IPv6: --addr and --peer-addr given an IPv6 prefix (network order) */
	uint8_t my6[16], peer6[16], gw6[16];
	unsigned my6_plen, peer6_plen;
	bool have_addr6, have_peer6, have_gw6; /* gw6: --gateway given an IPv6 router */
	/* --shared-addr [--ports A-B] [--shared-addr6 ADDR]: the interface's
	 * own address (shared.h); set up by the option check, NULL without */
	bool want_shared;
	const char *ports, *shared6;
	struct shared_addr *shared;
};

/* Which of the targets this run probes, and in what order (scope.c):
 * --seed, --shard, --exclude and --resume. */
struct check_excl {
	int family;
	uint8_t a[16]; /* network order (IPv4: the first 4 bytes) */
	unsigned plen;
};

struct check_scope {
	uint64_t seed;
	bool have_seed;
	unsigned shard_i, shard_n; /* 1-based; 1/1 without --shard */
	const char *exclude_file, *xml_file, *resume_file;
	bool resuming;             /* --resume FILE alone: FILE's run goes on */
	struct check_excl *excl;
	size_t nexcl;
	/* the targets as given (argv, or strings read from the resume file) */
	char **targets;
	size_t ntargets;
	bool own_targets; /* read from a file: freed at the end */
	/* done ranges of positions read from the resume file, and the
	 * number and hash of probes it was written for */
	uint64_t (*done)[2];
	size_t ndone;
	uint64_t resume_total, resume_hash;
	/* the seeded order: probe at position p of the whole set is
	 * nu_perm_at(&order, p); this shard's j-th is position i-1 + j*n */
	struct nu_perm order;
	uint64_t npos;
	/* the command line, for -oX's args */
	int argc;
	char **argv;
};

struct check_engine;
struct tapir_stack;

/* --banners: what an open port's service said (banner.c) */
struct check_banner {
	uint64_t idx;
	uint8_t kind;        /* enum banner_kind (banner.h) */
	char *text;          /* the first line, or HTTP's status line */
	char *server;        /* HTTP's Server header, or NULL */
	char *subject, *issuer; /* TLS: the leaf certificate's, or NULL */
};

struct check {
	const struct check_engine *eng;
	void *es; /* the engine's own state */
	unsigned rate, retries, timeout_ms;
	bool json, open_only, progress;
	bool udp; /* --udp: UDP probes (the connect engine's UDP sockets) */
	/* --banners (stack mode): after the scan, what each open port says */
	bool banners;
	unsigned banner_wait_ms, banner_bytes, banner_conns;
	struct check_banner *ban; /* sorted by idx after the run */
	size_t nban;
	struct check_stack_cfg stack;
	struct check_scope sc;
	/* targets: hosts, each with a set of ports; probe index = off[host] + port's rank */
	struct nu_hosts hosts;
	char **tstr; /* the targets' host parts: names point into them */
	size_t ntstr;
	struct portset *sets;
	size_t nsets;
	uint64_t *off; /* probe index of each host's first port; off[n] = total */
	uint64_t total;
	uint64_t per_host; /* the ports of every host when all have as many, else 0 */
	uint64_t todo; /* probes of this run: not ST_OUT */
	struct probe *pr;
	struct nu_key key;
	uint64_t t0_ns;   /* monotonic start */
	uint64_t t0_wall; /* wall-clock start, µs (for engines timed by pcap) */
	int ep;           /* epoll: engines add their descriptors, any u64 token */
	unsigned round;
	uint64_t sent, resolved, dups, retry_answers, late;
	uint64_t counts[5];
	uint64_t last_progress;
	bool progress_shown;
	/* the adaptive wait (RFC 6298 2.2/2.3, in µs) */
	double srtt, rttvar;
	bool have_rtt;
	unsigned backoff; /* doublings after answers that came too late */
	uint64_t samples;
};

extern volatile sig_atomic_t check_interrupted;
/* Why an engine stopped the scan as an interrupt would (its interface went
 * down): the error line, resumable with --resume.  Empty: a signal. */
extern char check_stop_why[200];

/* ---- the scheduler (sched.c) ---- */

/* Runs the rounds until every probe is answered or the retries are spent. */
void check_run(struct check *c);
/* Handles whatever arrives until DEADLINE (monotonic ns), or sooner when
 * something happened and RETURN_EARLY. */
void check_pump(struct check *c, uint64_t deadline, bool return_early);
/* Probe IDX got STATE after RTT_US (its first answer counts). */
void check_resolve(struct check *c, uint64_t idx, int state, uint64_t rtt_us);
/* An unambiguous round-trip time (Karn) for the adaptive wait. */
void check_rtt_sample(struct check *c, uint64_t rtt_us);
/* How long to wait for an answer after a probe, ns. */
uint64_t check_wait_ns(const struct check *c);
/* Monotonic µs since the start. */
uint64_t check_since_start_us(const struct check *c);

/* ---- targets (check.c) ---- */

/* calloc() and realloc() of N x SIZE bytes that die when memory runs out. */
void *check_calloc(size_t n, size_t size);
void *check_realloc(void *p, size_t n, size_t size);

/* The target of probe IDX. */
void check_target_of(const struct check *c, uint64_t idx, struct check_target *t);
/* The probe for (ADDR, PORT), or -1 when that is none of ours. */
long long check_probe_of(const struct check *c, const struct nu_addr *addr, uint16_t port);

/* Adds the target HOST:PORTS T (the string is kept). */
void check_add_target(struct check *c, char *t);

/* ---- scope: seed, shard, exclusions, resume (scope.c, resume.c) ---- */

/* "N" (0 to 2^64-1) into SEED, "I/N" into the shard; die on a mistake. */
void check_parse_seed(struct check_scope *s, const char *arg);
void check_parse_shard(struct check_scope *s, const char *arg);
/* Reads --exclude FILE into S->excl; dies on the first bad line. */
void check_read_exclude(struct check_scope *s);
/* After the probes are indexed: the seeded order, and which probes are
 * this run's (its shard's, not excluded, not done before a resume). */
void check_scope_apply(struct check *c);
/* The probe at position J of this run's share of the seeded order. */
uint64_t check_probe_at(const struct check *c, uint64_t j);
/* A hash of the targets as indexed: addresses, ports and their order. */
uint64_t check_targets_hash(const struct check *c);
/* --resume FILE alone: reads FILE's seed, shard and targets (and the
 * positions done) into C; dies when FILE is not one. */
void check_resume_load(struct check *c);
/* Dies unless the indexed targets are the resume file's (and its done
 * ranges within the run's positions). */
void check_resume_verify(struct check *c);
/* After SIGINT: writes the resume file (atomically, by rename). */
void check_resume_save(struct check *c);

/* --udp: the request for PORT's protocol in *P (static), its length;
 * 0 (an empty datagram) where the port has none (udp_payload.c). */
size_t check_udp_payload(uint16_t port, const uint8_t **p);

/* ---- --banners (banner.c) ---- */

/* A connection to every open port from ST's stack (address MY_ADDR, host
 * order, or c->stack.my6 to an IPv6 target), pumped by check_pump(); KICK(ARG) runs the stack's timers after
 * calls into it.  Fills c->ban. */
void check_banners_run(struct check *c, struct tapir_stack *st, uint32_t my_addr,
		       void (*kick)(void *), void *arg);
/* The banner of probe IDX, or NULL. */
const struct check_banner *check_banner_of(const struct check *c, uint64_t idx);
/* B at the end of a text line / as JSON members. */
void check_banner_text(FILE *f, const struct check_banner *b);
void check_banner_json(FILE *f, const struct check_banner *b);
void check_banners_free(struct check *c);

/* ---- output (output.c) ---- */
void check_print_results(struct check *c);
/* -oX FILE: nmap's XML. */
void check_write_xml(struct check *c);

/* ---- SYN cookies, for the engines that send their own SYNs (cookie.c) ----
 * The sequence number is a keyed hash of the 4-tuple, and the source port
 * (from a range nobody else uses) says which try it was: no per-probe
 * state is needed to trust a reply, as RFC 9293 3.10.7.3 makes the peer's
 * SYN/ACK and RST carry ack = our ISN + 1. */
struct check_cookie {
	const struct nu_key *key;
	uint16_t sport_lo, sport_n;
};

uint32_t check_cookie_isn(const struct check_cookie *k, const struct nu_addr *dst,
			  uint16_t dport, uint16_t sport);
uint16_t check_cookie_sport(const struct check_cookie *k, const struct nu_addr *dst,
			    uint16_t dport, unsigned try);

/* An answer seen to a cookie SYN. */
struct check_reply {
	struct nu_addr peer; /* the target's address */
	uint16_t port;          /* the target's port */
	uint16_t ours;          /* our source port */
	uint32_t seqack;        /* ack - 1, or the sequence number an ICMP error quotes */
	int state;
	uint8_t why;    /* enum check_why of an ICMP error */
	uint64_t rx_us; /* when, since the start */
};
/* The enum check_why of an ICMP destination unreachable's CODE
 * (RFC 792 / RFC 1812 5.2.7.1 for IPv4, RFC 4443 3.1 for IPv6). */
uint8_t check_why_icmp(int family, unsigned code);
/* The enum check_why of a socket error E (connect(), sendto(), or an
 * ICMP error the kernel turned into one: Linux's icmp_err_convert). */
uint8_t check_why_errno(int e);
/* Probe IDX got STATE for reason WHY (enum check_why); as
 * check_resolve(), the first answer counts. */
void check_resolve_why(struct check *c, uint64_t idx, int state, uint64_t rtt_us, uint8_t why);
/* Credits R to its probe if it carries the probe's cookie. */
void check_credit(struct check *c, const struct check_cookie *k, const struct check_reply *r);

#endif
