/* Two tapir stacks on one in-memory cable, in simulated time: the bench on
 * which every TCP rule is tried.  A: 10.0.0.1, B: 10.0.0.2.
 *
 * Two extras for tests that look at the wire:
 *  - a tap that records every TCP segment crossing the cable (parsed from
 *    the Ethernet frames), in each direction, with the time it arrived;
 *  - a "puppet" mode in which side 0 (A) runs no stack at all: the test
 *    crafts the segments A sends, and reads in the tap what B answers.
 *    The puppet answers ARP requests for 10.0.0.1 by itself. */
#ifndef TCPSIM_H
#define TCPSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <tapir/tapir.h>
#include <tapir/tcp.h>

#define SIM_A 0x0a000001u
#define SIM_B 0x0a000002u

/* A test that found a bug in core/: skipped, so the suite stays green,
 * unless TCPSIM_KNOWN_BUGS is set in the environment (to check a fix).
 * Only for files that include cmocka.h (skip() is cmocka's). */
#define KNOWN_BUG(text)                                                        \
	do {                                                                   \
		if (!getenv("TCPSIM_KNOWN_BUGS")) {                            \
			fprintf(stderr, "KNOWN BUG (skipped): %s\n", text);    \
			skip();                                                \
		}                                                              \
	} while (0)

/* One TCP segment seen crossing the cable. */
struct tseg {
	tapir_time_t t;  /* when it arrived at the receiving end */
	int to;          /* the receiving side: 0 (A) or 1 (B) */
	bool dropped;    /* the drop hook took it (it never reached the stack) */
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;   /* TF_* */
	uint16_t win;
	uint32_t len;    /* payload bytes */
	uint16_t mss;    /* the MSS option, 0 when absent */
	unsigned optlen; /* bytes of options */
	int tfo;         /* a Fast Open option's cookie length (0: a request); -1: none */
	uint8_t *data;   /* a copy of the payload */
};

struct sim {
	struct tapir_stack *st[2]; /* st[0] is NULL in puppet mode */
	struct tapir_memlink *link;
	tapir_time_t now;
	int ifindex[2];
	/* frames seen crossing, for tests that count segments */
	unsigned frames[2];
	bool (*drop)(void *arg, int to, const uint8_t *frame, size_t len);
	void *drop_arg;
	/* the tap: off unless tap_on */
	bool tap_on;
	struct tseg *tap;
	size_t ntap, tapcap;
	/* puppet mode */
	bool puppet;
	uint16_t ip_id;
	unsigned puppet_rx; /* frames that reached the puppet (any kind) */
	unsigned puppet_icmp; /* ... of which ICMP */
};

/* CFG may be NULL: the defaults without timestamps and SACK (so segments
 * carry 1460 bytes); LP may be NULL (a clean link). */
void sim_init(struct sim *sim, const struct tapir_config *cfg,
	      const struct tapir_memlink_params *lp);
/* As sim_init, with a config of its own for side B (CFG_A must not be NULL). */
void sim_init2(struct sim *sim, const struct tapir_config *cfg_a, const struct tapir_config *cfg_b,
	       const struct tapir_memlink_params *lp);
/* As sim_init, but side 0 is a puppet (no stack); the tap is on. */
void sim_init_puppet(struct sim *sim, const struct tapir_config *cfg,
		     const struct tapir_memlink_params *lp);
void sim_fini(struct sim *sim);
/* Runs until DONE(arg) is true or UNTIL (absolute) passes; returns DONE's
 * last answer.  DONE may be NULL. */
bool sim_run(struct sim *sim, tapir_time_t until, bool (*done)(void *arg), void *arg);
/* Runs for DT microseconds. */
void sim_advance(struct sim *sim, tapir_time_t dt);
/* TCP sockets the stack holds (listeners, connections, TIME_WAIT). */
unsigned sim_sockets(struct tapir_stack *s);

/* ---- the tap ---- */
void tap_clear(struct sim *sim);
/* Segments towards side TO (-1: either), counted from the tap's start. */
size_t tap_n(const struct sim *sim, int to);
/* The K-th segment towards TO (-1: either); NULL beyond the end. */
const struct tseg *tap_get(const struct sim *sim, int to, size_t k);
/* The last segment towards TO, or NULL. */
const struct tseg *tap_last(const struct sim *sim, int to);
/* Segments towards TO whose flags & MASK == VAL and, if DATA >= 0, whose
 * payload is non-empty (DATA 1) or empty (DATA 0). */
size_t tap_count(const struct sim *sim, int to, uint8_t mask, uint8_t val, int data);
/* "S.", "R", "FP." ... into BUF (8 bytes) */
/* Prints the tap to stderr (for a failing test). */
void tap_dump(const struct sim *sim);

/* ---- the puppet (side 0, 10.0.0.1) ---- */
struct pseg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const void *data;
	size_t len;
	uint16_t mss; /* an MSS option when non-zero */
};
/* Puts a crafted TCP segment from A to B on the cable (it arrives after
 * the link's delay, during the next sim_run). */
void puppet_send(struct sim *sim, const struct pseg *seg);
/* A SYN from the puppet's SPORT (sequence SEQ, window 65535, MSS 1460)
 * to B's port 80. */
void puppet_syn(struct sim *sim, uint16_t sport, uint32_t seq);
/* Puts an IPv4 packet with protocol PROTO and payload P from A to B. */
void puppet_send_ip(struct sim *sim, uint8_t proto, const void *p, size_t len);
/* Sends an ICMP error (TYPE, CODE) from A quoting SEG, a segment B sent. */
void puppet_send_icmp(struct sim *sim, uint8_t type, uint8_t code, const struct tseg *seg);

