/*
 * tapir — the events a core socket (struct tapir_udp, struct tapir_tcp)
 * reports to its event function.  Every bit is allocated here, so that the
 * protocols never give two events one bit.
 *
 * The event function runs inside tapir_stack_input/poll and must not call
 * back into the stack; it should note the events and let the caller's loop
 * act on them.
 */
#ifndef TAPIR_EVENTS_H
#define TAPIR_EVENTS_H

#ifdef __cplusplus
extern "C" {
#endif

/* UDP and TCP */
enum {
	TAPIR_EV_READ = 1u << 0,  /* data (or EOF) to read */
	TAPIR_EV_WRITE = 1u << 1, /* room to write */
	TAPIR_EV_ERROR = 1u << 2, /* a pending error (tapir_udp_error, tapir_tcp_error) */
	TAPIR_EV_HUP = 1u << 3,   /* connection gone */
};

/* TCP only */
#define TAPIR_EV_ACCEPT TAPIR_EV_READ  /* listener: a connection to accept */
#define TAPIR_EV_CONNECTED (1u << 4)   /* an active open completed */
/* RFC 9401: a segment with reserved bits (tapir_tcp_rx_reserved) arrived;
 * only reported, never acted on (RFC 9401 3.1) */
#define TAPIR_EV_DTH (1u << 5)

typedef void (*tapir_event_fn)(void *arg, unsigned events);

#ifdef __cplusplus
}
#endif
#endif
