/*
 * The FUSE low-level operations of mountd. Each handler turns a kernel
 * request into an agent request and returns at once; the reply to the
 * kernel (exactly one fuse_reply_* per request) is sent from the
 * callback when the agent answers, so many requests are in flight.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "client.h"
#include "log.h"
#include "nodes.h"
#include "ops.h"
#include "reply.h"
#include "xmalloc.h"

static struct ops_config cfg;

/* Open flags the agent is told about; the rest are this kernel's. */
#define OPEN_FLAGS_SENT	(O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC | \
			 O_EXCL)

/* One request in flight: what the callback needs to answer the kernel. */
struct call {
	fuse_req_t	 req;
	uint64_t	 ino;
	char		*path;
	char		*path2;		/* rename's new name */
	uint64_t	 ino2;		/* rename's new parent */
	uint64_t	 off;		/* a write's offset */
	unsigned int	 flags;		/* rename flags, lock command */
	uint16_t	 op;
	struct retry	*retry;
	size_t		 size;
	struct dirh	*dir;
	struct fileh	*file;
	struct fuse_file_info fi;
};

/* An open directory: every entry, fetched in one go when read from the
 * start (bounded by reply.h's caps). */
struct dirh {
	struct reply_dir list;
	uint64_t	 ino;
	int		 loaded;
};

struct fileh {
	uint64_t	 agent_fh;
	uint64_t	 epoch;
	uint64_t	 written;	/* bytes through this handle (atomic) */
};

/* A handle writes through until it has written this much: a small
 * write (echo > file) hears ENOSPC from write() itself, as on a local
 * disk, and only streaming writers go behind. */
#define WRITE_BEHIND_AFTER	(1024 * 1024)

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
	x_free(c->path2);
	x_free(c);
}

static void
request(struct proto_buf *b, uint16_t op)
{
	proto_buf_init(b, 256);
	proto_begin(b, MSG_REQUEST, op, 0, 0);
}

/* The order key of a node: the agent serves requests about one file in
 * the order they were sent, so those answered before they are done
 * (write-behind) come before whatever follows them. */
static uint32_t
node_key(uint64_t ino)
{
	uint32_t k = (uint32_t)(ino ^ (ino >> 32));

	return k ? k : 1;
}

static void
request_keyed(struct proto_buf *b, uint16_t op, uint64_t ino)
{
	proto_buf_init(b, 256);
	proto_begin(b, MSG_REQUEST, op, 0, node_key(ino));
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
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_POSIX_LOCKS)
		conn->want |= FUSE_CAP_POSIX_LOCKS;
	if (conn->capable & FUSE_CAP_FLOCK_LOCKS)
		conn->want |= FUSE_CAP_FLOCK_LOCKS;
	/* The agent's kernel drops set-user-ID bits on chown itself: no
	 * getattr before every chown. */
	if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV)
		conn->want |= FUSE_CAP_HANDLE_KILLPRIV;
	/* Not safe here: the kernel would trust its own idea of a file's
	 * size and miss changes made in the target. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->max_write = (unsigned)cfg.max_read_kb * 1024;
	conn->max_readahead = (unsigned)cfg.readahead_kb * 1024;
	log_debug("FUSE capabilities: kernel 0x%x, asked 0x%x", conn->capable,
	    conn->want);
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	(void)userdata;
}

/* lookup */

static void entry_done(void *arg, int err, struct proto_cur *p);

static void
ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct call *c;
	struct proto_buf b;
	double left;

	if (strlen(name) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if ((left = nodes_dir_absent(parent, name)) > 0) {
		/* A directory this mount made, and not a name it made. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = left;
		fuse_reply_entry(req, &e);
		return;
	}
	c = call_new(req, parent);
	if ((c->path = nodes_child_path(parent, name)) == NULL ||
	    strlen(c->path) > PROTO_PATH_MAX) {
		fuse_reply_err(req, c->path ? ENAMETOOLONG : ENOENT);
		call_free(c);
		return;
	}
	c->op = OP_LOOKUP;
	request(&b, OP_LOOKUP);
	proto_put_str(&b, c->path);
	client_call(cfg.client, &b, entry_done, c);
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
	request_keyed(b, op, ino);
	proto_put_str(b, c->path);
	return c;
}

static uint64_t file_fh(const struct fuse_file_info *);

static void
getattr_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_attr a;
	struct stat st;

	if (err == 0 && (reply_get_attr(p, &a) < 0 || proto_end(p) < 0))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else {
		nodes_set_flags(c->ino, a.flags);
		nodes_fix_attr(c->ino, &a);
		proto_attr_to_stat(&a, &st);
		fuse_reply_attr(c->req, &st, cfg.attr_timeout);
	}
	call_free(c);
}

static void
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
	if (nodes_pending_attr(ino, &a) == 0 ||
	    nodes_known_attr(ino, cfg.attr_timeout, &a, &est) == 0) {
		/* Guessed times are not for the kernel to keep: it asks
		 * again, and gets the agent's once they are known. */
		proto_attr_to_stat(&a, &st);
		fuse_reply_attr(req, &st, est ? 0 : cfg.attr_timeout);
		return;
	}
	/* An open file is asked by handle: it is the node's own inode even
	 * after a rename or unlink in the target. */
	if ((fi != NULL && (afh = file_fh(fi)) != 0) ||
	    nodes_open_fh(ino, client_epoch(cfg.client), &afh)) {
		c = call_new(req, ino);
		request_keyed(&b, OP_FGETATTR, ino);
		proto_put_u64(&b, afh);
		client_call(cfg.client, &b, getattr_done, c);
		return;
	}
	if ((path = nodes_path(ino)) == NULL) {
		/* Removed, and not open here as a file (a directory, or a
		 * file open before a reconnect): what was last seen, with
		 * no links left, as fstat() shows a removed file. */
		if (nodes_cached_attr(ino, &a) < 0) {
			fuse_reply_err(req, ESTALE);
			return;
		}
		a.nlink = 0;
		proto_attr_to_stat(&a, &st);
		fuse_reply_attr(req, &st, cfg.attr_timeout);
		return;
	}
	x_free(path);
	if ((c = node_call(req, ino, &b, OP_GETATTR)) != NULL)
		client_call(cfg.client, &b, getattr_done, c);
}

