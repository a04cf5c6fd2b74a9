/* The personality registry: each personality file registers itself from a
 * constructor (PERSONALITY in personality.h), so adding one needs no line
 * here.  Also the timer the personalities share, and argument parsers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personality.h"

atomic_uint tapir_services_accept_delay_ms;

static struct personality *all; /* sorted by name */

void personality_register(struct personality *p)
{
	struct personality **at = &all;
	while (*at && strcmp((*at)->name, p->name) < 0)
		at = &(*at)->next;
	p->next = *at;
	*at = p;
}

static struct personality *find(const char *name, size_t len)
{
	for (struct personality *p = all; p; p = p->next)
		if (strlen(p->name) == len && !strncmp(p->name, name, len))
			return p;
	return NULL;
}

void personalities_print(void *file)
{
	for (struct personality *p = all; p; p = p->next) {
		char head[64];
		int w = snprintf(head, sizeof(head), "%s%s", p->name, p->args);
		for (const char *c = head; *c; c++)
			w -= ((unsigned char)*c & 0xc0) == 0x80; /* UTF-8 (the "±") */
		fprintf(file, "  %s%*s %s\n", head, w < 26 ? 26 - w : 0, "", p->help);
	}
	fputs("The link impairments (loss, corrupt, dup, reorder, delay, rate) also take\n"
	      "seed=N, dir=rx|tx|both and limit=N after a comma, e.g. loss=0.05,seed=7.\n"
	      "docs/hacking.md tells more; tools/personalities/ has the code.\n",
	      file);
}

/* Where the next personality starts in "loss=0.05,delay=5,seed=3": at a
 * comma followed by a registered name (then "=", "," or the end).  Other
 * commas belong to the arguments (here ",seed=3" stays with delay). */
static char *next_spec(char *s)
{
	for (char *c = strchr(s, ','); c; c = strchr(c + 1, ',')) {
		size_t n = strcspn(c + 1, "=,");
		if (find(c + 1, n))
			return c;
	}
	return NULL;
}

static int install_one(struct tapir_stack *s, char *spec, char *err, size_t errlen)
{
	char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
	struct personality *p = find(spec, n);
	char why[200] = "";
	if (!p) {
		snprintf(err, errlen, "--personality: unknown personality '%.*s' (try "
				      "--personality help)", (int)n, spec);
		return -1;
	}
	if (p->install(s, eq ? eq + 1 : NULL, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "--personality %s: %s", spec, why[0] ? why : "cannot install");
		return -1;
	}
	return 0;
}

int personalities_install(struct tapir_stack *s, char *const *specs, int n, char *err,
			  size_t errlen)
{
	for (int i = 0; i < n; i++) {
		char *copy = strdup(specs[i]), *at = copy;
		if (!copy) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		while (at) {
			char *end = next_spec(at);
			if (end)
				*end = 0;
			if (install_one(s, at, err, errlen) < 0) {
				free(copy);
				return -1;
			}
			at = end ? end + 1 : NULL;
		}
		free(copy);
	}
	return 0;
}

/* ---- memory owned by a stack's personalities ---- */

struct owned {
	struct tapir_stack *s;
	void (*cleanup)(void *);
	struct owned *next;
	max_align_t mem[];
};
static struct owned *owned;

void *pers_calloc(struct tapir_stack *s, size_t size, void (*cleanup)(void *))
{
	struct owned *o = calloc(1, sizeof(*o) + size);
	if (!o)
		return NULL;
	o->s = s;
	o->cleanup = cleanup;
	o->next = owned;
	owned = o;
	return o->mem;
}

void personalities_release(struct tapir_stack *s)
{
	struct owned **at = &owned;
	while (*at) {
		struct owned *o = *at;
		if (o->s != s) {
			at = &o->next;
			continue;
		}
		*at = o->next;
		if (o->cleanup)
			o->cleanup(o->mem);
		free(o);
	}
}

void *pers_new(struct tapir_stack *s, size_t size, char *err, size_t errlen)
{
	void *p = pers_calloc(s, size, NULL);
	if (!p)
		snprintf(err, errlen, "out of memory");
	return p;
}

/* ---- hooks ---- */

struct pers_scoped {
	enum tapir_hook_point point;
	tapir_hook_fn fn;
	void *arg;
	struct pers_scope *sc;
};
static struct pers_scope *scope; /* the current one, while installing */

void pers_scope_begin(struct pers_scope *sc) { scope = sc; }
void pers_scope_done(void) { scope = NULL; }

static enum tapir_verdict scoped_hook(void *arg, struct tapir_hook_pkt *p)
{
	struct pers_scoped *w = arg;
	return w->sc->in(w->sc->arg, p) ? w->fn(w->arg, p) : TAPIR_PASS;
}

void pers_scope_remove(struct tapir_stack *s, struct pers_scope *sc)
{
	for (unsigned i = 0; i < sc->n; i++) {
		tapir_hook_remove(s, sc->hooks[i]->point, scoped_hook, sc->hooks[i]);
		free(sc->hooks[i]);
	}
	sc->n = 0;
}

