/* TCP output: what may be sent now (the peer's window, the congestion
 * window, Nagle, sender-side silly window avoidance), and building the
 * segment. */
#include <errno.h>
#include <stdio.h>

#include "tcp_int.h"

const char *tapir_tcp_flags_str(uint8_t f, char *buf)
{
	char *p = buf;
	if (f & TAPIR_TH_SYN) *p++ = 'S';
	if (f & TAPIR_TH_FIN) *p++ = 'F';
	if (f & TAPIR_TH_RST) *p++ = 'R';
	if (f & TAPIR_TH_PSH) *p++ = 'P';
	if (f & TAPIR_TH_URG) *p++ = 'U';
	if (f & TAPIR_TH_ECE) *p++ = 'E';
	if (f & TAPIR_TH_CWR) *p++ = 'W';
	if (f & TAPIR_TH_ACK) *p++ = '.';
	*p = 0;
	return buf;
}

/* One line per segment, as tcpdump prints it. */
void tcp_trace_seg(struct tapir_stack *s, const char *dir, const struct tapir_ip *src, uint16_t sport,
		   const struct tapir_ip *dst, uint16_t dport, const uint8_t *th, size_t len)
{
	char a[TAPIR_IP_PORT_STRLEN], b[TAPIR_IP_PORT_STRLEN], f[TAPIR_TCP_FLAGS_STRLEN], opts[128] = "";
	size_t hl = (size_t)(th[TAPIR_TH_OFF] >> 4) * 4, o = TAPIR_TCP_HLEN;
	const uint8_t *p;
	uint8_t res;
	int n = 0;
	/* (a malformed option: nothing past the header is printed) */
	while (n < (int)sizeof(opts) - 40 && (p = tcp_opt_next(th, hl, &o)) != NULL) {
		/* named as tcpdump names them (RFC 9293 3.2, RFC 7323, RFC 2018) */
		if (p[0] == 2 && p[1] == 4)
			n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%smss %u", n ? "," : "",
				      tapir_get16(p + 2));
		else if (p[0] == 3 && p[1] == 3)
			n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%swscale %u", n ? "," : "",
				      p[2]);
		else if (p[0] == 4)
			n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%ssackOK", n ? "," : "");
		else if (p[0] == 5)
			n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%ssack", n ? "," : "");
		else if (p[0] == 8 && p[1] == 10)
			n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%sTS val %u ecr %u",
				      n ? "," : "", tapir_get32(p + 2), tapir_get32(p + 6));
		else if (p[0] == 34 && p[1] == 2) /* RFC 7413 4.1.1 */
			n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%stfo cookiereq", n ? "," : "");
		else if (p[0] == 34) { /* (its first 8 bytes: within the 40 left) */
			char hex[17] = "";
			for (unsigned k = 2; k < p[1] && k < 10; k++)
				snprintf(hex + 2 * (k - 2), 3, "%02x", p[k]);
			n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%stfo cookie %s", n ? "," : "",
				      hex);
		} else
			n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%sopt%u", n ? "," : "", p[0]);
	}
	res = th[TAPIR_TH_OFF] & 0x0f;
	tp_trace(s, TAPIR_TR_TCP, "%s %s > %s [%s] seq %u ack %u win %u len %zu%s%s%s%s", dir,
		 tapir_ip_port_str(src, sport, a), tapir_ip_port_str(dst, dport, b), tapir_tcp_flags_str(th[TAPIR_TH_FLAGS], f),
		 tapir_get32(th + TAPIR_TH_SEQ), tapir_get32(th + TAPIR_TH_ACK_NO),
		 tapir_get16(th + TAPIR_TH_WIN), len - hl, n ? " <" : "", opts, n ? ">" : "",
		 res == TAPIR_TH_RES_DTH ? " DTH (RFC 9401)" : res ? " reserved bits set" : "");
}

/* The window to advertise (RFC 9293 3.8.6.2.2): the free receive buffer,
 * but the right edge never moves back, and moves forward only in steps of
 * at least min(buffer/2, MSS), so the peer is not invited to send tiny
 * segments. */
static unsigned rcv_shift(const struct tapir_tcp *t, bool syn)
{
	return !syn && t->ws_ok ? t->rcv_wscale : 0; /* RFC 7323 2.2: never on a SYN */
}

uint32_t tcp_rcv_window(struct tapir_tcp *t)
{
	uint32_t space = t->rcv.cap - t->rcv.len, max = 65535u << rcv_shift(t, false);
	return space > max ? max : space;
}

