/* --banners (banner.c, banner_tls.c): what an open port's service says. */
#ifndef TAPIR_CHECK_BANNER_H
#define TAPIR_CHECK_BANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* bytes read from one connection at most (a TLS server's first flight
 * with its certificate chain fits) */
#define BANNER_MAX 16384

/* what a connection sends first, by port */
enum banner_kind { BK_LINE, BK_HTTP, BK_TLS };

struct banner_tls {
	uint16_t version; /* the ServerHello's */
	bool have_cert, have_alert, bad;
	uint8_t alert;
	char subject[256], issuer[256]; /* "CN=..., O=..." in the certificate's order */
};

/* A ClientHello offering TLS 1.2, with SNI when SNI is not NULL, into OUT;
 * its length, 0 when CAP (at least 512) is too small or SNI too long. */
size_t banner_tls_hello(uint8_t *out, size_t cap, const char *sni, const uint8_t random[32]);
/* Reads the server's records P[0..N) into *R: 1 when there is an answer
 * (the certificate, an alert, or not TLS), 0 while more is needed. */
int banner_tls_parse(const uint8_t *p, size_t n, struct banner_tls *r);

#endif
