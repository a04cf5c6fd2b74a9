/* load — the kernel's side of `make bench`: a client on Linux sockets that
 * drives one server (tapir, lwIP, the kernel, or the TAP reflector) and
 * prints what it measured as one line of key=value pairs.
 *
 *   load send  ADDR PORT SECS CHUNK [CPU_PID]  bulk kernel -> stack (port: discard)
 *   load recv  ADDR PORT SECS CHUNK [CPU_PID]  bulk stack -> kernel (port: a source)
 *   load rr    ADDR PORT SECS MAXN             1-byte ping-pong (port: echo)
 *   load crr   ADDR PORT SECS MAXN [PAR]       connect, 1 byte, 1 byte, close
 *                                              (PAR clients in parallel, default 1)
 *   load hold  ADDR PORT N1 N2 [RSS_PID] [slab] idle connections: memory
 *   load udp   ADDR PORT SECS SIZE [CPU_PID]   datagrams through the TAP reflector
 *   load udprr ADDR PORT SECS MAXN             1-byte UDP ping-pong via the reflector
 *   load wait  ADDR PORT SECS                  until a TCP connect succeeds
 *   load scale ADDR PORT SECS N1,N2,.. PID      idle connections at each count:
 *                                              PID's RSS, and its CPU per 1-byte
 *                                              request on one more connection
 *
 * ADDR (and src=) IPv4 or IPv6.
 * Options anywhere after ADDR PORT: src=A,B,... (client source addresses,
 * taken in turn: one address has 64k ports), echo=PORT (scale's request
 * port, default 7), slab (the kernel's socket memory too: hold, scale).
 *
 * Every loop is bounded by a count and by time.  CPU_PID: a process whose
 * CPU time (/proc/PID/stat utime+stime, all threads) is read at the start
 * and the end of the measured interval. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* an address of either family: ADDR and src= may be IPv4 or IPv6 */
union sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};
static union sa dst;
static long clk_tck;
#define MAX_SRC 16
static union sa srcs[MAX_SRC]; /* src=: the client's source addresses */
static int nsrc;

static socklen_t sa_len(const union sa *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

/* TEXT (IPv4 or IPv6) and PORT into A; false when it is neither. */
static bool sa_parse(const char *text, int port, union sa *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons((uint16_t)port);
		return true;
	}
	if (inet_pton(AF_INET6, text, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		return true;
	}
	return false;
}

static void sa_set_port(union sa *a, int port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons((uint16_t)port);
	else
		a->in.sin_port = htons((uint16_t)port);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* CPU seconds (user + system, all threads) of PID; -1 if unknown. */
static double proc_cpu(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (!(p = strrchr(buf, ')')))
		return -1;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)clk_tck;
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The kernel's memory for sockets: the slab caches a TCP socket lives in
 * (bytes), plus the pages TCP buffers hold (/proc/net/sockstat "mem"). */
static long kernel_sock_bytes(void)
{
	static const char *caches[] = {"TCP", "sock_inode_cache", "filp", "dentry",
				       "eventpoll_epi", "eventpoll_pwq", "request_sock_TCP",
				       "skbuff_head_cache", "selinux_file_security"};
	char line[512], name[128];
	long total = 0, objs, num, size, mem;
	FILE *f = fopen("/proc/slabinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%127s %ld %ld %ld", name, &objs, &num, &size) != 4)
				continue;
			for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++)
				if (!strcmp(name, caches[i]))
					total += objs * size;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/net/sockstat", "r"))) {
		while (fgets(line, sizeof(line), f)) {
			char *m = strstr(line, " mem ");
			if (!strncmp(line, "TCP:", 4) && m && sscanf(m, " mem %ld", &mem) == 1)
				total += mem * 4096;
		}
		fclose(f);
	}
	return total;
}

/* Binds FD to source address number K of src= (none: the kernel's choice).
 * IP_BIND_ADDRESS_NO_PORT: the port is chosen at connect, per 4-tuple, so
 * each address offers its whole port range to each destination. */
