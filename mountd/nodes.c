/*
 * mountd's inode table: FUSE node ids mapped to the target's files by
 * (dev, ino), two hash chains per node (by id and by key), the names
 * each node is known by (hashed, so that an unlink or a rename finds its
 * node at once), the agent handles open on it and its lookup count.
 * What mountd knows of a node ahead of the agent (attributes, writes
 * behind, fresh directories) is in cache.c.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "nodes.h"
#include "nodes-table.h"
#include "reply.h"
#include "xmalloc.h"

pthread_mutex_t nodes_mtx = PTHREAD_MUTEX_INITIALIZER;
/* All below are protected by nodes_mtx. */
static struct node **by_id, **by_key;
static size_t nbuckets;
/* Nodes per bucket of by_id and by_key before they grow: a walk of a big
 * tree holds hundreds of thousands, and at one per bucket the three
 * tables cost more than a quarter of what each node does. */
#define NODES_LOAD	4
static unsigned long nnodes;
static uint64_t next_id = FUSE_ROOT_ID + 1;
static struct node root;
static uint32_t use_tick;		/* bumped by every lookup */
static unsigned long max_nodes;		/* 0: no bound */
static void (*over_max)(void);		/* set before the session starts */

/*
 * Every name of every node but the root, hashed: an unlink or the rename
 * of a file finds its node at once instead of visiting all of them (a
 * tree that find(1) walked holds tens of thousands). Only the rename of
 * a directory walks the table, for the names below it. The entry holds
 * the name itself: one allocation per name.
 */
struct pent {
	struct node	*n;
	struct pent	*next;
	char		 path[];	/* one of node_paths(n) points here */
};
static struct pent **pidx;
#define PIDX_LOAD	4	/* names per bucket before it grows */
static size_t npidx, npent;

static size_t
hash_u64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	return (size_t)v;
}

static size_t
key_hash(uint64_t dev, uint64_t ino)
{
	return hash_u64(ino * 31 + dev);
}

static void
grow(void)
{
	struct node **nid, **nkey, *n, *next;
	size_t i, nb = nbuckets * 2;

	nid = xcalloc(nb, sizeof(*nid));
	nkey = xcalloc(nb, sizeof(*nkey));
	for (i = 0; i < nbuckets; i++) {
		for (n = by_id[i]; n; n = next) {
			next = n->next_id;
			n->next_id = nid[hash_u64(n->id) & (nb - 1)];
			nid[hash_u64(n->id) & (nb - 1)] = n;
		}
		for (n = by_key[i]; n; n = next) {
			next = n->next_key;
			n->next_key = nkey[key_hash(n->dev, n->ino) & (nb - 1)];
			nkey[key_hash(n->dev, n->ino) & (nb - 1)] = n;
		}
	}
	x_free(by_id);
	x_free(by_key);
	by_id = nid;
	by_key = nkey;
	nbuckets = nb;
}

void
nodes_init(void)
{
	nbuckets = 1024;
	by_id = xcalloc(nbuckets, sizeof(*by_id));
	by_key = xcalloc(nbuckets, sizeof(*by_key));
	root.id = FUSE_ROOT_ID;
	root.path1 = xstrdup("/");
	root.npaths = 1;
	root.nlookup = 1;
}


struct node_more *
nodes_more(struct node *n)
{
	if (n->more == NULL) {
		n->more = xcalloc(1, sizeof(*n->more));
		n->more->dropped_depth = UINT_MAX;
	}
	return n->more;
}

struct node *
nodes_find(uint64_t id)
{
	struct node *n;

	if (id == FUSE_ROOT_ID)
		return &root;
	for (n = by_id[hash_u64(id) & (nbuckets - 1)]; n; n = n->next_id)
		if (n->id == id)
			return n;
	return NULL;
}

char *
nodes_path(uint64_t nodeid)
{
	struct node *n;
	char *p = NULL;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && n->npaths > 0)
		p = xstrdup(node_paths(n)[0]);
	pthread_mutex_unlock(&nodes_mtx);
	return p;
}

