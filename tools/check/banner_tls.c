/* --banners on TLS ports: a TLS 1.2 ClientHello (RFC 5246 7.4.1.2), and
 * the leaf certificate's subject and issuer read from the server's
 * Certificate message (RFC 5246 7.4.2), which TLS 1.2 sends in clear (TLS
 * 1.3 encrypts it, RFC 8446 4.4.2, so 1.3 is not offered).  No TLS
 * library: only the records and the DER of the Names are read, every
 * length checked against what is there (the input is the network's). */
#include <stdio.h>
#include <string.h>

#include <tapir/wire.h>

#include "banner.h"

/* RFC 5246 6.2.1 / 7.4 */
#define TLS_HANDSHAKE 22
#define TLS_ALERT 21
#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_CERTIFICATE 11
#define HS_SERVER_HELLO_DONE 14

static size_t put16(uint8_t *p, unsigned v)
{
	tapir_put16(p, (uint16_t)v);
	return 2;
}

static void put24(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static size_t get24(const uint8_t *p)
{
	return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
}

size_t banner_tls_hello(uint8_t *out, size_t cap, const char *sni, const uint8_t random[32])
{
	/* common suites of TLS 1.2 clients: ECDHE with AES-GCM and ChaCha20
	 * (RFC 5289, RFC 7905), then RSA key exchange, then the renegotiation
	 * SCSV (RFC 5746 3.3) */
	static const uint16_t suites[] = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
					  0xc014, 0x009c, 0x009d, 0x002f, 0x0035, 0x00ff};
	/* RFC 8446 4.2.3 names; TLS 1.2 reads the same code points (RFC 5246 7.4.1.4.1) */
	static const uint16_t sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806,
					   0x0401, 0x0501, 0x0601, 0x0201};
	static const uint16_t groups[] = {0x001d, 0x0017, 0x0018}; /* x25519, P-256, P-384 */
	size_t sl = sni ? strlen(sni) : 0, n = 0, ext, i;
	uint8_t *p = out;
	if (sl > 255 || cap < 512)
		return 0;
	p[n++] = TLS_HANDSHAKE;
	n += put16(p + n, 0x0301); /* record version: 1.0, as clients send (RFC 5246 E.1) */
	n += 2;                    /* record length, below */
	p[n++] = HS_CLIENT_HELLO;
	n += 3; /* handshake length */
	n += put16(p + n, 0x0303); /* client_version: TLS 1.2 */
	memcpy(p + n, random, 32);
	n += 32;
	p[n++] = 0; /* no session id */
	n += put16(p + n, (unsigned)(sizeof(suites) / 2 * 2));
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		n += put16(p + n, suites[i]);
	p[n++] = 1; /* compression: null only */
	p[n++] = 0;
	ext = n;
	n += 2;
	if (sl) { /* server_name, RFC 6066 3 */
		n += put16(p + n, 0x0000);
		n += put16(p + n, (unsigned)(sl + 5));
		n += put16(p + n, (unsigned)(sl + 3));
		p[n++] = 0; /* host_name */
		n += put16(p + n, (unsigned)sl);
		memcpy(p + n, sni, sl);
		n += sl;
	}
	n += put16(p + n, 0x000a); /* supported_groups, RFC 8422 5.1.1 */
	n += put16(p + n, (unsigned)(sizeof(groups) + 2));
	n += put16(p + n, (unsigned)sizeof(groups));
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		n += put16(p + n, groups[i]);
	n += put16(p + n, 0x000b); /* ec_point_formats: uncompressed, RFC 8422 5.1.2 */
	n += put16(p + n, 2);
	p[n++] = 1;
	p[n++] = 0;
	n += put16(p + n, 0x000d); /* signature_algorithms, RFC 5246 7.4.1.4.1 */
	n += put16(p + n, (unsigned)(sizeof(sigalgs) + 2));
	n += put16(p + n, (unsigned)sizeof(sigalgs));
	for (i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		n += put16(p + n, sigalgs[i]);
	put16(p + ext, (unsigned)(n - ext - 2));
	put16(p + 3, (unsigned)(n - 5));
	put24(p + 6, n - 9);
	return n;
}

/* One DER TLV at *OFF in P[0..N) (X.690 8.1): its tag, value and length;
 * *OFF moves past it.  -1 when it does not fit or is not DER we take
 * (indefinite or over-long lengths, multi-byte tags). */
static int der_next(const uint8_t *p, size_t n, size_t *off, uint8_t *tag, const uint8_t **val,
		    size_t *len)
{
	size_t o = *off, l;
	if (o + 2 > n || (p[o] & 0x1f) == 0x1f)
		return -1;
	*tag = p[o++];
	l = p[o++];
	if (l & 0x80) {
		unsigned k = l & 0x7f;
		if (k == 0 || k > 3 || o + k > n)
			return -1;
		for (l = 0; k--;)
			l = l << 8 | p[o++];
	}
	if (l > n - o)
		return -1;
	*val = p + o;
	*len = l;
	*off = o + l;
	return 0;
}