static uint16_t tcp_window_to_send(struct tapir_tcp *t, bool syn)
{
	unsigned shift = rcv_shift(t, syn);
	uint32_t space = t->rcv.cap - t->rcv.len, max = 65535u << shift;
	uint32_t wnd = space > max ? max : space, right = t->rcv_nxt + wnd, field;
	uint32_t step = t->rcv.cap / 2 < t->mss ? t->rcv.cap / 2 : t->mss;
	if (!syn) {
		if (SEQ_LT(right, t->rcv_adv))
			right = t->rcv_adv; /* never shrink */
		else if (right - t->rcv_adv < step && wnd < t->rcv.cap)
			right = t->rcv_adv; /* not worth announcing yet */
		wnd = right - t->rcv_nxt;
	}
	/* RFC 7323 2.3: the field is the window shifted right; round up when
	 * rounding down would move the right edge back */
	field = wnd >> shift;
	if ((field << shift) < wnd && SEQ_LT(t->rcv_nxt + (field << shift), t->rcv_adv))
		field++;
	if (field > 65535)
		field = 65535;
	if (syn || SEQ_GT(t->rcv_nxt + (field << shift), t->rcv_adv))
		t->rcv_adv = t->rcv_nxt + (field << shift);
	return (uint16_t)field;
}

uint32_t tcp_ts_now(const struct tapir_tcp *t)
{
	return (uint32_t)(t->s->now / 1000) + t->ts_offset;
}

/* What options a segment carries. */
struct tcp_optout {
	uint16_t mss;                /* 0: none */
	int wscale;                  /* -1: none */
	bool sack_ok, ts;
	uint32_t tsval, tsecr;
	unsigned nsack;
	uint32_t sack[4][2];
	struct tcp_tfo_opt tfo;      /* RFC 7413 4.1.1; len -1: none */
};

/* RFC 7413 4.1.1: the Fast Open option after the others, NOP-padded to 32
 * bits, where it fits in the 40 bytes (RFC 9293 3.1) */
static size_t tcp_write_tfo(uint8_t *o, const struct tcp_optout *x, size_t n)
{
	size_t len = (x->tfo.exp ? 4u : 2u) + (size_t)x->tfo.len;
	if (x->tfo.len < 0 || (n + len + 3) / 4 * 4 > 40)
		return n;
	if (x->tfo.exp) { /* RFC 6994: kind 254 and the magic 0xF989 */
		o[n++] = 254; o[n++] = (uint8_t)len;
		tapir_put16(o + n, 0xF989);
		n += 2;
	} else {
		o[n++] = 34; o[n++] = (uint8_t)len;
	}
	memcpy(o + n, x->tfo.cookie, (size_t)x->tfo.len);
	n += (size_t)x->tfo.len;
	while (n % 4)
		o[n++] = 1;
	return n;
}

/* The profile's options_bsd: FreeBSD's order (tcp_addoptions): MSS, NOP
 * and window scale, SACK-permitted, NOPs up to the timestamps' alignment,
 * timestamps, then the SACK blocks; EOLs pad the end to 32 bits.  Returns
 * the length so far. */
static size_t tcp_write_options_bsd(uint8_t *o, const struct tcp_optout *x, size_t n)
{
	if (x->wscale >= 0) {
		o[n++] = 1; o[n++] = 3; o[n++] = 3;
		o[n++] = (uint8_t)x->wscale;
	}
	if (x->sack_ok) {
		o[n++] = 4; o[n++] = 2;
	}
	if (x->ts) {
		while (n % 4 != 2)
			o[n++] = 1;
		o[n++] = 8; o[n++] = 10;
		tapir_put32(o + n, x->tsval);
		tapir_put32(o + n + 4, x->tsecr);
		n += 8;
	}
	if (x->nsack) {
		while (n % 4 != 2)
			o[n++] = 1;
		o[n++] = 5;
		o[n++] = (uint8_t)(2 + 8 * x->nsack);
		for (unsigned i = 0; i < x->nsack; i++) {
			tapir_put32(o + n, x->sack[i][0]);
			tapir_put32(o + n + 4, x->sack[i][1]);
			n += 8;
		}
	}
	n = tcp_write_tfo(o, x, n);
	while (n % 4)
		o[n++] = 0;
	return n;
}

/* Lays the options out as Linux does, each group padded to 32 bits with
 * NOPs (RFC 9293 3.2, RFC 7323 Appendix A), or as FreeBSD does (BSD);
 * returns their length. */
static size_t tcp_write_options(uint8_t *o, const struct tcp_optout *x, bool bsd)
{
	size_t n = 0;
	if (x->mss) {
		o[n++] = 2; o[n++] = 4;
		tapir_put16(o + n, x->mss);
		n += 2;
	}
	if (bsd)
		return tcp_write_options_bsd(o, x, n);
	if (x->ts) {
		if (x->sack_ok) {
			o[n++] = 4; o[n++] = 2;
		} else {
			o[n++] = 1; o[n++] = 1;
		}
		o[n++] = 8; o[n++] = 10;
		tapir_put32(o + n, x->tsval);
		tapir_put32(o + n + 4, x->tsecr);
		n += 8;
	} else if (x->sack_ok) {
		o[n++] = 1; o[n++] = 1; o[n++] = 4; o[n++] = 2;
	}
	if (x->wscale >= 0) {
		o[n++] = 1; o[n++] = 3; o[n++] = 3;
		o[n++] = (uint8_t)x->wscale;
	}
	if (x->nsack) {
		o[n++] = 1; o[n++] = 1; o[n++] = 5;
		o[n++] = (uint8_t)(2 + 8 * x->nsack);
		for (unsigned i = 0; i < x->nsack; i++) {
			tapir_put32(o + n, x->sack[i][0]);
			tapir_put32(o + n + 4, x->sack[i][1]);
			n += 8;
		}
	}
	return tcp_write_tfo(o, x, n);
}

