/*
 * mountd's inode table: FUSE node ids mapped to the target's files.
 * A node is keyed by the target's (dev, ino), so hard links share one
 * node, and remembers the paths it was looked up by (most recent first). Lookup counts
 * are explicit, as in libfuse's passthrough_ll.
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
/* Records a's mtime and size for the node; 1 if they equal what was
 * recorded before (the kernel may keep its page cache). */
int	 nodes_same_data(uint64_t nodeid, const struct proto_attr *a);
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
/*
 * Write-behind: a write is answered to the kernel when it is sent, and
 * counted here until the agent has done it. begin waits while more than
 * window bytes are outstanding on the node and fails with the first
 * error of an earlier write; drain waits for all of them and returns
 * that error (clearing it if clear). fix_size keeps attributes from the
 * agent from showing a size the outstanding writes are about to grow.
 */
int	 nodes_write_begin(uint64_t nodeid, uint64_t end, uint64_t size,
	    uint64_t window);
void	 nodes_write_end(uint64_t nodeid, uint64_t size, int err);
int	 nodes_write_drain(uint64_t nodeid, int clear);
/* Attributes from the agent for a node: recorded, or, while changes
 * made behind are outstanding, replaced by what they will leave. */
void	 nodes_fix_attr(uint64_t nodeid, struct proto_attr *a);

/*
 * Attribute changes behind: on a file made through this mount (so on a
 * volume that takes writes), chmod, chown and utimens are answered with
 * the attributes they will leave and done by the agent in order after
 * (the request is keyed with the node). begin fails (-1) where that is
 * not possible; then the change goes to the agent and waits.
 */
struct nodes_setattr {
	int		 set_mode, set_uid, set_gid, set_atime, set_mtime;
	uint32_t	 mode, uid, gid;
	int64_t		 atime_sec, mtime_sec, now_sec;
	uint32_t	 atime_nsec, mtime_nsec, now_nsec;
};
void	 nodes_set_created(uint64_t nodeid);
/* A write up to end was done: the recorded size and times follow. */
void	 nodes_wrote(uint64_t nodeid, uint64_t end);
/*
 * Attributes of a file or directory made through this mount, recorded
 * from the agent less than timeout ago and kept up to date with what
 * the mount itself did to it since (writes, attribute changes, names
 * made in it): the answer to a getattr, as the kernel's own cache
 * would have given within the attribute timeout. 0, or -1: ask.
 * *estimated: the times are this machine's guess (a directory a name
 * was made in); the kernel must not keep them.
 */
int	 nodes_known_attr(uint64_t nodeid, double timeout,
	    struct proto_attr *a, int *estimated);
/* A name was made (known: its effect on the directory is known, nlink
 * changes by nlink_delta and the times are now) or changed in some other
 * way (not known: ask the agent next time) in the directory. */
void	 nodes_dir_changed(uint64_t nodeid, int nlink_delta, int known);
/* Something outside the mount's view may have changed the node (a lock
 * was taken: the last holder may have written): ask the agent. */
void	 nodes_attr_stale(uint64_t nodeid);
/* The attributes last recorded; -ESTALE if none. */
int	 nodes_cached_attr(uint64_t nodeid, struct proto_attr *a);
/* The recorded attributes are no longer known (fallocate). */
void	 nodes_forget_attr(uint64_t nodeid);
int	 nodes_setattr_begin(uint64_t nodeid, const struct nodes_setattr *,
	    struct proto_attr *out);
/* While attribute changes are outstanding: the attributes they leave
 * (what the agent's answer would be replaced with; ctime is a guess,
 * so the kernel must not keep them). 0, or -1. */
int	 nodes_pending_attr(uint64_t nodeid, struct proto_attr *a);
/* real: the agent's attributes after it, or NULL if it failed. */
void	 nodes_setattr_end(uint64_t nodeid, int err,
	    const struct proto_attr *real);

/*
 * A directory made through this mount holds, for negative_timeout after
 * it was made, only names made through the mount: a lookup of any other
 * name is answered "no such file" here, as the kernel's own negative
 * cache would after a listing. (tar and git look up every name before
 * they create it.)
 */
void	 nodes_dir_made(uint64_t nodeid, double fresh_s);
void	 nodes_dir_note(uint64_t nodeid, const char *name, int present);
/* Seconds the answer "absent" stays true, or 0: ask the agent. */
double	 nodes_dir_absent(uint64_t nodeid, const char *name);
/* Number of nodes held (for tests and status). */
unsigned long nodes_count(void);

#endif
