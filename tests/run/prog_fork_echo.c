/*
 * A fork-per-client echo server as in Unix Network Programming (5.2): the
 * parent closes each accepted socket at once, the child echoes until EOF
 * and closes.  The FIN must leave only at the child's close, the last one
 * (UNP 4.8).  A child echoes until the client half-closes, then holds
 * the connection HOLD_MS more before its close, so a capture tells the
 * parent's close (no FIN) from the child's (the FIN).
 *   prog_fork_echo PORT HOLD_MS NCLIENTS
 * Prints "listening" once it accepts, and exits after NCLIENTS children.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void echo(int fd, long hold_ms)
{
	char buf[4096];
	ssize_t n;
	struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000};
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	nanosleep(&ts, NULL); /* the parent closed long ago: still no FIN */
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int l, one = 1, n, status, rc = 0;
	if (argc != 4) {
		fprintf(stderr, "usage: prog_fork_echo PORT HOLD_MS NCLIENTS\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	n = atoi(argv[3]);
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 16) < 0) {
		perror("prog_fork_echo: listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				i--;
			continue;
		}
		pid_t p = fork();
		if (p == 0) {
			close(l);
			echo(c, atol(argv[2]));
			_exit(0);
		}
		close(c); /* the parent's descriptor: no FIN yet, the child has one */
	}
	close(l);
	for (int i = 0; i < n; i++)
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = 1;
	return rc;
}
