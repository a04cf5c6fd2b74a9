/*
 * TCP's private header (RFC 9293).  Split by job:
 *   tcp_subr.c    the socket table, ISN, and the user calls
 *   tcp_bind.c    addresses and ports of either family: listener lookup,
 *                 bind, listen, accept, connect
 *   tcp_mem.c     TCBs in chunks, the keyed 4-tuple hash, rings held only
 *                 while they hold data (and their cache)
 *   tcp_tw.c      TIME-WAIT of a connection nobody holds: a compact record
 *   tcp_input.c   "segment arrives" (RFC 9293 3.10.7), in the RFC's order
 *   tcp_syn.c     opening: LISTEN and SYN-SENT (3.10.7.2-3), SYN cookies, and
 *                 what the SYNs' options agree
 *   tcp_output.c  what may be sent now, and building segments
 *   tcp_timer.c   retransmission, persist, delayed ACK, keepalive, 2MSL
 *   tcp_cc.c      congestion control (RFC 5681, RFC 6582)
 *   tcp_sack.c    the SACK scoreboard and RFC 6675 loss recovery
 *   tcp_rack.c    RACK-TLP (RFC 8985) and PRR (RFC 6937), when the profile
 *                 asks: per-segment send times, loss by time, loss probes
 */
#ifndef TAPIR_TCP_INT_H
#define TAPIR_TCP_INT_H

#include <tapir/hook.h>
#include <tapir/tcp.h>

#include "core.h"

/* Sequence arithmetic modulo 2^32 (RFC 9293 3.4) */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)


#define TCP_MIN_MSS 216         /* floor for a peer's MSS (CVE-2019-11479's lesson) */
#define TCP_DEFAULT_MSS 536     /* RFC 9293 3.7.1: when the peer sends no MSS option */
#define TCP_OOO_MAX 8           /* out-of-order ranges held per connection */
#define TCP_REORDER_MAX 32      /* the highest duplicate threshold reordering may raise */
#define TCP_SACK_MAX 16         /* SACKed ranges remembered per connection (bounded:
				 * CVE-2019-11477/11478's lesson) */
#define TCP_MAX_WSCALE 14       /* RFC 7323 2.3 */
#define TCP_PAWS_IDLE TAPIR_SEC(24 * 24 * 3600) /* RFC 7323 5.5: 24 days */
#define TCP_MAX_BACKOFF 12
#define TCP_RING_CACHE 64       /* free rings of each cached size kept per stack */
#define TCP_TCBQ 64             /* connections held to a turn's end, or waiting
				 * for room on the loopback queue (struct tcp_tcbq) */
#define TCP_RING_MIN 2048       /* a ring's first allocation: a full segment */
#define TCP_PORT_BUCKETS 4096   /* bound sockets by local port (a power of 2) */
#define TCP_HASH_MIN 64         /* buckets of a 4-tuple hash, at least */

/* A hash table of connections (TCBs, TIME-WAIT records) by 4-tuple, keyed
 * (tcp_mem.c); an element's chain link is at offset LINK. */
struct tp_htab {
	void **b;
	unsigned mask, n;
	size_t link;
};

/* A byte ring: LEN bytes from HEAD; for the receive side, out-of-order
 * bytes are written beyond LEN, at their place relative to RCV.NXT. */
struct tp_ring {
	uint8_t *buf;
	uint32_t cap;   /* the most it may hold: the buffer size, which the
			 * window follows */
	uint32_t size;  /* bytes allocated (with no buf: what it had when it
			 * last emptied, 0 at first): grown with the data up
			 * to CAP, so a connection exchanging a few bytes holds
			 * a few KiB, not CAP (tcp_ring_get) */
	uint32_t head, len;
};

/* A TCP Fast Open option (RFC 7413 4.1.1): LEN -1 none, 0 a cookie
 * request, else the cookie's length; EXP: the experimental kind 254 with
 * magic 0xF989 (RFC 6994) instead of kind 34 */
#define TCP_TFO_COOKIE_MAX 16
struct tcp_tfo_opt {
	int8_t len;
	bool exp;
	uint8_t cookie[TCP_TFO_COOKIE_MAX];
};

/* A parsed segment (tcp_input.c) */
struct tp_seg {
	struct tapir_ip src, dst;  /* v4-mapped for IPv4 (tapir/addr.h) */
	uint16_t sport, dport;
	uint32_t seq, ack, wnd;
	uint8_t flags;
	const uint8_t *data;
	uint32_t len;  /* data bytes */
	uint16_t mss;  /* the MSS option, 0 if absent */
	int wscale;    /* the window scale option, -1 if absent */
	bool sack_ok, has_ts;
	uint32_t tsval, tsecr;
	unsigned nsack;
	uint32_t sack[4][2];
	uint8_t ecn;   /* the IP header's ECN field (RFC 3168 5): 3 is CE */
	struct tcp_tfo_opt tfo;
};

/* SEG.LEN: the data and the SYN and FIN it carries (RFC 9293 3.4) */
static inline uint32_t tcp_seg_len(const struct tp_seg *seg)
{
	return seg->len + !!(seg->flags & TAPIR_TH_SYN) + !!(seg->flags & TAPIR_TH_FIN);
}

/* RFC 9293 3.2: walks an option list O of LEN bytes from *I.  Returns the
 * next option (kind, length, value) and moves *I past it; NOPs are
 * skipped.  NULL at the end of the list, and at a malformed option, which
 * ends the walk too. */
