/*
 * Pushed invalidation, the agent's half (fs-watch.h): the table of
 * watched directories (path <-> inotify watch descriptor), the bound on
 * it, the connections that get events, and the thread that reads the
 * inotify fd and sends STREAM_FS_EVENT batches.
 *
 * A directory is watched before the request that named it is served,
 * so any change after the answer was made is reported. The watch is
 * added through /proc/self/fd of an fd opened confined under the root,
 * never by a path string of the host. A watched directory that is
 * removed or moved ends its watch and those of the directories watched
 * under its old path (their paths are wrong now): FSEV_GONE tells the
 * client to drop all it holds under it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fs.h"
#include "fs-watch.h"
#include "log.h"
#include "proto.h"
#include "proto-fs.h"
#include "xmalloc.h"

#define WATCH_MASK	(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | \
			 IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
			 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | \
			 IN_EXCL_UNLINK)
#define WATCH_BUCKETS	4096		/* hash chains of both tables */
/* One batch: what one message carries at most. */
#define BATCH_BYTES	(256 * 1024)
/* After a read, further events are gathered for this long (ms), so a
 * burst goes out as one message. */
#define GATHER_MS	1

struct wnode {
	int		 wd;
	uint64_t	 dev;		/* the directory's st_dev */
	char		*path;
	struct wnode	*next_path, *next_wd;
};

struct fs_watch {
	struct agent_fs	*fs;
	int		 fd;
	unsigned int	 max;
	pthread_mutex_t	 mtx;		/* protects everything below */
	struct wnode	*by_path[WATCH_BUCKETS], *by_wd[WATCH_BUCKETS];
	unsigned int	 n;
	int		 limited;	/* a directory was refused a watch */
	void		**subs;
	size_t		 nsubs, capsubs;
	fs_watch_send_fn send;
};

/* One event on its way out (watch thread only). */
struct wev {
	uint32_t	 mask;
	char		*dir, *name;
};

static size_t
str_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h & (WATCH_BUCKETS - 1);
}

static size_t
wd_hash(int wd)
{
	return (size_t)(unsigned int)wd & (WATCH_BUCKETS - 1);
}

/* Called with mtx held. */
static struct wnode *
find_path(struct fs_watch *w, const char *path)
{
	struct wnode *x;

	for (x = w->by_path[str_hash(path)]; x; x = x->next_path)
		if (strcmp(x->path, path) == 0)
			return x;
	return NULL;
}

static struct wnode *
find_wd(struct fs_watch *w, int wd)
{
	struct wnode *x;

	for (x = w->by_wd[wd_hash(wd)]; x; x = x->next_wd)
		if (x->wd == wd)
			return x;
	return NULL;
}

/* Takes x off both tables and frees it; removes the kernel's watch if
 * rm. Called with mtx held. */
static void
drop(struct fs_watch *w, struct wnode *x, int rm)
{
	struct wnode **pp;

	for (pp = &w->by_path[str_hash(x->path)]; *pp; pp = &(*pp)->next_path)
		if (*pp == x) {
			*pp = x->next_path;
			break;
		}
	for (pp = &w->by_wd[wd_hash(x->wd)]; *pp; pp = &(*pp)->next_wd)
		if (*pp == x) {
			*pp = x->next_wd;
			break;
		}
	if (rm)
		inotify_rm_watch(w->fd, x->wd);
	w->n--;
	x_free(x->path);
	x_free(x);
}

/* Drops the watches of every directory under path (its subtree's paths
 * are stale after it moved). Called with mtx held. */
static void
drop_under(struct fs_watch *w, const char *path)
{
	size_t l = strlen(path), i;
	struct wnode *x, *next;

	if (strcmp(path, "/") == 0)
		l = 0;
	for (i = 0; i < WATCH_BUCKETS; i++)
		for (x = w->by_path[i]; x; x = next) {
			next = x->next_path;
			if (strncmp(x->path, path, l) == 0 && x->path[l] == '/' &&
			    x->path[l + 1] != '\0')
				drop(w, x, 1);
		}
}

/*
 * File systems whose every change goes through this kernel's VFS and so
 * reaches inotify. Not procfs, sysfs, cgroupfs and the like (their
 * contents change without events), nor network or FUSE file systems
 * (changes made elsewhere are never seen): their directories stay
 * unwatched, and the clients keep to their short timeouts there.
 */
static int
fs_reports_changes(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return 0;
	switch ((unsigned long)sf.f_type) {
	case 0xef53:		/* ext2, ext3, ext4 */
	case 0x58465342:	/* xfs */
	case 0x9123683e:	/* btrfs */
	case 0x01021994:	/* tmpfs */
	case 0x858458f6:	/* ramfs */
	case 0x794c7630:	/* overlayfs */
	case 0xf2f52010:	/* f2fs */
	case 0x2fc12fc1:	/* zfs */
	case 0x73717368:	/* squashfs */
	case 0x4d44:		/* vfat */
	case 0x2011bab0:	/* exfat */
		return 1;
	}
	return 0;
}

