/*
 * tapir run's seccomp supervisor (seccomp.h): the filter the program runs
 * under, the hand-over of its notification descriptor, and the thread in
 * tapir that answers the trapped calls (seccomp_call.c).
 *
 * Why seccomp: the preload sees only calls made through the dynamic
 * loader's libc.  A static binary (busybox), a Go program (raw system
 * calls even when dynamically linked) or syscall(2) would reach the
 * kernel's TCP silently.  The filter sends their socket calls to us
 * (SECCOMP_RET_USER_NOTIF, Linux 5.0; descriptor injection 5.9), and we
 * answer them as the preload would.
 *
 * The supervisor never blocks on a program: a blocking connect or accept
 * stays unanswered in a bounded table while its descriptor waits in our
 * epoll set (seccomp_int.h), and the gate answers every request at once
 * (proto.h).  So one thread serves every process of the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "run/seccomp.h"
#include "run/seccomp_int.h"
#include "util.h"

#if defined(__x86_64__)
#define SC_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SC_ARCH AUDIT_ARCH_AARCH64
#else
#error "tapir run's seccomp filter knows x86_64 and aarch64"
#endif

/* ---- the filter ---------------------------------------------------- */

/* A few labels are enough for this program: jumps are resolved after
 * (classic BPF jumps forward only: the returns come last). */
enum { L_NEXT, L_ALLOW, L_TRAP, L_ENOSYS, L_SOCKET, L_COOKIE, L_COMPAT, L_MAX };
#define SC_PROG_MAX 64

struct bpf_asm {
	struct sock_filter f[SC_PROG_MAX];
	unsigned char jt[SC_PROG_MAX], jf[SC_PROG_MAX];
	int at[L_MAX];
	unsigned n;
};

static void emit(struct bpf_asm *a, uint16_t code, uint32_t k, int jt, int jf)
{
	a->f[a->n] = (struct sock_filter)BPF_STMT(code, k);
	a->jt[a->n] = (unsigned char)jt;
	a->jf[a->n] = (unsigned char)jf;
	a->n++;
}

static void label(struct bpf_asm *a, int l)
{
	a->at[l] = (int)a->n;
}

static void resolve(struct bpf_asm *a)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (a->jt[i] != L_NEXT)
			a->f[i].jt = (uint8_t)(a->at[a->jt[i]] - (int)i - 1);
		if (a->jf[i] != L_NEXT)
			a->f[i].jf = (uint8_t)(a->at[a->jf[i]] - (int)i - 1);
	}
}

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0))
#define ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 0 : 4))

/* The socket calls that name addresses or options (proto.h: the rest work
 * on the app end as they are). */
static const int sc_calls[] = {SYS_bind,	SYS_listen,	 SYS_connect,	  SYS_accept,
			       SYS_accept4,	SYS_getsockname, SYS_getpeername, SYS_setsockopt,
			       SYS_getsockopt, SYS_shutdown};

static void build_filter(struct bpf_asm *a)
{
	memset(a, 0, sizeof(*a));
	emit(a, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, SC_ARCH, L_NEXT, L_COMPAT);
	emit(a, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
#ifdef __x86_64__
	/* x32 system calls (bit 30): none of ours may come that way */
	emit(a, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, L_ENOSYS, L_NEXT);
#endif
	/* io_uring would make socket calls behind our back: programs fall back */
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, L_ENOSYS, L_NEXT);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, L_SOCKET, L_NEXT);
	for (size_t i = 0; i < sizeof(sc_calls) / sizeof(sc_calls[0]); i++)
		emit(a, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sc_calls[i], L_COOKIE, L_NEXT);
	emit(a, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	/* socket(): only AF_INET and AF_INET6 are ours (AF_UNIX, netlink, ...
	 * never wake the supervisor) */
	label(a, L_SOCKET);
	emit(a, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, AF_INET, L_COOKIE, L_NEXT);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, L_COOKIE, L_ALLOW);
	/* the preload's own kernel calls carry the cookie (proto.h) */
	label(a, L_COOKIE);
	emit(a, BPF_LD | BPF_W | BPF_ABS, ARG_LO(5), 0, 0);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)TRUN_SYSCALL_COOKIE, L_NEXT, L_TRAP);
	emit(a, BPF_LD | BPF_W | BPF_ABS, ARG_HI(5), 0, 0);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(TRUN_SYSCALL_COOKIE >> 32), L_ALLOW, L_TRAP);
	/* another ABI (i386 on x86_64): its socket calls (socketcall 102, the
	 * direct ones 359-373) are refused rather than reaching the kernel's TCP */
	label(a, L_COMPAT);
