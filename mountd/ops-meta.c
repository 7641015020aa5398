/*
 * mountd's FUSE operations that read what the target holds and change
 * nothing: lookup and forget, getattr, readlink, directory listings
 * (fetched whole when read from the start, served from the listing
 * after), statfs, getxattr and listxattr. Attributes the mount itself
 * knows (cache.h) are answered without a round trip, and so are the
 * lookups a listing brought by an earlier one answers (dirlist.h).
 * What the agent watches (ATTR_WATCHED) is given to the kernel with the
 * long timeouts (ops_timeout).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "cache.h"
#include "client.h"
#include "clock.h"
#include "dirlist.h"
#include "inval.h"
#include "log.h"
#include "nodes.h"
#include "ops-internal.h"
#include "reply.h"
#include "xmalloc.h"

/* An open directory: every entry, fetched in one go when read from the
 * start (bounded by reply.h's caps). */
struct dirh {
	struct reply_dir list;
	uint64_t	 ino;
	int		 loaded;
	uint64_t	 seq;		/* inval_seq() when it was fetched */
};

/* lookup */

static void entry_reply(struct call *c, struct proto_attr *a, uint64_t seq);
static void dirh_free(struct dirh *d);

/* A lookup the agent answers (ops_entry_done). */
static void
lookup_ask(struct call *c)
{
	struct proto_buf b;

	ops_request(&b, OP_LOOKUP);
	proto_enc_path_req(&b, &(struct proto_path_req){ c->path });
	client_call(ops_cfg.client, &b, ops_entry_done, c);
}

/* A lookup answered from a listing: 1, or 0 (r says ask the agent). */
static int
lookup_listed(struct call *c, enum dirlist_answer r, struct proto_attr *a,
    uint64_t seq)
{
	struct fuse_entry_param e;

	if (r == DIRLIST_ABSENT) {
		memset(&e, 0, sizeof(e));
		e.entry_timeout = ops_negative_timeout(c->ino, seq);
		fuse_reply_entry(c->req, &e);
		ops_call_free(c);
		return 1;
	}
	if (r != DIRLIST_FOUND)
		return 0;
	entry_reply(c, a, seq);
	ops_call_free(c);
	return 1;
}

/* The listing a cold lookup asked for (f->dir) is here: the lookups
 * that waited for it are answered from it, or asked one by one. */
static void
listing_done(void *arg, int err, struct proto_cur *p)
{
	struct call *f = arg, *w, *next;
	struct reply_dir *l = &f->dir->list;
	struct proto_attr a;
	uint64_t seq;
	double now = mono_now();
	int rc = err;

	if (err == 0 && (rc = reply_readdir_page(p, l, now)) < 0 &&
	    ops_bad_reply_log_ok())
		log_warnx("listing %s for a lookup: the agent sent a "
		    "malformed page: its names are asked one by one",
		    f->path);
	/* The agent watches the directory now: when it is opened (a walk
	 * opens it next), the kernel may keep its listing from the first
	 * read on, not from the second walk. Not if an event came since
	 * the ask: it may have been the watch's end. */
	if (rc >= 0 && l->n > 0 && (l->ents[0].attr.flags & ATTR_WATCHED) &&
	    f->seq == inval_seq())
		nodes_set_dir_watched(f->ino, 1);
	w = dirlist_fetched(f->ino, rc < 0 ? NULL : l, rc == 1, f->seq, now,
	    ops_cfg.attr_timeout);
	for (; w != NULL; w = next) {
		enum dirlist_answer r;

		next = w->next_wait;
		/* Asked first: seq is set by the look-up (an argument next
		 * to the call could be read before it). */
		r = dirlist_lookup(w->ino, strrchr(w->path, '/') + 1, NULL, &a,
		    &seq, now);
		if (!lookup_listed(w, r, &a, seq))
			lookup_ask(w);
	}
	dirh_free(f->dir);
	f->dir = NULL;
	ops_call_free(f);
}

