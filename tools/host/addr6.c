/* tapir host's IPv6 addresses: see addr6.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <tapir/addr.h>

#include "addr6.h"
#include "util.h"

bool host6_option(struct host6 *h6, const char *opt, const char *arg, bool peer)
{
	uint8_t a[16];
	unsigned plen;
	if (!peer && !strcmp(arg, "slaac")) {
		h6->slaac = true;
		return true;
	}
	if (!strchr(arg, ':'))
		return false;
	if (tapir_parse_ipv6(arg, a, &plen) || !strchr(arg, '/') || plen == 0)
		die("%s: '%s' is not an IPv6 address/prefix such as fd00::2/64", opt, arg);
	if (tapir_ipv6_is_unspecified(a) || tapir_ipv6_is_martian_source(a) ||
	    tapir_ipv6_is_link_local(a))
		die("%s: %s cannot be a host's address (unspecified, loopback, multicast, "
		    "v4-mapped or link-local)", opt, arg);
	if ((peer ? h6->npeer : h6->n) == HOST6_MAX)
		die("%s: at most %d IPv6 addresses", opt, HOST6_MAX);
	for (unsigned i = 0; i < h6->n; i++)
		if (!memcmp(h6->addr[i], a, 16))
			die("%s: %s is also an --addr", opt, arg);
	for (unsigned i = 0; i < h6->npeer; i++)
		if (!memcmp(h6->peer[i], a, 16))
			die("%s: %s is also a --peer-addr", opt, arg);
	if (peer) {
		memcpy(h6->peer[h6->npeer], a, 16);
		h6->peer_plen[h6->npeer++] = plen;
	} else {
		memcpy(h6->addr[h6->n], a, 16);
		h6->plen[h6->n++] = plen;
	}
	return true;
}

void host6_addr_gen_option(struct host6 *h6, const char *arg)
{
	if (!strcmp(arg, "eui64"))
		h6->addr_gen = TAPIR_ADDR_GEN_EUI64 + 1;
	else if (!strcmp(arg, "stable"))
		h6->addr_gen = TAPIR_ADDR_GEN_STABLE + 1;
	else
		die("--addr-gen: '%s' is neither eui64 nor stable", arg);
}

void host6_secret_option(struct host6 *h6, const char *path) { h6->secret = path; }

#define SECRET_MIN 16   /* RFC 7217 5: at least 128 bits */
#define SECRET_MAX 4096

void host6_tune(const struct host6 *h6, struct tapir_config *cfg)
{
	/* two fixed keys fold the file, however long, into the 128-bit key */
	static const uint64_t fold[2][2] = {{0x7461706972373231ull, 1}, {0x7461706972373231ull, 2}};
	uint8_t buf[SECRET_MAX];
	ssize_t n = 0, r;
	int fd;
	if (h6->addr_gen == TAPIR_ADDR_GEN_EUI64 + 1 && h6->secret)
		die("--stable-secret goes with --addr-gen stable, not eui64");
	if (h6->addr_gen != TAPIR_ADDR_GEN_STABLE + 1 && !h6->secret)
		return; /* EUI-64: tapir's addresses as before */
	cfg->nd_addr_gen = TAPIR_ADDR_GEN_STABLE;
	if (!h6->secret) { /* stable for this run only */
		if (getrandom(cfg->nd_secret, sizeof(cfg->nd_secret), 0) != sizeof(cfg->nd_secret))
			die("--addr-gen stable: no random secret: %s", strerror(errno));
		return;
	}
	if ((fd = open(h6->secret, O_RDONLY | O_CLOEXEC)) < 0)
		die("--stable-secret: %s: %s", h6->secret, strerror(errno));
	while (n < SECRET_MAX && (r = read(fd, buf + n, (size_t)(SECRET_MAX - n))) > 0)
		n += r;
	close(fd);
	if (n < SECRET_MIN)
		die("--stable-secret: %s holds %zd bytes: at least %d are needed (head -c 16 "
		    "/dev/urandom > %s)", h6->secret, n, SECRET_MIN, h6->secret);
	cfg->nd_secret[0] = tapir_siphash(fold[0], buf, (size_t)n);
	cfg->nd_secret[1] = tapir_siphash(fold[1], buf, (size_t)n);
}

bool host6_gateway_option(struct host6 *h6, const char *arg)
{
	if (!strchr(arg, ':'))
		return false;
	if (tapir_parse_ipv6(arg, h6->gw, NULL) || tapir_ipv6_is_unspecified(h6->gw) ||
	    tapir_ipv6_is_martian_source(h6->gw))
		die("--gateway: '%s' is not a unicast IPv6 address such as fe80::1 or fd00::1", arg);
	if (h6->have_gw)
		die("--gateway: one IPv6 gateway at most (and one IPv4)");
	h6->have_gw = true;
	return true;
}