/* Lines about bad answers from the agent: a hostile one would answer
 * badly all day, and the log is on a small file system (/run). Ten a
 * minute. */
#define BAD_REPLY_LINES_PER_MIN	10
static pthread_mutex_t bad_reply_mtx = PTHREAD_MUTEX_INITIALIZER;
static time_t bad_reply_minute;		/* bad_reply_mtx */
static unsigned int bad_reply_lines;	/* bad_reply_mtx */

static int
bad_reply_log_ok(void)
{
	time_t m = time(NULL) / 60;
	int ok;

	pthread_mutex_lock(&bad_reply_mtx);
	if (m != bad_reply_minute) {
		bad_reply_minute = m;
		bad_reply_lines = 0;
	}
	ok = bad_reply_lines++ < BAD_REPLY_LINES_PER_MIN;
	pthread_mutex_unlock(&bad_reply_mtx);
	return ok;
}

static void
readlink_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	char target[PROTO_PATH_MAX + 1];

	if (err == 0 && (proto_get_str(p, target, sizeof(target)) < 0 ||
	    proto_end(p) < 0))
		err = -EIO;
	/* The agent confines targets; a hostile one would not. c->size is
	 * the link's depth. */
	if (err == 0 && (err = reply_link_target_ok(target,
	    (unsigned int)c->size)) == -EIO && bad_reply_log_ok())
		log_warnx("link %s: the agent's target leaves the mount or is "
		    "not relative: EIO", c->path);
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
	struct call *c = call_new(req, ino);
	unsigned int depth;

	/* Asked by its shallowest name: the target the agent gives for it
	 * climbs least, and must stay inside from every name. */
	if ((c->path = nodes_link_path(ino, &depth)) == NULL) {
		fuse_reply_err(req, ESTALE);
		call_free(c);
		return;
	}
	c->size = depth;
	request_keyed(&b, OP_READLINK, ino);
	proto_put_str(&b, c->path);
	client_call(cfg.client, &b, readlink_done, c);
}

/* directories */

static void
dirh_free(struct dirh *d)
{
	reply_dir_free(&d->list);
	x_free(d);
}

static void readdir_page(struct call *c, uint64_t cookie);
static void release_done(void *arg, int err, struct proto_cur *p);
static void serve_dir(fuse_req_t req, struct dirh *d, size_t size, off_t off,
    int plus);

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
		if (err == -EOVERFLOW && bad_reply_log_ok())
			log_warnx("listing %s: past a cap (%u entries, %u MiB, "
			    "%u pages or %.0f s): EIO", c->path,
			    REPLY_DIR_ENTRIES_MAX, REPLY_DIR_BYTES_MAX >> 20,
			    REPLY_DIR_PAGES_MAX, REPLY_DIR_SECONDS_MAX);
		else if (err < 0 && bad_reply_log_ok())
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
	call_free(c);
}

static void
readdir_page(struct call *c, uint64_t cookie)
{
	struct proto_buf b;

	request(&b, OP_READDIR);
	proto_put_str(&b, c->path);
	proto_put_u64(&b, cookie);
	proto_put_u32(&b, 1024 * 1024);
	client_call(cfg.client, &b, readdir_done, c);
}

