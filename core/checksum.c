/* The Internet checksum, RFC 1071: the 16-bit one's complement of the one's
 * complement sum.  Summed 16 bits at a time into 32 bits, folded at the end
 * (RFC 1071 2(B): deferred carries). */
#include <string.h>

#include <tapir/wire.h>

uint32_t tapir_csum_add(uint32_t sum, const void *data, size_t len)
{
	/* RFC 1071 2(B) and 2(C): the sum does not depend on byte order and
	 * carries can be deferred, so 8 bytes at a time are added in the
	 * host's order into 64 bits with an end-around carry, and the folded
	 * result is swapped into network order once at the end. */
	const uint8_t *p = data;
	uint64_t acc = 0, w;
	uint16_t r;

	while (len >= 32) {
		uint64_t a, b, c, d;
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&c, p + 16, 8);
		memcpy(&d, p + 24, 8);
		acc += a;
		acc += acc < a;
		acc += b;
		acc += acc < b;
		acc += c;
		acc += acc < c;
		acc += d;
		acc += acc < d;
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&w, p, 8);
		acc += w;
		acc += acc < w;
		p += 8;
		len -= 8;
	}
	if (len) { /* RFC 1071 4.1: the odd tail is padded with zeros */
		w = 0;
		memcpy(&w, p, len);
		acc += w;
		acc += acc < w;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	r = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	r = (uint16_t)(r >> 8 | r << 8);
#endif
	return sum + r; /* the caller folds */
}

uint16_t tapir_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t tapir_csum(const void *data, size_t len)
{
	return tapir_csum_fold(tapir_csum_add(0, data, len));
}

uint32_t tapir_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint64_t acc = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
		       proto + len;
	return (uint32_t)acc;
}


uint32_t tapir_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
			    uint32_t len)
{
	uint32_t sum = tapir_csum_add(tapir_csum_add(0, src, 16), dst, 16);
	return sum + (len >> 16) + (len & 0xffff) + proto;
}