static inline const uint8_t *tcp_opt_next(const uint8_t *o, size_t len, size_t *i)
{
	const uint8_t *opt;
	while (*i < len && o[*i] == 1)
		(*i)++;
	if (*i >= len || o[*i] == 0)
		return NULL;
	if (*i + 1 >= len || o[*i + 1] < 2 || *i + o[*i + 1] > len)
		return NULL;
	opt = o + *i;
	*i += opt[1];
	return opt;
}

/* A range of sequence numbers [start, end), in sorted, disjoint sets. */
struct tp_range {
	uint32_t start, end;
};
/* Adds [START, END) to the set R of *N ranges (at most MAX), merging what
 * it overlaps or touches.  False when it would need a new range and the
 * set is full (nothing changes then). */
bool tp_range_add(struct tp_range *r, unsigned *n, unsigned max, uint32_t start, uint32_t end);


/* SACK and loss-recovery state, allocated on the first SACK block or
 * recovery retransmission and freed when both are empty again, so that an
 * idle connection does not carry it */
struct tcp_sackblk {
	struct tp_range sacked[TCP_SACK_MAX]; /* the scoreboard, sorted */
	struct { uint32_t seq, end, mark; } rx[TCP_SACK_MAX]; /* retransmissions in
					     * recovery; MARK: SND.MAX when sent */
};

/* RACK-TLP (RFC 8985) and PRR (RFC 6937), tcp_rack.c.  Each segment sent
 * and not yet cumulatively acknowledged, in sequence order, with when it
 * last went out (RFC 8985 6.1's per-segment state); bounded: past
 * TCP_RACK_SEGS the newest entry grows to take what follows.  The block
 * starts with room for TCP_RACK_SEGS_MIN and doubles as the flight grows:
 * a request/response flight (a segment or two) costs a small malloc, not
 * 12 KiB zeroed. */
#define TCP_RACK_SEGS 512
#define TCP_RACK_SEGS_MIN 8
#define TCP_RACK_SACKED 1  /* SACKed (RFC 2018) */
#define TCP_RACK_LOST 2    /* its last transmission is deemed lost */
#define TCP_RACK_RETRANS 4 /* sent more than once */
struct tcp_rack_seg {
	uint32_t seq, end;
	tapir_time_t xmit_ts;
	uint32_t order;      /* the connection's count of sends when it went */
	uint8_t flags;
};
struct tcp_rackblk {
	unsigned n, cap;                    /* records held, room for */
	struct tcp_rack_seg seg[];
};
struct tcp_rack {
	bool on : 1, tlp : 1, prr : 1;                  /* the profile's choices, at open */
	bool reordering_seen : 1;               /* RFC 8985 6.1 RACK.reordering_seen */
	bool dsack_round_on : 1;                /* RACK.dsack_round is not None */
	bool tlp_out : 1, tlp_is_retrans : 1;       /* TLP.end_seq is not None; TLP.is_retrans */
	bool rtt_since_probe : 1;               /* an RTT sample since the last probe (7.3) */
	bool probing : 1;                       /* a probe is being sent (no PTO for it) */
	bool rec_before : 1;                    /* in recovery before this ACK */
	uint8_t tmr;                        /* what t_rack times: TCP_RACK_TMR_* */
	uint8_t reo_wnd_mult, reo_wnd_persist;
	uint32_t end_seq, fack, dsack_round, tlp_end_seq;
	uint32_t order, sends;              /* RACK's segment's order; sends so far */
	tapir_time_t xmit_ts, rtt, min_rtt;
	tapir_time_t min_a, min_b, min_since; /* min_RTT's two half windows (tcp_rack_min_rtt) */
	/* RFC 6937 */
	uint32_t prr_delivered, prr_out, recover_fs, delivered, newly; /* newly: SACKed by this ACK */
	uint32_t dup_credit;                /* without SACK: DupAcks counted as delivered */
	struct tcp_rackblk *b;              /* only while data is outstanding */
};
#define TCP_RACK_TMR_REO 1 /* RFC 8985 6.3 the reordering timer */
#define TCP_RACK_TMR_PTO 2 /* RFC 8985 7.2 the loss probe timeout */

struct tapir_tcp {
	struct tapir_stack *s;
	struct tapir_tcp *bnext, **bprev;   /* bound: in the stack's bucket of its port */
	struct tapir_tcp *hnext;            /* hash chain (connections) */
	struct tapir_tcp *anext, *aprev;    /* the list of all sockets in use */
	struct tapir_tcp *parent;           /* listener of an embryonic or unaccepted child */
	struct tapir_tcp *qnext;            /* in the parent's SYN or accept queue; a
					     * listener: in the stack's listeners */
	uint8_t state;
	bool used : 1, bound : 1, in_hash : 1, in_listen : 1;
	bool user_closed : 1;                   /* the application let go: the stack frees it */
	bool shut_rd : 1, shut_wr : 1;
	bool fin_queued : 1;                    /* we owe the peer a FIN after the data */
	bool fin_sent : 1;                      /* ... and it went out at FIN_SEQ */
	bool rcv_fin : 1;                       /* the peer's FIN is in (or seen out of order) */
	bool ack_now : 1;                       /* send an ACK at the next output */
	bool ack_plain : 1;                     /* ... a challenge ACK: never with the FIN
					     * (profile fin_on_ack) */
	bool ack_held : 1;                      /* ... held to the turn's end (tc->ackq) */
	bool loop_wait : 1;                     /* data waits for loopback room (tc->loopq) */
	bool ack_lazy : 1;                      /* ... owed only for in-order text or a
					     * window update: it may wait for the turn's end */
	bool nodelay : 1, keepalive : 1, reuseaddr : 1;
	bool passive : 1;                       /* opened by a listener */
	bool timing : 1;                        /* an RTT sample is running (Karn) */
	bool in_recovery : 1;                   /* fast recovery (RFC 6582, RFC 6675) */
	bool force : 1;                         /* a probe: persist (a byte past the window), TLP (past Nagle) */
	bool syn_rexmt : 1;                     /* our SYN (or SYN,ACK) was retransmitted */
	bool v6only : 1;                        /* IPV6_V6ONLY: a :: bind takes no IPv4 */
	bool rcv_auto : 1;                      /* the receive buffer is autotuned (tcp_mem.c) */
	bool snd_auto : 1;                      /* ... and the send buffer */
	bool rcv_rtt_on : 1, rcv_space_on : 1;      /* ... a measurement of each is running */
	/* RFC 7323 and RFC 2018, as negotiated on the SYNs (more below) */
	bool ws_ok : 1, ts_ok : 1, sack_ok : 1;
	bool fin_pending : 1;                   /* the peer's FIN came before all its data */
	bool dsack : 1;                         /* RFC 2883: a duplicate to report once */
	uint8_t snd_wscale, rcv_wscale;     /* shift of the peer's / our window field */
	uint8_t reordering;                 /* duplicate threshold in segments: 3, more
					     * once reordering is seen (RFC 4653's idea) */
	struct tapir_ip laddr, raddr;       /* v4-mapped for IPv4 (tapir/addr.h) */
	uint16_t lport, rport;
	struct tp_ipopts ipo;               /* its IP header fields (IP_TTL, IPV6_TCLASS...) */

