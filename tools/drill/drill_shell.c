/* tapir drill: the shell lines of a script (`...` in backquotes).
 *
 * packetdrill hands them to /bin/sh in the script's directory; Linux's
 * scripts start with one that runs a defaults file of sysctl writes
 * (`../common/defaults.sh`), FreeBSD's suite writes its sysctls inline and
 * asks sockstat(1) about the sockets.  drill runs none of that on the
 * machine: it reads the sysctl writes (sysctl -w/-q NAME=VALUE, echo VALUE >
 * /proc/sys/..., also in the files a line runs or sources, resolved in the
 * script's directory) and sets the matching fields of tapir's config or
 * profile (drill_setting.c); it answers sockstat from tapir's own sockets;
 * anything else runs in a throwaway network and mount namespace, where it
 * cannot touch the machine's interfaces, routes or sysctls. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill_run.h"

#define SH_WORDS 48
#define SH_WORD 512
#define SH_DEPTH 4            /* files running files */
#define SH_FILE_MAX (64 * 1024)
#define SH_NS_CMD 8192        /* what one namespace run executes */

struct words {
	char w[SH_WORDS][SH_WORD];
	int n;
};

/* ---- $((arithmetic)): + - * / % and parentheses on integers ---- */

static bool ar_expr(const char **p, long long *v);

static bool ar_atom(const char **p, long long *v)
{
	char *end;
	while (isspace((unsigned char)**p))
		(*p)++;
	if (**p == '(') {
		(*p)++;
		if (!ar_expr(p, v))
			return false;
		while (isspace((unsigned char)**p))
			(*p)++;
		return *(*p)++ == ')';
	}
	if (**p == '-') {
		(*p)++;
		if (!ar_atom(p, v))
			return false;
		*v = -*v;
		return true;
	}
	if (!isdigit((unsigned char)**p))
		return false;
	*v = strtoll(*p, &end, 0);
	*p = end;
	return true;
}

/* Operators of precedence LEVEL (0: + -, 1: * / %), left to right, over
 * the next level's operands (atoms after level 1). */
static bool ar_level(const char **p, long long *v, int level)
{
	static const char *const ops[] = {"+-", "*/%"};
	if (!(level ? ar_atom(p, v) : ar_level(p, v, 1)))
		return false;
	for (;;) {
		long long x;
		char op;
		while (isspace((unsigned char)**p))
			(*p)++;
		op = **p;
		if (!op || !strchr(ops[level], op))
			return true;
		(*p)++;
		if (!(level ? ar_atom(p, &x) : ar_level(p, &x, 1)) || ((op == '/' || op == '%') && !x))
			return false;
		*v = op == '+' ? *v + x : op == '-' ? *v - x : op == '*' ? *v * x
		   : op == '/' ? *v / x : *v % x;
	}
}

static bool ar_expr(const char **p, long long *v)
{
	return ar_level(p, v, 0);
}

/* At "$((": appends its value to W; false when it is not plain arithmetic. */
static bool arith(const char **p, char *w, size_t *wn)
{
	const char *q = *p + 3;
	long long v;
	if (!ar_expr(&q, &v))
		return false;
	while (isspace((unsigned char)*q))
		q++;
	if (q[0] != ')' || q[1] != ')')
		return false;
	*p = q + 2;
	*wn += (size_t)snprintf(w + *wn, SH_WORD - *wn, "%lld", v);
	return *wn < SH_WORD;
}

/* ---- words: sh's quoting, enough for sysctl lines ---- */

/* Splits one command line into words.  Operators (| ; && || > >>) are
 * words of their own.  False when the line uses what this does not
 * understand ($VAR, `...`, redirections other than >): the caller runs it
 * in the namespace instead. */
