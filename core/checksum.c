/* The Internet checksum, RFC 1071: the 16-bit one's complement of the one's
 * complement sum.  Summed 16 bits at a time into 32 bits, folded at the end
 * (RFC 1071 2(B): deferred carries). */
#include "core.h"

uint32_t tp_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	while (len >= 2) {
		acc += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len) /* RFC 1071 4.1: an odd byte is padded with zero */
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t tp_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t tp_csum(const void *data, size_t len)
{
	return tp_csum_fold(tp_csum_add(0, data, len));
}

uint32_t tp_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint64_t acc = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
		       proto + len;
	return (uint32_t)acc;
}

/* the same, for callers outside the core */
uint32_t tapir_csum_add(uint32_t sum, const void *data, size_t len) { return tp_csum_add(sum, data, len); }
uint16_t tapir_csum_fold(uint32_t sum) { return tp_csum_fold(sum); }
uint32_t tapir_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return tp_csum_pseudo(src, dst, proto, len);
}