/* Asks for the first page of dir's listing, for the lookups waiting. */
static void
listing_fetch(uint64_t dir)
{
	struct call *f = ops_call_new(NULL, dir);
	struct proto_buf b;

	f->dir = xcalloc(1, sizeof(*f->dir));
	reply_dir_init(&f->dir->list);
	reply_dir_start(&f->dir->list, mono_now());
	if ((f->path = nodes_path(dir)) == NULL) {
		listing_done(f, -ENOENT, NULL);
		return;
	}
	ops_request(&b, OP_READDIR);
	proto_enc_readdir_req(&b, &(struct proto_readdir_req){
	    .path = f->path, .cookie = 0, .max = DIRLIST_PAGE_BYTES });
	client_call(ops_cfg.client, &b, listing_done, f);
}

void
ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct call *c;
	struct proto_buf b;
	struct proto_attr a;
	uint64_t seq;
	double left;

	if (strlen(name) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if ((left = cache_dir_absent(parent, name)) > 0) {
		/* A directory this mount made, and not a name it made. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = left;
		fuse_reply_entry(req, &e);
		return;
	}
	if (ops_cfg.attr_timeout <= 0) {
		/* Nothing may be kept: one name, one question. */
		if ((c = ops_child_call(req, parent, name, &b,
		    OP_LOOKUP)) != NULL) {
			proto_enc_path_req(&b, &(struct proto_path_req){
			    c->path });
			client_call(ops_cfg.client, &b, ops_entry_done, c);
		}
		return;
	}
	c = ops_call_new(req, parent);
	c->op = OP_LOOKUP;
	if ((c->path = ops_child_path(req, parent, name)) == NULL) {
		ops_call_free(c);
		return;
	}
	switch (dirlist_lookup(parent, name, c, &a, &seq, mono_now())) {
	case DIRLIST_QUEUED:
		return;
	case DIRLIST_FETCH:
		listing_fetch(parent);
		return;
	case DIRLIST_FOUND:
		(void)lookup_listed(c, DIRLIST_FOUND, &a, seq);
		return;
	case DIRLIST_ABSENT:
		(void)lookup_listed(c, DIRLIST_ABSENT, &a, seq);
		return;
	case DIRLIST_ASK:
		lookup_ask(c);
		return;
	}
}

void
ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	nodes_forget(ino, nlookup);
	fuse_reply_none(req);
}