static bool split(const char *s, struct words *ws)
{
	ws->n = 0;
	for (;;) {
		char *w;
		size_t wn = 0;
		char q = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			return true;
		if (ws->n == SH_WORDS)
			return false;
		w = ws->w[ws->n++];
		if (strchr("|;&>", *s)) {
			w[wn++] = *s++;
			if ((*s == w[0] && *s != ';') || (w[0] == '>' && *s == '>'))
				w[wn++] = *s++;
			w[wn] = 0;
			continue;
		}
		for (; *s && (q || !strchr(" \t|;&><", *s)); s++) {
			if (wn + 2 >= SH_WORD)
				return false;
			if (q == '\'' ? *s == '\'' : (*s == '"' || *s == '\'') && (!q || *s == q)) {
				q = q ? 0 : *s;
			} else if (q != '\'' && s[0] == '$' && s[1] == '(' && s[2] == '(') {
				if (!arith(&s, w, &wn))
					return false;
				s--;
			} else if (q != '\'' && (*s == '$' || *s == '`')) {
				return false;
			} else if (!q && *s == '\\' && s[1]) {
				w[wn++] = *++s;
			} else {
				w[wn++] = *s;
			}
		}
		if (q || !strcmp(w, "<"))
			return false;
		w[wn] = 0;
	}
}

/* ---- files ---- */

/* PATH as the script's runner finds it: relative to the script's
 * directory (packetdrill is run there). */
static void resolve(const struct drill *d, const char *path, char *out, size_t n)
{
	int k = path[0] == '/' ? snprintf(out, n, "%s", path)
			       : snprintf(out, n, "%s/%s", d->dir, path);
	if (k < 0 || (size_t)k >= n)
		out[0] = 0; /* too long: no such file */
}

static bool is_file(const struct drill *d, const char *path)
{
	char full[1024];
	if (!strchr(path, '/') && !strstr(path, ".sh"))
		return false;
	resolve(d, path, full, sizeof(full));
	return access(full, R_OK) == 0;
}

static void run_line(struct drill *d, int line, const char *cmd, int depth, char *ns, size_t nsn);

/* A file a line runs or sources: its sysctl writes are read, what else it
 * does is added to NS (for the namespace). */
static void run_file(struct drill *d, int line, const char *path, int depth, char *ns,
		     size_t nsn)
{
	char full[1024], *buf, *l, *next;
	FILE *f;
	size_t n;
	resolve(d, path, full, sizeof(full));
	if (depth >= SH_DEPTH) {
		drill_finish(d, R_FAIL, line, "shell files nested deeper than %d: %s", SH_DEPTH, full);
		return;
	}
	f = fopen(full, "r");
	buf = malloc(SH_FILE_MAX + 1);
	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		drill_finish(d, R_FAIL, line, "shell command: cannot read %s", full);
		return;
	}
	n = fread(buf, 1, SH_FILE_MAX, f);
	fclose(f);
	buf[n] = 0;
	drill_note(d, "line %d: reading %s", line, full);
	for (l = buf; l && d->result == R_RUN; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = 0;
		while (isspace((unsigned char)*l))
			l++;
		if (*l && *l != '#')
			run_line(d, line, l, depth + 1, ns, nsn);
	}
	free(buf);
}

/* ---- sockstat: FreeBSD's, from tapir's own sockets ---- */

/* FreeBSD's names of the states (tcp_fsm.h), as sockstat -s prints them */
static const char *const bsd_state[] = {
	[TAPIR_TCP_CLOSED] = "CLOSED", [TAPIR_TCP_LISTEN] = "LISTEN",
	[TAPIR_TCP_SYN_SENT] = "SYN_SENT", [TAPIR_TCP_SYN_RECEIVED] = "SYN_RCVD",
	[TAPIR_TCP_ESTABLISHED] = "ESTABLISHED", [TAPIR_TCP_FIN_WAIT_1] = "FIN_WAIT_1",
	[TAPIR_TCP_FIN_WAIT_2] = "FIN_WAIT_2", [TAPIR_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TAPIR_TCP_CLOSING] = "CLOSING", [TAPIR_TCP_LAST_ACK] = "LAST_ACK",
	[TAPIR_TCP_TIME_WAIT] = "TIME_WAIT",
};

struct sockstat {
	int family;       /* 4, 6, or 0 for both */
	long port;        /* -p: local or remote port, or -1 */
	const char *grep; /* grep -c: a state, or NULL */
	unsigned count;   /* lines that match */
};

static void sockstat_one(void *arg, const struct tapir_tcp *t)
{
	struct sockstat *q = arg;
	struct tapir_tcp_info i;
	tapir_tcp_get_info(t, &i);
	if (q->family && (q->family == 4) != tapir_ip_is_v4(&i.laddr_ip))
		return;
	if (q->port >= 0 && i.lport != q->port && i.rport != q->port)
		return;
	if (!q->grep || ((unsigned)i.state < sizeof(bsd_state) / sizeof(bsd_state[0]) &&
			 strstr(bsd_state[i.state], q->grep)))
		q->count++;
}

