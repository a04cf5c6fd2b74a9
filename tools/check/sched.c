/* tapir check's scheduler: rounds of probes in a keyed random order, paced
 * by a token bucket, and the adaptive wait for their answers.  How a probe
 * is sent is the engine's business (engine.h).
 *
 * How long to wait for answers adapts like a TCP retransmission timer
 * (RFC 6298): SRTT and RTTVAR from the answers seen, and a round ends
 * 4 x (SRTT + 4 x RTTVAR) after its last probe (at least WAIT_FLOOR_US, at
 * most --timeout, the user's bound, which is also the wait before any
 * answer came). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "engine.h"
#include "util.h"

#define MAX_ROUNDS_EXTRA 4 /* extra rounds while answers keep coming */
/* The adaptive wait's floor.  nmap -T5 never waits less than 50 ms; an
 * answer later than this is still taken in the next round (and makes the
 * wait back off), so a shorter floor costs a re-probe, never a result. */
#define WAIT_FLOOR_US 20000
#define MAX_BACKOFF 6
#define MAX_EVENTS 1024

volatile sig_atomic_t check_interrupted;
char check_stop_why[200];

uint64_t check_since_start_us(const struct check *c) { return (nu_now_ns() - c->t0_ns) / 1000; }

/* RFC 6298 2.2 and 2.3: the first sample sets SRTT = R, RTTVAR = R/2;
 * later ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R.
 * Only unambiguous samples come here (Karn: never from an answer that may
 * belong to an earlier try). */
void check_rtt_sample(struct check *c, uint64_t rtt_us)
{
	double r = (double)rtt_us;
	if (!c->have_rtt) {
		c->srtt = r;
		c->rttvar = r / 2;
		c->have_rtt = true;
	} else {
		c->rttvar = 0.75 * c->rttvar + 0.25 * fabs(c->srtt - r);
		c->srtt = 0.875 * c->srtt + 0.125 * r;
	}
	c->samples++;
}

/* How long to wait for answers after a probe, in ns: 4 x the RTO of
 * RFC 6298 2.3 (SRTT + 4 RTTVAR; a scan's probes come in bursts, and the
 * last ones of a burst queue behind the others at the target), doubled for
 * every round in which an answer came after its wait (RFC 6298 5.5's
 * back-off), at least WAIT_FLOOR_US; --timeout is the user's upper bound,
 * and the whole wait while there is no sample (RFC 6298 2.1). */
uint64_t check_wait_ns(const struct check *c)
{
	double w;
	uint64_t cap = (uint64_t)c->timeout_ms * 1000000ull;
	if (!c->have_rtt)
		return cap;
	w = 4.0 * (c->srtt + 4.0 * c->rttvar) * (double)(1u << c->backoff);
	if (w < WAIT_FLOOR_US)
		w = WAIT_FLOOR_US;
	w *= 1000.0;
	return w >= (double)cap ? cap : (uint64_t)w;
}

void check_resolve(struct check *c, uint64_t idx, int state, uint64_t rtt_us)
{
	check_resolve_why(c, idx, state, rtt_us, WHY_NONE);
}

void check_resolve_why(struct check *c, uint64_t idx, int state, uint64_t rtt_us, uint8_t why)
{
	struct probe *p = &c->pr[idx];
	if (p->state != ST_PENDING) {
		/* a SYN/ACK retransmission, or the answer to an earlier try */
		c->dups++;
		return;
	}
	p->state = (uint8_t)state;
	p->why = why;
	p->rtt_us = rtt_us > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt_us;
	p->answered_round = (uint8_t)c->round;
	if (p->tries > 1)
		c->retry_answers++; /* the first try's answer (or the try) was lost */
	c->resolved++;
	c->counts[state]++;
}

static void progress(struct check *c, bool final)
{
	uint64_t now = nu_now_ns();
	if (!c->progress)
		return;
	if (final) {
		if (c->progress_shown)
			fputs("\r\033[K", stderr);
		return;
	}
	if (now - c->t0_ns < 1000000000ull || now - c->last_progress < 200000000ull)
		return;
	c->last_progress = now;
	c->progress_shown = true;
	fprintf(stderr, "\r\033[Ktapir check: round %u, %llu/%llu answered, %llu sent: %llu open, %llu closed, %llu filtered",
		c->round, (unsigned long long)c->resolved, (unsigned long long)c->todo,
		(unsigned long long)c->sent, (unsigned long long)c->counts[ST_OPEN],
		(unsigned long long)c->counts[ST_CLOSED], (unsigned long long)c->counts[ST_FILTERED]);
	fflush(stderr);
}