int pers_hook_add(struct tapir_stack *s, enum tapir_hook_point point, tapir_hook_fn fn, void *arg,
		  char *err, size_t errlen)
{
	static const char *const names[TAPIR_HOOK_COUNT] = {
		[TAPIR_HOOK_LINK_RX] = "LINK_RX", [TAPIR_HOOK_LINK_TX] = "LINK_TX",
		[TAPIR_HOOK_IP_RX] = "IP_RX",     [TAPIR_HOOK_IP_TX] = "IP_TX",
		[TAPIR_HOOK_TCP_RX] = "TCP_RX",   [TAPIR_HOOK_TCP_TX] = "TCP_TX",
	};
	struct pers_scoped *w = NULL;
	if (scope) { /* the hook sees only its scope's packets */
		if (scope->n == PERS_SCOPE_HOOKS || !(w = malloc(sizeof(*w)))) {
			snprintf(err, errlen, "no room for another scoped hook");
			return -1;
		}
		*w = (struct pers_scoped){point, fn, arg, scope};
		fn = scoped_hook;
		arg = w;
	}
	if (tapir_hook_add(s, point, fn, arg) == 0) {
		if (w)
			scope->hooks[scope->n++] = w;
		return 0;
	}
	free(w);
	snprintf(err, errlen, "no room for another %s hook", names[point]);
	return -1;
}

int pers_install_hook(struct tapir_stack *s, const char *args, enum tapir_hook_point point,
		      tapir_hook_fn fn, void *arg, char *err, size_t errlen)
{
	if (args) {
		snprintf(err, errlen, "takes no argument");
		return -1;
	}
	return pers_hook_add(s, point, fn, arg, err, errlen);
}

/* ---- the shared hook timer ---- */

#define MAX_TIMERS 8
struct mux {
	struct tapir_stack *s;
	struct {
		tapir_hook_timer_fn fn;
		void *arg;
	} t[MAX_TIMERS];
	unsigned n;
	tapir_time_t want; /* the earliest run asked for during this one */
	struct mux *next;
};
static struct mux *muxes; /* one per stack (tests may run two) */

static struct mux *mux_of(struct tapir_stack *s)
{
	for (struct mux *m = muxes; m; m = m->next)
		if (m->s == s)
			return m;
	return NULL;
}

/* Every client runs each time: a client whose deadline has not come finds
 * nothing to do.  A client (or a hook of one) that asks for an earlier run
 * while this one goes on lands in WANT, which the core's own deadline would
 * otherwise overwrite with this function's return value. */
static tapir_time_t mux_run(void *arg, tapir_time_t now)
{
	struct mux *m = arg;
	m->want = TAPIR_TIME_NEVER;
	for (unsigned i = 0; i < m->n; i++) {
		tapir_time_t t = m->t[i].fn(m->t[i].arg, now);
		if (t < m->want)
			m->want = t;
	}
	return m->want;
}

static void mux_unlink(void *arg)
{
	for (struct mux **at = &muxes; *at; at = &(*at)->next)
		if (*at == arg) {
			*at = ((struct mux *)arg)->next;
			return;
		}
}

int pers_timer_add(struct tapir_stack *s, tapir_hook_timer_fn fn, void *arg)
{
	struct mux *m = mux_of(s);
	if (!m) {
		m = pers_calloc(s, sizeof(*m), mux_unlink);
		if (!m || tapir_hook_set_timer(s, mux_run, m, TAPIR_TIME_NEVER) < 0)
			return -1; /* (or someone else holds the stack's timer) */
		m->s = s;
		m->want = TAPIR_TIME_NEVER;
		m->next = muxes;
		muxes = m;
	}
	if (m->n == MAX_TIMERS)
		return -1;
	m->t[m->n].fn = fn;
	m->t[m->n].arg = arg;
	m->n++;
	return 0;
}

void pers_timer_at(struct tapir_stack *s, tapir_time_t when)
{
	struct mux *m = mux_of(s);
	if (m && when < m->want)
		m->want = when;
	tapir_hook_timer_at(s, when);
}

/* ---- arguments ---- */

int pers_parse_uint(const char *what, const char *text, unsigned long lo, unsigned long hi,
		    unsigned long *v, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	*v = text ? strtoul(text, &end, 10) : 0;
	if (!text || errno || end == text || *end || text[0] == '-' || *v < lo || *v > hi) {
		snprintf(err, errlen, "%s: '%s' is not a number from %lu to %lu", what,
			 text ? text : "", lo, hi);
		return -1;
	}
	return 0;
}

int pers_parse_prob(const char *what, const char *text, double *p, char *err, size_t errlen)
{
	char *end;
	*p = text ? strtod(text, &end) : -1;
	if (!text || end == text || *end || !isfinite(*p) || *p < 0 || *p > 1) {
		snprintf(err, errlen, "%s: '%s' is not a probability from 0 to 1", what,
			 text ? text : "");
		return -1;
	}
	return 0;
}
