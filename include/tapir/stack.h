/*
 * tapir — the protocol core's public interface.
 *
 * The core is deterministic: it has no threads, makes no system calls and
 * reads no clock.  The caller hands it frames (tapir_stack_input) and the
 * current time, and calls tapir_stack_poll when the deadline it returned
 * has come.  Frames leave through each interface's struct tapir_link.
 *
 * Addresses in this API are IPv4 addresses in host byte order, or IPv6
 * addresses as 16 bytes in network order (the *_ipv6 calls).
 */
#ifndef TAPIR_STACK_H
#define TAPIR_STACK_H

#include <stddef.h>
#include <stdint.h>
#include <tapir/wire.h>
#include <tapir/profile.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Time in microseconds on a monotonic clock of the caller's choosing. */
typedef uint64_t tapir_time_t;
#define TAPIR_TIME_NEVER UINT64_MAX
#define TAPIR_MS(x) ((tapir_time_t)(x) * 1000u)
#define TAPIR_SEC(x) ((tapir_time_t)(x) * 1000000u)

struct tapir_stack;
struct tapir_link;

#define TAPIR_MAX_IFACES 4

/* Every tunable the core has.  tapir_config_default() fills in sane values;
 * the comment gives the default and where it comes from. */
struct tapir_config {
	uint64_t seed;                /* randomness: IP ids, ports (0: fixed) */
	unsigned pkt_small;           /* 2 KiB buffers in the pool: 1024 */
	unsigned pkt_large;           /* 64 KiB buffers (reassembly, big datagrams): 16 */
	unsigned arp_cache_size;      /* entries: 128 */
	unsigned arp_queue_len;       /* packets waiting per unresolved address: 8 */
	unsigned arp_retries;         /* requests before giving up: 3 */
	tapir_time_t arp_retry_us;    /* between requests: 1 s */
	tapir_time_t arp_reachable_us;/* an entry's lifetime after confirmation: 60 s */
	unsigned reasm_max_datagrams; /* datagrams in reassembly at once: 16 */
	size_t reasm_max_bytes;       /* buffer memory held by reassembly: 512 KiB */
	tapir_time_t reasm_timeout_us;/* RFC 791 suggests 15 s; Linux 30 s: 30 s */
	unsigned icmp_rate;           /* ICMP errors per second (RFC 1812 4.3.2.8): 1000 */
	unsigned icmp_burst;          /* token bucket depth: 50 */
	uint8_t ttl;                  /* RFC 1700 / 1122 3.2.1.7 default: 64 */
	unsigned pmtu_min;            /* IPv4 path MTU floor against forged
				       * fragmentation needed (RFC 1191 8), at
				       * least 68: 576 (0: 576) */
	tapir_time_t pmtu_age_us;     /* a lowered path MTU ages out (RFC 1191
				       * 6.3, RFC 8201 5.3); TAPIR_TIME_NEVER:
				       * never: 10 min (0: 10 min) */
	uint16_t ephemeral_lo, ephemeral_hi; /* RFC 6335: 49152-65535 */
	size_t udp_rcvbuf;            /* default per-socket receive limit: 212992 */
	unsigned udp_sockets;         /* UDP sockets the core can hold: 64 */
	/* TCP */
	unsigned tcp_sockets;         /* TCP sockets (incl. TIME_WAIT) at most: a limit,
				       * not a pool (TCBs are allocated as connections
				       * come, about 1 KiB each): 1 << 20 */
	uint32_t tcp_rcvbuf;          /* default receive buffer: 65535 */
	uint32_t tcp_sndbuf;          /* default send buffer: 131072 */
	uint32_t tcp_sndbuf_max;      /* send-buffer autotuning (as Linux's
				       * tcp_sndbuf_expand): a connection whose
				       * writer the buffer holds back while the
				       * windows would take more grows its buffer
				       * to twice the window, up to this; sockets
				       * that set TAPIR_TCP_SNDBUF are not tuned.
				       * 0 (the core's default): off; tapir host
				       * and tapir_net: TAPIR_TCP_SNDBUF_AUTO */
	uint32_t tcp_rcvbuf_max;      /* receive-buffer autotuning (dynamic right-
				       * sizing, as Linux's tcp_rcv_space_adjust):
				       * a connection's buffer grows to about twice
				       * what its reader takes per round trip, up to
				       * this; sockets that set TAPIR_TCP_RCVBUF are
				       * not tuned.  0 (the core's default, so that
				       * scripted windows stay as they are): off;
				       * tapir host and tapir_net turn it on with
				       * TAPIR_TCP_RCVBUF_AUTO */
	size_t tcp_mem_max;           /* all TCP rings together: 256 MiB.  Rings are
				       * held only while they hold data, so idle
				       * connections take none of it */
	tapir_time_t tcp_rto_initial_us; /* RFC 6298 2.1: 1 s */
	tapir_time_t tcp_rto_min_us;  /* RFC 6298 2.4 says 1 s; Linux 200 ms: 200 ms */
	tapir_time_t tcp_rto_max_us;  /* RFC 6298 2.5: at least 60 s: 60 s */
	unsigned tcp_syn_retries;     /* SYN retransmissions before ETIMEDOUT: 6 */
	unsigned tcp_retries2;        /* RFC 9293 3.8.3 R2, in retransmissions: 15 */
	tapir_time_t tcp_msl_us;      /* TIME_WAIT lasts 2*MSL: MSL 30 s */
	tapir_time_t tcp_delack_us;   /* RFC 1122 4.2.3.2 (< 500 ms): 40 ms */
	tapir_time_t tcp_fin_timeout_us; /* an orphan's FIN_WAIT_2: 60 s */
	unsigned tcp_challenge_acks;  /* RFC 5961 7: challenge ACKs per second: 1000 */
	unsigned tcp_initial_window;  /* segments, RFC 6928: 10 */
	uint8_t tcp_window_scaling;   /* RFC 7323 2: offer window scaling: 1 */
	uint8_t tcp_timestamps;       /* RFC 7323 3: offer timestamps (PAWS, RTTM): 1 */
	uint8_t tcp_sack;             /* RFC 2018: offer SACK: 1 */
	uint8_t tcp_congestion;       /* TAPIR_CC_NEWRENO (0) or TAPIR_CC_CUBIC (1): 0 */
	uint8_t tcp_syncookies;       /* RFC 4987 3.6, when half-open ones fill a backlog: 1 */
	unsigned tcp_max_syn_backlog; /* half-open (SYN-RECEIVED) connections per
				       * listener, apart from its listen() backlog
				       * that bounds only the accept queue (as
				       * Linux's tcp_max_syn_backlog), and at most
				       * a quarter of tcp_sockets: 4096 */
	uint8_t tcp_ecn;              /* RFC 3168: 0 off, 1 ask for it and accept it,
				       * 2 accept it when asked (as Linux's default): 2 */
	uint8_t tcp_ecn_syn_retries;  /* ECN-setup SYNs resent before plain ones (6.1.1.1): 1 */
	/* IPv6 neighbor discovery (RFC 4861 10, RFC 4862 5.1) */
	unsigned nd_cache_size;       /* neighbor cache entries: 128 */
	unsigned nd_queue_len;        /* packets waiting per unresolved neighbor: 8 */
	tapir_time_t nd_retrans_us;   /* RetransTimer: 1 s */
	tapir_time_t nd_reachable_us; /* BaseReachableTime (randomized 0.5-1.5x): 30 s */
	unsigned nd_dad_transmits;    /* DupAddrDetectTransmits (RFC 4862 5.1): 1 */
	unsigned nd_routers;          /* default router list bound: 4 */
	unsigned nd_prefixes;         /* prefix list bound: 8 */
	uint8_t nd_addr_gen;          /* interface identifiers of the link-local and
				       * SLAAC addresses: TAPIR_ADDR_GEN_EUI64 (RFC 4291
				       * Appendix A, from the MAC) or TAPIR_ADDR_GEN_STABLE
				       * (RFC 7217: stable per prefix, opaque, keyed by
				       * nd_secret; a DAD conflict tries the next of 3 more,
				       * as RFC 7217 6): EUI64 */
	uint64_t nd_secret[2];        /* RFC 7217 5 secret_key (128 bits, the caller's:
				       * the same secret gives the same addresses after a
				       * restart): 0 */
	/* OS profile (include/tapir/profile.h): the rfc table by default */
	struct tapir_profile profile;
};