/* A puppet's connection to B: the puppet's own sequence state. */
struct pconn {
	uint16_t pport, bport;
	uint32_t snd_nxt; /* the puppet's next sequence number */
	uint32_t rcv_nxt; /* the next sequence number expected from B */
	uint32_t b_iss;
	uint16_t win;     /* what the puppet advertises */
	struct tapir_tcp *b; /* B's socket */
};
/* The puppet connects from PPORT (ISS) to listener L on B's BPORT: SYN,
 * SYN-ACK, ACK; then B accepts.  Returns B's socket (also in pc->b). */
struct tapir_tcp *puppet_open(struct sim *sim, struct tapir_tcp *l, uint16_t bport,
			      uint16_t pport, uint32_t iss, struct pconn *pc);
/* A segment of the puppet's connection with the given fields. */
void pc_send(struct sim *sim, const struct pconn *pc, uint32_t seq, uint32_t ack, uint8_t flags,
	     const void *data, size_t len);
/* In-order data from the puppet, acknowledging all B sent so far. */
void pc_data(struct sim *sim, struct pconn *pc, const void *data, size_t len);
/* An ACK of everything B sent so far (as seen in the tap). */
void pc_ack_all(struct sim *sim, struct pconn *pc);


/* ---- two real stacks ---- */
struct pair {
	struct tapir_tcp *lis; /* on B */
	struct tapir_tcp *cli; /* on A */
	struct tapir_tcp *srv; /* on B, accepted */
	bool connected;        /* the client saw TAPIR_EV_CONNECTED */
	unsigned cli_ev;       /* every event the client got, or-ed */
};
/* Listens on B:PORT (BACKLOG 8), connects from A, runs until B has
 * accepted.  CLI_SETUP, if not NULL, runs on the client socket before
 * connect (options); the listener gets the same via LIS_SETUP.  Returns
 * false on failure. */
bool sim_pair(struct sim *sim, uint16_t port, struct pair *p,
	      void (*cli_setup)(struct tapir_tcp *t), void (*lis_setup)(struct tapir_tcp *t));
/* The event function sim_pair installs on the client (arg: the pair). */
void pair_cli_event(void *arg, unsigned ev);
/* Reads everything readable from T into BUF (up to CAP); returns the
 * count, or a negative result of the last recv when nothing was read. */
long sim_read(struct sim *sim, struct tapir_tcp *t, void *buf, size_t cap);
/* The impaired cable of the lossy transfer tests, with SEED: 5% loss,
 * 5% reordering, 1% duplicates, 0.1% corruption, 2 ms each way. */
void sim_lossy_link(struct tapir_memlink_params *lp, uint64_t seed);
/* Prints every TCP socket of both sides to stderr (for a failing test). */
void sim_dump_sockets(struct sim *sim);
/* RFC 9293 3.6: runs DT (2 MSL and any retransmitted FIN, after every
 * connection was closed); true if nothing is left then but B's listener,
 * else prints the sockets and returns false. */
bool sim_only_listener_after(struct sim *sim, tapir_time_t dt);
/* sim_run's condition for a pair: the listener accepted and the client is
 * connected (arg: the pair). */
bool sim_pair_accepted(void *arg);
/* A transfer in progress: DATA[SENT..LEN) still to send FROM -> TO, OUT
 * receiving at GOT; sim_xfer_step (a sim_run condition) moves what the
 * windows allow and is true once all LEN bytes arrived. */
struct sim_xfer {
	struct sim *sim;
	struct tapir_tcp *from, *to;
	const uint8_t *data;
	size_t len, sent, got;
	uint8_t *out;
};
bool sim_xfer_step(void *arg);

/* A bulk transfer for the benches (figures, not tests): A sends TOTAL
 * bytes (a pattern), no further than LIMIT so far, and shuts down once
 * all is sent; B reads and drops.  sim_bulk_start makes B's listener on
 * PORT and A's connect; sim_bulk_step (a sim_run condition) accepts, sends
 * what the window takes (sim_bulk_send), reads, and is true once B saw
 * the end or an error. */
struct sim_bulk {
	struct sim *sim;
	struct tapir_tcp *lis, *a, *b;
	size_t total, limit, sent, rcvd;
	bool shut, eof, bad;
};
void sim_bulk_start(struct sim_bulk *x, struct sim *sim, uint16_t port);
void sim_bulk_send(struct sim_bulk *x);
bool sim_bulk_step(void *arg);

/* Frames made by hand, for injection: the Ethernet header from stack
 * FROM's MAC to TO's (0: A, 1: B), of TYPE; the IPv6 header of PLEN bytes
 * of NXT, hop limit 64; each returns where its payload goes.  A UDP
 * datagram SPORT -> DPORT carrying "ping" (12 bytes), no checksum. */
uint8_t *sim_eth_header(uint8_t *f, int to, int from, uint16_t type);
uint8_t *sim_ip6_header(uint8_t *ip, const uint8_t src[16], const uint8_t dst[16], uint8_t nxt,
			uint16_t plen);
void sim_udp_ping(uint8_t *u, uint16_t sport, uint16_t dport);
/* LEN bytes FROM -> TO (a pattern that SEED shifts) within LIMIT of
 * simulated time, byte-exact, or the test fails. */
void sim_transfer(struct sim *sim, struct tapir_tcp *from, struct tapir_tcp *to, size_t len,
		  unsigned seed, tapir_time_t limit);
/* How many sockets of S are in state ST. */
unsigned sim_sockets_in(struct tapir_stack *s, enum tapir_tcp_state st);

#endif
