/*
 * The node as the inode table (nodes.c) and the caches (cache.c) share
 * it, and the one lock over both. Private to those two files: the rest
 * of mountd goes through nodes.h and cache.h.
 */
#ifndef MIRROR_MOUNTD_NODES_TABLE_H
#define MIRROR_MOUNTD_NODES_TABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define NODE_PATHS_MAX	8	/* names remembered per hard-linked file */

struct name_ent;			/* cache.c */

/*
 * What few nodes need: more than one name (hard links), agent handles
 * held open, writes outstanding, a fresh directory's names. Made on first
 * use (nodes_more()), freed with the node: a walk of a big tree caches
 * nodes by the hundred thousand, and almost none of them have any of it.
 */
struct node_more {
	/* The names when there is more than one (names_aside). */
	char		*paths[NODE_PATHS_MAX];
	/* The shallowest of the names forgotten to make room for newer
	 * ones: the kernel may still follow a link by such a name. */
	unsigned int	 dropped_depth;
	unsigned int	 nopen, capopen;
	/* Writes answered to the kernel and not yet done by the agent,
	 * and of them, attribute changes. */
	unsigned int	 wpending, spending;
	uint64_t	*open_fh, *open_epoch;	/* agent handles held open */
	uint64_t	 wbytes, wend;	/* of the writes outstanding */
	int		 werr;		/* first failure, until reported */
	/* A directory made through this mount: until fresh_until every
	 * name in it is one made through the mount too (names). */
	double		 fresh_until;
	struct name_ent	**names;
	size_t		 nnames, nbnames;
};

/* Every field is protected by nodes_mtx. Ordered to leave no padding:
 * mountd holds one per file the kernel caches. */
struct node {
	uint64_t	 id;
	uint64_t	 dev, ino;
	/* The names it is known by, most recent first; none once the last
	 * one was unlinked (open files are then reached by handle). In
	 * path1 while there is at most one, else in more->paths: see
	 * node_paths(). */
	char		*path1;
	struct node_more *more;		/* NULL until needed */
	/* The attributes last heard, or, while changes are outstanding,
	 * the ones they will leave. */
	struct proto_attr attr;
	double		 attr_at;	/* when the agent last said them */
	uint64_t	 nlookup;
	uint32_t	 flags;
	/* The lookup tick when it was last looked up: past the bound the
	 * oldest go first (nodes_evict_names). */
	uint32_t	 used;
	/* The data version last seen (cache_same_data), if have_data. */
	int64_t		 mtime_sec;
	uint64_t	 size;
	uint32_t	 mtime_nsec;
	unsigned int	 npaths : 8;
	unsigned int	 have_attr : 1;
	unsigned int	 attr_stale : 1; /* changed in ways not followed here */
	unsigned int	 attr_est : 1;	/* times guessed here, not the agent's */
	unsigned int	 created_here : 1; /* made through this mount */
	unsigned int	 have_data : 1;
	unsigned int	 posix_locked : 1;
	/* A directory the agent watches (its answers said ATTR_WATCHED):
	 * its "no such name" may be cached long. */
	unsigned int	 dir_watched : 1;
	unsigned int	 names_aside : 1; /* the names are in more->paths */
	struct node	*next_id, *next_key;
};

extern pthread_mutex_t nodes_mtx;

/* The names of n (n->npaths of them), most recent first. */
static inline char **
node_paths(struct node *n)
{
	return n->names_aside ? n->more->paths : &n->path1;
}

/* Writes (and attribute changes) outstanding on n. */
static inline unsigned int
node_wpending(const struct node *n)
{
	return n->more != NULL ? n->more->wpending : 0;
}

static inline unsigned int
node_spending(const struct node *n)
{
	return n->more != NULL ? n->more->spending : 0;
}

/* The node of an id, or NULL. Called with nodes_mtx held. */
struct node *nodes_find(uint64_t id);

/* The hash of a name or path (djb2), for the tables of both files. */
static inline size_t
nodes_str_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* n's side state, made if it has none yet. Called with nodes_mtx held. */
struct node_more *nodes_more(struct node *n);

/* Called with nodes_mtx held. */
/* Records a as what the agent says of n now. */
void	cache_record_attr(struct node *n, const struct proto_attr *a);
/* Frees what the caches hold of n (n is going). */
void	cache_node_free(struct node *n);

#endif
