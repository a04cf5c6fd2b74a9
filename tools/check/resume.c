/* tapir check --resume FILE: what an interrupted run leaves, so that
 * `tapir check --resume FILE` alone goes on where it stopped.
 *
 * A text file: the seed and shard (so the order and the share are the
 * same), the targets as given, the number of probes and a hash of them as
 * indexed (a name that now resolves elsewhere is refused, not scanned
 * half-and-half), and the positions of this run's order that are done, as
 * ranges.  Done is answered (and printed) or excluded; a probe sent but
 * not answered at the interrupt is not done: the resumed run sends it
 * again, so the two runs' outputs hold every port exactly once. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"

#define RESUME_MAGIC "tapir-check-resume 1"
/* A run has at most 2^23 probes (check.c): done and pending ranges take
 * turns, so at most 2^22 + 1 done ones. */
#define MAX_DONE ((1u << 22) + 1)

static void bad(const struct check *c, size_t lineno, const char *why)
{
	die("check: --resume %s line %zu: %s", c->sc.resume_file, lineno, why);
}

static void resume_line(struct check *c, char *l, size_t lineno, bool *magic)
{
	struct check_scope *s = &c->sc;
	unsigned long long a, b;
	char tail;
	if (!*magic) {
		if (strcmp(l, RESUME_MAGIC))
			bad(c, lineno, "not a tapir check resume file (" RESUME_MAGIC " expected)");
		*magic = true;
	} else if (!strncmp(l, "seed ", 5)) {
		check_parse_seed(s, l + 5);
	} else if (!strncmp(l, "shard ", 6)) {
		check_parse_shard(s, l + 6);
	} else if (!strcmp(l, "protocol udp") || !strcmp(l, "protocol tcp")) {
		c->udp = l[9] == 'u';
	} else if (!strncmp(l, "target ", 7)) {
		if (s->ntargets >= NU_MAX_HOSTS)
			bad(c, lineno, "too many targets");
		s->targets = check_realloc(s->targets, s->ntargets + 1, sizeof(*s->targets));
		if (!(s->targets[s->ntargets++] = strdup(l + 7)))
			die("out of memory");
	} else if (sscanf(l, "probes %llu %llx %c", &a, &b, &tail) == 2) {
		s->resume_total = a;
		s->resume_hash = b;
	} else if (sscanf(l, "done %llu %llu %c", &a, &b, &tail) == 2) {
		if (s->ndone >= MAX_DONE)
			bad(c, lineno, "more done ranges than a run has probes");
		s->done = check_realloc(s->done, s->ndone + 1, sizeof(*s->done));
		s->done[s->ndone][0] = a;
		s->done[s->ndone][1] = b;
		s->ndone++;
	} else {
		bad(c, lineno, "not a seed, shard, protocol, target, probes or done line");
	}
}

void check_resume_load(struct check *c)
{
	struct check_scope *s = &c->sc;
	FILE *f = fopen(s->resume_file, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	bool magic = false;
	ssize_t n;
	if (!f)
		die("check: --resume: cannot read %s: %s", s->resume_file, strerror(errno));
	s->own_targets = true;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (line[0] == '#' || !line[0])
			continue;
		resume_line(c, line, lineno, &magic);
	}
	free(line);
	fclose(f);
	if (!magic || !s->have_seed || !s->ntargets || !s->resume_total)
		die("check: --resume %s: incomplete (seed, targets and probes lines needed)",
		    s->resume_file);
}

/* Once the targets are indexed and the scope applied: the same probes? */
void check_resume_verify(struct check *c)
{
	for (size_t k = 0; k < c->sc.ndone; k++)
		if (c->sc.done[k][0] > c->sc.npos || c->sc.done[k][1] > c->sc.npos - c->sc.done[k][0])
			die("check: --resume %s: a done range past the run's %llu probes",
			    c->sc.resume_file, (unsigned long long)c->sc.npos);
	if (c->sc.resume_total != c->total || c->sc.resume_hash != check_targets_hash(c))
		die("check: --resume %s: the targets are not what they were (a name resolves elsewhere now?)",
		    c->sc.resume_file);
}

void check_resume_save(struct check *c)
{
	struct check_scope *s = &c->sc;
	char *tmp;
	FILE *f;
	uint64_t j = 0;
	if (asprintf(&tmp, "%s.tmp", s->resume_file) < 0)
		die("out of memory");
	if (!(f = fopen(tmp, "w")))
		die("check: --resume: cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "# tapir check: continue this run with tapir check --resume %s\n%s\n",
		s->resume_file, RESUME_MAGIC);
	fprintf(f, "seed %" PRIu64 "\nshard %u/%u\nprotocol %s\n", s->seed, s->shard_i, s->shard_n,
		c->udp ? "udp" : "tcp");
	for (size_t k = 0; k < s->ntargets; k++)
		fprintf(f, "target %s\n", s->targets[k]);
	fprintf(f, "probes %" PRIu64 " %016" PRIx64 "\n", c->total, check_targets_hash(c));
	/* positions done, as ranges of this run's order */
	while (j < s->npos) {
		uint64_t start;
		while (j < s->npos && c->pr[check_probe_at(c, j)].state == ST_PENDING)
			j++;
		start = j;
		while (j < s->npos && c->pr[check_probe_at(c, j)].state != ST_PENDING)
			j++;
		if (j > start)
			fprintf(f, "done %" PRIu64 " %" PRIu64 "\n", start, j - start);
	}
	if (fclose(f) || rename(tmp, s->resume_file))
		die("check: --resume: cannot write %s: %s", s->resume_file, strerror(errno));
	free(tmp);
}
