/*
 * Unit tests of mountd's checks on agent replies (mountd/reply.c), as a
 * hostile agent would send them: directory pages with bad names, bad
 * attributes, no progress, no end (pages, entries, bytes, time), link
 * targets that are absolute or climb out of the mount, xattr lists and
 * lock ranges that do not fit. Prints TAP; exits 0 only if every test
 * passed.
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
#include "xmalloc.h"
#include "reply.h"

#include "tap.h"

static struct proto_attr
file_attr(uint64_t ino)
{
	struct proto_attr a;

	memset(&a, 0, sizeof(a));
	a.dev = 1;
	a.ino = ino;
	a.mode = S_IFREG | 0644;
	a.nlink = 1;
	a.size = 5;
	a.mtime_sec = 1700000000;
	a.mtime_nsec = 999999999;
	return a;
}

/* A page under construction: header fields, then entries. */
struct page {
	struct proto_buf b;
	size_t		 count_at;
	uint32_t	 n;
};

static void
page_begin(struct page *pg, int eof, uint64_t next)
{
	proto_buf_init(&pg->b, 256);
	proto_put_u8(&pg->b, (uint8_t)eof);
	proto_put_u64(&pg->b, next);
	pg->count_at = pg->b.len;
	proto_put_u32(&pg->b, 0);
	pg->n = 0;
}

/* An entry whose name is n raw bytes (a NUL or '/' may be among them). */
static void
page_add_raw(struct page *pg, const char *name, size_t n,
    const struct proto_attr *a)
{
	proto_put_u16(&pg->b, (uint16_t)n);
	proto_put_raw(&pg->b, name, n);
	proto_put_attr(&pg->b, a);
	proto_patch_u32(&pg->b, pg->count_at, ++pg->n);
}

static void
page_add(struct page *pg, const char *name, uint64_t ino)
{
	struct proto_attr a = file_attr(ino);

	page_add_raw(pg, name, strlen(name), &a);
}

/* Decodes the page into d and frees it. */
static int
page_decode(struct page *pg, struct reply_dir *d, double now)
{
	struct proto_cur c = { pg->b.data, pg->b.len };
	int rc = reply_readdir_page(&c, d, now);

	proto_buf_free(&pg->b);
	return rc;
}

/* A one-entry page, eof or not, holding name. */
static int
one_entry(struct reply_dir *d, const char *name, size_t n, int eof,
    uint64_t next)
{
	struct page pg;
	struct proto_attr a = file_attr(7);

	page_begin(&pg, eof, next);
	page_add_raw(&pg, name, n, &a);
	return page_decode(&pg, d, 0);
}

static void
test_pages(void)
{
	struct reply_dir d;
	struct page pg;
	int rc;

	reply_dir_init(&d);
	reply_dir_start(&d, 0);
	page_begin(&pg, 0, 3);
	page_add(&pg, "a", 1);
	page_add(&pg, "b c", 2);
	page_add(&pg, "\xc3\xa9t\xc3\xa9", 3);
	rc = page_decode(&pg, &d, 0);
	ok(rc == 0 && d.cookie == 3 && d.n == 3,
	    "a first page: more to come at cookie 3 (rc %d, n %zu)", rc, d.n);
	page_begin(&pg, 1, 0);
	page_add(&pg, "d", 4);
	rc = page_decode(&pg, &d, 1);
	ok(rc == 1 && d.n == 4 && strcmp(d.ents[3].name, "d") == 0 &&
	    d.ents[3].attr.ino == 4, "the last page: complete, 4 entries");
	ok(strcmp(d.ents[2].name, "\xc3\xa9t\xc3\xa9") == 0,
	    "names are kept byte for byte");
	page_begin(&pg, 1, 0);
	rc = page_decode(&pg, &d, 1);
	ok(rc == 1 && d.n == 4, "an empty last page is fine");
	reply_dir_start(&d, 5);
	ok(d.n == 0 && d.pages == 0 && d.cookie == 0,
	    "a new listing starts empty at cookie 0");
	reply_dir_free(&d);
}

