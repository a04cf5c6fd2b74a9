/* What the fd drivers (tap.c, af_packet.c) share: the device state every
 * one of them starts with, and the virtio-net header their frames cross
 * the kernel with (IFF_VNET_HDR, PACKET_VNET_HDR). */
#ifndef TAPIR_LINK_INT_H
#define TAPIR_LINK_INT_H

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

#include <tapir/link.h>

#define LINK_NAME_MAX 16 /* IFNAMSIZ, with its NUL */

/* The first member of a driver's state. */
struct link_dev {
	struct tapir_link link; /* first: the core sees only this */
	int fd;                 /* the frames' file descriptor, -1 until opened */
	unsigned mtu;
	char name[LINK_NAME_MAX];
};

/* Checks the interface NAME and allocates SIZE zeroed bytes of a driver's
 * state, which begins with a struct link_dev: its fd -1, its name and
 * link.name set.  NULL with a one-line reason in ERR. */
void *link_dev_new(size_t size, const char *name, char *err, size_t errlen);
/* Closes D's fd and frees the state D begins (D is not NULL). */
void link_dev_free(struct link_dev *d);

/* Writes the virtio-net header H and then FRAME to FD as one record.
 * 0, -EIO for a short write, or -errno. */
int link_vnet_write(int fd, const struct virtio_net_hdr *h, const uint8_t *frame, size_t len);
/* VIRTIO_NET_HDR_F_NEEDS_CSUM: the field at csum_start + csum_offset holds
 * the pseudo-header sum; the checksum over everything from csum_start
 * completes it, as the device would have (skb_checksum_help).  0 (also
 * when H asks for nothing), or -1 when the offsets lie outside the frame. */
int link_vnet_csum(const struct virtio_net_hdr *h, uint8_t *frame, size_t len);

#endif