static void bind_src(int fd, long k)
{
	const union sa *a;
	int one = 1;
	if (!nsrc)
		return;
	a = &srcs[k % nsrc];
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, &a->sa, sa_len(a)) < 0)
		die("bind (src=)");
}

/* A blocking connection to TO from source number SRC, with TIMEOUT_S on
 * every call; -1 if the connect fails. */
static int tcp_connect_to(const union sa *to, long src, double timeout_s)
{
	int fd = socket(to->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct timeval tv = {(time_t)timeout_s, (long)((timeout_s - (long)timeout_s) * 1e6)};
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bind_src(fd, src);
	if (connect(fd, &to->sa, sa_len(to)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_connect(double timeout_s) { return tcp_connect_to(&dst, 0, timeout_s); }

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void percentiles(double *lat, long n)
{
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("n=%ld p50_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f\n", n,
	       n ? lat[n / 2] * 1e6 : 0, n ? lat[(long)((double)n * 0.99)] * 1e6 : 0,
	       n ? lat[0] * 1e6 : 0, n ? lat[n - 1] * 1e6 : 0);
}

#define WARM 0.5 /* seconds before the measured interval of a bulk run */

/* The measured interval of a bulk run: it starts WARM seconds after T0. */
struct interval {
	double t0, ts, c0, s0;
	long long b0;
	long cpu_pid;
	bool started;
};

/* At time T, BYTES so far: starts the interval once WARM has passed. */
static void interval_tick(struct interval *iv, double t, long long bytes)
{
	if (iv->started || t < iv->t0 + WARM)
		return;
	iv->started = true;
	iv->ts = t;
	iv->b0 = bytes;
	iv->c0 = proc_cpu(iv->cpu_pid);
	iv->s0 = self_cpu();
}

/* The line of a bulk run: what BYTES the interval saw, and the CPU used. */
static void interval_print(const struct interval *iv, long long bytes)
{
	double t = now_s(), dt = iv->started ? t - iv->ts : 0, c1 = proc_cpu(iv->cpu_pid);
	double gbps = dt > 0 ? (double)(bytes - iv->b0) * 8 / dt / 1e9 : 0;
	printf("bytes=%lld secs=%.3f gbps=%.3f srv_cpu=%.3f cli_cpu=%.3f\n", bytes - iv->b0, dt,
	       gbps, iv->started && iv->c0 >= 0 && c1 >= 0 ? (c1 - iv->c0) / dt : -1,
	       iv->started ? (self_cpu() - iv->s0) / dt : -1);
}

/* Bulk TCP: send or receive CHUNK-sized blocks for WARM + SECS. */
static int bulk(bool sending, double secs, size_t chunk, long cpu_pid)
{
	char *buf = calloc(1, chunk);
	int fd = tcp_connect(5.0);
	struct interval iv = {.cpu_pid = cpu_pid};
	double end;
	long long bytes = 0, ops = 0, max_ops = 200000000;
	if (!buf)
		die("calloc");
	if (fd < 0)
		die("connect");
	iv.t0 = now_s();
	end = iv.t0 + WARM + secs;
	for (;;) {
		double t = now_s();
		ssize_t n;
		interval_tick(&iv, t, bytes);
		if (t >= end || ++ops > max_ops)
			break;
		n = sending ? send(fd, buf, chunk, MSG_NOSIGNAL) : recv(fd, buf, chunk, 0);
		if (n <= 0) {
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue; /* SO_*TIMEO: the loop's time bound still holds */
			fprintf(stderr, "load: %s: %s\n", sending ? "send" : "recv",
				n ? strerror(errno) : "end of stream");
			break;
		}
		bytes += n;
	}
	interval_print(&iv, bytes);
	/* an abortive close: the server must not wait on unsent or unread data */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){1, 0}, sizeof(struct linger));
	close(fd);
	free(buf);
	return 0;
}

/* 1-byte ping-pong on the connected FD for SECS (at most MAXN rounds after
 * 100 warm-up ones): the latency percentiles.  LOSSY (UDP): a round whose
 * datagram is lost (SO_RCVTIMEO) is not counted, and the next one starts. */
static int ping_pong(int fd, bool lossy, double secs, long maxn)
{
	double *lat = calloc((size_t)maxn, sizeof(double)), end = now_s() + secs;
	long n = 0, warm = 100;
	char c = 'x';
	if (!lat)
		die("calloc");
	while (n < maxn && now_s() < end) {
		double t = now_s();
		if (send(fd, &c, 1, MSG_NOSIGNAL) != 1 || recv(fd, &c, 1, 0) != 1) {
			if (lossy)
				continue;
			fprintf(stderr, "load: rr: %s\n", strerror(errno));
			break;
		}
		if (warm > 0)
			warm--;
		else
			lat[n++] = now_s() - t;
	}
	close(fd);
	percentiles(lat, n);
	free(lat);
	return 0;
}

static int rr(double secs, long maxn)
{
	int fd = tcp_connect(5.0);
	if (fd < 0)
		die("connect");
	return ping_pong(fd, false, secs, maxn);
}

/* One CRR client: connect, 1 byte each way, close, until END or MAXN
 * attempts; the latency of each complete one in LAT. */
struct crr_client {
	double end, *lat;
	long maxn, n, errors;
};

/* The source address of the next connection, over all clients: each
 * connection takes the next one of src=.  The client closes first, so each
 * connection leaves a TIME-WAIT on its source address; the kernel looks
 * for a free port of an address by walking its ports one by one (first
 * those of one parity), so an address whose half of the ports is in
 * TIME-WAIT costs a walk of 32k ports per connect.  A client (a thread)
 * keeping one address did that: the one client of the first row used one
 * address for all its connections, and the 256-client row then measured
 * the kernel's port search (3.5-4k/s for every server, p50 70 ms).  Taken
 * in turn, the TIME-WAITs spread over all the addresses (at most
 * tcp_max_tw_buckets, 131072 here, in all: 16k per address). */
static long crr_next_src;

static void *crr_client(void *arg)
{
	struct crr_client *c = arg;
	while (c->n + c->errors < c->maxn && now_s() < c->end) {
		double t = now_s();
		int fd = tcp_connect_to(&dst, __atomic_fetch_add(&crr_next_src, 1, __ATOMIC_RELAXED),
					2.0);
		char b = 'x';
		if (fd < 0) {
			c->errors++;
			continue;
		}
		if (send(fd, &b, 1, MSG_NOSIGNAL) == 1 && recv(fd, &b, 1, 0) == 1)
			c->lat[c->n++] = now_s() - t;
		else
			c->errors++;
		close(fd);
	}
	return NULL;
}

/* PAR clients (threads) at once, MAXN attempts in all: connections per
 * second over the run, and the latency percentiles of all of them. */
static int crr(double secs, long maxn, long par)
{
	struct crr_client *c = calloc((size_t)par, sizeof(*c));
	pthread_t *th = calloc((size_t)par, sizeof(*th));
	double t0 = now_s(), *all = calloc((size_t)maxn + 1, sizeof(double)), dt;
	long n = 0, errors = 0;
	if (!c || !th || !all)
		die("calloc");
	for (long i = 0; i < par; i++) {
		c[i] = (struct crr_client){.end = t0 + secs, .maxn = maxn / par + 1};
		if (!(c[i].lat = calloc((size_t)c[i].maxn, sizeof(double))))
			die("calloc");
		if (pthread_create(&th[i], NULL, crr_client, &c[i]))
			die("pthread_create");
	}
	for (long i = 0; i < par; i++) {
		pthread_join(th[i], NULL);
		for (long k = 0; k < c[i].n && n < maxn; k++)
			all[n++] = c[i].lat[k];
		errors += c[i].errors;
		free(c[i].lat);
	}
	dt = now_s() - t0;
	qsort(all, (size_t)n, sizeof(double), cmp_double);
	printf("n=%ld errors=%ld secs=%.3f par=%ld cps=%.1f p50_us=%.1f p99_us=%.1f\n", n, errors,
	       dt, par, (double)n / dt, n ? all[n / 2] * 1e6 : 0,
	       n ? all[(long)((double)n * 0.99)] * 1e6 : 0);
	free(all);
	free(th);
	free(c);
	return 0;
}

/* seconds without a new connection: the server holds no more (longer than
 * the kernel's SYN retransmissions at 1, 3, 7 and 15 s: a SYN dropped by a
 * full listen queue or a full TAP queue gets its chances) */
#define STALL 16.0

/* Opens connections from source number SRC until TARGET are established
 * (bounded by time, and by STALL: a server at its limit refuses or drops
 * the rest, and waiting longer would only retry them). */
static long open_until(int *fds, long have, long target, double deadline, long src)
{
	const long window = 200; /* handshakes in flight at once */
	struct pollfd *pf = calloc((size_t)window, sizeof(*pf));
	long *idx = calloc((size_t)window, sizeof(long)), pending = 0, next = have;
	double progress = now_s();
	if (!pf || !idx)
		die("calloc");
	while ((have < target || pending) && now_s() < deadline && now_s() < progress + STALL) {
		while (pending < window && next < target) {
			int fd = socket(dst.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				die("socket");
			bind_src(fd, src);
			if (connect(fd, &dst.sa, sa_len(&dst)) < 0 &&
			    errno != EINPROGRESS) {
				close(fd);
				break;
			}
			pf[pending] = (struct pollfd){.fd = fd, .events = POLLOUT};
			idx[pending++] = next++;
		}
		if (poll(pf, (nfds_t)pending, 100) < 0 && errno != EINTR)
			die("poll");
		for (long i = 0; i < pending;) {
			int err = 0;
			socklen_t el = sizeof(err);
			if (!pf[i].revents) {
				i++;
				continue;
			}
			getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err) {
				close(pf[i].fd);
				next--; /* retry this slot: ordering does not matter */
				idx[i] = idx[pending - 1];
				pf[i] = pf[--pending];
				continue;
			}
			fds[have++] = pf[i].fd;
			progress = now_s();
			idx[i] = idx[pending - 1];
			pf[i] = pf[--pending];
		}
	}
	for (long i = 0; i < pending; i++)
		close(pf[i].fd);
	free(pf);
	free(idx);
	return have;
}

static int hold(long n1, long n2, long pid, bool slab)
{
	struct rlimit rl = {(rlim_t)n2 + 256, (rlim_t)n2 + 256};
	int *fds = calloc((size_t)n2, sizeof(int));
	long have = 0, r0, r1, r2, k0 = 0, k1 = 0, k2 = 0;
	double deadline = now_s() + 60, t0;
	if (!fds)
		die("calloc");
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit");
	usleep(300000);
	r0 = rss_kb(pid);
	if (slab)
		k0 = kernel_sock_bytes();
	t0 = now_s();
	have = open_until(fds, have, n1, deadline, 0);
	usleep(500000); /* let the server accept and settle */
	r1 = rss_kb(pid);
	if (slab)
		k1 = kernel_sock_bytes();
	have = open_until(fds, have, n2, deadline, 0);
	usleep(500000);
	r2 = rss_kb(pid);
	if (slab)
		k2 = kernel_sock_bytes();
	printf("held=%ld secs=%.2f rss0_kb=%ld rss1_kb=%ld rss2_kb=%ld kmem0=%ld kmem1=%ld "
	       "kmem2=%ld\n",
	       have, now_s() - t0, r0, r1, r2, k0, k1, k2);
	for (long i = 0; i < have; i++) {
		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &(struct linger){1, 0},
			   sizeof(struct linger));
		close(fds[i]);
	}
	free(fds);
	return 0;
}

/* ---- scale: idle connections at several counts, from several processes
 * (RLIMIT_NOFILE bounds one process: 20,000 here) and several source
 * addresses (one address has 64k ports towards one server port). */
#define MAX_POINTS 8
#define MAX_WORKERS 64

struct worker {
	pid_t pid;
	int cmd, rep; /* the parent writes a target, the worker answers what it holds */
};

/* SUM over PID and its direct children (a server of several processes)
 * of FN: RSS in KiB or CPU seconds. */
static double tree_sum(long pid, double (*fn)(long))
{
	char path[96], buf[4096];
	double v = fn(pid), c;
	FILE *f;
	size_t n;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
	if (v < 0 || !(f = fopen(path, "r")))
		return v;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
		if ((c = fn(atol(t))) > 0)
			v += c;
	return v;
}

static double rss_kb_d(long pid) { return (double)rss_kb(pid); }

/* A worker: holds up to CAP connections from source number SRC; each
 * target it reads (-1: the end) it opens up to, then answers its count. */
static void worker_run(int cmd, int rep, long src, long cap)
{
	struct rlimit rl;
	int *fds = calloc((size_t)cap, sizeof(int));
	long have = 0, target;
	if (!fds)
		die("calloc");
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	while (read(cmd, &target, sizeof(target)) == sizeof(target) && target >= 0) {
		if (target > cap)
			target = cap;
		have = open_until(fds, have, target, now_s() + 120, src);
		if (write(rep, &have, sizeof(have)) != sizeof(have))
			break;
	}
	for (long i = 0; i < have; i++) { /* RST: nothing left in TIME-WAIT */
		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &(struct linger){1, 0},
			   sizeof(struct linger));
		close(fds[i]);
	}
	_exit(0);
}

