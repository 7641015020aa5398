/* The node table: two hash chains per node, by id and by (dev, ino). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "nodes.h"
#include "reply.h"
#include "xmalloc.h"

#define NODE_PATHS_MAX	8	/* names remembered per hard-linked file */
#define FRESH_NAMES_MAX	65536	/* past this, a fresh directory is not */

struct name_ent {
	struct name_ent	*next;
	char		 name[];
};

struct node {
	uint64_t	 id;
	uint64_t	 dev, ino;
	/* The names it is known by, most recent first; none once the last
	 * one was unlinked (open files are then reached by handle). */
	char		*paths[NODE_PATHS_MAX];
	unsigned int	 npaths;
	/* The shallowest of the names forgotten to make room for newer
	 * ones: the kernel may still follow a link by such a name. */
	unsigned int	 dropped_depth;
	uint64_t	*open_fh, *open_epoch;	/* agent handles held open */
	unsigned int	 nopen, capopen;
	int		 posix_locked;
	/* Writes answered to the kernel and not yet done by the agent. */
	unsigned int	 wpending;
	uint64_t	 wbytes, wend;
	int		 werr;		/* first failure, until reported */
	unsigned int	 spending;	/* of them, attribute changes */
	/* The attributes last heard, or, while changes are outstanding,
	 * the ones they will leave. */
	struct proto_attr attr;
	int		 have_attr;
	int		 attr_stale;	/* changed in ways not followed here */
	int		 attr_est;	/* times guessed here, not the agent's */
	double		 attr_at;	/* when the agent last said them */
	int		 created_here;	/* made through this mount */
	/* A directory made through this mount: until fresh_until every
	 * name in it is one made through the mount too (names). */
	double		 fresh_until;
	struct name_ent	**names;
	size_t		 nnames, nbnames;
	uint64_t	 nlookup;
	int		 have_data;
	uint32_t	 flags;
	int64_t		 mtime_sec;
	uint32_t	 mtime_nsec;
	uint64_t	 size;
	struct node	*next_id, *next_key;
};

static double mono_now(void);

static pthread_mutex_t nodes_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nodes_cv = PTHREAD_COND_INITIALIZER;	/* writes done */
/* All below are protected by nodes_mtx. */
static struct node **by_id, **by_key;
static size_t nbuckets;
static unsigned long nnodes;
static uint64_t next_id = FUSE_ROOT_ID + 1;
static struct node root;

/*
 * Every name of every node but the root, hashed: an unlink or the rename
 * of a file finds its node at once instead of visiting all of them (a
 * tree that find(1) walked holds tens of thousands). Only the rename of
 * a directory walks the table, for the names below it.
 */
struct pent {
	struct node	*n;
	const char	*path;		/* one of n->paths[] */
	struct pent	*next;
};
static struct pent **pidx;
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
	root.paths[0] = xstrdup("/");
	root.npaths = 1;
	root.nlookup = 1;
}

static struct node *
find_id(uint64_t id)
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
	if ((n = find_id(nodeid)) != NULL && n->npaths > 0)
		p = xstrdup(n->paths[0]);
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
	if ((n = find_id(nodeid)) != NULL && n->npaths > 0) {
		for (i = 0; i < n->npaths; i++) {
			d = reply_link_depth(n->paths[i]);
			if (d < min) {
				min = d;
				best = i;
			}
		}
		p = xstrdup(n->paths[best]);
		*depth = min < n->dropped_depth ? min : n->dropped_depth;
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
	if ((n = find_id(parent)) != NULL && n->npaths > 0)
		xasprintf(&p, "%s/%s", strcmp(n->paths[0], "/") ?
		    n->paths[0] : "", name);
	pthread_mutex_unlock(&nodes_mtx);
	return p;
}

