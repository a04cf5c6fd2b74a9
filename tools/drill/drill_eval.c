/* tapir drill: the names a script's system calls use (errno, flags,
 * socket options: the host's values, as packetdrill compiles them in) and
 * the evaluation of their expressions (dl_eval, drill.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "drill.h"

/* ---- symbols: the host's values, as packetdrill compiles them in ---- */
struct sym {
	const char *name;
	long long v;
};
static const struct sym syms[] = {
#define S(x) {#x, x}
	S(EPERM), S(ENOENT), S(EINTR), S(EBADF), S(EAGAIN), S(EWOULDBLOCK), S(ENOMEM),
	S(EFAULT), S(EINVAL), S(EPIPE), S(ENOTSOCK), S(EDESTADDRREQ), S(EMSGSIZE),
	S(EPROTOTYPE), S(ENOPROTOOPT), S(EPROTONOSUPPORT), S(EOPNOTSUPP), S(EAFNOSUPPORT),
	S(EADDRINUSE), S(EADDRNOTAVAIL), S(ENETDOWN), S(ENETUNREACH), S(ECONNABORTED),
	S(ECONNRESET), S(ENOBUFS), S(EISCONN), S(ENOTCONN), S(ETIMEDOUT), S(ECONNREFUSED),
	S(EHOSTDOWN), S(EHOSTUNREACH), S(EALREADY), S(EINPROGRESS),
	S(O_RDONLY), S(O_WRONLY), S(O_RDWR), S(O_NONBLOCK), S(F_GETFL), S(F_SETFL),
	S(SHUT_RD), S(SHUT_WR), S(SHUT_RDWR), S(MSG_PEEK), S(MSG_DONTWAIT), S(MSG_WAITALL), S(MSG_NOSIGNAL),
	S(AF_INET), S(PF_INET), S(AF_INET6), S(PF_INET6), S(SOCK_STREAM), S(SOCK_DGRAM),
	S(IPPROTO_TCP), S(IPPROTO_UDP), S(IPPROTO_IP), S(SOL_SOCKET),
	S(SO_ERROR), S(SO_RCVBUF), S(SO_SNDBUF), S(SO_LINGER), S(SO_REUSEADDR),
	S(SO_KEEPALIVE), S(TCP_NODELAY), S(TCP_MAXSEG), S(TCP_KEEPIDLE), S(TCP_KEEPINTVL),
	S(TCP_KEEPCNT), S(SOL_TCP), S(SOL_IP),
	/* FreeBSD's names for the class selectors (RFC 2474 4.2.2.1) */
	{"IPTOS_DSCP_CS0", 0x00}, {"IPTOS_DSCP_CS1", 0x20}, {"IPTOS_DSCP_CS2", 0x40},
	{"IPTOS_DSCP_CS3", 0x60}, {"IPTOS_DSCP_CS4", 0x80}, {"IPTOS_DSCP_CS5", 0xa0},
	{"IPTOS_DSCP_CS6", 0xc0}, {"IPTOS_DSCP_CS7", 0xe0},
#ifdef MSG_FASTOPEN
	S(MSG_FASTOPEN),
#endif
#ifdef TCP_FASTOPEN_CONNECT
	S(TCP_FASTOPEN_CONNECT),
#endif
#undef S
	{NULL, 0},
};

const char *dl_errno_name(int err)
{
	for (const struct sym *y = syms; y->name && y->name[0] == 'E'; y++)
		if (y->v == err && strcmp(y->name, "EWOULDBLOCK"))
			return y->name;
	return NULL;
}

int dl_eval(const char *expr, long long *v, char *bad, size_t badlen)
{
	const char *p = expr;
	long long acc = 0;
	for (;;) {
		long long x;
		while (isspace((unsigned char)*p))
			p++;
		if (isdigit((unsigned char)*p) || *p == '-') {
			char *end;
			errno = 0;
			x = strtoll(p, &end, 0);
			if (end == p || errno)
				goto fail;
			p = end;
		} else if (isalpha((unsigned char)*p) || *p == '_') {
			const char *s = p;
			size_t n;
			const struct sym *y;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			n = (size_t)(p - s);
			for (y = syms; y->name; y++)
				if (strlen(y->name) == n && !strncmp(y->name, s, n))
					break;
			if (!y->name) {
				snprintf(bad, badlen, "%.*s", (int)n, s);
				return -1;
			}
			x = y->v;
		} else {
			goto fail;
		}
		acc |= x;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (*p++ != '|')
			goto fail;
	}
	*v = acc;
	return 0;
fail:
	snprintf(bad, badlen, "%s", expr);
	return -1;
}