/* tcp_rcvbuf_max of tapir host and of tapir_net's default config: 6 MiB
 * (Linux's tcp_rmem[2]) */
#define TAPIR_TCP_RCVBUF_AUTO (6u << 20)
/* tcp_sndbuf_max of tapir host and of tapir_net: 4 MiB (Linux's tcp_wmem[2]) */
#define TAPIR_TCP_SNDBUF_AUTO (4096u << 10)

enum { TAPIR_ADDR_GEN_EUI64, TAPIR_ADDR_GEN_STABLE }; /* nd_addr_gen */

void tapir_config_default(struct tapir_config *cfg);
/* Sets the profile ID: its table, and the general TCP tunables it fixes
 * (tcp_rcvbuf, tcp_sndbuf, tcp_initial_window, tcp_rto_initial_us,
 * tcp_rto_min_us, tcp_syn_retries, tcp_delack_us).  0, or -1 for an
 * unknown ID.  tapir_config_default() gives the rfc profile. */
int tapir_config_profile(struct tapir_config *cfg, enum tapir_profile_id id);

/* Allocates everything the stack will ever use; NULL when out of memory. */
struct tapir_stack *tapir_stack_new(const struct tapir_config *cfg);
void tapir_stack_free(struct tapir_stack *s);

/* Adds an interface driven by LINK with hardware address MAC; returns its
 * index (>= 0) or a negative errno value. */
