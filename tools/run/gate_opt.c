/* setsockopt/getsockopt of the sockets of `tapir run` (proto.h), as
 * Linux answers them (socket(7), tcp(7), udp(7)): what tapir's core has an
 * option for goes there; TCP_INFO is Linux's struct tcp_info filled from
 * tapir's own RTT, cwnd and retransmissions; the rest is kept and given
 * back.  IP_TTL, IP_TOS, IPV6_UNICAST_HOPS and IPV6_TCLASS go to the
 * core's socket; other options of those levels are taken and ignored, so
 * programs that set them still run. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <tapir/socket.h>

#include "gate_int.h"

/* Linux's struct tcp_info (include/uapi/linux/tcp.h) is glibc's and then
 * these fields; tcp(7) callers pass its size (232 bytes). */
struct linux_tcp_info {
	struct tcp_info b;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen, rcv_ooopack, snd_wnd;
};

#define UDP_DEFAULT_BUF 212992 /* net.core.rmem_default / wmem_default */

static int int_of(const void *val, size_t len, int *v)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(v, val, sizeof(int));
	return 0;
}

static struct tapir_tcp *tcp_of(const struct gsock *gs)
{
	return gs->relay ? relay_tcp(gs->relay) : gs->t;
}

static int set_socket_level(struct gsock *gs, int name, const void *val, size_t len)
{
	struct tapir_tcp *t = tcp_of(gs);
	struct linger lg;
	int v = 0;
	if (name == SO_LINGER) {
		if (len < sizeof(lg))
			return -EINVAL;
		memcpy(&lg, val, sizeof(lg));
		gs->linger_on = lg.l_onoff != 0;
		gs->linger_s = lg.l_linger;
		return t ? tapir_tcp_setopt(t, TAPIR_TCP_LINGER, lg.l_onoff ? lg.l_linger : -1) : 0;
	}
	if (name == SO_RCVTIMEO || name == SO_SNDTIMEO || name == SO_BINDTODEVICE)
		return 0; /* the app end's own business */
	if (int_of(val, len, &v) < 0)
		return -EINVAL;
	switch (name) {
	case SO_REUSEADDR:
		return t ? tapir_tcp_setopt(t, TAPIR_TCP_REUSEADDR, v != 0) : 0;
	case SO_REUSEPORT:
		gs->reuseport = v != 0;
		return 0;
	case SO_KEEPALIVE:
		gs->keepalive = v != 0;
		return t ? tapir_tcp_setopt(t, TAPIR_TCP_KEEPALIVE, v != 0) : 0;
	case SO_RCVBUF:
	case SO_SNDBUF:
		v = v < 2048 ? 2048 : v; /* socket(7): a minimum, doubled */
		*(name == SO_RCVBUF ? &gs->rcvbuf : &gs->sndbuf) = v * 2;
		if (gs->u && name == SO_RCVBUF)
			tapir_udp_set_rcvbuf(gs->u, (size_t)v * 2);
		if (t)
			tapir_tcp_setopt(t, name == SO_RCVBUF ? TAPIR_TCP_RCVBUF : TAPIR_TCP_SNDBUF,
					 v * 2);
		return 0;
	case SO_ERROR:
	case SO_TYPE:
	case SO_DOMAIN:
	case SO_PROTOCOL:
	case SO_ACCEPTCONN:
		return -ENOPROTOOPT; /* get only */
	}
	return 0; /* SO_PRIORITY, SO_OOBINLINE, ...: no meaning here */
}