static void worker_start(struct worker *w, long src, long cap)
{
	int c[2], r[2];
	if (pipe(c) < 0 || pipe(r) < 0)
		die("pipe");
	fflush(stdout);
	if ((w->pid = fork()) < 0)
		die("fork");
	if (w->pid == 0) {
		close(c[1]);
		close(r[0]);
		worker_run(c[0], r[1], src, cap);
	}
	close(c[0]);
	close(r[1]);
	w->cmd = c[1];
	w->rep = r[0];
}

/* 1-byte requests on a connection of its own to PORT for SECS: the server
 * PID's CPU time per request (us), with idle connections beside it. */
static double rr_cpu_us(long pid, int port, double secs, long *rounds)
{
	union sa to = dst;
	double end, c0;
	long n = 0, warm = 100;
	char b = 'x';
	int fd;
	sa_set_port(&to, port);
	*rounds = 0;
	if ((fd = tcp_connect_to(&to, 0, 2.0)) < 0)
		return -1;
	for (; warm > 0; warm--)
		if (send(fd, &b, 1, MSG_NOSIGNAL) != 1 || recv(fd, &b, 1, 0) != 1)
			break;
	c0 = tree_sum(pid, proc_cpu);
	end = now_s() + secs;
	while (n < 10000000 && now_s() < end) {
		if (send(fd, &b, 1, MSG_NOSIGNAL) != 1 || recv(fd, &b, 1, 0) != 1)
			break;
		n++;
	}
	c0 = tree_sum(pid, proc_cpu) - c0;
	close(fd);
	*rounds = n;
	return n && c0 >= 0 ? c0 / (double)n * 1e6 : -1;
}