int tapir_iface_add(struct tapir_stack *s, struct tapir_link *link,
		    const uint8_t mac[6], unsigned mtu);
/* Gives the interface its address, adds the connected route, brings it up
 * and announces the address (RFC 5227 2.3). */
int tapir_iface_set_ipv4(struct tapir_stack *s, int ifindex, uint32_t addr,
			 unsigned prefix_len, tapir_time_t now);
/* Adds a route; GATEWAY 0 means directly connected.  DST 0/0 is the default. */
int tapir_route_add(struct tapir_stack *s, uint32_t dst, unsigned prefix_len,
		    uint32_t gateway, int ifindex);

/* ---- IPv6 ---- */
#define TAPIR_IPV6_ADDRS 8 /* addresses per interface, the link-local one included */
/* Turns IPv6 on for the interface: the link-local address from its MAC
 * (RFC 4291 Appendix A) or RFC 7217's (cfg.nd_addr_gen), DAD for it (RFC
 * 4862 5.4).  Idempotent. */
int tapir_iface_enable_ipv6(struct tapir_stack *s, int ifindex, tapir_time_t now);
/* Adds ADDR/PREFIX_LEN (enabling IPv6 first); it is tentative until DAD
 * passes.  -EINVAL (not a unicast address), -EEXIST, -ENOSPC. */
int tapir_iface_add_ipv6(struct tapir_stack *s, int ifindex, const uint8_t addr[16],
			 unsigned prefix_len, tapir_time_t now);
/* RFC 4862 5.5: addresses from the prefixes of router advertisements
 * (autonomous flag set, /64), each through DAD, removed when its valid
 * lifetime ends.  Off by default ("only when asked"); turns IPv6 on. */
int tapir_iface_set_slaac(struct tapir_stack *s, int ifindex, int on, tapir_time_t now);
/* A default router configured by hand (RFC 4861 6.3.4 leaves the list to
 * the host): off-link destinations go through ADDR (link-local, or on a
 * prefix of the interface), whatever advertisements say.  -EINVAL, -ENOSPC. */