/* A segment with at least this much payload leaves its checksum to a link
 * that offers offload: summing 64 KiB (one segment at MTU 65520) took 15 %
 * of the stack thread in bulk, and the kernel summed it again on receipt;
 * below this a route lookup costs more than the sum it saves. */
#define TCP_CSUM_OFFLOAD_MIN 512

/* Builds and sends one segment.  Its payload is LEN bytes from RING at
 * offset OFF, or from RAW when RING is NULL. */
/* IPO: the IP header fields of the socket it is from (SOCK's; NULL: the
 * defaults). */
static int tcp_emit(struct tapir_stack *s, struct tapir_tcp *sock, const struct tp_ipopts *ipo,
		    const struct tapir_ip *laddr, uint16_t lport, const struct tapir_ip *raddr,
		    uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags, uint8_t reserved,
		    uint16_t win, const struct tcp_optout *opt, const struct tp_ring *data,
		    const void *raw, uint32_t off, uint32_t len)
{
	unsigned ipflags = TP_IP_DF | (ipo ? tp_ipopts_flags(ipo, raddr, true) : 0);
	uint8_t opts[40];
	size_t optlen = opt ? tcp_write_options(opts, opt, s->cfg.profile.options_bsd) : 0, hl = TAPIR_TCP_HLEN + optlen;
	struct tp_pkt *p = tp_pkt_alloc(s, hl + len);
	uint8_t *th;
	if (!p) {
		STAT(s, tx_nomem);
		return -1;
	}
	th = p->data;
	tapir_put16(th + TAPIR_TH_SPORT, lport);
	tapir_put16(th + TAPIR_TH_DPORT, rport);
	tapir_put32(th + TAPIR_TH_SEQ, seq);
	tapir_put32(th + TAPIR_TH_ACK_NO, ack);
	th[TAPIR_TH_OFF] = (uint8_t)((hl / 4) << 4 | (reserved & 0x0f));
	th[TAPIR_TH_FLAGS] = flags;
	tapir_put16(th + TAPIR_TH_WIN, win);
	tapir_put16(th + TAPIR_TH_CSUM, 0);
	tapir_put16(th + TAPIR_TH_URP, 0);
	memcpy(th + TAPIR_TCP_HLEN, opts, optlen);
	if (len && data)
		ring_read_at(data, off, th + hl, len);
	else if (len)
		memcpy(th + hl, raw, len);
	p->len = (uint32_t)(hl + len);
	if (sock && sock->ecn_ok && len && !(flags & (TAPIR_TH_SYN | TAPIR_TH_RST)) &&
	    SEQ_GEQ(seq, sock->snd_max) && !(sock->force && !sock->snd_wnd)) {
		/* RFC 3168 6.1.4-6.1.6: new data only -- not a retransmission,
		 * an ACK or a window probe -- goes ECT(0); the first after a
		 * reduction says CWR */
		ipflags |= TP_IP_ECT0;
		if (sock->cwr_pending) {
			th[TAPIR_TH_FLAGS] |= TAPIR_TH_CWR;
			sock->cwr_pending = false;
		}
	}
	if (sock && len > sock->mss) {
		/* a super-segment (tcp_output saw the link offer it): the link
		 * cuts it and completes each checksum from the pseudo-header
		 * sum left in the field */
		p->tso_size = sock->mss;
		tapir_put16(th + TAPIR_TH_CSUM, (uint16_t)~tapir_csum_fold(
				       tp_l4_pseudo(laddr, raddr, TAPIR_IPPROTO_TCP, p->len)));
	} else if (len >= TCP_CSUM_OFFLOAD_MIN && tp_l4_path_tso(s, raddr)) {
		/* one segment, but the link that cuts super-segments also
		 * completes its checksum (RFC 9293 3.1: over the pseudo-
		 * header, whose sum the field holds, and the segment); the
		 * same gate: no hook, observer or trace wants it whole first */
		p->csum_partial = 1;
		tapir_put16(th + TAPIR_TH_CSUM, (uint16_t)~tapir_csum_fold(
				       tp_l4_pseudo(laddr, raddr, TAPIR_IPPROTO_TCP, p->len)));
	} else {
		tapir_put16(th + TAPIR_TH_CSUM, tapir_csum_fold(tapir_csum_add(
				       tp_l4_pseudo(laddr, raddr, TAPIR_IPPROTO_TCP, p->len),
				       th, p->len)));
	}
	if (HOOKED(s, TAPIR_HOOK_TCP_TX) &&
	    !hook_run_ip(s, TAPIR_HOOK_TCP_TX, th, p->len, laddr, raddr, sock)) {
		STAT(s, tx_hook_dropped);
		tp_pkt_free(s, p);
		return 0;
	}
	STAT(s, tcp_tx);
	if (TRACE_ON(s, TAPIR_TR_TCP))
		tcp_trace_seg(s, "tx", laddr, lport, raddr, rport, th, p->len);
	return tp_l4_output(s, p, laddr, raddr, TAPIR_IPPROTO_TCP, ipflags);
}