/* Sets each worker's target so that they hold WANT in all (filled in
 * order, CAP each), and returns what they hold. */
static long scale_to(struct worker *w, int nw, long want, long cap)
{
	long got = 0, have;
	for (int i = 0; i < nw; i++) {
		long t = want - (long)i * cap;
		t = t < 0 ? 0 : t > cap ? cap : t;
		if (write(w[i].cmd, &t, sizeof(t)) != sizeof(t))
			die("write");
	}
	for (int i = 0; i < nw; i++) {
		if (read(w[i].rep, &have, sizeof(have)) != sizeof(have))
			die("worker");
		got += have;
	}
	return got;
}

/* At 0 and at each count of POINTS ("1000,10000,100000"): the server's RSS
 * (and the kernel's socket memory if SLAB), then its CPU per request for
 * SECS.  A count not reached (the server's limit) ends the run there. */
static int scale(double secs, const char *points, long pid, bool slab, int echo_port)
{
	long pt[MAX_POINTS + 1] = {0}, cap, held = 0, rounds, end = -1;
	struct worker w[MAX_WORKERS];
	char line[4096];
	size_t len = 0;
	int np = 1, nw;
	struct rlimit rl;
	double t0 = now_s();
	for (const char *p = points; *p && np <= MAX_POINTS; np++) {
		pt[np] = strtol(p, (char **)&p, 10);
		if (*p == ',')
			p++;
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	cap = (long)rl.rlim_max - 100; /* a worker's own descriptors */
	cap = cap > 16000 ? 16000 : cap;
	nw = (int)((pt[np - 1] + cap - 1) / cap);
	if (cap <= 0 || nw > MAX_WORKERS) {
		fprintf(stderr, "load: scale: %ld connections need too many workers\n", pt[np - 1]);
		return 2;
	}
	for (int i = 0; i < nw; i++)
		worker_start(&w[i], i, cap);
	for (int i = 0; i < np; i++) {
		double cpu;
		held = scale_to(w, nw, pt[i], cap);
		usleep(500000); /* let the server accept and settle */
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					" n%d=%ld have%d=%ld rss%d_kb=%.0f kmem%d=%ld", i, pt[i], i,
					held, i, tree_sum(pid, rss_kb_d), i,
					slab ? kernel_sock_bytes() : 0);
		cpu = rr_cpu_us(pid, echo_port, secs, &rounds);
		len += (size_t)snprintf(line + len, sizeof(line) - len, " cpu%d_us=%.2f rr%d=%ld", i,
					cpu, i, rounds);
		end = i;
		if (held < pt[i])
			break;
	}
	for (int i = 0; i < nw; i++) {
		long stop = -1;
		if (write(w[i].cmd, &stop, sizeof(stop)) < 0)
			break;
	}
	for (int i = 0; i < nw; i++) {
		waitpid(w[i].pid, NULL, 0);
		close(w[i].cmd);
		close(w[i].rep);
	}
	printf("points=%ld held=%ld workers=%d secs=%.1f%s\n", end + 1, held, nw, now_s() - t0, line);
	return 0;
}

