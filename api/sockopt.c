/* getsockopt, setsockopt, fcntl: the options the api keeps itself
 * (linger, timeouts, the asked-for buffer sizes) and those it passes to the
 * core's TCP and UDP objects (docs/sockets.md has the table). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/time.h>

#include <tapir/hook.h> /* tapir_tcp_rx_reserved */

#include "api_int.h"

/* ---- options ---- */

static int tcp_opt(struct sock *s, enum tapir_tcp_opt opt, int v)
{
	if (!s->tcp)
		return -ENOPROTOOPT;
	return tapir_tcp_setopt(s->tcp, opt, v);
}

int tapir_ip_sockopt(int family, int level, int name)
{
	if (level == IPPROTO_IP && (name == IP_TTL || name == IP_TOS))
		return name == IP_TTL ? TAPIR_IP_TTL : TAPIR_IP_TOS;
	if (level == IPPROTO_IPV6 && family == AF_INET6 &&
	    (name == IPV6_UNICAST_HOPS || name == IPV6_TCLASS))
		return name == IPV6_UNICAST_HOPS ? TAPIR_IP_HOPLIMIT : TAPIR_IP_TCLASS;
	return -1;
}

/* IPPROTO_IP and IPPROTO_IPV6: the IP header options, IPV6_V6ONLY */
static int set_ip_level(struct sock *s, int level, int name, int v)
{
	int r, o = tapir_ip_sockopt(s->family, level, name);
	if (o >= 0)
		return s->tcp ? tapir_tcp_set_ipopt(s->tcp, (enum tapir_ip_opt)o, v)
			      : tapir_udp_set_ipopt(s->udp, (enum tapir_ip_opt)o, v);
	if (level != IPPROTO_IPV6 || name != IPV6_V6ONLY)
		return -ENOPROTOOPT;
	/* RFC 3493 5.3: an AF_INET6 socket's, before bind */
	if (s->family != AF_INET6)
		return -ENOPROTOOPT;
	r = s->tcp ? tapir_tcp_setopt(s->tcp, TAPIR_TCP_V6ONLY, v) : tapir_udp_set_v6only(s->udp, v != 0);
	if (r == 0 && s->udp)
		s->udp_v6only = v != 0;
	return r;
}