static int set_tcp_level(struct gsock *gs, int name, const void *val, size_t len)
{
	struct tapir_tcp *t = tcp_of(gs);
	int v;
	if (gs->kind != TRUN_TCP)
		return -ENOPROTOOPT;
	if (name == TCP_CONGESTION)
		return 0;
	if (int_of(val, len, &v) < 0)
		return -EINVAL;
	switch (name) {
	case TCP_CORK:
	case TRUN_TCP_MORE:
		*(name == TCP_CORK ? &gs->cork : &gs->more) = v != 0;
		if (gs->relay)
			relay_set_cork(gs->relay, gs->cork || gs->more);
		return 0;
	case TCP_NODELAY: return t ? tapir_tcp_setopt(t, TAPIR_TCP_NODELAY, v != 0) : 0;
	case TCP_KEEPIDLE: return t ? tapir_tcp_setopt(t, TAPIR_TCP_KEEPIDLE, v) : 0;
	case TCP_KEEPINTVL: return t ? tapir_tcp_setopt(t, TAPIR_TCP_KEEPINTVL, v) : 0;
	case TCP_KEEPCNT: return t ? tapir_tcp_setopt(t, TAPIR_TCP_KEEPCNT, v) : 0;
	case TCP_MAXSEG: return t ? tapir_tcp_setopt(t, TAPIR_TCP_MAXSEG, v) : 0;
	case TCP_USER_TIMEOUT: return t ? tapir_tcp_setopt(t, TAPIR_TCP_USER_TIMEOUT, v) : 0;
	/* RFC 7413: a listener takes data on SYNs with its cookies (the
	 * program's accept gets the connection at once) */
	case TCP_FASTOPEN: return t ? tapir_tcp_setopt(t, TAPIR_TCP_FASTOPEN, v) : 0;
	/* tcp(7): the next connect asks for a cookie, or with one cached
	 * succeeds at once and the SYN carries the first write (RFC 7413
	 * 4.2; gate_tcp.c); Linux says EINVAL for a value other than 0 or
	 * 1 and on a socket no longer unconnected */
	case TCP_FASTOPEN_CONNECT:
		if (v < 0 || v > 1 || !t || gs->state != GS_NEW)
			return -EINVAL;
		return tapir_tcp_setopt(t, TAPIR_TCP_FASTOPEN_CONNECT, v) < 0 ? -EINVAL : 0;
	/* (the program writes into its end of a socket pair: the mark bounds
	 * what the host's connection holds unsent, not that pair) */
	case TCP_NOTSENT_LOWAT: return t ? tapir_tcp_setopt(t, TAPIR_TCP_NOTSENT_LOWAT, v) : 0;
	}
	/* TCP_QUICKACK, TCP_DEFER_ACCEPT, ...: hints, taken */
	return 0;
}

/* IPV6_V6ONLY (RFC 3493 5.3): on an AF_INET6 socket, before bind, as
 * Linux (EINVAL once bound or on an AF_INET socket's ENOPROTOOPT). */
static int set_v6only(struct gsock *gs, const void *val, size_t len)
{
	int v = 0, r = 0;
	if (gs->domain != AF_INET6)
		return -ENOPROTOOPT;
	if (int_of(val, len, &v) < 0)
		return -EINVAL;
	if (gs->lport)
		return -EINVAL;
	if (gs->t)
		r = tapir_tcp_setopt(gs->t, TAPIR_TCP_V6ONLY, v != 0);
	else if (gs->u)
		r = tapir_udp_set_v6only(gs->u, v != 0);
	if (r == 0)
		gs->v6only = v != 0;
	return r;
}

static int set_ip_opt(struct gsock *gs, enum tapir_ip_opt o, const void *val, size_t len)
{
	struct tapir_tcp *t = tcp_of(gs);
	int v;
	/* as Linux, IP_TTL and IP_TOS take a single byte too */
	if (len >= 1 && len < sizeof(int) && (o == TAPIR_IP_TTL || o == TAPIR_IP_TOS))
		v = *(const unsigned char *)val;
	else if (int_of(val, len, &v) < 0)
		return -EINVAL;
	return t ? tapir_tcp_set_ipopt(t, o, v) : gs->u ? tapir_udp_set_ipopt(gs->u, o, v) : 0;
}

int gate_setsockopt(struct gsock *gs, int level, int name, const void *val, size_t len)
{
	if (tapir_ip_sockopt(gs->domain, level, name) >= 0)
		return set_ip_opt(gs, (enum tapir_ip_opt)tapir_ip_sockopt(gs->domain, level, name), val,
				  len);
	if (level == SOL_SOCKET)
		return set_socket_level(gs, name, val, len);
	if (level == IPPROTO_TCP)
		return set_tcp_level(gs, name, val, len);
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
		return set_v6only(gs, val, len);
	return 0;
}

