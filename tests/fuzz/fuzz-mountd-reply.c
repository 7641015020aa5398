/*
 * libFuzzer harness for mountd's checks on agent replies (mountd/reply.c),
 * the real functions mountd runs on what a possibly hostile agent sends:
 * directory pages decoded into a listing (with small caps, so that every
 * cap is reached), link targets, attributes, xattr lists and lock ranges.
 * Whatever a check lets through is checked again here against what the
 * kernel must never get (a name with '/', ".", "..", a negative size, a
 * link that climbs above the mount), and a listing never passes its caps.
 *
 * FUZZ-SOURCES: mountd/reply.c lib/proto.c lib/proto-fs.c lib/xmalloc.c
 * FUZZ-SOURCES: lib/log.c
 * FUZZ-FLAGS:
 *
 * Input: byte 0 picks the check (mod 5), the rest is its input:
 *   0 readdir: pages, each u8 seconds since the previous page, u16 length
 *     (little-endian), then an OP_READDIR reply payload of that length
 *   1 link: u8 depth, then the target (up to the first NUL)
 *   2 attr: an attributes reply payload (a proto_attr as on the wire)
 *   3 xattr: u32 needed, then a listxattr answer
 *   4 lock: a getlk reply payload (u8 type, u64 start, u64 length)
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto.h"
#include "proto-fs.h"
#include "../../mountd/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what)
{
	fprintf(stderr, "fuzz-mountd-reply: %s\n", what);
	abort();
}

static uint64_t
le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void
fuzz_readdir(const uint8_t *data, size_t size)
{
	struct reply_dir d;
	struct proto_cur c;
	double now = 0;
	size_t len, i, n0;
	int rc = 0;

	reply_dir_init(&d);
	d.max_entries = 100;
	d.max_bytes = 32 * 1024;
	d.max_pages = 50;
	reply_dir_start(&d, now);
	while (size >= 3 && rc == 0) {
		now += data[0];
		len = (size_t)le(data + 1, 2);
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		c.p = data;
		c.left = len;
		n0 = d.n;
		rc = reply_readdir_page(&c, &d, now);
		data += len;
		size -= len;
		if (rc != 0 && rc != 1 && rc != -EIO && rc != -EOVERFLOW)
			die("reply_readdir_page returned an unknown value");
		if (rc < 0 && d.n != n0)
			die("a page that failed left entries behind");
		if (d.n > d.max_entries || d.bytes > d.max_bytes ||
		    d.pages > d.max_pages + 1 || d.n > d.cap)
			die("a listing passed its caps");
		for (i = n0; i < d.n; i++) {
			if (!proto_name_ok(d.ents[i].name) ||
			    strlen(d.ents[i].name) > NAME_MAX)
				die("a bad name was kept");
			if (reply_attr_ok(&d.ents[i].attr) < 0)
				die("bad attributes were kept");
		}
	}
	reply_dir_free(&d);
}

/* What an accepted target must be, worked out another way: split into
 * components, every ".." before the first name, no more of them than
 * depth. */
static void
check_link(const char *target, unsigned int depth)
{
	char *copy = strdup(target), *save = NULL, *t;
	unsigned int up = 0;
	int named = 0;

	if (copy == NULL)
		die("out of memory");
	if (target[0] == '/' || target[0] == '\0' || strlen(target) >= PATH_MAX)
		die("an absolute, empty or too long target was accepted");
	for (t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, "..") == 0) {
			if (named)
				die("a target with \"..\" after a name was accepted");
			up++;
		} else if (strcmp(t, ".") != 0) {
			if (strlen(t) > NAME_MAX)
				die("a component longer than NAME_MAX was accepted");
			named = 1;
		}
	}
	if (up > depth)
		die("a target climbing above the mount was accepted");
	free(copy);
}

static void
fuzz_link(const uint8_t *data, size_t size)
{
	char *target;
	unsigned int depth;
	int rc;

	if (size < 1)
		return;
	depth = data[0];
	if ((target = malloc(size)) == NULL)
		return;
	memcpy(target, data + 1, size - 1);
	target[size - 1] = '\0';
	rc = reply_link_target_ok(target, depth);
	if (rc == 0)
		check_link(target, depth);
	else if (rc != -EIO && rc != -ENAMETOOLONG)
		die("reply_link_target_ok returned an unknown value");
	/* The target as a path of the link itself. */
	if (reply_link_depth(target) > strlen(target))
		die("reply_link_depth counted more directories than bytes");
	free(target);
}

static void
fuzz_attr(const uint8_t *data, size_t size)
{
	struct proto_cur c = { data, size };
	struct proto_attr a;
	struct stat st;

	if (reply_get_attr(&c, &a) < 0)
		return;
	proto_attr_to_stat(&a, &st);
	if (st.st_size < 0 || st.st_blocks < 0)
		die("a negative size or block count was accepted");
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
	    !S_ISLNK(st.st_mode) && !S_ISCHR(st.st_mode) &&
	    !S_ISBLK(st.st_mode) && !S_ISFIFO(st.st_mode) &&
	    !S_ISSOCK(st.st_mode))
		die("a file type that does not exist was accepted");
	if (st.st_atim.tv_nsec >= 1000000000 ||
	    st.st_mtim.tv_nsec >= 1000000000 ||
	    st.st_ctim.tv_nsec >= 1000000000)
		die("nanoseconds of 10^9 or more were accepted");
}

static void
fuzz_xattr(const uint8_t *data, size_t size)
{
	size_t i, start = 0;

	if (size < 4)
		return;
	if (reply_xattr_size_ok((uint32_t)le(data, 4)) == 0 &&
	    le(data, 4) > PROTO_XATTR_MAX)
		die("an xattr size above the kernel's limit was accepted");
	data += 4;
	size -= 4;
	if (reply_xattr_list_ok(data, size) < 0)
		return;
	for (i = 0; i < size; i++)
		if (data[i] == '\0') {
			if (i == start)
				die("an empty xattr name was accepted");
			start = i + 1;
		}
	if (start != size)
		die("an xattr list not ended by a NUL was accepted");
}

static void
fuzz_lock(const uint8_t *data, size_t size)
{
	struct proto_cur c = { data, size };
	struct proto_lock_rep l;
	uint64_t start, len;

	/* As lock_done in mountd/ops-lock.c reads it. */
	if (proto_dec_lock_rep(&c, &l) < 0 ||
	    reply_lock_ok(l.type, l.start, l.len) < 0)
		return;
	if (size != 17)
		die("a lock reply with leftovers was accepted");
	start = le(data + 1, 8);
	len = le(data + 9, 8);
	if (data[0] > LOCK_TYPE_WRITE || start > INT64_MAX ||
	    start + len > INT64_MAX || start + len < start)
		die("a lock that does not fit off_t was accepted");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0: fuzz_readdir(data + 1, size - 1); break;
	case 1: fuzz_link(data + 1, size - 1); break;
	case 2: fuzz_attr(data + 1, size - 1); break;
	case 3: fuzz_xattr(data + 1, size - 1); break;
	case 4: fuzz_lock(data + 1, size - 1); break;
	}
	return 0;
}