int tapir_setsockopt(struct tapir_net *net, int fd, int level, int name, const void *val,
		     socklen_t len)
{
	struct sock *s = sock_enter(net, fd);
	int v = 0, r = 0;
	if (!s)
		return -1;
	if (!val)
		return sock_leave_ret(s, -EFAULT);
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (len < (socklen_t)sizeof(l))
			return sock_leave_ret(s, -EINVAL);
		memcpy(&l, val, sizeof(l));
		if (l.l_onoff && l.l_linger < 0)
			return sock_leave_ret(s, -EINVAL);
		/* the core knows {1, 0} (RST on close); the api does the wait */
		if (s->tcp && (r = tapir_tcp_setopt(s->tcp, TAPIR_TCP_LINGER,
						     l.l_onoff ? l.l_linger : -1)) < 0)
			return sock_leave_ret(s, r);
		s->linger_on = l.l_onoff != 0;
		s->linger_sec = l.l_linger;
		return sock_leave_ret(s, 0);
	}
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		struct timeval tv;
		if (len < (socklen_t)sizeof(tv))
			return sock_leave_ret(s, -EINVAL);
		memcpy(&tv, val, sizeof(tv));
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return sock_leave_ret(s, -EDOM); /* as Linux */
		*(name == SO_RCVTIMEO ? &s->rcvtimeo : &s->sndtimeo) =
			(tapir_time_t)tv.tv_sec * 1000000u + (tapir_time_t)tv.tv_usec;
		return sock_leave_ret(s, 0);
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		/* a name, as Linux takes it: "reno" (NewReno) or "cubic" */
		char algo[16] = {0};
		memcpy(algo, val, len < sizeof(algo) - 1 ? len : sizeof(algo) - 1);
		if (!s->tcp)
			return sock_leave_ret(s, -ENOPROTOOPT);
		return sock_leave_ret(s, tapir_tcp_setopt(s->tcp, TAPIR_TCP_CONGESTION,
						     !strcmp(algo, "cubic") ? TAPIR_CC_CUBIC
						     : !strcmp(algo, "reno") || !strcmp(algo, "newreno")
							     ? TAPIR_CC_NEWRENO
							     : -1));
	}
	if (len < (socklen_t)sizeof(int))
		return sock_leave_ret(s, -EINVAL);
	memcpy(&v, val, sizeof(v));
	if (level == IPPROTO_IP || level == IPPROTO_IPV6)
		return sock_leave_ret(s, set_ip_level(s, level, name, v));
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
		case SO_KEEPALIVE:
			if (s->tcp)
				r = tapir_tcp_setopt(s->tcp, name == SO_REUSEADDR ? TAPIR_TCP_REUSEADDR
										  : TAPIR_TCP_KEEPALIVE,
						     v);
			if (r == 0)
				*(name == SO_REUSEADDR ? &s->reuseaddr : &s->keepalive) = v != 0;
			break;
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (v < 0)
				return sock_leave_ret(s, -EINVAL);
			if (s->tcp) {
				/* taken at open, and after it for what is
				 * queued next (socket(7)) */
				r = tapir_tcp_setopt(s->tcp, name == SO_RCVBUF ? TAPIR_TCP_RCVBUF
									: TAPIR_TCP_SNDBUF,
						     v);
			} else if (name == SO_RCVBUF) {
				tapir_udp_set_rcvbuf(s->udp, (size_t)v);
			}
			if (r == 0)
				*(name == SO_RCVBUF ? &s->rcvbuf : &s->sndbuf) = v;
			break;
		case SO_ERROR:
		case SO_TYPE:
			r = -ENOPROTOOPT; /* read-only */
			break;
		default:
			r = -ENOPROTOOPT;
		}
		return sock_leave_ret(s, r);
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY: r = tcp_opt(s, TAPIR_TCP_NODELAY, v); break;
		case TCP_MAXSEG: r = tcp_opt(s, TAPIR_TCP_MAXSEG, v); break;
		case TCP_KEEPIDLE: r = tcp_opt(s, TAPIR_TCP_KEEPIDLE, v); break;
		case TCP_KEEPINTVL: r = tcp_opt(s, TAPIR_TCP_KEEPINTVL, v); break;
		case TCP_KEEPCNT: r = tcp_opt(s, TAPIR_TCP_KEEPCNT, v); break;
		case TCP_USER_TIMEOUT: r = tcp_opt(s, TAPIR_TCP_USER_TIMEOUT, v); break;
		case TCP_FASTOPEN: r = tcp_opt(s, TAPIR_TCP_FASTOPEN, v); break;
		case TCP_FASTOPEN_CONNECT: r = tcp_opt(s, TAPIR_TCP_FASTOPEN_CONNECT, v); break;
		case TCP_NOTSENT_LOWAT: r = tcp_opt(s, TAPIR_TCP_NOTSENT_LOWAT, v); break;
		case TAPIR_SO_TCP_NOOPT: r = tcp_opt(s, TAPIR_TCP_NOOPT, v); break;
		case TAPIR_SO_TCP_KEEPINIT: r = tcp_opt(s, TAPIR_TCP_KEEPINIT, v); break;
		default: r = -ENOPROTOOPT;
		}
		/* NODELAY may push queued data out */
		net_wake(net);
		return sock_leave_ret(s, r);
	}
	return sock_leave_ret(s, -ENOPROTOOPT);
}

static int put_opt(void *val, socklen_t *len, const void *src, socklen_t n)
{
	if (*len < n)
		return -EINVAL;
	memcpy(val, src, n);
	*len = n;
	return 0;
}

