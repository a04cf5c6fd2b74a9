/* The socket layer's private header: the net, its stack thread (the
 * "runner", which a memlink pair shares), and the socket table. */
#ifndef TAPIR_API_INT_H
#define TAPIR_API_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <tapir/link.h>
#include <tapir/socket.h>
#include <tapir/spin.h>
#include <tapir/stack.h>
#include <tapir/tcp.h>
#include <tapir/udp.h>

struct tapir_net;

/* A thread blocked in a call on a socket.  The record lives on that
 * thread's stack and is linked on the socket only while it waits, so an
 * idle socket holds no condition variable, and an event signals only the
 * threads waiting for it.  Guarded by the runner's mutex, but PINNED. */
struct sock_waiter {
	struct sock_waiter *next;   /* the socket's other waiters */
	struct sock_waiter *wnext;  /* the runner's waiters to signal */
	int efd;                    /* >= 0: waits in ppoll on this eventfd
				     * (poll.c sock_wait_fd), not on COND */
	bool queued;                /* on the runner's list (rt->wake) */
	/* the stack thread signals COND after it let go of the mutex: the
	 * waiter may not leave (and free COND) until it is done */
	atomic_bool pinned;
	pthread_cond_t cond;
};

/* One stack thread and the mutex that guards every core call it or any
 * application thread makes.  A pair of nets over one memlink shares one. */
struct net_runner {
	pthread_mutex_t lock;
	pthread_cond_t poll_cond;   /* tapir_poll waiters; signalled by any event */
	unsigned pollers;           /* threads waiting on poll_cond */
	pthread_t thread;
	bool running, stop;
	bool sleeping;              /* the stack thread is (about to be) in ppoll */
	tapir_time_t sleep_until;   /* ... until this deadline */
	bool defer;                 /* the stack thread holds the mutex: events are
				     * collected in WAKE and signalled when it lets
				     * go (runner_release) */
	struct sock_waiter *wake;   /* waiters of sockets that had an event: at
				     * most one entry per waiting thread */
	bool wake_pollers;
	bool fd_waiter;             /* an application thread waits on the driver's fd */
	int efd;                    /* eventfd: wakes the stack thread */
	tapir_time_t last_now;      /* time never goes back across threads */
	struct tapir_net *nets[2];
	int nnets, refs;
	/* the driver: a memlink shared by nets[0] and nets[1], or one fd driver */
	struct tapir_memlink *ml;
	struct tapir_net_driver drv;
	uint8_t *frame;             /* receive buffer for the fd driver */
	int link_err;               /* the fd driver's fatal error (errno), 0 while it
				     * works: then its fd is no longer polled */
	/* busy-polling (tapir_net_set_busy_poll, tapir/spin.h) */
	struct tapir_spin spin;
	uint64_t rx_bytes;          /* bytes of frames taken in, ever */
};

/* An api socket, allocated when its descriptor is made and freed when the
 * last call on it leaves after close.  Guarded by the runner's mutex. */
struct sock {
	struct tapir_net *net;
	struct tapir_tcp *tcp;      /* NULL once handed back to the core */
	struct tapir_udp *udp;
	struct sock_waiter *waiters; /* threads blocked on it (poll.c) */
	tapir_time_t rcvtimeo, sndtimeo; /* microseconds, 0: forever */
	int fd;                     /* its descriptor: net->socks[fd] */
	int type;                   /* SOCK_STREAM or SOCK_DGRAM */
	int refs;                   /* calls in progress; freed at 0 once closing */
	int linger_sec;
	int rcvbuf, sndbuf;         /* as asked for (UDP: rcvbuf applied) */
	int family;                 /* AF_INET or AF_INET6 */
	struct tapir_ip udp_raddr;
	uint16_t udp_rport;
	bool closing;               /* close() began: no new calls may find it */
	bool nonblock;
	bool quick;                 /* its last wait ended within FD_WAIT_US */
	bool linger_on, reuseaddr, keepalive;
	bool udp_connected, shut_rd, shut_wr;
	bool udp_v6only;            /* IPV6_V6ONLY, as set on the core's socket */
};

struct tapir_net {
	struct net_runner *rt;
	struct tapir_stack *stack;
	struct tapir_link *link;
	unsigned mtu;
	int ifindex;                /* -1 until tapir_net_add_iface */
	bool started;
	tapir_net_filter_fn filter;
	void *filter_arg;
	/* the descriptor table: a pointer per descriptor (NULL: free), grown
	 * by doubling up to MAX_SOCKS, the user's limit (RLIMIT_NOFILE's part) */
	struct sock **socks;
	unsigned nsocks;            /* its length */
	unsigned max_socks;         /* descriptors are below this: else EMFILE */
	unsigned low_free;          /* no free descriptor below this one */
	/* service.c: what runs on the stack thread after each turn, and the
	 * kernel descriptors it waits on besides the driver's */
	struct net_service {
		tapir_net_service_fn fn;
		void *arg;
		int fd;             /* -1: none */
	} services[TAPIR_NET_MAX_SERVICES];
	int nservices;
};

