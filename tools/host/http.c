/* A small HTTP/1.1 static file server (RFC 9110, RFC 9112) on the services'
 * event loop (services.c): GET and HEAD, persistent connections,
 * Content-Length framing, 400/403/404/405/431/501 answers, and no way out of
 * the served directory.  Each connection is a small state machine: read a
 * header block, skip a request body, send the answer as the send buffer
 * drains (a file is read at its offset a buffer's room at a time, so a big
 * file never sits in memory), then the next request or close. */
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

#include <tapir/tcp.h>

#include "host.h"

#define HEAD_MAX 8192          /* request line + headers */

struct http {
	enum { H_HEAD, H_SKIP, H_SEND } st;
	char buf[HEAD_MAX];
	size_t len, used;      /* bytes held; bytes of the current request */
	long long skip;        /* request body bytes still to throw away */
	char out[1280];        /* the status line and headers (an error: + body) */
	size_t out_len, out_off;
	int file;              /* the body, or -1 */
	long long body_off, body_left;
	bool keep;             /* after the answer: the next request, or close */
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


/* Queues an error answer: header and body leave in one write, so a small
 * answer is one segment and never waits behind Nagle for the client's
 * delayed ACK.  KEEP: the connection persists after it. */
static void answer_error(struct http *h, int code, const char *reason, bool head, bool keep,
			 const char *extra)
{
	char body[256];
	int b = snprintf(body, sizeof(body), "<html><body><h1>%d %s</h1></body></html>\n", code,
			 reason);
	size_t n = format_head(h->out, sizeof(h->out) - sizeof(body), code, reason,
			       "text/html; charset=utf-8", b, keep, extra);
	if (n && !head) {
		memcpy(h->out + n, body, (size_t)b);
		n += (size_t)b;
	}
	h->out_len = n;
	h->keep = keep && n; /* an answer that did not fit: close */
}

/* The answer to the request line and headers in H->buf (NUL-ended): an
 * error or a file, queued in H; what of a request body to skip is set. */
static void answer(struct http *h, const char *root)
{
	char *head = h->buf, method[16], target[4096], version[16], path[4352];
	const char *v;
	bool keep, is_head;
	struct stat st;
	int file;

	if (sscanf(head, "%15s %4095s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) || (version[7] != '0' && version[7] != '1') ||
	    version[8])
		return answer_error(h, 400, "Bad Request", false, false, NULL);
	/* RFC 9112 9.3: 1.1 persists unless "close"; 1.0 only with keep-alive */
	v = header(head, "Connection");
	keep = version[7] == '1' ? !value_is(v, "close") : value_is(v, "keep-alive");
	is_head = !strcmp(method, "HEAD");
	if ((v = header(head, "Transfer-Encoding")) != NULL)
		return answer_error(h, 501, "Not Implemented", is_head, false, NULL);
	if ((v = header(head, "Content-Length")) != NULL) {
		/* a body we do not want: skip it to stay in step (the answer
		 * leaves once it is skipped) */
		long long body = atoll(v);
		size_t have = h->len - h->used < (size_t)body ? h->len - h->used : (size_t)body;
		if (body < 0)
			return answer_error(h, 400, "Bad Request", is_head, false, NULL);
		h->used += have;
		h->skip = body - (long long)have;
	}
	if (strcmp(method, "GET") && !is_head)
		return answer_error(h, 405, "Method Not Allowed", false, keep,
				    "Allow: GET, HEAD\r\n");
	target[strcspn(target, "?#")] = 0;
	if (target[0] != '/' || !url_decode(target))
		return answer_error(h, 400, "Bad Request", is_head, keep, NULL);
	if (!path_safe(target))
		return answer_error(h, 403, "Forbidden", is_head, keep, NULL);
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
		if (e == EACCES)
			return answer_error(h, 403, "Forbidden", is_head, keep, NULL);
		return answer_error(h, 404, "Not Found", is_head, keep, NULL);
	}
	h->out_len = format_head(h->out, sizeof(h->out), 200, "OK", content_type(path),
				 (long long)st.st_size, keep, NULL);
	h->keep = keep;
	h->body_left = is_head ? 0 : (long long)st.st_size;
	if (h->body_left)
		h->file = file;
	else
		close(file);
}

/* Sends what of the answer fits: 1 when all of it has gone, 0 to wait for
 * room, -1 when the connection must be cut (the length is promised). */
static int send_answer(struct http *h, struct conn *c, tapir_time_t now, uint8_t *buf,
		       size_t cap)
{
	for (;;) {
		/* the room is a hint: whatever the buffer takes is accounted */
		size_t room = conn_room(c, cap), n = h->out_len - h->out_off, hk;
		long taken;
		if (!room)
			return 0;
		if (n > room)
			n = room;
		memcpy(buf, h->out + h->out_off, n);
		if (n < room && h->body_left) { /* the first write: header and body */
			size_t want = room - n;
			ssize_t r;
			if ((long long)want > h->body_left)
				want = (size_t)h->body_left;
			r = pread(h->file, buf + n, want, h->body_off);
			if (r <= 0)
				return -1;
			n += (size_t)r;
		}
		if (!n)
			return 1;
		taken = tapir_tcp_send(c->t, buf, n, now);
		if (taken == -EAGAIN)
			return 0;
		if (taken < 0)
			return -1;
		hk = h->out_len - h->out_off < (size_t)taken ? h->out_len - h->out_off : (size_t)taken;
		h->out_off += hk;
		h->body_off += taken - (long)hk;
		h->body_left -= taken - (long)hk;
		if ((size_t)taken < n)
			return 0;
	}
}

/* Reads until the end of a header block: true with H->used set; false to
 * wait (*W HTTP_READING) or close (HTTP_CLOSE; a block too large is
 * answered with 431 first, *W HTTP_SENDING). */
static bool read_head(struct http *h, struct tapir_tcp *t, tapir_time_t now, enum http_wait *w)
{
	for (;;) {
		char *end = h->len >= 4 ? memmem(h->buf, h->len, "\r\n\r\n", 4) : NULL;
		long n;
		if (end) {
			h->used = (size_t)(end - h->buf) + 4;
			return true;
		}
		if (h->len == sizeof(h->buf) - 1) {
			answer_error(h, 431, "Request Header Fields Too Large", false, false, NULL);
			h->st = H_SEND;
			*w = HTTP_SENDING;
			return false;
		}
		n = tapir_tcp_recv(t, h->buf + h->len, sizeof(h->buf) - 1 - h->len, now);
		if (n <= 0) {
			*w = n == -EAGAIN ? HTTP_READING : HTTP_CLOSE;
			return false;
		}
		h->len += (size_t)n;
	}
}

struct http *http_new(void)
{
	struct http *h = calloc(1, sizeof(*h));
	if (h)
		h->file = -1;
	return h;
}

void http_free(struct http *h)
{
	if (h && h->file >= 0)
		close(h->file);
	free(h);
}

/* The next request: what is left of the buffer is its start (pipelining). */
static void next_request(struct http *h)
{
	if (h->file >= 0)
		close(h->file);
	memmove(h->buf, h->buf + h->used, h->len - h->used);
	h->len -= h->used;
	h->used = h->out_len = h->out_off = 0;
	h->file = -1;
	h->body_off = h->body_left = h->skip = 0;
	h->st = H_HEAD;
}

enum http_wait http_step(struct conn *c, const char *root, tapir_time_t now, uint8_t *scratch,
			 size_t cap)
{
	struct http *h = c->http;
	enum http_wait w = HTTP_CLOSE;
	for (;;) {
		switch (h->st) {
		case H_HEAD:
			if (!read_head(h, c->t, now, &w)) {
				if (w != HTTP_SENDING)
					return w;
				break;
			}
			h->buf[h->used - 2] = 0; /* keep one "\r\n" to end the last header */
			answer(h, root);
			h->st = h->skip ? H_SKIP : H_SEND;
			break;
		case H_SKIP:
			while (h->skip > 0) {
				long n = tapir_tcp_recv(c->t, scratch,
							h->skip < (long long)cap ? (size_t)h->skip : cap,
							now);
				if (n <= 0)
					return n == -EAGAIN ? HTTP_READING : HTTP_CLOSE;
				h->skip -= n;
			}
			h->st = H_SEND;
			break;
		case H_SEND:
			switch (send_answer(h, c, now, scratch, cap)) {
			case 0: return HTTP_SENDING;
			case -1: return HTTP_CLOSE;
			}
			if (!h->keep)
				return HTTP_CLOSE;
			next_request(h);
			break;
		}
	}
}