static size_t
str_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static void
pidx_add(struct node *n, const char *path)
{
	struct pent *e = xmalloc(sizeof(*e)), **nb, *x, *next;
	size_t i, nn;

	if (npent + 1 > npidx) {
		nn = npidx ? npidx * 2 : 1024;
		nb = xcalloc(nn, sizeof(*nb));
		for (i = 0; i < npidx; i++)
			for (x = pidx[i]; x; x = next) {
				next = x->next;
				x->next = nb[str_hash(x->path) & (nn - 1)];
				nb[str_hash(x->path) & (nn - 1)] = x;
			}
		x_free(pidx);
		pidx = nb;
		npidx = nn;
	}
	e->n = n;
	e->path = path;
	e->next = pidx[str_hash(path) & (npidx - 1)];
	pidx[str_hash(path) & (npidx - 1)] = e;
	npent++;
}

static void
pidx_del(struct node *n, const char *path)
{
	struct pent **pp, *e;

	if (npidx == 0)
		return;
	for (pp = &pidx[str_hash(path) & (npidx - 1)]; *pp; pp = &(*pp)->next)
		if ((*pp)->n == n && (*pp)->path == path) {
			e = *pp;
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
	pidx_del(n, n->paths[i]);
	x_free(n->paths[i]);
	memmove(n->paths + i, n->paths + i + 1,
	    (n->npaths - i - 1) * sizeof(char *));
	n->npaths--;
}

/* Node n's i-th name becomes np (taken). */
static void
node_path_replace(struct node *n, unsigned int i, char *np)
{
	pidx_del(n, n->paths[i]);
	x_free(n->paths[i]);
	n->paths[i] = np;
	pidx_add(n, np);
}

/* The nodes with the name path (at most max of them). */
static size_t
nodes_named(const char *path, struct node **out, size_t max)
{
	struct pent *e;
	size_t k = 0;

	if (npidx == 0)
		return 0;
	for (e = pidx[str_hash(path) & (npidx - 1)]; e && k < max; e = e->next)
		if (strcmp(e->path, path) == 0)
			out[k++] = e->n;
	return k;
}

/* Makes path the node's first name. */
static void
node_add_path(struct node *n, const char *path)
{
	unsigned int i;
	char *p;

	for (i = 0; i < n->npaths; i++)
		if (strcmp(n->paths[i], path) == 0)
			break;
	if (i < n->npaths) {
		p = n->paths[i];
		memmove(n->paths + 1, n->paths, i * sizeof(char *));
		n->paths[0] = p;
		return;
	}
	if (n->npaths == NODE_PATHS_MAX) {
		unsigned int d = reply_link_depth(n->paths[n->npaths - 1]);

		if (d < n->dropped_depth)
			n->dropped_depth = d;
		node_path_remove(n, n->npaths - 1);	/* forget the oldest */
	}
	memmove(n->paths + 1, n->paths, n->npaths * sizeof(char *));
	n->paths[0] = xstrdup(path);
	n->npaths++;
	if (n != &root)
		pidx_add(n, n->paths[0]);
}

static void
names_clear(struct node *n)
{
	struct name_ent *e, *next;
	size_t i;

	for (i = 0; i < n->nbnames; i++)
		for (e = n->names[i]; e; e = next) {
			next = e->next;
			x_free(e);
		}
	x_free(n->names);
	n->names = NULL;
	n->nnames = n->nbnames = 0;
	n->fresh_until = 0;
}

static void
node_free(struct node *n)
{
	unsigned int i;

	for (i = 0; i < n->npaths; i++) {
		pidx_del(n, n->paths[i]);
		x_free(n->paths[i]);
	}
	x_free(n->open_fh);
	x_free(n->open_epoch);
	names_clear(n);
	x_free(n);
}

/* 1 if path is the node's name (a symlink has one). */
static int
node_named(const struct node *n, const char *path)
{
	return n->npaths > 0 && strcmp(n->paths[0], path) == 0;
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

	if (strcmp(path, "/") == 0)
		return FUSE_ROOT_ID;	/* ".." of a top dir, or the root */
	pthread_mutex_lock(&nodes_mtx);
	h = key_hash(a->dev, a->ino) & (nbuckets - 1);
	for (n = by_key[h]; n; n = n->next_key)
		if (n->dev == a->dev && n->ino == a->ino &&
		    (!S_ISLNK(a->mode) || node_named(n, path)))
			break;
	if (n == NULL) {
		if (nnodes + 1 > nbuckets) {
			grow();
			h = key_hash(a->dev, a->ino) & (nbuckets - 1);
		}
		n = xcalloc(1, sizeof(*n));
		n->id = next_id++;
		n->dropped_depth = UINT_MAX;
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
	n->flags = a->flags;
	if (n->wpending == 0) {
		n->attr = *a;
		n->have_attr = 1;
		n->attr_stale = 0;
		n->attr_est = 0;
		n->attr_at = mono_now();
	}
	id = n->id;
	pthread_mutex_unlock(&nodes_mtx);
	return id;
}

void
nodes_forget(uint64_t nodeid, uint64_t count)
{
	struct node *n, **pp;

	if (nodeid == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) == NULL) {
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

int
nodes_same_data(uint64_t nodeid, const struct proto_attr *a)
{
	struct node *n;
	int same = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL) {
		same = n->have_data && n->mtime_sec == a->mtime_sec &&
		    n->mtime_nsec == a->mtime_nsec && n->size == a->size;
		n->have_data = 1;
		n->mtime_sec = a->mtime_sec;
		n->mtime_nsec = a->mtime_nsec;
		n->size = a->size;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return same;
}

unsigned long
nodes_count(void)
{
	unsigned long n;

	pthread_mutex_lock(&nodes_mtx);
	n = nnodes;
	pthread_mutex_unlock(&nodes_mtx);
	return n;
}

uint32_t
nodes_flags(uint64_t nodeid)
{
	struct node *n;
	uint32_t f = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL)
		f = n->flags;
	pthread_mutex_unlock(&nodes_mtx);
	return f;
}

void
nodes_set_flags(uint64_t nodeid, uint32_t flags)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL)
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
		if (n != &root && strcmp(n->paths[i], path) == 0) {
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
	char *np;

	if (n == &root)
		return;
	for (i = 0; i < n->npaths; i++) {
		np = NULL;
		if ((l = under(n->paths[i], pc->from)) > 0)
			np = replace_prefix(n->paths[i], l, pc->to);
		else if (pc->exchange && (l = under(n->paths[i], pc->to)) > 0)
			np = replace_prefix(n->paths[i], l, pc->from);
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
			if (strcmp(n->paths[i], n->paths[j]) == 0)
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
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL) {
		if (n->nopen == n->capopen) {
			n->capopen = n->capopen ? n->capopen * 2 : 2;
			n->open_fh = xrealloc(n->open_fh,
			    n->capopen * sizeof(*n->open_fh));
			n->open_epoch = xrealloc(n->open_epoch,
			    n->capopen * sizeof(*n->open_epoch));
		}
		n->open_fh[n->nopen] = fh;
		n->open_epoch[n->nopen] = epoch;
		n->nopen++;
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
nodes_open_del(uint64_t nodeid, uint64_t fh, uint64_t epoch)
{
	struct node *n;
	unsigned int i;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL)
		for (i = 0; i < n->nopen; i++)
			if (n->open_fh[i] == fh && n->open_epoch[i] == epoch) {
				n->nopen--;
				n->open_fh[i] = n->open_fh[n->nopen];
				n->open_epoch[i] = n->open_epoch[n->nopen];
				break;
			}
	pthread_mutex_unlock(&nodes_mtx);
}

int
nodes_open_fh(uint64_t nodeid, uint64_t epoch, uint64_t *fh)
{
	struct node *n;
	unsigned int i;
	int found = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL)
		for (i = 0; i < n->nopen && !found; i++)
			if (n->open_epoch[i] == epoch) {
				*fh = n->open_fh[i];
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
	if ((n = find_id(nodeid)) != NULL)
		n->posix_locked = 1;
	pthread_mutex_unlock(&nodes_mtx);
}

int
nodes_locked(uint64_t nodeid)
{
	struct node *n;
	int l = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL)
		l = n->posix_locked;
	pthread_mutex_unlock(&nodes_mtx);
	return l;
}

int
nodes_write_begin(uint64_t nodeid, uint64_t end, uint64_t size,
    uint64_t window)
{
	struct node *n;
	int rc = 0;

	pthread_mutex_lock(&nodes_mtx);
	while ((n = find_id(nodeid)) != NULL && n->werr == 0 &&
	    n->wpending > 0 && n->wbytes + size > window)
		pthread_cond_wait(&nodes_cv, &nodes_mtx);
	if (n == NULL)
		rc = -ESTALE;
	else if (n->werr != 0)
		rc = n->werr;
	else {
		n->wpending++;
		n->wbytes += size;
		if (end > n->wend)
			n->wend = end;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

void
nodes_write_end(uint64_t nodeid, uint64_t size, int err)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->wpending > 0) {
		n->wpending--;
		n->wbytes -= size;
		if (err < 0 && n->werr == 0)
			n->werr = err;
		if (n->wpending == 0)
			n->wend = 0;
	}
	pthread_cond_broadcast(&nodes_cv);
	pthread_mutex_unlock(&nodes_mtx);
}

int
nodes_write_drain(uint64_t nodeid, int clear)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&nodes_mtx);
	while ((n = find_id(nodeid)) != NULL && n->wpending > 0)
		pthread_cond_wait(&nodes_cv, &nodes_mtx);
	if (n != NULL) {
		err = n->werr;
		if (clear)
			n->werr = 0;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return err;
}


