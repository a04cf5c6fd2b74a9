/*
 * The core's private header: what the protocol files share.  Nothing
 * outside core/ (and its tests) includes this.
 *
 * Who calls whom, on the way in:
 *   stack.c tapir_stack_input -> ether_input -> arp_input | ipv4_input
 *   ipv4_input -> (reasm) -> icmp_input | udp_input | tcp_input
 * and on the way out:
 *   udp/icmp/tcp -> ipv4_output -> (fragment) -> arp_output -> ether_send
 *
 * Input handlers return TP_OK or a drop reason; tapir_stack_input counts
 * the outcome once per frame.
 */
#ifndef TAPIR_CORE_H
#define TAPIR_CORE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tapir/addr.h>
#include <tapir/hook.h>
#include <tapir/link.h>
#include <tapir/stack.h>
#include <tapir/udp.h>
#include <tapir/wire.h>

/* ---- pkt.c: packet buffers from two fixed pools ---- */
#define TP_HEADROOM 128          /* room for Ethernet + IPv4 + TCP headers */
#define TP_SMALL_CAP 2048        /* a 1514-byte frame plus headroom */
#define TP_LARGE_CAP (65536 + TP_HEADROOM)

struct tp_pkt {
	struct tp_pkt *next;     /* for whichever queue holds the packet */
	uint8_t *data;           /* first valid byte */
	uint32_t len;            /* valid bytes */
	uint32_t cap;            /* size of base[] */
	uint8_t *base;
	uint8_t large;
	uint16_t tso_size;       /* a TCP super-segment: payload bytes per segment */
	uint8_t csum_partial;    /* TCP checksum left to the link (tso_size 0: one segment) */
	/* scratch for the layer that holds the packet */
	uint32_t addr;           /* UDP: source address; ARP queue: next hop */
	uint16_t port;           /* UDP: source port */
	uint16_t off;            /* reassembly: fragment offset in bytes */
	tapir_time_t t;
};

struct tp_pool {
	struct tp_pkt *free;
	struct tp_pkt *pkts;
	uint8_t *mem;
	unsigned count, used;
};

/* A buffer with room for LEN bytes after TP_HEADROOM; data/len are set to
 * an empty region at the headroom.  NULL when both pools are exhausted. */
struct tp_pkt *tp_pkt_alloc(struct tapir_stack *s, size_t len);
void tp_pkt_free(struct tapir_stack *s, struct tp_pkt *p);
void tp_pkt_free_list(struct tapir_stack *s, struct tp_pkt *p);
static inline uint8_t *tp_pkt_push(struct tp_pkt *p, size_t n)
{
	p->data -= n;
	p->len += (uint32_t)n;
	return p->data;
}
static inline size_t tp_pkt_headroom(const struct tp_pkt *p)
{
	return (size_t)(p->data - p->base);
}
/* Appends P to the queue at *HEAD that holds *N packets; one already
 * holding LIMIT first loses its oldest (RFC 1122 2.3.2.2, RFC 4861
 * 7.2.2): 1 then, else 0.  ARP's and ND's per-neighbor queues. */
int tp_queue_bounded(struct tapir_stack *s, struct tp_pkt **head, uint16_t *n, unsigned limit,
		     struct tp_pkt *p);
/* For the caches that evict (ARP, ND), whose entries hold a uint8_t state
 * (0: free, 1: being resolved) at STATE_OFF and when they were last
 * confirmed (tapir_time_t) at UPDATED_OFF: the entry to use among the N of
 * SIZE bytes at TABLE.  The first free one; else the least recently
 * confirmed, resolved ones before those still being resolved, so that a
 * flood of requests for new addresses cannot push out the neighbors in
 * use. */
static inline void *tp_evict_pick(void *table, unsigned n, size_t size, size_t state_off,
				  size_t updated_off)
{
	uint8_t *victim = NULL;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = (uint8_t *)table + (size_t)i * size;
		tapir_time_t used, v_used;
		if (e[state_off] == 0)
			return e;
		if (!victim) {
			victim = e;
			continue;
		}
		memcpy(&used, e + updated_off, sizeof(used));
		memcpy(&v_used, victim + updated_off, sizeof(v_used));
		if ((victim[state_off] == 1 && e[state_off] != 1) ||
		    ((victim[state_off] == 1) == (e[state_off] == 1) && used < v_used))
			victim = e;
	}
	return victim;
}
#define TP_EVICT_PICK(table, n, type)                                                  \
	((type *)tp_evict_pick(table, n, sizeof(type), offsetof(type, state), \
			       offsetof(type, updated)))

/* Intrusive lists whose elements hold the address of the link that points
 * to them (PPREV), so that one leaves in O(1) without its head. */
#define TP_LINK(headp, e, next, pprev)                                         \
	do {                                                                   \
		(e)->next = *(headp);                                          \
		if ((e)->next)                                                 \
			(e)->next->pprev = &(e)->next;                         \
		(e)->pprev = (headp);                                          \
		*(headp) = (e);                                                \
	} while (0)
#define TP_UNLINK(e, next, pprev)                                              \
	do {                                                                   \
		if ((e)->pprev) {                                              \
			*(e)->pprev = (e)->next;                               \
			if ((e)->next)                                         \
				(e)->next->pprev = (e)->pprev;                 \
			(e)->pprev = NULL;                                     \
		}                                                              \
	} while (0)

/* Fixed-size objects in chunks taken as needed and given back when empty
 * (slab.c: TCBs, TIME-WAIT records).  get gives a zeroed object and the
 * index of its chunk, which put needs back; both O(1).  At most MAX chunks
 * of PER objects. */