char *
nodes_link_path(uint64_t nodeid, unsigned int *depth)
{
	struct node *n;
	unsigned int i, best = 0, d, min = UINT_MAX;
	char *p = NULL;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && n->npaths > 0) {
		for (i = 0; i < n->npaths; i++) {
			d = reply_link_depth(node_paths(n)[i]);
			if (d < min) {
				min = d;
				best = i;
			}
		}
		p = xstrdup(node_paths(n)[best]);
		if (n->more != NULL && n->more->dropped_depth < min)
			min = n->more->dropped_depth;
		*depth = min;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return p;
}

char *
nodes_child_path(uint64_t parent, const char *name)
{
	struct node *n;
	char *p = NULL;

	if (!proto_name_ok(name))
		return NULL;
	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(parent)) != NULL && n->npaths > 0)
		xasprintf(&p, "%s/%s", strcmp(node_paths(n)[0], "/") ?
		    node_paths(n)[0] : "", name);
	pthread_mutex_unlock(&nodes_mtx);
	return p;
}

/* A copy of path, as n's name in the index (the root's is not in it). */
static char *
path_new(struct node *n, const char *path)
{
	struct pent *e, **nb, *x, *next;
	size_t i, nn, h, len;

	if (n == &root)
		return xstrdup(path);
	len = strlen(path);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->path, path, len + 1);
	if (npent + 1 > npidx * PIDX_LOAD) {
		nn = npidx ? npidx * 2 : 1024;
		nb = xcalloc(nn, sizeof(*nb));
		for (i = 0; i < npidx; i++)
			for (x = pidx[i]; x; x = next) {
				next = x->next;
				h = nodes_str_hash(x->path) & (nn - 1);
				x->next = nb[h];
				nb[h] = x;
			}
		x_free(pidx);
		pidx = nb;
		npidx = nn;
	}
	e->n = n;
	e->next = pidx[nodes_str_hash(path) & (npidx - 1)];
	pidx[nodes_str_hash(path) & (npidx - 1)] = e;
	npent++;
	return e->path;
}

/* Frees a name of n that path_new() made, and its entry in the index. */
static void
path_free(struct node *n, char *path)
{
	struct pent **pp, *e;

	if (n == &root) {
		x_free(path);
		return;
	}
	e = (struct pent *)(void *)(path - offsetof(struct pent, path));
	for (pp = &pidx[nodes_str_hash(path) & (npidx - 1)]; *pp;
	    pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			x_free(e);
			npent--;
			return;
		}
}

/* Node n loses its i-th name. */
static void
node_path_remove(struct node *n, unsigned int i)
{
	path_free(n, node_paths(n)[i]);
	memmove(node_paths(n) + i, node_paths(n) + i + 1,
	    (n->npaths - i - 1) * sizeof(char *));
	n->npaths--;
}

/* Node n's i-th name becomes np (freed here). */
static void
node_path_replace(struct node *n, unsigned int i, char *np)
{
	path_free(n, node_paths(n)[i]);
	node_paths(n)[i] = path_new(n, np);
	x_free(np);
}

/* The nodes with the name path (at most max of them). */
static size_t
nodes_named(const char *path, struct node **out, size_t max)
{
	struct pent *e;
	size_t k = 0;

	if (npidx == 0)
		return 0;
	for (e = pidx[nodes_str_hash(path) & (npidx - 1)]; e && k < max;
	    e = e->next)
		if (strcmp(e->path, path) == 0)
			out[k++] = e->n;
	return k;
}

/* Makes path the node's first name. */
static void
node_add_path(struct node *n, const char *path)
{
	char **paths = node_paths(n), *p;
	unsigned int i;

	for (i = 0; i < n->npaths; i++)
		if (strcmp(paths[i], path) == 0)
			break;
	if (i < n->npaths) {
		p = paths[i];
		memmove(paths + 1, paths, i * sizeof(char *));
		paths[0] = p;
		return;
	}
	if (n->npaths == NODE_PATHS_MAX) {
		unsigned int d = reply_link_depth(paths[n->npaths - 1]);

		if (d < n->more->dropped_depth)
			n->more->dropped_depth = d;
		node_path_remove(n, n->npaths - 1);	/* forget the oldest */
	}
	if (n->npaths == 1 && !n->names_aside) {
		/* A second name: the names move to the side. */
		nodes_more(n)->paths[0] = n->path1;
		n->path1 = NULL;
		n->names_aside = 1;
		paths = node_paths(n);
	}
	memmove(paths + 1, paths, n->npaths * sizeof(char *));
	paths[0] = path_new(n, path);
	n->npaths++;
}

