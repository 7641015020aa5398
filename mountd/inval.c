/*
 * Pushed invalidation, mountd's half (inval.h). The transport thread
 * decodes each STREAM_FS_EVENT (agent input: every field checked by
 * lib/proto-fs.c), bumps the event count and queues the events; the
 * invalidation thread maps each directory and name to the nodes the
 * kernel knows and tells the kernel to forget them. The queue is
 * bounded: past INVAL_QUEUE_MAX events it is dropped and everything
 * known is forgotten instead, as after lost events (FSEV_OVERFLOW) and
 * after a reconnect (a new agent, or events lost in the gap).
 */
#include "config.h"

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "client.h"
#include "dirlist.h"
#include "inval.h"
#include "log.h"
#include "nodes.h"
#include "proto-fs.h"
#include "xmalloc.h"

#define INVAL_QUEUE_MAX	65536
/* After asking the kernel to forget nodes, for its forgets to come
 * before the count is looked at again. */
#define EVICT_PAUSE_US	20000
#define STATUS_MIN_S	0.25

struct inval_ev {
	uint32_t	 mask;
	char		*dir, *name;
	struct inval_ev	*next;
};

static pthread_mutex_t q_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
/* Protected by q_mtx. */
static struct inval_ev *q_head, **q_tail = &q_head;
static size_t q_len;
static int q_all;		/* forget everything first */
static int q_stop;
static int q_evict;		/* past the bound on nodes */
static long agent_watches = -1;
static int agent_limited = -1;

static _Atomic uint64_t seq;
static struct fuse_session *session;	/* set once by inval_start */
static struct client *client;		/* set once by inval_start */
static char *status_path;		/* set once by inval_start */
static char status_last[128];		/* the thread's only */
static double status_at;		/* the thread's only */
static _Atomic int evict_asked;
static pthread_t thr;
static int started;
/* Transport thread only. */
static int link_was_up;
static int bad_logged;

uint64_t
inval_seq(void)
{
	return atomic_load_explicit(&seq, memory_order_acquire);
}

void
inval_agent_state(long *watches, int *limited)
{
	pthread_mutex_lock(&q_mtx);
	*watches = agent_watches;
	*limited = agent_limited;
	pthread_mutex_unlock(&q_mtx);
}

/* Called with q_mtx held. */
static void
queue_all(void)
{
	struct inval_ev *e, *next;

	for (e = q_head; e; e = next) {
		next = e->next;
		x_free(e->dir);
		x_free(e->name);
		x_free(e);
	}
	q_head = NULL;
	q_tail = &q_head;
	q_len = 0;
	q_all = 1;
}

void
inval_on_link(void *arg, int up)
{
	(void)arg;
	atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
	if (!up)
		return;
	/* A new connection (after the first): the agent may be a new one
	 * with no watches, and events of the gap are lost. */
	if (link_was_up) {
		pthread_mutex_lock(&q_mtx);
		queue_all();
		agent_watches = -1;
		agent_limited = -1;
		pthread_cond_signal(&q_cond);
		pthread_mutex_unlock(&q_mtx);
	}
	link_was_up = 1;
}

void
inval_on_stream(void *arg, const struct proto_hdr *h, struct proto_cur *p)
{
	char dir[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 1];
	struct inval_ev *first = NULL, **tail = &first, *e;
	struct proto_fs_events fe;
	uint32_t i, mask;
	int bad = 0;

	(void)arg;
	if (h->op != STREAM_FS_EVENT)
		return;		/* mountd opens no streams */
	/* Counted before anything else: a reply after this may be stale. */
	atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
	if (proto_dec_fs_events(p, &fe) < 0)
		bad = 1;
	for (i = 0; !bad && i < fe.n; i++) {
		if (proto_dec_fs_event(p, &mask, dir, sizeof(dir), name,
		    sizeof(name)) < 0) {
			bad = 1;
			break;
		}
		e = xcalloc(1, sizeof(*e));
		e->mask = mask;
		e->dir = xstrdup(dir);
		e->name = xstrdup(name);
		*tail = e;
		tail = &e->next;
	}
	if (!bad && proto_end(p) < 0)
		bad = 1;
	pthread_mutex_lock(&q_mtx);
	if (bad || q_len + fe.n > INVAL_QUEUE_MAX) {
		/* What changed is not known: forget everything. */
		queue_all();
	} else if (first != NULL) {
		*q_tail = first;
		q_tail = tail;
		q_len += fe.n;
		first = NULL;
	}
	if (!bad) {
		agent_watches = fe.watches;
		agent_limited = fe.limited;
	}
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_mtx);
	while (first != NULL) {
		e = first->next;
		x_free(first->dir);
		x_free(first->name);
		x_free(first);
		first = e;
	}
	if (bad && bad_logged == 0) {
		bad_logged = 1;
		log_warnx("the agent sent a malformed change event: all cached "
		    "names and attributes are dropped (logged once)");
	}
}

/* The kernel forgets a node's attributes (and its pages if data). */
static void
forget_inode(uint64_t id, int data)
{
	cache_attr_stale(id);
	(void)fuse_lowlevel_notify_inval_inode(session, id, data ? 0 : -1, 0);
}

static void
forget_entry(uint64_t parent, const char *name)
{
	(void)fuse_lowlevel_notify_inval_entry(session, parent, name,
	    strlen(name));
}

/* Every name and node at or under path (NULL: all). */
static void
forget_under(const char *path)
{
	struct nodes_name *v;
	size_t n, i;

	n = nodes_names_under(path, &v);
	for (i = 0; i < n; i++) {
		if (v[i].parent != 0 && v[i].name != NULL)
			forget_entry(v[i].parent, v[i].name);
		forget_inode(v[i].id, 1);
	}
	nodes_names_free(v, n);
}

