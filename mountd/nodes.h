/*
 * mountd's inode table: FUSE node ids mapped to the target's files.
 * A node is keyed by the target's (dev, ino), so hard links share one
 * node, and remembers the path it was last looked up by. Lookup counts
 * are explicit, as in libfuse's passthrough_ll.
 */
#ifndef MIRROR_MOUNTD_NODES_H
#define MIRROR_MOUNTD_NODES_H

#include <stdint.h>

#include "proto.h"

void	 nodes_init(void);
/* The node's path, or NULL if the id is unknown. Caller frees. */
char	*nodes_path(uint64_t nodeid);
/* parent's path + "/" + name, or NULL (unknown parent, bad name).
 * Caller frees. */
char	*nodes_child_path(uint64_t parent, const char *name);
/* Finds or creates the node of a's (dev, ino), records path and takes
 * one lookup reference. Returns the node id. */
uint64_t nodes_ref(const char *path, const struct proto_attr *a);
/* Drops n lookup references; the node goes at zero. */
void	 nodes_forget(uint64_t nodeid, uint64_t n);
/* Records a's mtime and size for the node; 1 if they equal what was
 * recorded before (the kernel may keep its page cache). */
int	 nodes_same_data(uint64_t nodeid, const struct proto_attr *a);
/* The ATTR_* flags last seen for the node (0 if unknown). */
uint32_t nodes_flags(uint64_t nodeid);
void	 nodes_set_flags(uint64_t nodeid, uint32_t flags);
/* Number of nodes held (for tests and status). */
unsigned long nodes_count(void);

#endif
