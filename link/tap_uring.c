/* The TAP driver's batching path: io_uring, through its raw system calls
 * (no library).  On this kind of machine (a guest where every return from
 * a system call is dear) one readv per frame, one more that says EAGAIN
 * and one writev per frame cost more than the work they carry.  Here:
 *
 *   - one multishot read, armed once, fills buffers of a provided-buffer
 *     ring with the frames as they come; each one is a completion in
 *     shared memory, taken without a system call;
 *   - while the caller batches (a turn of its loop), frames to send are
 *     copied into slots and queued as writes; the turn's end submits them
 *     all, and the read if it must be armed again, in one io_uring_enter.
 *
 * The kernel issues the queued writes in the order of the queue, at the
 * submission; a write to a TAP never waits (the device takes the frame or
 * drops it), so they leave in that order.  Buffers are bounded: RX_BUFS
 * receive buffers and TX_SLOTS send slots; with none free, the queue is
 * flushed first, so no frame is lost for want of room.  Anything missing
 * (no io_uring, seccomp, an old kernel without multishot reads) makes
 * tap_uring_new fail, and the driver reads and writes as before. */
#include <errno.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "link_int.h"

#define SQ_ENTRIES 64
#define RX_BUFS 32                    /* a power of two (the buffer ring's size) */
#define RX_BUF (65536 + 64 + 16)      /* an uncut segment with offload, its header */
#define TX_SLOTS 32                   /* < SQ_ENTRIES: room for the read's SQE */
#define TX_SLOT 2048                  /* a header and a frame of MTU 1500 or so */
#define UD_RX (~0ull)                 /* user_data of the multishot read */
#define UD_CANCEL (~0ull - 1)         /* ... of its cancel (rx_cancel) */
/* IORING_OP_READ_MULTISHOT (Linux 6.7): older headers lack it, the probe
 * asks the running kernel */
#define OP_READ_MULTISHOT 49

struct tap_uring {
	int ring, tap;
	/* the submission queue, shared with the kernel */
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, sq_entries, sq_local;
	struct io_uring_sqe *sqes;
	/* the completion queue */
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
	/* receiving: the buffer ring, its buffers, the frames read and not
	 * yet taken (at most RX_BUFS: each holds a buffer) */
	struct io_uring_buf_ring *br;
	uint8_t *rx;
	uint16_t br_tail;
	bool rx_armed;
	bool ext_arg;                 /* IORING_FEAT_EXT_ARG: a wait with a timeout */
	int rx_err;                   /* a read's error, for the next recv */
	struct { uint16_t bid; uint32_t len; } rxq[RX_BUFS];
	unsigned rxq_head, rxq_n;
	int lent;                     /* the buffer tap_uring_peek lent, -1: none */
	/* sending */
	uint8_t *tx;
	uint8_t tx_free[TX_SLOTS];
	unsigned ntx_free;
	struct tap_uring_stats st;
};

static int ur_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}
static int ur_enter(int fd, unsigned submit, unsigned min, unsigned flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, submit, min, flags, NULL, 0);
}
static int ur_register(int fd, unsigned op, void *arg, unsigned n)
{
	return (int)syscall(__NR_io_uring_register, fd, op, arg, n);
}

/* The operations this path needs, or -1. */
static int ur_probe(int fd)
{
	size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *p = calloc(1, len);
	int ok;
	if (!p)
		return -1;
	ok = ur_register(fd, IORING_REGISTER_PROBE, p, 256) == 0 &&
	     p->last_op >= OP_READ_MULTISHOT &&
	     (p->ops[OP_READ_MULTISHOT].flags & IO_URING_OP_SUPPORTED) &&
	     (p->ops[IORING_OP_WRITE].flags & IO_URING_OP_SUPPORTED);
	free(p);
	return ok ? 0 : -1;
}