static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
nodes_fix_attr(uint64_t nodeid, struct proto_attr *a)
{
	struct node *n;
	uint64_t size;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->wpending > 0) {
		if (n->spending > 0 && n->have_attr) {
			size = a->size;
			*a = n->attr;
			a->size = size;
		}
		if (a->size < n->wend)
			a->size = n->wend;
	} else if (n != NULL) {
		n->attr = *a;
		n->have_attr = 1;
		n->attr_stale = 0;
		n->attr_est = 0;
		n->attr_at = mono_now();
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
nodes_set_created(uint64_t nodeid)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL)
		n->created_here = 1;
	pthread_mutex_unlock(&nodes_mtx);
}

int
nodes_setattr_begin(uint64_t nodeid, const struct nodes_setattr *sa,
    struct proto_attr *out)
{
	struct node *n;
	struct proto_attr *a;
	int rc = -1;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) == NULL || !n->created_here ||
	    !n->have_attr || n->werr != 0)
		goto out;
	a = &n->attr;
	if (sa->set_mode)
		a->mode = (a->mode & ~07777u) | (sa->mode & 07777u);
	if (sa->set_uid || sa->set_gid) {
		if (sa->set_uid)
			a->uid = sa->uid;
		if (sa->set_gid)
			a->gid = sa->gid;
		/* As chown(2) does to a file that is not a directory. */
		if (!S_ISDIR(a->mode)) {
			a->mode &= ~(uint32_t)S_ISUID;
			if (a->mode & S_IXGRP)
				a->mode &= ~(uint32_t)S_ISGID;
		}
	}
	if (sa->set_atime) {
		a->atime_sec = sa->atime_sec;
		a->atime_nsec = sa->atime_nsec;
	}
	if (sa->set_mtime) {
		a->mtime_sec = sa->mtime_sec;
		a->mtime_nsec = sa->mtime_nsec;
	}
	a->ctime_sec = sa->now_sec;
	a->ctime_nsec = sa->now_nsec;
	n->attr_est = 1;
	n->wpending++;
	n->spending++;
	*out = *a;
	if (out->size < n->wend)
		out->size = n->wend;
	rc = 0;
