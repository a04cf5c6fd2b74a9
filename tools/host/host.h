/* tapir host: the userspace host on a TAP device, its built-in services and
 * its control socket (control.h). */
#ifndef TAPIR_TOOLS_HOST_H
#define TAPIR_TOOLS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <tapir/socket.h>
#include <tapir/tapir.h>

/* ---- host.c: `tapir run` reuses the host's set-up through this hook.
 * When set, cmd_host prints no ready line, calls START once the stack
 * answers (the gate listening), then TICK from its loop (after every
 * signal, at least once a second) until TICK returns true, and exits with
 * STATUS. ---- */
struct host_hook {
	void (*start)(void *arg, struct tapir_net *net);
	bool (*tick)(void *arg);
	void *arg;
	int status;
	struct gate *gate; /* set by cmd_host */
};
extern struct host_hook *host_hook;

/* ---- services.c: the built-in services, one event loop on the stack
 * thread (tapir_net_set_service) over the core's own TCP and UDP API ---- */
struct services;
/* LIST is INTERFACE.md's --serve list; opens the listeners and hands the
 * loop to NET's stack thread, or returns NULL with a one-line reason in
 * ERR.  Call before tapir_net_start or with the net running. */
struct services *services_start(struct tapir_net *net, const char *list, char *err,
				size_t errlen);

/* A served TCP connection, as the loop and http.c share it. */
struct http;
struct conn {
	struct service *sv;
	struct tapir_tcp *t;
	struct conn *rnext;          /* the loop's list of connections with events */
	struct conn *iprev, *inext;  /* the idle list (HTTP waiting for a request) */
	tapir_time_t idle_at;        /* ... and when it is closed for idling */
	bool queued, dead, idle_listed;
	uint32_t chargen_off;        /* where in RFC 864's cycle the stream is */
	uint8_t *pend;               /* echo: received, not yet taken by the send */
	uint32_t pend_len, pend_off; /*   buffer (allocated only when it is full) */
	struct http *http;
};

/* What C's send buffer takes now, at most CAP: 0 when it is full. */
size_t conn_room(const struct conn *c, size_t cap);

/* ---- http.c: HTTP/1.1 on a connection of the loop ---- */
#define HTTP_IDLE TAPIR_SEC(30) /* a keep-alive connection may idle this long */
enum http_wait {
	HTTP_CLOSE,   /* done (or failed): close the connection */
	HTTP_READING, /* waiting for (more of) a request: the idle timer runs */
	HTTP_SENDING, /* waiting for room in the send buffer */
};
struct http *http_new(void);
void http_free(struct http *h);
/* Moves C's HTTP exchange as far as it can go now, serving the files below
 * ROOT; SCRATCH (CAP bytes) is the loop's buffer. */
enum http_wait http_step(struct conn *c, const char *root, tapir_time_t now, uint8_t *scratch,
			 size_t cap);

#endif