static int ur_map(struct tap_uring *u, const struct io_uring_params *p)
{
	uint8_t *sq, *cq;
	u->sq_len = p->sq_off.array + p->sq_entries * sizeof(unsigned);
	u->cq_len = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
	if (p->features & IORING_FEAT_SINGLE_MMAP)
		u->sq_len = u->cq_len = u->sq_len > u->cq_len ? u->sq_len : u->cq_len;
	u->sq_map = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->ring,
			 IORING_OFF_SQ_RING);
	if (u->sq_map == MAP_FAILED)
		return u->sq_map = NULL, -1;
	u->cq_map = u->sq_map;
	if (!(p->features & IORING_FEAT_SINGLE_MMAP)) {
		u->cq_map = mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				 u->ring, IORING_OFF_CQ_RING);
		if (u->cq_map == MAP_FAILED)
			return u->cq_map = NULL, -1;
	}
	u->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->ring,
		       IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED)
		return u->sqes = NULL, -1;
	sq = u->sq_map;
	cq = u->cq_map;
	u->sq_head = (unsigned *)(sq + p->sq_off.head);
	u->sq_tail = (unsigned *)(sq + p->sq_off.tail);
	u->sq_mask = (unsigned *)(sq + p->sq_off.ring_mask);
	u->sq_array = (unsigned *)(sq + p->sq_off.array);
	u->sq_entries = p->sq_entries;
	u->sq_local = *u->sq_tail;
	u->cq_head = (unsigned *)(cq + p->cq_off.head);
	u->cq_tail = (unsigned *)(cq + p->cq_off.tail);
	u->cq_mask = (unsigned *)(cq + p->cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p->cq_off.cqes);
	return 0;
}

/* Gives receive buffer BID back to the kernel. */
static void rx_give(struct tap_uring *u, uint16_t bid)
{
	struct io_uring_buf *b = &u->br->bufs[u->br_tail & (RX_BUFS - 1)];
	b->addr = (uint64_t)(uintptr_t)(u->rx + (size_t)bid * RX_BUF);
	b->len = RX_BUF;
	b->bid = bid;
	u->br_tail++;
	__atomic_store_n(&u->br->tail, u->br_tail, __ATOMIC_RELEASE);
}

