/* The built-in services of `tapir host --serve`: the classic small servers
 * of RFC 862 (echo), 863 (discard), 867 (daytime) and 864 (chargen), over
 * UDP.  They use only the public API, as any user program would. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

enum kind { ECHO, DISCARD, DAYTIME, CHARGEN };

static const struct {
	const char *name;
	uint16_t port;
} known[] = {
	[ECHO] = {"echo", 7},
	[DISCARD] = {"discard", 9},
	[DAYTIME] = {"daytime", 13},
	[CHARGEN] = {"chargen", 19},
};
#define NKINDS (sizeof(known) / sizeof(known[0]))

struct service {
	enum kind kind;
	struct tapir_udp *udp;
	bool readable;
};

struct services {
	struct service svc[NKINDS];
	size_t n;
	unsigned chargen_rot;
};

static void on_event(void *arg, unsigned ev)
{
	struct service *sv = arg;
	if (ev & TAPIR_EV_READ)
		sv->readable = true;
}

struct services *services_start(struct tapir_stack *s, const char *list, char *err,
				size_t errlen)
{
	struct services *all = calloc(1, sizeof(*all));
	char *copy = strdup(list), *save = NULL;

	if (!all || !copy) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t k;
		struct service *sv;
		int r;
		if (!strncmp(tok, "http", 4) && (tok[4] == 0 || tok[4] == '=')) {
			snprintf(err, errlen, "--serve %s: the http service needs TCP, which this "
					      "build does not have yet", tok);
			goto fail;
		}
		for (k = 0; k < NKINDS && strcmp(tok, known[k].name); k++)
			;
		if (k == NKINDS) {
			snprintf(err, errlen, "--serve: unknown service '%s' (echo, discard, "
					      "daytime, chargen)", tok);
			goto fail;
		}
		for (size_t i = 0; i < all->n; i++)
			if (all->svc[i].kind == (enum kind)k) {
				snprintf(err, errlen, "--serve: '%s' named twice", tok);
				goto fail;
			}
		sv = &all->svc[all->n++];
		sv->kind = (enum kind)k;
		sv->udp = tapir_udp_new(s);
		if (!sv->udp || (r = tapir_udp_bind(sv->udp, 0, known[k].port)) < 0) {
			snprintf(err, errlen, "--serve %s: cannot bind UDP port %u", tok,
				 known[k].port);
			goto fail;
		}
		tapir_udp_set_event(sv->udp, on_event, sv);
	}
	free(copy);
	return all;
fail:
	free(copy);
	services_stop(all);
	return NULL;
}

/* RFC 864: the 95 printable characters, rotating by one per line */
static size_t chargen_fill(struct services *all, char *buf, size_t len)
{
	size_t n = 0;
	unsigned start = all->chargen_rot++ % 95;
	while (n + 74 <= len) {
		for (int i = 0; i < 72; i++)
			buf[n++] = (char)(' ' + (start + (unsigned)i) % 95);
		buf[n++] = '\r';
		buf[n++] = '\n';
		start = (start + 1) % 95;
	}
	return n;
}

void services_run(struct services *all, tapir_time_t now)
{
	static uint8_t buf[65536];
	for (size_t i = 0; all && i < all->n; i++) {
		struct service *sv = &all->svc[i];
		uint32_t from;
		uint16_t port;
		long n;
		if (!sv->readable)
			continue;
		sv->readable = false;
		while ((n = tapir_udp_recvfrom(sv->udp, buf, sizeof(buf), &from, &port)) >= 0) {
			size_t out = 0;
			switch (sv->kind) {
			case ECHO: /* RFC 862: send back the data received */
				out = (size_t)n;
				break;
			case DISCARD: /* RFC 863 */
				continue;
			case DAYTIME: { /* RFC 867: the time as a human-readable line */
				time_t t = time(NULL);
				struct tm tm;
				localtime_r(&t, &tm);
				out = strftime((char *)buf, sizeof(buf),
					       "%A, %B %d, %Y %H:%M:%S-%Z\r\n", &tm);
				break;
			}
			case CHARGEN: /* RFC 864 (UDP): a datagram of up to 512 characters */
				out = chargen_fill(all, (char *)buf, 74 * 6);
				break;
			}
			tapir_udp_sendto(sv->udp, buf, out, from, port, now);
		}
	}
}

void services_stop(struct services *all)
{
	if (!all)
		return;
	for (size_t i = 0; i < all->n; i++)
		if (all->svc[i].udp)
			tapir_udp_free(all->svc[i].udp);
	free(all);
}
