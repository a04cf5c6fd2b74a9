/* The AF_PACKET driver: Ethernet frames straight on an existing interface
 * (a NIC, a veth end), beside the kernel's own stack on it.
 *
 * tapir has a MAC address of its own here.  The socket is bound to the
 * interface and asks for frames to that MAC with PACKET_ADD_MEMBERSHIP
 * (PACKET_MR_UNICAST: the device's unicast filter, or promiscuous mode
 * where the device has none).  The kernel's stack on the same interface
 * marks those frames PACKET_OTHERHOST and drops them (ip_rcv, arp_rcv), so
 * it never answers tapir's traffic: no kernel RST for a SYN/ACK that
 * tapir's SYN provoked.  A socket filter keeps only frames for tapir's MAC
 * and group frames (ARP requests are broadcast), so the kernel's own unicast
 * traffic on the interface is not copied to us.
 *
 * Checksums: a frame from a local sender (a veth peer, a bridge) may arrive
 * with its TCP/UDP checksum not filled in yet (CHECKSUM_PARTIAL: the sender
 * left it to offload).  The kernel's stack knows to trust such a frame; a
 * packet socket just sees a wrong checksum.  With PACKET_VNET_HDR each frame
 * comes with a virtio_net_hdr that says so (VIRTIO_NET_HDR_F_NEEDS_CSUM, with
 * where the sum starts and where it goes), and we complete the checksum as
 * the device would have (skb_checksum_help), so the core can check it as
 * usual. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "link_int.h"

struct tapir_afp {
	struct link_dev dev; /* first: the core sees only its link */
	int ifindex;
	uint8_t mac[6];
};

static int afp_send(struct tapir_link *l, const uint8_t *frame, size_t len)
{
	static const struct virtio_net_hdr none; /* checksums complete, no GSO */
	/* bound socket: the frame goes out of that interface as it is */
	return link_vnet_write(((struct tapir_afp *)l)->dev.fd, &none, frame, len);
}

/* Classic BPF: accept a frame whose destination is MAC or a group address
 * (I/G bit set: broadcast, multicast), drop the rest. */
static int attach_filter(int fd, const uint8_t mac[6])
{
	uint32_t hi = (uint32_t)mac[0] << 8 | mac[1];
	uint32_t lo = (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5];
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),             /* dst[0] */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 4, 0),     /* group: accept */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2),             /* dst[2..5] */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo, 0, 3),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),             /* dst[0..1] */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0x40000),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* Frames to MAC reach us: by the device's unicast filter or, where it has
 * none, in promiscuous mode (dropped on close). */