static unsigned tcp_adv_mss(struct tapir_stack *s, const struct tapir_ip *raddr);

int tcp_send_segment(struct tapir_tcp *t, uint32_t seq, uint8_t flags, uint32_t off,
		     uint32_t len)
{
	bool syn = flags & TAPIR_TH_SYN;
	const struct tapir_config *c = &t->s->cfg;
	struct tcp_optout o = {.wscale = -1, .tfo.len = -1};
	if (syn) {
		/* RFC 9293 3.7.1 / RFC 6691: the MSS is what we can receive */
		bool passive = flags & TAPIR_TH_ACK; /* a SYN,ACK answers only what was offered */
		o.mss = (uint16_t)tcp_adv_mss(t->s, &t->raddr);
		if (t->user_mss && t->user_mss < o.mss)
			o.mss = t->user_mss;
		if (passive ? t->ws_ok : c->tcp_window_scaling)
			o.wscale = t->rcv_wscale;
		o.sack_ok = passive ? t->sack_ok : c->tcp_sack;
		o.ts = passive ? t->ts_ok : c->tcp_timestamps;
		o.tsecr = passive ? t->ts_recent : 0;
		tcp_tfo_syn_option(t, passive, &o.tfo);
		/* RFC 3168 6.1.1: an ECN-setup SYN has ECE and CWR, its SYN,ACK
		 * ECE alone; resent SYNs stop asking after tcp_ecn_syn_retries
		 * (6.1.1.1: a middlebox may drop ECN-setup SYNs) */
		if (passive) {
			if (t->ecn_ok)
				flags |= TAPIR_TH_ECE;
		} else {
			t->ecn_syn = c->tcp_ecn == 1 && t->backoff <= c->tcp_ecn_syn_retries;
			if (t->ecn_syn)
				flags |= TAPIR_TH_ECE | TAPIR_TH_CWR;
		}
	} else {
		o.ts = t->ts_ok;
		o.tsecr = t->ts_recent;
		if (t->ecn_ok && (flags & TAPIR_TH_ACK) && t->ece_pending)
			flags |= TAPIR_TH_ECE; /* RFC 3168 6.1.3: until the sender's CWR */
	}
	o.tsval = tcp_ts_now(t);
	/* RFC 2018 4: ACKs name the out-of-order blocks, newest first;
	 * RFC 2883 4: a duplicate just received goes before them, once, with
	 * the block that holds it (if any) second */
	if (t->sack_ok && (t->nooo || t->dsack) && (flags & TAPIR_TH_ACK) && !syn) {
		/* as many blocks as fit beside the data in one MTU: header
		 * options have 40 bytes, and a full segment leaves none */
		long room = (long)tcp_path_mss(t->s, &t->raddr) - (long)len -
			    (o.ts ? 12 : 0) - 4;
		unsigned max = room < 8 ? 0 : room >= 32 ? 4 : (unsigned)(room / 8);
		if (max > (o.ts ? 3u : 4u))
			max = o.ts ? 3 : 4;
		unsigned first = 0; /* the ooo block that goes first, +1 */
		if (t->dsack && max) {
			o.sack[0][0] = t->dsack_start;
			o.sack[0][1] = t->dsack_end;
			o.nsack = 1;
			t->dsack = false;
			for (unsigned i = 0; i < t->nooo; i++)
				if (SEQ_LEQ(t->ooo[i].start, t->dsack_start) &&
				    SEQ_LEQ(t->dsack_end, t->ooo[i].end))
					first = i + 1;
		}
		for (unsigned i = 0; i < t->nooo && !first; i++)
			if (t->ooo[i].start == t->ooo_last)
				first = i + 1;
		if (first && o.nsack < max) {
			o.sack[o.nsack][0] = t->ooo[first - 1].start;
			o.sack[o.nsack][1] = t->ooo[first - 1].end;
			o.nsack++;
		}
		for (unsigned i = 0; i < t->nooo && o.nsack < max; i++)
			if (i + 1 != first) {
				o.sack[o.nsack][0] = t->ooo[i].start;
				o.sack[o.nsack][1] = t->ooo[i].end;
				o.nsack++;
			}
	}
	if (flags & TAPIR_TH_ACK) {
		t->ack_now = false;
		t->ack_lazy = false;
		t->unacked_segs = 0;
		t->t_delack = TAPIR_TIME_NEVER;
		t->last_ack_sent = t->rcv_nxt;
	}
	/* RFC 9401 3.3: reserved bits go on data segments, never on a SYN */
	/* TCP_NOOPT (FreeBSD tcp(4)): our SYN and SYN,ACK carry no option */
	return tcp_emit(t->s, t, &t->ipo, &t->laddr, t->lport, &t->raddr, t->rport, seq,
			(flags & TAPIR_TH_ACK) ? t->rcv_nxt : 0, flags,
			len && !syn ? t->tx_reserved : 0, tcp_window_to_send(t, syn),
			syn && t->noopt ? NULL : &o, &t->snd, NULL, off, len);
}