	/* send sequence space, RFC 9293 3.3.1 */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t max_sndwnd;                /* largest window the peer offered */
	uint32_t fin_seq;                   /* our FIN's sequence number, once sent */
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv;     /* rcv_adv: right edge last advertised */
	uint32_t rcv_fin_seq;
	struct tp_range ooo[TCP_OOO_MAX];
	uint32_t ooo_last;                  /* start of the newest out-of-order range:
					     * the first SACK block (RFC 2018 4) */
	/* receive-buffer autotuning (tcp_mem.c) */
	uint32_t rcv_rtt_seq;               /* the RTT sample ends when RCV.NXT passes it */
	uint32_t rcv_copied;                /* bytes the reader took since RCV_SPACE_AT */
	uint32_t rcv_space;                 /* the most it took in one round trip */
	tapir_time_t rcv_rtt_at, rcv_rtt;   /* the sample's start; the receiver's RTT */
	tapir_time_t rcv_space_at;

	/* RFC 7323 and RFC 2018 (the flags and shifts: above, with the others) */
	uint32_t ts_recent, ts_offset;      /* RFC 7323 4.3 TS.Recent; our clock's offset */
	uint32_t last_ack_sent;             /* RFC 7323 4.3 Last.ACK.sent */
	int linger;                         /* SO_LINGER, -1: off (here: it fills a hole) */
	tapir_time_t ts_recent_age;
	uint32_t dsack_start, dsack_end;
	struct tcp_sackblk *sb;             /* the scoreboard and retransmissions:
					     * only while NSACKED or NRX (tcp_sack.c) */
	unsigned nsacked;
	uint32_t rexmt_high;                /* SACK recovery: retransmitted up to here
					     * (RFC 6675 HighRxt) */
	unsigned nrx;
	uint32_t sack_high;                 /* highest byte ever SACKed */

	uint16_t mss;                       /* data bytes per segment (options taken off) */
	uint16_t peer_mss;                  /* from the peer's SYN */
	uint16_t user_mss;                  /* TCP_MAXSEG clamp, 0: none */
	unsigned nooo;
	uint32_t chunk;                     /* the index of its chunk (tcp_mem.c, slab.c) */
	struct tp_ring snd, rcv;
	uint32_t sndbuf, rcvbuf;            /* sizes asked for; the rings' CAP is set at
					     * open (and follows a later setopt), their
					     * memory only while data is held */

	/* RFC 6298 */
	tapir_time_t srtt, rttvar, rto;
	uint32_t rtt_seq;
	unsigned dupacks;
	tapir_time_t rtt_start;
	/* RFC 5681 / 6582, and RFC 9438 (CUBIC) when cc_algo says so */
	uint32_t cwnd, ssthresh, recover, bytes_acked;
	/* Eifel (RFC 3522, RFC 4015): the state before the last fast
	 * retransmit, and its timestamp, to undo it if it was spurious */
	bool undo_ok : 1;
	/* RFC 3168 ECN */
	bool ecn_syn : 1;                       /* our SYN asked for ECN */
	bool ecn_ok : 1;                        /* both SYNs agreed: data goes ECT(0) */
	bool ece_pending : 1;                   /* a CE came: ECE on our ACKs until a CWR */
	bool cwr_pending : 1;                   /* we reduced cwnd: CWR on the next new data */
	uint8_t cc_algo;                    /* TAPIR_CC_* */
	uint8_t tx_reserved, rx_reserved;   /* RFC 9401 bits to send / seen */
	uint32_t undo_seq, undo_tsval, undo_cwnd, undo_ssthresh;
	int backlog;                        /* a listener's (here: it fills a hole) */
	double undo_wmax, undo_wlast;
	double cubic_wmax, cubic_wlast, cubic_k, cubic_west; /* in segments */
	tapir_time_t cubic_epoch;           /* start of the growth epoch; 0: none */

