/* tapir check --udp: what to send to a UDP port.  An open UDP port says
 * nothing to a datagram its service does not understand, so where a port
 * has a well-known protocol the probe is a small valid request of that
 * protocol, one that every server of it answers (as nmap -sU, masscan and
 * zmap do); elsewhere an empty datagram, which the simple services
 * (echo, daytime, chargen, time: RFC 862, 867, 864, 868) answer too.
 * Each request is written here from its RFC. */
#include <stddef.h>
#include <stdint.h>

#include "check.h"

/* RFC 1035 4.1: a standard query (ID "ta", no recursion asked), one
 * question: the root's NS records, class IN.  Any answer (also REFUSED
 * or SERVFAIL) shows a DNS server. */
static const uint8_t dns_query[] = {
	0x74, 0x61, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* header */
	0x00,                                                                   /* QNAME . */
	0x00, 0x02, 0x00, 0x01,                                                 /* NS, IN */
};

/* RFC 6762 5.1 and 6.7: a one-shot ("legacy") mDNS query from a port
 * other than 5353 gets a unicast answer; PTR of the DNS-SD services
 * enumeration name (RFC 6763 9). */
static const uint8_t mdns_query[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	9, '_', 's', 'e', 'r', 'v', 'i', 'c', 'e', 's', 7, '_', 'd', 'n', 's', '-', 's', 'd',
	4, '_', 'u', 'd', 'p', 5, 'l', 'o', 'c', 'a', 'l', 0,
	0x00, 0x0c, 0x00, 0x01, /* PTR, IN */
};

/* RFC 5905 7.3: an NTPv4 client request (LI 3 "unsynchronized", VN 4,
 * mode 3), poll 2^6, precision 2^-20, and a non-zero transmit timestamp,
 * which the server echoes as the origin (RFC 5905 8). */
static const uint8_t ntp_request[48] = {
	0xe3, 0x00, 0x06, 0xec, [40] = 0x74, 0x61, 0x70, 0x69, 0x72, 0x63, 0x6b, 0x00,
};

/* RFC 5531 9 and 8.2: an ONC RPC call of procedure 0 (NULL, which every
 * program has) of the portmapper (100000, version 2: RFC 1833 3),
 * AUTH_NONE credential and verifier. */
static const uint8_t rpc_null[] = {
	0x74, 0x61, 0x70, 0x69, /* xid */
	0, 0, 0, 0,             /* CALL */
	0, 0, 0, 2,             /* RPC version 2 */
	0, 1, 0x86, 0xa0,       /* program 100000 */
	0, 0, 0, 2,             /* version 2 */
	0, 0, 0, 0,             /* procedure 0 */
	0, 0, 0, 0, 0, 0, 0, 0, /* cred AUTH_NONE, length 0 */
	0, 0, 0, 0, 0, 0, 0, 0, /* verf AUTH_NONE, length 0 */
};

/* RFC 1002 4.2.17: a NetBIOS NODE STATUS REQUEST for the name "*"
 * (encoded as RFC 1001 14.1 says: each half-byte + 'A'), NBSTAT, IN. */
static const uint8_t nbstat[] = {
	0x74, 0x61, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
	'C', 'K', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A',
	'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A',
	0x00, 0x00, 0x21, 0x00, 0x01,
};

/* RFC 1157 4.1.2: an SNMPv1 GetRequest, community "public", for
 * sysDescr.0 (1.3.6.1.2.1.1.1.0, RFC 1213), BER-encoded (X.690). */
static const uint8_t snmp_get[] = {
	0x30, 0x26,                                     /* SEQUENCE, 38 bytes */
	0x02, 0x01, 0x00,                               /* version: 0 (v1) */
	0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c',       /* community */
	0xa0, 0x19,                                     /* GetRequest-PDU */
	0x02, 0x01, 0x01,                               /* request-id 1 */
	0x02, 0x01, 0x00, 0x02, 0x01, 0x00,             /* error-status, -index */
	0x30, 0x0e, 0x30, 0x0c,                         /* varbind list, varbind */
	0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, /* the OID */
	0x05, 0x00,                                     /* NULL */
};

/* UPnP Device Architecture 1.1 1.3.2: an SSDP search for everything,
 * sent unicast (a device answers a unicast M-SEARCH too). */
static const char ssdp_search[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
				  "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";

/* memcached's UDP protocol (its protocol.txt, "UDP protocol"): an 8-byte
 * frame header (request id, sequence 0 of 1 datagram) and "stats". */
static const uint8_t memcached_stats[] = {
	0x74, 0x61, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 's', 't', 'a', 't', 's', '\r', '\n',
};

size_t check_udp_payload(uint16_t port, const uint8_t **p)
{
	switch (port) {
	case 53: *p = dns_query; return sizeof(dns_query);
	case 5353: *p = mdns_query; return sizeof(mdns_query);
	case 111: *p = rpc_null; return sizeof(rpc_null);
	case 123: *p = ntp_request; return sizeof(ntp_request);
	case 137: *p = nbstat; return sizeof(nbstat);
	case 161: *p = snmp_get; return sizeof(snmp_get);
	case 1900: *p = (const uint8_t *)ssdp_search; return sizeof(ssdp_search) - 1;
	case 11211: *p = memcached_stats; return sizeof(memcached_stats);
	default: *p = NULL; return 0;
	}
}
