/*
 * tapir — personalities: a misbehaving peer in one short file.
 *
 * A personality is a name, a line of help and an install function that
 * bends a stack with the public hook API (include/tapir/hook.h) before it
 * starts: `tapir host --personality NAME[=ARGS]`, repeatable.  Each file in
 * this directory is one (or, for the link impairments of netem.c, a family
 * sharing one engine); copy one to write your own.
 *
 * Registration is by constructor: a file declares
 *
 *     PERSONALITY(ttl, "ttl", "=N", "every packet sent leaves with TTL (hop limit) N",
 *                 ttl_install);
 *
 * and the build picks up every tools/personalities/ *.c file by itself (a
 * CMake glob), so adding a personality changes no other file.
 */
#ifndef TAPIR_PERSONALITY_H
#define TAPIR_PERSONALITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* snprintf, for the install functions */
#include <tapir/hook.h>
#include <tapir/wire.h>
#include <tapir/stack.h>
#include <tapir/tcp.h>

struct personality {
	const char *name; /* what follows --personality */
	const char *args; /* how its arguments look, for --personality help */
	const char *help; /* one line */
	/* Installs hooks on S (called before the stack runs, or with the
	 * net's lock held).  ARGS is what followed "NAME=", or NULL.  0, or
	 * -1 with a one-line reason in ERR (without the "tapir: " prefix). */
	int (*install)(struct tapir_stack *s, const char *args, char *err, size_t errlen);
	struct personality *next;
};

void personality_register(struct personality *p);

#define PERSONALITY(id, name, args, help, install)                               \
	static struct personality personality_##id = {name, args, help, install, NULL}; \
	__attribute__((constructor)) static void personality_register_##id(void)   \
	{                                                                          \
		personality_register(&personality_##id);                           \
	}

/* ---- for tapir host ---- */

/* Installs the personalities SPECS[0..N-1] ("NAME" or "NAME=ARGS"; one
 * spec may also hold several, comma-separated: "loss=0.05,delay=5").
 * 0, or -1 with a reason in ERR. */
int personalities_install(struct tapir_stack *s, char *const *specs, int n, char *err,
			  size_t errlen);
/* Prints the list, one personality a line. */
void personalities_print(void *file);

/* ---- shared by personalities ---- */

/* The stack has one hook timer; personalities that need one share it
 * through these.  FN runs (like a tapir_hook_timer_fn) whenever the shared
 * timer fires, which may be before its own deadline; it returns its next
 * deadline.  pers_timer_at asks for a run at WHEN.  0 or -1. */
int pers_timer_add(struct tapir_stack *s, tapir_hook_timer_fn fn, void *arg);
void pers_timer_at(struct tapir_stack *s, tapir_time_t when);

/* Zeroed memory that lives as long as the stack: freed by
 * personalities_release(S), which calls CLEANUP (may be NULL) on it first.
 * NULL when out of memory. */
void *pers_calloc(struct tapir_stack *s, size_t size, void (*cleanup)(void *));
/* Frees what the personalities of S hold, once S is gone (tests; the host
 * simply exits). */
void personalities_release(struct tapir_stack *s);

/* For the install functions; each leaves a reason in ERR when it fails. */
/* pers_calloc without a clean-up: NULL with "out of memory". */
void *pers_new(struct tapir_stack *s, size_t size, char *err, size_t errlen);
/* tapir_hook_add: 0, or -1 with "no room for another POINT hook". */
int pers_hook_add(struct tapir_stack *s, enum tapir_hook_point point, tapir_hook_fn fn, void *arg,
		  char *err, size_t errlen);
/* The whole install function of a personality that takes no argument and
 * is one hook: FN at POINT, with ARG. */
int pers_install_hook(struct tapir_stack *s, const char *args, enum tapir_hook_point point,
		      tapir_hook_fn fn, void *arg, char *err, size_t errlen);

/* Argument parsers: 0, or -1 with a reason in ERR naming WHAT. */
int pers_parse_uint(const char *what, const char *text, unsigned long lo, unsigned long hi,
		    unsigned long *v, char *err, size_t errlen);
int pers_parse_prob(const char *what, const char *text, double *p, char *err, size_t errlen);

/* A small seeded generator (splitmix64), so that runs repeat. */
static inline uint64_t pers_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
/* Uniform in [0, 1). */
static inline double pers_rand01(uint64_t *state)
{
	return (double)(pers_rand(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Data bytes in the segment P holds (TCP points). */
static inline size_t pers_tcp_payload(const struct tapir_hook_pkt *p, const uint8_t **data)
{
	size_t off = (size_t)(p->data[TAPIR_TH_OFF] >> 4) * 4;
	if (data)
		*data = p->data;
	if (p->len < 20 || off < 20 || off > p->len)
		return 0;
	if (data)
		*data = p->data + off;
	return p->len - off;
}

/* Neighbor discovery and MLD (ICMPv6 types 130 to 137: RFC 4861 4,
 * RFC 3810 5; 143, the MLDv2 report): what ARP is to IPv4, the link's own
 * business.  Personalities that act on IP leave it alone, as they leave
 * ARP (below IP) alone: ND must keep its hop limit of 255 (RFC 4861
 * 7.1.1), and a blackhole that dropped it would turn timeouts into
 * "no route to host". */
static inline bool pers_is_link_control(const struct tapir_hook_pkt *p)
{
	uint8_t proto, t;
	int off = tapir_hook_l4(p, &proto);
	if (off < 0 || proto != TAPIR_IPPROTO_ICMPV6 || (size_t)off >= p->len)
		return false;
	t = p->data[off];
	return (t >= TAPIR_ICMP6_MLD_QUERY && t <= TAPIR_ICMP6_REDIRECT) ||
	       t == TAPIR_ICMP6_MLD2_REPORT;
}

/* ---- scoped personalities (tapir run --attach --personality) ---- */
/* While a scope is current (pers_scope_begin .. pers_scope_done around
 * personalities_install), each hook pers_hook_add installs runs only on
 * the packets IN accepts; the rest pass it untouched.  pers_scope_remove
 * takes those hooks out of S again.  (Timers and memory stay with S.) */
#define PERS_SCOPE_HOOKS 16
struct pers_scoped;
struct pers_scope {
	bool (*in)(void *arg, const struct tapir_hook_pkt *p);
	void *arg;
	unsigned n;
	struct pers_scoped *hooks[PERS_SCOPE_HOOKS];
};
void pers_scope_begin(struct pers_scope *sc);
void pers_scope_done(void);
void pers_scope_remove(struct tapir_stack *s, struct pers_scope *sc);

/* ---- for slow-accept: the services honour this delay (services.c) ---- */
/* Milliseconds each accept loop waits before each accept(): 0, or set by
 * the slow-accept personality. */
extern atomic_uint tapir_services_accept_delay_ms;

#endif
