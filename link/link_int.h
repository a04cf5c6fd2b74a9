/* What the fd drivers (tap.c, af_packet.c) share: the device state every
 * one of them starts with, and the virtio-net header their frames cross
 * the kernel with (IFF_VNET_HDR, PACKET_VNET_HDR). */
#ifndef TAPIR_LINK_INT_H
#define TAPIR_LINK_INT_H

#include <linux/virtio_net.h>
#include <stdbool.h>
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

/* tap_uring.c: the TAP driver's batching path over io_uring. */
struct tap_uring;
struct tap_uring_stats {
	uint64_t enters;    /* io_uring_enter calls (each carries a batch) */
	uint64_t tx_queued; /* frames sent through the ring */
	uint64_t tx_errors; /* of those, writes the kernel refused */
	uint64_t rx_frames; /* frames read through the ring */
	uint64_t rx_arms;   /* times the multishot read was (re)armed */
};
/* A ring for the TAP descriptor TAP_FD, or NULL when io_uring or an
 * operation it needs is not there (the caller reads and writes itself). */
struct tap_uring *tap_uring_new(int tap_fd);
void tap_uring_free(struct tap_uring *u);
/* The descriptor to poll: readable when frames (or completions) wait. */
int tap_uring_fd(const struct tap_uring *u);
/* Queues header H and FRAME as one write, flushing first when the queue is
 * full.  0; -EMSGSIZE for a frame too large for a slot, -ENOBUFS with no
 * slot free even after a flush: the caller writes it itself, after a
 * tap_uring_flush (order). */
int tap_uring_send(struct tap_uring *u, const struct virtio_net_hdr *h, const uint8_t *frame,
		   size_t len);
/* Submits what is queued, and the read when it must be armed again: one
 * io_uring_enter, none when there is nothing to submit.  True when frames
 * wait to be taken (tap_uring_recv): polling the ring would not say so. */
bool tap_uring_flush(struct tap_uring *u);
/* The flush and the wait for a frame (up to TIMEOUT_US) in one
 * io_uring_enter: 1 when frames wait to be taken, 0 when none came, -1
 * when this kernel cannot time such a wait (then flush and poll). */
int tap_uring_wait(struct tap_uring *u, uint64_t timeout_us);
/* The next frame read: its header into H, up to CAP bytes into BUF.  Its
 * length, 0 when none is waiting, or -errno (a read's error, once). */
long tap_uring_recv(struct tap_uring *u, struct virtio_net_hdr *h, uint8_t *buf, size_t cap);
/* The same without the copy: *FRAME points into the receive buffer, lent
 * until the next tap_uring_peek or tap_uring_release (not a flush: a
 * frame sent while the lent one is read may flush). */
long tap_uring_peek(struct tap_uring *u, struct virtio_net_hdr *h, uint8_t **frame);
void tap_uring_release(struct tap_uring *u);
const struct tap_uring_stats *tap_uring_stats(const struct tap_uring *u);

#endif