/* `sockstat -4|-6 -P tcp [-s] [-p PORT] | grep packetdril | grep -c STATE |
 * grep N`: every socket is packetdrill's (the process name), so what counts
 * is the family, the port and the state.  True when it was one. */
static bool sockstat(struct drill *d, int line, const struct words *ws)
{
	struct sockstat q = {.port = -1};
	const char *want = NULL;
	char got[24];
	int i = 1;
	if (strcmp(ws->w[0], "sockstat"))
		return false;
	for (; i < ws->n && strcmp(ws->w[i], "|"); i++) {
		if (!strcmp(ws->w[i], "-4") || !strcmp(ws->w[i], "-6"))
			q.family = q.family ? 0 : ws->w[i][1] - '0';
		else if (!strcmp(ws->w[i], "-p") && i + 1 < ws->n)
			q.port = atol(ws->w[++i]);
		else if (!strcmp(ws->w[i], "-P") && i + 1 < ws->n)
			i++; /* tcp: all of tapir's sockets here are */
	}
	/* the grep stages */
	while (i < ws->n && !strcmp(ws->w[i], "|")) {
		if (i + 2 >= ws->n || strcmp(ws->w[i + 1], "grep"))
			return false;
		if (!strcmp(ws->w[i + 2], "-c") && i + 3 < ws->n) {
			q.grep = ws->w[i + 3];
			i += 4;
		} else if (q.grep) {
			want = ws->w[i + 2];
			i += 3;
		} else {
			i += 3; /* "grep packetdril": the process */
		}
	}
	if (i != ws->n)
		return false;
	if (d->s)
		tapir_tcp_foreach(d->s, sockstat_one, &q);
	snprintf(got, sizeof(got), "%u", q.count);
	drill_note(d, "line %d: sockstat: %u sockets%s%s", line, q.count, q.grep ? " in " : "",
		   q.grep ? q.grep : "");
	/* the last grep's exit status is the command's */
	if (want && !strstr(got, want))
		drill_finish(d, R_FAIL, line, "sockstat to count %s %s sockets, got %u", want,
			     q.grep ? q.grep : "", q.count);
	return true;
}

/* `tcpdrop -s STATE` (or `tcpdrop -a`): FreeBSD drops the connections in
 * STATE without a word to the peer; here, those of the script's sockets
 * (tapir_tcp_abort, RFC 9293 3.10.5: no RST from TIME-WAIT), whose
 * descriptors stay open until closed.  A TIME-WAIT record nobody holds
 * cannot be reached: it is counted as not taken. */
static bool tcpdrop(struct drill *d, int line, const struct words *ws, int from, int to)
{
	const char *state = NULL;
	struct sockstat q = {.port = -1, .grep = "TIME_WAIT"};
	if (strcmp(ws->w[from], "tcpdrop"))
		return false;
	if (to - from == 3 && !strcmp(ws->w[from + 1], "-s"))
		state = ws->w[from + 2];
	else if (!(to - from == 2 && !strcmp(ws->w[from + 1], "-a")))
		return false;
	for (int fd = 0; fd < DL_MAX_FD; fd++) {
		struct tapir_tcp *t = d->fd[fd].t;
		enum tapir_tcp_state st;
		if (!t)
			continue;
		st = tapir_tcp_state(t);
		if (st == TAPIR_TCP_LISTEN || (state && strcmp(bsd_state[st], state)))
			continue;
		tapir_tcp_abort(t, d->now);
		d->fd[fd].t = NULL;
		d->fd[fd].dropped = true;
		drill_note(d, "line %d: tcpdrop: fd %d (%s) dropped", line, fd, bsd_state[st]);
	}
	drill_settle(d);
	if (d->s && (!state || !strcmp(state, "TIME_WAIT")))
		tapir_tcp_foreach(d->s, sockstat_one, &q);
	if (q.count) {
		d->unmapped++;
		printf("  line %d: tcpdrop: %u TIME-WAIT connections no socket holds not dropped\n",
		       line, q.count);
	}
	return true;
}

/* ---- the namespace ---- */