struct tp_slab_chunk;
struct tp_slab {
	size_t size;                        /* of an object, rounded to 8 */
	unsigned per, max;
	struct tp_slab_chunk *partial;      /* chunks with a free object (pprev-linked) */
	struct tp_slab_chunk *spare;        /* one empty chunk kept against churn */
	uint64_t *tab;                      /* chunks by index (odd: free, slab.c) */
	unsigned ntab, cap;                 /* entries in use, allocated */
	uint32_t free;                      /* the first free entry */
	unsigned n, nchunks;                /* objects in use, chunks held (spare too) */
};
void tp_slab_init(struct tp_slab *sl, size_t size, unsigned per, unsigned max);
void *tp_slab_get(struct tp_slab *sl, uint32_t *idx);
void tp_slab_put(struct tp_slab *sl, void *obj, uint32_t idx);
void tp_slab_fini(struct tp_slab *sl);
size_t tp_slab_bytes(const struct tp_slab *sl); /* chunks and table */
int tp_pools_init(struct tapir_stack *s);
void tp_pools_free(struct tapir_stack *s);

/* ---- protocol constants ---- */

#define TP_OK (-1) /* an input handler's "not dropped" */

/* ---- arp.c ---- */
enum arp_state { ARP_FREE = 0, ARP_INCOMPLETE, ARP_REACHABLE, ARP_PROBE };
_Static_assert(ARP_INCOMPLETE == 1, "tp_evict_pick: 0 free, 1 being resolved");
struct arp_entry {
	uint32_t ip;
	uint8_t mac[6];
	uint8_t state;
	uint8_t tries;         /* requests sent in the current attempt */
	uint8_t used;          /* used since last confirmed */
	uint8_t ifindex;
	uint16_t queued;
	tapir_time_t deadline; /* INCOMPLETE/PROBE: next retry; REACHABLE: expiry */
	tapir_time_t updated;  /* for LRU eviction */
	struct tp_pkt *queue;  /* packets waiting for resolution (IPv4, no L2) */
};

/* ---- interfaces and routes ---- */
/* An IPv6 address of an interface (RFC 4862 5.4: tentative until DAD). */
struct tp_addr6 {
	uint8_t a[16];
	uint8_t plen;
	uint8_t state;              /* enum tapir_addr6_state */
	uint8_t dad_left;           /* DAD solicitations still to send */
	bool autoconf;              /* formed by SLAAC (slaac.c) */
	bool stable;                /* RFC 7217 identifier (iid.c): a DAD conflict
				     * forms the next one */
	uint8_t dad_counter;        /* RFC 7217 5 DAD_Counter */
	tapir_time_t last_defend;   /* addr_conflict's (nd.c): the time + 1 */
	tapir_time_t dad_at;        /* the next one, or the end of DAD */
	/* RFC 4862 5.5.4: preferred and valid lifetimes' ends (0: forever) */
	tapir_time_t preferred_until, valid_until;
};

struct tp_iface {
	struct tapir_link *link;
	uint8_t mac[6];
	unsigned mtu;
	uint32_t addr;
	uint32_t mask;
	bool up;
	uint8_t announces_left;     /* RFC 5227 ANNOUNCE_NUM */
	tapir_time_t announce_at;
	tapir_time_t last_defend;   /* RFC 5227 2.4 (b) DEFEND_INTERVAL */
#define DEFEND_INTERVAL TAPIR_SEC(10) /* RFC 5227 1.1 (IPv4; nd.c's IPv6 too) */
	/* IPv6 (nd.c): a6[0] is the link-local address once enabled */
	bool v6;
	struct tp_addr6 a6[TAPIR_IPV6_ADDRS];
	uint8_t mld_left;           /* RFC 3810 6.1: state-change reports to send */
	tapir_time_t mld_at;
	tapir_time_t mld_query_at;  /* RFC 3810 6.2: the answer to a query, or NEVER */
	uint8_t hop_limit;          /* RFC 4861 6.3.4 Cur Hop Limit, 0: cfg.ttl */
	unsigned mtu6;              /* RFC 4861 6.3.4 an RA's MTU option, 0: mtu */
	uint8_t rs_left;            /* RFC 4861 6.3.7 router solicitations to send */
	tapir_time_t rs_at;
	bool slaac;                 /* tapir_iface_set_slaac */
};

struct tp_route {
	uint32_t dst, mask, gateway;
	int ifindex;
	bool used;
};
#define TP_MAX_ROUTES 16

/* ---- ip_reasm.c ---- */
struct reasm_slot {
	bool used, dead;            /* dead: an overlap was seen; refuse the rest */
	uint8_t family;             /* 4 or 6 */
	uint8_t src[16], dst[16];   /* IPv4: the first 4 bytes */
	uint32_t id;
	uint8_t proto;              /* IPv4's key; 0 for IPv6 (RFC 8200 4.5) */
	uint32_t total;             /* payload length once the last fragment came */
	uint32_t have;              /* payload bytes held */
	tapir_time_t deadline;
	struct tp_pkt *frags;       /* sorted by offset; payload only */
	uint8_t hdr[60];            /* the first fragment's header (IPv6: the fixed
				     * header, next header = the fragment's) */
	uint8_t hdr_len;            /* 0 until fragment zero arrives */
	size_t mem;                 /* buffer bytes held */
};

/* ---- udp.c ---- */
/* A socket's own IP header fields (enum tapir_ip_opt), each stored as
 * value + 1 so that a zeroed socket has the defaults (0: -1, the default). */
struct tp_ipopts {
	uint16_t v[4]; /* by enum tapir_ip_opt */
};

/* RFC 3493 5.1 and RFC 3542 6.5 take -1..255 (-1: the default); IP_TTL
 * takes no 0 (as Linux).  0 or -EINVAL. */
static inline int tp_ipopt_set(struct tp_ipopts *o, enum tapir_ip_opt opt, int v)
{
	if ((unsigned)opt > TAPIR_IP_TCLASS || v < -1 || v > 255 || (opt == TAPIR_IP_TTL && !v))
		return -EINVAL;
	o->v[opt] = (uint16_t)(v + 1);
	return 0;
}

/* The value in force: a default's is TTL (the stack's), or 0 */
static inline int tp_ipopt_get(const struct tp_ipopts *o, uint8_t ttl, enum tapir_ip_opt opt)
{
	if ((unsigned)opt > TAPIR_IP_TCLASS)
		return -ENOPROTOOPT;
	if (o->v[opt])
		return o->v[opt] - 1;
	return opt == TAPIR_IP_TTL || opt == TAPIR_IP_HOPLIMIT ? ttl : 0;
}