static int ur_buffers(struct tap_uring *u)
{
	struct io_uring_buf_reg reg;
	/* page-aligned, as the kernel wants the buffer ring; the buffers are
	 * touched only as far as frames fill them */
	u->br = mmap(NULL, RX_BUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u->rx = mmap(NULL, (size_t)RX_BUFS * RX_BUF, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u->tx = malloc((size_t)TX_SLOTS * TX_SLOT);
	if (u->br == MAP_FAILED || u->rx == MAP_FAILED || !u->tx) {
		u->br = u->br == MAP_FAILED ? NULL : u->br;
		u->rx = u->rx == MAP_FAILED ? NULL : u->rx;
		return -1;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)u->br;
	reg.ring_entries = RX_BUFS;
	reg.bgid = 0;
	if (ur_register(u->ring, IORING_REGISTER_PBUF_RING, &reg, 1) < 0)
		return -1;
	for (uint16_t i = 0; i < RX_BUFS; i++)
		rx_give(u, i);
	for (unsigned i = 0; i < TX_SLOTS; i++)
		u->tx_free[i] = (uint8_t)i;
	u->ntx_free = TX_SLOTS;
	return 0;
}

static void unmap_if(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

static void rx_cancel(struct tap_uring *u);

void tap_uring_free(struct tap_uring *u)
{
	if (!u)
		return;
	if (u->ring >= 0) {
		rx_cancel(u);
		close(u->ring); /* first: the kernel lets go of the buffers */
	}
	unmap_if(u->sqes, u->sqes_len);
	unmap_if(u->cq_map != u->sq_map ? u->cq_map : NULL, u->cq_len);
	unmap_if(u->sq_map, u->sq_len);
	unmap_if(u->br, RX_BUFS * sizeof(struct io_uring_buf));
	unmap_if(u->rx, (size_t)RX_BUFS * RX_BUF);
	free(u->tx);
	free(u);
}

struct tap_uring *tap_uring_new(int tap_fd)
{
	struct io_uring_params p;
	struct tap_uring *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->tap = tap_fd;
	u->lent = -1;
	/* COOP_TASKRUN (Linux 5.19): a frame that comes while this thread
	 * runs is read at its next system call, not pulled in by an
	 * inter-processor interrupt that stops it; a sleeping thread is woken
	 * as before.  The thread makes a system call every turn (the flush,
	 * the ppoll), so a frame waits at most for the turn's end.  On this
	 * kind of guest each interrupt costs as much as a system call: with
	 * the kernel's peer on the other core, one came for every ACK. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_COOP_TASKRUN;
	u->ring = ur_setup(SQ_ENTRIES, &p);
	if (u->ring < 0 && errno == EINVAL) { /* an older kernel: as before */
		memset(&p, 0, sizeof(p));
		u->ring = ur_setup(SQ_ENTRIES, &p); /* EPERM, ENOSYS: seccomp, io_uring_disabled */
	}
	if (u->ring >= 0)
		u->ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;
	if (u->ring >= 0 && ur_probe(u->ring) == 0 && ur_map(u, &p) == 0 && ur_buffers(u) == 0)
		return u;
	tap_uring_free(u);
	return NULL;
}

int tap_uring_fd(const struct tap_uring *u) { return u->ring; }
const struct tap_uring_stats *tap_uring_stats(const struct tap_uring *u) { return &u->st; }

/* A free SQE (NULL when the queue is full), zeroed, to be filled. */
static struct io_uring_sqe *sqe_get(struct tap_uring *u)
{
	unsigned head = __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
	struct io_uring_sqe *e;
	if (u->sq_local - head >= u->sq_entries)
		return NULL;
	e = &u->sqes[u->sq_local & *u->sq_mask];
	memset(e, 0, sizeof(*e));
	u->sq_array[u->sq_local & *u->sq_mask] = u->sq_local & *u->sq_mask;
	return e;
}

static void sqe_push(struct tap_uring *u)
{
	u->sq_local++;
	__atomic_store_n(u->sq_tail, u->sq_local, __ATOMIC_RELEASE);
}

static void cqe_rx(struct tap_uring *u, const struct io_uring_cqe *c)
{
	if (!(c->flags & IORING_CQE_F_MORE))
		u->rx_armed = false; /* ended: no buffer left (ENOBUFS), or an error */
	if (c->flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(c->flags >> IORING_CQE_BUFFER_SHIFT);
		if (c->res > 0 && u->rxq_n < RX_BUFS) {
			unsigned at = (u->rxq_head + u->rxq_n++) % RX_BUFS;
			u->rxq[at].bid = bid;
			u->rxq[at].len = (uint32_t)c->res;
			return;
		}
		rx_give(u, bid);
	}
	if (c->res < 0 && c->res != -ENOBUFS && !u->rx_err)
		u->rx_err = -c->res;
}

/* Takes every completion waiting: frames read into the queue of received
 * ones, sent slots back to the free list. */
static void reap(struct tap_uring *u)
{
	unsigned head = *u->cq_head, tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
	for (; head != tail; head++) {
		const struct io_uring_cqe *c = &u->cqes[head & *u->cq_mask];
		if (c->user_data == UD_RX) {
			cqe_rx(u, c);
			continue;
		}
		if (c->user_data == UD_CANCEL)
			continue;
		if (c->user_data < TX_SLOTS && u->ntx_free < TX_SLOTS)
			u->tx_free[u->ntx_free++] = (uint8_t)c->user_data;
		if (c->res < 0)
			u->st.tx_errors++;
	}
	__atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
}

/* Queues the multishot read when it is not armed (SQE permitting). */
static void rx_arm(struct tap_uring *u)
{
	struct io_uring_sqe *e;
	if (u->rx_armed || u->rx_err || !(e = sqe_get(u)))
		return;
	e->opcode = OP_READ_MULTISHOT;
	e->fd = u->tap;
	e->flags = IOSQE_BUFFER_SELECT;
	e->buf_group = 0;
	e->user_data = UD_RX;
	sqe_push(u);
	u->rx_armed = true;
	u->st.rx_arms++;
}

bool tap_uring_flush(struct tap_uring *u)
{
	unsigned n;
	rx_arm(u);
	for (int tries = 0; tries < 4; tries++) {
		n = u->sq_local - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
		if (!n)
			break;
		u->st.enters++;
		if (ur_enter(u->ring, n, 0, 0) < 0 && errno != EINTR && errno != EAGAIN &&
		    errno != EBUSY)
			break; /* what stays queued goes with the next flush */
	}
	/* completions the kernel posted meanwhile (the read's run on this
	 * thread's way out of a system call): taken here, they no longer make
	 * the ring's descriptor readable, so the caller must not sleep */
	reap(u);
	return u->rxq_n > 0;
}

/* Submits what is queued and waits for MIN completions, TIMEOUT_US at
 * most (IORING_FEAT_EXT_ARG), then takes what came (ETIME, EINTR too). */
static void enter_wait(struct tap_uring *u, unsigned min, uint64_t timeout_us)
{
	struct __kernel_timespec ts = {.tv_sec = (long long)(timeout_us / 1000000u),
				       .tv_nsec = (long long)(timeout_us % 1000000u) * 1000};
	struct io_uring_getevents_arg arg = {.sigmask_sz = _NSIG / 8,
					     .ts = (uint64_t)(uintptr_t)&ts};
	unsigned n = u->sq_local - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
	u->st.enters++;
	(void)syscall(__NR_io_uring_enter, u->ring, n, min,
		      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	reap(u);
}

int tap_uring_wait(struct tap_uring *u, uint64_t timeout_us)
{
	if (!u->ext_arg)
		return -1;
	rx_arm(u);
	reap(u);
	if (u->rxq_n || !u->rx_armed)
		return tap_uring_flush(u) ? 1 : 0; /* no sleep: frames, or no read */
	/* every write queued or in the kernel's hands posts a completion, so
	 * one more than those is the first frame read (or an error) */
	enter_wait(u, TX_SLOTS - u->ntx_free + 1, timeout_us);
	return u->rxq_n > 0;
}

/* Ends the multishot read before the ring goes.  The armed read holds the
 * TAP's file, and a ring closed with it armed lets go of the file only
 * later, from a kernel worker: a tapir started on the same TAP right after
 * this one exited found it busy (EBUSY, half the time back to back).
 * Bounded: 100 waits of at most 1 ms for the read's last completion. */
static void rx_cancel(struct tap_uring *u)
{
	struct io_uring_sqe *e;
	reap(u);
	if (!u->rx_armed || !u->ext_arg || !(e = sqe_get(u)))
		return;
	e->opcode = IORING_OP_ASYNC_CANCEL;
	e->addr = UD_RX;
	e->user_data = UD_CANCEL;
	sqe_push(u);
	u->rx_err = ECANCELED; /* not to be armed again */
	for (int i = 0; i < 100 && u->rx_armed; i++)
		enter_wait(u, 1, 1000);
}

int tap_uring_send(struct tap_uring *u, const struct virtio_net_hdr *h, const uint8_t *frame,
		   size_t len)
{
	struct io_uring_sqe *e;
	uint8_t slot, *p;
	if (sizeof(*h) + len > TX_SLOT)
		return -EMSGSIZE; /* a large frame: worth its own write, no copy */
	/* full (one SQE kept for the read): what is queued goes first */
	if (!u->ntx_free ||
	    u->sq_local - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE) >= u->sq_entries - 1)
		tap_uring_flush(u);
	if (!u->ntx_free || !(e = sqe_get(u)))
		return -ENOBUFS; /* slots still in the kernel's hands */
	slot = u->tx_free[--u->ntx_free];
	p = u->tx + (size_t)slot * TX_SLOT;
	memcpy(p, h, sizeof(*h));
	memcpy(p + sizeof(*h), frame, len);
	e->opcode = IORING_OP_WRITE;
	e->fd = u->tap;
	e->addr = (uint64_t)(uintptr_t)p;
	e->len = (unsigned)(sizeof(*h) + len);
	e->user_data = slot;
	sqe_push(u);
	u->st.tx_queued++;
	return 0;
}

/* Takes the next frame read off the queue: its buffer's id and length
 * (header included); false when none waits. */
static bool rx_next(struct tap_uring *u, uint16_t *bid, size_t *len)
{
	if (!u->rxq_n)
		reap(u);
	if (!u->rxq_n)
		return false;
	*bid = u->rxq[u->rxq_head].bid;
	*len = u->rxq[u->rxq_head].len;
	u->rxq_head = (u->rxq_head + 1) % RX_BUFS;
	u->rxq_n--;
	return true;
}

/* 0 when none waits, or -errno: a read's error, said once */
static long rx_none(struct tap_uring *u)
{
	int e = u->rx_err;
	u->rx_err = 0;
	return e ? -e : 0;
}

void tap_uring_release(struct tap_uring *u)
{
	if (u->lent >= 0)
		rx_give(u, (uint16_t)u->lent);
	u->lent = -1;
}

/* The frame stays where the kernel put it: a 64 KiB segment is copied
 * once less (into the stack's receive ring straight from here). */
long tap_uring_peek(struct tap_uring *u, struct virtio_net_hdr *h, uint8_t **frame)
{
	uint16_t bid;
	size_t len;
	uint8_t *b;
	tap_uring_release(u);
	if (!rx_next(u, &bid, &len))
		return rx_none(u);
	b = u->rx + (size_t)bid * RX_BUF;
	if (len < sizeof(*h)) {
		rx_give(u, bid);
		return 0;
	}
	memcpy(h, b, sizeof(*h));
	*frame = b + sizeof(*h);
	u->lent = bid;
	u->st.rx_frames++;
	return (long)(len - sizeof(*h));
}

/* The frame copied out to BUF (cut to CAP, as readv would), its buffer
 * given back at once. */
long tap_uring_recv(struct tap_uring *u, struct virtio_net_hdr *h, uint8_t *buf, size_t cap)
{
	uint8_t *frame;
	long n = tap_uring_peek(u, h, &frame);
	if (n <= 0)
		return n;
	if ((size_t)n > cap)
		n = (long)cap;
	memcpy(buf, frame, (size_t)n);
	tap_uring_release(u);
	return n;
}