static unsigned mss_of(const struct tapir_ip *raddr, unsigned mtu)
{
	unsigned hdrs = TAPIR_TCP_HLEN + (tapir_ip_is_v4(raddr) ? TAPIR_IPV4_HLEN : TAPIR_IPV6_HLEN);
	return mtu > hdrs ? mtu - hdrs : TCP_DEFAULT_MSS;
}

unsigned tcp_path_mss(struct tapir_stack *s, const struct tapir_ip *raddr)
{
	return mss_of(raddr, tp_l4_path_mtu(s, raddr));
}

/* RFC 1191 6.4: the MSS option is not lowered by a learned path MTU; the
 * peer sends over its own path (the profile's mss_opt_pmtu6: FreeBSD's for IPv6) */
static unsigned tcp_adv_mss(struct tapir_stack *s, const struct tapir_ip *raddr)
{
	if (s->cfg.profile.mss_opt_pmtu6 && !tapir_ip_is_v4(raddr))
		return mss_of(raddr, tp_l4_path_mtu(s, raddr));
	return mss_of(raddr, tp_l4_link_mtu(s, raddr));
}

void tcp_respond(struct tapir_stack *s, const struct tapir_tcp *t, const struct tapir_ip *laddr,
		 uint16_t lport, const struct tapir_ip *raddr, uint16_t rport, uint32_t seq,
		 uint32_t ack, uint8_t flags)
{
	tcp_emit(s, NULL, t ? &t->ipo : NULL, laddr, lport, raddr, rport, seq, ack, flags, 0, 0,
		 NULL, NULL, NULL, 0, 0);
}

void tcp_send_synack_cookie(struct tapir_tcp *l, const struct tapir_ip *laddr, uint16_t lport,
			    const struct tapir_ip *raddr, uint16_t rport, uint32_t seq, uint32_t ack)
{
	struct tcp_optout o = {.mss = (uint16_t)tcp_adv_mss(l->s, raddr), .wscale = -1, .tfo.len = -1};
	tcp_emit(l->s, NULL, &l->ipo, laddr, lport, raddr, rport, seq, ack,
		 TAPIR_TH_SYN | TAPIR_TH_ACK, 0, l->rcvbuf > 65535 ? 65535 : (uint16_t)l->rcvbuf, &o,
		 NULL, NULL, 0, 0);
}

int tapir_tcp_send_raw(struct tapir_stack *s, const struct tapir_tcp_out *o, tapir_time_t now)
{
	struct tcp_optout opt = {.mss = o->mss, .wscale = -1, .tfo.len = -1};
	/* IPv4 from the 32-bit fields, whatever RADDR6 holds (v4-mapped or ::) */
	bool v4 = tapir_ip_is_any(&o->raddr6) || tapir_ip_is_v4(&o->raddr6);
	struct tapir_ip l = v4 ? tapir_ip_from_v4(o->laddr) : o->laddr6,
			r = v4 ? tapir_ip_from_v4(o->raddr) : o->raddr6;
	if (o->len > 65495)
		return -EMSGSIZE;
	s->now = now;
	return tcp_emit(s, NULL, NULL, &l, o->lport, &r, o->rport, o->seq, o->ack, o->flags,
			o->reserved, o->wnd > 65535 ? 65535 : (uint16_t)o->wnd, &opt, NULL, o->data,
			0, (uint32_t)o->len);
}

void tapir_tcp_out_reply(struct tapir_tcp_out *o, const struct tapir_tcp_seg *seg)
{
	memset(o, 0, sizeof(*o));
	o->laddr = seg->dst;
	o->laddr6 = seg->daddr;
	o->lport = seg->dport;
	o->raddr = seg->src;
	o->raddr6 = seg->saddr;
	o->rport = seg->sport;
}

void tcp_send_ack(struct tapir_tcp *t)
{
	t->ack_now = true;
	tcp_output(t);
}

static void tcp_send_syn(struct tapir_tcp *t, uint8_t flags)
{
	/* RFC 7413 4.2: a SYN with a Fast Open cookie carries data */
	uint32_t len = flags == TAPIR_TH_SYN ? tcp_tfo_syn_data(t) : 0;
	t->tfo_defer = false;
	tcp_send_segment(t, t->iss, flags, 0, len);
	t->snd_nxt = t->iss + 1 + len;
	if (SEQ_GT(t->snd_nxt, t->snd_max))
		t->snd_max = t->snd_nxt;
	if (!t->timing && !t->backoff) { /* Karn: never time a retransmitted SYN */
		t->timing = true;
		t->rtt_seq = t->iss;
		t->rtt_start = t->s->now;
	}
	if (t->t_rexmt == TAPIR_TIME_NEVER)
		tcp_rexmt_arm(t);
}

/* Until the handshake is done, only our SYN (or SYN,ACK) and, in
 * SYN-RECEIVED, an ACK go out.  True when T is in such a state. */
