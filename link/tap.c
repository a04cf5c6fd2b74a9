/* The Linux TAP driver: Ethernet frames through /dev/net/tun.  Also sets up
 * the kernel's side of the device (link up, optional address), so that one
 * command gives a host the kernel can reach. */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <tapir/wire.h>

#include "link_int.h"

#define TAP_FRAME_MAX (65536 + 64) /* an uncut TCP segment with offload */

struct tapir_tap {
	struct link_dev dev; /* first: the core sees only its link */
	int ctl; /* an AF_INET socket for interface ioctls */
	struct virtio_net_hdr last_hdr; /* of the frame tapir_tap_recv_flags read */
	struct tap_uring *ur; /* the batching path (tap_uring.c), NULL: off */
	bool batching;        /* between tapir_tap_batch(on) and (off) */
	bool turns;           /* the caller batches: its turns' ends arm the read */
	uint8_t *frame;       /* tapir_tap_recv_ref's buffer without the ring */
};

/* A frame out: queued in the ring while the caller batches, else (and
 * for a frame the ring will not take) written at once, after what is
 * queued so that frames keep their order. */
static int tap_write(struct tapir_tap *t, const struct virtio_net_hdr *h, const uint8_t *frame,
		     size_t len)
{
	if (t->ur && t->batching) {
		if (tap_uring_send(t->ur, h, frame, len) == 0)
			return 0;
		tap_uring_flush(t->ur);
	}
	return link_vnet_write(t->dev.fd, h, frame, len);
}

/* Every frame crosses with a virtio-net header in front (IFF_VNET_HDR):
 * all zero for a plain frame; for a TCP super-segment it asks the kernel
 * to cut it into MSS-sized segments and checksum each (GSO), so that one
 * write carries up to 64 KiB, over IPv4 or IPv6.  The other way, with
 * offload on (TUNSETOFFLOAD: checksum, TSO4, TSO6) the kernel may hand us its TCP segments
 * uncut, up to 64 KiB, with the TCP checksum left for us to complete:
 * tapir_tap_recv completes it, so the core sees an ordinary packet. */
static int tap_send(struct tapir_link *l, const uint8_t *frame, size_t len)
{
	static const struct virtio_net_hdr none;
	return tap_write((struct tapir_tap *)l, &none, frame, len);
}

static int tap_send_tso(struct tapir_link *l, const uint8_t *frame, size_t len,
			const struct tapir_tso *tso)
{
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		/* the IP version says which family the kernel cuts for;
		 * size 0: not cut, the checksum only */
		.gso_type = !tso->size ? VIRTIO_NET_HDR_GSO_NONE
			    : frame[TAPIR_ETH_HLEN] >> 4 == 6 ? VIRTIO_NET_HDR_GSO_TCPV6
							      : VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = tso->hdr_len,
		.gso_size = tso->size,
		.csum_start = tso->csum_start,
		.csum_offset = tso->csum_offset,
	}; /* little-endian fields: this host's order (TUNSETVNETLE not needed on x86) */
	return tap_write((struct tapir_tap *)l, &h, frame, len);
}

static int ifreq_for(const struct tapir_tap *t, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, t->dev.name, sizeof(t->dev.name));
	return 0;
}

struct tapir_tap *tapir_tap_open(const char *name, char *err, size_t errlen)
{
	struct tapir_tap *t;
	struct ifreq ifr;

	t = link_dev_new(sizeof(*t), name, err, errlen);
	if (!t)
		return NULL;
	t->ctl = -1;
	t->dev.fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->dev.fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open /dev/net/tun: %s%s", strerror(e),
			 e == EACCES || e == EPERM ? " (run as root or with CAP_NET_ADMIN)"
			 : e == ENOENT		   ? " (is the tun module loaded?)"
						   : "");
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, t->dev.name, sizeof(t->dev.name));
	if (ioctl(t->dev.fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot attach to TAP device %s: %s%s", name, strerror(e),
			 e == EBUSY    ? " (another process has it open)"
			 : e == EINVAL ? " (it exists and is not a TAP device)"
			 : e == EPERM  ? " (run as root or with CAP_NET_ADMIN)"
				       : "");
		goto fail;
	}
	t->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t->ctl < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	ifreq_for(t, &ifr);
	if (ioctl(t->ctl, SIOCGIFFLAGS, &ifr) < 0) {
		snprintf(err, errlen, "%s: cannot read flags: %s", name, strerror(errno));
		goto fail;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(t->ctl, SIOCSIFFLAGS, &ifr) < 0) {
		snprintf(err, errlen, "%s: cannot bring up: %s", name, strerror(errno));
		goto fail;
	}
	ifreq_for(t, &ifr);
	t->dev.mtu = ioctl(t->ctl, SIOCGIFMTU, &ifr) == 0 ? (unsigned)ifr.ifr_mtu : 1500;
	t->dev.link.send = tap_send;
	tapir_tap_set_tso(t, 1);
	return t;