/* Linux's numbers for the states (include/net/tcp_states.h). */
static uint8_t linux_state(enum tapir_tcp_state st)
{
	static const uint8_t map[] = {
		[TAPIR_TCP_CLOSED] = 7,      [TAPIR_TCP_LISTEN] = 10,
		[TAPIR_TCP_SYN_SENT] = 2,    [TAPIR_TCP_SYN_RECEIVED] = 3,
		[TAPIR_TCP_ESTABLISHED] = 1, [TAPIR_TCP_FIN_WAIT_1] = 4,
		[TAPIR_TCP_FIN_WAIT_2] = 5,  [TAPIR_TCP_CLOSE_WAIT] = 8,
		[TAPIR_TCP_CLOSING] = 11,    [TAPIR_TCP_LAST_ACK] = 9,
		[TAPIR_TCP_TIME_WAIT] = 6,
	};
	return (unsigned)st < sizeof(map) ? map[st] : 7;
}

/* TCP_INFO (tcp(7)): what tapir knows, in Linux's layout and units
 * (microseconds; cwnd and ssthresh in segments). */
static int tcp_info_get(struct gsock *gs, void *val, uint32_t *len)
{
	struct linux_tcp_info lti;
	struct tcp_info ti;
	struct tapir_tcp_info i;
	struct tapir_tcp *t = tcp_of(gs);
	uint32_t mss;
	memset(&ti, 0, sizeof(ti));
	ti.tcpi_state = 7;
	if (t) {
		tapir_tcp_get_info(t, &i);
		mss = i.mss ? i.mss : 536;
		ti.tcpi_state = linux_state(i.state);
		ti.tcpi_retransmits = (uint8_t)(i.retransmits > 255 ? 255 : i.retransmits);
		ti.tcpi_options = (uint8_t)((i.ts_ok ? TCPI_OPT_TIMESTAMPS : 0) |
					    (i.sack_ok ? TCPI_OPT_SACK : 0) |
					    (i.wscale_ok ? TCPI_OPT_WSCALE : 0));
		ti.tcpi_snd_wscale = i.snd_wscale & 15;
		ti.tcpi_rcv_wscale = i.rcv_wscale & 15;
		ti.tcpi_rto = (uint32_t)i.rto_us;
		ti.tcpi_snd_mss = mss;
		ti.tcpi_rcv_mss = mss;
		ti.tcpi_advmss = mss;
		ti.tcpi_pmtu = mss + 40;
		ti.tcpi_unacked = (i.snd_nxt - i.snd_una + mss - 1) / mss;
		ti.tcpi_rtt = (uint32_t)i.srtt_us;
		ti.tcpi_rttvar = (uint32_t)i.rttvar_us;
		ti.tcpi_snd_cwnd = (i.cwnd + mss - 1) / mss;
		ti.tcpi_snd_ssthresh = i.ssthresh / mss;
		ti.tcpi_rcv_space = i.rcv_wnd;
		ti.tcpi_total_retrans = i.retransmits;
	}
	memset(&lti, 0, sizeof(lti));
	lti.b = ti;
	if (t) {
		lti.notsent_bytes = (uint32_t)i.snd_queued;
		lti.min_rtt = (uint32_t)i.srtt_us;
		lti.snd_wnd = i.snd_wnd;
	}
	if (*len > sizeof(lti))
		*len = sizeof(lti);
	memcpy(val, &lti, *len);
	return 0;
}