static void
node_free(struct node *n)
{
	unsigned int i;

	for (i = 0; i < n->npaths; i++)
		path_free(n, node_paths(n)[i]);
	cache_node_free(n);
	if (n->more != NULL) {
		x_free(n->more->open_fh);
		x_free(n->more->open_epoch);
		x_free(n->more);
	}
	x_free(n);
}

/* 1 if path is the node's name (a symlink has one). */
static int
node_named(struct node *n, const char *path)
{
	return n->npaths > 0 && strcmp(node_paths(n)[0], path) == 0;
}

/*
 * A symlink's hard links are nodes of their own, one per name: the kernel
 * asks for a link's target by node, and the target the agent gives is
 * relative to one name; followed from another name at another depth it
 * could climb out of the mount.
 */
uint64_t
nodes_ref(const char *path, const struct proto_attr *a)
{
	struct node *n;
	size_t h;
	uint64_t id;
	int over;

	if (strcmp(path, "/") == 0)
		return FUSE_ROOT_ID;	/* ".." of a top dir, or the root */
	pthread_mutex_lock(&nodes_mtx);
	h = key_hash(a->dev, a->ino) & (nbuckets - 1);
	for (n = by_key[h]; n; n = n->next_key)
		if (n->dev == a->dev && n->ino == a->ino &&
		    (!S_ISLNK(a->mode) || node_named(n, path)))
			break;
	if (n == NULL) {
		if (nnodes + 1 > nbuckets * NODES_LOAD) {
			grow();
			h = key_hash(a->dev, a->ino) & (nbuckets - 1);
		}
		n = xcalloc(1, sizeof(*n));
		n->id = next_id++;
		n->dev = a->dev;
		n->ino = a->ino;
		n->next_key = by_key[h];
		by_key[h] = n;
		n->next_id = by_id[hash_u64(n->id) & (nbuckets - 1)];
		by_id[hash_u64(n->id) & (nbuckets - 1)] = n;
		nnodes++;
	}
	node_add_path(n, path);
	n->nlookup++;
	n->used = ++use_tick;
	n->flags = a->flags;
	if (node_wpending(n) == 0)
		cache_record_attr(n, a);
	id = n->id;
	over = max_nodes > 0 && nnodes > max_nodes;
	pthread_mutex_unlock(&nodes_mtx);
	if (over && over_max != NULL)
		over_max();
	return id;
}

void
nodes_forget(uint64_t nodeid, uint64_t count)
{
	struct node *n, **pp;

	if (nodeid == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) == NULL) {
		pthread_mutex_unlock(&nodes_mtx);
		return;
	}
	n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
	if (n->nlookup == 0) {
		for (pp = &by_id[hash_u64(n->id) & (nbuckets - 1)]; *pp;
		    pp = &(*pp)->next_id)
			if (*pp == n) {
				*pp = n->next_id;
				break;
			}
		for (pp = &by_key[key_hash(n->dev, n->ino) & (nbuckets - 1)];
		    *pp; pp = &(*pp)->next_key)
			if (*pp == n) {
				*pp = n->next_key;
				break;
			}
		nnodes--;
		node_free(n);
	}
	pthread_mutex_unlock(&nodes_mtx);
}

unsigned long
nodes_count(unsigned long *max)
{
	unsigned long n;

	pthread_mutex_lock(&nodes_mtx);
	n = nnodes;
	if (max != NULL)
		*max = max_nodes;
	pthread_mutex_unlock(&nodes_mtx);
	return n;
}

uint32_t
nodes_flags(uint64_t nodeid)
{
	struct node *n;
	uint32_t f = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		f = n->flags;
	pthread_mutex_unlock(&nodes_mtx);
	return f;
}