out:
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

void
nodes_setattr_end(uint64_t nodeid, int err, const struct proto_attr *real)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->wpending > 0) {
		n->wpending--;
		n->spending--;
		if (err < 0 && n->werr == 0)
			n->werr = err;
		if (n->wpending == 0) {
			n->wend = 0;
			if (real != NULL) {
				n->attr = *real;
				n->attr_stale = 0;
				n->attr_est = 0;
		n->attr_est = 0;
				n->attr_at = mono_now();
			} else
				n->have_attr = 0;	/* ask again */
		}
	}
	pthread_cond_broadcast(&nodes_cv);
	pthread_mutex_unlock(&nodes_mtx);
}

static size_t
name_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static struct name_ent **
name_find(struct node *n, const char *name)
{
	struct name_ent **pp;

	for (pp = &n->names[name_hash(name) & (n->nbnames - 1)]; *pp;
	    pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			return pp;
	return pp;
}

void
nodes_dir_made(uint64_t nodeid, double fresh_s)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && fresh_s > 0) {
		names_clear(n);
		n->nbnames = 16;
		n->names = xcalloc(n->nbnames, sizeof(*n->names));
		n->fresh_until = mono_now() + fresh_s;
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
nodes_dir_note(uint64_t nodeid, const char *name, int present)
{
	struct name_ent **pp, *e, **nb, *next;
	struct node *n;
	size_t i, nbn;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) == NULL || n->names == NULL)
		goto out;
	pp = name_find(n, name);
	if (!present && *pp != NULL) {
		e = *pp;
		*pp = e->next;
		x_free(e);
		n->nnames--;
	} else if (present && *pp == NULL) {
		if (n->nnames >= FRESH_NAMES_MAX) {
			names_clear(n);
			goto out;
		}
		e = xmalloc(sizeof(*e) + strlen(name) + 1);
		strcpy(e->name, name);
		e->next = NULL;
		*pp = e;
		if (++n->nnames > n->nbnames) {
			nbn = n->nbnames * 2;
			nb = xcalloc(nbn, sizeof(*nb));
			for (i = 0; i < n->nbnames; i++)
				for (e = n->names[i]; e; e = next) {
					next = e->next;
					e->next = nb[name_hash(e->name) &
					    (nbn - 1)];
					nb[name_hash(e->name) & (nbn - 1)] = e;
				}
			x_free(n->names);
			n->names = nb;
			n->nbnames = nbn;
		}
	}
