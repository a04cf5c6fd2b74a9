/* fetch — an HTTP/1.1 GET over tapir (RFC 9112): connect, send one request
 * with "Connection: close", read the header block, then exactly
 * Content-Length bytes of body, and check that the server then closes.
 * A short body (the connection ended early) or a longer one is an error,
 * so a truncated download never passes for a good one.
 *
 * Run it (as root) in a namespace against a kernel web server:
 *
 *   ip netns add lab
 *   ip netns exec lab python3 -m http.server --directory /usr/share/doc 8080 &
 *   ip netns exec lab build/examples/fetch --tap tp0 --addr 10.0.0.2/24 \
 *       --peer-addr 10.0.0.1/24 -o /tmp/copyright http://10.0.0.1:8080/bash/copyright
 *   fetch: 200 OK, 9764 bytes in 0.061 s (0.2 MB/s)
 *
 * Only http://A.B.C.D[:PORT]/PATH URLs (no names, no TLS, no chunked bodies).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common.h"

#define HEAD_MAX 16384

static const char usage[] =
	"usage: fetch --tap NAME --addr A.B.C.D/LEN [-o FILE] [network options] URL\n"
	"Downloads URL (http://A.B.C.D[:PORT]/PATH) with an HTTP/1.1 GET.\n"
	"  -o, --output FILE   write the body to FILE (default: stdout)\n";

/* http://A.B.C.D[:PORT][/PATH] -> HOST (the authority, for Host:), the
 * address, PATH. */
static void parse_url(const char *url, char *authority, size_t alen, struct sockaddr_in *sin,
		      const char **path)
{
	const char *p = url + 7, *slash, *colon;
	char addr[64];
	unsigned long port = 80;
	size_t hlen;

	if (strncasecmp(url, "http://", 7))
		ex_usage_error("'%s': only http:// URLs are supported", url);
	slash = strchr(p, '/');
	hlen = slash ? (size_t)(slash - p) : strlen(p);
	if (hlen == 0 || hlen >= alen || hlen >= sizeof(addr))
		ex_usage_error("'%s': no host in the URL", url);
	memcpy(authority, p, hlen);
	authority[hlen] = 0;
	memcpy(addr, p, hlen);
	addr[hlen] = 0;
	if ((colon = strchr(addr, ':')) != NULL) {
		port = ex_number("URL port", colon + 1, 1, 65535);
		addr[colon - addr] = 0;
	}
	ex_sockaddr(sin, addr, (uint16_t)port);
	*path = slash ? slash : "/";
}

/* The value of header NAME in the block HEAD (NUL-terminated), or NULL. */
static const char *header(const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') {
			const char *v = l + 3 + n;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
	static char head[HEAD_MAX + 1], buf[65536];
	const char *out_path = NULL, *path, *v, *url;
	char authority[256], req[4608], *end, *eol;
	struct sockaddr_in servaddr;
	struct tapir_net *net;
	size_t have = 0, body0;
	long long length = -1, got;
	int sockfd, code, n;
	double t_start, secs;
	FILE *out;

	ex_init("fetch", usage);
	while (ex_getopt(argc, argv, "o:", opts) == 'o')
		out_path = optarg;
	if (optind != argc - 1)
		ex_usage_error("one URL is required (try --help)");
	url = argv[optind];
	parse_url(url, authority, sizeof(authority), &servaddr, &path);
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tapir-fetch/%s\r\n"
		     "Accept: */*\r\nConnection: close\r\n\r\n",
		     path, authority, TAPIR_VERSION);
	if (n < 0 || (size_t)n >= sizeof(req))
		ex_usage_error("the URL is too long");
	out = out_path ? fopen(out_path, "wb") : stdout;
	if (!out)
		ex_usage_error("-o %s: %s", out_path, strerror(errno));
	net = ex_net_start();
	t_start = now_s();

	sockfd = ex_connect(net, &servaddr);
	if (ex_writen(net, sockfd, req, (size_t)n) < 0)
		ex_fail("write: %s (%s)", ex_errname(errno), strerror(errno));

	/* the header block: up to the empty line */
	for (;;) {
		ssize_t r;
		head[have] = 0;
		if ((end = strstr(head, "\r\n\r\n")) != NULL)
			break;
		if (have == HEAD_MAX)
			ex_fail("the response's header block is longer than %d bytes", HEAD_MAX);
		r = tapir_recv(net, sockfd, head + have, HEAD_MAX - have, 0);
		if (r < 0)
			ex_fail("read: %s (%s)", ex_errname(errno), strerror(errno));
		if (r == 0)
			ex_fail("the server closed the connection before the end of the headers");
		have += (size_t)r;
	}
	body0 = (size_t)(end + 4 - head);
	end[2] = 0; /* keep the last header's "\r\n" for header() */
	if (sscanf(head, "HTTP/1.%*1[01] %3d", &code) != 1)
		ex_fail("not an HTTP/1.x response: '%.40s'", head);
	eol = strstr(head, "\r\n");
	if (code != 200)
		ex_fail("%s: %.*s", url, (int)(eol - head), head);
	if ((v = header(head, "Transfer-Encoding")) != NULL)
		ex_fail("Transfer-Encoding '%.*s' is not supported", (int)strcspn(v, "\r"), v);
	if ((v = header(head, "Content-Length")) != NULL) {
		char *e;
		length = strtoll(v, &e, 10);
		if (e == v || length < 0 || (*e != '\r' && *e != ' '))
			ex_fail("bad Content-Length '%.*s'", (int)strcspn(v, "\r"), v);
	}

	/* the body: Content-Length bytes, or up to the close when there is none */
	got = (long long)(have - body0);
	if (length >= 0 && got > length)
		ex_fail("%lld bytes of body after the headers, more than Content-Length %lld", got,
			length);
	fwrite(head + body0, 1, (size_t)got, out);
	while (length < 0 || got < length) {
		size_t want = sizeof(buf);
		ssize_t r;
		if (length >= 0 && (long long)want > length - got)
			want = (size_t)(length - got);
		r = tapir_recv(net, sockfd, buf, want, 0);
		if (r < 0)
			ex_fail("read after %lld bytes: %s (%s)", got, ex_errname(errno),
				strerror(errno));
		if (r == 0)
			break;
		if (fwrite(buf, 1, (size_t)r, out) != (size_t)r)
			ex_fail("write: %s", strerror(errno));
		got += r;
	}
	if (length >= 0 && got < length)
		ex_fail("the connection closed after %lld of %lld bytes (Content-Length)", got, length);
	if (length >= 0) { /* "Connection: close": the server's FIN comes next */
		ssize_t r = tapir_recv(net, sockfd, buf, sizeof(buf), 0);
		if (r > 0)
			ex_fail("more body than Content-Length %lld", length);
	}
	if (fflush(out) || (out_path && fclose(out)))
		ex_fail("%s: %s", out_path ? out_path : "stdout", strerror(errno));
	secs = now_s() - t_start;
	fprintf(stderr, "fetch: %.*s, %lld bytes in %.3f s (%.1f MB/s)\n",
		(int)(eol - head - 9), head + 9, got, secs, secs > 0 ? (double)got / secs / 1e6 : 0.0);
	tapir_close(net, sockfd);
	ex_net_stop(net);
	return 0;
}