struct tapir_udp {
	struct tapir_stack *s;
	bool used, bound;
	bool v6only;                /* IPV6_V6ONLY (RFC 3493 5.3) */
	struct tp_ipopts ipo;       /* IP_TTL, IP_TOS, IPV6_UNICAST_HOPS, IPV6_TCLASS */
	struct tapir_ip laddr, raddr; /* v4-mapped for IPv4 (tapir/addr.h) */
	uint16_t lport, rport;
	struct tp_pkt *rq_head, *rq_tail;
	size_t rq_bytes, rcvbuf;
	int error;
	tapir_event_fn event;
	void *event_arg;
};

/* ---- nd.c: the neighbor cache (RFC 4861 7.3.2) and router discovery ---- */
enum nd_state { ND_FREE = 0, ND_INCOMPLETE, ND_REACHABLE, ND_STALE, ND_DELAY, ND_PROBE };
_Static_assert(ND_INCOMPLETE == 1, "tp_evict_pick: 0 free, 1 being resolved");
struct nd_entry {
	uint8_t ip[16];
	uint8_t mac[6];
	uint8_t state;
	uint8_t probes;        /* solicitations sent in this state */
	uint8_t ifindex;
	bool router;           /* RFC 4861 7.2.5 IsRouter */
	uint16_t queued;
	tapir_time_t deadline; /* the state's timer (TAPIR_TIME_NEVER: none) */
	tapir_time_t updated;  /* for LRU eviction */
	struct tp_pkt *queue;  /* packets waiting for resolution (IPv6, no L2) */
};
struct nd_router {             /* RFC 4861 6.3.4 Default Router List */
	uint8_t ip[16];
	uint8_t ifindex;
	bool used;
	bool fixed;              /* tapir_iface_add_router6: no advertisement changes it */
	tapir_time_t expires;
};
struct nd_prefix {             /* RFC 4861 6.3.4 Prefix List (on-link) */
	uint8_t p[16];
	uint8_t plen, ifindex;
	bool used;
	tapir_time_t expires;
};
#define TP_PMTU4_FLOOR 576     /* IPv4 path MTU floor by default (ipv4_pmtu_update) */
#define TP_IPV4_MIN_MTU 68     /* RFC 791: every module forwards 68 bytes unfragmented */
#define TP_PMTU 16             /* destinations with a learned path MTU (pmtu.c) */
struct tp_pmtu {               /* RFC 1191 6.2, 6.3; RFC 8201 4, 5.3 */
	struct tapir_ip dst;       /* IPv4 v4-mapped */
	unsigned mtu;              /* 0: free */
	tapir_time_t expires;
};

/* ---- the stack ---- */
struct tapir_stack {
	struct tapir_config cfg;
	struct tp_pool small, large;
	struct tp_iface ifaces[TAPIR_MAX_IFACES];
	int nifaces;
	struct tp_route routes[TP_MAX_ROUTES];
	struct arp_entry *arp;
	struct reasm_slot *reasm;
	struct nd_entry *nd;
	struct nd_router *nd_routers;
	struct nd_prefix *nd_prefixes;
	struct tp_pmtu pmtu[TP_PMTU];
	tapir_time_t nd_reachable;  /* RFC 4861 6.3.2 ReachableTime, randomized */
	size_t reasm_mem;
	struct tapir_udp *udp;
	struct tp_dhcp *dhcp;       /* dhcp.c's client, once started */
	struct tp_dhcp6 *dhcp6;     /* dhcp6.c's client, once started */
	struct tp_tcp *tcp;
	uint16_t ip_id;
	struct tp_pkt *loop_head, *loop_tail; /* datagrams to ourselves */
	unsigned loop_len;
	uint64_t rng;
	/* ICMP error rate limit: token bucket, RFC 1812 4.3.2.8 */
	uint64_t icmp_tokens_milli;
	tapir_time_t icmp_refill_at;
	tapir_echo_fn echo_fn;
	void *echo_arg;
	unsigned trace_mask;
	tapir_trace_fn trace_fn;
	void *trace_arg;
	tapir_frame_fn frame_fn;
	void *frame_arg;
	struct {
		enum tapir_verdict (*fn)(void *arg, struct tapir_hook_pkt *p);
		void *arg;
	} hooks[TAPIR_HOOK_COUNT][TAPIR_MAX_HOOKS];
	uint8_t nhooks[TAPIR_HOOK_COUNT];
	tapir_time_t (*hook_timer)(void *arg, tapir_time_t now);
	void *hook_timer_arg;
	tapir_time_t hook_timer_at;
	tapir_time_t arm_hint;
	unsigned rx_flags;          /* TAPIR_RX_* of the frame being handled */      /* the earliest deadline armed since tapir_stack_armed() */
	tapir_time_t now;           /* time of the call being served */
	bool rx_l2_broadcast;       /* the frame being handled came as a link broadcast */
	struct tapir_stats stats;
};

#define STAT(s, name) ((s)->stats.name++)

/* ---- timer.c: a hierarchical timing wheel ---- */
/* Deadlines in microseconds, in levels of 64 slots: level L's slots span
 * 64^L us, so 11 levels cover all 64-bit times and level 0 is exact.  An
 * owner embeds a struct tp_timer (zeroed: not pending) in what it times;
 * a zeroed wheel is one at time 0. */