static bool tcp_output_handshake(struct tapir_tcp *t)
{
	switch (t->state) {
	case TAPIR_TCP_CLOSED:
	case TAPIR_TCP_LISTEN:
		return true;
	case TAPIR_TCP_SYN_SENT:
		/* (a Fast Open SYN waits for the first data: RFC 7413 4.2) */
		if (t->snd_nxt == t->iss && !t->tfo_defer)
			tcp_send_syn(t, TAPIR_TH_SYN);
		return true;
	case TAPIR_TCP_SYN_RECEIVED:
		if (t->snd_nxt == t->iss)
			tcp_send_syn(t, TAPIR_TH_SYN | TAPIR_TH_ACK);
		else if (t->ack_now)
			tcp_send_segment(t, t->snd_nxt, TAPIR_TH_ACK, 0, 0);
		return true;
	default:
		return false;
	}
}

/* With segmentation offload, many segments' worth in one send: a multiple
 * of the MSS, within what the link takes in one packet (headers with all
 * options: IPv4's 20 or IPv6's 40 bytes, and TCP's 60).  Otherwise one MSS. */
static uint32_t tcp_send_max(struct tapir_tcp *t)
{
	uint32_t sent = t->snd_nxt - t->snd_una, tso = 0, hdrs;
	if (t->snd.len > sent + t->mss) /* (no route lookup for an ACK) */
		tso = tp_l4_path_tso(t->s, &t->raddr);
	hdrs = (tapir_ip_is_v4(&t->raddr) ? TAPIR_IPV4_HLEN : TAPIR_IPV6_HLEN) + 60u;
	/* (a CWR goes on one whole segment, not on a super-segment) */
	if (tso > hdrs + 2 * t->mss && !t->cwr_pending)
		return (tso - hdrs) / t->mss * t->mss;
	return t->mss;
}

/* How much of the UNSENT bytes at OFF (from SND.UNA) the windows let go:
 * the peer's window and the congestion window (RFC 5681), or in SACK
 * recovery what the pipe leaves (RFC 6675 5 (C)); a persist probe may
 * send one byte past a closed window. */
static uint32_t tcp_usable_window(struct tapir_tcp *t, uint32_t off, uint32_t unsent)
{
	uint32_t cwnd = t->cwnd, wnd, usable;
	/* RFC 3042: the first two duplicate ACKs each let one new segment go
	 * past cwnd, so that a small window still makes the third */
	if (!t->in_recovery && t->dupacks && t->dupacks < 3)
		cwnd += t->dupacks * (uint32_t)t->mss;
	wnd = t->snd_wnd < cwnd ? t->snd_wnd : cwnd;
	usable = wnd > off ? wnd - off : 0;
	if (t->in_recovery && t->sack_ok) {
		/* RFC 6675 5 (C): new data while cwnd - pipe >= 1 SMSS */
		uint32_t pipe = tcp_sack_pipe(t), room = t->cwnd > pipe ? t->cwnd - pipe : 0;
		uint32_t swnd = t->snd_wnd > off ? t->snd_wnd - off : 0;
		usable = room < swnd ? room : swnd;
	}
	if (t->force && !usable && unsent)
		usable = 1; /* a persist probe: one byte past the window */
	return usable;
}

/* RFC 1122 4.2.3.4 (Nagle): a short segment at the end of the data (OFF
 * bytes from SND.UNA) goes only when nothing is in flight, unless
 * TCP_NODELAY, or with the FIN */
static bool tcp_nagle_lets(const struct tapir_tcp *t, uint32_t off, bool fin)
{
	return t->nodelay || off == 0 || fin;
}

/* Whether LEN bytes at OFF (and FIN) are worth a segment now: a full one;
 * a short one only at the end of the data and when Nagle allows, or when
 * it is half the largest window (sender-side SWS avoidance); a probe. */
static bool tcp_worth_sending(const struct tapir_tcp *t, uint32_t off, uint32_t len,
			      uint32_t unsent, bool fin)
{
	if (!len)
		return fin && !unsent;
	if (len >= t->mss)
		return true;
	if (off + len == t->snd.len && tcp_nagle_lets(t, off, fin))
		return true;
	/* RFC 9293 3.8.6.2.1: or at least half the largest window */
	if (t->max_sndwnd && len >= t->max_sndwnd / 2)
		return true;
	return t->force;
}

/* With segmentation offload, a writer that the full send buffer holds
 * back has more to send as soon as an ACK makes room: the UNSENT bytes at
 * OFF, all that the windows let go (USABLE) but less than a super-segment
 * (SEG_MAX), wait for it, so that the stream leaves in full super-segments, each
 * one pass through the peer's receive path, rather than in pieces the
 * size of what each ACK freed.  Only while data is in flight (its ACK
 * comes) and the buffer holds two full super-segments (one waits, one is
 * in flight); never forced, nor with the FIN (Linux's tcp_tso_should_defer
 * waits likewise for a window that limits a TSO frame). */