/* Commands that would reach past a network and mount namespace: never run */
static bool forbidden(const char *prog)
{
	static const char *const no[] = {"modprobe", "insmod", "rmmod", "reboot", "shutdown",
					 "poweroff", "halt", "kexec", "sysctl", "mount",
					 "umount", "nsenter", "unshare", "rm", "dd", NULL};
	const char *base = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
	for (const char *const *p = no; *p; p++)
		if (!strcmp(base, *p))
			return true;
	return false;
}

/* Whether any word of CMD names a forbidden program (wherever it stands:
 * after ;, |, &&, in $(...)): such a line is not run at all. */
static bool forbidden_any(const char *cmd)
{
	static const char sep[] = " \t;|&()`$<>\"'{}";
	char word[64];
	while (*cmd) {
		size_t n = strcspn(cmd, sep);
		if (n && n < sizeof(word)) {
			memcpy(word, cmd, n);
			word[n] = 0;
			if (forbidden(word))
				return true;
		}
		cmd += n ? n : 1;
	}
	return false;
}

/* Runs CMD under sh in a new network and mount namespace, in the script's
 * directory, with /, /proc/sys and /sys read-only there and a /tmp of its
 * own: tc qdisc, ip tcp_metrics flush and the like act on the throwaway
 * namespace only. */