/* Appends "KEY=VALUE" to OUT (", " between), the value's bytes printable. */
static void name_add(char *out, size_t cap, const char *key, const uint8_t *v, size_t l)
{
	size_t n = strlen(out);
	if (n && n + 2 < cap) {
		memcpy(out + n, ", ", 3);
		n += 2;
	}
	int k = snprintf(out + n, cap - n, "%s=", key);
	if (k < 0 || (size_t)k >= cap - n)
		return;
	n += (size_t)k;
	for (size_t i = 0; i < l && n + 1 < cap; i++)
		out[n++] = (v[i] >= 0x20 && v[i] < 0x7f) ? (char)v[i] : '.';
	out[n < cap ? n : cap - 1] = 0;
}

/* A Name (RFC 5280 4.1.2.4): SEQUENCE OF SET OF {OID, value}; its CN
 * (2.5.4.3) and O (2.5.4.10), in the certificate's order. */
static int der_name(const uint8_t *p, size_t n, char *out, size_t cap)
{
	static const uint8_t cn[] = {0x55, 0x04, 0x03}, o[] = {0x55, 0x04, 0x0a};
	size_t off = 0;
	out[0] = 0;
	while (off < n) {
		const uint8_t *set, *atv, *oid, *val;
		size_t sl, al, ol, vl, so = 0;
		uint8_t tag;
		if (der_next(p, n, &off, &tag, &set, &sl) || tag != 0x31)
			return -1;
		while (so < sl) {
			size_t ao = 0;
			if (der_next(set, sl, &so, &tag, &atv, &al) || tag != 0x30 ||
			    der_next(atv, al, &ao, &tag, &oid, &ol) || tag != 0x06 ||
			    der_next(atv, al, &ao, &tag, &val, &vl))
				return -1;
			if (ol == 3 && !memcmp(oid, cn, 3))
				name_add(out, cap, "CN", val, vl);
			else if (ol == 3 && !memcmp(oid, o, 3))
				name_add(out, cap, "O", val, vl);
		}
	}
	return 0;
}

/* A certificate (RFC 5280 4.1): its tbsCertificate's issuer and subject. */
static int der_cert(const uint8_t *p, size_t n, struct banner_tls *r)
{
	const uint8_t *cert, *tbs, *v, *issuer = NULL;
	size_t cl, tl, l, off = 0, to = 0, il = 0;
	uint8_t tag;
	int field = 0;
	if (der_next(p, n, &off, &tag, &cert, &cl) || tag != 0x30)
		return -1;
	off = 0;
	if (der_next(cert, cl, &off, &tag, &tbs, &tl) || tag != 0x30)
		return -1;
	/* [0] version (optional), serialNumber, signature, issuer, validity, subject */
	while (to < tl) {
		if (der_next(tbs, tl, &to, &tag, &v, &l))
			return -1;
		if (tag == 0xa0 && field == 0)
			continue;
		field++;
		if (field == 3) {
			issuer = v;
			il = l;
		} else if (field == 5) {
			if (tag != 0x30 || !issuer || der_name(issuer, il, r->issuer, sizeof(r->issuer)) ||
			    der_name(v, l, r->subject, sizeof(r->subject)))
				return -1;
			return 0;
		}
	}
	return -1;
}

/* The handshake messages so far, HS[0..N): 1 when done (a Certificate, an
 * alert, or ServerHelloDone without one), 0 to read on. */
static int tls_messages(const uint8_t *hs, size_t n, struct banner_tls *r)
{
	size_t off = 0;
	while (off + 4 <= n) {
		size_t l = get24(hs + off + 1);
		const uint8_t *m = hs + off + 4;
		if (l > n - off - 4)
			return 0; /* the rest comes in later records */
		if (hs[off] == HS_SERVER_HELLO && l >= 2)
			r->version = tapir_get16(m);
		else if (hs[off] == HS_CERTIFICATE) {
			/* certificate_list<0..2^24-1>, each ASN.1Cert<1..2^24-1> */
			size_t cl;
			if (l < 6 || (cl = get24(m + 3)) > l - 6 || der_cert(m + 6, cl, r))
				r->bad = true;
			else
				r->have_cert = true;
			return 1;
		} else if (hs[off] == HS_SERVER_HELLO_DONE)
			return 1;
		off += 4 + l;
	}
	return 0;
}

int banner_tls_parse(const uint8_t *p, size_t n, struct banner_tls *r)
{
	/* the handshake records' bodies, joined (a message may span records,
	 * RFC 5246 6.2.1): at most BANNER_MAX bytes, as P */
	static uint8_t hs[BANNER_MAX];
	size_t off = 0, hn = 0;
	memset(r, 0, sizeof(*r));
	while (off + 5 <= n) {
		size_t l = tapir_get16(p + off + 3);
		if (l > n - off - 5)
			break;
		if (p[off] == TLS_ALERT) {
			r->alert = l >= 2 ? p[off + 6] : 0;
			r->have_alert = true;
			return 1;
		}
		if (p[off] != TLS_HANDSHAKE) {
			r->bad = true;
			return 1; /* not TLS, or a change of cipher spec before a certificate */
		}
		if (hn + l > sizeof(hs))
			return 1;
		memcpy(hs + hn, p + off + 5, l);
		hn += l;
		off += 5 + l;
	}
	if (off == 0 && n >= 5 && p[0] != TLS_HANDSHAKE && p[0] != TLS_ALERT) {
		r->bad = true; /* a service that is not TLS */
		return 1;
	}
	return tls_messages(hs, hn, r);
}
