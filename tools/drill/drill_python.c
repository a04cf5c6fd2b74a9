/* tapir drill: a script's %{ ... }% Python blocks.
 *
 * packetdrill runs them with the TCP_INFO of the socket under test, as
 * variables named after struct tcp_info's fields (tcpi_state,
 * tcpi_snd_cwnd...), taken when the block's line comes.  drill does the
 * same with tapir's own tapir_tcp_info: it writes the variables it can
 * fill and the block to /usr/bin/python3.  An assertion that fails fails
 * the script.  A block drill cannot run (no socket, no python3, or a name
 * it has no value for) is skipped and counted: the script passes on its
 * packets and calls alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill_run.h"

#define PY "/usr/bin/python3"
#define PY_SRC_MAX 16384

/* tcpi_state's values: Linux's numbering (include/net/tcp_states.h), under
 * its names and FreeBSD packetdrill's TCPI_ ones */
static const struct { const char *name; int v; } states[] = {
	[TAPIR_TCP_CLOSED] = {"CLOSED", 7}, [TAPIR_TCP_LISTEN] = {"LISTEN", 10},
	[TAPIR_TCP_SYN_SENT] = {"SYN_SENT", 2}, [TAPIR_TCP_SYN_RECEIVED] = {"SYN_RECEIVED", 3},
	[TAPIR_TCP_ESTABLISHED] = {"ESTABLISHED", 1}, [TAPIR_TCP_FIN_WAIT_1] = {"FIN_WAIT_1", 4},
	[TAPIR_TCP_FIN_WAIT_2] = {"FIN_WAIT_2", 5}, [TAPIR_TCP_CLOSE_WAIT] = {"CLOSE_WAIT", 8},
	[TAPIR_TCP_CLOSING] = {"CLOSING", 11}, [TAPIR_TCP_LAST_ACK] = {"LAST_ACK", 9},
	[TAPIR_TCP_TIME_WAIT] = {"TIME_WAIT", 6},
};

/* The socket under test: the newest one still open (packetdrill's is the
 * one the script made or accepted last). */
static struct tapir_tcp *under_test(const struct drill *d)
{
	for (int fd = DL_MAX_FD - 1; fd >= 0; fd--)
		if (d->fd[fd].t)
			return d->fd[fd].t;
	return NULL;
}

/* The Python preamble: constants, then what tapir's TCP_INFO says */
static size_t preamble(const struct drill *d, const struct tapir_tcp_info *i, char *b, size_t n)
{
	size_t k = 0;
	uint32_t mss = i->mss ? i->mss : 1;
	for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
		const char *nm = states[s].name;
		const char *lx = !strcmp(nm, "SYN_RECEIVED") ? "SYN_RECV"
				 : !strcmp(nm, "FIN_WAIT_1") ? "FIN_WAIT1"
				 : !strcmp(nm, "FIN_WAIT_2") ? "FIN_WAIT2"
				 : !strcmp(nm, "CLOSED") ? "CLOSE" : nm;
		k += (size_t)snprintf(b + k, n > k ? n - k : 0, "TCPI_%s = TCP_%s = %d\n", nm, lx,
				      states[s].v);
	}
	k += (size_t)snprintf(b + k, n > k ? n - k : 0,
			      "TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE = 1, 2, 4\n"
			      "TCPI_OPT_ECN, TCPI_OPT_ECN_SEEN, TCPI_OPT_SYN_DATA = 8, 16, 32\n"
			      "tcpi_state = %d\n"
			      "tcpi_snd_mss = tcpi_advmss = %u\n"
			      "tcpi_rto = %llu\ntcpi_rtt = %llu\ntcpi_rttvar = %llu\n"
			      "tcpi_snd_cwnd = %u\ntcpi_snd_ssthresh = %u\n"
			      "tcpi_retransmits = %u\n"
			      "tcpi_snd_wscale = %u\ntcpi_rcv_wscale = %u\n"
			      "tcpi_unacked = %u\n",
			      (unsigned)i->state < sizeof(states) / sizeof(states[0])
				      ? states[i->state].v : -1,
			      i->mss, (unsigned long long)i->rto_us, (unsigned long long)i->srtt_us,
			      (unsigned long long)i->rttvar_us, i->cwnd / mss,
			      i->ssthresh >= 0x7fffffffu ? 0x7fffffffu : i->ssthresh / mss,
			      i->retransmits, i->wscale_ok ? i->snd_wscale : 0,
			      i->wscale_ok ? i->rcv_wscale : 0,
			      (i->snd_nxt - i->snd_una + mss - 1) / mss);
	/* tcpi_options: only when ECN is off, since tapir_tcp_info does not
	 * say whether it was negotiated (a block that asks is skipped) */
	if (!d->cfg.tcp_ecn)
		k += (size_t)snprintf(b + k, n > k ? n - k : 0, "tcpi_options = %d\n",
				      (i->ts_ok ? 1 : 0) | (i->sack_ok ? 2 : 0) |
					      (i->wscale_ok ? 4 : 0));
	return k;
}

