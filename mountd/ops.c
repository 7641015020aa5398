/*
 * The FUSE low-level operations of mountd. Each handler turns a kernel
 * request into an agent request and returns at once; the reply to the
 * kernel (exactly one fuse_reply_* per request) is sent from the
 * callback when the agent answers, so many requests are in flight.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "client.h"
#include "log.h"
#include "nodes.h"
#include "ops.h"
#include "xmalloc.h"

static struct ops_config cfg;

/* One request in flight: what the callback needs to answer the kernel. */
struct call {
	fuse_req_t	 req;
	uint64_t	 ino;
	char		*path;
	size_t		 size;
	struct dirh	*dir;
	struct fileh	*file;
	struct fuse_file_info fi;
};

struct dirent_rec {
	char		*name;
	struct proto_attr attr;
};

/* An open directory: every entry, fetched in one go at opendir. */
struct dirh {
	struct dirent_rec *ents;
	size_t		 n, cap;
	uint64_t	 ino;
	struct proto_attr self;
	char		*path;
};

struct fileh {
	uint64_t	 agent_fh;
	uint64_t	 epoch;
};

static struct call *
call_new(fuse_req_t req, uint64_t ino)
{
	struct call *c = xcalloc(1, sizeof(*c));

	c->req = req;
	c->ino = ino;
	return c;
}

static void
call_free(struct call *c)
{
	x_free(c->path);
	x_free(c);
}

static void
request(struct proto_buf *b, uint16_t op)
{
	proto_buf_init(b, 256);
	proto_begin(b, MSG_REQUEST, op, 0, 0);
}

static void
fill_entry(struct fuse_entry_param *e, uint64_t nodeid,
    const struct proto_attr *a)
{
	memset(e, 0, sizeof(*e));
	e->ino = nodeid;
	e->generation = 1;
	/* st_ino is the target's own inode number, stable across mounts
	 * (the kernel reports attr.ino); the node id travels apart. */
	proto_attr_to_stat(a, &e->attr);
	e->attr_timeout = cfg.attr_timeout;
	e->entry_timeout = cfg.entry_timeout;
}

static void
ops_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* Always readdirplus: names and attributes in one round trip. */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_readahead = (unsigned)cfg.readahead_kb * 1024;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	(void)userdata;
}

/* lookup */

static void
lookup_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct fuse_entry_param e;
	struct proto_attr a;

	if (err == 0 && (proto_get_attr(p, &a) < 0 || proto_end(p) < 0))
		err = -EIO;
	if (err == -ENOENT && cfg.negative_timeout > 0) {
		/* A cached "no such file": ino 0 with a timeout. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = cfg.negative_timeout;
		fuse_reply_entry(c->req, &e);
	} else if (err < 0)
		fuse_reply_err(c->req, -err);
	else {
		fill_entry(&e, nodes_ref(c->path, &a), &a);
		if (fuse_reply_entry(c->req, &e) != 0)
			nodes_forget(e.ino, 1);
	}
	call_free(c);
}

static void
ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct call *c;
	struct proto_buf b;

	if (strlen(name) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	c = call_new(req, parent);
	if ((c->path = nodes_child_path(parent, name)) == NULL) {
		fuse_reply_err(req, ENOENT);
		call_free(c);
		return;
	}
	request(&b, OP_LOOKUP);
	proto_put_str(&b, c->path);
	client_call(cfg.client, &b, lookup_done, c);
}

static void
ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	nodes_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void
ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	size_t i;

	for (i = 0; i < count; i++)
		nodes_forget(f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

/* Starts a request on a node's own path; replies ENOENT/EIO itself. */
static struct call *
node_call(fuse_req_t req, fuse_ino_t ino, struct proto_buf *b, uint16_t op)
{
	struct call *c = call_new(req, ino);

	if ((c->path = nodes_path(ino)) == NULL) {
		fuse_reply_err(req, ESTALE);
		call_free(c);
		return NULL;
	}
	request(b, op);
	proto_put_str(b, c->path);
	return c;
}

static void
getattr_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_attr a;
	struct stat st;

	if (err == 0 && (proto_get_attr(p, &a) < 0 || proto_end(p) < 0))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else {
		nodes_set_flags(c->ino, a.flags);
		proto_attr_to_stat(&a, &st);
		fuse_reply_attr(c->req, &st, cfg.attr_timeout);
	}
	call_free(c);
}

