/* The gate's insides, shared by gate.c (control channel, ids, the loop),
 * gate_tcp.c, gate_udp.c and gate_opt.c. */
#ifndef TAPIR_TOOLS_RUN_GATE_INT_H
#define TAPIR_TOOLS_RUN_GATE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>
#include <tapir/tcp.h>
#include <tapir/udp.h>

#include "gate.h"
#include "proto.h"
#include "relay.h"
#include <tapir/spin.h>

/* What an epoll entry of the gate's set is (the first field of each). */
enum gwatch { GW_LISTEN, GW_CTL, GW_SOCK, GW_RELAY };

struct gpersona;

enum gstate {
	GS_NEW,        /* TCP: unconnected (filled); UDP: any */
	GS_LISTEN,     /* TCP listener */
	GS_CONNECTING, /* TCP: the handshake runs */
	GS_FAILED,     /* TCP: the connect failed (SO_ERROR, TRUN_EOF tell) */
	GS_RELAY,      /* TCP: connected, relayed */
	GS_GONE,       /* TCP: the relay ended; a record kept for TRUN_EOF */
};

struct gsock {
	enum gwatch watch; /* GW_SOCK */
	struct gate *g;
	unsigned id;
	char kind;         /* TRUN_TCP, TRUN_UDP */
	int domain;        /* AF_INET, or AF_INET6 (IPv6, and IPv4 v4-mapped) */
	enum gstate state;
	int gfd;           /* the gate end (-1 once a relay owns or closed it) */
	struct tapir_tcp *t;
	struct tapir_udp *u;
	struct relay *relay;
	size_t fill;       /* filler bytes at the gate end, unread */
	int err;           /* positive errno for SO_ERROR / TRUN_EOF */
	bool queued, ready;
	struct gsock *rnext, *gnext; /* the ready list; the GS_GONE list */
	int backlog;
	struct tapir_ip laddr, paddr; /* kept for GS_GONE and UDP */
	bool v6only;       /* IPV6_V6ONLY (RFC 3493 5.3), for the core at bind */
	uint16_t lport, pport;
	/* options the core has no place for */
	bool reuseport, cork, keepalive;
	bool more; /* a MSG_MORE send is held (TRUN_TCP_MORE): corked as by cork */
	bool connect_pending; /* connected by a connect not yet reported so */
	/* TCP_FASTOPEN_CONNECT with a cookie cached (RFC 7413 4.2): connect
	 * said 0 and no SYN went yet; the gate hands the program's first
	 * bytes to tapir itself, so they leave on the SYN */
	bool tfo_defer;
	/* SO_REUSEPORT: sockets bound to one port share the tapir listener of
	 * the first (the lead; rp_lead NULL), which deals connections out to
	 * every listening one; the others chain from it by rp_next */
	struct gsock *rp_lead, *rp_next, *rp_turn;
	bool tlisten; /* t listens in tapir (a lead, perhaps not GS_LISTEN) */
	struct gpersona *persona; /* its run's scoped personalities, or NULL */
	uint16_t pe_port;         /* the port it counts there (0: none) */
	int rcvbuf, sndbuf, linger_on, linger_s;
	int rec_sndbuf; /* a listener's gate end: its SO_SNDBUF (records_size) */
};

struct gctl {
	enum gwatch watch; /* GW_CTL */
	int fd;
	unsigned pid;
	struct gpersona *persona; /* named in TRUN_HELLO: its sockets' */
	struct gpersona *owned;   /* made by its TRUN_PERSONA: a run's own */
	struct gctl *next, **pprev; /* the gate's list, so gate_stop closes them */
};