void
ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	size_t i;

	for (i = 0; i < count; i++)
		nodes_forget(f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

/* A name's attributes (looked up, or just made): the entry for the
 * kernel. */
void
ops_entry_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct fuse_entry_param e;
	struct proto_attr a;

	err = ops_reply_attr(err, p, &a);
	if (err == -ENOENT && c->op == OP_LOOKUP &&
	    ops_cfg.negative_timeout > 0) {
		/* A cached "no such file": ino 0 with a timeout. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = ops_negative_timeout(c->ino, c->seq);
		fuse_reply_entry(c->req, &e);
	} else if (err < 0)
		fuse_reply_err(c->req, -err);
	else
		entry_reply(c, &a, c->seq);
	ops_call_free(c);
}

/* A name's attributes a, from the agent (a reply to a request sent at
 * seq, or a listing asked for then): its node, and the entry for the
 * kernel. */
static void
entry_reply(struct call *c, struct proto_attr *a, uint64_t seq)
{
	struct fuse_entry_param e;
	uint64_t id = nodes_ref(c->path, a);

	if (c->op != OP_LOOKUP) {
		cache_dir_note(c->ino, strrchr(c->path, '/') + 1, 1);
		cache_dir_changed(c->ino, c->op == OP_MKDIR ? 1 : 0, 1);
	}
	if (c->op == OP_MKDIR) {
		cache_set_created(id);
		cache_dir_made(id, ops_cfg.negative_timeout);
	}
	cache_fix_attr(id, a);
	ops_fill_entry(&e, id, a);
	if (c->op == OP_LOOKUP) {
		/* The agent watches the directory: its answers, "no such
		 * name" too, may be kept long. */
		if (a->flags & ATTR_WATCHED)
			nodes_set_dir_watched(c->ino, 1);
		e.attr_timeout = ops_timeout(a, seq, e.attr_timeout);
		e.entry_timeout = ops_timeout(a, seq, e.entry_timeout);
	}
	if (fuse_reply_entry(c->req, &e) != 0)
		nodes_forget(e.ino, 1);
}

void
ops_getattr_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_attr a;
	struct stat st;

	if ((err = ops_reply_attr(err, p, &a)) < 0)
		fuse_reply_err(c->req, -err);
	else {
		nodes_set_flags(c->ino, a.flags);
		cache_fix_attr(c->ino, &a);
		proto_attr_to_stat(&a, &st);
		fuse_reply_attr(c->req, &st, ops_timeout(&a, c->seq,
		    ops_cfg.attr_timeout));
	}
	ops_call_free(c);
}

void
ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t afh = 0;
	struct proto_buf b;
	struct proto_attr a;
	struct stat st;
	struct call *c;
	char *path;
	int est = 1;

	/* Attribute changes made behind are outstanding: their result is
	 * the answer (chown asks before it changes anything). Or the node
	 * was made here and all that happened to it since is known. */
	if (cache_pending_attr(ino, &a) == 0 ||
	    cache_known_attr(ino, ops_cfg.attr_timeout, &a, &est) == 0) {
		/* Guessed times are not for the kernel to keep: it asks
		 * again, and gets the agent's once they are known. */
		proto_attr_to_stat(&a, &st);
		fuse_reply_attr(req, &st, est ? 0 : ops_cfg.attr_timeout);
		return;
	}
	/* An open file is asked by handle: it is the node's own inode even
	 * after a rename or unlink in the target. */
	if ((fi != NULL && (afh = ops_file_fh(fi)) != 0) ||
	    nodes_open_fh(ino, client_epoch(ops_cfg.client), &afh)) {
		c = ops_fh_call(req, ino, &b, OP_FGETATTR);
		proto_enc_fh_req(&b, &(struct proto_fh_req){ afh });
		client_call(ops_cfg.client, &b, ops_getattr_done, c);
		return;
	}
	if ((path = nodes_path(ino)) == NULL) {
		/* Removed, and not open here as a file (a directory, or a
		 * file open before a reconnect): what was last seen, with
		 * no links left, as fstat() shows a removed file. */
		if (cache_last_attr(ino, &a) < 0) {
			fuse_reply_err(req, ESTALE);
			return;
		}
		a.nlink = 0;
		proto_attr_to_stat(&a, &st);
		fuse_reply_attr(req, &st, ops_cfg.attr_timeout);
		return;
	}
	x_free(path);
	if ((c = ops_node_call(req, ino, &b, OP_GETATTR)) != NULL) {
		proto_enc_path_req(&b, &(struct proto_path_req){ c->path });
		client_call(ops_cfg.client, &b, ops_getattr_done, c);
	}
}

static void
readlink_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	char target[PROTO_PATH_MAX + 1];

	if (err == 0 && proto_dec_readlink_rep(p, target, sizeof(target)) < 0)
		err = -EIO;
	/* The agent confines targets; a hostile one would not. c->size is
	 * the link's depth. */
	if (err == 0 && (err = reply_link_target_ok(target,
	    (unsigned int)c->size)) == -EIO && ops_bad_reply_log_ok())
		log_warnx("link %s: the agent's target leaves the mount or is "
		    "not relative: EIO", c->path);
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else
		fuse_reply_readlink(c->req, target);
	ops_call_free(c);
}

void
ops_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct proto_buf b;
	struct call *c = ops_call_new(req, ino);
	unsigned int depth;

	/* Asked by its shallowest name: the target the agent gives for it
	 * climbs least, and must stay inside from every name. */
	if ((c->path = nodes_link_path(ino, &depth)) == NULL) {
		fuse_reply_err(req, ESTALE);
		ops_call_free(c);
		return;
	}
	c->size = depth;
	ops_request_keyed(&b, OP_READLINK, ino);
	proto_enc_path_req(&b, &(struct proto_path_req){ c->path });
	client_call(ops_cfg.client, &b, readlink_done, c);
}

/* directories */

static void
dirh_free(struct dirh *d)
{
	reply_dir_free(&d->list);
	x_free(d);
}

/* The listing bytes one OP_READDIR asks for. */
#define READDIR_PAGE_BYTES	(1024 * 1024)