void
nodes_set_flags(uint64_t nodeid, uint32_t flags)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		n->flags = flags;
	pthread_mutex_unlock(&nodes_mtx);
}

/* Calls fn on every node, root included. Called with nodes_mtx held. */
static void
for_each_node(void (*fn)(struct node *, void *), void *arg)
{
	struct node *n;
	size_t i;

	fn(&root, arg);
	for (i = 0; i < nbuckets; i++)
		for (n = by_id[i]; n; n = n->next_id)
			fn(n, arg);
}

/* 0: p is not old and not under it; else the length of old. */
static size_t
under(const char *p, const char *old)
{
	size_t l = strlen(old);

	if (strncmp(p, old, l) == 0 && (p[l] == '\0' || p[l] == '/'))
		return l;
	return 0;
}

struct path_change {
	const char	*from, *to;
	int		 exchange;
};

static void
drop_path(struct node *n, void *arg)
{
	const char *path = arg;
	unsigned int i = 0;

	while (i < n->npaths) {
		if (n != &root && strcmp(node_paths(n)[i], path) == 0) {
			n->attr_stale = 1;	/* its link count changed */
			/* ... and so do attributes answered before the agent
			 * is asked again (changes made behind, on a file open
			 * and unlinked): one link less, none for a directory. */
			if (S_ISDIR(n->attr.mode))
				n->attr.nlink = 0;
			else if (n->attr.nlink > 0)
				n->attr.nlink--;
			node_path_remove(n, i);
		} else
			i++;
	}
}

static char *
replace_prefix(const char *p, size_t l, const char *to)
{
	char *np;

	xasprintf(&np, "%s%s", to, p + l);
	return np;
}

static void
move_paths(struct node *n, void *arg)
{
	struct path_change *pc = arg;
	unsigned int i, j;
	size_t l;
	char *p, *np;

	if (n == &root)
		return;
	for (i = 0; i < n->npaths; i++) {
		np = NULL;
		p = node_paths(n)[i];
		if ((l = under(p, pc->from)) > 0)
			np = replace_prefix(p, l, pc->to);
		else if (pc->exchange && (l = under(p, pc->to)) > 0)
			np = replace_prefix(p, l, pc->from);
		if (np != NULL) {
			/* The renamed node itself: its ctime changed. */
			if (strcmp(np, pc->to) == 0 ||
			    strcmp(np, pc->from) == 0)
				n->attr_stale = 1;
			node_path_replace(n, i, np);
		}
	}
	/* Two names of one file may now be one. */
	for (i = 0; i < n->npaths; i++)
		for (j = i + 1; j < n->npaths; ) {
			if (strcmp(node_paths(n)[i], node_paths(n)[j]) == 0)
				node_path_remove(n, j);
			else
				j++;
		}
}

#define NAMED_MAX	16

/* Drops path from the nodes named so. Called with nodes_mtx held. */
static void
unname(const char *path)
{
	struct node *found[NAMED_MAX];
	size_t i, k = nodes_named(path, found, NAMED_MAX);

	for (i = 0; i < k; i++)
		drop_path(found[i], (void *)path);
}

/* 1 if a node named path is, or may be, a directory (names below it
 * would move too). */
static int
maybe_dir(const char *path)
{
	struct node *found[NAMED_MAX];
	size_t i, k = nodes_named(path, found, NAMED_MAX);

	for (i = 0; i < k; i++)
		if (!found[i]->have_attr || S_ISDIR(found[i]->attr.mode))
			return 1;
	return k == NAMED_MAX;
}

void
nodes_unlinked(const char *path)
{
	pthread_mutex_lock(&nodes_mtx);
	unname(path);
	pthread_mutex_unlock(&nodes_mtx);
}

