/* Text forms of addresses: parsing and printing for callers. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "core.h"


int tapir_parse_ipv4(const char *text, uint32_t *addr)
{
	unsigned v[4];
	char tail;
	if (sscanf(text, "%3u.%3u.%3u.%3u%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (v[i] > 255)
			return -1;
	}
	/* sscanf accepts signs and spaces; insist on digits and dots only */
	for (const char *c = text; *c; c++)
		if ((*c < '0' || *c > '9') && *c != '.')
			return -1;
	*addr = v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
	return 0;
}

int tapir_parse_cidr(const char *text, uint32_t *addr, unsigned *prefix_len)
{
	char buf[32];
	const char *slash = strchr(text, '/');
	char *end;
	unsigned long len;

	if (!slash || (size_t)(slash - text) >= sizeof(buf) || !slash[1])
		return -1;
	memcpy(buf, text, (size_t)(slash - text));
	buf[slash - text] = 0;
	if (tapir_parse_ipv4(buf, addr))
		return -1;
	for (const char *c = slash + 1; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	len = strtoul(slash + 1, &end, 10);
	if (len > 32)
		return -1;
	*prefix_len = (unsigned)len;
	return 0;
}

int tapir_parse_mac(const char *text, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (strlen(text) != 17 ||
	    sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

int tapir_parse_ipv6(const char *text, uint8_t addr[16], unsigned *prefix_len)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long len = 128;

	if (n == 0 || n >= sizeof(buf) || (slash && !prefix_len))
		return -1;
	memcpy(buf, text, n);
	buf[n] = 0;
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return -1;
	if (slash) {
		char *end;
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > 128)
			return -1;
	}
	if (prefix_len)
		*prefix_len = (unsigned)len;
	return 0;
}

const char *tp_ip6_str(const uint8_t *a, char buf[46])
{
	/* RFC 5952 4: glibc's inet_ntop writes the recommended form */
	if (!inet_ntop(AF_INET6, a, buf, 46))
		snprintf(buf, 46, "?");
	return buf;
}

char *tapir_ipv6_str(const uint8_t addr[16], char *buf)
{
	tp_ip6_str(addr, buf);
	return buf;
}

const char *tp_ip_str(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

char *tapir_ipv4_str(uint32_t addr, char *buf)
{
	tp_ip_str(addr, buf);
	return buf;
}

const char *tp_mac_str(const uint8_t *m, char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}


const char *tapir_ip_str(const struct tapir_ip *a, char *buf)
{
	if (tapir_ip_is_v4(a))
		return tp_ip_str(tapir_ip_v4(a), buf);
	return tp_ip6_str(a->b, buf);
}

const char *tapir_ip_port_str(const struct tapir_ip *a, uint16_t port, char *buf)
{
	char t[TAPIR_IP_STRLEN];
	if (tapir_ip_is_v4(a))
		snprintf(buf, TAPIR_IP_PORT_STRLEN, "%s:%u", tapir_ip_str(a, t), port);
	else
		snprintf(buf, TAPIR_IP_PORT_STRLEN, "[%s]:%u", tapir_ip_str(a, t), port);
	return buf;
}