static int put_int(void *val, uint32_t *len, int v)
{
	if (*len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

static int get_tcp_opt(struct gsock *gs, enum tapir_tcp_opt o, int dflt, void *val,
		       uint32_t *len)
{
	struct tapir_tcp *t = tcp_of(gs);
	int v = dflt;
	if (t)
		tapir_tcp_getopt(t, o, &v);
	return put_int(val, len, v);
}

static int sock_error(struct gsock *gs)
{
	int e = gs->err;
	struct tapir_tcp *t = tcp_of(gs);
	gs->err = 0; /* socket(7): SO_ERROR clears it */
	if (!e && t)
		e = tapir_tcp_error(t);
	if (!e && gs->u)
		e = tapir_udp_error(gs->u);
	return e < 0 ? -e : e;
}

static int get_socket_level(struct gsock *gs, int name, void *val, uint32_t *len)
{
	bool tcp = gs->kind == TRUN_TCP;
	struct linger lg;
	switch (name) {
	case SO_TYPE: return put_int(val, len, tcp ? SOCK_STREAM : SOCK_DGRAM);
	case SO_DOMAIN: return put_int(val, len, gs->domain);
	case SO_PROTOCOL: return put_int(val, len, tcp ? IPPROTO_TCP : IPPROTO_UDP);
	case SO_ACCEPTCONN: return put_int(val, len, gs->state == GS_LISTEN);
	case SO_ERROR: return put_int(val, len, sock_error(gs));
	case SO_REUSEPORT: return put_int(val, len, gs->reuseport);
	case SO_KEEPALIVE: return put_int(val, len, gs->keepalive);
	case SO_REUSEADDR: return get_tcp_opt(gs, TAPIR_TCP_REUSEADDR, 0, val, len);
	case SO_RCVBUF:
	case SO_SNDBUF:
		if (!tcp || !tcp_of(gs)) {
			int v = name == SO_RCVBUF ? gs->rcvbuf : gs->sndbuf;
			return put_int(val, len, v ? v : UDP_DEFAULT_BUF);
		}
		return get_tcp_opt(gs, name == SO_RCVBUF ? TAPIR_TCP_RCVBUF : TAPIR_TCP_SNDBUF,
				   UDP_DEFAULT_BUF, val, len);
	case SO_LINGER:
		if (*len < sizeof(lg))
			return -EINVAL;
		lg.l_onoff = gs->linger_on;
		lg.l_linger = gs->linger_s;
		memcpy(val, &lg, sizeof(lg));
		*len = sizeof(lg);
		return 0;
	}
	return -ENOPROTOOPT;
}

/* TRUN_IPV6_ZONE: the kernel's index of the interface under tapir's link
 * (0 when it has none there, as a memory link) */
static int link_zone(const struct gsock *gs, void *val, uint32_t *len)
{
	const char *name = tapir_net_link_name(gs->g->net);
	return put_int(val, len, name ? (int)if_nametoindex(name) : 0);
}

int gate_getsockopt(struct gsock *gs, int level, int name, void *val, uint32_t *len)
{
	if (tapir_ip_sockopt(gs->domain, level, name) >= 0 && (tcp_of(gs) || gs->u)) {
		enum tapir_ip_opt o = (enum tapir_ip_opt)tapir_ip_sockopt(gs->domain, level, name);
		return put_int(val, len, tcp_of(gs) ? tapir_tcp_get_ipopt(tcp_of(gs), o)
						    : tapir_udp_get_ipopt(gs->u, o));
	}
	if (level == SOL_SOCKET)
		return get_socket_level(gs, name, val, len);
	if (level == IPPROTO_IPV6 && name == TRUN_IPV6_ZONE)
		return link_zone(gs, val, len);
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
		return gs->domain == AF_INET6 ? put_int(val, len, gs->v6only) : -ENOPROTOOPT;
	if (level != IPPROTO_TCP || gs->kind != TRUN_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_INFO: return tcp_info_get(gs, val, len);
	case TRUN_TCP_TFO: return put_int(val, len, gtcp_tfo_room(gs));
	case TCP_CORK: return put_int(val, len, gs->cork);
	case TCP_NODELAY: return get_tcp_opt(gs, TAPIR_TCP_NODELAY, 0, val, len);
	case TCP_KEEPIDLE: return get_tcp_opt(gs, TAPIR_TCP_KEEPIDLE, 7200, val, len);
	case TCP_KEEPINTVL: return get_tcp_opt(gs, TAPIR_TCP_KEEPINTVL, 75, val, len);
	case TCP_KEEPCNT: return get_tcp_opt(gs, TAPIR_TCP_KEEPCNT, 9, val, len);
	case TCP_MAXSEG: return get_tcp_opt(gs, TAPIR_TCP_MAXSEG, 536, val, len);
	case TCP_USER_TIMEOUT: return get_tcp_opt(gs, TAPIR_TCP_USER_TIMEOUT, 0, val, len);
	case TCP_FASTOPEN: return get_tcp_opt(gs, TAPIR_TCP_FASTOPEN, 0, val, len);
	case TCP_FASTOPEN_CONNECT:
		return get_tcp_opt(gs, TAPIR_TCP_FASTOPEN_CONNECT, 0, val, len);
	case TCP_NOTSENT_LOWAT: return get_tcp_opt(gs, TAPIR_TCP_NOTSENT_LOWAT, 0, val, len);
	case TCP_CONGESTION:
		if (*len > 6)
			*len = 6;
		memcpy(val, "cubic", *len);
		return 0;
	}
	return -ENOPROTOOPT;
}
