/*
 * tapir — OS profiles: where Linux, FreeBSD and the RFCs legitimately
 * differ, each choice is one named field, and each profile is one table of
 * them (core/profile.c; docs/profiles.md gives the source of every figure).
 * A profile is a stack option: tapir_config_profile() copies its table into
 * struct tapir_config (the fields below, and the general TCP tunables it
 * fixes: buffers, initial window, RTOs, SYN retries, delayed ACK), after
 * which each field may still be changed on its own (tapir drill does so for
 * a script's sysctl lines).
 */
#ifndef TAPIR_PROFILE_H
#define TAPIR_PROFILE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum tapir_profile_id { TAPIR_PROFILE_RFC, TAPIR_PROFILE_LINUX, TAPIR_PROFILE_FREEBSD,
			TAPIR_PROFILE_COUNT };

/* How a stack behaves where the RFCs leave a choice (or where a system
 * chose otherwise).  0 in every flag is the RFC behaviour. */
struct tapir_profile {
	uint8_t id;                  /* enum tapir_profile_id */
	/* RFC 793 3.9 instead of RFC 5961 4.2: an in-window SYN in a
	 * synchronized state is answered with RST and ends the connection
	 * (FreeBSD net.inet.tcp.insecure_syn) */
	uint8_t insecure_syn;
	/* RFC 793 3.9 instead of RFC 5961 3.2: any in-window RST resets, not
	 * only one at RCV.NXT (FreeBSD net.inet.tcp.insecure_rst) */
	uint8_t insecure_rst;
	/* the receive buffer rounds up to whole segments once the MSS is
	 * known, and all of its free space is the acceptable window, even
	 * past the 65535 an unscaled window field offers (FreeBSD
	 * tcp_mss_update, tcp_input's rcv_wnd: 65536 -> 65700 for MSS 1460) */
	uint8_t rcvbuf_mss;
	/* a SYN,ACK to a listener is dropped silently (FreeBSD tcp_input);
	 * RFC 9293 3.10.7.2 answers an ACK in LISTEN with <SEQ=SEG.ACK><CTL=RST> */
	uint8_t listen_synack_drop;
	/* TCP options in FreeBSD's order and padding (tcp_addoptions: MSS,
	 * NOP+window scale, SACK-permitted, timestamps, EOL padding); 0:
	 * Linux's (MSS, SACK-permitted+timestamps, NOP+window scale) */
	uint8_t options_bsd;
	/* a SYN with FIN is dropped (FreeBSD net.inet.tcp.drop_synfin) */
	uint8_t drop_synfin;
	/* ICMP errors may end a connection (RFC 1122 4.2.3.9 hard errors;
	 * FreeBSD net.inet.tcp.icmp_may_rst): 1 */
	uint8_t icmp_may_rst;
	/* destination unreachable codes 9, 10, 13 (prohibited, RFC 1812
	 * 5.2.7.1) and time exceeded end a connect, as FreeBSD's
	 * tcp_ctlinput does (prohibited and protocol unreachable with
	 * ECONNREFUSED); RFC 1122 4.2.3.9 makes them soft */
	uint8_t icmp_bsd_hard;
	/* while our FIN is unacknowledged every segment carries it again
	 * (FreeBSD tcp_output: the ACK of a simultaneous close repeats the
	 * FIN); RFC 9293 3.10.7.4 eighth asks only <SEQ=SND.NXT><ACK=RCV.NXT> */
	uint8_t fin_on_ack;
	/* a RST in CLOSING or LAST-ACK is reported as ECONNRESET (FreeBSD);
	 * RFC 9293 3.10.7.4 second just closes */
	uint8_t rst_closing_reset;
	/* TIME-WAIT as FreeBSD's tcp_twcheck: RSTs and segments without ACK
	 * are dropped silently, anything but an exact duplicate ACK is ACKed;
	 * RFC 9293 3.10.7.4 runs its usual steps */
	uint8_t tw_ack_segments;
	/* a segment all of whose text and FIN lie below RCV.NXT (the peer's
	 * FIN again) is trimmed to nothing and its ACK still taken, so a
	 * simultaneous close whose peer resends its FIN with the ACK of ours
	 * reaches TIME-WAIT (FreeBSD tcp_input's todrop); RFC 9293 3.10.7.4
	 * first ACKs and drops it whole, and we stay in CLOSING */
	uint8_t old_fin_ack;
	/* towards an IPv6 peer, the MSS option offers the learned path
	 * MTU's MSS (FreeBSD tcp_mssopt reads the route's MTU, which
	 * ICMPv6 packet too big lowers; an IPv4 frag-needed lowers only
	 * TCP's host cache, and its SYNs keep the interface's);
	 * 0: the first hop's, as RFC 1191 6.4 and RFC 6691 ask (the MSS
	 * option says what we can receive, not what the path carries) */
	uint8_t mss_opt_pmtu6;
	/* quick-ack mode (Linux tcp_input.c): at a connection's start and
	 * after the receiver was idle for an RTO, in-order data is ACKed at
	 * once for rcv_wnd / (2 * MSS) segments (2 to 16) instead of delayed;
	 * RFC 9293 3.8.6.3 and RFC 1122 4.2.3.2 make delaying a SHOULD */
	uint8_t quickack;
	/* loss recovery on SACK connections (core/tcp_rack.c): RACK's
	 * time-based loss detection instead of RFC 6675's DupAck threshold
	 * (RFC 8985 6), Tail Loss Probes (RFC 8985 7; only with rack), and
	 * Proportional Rate Reduction in recovery (RFC 6937); Linux
	 * net.ipv4.tcp_recovery, tcp_early_retrans, tcp_input.c's PRR */
	uint8_t rack, tlp, prr;
	/* keepalive defaults (RFC 1122 4.2.3.6: idle at least 2 hours) */
	uint32_t keepidle_s, keepintvl_s, keepcnt;
	/* with TCP_USER_TIMEOUT set, keepalive gives up by time, not by
	 * KEEPCNT: at a probe's time, once a probe went unanswered and the
	 * time since the last segment received has reached the user timeout
	 * (Linux tcp(7): the user timeout "will override keepalive");
	 * 0: KEEPCNT alone (RFC 1122 4.2.3.6), the user timeout bounding only
	 * unacknowledged data (RFC 5482 1) */
	uint8_t uto_keepalive;
	/* the window scale offered covers this many bytes (the largest
	 * buffer a socket may get), 0: the socket's own receive buffer
	 * (RFC 7323 2.3 leaves it to the implementation) */
	uint32_t wscale_bufmax;
	/* the general TCP tunables of struct tapir_config the profile fixes */
	uint32_t rcvbuf, sndbuf;     /* default socket buffers, bytes */
	uint32_t initial_window;     /* segments (RFC 3390 / RFC 6928) */
	uint64_t rto_initial_us;     /* RFC 6298 2.1 */
	uint64_t rto_min_us;         /* RFC 6298 2.4 */
	/* added to every backed-off RTO (FreeBSD net.inet.tcp.rexmit_slop:
	 * its SYNs go at +1 s, +2.2 s, +4.2 s); RFC 6298 5.5 only doubles */
	uint64_t rto_slop_us;
	uint32_t syn_retries;        /* SYNs resent before ETIMEDOUT */
	uint64_t delack_us;          /* RFC 1122 4.2.3.2 (< 500 ms) */
	/* TCP Fast Open (RFC 7413) allowed: 1 client, 2 server (per socket
	 * still: TAPIR_TCP_FASTOPEN_CONNECT, TAPIR_TCP_FASTOPEN), as Linux's
	 * net.ipv4.tcp_fastopen bits; 4: every listener without the option,
	 * its backlog as the bound (Linux's 0x400) */
	uint8_t fastopen;
	/* FreeBSD's connect limit (net.inet.tcp.keepinit), seconds, and its
	 * TCP_KEEPINIT and TCP_NOOPT socket options; 0: neither, the SYN
	 * retries alone limit a connect (RFC 9293 3.8.3's R2 for SYNs) */
	uint32_t keepinit_s;
};

/* The table of profile ID (NULL past the last). */
const struct tapir_profile *tapir_profile_get(enum tapir_profile_id id);
/* "rfc", "linux", "freebsd" -> id; -1 for an unknown name. */
int tapir_profile_by_name(const char *name);
const char *tapir_profile_name(enum tapir_profile_id id);
/* The running stack's profile (struct tapir_config's copy).  Its flags and
 * keepalive figures may be changed between calls: they are read where
 * they apply (keepalive: when a socket is made); the tunables it shares
 * with struct tapir_config are read from there, fixed at tapir_stack_new. */
struct tapir_stack;
struct tapir_profile *tapir_stack_profile(struct tapir_stack *s);

#ifdef __cplusplus
}
#endif
#endif