int tapir_iface_add_router6(struct tapir_stack *s, int ifindex, const uint8_t addr[16]);
/* The default router off-link IPv6 goes through (RFC 4861 6.3.6), learned
 * from advertisements or configured: its interface, its address in ADDR;
 * -1 when there is none. */
int tapir_ipv6_router(const struct tapir_stack *s, uint8_t addr[16]);
enum tapir_addr6_state { TAPIR_ADDR6_FREE, TAPIR_ADDR6_TENTATIVE, TAPIR_ADDR6_PREFERRED,
			 TAPIR_ADDR6_DUPLICATE };
/* The interface's I-th IPv6 address (0 is the link-local one); its state,
 * TAPIR_ADDR6_FREE past the last. */
enum tapir_addr6_state tapir_iface_ipv6_addr(const struct tapir_stack *s, int ifindex,
					     unsigned i, uint8_t addr[16], unsigned *prefix_len);
/* "2001:db8::1/64" -> addr, prefix length; "fe80::1" (no prefix) with
 * PREFIX_LEN NULL.  0 or -1. */
int tapir_parse_ipv6(const char *text, uint8_t addr[16], unsigned *prefix_len);
/* RFC 5952 text of ADDR into BUF (at least 46 bytes); returns BUF. */
char *tapir_ipv6_str(const uint8_t addr[16], char *buf);

/* One received frame.  The core may modify FRAME in place during the call
 * and keeps no pointer to it afterwards. */
void tapir_stack_input(struct tapir_stack *s, int ifindex, uint8_t *frame,
		       size_t len, tapir_time_t now);
/* The same, with what the link knows of the frame (TAPIR_RX_*). */
#define TAPIR_RX_CSUM_PARTIAL 1u /* from the local kernel through memory (a TAP with
				  * offload: virtio-net's NEEDS_CSUM): the TCP or UDP
				  * checksum was never filled in, and no wire could
				  * have damaged the bytes, so it is not checked */
void tapir_stack_input_flags(struct tapir_stack *s, int ifindex, uint8_t *frame,
			     size_t len, tapir_time_t now, unsigned flags);
/* Runs due timers; returns the time of the next deadline or TAPIR_TIME_NEVER. */
tapir_time_t tapir_stack_poll(struct tapir_stack *s, tapir_time_t now);
/* The earliest deadline set since the previous call (TAPIR_TIME_NEVER if
 * none), and forgets it.  For a driver whose thread sleeps until the
 * deadline tapir_stack_poll returned while other threads call into the
 * core: it needs waking only when one of them set an earlier one. */
tapir_time_t tapir_stack_armed(struct tapir_stack *s);
/* For a driver that runs the application in the same turn as the input
 * (an event loop on the stack thread): ON holds the bare ACK a connection
 * in CLOSE-WAIT owes (the peer's FIN) until the call with ON 0, which
 * sends what is still owed.  An application that reads the end of the
 * stream and closes in that turn then sends its FIN with the ACK: one
 * segment, not two.  What the call with ON 0 sends may set a deadline (a
 * retransmission timer; a segment to one of our own addresses, due at
 * once on the loopback queue): the driver reads tapir_stack_armed, or
 * polls again, before it sleeps. */
void tapir_stack_defer_acks(struct tapir_stack *s, int on);

/* ---- observing the stack ---- */

/* Trace channels: one line per event, written for a person to read. */
enum {
	TAPIR_TR_LINK = 1u << 0,
	TAPIR_TR_ARP = 1u << 1,
	TAPIR_TR_IP = 1u << 2,
	TAPIR_TR_ICMP = 1u << 3,
	TAPIR_TR_UDP = 1u << 4,
	TAPIR_TR_TCP = 1u << 5,
	TAPIR_TR_SOCKET = 1u << 6,
	TAPIR_TR_IP6 = 1u << 7,
	TAPIR_TR_ICMP6 = 1u << 8,
	TAPIR_TR_ND = 1u << 9,
	TAPIR_TR_ALL = 0x3ff,
};
typedef void (*tapir_trace_fn)(void *arg, tapir_time_t now, const char *channel,
			       const char *line);