static void
ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirh *d = xcalloc(1, sizeof(*d));

	reply_dir_init(&d->list);
	/* The listing is fetched by the first readdir, and again on every
	 * rewind: a listing shows the directory as it is when read. */
	d->ino = ino;
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->keep_cache = 0;
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
	if ((path = nodes_path(ino)) == NULL) {
		serve_dir(req, d, size, off, plus);	/* removed: empty */
		return;
	}
	c = call_new(req, ino);
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
		fill_entry(&e, 0, &d->list.ents[i - 2].attr);
		need = fuse_add_direntry_plus(req, NULL, 0, name, &e, 0);
		if (need > size - used)
			break;
		/* The open directory's node is held by the kernel. */
		if ((path = nodes_child_path(d->ino, name)) == NULL)
			break;
		e.ino = nodes_ref(path, &d->list.ents[i - 2].attr);
		x_free(path);
		{
			struct proto_attr fixed = d->list.ents[i - 2].attr;

			nodes_fix_attr(e.ino, &fixed);
			proto_attr_to_stat(&fixed, &e.attr);
		}
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
	int synthetic;

	if (err == 0 && (proto_get_u64(p, &afh) < 0 ||
	    reply_get_attr(p, &a) < 0 || proto_end(p) < 0))
		err = -EIO;
	if (err < 0) {
		fuse_reply_err(c->req, -err);
		call_free(c);
		return;
	}
	fh = xcalloc(1, sizeof(*fh));
	fh->agent_fh = afh;
	fh->epoch = client_epoch(cfg.client);
	nodes_open_add(c->ino, afh, fh->epoch);
	c->fi.fh = (uint64_t)(uintptr_t)fh;
	/* Keep the page cache while the file's mtime and size stay. */
	c->fi.keep_cache = nodes_same_data(c->ino, &a);
	synthetic = (a.flags & ATTR_SYNTHETIC) != 0;
	a.flags &= ~(uint32_t)ATTR_SYNTHETIC;
	nodes_set_flags(c->ino, a.flags);
	nodes_fix_attr(c->ino, &a);
	/* procfs and sysfs files say size 0 and still hold bytes: read them
	 * straight through, past the page cache's idea of the end. */
	if (synthetic)
		c->fi.direct_io = 1;
	if (fuse_reply_open(c->req, &c->fi) != 0) {
		struct proto_buf b;

		request(&b, OP_RELEASE);
		proto_put_u64(&b, afh);
		client_call(cfg.client, &b, release_done, NULL);
		nodes_open_del(c->ino, afh, fh->epoch);
		x_free(fh);
	}
	call_free(c);
}

static void
ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct proto_buf b;
	struct call *c;

	if (!cfg.rw && ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    (fi->flags & (O_TRUNC | O_APPEND)))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((c = node_call(req, ino, &b, OP_OPEN)) == NULL)
		return;
	proto_put_u32(&b, (uint32_t)(fi->flags & OPEN_FLAGS_SENT & ~O_EXCL));
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
	nodes_write_drain(ino, 0);	/* reads see the writes before them */
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

	nodes_open_del(ino, fh->agent_fh, fh->epoch);
	if (fh->epoch == client_epoch(cfg.client)) {
		/* Keyed: after the node's outstanding writes. */
		request_keyed(&b, OP_RELEASE, ino);
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
	    proto_end(p) < 0 || reply_xattr_size_ok(needed) < 0 ||
	    (c->op == OP_LISTXATTR && reply_xattr_list_ok(data, n) < 0)))
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

/* An xattr request on a node: by an open handle if there is one (the
 * node's own inode, even unlinked), else by path. */
static struct call *
xattr_call(fuse_req_t req, fuse_ino_t ino, struct proto_buf *b,
    uint16_t path_op, uint16_t fh_op)
{
	uint64_t afh;
	struct call *c;

	if (nodes_open_fh(ino, client_epoch(cfg.client), &afh)) {
		c = call_new(req, ino);
		request_keyed(b, fh_op, ino);
		proto_put_u64(b, afh);
		return c;
	}
	return node_call(req, ino, b, path_op);
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
	if ((c = xattr_call(req, ino, &b, OP_GETXATTR, OP_FGETXATTR)) == NULL)
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
	if ((c = xattr_call(req, ino, &b, OP_LISTXATTR, OP_FLISTXATTR)) ==
	    NULL)
		return;
	c->op = OP_LISTXATTR;	/* its answer is a list of names */
	c->size = size > PROTO_XATTR_MAX ? PROTO_XATTR_MAX : size;
	proto_put_u32(&b, (uint32_t)c->size);
	client_call(cfg.client, &b, xattr_done, c);
}

/* ------------------------------------------------------------------ */
/* Writing. Every write is answered once the agent has done it: a
 * change made through the mount is in the target when the syscall
 * returns (there is no writeback cache to lose on a dropped link). */

/* The agent handle of an open file, or 0 after a reconnect (the agent
 * closed it: the caller answers EIO). */
static uint64_t
file_fh(const struct fuse_file_info *fi)
{
	struct fileh *fh = (struct fileh *)(uintptr_t)fi->fh;

	if (fh == NULL || fh->epoch != client_epoch(cfg.client))
		return 0;
	return fh->agent_fh;
}

/* Replies with no payload: 0 or the agent's errno. */
static void
status_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	if (err == 0 && proto_end(p) < 0)
		err = -EIO;
	fuse_reply_err(c->req, -err);
	call_free(c);
}

/* A name's attributes (looked up, or just made): the entry for the
 * kernel. */
