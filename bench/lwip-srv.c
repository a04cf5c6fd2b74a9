/* lwip-srv — lwIP 2.1.3 (Debian's liblwip-dev, as built: NO_SYS=0, core
 * locking, MEM_LIBC_MALLOC + MEMP_MEM_MALLOC, TCP_MSS 1460, TCP_WND 65535
 * with window scaling) on its raw API over a TAP device.
 *
 * The TAP netif is our own, not lwIP's tapif port: Debian's tapif corrupts
 * its heap on receive under load (pbuf_take past a pool pbuf), so a reader
 * thread of ours hands lwIP one contiguous PBUF_RAM buffer per frame
 * through the netif's input function, tcpip_input; output writes each
 * frame (copied flat when chained) to the fd from the tcpip thread.
 *
 *   lwip-srv TAP ADDR MASK        (the TAP exists; the kernel's side is set)
 *
 * Services as in ksrv.c: 7 echo, 9 discard, 19 source, all in the tcpip
 * thread's callbacks.  SIGTERM/SIGINT end it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common.h"

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"

enum kind { ECHO, DISCARD, SOURCE };

static int tapfd;
static struct netif nif;
static sem_t ready;
static uint8_t src[16384];
static uint8_t txbuf[65536];


static err_t tap_output(struct netif *n, struct pbuf *p)
{
	(void)n;
	if (p->next == NULL) {
		if (write(tapfd, p->payload, p->len) < 0)
			return ERR_IF;
	} else {
		u16_t len = pbuf_copy_partial(p, txbuf, 65535, 0);
		if (write(tapfd, txbuf, len) < 0)
			return ERR_IF;
	}
	return ERR_OK;
}

static err_t tap_netif_init(struct netif *n)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)getpid();
	n->name[0] = 't';
	n->name[1] = 'p';
	n->output = etharp_output;
	n->linkoutput = tap_output;
	n->mtu = 1500;
	n->hwaddr_len = 6;
	for (int i = 0; i < 6; i++)
		n->hwaddr[i] = (u8_t)(r >> (8 * i));
	n->hwaddr[0] = (u8_t)((n->hwaddr[0] & 0xfc) | 0x02);
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
		   NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

/* ---- the services, in the tcpip thread ---- */

static void source_fill(struct tcp_pcb *pcb)
{
	for (int i = 0; i < 64; i++) {
		u16_t room = tcp_sndbuf(pcb);
		if (room < 1460 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 4)
			break;
		if (room > sizeof(src))
			room = sizeof(src);
		if (tcp_write(pcb, src, room, 0) != ERR_OK) /* static data: no copy */
			break;
	}
	tcp_output(pcb);
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)len;
	if ((enum kind)(intptr_t)arg == SOURCE)
		source_fill(pcb);
	return ERR_OK;
}

static void conn_close(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	enum kind k = (enum kind)(intptr_t)arg;
	if (p == NULL || err != ERR_OK) {
		if (p)
			pbuf_free(p);
		conn_close(pcb);
		return ERR_OK;
	}
	if (k == ECHO) {
		/* no room: refuse it, lwIP hands it to us again later */
		if (tcp_sndbuf(pcb) < p->tot_len || tcp_sndqueuelen(pcb) + pbuf_clen(p) + 2 >
								TCP_SND_QUEUELEN)
			return ERR_MEM;
		for (struct pbuf *q = p; q; q = q->next)
			if (tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK)
				break;
		tcp_output(pcb);
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	(void)arg;
	(void)err; /* the pcb is already freed */
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	tcp_arg(pcb, arg);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
	if ((enum kind)(intptr_t)arg == SOURCE)
		source_fill(pcb);
	return ERR_OK;
}

static void stack_up(void *arg)
{
	(void)arg;
	sem_post(&ready);
}

/* ---- the reader thread: frames from the TAP into lwIP ---- */
static void *reader(void *arg)
{
	static uint8_t frame[65536];
	(void)arg;
	while (!bench_stop) {
		ssize_t n = bench_tap_read(tapfd, frame, sizeof(frame));
		struct pbuf *p;
		if (n < 14 || !(p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM)))
			continue;
		memcpy(p->payload, frame, (size_t)n);
		if (nif.input(p, &nif) != ERR_OK)
			pbuf_free(p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	ip4_addr_t addr, mask, gw;
	pthread_t th;
	if (argc != 4 || !ip4addr_aton(argv[2], &addr) || !ip4addr_aton(argv[3], &mask)) {
		fprintf(stderr, "usage: lwip-srv TAP ADDR MASK\n");
		return 2;
	}
	bench_catch_signals();
	memset(src, 'x', sizeof(src));
	tapfd = bench_tap_open("lwip-srv", argv[1]);
	sem_init(&ready, 0, 0);
	tcpip_init(stack_up, NULL);
	sem_wait(&ready);

	ip4_addr_set_zero(&gw);
	LOCK_TCPIP_CORE();
	netif_add(&nif, &addr, &mask, &gw, NULL, tap_netif_init, tcpip_input);
	netif_set_default(&nif);
	netif_set_up(&nif);
	for (int k = 0; k < 3; k++) {
		static const u16_t ports[] = {7, 9, 19};
		struct tcp_pcb *l = tcp_new(), *ll;
		if (!l || tcp_bind(l, IP4_ADDR_ANY, ports[k]) != ERR_OK ||
		    !(ll = tcp_listen_with_backlog(l, 255))) {
			fprintf(stderr, "lwip-srv: cannot listen on %u\n", ports[k]);
			return 1;
		}
		tcp_arg(ll, (void *)(intptr_t)k);
		tcp_accept(ll, on_accept);
	}
	UNLOCK_TCPIP_CORE();
	if (pthread_create(&th, NULL, reader, NULL)) {
		fprintf(stderr, "lwip-srv: pthread_create\n");
		return 1;
	}
	printf("ready lwip=%s mss=%d wnd=%d\n", LWIP_VERSION_STRING, TCP_MSS, TCP_WND);
	fflush(stdout);
	pthread_join(th, NULL);
	return 0;
}
