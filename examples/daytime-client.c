/* daytime-client — a TCP daytime client, UNP fig. 1.5 over tapir: socket,
 * connect, read until the server closes, print what came.
 *
 * It shows the errors a connect can end with (UNP 4.3), each printed with
 * its errno name and exit status 1:
 *   ECONNREFUSED  the host answered RST: nothing listens on the port
 *   ETIMEDOUT     no answer to the SYN and its retransmissions (--syn-retries)
 *   EHOSTUNREACH  ARP got no answer for an address on our subnet, or ICMP
 *                 host unreachable
 *   ENETUNREACH   no route to the address
 *
 * Run it (as root) in a namespace against a kernel daytime server:
 *
 *   ip netns add lab
 *   ip netns exec lab socat TCP-LISTEN:13,fork,reuseaddr SYSTEM:date &
 *   ip netns exec lab build/examples/daytime-client --tap tp0 \
 *       --addr 10.0.0.2/24 --peer-addr 10.0.0.1/24 10.0.0.1
 *   ip netns exec lab build/examples/daytime-client --tap tp0 \
 *       --addr 10.0.0.2/24 --peer-addr 10.0.0.1/24 --port 14 10.0.0.1
 *   tapir: daytime-client: connect to 10.0.0.1 port 14: ECONNREFUSED (Connection refused)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define MAXLINE 4096

static const char usage[] =
	"usage: daytime-client --tap NAME --addr A.B.C.D/LEN [--port N] [network options] HOST\n"
	"Connects to HOST's daytime port (RFC 867) and prints what it sends.\n"
	"  --port N   the server's port (default 13)\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"port", required_argument, 0, 'p'}, {0, 0, 0, 0}};
	unsigned long port = 13;
	struct sockaddr_in servaddr;
	struct tapir_net *net;
	char recvline[MAXLINE + 1];
	ssize_t n;
	int sockfd;

	ex_init("daytime-client", usage);
	while (ex_getopt(argc, argv, "", opts) == 'p')
		port = ex_number("--port", optarg, 1, 65535);
	if (optind != argc - 1)
		ex_usage_error("one HOST (an IPv4 address) is required (try --help)");
	ex_sockaddr(&servaddr, argv[optind], (uint16_t)port);
	net = ex_net_start();

	sockfd = ex_connect(net, &servaddr); /* socket, connect (UNP 4.3: its errors) */
	while ((n = tapir_read(net, sockfd, recvline, MAXLINE)) > 0) {
		recvline[n] = 0;
		fputs(recvline, stdout);
	}
	if (n < 0) {
		int e = errno;
		ex_fail("read: %s (%s)", ex_errname(e), strerror(e));
	}
	tapir_close(net, sockfd);
	ex_net_stop(net);
	return 0;
}