static void
entry_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct fuse_entry_param e;
	struct proto_attr a;

	if (err == 0 && (reply_get_attr(p, &a) < 0 || proto_end(p) < 0))
		err = -EIO;
	if (err == -ENOENT && c->op == OP_LOOKUP && cfg.negative_timeout > 0) {
		/* A cached "no such file": ino 0 with a timeout. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = cfg.negative_timeout;
		fuse_reply_entry(c->req, &e);
	} else if (err < 0)
		fuse_reply_err(c->req, -err);
	else {
		uint64_t id = nodes_ref(c->path, &a);

		if (c->op != OP_LOOKUP) {
			nodes_dir_note(c->ino, strrchr(c->path, '/') + 1, 1);
			nodes_dir_changed(c->ino, c->op == OP_MKDIR ? 1 : 0, 1);
		}
		if (c->op == OP_MKDIR) {
			nodes_set_created(id);
			nodes_dir_made(id, cfg.negative_timeout);
		}
		nodes_fix_attr(id, &a);
		fill_entry(&e, id, &a);
		if (fuse_reply_entry(c->req, &e) != 0)
			nodes_forget(e.ino, 1);
	}
	call_free(c);
}

/* The caller's ids: what it makes is its own. */
static void
put_owner(struct proto_buf *b, fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	proto_put_u32(b, (uint32_t)ctx->uid);
	proto_put_u32(b, (uint32_t)ctx->gid);
}

/* Starts a request on parent/name; replies itself on a bad name. */
static struct call *
child_call(fuse_req_t req, fuse_ino_t parent, const char *name,
    struct proto_buf *b, uint16_t op)
{
	struct call *c;

	if (strlen(name) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return NULL;
	}
	c = call_new(req, parent);
	c->op = op;
	if ((c->path = nodes_child_path(parent, name)) == NULL ||
	    strlen(c->path) > PROTO_PATH_MAX) {
		/* Deeper than the protocol carries. */
		fuse_reply_err(req, c->path ? ENAMETOOLONG : ENOENT);
		call_free(c);
		return NULL;
	}
	request(b, op);
	proto_put_str(b, c->path);
	return c;
}

static void
create_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct fuse_entry_param e;
	struct proto_attr a;
	struct fileh *fh;
	uint64_t afh = 0;

	if (err == 0 && (proto_get_u64(p, &afh) < 0 ||
	    reply_get_attr(p, &a) < 0 || proto_end(p) < 0))
		err = -EIO;
	if (err < 0) {
		fuse_reply_err(c->req, -err);
		call_free(c);
		return;
	}
	fill_entry(&e, nodes_ref(c->path, &a), &a);
	nodes_same_data(e.ino, &a);
	nodes_set_created(e.ino);
	nodes_dir_note(c->ino, strrchr(c->path, '/') + 1, 1);
	nodes_dir_changed(c->ino, 0, 1);
	fh = xcalloc(1, sizeof(*fh));
	fh->agent_fh = afh;
	fh->epoch = client_epoch(cfg.client);
	nodes_open_add(e.ino, afh, fh->epoch);
	c->fi.fh = (uint64_t)(uintptr_t)fh;
	c->fi.keep_cache = 0;
	if (fuse_reply_create(c->req, &e, &c->fi) != 0) {
		struct proto_buf b;

		nodes_open_del(e.ino, afh, fh->epoch);
		nodes_forget(e.ino, 1);
		request(&b, OP_RELEASE);
		proto_put_u64(&b, afh);
		client_call(cfg.client, &b, release_done, NULL);
		x_free(fh);
	}
	call_free(c);
}

static void
ops_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct proto_buf b;
	struct call *c;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((c = child_call(req, parent, name, &b, OP_CREATE)) == NULL)
		return;
	proto_put_u32(&b, (uint32_t)(fi->flags & OPEN_FLAGS_SENT));
	proto_put_u32(&b, (uint32_t)(mode & 07777));
	put_owner(&b, req);
	c->fi = *fi;
	client_call(cfg.client, &b, create_done, c);
}

static void
write_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	uint32_t n = 0;

	if (err == 0 && (proto_get_u32(p, &n) < 0 || proto_end(p) < 0 ||
	    n > c->size))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else {
		nodes_wrote(c->ino, c->off + n);
		fuse_reply_write(c->req, n);
	}
	call_free(c);
}

/* A write already answered: its outcome is kept on the node for the
 * next write, fsync or close. */
static void
write_behind_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	uint32_t n = 0;

	if (err == 0 && (proto_get_u32(p, &n) < 0 || proto_end(p) < 0 ||
	    n != c->size))
		err = -EIO;
	if (err == 0)
		nodes_wrote(c->ino, c->off + n);
	nodes_write_end(c->ino, c->size, err);
	call_free(c);
}

static void
ops_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	uint64_t afh = file_fh(fi);
	uint64_t window = (uint64_t)cfg.write_behind_kb * 1024;
	struct proto_buf b;
	struct call *c;
	int rc;

	if (afh == 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (size > PROTO_WRITE_MAX)
		size = PROTO_WRITE_MAX;	/* a short write; the kernel goes on */
	c = call_new(req, ino);
	c->size = size;
	c->off = (uint64_t)off;
	proto_buf_init(&b, size + 64);
	proto_begin(&b, MSG_REQUEST, OP_WRITE, 0, node_key(ino));
	proto_put_u64(&b, afh);
	proto_put_u64(&b, (uint64_t)off);
	proto_put_bytes(&b, buf, size);
	if (window == 0 || __atomic_fetch_add(&((struct fileh *)(uintptr_t)
	    fi->fh)->written, size, __ATOMIC_RELAXED) < WRITE_BEHIND_AFTER) {
		/* Write-through: answered when the agent has written. */
		if ((rc = nodes_write_drain(ino, 1)) < 0) {
			proto_buf_free(&b);
			fuse_reply_err(req, -rc);
			call_free(c);
			return;
		}
		client_call(cfg.client, &b, write_done, c);
		return;
	}
	if ((rc = nodes_write_begin(ino, (uint64_t)off + size, size,
	    window)) < 0) {
		/* An earlier write failed: this writer hears it now. */
		nodes_write_drain(ino, 1);
		proto_buf_free(&b);
		fuse_reply_err(req, -rc);
		call_free(c);
		return;
	}
	c->req = NULL;
	client_call(cfg.client, &b, write_behind_done, c);
	fuse_reply_write(req, size);
}