void check_pump(struct check *c, uint64_t deadline, bool return_early)
{
	const struct check_engine *e = c->eng;
	struct epoll_event evs[MAX_EVENTS];
	bool first = true;
	for (;;) {
		uint64_t now = nu_now_ns(), wake;
		/* (CHECK_DRAIN_FIRST: what epoll holds is read first, a batch
		 * per call, so that the engine's expiry rarely has to ask a
		 * socket itself) */
		bool draining = first && (e->flags & CHECK_DRAIN_FIRST);
		struct timespec ts;
		int n, i;
		wake = deadline;
		if (e->flush) /* (batched probes go before any wait) */
			e->flush(c->es);
		if (e->timers && !draining)
			e->timers(c->es, now, &deadline, &wake);
		if (wake > deadline)
			wake = deadline;
		progress(c, false);
		if (check_interrupted)
			return;
		wake = draining ? 0 : wake > now ? wake - now : 0; /* now a wait */
		ts.tv_sec = (time_t)(wake / 1000000000ull);
		ts.tv_nsec = (long)(wake % 1000000000ull);
		n = epoll_pwait2(c->ep, evs, MAX_EVENTS, &ts, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("check: epoll_wait: %s", strerror(errno));
		}
		now = nu_now_ns();
		for (i = 0; i < n; i++)
			e->collect(c->es, evs[i].data.u64, now);
		first = draining && n == MAX_EVENTS; /* more waiting: another batch */
		if (draining)
			continue;
		if ((return_early && n > 0) || now >= deadline)
			return;
	}
}

/* Sends probe IDX when the bucket has a token for it; the probe may have
 * been answered meanwhile (an earlier try's answer). */
static void send_paced(struct check *c, struct nu_bucket *b, uint64_t idx, uint64_t *last_send,
		       uint64_t *sends)
{
	struct check_target t;
	check_target_of(c, idx, &t);
	while (!check_interrupted) { /* (a probe that never goes must not hang us) */
		uint64_t now = nu_now_ns(), w = nu_bucket_wait(b, now);
		if (w) {
			check_pump(c, now + w, false);
			continue;
		}
		if (c->pr[idx].state != ST_PENDING)
			return;
		t.try = c->pr[idx].tries;
		if (c->eng->send(c->es, &t) == 0) {
			nu_bucket_take(b, now);
			*last_send = now;
			/* when sending alone takes all our time (no token to wait
			 * for), still read answers often: an RTT is measured when
			 * it is read, and queues stay short */
			if ((++*sends & 63) == 0)
				check_pump(c, now, true);
			return;
		}
		/* no slot, port or buffer: let answers and expiries free one */
		check_pump(c, now + 1000000ull, true);
	}
}

/* One round: every unanswered probe once; then the wait for the last
 * one's answer.  The first round goes in the seeded order (scope.c: the
 * same in every shard), each later one in a fresh order of the run's
 * positions, keyed by the run's own key. */
static void round_send(struct check *c, double rate)
{
	struct nu_bucket b;
	struct nu_perm perm;
	struct nu_key k = c->key;
	uint64_t i, last_send = nu_now_ns(), sends = 0;
	k.k1 ^= c->round;
	nu_perm_init(&perm, c->sc.npos, &k);
	nu_bucket_init(&b, rate, nu_now_ns());
	for (i = 0; i < c->sc.npos && !check_interrupted; i++) {
		uint64_t idx = check_probe_at(c, c->round == 1 ? i : nu_perm_at(&perm, i));
		/* (a warm-up may have sent some probes of round 1 already) */
		if (c->pr[idx].state != ST_PENDING || c->pr[idx].tries >= c->round)
			continue;
		send_paced(c, &b, idx, &last_send, &sends);
	}
	/* the round's last probe has its full wait; answers coming in
	 * meanwhile update the estimate, so it is recomputed after each */
	for (;;) {
		uint64_t dl = last_send + check_wait_ns(c);
		if (nu_now_ns() >= dl || check_interrupted)
			break;
		check_pump(c, dl, true);
	}
	while (c->eng->busy && c->eng->busy(c->es) && !check_interrupted)
		check_pump(c, nu_now_ns() + 1000000ull, false);
}

void check_run(struct check *c)
{
	unsigned max_rounds = c->retries + 1 + MAX_ROUNDS_EXTRA;
	double rate = c->rate;
	uint64_t prev_resolved = 0;
	if (c->eng->warm_up)
		c->eng->warm_up(c->es);
	for (c->round = 1; c->round <= max_rounds && c->resolved < c->todo && !check_interrupted;
	     c->round++) {
		uint64_t before = c->retry_answers, late_before = c->late, got;
		round_send(c, rate);
		got = c->resolved - prev_resolved;
		prev_resolved = c->resolved;
		/* Accuracy over speed: answers on a retry mean probes or replies
		 * were lost, so later rounds go slower, and as long as rounds keep
		 * finding answers we go on past --retries (a few rounds at most). */
		if (c->retry_answers > before)
			rate = rate / 2 < 1 ? 1 : rate / 2;
		/* Answers that came after their wait (when the engine can tell
		 * which try an answer is for; connect cannot tell a late answer
		 * from a lost one) mean the wait was too short: double it. */
		if ((c->late > late_before ||
		     (!(c->eng->flags & CHECK_KNOWS_TRY) && c->retry_answers > before)) &&
		    c->backoff < MAX_BACKOFF)
			c->backoff++;
		if (c->round >= c->retries + 1 && (got == 0 || c->round == 1 || c->retry_answers == before))
			break;
	}
	progress(c, true);
}