/* Runs SRC under python3; 0 passed, 1 an assertion failed (its message in
 * ERR), 2 a name without a value (skipped), -1 cannot run. */
static int python(const char *src, char *err, size_t errn)
{
	int in[2], out[2], st;
	pid_t pid;
	size_t got = 0;
	ssize_t k;
	if (access(PY, X_OK) < 0 || pipe(in) < 0)
		return -1;
	if (pipe(out) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[1]);
		close(out[0]);
		execl(PY, "python3", "-I", "-", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (pid > 0)
		(void)!write(in[1], src, strlen(src));
	close(in[1]);
	while (pid > 0 && (k = read(out[0], err + got, errn - 1 - got)) > 0)
		got += (size_t)k;
	err[got] = 0;
	close(out[0]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) == 0)
		return 0;
	if (WEXITSTATUS(st) == 3)
		return 2;
	return WEXITSTATUS(st) == 1 ? 1 : -1;
}

void drill_python(struct drill *d, const struct dl_event *e)
{
	struct tapir_tcp *t = d->s ? under_test(d) : NULL;
	struct tapir_tcp_info info;
	char *src, err[512], *line;
	const char *code = e->text + 2;
	size_t k, len;
	int r;
	if (!t) {
		d->py_skipped++;
		drill_note(d, "line %d: %%{ }%% skipped: no socket", e->line);
		return;
	}
	src = malloc(PY_SRC_MAX);
	if (!src)
		return;
	tapir_tcp_get_info(t, &info);
	k = preamble(d, &info, src, PY_SRC_MAX);
	len = strlen(code);
	if (len >= 2 && !strcmp(code + len - 2, "}%"))
		len -= 2;
	/* the block, as a function body: a NameError is a value drill has
	 * not got (exit 3), an AssertionError the script's failure */
	k += (size_t)snprintf(src + k, PY_SRC_MAX > k ? PY_SRC_MAX - k : 0,
			      "import sys, textwrap, traceback\n"
			      "_s = textwrap.dedent(%s%.*s%s)\n"
			      "try:\n    exec(compile(_s, 'block', 'exec'))\n"
			      "except NameError as x:\n    print(x); sys.exit(3)\n"
			      "except AssertionError as x:\n"
			      "    n = traceback.extract_tb(sys.exc_info()[2])[-1].lineno\n"
			      "    print(_s.splitlines()[n - 1].strip(), '(%%s)' %% x if str(x) else '')\n"
			      "    sys.exit(1)\n",
			      "'''", (int)len, code, "'''");
	if (k >= PY_SRC_MAX || memchr(code, '\'', len) || memchr(code, '\\', len)) {
		free(src);
		d->py_skipped++;
		drill_note(d, "line %d: %%{ }%% skipped: too long or quotes", e->line);
		return;
	}
	r = python(src, err, sizeof(err));
	free(src);
	if ((line = strchr(err, '\n')))
		*line = 0;
	if (r == 0) {
		d->py_run++;
		drill_note(d, "line %d: %%{ }%% passed", e->line);
	} else if (r == 1) {
		d->py_run++;
		if (d->result == R_RUN)
			d->plain = true;
		drill_finish(d, R_FAIL, e->line, "%%{ }%% failed: %s", err);
	} else {
		d->py_skipped++;
		drill_note(d, "line %d: %%{ }%% skipped: %s", e->line, r == 2 ? err : "no " PY);
	}
}
