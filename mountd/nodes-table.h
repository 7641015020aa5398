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

/* Every field is protected by nodes_mtx. */
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
	/* A directory the agent watches (its answers said ATTR_WATCHED):
	 * its "no such name" may be cached long. */
	int		 dir_watched;
	uint32_t	 flags;
	/* The lookup tick when it was last looked up: past the bound the
	 * oldest go first (nodes_evict_names). */
	uint32_t	 used;
	int64_t		 mtime_sec;
	uint32_t	 mtime_nsec;
	uint64_t	 size;
	struct node	*next_id, *next_key;
};

extern pthread_mutex_t nodes_mtx;

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

/* Called with nodes_mtx held. */
/* Records a as what the agent says of n now. */
void	cache_record_attr(struct node *n, const struct proto_attr *a);
/* Frees what the caches hold of n (n is going). */
void	cache_node_free(struct node *n);

#endif