#ifdef __x86_64__
	emit(a, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, 102, L_ENOSYS, L_NEXT);
	emit(a, BPF_JMP | BPF_JGE | BPF_K, 359, L_NEXT, L_ALLOW);
	emit(a, BPF_JMP | BPF_JGT | BPF_K, 373, L_ALLOW, L_ENOSYS);
#else
	emit(a, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
#endif
	label(a, L_TRAP);
	emit(a, BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF, 0, 0);
	label(a, L_ENOSYS);
	emit(a, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA), 0, 0);
	label(a, L_ALLOW);
	emit(a, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	resolve(a);
}

/* ---- child and parent ---------------------------------------------- */

int seccomp_supported(void)
{
	struct seccomp_notif_sizes sz;
	uint32_t act = SECCOMP_RET_USER_NOTIF;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) < 0)
		return 0;
	/* pidfd_getfd (5.6) says whether a descriptor is an app end; a bad
	 * pidfd gives EBADF where the call exists */
	if (syscall(SYS_pidfd_getfd, -1, 0, 0) < 0 && errno == ENOSYS)
		return 0;
	return 1;
}

int seccomp_pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

int sc_send_fd(int sock, const void *buf, size_t len, int fd)
{
	struct iovec iov = {(void *)buf, len};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.b;
		m.msg_controllen = sizeof(u.b);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Receives one message of up to LEN bytes with at most one descriptor:
 * its length (0 at EOF) and *FD (-1 without one), or -1 with errno. */
static ssize_t recv_fd(int sock, void *buf, size_t len, int *fd, int flags)
{
	struct iovec iov = {buf, len};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			   .msg_controllen = sizeof(u.b)};
	struct cmsghdr *c;
	ssize_t r;
	*fd = -1;
	do
		r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | flags);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return r;
}

int seccomp_child(int sv[2])
{
	struct bpf_asm a;
	struct sock_fprog prog;
	int lfd;
	close(sv[0]);
	build_filter(&a);
	prog.len = (unsigned short)a.n;
	prog.filter = a.f;
	/* a filter without privilege needs no_new_privs (seccomp(2)): setuid
	 * programs run without gaining privilege under tapir run */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		goto fail;
	lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			   &prog);
	if (lfd < 0)
		goto fail;
	if (sc_send_fd(sv[1], "", 1, lfd) < 0)
		goto fail;
	close(lfd);
	close(sv[1]);
	return 0;
fail:
	fprintf(stderr, "tapir: seccomp: cannot install the filter: %s (--no-seccomp runs "
			"without it)\n",
		strerror(errno));
	return -1;
}

static struct sc *sc_run;
static pthread_t sc_thread;

static void *sc_main(void *arg);
static int gate_open(struct sc *s, const char *path);

int seccomp_parent(int sv[2], const char *gate_path)
{
	struct sc *s;
	int lfd = -1, e;
	char b;
	ssize_t r;
	close(sv[1]);
	r = recv_fd(sv[0], &b, 1, &lfd, 0);
	close(sv[0]);
	if (r <= 0 || lfd < 0) {
		fprintf(stderr, "tapir: seccomp: the program did not hand over its filter\n");
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->listener = lfd;
	s->ep = s->stopfd = -1;
	s->zone = -1;
	s->debug = getenv(TRUN_ENV_DEBUG) && !strcmp(getenv(TRUN_ENV_DEBUG), "1");
	for (unsigned i = 0; i < SC_WAIT_MAX; i++)
		s->waits[i].tfd = -1;
	if (gate_open(s, gate_path) < 0)
		goto fail;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->ep < 0 || s->stopfd < 0)
		goto fail;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SC_WAIT_MAX};
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		goto fail;
	ev.data.u64 = SC_WAIT_MAX + 1;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stopfd, &ev) < 0)
		goto fail;
	if ((e = pthread_create(&sc_thread, NULL, sc_main, s)) != 0) {
		errno = e;
		goto fail;
	}
	sc_run = s;
	return 0;