static void
ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct proto_buf b;
	struct call *c;

	if ((c = node_call(req, ino, &b, OP_GETATTR)) != NULL)
		client_call(cfg.client, &b, getattr_done, c);
}

static void
readlink_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	char target[PROTO_PATH_MAX + 1];

	if (err == 0 && (proto_get_str(p, target, sizeof(target)) < 0 ||
	    proto_end(p) < 0))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else
		fuse_reply_readlink(c->req, target);
	call_free(c);
}

static void
ops_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct proto_buf b;
	struct call *c;

	if ((c = node_call(req, ino, &b, OP_READLINK)) != NULL)
		client_call(cfg.client, &b, readlink_done, c);
}

/* directories */

static void
dirh_free(struct dirh *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		x_free(d->ents[i].name);
	x_free(d->ents);
	x_free(d->path);
	x_free(d);
}

static void readdir_page(struct call *c, uint64_t cookie);
static void release_done(void *arg, int err, struct proto_cur *p);

static void
readdir_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct dirh *d = c->dir;
	uint8_t eof = 1;
	uint64_t next = 0;
	uint32_t n, i;
	char name[PROTO_NAME_MAX + 1];

	if (err == 0 && (proto_get_u8(p, &eof) < 0 ||
	    proto_get_u64(p, &next) < 0 || proto_get_u32(p, &n) < 0))
		err = -EIO;
	for (i = 0; err == 0 && i < n; i++) {
		struct dirent_rec *r;

		if (proto_get_str(p, name, sizeof(name)) < 0 ||
		    !proto_name_ok(name)) {
			err = -EIO;
			break;
		}
		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 64;
			d->ents = xrealloc(d->ents, d->cap * sizeof(*d->ents));
		}
		r = &d->ents[d->n];
		if (proto_get_attr(p, &r->attr) < 0) {
			err = -EIO;
			break;
		}
		r->name = xstrdup(name);
		d->n++;
	}
	if (err == 0 && proto_end(p) < 0)
		err = -EIO;
	if (err == 0 && !eof) {
		readdir_page(c, next);
		return;
	}
	if (err < 0) {
		fuse_reply_err(c->req, -err);
		dirh_free(d);
	} else {
		c->fi.fh = (uint64_t)(uintptr_t)d;
		c->fi.keep_cache = 0;
		if (fuse_reply_open(c->req, &c->fi) != 0)
			dirh_free(d);
	}
	call_free(c);
}

static void
readdir_page(struct call *c, uint64_t cookie)
{
	struct proto_buf b;

	request(&b, OP_READDIR);
	proto_put_str(&b, c->dir->path);
	proto_put_u64(&b, cookie);
	proto_put_u32(&b, 1024 * 1024);
	client_call(cfg.client, &b, readdir_done, c);
}

static void
ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct call *c = call_new(req, ino);
	struct dirh *d = xcalloc(1, sizeof(*d));

	if ((d->path = nodes_path(ino)) == NULL) {
		fuse_reply_err(req, ESTALE);
		dirh_free(d);
		call_free(c);
		return;
	}
	d->ino = ino;
	c->dir = d;
	c->fi = *fi;
	readdir_page(c, 0);
}