void tapir_set_trace(struct tapir_stack *s, unsigned mask, tapir_trace_fn fn,
		     void *arg);
/* Parses "all" or a comma list such as "arp,ip,icmp"; returns 0, or -1 with
 * *bad pointing at the first unknown name. */
int tapir_trace_parse(const char *list, unsigned *mask, const char **bad);

/* Sees every frame that enters or leaves (a pcap writer uses this). */
enum tapir_dir { TAPIR_RX = 0, TAPIR_TX = 1 };
typedef void (*tapir_frame_fn)(void *arg, int ifindex, enum tapir_dir dir,
			       const uint8_t *frame, size_t len, tapir_time_t now);
void tapir_set_frame_observer(struct tapir_stack *s, tapir_frame_fn fn, void *arg);

/* Counters.  Every received frame ends in exactly one place: delivered, or
 * dropped for one reason.  So rx_frames == rx_delivered + sum(drops). */
#define TAPIR_DROP_REASONS(X)                                                  \
	X(eth_short, "frame shorter than an Ethernet header")                  \
	X(eth_not_for_us, "destination MAC neither ours nor broadcast")        \
	X(eth_own_source, "source MAC is our own (a loop)")                    \
	X(eth_ethertype, "ethertype not handled")                              \
	X(iface_down, "interface has no address yet")                          \
	X(arp_short, "ARP packet truncated")                                   \
	X(arp_format, "ARP hardware/protocol type or length not Ethernet/IPv4") \
	X(arp_op, "ARP opcode neither request nor reply")                      \
	X(arp_bad_sender, "ARP sender address broadcast, multicast or ours")   \
	X(arp_not_for_us, "ARP for another host (merged per RFC 826 only)")    \
	X(ip_short, "IPv4 packet shorter than its header")                     \
	X(ip_version, "IP version not 4")                                      \
	X(ip_header_len, "IPv4 IHL below 5 or beyond the packet")              \
	X(ip_total_len, "IPv4 total length beyond the frame or below IHL")     \
	X(ip_checksum, "IPv4 header checksum wrong")                           \
	X(ip_bad_source, "IPv4 source broadcast, multicast or our own (LAND)") \
	X(ip_not_for_us, "IPv4 destination not ours")                          \
	X(ip_options, "IPv4 options malformed")                                \
	X(ip_protocol, "IPv4 protocol not handled (ICMP sent)")                \
	X(frag_bad, "fragment with a bad offset or length")                    \
	X(frag_overlap, "overlapping fragment: datagram dropped (RFC 5722)")   \
	X(frag_too_big, "fragments beyond 65535 bytes (ping of death)")        \
	X(frag_dup, "exact duplicate fragment")                                \
	X(frag_dead, "fragment of a datagram already dropped")                 \
	X(frag_nomem, "no reassembly memory")                                  \
	X(icmp_short, "ICMP message truncated")                                \
	X(icmp_checksum, "ICMP checksum wrong")                                \
	X(icmp_type, "ICMP type or code not handled")                          \
	X(icmp_broadcast, "ICMP echo to a broadcast address (RFC 1122 3.2.2.6)") \
	X(icmp_error_bad, "ICMP error quoting a packet we did not send")       \
	X(icmp_too_big_bad, "fragmentation needed / packet too big not about a TCP segment in flight (RFC 5927 4.1)") \
	X(udp_short, "UDP datagram truncated")                                 \
	X(udp_length, "UDP length field inconsistent with IP length")          \
	X(udp_checksum, "UDP checksum wrong")                                  \
	X(udp_no_port, "UDP to a closed port (ICMP sent)")                     \
	X(udp_rcvbuf, "UDP receive buffer full")                               \
	X(tcp_short, "TCP segment truncated")                                  \
	X(tcp_checksum, "TCP checksum wrong")                                  \
	X(tcp_header, "TCP data offset bad")                                   \
	X(tcp_no_socket, "TCP to a closed port (RST sent)")                    \
	X(tcp_dropped, "TCP segment dropped by the state machine")             \
	X(ip6_short, "IPv6 packet shorter than its header")                    \
	X(ip6_version, "IP version not 6 in an IPv6 frame")                    \
	X(ip6_length, "IPv6 payload length beyond the frame, or 0 (no jumbograms)") \
	X(ip6_bad_source, "IPv6 source multicast, loopback, v4-mapped or ours") \
	X(ip6_not_for_us, "IPv6 destination neither ours nor a group we joined") \
	X(ip6_ext_header, "IPv6 extension header truncated or malformed")      \
	X(ip6_ext_chain, "IPv6 extension header chain too long (RFC 8504 5.3)") \
	X(ip6_hbh_position, "IPv6 hop-by-hop header not first (RFC 8200 4.1)") \
	X(ip6_option, "IPv6 option whose action bits say discard (RFC 8200 4.2)") \
	X(ip6_routing, "IPv6 routing header type 0 or unknown with segments left (RFC 5095)") \
	X(ip6_next_header, "IPv6 next header not handled (parameter problem sent)") \
	X(ip6_no_next, "IPv6 next header 59: nothing follows (RFC 8200 4.7)")   \
	X(ip6_tentative, "IPv6 to an address still in DAD (RFC 4862 5.4)")     \
	X(frag6_chain, "IPv6 first fragment without the whole header chain (RFC 7112)") \
	X(icmp6_short, "ICMPv6 message truncated")                             \
	X(icmp6_checksum, "ICMPv6 checksum wrong")                             \
	X(icmp6_type, "ICMPv6 type or code not handled")                       \
	X(icmp6_error_bad, "ICMPv6 error quoting a packet we did not send")    \
	X(nd_hop_limit, "ND or MLD message with the wrong hop limit (RFC 4861 7.1)") \
	X(nd_bad, "ND message malformed (RFC 4861 7.1)")                       \
	X(nd_not_for_us, "NS for an address not ours")                         \
	X(nd_no_entry, "NA for a neighbor not in the cache (RFC 4861 7.2.5)")  \
	X(dhcp_malformed, "DHCP reply malformed: short, bad cookie or options (RFC 2131 2, RFC 2132 2)") \
	X(dhcp_unexpected, "DHCP reply for another transaction or client, or not in our state") \
	X(dhcp_bad_lease, "DHCP offer or ack of an address no host may have, or without a lease") \
	X(dhcp6_malformed, "DHCPv6 reply malformed: short, an option past the end or of a wrong length, no server or client id (RFC 8415 16.10)") \
	X(dhcp6_unexpected, "DHCPv6 message not a Reply to our transaction, client id or state") \
	X(dhcp6_status, "DHCPv6 reply with a status other than Success (RFC 8415 21.13)") \
	X(hook, "dropped by a hook")                                           \
	X(nomem, "no packet buffer for the reply")