void
nodes_renamed(const char *from, const char *to, int exchange)
{
	struct path_change pc = { from, to, exchange };
	struct node *a[NAMED_MAX], *b[NAMED_MAX];
	size_t i, ka, kb;

	pthread_mutex_lock(&nodes_mtx);
	if (!exchange)
		unname(to);			/* replaced */
	if (maybe_dir(from) || (exchange && maybe_dir(to)))
		for_each_node(move_paths, &pc);
	else {
		/* Files: only the nodes named from (and to) move. */
		ka = nodes_named(from, a, NAMED_MAX);
		kb = exchange ? nodes_named(to, b, NAMED_MAX) : 0;
		for (i = 0; i < ka; i++)
			move_paths(a[i], &pc);
		for (i = 0; i < kb; i++) {
			size_t j;

			for (j = 0; j < ka && a[j] != b[i]; j++)
				;
			if (j == ka)	/* not moved already (a hard link) */
				move_paths(b[i], &pc);
		}
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
nodes_open_add(uint64_t nodeid, uint64_t fh, uint64_t epoch)
{
	struct node_more *m;
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL) {
		m = nodes_more(n);
		if (m->nopen == m->capopen) {
			m->capopen = m->capopen ? m->capopen * 2 : 2;
			m->open_fh = xrealloc(m->open_fh,
			    m->capopen * sizeof(*m->open_fh));
			m->open_epoch = xrealloc(m->open_epoch,
			    m->capopen * sizeof(*m->open_epoch));
		}
		m->open_fh[m->nopen] = fh;
		m->open_epoch[m->nopen] = epoch;
		m->nopen++;
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
nodes_open_del(uint64_t nodeid, uint64_t fh, uint64_t epoch)
{
	struct node_more *m;
	struct node *n;
	unsigned int i;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && (m = n->more) != NULL)
		for (i = 0; i < m->nopen; i++)
			if (m->open_fh[i] == fh && m->open_epoch[i] == epoch) {
				m->nopen--;
				m->open_fh[i] = m->open_fh[m->nopen];
				m->open_epoch[i] = m->open_epoch[m->nopen];
				break;
			}
	pthread_mutex_unlock(&nodes_mtx);
}

int
nodes_open_fh(uint64_t nodeid, uint64_t epoch, uint64_t *fh)
{
	struct node_more *m;
	struct node *n;
	unsigned int i;
	int found = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && (m = n->more) != NULL)
		for (i = 0; i < m->nopen && !found; i++)
			if (m->open_epoch[i] == epoch) {
				*fh = m->open_fh[i];
				found = 1;
			}
	pthread_mutex_unlock(&nodes_mtx);
	return found;
}

void
nodes_set_locked(uint64_t nodeid)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		n->posix_locked = 1;
	pthread_mutex_unlock(&nodes_mtx);
}

int
nodes_locked(uint64_t nodeid)
{
	struct node *n;
	int l = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		l = n->posix_locked;
	pthread_mutex_unlock(&nodes_mtx);
	return l;
}

uint64_t
nodes_by_path(const char *path)
{
	struct node *n;
	uint64_t id = 0;

	if (strcmp(path, "/") == 0)
		return FUSE_ROOT_ID;
	pthread_mutex_lock(&nodes_mtx);
	if (nodes_named(path, &n, 1) == 1)
		id = n->id;
	pthread_mutex_unlock(&nodes_mtx);
	return id;
}

void
nodes_set_dir_watched(uint64_t nodeid, int on)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		n->dir_watched = on != 0;
	pthread_mutex_unlock(&nodes_mtx);
}

int
nodes_dir_watched(uint64_t nodeid)
{
	struct node *n;
	int on = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		on = n->dir_watched;
	pthread_mutex_unlock(&nodes_mtx);
	return on;
}

struct names_walk {
	const char		*path;
	struct nodes_name	*v;
	size_t			 n, cap;
};

static void
names_add(struct names_walk *w, uint64_t id, uint64_t parent,
    const char *name)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n].id = id;
	w->v[w->n].parent = parent;
	w->v[w->n].name = name ? xstrdup(name) : NULL;
	w->n++;
}

/* Collects n's names under w->path. Called with nodes_mtx held. */
/* Adds n's name path, with the node of its directory. Called with
 * nodes_mtx held. */
