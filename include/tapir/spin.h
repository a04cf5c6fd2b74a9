/*
 * When busy-polling pays: the policy shared by the stack thread
 * (api/net.c, tapir_net_set_busy_poll), the gate of `tapir run`
 * (tools/run/gate.c), the program's waits under it
 * (tools/run/preload_poll.c) and bench/tapir-raw.c's loop.  docs/run.md,
 * "Speed and busy-polling".
 *
 * Every byte between a program under `tapir run` and tapir crosses an
 * AF_UNIX pair, so a request/response wakes a sleeping thread twice more
 * than a built-in service of tapir host does; on a virtual machine a
 * cross-CPU wake-up (an IPI to a halted vCPU) costs tens of microseconds.
 * A thread that moved bytes a moment ago is likely in an exchange whose
 * next message is microseconds away: instead of sleeping it may ask again
 * without waiting for up to a window (a *spin*).
 *
 * A spin costs a CPU, and on a machine with none to spare it takes the CPU
 * the awaited thread (or anyone else) needs.  So a spinning thread yields
 * the CPU between two asks (tapir_spin_yield: a thread waiting for this
 * CPU runs first, and a spin on a busy machine ends by its window with
 * little CPU taken), and a thread spins only while spinning pays, as KVM's
 * halt-polling adapts its window: TAPIR_SPIN_MISSES spins in a row that saw
 * nothing start a quiet time with no spinning, TAPIR_SPIN_QUIET_MIN long and
 * doubling up to TAPIR_SPIN_QUIET_MAX while spins keep missing; a spin that
 * caught its event ends it.
 *
 * Pure but for tapir_spin_yield: time comes in as an argument
 * (microseconds, any monotonic origin above 0), so the policy is tested
 * without a clock.
 */
#ifndef TAPIR_SPIN_H
#define TAPIR_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define TAPIR_SPIN_DEFAULT_US 50  /* Linux's net.core.busy_poll suggests 50 */
#define TAPIR_SPIN_MAX_US 10000   /* the most TAPIR_BUSY_POLL may ask */
#define TAPIR_SPIN_MISSES 4       /* fruitless spins in a row before a quiet time */
#define TAPIR_SPIN_QUIET_MIN 1000 /* us: the first quiet time */
#define TAPIR_SPIN_QUIET_MAX 1000000
/* A wait after this many bytes moved since the last one does not spin:
 * that is bulk, where one wake-up is paid for by many bytes, and a
 * spinning thread takes the CPU the transfer's other threads need (under
 * `tapir run` three threads share two cores).  A request/response moves
 * far less between two waits. */
#define TAPIR_SPIN_BULK 65536

struct tapir_spin {
	uint64_t window;      /* us a spin may last (0: never spin) */
	uint64_t start;       /* when the running spin began (0: none runs) */
	uint64_t quiet_until; /* no spin begins before this */
	uint64_t quiet;       /* the last quiet time's length (0: none since a hit) */
	unsigned misses;      /* spins in a row that saw nothing */
	uint64_t spins, hits; /* spins begun, and those that caught their event */
};

/* S with a window of WINDOW_US (capped at TAPIR_SPIN_MAX_US; 0: off) */
void tapir_spin_init(struct tapir_spin *s, uint64_t window_us);
/* The window TAPIR_BUSY_POLL (trun's TRUN_ENV_BUSY_POLL) value V asks:
 * TAPIR_SPIN_DEFAULT_US when unset or empty, 0 when not a number */
uint64_t tapir_spin_window(const char *v);
/* May a spin begin at NOW, BYTES moved since the thread's last wait? (on,
 * not in a quiet time, none running, less than TAPIR_SPIN_BULK moved) */
bool tapir_spin_may(const struct tapir_spin *s, uint64_t now, uint64_t bytes);
/* A spin begins at NOW */
void tapir_spin_begin(struct tapir_spin *s, uint64_t now);
/* Is the running spin still inside its window at NOW? */
bool tapir_spin_on(const struct tapir_spin *s, uint64_t now);
/* The running spin ended at NOW; HIT: the awaited event came in it */
void tapir_spin_end(struct tapir_spin *s, uint64_t now, bool hit);
/* One turn of a thread's loop, the three above in their order: MOVED
 * (frames or bytes) came in the turn ending at NOW, BULK of them count
 * toward TAPIR_SPIN_BULK (0: the thread spins after bulk too).  A running
 * spin goes on while nothing came and its window lasts, else ends (a hit
 * if something came); something that came begins a new one if it may.
 * true: turn again at once rather than sleep. */
bool tapir_spin_turn(struct tapir_spin *s, uint64_t now, uint64_t moved, uint64_t bulk);
/* Between two asks of a spin: a thread waiting for this CPU goes first */
void tapir_spin_yield(void);

#endif
