/* Helpers shared by `tapir check` and `tapir ping` (and `tapir host`): target
 * lists (addresses, names, CIDR blocks, port lists), numeric options, a
 * keyed hash for stateless reply cookies, a keyed permutation for
 * randomised probe order, a token bucket, a monotonic clock in nanoseconds
 * and whether an address is taken.  No sockets here: `tapir check` uses the
 * kernel's or (--mode stack) tapir's own, `tapir ping` the kernel's. */
#ifndef TAPIR_NETUTIL_H
#define TAPIR_NETUTIL_H

#include <stddef.h>
#include <stdint.h>

/* ---- hosts ---- */

/* Bounds that keep memory bounded whatever the command line says. */
#define NU_MAX_HOSTS (1u << 20)
/* The longest IPv6 prefix refused as a target: /112 is 65,536 hosts, an
 * IPv4 /16's worth; a /64 would be 2^64. */
#define NU_MIN_PLEN6 112
/* Room for an address printed, either family (INET6_ADDRSTRLEN). */
#define NU_ADDRSTRLEN 46

/* An address of either family. */
struct nu_addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		uint32_t v4;    /* network byte order */
		uint8_t v6[16]; /* network byte order */
	} u;
};

/* The IPv4 address A (network byte order) as a struct nu_addr. */
struct nu_addr nu_addr_v4(uint32_t a);
/* 1 when A and B are the same address. */
int nu_addr_eq(const struct nu_addr *a, const struct nu_addr *b);
/* A as a socket address with PORT (host order) in SS; its length. */
struct sockaddr_storage;
unsigned nu_addr_sockaddr(const struct nu_addr *a, uint16_t port, struct sockaddr_storage *ss);
/* A printed (inet_ntop) into BUF (NU_ADDRSTRLEN bytes). */
const char *nu_addr_str(const struct nu_addr *a, char *buf);

struct nu_host {
	struct nu_addr addr;
	uint32_t portset; /* check: index into the caller's port sets */
	const char *name; /* as the user wrote it, or NULL: print the address */
};

/* A de-duplicated list of IPv4 and IPv6 hosts with an address -> index map. */
struct nu_hosts {
	struct nu_host *v;
	size_t n, cap;
	uint32_t *slot; /* open addressing: index + 1, 0 = empty */
	size_t nslot;   /* a power of two, at least twice n */
};

/* Adds the hosts SPEC names: an IPv4 address, a CIDR block (network and
 * broadcast addresses left out below /31, as fping -g does), an IPv6
 * address or prefix of /112 or longer (in brackets or not; the all-zeros
 * Subnet-Router anycast address left out below /127, RFC 4291 2.6.1 and
 * RFC 6164), or a name (its first IPv4 address, else its first IPv6 one).
 * For each host added or already present, calls FN (may be NULL) with its
 * index.  Returns 0, or -1 with a message in ERR. */
int nu_hosts_add(struct nu_hosts *h, const char *spec,
		 void (*fn)(void *arg, size_t idx, int is_new), void *arg, char *err,
		 size_t errlen);
/* Index of ADDR, or -1. */
long nu_hosts_find(const struct nu_hosts *h, const struct nu_addr *addr);
void nu_hosts_free(struct nu_hosts *h);
/* The name as given, else the address (in BUF, NU_ADDRSTRLEN bytes). */
const char *nu_host_str(const struct nu_host *x, char *buf);

/* Splits a `tapir check` target HOST:PORTS at the colon before the ports:
 * HOST may be an IPv6 address or prefix in brackets ([2001:db8::1]:80,
 * [2001:db8::/112]:22 or [2001:db8::]/112:22).  The host part (brackets
 * kept: nu_hosts_add takes them) is malloc'd into *HOST, *PORTS points
 * into T.  0, or -1 with a message in ERR. */
int nu_split_target(const char *t, char **host, const char **ports, char *err, size_t errlen);

/* "A.B.C.D:PORT" or "[2001:db8::1]:PORT" (RFC 5952 6) -> *A, *PORT (1 to
 * 65535); -1 when S is neither. */
int nu_parse_endpoint(const char *s, struct nu_addr *a, uint16_t *port);
/* A as the stack's address of either family (tapir/addr.h: IPv4 v4-mapped). */
struct tapir_ip;
struct tapir_ip nu_addr_ip(const struct nu_addr *a);

/* ---- ports ---- */

/* Parses "80", "1-1024", "22,80,8000-8010" into a sorted, de-duplicated
 * array (malloc'd, *N entries).  0, or -1 with a message in ERR. */
int nu_parse_ports(const char *s, uint16_t **ports, size_t *n, char *err, size_t errlen);

/* A decimal number in [lo, hi]; -1 when S is not one. */
long long nu_parse_num(const char *s, long long lo, long long hi);

/* ---- numeric options ---- */

/* One numeric option: its getopt value, its name as printed ("--rate",
 * "-c"), its bounds, what the number is ("a number", "a number of ms",
 * "a count") and where its value goes. */
struct nu_numopt {
	int opt;
	const char *name;
	long long lo, hi;
	const char *what;
	unsigned *dst;
};
/* When OPT is one of the N options in T, stores ARG's value in it and
 * returns 1, or -1 with a message in ERR ("--rate: 'x' is not a number from
 * 1 to 10"); 0 when OPT is none of them. */
int nu_numopt_set(const struct nu_numopt *t, size_t n, int opt, const char *arg, char *err,
		  size_t errlen);

/* ---- keyed hashing ---- */

struct nu_key {
	uint64_t k0, k1;
};
/* A fresh random key per run (getrandom), so nobody else can forge or
 * predict our cookies and two runs never accept each other's replies. */
void nu_key_random(struct nu_key *k);
/* SipHash-2-4 (Aumasson & Bernstein), a keyed PRF fast on short inputs:
 * the library's tapir_siphash() with K. */
uint64_t nu_siphash(const struct nu_key *k, const void *data, size_t len);

/* ---- keyed permutation of [0, n) ----
 * A 4-round Feistel network over the smallest even-bit power of two >= n,
 * cycle-walked into [0, n): a random order of any size in O(1) memory. */
struct nu_perm {
	uint64_t n;
	unsigned half; /* bits per Feistel half */
	struct nu_key key;
};
void nu_perm_init(struct nu_perm *p, uint64_t n, const struct nu_key *k);
uint64_t nu_perm_at(const struct nu_perm *p, uint64_t i);

/* ---- rate limiting ---- */

struct nu_bucket {
	double rate;   /* tokens per second */
	double burst;  /* most tokens held */
	double tokens;
	uint64_t last; /* ns */
};
void nu_bucket_init(struct nu_bucket *b, double rate, uint64_t now);
/* Takes a token if one is there: 1, else 0. */
int nu_bucket_take(struct nu_bucket *b, uint64_t now);
/* Nanoseconds until a token is there (0: now). */
uint64_t nu_bucket_wait(struct nu_bucket *b, uint64_t now);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t nu_now_ns(void);

/* Writes S as a JSON string (quotes and escapes) to F. */
#include <stdio.h>
void nu_json_str(FILE *f, const char *s);

/* 1 when an interface of this network namespace other than EXCEPT (may
 * be NULL) has the IPv4 address ADDR (host order), with that interface's
 * name in IFNAME; else 0 (also when the interfaces cannot be listed). */
int nu_addr_in_use(uint32_t addr, const char *except, char *ifname, size_t len);

/* Raises the soft RLIMIT_NOFILE to the hard one; returns the soft limit. */
long nu_raise_nofile(void);

#endif