static void readdir_page(struct call *c, uint64_t cookie);
static void serve_dir(fuse_req_t req, struct dirh *d, size_t size, off_t off,
    int plus);

static void
readdir_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct dirh *d = c->dir;

	if (err == 0) {
		err = reply_readdir_page(p, &d->list, mono_now());
		if (err == 0) {
			readdir_page(c, d->list.cookie);
			return;
		}
		if (err == -EOVERFLOW && ops_bad_reply_log_ok())
			log_warnx("listing %s: past a cap (%u entries, %u MiB, "
			    "%u pages or %.0f s): EIO", c->path,
			    REPLY_DIR_ENTRIES_MAX, REPLY_DIR_BYTES_MAX >> 20,
			    REPLY_DIR_PAGES_MAX, REPLY_DIR_SECONDS_MAX);
		else if (err < 0 && ops_bad_reply_log_ok())
			log_warnx("listing %s: the agent sent a malformed page "
			    "(a bad name or attributes, or no progress): EIO",
			    c->path);
		err = err < 0 ? -EIO : 0;
	}
	if (err == -ENOENT) {
		/* Removed while open: a removed directory is empty. */
		reply_dir_start(&d->list, 0);
		err = 0;
	}
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else
		serve_dir(c->req, d, c->size, (off_t)c->off, (int)c->flags);
	ops_call_free(c);
}

static void
readdir_page(struct call *c, uint64_t cookie)
{
	struct proto_buf b;

	ops_request(&b, OP_READDIR);
	proto_enc_readdir_req(&b, &(struct proto_readdir_req){
	    .path = c->path, .cookie = cookie, .max = READDIR_PAGE_BYTES });
	client_call(ops_cfg.client, &b, readdir_done, c);
}

void
ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirh *d = xcalloc(1, sizeof(*d));

	reply_dir_init(&d->list);
	/* The listing is fetched by the first readdir, and again on every
	 * rewind: a listing shows the directory as it is when read. */
	d->ino = ino;
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->keep_cache = 0;
	/* A directory the agent watches: the kernel may keep the listing
	 * (a change in it comes as an event, which drops it). */
	if (nodes_dir_watched(ino) && ops_cfg.watched_timeout > 0 &&
	    (client_caps(ops_cfg.client) & CAP_WATCH)) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	if (fuse_reply_open(req, fi) != 0)
		dirh_free(d);
}

static void
do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi, int plus)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	struct call *c;
	char *path;

	if (off != 0 && d->loaded) {
		serve_dir(req, d, size, off, plus);
		return;
	}
	reply_dir_start(&d->list, mono_now());
	d->loaded = 1;
	d->seq = inval_seq();
	/* Fetched ahead while its parent was listed: no round trip. */
	if (dirlist_copy(ino, &d->list, d->seq, &d->seq, mono_now())) {
		serve_dir(req, d, size, off, plus);
		return;
	}
	if ((path = nodes_path(ino)) == NULL) {
		serve_dir(req, d, size, off, plus);	/* removed: empty */
		return;
	}
	c = ops_call_new(req, ino);
	c->dir = d;
	c->path = path;
	c->size = size;
	c->off = (uint64_t)off;
	c->flags = (unsigned int)plus;
	readdir_page(c, 0);
}