static void
do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi, int plus)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	char *buf, *path;
	size_t used = 0, total = d->n + 2, i;
	struct fuse_entry_param e;
	struct stat st;

	buf = xmalloc(size);
	for (i = (size_t)off; i < total; i++) {
		const char *name;
		size_t need;

		memset(&e, 0, sizeof(e));
		if (i < 2) {
			/* "." and "..": no lookup reference is taken. */
			name = i == 0 ? "." : "..";
			e.attr.st_mode = S_IFDIR;
			/* glibc hides entries whose d_ino is 0. */
			e.attr.st_ino = i == 0 ? ino : 1;
			if (!plus) {
				need = fuse_add_direntry(req, buf + used,
				    size - used, name, &e.attr, (off_t)i + 1);
			} else
				need = fuse_add_direntry_plus(req, buf + used,
				    size - used, name, &e, (off_t)i + 1);
			if (need > size - used)
				break;
			used += need;
			continue;
		}
		name = d->ents[i - 2].name;
		if (!plus) {
			proto_attr_to_stat(&d->ents[i - 2].attr, &st);
			need = fuse_add_direntry(req, buf + used, size - used,
			    name, &st, (off_t)i + 1);
			if (need > size - used)
				break;
			used += need;
			continue;
		}
		/* Measure first: the entry only counts if it fits. */
		fill_entry(&e, 0, &d->ents[i - 2].attr);
		need = fuse_add_direntry_plus(req, NULL, 0, name, &e, 0);
		if (need > size - used)
			break;
		/* The open directory's node is held by the kernel. */
		if ((path = nodes_child_path(d->ino, name)) == NULL)
			break;
		e.ino = nodes_ref(path, &d->ents[i - 2].attr);
		x_free(path);
		used += fuse_add_direntry_plus(req, buf + used, size - used,
		    name, &e, (off_t)i + 1);
	}
	fuse_reply_buf(req, buf, used);
	x_free(buf);
}

static void
ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void
ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void
ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dirh_free((struct dirh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* files */

static void
open_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_attr a;
	struct fileh *fh;
	uint64_t afh = 0;

	if (err == 0 && (proto_get_u64(p, &afh) < 0 ||
	    proto_get_attr(p, &a) < 0 || proto_end(p) < 0))
		err = -EIO;
	if (err < 0) {
		fuse_reply_err(c->req, -err);
		call_free(c);
		return;
	}
	fh = xmalloc(sizeof(*fh));
	fh->agent_fh = afh;
	fh->epoch = client_epoch(cfg.client);
	c->fi.fh = (uint64_t)(uintptr_t)fh;
	/* Keep the page cache while the file's mtime and size stay. */
	c->fi.keep_cache = nodes_same_data(c->ino, &a);
	nodes_set_flags(c->ino, a.flags);
	/* procfs and sysfs files say size 0 and still hold bytes: read them
	 * straight through, past the page cache's idea of the end. */
	if (a.size == 0)
		c->fi.direct_io = 1;
	if (fuse_reply_open(c->req, &c->fi) != 0) {
		struct proto_buf b;

		request(&b, OP_RELEASE);
		proto_put_u64(&b, afh);
		client_call(cfg.client, &b, release_done, NULL);
		x_free(fh);
	}
	call_free(c);
}

static void
ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct proto_buf b;
	struct call *c;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((c = node_call(req, ino, &b, OP_OPEN)) == NULL)
		return;
	proto_put_u32(&b, O_RDONLY);
	c->fi = *fi;
	client_call(cfg.client, &b, open_done, c);
}

static void
read_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	const uint8_t *data;
	uint32_t n;

	if (err == 0 && (proto_get_bytes(p, &data, &n, (uint32_t)c->size) < 0
	    || proto_end(p) < 0))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else
		fuse_reply_buf(c->req, (const char *)data, n);
	call_free(c);
}

static void
ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fileh *fh = (struct fileh *)(uintptr_t)fi->fh;
	struct proto_buf b;
	struct call *c;

	if (fh->epoch != client_epoch(cfg.client)) {
		/* Opened on an agent connection that is gone. */
		fuse_reply_err(req, EIO);
		return;
	}
	if (size > (size_t)cfg.max_read_kb * 1024)
		size = (size_t)cfg.max_read_kb * 1024;
	c = call_new(req, ino);
	c->size = size;
	request(&b, OP_READ);
	proto_put_u64(&b, fh->agent_fh);
	proto_put_u64(&b, (uint64_t)off);
	proto_put_u32(&b, (uint32_t)size);
	client_call(cfg.client, &b, read_done, c);
}