fail:
	tapir_tap_close(t);
	return NULL;
}

void tapir_tap_close(struct tapir_tap *t)
{
	if (!t)
		return;
	if (t->ctl >= 0)
		close(t->ctl);
	tap_uring_free(t->ur);
	free(t->frame);
	link_dev_free(&t->dev);
}

struct tapir_link *tapir_tap_link(struct tapir_tap *t) { return &t->dev.link; }

void tapir_tap_set_tso(struct tapir_tap *t, int on)
{
	t->dev.link.send_tso = on ? tap_send_tso : NULL;
	/* an IPv4 packet's limit (IPv6 kept within it too), and its Ethernet header */
	t->dev.link.tso_max = on ? 65535 + 14 : 0;
	/* what the kernel may send us; a kernel without it sends whole frames */
	(void)ioctl(t->dev.fd, TUNSETOFFLOAD,
		    on ? (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0ul);
}

int tapir_tap_fd(const struct tapir_tap *t) { return t->ur ? tap_uring_fd(t->ur) : t->dev.fd; }

int tapir_tap_set_uring(struct tapir_tap *t, bool on)
{
	const char *no = getenv("TAPIR_NO_URING");
	if (!on || (no && no[0] && strcmp(no, "0") != 0)) {
		tap_uring_free(t->ur);
		t->ur = NULL;
		return on ? -1 : 0;
	}
	if (!t->ur)
		t->ur = tap_uring_new(t->dev.fd);
	/* the read is armed by the first flush or recv: by the thread that
	 * will take the frames, which the kernel's completions run on */
	return t->ur ? 0 : -1;
}

bool tapir_tap_batch(struct tapir_tap *t, bool on)
{
	if (!t->ur)
		return false;
	t->turns = true;
	t->batching = on;
	if (!on) /* the turn is over: no frame of it is being read any more */
		tap_uring_release(t->ur);
	return !on && tap_uring_flush(t->ur);
}
bool tapir_tap_wait(struct tapir_tap *t, uint64_t timeout_us)
{
	struct timespec ts = {.tv_sec = (time_t)(timeout_us / 1000000u),
			      .tv_nsec = (long)(timeout_us % 1000000u) * 1000};
	struct pollfd p;
	if (t->ur) {
		int r;
		t->turns = true;
		t->batching = false;
		if ((r = tap_uring_wait(t->ur, timeout_us)) >= 0)
			return r > 0;
		if (tap_uring_flush(t->ur))
			return true;
	}
	p = (struct pollfd){.fd = tapir_tap_fd(t), .events = POLLIN};
	return ppoll(&p, 1, &ts, NULL) > 0;
}

unsigned tapir_tap_mtu(const struct tapir_tap *t) { return t->dev.mtu; }

long tapir_tap_recv(struct tapir_tap *t, uint8_t *buf, size_t cap)
{
	unsigned flags;
	long n = tapir_tap_recv_flags(t, buf, cap, &flags);
	/* a 64 KiB segment checked once here, not sent on a wire where it
	 * could be damaged; one whose offsets lie outside it is left as it
	 * is, for the core's check to drop */
	if (n > 0 && (flags & TAPIR_RX_CSUM_PARTIAL))
		(void)link_vnet_csum(&t->last_hdr, buf, (size_t)n);
	return n;
}

/* N from the ring's read: a caller without turns arms the read again here */
static long tap_uring_taken(struct tapir_tap *t, long n)
{
	if (n == 0 && !t->turns)
		tap_uring_flush(t->ur);
	return n;
}

/* A frame of N bytes read with header H: a segment the kernel left its
 * checksum to us for is said in *FLAGS, and its header kept (last_hdr) */
static long tap_rx_flags(struct tapir_tap *t, const struct virtio_net_hdr *h, long n,
			 unsigned *flags)
{
	*flags = 0;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		*flags = TAPIR_RX_CSUM_PARTIAL;
		t->last_hdr = *h;
	}
	return n;
}

long tapir_tap_recv_flags(struct tapir_tap *t, uint8_t *buf, size_t cap, unsigned *flags)
{
	struct virtio_net_hdr h;
	struct iovec iov[2] = {{&h, sizeof(h)}, {buf, cap}};
	ssize_t n;
	if (t->ur) {
		n = tap_uring_taken(t, tap_uring_recv(t->ur, &h, buf, cap));
		if (n <= 0)
			return n;
	} else {
		n = readv(t->dev.fd, iov, 2);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n < (ssize_t)sizeof(h))
			return 0;
		n -= (ssize_t)sizeof(h);
	}
	return tap_rx_flags(t, &h, n, flags);
}

