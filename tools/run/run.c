/* tapir run: an unmodified program on tapir's TCP (proto.h, docs/run.md).
 *
 * With host options it is `tapir host` (same set-up code, through
 * host_hook) with a control socket and its gate in a private directory,
 * and no services of its own; with --attach it joins a running
 * `tapir host --control PATH` at PATH.gate.  Either way it runs COMMAND
 * with the preload library (libtapir-run.so) and TAPIR_RUN_GATE set, as a
 * child subreaper so that the command's own children are waited for too,
 * forwards SIGINT/SIGTERM/SIGHUP to it, and exits with its status once it
 * and its children are gone and tapir's connections have closed (at most
 * LINGER_S seconds more). */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "host/host.h"
#include "proto.h"
#include "gate.h"
#include "seccomp.h"
#include "util.h"

#define LINGER_S 3 /* for FIN exchanges after the command is gone */

static const char run_usage[] =
	"usage: tapir run [HOST OPTIONS] [--personality NAME[=ARGS]]... [--pcap FILE] -- COMMAND [ARGS...]\n"
	"       tapir run --attach CONTROL_PATH [--personality NAME[=ARGS]]... [--no-seccomp] -- COMMAND [ARGS...]\n"
	"\n"
	"Runs COMMAND so that every AF_INET TCP and UDP socket it and its children open\n"
	"lives on tapir.  HOST OPTIONS are tapir host's (--tap, --addr, --peer-addr,\n"
	"--gateway, --mac, --mtu, --trace, --max-sockets, --profile; --iface IF, --shared-addr\n"
	"and --ports A-B for the interface's own address: docs/shared-addr.md).\n"
	"--attach joins the `tapir host --control CONTROL_PATH` already running; its\n"
	"--personality bends only this run's TCP connections.  Exit status:\n"
	"COMMAND's (128+N when killed by signal N); 2 when tapir cannot start.\n"
	"Raw socket system calls (static binaries, Go) are trapped by seccomp when the\n"
	"kernel can (docs/seccomp.md); --no-seccomp leaves them to the kernel.\n"
	"TAPIR_RUN_DEBUG=1 logs every socket call (program side) and request (gate);\n"
	"TAPIR_BUSY_POLL=US sets the busy-poll window (50 by default; 0: off, docs/run.md).\n";

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void on_chld(int sig)
{
	(void)sig; /* only wakes the loop's ppoll */
}

/* The preload library: TAPIR_PRELOAD, else beside the tapir binary (the
 * build tree), else ../lib/tapir from it (installed). */
static void find_preload(char *out, size_t len)
{
	const char *env = getenv("TAPIR_PRELOAD");
	char exe[PATH_MAX];
	ssize_t n;
	if (env && *env) {
		if (access(env, R_OK) < 0)
			die("run: TAPIR_PRELOAD=%s: %s", env, strerror(errno));
		snprintf(out, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		int k = snprintf(out, len, "%s/libtapir-run.so", dirname(exe));
		if (k > 0 && (size_t)k < len && access(out, R_OK) == 0)
			return;
		k = snprintf(out, len, "%s/../lib/tapir/libtapir-run.so", exe);
		if (k > 0 && (size_t)k < len && access(out, R_OK) == 0)
			return;
	}
	die("run: cannot find libtapir-run.so (beside the tapir binary, in ../lib/tapir, "
	    "or TAPIR_PRELOAD)");
}

/* COMMAND must exist before anything starts: one clear line, exit 2. */
static void check_command(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK) < 0)
			die("run: %s: %s", cmd, strerror(errno));
		return;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".", cmd);
		if (access(buf, X_OK) == 0)
			return;
		path += n + (path[n] == ':');
	}
	die("run: %s: command not found", cmd);
}

struct runner {
	char **cmd;
	char gate_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char dir[64];       /* the private directory of a run's own host */
	char preload[PATH_MAX];
	struct host_hook hook;
	bool exited;
	bool no_seccomp;
	char personas[TRUN_DATA_MAX]; /* --attach's --personality specs, one a line */
	size_t npersonas;
	tapir_time_t linger_until;
};

static void start_command(struct runner *r)
{
	const char *old = getenv("LD_PRELOAD");
	char *pre = NULL;
	struct sigaction sa;
	sigset_t none;
	pid_t pid;
	int sv[2];
	bool sc = !r->no_seccomp && seccomp_supported();
	if (sc && seccomp_pair(sv) < 0)
		die("run: seccomp: %s", strerror(errno));
	if (asprintf(&pre, "%s%s%s", r->preload, old && *old ? " " : "", old ? old : "") < 0)
		die("out of memory");
	setenv("LD_PRELOAD", pre, 1);
	setenv(TRUN_ENV_GATE, r->gate_path, 1);
	free(pre);
	/* grandchildren (a shell's, a server's workers) are ours to wait for */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	pid = fork();
	if (pid < 0)
		die("run: fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (sc && seccomp_child(sv) < 0)
			_exit(2);
		execvp(r->cmd[0], r->cmd);
		fprintf(stderr, "tapir: run: %s: %s\n", r->cmd[0], strerror(errno));
		_exit(127);
	}
	child_pid = pid;
	if (sc && seccomp_parent(sv, r->gate_path) < 0) {
		kill(pid, SIGKILL);
		exit(2);
	}
}

/* Reaps what ended; true once the command and all its children are gone. */
static bool reap(struct runner *r)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid == 0)
			return false;
		if (pid < 0)
			return errno == ECHILD;
		if (pid == child_pid) {
			r->hook.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			child_pid = 0;
			r->exited = true;
		}
	}
}