	/* timers: absolute deadlines, TAPIR_TIME_NEVER when off */
	tapir_time_t t_rexmt;               /* retransmission, or persist when force-probing */
	tapir_time_t t_persist;
	tapir_time_t t_delack;
	tapir_time_t t_keep;
	tapir_time_t t_2msl;                /* TIME_WAIT, and the orphan FIN_WAIT_2 limit */
	tapir_time_t t_rack;                /* RACK reordering timer or TLP's PTO (rack.tmr) */
	tapir_time_t pmtu_raise_at;         /* a lowered path MTU ages out (RFC 1191 6.3) */
	struct tp_timer tmr;                /* in the stack's wheel at no later than the
					     * earliest of the five (tcp_timer_set) */
	tapir_time_t una_since;             /* TCP_USER_TIMEOUT's clock: since the oldest
					     * unacked send or the last ACK progress;
					     * NEVER: nothing outstanding */
	tapir_time_t persist_since;         /* ... and since the first zero-window probe
					     * (NEVER: not probing) */
	tapir_time_t last_rx;
	unsigned unacked_segs;              /* full segments received since our last ACK */
	unsigned quickacks;                 /* segments still ACKed at once (profile quickack) */
	tapir_time_t last_data_rx;          /* ... and when in-order data last came (if DATA_RX) */
	unsigned keep_probes;
	unsigned backoff;                   /* consecutive timeouts */
	unsigned probes_unanswered;         /* persist probes since the peer last spoke */
	int keepidle, keepintvl, keepcnt;   /* seconds, seconds, count */
	unsigned user_timeout_ms;
	unsigned keepinit_s;                /* TAPIR_TCP_KEEPINIT */
	uint32_t notsent_lowat;             /* TAPIR_TCP_NOTSENT_LOWAT; 0: off */
	bool noopt : 1;                         /* TAPIR_TCP_NOOPT */
	/* TCP Fast Open (RFC 7413; tcp_fastopen.c) */
	bool tfo_client : 1;                    /* TAPIR_TCP_FASTOPEN_CONNECT */
	bool tfo_defer : 1;                     /* connected as far as the user knows: the
					     * SYN waits for the first data */
	bool tfo_syn_data : 1;                  /* our SYN carried data */
	bool tfo_early : 1;                     /* accepted from its SYN, before the ACK */
	bool tfo_cookie_out : 1;                /* our SYN,ACK carries a fresh cookie ... */
	bool tfo_exp : 1;                       /* ... in the experimental option */
	bool data_rx : 1;                       /* in-order data came (LAST_DATA_RX) */
	unsigned tfo_qlen, tfo_pending;     /* a listener: TAPIR_TCP_FASTOPEN, and its
					     * children from a cookie still half-open */
	struct tapir_tcp *tfo_parent;       /* such a child: the listener counting it */

	/* listener */
	unsigned syn_n, acc_n;
	struct tapir_tcp *synq, *accq, *accq_tail;

	tapir_tcp_handler_fn handler;       /* a replaced segment handler (hook.h) */
	void *handler_arg;

	int error;                          /* pending (SO_ERROR) */
	int hard_error;                     /* what ended the connection */
	int soft_error;                     /* an ICMP error, told if we time out */
	uint32_t ecn_recover;               /* no second reduction before this is ACKed */
	struct tcp_rack rack;               /* RFC 8985, RFC 6937 (tcp_rack.c) */
	tapir_event_fn event;
	void *event_arg;
};

/* TCP Fast Open's stack-wide state (RFC 7413 4.1): the server's keys, the
 * current and the one before, rotated every TCP_TFO_KEY_PERIOD; the
 * client's cookies by server address, a bounded cache */
#define TCP_TFO_KEY_PERIOD TAPIR_SEC(3600)
#define TCP_TFO_CACHE 64
#define TCP_TFO_COOKIE_LEN 8            /* the cookies we make: one SipHash */
struct tcp_tfo {
	uint64_t key[2][2];                 /* [0] current, [1] previous */
	tapir_time_t key_at;                /* when [0] was made; 0: none yet */
	struct tcp_tfo_entry {
		struct tapir_ip addr;
		uint16_t mss;               /* the server's, for the SYN's data */
		uint8_t len;                /* 0: a free entry */
		uint8_t cookie[TCP_TFO_COOKIE_MAX];
		uint32_t used;              /* the least recently used goes first */
	} cache[TCP_TFO_CACHE];
	uint32_t clock;
};

/* A few connections waiting for something, by pointer (each also has a
 * bit saying it is on the list, so that tcb_put takes it off) */
struct tcp_tcbq {
	unsigned n;
	struct tapir_tcp *t[TCP_TCBQ];
};

/* the stack's TCP state */
struct tp_tcp {
	struct tp_slab tcbs;                /* the TCBs (tcp_mem.c) */
	struct tp_slab tws;                 /* the TIME-WAIT records (tcp_tw.c) */
	struct tapir_tcp *all;              /* every socket in use */
	struct tapir_tcp *listeners;        /* through qnext */
	struct tapir_tcp *ports[TCP_PORT_BUCKETS]; /* bound sockets by port */
	struct tp_htab hash;                /* connections by 4-tuple */
	uint64_t secret[2];                 /* RFC 6528's key */
	uint64_t hkey[2];                   /* the hash table's own key */
	size_t mem;                         /* ring bytes held by all sockets */
	/* TIME-WAIT records (tcp_tw.c) */
	struct tcp_tw *tw_head, *tw_tail;   /* in expiry order */
	struct tp_htab tw_hash;
	struct tcp_tw *tw_ports[TCP_PORT_BUCKETS];
	unsigned ntw;
	struct tapir_tcp *tw_cur;           /* this segment's: to freeze after it */
	struct tcp_tw *tw_rec;              /* ... and the record it was thawed from */
	struct tp_ring_cache {              /* free rings of the default sizes */
		uint32_t size;
		unsigned n;
		uint8_t *buf[TCP_RING_CACHE];
	} cache[3];                         /* TCP_RING_MIN and the two defaults */
	tapir_time_t challenge_at;          /* RFC 5961 7: the current second */
	unsigned challenge_n;
	struct tp_wheel wheel;              /* the sockets' timers (tcp_timer.c) */
	struct tcp_tfo tfo;                 /* TCP Fast Open (tcp_fastopen.c) */
	bool ack_defer;                     /* tapir_stack_defer_acks is on */
	struct tcp_tcbq ackq;               /* what it holds (ack_held) */
	struct tcp_tcbq loopq;              /* waiting for loopback room (loop_wait) */
};

