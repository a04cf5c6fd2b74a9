/* The built-in services of `tapir host --serve`: the classic small servers
 * of RFC 862 (echo), 863 (discard), 867 (daytime) and 864 (chargen), over
 * TCP and UDP, and a static HTTP server (http.c).  They use only the public
 * socket API (include/tapir/socket.h), the way Unix Network Programming
 * writes servers: one thread accepts, one thread serves each connection. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "personalities/personality.h" /* tapir_services_accept_delay_ms */
#include "host.h"

enum kind { ECHO, DISCARD, DAYTIME, CHARGEN, HTTP };

static const struct {
	const char *name;
	uint16_t port;
	bool udp;
} known[] = {
	[ECHO] = {"echo", 7, true},       [DISCARD] = {"discard", 9, true},
	[DAYTIME] = {"daytime", 13, true}, [CHARGEN] = {"chargen", 19, true},
	[HTTP] = {"http", 80, false},
};
#define NKINDS (sizeof(known) / sizeof(known[0]))
#define MAX_CONNS 1000 /* connection threads at once; more are refused */

struct service {
	struct services *all;
	enum kind kind;
	int tcp_fd, udp_fd;
	pthread_t tcp_thread, udp_thread;
};

struct services {
	struct tapir_net *net;
	struct service svc[NKINDS];
	size_t n;
	char *http_root;
	atomic_int conns;
	atomic_uint chargen_rot;
};

struct conn {
	struct service *svc;
	int fd;
};

static int listen_on(struct tapir_net *net, int type, uint16_t port, char *err, size_t errlen,
		     const char *name)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = tapir_socket(net, AF_INET, type, 0), one = 1;
	if (fd < 0) {
		snprintf(err, errlen, "--serve %s: socket: %s", name, strerror(errno));
		return -1;
	}
	tapir_setsockopt(net, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (tapir_bind(net, fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (type == SOCK_STREAM && tapir_listen(net, fd, 128) < 0)) {
		snprintf(err, errlen, "--serve %s: cannot use %s port %u: %s", name,
			 type == SOCK_STREAM ? "TCP" : "UDP", port, strerror(errno));
		tapir_close(net, fd);
		return -1;
	}
	return fd;
}

/* RFC 864: the 95 printable ASCII characters, 72 to a line, each line
 * starting one character further on: a cycle of 95 lines (7030 bytes).
 * Made once, long enough that CHARGEN_SEND bytes of whole lines can be
 * sent straight from it starting at any line. */
#define CHARGEN_LINE 74
#define CHARGEN_SEND (885 * CHARGEN_LINE) /* just under 64 KiB */
static char chargen_text[94 * CHARGEN_LINE + CHARGEN_SEND];
static pthread_once_t chargen_once = PTHREAD_ONCE_INIT;

static void chargen_init(void)
{
	for (size_t line = 0, n = 0; n + CHARGEN_LINE <= sizeof(chargen_text); line++) {
		for (unsigned i = 0; i < 72; i++)
			chargen_text[n++] = (char)(' ' + (line + i) % 95);
		chargen_text[n++] = '\r';
		chargen_text[n++] = '\n';
	}
}

/* The next CHARGEN_SEND bytes of the stream from line *ROT on. */
static const char *chargen_lines(unsigned *rot)
{
	const char *p = chargen_text + (size_t)(*rot % 95) * CHARGEN_LINE;
	*rot += CHARGEN_SEND / CHARGEN_LINE;
	return p;
}

/* RFC 867 leaves the format open; this is its suggested one. */
static size_t daytime_line(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	return strftime(buf, len, "%A, %B %d, %Y %H:%M:%S-%Z\r\n", &tm);
}

static bool send_all(struct tapir_net *net, int fd, const void *buf, size_t len)
{
	return tapir_send(net, fd, buf, len, 0) == (ssize_t)len;
}

static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	struct service *sv = c->svc;
	struct tapir_net *net = sv->all->net;
	char buf[65536]; /* as much per call as a receive window holds */
	ssize_t n;

	switch (sv->kind) {
	case ECHO: /* RFC 862: send back what arrives, until the client closes */
		while ((n = tapir_recv(net, c->fd, buf, sizeof(buf), 0)) > 0)
			if (!send_all(net, c->fd, buf, (size_t)n))
				break;
		break;
	case DISCARD: /* RFC 863 */
		while (tapir_recv(net, c->fd, buf, sizeof(buf), 0) > 0)
			;
		break;
	case DAYTIME: /* RFC 867: one line, then close */
		send_all(net, c->fd, buf, daytime_line(buf, sizeof(buf)));
		break;
	case CHARGEN: { /* RFC 864: characters until the client closes */
		unsigned rot = atomic_fetch_add(&sv->all->chargen_rot, 1);
		pthread_once(&chargen_once, chargen_init);
		while (send_all(net, c->fd, chargen_lines(&rot), CHARGEN_SEND))
			;
		break;
	}
	case HTTP:
		http_serve(net, c->fd, sv->all->http_root);
		break;
	}
	tapir_close(net, c->fd);
	atomic_fetch_sub(&sv->all->conns, 1);
	free(c);
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct service *sv = arg;
	struct tapir_net *net = sv->all->net;
	for (;;) {
		int fd;
		struct conn *c;
		pthread_t th;
		/* the slow-accept personality: an application slow to drain its
		 * accept queue, so that the backlog fills (UNP 4.5) */
		unsigned delay = atomic_load(&tapir_services_accept_delay_ms);
		if (delay)
			nanosleep(&(struct timespec){delay / 1000, (long)(delay % 1000) * 1000000}, NULL);
		fd = tapir_accept(net, sv->tcp_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			return NULL; /* the listener is gone */
		}
		c = malloc(sizeof(*c));
		if (!c || atomic_fetch_add(&sv->all->conns, 1) >= MAX_CONNS) {
			/* too many: refuse this one rather than fall over */
			if (c)
				atomic_fetch_sub(&sv->all->conns, 1);
			free(c);
			tapir_close(net, fd);
			continue;
		}
		c->svc = sv;
		c->fd = fd;
		if (pthread_create(&th, NULL, serve_conn, c)) {
			atomic_fetch_sub(&sv->all->conns, 1);
			tapir_close(net, fd);
			free(c);
			continue;
		}
		pthread_detach(th);
	}
}