/* Datagrams to the reflector, which sends each one back: one thread sends
 * (bounded), this one counts what returns. */
struct udp_tx {
	int fd;
	size_t size;
	double end;
};

static void *udp_sender(void *arg)
{
	struct udp_tx *tx = arg;
	char *buf = calloc(1, tx->size);
	long long max = 100000000;
	if (!buf)
		return NULL;
	for (long long i = 0; i < max && now_s() < tx->end; i++) {
		/* never blocks for long: the loop's time bound must hold */
		if (send(tx->fd, buf, tx->size, MSG_DONTWAIT) >= 0)
			continue;
		if (errno == EAGAIN) {
			struct pollfd p = {.fd = tx->fd, .events = POLLOUT};
			poll(&p, 1, 50);
		} else if (errno != ENOBUFS && errno != ECONNREFUSED) {
			break;
		}
	}
	free(buf);
	return NULL;
}

static int udp_open(void)
{
	int fd = socket(dst.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 8 << 20;
	struct timeval tv = {0, 200000};
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, &dst.sa, sa_len(&dst)) < 0)
		die("connect");
	return fd;
}

static int udp_flood(double secs, size_t size, long cpu_pid)
{
	struct udp_tx tx = {udp_open(), size, 0};
	struct interval iv = {.t0 = now_s(), .cpu_pid = cpu_pid};
	char *buf = malloc(65536);
	long long bytes = 0;
	pthread_t th;
	if (!buf)
		die("malloc");
	tx.end = iv.t0 + WARM + secs;
	if (pthread_create(&th, NULL, udp_sender, &tx))
		die("pthread_create");
	for (long long i = 0; i < 200000000; i++) {
		double t = now_s();
		ssize_t n;
		interval_tick(&iv, t, bytes);
		if (t >= tx.end)
			break;
		n = recv(tx.fd, buf, 65536, 0);
		if (n > 0)
			bytes += n;
	}
	interval_print(&iv, bytes);
	pthread_join(th, NULL);
	close(tx.fd);
	free(buf);
	return 0;
}