/* A broadcast or multicast address: never a TCP endpoint (RFC 1122
 * 4.2.3.10; RFC 9293 3.9.1.1 for IPv6 multicast too) */
static inline bool tcp_addr_is_group(const struct tapir_stack *s, const struct tapir_ip *a)
{
	if (!tapir_ip_is_v4(a))
		return tapir_ipv6_is_multicast(a->b);
	return ipv4_is_broadcast(s, tapir_ip_v4(a)) || tapir_ipv4_is_multicast(tapir_ip_v4(a));
}

/* tcp_bind.c */
struct tapir_tcp *tcp_lookup_listener(struct tapir_stack *s, const struct tapir_ip *laddr,
				      uint16_t lport);
/* A socket bound to LADDR:LPORT in CLOSED (neither listening nor
 * connected), or NULL */
const struct tapir_tcp *tcp_lookup_closed(struct tapir_stack *s, const struct tapir_ip *laddr,
					  uint16_t lport);
/* tcp_subr.c */
struct tapir_tcp *tcp_alloc(struct tapir_stack *s);
/* As tcp_alloc, beyond the limit (a TIME-WAIT record thawed for a segment) */
struct tapir_tcp *tcp_alloc_unbounded(struct tapir_stack *s);
int tcp_buffers(struct tapir_tcp *t);
uint32_t tcp_isn(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
		 const struct tapir_ip *raddr, uint16_t rport);
void tcp_set_state(struct tapir_tcp *t, enum tapir_tcp_state st);
/* The connection is over: tell the user (ERR, or 0 for a clean end) and
 * free it if the user is gone. */
void tcp_drop(struct tapir_tcp *t, int err);
void tcp_free(struct tapir_tcp *t);
void tcp_notify(struct tapir_tcp *t, unsigned ev);
/* A child of a listener has completed its handshake. */
void tcp_child_established(struct tapir_tcp *t);
uint16_t tcp_effective_mss(struct tapir_tcp *t);
static inline bool tcp_fin_acked(const struct tapir_tcp *t)
{
	return t->fin_sent && SEQ_GT(t->snd_una, t->fin_seq);
}
void tcp_enter_time_wait(struct tapir_tcp *t);

/* tcp_mem.c: TCBs in chunks, the 4-tuple hash, the rings' memory */
int tcp_init(struct tapir_stack *s);
void tcp_fini(struct tapir_stack *s);
/* A zeroed TCB, NULL when memory is out (the limit is tcp_alloc's) */
struct tapir_tcp *tcb_get(struct tapir_stack *s);
void tcb_put(struct tapir_tcp *t);
/* True when T's bare ACK waits for the turn's end (tapir_stack_defer_acks) */
bool tcp_ack_hold(struct tapir_tcp *t);
/* True when T's new data waits for the turn's end (tapir_stack_defer_acks) */
bool tcp_output_hold(struct tapir_tcp *t);
/* True when T's data waits for room on the loopback queue ... */
bool tcp_loop_wait(struct tapir_tcp *t);
/* ... which the loopback poll has made: the waiting connections send */
void tcp_loop_resume(struct tapir_stack *s);
/* An ACK is owed for in-order text (every second segment) or a window
 * that opened: unless one is owed already for another reason, it may wait
 * for the turn's end (tcp_ack_hold) */
static inline void tcp_ack_lazily(struct tapir_tcp *t)
{
	t->ack_lazy = !t->ack_now || t->ack_lazy;
	t->ack_now = true;
}
/* The 4-tuple as bytes for a keyed hash (the table's, the ISN's, a SYN
 * cookie's): 12 for IPv4, 36 for IPv6; returns the length */
#define TCP_TUPLE_MAX 36
static inline size_t tcp_tuple_bytes(uint8_t b[TCP_TUPLE_MAX], const struct tapir_ip *laddr,
				     uint16_t lport, const struct tapir_ip *raddr, uint16_t rport)
{
	/* IPv4: its 4-byte addresses, 12 bytes as ever (and as fast) */
	if (tapir_ip_is_v4(laddr) && tapir_ip_is_v4(raddr)) {
		memcpy(b, laddr->b + 12, 4);
		tapir_put16(b + 4, lport);
		memcpy(b + 6, raddr->b + 12, 4);
		tapir_put16(b + 10, rport);
		return 12;
	}
	memcpy(b, laddr->b, 16);
	tapir_put16(b + 16, lport);
	memcpy(b + 18, raddr->b, 16);
	tapir_put16(b + 34, rport);
	return 36;
}
typedef unsigned (*tp_hash_fn)(const struct tp_tcp *tc, unsigned mask, const void *e);
unsigned tcp_tuple_hash(const struct tp_tcp *tc, unsigned mask, const struct tapir_ip *laddr,
			uint16_t lport, const struct tapir_ip *raddr, uint16_t rport);