static bool tcp_tso_defer(const struct tapir_tcp *t, uint32_t off, uint32_t unsent,
			  uint32_t usable, uint32_t seg_max)
{
	return seg_max > t->mss && unsent < seg_max && unsent <= usable && off &&
	       t->snd.len >= t->snd.cap && t->snd.cap >= 2 * seg_max && !t->force &&
	       !t->fin_queued;
}

/* LEN bytes (and FIN) went out at SND.NXT: the send variables, RTT timing
 * and the retransmission timer follow. */
static void tcp_sent(struct tapir_tcp *t, uint32_t len, bool fin)
{
	uint32_t seq = t->snd_nxt, max = t->snd_max;
	if (fin) {
		t->fin_seq = t->snd_nxt + len;
		t->fin_sent = true;
	}
	t->snd_nxt += len + (fin ? 1 : 0);
	if (SEQ_GT(t->snd_nxt, t->snd_max)) {
		if (!t->timing && len) { /* RFC 6298 3: one sample per flight */
			t->timing = true;
			t->rtt_seq = t->snd_nxt - len - (fin ? 1 : 0);
			t->rtt_start = t->s->now;
		}
		t->snd_max = t->snd_nxt;
	}
	/* a probe past a zero window is the persist timer's; anything else
	 * sent (even forced by the SWS override) needs the retransmission
	 * timer */
	if ((len || fin) && t->t_rexmt == TAPIR_TIME_NEVER && !(t->force && !t->snd_wnd))
		tcp_rexmt_arm(t);
	t->force = false;
	tcp_rack_sent(t, seq, len + fin, max); /* RFC 8985 6.1, RFC 6937 */
}

/* Data waiting and no retransmission timer to restart us (nothing in
 * flight, or only a probe byte): behind a zero window, probe it (RFC 9293
 * 3.8.6.1), again and again with backoff; behind a window too small to
 * use, this is the sender's SWS override timeout (3.8.6.2.1), which also
 * survives a lost window update.  And whatever is in flight has a timer:
 * a probe byte outstanding when the window reopens (persist cancelled,
 * Nagle holding the rest) would otherwise wait for ever (found by
 * fuzzing). */
static void tcp_output_timers(struct tapir_tcp *t)
{
	if (t->snd.len > t->snd_nxt - t->snd_una && (t->snd_nxt == t->snd_una || !t->snd_wnd) &&
	    t->t_rexmt == TAPIR_TIME_NEVER && t->t_persist == TAPIR_TIME_NEVER) {
		tapir_time_t rto = t->rto << (t->backoff < TCP_MAX_BACKOFF ? t->backoff : TCP_MAX_BACKOFF);
		if (rto > t->s->cfg.tcp_rto_max_us)
			rto = t->s->cfg.tcp_rto_max_us;
		tcp_timer_set(t, &t->t_persist, t->s->now + rto);
	}
	if (t->snd_max != t->snd_una && t->t_rexmt == TAPIR_TIME_NEVER &&
	    t->t_persist == TAPIR_TIME_NEVER)
		tcp_rexmt_arm(t);
}

/* Quick-ack mode (profile quickack, Linux's): at a connection's start and
 * after the receiver was idle for longer than an RTO -- when the sender is
 * in or back in slow start, and every ACK opens its window -- in-order data
 * is ACKed at once for WND / (2 * MSS) segments, at least 2, at most 16,
 * rather than on the delayed-ACK timer.  RFC 9293 3.8.6.3 and RFC 1122
 * 4.2.3.2 say a receiver SHOULD delay ACKs (and MUST ACK every second full
 * segment): ACKing sooner is a permitted choice, never fewer ACKs. */
static unsigned quickack_count(const struct tapir_tcp *t, uint32_t wnd)
{
	uint32_t n = wnd / (2 * (t->mss ? t->mss : TCP_DEFAULT_MSS));
	return n < 2 ? 2 : n > 16 ? 16 : n;
}

bool tcp_quickack(struct tapir_tcp *t, uint32_t wnd)
{
	tapir_time_t now = t->s->now;
	if (!t->s->cfg.profile.quickack)
		return false;
	if (!t->data_rx || now - t->last_data_rx > t->rto)
		t->quickacks = quickack_count(t, wnd);
	t->data_rx = true;
	t->last_data_rx = now;
	if (!t->quickacks)
		return false;
	t->quickacks--;
	return true;
}

/* The profile's quickack again (Linux tcp_input.c: tcp_data_queue's
 * out_of_window and tcp_send_dupack call tcp_enter_quickack_mode): text
 * the receiver could not take -- at RCV.NXT behind a zero window (a probe),
 * or all below RCV.NXT (a retransmission: our ACK may have been lost) --
 * puts it back in quick-ack mode, for as many segments as above of WND,
 * the window offered: once the window opens or the loss is repaired, the
 * sender's next segments are ACKed at once. */
void tcp_quickack_enter(struct tapir_tcp *t, uint32_t wnd)
{
	unsigned n = quickack_count(t, wnd);
	if (t->s->cfg.profile.quickack && n > t->quickacks)
		t->quickacks = n;
}

