/*
 * The listings cold lookups bring (dirlist.h): a small table of
 * directories, each with its entries (a reply_dir, checked by reply.c
 * as it was decoded) and an index of its names, or the lookups waiting
 * for it while it is on its way.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dirlist.h"
#include "ops-internal.h"
#include "xmalloc.h"

struct dlist {
	uint64_t	 dir;		/* 0: free slot */
	int		 fetching;	/* asked for, not here yet */
	int		 dropped;	/* changed while on its way */
	int		 complete;	/* the whole directory */
	uint64_t	 seq;
	uint64_t	 gen;		/* touched when it was asked for */
	double		 until, made;
	struct reply_dir list;
	uint32_t	*index;		/* entry + 1 by name hash; 0: empty */
	size_t		 nindex;	/* a power of two */
	struct call	*waiting;
};

static size_t
name_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static pthread_mutex_t dl_mtx = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t touched;
/* When the mount last changed something, in ms of mono_now(): while it
 * writes (untar, clone: a lookup, then a create, in the same
 * directories) a listing would be stale at once, and fetching it again
 * per name would stat the directory over and over: ask by name. */
static _Atomic uint64_t touched_ms;
static struct dlist dls[DIRLIST_DIRS_MAX];	/* dl_mtx */

/* Called with dl_mtx held. */
static void
slot_clear(struct dlist *d)
{
	reply_dir_free(&d->list);
	x_free(d->index);
	memset(d, 0, sizeof(*d));
}

static struct dlist *
slot_find(uint64_t dir)
{
	size_t i;

	for (i = 0; i < DIRLIST_DIRS_MAX; i++)
		if (dls[i].dir == dir)
			return &dls[i];
	return NULL;
}

/* A free slot, or the oldest listing that nobody waits for. */
static struct dlist *
slot_new(uint64_t dir, double now)
{
	struct dlist *d = NULL;
	size_t i;

	for (i = 0; i < DIRLIST_DIRS_MAX; i++) {
		if (dls[i].dir == 0) {
			d = &dls[i];
			break;
		}
		if (!dls[i].fetching && (d == NULL || dls[i].made < d->made))
			d = &dls[i];
	}
	if (d == NULL)
		return NULL;
	slot_clear(d);
	d->dir = dir;
	d->made = now;
	reply_dir_init(&d->list);
	return d;
}

static void
index_build(struct dlist *d)
{
	size_t i, h;

	d->nindex = 16;
	while (d->nindex < d->list.n * 2)
		d->nindex *= 2;
	d->index = xcalloc(d->nindex, sizeof(*d->index));
	for (i = 0; i < d->list.n; i++) {
		h = name_hash(d->list.ents[i].name) & (d->nindex - 1);
		while (d->index[h] != 0)
			h = (h + 1) & (d->nindex - 1);
		d->index[h] = (uint32_t)i + 1;
	}
}

static const struct reply_dirent *
index_find(const struct dlist *d, const char *name)
{
	size_t h = name_hash(name) & (d->nindex - 1);
	const struct reply_dirent *e;

	while (d->index[h] != 0) {
		e = &d->list.ents[d->index[h] - 1];
		if (strcmp(e->name, name) == 0)
			return e;
		h = (h + 1) & (d->nindex - 1);
	}
	return NULL;
}

enum dirlist_answer
dirlist_lookup(uint64_t dir, const char *name, struct call *c,
    struct proto_attr *a, uint64_t *seq, double now)
{
	const struct reply_dirent *e;
	enum dirlist_answer r = DIRLIST_ASK;
	struct dlist *d;

	uint64_t gen = atomic_load_explicit(&touched, memory_order_acquire);

