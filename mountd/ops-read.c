/*
 * mountd's FUSE operations on the read side of an open file: open (the
 * kernel keeps its page cache while the file's mtime and size stay;
 * procfs-like files are read straight through), read (one agent
 * request per kernel read, sized from it; the kernel's readahead makes
 * them large) and release. The handle they share is struct fileh.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "client.h"
#include "nodes.h"
#include "ops-internal.h"
#include "reply.h"
#include "xmalloc.h"

struct fileh *
ops_fileh_new(struct call *c, uint64_t ino, uint64_t afh)
{
	struct fileh *fh = xcalloc(1, sizeof(*fh));

	fh->agent_fh = afh;
	fh->epoch = client_epoch(ops_cfg.client);
	nodes_open_add(ino, afh, fh->epoch);
	c->fi.fh = (uint64_t)(uintptr_t)fh;
	return fh;
}

/* Closes the agent's handle afh; keyed with ino (after the node's
 * outstanding writes) unless ino is 0. */
static void
release_send(struct proto_buf *b, uint64_t ino, uint64_t afh)
{
	if (ino != 0)
		ops_request_keyed(b, OP_RELEASE, ino);
	else
		ops_request(b, OP_RELEASE);
	proto_enc_fh_req(b, &(struct proto_fh_req){ .fh = afh });
	client_call(ops_cfg.client, b, ops_release_done, NULL);
}

void
ops_fileh_abandon(uint64_t ino, struct fileh *fh)
{
	struct proto_buf b;

	nodes_open_del(ino, fh->agent_fh, fh->epoch);
	release_send(&b, 0, fh->agent_fh);
	x_free(fh);
}

int
ops_reply_opened(int err, struct proto_cur *p, uint64_t *afh,
    struct proto_attr *a)
{
	struct proto_open_rep r;

	if (err == 0 && (proto_dec_open_rep(p, &r) < 0 ||
	    reply_attr_ok(&r.attr) < 0))
		return -EIO;
	if (err == 0) {
		*afh = r.fh;
		*a = r.attr;
	}
	return err;
}

static void
open_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_attr a;
	struct fileh *fh;
	uint64_t afh = 0;
	int synthetic;

	if ((err = ops_reply_opened(err, p, &afh, &a)) < 0) {
		fuse_reply_err(c->req, -err);
		ops_call_free(c);
		return;
	}
	fh = ops_fileh_new(c, c->ino, afh);
	/* Keep the page cache while the file's mtime and size stay. */
	c->fi.keep_cache = cache_same_data(c->ino, &a);
	synthetic = (a.flags & ATTR_SYNTHETIC) != 0;
	a.flags &= ~(uint32_t)ATTR_SYNTHETIC;
	nodes_set_flags(c->ino, a.flags);
	cache_fix_attr(c->ino, &a);
	/* procfs and sysfs files say size 0 and still hold bytes: read them
	 * straight through, past the page cache's idea of the end. */
	if (synthetic)
		c->fi.direct_io = 1;
	if (fuse_reply_open(c->req, &c->fi) != 0)
		ops_fileh_abandon(c->ino, fh);
	ops_call_free(c);
}

void
ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct proto_buf b;
	struct call *c;

	if (!ops_cfg.rw && ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    (fi->flags & (O_TRUNC | O_APPEND)))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((c = ops_node_call(req, ino, &b, OP_OPEN)) == NULL)
		return;
	proto_enc_open_req(&b, &(struct proto_open_req){ .path = c->path,
	    .flags = (uint32_t)(fi->flags & OPEN_FLAGS_SENT & ~O_EXCL) });
	c->fi = *fi;
	client_call(ops_cfg.client, &b, open_done, c);
}

static void
read_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_read_rep r;

	if (err == 0 && proto_dec_read_rep(p, (uint32_t)c->size, &r) < 0)
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else
		fuse_reply_buf(c->req, (const char *)r.data, r.len);
	ops_call_free(c);
}

void
ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fileh *fh = (struct fileh *)(uintptr_t)fi->fh;
	struct proto_buf b;
	struct call *c;

	if (fh->epoch != client_epoch(ops_cfg.client)) {
		/* Opened on an agent connection that is gone. */
		fuse_reply_err(req, EIO);
		return;
	}
	cache_write_drain(ino, 0);	/* reads see the writes before them */
	if (size > (size_t)ops_cfg.max_read_kb * 1024)
		size = (size_t)ops_cfg.max_read_kb * 1024;
	c = ops_call_new(req, ino);
	c->size = size;
	ops_request(&b, OP_READ);
	proto_enc_read_req(&b, &(struct proto_read_req){ .fh = fh->agent_fh,
	    .off = (uint64_t)off, .size = (uint32_t)size });
	client_call(ops_cfg.client, &b, read_done, c);
}

void
ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fileh *fh = (struct fileh *)(uintptr_t)fi->fh;
	struct proto_buf b;

	nodes_open_del(ino, fh->agent_fh, fh->epoch);
	if (fh->epoch == client_epoch(ops_cfg.client)) {
		/* Keyed: after the node's outstanding writes. */
		release_send(&b, ino, fh->agent_fh);
	}
	x_free(fh);
	fuse_reply_err(req, 0);
}