static void
apply(const struct inval_ev *e)
{
	uint64_t dirid, id;
	char *child;

	if (e->mask & (FSEV_OVERFLOW | FSEV_GONE))
		dirlist_drop_all();
	if (e->mask & FSEV_OVERFLOW) {
		forget_under(NULL);
		return;
	}
	dirid = nodes_by_path(e->dir);
	if (e->mask & FSEV_GONE) {
		forget_under(e->dir);
		return;
	}
	dirlist_drop(dirid);
	if (e->name[0] == '\0') {
		if (dirid != 0)
			forget_inode(dirid, 0);
		return;
	}
	if (dirid != 0 && (e->mask & FSEV_NAMES)) {
		forget_entry(dirid, e->name);
		/* Its times and link count changed too, and the listing
		 * the kernel may keep of it. */
		forget_inode(dirid, 1);
		/* A directory made here: the name is no longer one only
		 * this mount may have made. */
		cache_dir_note(dirid, e->name, 1);
	}
	xasprintf(&child, "%s/%s", strcmp(e->dir, "/") ? e->dir : "",
	    e->name);
	if ((id = nodes_by_path(child)) != 0)
		forget_inode(id, (e->mask & FSEV_CHANGED) != 0);
	x_free(child);
}

void
inval_evict_ask(void)
{
	if (atomic_exchange(&evict_asked, 1))
		return;		/* the thread is on it */
	pthread_mutex_lock(&q_mtx);
	q_evict = 1;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_mtx);
}

/* Past the bound on nodes: the kernel forgets the names used longest
 * ago, and sends the forgets of what it no longer holds. */
static void
evict(void)
{
	struct nodes_name *v;
	size_t n, i;

	atomic_store(&evict_asked, 0);
	n = nodes_evict_names(&v);
	for (i = 0; i < n; i++)
		if (v[i].parent != 0 && v[i].name != NULL)
			forget_entry(v[i].parent, v[i].name);
	nodes_names_free(v, n);
	if (n > 0)
		usleep(EVICT_PAUSE_US);	/* for the forgets to come */
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Rewrites the status file (by rename) when what it says changed, at
 * most every STATUS_MIN_S while the node count moves. Called with q_mtx
 * held. 1 when a change waits for STATUS_MIN_S to pass, else 0. */
static int
status_write(void)
{
	char line[128], tmp[4096];
	double now = now_s();
	unsigned long held, max;
	size_t l;
	FILE *f;

	if (status_path == NULL)
		return 0;
	if (!(client_caps(client) & CAP_WATCH))
		l = snprintf(line, sizeof(line), "off\n");
	else
		l = snprintf(line, sizeof(line), "on %ld %d\n",
		    agent_watches < 0 ? 0 : agent_watches,
		    agent_limited > 0);
	held = nodes_count(&max);
	snprintf(line + l, sizeof(line) - l, "nodes %lu %lu\n", held, max);
	if (strcmp(line, status_last) == 0)
		return 0;
	if (now - status_at < STATUS_MIN_S)
		return 1;
	status_at = now;
	snprintf(tmp, sizeof(tmp), "%s.tmp", status_path);
	if ((f = fopen(tmp, "w")) == NULL)
		return 0;
	fputs(line, f);
	if (fclose(f) == 0 && rename(tmp, status_path) == 0)
		snprintf(status_last, sizeof(status_last), "%s", line);
	return 0;
}

static void *
inval_main(void *arg)
{
	struct inval_ev *e;
	struct timespec ts;
	int all;

	(void)arg;
	pthread_mutex_lock(&q_mtx);
	for (;;) {
		while (q_head == NULL && !q_all && !q_stop && !q_evict) {
			/* A change held back by the rate limit is written
			 * once STATUS_MIN_S has passed, not a second later:
			 * status must not lag what mountd knows. */
			int held_back = status_write();

			clock_gettime(CLOCK_REALTIME, &ts);
			if (held_back) {
				ts.tv_nsec += (long)(STATUS_MIN_S * 1e9);
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
			} else
				ts.tv_sec += 1;
			pthread_cond_timedwait(&q_cond, &q_mtx, &ts);
		}
		if (q_stop)
			break;
		if (q_evict) {
			q_evict = 0;
			pthread_mutex_unlock(&q_mtx);
			evict();
			pthread_mutex_lock(&q_mtx);
			continue;
		}
		all = q_all;
		q_all = 0;
		if (all) {
			pthread_mutex_unlock(&q_mtx);
			dirlist_drop_all();
			forget_under(NULL);
			pthread_mutex_lock(&q_mtx);
			continue;
		}
		e = q_head;
		if ((q_head = e->next) == NULL)
			q_tail = &q_head;
		q_len--;
		pthread_mutex_unlock(&q_mtx);
		apply(e);
		x_free(e->dir);
		x_free(e->name);
		x_free(e);
		pthread_mutex_lock(&q_mtx);
	}
	pthread_mutex_unlock(&q_mtx);
	return NULL;
}

void
inval_start(struct fuse_session *se, struct client *cl, const char *status)
{
	int rc;

	session = se;
	client = cl;
	if (status != NULL)
		status_path = xstrdup(status);
	if ((rc = pthread_create(&thr, NULL, inval_main, NULL)) != 0)
		fatalx("cannot start the invalidation thread: %s",
		    strerror(rc));
	started = 1;
}

void
inval_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&q_mtx);
	q_stop = 1;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_mtx);
	pthread_join(thr, NULL);
	started = 0;
	if (status_path != NULL)
		(void)unlink(status_path);
}