static void
setattr_behind_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_attr a;

	if (err == 0 && (reply_get_attr(p, &a) < 0 || proto_end(p) < 0))
		err = -EIO;
	nodes_setattr_end(c->ino, err, err == 0 ? &a : NULL);
	call_free(c);
}

/*
 * chmod, chown and utimens of a file made through this mount and open
 * here: answered now with the attributes they leave, done by the agent
 * through the open handle, in order with everything else about the
 * file (tar and git do these on every file they write). An error waits
 * for the next fsync or close. 1 if it went so, 0: do it the slow way.
 */
static int
setattr_behind(fuse_req_t req, fuse_ino_t ino, const struct stat *attr,
    uint32_t set, uint64_t afh)
{
	uint64_t epoch = client_epoch(cfg.client);
	struct nodes_setattr sa;
	struct proto_attr a;
	struct timespec now;
	struct proto_buf b;
	struct stat st;
	struct call *c;

	if (cfg.write_behind_kb == 0 ||
	    (afh == 0 && !nodes_open_fh(ino, epoch, &afh)))
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&sa, 0, sizeof(sa));
	sa.set_mode = (set & SETATTR_MODE) != 0;
	sa.set_uid = (set & SETATTR_UID) != 0;
	sa.set_gid = (set & SETATTR_GID) != 0;
	sa.set_atime = (set & (SETATTR_ATIME | SETATTR_ATIME_NOW)) != 0;
	sa.set_mtime = (set & (SETATTR_MTIME | SETATTR_MTIME_NOW)) != 0;
	sa.mode = (uint32_t)attr->st_mode;
	sa.uid = (uint32_t)attr->st_uid;
	sa.gid = (uint32_t)attr->st_gid;
	sa.now_sec = now.tv_sec;
	sa.now_nsec = (uint32_t)now.tv_nsec;
	/* "now" is this machine's clock, sent as a time, so the reply and
	 * the target agree. */
	if (set & SETATTR_ATIME_NOW) {
		set = (set & ~(uint32_t)SETATTR_ATIME_NOW) | SETATTR_ATIME;
		sa.atime_sec = now.tv_sec;
		sa.atime_nsec = (uint32_t)now.tv_nsec;
	} else {
		sa.atime_sec = attr->st_atim.tv_sec;
		sa.atime_nsec = (uint32_t)attr->st_atim.tv_nsec;
	}
	if (set & SETATTR_MTIME_NOW) {
		set = (set & ~(uint32_t)SETATTR_MTIME_NOW) | SETATTR_MTIME;
		sa.mtime_sec = now.tv_sec;
		sa.mtime_nsec = (uint32_t)now.tv_nsec;
	} else {
		sa.mtime_sec = attr->st_mtim.tv_sec;
		sa.mtime_nsec = (uint32_t)attr->st_mtim.tv_nsec;
	}
	if (nodes_setattr_begin(ino, &sa, &a) < 0)
		return 0;
	c = call_new(NULL, ino);
	request_keyed(&b, OP_SETATTR, ino);
	proto_put_str(&b, "/");		/* by handle */
	proto_put_u64(&b, afh);
	proto_put_u32(&b, set);
	proto_put_u32(&b, sa.mode);
	proto_put_u32(&b, sa.uid);
	proto_put_u32(&b, sa.gid);
	proto_put_u64(&b, 0);
	proto_put_u64(&b, (uint64_t)sa.atime_sec);
	proto_put_u32(&b, sa.atime_nsec);
	proto_put_u64(&b, (uint64_t)sa.mtime_sec);
	proto_put_u32(&b, sa.mtime_nsec);
	client_call(cfg.client, &b, setattr_behind_done, c);
	proto_attr_to_stat(&a, &st);
	fuse_reply_attr(req, &st, 0);	/* ctime is a guess: not to keep */
	return 1;
}

