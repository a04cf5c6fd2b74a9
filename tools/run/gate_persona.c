/* `tapir run --attach PATH --personality ...`: personalities that bend
 * only the connections of one run, on a host shared with other runs.
 *
 * The run's own control channel asks TRUN_PERSONA with the specs; the
 * gate installs them in a scope (personality.h) whose filter accepts a
 * TCP packet when its local port -- the source port of what tapir sends,
 * the destination port of what it receives -- is held by a socket of that
 * run.  The run hands the persona's id to its COMMAND (TRUN_ENV_PERSONA),
 * whose channels name it in TRUN_HELLO, so every socket they make (and
 * every connection their listeners accept) counts its port while it is
 * bound.  When the run's channel closes the hooks come out. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <tapir/wire.h>

#include "gate_int.h"
#include "personalities/personality.h"

#define IPPROTO_TCP_ 6 /* RFC 9293 */
/* A connection the program let go of still closes (FIN, TIME_WAIT: 2 MSL,
 * RFC 9293 3.4.2): its port stays bent this long after its relay ended. */
#define CLOSING_US TAPIR_SEC(120)
#define CLOSING_MAX 4096 /* ports waiting so (beyond: the oldest goes first) */

struct gpersona {
	struct gate *g;
	unsigned id, refs;
	bool live;
	uint16_t *ports; /* [65536]: sockets of the run holding each TCP port */
	struct pers_scope scope;
	struct {
		uint16_t port;
		tapir_time_t until;
	} closing[CLOSING_MAX]; /* a ring, oldest at head */
	unsigned head, n;
	struct gpersona *next;
};

/* The TCP header of P, or NULL when P carries none (not IPv4 TCP, or a
 * fragment after the first). */
static const uint8_t *tcp_of(const struct tapir_hook_pkt *p, size_t *left)
{
	const uint8_t *ip = p->data;
	size_t len = p->len, hl;
	switch (p->point) {
	case TAPIR_HOOK_TCP_RX:
	case TAPIR_HOOK_TCP_TX:
		*left = p->len;
		return p->data;
	case TAPIR_HOOK_LINK_RX:
	case TAPIR_HOOK_LINK_TX:
		if (len < TAPIR_ETH_HLEN || tapir_get16(ip + TAPIR_ETH_TYPE) != TAPIR_ETH_P_IPV4)
			return NULL;
		ip += TAPIR_ETH_HLEN;
		len -= TAPIR_ETH_HLEN;
		break;
	default: break;
	}
	if (len < TAPIR_IPV4_HLEN || ip[TAPIR_IPV4_VHL] >> 4 != 4 ||
	    ip[TAPIR_IPV4_PROTO] != IPPROTO_TCP_ ||
	    (tapir_get16(ip + TAPIR_IPV4_FRAG) & TAPIR_IPV4_OFFMASK))
		return NULL;
	hl = (size_t)(ip[TAPIR_IPV4_VHL] & 15) * 4;
	if (hl < TAPIR_IPV4_HLEN || hl > len)
		return NULL;
	*left = len - hl;
	return ip + hl;
}

static bool persona_in(void *arg, const struct tapir_hook_pkt *p)
{
	struct gpersona *pe = arg;
	size_t left = 0;
	const uint8_t *th = tcp_of(p, &left);
	bool tx = p->point == TAPIR_HOOK_LINK_TX || p->point == TAPIR_HOOK_IP_TX ||
		  p->point == TAPIR_HOOK_TCP_TX;
	if (!pe->live || !th || left < 4)
		return false;
	return pe->ports[tapir_get16(th + (tx ? TAPIR_TH_SPORT : TAPIR_TH_DPORT))] > 0;
}

static void persona_unref(struct gpersona *pe)
{
	struct gpersona **p;
	if (--pe->refs)
		return;
	for (p = &pe->g->personas; *p && *p != pe; p = &(*p)->next)
		;
	if (*p)
		*p = pe->next;
	free(pe->ports);
	free(pe);
}

/* Personalities that bend the link or the host's own services cannot be
 * held to one run's connections. */
static bool scopable(const char *spec)
{
	static const char *const link[] = {"loss", "corrupt", "dup", "reorder", "delay", "rate",
					   "slow-accept"};
	size_t n = strcspn(spec, "=,");
	for (size_t i = 0; i < sizeof(link) / sizeof(link[0]); i++)
		if (strlen(link[i]) == n && !strncmp(spec, link[i], n))
			return false;
	return true;
}