#define TP_WHEEL_BITS 6
#define TP_WHEEL_SLOTS (1u << TP_WHEEL_BITS)
#define TP_WHEEL_LEVELS 11
#define TP_WHEEL_DUE 0xff                /* level of an entry on the due list */
struct tp_timer {
	struct tp_timer *next, **pprev;  /* pprev NULL: not pending */
	tapir_time_t when;               /* the deadline it is filed under */
	uint8_t level, slot;
};
struct tp_wheel {
	tapir_time_t cur;                /* everything before has expired */
	uint64_t map[TP_WHEEL_LEVELS];   /* slots that hold entries */
	struct tp_timer *slot[TP_WHEEL_LEVELS][TP_WHEEL_SLOTS];
	/* no later than the earliest deadline in the slot (exact unless an
	 * entry left it) */
	tapir_time_t min[TP_WHEEL_LEVELS][TP_WHEEL_SLOTS];
	struct tp_timer *due, *due_last; /* expired, in deadline order */
	size_t n;                        /* entries pending or due */
};
void tp_wheel_init(struct tp_wheel *w, tapir_time_t now);
/* (Re)schedules E at WHEN, moving it if pending; TAPIR_TIME_NEVER removes it. */
void tp_timer_add(struct tp_wheel *w, struct tp_timer *e, tapir_time_t when);
void tp_timer_del(struct tp_wheel *w, struct tp_timer *e);
static inline bool tp_timer_pending(const struct tp_timer *e) { return e->pprev != NULL; }
/* Moves every entry due at NOW (deadline <= NOW) to the due list. */
void tp_wheel_advance(struct tp_wheel *w, tapir_time_t now);
/* Takes the first due entry off (no longer pending), or NULL. */
struct tp_timer *tp_wheel_pop(struct tp_wheel *w);
/* The earliest deadline pending, never later than the true one;
 * TAPIR_TIME_NEVER when there is none. */
tapir_time_t tp_wheel_next(const struct tp_wheel *w);

/* ---- hook.c ---- */
/* Runs the hooks of POINT; false when one dropped the packet. */
bool hook_run(struct tapir_stack *s, enum tapir_hook_point point, int ifindex, uint8_t *data,
	      size_t len, uint32_t src, uint32_t dst, struct tapir_tcp *sock);
/* ... at an IP or TCP point, with the packet's addresses of either family
 * (the family is DST's) */
bool hook_run_ip(struct tapir_stack *s, enum tapir_hook_point point, uint8_t *data, size_t len,
		 const struct tapir_ip *src, const struct tapir_ip *dst, struct tapir_tcp *sock);
#define HOOKED(s, point) ((s)->nhooks[point] != 0)
/* Sets a timer's deadline FIELD to WHEN and remembers the earliest one set
 * (tapir_stack_armed): every deadline the core keeps is set through it. */
/* A singly linked FIFO kept as a head and a tail pointer, its elements
 * linked through their field NEXT (the loopback queue, a UDP socket's
 * receive queue, a listener's accept queue).  PUSH appends E; POP drops
 * the first element, which the caller has read from HEAD. */
#define TP_FIFO_PUSH(head, tail, e, next)                                      \
	do {                                                                   \
		(e)->next = NULL;                                              \
		if (tail)                                                      \
			(tail)->next = (e);                                    \
		else                                                           \
			(head) = (e);                                          \
		(tail) = (e);                                                  \
	} while (0)
#define TP_FIFO_POP(head, tail, next)                                          \
	do {                                                                   \
		(head) = (head)->next;                                         \
		if (!(head))                                                   \
			(tail) = NULL;                                         \
	} while (0)

#define TP_ARM(s, field, when)                                                 \
	do {                                                                   \
		(field) = (when);                                              \
		if ((field) < (s)->arm_hint)                                   \
			(s)->arm_hint = (field);                               \
	} while (0)
tapir_time_t hook_poll(struct tapir_stack *s, tapir_time_t now);
/* stack.c: a frame past the link rx hooks: observed, parsed, counted */
void stack_input_frame(struct tapir_stack *s, int ifindex, uint8_t *frame, size_t len);

/* ---- trace.c ---- */
void tp_trace(struct tapir_stack *s, unsigned chan, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define TRACE_ON(s, chan) ((s)->trace_mask & (chan))
/* Trace only when the channel is on, without evaluating the arguments. */
#define TRACE(s, chan, ...)                                                    \
	do {                                                                   \
		if (TRACE_ON(s, chan))                                         \
			tp_trace(s, chan, __VA_ARGS__);                        \
	} while (0)
const char *tp_ip_str(uint32_t a, char buf[16]);
const char *tp_mac_str(const uint8_t *m, char buf[18]);

/* ---- rand.c ---- */
uint64_t tp_rand(struct tapir_stack *s);
/* A random time in [LO, HI] (the DHCP clients' randomized timers). */
tapir_time_t tp_rand_between(struct tapir_stack *s, tapir_time_t lo, tapir_time_t hi);

/* SipHash-2-4 with a 128-bit key: RFC 6528's keyed hash F(). */
uint64_t tp_siphash(const uint64_t key[2], const uint8_t *data, size_t len);

/* ---- ether.c ---- */
int ether_input(struct tapir_stack *s, int ifindex, uint8_t *frame, size_t len);
/* Prepends the Ethernet header to P, sends it, and frees P. */
void ether_send(struct tapir_stack *s, int ifindex, struct tp_pkt *p,
		const uint8_t *dst_mac, uint16_t type);
void ether_send_queue(struct tapir_stack *s, int ifindex, struct tp_pkt *q,
		      const uint8_t *dst_mac, uint16_t type);
/* Puts a whole frame on IFINDEX's link as it is (TSO: a super-segment for
 * the link's send_tso, else NULL), after the frame observer; counted as
 * sent or as a transmit error.  0 or -EIO. */
int ether_xmit(struct tapir_stack *s, int ifindex, const uint8_t *frame, size_t len,
	       const struct tapir_tso *tso);
/* The largest TCP super-segment (IP packet bytes, either family) link
 * IFINDEX cuts up itself (TCP segmentation offload); 0 when it cannot (or
 * IFINDEX < 0: no route), or when something wants to see each segment as
 * it goes: a hook on the way out, a frame observer, a trace of TCP or of
 * IP_TRACE (the family's IP channel). */
unsigned ether_tso_max(const struct tapir_stack *s, int ifindex, unsigned ip_trace);
extern const uint8_t tp_mac_broadcast[6];

/* ---- arp.c ---- */
int arp_init(struct tapir_stack *s);
int arp_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len);
/* Sends IPv4 packet P towards NEXTHOP on IFINDEX, resolving first if needed.
 * Takes ownership of P. */