static void hook_start(void *arg, struct tapir_net *net)
{
	(void)net;
	start_command(arg);
}

static bool hook_tick(void *arg)
{
	struct runner *r = arg;
	tapir_time_t now = mono_us();
	if (!reap(r))
		return false;
	if (!r->linger_until) {
		r->linger_until = now + TAPIR_SEC(LINGER_S);
		/* the supervisor's channel closes while the gate still turns */
		seccomp_stop();
		return false;
	}
	if (r->hook.gate && gate_busy(r->hook.gate) && now < r->linger_until)
		return false;
	unlink(r->gate_path);
	snprintf(r->gate_path, sizeof(r->gate_path), "%s/control", r->dir);
	unlink(r->gate_path);
	rmdir(r->dir);
	return true;
}

/* --attach: the host is someone else's; only the command is ours. */
static int run_attached(struct runner *r, const char *control)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (snprintf(r->gate_path, sizeof(r->gate_path), "%s%s", control, TRUN_GATE_SUFFIX) >=
	    (int)sizeof(r->gate_path))
		die("run: --attach: path too long: %s", control);
	memcpy(sun.sun_path, r->gate_path, strlen(r->gate_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("run: --attach %s: no tapir host there (%s: %s)", control, r->gate_path,
		    strerror(errno));
	close(fd);
	if (r->npersonas) {
		/* the channel stays open as long as the run: the personalities
		 * go when it closes (close-on-exec: not COMMAND's) */
		static struct trc_chan ch = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};
		struct trun_rep rep = {0};
		char id[16];
		int ret;
		snprintf(ch.path, sizeof(ch.path), "%s", r->gate_path);
		ret = trc_op(&ch, TRUN_PERSONA, 0, 0, 0, 0, r->personas, r->npersonas, &rep);
		if (ret < 0)
			die("run: %s", rep.len && rep.len <= TRUN_DATA_MAX ? (char *)rep.data
									    : strerror(-ret));
		snprintf(id, sizeof(id), "%d", ret);
		setenv(TRUN_ENV_PERSONA, id, 1);
	}
	start_command(r);
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0) {
			seccomp_stop();
			return r->hook.status;
		}
		if (pid == child_pid)
			r->hook.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

/* With --attach: --personality (the run's own, kept as lines for the
 * gate's TRUN_PERSONA) and --no-seccomp only; the link is the host's. */
static void attach_options(struct runner *r, char **argv, int dash)
{
	for (int i = 1; i < dash; i++) {
		const char *spec = NULL;
		size_t n;
		if (!strcmp(argv[i], "--attach") && i + 1 < dash) {
			i++;
			continue;
		}
		if (!strcmp(argv[i], "--no-seccomp"))
			continue;
		if (!strcmp(argv[i], "--personality") && i + 1 < dash)
			spec = argv[++i];
		else if (!strncmp(argv[i], "--personality=", 14))
			spec = argv[i] + 14;
		else
			die("run: --attach takes --personality and --no-seccomp only, not %s "
			    "(the link is the host's)", argv[i]);
		n = strlen(spec);
		if (!n || strchr(spec, '\n') || r->npersonas + n + 1 >= sizeof(r->personas))
			die("run: --personality %s: empty or too long", spec);
		memcpy(r->personas + r->npersonas, spec, n);
		r->npersonas += n;
		r->personas[r->npersonas++] = '\n';
	}
	if (r->npersonas)
		r->npersonas--; /* no line break after the last */
}

int cmd_run(int argc, char **argv)
{
	static struct runner r;
	const char *attach = NULL;
	char **hargv;
	int dash = -1, hargc = 0;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dash = i;
			break;
		}
	for (int i = 1; i < (dash < 0 ? argc : dash); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(run_usage, stdout);
			return 0;
		}
	if (dash < 0 || dash == argc - 1)
		die("run: no COMMAND: tapir run [options] -- COMMAND [ARGS...] (try --help)");
	r.cmd = argv + dash + 1;
	check_command(r.cmd[0]);
	find_preload(r.preload, sizeof(r.preload));
	for (int i = 1; i < dash; i++)
		if (!strcmp(argv[i], "--attach") && i + 1 < dash)
			attach = argv[i + 1];
		else if (!strcmp(argv[i], "--no-seccomp"))
			r.no_seccomp = true;
	if (attach) {
		attach_options(&r, argv, dash);
		exit(run_attached(&r, attach));
	}
	/* tapir host with a control socket in a private directory */
	snprintf(r.dir, sizeof(r.dir), "/tmp/tapir-run.XXXXXX");
	if (!mkdtemp(r.dir))
		die("run: cannot make a directory in /tmp: %s", strerror(errno));
	/* children that change user (nginx's workers become nobody) open their
	 * control channels afterwards: they may pass through to the gate
	 * (0777, gate.c), not list the directory */
	chmod(r.dir, 0711);
	snprintf(r.gate_path, sizeof(r.gate_path), "%s/control%s", r.dir, TRUN_GATE_SUFFIX);
	if (!(hargv = calloc((size_t)dash + 6, sizeof(char *))))
		die("out of memory");
	hargv[hargc++] = "host";
	for (int i = 1; i < dash; i++)
		if (strcmp(argv[i], "--no-seccomp"))
			hargv[hargc++] = argv[i];
	hargv[hargc++] = "--serve";
	hargv[hargc++] = "";
	hargv[hargc++] = "--control";
	if (asprintf(&hargv[hargc++], "%s/control", r.dir) < 0)
		die("out of memory");
	r.hook = (struct host_hook){.start = hook_start, .tick = hook_tick, .arg = &r};
	host_hook = &r.hook;
	return cmd_host(hargc, hargv);
}