int
fs_watch_dir(struct fs_watch *w, const char *path, uint64_t *dev)
{
	char proc[64];
	struct wnode *x;
	struct stat st;
	int fd, wd, ok = 0;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->mtx);
	if ((x = find_path(w, path)) != NULL) {
		*dev = x->dev;
		pthread_mutex_unlock(&w->mtx);
		return 1;
	}
	if (w->n >= w->max) {
		if (!w->limited)
			log_warnx("watching %u directories, the most it may: "
			    "changes in others show after the short timeouts",
			    w->max);
		w->limited = 1;
		pthread_mutex_unlock(&w->mtx);
		return 0;
	}
	pthread_mutex_unlock(&w->mtx);

	fd = agent_fs_open_in_root(w->fs, path, O_PATH | O_DIRECTORY |
	    O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (!fs_reports_changes(fd) || fstat(fd, &st) < 0) {
		close(fd);
		return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* Not IN_DONT_FOLLOW: the magic link leads to the directory fd
	 * names, which is never followed further. */
	wd = inotify_add_watch(w->fd, proc, WATCH_MASK);
	if (wd < 0 && errno == ENOSPC) {
		pthread_mutex_lock(&w->mtx);
		if (!w->limited)
			log_warnx("the kernel's inotify watch limit is reached "
			    "at %u directories (fs.inotify.max_user_watches): "
			    "changes in others show after the short timeouts",
			    w->n);
		w->limited = 1;
		pthread_mutex_unlock(&w->mtx);
	}
	close(fd);
	if (wd < 0)
		return 0;
	pthread_mutex_lock(&w->mtx);
	*dev = (uint64_t)st.st_dev;
	if (find_path(w, path) != NULL)
		ok = 1;			/* another thread was first */
	else if (find_wd(w, wd) == NULL) {
		x = xcalloc(1, sizeof(*x));
		x->wd = wd;
		x->dev = (uint64_t)st.st_dev;
		x->path = xstrdup(path);
		x->next_path = w->by_path[str_hash(path)];
		w->by_path[str_hash(path)] = x;
		x->next_wd = w->by_wd[wd_hash(wd)];
		w->by_wd[wd_hash(wd)] = x;
		w->n++;
		ok = 1;
	}
	/* Else the directory is watched by another path (moved, and its
	 * event not read yet, or mounted twice): events would name the
	 * other path, so this one counts as not watched. */
	pthread_mutex_unlock(&w->mtx);
	return ok;
}

int
fs_watch_parent(struct fs_watch *w, const char *path, uint64_t *dev)
{
	char dir[PROTO_PATH_MAX + 1];
	const char *slash = strrchr(path, '/');
	size_t l;

	if (w == NULL || slash == NULL)
		return 0;
	if (slash == path)
		return fs_watch_dir(w, "/", dev);
	l = (size_t)(slash - path);
	if (l >= sizeof(dir))
		return 0;
	memcpy(dir, path, l);
	dir[l] = '\0';
	return fs_watch_dir(w, dir, dev);
}

void
fs_watch_subscribe(struct fs_watch *w, void *conn)
{
	size_t i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	for (i = 0; i < w->nsubs; i++)
		if (w->subs[i] == conn)
			break;
	if (i == w->nsubs) {
		if (w->nsubs == w->capsubs) {
			w->capsubs = w->capsubs ? w->capsubs * 2 : 8;
			w->subs = xrealloc(w->subs, w->capsubs *
			    sizeof(*w->subs));
		}
		w->subs[w->nsubs++] = conn;
	}
	pthread_mutex_unlock(&w->mtx);
}

void
fs_watch_unsubscribe(struct fs_watch *w, void *conn)
{
	size_t i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	for (i = 0; i < w->nsubs; i++)
		if (w->subs[i] == conn) {
			w->subs[i] = w->subs[--w->nsubs];
			break;
		}
	pthread_mutex_unlock(&w->mtx);
}

/* Adds an event to the batch unless the same one is in it already. */
static void
batch_add(struct wev **b, size_t *n, size_t *cap, uint32_t mask,
    const char *dir, const char *name)
{
	size_t i;

	/* The recent ones: a burst repeats one name. */
	for (i = *n > 32 ? *n - 32 : 0; i < *n; i++)
		if (strcmp((*b)[i].dir, dir) == 0 &&
		    strcmp((*b)[i].name, name) == 0) {
			(*b)[i].mask |= mask;
			return;
		}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*b = xrealloc(*b, *cap * sizeof(**b));
	}
	(*b)[*n].mask = mask;
	(*b)[*n].dir = xstrdup(dir);
	(*b)[*n].name = xstrdup(name);
	(*n)++;
}

