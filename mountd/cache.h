/*
 * What mountd knows of a node ahead of the agent (cache.c): attributes
 * kept up to date with what the mount did, changes answered before the
 * agent has done them (write-behind, attribute changes behind), and the
 * names of directories made through the mount. Keyed by node id (nodes.h).
 */
#ifndef MIRROR_MOUNTD_CACHE_H
#define MIRROR_MOUNTD_CACHE_H

#include <stdint.h>

#include "proto.h"

/* Records a's mtime and size for the node; 1 if they equal what was
 * recorded before (the kernel may keep its page cache). */
int	 cache_same_data(uint64_t nodeid, const struct proto_attr *a);
/*
 * Write-behind: a write is answered to the kernel when it is sent, and
 * counted here until the agent has done it. begin waits while more than
 * window bytes are outstanding on the node and fails with the first
 * error of an earlier write; drain waits for all of them and returns
 * that error (clearing it if clear). fix_size keeps attributes from the
 * agent from showing a size the outstanding writes are about to grow.
 */
int	 cache_write_begin(uint64_t nodeid, uint64_t end, uint64_t size,
	    uint64_t window);
void	 cache_write_end(uint64_t nodeid, uint64_t size, int err);
int	 cache_write_drain(uint64_t nodeid, int clear);
/* Attributes from the agent for a node: recorded, or, while changes
 * made behind are outstanding, replaced by what they will leave. */
void	 cache_fix_attr(uint64_t nodeid, struct proto_attr *a);

/*
 * Attribute changes behind: on a file made through this mount (so on a
 * volume that takes writes), chmod, chown and utimens are answered with
 * the attributes they will leave and done by the agent in order after
 * (the request is keyed with the node). begin fails (-1) where that is
 * not possible; then the change goes to the agent and waits.
 */
struct cache_setattr {
	int		 set_mode, set_uid, set_gid, set_atime, set_mtime;
	uint32_t	 mode, uid, gid;
	int64_t		 atime_sec, mtime_sec, now_sec;
	uint32_t	 atime_nsec, mtime_nsec, now_nsec;
};
void	 cache_set_created(uint64_t nodeid);
/* A write up to end was done: the recorded size and times follow. */
void	 cache_wrote(uint64_t nodeid, uint64_t end);
/*
 * Attributes of a file or directory made through this mount, recorded
 * from the agent less than timeout ago and kept up to date with what
 * the mount itself did to it since (writes, attribute changes, names
 * made in it): the answer to a getattr, as the kernel's own cache
 * would have given within the attribute timeout. 0, or -1: ask.
 * *estimated: the times are this machine's guess (a directory a name
 * was made in); the kernel must not keep them.
 */
int	 cache_known_attr(uint64_t nodeid, double timeout,
	    struct proto_attr *a, int *estimated);
/* A name was made (known: its effect on the directory is known, nlink
 * changes by nlink_delta and the times are now) or changed in some other
 * way (not known: ask the agent next time) in the directory. */
void	 cache_dir_changed(uint64_t nodeid, int nlink_delta, int known);
/* Something outside the mount's view may have changed the node (a lock
 * was taken: the last holder may have written): ask the agent. */
void	 cache_attr_stale(uint64_t nodeid);
/* The attributes last recorded; -ESTALE if none. */
int	 cache_last_attr(uint64_t nodeid, struct proto_attr *a);
/* The recorded attributes are no longer known (fallocate). */
void	 cache_forget_attr(uint64_t nodeid);
int	 cache_setattr_begin(uint64_t nodeid, const struct cache_setattr *,
	    struct proto_attr *out);
/* While attribute changes are outstanding: the attributes they leave
 * (what the agent's answer would be replaced with; ctime is a guess,
 * so the kernel must not keep them). 0, or -1. */
int	 cache_pending_attr(uint64_t nodeid, struct proto_attr *a);
/* 1 while writes or attribute changes answered before they were done
 * are outstanding on the node: what asks about it must be ordered
 * behind them (keyed, ops.h). */
int	 cache_behind(uint64_t nodeid);
/* real: the agent's attributes after it, or NULL if it failed. */
void	 cache_setattr_end(uint64_t nodeid, int err,
	    const struct proto_attr *real);

/*
 * A directory made through this mount holds, for negative_timeout after
 * it was made, only names made through the mount: a lookup of any other
 * name is answered "no such file" here, as the kernel's own negative
 * cache would after a listing. (tar and git look up every name before
 * they create it.)
 */
void	 cache_dir_made(uint64_t nodeid, double fresh_s);
void	 cache_dir_note(uint64_t nodeid, const char *name, int present);
/* Seconds the answer "absent" stays true, or 0: ask the agent. */
double	 cache_dir_absent(uint64_t nodeid, const char *name);

#endif