/* Answers a readdir from the listing held. */
static void
serve_dir(fuse_req_t req, struct dirh *d, size_t size, off_t off, int plus)
{
	uint64_t ino = d->ino;
	char *buf, *path;
	size_t used = 0, total = d->list.n + 2, i;
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
		name = d->list.ents[i - 2].name;
		if (!plus) {
			proto_attr_to_stat(&d->list.ents[i - 2].attr, &st);
			need = fuse_add_direntry(req, buf + used, size - used,
			    name, &st, (off_t)i + 1);
			if (need > size - used)
				break;
			used += need;
			continue;
		}
		/* Measure first: the entry only counts if it fits. */
		ops_fill_entry(&e, 0, &d->list.ents[i - 2].attr);
		need = fuse_add_direntry_plus(req, NULL, 0, name, &e, 0);
		if (need > size - used)
			break;
		/* The open directory's node is held by the kernel. */
		if ((path = nodes_child_path(d->ino, name)) == NULL)
			break;
		e.ino = nodes_ref(path, &d->list.ents[i - 2].attr);
		x_free(path);
		/* A walk opens the subdirectories next: list them ahead. */
		if (S_ISDIR(d->list.ents[i - 2].attr.mode) &&
		    (d->list.ents[i - 2].attr.flags & ATTR_WATCHED) &&
		    dirlist_want(e.ino, mono_now()))
			listing_fetch(e.ino);
		{
			struct proto_attr fixed = d->list.ents[i - 2].attr;

			cache_fix_attr(e.ino, &fixed);
			proto_attr_to_stat(&fixed, &e.attr);
			e.attr_timeout = ops_timeout(&fixed, d->seq,
			    e.attr_timeout);
			e.entry_timeout = ops_timeout(&fixed, d->seq,
			    e.entry_timeout);
			if (fixed.flags & ATTR_WATCHED)
				nodes_set_dir_watched(d->ino, 1);
		}
		used += fuse_add_direntry_plus(req, buf + used, size - used,
		    name, &e, (off_t)i + 1);
	}
	fuse_reply_buf(req, buf, used);
	x_free(buf);
}

void
ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

void
ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

void
ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dirh_free((struct dirh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* the file system, xattrs */

static void
statfs_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_statfs s;
	struct statvfs sv;

	if (err == 0 && proto_dec_statfs_rep(p, &s) < 0)
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else {
		proto_statfs_to_statvfs(&s, &sv);
		fuse_reply_statfs(c->req, &sv);
	}
	ops_call_free(c);
}

void
ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct proto_buf b;
	struct call *c;

	if ((c = ops_node_call(req, ino, &b, OP_STATFS)) != NULL) {
		proto_enc_path_req(&b, &(struct proto_path_req){ c->path });
		client_call(ops_cfg.client, &b, statfs_done, c);
	}
}

static void
xattr_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_xattr_rep r;

	if (err == 0 && (proto_dec_xattr_rep(p, &r) < 0 ||
	    reply_xattr_size_ok(r.needed) < 0 ||
	    (c->op == OP_LISTXATTR && reply_xattr_list_ok(r.value,
	    r.len) < 0)))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else if (c->size == 0)
		fuse_reply_xattr(c->req, r.needed);
	else if (r.len > c->size)
		fuse_reply_err(c->req, ERANGE);
	else
		fuse_reply_buf(c->req, (const char *)r.value, r.len);
	ops_call_free(c);
}

/* An xattr query on a node (name: NULL for a list): by an open handle
 * if there is one (the node's own inode, even unlinked), else by path. */
static void
xattr_send(fuse_req_t req, fuse_ino_t ino, uint16_t path_op, uint16_t fh_op,
    const char *name, size_t size)
{
	struct proto_buf b;
	struct proto_xattr_req r = { .name = name };
	struct call *c;
	uint16_t op = path_op;

	if (nodes_open_fh(ino, client_epoch(ops_cfg.client), &r.fh)) {
		op = fh_op;
		c = ops_fh_call(req, ino, &b, op);
	} else if ((c = ops_node_call(req, ino, &b, op)) == NULL)
		return;
	r.path = c->path;
	c->op = path_op;	/* a list's answer is checked as one */
	c->size = size > PROTO_XATTR_MAX ? PROTO_XATTR_MAX : size;
	r.size = (uint32_t)c->size;
	proto_enc_xattr_req(&b, op, &r);
	client_call(ops_cfg.client, &b, xattr_done, c);
}

void
ops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	if (strlen(name) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	/* Known to have no xattrs: no round trip (ls -l asks twice per file). */
	if (nodes_flags(ino) & ATTR_NO_XATTR) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	xattr_send(req, ino, OP_GETXATTR, OP_FGETXATTR, name, size);
}

void
ops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	if (nodes_flags(ino) & ATTR_NO_XATTR) {
		if (size == 0)
			fuse_reply_xattr(req, 0);
		else
			fuse_reply_buf(req, NULL, 0);
		return;
	}
	xattr_send(req, ino, OP_LISTXATTR, OP_FLISTXATTR, NULL, size);
}