/* Turns the inotify records in buf into events. */
static void
translate(struct fs_watch *w, const char *buf, ssize_t len, struct wev **b,
    size_t *n, size_t *cap)
{
	const struct inotify_event *ie;
	struct wnode *x;
	char dir[PROTO_PATH_MAX + 1];
	ssize_t off;
	uint32_t m;

	for (off = 0; off + (ssize_t)sizeof(*ie) <= len;
	    off += (ssize_t)sizeof(*ie) + ie->len) {
		ie = (const struct inotify_event *)(const void *)(buf + off);
		if (ie->mask & IN_Q_OVERFLOW) {
			batch_add(b, n, cap, FSEV_OVERFLOW, "/", "");
			continue;
		}
		pthread_mutex_lock(&w->mtx);
		if ((x = find_wd(w, ie->wd)) == NULL) {
			pthread_mutex_unlock(&w->mtx);
			continue;	/* dropped already */
		}
		snprintf(dir, sizeof(dir), "%s", x->path);
		if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED |
		    IN_UNMOUNT)) {
			drop_under(w, dir);
			drop(w, x, !(ie->mask & IN_IGNORED));
			pthread_mutex_unlock(&w->mtx);
			batch_add(b, n, cap, FSEV_GONE, dir, "");
			continue;
		}
		pthread_mutex_unlock(&w->mtx);
		m = 0;
		if (ie->mask & (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE))
			m |= FSEV_CHANGED;
		if (ie->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM |
		    IN_MOVED_TO))
			m |= FSEV_NAMES;
		if (m == 0)
			continue;
		/* A name from the kernel is one component; a record
		 * without one is about the directory itself. */
		if (ie->len == 0 || ie->name[0] == '\0')
			batch_add(b, n, cap, m, dir, "");
		else if (proto_name_ok(ie->name))
			batch_add(b, n, cap, m, dir, ie->name);
	}
}

/* Sends the batch to every subscriber, in messages of at most
 * PROTO_FS_EVENTS_MAX events. */
static void
batch_send(struct fs_watch *w, struct wev *b, size_t n)
{
	struct proto_fs_events_enc enc;
	struct proto_buf out;
	size_t i = 0, k;
	uint32_t watches;
	uint8_t limited;

	while (i < n) {
		proto_buf_init(&out, 4096);
		proto_begin(&out, MSG_STREAM, STREAM_FS_EVENT, 0, 0);
		proto_enc_fs_events_begin(&out, &enc);
		while (i < n && proto_enc_fs_event_add(&out, &enc, b[i].mask,
		    b[i].dir, b[i].name, BATCH_BYTES) == 0)
			i++;
		if (enc.n == 0)
			i++;		/* cannot happen: names are short */
		pthread_mutex_lock(&w->mtx);
		watches = w->n;
		limited = (uint8_t)w->limited;
		proto_enc_fs_events_finish(&out, &enc, watches, limited);
		if (enc.n > 0 && proto_finish(&out) == 0)
			for (k = 0; k < w->nsubs; k++) {
				uint8_t *copy = xmalloc(out.len);

				memcpy(copy, out.data, out.len);
				w->send(w->subs[k], copy, out.len);
			}
		pthread_mutex_unlock(&w->mtx);
		proto_buf_free(&out);
	}
}

static void *
watch_main(void *arg)
{
	struct fs_watch *w = arg;
	/* Aligned for struct inotify_event. */
	static char buf[64 * 1024] __attribute__((aligned(8)));
	struct wev *b = NULL;
	size_t n, cap = 0, i;
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	ssize_t len;

	for (;;) {
		n = 0;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			break;
		/* Gather: everything queued, then what comes within a few
		 * milliseconds, bounded by one message's events. */
		while (n < PROTO_FS_EVENTS_MAX) {
			len = read(w->fd, buf, sizeof(buf));
			if (len <= 0)
				break;
			translate(w, buf, len, &b, &n, &cap);
			if (poll(&pfd, 1, GATHER_MS) <= 0)
				break;
		}
		if (n > 0)
			batch_send(w, b, n);
		for (i = 0; i < n; i++) {
			x_free(b[i].dir);
			x_free(b[i].name);
		}
	}
	log_warn("the directory watch stopped");
	return NULL;
}

struct fs_watch *
fs_watch_new(struct agent_fs *fs, unsigned int max, fs_watch_send_fn send)
{
	struct fs_watch *w;
	pthread_t thr;
	int rc;

	w = xcalloc(1, sizeof(*w));
	w->fs = fs;
	w->max = max;
	w->send = send;
	pthread_mutex_init(&w->mtx, NULL);
	if ((w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0) {
		log_warn("inotify: changes in the target show after the short "
		    "timeouts");
		goto fail;
	}
	if ((rc = pthread_create(&thr, NULL, watch_main, w)) != 0) {
		log_warnx("cannot start the watch thread: %s", strerror(rc));
		close(w->fd);
		goto fail;
	}
	pthread_detach(thr);
	return w;
fail:
	pthread_mutex_destroy(&w->mtx);
	x_free(w);
	return NULL;
}