fail:
	fprintf(stderr, "tapir: seccomp: cannot start the supervisor: %s\n", strerror(errno));
	if (s) {
		if (s->chan.fd >= 0)
			close(s->chan.fd);
		if (s->ep >= 0)
			close(s->ep);
		if (s->stopfd >= 0)
			close(s->stopfd);
		free(s);
	}
	/* closing the listener fails the program's trapped calls (ENOSYS),
	 * never leaves them to the kernel's TCP */
	close(lfd);
	return -1;
}

void seccomp_stop(void)
{
	struct sc *s = sc_run;
	uint64_t one = 1;
	if (!s)
		return;
	sc_run = NULL;
	if (write(s->stopfd, &one, sizeof(one)) < 0)
		perror("tapir: seccomp: stop");
	pthread_join(sc_thread, NULL);
	for (unsigned i = 0; i < SC_WAIT_MAX; i++)
		if (s->waits[i].tfd >= 0)
			close(s->waits[i].tfd);
	close(s->listener);
	if (s->chan.fd >= 0)
		close(s->chan.fd);
	close(s->ep);
	close(s->stopfd);
	free(s);
}

/* ---- answering notifications --------------------------------------- */

void sc_warn(struct sc *s, enum sc_warn w, const char *msg)
{
	if (s->warned & w)
		return;
	s->warned |= w;
	fprintf(stderr, "tapir: %s\n", msg);
}

static int send_resp(struct sc *s, const struct sc_note *n, int64_t val, int32_t err,
		     uint32_t flags)
{
	if (s->debug)
		fprintf(stderr, "tapir: seccomp: pid %u call %d: %s %lld\n", n->pid, n->nr,
			flags ? "to the kernel" : err ? "error" : "returns",
			(long long)(err ? -err : val));
	struct seccomp_notif_resp r = {.id = n->id, .val = val, .error = err, .flags = flags};
	/* ENOENT: the caller was interrupted or died meanwhile; nothing to do */
	return ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &r) < 0 ? -errno : 0;
}

int sc_reply(struct sc *s, const struct sc_note *n, int64_t ret)
{
	return ret < 0 ? send_resp(s, n, 0, (int32_t)ret, 0) : send_resp(s, n, ret, 0, 0);
}

int sc_continue(struct sc *s, const struct sc_note *n)
{
	return send_resp(s, n, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

int sc_valid(struct sc *s, const struct sc_note *n)
{
	uint64_t id = n->id;
	return ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

int sc_addfd(struct sc *s, const struct sc_note *n, int fd, int cloexec)
{
	struct seccomp_notif_addfd a = {.id = n->id, .srcfd = (uint32_t)fd,
					.newfd_flags = cloexec ? O_CLOEXEC : 0};
	int r;
	if (!s->no_addfd_send) {
		/* 5.14: the descriptor and the answer at once, so the program
		 * can never see one without the other */
		a.flags = SECCOMP_ADDFD_FLAG_SEND;
		if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) >= 0)
			goto sent;
		if (errno != EINVAL)
			return -errno;
		s->no_addfd_send = 1;
		a.flags = 0;
	}
	r = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	if (r < 0)
		return -errno;
	return sc_reply(s, n, r);
sent:
	if (s->debug)
		fprintf(stderr, "tapir: seccomp: pid %u call %d: a descriptor\n", n->pid, n->nr);
	return 0;
}

int sc_wait_add(struct sc *s, const struct sc_note *n, int tfd, unsigned id, uint32_t events)
{
	struct epoll_event ev = {.events = events};
	unsigned i;
	for (i = 0; i < SC_WAIT_MAX && s->waits[i].tfd >= 0; i++)
		;
	if (i == SC_WAIT_MAX) {
		sc_warn(s, SC_WARN_WAITS, "seccomp: too many blocking calls wait at once: one "
					  "fails with ENOBUFS");
		sc_reply(s, n, -ENOBUFS);
		return -1;
	}
	ev.data.u64 = i;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, tfd, &ev) < 0) {
		sc_reply(s, n, -errno);
		return -1;
	}
	s->waits[i].n = *n;
	s->waits[i].tfd = tfd;
	s->waits[i].id = id;
	s->nwaits++;
	return 0;
}

