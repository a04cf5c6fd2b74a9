/* Reassembly for both families (RFC 791 3.2, RFC 8200 4.5; RFC 815's idea
 * of holes kept as a sorted fragment list).  Datagrams are keyed by
 * family, addresses and id (and, for IPv4, protocol).  Bounded: at most
 * cfg.reasm_max_datagrams at once and cfg.reasm_max_bytes of buffers; the
 * oldest datagram makes room.  (An IPv6 datagram whose whole packet would
 * pass 64 KiB, the large buffer, is dropped as frag_nomem.)
 *
 * Overlaps are never merged: following RFC 5722 (written for IPv6, the same
 * reasoning holds here) any overlapping fragment discards the whole
 * datagram, and the datagram's id stays refused until its timer expires, so
 * that the rest of it cannot be stitched into something else.  An exact
 * duplicate (same offset and length, as the network makes them) is only
 * dropped itself. */
#include <stdlib.h>

#include "core.h"

int reasm_init(struct tapir_stack *s)
{
	s->reasm = calloc(s->cfg.reasm_max_datagrams ? s->cfg.reasm_max_datagrams : 1,
			  sizeof(*s->reasm));
	return s->reasm ? 0 : -1;
}

static void slot_release(struct tapir_stack *s, struct reasm_slot *r)
{
	tp_pkt_free_list(s, r->frags);
	s->reasm_mem -= r->mem;
	r->frags = NULL;
	r->mem = 0;
	r->have = 0;
}

static void slot_free(struct tapir_stack *s, struct reasm_slot *r)
{
	slot_release(s, r);
	memset(r, 0, sizeof(*r));
}

/* Discards the datagram's data but remembers its id until the timeout. */
static int slot_kill(struct tapir_stack *s, struct reasm_slot *r, int reason)
{
	char a[46];
	if (r->family == 6)
		TRACE(s, TAPIR_TR_IP6, "reassembly of id %u from %s dropped: %s", r->id,
		      tp_ip6_str(r->src, a), tapir_drop_text((enum tapir_drop)reason));
	else
		TRACE(s, TAPIR_TR_IP, "reassembly of id %u from %s dropped: %s", r->id,
		      tp_ip_str(tapir_get32(r->src), a), tapir_drop_text((enum tapir_drop)reason));
	slot_release(s, r);
	r->dead = true;
	return reason;
}

static struct reasm_slot *slot_oldest(struct tapir_stack *s, const struct reasm_slot *not)
{
	struct reasm_slot *old = NULL;
	for (unsigned i = 0; i < s->cfg.reasm_max_datagrams; i++) {
		struct reasm_slot *r = &s->reasm[i];
		if (r->used && r != not && (!old || r->deadline < old->deadline))
			old = r;
	}
	return old;
}

static struct reasm_slot *slot_get(struct tapir_stack *s, const struct reasm_frag *fr)
{
	size_t alen = fr->family == 6 ? 16 : 4;
	struct reasm_slot *freeslot = NULL;

	for (unsigned i = 0; i < s->cfg.reasm_max_datagrams; i++) {
		struct reasm_slot *r = &s->reasm[i];
		if (!r->used) {
			if (!freeslot)
				freeslot = r;
		} else if (r->family == fr->family && r->id == fr->id && r->proto == fr->proto &&
			   !memcmp(r->src, fr->src, alen) && !memcmp(r->dst, fr->dst, alen)) {
			return r;
		}
	}
	if (!freeslot) {
		freeslot = slot_oldest(s, NULL);
		if (!freeslot)
			return NULL;
		STAT(s, reasm_evicted);
		slot_free(s, freeslot);
	}
	freeslot->used = true;
	freeslot->family = fr->family;
	memcpy(freeslot->src, fr->src, alen);
	memcpy(freeslot->dst, fr->dst, alen);
	freeslot->id = fr->id;
	freeslot->proto = fr->proto;
	TP_ARM(s, freeslot->deadline, s->now + s->cfg.reasm_timeout_us);
	return freeslot;
}