void arp_output(struct tapir_stack *s, int ifindex, uint32_t nexthop, struct tp_pkt *p);
void arp_announce(struct tapir_stack *s, int ifindex);
/* RFC 5227 2.1.1: an ARP probe for TPA (sender address 0.0.0.0). */
void arp_probe(struct tapir_stack *s, int ifindex, uint32_t tpa);
tapir_time_t arp_poll(struct tapir_stack *s, tapir_time_t now);
/* For tests and the live view. */
const struct arp_entry *arp_lookup(const struct tapir_stack *s, uint32_t ip);

/* ---- ipv4.c ---- */
int ipv4_input(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len);
/* Dispatches a complete (possibly reassembled) datagram to its protocol. */
int ipv4_deliver(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len);
/* P holds the transport payload; adds the IPv4 header, routes, fragments
 * when needed, and sends.  SRC 0 picks the outgoing interface's address.
 * Returns 0 or a negative errno (P is always consumed). */
#define TP_IP_DF 1
#define TP_IP_ECT0 2 /* RFC 3168: an ECN-capable transport, ECT(0) */
/* A socket's TTL or hop limit (TP_IP_TTL set: in bits 8-15) and TOS or
 * traffic class (bits 16-23; TP_IP_ECT0 or'ed into its ECN bits) */
#define TP_IP_TTL 8
#define TP_IP_TTL_OF(f) ((uint8_t)((f) >> 8))
#define TP_IP_TOS_OF(f) ((uint8_t)((f) >> 16 | ((f) & TP_IP_ECT0)))
int ipv4_output(struct tapir_stack *s, struct tp_pkt *p, uint32_t src,
		uint32_t dst, uint8_t proto, unsigned flags);
/* P to the limited broadcast out of IFINDEX, with or without an address
 * there (SRC may be 0.0.0.0: RFC 2131 4.1); never fragmented.  0 or a
 * negative errno; P consumed. */
int ipv4_broadcast(struct tapir_stack *s, int ifindex, struct tp_pkt *p, uint32_t src,
		   uint8_t proto);
/* ---- loopback.c: 127.0.0.0/8, ::1 and datagrams to ourselves ---- */
/* The loopback's MTU: what one small packet buffer holds, so that loopback
 * traffic never takes the few large ones (Linux's lo has 65536). */
#define TP_LOOP_MTU 1500
#define TP_IPV4_LOOPBACK 0x7f000001u /* the source for a 127/8 destination */
/* A is in 127.0.0.0/8 or is ::1 */
bool tp_ip_is_loopback(const struct tapir_ip *a);
/* A, either family, is one of ours: an interface's or the loopback's */
bool tp_ip_is_local(const struct tapir_stack *s, const struct tapir_ip *a);
/* Queues P (a whole IPv4 or IPv6 packet to one of our addresses) for
 * delivery on the next poll; 0 or -ENOBUFS (P consumed, loop_dropped
 * counted). */
int ip_loop_queue(struct tapir_stack *s, struct tp_pkt *p);
/* A datagram to DST would take the loopback queue, which is nearly full:
 * TCP's data waits for room (tcp_loop_wait) rather than be dropped */
bool ip_loop_busy(const struct tapir_stack *s, const struct tapir_ip *dst);
/* Delivers datagrams sent to our own addresses; returns the next deadline. */
tapir_time_t ipv4_loop_poll(struct tapir_stack *s);
/* Route lookup: the interface and next hop for DST, or -1. */
int ipv4_route(const struct tapir_stack *s, uint32_t dst, uint32_t *nexthop);
/* A is one of ours: an interface's, or in 127.0.0.0/8 */
bool ipv4_is_local(const struct tapir_stack *s, uint32_t a);
bool ipv4_is_broadcast(const struct tapir_stack *s, uint32_t a);
/* The path MTU to DST (RFC 1191): the interface's, or less when a
 * fragmentation needed lowered it (0: no route). */
unsigned ipv4_path_mtu(const struct tapir_stack *s, uint32_t dst);
/* The first hop's MTU towards DST, whatever was learned (0: no route) */
unsigned ipv4_link_mtu(const struct tapir_stack *s, uint32_t dst);
/* RFC 1191 4: a validated fragmentation needed for DST saying MTU (the
 * estimate, never 0), kept no lower than the configured floor; true when
 * it lowered the path MTU. */
bool ipv4_pmtu_update(struct tapir_stack *s, uint32_t dst, unsigned mtu);

/* ---- pmtu.c: the path MTU cache, both families ---- */
/* MTU, or the cached path MTU to DST when lower and not yet aged out */
unsigned tp_pmtu_get(const struct tapir_stack *s, const struct tapir_ip *dst, unsigned mtu);
/* When DST's cached entry ages out (RFC 1191 6.3); TAPIR_TIME_NEVER: none */
tapir_time_t tp_pmtu_expires(const struct tapir_stack *s, const struct tapir_ip *dst);
/* Stores MTU for DST if below CUR, its present path MTU; true if stored */
bool tp_pmtu_lower(struct tapir_stack *s, const struct tapir_ip *dst, unsigned mtu, unsigned cur);
/* The largest TCP super-segment (IPv4 packet bytes) the link towards DST
 * cuts up itself (ether_tso_max); 0 for one of our own addresses. */
unsigned ipv4_path_tso(const struct tapir_stack *s, uint32_t dst);

/* ---- ip_reasm.c ---- */
int reasm_init(struct tapir_stack *s);
/* Takes an IPv4 fragment; when it completes a datagram, delivers it.  */
int reasm_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt,
		size_t len, size_t hlen);
/* A fragment of either family, as its input code found it. */
struct reasm_frag {
	uint8_t family;            /* 4 or 6 */
	const uint8_t *src, *dst;  /* 4 or 16 bytes */
	uint32_t id;
	uint8_t proto;             /* IPv4: part of the key; IPv6: 0 */
	size_t off, len;           /* the payload's offset and length */
	bool more;
	const uint8_t *data;       /* the payload */
	const uint8_t *hdr;        /* kept from fragment zero: HLEN bytes */
	size_t hlen;
	size_t limit;              /* IPv6: the furthest end (RFC 8200 4.5) */
};
int reasm_add(struct tapir_stack *s, int ifindex, const struct reasm_frag *fr);
tapir_time_t reasm_poll(struct tapir_stack *s, tapir_time_t now);

