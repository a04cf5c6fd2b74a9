/* The fd drivers' shared steps (link_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <tapir/wire.h>

#include "link_int.h"

void *link_dev_new(size_t size, const char *name, char *err, size_t errlen)
{
	struct link_dev *d;
	if (!name[0] || strlen(name) >= LINK_NAME_MAX || strchr(name, '/') || strchr(name, ' ')) {
		snprintf(err, errlen, "bad interface name '%s' (1-%d characters, no '/' or space)",
			 name, LINK_NAME_MAX - 1);
		return NULL;
	}
	d = calloc(1, size);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->link.name = d->name;
	return d;
}

void link_dev_free(struct link_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

int link_vnet_write(int fd, const struct virtio_net_hdr *h, const uint8_t *frame, size_t len)
{
	struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)frame, len}};
	ssize_t n = writev(fd, iov, 2);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(sizeof(*h) + len) ? 0 : -EIO;
}

int link_vnet_csum(const struct virtio_net_hdr *h, uint8_t *frame, size_t len)
{
	size_t start = h->csum_start, at = start + h->csum_offset;
	uint16_t sum;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	if (start >= len || at + 2 > len)
		return -1;
	sum = tapir_csum(frame + start, len - start);
	tapir_put16(frame + at, sum);
	return 0;
}

bool tapir_link_error_fatal(int err)
{
	switch (err) {
	case EAGAIN:
	case EINTR:
	case ENOBUFS:
	case ENOMEM:
	case ENETDOWN:
	case EMSGSIZE:
		return false;
	default:
		return true;
	}
}