static void wait_end(struct sc *s, struct sc_wait *w)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, w->tfd, NULL);
	close(w->tfd);
	w->tfd = -1;
	s->nwaits--;
}

/* Drops the waiting calls whose notification the kernel withdrew (a
 * signal interrupted the caller, or it died): a restarted call comes back
 * as a new notification. */
static void waits_check(struct sc *s)
{
	for (unsigned i = 0; i < SC_WAIT_MAX; i++)
		if (s->waits[i].tfd >= 0 && !sc_valid(s, &s->waits[i].n))
			wait_end(s, &s->waits[i]);
}

/* Reads one notification and answers it (or starts its wait). */
static void notif_one(struct sc *s, void *buf, size_t size)
{
	struct seccomp_notif *k = buf;
	struct sc_note n;
	memset(buf, 0, size);
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, buf) < 0)
		return; /* ENOENT: withdrawn before we read it */
	n.id = k->id;
	n.pid = k->pid;
	n.nr = k->data.nr;
	memcpy(n.args, k->data.args, sizeof(n.args));
	sc_handle(s, &n);
}

static void *sc_main(void *arg)
{
	struct sc *s = arg;
	struct seccomp_notif_sizes sz = {0};
	struct epoll_event ev[32];
	uint64_t checked = mono_us();
	size_t size;
	void *buf;
	/* the kernel's struct may have grown since our headers */
	syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz);
	size = sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif
								: sizeof(struct seccomp_notif);
	buf = calloc(1, size);
	if (!buf)
		return NULL;
	for (;;) {
		int k = epoll_wait(s->ep, ev, 32, s->nwaits ? SC_WAIT_CHECK_MS : -1);
		if (k < 0 && errno != EINTR)
			break;
		for (int i = 0; i < k; i++) {
			uint64_t tag = ev[i].data.u64;
			if (tag == SC_WAIT_MAX + 1)
				goto out;
			if (tag == SC_WAIT_MAX && (ev[i].events & EPOLLIN))
				notif_one(s, buf, size);
			else if (tag == SC_WAIT_MAX) /* every filtered process is gone */
				epoll_ctl(s->ep, EPOLL_CTL_DEL, s->listener, NULL);
			else if (s->waits[tag].tfd >= 0 && sc_wait_ready(s, &s->waits[tag]))
				wait_end(s, &s->waits[tag]);
		}
		if (s->nwaits && mono_us() - checked >= SC_WAIT_CHECK_MS * 1000ull) {
			waits_check(s);
			checked = mono_us();
		}
	}
out:
	free(buf);
	return NULL;
}

/* ---- the gate ------------------------------------------------------- */

static int gate_open(struct sc *s, const char *path)
{
	int r;
	if (!path || strlen(path) >= sizeof(s->chan.path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	pthread_mutex_init(&s->chan.mu, NULL);
	s->chan.fd = -1;
	strcpy(s->chan.path, path);
	s->gate_pid = trc_gate(&s->chan);
	if (s->gate_pid)
		return 0;
	r = trc_op(&s->chan, TRUN_HELLO, 0, 0, 0, 0, NULL, 0, NULL);
	errno = r < 0 ? -r : EPROTO;
	return -1;
}

int sc_gate(struct sc *s, struct trun_req *req, struct trun_rep *rep, int *fd)
{
	int r;
	/* trc_call returns the reply's ret, or -errno when the channel broke:
	 * a reply that never came leaves this mark */
	rep->ret = INT32_MIN;
	rep->len = 0;
	r = trc_call(&s->chan, req, rep, fd, 1);
	return r < 0 && rep->ret == INT32_MIN ? -1 : 0;
}