static void
test_names(void)
{
	static const struct { const char *name; size_t n; const char *why; }
	    bad[] = {
		{ "", 0, "an empty name" },
		{ ".", 1, "\".\"" },
		{ "..", 2, "\"..\"" },
		{ "a/b", 3, "a name with '/'" },
		{ "/", 1, "\"/\"" },
		{ "../../etc", 9, "a path climbing out" },
		{ "a\0b", 3, "a name with a NUL" },
	};
	char longname[PROTO_NAME_MAX + 2];
	struct reply_dir d;
	size_t i;
	int rc;

	reply_dir_init(&d);
	reply_dir_start(&d, 0);
	ok(one_entry(&d, "kept", 4, 0, 1) == 0 && d.n == 1,
	    "a good page before the bad ones");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = one_entry(&d, bad[i].name, bad[i].n, 0, 2 + i);
		ok(rc == -EIO && d.n == 1, "refused: %s (rc %d, n %zu)",
		    bad[i].why, rc, d.n);
	}
	memset(longname, 'x', sizeof(longname));
	ok(one_entry(&d, longname, PROTO_NAME_MAX, 0, 20) == 0 && d.n == 2,
	    "a name of NAME_MAX bytes is fine");
	rc = one_entry(&d, longname, PROTO_NAME_MAX + 1, 0, 21);
	ok(rc == -EIO && d.n == 2, "a name of NAME_MAX + 1 bytes is refused");
	ok(strcmp(d.ents[0].name, "kept") == 0,
	    "entries of the good pages stay after a bad one");
	reply_dir_free(&d);
}

/* A page whose second entry is bad: the first one is not kept either. */
static void
test_partial_page(void)
{
	struct reply_dir d;
	struct page pg;
	struct proto_attr a = file_attr(2);
	size_t bytes;
	int rc;

	reply_dir_init(&d);
	reply_dir_start(&d, 0);
	bytes = d.bytes;
	page_begin(&pg, 1, 0);
	page_add(&pg, "good", 1);
	page_add_raw(&pg, "..", 2, &a);
	rc = page_decode(&pg, &d, 0);
	ok(rc == -EIO && d.n == 0 && d.bytes == bytes + d.cap *
	    sizeof(*d.ents), "a page with one bad entry adds nothing "
	    "(rc %d, n %zu)", rc, d.n);

	page_begin(&pg, 1, 0);
	page_add(&pg, "x", 1);
	proto_put_u8(&pg.b, 0);
	ok(page_decode(&pg, &d, 0) == -EIO && d.n == 0,
	    "leftover bytes after the entries");
	page_begin(&pg, 1, 0);
	page_add(&pg, "x", 1);
	proto_patch_u32(&pg.b, pg.count_at, 2);
	ok(page_decode(&pg, &d, 0) == -EIO && d.n == 0,
	    "a count larger than the entries sent");
	page_begin(&pg, 1, 0);
	pg.b.len -= 2;
	ok(page_decode(&pg, &d, 0) == -EIO, "a page header cut short");
	reply_dir_free(&d);
}

static void
test_no_progress(void)
{
	struct reply_dir d;
	struct page pg;
	int i, rc = 0;

	reply_dir_init(&d);
	reply_dir_start(&d, 0);
	page_begin(&pg, 0, 9);
	ok(page_decode(&pg, &d, 0) == -EIO,
	    "a page of 0 entries without eof is refused");
	reply_dir_start(&d, 0);
	ok(one_entry(&d, "a", 1, 0, 5) == 0, "a page up to cookie 5");
	ok(one_entry(&d, "b", 1, 0, 5) == -EIO,
	    "the next page names cookie 5 again: refused");
	ok(one_entry(&d, "c", 1, 0, 0) == 0,
	    "cookie 0 after 5 is progress enough (seekdir cookies are "
	    "not ordered)");

	/* An endless run of pages: the page cap ends it. */
	reply_dir_start(&d, 0);
	for (i = 0; i <= REPLY_DIR_PAGES_MAX + 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "e%d", i);
		if ((rc = one_entry(&d, name, strlen(name), 0,
		    (uint64_t)i + 1)) != 0)
			break;
	}
	ok(rc == -EOVERFLOW && i == REPLY_DIR_PAGES_MAX,
	    "an endless run of pages stops after %d (page %d: rc %d)",
	    REPLY_DIR_PAGES_MAX, i, rc);
	reply_dir_free(&d);
}