#define TAPIR_COUNTERS(X)                                                      \
	X(rx_frames) X(rx_delivered) X(tx_frames) X(tx_errors)                 \
	X(tx_nomem) X(arp_requests_sent) X(arp_replies_sent)                   \
	X(arp_announces_sent) X(arp_resolved) X(arp_resolve_failed)            \
	X(arp_queue_dropped) X(arp_evicted) X(arp_conflicts)                   \
	X(ip_rx) X(ip_tx) X(ip_no_route) X(ip_frag_created)                    \
	X(ip_df_too_big) X(reasm_done) X(reasm_timeout) X(reasm_evicted)       \
	X(icmp_echo_replied) X(icmp_echo_sent) X(icmp_echo_reply_rx)           \
	X(icmp_errors_sent) X(icmp_rate_limited) X(icmp_errors_rx)             \
	X(icmp_needfrag_ok) X(icmp_pmtu_updates)                               \
	X(udp_rx) X(udp_tx) X(udp_no_socket)                                   \
	X(tcp_rx) X(tcp_tx) X(tcp_retransmits) X(tcp_rst_sent)                 \
	X(tcp_active_opens) X(tcp_passive_opens) X(tcp_conn_refused)           \
	X(tcp_conn_timeout) X(tcp_challenge_acks) X(tcp_ooo_queued)            \
	X(tcp_syn_queue_full) X(tcp_fast_retransmits) X(tcp_dth_rx)            \
	X(tx_hook_dropped) X(hook_injected) X(tcp_syncookies_sent)             \
	X(tcp_syncookies_ok) X(tcp_listen_overflows) X(tcp_time_wait_reclaimed) X(tcp_rcv_nomem)   \
	X(tcp_timeouts) X(tcp_lost_retransmits) X(tcp_tlp_probes) X(tcp_rack_lost) \
	X(tcp_spurious_rexmits) X(tcp_ecn_ce_rx) X(tcp_ecn_reductions)        \
	X(tcp_rcvbuf_grown) X(tcp_sndbuf_grown)                               \
	X(tcp_tfo_data_in) X(tcp_tfo_cookie_bad) X(tcp_tfo_cookies_sent)      \
	X(tcp_tfo_qlen_full) X(tcp_tfo_data_acked) X(tcp_tfo_fallback)        \
	X(ip6_rx) X(ip6_tx) X(ip6_no_route) X(ip6_frag_created)                \
	X(ip6_fragmented) X(icmp6_echo_replied) X(icmp6_errors_sent)              \
	X(icmp6_errors_rx) X(icmp6_pmtu_updates) X(nd_ns_sent) X(nd_na_sent)   \
	X(nd_resolved) X(nd_resolve_failed) X(nd_queue_dropped) X(nd_evicted) \
	X(nd_dad_ok) X(nd_dad_failed) X(nd_conflicts) X(nd_ra_rx) X(nd_rs_sent)              \
	X(mld_reports_sent) X(dhcp_tx) X(dhcp_rx) X(dhcp_leases) X(dhcp_naks)     \
	X(dhcp_declines) X(dhcp_expired) X(dhcp6_tx) X(dhcp6_rx)            \
	X(loop_dropped)

