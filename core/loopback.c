/* The loopback interface: 127.0.0.0/8 and ::1 (RFC 1122 3.2.1.3 (g),
 * RFC 4291 2.5.3), and the queue every datagram to one of our own
 * addresses takes.  Such a datagram never touches a link: it waits in a
 * bounded queue and is delivered on the next tapir_stack_poll, so that
 * input is never re-entered from output and the order stays deterministic. */
#include <errno.h>

#include "core.h"

/* in packets: enough for a full TCP window each way on a few connections;
 * beyond it a datagram is dropped and counted, as a full device queue
 * would drop it, and TCP retransmits */
#define LOOP_LIMIT 256
/* of which TCP's data leaves this many to ACKs, FINs and the rest
 * (ip_loop_busy) */
#define LOOP_HEADROOM 32

bool tp_ip_is_loopback(const struct tapir_ip *a)
{
	return tapir_ip_is_v4(a) ? tapir_ipv4_is_loopback(tapir_ip_v4(a))
				 : tapir_ipv6_is_loopback(a->b);
}

bool tp_ip_is_local(const struct tapir_stack *s, const struct tapir_ip *a)
{
	if (tapir_ip_is_v4(a))
		return ipv4_is_local(s, tapir_ip_v4(a));
	return tapir_ipv6_is_loopback(a->b) || ipv6_local_iface(s, a->b, true) >= 0;
}

bool ip_loop_busy(const struct tapir_stack *s, const struct tapir_ip *dst)
{
	return s->loop_len + LOOP_HEADROOM >= LOOP_LIMIT && tp_ip_is_local(s, dst);
}

int ip_loop_queue(struct tapir_stack *s, struct tp_pkt *p)
{
	if (s->loop_len >= LOOP_LIMIT) {
		STAT(s, loop_dropped);
		tp_pkt_free(s, p);
		return -ENOBUFS;
	}
	TP_FIFO_PUSH(s->loop_head, s->loop_tail, p, next);
	s->loop_len++;
	/* due at once: a caller outside the poll (a socket call, a service
	 * after the turn's poll) learns it from tapir_stack_armed, else the
	 * datagram would wait for the next timer, a retransmission timeout */
	if (s->now < s->arm_hint)
		s->arm_hint = s->now;
	return 0;
}

tapir_time_t ipv4_loop_poll(struct tapir_stack *s)
{
	/* only what was queued before this call, so a reply loop terminates */
	unsigned n = s->loop_len;
	while (n-- && s->loop_head) {
		struct tp_pkt *p = s->loop_head;
		int r;
		TP_FIFO_POP(s->loop_head, s->loop_tail, next);
		s->loop_len--;
		/* counted like a received frame, so that rx_frames ==
		 * rx_delivered + drops holds for these too */
		STAT(s, rx_frames);
		if (p->data[0] >> 4 == 6) {
			/* the link-layer flags of the last frame do not apply */
			s->rx_l2_broadcast = false;
			r = ipv6_deliver_local(s, p->data, p->len);
		} else {
			STAT(s, ip_rx);
			r = ipv4_deliver(s, 0, p->data, p->len);
		}
		if (r == TP_OK)
			STAT(s, rx_delivered);
		else
			s->stats.drop[r]++;
		tp_pkt_free(s, p);
	}
	return s->loop_head ? s->now : TAPIR_TIME_NEVER;
}