static int udp_rr(double secs, long maxn) { return ping_pong(udp_open(), true, secs, maxn); }

static int wait_up(double secs)
{
	double end = now_s() + secs;
	while (now_s() < end) {
		int fd = tcp_connect(1.0);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(50000);
	}
	fprintf(stderr, "load: wait: no answer after %.0f s\n", secs);
	return 1;
}

static double num(const char *s) { return strtod(s, NULL); }

static bool opt_slab;
static int opt_echo = 7;

/* Takes the options (src=, echo=, slab) out of ARGV; the new ARGC. */
static int take_options(int argc, char **argv)
{
	int k = 1;
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "src=", 4)) {
			char *save = NULL;
			for (char *a = strtok_r(argv[i] + 4, ",", &save); a && nsrc < MAX_SRC;
			     a = strtok_r(NULL, ",", &save))
				if (sa_parse(a, 0, &srcs[nsrc]))
					nsrc++;
		} else if (!strncmp(argv[i], "echo=", 5)) {
			opt_echo = atoi(argv[i] + 5);
		} else if (!strcmp(argv[i], "slab") && i > 5) {
			opt_slab = true;
		} else {
			argv[k++] = argv[i];
		}
	}
	argv[k] = NULL;
	return k;
}

int main(int argc, char **argv)
{
	const char *mode;
	setvbuf(stdout, NULL, _IOLBF, 0);
	clk_tck = sysconf(_SC_CLK_TCK);
	if (argc < 5) {
		fprintf(stderr, "usage: load MODE ADDR PORT ARGS... (see bench/load.c)\n");
		return 2;
	}
	argc = take_options(argc, argv);
	mode = argv[1];
	if (!sa_parse(argv[2], atoi(argv[3]), &dst)) {
		fprintf(stderr, "load: bad address %s\n", argv[2]);
		return 2;
	}
	if (!strcmp(mode, "send") || !strcmp(mode, "recv"))
		return argc < 6 ? 2
				: bulk(mode[0] == 's', num(argv[4]), (size_t)num(argv[5]),
				       argc > 6 ? atol(argv[6]) : 0);
	if (!strcmp(mode, "rr"))
		return argc < 6 ? 2 : rr(num(argv[4]), atol(argv[5]));
	if (!strcmp(mode, "crr"))
		return argc < 6 ? 2 : crr(num(argv[4]), atol(argv[5]), argc > 6 ? atol(argv[6]) : 1);
	if (!strcmp(mode, "hold"))
		return argc < 6 ? 2
				: hold(atol(argv[4]), atol(argv[5]), argc > 6 ? atol(argv[6]) : 0,
				       opt_slab);
	if (!strcmp(mode, "scale"))
		return argc < 7 ? 2 : scale(num(argv[4]), argv[5], atol(argv[6]), opt_slab, opt_echo);
	if (!strcmp(mode, "udp"))
		return argc < 6 ? 2
				: udp_flood(num(argv[4]), (size_t)num(argv[5]),
					    argc > 6 ? atol(argv[6]) : 0);
	if (!strcmp(mode, "udprr"))
		return argc < 6 ? 2 : udp_rr(num(argv[4]), atol(argv[5]));
	if (!strcmp(mode, "wait"))
		return wait_up(num(argv[4]));
	fprintf(stderr, "load: unknown mode %s\n", mode);
	return 2;
}