enum tapir_drop {
#define TAPIR_X_(name, text) TAPIR_DROP_##name,
	TAPIR_DROP_REASONS(TAPIR_X_)
#undef TAPIR_X_
	TAPIR_DROP_COUNT
};

struct tapir_stats {
#define TAPIR_X_(name) uint64_t name;
	TAPIR_COUNTERS(TAPIR_X_)
#undef TAPIR_X_
	uint64_t drop[TAPIR_DROP_COUNT];
};

const struct tapir_stats *tapir_stats(const struct tapir_stack *s);
const char *tapir_drop_name(enum tapir_drop d);
const char *tapir_drop_text(enum tapir_drop d);
uint64_t tapir_drops_total(const struct tapir_stats *st);
/* Calls FN for every counter (drops as "drop.NAME"), in a fixed order. */
void tapir_stats_foreach(const struct tapir_stack *s,
			 void (*fn)(void *arg, const char *name, uint64_t value),
			 void *arg);

/* ---- small helpers for callers ---- */
/* The Internet checksum and byte order: <tapir/wire.h>. */
/* SipHash-2-4 with a 128-bit key (keyed cookies, as RFC 6528 uses). */
uint64_t tapir_siphash(const uint64_t key[2], const void *data, size_t len);
/* "10.0.0.2/24" -> addr, prefix length; 0 or -1. */
int tapir_parse_cidr(const char *text, uint32_t *addr, unsigned *prefix_len);
int tapir_parse_ipv4(const char *text, uint32_t *addr);
int tapir_parse_mac(const char *text, uint8_t mac[6]);
/* Writes "a.b.c.d" into BUF (at least 16 bytes); returns BUF. */
char *tapir_ipv4_str(uint32_t addr, char *buf);

#ifdef __cplusplus
}
#endif
#endif