/* ---- icmp.c ---- */
int icmp_input(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len,
	       size_t hlen);
/* Sends an ICMP error about the datagram at ORIG (its IPv4 header first),
 * subject to RFC 1122 3.2.2's "never about" rules and the rate limit. */
void icmp_send_error(struct tapir_stack *s, const uint8_t *orig, size_t len,
		     uint8_t type, uint8_t code);
/* Reports a local delivery failure for our own packet P (ARP failed):
 * the transport that sent it learns EHOSTUNREACH. */
struct tp_pkt *icmp_echo_reply(struct tapir_stack *s, const uint8_t *m, size_t len, uint8_t type);
void icmp_local_unreachable(struct tapir_stack *s, const struct tp_pkt *p);
/* The errno an ICMP error means to a transport (RFC 1122 4.2.3.9). */
int icmp_errno(uint8_t type, uint8_t code);

/* ---- ipv6.c ---- */
int ipv6_input(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len);
/* A reassembled datagram (ip_reasm.c): its fixed header, then what followed
 * the fragment header; the chain is walked on from there. */
int ipv6_deliver_reassembled(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len);
/* A packet we sent to one of our own addresses (ip_loop_queue). */
int ipv6_deliver_local(struct tapir_stack *s, uint8_t *pkt, size_t len);
/* P holds the upper-layer message; adds the IPv6 header (and a hop-by-hop
 * router alert with TP_IP6_RTALERT), routes, resolves, fragments to the
 * path MTU.  SRC NULL: source selection.  HLIM 0: the interface's.
 * IFINDEX >= 0 pins the interface (link-local and multicast destinations);
 * -1 routes.  0 or a negative errno; P is always consumed. */
#define TP_IP6_RTALERT 4 /* (TP_IP_ECT0, TP_IP_TTL, the traffic class: as ipv4_output) */
int ipv6_output(struct tapir_stack *s, struct tp_pkt *p, const uint8_t *src,
		const uint8_t *dst, uint8_t proto, uint8_t hlim, int ifindex, unsigned flags);
/* The offset of the upper-layer header after the extension headers from
 * OFF (NH: the first; on return, the upper layer's), past a fragment header
 * only in fragment zero; -1 when the chain runs beyond LEN.  FRAG (may be
 * NULL): set when it passed the header of fragment zero of a fragmented
 * packet, whose upper-layer checksum covers the fragments to come. */
int ipv6_upper_frag(const uint8_t *p, size_t len, size_t off, uint8_t *nh, bool *frag);
static inline int ipv6_upper(const uint8_t *p, size_t len, size_t off, uint8_t *nh)
{
	return ipv6_upper_frag(p, len, off, nh, NULL);
}
/* The route to DST: the interface and next hop, or -1. */
int ipv6_route(const struct tapir_stack *s, const uint8_t *dst, uint8_t nexthop[16]);
/* ADDR is one of ours: the interface, or -1.  TENTATIVE: count those too. */
int ipv6_local_iface(const struct tapir_stack *s, const uint8_t *addr, bool tentative);
/* The source address for DST out of IFINDEX (RFC 6724 5, simplified):
 * NULL when the interface has no usable address. */
const uint8_t *ipv6_select_source(const struct tapir_stack *s, int ifindex, const uint8_t *dst);
/* The path MTU to DST (RFC 8201), never below 1280; 0 without a route. */
unsigned ipv6_path_mtu(const struct tapir_stack *s, const uint8_t *dst);
/* The first hop's MTU towards DST, whatever was learned (0: no route) */
unsigned ipv6_link_mtu(const struct tapir_stack *s, const uint8_t *dst);
/* The largest TCP super-segment (IPv6 packet bytes) the link towards DST
 * cuts up itself (ether_tso_max); 0 for one of our own addresses. */
unsigned ipv6_path_tso(const struct tapir_stack *s, const uint8_t *dst);
/* RFC 8201 4: a Packet Too Big for DST saying MTU; true when it lowered
 * the path MTU. */
bool ipv6_pmtu_update(struct tapir_stack *s, const uint8_t *dst, uint32_t mtu);
const char *tp_ip6_str(const uint8_t *a, char buf[46]);

/* ---- icmp6.c ---- */
int icmp6_input(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len, size_t off);
/* An ICMPv6 error about ORIG (its IPv6 header first) received on IFINDEX,
 * subject to RFC 4443 2.4 (e) and the rate limit (2.4 (f)). */
void icmp6_send_error(struct tapir_stack *s, int ifindex, const uint8_t *orig, size_t len,
		      uint8_t type, uint8_t code, uint32_t param);
/* Fills in the ICMPv6 checksum of the message M (LEN bytes) from SRC to DST. */
void icmp6_checksum(uint8_t *m, size_t len, const uint8_t *src, const uint8_t *dst);
/* icmp.c's token bucket (RFC 1812 4.3.2.8, RFC 4443 2.4 (f)): one for both. */
bool icmp_rate_ok(struct tapir_stack *s);

/* ---- nd.c ---- */
int nd_init(struct tapir_stack *s);
void nd_free(struct tapir_stack *s);
/* NS, NA, RS, RA, redirect, MLD (the ICMPv6 types RFC 4861 and RFC 3810 own). */
int nd_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len, size_t off);
/* Sends IPv6 packet P towards NEXTHOP on IFINDEX, resolving first when
 * needed (multicast maps to 33:33:..., RFC 2464 7).  Takes ownership. */
void nd_output(struct tapir_stack *s, int ifindex, const uint8_t *nexthop, struct tp_pkt *p);
tapir_time_t nd_poll(struct tapir_stack *s, tapir_time_t now);
/* We listen to group A on IFINDEX: all-nodes, or a solicited-node group of
 * one of our addresses (tentative ones too: RFC 4862 5.4.2). */