out:
	pthread_mutex_unlock(&nodes_mtx);
}

double
nodes_dir_absent(uint64_t nodeid, const char *name)
{
	struct node *n;
	double left = 0, now;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->names != NULL) {
		now = mono_now();
		if (now >= n->fresh_until)
			names_clear(n);
		else if (*name_find(n, name) == NULL)
			left = n->fresh_until - now;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return left;
}

void
nodes_wrote(uint64_t nodeid, uint64_t end)
{
	struct node *n;
	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->have_attr) {
		if (end > n->attr.size)
			n->attr.size = end;
		/* The times are the agent's to say: git keeps them. */
		n->attr_stale = 1;
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
nodes_forget_attr(uint64_t nodeid)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->wpending == 0)
		n->have_attr = 0;
	pthread_mutex_unlock(&nodes_mtx);
}

int
nodes_cached_attr(uint64_t nodeid, struct proto_attr *a)
{
	struct node *n;
	int rc = -ESTALE;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->have_attr) {
		*a = n->attr;
		rc = 0;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

int
nodes_pending_attr(uint64_t nodeid, struct proto_attr *a)
{
	struct node *n;
	int rc = -1;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->spending > 0 && n->have_attr) {
		*a = n->attr;
		if (a->size < n->wend)
			a->size = n->wend;
		rc = 0;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

int
nodes_known_attr(uint64_t nodeid, double timeout, struct proto_attr *a,
    int *estimated)
{
	struct node *n;
	int rc = -1;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->created_here &&
	    n->have_attr && !n->attr_stale && n->wpending == 0 &&
	    mono_now() - n->attr_at < timeout) {
		*a = n->attr;
		*estimated = n->attr_est;
		rc = 0;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

void
nodes_dir_changed(uint64_t nodeid, int nlink_delta, int known)
{
	struct node *n;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL && n->have_attr) {
		if (!known)
			n->attr_stale = 1;
		else {
			n->attr_est = 1;
			n->attr.nlink = (uint32_t)((int)n->attr.nlink +
			    nlink_delta);
			n->attr.mtime_sec = n->attr.ctime_sec = now.tv_sec;
			n->attr.mtime_nsec = n->attr.ctime_nsec =
			    (uint32_t)now.tv_nsec;
		}
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
nodes_attr_stale(uint64_t nodeid)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = find_id(nodeid)) != NULL)
		n->attr_stale = 1;
	pthread_mutex_unlock(&nodes_mtx);
}