void htab_insert(const struct tp_tcp *tc, struct tp_htab *h, void *e, tp_hash_fn hash);
void htab_remove(const struct tp_tcp *tc, struct tp_htab *h, void *e, tp_hash_fn hash);
void tcp_hash_insert(struct tapir_tcp *t);
void tcp_hash_remove(struct tapir_tcp *t);
/* T is bound to its LPORT: into the port's bucket, so that binds and
 * the choice of a port look at that port's sockets only */
void tcp_port_insert(struct tapir_tcp *t);
static inline struct tapir_tcp *tcp_port_first(struct tapir_stack *s, uint16_t port)
{
	return s->tcp->ports[port & (TCP_PORT_BUCKETS - 1)];
}
struct tapir_tcp *tcp_lookup(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
			     const struct tapir_ip *raddr, uint16_t rport);
/* Room in ring R of T (its CAP set at open) for NEED bytes from its head:
 * 0, or -ENOBUFS past tcp_mem_max or when malloc fails */
int tcp_ring_get(struct tapir_tcp *t, struct tp_ring *r, uint32_t need);
/* Gives R's memory back (to the cache first); its bytes are dropped */
void tcp_ring_put(struct tapir_tcp *t, struct tp_ring *r);
/* Receive-buffer autotuning: in-order text came (the receiver's RTT) ... */
void tcp_rcv_rtt_measure(struct tapir_tcp *t);
/* ... and the reader took COPIED bytes (the buffer follows it) */
void tcp_rcv_space_adjust(struct tapir_tcp *t, uint32_t copied);
/* An ACK took data from a send buffer that was full: it may grow */
void tcp_snd_space_adjust(struct tapir_tcp *t);
/* An emptied receive ring that autotuning grew keeps its memory */
bool tcp_rcv_ring_keep(const struct tapir_tcp *t);
/* ... and so does an emptied send ring that it grew */
bool tcp_snd_ring_keep(const struct tapir_tcp *t);
/* The buffer the window scale must cover: the autotuning's ceiling too */
uint32_t tcp_rcvbuf_ceiling(const struct tapir_tcp *t);

/* tcp_tw.c: TIME-WAIT as a compact record */
int tcp_tw_init(struct tp_tcp *tc);
void tcp_tw_fini(struct tp_tcp *tc);
size_t tcp_tw_bytes(const struct tp_tcp *tc);
bool tcp_tw_exists(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
		   const struct tapir_ip *raddr, uint16_t rport);
struct tapir_tcp *tcp_tw_thaw(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
			      const struct tapir_ip *raddr, uint16_t rport);
void tcp_tw_candidate(struct tapir_tcp *t);
void tcp_tw_forget(struct tapir_tcp *t);
void tcp_tw_settle(struct tapir_stack *s);
tapir_time_t tcp_tw_poll(struct tapir_stack *s, tapir_time_t now);
/* Frees the oldest record; false when there is none */
bool tcp_tw_reclaim(struct tapir_stack *s);
/* A record holds PORT (on ADDR, NULL: any; V6ONLY as the binding socket's)
 * against a bind (REUSE: SO_REUSEADDR lets a socket share a port with
 * TIME-WAIT) */
bool tcp_tw_port_used(struct tapir_stack *s, const struct tapir_ip *addr, bool v6only,
		      uint16_t port, bool reuse);
void tcp_tw_foreach(struct tapir_stack *s, void (*fn)(void *arg, const struct tapir_tcp *t),
		    void *arg);

/* ring helpers */
void ring_write_at(struct tp_ring *r, uint32_t off, const uint8_t *data, uint32_t n);
void ring_read_at(const struct tp_ring *r, uint32_t off, uint8_t *out, uint32_t n);
void ring_consume(struct tp_ring *r, uint32_t n);

/* tcp_input.c */
int tcp_input(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen);

/* What becomes of a segment.  The steps of RFC 9293 3.10.7 decide it;
 * tcp_input carries it out in one place: the answer, the end of the
 * connection, and the reason tapir_stack_input counts. */
enum tcp_answer {
	TCP_ANS_NONE,
	TCP_ANS_ACK,       /* an ACK (RFC 9293 3.10.7.4 first) */
	TCP_ANS_CHALLENGE, /* a challenge ACK, rate limited (RFC 5961 3.2, 4.2, 5.2) */
	TCP_ANS_RST_ACKNO, /* <SEQ=SEG.ACK><CTL=RST> to an unacceptable ACK */
	TCP_ANS_RST,       /* the connection's own RST (RFC 1122 4.2.2.13) */
	TCP_ANS_RST_ACK,   /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> (RFC 793 3.9) */
};
struct tcp_verdict {
	int reason;        /* TP_OK: taken; otherwise the drop reason */
	uint8_t answer;    /* enum tcp_answer */
	bool end;          /* the connection is over (tcp_drop) ... */
	int err;           /* ... with this error, 0 for none */
};
static inline struct tcp_verdict tcp_taken(void)
{
	return (struct tcp_verdict){.reason = TP_OK};
}
static inline struct tcp_verdict tcp_dropped(enum tcp_answer a)
{
	return (struct tcp_verdict){.reason = TAPIR_DROP_tcp_dropped, .answer = (uint8_t)a};
}
/* tcp_tw.c: the profile's TIME-WAIT rules; true when they decided *V */
bool tcp_tw_profile_check(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict *v);
static inline struct tcp_verdict tcp_ends(int reason, enum tcp_answer a, int err)
{
	return (struct tcp_verdict){.reason = reason, .answer = (uint8_t)a, .end = true, .err = err};
}
/* RFC 9293 3.10.7.4: a segment in any state from SYN-RECEIVED on */
struct tcp_verdict tcp_sync_input(struct tapir_tcp *t, const struct tp_seg *seg);
/* RFC 9293 3.10.7.4 fifth: the send window WND from a segment SEQ, ACK;
 * ALWAYS when it opens the connection, else by the SND.WL1/WL2 rule */
