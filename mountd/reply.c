/* Checks and decoders of the agent's replies in mountd (see reply.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/limits.h>

#include "proto.h"
#include "proto-fs.h"
#include "reply.h"
#include "xmalloc.h"

void
reply_dir_init(struct reply_dir *d)
{
	memset(d, 0, sizeof(*d));
	d->max_entries = REPLY_DIR_ENTRIES_MAX;
	d->max_bytes = REPLY_DIR_BYTES_MAX;
	d->max_pages = REPLY_DIR_PAGES_MAX;
	d->max_seconds = REPLY_DIR_SECONDS_MAX;
}

void
reply_dir_start(struct reply_dir *d, double now)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		x_free(d->ents[i].name);
	d->n = 0;
	d->bytes = d->cap * sizeof(*d->ents);
	d->pages = 0;
	d->cookie = 0;
	d->started = now;
}

void
reply_dir_free(struct reply_dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		x_free(d->ents[i].name);
	x_free(d->ents);
	reply_dir_init(d);
}

/* Drops the entries from index n on (those of a page that failed);
 * bytes was the count then, with an array of cap entries. */
static void
dir_truncate(struct reply_dir *d, size_t n, size_t bytes, size_t cap)
{
	size_t i;

	for (i = n; i < d->n; i++)
		x_free(d->ents[i].name);
	d->n = n;
	d->bytes = bytes + (d->cap - cap) * sizeof(*d->ents);
}

int
reply_readdir_page(struct proto_cur *p, struct reply_dir *d, double now)
{
	char name[PROTO_NAME_MAX + 1];
	struct proto_attr a;
	struct proto_readdir_rep head;
	size_t n0 = d->n, bytes0 = d->bytes, cap0 = d->cap, need, len;
	uint64_t next;
	uint32_t n, i;
	uint8_t eof;
	int rc = 0;

	if (++d->pages > d->max_pages || now - d->started > d->max_seconds)
		return -EOVERFLOW;
	if (proto_dec_readdir_rep(p, &head) < 0)
		return -EIO;
	eof = head.eof;
	next = head.next_cookie;
	n = head.n;
	/* No progress would ask for the same page for ever. */
	if (!eof && (n == 0 || next == d->cookie))
		return -EIO;
	if (d->n > d->max_entries || n > d->max_entries - d->n)
		return -EOVERFLOW;
	for (i = 0; i < n; i++) {
		if (proto_dec_readdir_ent(p, name, sizeof(name), &a) < 0 ||
		    reply_attr_ok(&a) < 0) {
			rc = -EIO;
			goto out;
		}
		len = strlen(name) + 1;
		need = len + (d->n == d->cap ? d->cap ? d->cap : 64 : 0) *
		    sizeof(*d->ents);
		if (d->bytes > d->max_bytes || need > d->max_bytes - d->bytes) {
			rc = -EOVERFLOW;
			goto out;
		}
		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 64;
			/* bounded by max_bytes: no overflow */
			d->ents = xrealloc(d->ents, d->cap * sizeof(*d->ents));
		}
		d->bytes += need;
		d->ents[d->n].name = xstrdup(name);
		d->ents[d->n].attr = a;
		d->n++;
	}
	if (proto_end(p) < 0) {
		rc = -EIO;
		goto out;
	}
	d->cookie = next;
	rc = eof ? 1 : 0;
out:
	if (rc < 0)
		dir_truncate(d, n0, bytes0, cap0);
	return rc;
}

int
reply_attr_ok(const struct proto_attr *a)
{
	switch (a->mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		return -EIO;
	}
	if (a->mode & ~(uint32_t)(S_IFMT | 07777))
		return -EIO;
	if (a->size > INT64_MAX || a->blocks > INT64_MAX)
		return -EIO;
	if (a->atime_nsec >= 1000000000u || a->mtime_nsec >= 1000000000u ||
	    a->ctime_nsec >= 1000000000u)
		return -EIO;
	return 0;
}

int
reply_get_attr(struct proto_cur *p, struct proto_attr *a)
{
	if (proto_dec_attr_rep(p, a) < 0 || reply_attr_ok(a) < 0)
		return -EIO;
	return 0;
}

unsigned int
reply_link_depth(const char *path)
{
	unsigned int depth = 0;
	const char *s;

	/* Components before the last one. */
	for (s = path; *s != '\0'; s++)
		if (*s == '/' && s[1] != '\0' && s[1] != '/' && s != path)
			depth++;
	return depth;
}

int
reply_link_target_ok(const char *target, unsigned int depth)
{
	const char *s = target, *e;
	size_t len;
	int seen_name = 0;

	if (target[0] == '\0' || target[0] == '/')
		return -EIO;
	if (strnlen(target, PATH_MAX) >= PATH_MAX)
		return -ENAMETOOLONG;
	while (*s != '\0') {
		if ((e = strchr(s, '/')) == NULL)
			e = s + strlen(s);
		len = (size_t)(e - s);
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (seen_name || depth == 0)
				return -EIO;
			depth--;
		} else if (len > NAME_MAX)
			return -EIO;
		else if (len > 0 && !(len == 1 && s[0] == '.'))
			seen_name = 1;
		s = *e ? e + 1 : e;
	}
	return 0;
}

int
reply_xattr_list_ok(const uint8_t *list, size_t n)
{
	size_t i, start = 0;

	if (n > PROTO_XATTR_MAX || (n > 0 && list[n - 1] != '\0'))
		return -EIO;
	for (i = 0; i < n; i++) {
		if (list[i] != '\0')
			continue;
		if (i == start || i - start > XATTR_NAME_MAX)
			return -EIO;
		start = i + 1;
	}
	return 0;
}

int
reply_xattr_size_ok(uint32_t needed)
{
	return needed <= PROTO_XATTR_MAX ? 0 : -EIO;
}

int
reply_lock_ok(uint8_t type, uint64_t start, uint64_t len)
{
	if (type != LOCK_TYPE_UNLOCK && type != LOCK_TYPE_READ &&
	    type != LOCK_TYPE_WRITE)
		return -EIO;
	if (start > INT64_MAX || len > (uint64_t)INT64_MAX - start)
		return -EIO;
	return 0;
}