static void
ops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	uint64_t afh = 0, epoch = client_epoch(cfg.client);
	struct proto_buf b;
	struct call *c;
	uint32_t set = 0;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (fi != NULL && (afh = file_fh(fi)) == 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	c = call_new(req, ino);
	c->path = nodes_path(ino);
	/* No name left (open, then unlinked): by an open handle. */
	if (afh == 0 && c->path == NULL && !nodes_open_fh(ino, epoch, &afh)) {
		fuse_reply_err(req, ESTALE);
		call_free(c);
		return;
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		set |= SETATTR_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		set |= SETATTR_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		set |= SETATTR_GID;
	if (to_set & FUSE_SET_ATTR_SIZE)
		set |= SETATTR_SIZE;
	if (to_set & FUSE_SET_ATTR_ATIME)
		set |= (to_set & FUSE_SET_ATTR_ATIME_NOW) ? SETATTR_ATIME_NOW :
		    SETATTR_ATIME;
	if (to_set & FUSE_SET_ATTR_MTIME)
		set |= (to_set & FUSE_SET_ATTR_MTIME_NOW) ? SETATTR_MTIME_NOW :
		    SETATTR_MTIME;
	if (!(set & SETATTR_SIZE) && setattr_behind(req, ino, attr, set, afh)) {
		call_free(c);
		return;
	}
	request_keyed(&b, OP_SETATTR, ino);
	proto_put_str(&b, c->path ? c->path : "/");
	proto_put_u64(&b, afh);
	proto_put_u32(&b, set);
	proto_put_u32(&b, (uint32_t)attr->st_mode);
	proto_put_u32(&b, (uint32_t)attr->st_uid);
	proto_put_u32(&b, (uint32_t)attr->st_gid);
	proto_put_u64(&b, (uint64_t)attr->st_size);
	proto_put_u64(&b, (uint64_t)attr->st_atim.tv_sec);
	proto_put_u32(&b, (uint32_t)attr->st_atim.tv_nsec);
	proto_put_u64(&b, (uint64_t)attr->st_mtim.tv_sec);
	proto_put_u32(&b, (uint32_t)attr->st_mtim.tv_nsec);
	client_call(cfg.client, &b, getattr_done, c);
}

static void
do_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi, int dir)
{
	uint64_t afh = 0;
	struct proto_buf b;
	struct call *c;

	int rc;

	if (!dir && (afh = file_fh(fi)) == 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	/* Outstanding writes first; their error is fsync's. */
	if (!dir && (rc = nodes_write_drain(ino, 1)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	c = call_new(req, ino);
	if (dir && (c->path = nodes_path(ino)) == NULL) {
		fuse_reply_err(req, ESTALE);
		call_free(c);
		return;
	}
	request_keyed(&b, OP_FSYNC, ino);
	proto_put_u64(&b, afh);
	proto_put_u8(&b, datasync ? 1 : 0);
	proto_put_str(&b, c->path ? c->path : "/");
	client_call(cfg.client, &b, status_done, c);
}

static void
ops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	do_fsync(req, ino, datasync, fi, 0);
}

static void
ops_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	do_fsync(req, ino, datasync, fi, 1);
}

static void
ops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	struct proto_buf b;
	struct call *c;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((c = child_call(req, parent, name, &b, OP_MKNOD)) == NULL)
		return;
	proto_put_u32(&b, (uint32_t)mode);
	proto_put_u64(&b, (uint64_t)rdev);
	put_owner(&b, req);
	client_call(cfg.client, &b, entry_done, c);
}

static void
ops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct proto_buf b;
	struct call *c;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((c = child_call(req, parent, name, &b, OP_MKDIR)) == NULL)
		return;
	proto_put_u32(&b, (uint32_t)(mode & 07777));
	put_owner(&b, req);
	client_call(cfg.client, &b, entry_done, c);
}

static void
ops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	struct proto_buf b;
	struct call *c;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (strlen(link) > PROTO_PATH_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if ((c = child_call(req, parent, name, &b, OP_SYMLINK)) == NULL)
		return;
	proto_put_str(&b, link);
	put_owner(&b, req);
	client_call(cfg.client, &b, entry_done, c);
}

static void
unlink_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	if (err == 0 && proto_end(p) < 0)
		err = -EIO;
	if (err == 0) {
		nodes_unlinked(c->path);
		nodes_dir_note(c->ino, strrchr(c->path, '/') + 1, 0);
		nodes_dir_changed(c->ino, c->op == OP_RMDIR ? -1 : 0, 1);
	}
	fuse_reply_err(c->req, -err);
	call_free(c);
}

static void
do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, uint16_t op)
{
	struct proto_buf b;
	struct call *c;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((c = child_call(req, parent, name, &b, op)) != NULL)
		client_call(cfg.client, &b, unlink_done, c);
}

static void
ops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, OP_UNLINK);
}

static void
ops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, OP_RMDIR);
}

static void
rename_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	if (err == 0 && proto_end(p) < 0)
		err = -EIO;
	if (err == 0) {
		nodes_renamed(c->path, c->path2,
		    (c->flags & RENAME_EXCHANGE) != 0);
		if (!(c->flags & RENAME_EXCHANGE))
			nodes_dir_note(c->ino, strrchr(c->path, '/') + 1, 0);
		nodes_dir_note(c->ino2, strrchr(c->path2, '/') + 1, 1);
		nodes_dir_changed(c->ino, 0, 0);
		nodes_dir_changed(c->ino2, 0, 0);
	}
	fuse_reply_err(c->req, -err);
	call_free(c);
}

static void
ops_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct proto_buf b;
	struct call *c;
	uint32_t wire = 0;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (flags & ~(unsigned int)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (strlen(newname) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if ((c = child_call(req, parent, name, &b, OP_RENAME)) == NULL)
		return;
	if ((c->path2 = nodes_child_path(newparent, newname)) == NULL ||
	    strlen(c->path2) > PROTO_PATH_MAX) {
		proto_buf_free(&b);
		fuse_reply_err(req, c->path2 ? ENAMETOOLONG : ENOENT);
		call_free(c);
		return;
	}
	c->flags = flags;
	c->ino2 = newparent;
	if (flags & RENAME_NOREPLACE)
		wire |= 1;
	if (flags & RENAME_EXCHANGE)
		wire |= 2;
	proto_put_str(&b, c->path2);
	proto_put_u32(&b, wire);
	client_call(cfg.client, &b, rename_done, c);
}

static void
ops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	struct proto_buf b;
	struct call *c;
	char *from;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((from = nodes_path(ino)) == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((c = child_call(req, newparent, newname, &b, OP_LINK)) == NULL) {
		x_free(from);
		return;
	}
	/* The request is "from, to": rebuild it in that order. */
	proto_buf_free(&b);
	request(&b, OP_LINK);
	proto_put_str(&b, from);
	proto_put_str(&b, c->path);
	x_free(from);
	client_call(cfg.client, &b, entry_done, c);
}

static void
setxattr_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	if (err == 0 && proto_end(p) < 0)
		err = -EIO;
	/* Whatever happened, ask the agent next time. */
	nodes_set_flags(c->ino, nodes_flags(c->ino) & ~ATTR_NO_XATTR);
	fuse_reply_err(c->req, -err);
	call_free(c);
}

