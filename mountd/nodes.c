/* The node table: two hash chains per node, by id and by (dev, ino). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "nodes.h"
#include "xmalloc.h"

struct node {
	uint64_t	 id;
	uint64_t	 dev, ino;
	char		*path;
	uint64_t	 nlookup;
	int		 have_data;
	uint32_t	 flags;
	int64_t		 mtime_sec;
	uint32_t	 mtime_nsec;
	uint64_t	 size;
	struct node	*next_id, *next_key;
};

static pthread_mutex_t nodes_mtx = PTHREAD_MUTEX_INITIALIZER;
/* All below are protected by nodes_mtx. */
static struct node **by_id, **by_key;
static size_t nbuckets;
static unsigned long nnodes;
static uint64_t next_id = FUSE_ROOT_ID + 1;
static struct node root;

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
	root.path = xstrdup("/");
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
	if ((n = find_id(nodeid)) != NULL)
		p = xstrdup(n->path);
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
	if ((n = find_id(parent)) != NULL)
		xasprintf(&p, "%s/%s", strcmp(n->path, "/") ? n->path : "",
		    name);
	pthread_mutex_unlock(&nodes_mtx);
	return p;
}

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
		if (n->dev == a->dev && n->ino == a->ino)
			break;
	if (n == NULL) {
		if (nnodes + 1 > nbuckets) {
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
	if (n->path == NULL || strcmp(n->path, path) != 0) {
		x_free(n->path);
		n->path = xstrdup(path);
	}
	n->nlookup++;
	n->flags = a->flags;
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
		x_free(n->path);
		x_free(n);
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