void tcp_update_window(struct tapir_tcp *t, uint32_t seq, uint32_t ack, uint32_t wnd, bool always);
/* Our SYN is acknowledged: ESTABLISHED (RFC 9293 3.10.7.3, 3.10.7.4 fifth) */
void tcp_handshake_done(struct tapir_tcp *t, const struct tp_seg *seg);
/* Out-of-order data: [START, END) is held beyond RCV.NXT; false when full */
bool tcp_ooo_add(struct tapir_tcp *t, uint32_t start, uint32_t end);


/* tcp_syn.c */
struct tcp_verdict tcp_listen_input(struct tapir_tcp *l, const struct tp_seg *seg);
struct tcp_verdict tcp_synsent_input(struct tapir_tcp *t, const struct tp_seg *seg);
/* An ACK to listener L that returns a SYN cookie (RFC 4987 3.6): the
 * connection it makes, or NULL */
struct tapir_tcp *tcp_cookie_check(struct tapir_tcp *l, const struct tp_seg *seg, bool *roomless);

/* tcp_fastopen.c: TCP Fast Open (RFC 7413) */
/* P: a kind 34 or 254 option of the segment SEG */
void tcp_tfo_parse(struct tp_seg *seg, const uint8_t *p);
/* A SYN with a Fast Open option came to listener L, which made child C:
 * a valid cookie takes its data and C goes to the accept queue at once
 * (4.2); anything else has the SYN,ACK carry a fresh cookie */
void tcp_tfo_listen(struct tapir_tcp *l, struct tapir_tcp *c, const struct tp_seg *seg);
/* T, opened by a cookie, leaves SYN-RECEIVED or is freed */
void tcp_tfo_release(struct tapir_tcp *t);
/* T is freed: as above, and a listener's children forget it */
void tcp_tfo_forget(struct tapir_tcp *t);
/* The option our SYN (or SYN,ACK) carries, into *O */
void tcp_tfo_syn_option(struct tapir_tcp *t, bool passive, struct tcp_tfo_opt *o);
/* The data our SYN carries (a cookie is cached; not on a retransmission) */
uint32_t tcp_tfo_syn_data(struct tapir_tcp *t);
uint32_t tcp_tfo_syn_room(struct tapir_tcp *t); /* data a SYN to it may carry */
/* A connect may send its SYN with the first data: a cookie is cached */
bool tcp_tfo_may_defer(struct tapir_tcp *t);
/* The SYN,ACK SEG answers our SYN: a cookie it carries is kept; what of
 * our SYN's data it does not acknowledge is sent again (4.2.2) */
void tcp_tfo_synack(struct tapir_tcp *t, const struct tp_seg *seg);

/* tcp_output.c */
int tcp_output(struct tapir_tcp *t);
/* RFC 1191 6.4: a validated too-big about the segment at SEQ; the path
 * MTU is stored: the MSS follows it, the dropped segment goes again */
void tcp_pmtu_lowered(struct tapir_tcp *t, uint32_t seq);
/* Sends one segment of T: SEQ, flags, LEN bytes of send-buffer data from
 * offset OFF (relative to SND.UNA). */
int tcp_send_segment(struct tapir_tcp *t, uint32_t seq, uint8_t flags, uint32_t off,
		     uint32_t len);
void tcp_send_ack(struct tapir_tcp *t);
/* In-order data came with WND (RCV.WND) offered: whether the profile's
 * quick-ack mode ACKs it at once. */
bool tcp_quickack(struct tapir_tcp *t, uint32_t wnd);
/* Text the receiver could not take: quick-ack mode again (profile quickack) */
void tcp_quickack_enter(struct tapir_tcp *t, uint32_t wnd);
/* Our timestamp clock, RFC 7323 5.4: milliseconds, offset per connection. */
uint32_t tcp_ts_now(const struct tapir_tcp *t);
/* After the SYNs: window shifts, options, and the MSS net of them. */
void tcp_options_agreed(struct tapir_tcp *t);
void tcp_options_prepare(struct tapir_tcp *t);
void tcp_send_rst(struct tapir_tcp *t);
/* A SYN,ACK that keeps no state: SEQ is a SYN cookie (RFC 4987 3.6). */
void tcp_send_synack_cookie(struct tapir_tcp *l, const struct tapir_ip *laddr, uint16_t lport,
			    const struct tapir_ip *raddr, uint16_t rport, uint32_t seq, uint32_t ack);
/* A reply to a segment that has no connection (RFC 9293 3.10.7.1), or
 * none that answers it; with the IP header fields of the socket T (NULL:
 * the defaults). */
void tcp_respond(struct tapir_stack *s, const struct tapir_tcp *t, const struct tapir_ip *laddr,
		 uint16_t lport, const struct tapir_ip *raddr, uint16_t rport, uint32_t seq,
		 uint32_t ack, uint8_t flags);
/* The largest segment the path to RADDR carries: its MTU less the IP and
 * TCP headers, 40 bytes over IPv4 and 60 over IPv6 (RFC 9293 3.7.1,
 * RFC 8200 5) */