/* setxattr and removexattr: path and handle in one request. */
static struct call *
setxattr_call(fuse_req_t req, fuse_ino_t ino, struct proto_buf *b,
    uint16_t op)
{
	uint64_t afh = 0;
	struct call *c = call_new(req, ino);

	c->path = nodes_path(ino);
	if (!nodes_open_fh(ino, client_epoch(cfg.client), &afh) &&
	    c->path == NULL) {
		fuse_reply_err(req, ESTALE);
		call_free(c);
		return NULL;
	}
	request_keyed(b, op, ino);
	proto_put_str(b, c->path ? c->path : "/");
	proto_put_u64(b, afh);
	return c;
}

static void
ops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	struct proto_buf b;
	struct call *c;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (strlen(name) > PROTO_NAME_MAX || name[0] == '\0') {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (size > PROTO_XATTR_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	if ((c = setxattr_call(req, ino, &b, OP_SETXATTR)) == NULL)
		return;
	proto_put_str(&b, name);
	proto_put_bytes(&b, value, size);
	proto_put_u32(&b, (uint32_t)flags);
	client_call(cfg.client, &b, setxattr_done, c);
}

static void
ops_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct proto_buf b;
	struct call *c;

	if (!cfg.rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (strlen(name) > PROTO_NAME_MAX || name[0] == '\0') {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (nodes_flags(ino) & ATTR_NO_XATTR) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if ((c = setxattr_call(req, ino, &b, OP_REMOVEXATTR)) == NULL)
		return;
	proto_put_str(&b, name);
	client_call(cfg.client, &b, setxattr_done, c);
}

static void
ops_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
    off_t len, struct fuse_file_info *fi)
{
	uint64_t afh = file_fh(fi);
	struct proto_buf b;
	struct call *c;

	if (afh == 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	nodes_forget_attr(ino);
	c = call_new(req, ino);
	request_keyed(&b, OP_FALLOCATE, ino);
	proto_put_u64(&b, afh);
	proto_put_u32(&b, (uint32_t)mode);
	proto_put_u64(&b, (uint64_t)off);
	proto_put_u64(&b, (uint64_t)len);
	client_call(cfg.client, &b, status_done, c);
}

/* ------------------------------------------------------------------ */
/* Locks. POSIX locks and flock are held by the agent on the target's
 * file, so processes in the target see them. The agent never blocks:
 * a waiting lock (F_SETLKW, flock without LOCK_NB) is asked again here
 * until it is granted or the caller is interrupted. */

struct retry {
	struct call	*c;
	uint8_t		*msg;		/* the request, to send again */
	size_t		 len;
	unsigned int	 delay_ms;
};

static void lock_done(void *arg, int err, struct proto_cur *p);

static void
lock_send(struct call *c)
{
	struct retry *r = c->retry;
	struct proto_buf b;

	proto_buf_init(&b, r->len);
	memcpy(b.data, r->msg, r->len);
	b.len = r->len;
	client_call(cfg.client, &b, lock_done, c);
}

/* Lock waits in progress (retry threads), and whether mountd is going
 * away: ops_stop() ends them before the session does. */
static int nwaiting;			/* atomic */
static int stopping;			/* atomic */

static void *
retry_thread(void *arg)
{
	struct call *c = arg;
	struct timespec ts;
	unsigned int ms = c->retry->delay_ms;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	if (fuse_req_interrupted(c->req) ||
	    __atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
		fuse_reply_err(c->req, EINTR);
		x_free(c->retry->msg);
		x_free(c->retry);
		call_free(c);
	} else
		lock_send(c);
	__atomic_sub_fetch(&nwaiting, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

void
ops_stop(void)
{
	int i;

	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	/* A retry thread sleeps at most 200 ms. */
	for (i = 0; i < 100 && __atomic_load_n(&nwaiting, __ATOMIC_ACQUIRE);
	    i++)
		usleep(10000);
}

static void
lock_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct retry *r = c->retry;
	struct flock fl;
	uint8_t type;
	uint64_t start, len;
	pthread_t t;
	pthread_attr_t ta;

	if (err == -EAGAIN && r->delay_ms > 0) {
		/* Wait, and ask again; 10 ms doubling up to 200 ms. */
		if (r->delay_ms < 200)
			r->delay_ms = r->delay_ms * 2 > 200 ? 200 :
			    r->delay_ms * 2;
		pthread_attr_init(&ta);
		pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
		__atomic_add_fetch(&nwaiting, 1, __ATOMIC_ACQ_REL);
		if (pthread_create(&t, &ta, retry_thread, c) == 0) {
			pthread_attr_destroy(&ta);
			return;
		}
		__atomic_sub_fetch(&nwaiting, 1, __ATOMIC_ACQ_REL);
		pthread_attr_destroy(&ta);
		err = -ENOLCK;
	}
	if (c->op == OP_LOCK && c->flags == LOCK_CMD_GET && err == 0) {
		if (proto_get_u8(p, &type) < 0 || proto_get_u64(p, &start) < 0
		    || proto_get_u64(p, &len) < 0 || proto_end(p) < 0 ||
		    reply_lock_ok(type, start, len) < 0)
			err = -EIO;
		else {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = (short)proto_lock_to_fcntl(type);
			fl.l_whence = SEEK_SET;
			fl.l_start = (off_t)start;
			fl.l_len = (off_t)len;
			fl.l_pid = 0;	/* the holder's pid means nothing here */
			fuse_reply_lock(c->req, &fl);
		}
	} else if (err == 0 && proto_end(p) < 0)
		err = -EIO;
	if (err < 0 || !(c->op == OP_LOCK && c->flags == LOCK_CMD_GET))
		fuse_reply_err(c->req, -err);
	x_free(r->msg);
	x_free(r);
	call_free(c);
}

/* Sends a lock request, again and again while wait and EAGAIN. */
static void
lock_start(fuse_req_t req, fuse_ino_t ino, struct proto_buf *b, uint16_t op,
    unsigned int cmd, int wait)
{
	struct call *c = call_new(req, ino);
	struct retry *r = xcalloc(1, sizeof(*r));

	if (proto_finish(b) < 0) {
		proto_buf_free(b);
		x_free(r);
		call_free(c);
		fuse_reply_err(req, EIO);
		return;
	}
	c->op = op;
	c->flags = cmd;
	c->retry = r;
	r->c = c;
	r->msg = b->data;
	r->len = b->len;
	r->delay_ms = wait ? 10 : 0;
	b->data = NULL;
	lock_send(c);
}

static void
do_lock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct flock *lock, unsigned int cmd, int wait)
{
	uint64_t afh = file_fh(fi);
	struct proto_buf b;

	if (afh == 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (lock->l_start < 0 || lock->l_len < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (cmd == LOCK_CMD_SET)
		nodes_set_locked(ino);
	nodes_attr_stale(ino);	/* a lock orders this with other writers */
	request_keyed(&b, OP_LOCK, ino);
	proto_put_u64(&b, afh);
	proto_put_u64(&b, fi->lock_owner);
	proto_put_u8(&b, (uint8_t)cmd);
	proto_put_u8(&b, proto_lock_from_fcntl(lock->l_type));
	proto_put_u64(&b, (uint64_t)lock->l_start);
	proto_put_u64(&b, (uint64_t)lock->l_len);
	lock_start(req, ino, &b, OP_LOCK, cmd,
	    wait && lock->l_type != F_UNLCK);
}

static void
ops_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct flock *lock)
{
	do_lock(req, ino, fi, lock, LOCK_CMD_GET, 0);
}

static void
ops_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct flock *lock, int sleep)
{
	do_lock(req, ino, fi, lock, LOCK_CMD_SET, sleep);
}

static void
ops_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	uint64_t afh = file_fh(fi);
	struct proto_buf b;

	if (afh == 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	nodes_attr_stale(ino);
	request_keyed(&b, OP_FLOCK, ino);
	proto_put_u64(&b, afh);
	proto_put_u32(&b, (uint32_t)(op & (LOCK_SH | LOCK_EX | LOCK_UN)));
	lock_start(req, ino, &b, OP_FLOCK, 0,
	    !(op & LOCK_NB) && !(op & LOCK_UN));
}

static void
flush_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	if (err == 0 && proto_end(p) < 0)
		err = -EIO;
	fuse_reply_err(c->req, c->flags != 0 ? (int)c->flags : -err);
	call_free(c);
}

static void
ops_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t afh = file_fh(fi);
	struct proto_buf b;
	struct call *c;
	int rc;

	/* close() returns the error of a write that failed after it was
	 * answered (write-behind). */
	rc = nodes_write_drain(ino, 1);
	/* POSIX locks are dropped whatever happened, and only where any
	 * was ever asked for. */
	if (afh == 0 || !nodes_locked(ino)) {
		fuse_reply_err(req, -rc);
		return;
	}
	c = call_new(req, ino);
	c->flags = (unsigned int)-rc;	/* the write error goes first */
	request_keyed(&b, OP_FLUSH, ino);
	proto_put_u64(&b, afh);
	proto_put_u64(&b, fi->lock_owner);
	client_call(cfg.client, &b, flush_done, c);
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
	.create = ops_create,
	.write = ops_write,
	.setattr = ops_setattr,
	.fsync = ops_fsync,
	.fsyncdir = ops_fsyncdir,
	.mknod = ops_mknod,
	.mkdir = ops_mkdir,
	.symlink = ops_symlink,
	.unlink = ops_unlink,
	.rmdir = ops_rmdir,
	.rename = ops_rename,
	.link = ops_link,
	.setxattr = ops_setxattr,
	.removexattr = ops_removexattr,
	.fallocate = ops_fallocate,
	.getlk = ops_getlk,
	.setlk = ops_setlk,
	.flock = ops_flock,
	.flush = ops_flush,
};

const struct fuse_lowlevel_ops *
ops_table(const struct ops_config *c)
{
	cfg = *c;
	nodes_init();
	return &mirror_ops;
}