long tapir_tap_recv_ref(struct tapir_tap *t, uint8_t **frame, unsigned *flags)
{
	struct virtio_net_hdr h;
	long n;
	if (!t->ur) { /* one read into a buffer of our own, as recv_flags */
		if (!t->frame && !(t->frame = malloc(TAP_FRAME_MAX)))
			return -ENOMEM;
		*frame = t->frame;
		return tapir_tap_recv_flags(t, t->frame, TAP_FRAME_MAX, flags);
	}
	n = tap_uring_taken(t, tap_uring_peek(t->ur, &h, frame));
	return n <= 0 ? n : tap_rx_flags(t, &h, n, flags);
}

int tapir_tap_set_mtu(struct tapir_tap *t, unsigned mtu, char *err, size_t errlen)
{
	struct ifreq ifr;
	ifreq_for(t, &ifr);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(t->ctl, SIOCSIFMTU, &ifr) < 0) {
		snprintf(err, errlen, "%s: cannot set MTU %u: %s", t->dev.name, mtu, strerror(errno));
		return -1;
	}
	t->dev.mtu = mtu;
	return 0;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(addr);
	memcpy(sa, &sin, sizeof(sin));
}

int tapir_tap_set_peer_addr6(struct tapir_tap *t, const uint8_t addr[16], unsigned plen,
			     char *err, size_t errlen)
{
	/* RTM_NEWADDR (rtnetlink(7)): the ioctl cannot ask for IFA_F_NODAD,
	 * and without it the kernel would not use the address for a second
	 * or more (RFC 4862 5.4) */
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		struct rtattr local_rta;
		uint8_t local[16];
		struct rtattr addr_rta;
		uint8_t address[16];
		struct rtattr flags_rta;
		uint32_t flags;
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr e;
	} ack;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct ifreq ifr;
	int fd, rc = -1;
	long n;

	ifreq_for(t, &ifr);
	if (ioctl(t->ctl, SIOCGIFINDEX, &ifr) < 0) {
		snprintf(err, errlen, "%s: no interface index: %s", t->dev.name, strerror(errno));
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.nh = (struct nlmsghdr){.nlmsg_len = sizeof(req), .nlmsg_type = RTM_NEWADDR,
				   .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
				   .nlmsg_seq = 1};
	req.ifa = (struct ifaddrmsg){.ifa_family = AF_INET6, .ifa_prefixlen = (uint8_t)plen,
				     .ifa_flags = IFA_F_NODAD, .ifa_index = (unsigned)ifr.ifr_ifindex};
	req.local_rta = (struct rtattr){.rta_len = RTA_LENGTH(16), .rta_type = IFA_LOCAL};
	memcpy(req.local, addr, 16);
	req.addr_rta = (struct rtattr){.rta_len = RTA_LENGTH(16), .rta_type = IFA_ADDRESS};
	memcpy(req.address, addr, 16);
	req.flags_rta = (struct rtattr){.rta_len = RTA_LENGTH(4), .rta_type = IFA_FLAGS};
	req.flags = IFA_F_NODAD;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ||
	    (n = recv(fd, &ack, sizeof(ack), 0)) < (long)sizeof(ack) || ack.nh.nlmsg_type != NLMSG_ERROR) {
		snprintf(err, errlen, "%s: cannot set the kernel's IPv6 address: %s", t->dev.name,
			 strerror(errno));
	} else if (ack.e.error) {
		snprintf(err, errlen, "%s: cannot set the kernel's IPv6 address: %s", t->dev.name,
			 strerror(-ack.e.error));
	} else {
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int tapir_tap_set_peer_addr(struct tapir_tap *t, uint32_t addr, unsigned plen, char *err,
			    size_t errlen)
{
	struct ifreq ifr;
	ifreq_for(t, &ifr);
	set_sin(&ifr.ifr_addr, addr);
	if (ioctl(t->ctl, SIOCSIFADDR, &ifr) < 0) {
		snprintf(err, errlen, "%s: cannot set the kernel's address: %s", t->dev.name,
			 strerror(errno));
		return -1;
	}
	ifreq_for(t, &ifr);
	set_sin(&ifr.ifr_netmask, plen ? ~0u << (32 - plen) : 0);
	if (ioctl(t->ctl, SIOCSIFNETMASK, &ifr) < 0) {
		snprintf(err, errlen, "%s: cannot set the kernel's netmask: %s", t->dev.name,
			 strerror(errno));
		return -1;
	}
	return 0;
}
