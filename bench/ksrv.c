/* ksrv — the Linux kernel's side of `make bench`: one thread, epoll, the
 * same three services every stack under test offers:
 *   7  echo     (sends back what arrives)
 *   9  discard  (reads and drops; also holds idle connections)
 *   19 source   (sends a constant buffer until the client closes)
 * Runs until SIGTERM/SIGINT.
 *
 *   ksrv [PROCS]   PROCS processes (default 1), each with its own listeners
 *                  (SO_REUSEPORT spreads the connections): one process
 *                  holds at most RLIMIT_NOFILE's hard limit of sockets, and
 *                  the bench's 100,000 idle connections need several. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

enum kind { ECHO, DISCARD, SOURCE };
static const uint16_t ports[] = {7, 9, 19};

struct conn {
	int fd;
	enum kind kind;
	bool listener;
	struct pend pend; /* echo: what a send left over (pend_keep) */
};

static char src[262144];

static char sink[262144];
static uint8_t ebuf[PEND_CAP]; /* echo: received, sent at once */

static void drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pend.buf);
	free(c);
}

static void want(int ep, struct conn *c, uint32_t events)
{
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &(struct epoll_event){.events = events, .data.ptr = c});
}

/* Level-triggered: one recv or a few sends per wake-up. */
static void serve(int ep, struct conn *c, uint32_t ev)
{
	ssize_t n, sent;
	if (c->kind == SOURCE) {
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
			n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				drop(ep, c);
				return;
			}
		}
		for (int i = 0; i < 4; i++) {
			n = send(c->fd, src, sizeof(src), MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0) {
				if (errno != EAGAIN)
					drop(ep, c);
				return;
			}
		}
		return;
	}
	if (c->kind == ECHO && c->pend.len) {
		n = send(c->fd, c->pend.buf + c->pend.off, c->pend.len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN)
				drop(ep, c);
			return;
		}
		if (pend_sent(&c->pend, (size_t)n))
			want(ep, c, EPOLLIN);
		return;
	}
	n = recv(c->fd, c->kind == ECHO ? ebuf : (uint8_t *)sink,
		 c->kind == ECHO ? sizeof(ebuf) : sizeof(sink), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		drop(ep, c);
		return;
	}
	if (n < 0 || c->kind != ECHO)
		return;
	sent = send(c->fd, ebuf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if ((sent < 0 && errno != EAGAIN) ||
	    !pend_keep(&c->pend, ebuf, (size_t)n, sent > 0 ? (size_t)sent : 0)) {
		drop(ep, c);
		return;
	}
	if (c->pend.len)
		want(ep, c, EPOLLOUT);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct epoll_event evs[256];
	int ep, one = 1, procs = argc > 1 ? atoi(argv[1]) : 1, nkids = 0;
	pid_t kids[64];
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max; /* the hard limit: beyond it needs CAP_SYS_RESOURCE */
	setrlimit(RLIMIT_NOFILE, &rl);
	bench_catch_signals();
	for (int i = 1; i < procs && i < 64; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("ksrv: fork");
			return 1;
		}
		if (pid == 0) { /* ends with its parent, whatever ends that */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() == 1)
				return 0;
			nkids = 0;
			break;
		}
		kids[nkids++] = pid;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	memset(src, 'x', sizeof(src));
	for (int k = 0; k < 3; k++) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(ports[k])};
		struct conn *l = calloc(1, sizeof(*l));
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (procs > 1)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (!l || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4096) < 0) {
			perror("ksrv: listen");
			return 1;
		}
		l->fd = fd;
		l->kind = (enum kind)k;
		l->listener = true;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = l});
	}
	printf("ready\n");
	fflush(stdout);
	while (!bench_stop) {
		int n = epoll_wait(ep, evs, 256, 200);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->listener) {
				for (int j = 0; j < 256; j++) {
					int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					struct conn *nc;
					if (fd < 0)
						break;
					if (!(nc = malloc(sizeof(*nc)))) {
						close(fd);
						continue;
					}
					nc->fd = fd;
					nc->kind = c->kind;
					nc->listener = false;
					nc->pend = (struct pend){NULL, 0, 0}; /* (pend_keep) */
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					epoll_ctl(ep, EPOLL_CTL_ADD, fd,
						  &(struct epoll_event){
							  .events = EPOLLIN |
								    (nc->kind == SOURCE ? EPOLLOUT : 0u),
							  .data.ptr = nc});
				}
				continue;
			}
			serve(ep, c, evs[i].events);
		}
	}
	/* the listeners gone with the children before the next server starts */
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGTERM);
	for (int i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	return 0;
}