static void *udp_loop(void *arg)
{
	struct service *sv = arg;
	struct tapir_net *net = sv->all->net;
	static _Thread_local char buf[65536];
	for (;;) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		size_t out = 0;
		unsigned rot;
		ssize_t n = tapir_recvfrom(net, sv->udp_fd, buf, sizeof(buf), 0,
					   (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNREFUSED)
				continue;
			return NULL;
		}
		switch (sv->kind) {
		case ECHO: out = (size_t)n; break;
		case DISCARD: continue;
		case DAYTIME: out = daytime_line(buf, sizeof(buf)); break;
		case CHARGEN: /* RFC 864 (UDP): up to 512 characters per answer */
			rot = atomic_fetch_add(&sv->all->chargen_rot, 1);
			pthread_once(&chargen_once, chargen_init);
			out = 6 * CHARGEN_LINE;
			memcpy(buf, chargen_lines(&rot), out);
			break;
		case HTTP: continue;
		}
		tapir_sendto(net, sv->udp_fd, buf, out, 0, (struct sockaddr *)&from, flen);
	}
}

struct services *services_start(struct tapir_net *net, const char *list, char *err,
				size_t errlen)
{
	struct services *all = calloc(1, sizeof(*all));
	char *copy = strdup(list), *save = NULL;

	if (!all || !copy) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	all->net = net;
	/* first parse everything, so a bad list starts nothing */
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t k;
		char *eq = strchr(tok, '=');
		if (eq)
			*eq = 0;
		for (k = 0; k < NKINDS && strcmp(tok, known[k].name); k++)
			;
		if (k == NKINDS) {
			snprintf(err, errlen, "--serve: unknown service '%s' (echo, discard, daytime, "
					      "chargen, http=DIR)", tok);
			goto fail;
		}
		if ((k == HTTP) != (eq != NULL)) {
			snprintf(err, errlen, k == HTTP ? "--serve: http needs a directory: http=DIR"
							: "--serve: %s takes no argument", tok);
			goto fail;
		}
		for (size_t i = 0; i < all->n; i++)
			if (all->svc[i].kind == (enum kind)k) {
				snprintf(err, errlen, "--serve: '%s' named twice", tok);
				goto fail;
			}
		if (k == HTTP) {
			struct stat st;
			if (stat(eq + 1, &st) < 0 || !S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "--serve http=%s: not a directory", eq + 1);
				goto fail;
			}
			all->http_root = realpath(eq + 1, NULL);
		}
		all->svc[all->n].kind = (enum kind)k;
		all->svc[all->n].all = all;
		all->svc[all->n].tcp_fd = all->svc[all->n].udp_fd = -1;
		all->n++;
	}
	for (size_t i = 0; i < all->n; i++) {
		struct service *sv = &all->svc[i];
		const char *name = known[sv->kind].name;
		sv->tcp_fd = listen_on(net, SOCK_STREAM, known[sv->kind].port, err, errlen, name);
		if (sv->tcp_fd < 0)
			goto fail;
		if (known[sv->kind].udp &&
		    (sv->udp_fd = listen_on(net, SOCK_DGRAM, known[sv->kind].port, err, errlen,
					    name)) < 0)
			goto fail;
	}
	for (size_t i = 0; i < all->n; i++) {
		struct service *sv = &all->svc[i];
		if (pthread_create(&sv->tcp_thread, NULL, accept_loop, sv) ||
		    (sv->udp_fd >= 0 && pthread_create(&sv->udp_thread, NULL, udp_loop, sv))) {
			snprintf(err, errlen, "cannot start a thread");
			goto fail; /* the process exits on this error */
		}
	}
	free(copy);
	return all;
fail:
	free(copy);
	if (all)
		free(all->http_root);
	free(all);
	return NULL;
}