struct gate {
	enum gwatch watch; /* GW_LISTEN */
	struct tapir_net *net;
	struct tapir_stack *s;
	int ep, lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned pid;
	struct relay_loop *relays; /* its relays in EP (GW_RELAY) */
	struct gsock **socks; /* by id */
	unsigned cap, live;
	struct gsock *ready, **ready_tail;
	struct gsock *gone_head, *gone_tail; /* oldest first */
	unsigned ngone;
	unsigned rec_unit;    /* SIOCOUTQ of one accept record */
	struct gpersona *personas;
	unsigned persona_ids;
	struct gctl *ctls; /* the open control channels */
	bool debug;
	tapir_time_t now;
	/* busy-polling (spin.h): after a relay moved bytes the stack thread
	 * keeps turning, without sleeping, while an answer (the program's, or
	 * the peer's next request) is likely to come within the window */
	struct tapir_spin spin;
	uint64_t spin_moved; /* relay_loop_moved at the last turn's end */
	uint8_t buf[65536 + sizeof(struct trun_dgram)];
};

#define GATE_GONE_MAX 4096 /* GS_GONE records kept (the oldest go first) */

/* gate.c */
struct gsock *gate_sock_new(struct gate *g, char kind);
struct gsock *gate_sock_get(struct gate *g, unsigned id);
void gate_sock_free(struct gsock *gs);
void gate_sock_queue(struct gsock *gs);
int gate_watch(struct gate *g, int fd, uint32_t events, void *what, bool mod);
/* The socketpair of a new socket: *APP bound to its name; the gate end in
 * GS->gfd.  0 or -errno. */
int gate_pair(struct gsock *gs, int type, int *app);
void gate_log(const struct gate *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* gate_tcp.c */
int gtcp_socket(struct gsock *gs, int *app);
int gtcp_bind(struct gsock *gs, const struct tapir_ip *addr, uint16_t port);
int gtcp_listen(struct gsock *gs, int backlog);
int gtcp_connect(struct gsock *gs, const struct tapir_ip *addr, uint16_t port);
/* TRUN_TCP_TFO (proto.h): what a non-blocking send may give a Fast Open
 * connect still deferred or handshaking */
int gtcp_tfo_room(const struct gsock *gs);
int gtcp_shutdown(struct gsock *gs, int how);
int gtcp_eof(struct gsock *gs);
void gtcp_step(struct gsock *gs);          /* a tapir event or a gate end event */
void gtcp_hup(struct gsock *gs);           /* the app closed it */
void gtcp_names(struct gsock *gs);         /* refreshes laddr/lport/paddr/pport */
void gtcp_free(struct gsock *gs);

/* gate_udp.c */
int gudp_socket(struct gsock *gs, int *app);
int gudp_bind(struct gsock *gs, const struct tapir_ip *addr, uint16_t port);
int gudp_connect(struct gsock *gs, const struct tapir_ip *addr, uint16_t port, bool unspec);
void gudp_step(struct gsock *gs);
void gudp_free(struct gsock *gs);

/* gate_persona.c: personalities bending one run's connections */
/* TRUN_PERSONA on C: SPECS (LEN bytes, one a line) installed in a scope of
 * their own.  The persona's id, or -errno with a reason in REP's data. */
int gpersona_new(struct gate *g, struct gctl *c, const char *specs, size_t len,
		 struct trun_rep *rep);
void gpersona_attach(struct gate *g, struct gctl *c, unsigned id); /* TRUN_HELLO's */
void gpersona_ctl_gone(struct gctl *c);
void gpersona_sock(struct gsock *gs, struct gpersona *pe); /* GS is PE's run's */
void gpersona_hold(struct gsock *gs); /* its local port is bent from now on */
void gpersona_drop(struct gsock *gs); /* no longer */
/* GS's connection left the program: its closing is bent for a while yet */
void gpersona_drop_later(struct gsock *gs, tapir_time_t now);
void gpersona_tick(struct gate *g, tapir_time_t now); /* each turn */
void gpersona_sock_free(struct gsock *gs);

/* gate_opt.c */
int gate_setsockopt(struct gsock *gs, int level, int name, const void *val, size_t len);
int gate_getsockopt(struct gsock *gs, int level, int name, void *val, uint32_t *len);

#endif