/* net.c, called with the runner's mutex held */
tapir_time_t net_now(struct tapir_net *net);
/* After a core call that may have queued output or moved a deadline. */
void net_wake(struct tapir_net *net);
/* CLOCK_MONOTONIC in microseconds. */
tapir_time_t net_mono_us(void);
/* Reads what the driver has and hands it to the core (mutex held): what a
 * thread waiting on the driver's fd does when it is readable. */
void net_rx_drain(struct tapir_net *net);
/* service.c: runs NET's services, if any (stack thread, mutex held); returns
 * the deadline they and their core calls set. */
tapir_time_t net_service_run(struct tapir_net *net, tapir_time_t now);
/* Appends to PFD (room for TAPIR_NET_MAX_SERVICES more) the descriptors
 * NET's services wait on; returns how many it added. */
int net_service_fds(struct tapir_net *net, struct pollfd *pfd);

/* sock.c: the socket table */
void socks_init(struct tapir_net *net);
void socks_fini(struct tapir_net *net);
/* The core's event callback for a socket (tapir_tcp/udp_set_event). */
void sock_event(void *arg, unsigned events);
/* Wakes every thread waiting for S, and every poller (mutex held). */
void sock_wake(struct sock *s);
/* Links W on S / unlinks it (mutex held); unlinking waits until the stack
 * thread is done signalling W (its PINNED). */
void sock_waiter_add(struct sock *s, struct sock_waiter *w);
void sock_waiter_del(struct sock *s, struct sock_waiter *w);
/* runner_release's two halves: before the unlock, takes RT's list of
 * waiters to signal (writing the eventfd of those in ppoll) and returns
 * those on a condition variable; after it, signals them. */
struct sock_waiter *sock_wake_collect(struct net_runner *rt);
void sock_wake_signal(struct sock_waiter *w);
/* Sets errno to ERR and returns -1. */
int api_fail(int err);
/* Takes the mutex and pins FD: the socket is not freed until sock_leave;
 * NULL (errno EBADF, or EINVAL without a net; mutex released) if FD is not
 * an open socket of NET. */
struct sock *sock_enter(struct tapir_net *net, int fd);
/* Unpins S and lets go of the mutex. */
void sock_leave(struct sock *s);
/* Returns R (>= 0) after sock_leave, or -1 with errno -R. */
int sock_leave_ret(struct sock *s, int r);
ssize_t sock_leave_len(struct sock *s, ssize_t r); /* the same for a length */
/* The lowest free descriptor of NET (mutex held), the table grown to hold
 * it; -EMFILE at the net's limit, -ENOMEM.  Nothing is reserved: install
 * a socket there before letting go of the mutex. */
int sock_alloc(struct tapir_net *net);
/* A zeroed socket (NULL: no memory), and putting it at FD (mutex held). */
struct sock *sock_new(void);
void sock_install(struct tapir_net *net, int fd, struct sock *s);
/* The open socket FD of NET, not pinned (mutex held), or NULL. */
struct sock *sock_find(struct tapir_net *net, int fd);
/* SA (a sockaddr_in, or a sockaddr_in6 for an AF_INET6 socket S) to an
 * address of either family: 0, -EINVAL or -EAFNOSUPPORT. */
int sock_addr_in(const struct sock *s, const struct sockaddr *sa, socklen_t len,
		 struct tapir_ip *addr, uint16_t *port);
/* ADDR as S's family names it (AF_INET6: IPv4 v4-mapped); POSIX: fills at
 * most *LEN bytes and sets *LEN to the full size. */
void sock_addr_out(const struct sock *s, struct sockaddr *sa, socklen_t *len,
		   const struct tapir_ip *addr, uint16_t port);

/* poll.c: waiting, all with the mutex held */
/* *TS = CLOCK_MONOTONIC now + US. */
void sock_deadline_after(struct timespec *ts, tapir_time_t us);
/* How long one call may wait, over all its waits. */
struct sock_blocking {
	bool nb;                    /* not at all (O_NONBLOCK, MSG_DONTWAIT) */
	tapir_time_t timeo;         /* SO_RCVTIMEO or SO_SNDTIMEO (us), 0: forever */
	struct timespec ts;         /* the deadline, set at the first wait ... */
	const struct timespec *dl;  /* ... when DL becomes &TS (NULL before) */
};
/* One wait of a call that has nothing to do yet: 0 to try again, or what
 * the call fails with: -EAGAIN at once when it may not block, or once its
 * time, counted from its first wait, has run out (UNP 14.2); -EBADF when
 * the socket was closed meanwhile. */
int sock_block(struct sock *s, struct sock_blocking *b);
/* Waits on a condition variable of this thread's until an event on S or
 * DEADLINE (NULL: none): pthread_cond_timedwait's 0 or ETIMEDOUT. */
int sock_wait_cond(struct sock *s, const struct timespec *deadline);

#endif
