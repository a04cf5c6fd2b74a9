/*
 * tapir — link drivers: what moves frames between the core and the world.
 *
 * The core only knows struct tapir_link: a send function.  Receiving is the
 * caller's loop: it reads frames from a driver and hands them to
 * tapir_stack_input().  All system calls for frames live in this layer.
 */
#ifndef TAPIR_LINK_H
#define TAPIR_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tapir/stack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A TCP segment larger than the MTU, for a link that cuts it into
 * segments of SIZE payload bytes itself (TCP segmentation offload): the
 * headers (HDR_LEN bytes from the frame's start) go on each, the TCP
 * checksum field holds the pseudo-header sum, to be completed per segment
 * over the bytes from CSUM_START (the field at CSUM_START + CSUM_OFFSET).
 * The packet is IPv4 or IPv6, as its version field says.  SIZE 0: one
 * segment, not cut, whose checksum alone is left to the link (checksum
 * offload; a local receiver trusts such a frame without summing it). */
struct tapir_tso {
	uint16_t size, hdr_len, csum_start, csum_offset;
};

struct tapir_link {
	/* Sends one Ethernet frame; returns 0 or a negative errno.  Must not
	 * block and must not call back into the stack. */
	int (*send)(struct tapir_link *link, const uint8_t *frame, size_t len);
	const char *name;
	/* Optional (NULL/0 when absent): sends one TCP super-segment of up to
	 * TSO_MAX bytes (from the Ethernet header on) as described above.
	 * The core uses it only while no hook or frame observer wants to see
	 * each frame as it goes on the wire. */
	int (*send_tso)(struct tapir_link *link, const uint8_t *frame, size_t len,
			const struct tapir_tso *tso);
	unsigned tso_max;
};

/* ---- TAP device (Linux /dev/net/tun) ---- */
struct tapir_tap;
/* Opens the TAP device NAME in the current network namespace, creating it
 * when absent, and sets the kernel's side up.  On failure returns NULL and
 * writes a one-line reason into ERR. */
struct tapir_tap *tapir_tap_open(const char *name, char *err, size_t errlen);
void tapir_tap_close(struct tapir_tap *t);
struct tapir_link *tapir_tap_link(struct tapir_tap *t);
/* The descriptor to poll for frames: the TAP's own, or the io_uring's
 * while the batching path is on (take it after tapir_tap_set_uring). */
int tapir_tap_fd(const struct tapir_tap *t);
/* The batching path (docs/performance.md): frames read by one multishot
 * io_uring read, frames sent while batching (tapir_tap_batch) queued and
 * submitted together.  0 when on; -1 when off: asked so, io_uring not
 * usable here (seccomp, an old kernel), or TAPIR_NO_URING=1 in the
 * environment -- the driver then reads and writes as before.  The read is
 * armed by the thread that calls tapir_tap_batch or tapir_tap_recv first. */
int tapir_tap_set_uring(struct tapir_tap *t, bool on);
/* ON: frames sent from now on may wait in the ring; OFF: they go, with
 * the read re-armed if it must be, in one io_uring_enter, and the answer
 * is true when frames already wait to be read: the descriptor will not
 * say so, read them before polling.  A loop calls it around each turn;
 * no-op (false) with the batching path off.  One thread at a time (the
 * caller's lock). */
bool tapir_tap_batch(struct tapir_tap *t, bool on);
/* Ends a turn as tapir_tap_batch(T, false) does, then sleeps until a
 * frame can be read or TIMEOUT_US have passed: on the batching path the
 * submission and the wait are one io_uring_enter (one system call a
 * wake-up instead of two), else ppoll on the TAP.  True when frames may
 * be read; a caller that also waits on other descriptors keeps to
 * tapir_tap_batch and its own poll. */
bool tapir_tap_wait(struct tapir_tap *t, uint64_t timeout_us);
unsigned tapir_tap_mtu(const struct tapir_tap *t);
/* Reads one frame; returns its length, 0 when none is waiting, or -errno.
 * A segment the kernel left its checksum to us for (offload) gets it
 * completed here. */
long tapir_tap_recv(struct tapir_tap *t, uint8_t *buf, size_t cap);
/* The same, leaving such a checksum as it is and saying so in *FLAGS
 * (TAPIR_RX_CSUM_PARTIAL), for tapir_stack_input_flags: one pass over the
 * bytes fewer. */
long tapir_tap_recv_flags(struct tapir_tap *t, uint8_t *buf, size_t cap, unsigned *flags);
/* The same without a copy of the frame: *FRAME points at it where the
 * kernel put it (the io_uring path's receive buffer), and stays valid
 * until the next call or the turn's end (tapir_tap_batch false); without
 * io_uring, a buffer of the driver's own. */
long tapir_tap_recv_ref(struct tapir_tap *t, uint8_t **frame, unsigned *flags);
/* ERR (a positive errno a driver's recv returned) means the device is gone
 * or broken for good (a TAP whose interface was deleted reads EBADFD; EIO,
 * ENODEV, ENXIO ...), not a passing shortage to retry (EAGAIN, EINTR,
 * ENOBUFS, ENOMEM, ENETDOWN of a link that may come up again). */
bool tapir_link_error_fatal(int err);
/* Sets the device's MTU (68-65521: a TAP carries frames up to 64 KiB),
 * on the kernel's side as for tapir_tap_mtu(). */
int tapir_tap_set_mtu(struct tapir_tap *t, unsigned mtu, char *err, size_t errlen);
/* TCP segmentation offload (on after open): the stack may hand the kernel
 * TCP super-segments of up to 64 KiB that it cuts itself (virtio-net
 * headers, GSO).  Off: every frame is at most the MTU, as a capture on the
 * kernel's side of the TAP (or a raw-packet peer there) expects. */
void tapir_tap_set_tso(struct tapir_tap *t, int on);
/* Gives the kernel's side of the TAP an address (ADDR/PREFIX_LEN). */
int tapir_tap_set_peer_addr(struct tapir_tap *t, uint32_t addr,
			    unsigned prefix_len, char *err, size_t errlen);
/* The same for IPv6, without DAD (IFA_F_NODAD): usable at once. */
int tapir_tap_set_peer_addr6(struct tapir_tap *t, const uint8_t addr[16],
			     unsigned prefix_len, char *err, size_t errlen);

/* ---- AF_PACKET (Linux): an existing Ethernet interface, shared with the
 * kernel's own stack on it ---- */
struct tapir_afp;
/* Opens interface NAME in the current network namespace for frames to and
 * from MAC (tapir's own address, not the interface's): a packet socket
 * bound to it, member of MAC's unicast filter (or promiscuous), with a
 * socket filter that keeps frames for MAC and group frames.  Needs
 * CAP_NET_RAW.  On failure returns NULL and writes a one-line reason into
 * ERR. */
struct tapir_afp *tapir_afp_open(const char *name, const uint8_t mac[6], char *err,
				 size_t errlen);
/* The same on the interface's own MAC, which it writes to MAC: tapir
 * beside the kernel on one address (tapir --shared-addr, which keeps the
 * two apart by port with an nftables table; docs/shared-addr.md). */
struct tapir_afp *tapir_afp_open_shared(const char *name, uint8_t mac[6], char *err,
					size_t errlen);
void tapir_afp_close(struct tapir_afp *a);
struct tapir_link *tapir_afp_link(struct tapir_afp *a);
int tapir_afp_fd(const struct tapir_afp *a);
unsigned tapir_afp_mtu(const struct tapir_afp *a);
/* Reads one frame (never one we sent); returns its length, 0 when none is
 * waiting, or -errno. */
long tapir_afp_recv(struct tapir_afp *a, uint8_t *buf, size_t cap);
/* Frames the kernel dropped for want of room in the socket's queue since
 * the previous call (PACKET_STATISTICS).  0 or -errno. */
int tapir_afp_drops(struct tapir_afp *a, uint64_t *drops);

/* ---- in-memory pair, for tests: two ends, frames cross with seeded
 * impairments, in simulated time ---- */
struct tapir_memlink_params {
	uint64_t seed;
	double loss, dup, reorder, corrupt; /* probabilities per frame, 0..1 */
	tapir_time_t delay_us, jitter_us;   /* one-way delay, +/- uniform jitter */
	tapir_time_t reorder_extra_us;      /* extra delay of a reordered frame */
	unsigned queue_limit;               /* frames in flight per direction */
	int tso;                            /* non-zero: offer segmentation offload (cut here) */
	double ce;                          /* RFC 3168: an ECN-capable IPv4 packet gets CE
					     * (congestion experienced) instead of a loss */
};
struct tapir_memlink_stats {
	uint64_t sent, delivered, lost, duplicated, reordered, corrupted,
		queue_full, tso,                  /* tso: super-segments cut */
		csum_offload,                     /* segments whose checksum the link completed */
		ce_marked;
};
struct tapir_memlink;
void tapir_memlink_params_default(struct tapir_memlink_params *p);
struct tapir_memlink *tapir_memlink_new(const struct tapir_memlink_params *p);
void tapir_memlink_free(struct tapir_memlink *m);
/* SIDE is 0 or 1; a frame sent on one end arrives at the other. */
struct tapir_link *tapir_memlink_end(struct tapir_memlink *m, int side);
/* The time frames sent from now on are stamped with. */
void tapir_memlink_set_time(struct tapir_memlink *m, tapir_time_t now);
/* Hands every frame due by NOW to RX (side = the end that receives it). */
typedef void (*tapir_memlink_rx_fn)(void *arg, int side, uint8_t *frame,
				    size_t len, tapir_time_t now);
size_t tapir_memlink_deliver(struct tapir_memlink *m, tapir_time_t now,
			     tapir_memlink_rx_fn rx, void *arg);
tapir_time_t tapir_memlink_next(const struct tapir_memlink *m);
const struct tapir_memlink_stats *tapir_memlink_stats(const struct tapir_memlink *m);

/* ---- pcap file writer (libpcap's dump API) ---- */
struct tapir_pcap;
struct tapir_pcap *tapir_pcap_open(const char *path, char *err, size_t errlen);
/* Records one frame; the timestamp is wall-clock time in microseconds. */
void tapir_pcap_write(struct tapir_pcap *p, const uint8_t *frame, size_t len,
		      uint64_t wall_us);
void tapir_pcap_flush(struct tapir_pcap *p);
void tapir_pcap_close(struct tapir_pcap *p);

#ifdef __cplusplus
}
#endif
#endif
