/* The route and next hop of --mode syn's fast path, asked of the kernel over
 * rtnetlink: RTM_GETROUTE for the interface and gateway towards a target,
 * RTM_GETNEIGH for that gateway's (or on-link target's) MAC.  Nothing is
 * resolved here: a next hop the kernel does not know yet is left to the raw
 * socket path, whose first SYN makes the kernel resolve it (ARP, RFC 826;
 * neighbour discovery, RFC 4861 7.2). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "syn_hop.h"

int syn_hop_open(void)
{
	struct sockaddr_nl me = {.nl_family = AF_NETLINK};
	struct timeval tv = {.tv_sec = 1}; /* a kernel answer is immediate; bounded anyway */
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Appends attribute TYPE (LEN bytes of DATA) to the request N. */
static void put_attr(struct nlmsghdr *n, unsigned short type, const void *data, unsigned len)
{
	struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Clears the request of SIZE bytes that starts with header N and makes it a
 * TYPE request with a BODY-byte fixed part (attributes come after) for
 * address FAMILY: the body's first byte, in rtmsg and ndmsg alike (the
 * rtgenmsg all rtnetlink bodies start with). */
static void req_init(struct nlmsghdr *n, size_t size, size_t body, unsigned short type, int family)
{
	memset(n, 0, size);
	n->nlmsg_len = NLMSG_LENGTH(body);
	n->nlmsg_type = type;
	n->nlmsg_flags = NLM_F_REQUEST;
	((struct rtgenmsg *)NLMSG_DATA(n))->rtgen_family = (unsigned char)family;
}

/* Sends request N and reads its answer into BUF: the answer's header, or
 * NULL (an error answer, or none). */
static struct nlmsghdr *ask(int fd, struct nlmsghdr *n, char *buf, size_t len)
{
	static uint32_t seq;
	struct nlmsghdr *a = (struct nlmsghdr *)buf;
	ssize_t got;
	n->nlmsg_seq = ++seq;
	if (send(fd, n, n->nlmsg_len, 0) != (ssize_t)n->nlmsg_len)
		return NULL;
	/* (a late answer to an earlier, timed-out question is skipped) */
	for (int tries = 0; tries < 8; tries++) {
		got = recv(fd, buf, len, 0);
		if (got < (ssize_t)sizeof(*a) || !NLMSG_OK(a, (unsigned)got))
			return NULL;
		if (a->nlmsg_seq == n->nlmsg_seq)
			return a->nlmsg_type == NLMSG_ERROR ? NULL : a;
	}
	return NULL;
}

/* Request N with its one attribute TYPE (LEN bytes of DATA) added, sent:
 * the answer (in BUF) if it is of type WANT, else NULL. */
static struct nlmsghdr *ask_with(int fd, struct nlmsghdr *n, unsigned short type, const void *data,
				 unsigned len, char *buf, size_t buflen, unsigned short want)
{
	struct nlmsghdr *a;
	put_attr(n, type, data, len);
	a = ask(fd, n, buf, buflen);
	return a && a->nlmsg_type == want ? a : NULL;
}

int syn_hop_route(int fd, const struct nu_addr *dst, struct syn_hop *h)
{
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
		char attrs[64];
	} req;
	char buf[4096];
	unsigned alen = dst->family == AF_INET6 ? 16 : 4;
	struct nlmsghdr *a;
	struct rtmsg *rt;
	struct rtattr *at;
	int left;
	req_init(&req.n, sizeof(req), sizeof(req.r), RTM_GETROUTE, dst->family);
	req.r.rtm_dst_len = (unsigned char)(alen * 8);
	a = ask_with(fd, &req.n, RTA_DST, dst->family == AF_INET6 ? (const void *)dst->u.v6 : &dst->u.v4,
		     alen, buf, sizeof(buf), RTM_NEWROUTE);
	if (!a)
		return -1;
	rt = NLMSG_DATA(a);
	/* only a plain unicast route: local, broadcast, blackhole, multipath
	 * and the like stay the kernel's */
	if (rt->rtm_type != RTN_UNICAST)
		return -1;
	memset(h, 0, sizeof(*h));
	h->family = dst->family;
	memcpy(h->addr, dst->family == AF_INET6 ? (const void *)dst->u.v6 : &dst->u.v4, alen);
	left = (int)RTM_PAYLOAD(a);
	for (at = RTM_RTA(rt); RTA_OK(at, left); at = RTA_NEXT(at, left)) {
		if (at->rta_type == RTA_OIF && RTA_PAYLOAD(at) == 4)
			memcpy(&h->ifindex, RTA_DATA(at), 4);
		else if (at->rta_type == RTA_GATEWAY && RTA_PAYLOAD(at) == alen) {
			memcpy(h->addr, RTA_DATA(at), alen);
			h->gw = true;
		}
		else if (at->rta_type == RTA_VIA || at->rta_type == RTA_MULTIPATH)
			return -1;
	}
	return h->ifindex > 0 ? 0 : -1;
}

int syn_hop_mac(int fd, const struct syn_hop *h, uint8_t mac[6])
{
	struct {
		struct nlmsghdr n;
		struct ndmsg nd;
		char attrs[64];
	} req;
	char buf[1024];
	struct nlmsghdr *a;
	struct ndmsg *nd;
	struct rtattr *at;
	int left;
	req_init(&req.n, sizeof(req), sizeof(req.nd), RTM_GETNEIGH, h->family);
	req.nd.ndm_ifindex = h->ifindex;
	a = ask_with(fd, &req.n, NDA_DST, h->addr, h->family == AF_INET6 ? 16 : 4, buf, sizeof(buf),
		     RTM_NEWNEIGH);
	if (!a)
		return -1;
	nd = NLMSG_DATA(a);
	/* a MAC the kernel itself would send to now (STALE included: it
	 * would send and re-check, RFC 4861 7.3.3) */
	if (!(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
		return -1;
	left = (int)(a->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
	for (at = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))); RTA_OK(at, left);
	     at = RTA_NEXT(at, left))
		if (at->rta_type == NDA_LLADDR && RTA_PAYLOAD(at) == 6) {
			memcpy(mac, RTA_DATA(at), 6);
			return 0;
		}
	return -1;
}
