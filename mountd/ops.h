/* The FUSE low-level operations table of mountd. */
#ifndef MIRROR_MOUNTD_OPS_H
#define MIRROR_MOUNTD_OPS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

struct client;

struct ops_config {
	struct client	*client;
	double		 attr_timeout;
	double		 entry_timeout;
	double		 negative_timeout;
	double		 watched_timeout; /* the three, in watched dirs */
	int		 max_read_kb;
	int		 readahead_kb;
	int		 rw;		/* writable mount */
	int		 write_behind_kb; /* per file; 0: write-through */
};

/* Ends lock waits in progress; call before the session goes. */
void	ops_stop(void);

/* Copies c; returns the table to hand to fuse_session_new(). */
const struct fuse_lowlevel_ops *ops_table(const struct ops_config *c);

#endif