static void
test_caps(void)
{
	struct reply_dir d;
	struct page pg;
	uint32_t i;
	int rc = 0, pages;

	reply_dir_init(&d);
	ok(d.max_entries == REPLY_DIR_ENTRIES_MAX &&
	    d.max_bytes == REPLY_DIR_BYTES_MAX &&
	    d.max_pages == REPLY_DIR_PAGES_MAX,
	    "the default caps are reply.h's");

	/* A count past the cap fails before anything is read. */
	reply_dir_start(&d, 0);
	page_begin(&pg, 1, 0);
	proto_patch_u32(&pg.b, pg.count_at, REPLY_DIR_ENTRIES_MAX + 1);
	ok(page_decode(&pg, &d, 0) == -EOVERFLOW,
	    "a page that says it holds more than %u entries",
	    REPLY_DIR_ENTRIES_MAX);
	page_begin(&pg, 1, 0);
	proto_patch_u32(&pg.b, pg.count_at, UINT32_MAX);
	ok(page_decode(&pg, &d, 0) == -EOVERFLOW,
	    "a page that says it holds 2^32 - 1 entries");

	/* Entries: pages of 1000, a cap of 2500. */
	d.max_entries = 2500;
	reply_dir_start(&d, 0);
	for (pages = 0; pages < 10; pages++) {
		page_begin(&pg, 0, (uint64_t)pages + 1);
		for (i = 0; i < 1000; i++) {
			char name[32];

			snprintf(name, sizeof(name), "f%d-%u", pages, i);
			page_add(&pg, name, i);
		}
		if ((rc = page_decode(&pg, &d, 0)) != 0)
			break;
	}
	ok(rc == -EOVERFLOW && pages == 2 && d.n == 2000,
	    "millions of entries: refused at the entry cap (page %d, n %zu)",
	    pages, d.n);

	/* Memory: long names, a cap of 64 KiB. */
	reply_dir_free(&d);		/* and back to the default caps */
	d.max_bytes = 64 * 1024;
	reply_dir_start(&d, 0);
	for (pages = 0; pages < 1000; pages++) {
		char name[PROTO_NAME_MAX + 1];

		memset(name, 'a' + pages % 26, PROTO_NAME_MAX);
		snprintf(name + PROTO_NAME_MAX - 8, 9, "%08d", pages);
		if ((rc = one_entry(&d, name, PROTO_NAME_MAX, 0,
		    (uint64_t)pages + 1)) != 0)
			break;
	}
	ok(rc == -EOVERFLOW && d.bytes <= d.max_bytes && pages < 256,
	    "long names: refused at the memory cap (%zu bytes after %d "
	    "pages)", d.bytes, pages);

	/* Time: from the listing's start. */
	reply_dir_free(&d);
	reply_dir_start(&d, 1000.0);
	ok(one_entry(&d, "a", 1, 0, 1) == 0, "a page in time");
	page_begin(&pg, 0, 2);
	page_add(&pg, "b", 2);
	ok(page_decode(&pg, &d, 1000.0 + REPLY_DIR_SECONDS_MAX + 1) ==
	    -EOVERFLOW, "a page after %.0f s is refused",
	    REPLY_DIR_SECONDS_MAX);
	reply_dir_free(&d);
}

static void
test_attrs(void)
{
	static const uint32_t types[] = { S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR,
	    S_IFBLK, S_IFIFO, S_IFSOCK };
	struct proto_attr a;
	struct proto_buf b;
	struct proto_cur c;
	size_t i;
	int good = 1;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		a = file_attr(1);
		a.mode = types[i] | 07777;
		good &= reply_attr_ok(&a) == 0;
	}
	ok(good, "every file type, every mode bit: accepted");
	a = file_attr(1);
	a.mode = 0644;
	ok(reply_attr_ok(&a) == -EIO, "no file type: refused");
	a.mode = 0xe000 | 0644;
	ok(reply_attr_ok(&a) == -EIO, "file type 0xe000: refused");
	a.mode = S_IFREG | 0644 | 0x10000;
	ok(reply_attr_ok(&a) == -EIO, "bits above the file type: refused");
	a = file_attr(1);
	a.size = (uint64_t)INT64_MAX;
	ok(reply_attr_ok(&a) == 0, "size 2^63 - 1: accepted");
	a.size = (uint64_t)INT64_MAX + 1;
	ok(reply_attr_ok(&a) == -EIO, "size 2^63 (a negative off_t): refused");
	a = file_attr(1);
	a.blocks = UINT64_MAX;
	ok(reply_attr_ok(&a) == -EIO, "blocks 2^64 - 1: refused");
	a = file_attr(1);
	a.atime_nsec = 1000000000;
	ok(reply_attr_ok(&a) == -EIO, "atime nanoseconds 10^9: refused");
	a = file_attr(1);
	a.ctime_nsec = UINT32_MAX;
	ok(reply_attr_ok(&a) == -EIO, "ctime nanoseconds 2^32 - 1: refused");

	/* Through the decoder, and inside a directory page. */
	a = file_attr(1);
	a.mode = 0;
	proto_buf_init(&b, 128);
	proto_put_attr(&b, &a);
	c.p = b.data;
	c.left = b.len;
	ok(reply_get_attr(&c, &a) == -EIO, "reply_get_attr refuses it too");
	proto_buf_free(&b);
	{
		struct reply_dir d;
		struct page pg;

		reply_dir_init(&d);
		reply_dir_start(&d, 0);
		a = file_attr(1);
		a.mtime_nsec = 2000000000u;
		page_begin(&pg, 1, 0);
		page_add_raw(&pg, "x", 1, &a);
		ok(page_decode(&pg, &d, 0) == -EIO && d.n == 0,
		    "a listing entry with bad attributes is refused");
		reply_dir_free(&d);
	}
}

