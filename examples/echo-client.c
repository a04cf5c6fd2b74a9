/* echo-client — a TCP echo client, UNP's str_cli (fig. 5.5) over tapir:
 * each line read from stdin goes to the server, and as many bytes as were
 * sent are read back and written to stdout.  At the end of stdin it half-
 * closes (shutdown SHUT_WR, UNP 6.6) and waits for the server's FIN, so
 * nothing the server still sends is lost.
 *
 * Run it (as root) in a namespace against a kernel echo server:
 *
 *   ip netns add lab
 *   ip netns exec lab socat TCP-LISTEN:7777,fork,reuseaddr EXEC:cat &
 *   printf 'hello\nworld\n' | ip netns exec lab build/examples/echo-client \
 *       --tap tp0 --addr 10.0.0.2/24 --peer-addr 10.0.0.1/24 10.0.0.1 7777
 *   hello
 *   world
 */
#define _GNU_SOURCE /* getline */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage[] =
	"usage: echo-client --tap NAME --addr A.B.C.D/LEN [network options] HOST [PORT]\n"
	"Sends stdin to HOST's echo server (PORT, default 7) line by line and\n"
	"prints what comes back.\n";

/* Reads exactly LEN bytes (UNP's readn): the echo of what was sent. */
static ssize_t readn(struct tapir_net *net, int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = tapir_recv(net, fd, buf + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break; /* the server closed early */
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void str_cli(struct tapir_net *net, FILE *fp, int sockfd)
{
	char *line = NULL, *back = NULL, tail[4096];
	size_t cap = 0, backcap = 0;
	ssize_t n, got;

	while ((n = getline(&line, &cap, fp)) > 0) {
		if ((size_t)n > backcap && !(back = realloc(back, backcap = (size_t)n)))
			ex_fail("out of memory");
		if (ex_writen(net, sockfd, line, (size_t)n) < 0)
			ex_fail("write: %s (%s)", ex_errname(errno), strerror(errno));
		if ((got = readn(net, sockfd, back, (size_t)n)) < 0)
			ex_fail("read: %s (%s)", ex_errname(errno), strerror(errno));
		if (got < n)
			ex_fail("str_cli: server terminated prematurely");
		fwrite(back, 1, (size_t)got, stdout);
		fflush(stdout);
	}
	/* no more to send; whatever else arrives is still the server's */
	if (tapir_shutdown(net, sockfd, SHUT_WR) < 0)
		ex_fail("shutdown: %s", strerror(errno));
	while ((got = tapir_recv(net, sockfd, tail, sizeof(tail), 0)) > 0)
		fwrite(tail, 1, (size_t)got, stdout);
	if (got < 0)
		ex_fail("read: %s (%s)", ex_errname(errno), strerror(errno));
	free(line);
	free(back);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{0, 0, 0, 0}}; /* the common ones only */
	unsigned long port = 7;
	struct sockaddr_in servaddr;
	struct tapir_net *net;
	int sockfd;

	ex_init("echo-client", usage);
	ex_getopt(argc, argv, "", opts);
	if (optind == argc || argc - optind > 2)
		ex_usage_error("HOST [PORT] expected (try --help)");
	if (argc - optind == 2)
		port = ex_number("PORT", argv[optind + 1], 1, 65535);
	ex_sockaddr(&servaddr, argv[optind], (uint16_t)port);
	net = ex_net_start();

	sockfd = ex_connect(net, &servaddr);
	str_cli(net, stdin, sockfd);
	tapir_close(net, sockfd);
	ex_net_stop(net);
	return 0;
}
