/* daytime-server — an iterative TCP daytime server (RFC 867), UNP fig. 4.11
 * over tapir: socket, bind, listen, then an accept loop that writes the
 * time and closes.
 *
 * It also shows what the listen backlog means.  With --accept-delay-ms the
 * loop sleeps before each accept, so connections pile up in the queue of
 * completed connections; once `backlog` are queued, tapir (like Linux)
 * ignores further SYNs instead of refusing them (no RST, UNP 4.5): the
 * clients' kernels retransmit their SYNs and get in once accepts drain the
 * queue.
 *
 * Run it (as root) in a namespace, and ask with the kernel's tools:
 *
 *   ip netns add lab
 *   ip netns exec lab build/examples/daytime-server --tap tp0 \
 *       --addr 10.0.0.2/24 --peer-addr 10.0.0.1/24 &
 *   ip netns exec lab nc 10.0.0.2 13
 *   ip netns exec lab kill %1; ip netns del lab
 *
 * Options: --port N (13), --backlog N (5), --accept-delay-ms MS (0),
 * --count N (exit after N connections; 0: serve until SIGINT/SIGTERM).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char usage[] =
	"usage: daytime-server --tap NAME --addr A.B.C.D/LEN [--port N] [--backlog N]\n"
	"                      [--accept-delay-ms MS] [--count N] [network options]\n"
	"An iterative TCP daytime server (RFC 867) on tapir.\n"
	"  --port N              port to listen on (default 13)\n"
	"  --backlog N           listen backlog (default 5)\n"
	"  --accept-delay-ms MS  sleep before each accept (shows the backlog filling)\n"
	"  --count N             exit after N connections (default: until SIGINT/SIGTERM)\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, 0, 'p'},
		{"backlog", required_argument, 0, 'b'},
		{"accept-delay-ms", required_argument, 0, 'd'},
		{"count", required_argument, 0, 'c'},
		{0, 0, 0, 0},
	};
	unsigned long port = 13, backlog = 5, delay_ms = 0, count = 0, served = 0;
	struct sockaddr_in servaddr, cliaddr;
	struct tapir_net *net;
	int listenfd, connfd, c;

	ex_init("daytime-server", usage);
	while ((c = ex_getopt(argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'p': port = ex_number("--port", optarg, 1, 65535); break;
		case 'b': backlog = ex_number("--backlog", optarg, 1, 1024); break;
		case 'd': delay_ms = ex_number("--accept-delay-ms", optarg, 0, 3600000); break;
		case 'c': count = ex_number("--count", optarg, 0, 1000000); break;
		}
	}
	if (optind < argc)
		ex_usage_error("unexpected argument '%s'", argv[optind]);
	net = ex_net_start();

	listenfd = tapir_socket(net, AF_INET, SOCK_STREAM, 0);
	if (listenfd < 0)
		ex_fail("socket: %s", strerror(errno));
	memset(&servaddr, 0, sizeof(servaddr));
	servaddr.sin_family = AF_INET;
	servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
	servaddr.sin_port = htons((uint16_t)port);
	if (tapir_bind(net, listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) < 0)
		ex_fail("bind port %lu: %s", port, strerror(errno));
	if (tapir_listen(net, listenfd, (int)backlog) < 0)
		ex_fail("listen: %s", strerror(errno));
	ex_close_on_signal(listenfd); /* SIGTERM ends the accept below with EBADF */
	printf("listening on port %lu, backlog %lu, accept delay %lu ms\n", port, backlog,
	       delay_ms);

	while (count == 0 || served < count) {
		socklen_t len = sizeof(cliaddr);
		char buff[64], who[INET_ADDRSTRLEN];
		time_t ticks;

		if (delay_ms) { /* a busy server: the backlog fills meanwhile */
			struct timespec ts = {.tv_sec = (time_t)(delay_ms / 1000),
					      .tv_nsec = (long)(delay_ms % 1000) * 1000000};
			nanosleep(&ts, NULL);
		}
		connfd = tapir_accept(net, listenfd, (struct sockaddr *)&cliaddr, &len);
		if (connfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) /* UNP 5.11 */
				continue;
			if (errno == EBADF) /* our signal thread closed the listener */
				break;
			ex_fail("accept: %s", strerror(errno));
		}
		served++;
		printf("connection from %s, port %u\n",
		       inet_ntop(AF_INET, &cliaddr.sin_addr, who, sizeof(who)),
		       ntohs(cliaddr.sin_port));

		ticks = time(NULL);
		snprintf(buff, sizeof(buff), "%.24s\r\n", ctime(&ticks));
		if (ex_writen(net, connfd, buff, strlen(buff)) < 0)
			fprintf(stderr, "tapir: daytime-server: write: %s\n", strerror(errno));
		tapir_close(net, connfd);
	}
	if (count && served == count) {
		ex_close_on_signal(-1); /* ours to close now, not the signal thread's */
		tapir_close(net, listenfd);
	}
	printf("served %lu connection%s\n", served, served == 1 ? "" : "s");
	ex_net_stop(net);
	return 0;
}