static void
test_links(void)
{
	static const struct { const char *t; unsigned int depth; int want; }
	    cases[] = {
		{ "target", 0, 0 },
		{ "a/b/c", 0, 0 },
		{ "./a", 0, 0 },
		{ "a/./b//c/", 0, 0 },
		{ ".", 0, 0 },
		{ "..", 1, 0 },
		{ "../../etc/alternatives/aclocal", 2, 0 },
		{ "../../../etc/passwd", 2, -EIO },
		{ "..", 0, -EIO },
		{ "../x", 0, -EIO },
		{ "./../x", 0, -EIO },
		{ "/etc/passwd", 5, -EIO },
		{ "/", 0, -EIO },
		{ "", 3, -EIO },
		{ "a/../..", 5, -EIO },		/* ".." after a name */
		{ "a/..", 5, -EIO },
		{ "sub/../../../etc", 2, -EIO },
		{ "../a/../b", 3, -EIO },
		{ ".../x", 0, 0 },		/* a name, not a climb */
		{ "..a/b", 0, 0 },
	};
	char *big;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = reply_link_target_ok(cases[i].t, cases[i].depth);
		ok(rc == cases[i].want, "link at depth %u -> \"%s\": %s (rc %d)",
		    cases[i].depth, cases[i].t, cases[i].want ? "refused" :
		    "kept", rc);
	}
	big = xmalloc(PATH_MAX + 1);
	memset(big, 'a', PATH_MAX);
	for (i = 100; i < PATH_MAX; i += 101)
		big[i] = '/';
	big[PATH_MAX - 1] = '\0';
	ok(reply_link_target_ok(big, 0) == 0,
	    "a target of PATH_MAX - 1 bytes is kept");
	big[PATH_MAX - 1] = 'a';
	big[PATH_MAX] = '\0';
	ok(reply_link_target_ok(big, 0) == -ENAMETOOLONG,
	    "a target of PATH_MAX bytes: ENAMETOOLONG");
	memset(big, 'a', 300);
	big[300] = '\0';
	ok(reply_link_target_ok(big, 0) == -EIO,
	    "a component longer than NAME_MAX is refused");
	x_free(big);

	ok(reply_link_depth("/x") == 0, "depth of /x is 0");
	ok(reply_link_depth("/usr/bin/aclocal") == 2,
	    "depth of /usr/bin/aclocal is 2");
	ok(reply_link_depth("/") == 0, "depth of / is 0");
}

static void
test_xattr_lock(void)
{
	ok(reply_xattr_list_ok((const uint8_t *)"", 0) == 0,
	    "an empty xattr list");
	ok(reply_xattr_list_ok((const uint8_t *)"user.a\0user.b", 14) == 0,
	    "two xattr names");
	ok(reply_xattr_list_ok((const uint8_t *)"user.a\0user.b", 13) ==
	    -EIO, "an xattr list whose last name has no NUL");
	ok(reply_xattr_list_ok((const uint8_t *)"user.a\0\0", 8) == -EIO,
	    "an xattr list with an empty name");
	ok(reply_xattr_size_ok(PROTO_XATTR_MAX) == 0 &&
	    reply_xattr_size_ok(PROTO_XATTR_MAX + 1) == -EIO,
	    "an xattr size above 64 KiB is refused");
	ok(reply_lock_ok(LOCK_TYPE_WRITE, 0, 0) == 0,
	    "a write lock on the whole file");
	ok(reply_lock_ok(3, 0, 0) == -EIO, "lock type 3 is refused");
	ok(reply_lock_ok(LOCK_TYPE_READ, (uint64_t)INT64_MAX + 1, 0) == -EIO,
	    "a lock starting past 2^63 is refused");
	ok(reply_lock_ok(LOCK_TYPE_READ, 10, (uint64_t)INT64_MAX) == -EIO,
	    "a lock whose end is past 2^63 is refused");
	ok(reply_lock_ok(LOCK_TYPE_READ, 10, (uint64_t)INT64_MAX - 10) == 0,
	    "a lock ending at 2^63 - 1");
}

int
main(void)
{
	test_pages();
	test_names();
	test_partial_page();
	test_no_progress();
	test_caps();
	test_attrs();
	test_links();
	test_xattr_lock();
	return done_testing();
}