static void run_ns(struct drill *d, int line, const char *cmd)
{
	static const char wrap[] =
		"mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && "
		"mount --bind /sys /sys && mount -o remount,bind,ro /sys && "
		"mount --bind / / && mount -o remount,bind,ro / && "
		"mount -t tmpfs -o size=16m drill /tmp || exit 125\n";
	char *full;
	pid_t pid;
	int st = 0;
	size_t n = strlen(wrap) + strlen(cmd) + 1;
	full = malloc(n);
	if (!full)
		return;
	snprintf(full, n, "%s%s", wrap, cmd);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (chdir(d->dir) < 0)
			_exit(126);
		if (!d->verbose) {
			(void)!freopen("/dev/null", "w", stdout);
			(void)!freopen("/dev/null", "w", stderr);
		}
		execl("/usr/bin/unshare", "unshare", "--net", "--mount", "--propagation", "private",
		      "timeout", "10", "/bin/sh", "-c", full, (char *)NULL);
		_exit(127);
	}
	free(full);
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		drill_note(d, "line %d: cannot run the namespace: %s", line, strerror(errno));
		return;
	}
	d->ns_runs++;
	/* the namespace is not packetdrill's machine (no tun0, no modules):
	 * what fails there is noted, not the script's failure */
	drill_note(d, "line %d: ran in a throwaway namespace, exit %d", line,
		   WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* ---- commands ---- */

/* "sysctl [-w|-q|-e]... NAME=VALUE..." */
static void sysctl_words(struct drill *d, int line, const struct words *ws, int from, int to)
{
	for (int i = from; i < to; i++) {
		char *eq = strchr(ws->w[i], '=');
		if (ws->w[i][0] == '-' || !eq)
			continue; /* options; a read */
		*eq = 0;
		drill_setting(d, line, ws->w[i], eq + 1);
		*eq = '=';
	}
}

/* "echo VALUE > /proc/sys/net/ipv4/tcp_sack": the sysctl of that path */
static bool proc_write(struct drill *d, int line, const struct words *ws, int from, int to)
{
	char name[SH_WORD], value[SH_WORD] = "";
	size_t vn = 0;
	int gt = to - 2;
	if (to - from < 3 || strcmp(ws->w[gt], ">") ||
	    strncmp(ws->w[gt + 1], "/proc/sys/", 10) ||
	    (strcmp(ws->w[from], "echo") && strcmp(ws->w[from], "printf")))
		return false;
	for (int i = from + 1; i < gt; i++) {
		if (!strcmp(ws->w[i], "-n") || !strcmp(ws->w[i], "-e"))
			continue;
		vn += (size_t)snprintf(value + vn, sizeof(value) - vn, "%s%s", vn ? " " : "",
				       ws->w[i]);
		if (vn >= sizeof(value))
			return false;
	}
	snprintf(name, sizeof(name), "%s", ws->w[gt + 1] + 10);
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '.';
	drill_setting(d, line, name, value);
	return true;
}

/* packetdrill's own helper, `set_sysctls.py /proc/sys/net/ipv4/X=V...`:
 * its arguments are writes to /proc/sys */
static bool set_sysctls(struct drill *d, int line, const struct words *ws, int from, int to)
{
	const char *base = strrchr(ws->w[from], '/') ? strrchr(ws->w[from], '/') + 1 : ws->w[from];
	if (strcmp(base, "set_sysctls.py"))
		return false;
	for (int i = from + 1; i < to; i++) {
		char name[SH_WORD], *eq;
		if (strncmp(ws->w[i], "/proc/sys/", 10) || !strchr(ws->w[i], '='))
			continue;
		snprintf(name, sizeof(name), "%s", ws->w[i] + 10);
		eq = strchr(name, '=');
		*eq = 0;
		for (char *c = name; *c; c++)
			if (*c == '/')
				*c = '.';
		drill_setting(d, line, name, eq + 1);
	}
	return true;
}

/* Appends CMD to the namespace's script NS. */
static void ns_add(struct drill *d, int line, const char *cmd, char *ns, size_t nsn)
{
	size_t have = strlen(ns);
	if (forbidden_any(cmd)) {
		d->unmapped++;
		printf("  line %d: not run (outside what a namespace contains): %s\n", line, cmd);
		return;
	}
	if (have + strlen(cmd) + 2 > nsn) {
		d->unmapped++;
		printf("  line %d: not run (too long): %.60s\n", line, cmd);
		return;
	}
	snprintf(ns + have, nsn - have, "%s\n", cmd);
}

/* One line of shell: what drill reads itself, or for the namespace. */
static void run_line(struct drill *d, int line, const char *cmd, int depth, char *ns, size_t nsn)
{
	struct words *ws = malloc(sizeof(*ws));
	int from = 0;
	if (!ws)
		return;
	if (!split(cmd, ws)) {
		ns_add(d, line, cmd, ns, nsn);
		free(ws);
		return;
	}
	if (ws->n && sockstat(d, line, ws)) {
		free(ws);
		return;
	}
	/* simple commands joined by ; && || */
	while (from < ws->n && d->result == R_RUN) {
		int to = from;
		const char *prog;
		while (to < ws->n && strcmp(ws->w[to], ";") && strcmp(ws->w[to], "&&") &&
		       strcmp(ws->w[to], "||"))
			to++;
		prog = ws->w[from];
		if (to == from) {
			/* an empty command */
		} else if (!strcmp(prog, "sysctl")) {
			sysctl_words(d, line, ws, from + 1, to);
		} else if (proc_write(d, line, ws, from, to) || set_sysctls(d, line, ws, from, to)) {
			/* read */
		} else if ((!strcmp(prog, "source") || !strcmp(prog, ".") || !strcmp(prog, "sh") ||
			    !strcmp(prog, "bash")) && to - from >= 2 && is_file(d, ws->w[from + 1])) {
			run_file(d, line, ws->w[from + 1], depth, ns, nsn);
		} else if (is_file(d, prog)) {
			run_file(d, line, prog, depth, ns, nsn);
		} else if (tcpdrop(d, line, ws, from, to)) {
			/* done */
		} else if (!strcmp(prog, "set") || !strcmp(prog, "true") || !strcmp(prog, ":")) {
			/* nothing to do here */
		} else {
			ns_add(d, line, cmd, ns, nsn);
			break; /* the whole line goes there */
		}
		from = to + 1;
	}
	free(ws);
}

void drill_shell(struct drill *d, const struct dl_event *e)
{
	char cmd[2048], *ns;
	size_t n = strlen(e->text);
	/* the text between the backquotes */
	if (n < 2 || n - 2 >= sizeof(cmd)) {
		drill_finish(d, R_FAIL, e->line, "cannot parse: %.60s", e->text);
		return;
	}
	memcpy(cmd, e->text + 1, n);
	if (strrchr(cmd, '`'))
		*strrchr(cmd, '`') = 0;
	ns = calloc(1, SH_NS_CMD);
	if (!ns)
		return;
	/* line by line, a backslash-newline joining two */
	for (char *q; (q = strstr(cmd, "\\\n"));)
		memmove(q, q + 2, strlen(q + 2) + 1);
	for (char *l = cmd, *next; l && d->result == R_RUN; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = 0;
		run_line(d, e->line, l, 0, ns, SH_NS_CMD);
	}
	if (*ns && d->result == R_RUN)
		run_ns(d, e->line, ns);
	free(ns);
}
