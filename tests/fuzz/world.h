/* The fuzz harnesses' common ground: a small tapir stack ("us", 10.0.0.2)
 * on a capturing link, with a scripted peer (10.0.0.1) that has already
 * resolved ARP and, on request, opened live TCP connections and UDP
 * sockets, so that fuzzed input reaches deep state and not only the
 * first validity checks.
 *
 * Everything is deterministic (seed 1, simulated time), so a crashing
 * input replays the same way; the corpus generator (gen_corpus.c) builds
 * its seeds against this same world and reads sequence numbers from it.
 *
 * world_finish() is the common teardown: it closes every socket, runs the
 * timers until the stack is idle and checks the invariants every harness
 * shares (each received frame counted once; no TCP socket, TCP buffer
 * byte, packet buffer or reassembly byte left over).  A failed check
 * aborts, which libFuzzer reports as a crash. */
#ifndef TAPIR_FUZZ_WORLD_H
#define TAPIR_FUZZ_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tapir/dhcp.h>
#include <tapir/hook.h>
#include <tapir/link.h>
#include <tapir/stack.h>
#include <tapir/tcp.h>
#include <tapir/udp.h>

#define W_US 0x0a000002u   /* 10.0.0.2: the stack under test */
#define W_PEER 0x0a000001u /* 10.0.0.1: the scripted peer (and gateway) */
#define W_OTHER 0x0a000007u /* 10.0.0.7: on the subnet, never answers ARP */

/* well-known ports of the world */
#define W_LISTEN_PORT 80     /* the listener */
#define W_PASSIVE_PPORT 40000 /* peer's port of the accepted connection */
#define W_ACTIVE_LPORT 40001 /* our port of the connection we opened */
#define W_ACTIVE_PPORT 22    /* ... to this peer port */
#define W_UDP_PORT 53        /* a bound UDP socket */
#define W_UDPC_LPORT 5000    /* a connected UDP socket ... */
#define W_UDPC_PPORT 5353    /* ... to this peer port */
#define W_PASSIVE_PISS 1000u /* the peer's ISS on the accepted connection */
#define W_ACTIVE_PISS 5000u  /* the peer's ISS on the connection we opened */

enum {
	W_TCP = 1u << 0, /* listener + one accepted + one active connection */
	W_UDP = 1u << 1, /* a bound and a connected UDP socket */
	W_ARP_PENDING = 1u << 2, /* a datagram waiting for ARP of W_OTHER */
	W_DHCP = 1u << 3, /* no IPv4 address: the DHCP client runs instead */
};

#define W_MAX_TCP 6   /* user-held TCP sockets (the first two: srv, cli) */
#define W_CAP_FRAMES 8 /* the last frames the stack sent */

struct world {
	struct tapir_stack *s;
	struct tapir_link link;
	tapir_time_t now;
	uint8_t last_tx[W_CAP_FRAMES][1600];
	size_t last_tx_len[W_CAP_FRAMES];
	unsigned ntx; /* frames sent so far; the newest is last_tx[(ntx-1)%W_CAP_FRAMES] */
	struct tapir_tcp *lis;
	struct tapir_tcp *tcp[W_MAX_TCP]; /* [0] accepted (srv), [1] active (cli) */
	struct tapir_udp *ubound, *uconn;
	uint32_t peer_ts;  /* the peer's timestamp clock (TSval it sends) */
	bool no_read;      /* the application stops reading (its windows fill) */
	bool setup_ok;
};

extern const uint8_t w_mac_us[6], w_mac_peer[6];
/* IPv6: the stack's fd00::2/64 (no DAD in the fuzz configuration, so
 * usable at once) and the peer's fd00::1 and fe80::1 */
extern const uint8_t w_us6[16], w_peer6[16], w_peer_ll[16];

/* The stack's configuration for fuzzing: small pools and tables, so that
 * exhaustion paths are reachable, and short timers, so that teardown is
 * quick. */
void world_config(struct tapir_config *cfg);
/* Reports a broken invariant and aborts (a crash to libFuzzer). */
void world_fail(const char *what) __attribute__((noreturn));

/* Builds the world; FLAGS are W_*.  Aborts if the setup fails (that is a
 * bug in the harness or the core, never the input's doing). */
void world_init(struct world *w, unsigned flags);
/* Closes everything (GRACEFUL: close, else abort), runs the timers until
 * idle, checks the invariants, frees the stack. */
void world_finish(struct world *w, bool graceful);