static void
names_add_path(struct names_walk *w, const struct node *n, const char *path)
{
	struct node *p;
	const char *slash = strrchr(path, '/');
	char *dir;

	if (slash == path)
		dir = xstrdup("/");
	else
		xasprintf(&dir, "%.*s", (int)(slash - path), path);
	if (strcmp(dir, "/") == 0)
		p = &root;
	else if (nodes_named(dir, &p, 1) != 1)
		p = NULL;
	names_add(w, n->id, p ? p->id : 0, slash + 1);
	x_free(dir);
}

static void
names_collect(struct node *n, void *arg)
{
	struct names_walk *w = arg;
	unsigned int i;

	if (n == &root) {
		if (w->path == NULL || strcmp(w->path, "/") == 0) {
			n->dir_watched = 0;
			names_add(w, n->id, 0, NULL);
		}
		return;
	}
	for (i = 0; i < n->npaths; i++) {
		if (w->path != NULL && strcmp(w->path, "/") != 0 &&
		    under(node_paths(n)[i], w->path) == 0)
			continue;
		n->dir_watched = 0;
		names_add_path(w, n, node_paths(n)[i]);
	}
}

size_t
nodes_names_under(const char *path, struct nodes_name **out)
{
	struct names_walk w = { .path = path };

	pthread_mutex_lock(&nodes_mtx);
	for_each_node(names_collect, &w);
	pthread_mutex_unlock(&nodes_mtx);
	*out = w.v;
	return w.n;
}

void
nodes_names_free(struct nodes_name *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x_free(v[i].name);
	x_free(v);
}

void
nodes_set_max(unsigned long max, void (*over)(void))
{
	pthread_mutex_lock(&nodes_mtx);
	max_nodes = max;
	over_max = over;
	pthread_mutex_unlock(&nodes_mtx);
}

struct evict_cand {
	uint32_t	 age;
	int		 dir;
	uint64_t	 id;
};

/* Files first, the oldest first: the kernel forgets a directory with
 * everything under it, so directories go only once files do not make
 * room enough. */
static int
evict_cmp(const void *a, const void *b)
{
	const struct evict_cand *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir - y->dir;
	return x->age < y->age ? 1 : x->age > y->age ? -1 : 0;
}

/* A node the kernel may be asked to forget: one it can name, that no
 * open file, lock or change made behind needs here. */
static int
evictable(const struct node *n)
{
	return n != &root && n->npaths > 0 &&
	    (n->more == NULL || n->more->nopen == 0) && !n->posix_locked &&
	    node_wpending(n) == 0 && node_spending(n) == 0;
}

/* The candidates are sorted outside the lock (a million nodes take a
 * while), by id: a node may go meanwhile. */
size_t
nodes_evict_names(struct nodes_name **out)
{
	struct names_walk w = { .path = NULL };
	struct evict_cand *c;
	struct node *n;
	size_t i, k = 0, want, cap;
	unsigned int j;

	*out = NULL;
	pthread_mutex_lock(&nodes_mtx);
	if (max_nodes == 0 || nnodes <= max_nodes) {
		pthread_mutex_unlock(&nodes_mtx);
		return 0;
	}
	want = nnodes - (max_nodes - max_nodes / 8);
	cap = nnodes;
	c = xcalloc(cap, sizeof(*c));
	for (i = 0; i < nbuckets; i++)
		for (n = by_id[i]; n; n = n->next_id)
			if (evictable(n) && k < cap) {
				c[k].age = use_tick - n->used;
				c[k].dir = !n->have_attr ||
				    S_ISDIR(n->attr.mode);
				c[k].id = n->id;
				k++;
			}
	pthread_mutex_unlock(&nodes_mtx);
	qsort(c, k, sizeof(*c), evict_cmp);
	pthread_mutex_lock(&nodes_mtx);
	for (i = 0; i < k && i < want; i++) {
		if ((n = nodes_find(c[i].id)) == NULL || !evictable(n))
			continue;
		for (j = 0; j < n->npaths; j++)
			names_add_path(&w, n, node_paths(n)[j]);
	}
	pthread_mutex_unlock(&nodes_mtx);
	x_free(c);
	*out = w.v;
	return w.n;
}