static void
release_done(void *arg, int err, struct proto_cur *p)
{
	(void)arg;
	(void)err;
	(void)p;
}

static void
ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fileh *fh = (struct fileh *)(uintptr_t)fi->fh;
	struct proto_buf b;

	if (fh->epoch == client_epoch(cfg.client)) {
		request(&b, OP_RELEASE);
		proto_put_u64(&b, fh->agent_fh);
		client_call(cfg.client, &b, release_done, NULL);
	}
	x_free(fh);
	fuse_reply_err(req, 0);
}

static void
statfs_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_statfs s;
	struct statvfs sv;

	if (err == 0 && (proto_get_statfs(p, &s) < 0 || proto_end(p) < 0))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else {
		memset(&sv, 0, sizeof(sv));
		sv.f_bsize = s.bsize;
		sv.f_frsize = s.frsize;
		sv.f_blocks = s.blocks;
		sv.f_bfree = s.bfree;
		sv.f_bavail = s.bavail;
		sv.f_files = s.files;
		sv.f_ffree = s.ffree;
		sv.f_favail = s.favail;
		sv.f_namemax = s.namemax;
		fuse_reply_statfs(c->req, &sv);
	}
	call_free(c);
}

static void
ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct proto_buf b;
	struct call *c;

	if ((c = node_call(req, ino, &b, OP_STATFS)) != NULL)
		client_call(cfg.client, &b, statfs_done, c);
}

static void
xattr_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	const uint8_t *data;
	uint32_t needed, n;

	if (err == 0 && (proto_get_u32(p, &needed) < 0 ||
	    proto_get_bytes(p, &data, &n, PROTO_XATTR_MAX) < 0 ||
	    proto_end(p) < 0))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else if (c->size == 0)
		fuse_reply_xattr(c->req, needed);
	else if (n > c->size)
		fuse_reply_err(c->req, ERANGE);
	else
		fuse_reply_buf(c->req, (const char *)data, n);
	call_free(c);
}

static void
ops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct proto_buf b;
	struct call *c;

	if (strlen(name) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	/* Known to have no xattrs: no round trip (ls -l asks twice per file). */
	if (nodes_flags(ino) & ATTR_NO_XATTR) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if ((c = node_call(req, ino, &b, OP_GETXATTR)) == NULL)
		return;
	c->size = size > PROTO_XATTR_MAX ? PROTO_XATTR_MAX : size;
	proto_put_str(&b, name);
	proto_put_u32(&b, (uint32_t)c->size);
	client_call(cfg.client, &b, xattr_done, c);
}

static void
ops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct proto_buf b;
	struct call *c;

	if (nodes_flags(ino) & ATTR_NO_XATTR) {
		if (size == 0)
			fuse_reply_xattr(req, 0);
		else
			fuse_reply_buf(req, NULL, 0);
		return;
	}
	if ((c = node_call(req, ino, &b, OP_LISTXATTR)) == NULL)
		return;
	c->size = size > PROTO_XATTR_MAX ? PROTO_XATTR_MAX : size;
	proto_put_u32(&b, (uint32_t)c->size);
	client_call(cfg.client, &b, xattr_done, c);
}

static const struct fuse_lowlevel_ops mirror_ops = {
	.init = ops_init,
	.lookup = ops_lookup,
	.forget = ops_forget,
	.forget_multi = ops_forget_multi,
	.getattr = ops_getattr,
	.readlink = ops_readlink,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.readdirplus = ops_readdirplus,
	.releasedir = ops_releasedir,
	.open = ops_open,
	.read = ops_read,
	.release = ops_release,
	.statfs = ops_statfs,
	.getxattr = ops_getxattr,
	.listxattr = ops_listxattr,
};

const struct fuse_lowlevel_ops *
ops_table(const struct ops_config *c)
{
	cfg = *c;
	nodes_init();
	return &mirror_ops;
}