bool nd_joined(const struct tapir_stack *s, int ifindex, const uint8_t *a);
/* Adds ADDR/PLEN to IFINDEX, tentative (DAD started): its slot (>= 1),
 * or -EEXIST, -ENOSPC. */
int nd_addr_add(struct tapir_stack *s, int ifindex, const uint8_t *addr, unsigned plen);
/* A default router's address for IFINDEX (RFC 4861 6.3.6), or NULL. */
const uint8_t *nd_default_router(const struct tapir_stack *s, int *ifindex);
/* DST is on link through a prefix from a router advertisement. */
int nd_prefix_onlink(const struct tapir_stack *s, const uint8_t *dst);
const struct nd_entry *nd_lookup(const struct tapir_stack *s, const uint8_t *ip);
extern const uint8_t tp_ip6_all_nodes[16];

/* ---- what TCP and UDP share of both families: the addresses, ECN field
 * and pseudo-header sum of a received segment, and the way out through
 * IPv4 or IPv6.  The transports keep one input and one output path; the
 * family is decided here, from the address (v4-mapped: IPv4).  Inline:
 * they are on every packet's path. ---- */

/* The addresses (v4-mapped for IPv4), ECN field and pseudo-header sum
 * (RFC 9293 3.1, RFC 768; RFC 8200 8.1) of the transport header of
 * L4LEN bytes in the IPv4 or IPv6 packet PKT; false for another version */
static inline bool tp_l4_addrs(const uint8_t *pkt, size_t l4len, uint8_t proto, struct tapir_ip *src,
		 struct tapir_ip *dst, uint8_t *ecn, uint32_t *sum)
{
	if (pkt[0] >> 4 == 4) {
		uint32_t s = tapir_get32(pkt + TAPIR_IPV4_SRC), d = tapir_get32(pkt + TAPIR_IPV4_DST);
		*src = tapir_ip_from_v4(s);
		*dst = tapir_ip_from_v4(d);
		*ecn = pkt[TAPIR_IPV4_TOS] & 3;
		*sum = tapir_csum_pseudo(s, d, proto, (uint16_t)l4len);
		return true;
	}
	if (pkt[0] >> 4 != 6)
		return false;
	memcpy(src->b, pkt + TAPIR_IPV6_SRC, 16);
	memcpy(dst->b, pkt + TAPIR_IPV6_DST, 16);
	/* RFC 8200 7 / RFC 3168 5: ECN is the traffic class's low 2 bits */
	*ecn = (pkt[TAPIR_IPV6_VTC + 1] >> 4) & 3;
	*sum = tapir_csum_pseudo6(src->b, dst->b, proto, (uint32_t)l4len);
	return true;
}

static inline uint32_t tp_l4_pseudo(const struct tapir_ip *src, const struct tapir_ip *dst, uint8_t proto,
		      uint32_t len)
{
	if (tapir_ip_is_v4(dst))
		return tapir_csum_pseudo(tapir_ip_v4(src), tapir_ip_v4(dst), proto, (uint16_t)len);
	return tapir_csum_pseudo6(src->b, dst->b, proto, len);
}

/* The TP_IP_* flags that carry O's fields towards DST; a stream socket's
 * ECN bits are the transport's own (RFC 3168 5: tcp_emit sets ECT(0)).
 * The TTL and hop limit are unicast ones (RFC 3493 5.1; multicast has its
 * own, IPV6_MULTICAST_HOPS, left at the default). */
static inline unsigned tp_ipopts_flags(const struct tp_ipopts *o, const struct tapir_ip *dst,
				       bool stream)
{
	bool v4 = tapir_ip_is_v4(dst);
	unsigned hops = o->v[v4 ? TAPIR_IP_TTL : TAPIR_IP_HOPLIMIT];
	unsigned tos = o->v[v4 ? TAPIR_IP_TOS : TAPIR_IP_TCLASS];
	unsigned f = 0;
	if (hops && !(v4 ? tapir_ipv4_is_multicast(tapir_ip_v4(dst)) : tapir_ipv6_is_multicast(dst->b)))
		f |= TP_IP_TTL | (hops - 1) << 8;
	if (tos)
		f |= ((tos - 1) & (stream ? 0xfcu : 0xffu)) << 16;
	return f;
}

/* P, a transport message, out through ipv4_output or ipv6_output by DST's
 * family (FLAGS: TP_IP_*); SRC "any" over IPv6 selects a source.  0 or a
 * negative errno; P consumed. */
static inline int tp_l4_output(struct tapir_stack *s, struct tp_pkt *p, const struct tapir_ip *src,
		 const struct tapir_ip *dst, uint8_t proto, unsigned flags)
{
	if (tapir_ip_is_v4(dst)) {
		if (!tapir_ip_is_v4(src)) {
			tp_pkt_free(s, p);
			return -EAFNOSUPPORT;
		}
		return ipv4_output(s, p, tapir_ip_v4(src), tapir_ip_v4(dst), proto, flags);
	}
	return ipv6_output(s, p, tapir_ip_is_any(src) ? NULL : src->b, dst->b, proto, 0, -1, flags);
}

/* The largest TCP super-segment towards DST, either family (IP packet
 * bytes; 0: none, ether_tso_max) */
static inline unsigned tp_l4_path_tso(const struct tapir_stack *s, const struct tapir_ip *dst)
{
	return tapir_ip_is_v4(dst) ? ipv4_path_tso(s, tapir_ip_v4(dst)) : ipv6_path_tso(s, dst->b);
}

/* The path MTU towards DST, either family (0: no route) */
static inline unsigned tp_l4_path_mtu(struct tapir_stack *s, const struct tapir_ip *dst)
{
	if (tp_ip_is_loopback(dst))
		return TP_LOOP_MTU;
	return tapir_ip_is_v4(dst) ? ipv4_path_mtu(s, tapir_ip_v4(dst)) : ipv6_path_mtu(s, dst->b);
}

/* The first hop's MTU towards DST, either family: what a path MTU ages
 * back to, and what the MSS option offers (RFC 1191 6.4) */