int gpersona_new(struct gate *g, struct gctl *c, const char *specs, size_t len,
		 struct trun_rep *rep)
{
	char buf[TRUN_DATA_MAX + 1], *spec[16], *save = NULL, err[200] = "";
	struct gpersona *pe;
	int n = 0, r;
	if (c->owned)
		return -EALREADY;
	memcpy(buf, specs, len);
	buf[len] = 0;
	for (char *t = strtok_r(buf, "\n", &save); t && n < 16; t = strtok_r(NULL, "\n", &save)) {
		if (!scopable(t)) {
			snprintf(err, sizeof(err), "--personality %s bends the whole link, not one "
				 "run's connections: give it to tapir host", t);
			goto refuse;
		}
		spec[n++] = t;
	}
	if (!(pe = calloc(1, sizeof(*pe))) || !(pe->ports = calloc(65536, sizeof(uint16_t)))) {
		free(pe);
		return -ENOMEM;
	}
	pe->g = g;
	pe->id = ++g->persona_ids;
	pe->refs = 1; /* the run's channel */
	pe->live = true;
	pe->scope = (struct pers_scope){.in = persona_in, .arg = pe};
	pers_scope_begin(&pe->scope);
	r = personalities_install(g->s, spec, n, err, sizeof(err));
	pers_scope_done();
	if (r < 0) {
		pers_scope_remove(g->s, &pe->scope);
		free(pe->ports);
		free(pe);
		goto refuse;
	}
	pe->next = g->personas;
	g->personas = pe;
	c->owned = pe;
	gate_log(g, "persona %u: %d personalities for pid %u", pe->id, n, c->pid);
	return (int)pe->id;
refuse:
	rep->len = (uint32_t)strlen(err) + 1;
	memcpy(rep->data, err, rep->len);
	return -EINVAL;
}

void gpersona_attach(struct gate *g, struct gctl *c, unsigned id)
{
	for (struct gpersona *pe = g->personas; pe && id; pe = pe->next)
		if (pe->id == id && pe->live) {
			pe->refs++;
			c->persona = pe;
			return;
		}
}

void gpersona_ctl_gone(struct gctl *c)
{
	struct gpersona *pe = c->owned;
	if (pe) { /* the run is over: its hooks come out */
		pe->live = false;
		pers_scope_remove(pe->g->s, &pe->scope);
		persona_unref(pe);
	}
	if (c->persona)
		persona_unref(c->persona);
	c->owned = c->persona = NULL;
}

void gpersona_sock(struct gsock *gs, struct gpersona *pe)
{
	if (!pe || gs->persona)
		return;
	pe->refs++;
	gs->persona = pe;
}

void gpersona_hold(struct gsock *gs)
{
	uint32_t a;
	uint16_t port;
	if (!gs->persona || gs->pe_port || !gs->t)
		return;
	if (gs->rp_lead)
		port = gs->lport;
	else
		tapir_tcp_local(gs->t, &a, &port);
	if (!port || gs->persona->ports[port] == UINT16_MAX)
		return;
	gs->persona->ports[port]++;
	gs->pe_port = port;
}

void gpersona_drop(struct gsock *gs)
{
	if (gs->pe_port) {
		gs->persona->ports[gs->pe_port]--;
		gs->pe_port = 0;
	}
}

/* The ring's oldest entry: its port is let go. */
static void closing_pop(struct gpersona *pe)
{
	pe->ports[pe->closing[pe->head].port]--;
	pe->head = (pe->head + 1) % CLOSING_MAX;
	pe->n--;
}

void gpersona_drop_later(struct gsock *gs, tapir_time_t now)
{
	struct gpersona *pe = gs->persona;
	unsigned at;
	if (!gs->pe_port)
		return;
	if (pe->n == CLOSING_MAX)
		closing_pop(pe);
	at = (pe->head + pe->n++) % CLOSING_MAX;
	pe->closing[at].port = gs->pe_port;
	pe->closing[at].until = now + CLOSING_US;
	gs->pe_port = 0; /* the ring holds the count now */
}

void gpersona_tick(struct gate *g, tapir_time_t now)
{
	for (struct gpersona *pe = g->personas; pe; pe = pe->next)
		while (pe->n && pe->closing[pe->head].until <= now)
			closing_pop(pe);
}

void gpersona_sock_free(struct gsock *gs)
{
	gpersona_drop(gs);
	if (gs->persona)
		persona_unref(gs->persona);
	gs->persona = NULL;
}
