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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill_run.h"

#define PY "/usr/bin/python3"
#define PY_SRC_MAX 16384
#define PY_TIMEOUT_MS 10000

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

/* One python3 for the whole run (a start costs more than a block): it
 * reads "LENGTH\n" and the preamble, a NUL and the block, runs them in a
 * fresh namespace and answers one line: "0", "1 the failed assertion",
 * "2 another error", "3 the name it has no value for". */
static const char server[] =
	"import sys, textwrap, traceback\n"
	"for l in iter(sys.stdin.buffer.readline, b''):\n"
	"    pre, _, blk = sys.stdin.buffer.read(int(l)).decode().partition('\\0')\n"
	"    s = textwrap.dedent(blk)\n"
	"    try:\n"
	"        g = {}\n"
	"        exec(pre, g)\n"
	"        exec(compile(s, 'block', 'exec'), g)\n"
	"        r = '0'\n"
	"    except NameError as x:\n"
	"        r = '3 %s' % x\n"
	"    except AssertionError as x:\n"
	"        n = traceback.extract_tb(sys.exc_info()[2])[-1].lineno\n"
	"        r = '1 ' + s.splitlines()[n - 1].strip() + (' (%s)' % x if str(x) else '')\n"
	"    except Exception as x:\n"
	"        r = '2 %s: %s' % (type(x).__name__, x)\n"
	"    sys.stdout.write(r.replace('\\n', ' ') + '\\n')\n"
	"    sys.stdout.flush()\n";

static struct {
	pid_t pid;
	FILE *to, *from;
	bool failed; /* no python3, or it died: every block is skipped */
} py;

static bool py_start(void)
{
	int in[2], out[2];
	if (py.pid > 0 || py.failed)
		return py.pid > 0;
	py.failed = true;
	if (access(PY, X_OK) < 0 || pipe(in) < 0)
		return false;
	if (pipe(out) < 0) {
		close(in[0]);
		close(in[1]);
		return false;
	}
	fflush(stdout);
	py.pid = fork();
	if (py.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(PY, "python3", "-I", "-S", "-c", server, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (py.pid < 0) {
		close(in[1]);
		close(out[0]);
		return false;
	}
	/* a python3 that died makes writes fail, not the run */
	signal(SIGPIPE, SIG_IGN);
	py.to = fdopen(in[1], "w");
	py.from = fdopen(out[0], "r");
	if (!py.to || !py.from) {
		drill_python_end();
		return false;
	}
	py.failed = false;
	return true;
}

void drill_python_end(void)
{
	if (py.pid <= 0)
		return;
	if (py.to)
		fclose(py.to);
	if (py.from)
		fclose(py.from);
	waitpid(py.pid, NULL, 0);
	py.pid = 0;
	py.to = py.from = NULL;
}

/* Runs PRE and BLOCK; 0 passed, 1 an assertion failed, 2 another error,
 * 3 a name without a value (messages in ERR), -1 no python3. */
static int python(const char *pre, const char *block, size_t blen, char *err, size_t errn)
{
	struct pollfd pf;
	size_t plen = strlen(pre);
	err[0] = 0;
	if (!py_start())
		return -1;
	fprintf(py.to, "%zu\n%s", plen + 1 + blen, pre);
	fputc(0, py.to);
	fwrite(block, 1, blen, py.to);
	pf.fd = fileno(py.from);
	pf.events = POLLIN;
	/* a block that runs on and on is not the script's answer */
	if (fflush(py.to) != 0 || poll(&pf, 1, PY_TIMEOUT_MS) != 1 || !fgets(err, (int)errn, py.from)) {
		kill(py.pid, SIGKILL);
		drill_python_end();
		py.failed = true;
		return -1;
	}
	err[strcspn(err, "\n")] = 0;
	if (err[0] < '0' || err[0] > '3')
		return 2;
	{
		int r = err[0] - '0';
		memmove(err, err + (err[1] ? 2 : 1), strlen(err + (err[1] ? 2 : 1)) + 1);
		return r;
	}
}

void drill_python(struct drill *d, const struct dl_event *e)
{
	struct tapir_tcp *t = d->s ? under_test(d) : NULL;
	struct tapir_tcp_info info;
	char *src, err[512];
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
	r = k < PY_SRC_MAX ? python(src, code, len, err, sizeof(err)) : -1;
	free(src);
	if (r == 0) {
		d->py_run++;
		drill_note(d, "line %d: %%{ }%% passed", e->line);
	} else if (r == 1 || r == 2) {
		d->py_run++;
		if (d->result == R_RUN)
			d->plain = true;
		drill_finish(d, R_FAIL, e->line, "%%{ }%% failed: %s", err);
	} else {
		d->py_skipped++;
		drill_note(d, "line %d: %%{ }%% skipped: %s", e->line, r == 3 ? err : "no " PY);
	}
}