static int reasm_complete(struct tapir_stack *s, int ifindex, struct reasm_slot *r)
{
	size_t total = r->hdr_len + r->total;
	struct tp_pkt *d = tp_pkt_alloc(s, total);
	int ret;
	uint8_t *h;

	if (!d) {
		slot_free(s, r);
		return TAPIR_DROP_frag_nomem;
	}
	h = d->data;
	memcpy(h, r->hdr, r->hdr_len);
	for (struct tp_pkt *f = r->frags; f; f = f->next)
		memcpy(h + r->hdr_len + f->off, f->data, f->len);
	d->len = (uint32_t)total;
	STAT(s, reasm_done);
	if (r->family == 6) {
		/* RFC 8200 4.5: the payload length of the reassembled packet */
		tapir_put16(h + TAPIR_IPV6_PLEN, (uint16_t)(total - TAPIR_IPV6_HLEN));
		TRACE(s, TAPIR_TR_IP6, "reassembled id %u: %zu bytes", r->id, total);
		slot_free(s, r);
		ret = ipv6_deliver_reassembled(s, ifindex, h, total);
		tp_pkt_free(s, d);
		return ret;
	}
	tapir_put16(h + 2, (uint16_t)total);
	tapir_put16(h + 6, tapir_get16(h + 6) & 0x4000); /* keep DF, clear MF and offset */
	tapir_put16(h + 10, 0);
	tapir_put16(h + 10, tapir_csum(h, r->hdr_len));
	slot_free(s, r);
	TRACE(s, TAPIR_TR_IP, "reassembled id %u: %zu bytes", tapir_get16(h + 4), total);
	ret = ipv4_deliver(s, ifindex, h, total);
	tp_pkt_free(s, d);
	return ret;
}

int reasm_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len,
		size_t hlen)
{
	uint16_t fo = tapir_get16(pkt + 6);
	struct reasm_frag fr = {.family = 4, .src = pkt + 12, .dst = pkt + 16,
				.id = tapir_get16(pkt + 4), .proto = pkt[9],
				.off = (size_t)(fo & 0x1fff) * 8, .len = len - hlen,
				.more = fo & 0x2000, .data = pkt + hlen, .hdr = pkt, .hlen = hlen};
	return reasm_add(s, ifindex, &fr);
}