void tcp_pmtu_lowered(struct tapir_tcp *t, uint32_t seq)
{
	uint16_t mss = tcp_effective_mss(t);
	uint32_t off = seq - t->snd_una, n;
	t->pmtu_raise_at = tp_pmtu_expires(t->s, &t->raddr);
	/* 6.4's note: only a message that lowers the size this connection
	 * used sends anything; the others about the same burst would each
	 * resend the same data */
	if (mss >= t->mss)
		return;
	t->mss = mss;
	/* a SYN is resent by its own timer; nothing to resend at a FIN; a
	 * go-back under way (a timeout's) resends SEQ anyway, at the new MSS */
	if (t->state == TAPIR_TCP_SYN_SENT || t->state == TAPIR_TCP_SYN_RECEIVED ||
	    off >= t->snd.len || SEQ_GT(seq, t->snd_nxt))
		return;
	/* 6.4: at once, the dropped segment at the new size, and not as
	 * congestion (cwnd and ssthresh stay); one segment until ACKs come
	 * back, whose tcp_output then resends the rest from SND.NXT, all of
	 * it too big when first sent */
	n = t->snd.len - off < t->mss ? t->snd.len - off : t->mss;
	t->snd_nxt = seq;
	t->timing = false; /* Karn */
	STAT(t->s, tcp_retransmits);
	tcp_send_segment(t, seq, TAPIR_TH_ACK | (off + n == t->snd.len ? TAPIR_TH_PSH : 0), off, n);
	tcp_sent(t, n, false);
}

/* RFC 1191 6.3: once the lowered path MTU has aged out, the MSS may grow
 * again (told here, at the next send: 6.2 lets the notice wait), and
 * nothing is resent for it; a path MTU lowered again meanwhile sets the
 * next look. */
static void tcp_pmtu_check(struct tapir_tcp *t)
{
	uint16_t mss;
	t->pmtu_raise_at = tp_pmtu_expires(t->s, &t->raddr);
	mss = tcp_effective_mss(t);
	if (mss > t->mss)
		t->mss = mss;
}

int tcp_output(struct tapir_tcp *t)
{
	uint32_t seg_max;

	if (tcp_output_handshake(t) || tcp_output_hold(t))
		return 0;
	if (t->s->now >= t->pmtu_raise_at)
		tcp_pmtu_check(t);
	seg_max = tcp_send_max(t);
	for (;;) {
		uint32_t off = t->snd_nxt - t->snd_una;
		uint32_t unsent = t->snd.len > off ? t->snd.len - off : 0;
		uint32_t usable = tcp_usable_window(t, off, unsent);
		uint32_t len = unsent < usable ? unsent : usable;
		uint8_t flags = TAPIR_TH_ACK;
		bool fin;

		if (len > seg_max)
			len = seg_max;
		/* a super-segment carries whole segments only, and goes only
		 * with nothing forced: the tail is an ordinary segment; at the
		 * end of the data, a short last segment only as Nagle lets one
		 * go (the kernel cuts the super-segment: its short tail would
		 * leave with data in flight, as no short segment may) */
		if (len > t->mss && len % t->mss &&
		    (t->force || off + len != t->snd.len || !tcp_nagle_lets(t, off, t->fin_queued)))
			len = len / t->mss * t->mss;
		/* the FIN goes with (or after) the last byte of data */
		/* a probe past a zero window is one byte, never the FIN too */
		fin = t->fin_queued && !tcp_fin_acked(t) && !(t->force && !t->snd_wnd) &&
		      SEQ_LEQ(t->snd_nxt, t->snd_una + t->snd.len) && off + len == t->snd.len;
		/* (to ourselves, the data also waits while the loopback queue
		 * is nearly full; an ACK owed goes all the same) */
		if (!tcp_worth_sending(t, off, len, unsent, fin) ||
		    tcp_tso_defer(t, off, unsent, usable, seg_max) || (len && tcp_loop_wait(t))) {
			if (!t->ack_now || tcp_ack_hold(t))
				break;
			len = 0;
			fin = false;
		}
		if (len && off + len == t->snd.len)
			flags |= TAPIR_TH_PSH;
		if (fin)
			flags |= TAPIR_TH_FIN;
		/* the profile's fin_on_ack: while our FIN is unacknowledged, a
		 * bare ACK carries it again, at its own sequence number */
		if (!len && !fin && t->s->cfg.profile.fin_on_ack && t->fin_sent &&
		    !tcp_fin_acked(t) && t->snd_nxt == t->snd_max && !t->ack_plain) {
			tcp_send_segment(t, t->fin_seq, flags | TAPIR_TH_FIN, off, 0);
			break;
		}
		/* a bare ACK says SND.MAX, not a SND.NXT that a timeout moved
		 * back: below the peer's RCV.NXT it would be unacceptable
		 * there (RFC 9293 3.10.7.4), and both ends could stall */
		tcp_send_segment(t, len || fin ? t->snd_nxt : t->snd_max, flags, off, len);
		tcp_sent(t, len, fin);
		if (!len)
			break;
	}
	tcp_output_timers(t);
	return 0;
}
