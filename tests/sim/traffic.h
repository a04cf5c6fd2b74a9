/* A two-node traffic scenario shared by the simulation tests: node A
 * (10.0.0.1) sends UDP datagrams and pings to node B (10.0.0.2), which
 * echoes every datagram back.  Every payload is a pattern derived from its
 * sequence number, so each end can check byte for byte what it got. */
#ifndef TAPIR_TEST_TRAFFIC_H
#define TAPIR_TEST_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>

#include <tapir/tapir.h>

#define TR_MAX 64

struct traffic_params {
	int count;                  /* datagrams and pings each (<= TR_MAX) */
	tapir_time_t interval;      /* between sends */
	const unsigned *udp_sizes;  /* cycled through; NULL: 1, 100, 1472, 4000 */
	int n_udp_sizes;
	const unsigned *ping_sizes; /* NULL: 0, 56, 1000, 1400 */
	int n_ping_sizes;
	uint64_t stack_seed;        /* the stacks' seeds derive from it */
};

struct traffic_result {
	int udp_sent, udp_at_b, udp_back;     /* distinct datagrams that arrived */
	int udp_dups;                         /* arrivals beyond the first */
	int udp_bad;                          /* arrived but not byte-exact */
	int ping_sent, ping_ok, ping_err, ping_bad;
	bool a_resolved_b, b_knows_a;         /* ARP, right after the traffic */
	uint64_t checksum_drops;              /* ip/udp/icmp checksum drops, both */
	uint64_t drops_total;
	uint64_t frags_made, reassembled;
	uint64_t digest;                      /* sim_digest at the end */
	bool accounting_ok;
};

void traffic_run(const struct tapir_memlink_params *link, const struct traffic_params *tp,
		 struct traffic_result *r);

#endif