int tapir_getsockopt(struct tapir_net *net, int fd, int level, int name, void *val, socklen_t *len)
{
	struct sock *s = sock_enter(net, fd);
	int v = 0, r = 0;
	enum tapir_tcp_opt opt;
	if (!s)
		return -1;
	if (!val || !len)
		return sock_leave_ret(s, -EFAULT);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_LINGER: {
			struct linger l = {.l_onoff = s->linger_on, .l_linger = s->linger_sec};
			return sock_leave_ret(s, put_opt(val, len, &l, sizeof(l)));
		}
		case SO_RCVTIMEO:
		case SO_SNDTIMEO: {
			tapir_time_t us = name == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo;
			struct timeval tv = {.tv_sec = (time_t)(us / 1000000u),
					     .tv_usec = (suseconds_t)(us % 1000000u)};
			return sock_leave_ret(s, put_opt(val, len, &tv, sizeof(tv)));
		}
		case SO_REUSEADDR: v = s->reuseaddr; break;
		case SO_KEEPALIVE: v = s->keepalive; break;
		case SO_TYPE: v = s->type; break;
		case SO_ERROR:
			/* returns and clears the pending error (UNP 7.5) */
			v = s->tcp ? tapir_tcp_error(s->tcp) : tapir_udp_error(s->udp);
			break;
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (s->tcp)
				tapir_tcp_getopt(s->tcp,
						 name == SO_RCVBUF ? TAPIR_TCP_RCVBUF : TAPIR_TCP_SNDBUF,
						 &v);
			else
				v = name == SO_RCVBUF ? s->rcvbuf : s->sndbuf;
			break;
		default:
			return sock_leave_ret(s, -ENOPROTOOPT);
		}
		return sock_leave_ret(s, put_opt(val, len, &v, sizeof(v)));
	}
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s->family == AF_INET6) {
		if (s->tcp)
			tapir_tcp_getopt(s->tcp, TAPIR_TCP_V6ONLY, &v);
		else
			v = s->udp_v6only;
		return sock_leave_ret(s, put_opt(val, len, &v, sizeof(v)));
	}
	if (tapir_ip_sockopt(s->family, level, name) >= 0) {
		enum tapir_ip_opt o = (enum tapir_ip_opt)tapir_ip_sockopt(s->family, level, name);
		v = s->tcp ? tapir_tcp_get_ipopt(s->tcp, o) : tapir_udp_get_ipopt(s->udp, o);
		return sock_leave_ret(s, put_opt(val, len, &v, sizeof(v)));
	}
	if (level != IPPROTO_TCP || !s->tcp)
		return sock_leave_ret(s, -ENOPROTOOPT);
	if (name == TAPIR_TCP_RESERVED_RX) {
		v = tapir_tcp_rx_reserved(s->tcp);
		return sock_leave_ret(s, put_opt(val, len, &v, sizeof(v)));
	}
	if (name == TCP_CONGESTION) {
		tapir_tcp_getopt(s->tcp, TAPIR_TCP_CONGESTION, &v);
		return sock_leave_ret(s, put_opt(val, len, v == TAPIR_CC_CUBIC ? "cubic" : "reno",
					    v == TAPIR_CC_CUBIC ? 6 : 5));
	}
	switch (name) {
	case TCP_NODELAY: opt = TAPIR_TCP_NODELAY; break;
	case TCP_MAXSEG: opt = TAPIR_TCP_MAXSEG; break;
	case TCP_KEEPIDLE: opt = TAPIR_TCP_KEEPIDLE; break;
	case TCP_KEEPINTVL: opt = TAPIR_TCP_KEEPINTVL; break;
	case TCP_KEEPCNT: opt = TAPIR_TCP_KEEPCNT; break;
	case TCP_USER_TIMEOUT: opt = TAPIR_TCP_USER_TIMEOUT; break;
	case TCP_FASTOPEN: opt = TAPIR_TCP_FASTOPEN; break;
	case TCP_FASTOPEN_CONNECT: opt = TAPIR_TCP_FASTOPEN_CONNECT; break;
	case TCP_NOTSENT_LOWAT: opt = TAPIR_TCP_NOTSENT_LOWAT; break;
	case TAPIR_SO_TCP_NOOPT: opt = TAPIR_TCP_NOOPT; break;
	case TAPIR_SO_TCP_KEEPINIT: opt = TAPIR_TCP_KEEPINIT; break;
	default: return sock_leave_ret(s, -ENOPROTOOPT);
	}
	if ((r = tapir_tcp_getopt(s->tcp, opt, &v)) < 0)
		return sock_leave_ret(s, r);
	return sock_leave_ret(s, put_opt(val, len, &v, sizeof(v)));
}

int tapir_fcntl(struct tapir_net *net, int fd, int cmd, int arg)
{
	struct sock *s = sock_enter(net, fd);
	int r = 0;
	if (!s)
		return -1;
	if (cmd == F_GETFL)
		r = O_RDWR | (s->nonblock ? O_NONBLOCK : 0);
	else if (cmd == F_SETFL)
		s->nonblock = (arg & O_NONBLOCK) != 0;
	else
		r = -EINVAL;
	return sock_leave_ret(s, r);
}

int tapir_set_nonblock(struct tapir_net *net, int fd, bool on)
{
	return tapir_fcntl(net, fd, F_SETFL, on ? O_NONBLOCK : 0);
}