unsigned tcp_path_mss(struct tapir_stack *s, const struct tapir_ip *raddr);
uint32_t tcp_rcv_window(struct tapir_tcp *t);
void tcp_trace_seg(struct tapir_stack *s, const char *dir, const struct tapir_ip *src, uint16_t sport,
		   const struct tapir_ip *dst, uint16_t dport, const uint8_t *th, size_t len);

/* tcp_timer.c */
tapir_time_t tcp_poll(struct tapir_stack *s, tapir_time_t now);
void tcp_rexmt_arm(struct tapir_tcp *t);
void tcp_rtt_sample(struct tapir_tcp *t, tapir_time_t rtt);
void tcp_keep_arm(struct tapir_tcp *t);
/* Sets the timer FIELD of T (t_rexmt, t_persist, t_delack, t_keep, t_2msl)
 * to WHEN: every deadline set goes through it, so the wheel keeps T no
 * later than it.  Turning one off, or later, may be done by hand. */
void tcp_timer_set(struct tapir_tcp *t, tapir_time_t *field, tapir_time_t when);

/* tcp_cc.c */
void cc_init(struct tapir_tcp *t);
/* new data acknowledged; returns true when a partial ACK in fast recovery
 * asks for the next hole to be retransmitted (RFC 6582 3.2) */
bool cc_ack(struct tapir_tcp *t, uint32_t acked);
/* a duplicate ACK; returns true when it triggers fast retransmit */
bool cc_dupack(struct tapir_tcp *t);
/* loss found by duplicate ACKs or SACKs: ssthresh and cwnd come down */
void cc_enter_recovery(struct tapir_tcp *t);
/* an ACK covering the fast retransmission: undoes it when spurious */
bool cc_spurious_check(struct tapir_tcp *t, uint32_t ack, bool has_ts, uint32_t tsecr);

/* tcp_rack.c: RACK-TLP (RFC 8985) and PRR (RFC 6937), when the profile
 * asks for them on a SACK connection */
static inline bool tcp_rack_active(const struct tapir_tcp *t)
{
	return t->rack.on && t->sack_ok;
}
/* PRR without SACK: RFC 6937 3 counts each DupAck as one MSS delivered */
static inline bool tcp_prr_nosack(const struct tapir_tcp *t)
{
	return t->rack.prr && !t->sack_ok;
}
static inline bool tcp_prr_active(const struct tapir_tcp *t)
{
	return t->rack.prr && t->sack_ok;
}
/* at open: the profile's choices, the state reset */
void tcp_rack_init(struct tapir_tcp *t);
/* N sequence numbers from SEQ went out (SND.MAX was MAX before) */
void tcp_rack_sent(struct tapir_tcp *t, uint32_t seq, uint32_t n, uint32_t max);
/* an acceptable ACK, before SND.UNA moves: what it delivered (NEWLY:
 * bytes it SACKed first) */
void tcp_rack_ack(struct tapir_tcp *t, const struct tp_seg *seg, uint32_t newly);
/* ... and after: loss detection, recovery, PRR, the timers */
void tcp_rack_recover(struct tapir_tcp *t, bool advanced);
/* RFC 6937 on an ACK in recovery, for RFC 6675's recovery too: cwnd */
void tcp_prr_ack(struct tapir_tcp *t);
/* RFC 6937: recovery starts (RecoverFS) */
void tcp_prr_start(struct tapir_tcp *t);
/* PRR without SACK: a DupAck in recovery (START: the one that began it), a
 * partial ACK of ACKED bytes; the caller then resends one segment */
void tcp_prr_dupack(struct tapir_tcp *t, bool start);
void tcp_prr_partial(struct tapir_tcp *t, uint32_t acked);
/* RFC 8985 6.2 step 1: an RTT sample RTT at NOW into RACK.min_RTT, the
 * least over the last TCP_RACK_MIN_RTT_WIN (half of it at least) */
#define TCP_RACK_MIN_RTT_WIN TAPIR_SEC(300)
void tcp_rack_min_rtt(struct tcp_rack *r, tapir_time_t rtt, tapir_time_t now);
uint32_t tcp_rack_pipe(const struct tapir_tcp *t);
/* tcp_sack.c: bytes of the SACK scoreboard below SEQ */
uint32_t tcp_sacked_below(const struct tapir_tcp *t, uint32_t seq);
/* the RTO fired (RFC 8985 6.3, RFC 2018 8) */
void tcp_rack_rto(struct tapir_tcp *t);
/* t_rack is due; false when T was freed */
bool tcp_rack_timer(struct tapir_tcp *t);
void tcp_rack_free(struct tapir_tcp *t);

/* tcp_sack.c: the SACK scoreboard and RFC 6675 loss recovery */
uint32_t tcp_sack_update(struct tapir_tcp *t, const uint32_t (*sack)[2], unsigned n);
void tcp_sack_trim(struct tapir_tcp *t);
/* frees T's SACK block when it holds nothing (FORCE: always) */
void tcp_sackblk_release(struct tapir_tcp *t, bool force);
uint32_t tcp_sack_pipe(const struct tapir_tcp *t);
void tcp_sack_ack(struct tapir_tcp *t, bool dupack, bool advanced);
/* Sends N bytes from SEQ again (a retransmission; Karn's rule applies). */
void tcp_resend(struct tapir_tcp *t, uint32_t seq, uint32_t n);
void cc_timeout(struct tapir_tcp *t);
/* RFC 3168 6.1.2: an ECE: the window comes down as for a loss, once per
 * window of data, and nothing is retransmitted */
void cc_ecn(struct tapir_tcp *t);
/* a loss that needs no recovery (RFC 8985 7.4: repaired by a probe):
 * ssthresh and cwnd come down once */
void cc_reduce(struct tapir_tcp *t);

#endif
