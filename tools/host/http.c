/* A small HTTP/1.1 static file server (RFC 9110, RFC 9112) over tapir
 * sockets: GET and HEAD, persistent connections, Content-Length framing,
 * 400/403/404/405/501 answers, and no way out of the served directory. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

#define HEAD_MAX 8192          /* request line + headers */
#define IDLE_SECONDS 30        /* a keep-alive connection may idle this long */

static _Thread_local char chunk[65536];

struct req {
	char buf[HEAD_MAX];
	size_t len, used;      /* bytes held; bytes of the current request */
};

static const char *content_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
		{".txt", "text/plain; charset=utf-8"}, {".css", "text/css"},
		{".js", "text/javascript"},            {".json", "application/json"},
		{".png", "image/png"},                 {".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"},               {".gif", "image/gif"},
		{".svg", "image/svg+xml"},             {".ico", "image/x-icon"},
		{".pdf", "application/pdf"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static bool send_all(struct tapir_net *net, int fd, const void *buf, size_t len)
{
	return tapir_send(net, fd, buf, len, 0) == (ssize_t)len;
}

/* Writes the status line and headers into H; returns their length or 0. */
static size_t format_head(char *h, size_t cap, int code, const char *reason, const char *type,
			  long long length, bool keep, const char *extra)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;
	int n;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm); /* RFC 9110 5.6.7 */
	n = snprintf(h, cap,
		     "HTTP/1.1 %d %s\r\nServer: tapir/%s\r\nDate: %s\r\nContent-Type: %s\r\n"
		     "Content-Length: %lld\r\nConnection: %s\r\n%s\r\n",
		     code, reason, TAPIR_VERSION, date, type, length, keep ? "keep-alive" : "close",
		     extra ? extra : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Header and body leave in one write, so a small answer is one segment
 * and never waits behind Nagle for the client's delayed ACK. */
static bool send_error(struct tapir_net *net, int fd, int code, const char *reason, bool head,
		       bool keep, const char *extra)
{
	char body[256], msg[1024];
	int b = snprintf(body, sizeof(body), "<html><body><h1>%d %s</h1></body></html>\n", code,
			 reason);
	size_t n = format_head(msg, sizeof(msg) - sizeof(body), code, reason,
			       "text/html; charset=utf-8", b, keep, extra);
	if (!n)
		return false;
	if (!head) {
		memcpy(msg + n, body, (size_t)b);
		n += (size_t)b;
	}
	return send_all(net, fd, msg, n);
}

/* Reads until the end of the header block; false on EOF, error or
 * timeout, or a block too large (then *too_big). */
static bool read_head(struct tapir_net *net, int fd, struct req *r, bool *too_big)
{
	*too_big = false;
	memmove(r->buf, r->buf + r->used, r->len - r->used); /* pipelined rest */
	r->len -= r->used;
	r->used = 0;
	for (;;) {
		char *end = r->len >= 4 ? memmem(r->buf, r->len, "\r\n\r\n", 4) : NULL;
		ssize_t n;
		if (end) {
			r->used = (size_t)(end - r->buf) + 4;
			return true;
		}
		if (r->len == sizeof(r->buf) - 1) {
			*too_big = true;
			return false;
		}
		n = tapir_recv(net, fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, 0);
		if (n <= 0)
			return false;
		r->len += (size_t)n;
	}
}

/* Percent-decodes PATH in place; false on a bad escape or a NUL. */
static bool url_decode(char *p)
{
	char *o = p;
	for (; *p; p++) {
		if (*p == '%') {
			int hi, lo;
			if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
				return false;
			hi = isdigit((unsigned char)p[1]) ? p[1] - '0' : (tolower(p[1]) - 'a' + 10);
			lo = isdigit((unsigned char)p[2]) ? p[2] - '0' : (tolower(p[2]) - 'a' + 10);
			if (!(hi | lo))
				return false;
			*o++ = (char)(hi << 4 | lo);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return true;
}

/* A path with no ".." segment stays below the root. */
static bool path_safe(const char *p)
{
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += n + (e ? 1 : 0);
		if (!e)
			break;
	}
	return true;
}

static const char *header(char *head, const char *name)
{
	size_t n = strlen(name);
	for (char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') {
			const char *v = l + 3 + n;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	return NULL;
}

static bool value_is(const char *v, const char *word)
{
	size_t n = strlen(word);
	return v && !strncasecmp(v, word, n) && (v[n] == '\r' || v[n] == ' ' || v[n] == ',');
}

/* Serves one request; false when the connection should close. */
static bool http_one(struct tapir_net *net, int fd, const char *root, struct req *r)
{
	char *head = r->buf, method[16], target[4096], version[16], path[4352];
	const char *v;
	bool keep, is_head;
	struct stat st;
	int file;
	long long left;
	size_t hl;

	head[r->used - 2] = 0; /* keep one "\r\n" to end the last header line */
	if (sscanf(head, "%15s %4095s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) || (version[7] != '0' && version[7] != '1') ||
	    version[8])
		return send_error(net, fd, 400, "Bad Request", false, false, NULL), false;
	/* RFC 9112 9.3: 1.1 persists unless "close"; 1.0 only with keep-alive */
	v = header(head, "Connection");
	keep = version[7] == '1' ? !value_is(v, "close") : value_is(v, "keep-alive");
	is_head = !strcmp(method, "HEAD");
	if ((v = header(head, "Transfer-Encoding")) != NULL)
		return send_error(net, fd, 501, "Not Implemented", is_head, false, NULL), false;
	if ((v = header(head, "Content-Length")) != NULL) {
		/* a body we do not want: skip it to stay in step */
		long long body = atoll(v);
		char skip[4096];
		size_t have = r->len - r->used < (size_t)body ? r->len - r->used : (size_t)body;
		if (body < 0)
			return send_error(net, fd, 400, "Bad Request", is_head, false, NULL), false;
		r->used += have;
		for (body -= (long long)have; body > 0;) {
			ssize_t n = tapir_recv(net, fd, skip,
					       body < (long long)sizeof(skip) ? (size_t)body : sizeof(skip), 0);
			if (n <= 0)
				return false;
			body -= n;
		}
	}
	if (strcmp(method, "GET") && !is_head)
		return send_error(net, fd, 405, "Method Not Allowed", false, keep,
				  "Allow: GET, HEAD\r\n") &&
		       keep;
	target[strcspn(target, "?#")] = 0;
	if (target[0] != '/' || !url_decode(target))
		return send_error(net, fd, 400, "Bad Request", is_head, keep, NULL) && keep;
	if (!path_safe(target))
		return send_error(net, fd, 403, "Forbidden", is_head, keep, NULL) && keep;
	snprintf(path, sizeof(path), "%s%s", root, target);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t n = strlen(path);
		snprintf(path + n, sizeof(path) - n, "%sindex.html", path[n - 1] == '/' ? "" : "/");
	}
	file = open(path, O_RDONLY | O_CLOEXEC);
	if (file < 0 || fstat(file, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		if (file >= 0)
			close(file);
		return (e == EACCES ? send_error(net, fd, 403, "Forbidden", is_head, keep, NULL)
				    : send_error(net, fd, 404, "Not Found", is_head, keep, NULL)) &&
		       keep;
	}
	hl = format_head(chunk, 1024, 200, "OK", content_type(path), (long long)st.st_size, keep,
			 NULL);
	left = is_head ? 0 : (long long)st.st_size;
	do { /* the first write carries the header and the start of the body */
		ssize_t n = left ? read(file, chunk + hl, sizeof(chunk) - hl) : 0;
		if (n < 0 || (left && n == 0) || !send_all(net, fd, chunk, hl + (size_t)n)) {
			close(file);
			return false; /* the length is promised: cut the connection */
		}
		left -= n;
		hl = 0;
	} while (left > 0);
	close(file);
	return keep;
}

void http_serve(struct tapir_net *net, int fd, const char *root)
{
	struct req *r = calloc(1, sizeof(*r));
	struct timeval idle = {.tv_sec = IDLE_SECONDS};
	bool too_big;
	if (!r)
		return;
	tapir_setsockopt(net, fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
	while (read_head(net, fd, r, &too_big)) {
		if (!http_one(net, fd, root, r))
			break;
	}
	if (too_big)
		send_error(net, fd, 431, "Request Header Fields Too Large", false, false, NULL);
	free(r);
}