static inline unsigned tp_l4_link_mtu(const struct tapir_stack *s, const struct tapir_ip *dst)
{
	if (tp_ip_is_loopback(dst))
		return TP_LOOP_MTU;
	return tapir_ip_is_v4(dst) ? ipv4_link_mtu(s, tapir_ip_v4(dst)) : ipv6_link_mtu(s, dst->b);
}

/* A too-big message's MTU for DST, either family, each with its floor
 * (RFC 1191 4, RFC 8201 4); true when the path MTU came down */
static inline bool tp_l4_pmtu_update(struct tapir_stack *s, const struct tapir_ip *dst, unsigned mtu)
{
	return tapir_ip_is_v4(dst) ? ipv4_pmtu_update(s, tapir_ip_v4(dst), mtu)
				   : ipv6_pmtu_update(s, dst->b, mtu);
}

/* A hook's 32-bit address (tapir/hook.h): IPv4's, 0 for IPv6 */
static inline uint32_t tp_ip_hook(const struct tapir_ip *a)
{
	return tapir_ip_is_v4(a) ? tapir_ip_v4(a) : 0;
}

/* ---- slaac.c: stateless address autoconfiguration (RFC 4862 5.5) ---- */
/* An RA's prefix information option O (32 bytes) received on IFINDEX. */
void slaac_prefix(struct tapir_stack *s, int ifindex, const uint8_t *o);
/* Removes the addresses whose valid lifetime ended; the next end. */
tapir_time_t slaac_poll(struct tapir_stack *s, int ifindex, tapir_time_t now);

/* ---- iid.c: interface identifiers (RFC 4291 Appendix A, RFC 7217) ---- */
#define IID_IDGEN_RETRIES 3 /* RFC 7217 7 */
/* OUT: PREFIX's first 64 bits and the interface identifier cfg.nd_addr_gen
 * asks for: EUI-64 (returns 0), or RFC 7217's from DAD_Counter COUNTER on,
 * skipping reserved and used ones (returns the counter used, -1 past
 * IDGEN_RETRIES). */
int iid_form(const struct tapir_stack *s, int ifindex, uint8_t out[16], const uint8_t *prefix,
	     unsigned counter);
/* Records how A's address was formed (COUNTER: iid_form's result). */
void iid_note(const struct tapir_stack *s, struct tp_addr6 *a, int counter);
/* A's address is a duplicate: true when another (RFC 7217 6) is now in
 * A, to go through DAD again. */
bool iid_retry(const struct tapir_stack *s, int ifindex, struct tp_addr6 *a);
/* RFC 5453: an interface identifier (8 bytes) no address may have. */
bool iid_reserved(const uint8_t *iid);

/* ---- mld.c: MLDv2 as a host (RFC 3810) ---- */
/* The interface's groups changed: state-change reports from AT on. */
void mld_join(struct tapir_stack *s, int ifindex, tapir_time_t at);
int mld_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len, size_t off);
tapir_time_t mld_poll(struct tapir_stack *s, int ifindex, tapir_time_t now);

/* ---- udp.c ---- */
int udp_init(struct tapir_stack *s);
int udp_input(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen);
/* An ICMP or ICMPv6 error quoting a UDP datagram we sent from LADDR:LPORT
 * to RADDR:RPORT */
int udp_icmp_error(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
		   const struct tapir_ip *raddr, uint16_t rport, int err);

/* UDP's header and checksum in front of P's payload (P holds both; the
 * header's 8 bytes first). */
void udp_header(struct tp_pkt *p, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport);

/* ---- dhcp.c: the DHCPv4 client (RFC 2131; include/tapir/dhcp.h) ---- */
struct tp_dhcp;
#define TP_DHCP_CLIENT_PORT 68
/* A datagram to port 68 from 67 (B: the UDP payload); TP_OK or a drop. */
int dhcp_input(struct tapir_stack *s, const uint8_t *b, size_t len);
tapir_time_t dhcp_poll(struct tapir_stack *s, tapir_time_t now);
/* The client runs on IFINDEX: IPv4 comes in before the interface has an
 * address (the replies to its broadcasts). */
bool dhcp_listening(const struct tapir_stack *s, int ifindex);
/* An ARP packet seen (RFC 5227 2.1.1's conflict check while probing). */
void dhcp_arp(struct tapir_stack *s, const uint8_t *sha, uint32_t spa, uint32_t tpa, uint16_t op);
void dhcp_free(struct tapir_stack *s);

/* ---- dhcp6.c: the stateless DHCPv6 client (RFC 8415 18.2.6) ---- */
struct tp_dhcp6;
#define TP_DHCP6_CLIENT_PORT 546
/* A datagram to port 546 over IPv6 from SRC:SPORT (B: the UDP payload);
 * TP_OK or a drop. */
int dhcp6_input(struct tapir_stack *s, const struct tapir_ip *src, uint16_t sport, const uint8_t *b,
		size_t len);
tapir_time_t dhcp6_poll(struct tapir_stack *s, tapir_time_t now);
/* A router advertisement with FLAGS (its M and O bits, RFC 4861 4.2) came in on IFINDEX. */
void dhcp6_ra(struct tapir_stack *s, int ifindex, uint8_t flags);
void dhcp6_free(struct tapir_stack *s);

/* ---- tcp (see tcp_int.h) ---- */
int tcp_init(struct tapir_stack *s);
void tcp_fini(struct tapir_stack *s);
int tcp_input(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen);
/* An ICMP or ICMPv6 error quoting our segment TH (its TCP header, at least
 * 8 bytes) from LADDR to RADDR: HARD ends a connection still in SYN-SENT
 * (a protocol or port unreachable, or our own ARP/ND failure); TOO_BIG:
 * a fragmentation needed or packet too big, its path MTU estimate (0:
 * neither), stored once the quote is validated (tcp_input.c) */
int tcp_icmp_error(struct tapir_stack *s, const struct tapir_ip *laddr, const struct tapir_ip *raddr,
		   const uint8_t *th, int err, bool hard, unsigned too_big);
tapir_time_t tcp_poll(struct tapir_stack *s, tapir_time_t now);

#endif