int reasm_add(struct tapir_stack *s, int ifindex, const struct reasm_frag *fr)
{
	size_t off = fr->off, plen = fr->len;
	bool more = fr->more;
	struct reasm_slot *r;
	struct tp_pkt *f, **pp;

	/* RFC 791, RFC 8200 4.5: every fragment but the last carries a
	 * multiple of 8 */
	if (plen == 0 || (more && (plen & 7)))
		return TAPIR_DROP_frag_bad;
	r = slot_get(s, fr);
	if (!r)
		return TAPIR_DROP_frag_nomem;
	if (r->dead)
		return TAPIR_DROP_frag_dead;
	/* RFC 791: the total length (header included) is 16 bits.  The header
	 * that counts is fragment zero's, which may carry options; until it
	 * comes, assume the minimum.  RFC 8200 4.5: IPv6's payload length is
	 * 16 bits, the caller says how far a fragment may reach. */
	if (fr->family == 6) {
		if (off + plen > fr->limit)
			return slot_kill(s, r, TAPIR_DROP_frag_too_big);
	} else {
		size_t hl = off == 0 ? fr->hlen : r->hdr_len ? r->hdr_len : TAPIR_IPV4_HLEN;
		size_t end = off + plen;
		if (off == 0) {
			struct tp_pkt *last = r->frags;
			while (last && last->next)
				last = last->next;
			if (last && (size_t)last->off + last->len > end)
				end = (size_t)last->off + last->len;
			if (r->total > end)
				end = r->total;
		}
		if (hl + end > 65535)
			return slot_kill(s, r, TAPIR_DROP_frag_too_big);
	}
	if (!more) {
		if (r->total && r->total != off + plen)
			return slot_kill(s, r, TAPIR_DROP_frag_bad);
		r->total = (uint32_t)(off + plen);
	}
	if (r->total && off + plen > r->total)
		return slot_kill(s, r, TAPIR_DROP_frag_bad);
	for (f = r->frags; f; f = f->next) {
		if (off < (size_t)f->off + f->len && f->off < off + plen) {
			if (f->off == off && f->len == plen)
				return TAPIR_DROP_frag_dup;
			return slot_kill(s, r, TAPIR_DROP_frag_overlap);
		}
	}
	/* the last fragment may reveal that held ones lie beyond the end */
	if (r->total)
		for (f = r->frags; f; f = f->next)
			if ((size_t)f->off + f->len > r->total)
				return slot_kill(s, r, TAPIR_DROP_frag_bad);

	/* Count the buffer really taken: a fragment longer than a small
	 * buffer (jumbo frames), or any fragment once the small pool is empty,
	 * takes a 64 KiB one.  Evict the oldest datagrams until it fits both
	 * the pool and cfg.reasm_max_bytes. */
	for (;;) {
		struct reasm_slot *old;
		f = tp_pkt_alloc(s, plen);
		if (f && s->reasm_mem + f->cap <= s->cfg.reasm_max_bytes)
			break;
		if (f)
			tp_pkt_free(s, f);
		f = NULL;
		old = slot_oldest(s, r);
		if (!old)
			break;
		STAT(s, reasm_evicted);
		slot_free(s, old);
	}
	if (!f) {
		slot_kill(s, r, TAPIR_DROP_frag_nomem);
		return TAPIR_DROP_frag_nomem;
	}
	memcpy(f->data, fr->data, plen);
	f->len = (uint32_t)plen;
	f->off = (uint16_t)off;
	for (pp = &r->frags; *pp && (*pp)->off < off; pp = &(*pp)->next)
		;
	f->next = *pp;
	*pp = f;
	r->have += (uint32_t)plen;
	r->mem += f->cap;
	s->reasm_mem += f->cap;
	if (off == 0) {
		memcpy(r->hdr, fr->hdr, fr->hlen);
		r->hdr_len = (uint8_t)fr->hlen;
	}
	if (r->total && r->have == r->total && r->hdr_len)
		return reasm_complete(s, ifindex, r);
	return TP_OK;
}

/* RFC 792 / RFC 1122 3.3.2 and RFC 8200 4.5: time exceeded (code 1) about
 * fragment zero, quoting its start (IPv6: the fixed header as kept, with
 * the fragment's next header, and its data) */
static void reasm_time_exceeded(struct tapir_stack *s, const struct reasm_slot *r)
{
	uint8_t orig[60 + 64];
	size_t n = r->family == 6 ? 64 : 8;
	n = r->frags->len < n ? r->frags->len : n;
	memcpy(orig, r->hdr, r->hdr_len);
	memcpy(orig + r->hdr_len, r->frags->data, n);
	if (r->family == 4) {
		icmp_send_error(s, orig, r->hdr_len + n, TAPIR_ICMP_TIME_EXCEEDED, 1);
		return;
	}
	tapir_put16(orig + TAPIR_IPV6_PLEN, (uint16_t)n);
	icmp6_send_error(s, 0, orig, r->hdr_len + n, TAPIR_ICMP6_TIME_EXCEEDED,
			 TAPIR_ICMP6_TIMEX_REASM, 0);
}

tapir_time_t reasm_poll(struct tapir_stack *s, tapir_time_t now)
{
	tapir_time_t next = TAPIR_TIME_NEVER;
	for (unsigned i = 0; i < s->cfg.reasm_max_datagrams; i++) {
		struct reasm_slot *r = &s->reasm[i];
		if (!r->used)
			continue;
		if (r->deadline > now) {
			if (r->deadline < next)
				next = r->deadline;
			continue;
		}
		if (!r->dead) {
			STAT(s, reasm_timeout);
			/* RFC 792 / RFC 1122 3.3.2: time exceeded (code 1), only
			 * when fragment zero arrived, quoting its start */
			if (r->hdr_len && r->frags && r->frags->off == 0)
				reasm_time_exceeded(s, r);
		}
		slot_free(s, r);
	}
	return next;
}