void host6_check_gateway(const struct host6 *h6)
{
	char a[46];
	if (!h6->have_gw)
		return;
	if (!h6->n && !h6->slaac)
		die("--gateway %s: an IPv6 gateway needs an IPv6 --addr", tapir_ipv6_str(h6->gw, a));
	if (tapir_ipv6_is_link_local(h6->gw))
		return;
	for (unsigned i = 0; i < h6->n; i++)
		if (tapir_ipv6_prefix_eq(h6->gw, h6->addr[i], h6->plen[i]))
			return;
	die("--gateway %s is neither link-local nor on the prefix of an IPv6 --addr",
	    tapir_ipv6_str(h6->gw, a));
}

void host6_set_peers(const struct host6 *h6, struct tapir_tap *tap)
{
	char err[256];
	for (unsigned i = 0; i < h6->npeer; i++)
		if (tapir_tap_set_peer_addr6(tap, h6->peer[i], h6->peer_plen[i], err, sizeof(err)))
			die("%s (is IPv6 disabled in this namespace?)", err);
}

void host6_configure(const struct host6 *h6, struct tapir_stack *s, int ifindex)
{
	char a[46];
	if (!h6->n && !h6->npeer && !h6->slaac)
		return; /* IPv6 stays off, as before it existed */
	tapir_iface_enable_ipv6(s, ifindex, mono_us());
	if (h6->slaac)
		tapir_iface_set_slaac(s, ifindex, 1, mono_us());
	for (unsigned i = 0; i < h6->n; i++)
		if (tapir_iface_add_ipv6(s, ifindex, h6->addr[i], h6->plen[i], mono_us()) < 0)
			die("--addr: %s/%u: cannot configure the interface",
			    tapir_ipv6_str(h6->addr[i], a), h6->plen[i]);
	/* RFC 4861 6.3.4 leaves the default router list to the host: a
	 * configured one is used whatever advertisements say */
	if (h6->have_gw && tapir_iface_add_router6(s, ifindex, h6->gw) < 0)
		die("--gateway %s: cannot add the IPv6 default router", tapir_ipv6_str(h6->gw, a));
}

void host6_wait_dad(struct tapir_net *net, struct tapir_stack *s, int ifindex)
{
	/* RFC 4862 5.4: up to 1 s of random delay, then RetransTimer per
	 * solicitation; 10 s is far beyond any default */
	for (int tries = 0; tries < 200; tries++) {
		bool tentative = false;
		uint8_t a[16];
		unsigned plen;
		char t[46];
		tapir_net_lock(net);
		for (unsigned i = 0; i < TAPIR_IPV6_ADDRS; i++) {
			enum tapir_addr6_state st = tapir_iface_ipv6_addr(s, ifindex, i, a, &plen);
			if (st == TAPIR_ADDR6_DUPLICATE) {
				tapir_net_unlock(net);
				die("--addr: %s is already in use on the link (duplicate address "
				    "detection, RFC 4862)", tapir_ipv6_str(a, t));
			}
			tentative |= st == TAPIR_ADDR6_TENTATIVE;
		}
		tapir_net_unlock(net);
		if (!tentative)
			return;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	die("IPv6 duplicate address detection did not finish within 10 s");
}

void host6_watch(struct host6 *h6, FILE *f, struct tapir_stack *s, int ifindex)
{
	static const char *const what[] = {"removed", "tentative", "added", "duplicate"};
	for (unsigned i = 0; i < TAPIR_IPV6_ADDRS; i++) {
		uint8_t a[16];
		unsigned plen;
		char t[46];
		enum tapir_addr6_state st = tapir_iface_ipv6_addr(s, ifindex, i, a, &plen);
		bool moved = memcmp(a, h6->seen[i], 16) != 0;
		if (st == h6->seen_state[i] && !moved)
			continue;
		/* gone, or its slot holds another now (RFC 7217 6: a stable
		 * address found a duplicate is formed anew) */
		if (h6->seen_state[i] != TAPIR_ADDR6_FREE && (st == TAPIR_ADDR6_FREE || moved)) {
			if (f)
				fprintf(f, "address %s/%u removed\n", tapir_ipv6_str(h6->seen[i], t),
					h6->seen_plen[i]);
			h6->seen_state[i] = TAPIR_ADDR6_FREE;
		}
		if (st == TAPIR_ADDR6_TENTATIVE || st == TAPIR_ADDR6_FREE)
			continue;
		if (f)
			fprintf(f, "address %s/%u %s\n", tapir_ipv6_str(a, t), plen, what[st]);
		memcpy(h6->seen[i], a, 16);
		h6->seen_plen[i] = plen;
		h6->seen_state[i] = st;
	}
}

void host6_print(FILE *f, struct tapir_net *net, struct tapir_stack *s, int ifindex)
{
	uint8_t a[16];
	unsigned plen;
	char t[46];
	tapir_net_lock(net);
	for (unsigned i = 0; i < TAPIR_IPV6_ADDRS; i++)
		if (tapir_iface_ipv6_addr(s, ifindex, i, a, &plen) == TAPIR_ADDR6_PREFERRED)
			fprintf(f, " addr=%s/%u", tapir_ipv6_str(a, t), plen);
	tapir_net_unlock(net);
}