	pthread_mutex_lock(&dl_mtx);
	d = slot_find(dir);
	if (d != NULL && !d->fetching && (now >= d->until || d->gen != gen)) {
		slot_clear(d);
		d = NULL;
	}
	if (d != NULL && d->fetching) {
		if (c != NULL) {
			c->next_wait = d->waiting;
			d->waiting = c;
			r = DIRLIST_QUEUED;
		}
	} else if (d != NULL) {
		if ((e = index_find(d, name)) != NULL) {
			*a = e->attr;
			*seq = d->seq;
			r = DIRLIST_FOUND;
		} else if (d->complete)
			r = DIRLIST_ABSENT;
	} else if (c != NULL && now * 1000 - (double)atomic_load_explicit(
	    &touched_ms, memory_order_relaxed) >= DIRLIST_QUIET_MS &&
	    (d = slot_new(dir, now)) != NULL) {
		d->fetching = 1;
		d->gen = gen;
		c->next_wait = NULL;
		d->waiting = c;
		r = DIRLIST_FETCH;
	}
	pthread_mutex_unlock(&dl_mtx);
	return r;
}

int
dirlist_want(uint64_t dir, double now)
{
	uint64_t gen = atomic_load_explicit(&touched, memory_order_acquire);
	struct dlist *d;
	int r = 0;

	if (now * 1000 - (double)atomic_load_explicit(&touched_ms,
	    memory_order_relaxed) < DIRLIST_QUIET_MS)
		return 0;
	pthread_mutex_lock(&dl_mtx);
	if (slot_find(dir) == NULL && (d = slot_new(dir, now)) != NULL) {
		d->fetching = 1;
		d->gen = gen;
		r = 1;
	}
	pthread_mutex_unlock(&dl_mtx);
	return r;
}

int
dirlist_copy(uint64_t dir, struct reply_dir *list, uint64_t cur_seq,
    uint64_t *seq, double now)
{
	uint64_t gen = atomic_load_explicit(&touched, memory_order_acquire);
	struct dlist *d;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&dl_mtx);
	d = slot_find(dir);
	if (d != NULL && !d->fetching && d->complete && d->list.n > 0 &&
	    (d->list.ents[0].attr.flags & ATTR_WATCHED) && d->seq == cur_seq &&
	    d->gen == gen && now < d->until) {
		list->ents = xcalloc(d->list.n, sizeof(*list->ents));
		for (i = 0; i < d->list.n; i++) {
			list->ents[i].name = xstrdup(d->list.ents[i].name);
			list->ents[i].attr = d->list.ents[i].attr;
		}
		list->n = list->cap = d->list.n;
		list->bytes = d->list.bytes;
		*seq = d->seq;
		r = 1;
	}
	pthread_mutex_unlock(&dl_mtx);
	return r;
}

struct call *
dirlist_fetched(uint64_t dir, struct reply_dir *list, int complete,
    uint64_t seq, double now, double keep_s)
{
	struct call *w = NULL;
	struct dlist *d;

	pthread_mutex_lock(&dl_mtx);
	if ((d = slot_find(dir)) != NULL && d->fetching) {
		w = d->waiting;
		d->waiting = NULL;
		d->fetching = 0;
		if (list == NULL || d->dropped || keep_s <= 0 ||
		    d->gen != atomic_load_explicit(&touched,
		    memory_order_acquire))
			slot_clear(d);
		else {
			d->list = *list;
			memset(list, 0, sizeof(*list));
			reply_dir_init(list);
			d->complete = complete;
			d->seq = seq;
			d->made = now;
			d->until = now + keep_s;
			index_build(d);
		}
	}
	pthread_mutex_unlock(&dl_mtx);
	return w;
}

void
dirlist_touch(void)
{
	atomic_fetch_add_explicit(&touched, 1, memory_order_acq_rel);
	atomic_store_explicit(&touched_ms, (uint64_t)(mono_now() * 1000),
	    memory_order_relaxed);
}

void
dirlist_drop(uint64_t dir)
{
	struct dlist *d;

	pthread_mutex_lock(&dl_mtx);
	if ((d = slot_find(dir)) != NULL) {
		if (d->fetching)
			d->dropped = 1;
		else
			slot_clear(d);
	}
	pthread_mutex_unlock(&dl_mtx);
}

void
dirlist_drop_all(void)
{
	size_t i;

	pthread_mutex_lock(&dl_mtx);
	for (i = 0; i < DIRLIST_DIRS_MAX; i++) {
		if (dls[i].dir == 0)
			continue;
		if (dls[i].fetching)
			dls[i].dropped = 1;
		else
			slot_clear(&dls[i]);
	}
	pthread_mutex_unlock(&dl_mtx);
}