static int join_mac(struct tapir_afp *a, const uint8_t mac[6])
{
	struct packet_mreq mr;
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = a->ifindex;
	mr.mr_type = PACKET_MR_UNICAST;
	mr.mr_alen = 6;
	memcpy(mr.mr_address, mac, 6);
	if (setsockopt(a->dev.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) == 0)
		return 0;
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = a->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	return setsockopt(a->dev.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
}

/* SHARED: tapir takes the interface's own MAC (into MAC) instead of one of
 * its own (--shared-addr, tools/shared.c): the kernel's stack then takes
 * the same frames, and what it must not answer is kept from it by the
 * caller's firewall. */
static struct tapir_afp *afp_open(const char *name, uint8_t mac[6], bool shared, char *err,
				  size_t errlen)
{
	struct tapir_afp *a;
	struct ifreq ifr;
	struct sockaddr_ll sll;
	int one = 1, buf = 64 << 20;

	a = link_dev_new(sizeof(*a), name, err, errlen);
	if (!a)
		return NULL;
	/* protocol 0: receives nothing until bound with ETH_P_ALL below, so
	 * no frame from another interface slips in before the bind */
	a->dev.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->dev.fd < 0) {
		int e = errno;
		snprintf(err, errlen, "AF_PACKET socket: %s%s", strerror(e),
			 e == EPERM || e == EACCES ? " (run as root or with CAP_NET_RAW)" : "");
		goto fail;
	}
	a->ifindex = (int)if_nametoindex(name);
	if (!a->ifindex) {
		snprintf(err, errlen, "no interface %s in this network namespace", name);
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, a->dev.name, sizeof(a->dev.name));
	if (ioctl(a->dev.fd, SIOCGIFHWADDR, &ifr) < 0 || ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */) {
		snprintf(err, errlen, "%s is not an Ethernet interface", name);
		goto fail;
	}
	if (shared)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	else if (!memcmp(ifr.ifr_hwaddr.sa_data, mac, 6)) {
		/* the kernel's stack would take tapir's frames as its own */
		snprintf(err, errlen, "tapir's MAC must not be %s's own", name);
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, a->dev.name, sizeof(a->dev.name));
	a->dev.mtu = ioctl(a->dev.fd, SIOCGIFMTU, &ifr) == 0 ? (unsigned)ifr.ifr_mtu : 1500;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, a->dev.name, sizeof(a->dev.name));
	if (ioctl(a->dev.fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		snprintf(err, errlen, "interface %s is down", name);
		goto fail;
	}
	memcpy(a->mac, mac, 6);
	if (attach_filter(a->dev.fd, mac) < 0) {
		snprintf(err, errlen, "%s: socket filter: %s", name, strerror(errno));
		goto fail;
	}
	/* a virtio_net_hdr before each frame, both ways (see the top) */
	if (setsockopt(a->dev.fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		snprintf(err, errlen, "%s: PACKET_VNET_HDR: %s", name, strerror(errno));
		goto fail;
	}
	/* our own frames come back to packet sockets as PACKET_OUTGOING
	 * (Linux 4.20+); recv also skips them for older kernels */
	setsockopt(a->dev.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* a burst of answers must not overflow the queue: 64 MB when root may
	 * (SO_RCVBUFFORCE), else what rmem_max allows */
	if (setsockopt(a->dev.fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(a->dev.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = a->ifindex;
	if (bind(a->dev.fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		snprintf(err, errlen, "cannot bind to %s: %s", name, strerror(errno));
		goto fail;
	}
	/* the interface's own MAC needs no membership: its frames come anyway */
	if (!shared && join_mac(a, mac) < 0) {
		snprintf(err, errlen, "%s: cannot receive frames for our MAC: %s", name,
			 strerror(errno));
		goto fail;
	}
	a->dev.link.send = afp_send;
	return a;
fail:
	tapir_afp_close(a);
	return NULL;
}

struct tapir_afp *tapir_afp_open(const char *name, const uint8_t mac[6], char *err, size_t errlen)
{
	uint8_t m[6];
	memcpy(m, mac, 6);
	return afp_open(name, m, false, err, errlen);
}

struct tapir_afp *tapir_afp_open_shared(const char *name, uint8_t mac[6], char *err,
					size_t errlen)
{
	return afp_open(name, mac, true, err, errlen);
}

void tapir_afp_close(struct tapir_afp *a)
{
	if (a)
		link_dev_free(&a->dev); /* the membership goes with the socket */
}

struct tapir_link *tapir_afp_link(struct tapir_afp *a) { return &a->dev.link; }
int tapir_afp_fd(const struct tapir_afp *a) { return a->dev.fd; }
unsigned tapir_afp_mtu(const struct tapir_afp *a) { return a->dev.mtu; }

long tapir_afp_recv(struct tapir_afp *a, uint8_t *buf, size_t cap)
{
	for (;;) {
		struct sockaddr_ll from;
		struct virtio_net_hdr vh;
		struct iovec iov[2] = {{&vh, sizeof(vh)}, {buf, cap}};
		struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = iov, .msg_iovlen = 2};
		ssize_t n = recvmsg(a->dev.fd, &msg, MSG_TRUNC);
		size_t len;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue; /* one of ours, looped back to packet sockets */
		if ((size_t)n < sizeof(vh) || (size_t)n - sizeof(vh) > cap)
			continue; /* larger than the MTU said: not one we can take */
		len = (size_t)n - sizeof(vh);
		if (link_vnet_csum(&vh, buf, len) < 0)
			continue; /* its checksum offsets lie outside it */
		return (long)len;
	}
}

int tapir_afp_drops(struct tapir_afp *a, uint64_t *drops)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);
	if (getsockopt(a->dev.fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return -errno;
	*drops = st.tp_drops; /* since the last call: the kernel resets them */
	return 0;
}
