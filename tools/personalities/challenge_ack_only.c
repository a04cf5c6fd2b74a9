/* challenge-ack-only: a server that answers every SYN to a listening port
 * with a bare ACK, and ignores RSTs.
 *
 * The production failure: a middlebox or the server still holds an old
 * connection with the same 4-tuple, so the client's fresh SYN lands inside
 * that connection's receive window.  RFC 5961 4.2 (RFC 9293 3.10.7.4)
 * answers such a SYN with a "challenge ACK" carrying the OLD connection's
 * numbers.  The client, in SYN-SENT, finds the ACK unacceptable (RFC 9293
 * 3.10.7.3: SEG.ACK =< ISS or > SND.NXT) and sends a RST with SEQ=SEG.ACK,
 * which should kill the stale connection -- but here it is lost (a
 * firewall, or a RST outside the window), so each retransmitted SYN gets
 * one more ACK and the connect hangs until the client's own timeout.
 *
 * Done with one TCP_RX hook (before demultiplexing), so it needs no socket
 * of its own: a SYN to a port some listener holds is answered here and
 * dropped; every RST is dropped.  Either family: the reply goes back
 * over the SYN's (tapir_tcp_out_reply). */
#include "personality.h"

struct listener_q {
	struct tapir_ip addr; /* either family */
	uint16_t port;
	bool found;
};

/* A listener on ADDR's port that takes ADDR: bound to it, or to the "any"
 * of its family or to :: (an IPv6-only listener, which tapir_tcp_info
 * does not tell apart, is taken to take IPv4 as well) */
static void match_listener(void *arg, const struct tapir_tcp *t)
{
	struct listener_q *q = arg;
	struct tapir_tcp_info i;
	tapir_tcp_get_info(t, &i);
	if (i.state == TAPIR_TCP_LISTEN && i.lport == q->port &&
	    tapir_ip_covers(&i.laddr_ip, false, &q->addr))
		q->found = true;
}

static enum tapir_verdict cao_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct tapir_stack *s = arg;
	uint8_t flags = p->data[TAPIR_TH_FLAGS];
	struct listener_q q = {p->daddr, tapir_get16(p->data + 2), false};
	struct tapir_tcp_seg seg = {.src = p->src, .dst = p->dst, .sport = tapir_get16(p->data),
				    .dport = q.port, .saddr = p->saddr, .daddr = p->daddr};
	struct tapir_tcp_out o;
	uint32_t seq = tapir_get32(p->data + TAPIR_TH_SEQ);

	if (flags & TAPIR_TH_RST)
		return TAPIR_DROP; /* "RSTs are ignored" */
	if ((flags & (TAPIR_TH_SYN | TAPIR_TH_ACK)) != TAPIR_TH_SYN)
		return TAPIR_PASS;
	tapir_tcp_foreach(s, match_listener, &q);
	if (!q.found)
		return TAPIR_PASS; /* a closed port answers RST as usual */
	tapir_tcp_out_reply(&o, &seg);
	/* The stale connection's numbers: its SND.NXT (any value: here one
	 * that stays the same for the 4-tuple, as a real stale connection's
	 * would), and its RCV.NXT a little below the new SYN, so that the SYN
	 * falls inside its window.  The ACK is wrong for the new connection,
	 * whose only acceptable ACK is ISS+1.  (The address's last 32 bits:
	 * the IPv4 address, or an IPv6 interface identifier's half.) */
	o.seq = 0x5ca1ab1e ^ ((uint32_t)seg.sport << 16 | seg.dport) ^ tapir_get32(seg.saddr.b + 12);
	o.ack = seq - 4096;
	o.flags = TAPIR_TH_ACK;
	o.wnd = 64240;
	tapir_tcp_send_raw(s, &o, p->now);
	return TAPIR_DROP;
}

static int cao_install(struct tapir_stack *s, const char *args, char *err, size_t errlen)
{
	return pers_install_hook(s, args, TAPIR_HOOK_TCP_RX, cao_rx, s, err, errlen);
}

PERSONALITY(challenge_ack_only, "challenge-ack-only", "",
	    "answer every SYN to a listening port with a wrong bare ACK; ignore RSTs",
	    cao_install)