/* Hands a frame to the stack at w->now, then lets the application act. */
void world_input(struct world *w, uint8_t *frame, size_t len);
/* Advances time by DT, running every timer that falls due on the way. */
void world_advance(struct world *w, tapir_time_t dt);
/* The application's turn: accept queued connections, read what is readable. */
void world_app(struct world *w);

/* ---- frames from the peer ---- */
/* Writes an Ethernet header (peer -> us, TYPE) at F; returns 14. */
size_t w_eth(uint8_t *f, uint16_t type);
/* Writes a 20-byte IPv4 header at IP (checksum included). */
void w_ip(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, size_t payload,
	  uint16_t id, uint16_t frag);
/* A frame peer -> us: the Ethernet header, then w_ip's header (SRC, DST,
 * PROTO, ID, FRAG) for PAYLOAD bytes, room for them after it; malloc'd
 * (aborts when out of memory), its length in *N. */
uint8_t *w_ip_frame_new(uint32_t src, uint32_t dst, uint8_t proto, size_t payload, uint16_t id,
			uint16_t frag, size_t *n);
/* The same for IPv6 (RFC 8200 3): the Ethernet header, then a 40-byte
 * header SRC -> DST (next header NH, hop limit HLIM, payload length
 * PAYLOAD, truncated to 16 bits), room for PAYLOAD bytes after it. */
uint8_t *w_ip6_frame_new(const uint8_t *src, const uint8_t *dst, uint8_t nh, uint8_t hlim,
			 size_t payload, size_t *n);
/* A harness's last step: hands F (from w_ip_frame_new; its checksums
 * fixed first if FIX) to the stack, frees it, runs DT, then
 * world_finish(GRACEFUL). */
void world_last_frame(struct world *w, uint8_t *f, size_t n, bool fix, tapir_time_t dt,
		      bool graceful);
/* Recomputes the IPv4 header checksum and, for an unfragmented TCP, UDP or
 * ICMP packet that fits, the transport checksum: what a fuzzer cannot
 * find by itself.  Safe on any bytes. */
void w_fix_checksums(uint8_t *ip, size_t len);
/* Builds a TCP segment peer -> us in F (a frame buffer of at least
 * 14+20+60+DLEN); returns the frame length. */
size_t w_tcp_frame(uint8_t *f, uint32_t src, uint16_t sport, uint16_t dport, uint32_t seq,
		   uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opt, size_t optlen,
		   const uint8_t *data, size_t dlen);
/* Builds an ICMP error (TYPE, CODE, 4 bytes REST) peer -> us quoting the
 * first QLEN bytes of the IPv4 packet ORIG; returns the frame length. */
size_t w_icmp_error_frame(uint8_t *f, uint8_t type, uint8_t code, uint32_t rest,
			  const uint8_t *orig, size_t qlen);

/* Our socket's sequence state, for segments relative to it. */
void w_tcp_seqs(struct world *w, uint16_t lport, uint32_t raddr, uint16_t rport,
		uint32_t *rcv_nxt, uint32_t *snd_una, bool *found);

/* TSval of the newest TCP frame the stack sent, 0 if none. */
uint32_t w_last_tsval(const struct world *w);

/* For an ICMP error to quote: the IP packet of the frame the stack sent
 * BACK frames before its newest, at most MAX bytes of it (*len), or NULL
 * when it has not sent that many. */
const uint8_t *w_sent_ip(const struct world *w, unsigned back, size_t max, size_t *len);

/* A DHCP reply (RFC 2131 2) from the peer as server (W_PEER, its id):
 * TYPE (RFC 2132 9.6) for transaction XID offering YIADDR/24 with the
 * peer as router and a lease of LEASE s, for our MAC; the message's
 * length (at most 300 bytes at M). */
#define W_DHCP_ADDR 0x0a000032u /* 10.0.0.50: what the server offers */
size_t w_dhcp_msg(uint8_t *m, uint8_t type, uint32_t xid, uint32_t yiaddr, uint32_t lease);
/* A frame peer:67 -> DST:68 (DST broadcast: to the broadcast MAC) with
 * the DHCP message M of LEN bytes, into F; its length. */
size_t w_dhcp_frame(uint8_t *f, uint32_t dst, const uint8_t *m, size_t len);

/* Decodes a time byte: 0..31 units of 0, 1 ms, 10 ms, 100 ms, 1 s, 10 s,
 * 60 s, 0. */
tapir_time_t w_time(uint8_t b);

#endif
