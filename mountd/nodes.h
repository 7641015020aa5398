/*
 * mountd's inode table: FUSE node ids mapped to the target's files.
 * A node is keyed by the target's (dev, ino), so hard links share one
 * node, and remembers the paths it was looked up by (most recent
 * first). Lookup counts are explicit, as in libfuse's passthrough_ll.
 * What is known of a node ahead of the agent is in cache.h.
 */
#ifndef MIRROR_MOUNTD_NODES_H
#define MIRROR_MOUNTD_NODES_H

#include <stdint.h>

#include "proto.h"

void	 nodes_init(void);
/* The node's path, or NULL if the id is unknown. Caller frees. */
char	*nodes_path(uint64_t nodeid);
/* A symlink's path to ask the agent about (its shallowest name), and in
 * *depth the fewest directories above any name the kernel may follow it
 * by (reply_link_target_ok()'s depth). NULL if the id is unknown. Caller
 * frees. */
char	*nodes_link_path(uint64_t nodeid, unsigned int *depth);
/* parent's path + "/" + name, or NULL (unknown parent, bad name).
 * Caller frees. */
char	*nodes_child_path(uint64_t parent, const char *name);
/* Finds or creates the node of a's (dev, ino), records path and takes
 * one lookup reference. Returns the node id. */
uint64_t nodes_ref(const char *path, const struct proto_attr *a);
/* Drops n lookup references; the node goes at zero. */
void	 nodes_forget(uint64_t nodeid, uint64_t n);
/* The ATTR_* flags last seen for the node (0 if unknown). */
uint32_t nodes_flags(uint64_t nodeid);
void	 nodes_set_flags(uint64_t nodeid, uint32_t flags);
/* A name was removed (unlink, rmdir): no node is known by it any more. */
void	 nodes_unlinked(const char *path);
/* from was renamed to to (whatever to named before is gone, unless
 * exchange): every node under from is now under to. */
void	 nodes_renamed(const char *from, const char *to, int exchange);
/* Agent handles open on a node, so that it is reachable by handle when
 * no name is left (open, then unlinked). */
void	 nodes_open_add(uint64_t nodeid, uint64_t fh, uint64_t epoch);
void	 nodes_open_del(uint64_t nodeid, uint64_t fh, uint64_t epoch);
/* 1 and *fh if a handle of this epoch is open on the node. */
int	 nodes_open_fh(uint64_t nodeid, uint64_t epoch, uint64_t *fh);
/* A POSIX lock was asked for on the node: closes must tell the agent. */
void	 nodes_set_locked(uint64_t nodeid);
int	 nodes_locked(uint64_t nodeid);
/* The node named path ("/": the root), or 0. */
uint64_t nodes_by_path(const char *path);
/* Whether the agent watches a directory node (ATTR_WATCHED). */
void	 nodes_set_dir_watched(uint64_t nodeid, int on);
int	 nodes_dir_watched(uint64_t nodeid);
/* A name a node is known by: the node, its parent's node (0 if none is
 * known) and the last component (NULL for the root). */
struct nodes_name {
	uint64_t	 id, parent;
	char		*name;
};
/* Every name at or under path (NULL: every node), and each such node no
 * longer counts as watched. Returns the count; free with
 * nodes_names_free. */
size_t	 nodes_names_under(const char *path, struct nodes_name **out);
void	 nodes_names_free(struct nodes_name *v, size_t n);
/* Number of nodes held, and in *max (unless NULL) the bound (for
 * status). */
unsigned long nodes_count(unsigned long *max);
/*
 * A bound on the nodes held (0: none). Past it, nodes_ref() calls over()
 * (outside the lock, from a FUSE worker: it must not wait on the kernel)
 * and nodes_evict_names() gives the names of the nodes looked up longest
 * ago, enough to go back under the bound by an eighth, that nothing
 * holds open or writes to: told to forget them (notify_inval_entry),
 * the kernel drops what it no longer uses and sends their forgets.
 */
void	 nodes_set_max(unsigned long max, void (*over)(void));
size_t	 nodes_evict_names(struct nodes_name **out);

#endif
