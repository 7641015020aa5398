/*
 * The agent's file service: every path resolved under the target's root
 * fd with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). Runs on the
 * worker threads. The confinement functions (opening under the root,
 * symlink targets) are declared in confine.h, included here.
 */
#ifndef MIRROR_AGENT_FS_H
#define MIRROR_AGENT_FS_H

#include <limits.h>
#include <pthread.h>

#include "confine.h"
#include "fs-watch.h"
#include "proto.h"

struct agent_fs {
	int	rootfd;			/* O_PATH, opened once at start */
	int	writable;		/* --rw: writing requests are served */
	char	rootpath[PATH_MAX];	/* the root as /proc/self/fd shows it */
	/* Directories watched for changes (fs-watch.h); NULL: none. */
	struct fs_watch *watch;
};

struct agent_file {
	int	fd;
	int	refs;			/* in-flight users + 1 while open */
};

/*
 * The POSIX locks of one lock owner (a process on the client) on one
 * file: an open file description of its own, locked with OFD locks, so
 * owners on the client conflict with each other and with processes in
 * the target as POSIX locks would. Closing it drops them all.
 */
struct agent_lock {
	uint64_t	 dev, ino, owner;
	int		 fd;
	struct agent_lock *next;
};

/* Open files of one client connection. */
struct agent_files {
	pthread_mutex_t	 mtx;		/* protects everything below */
	struct agent_file *slots;
	unsigned int	 nslots;
	unsigned int	 nopen;
	struct agent_lock *locks;
};

#define AGENT_FILES_MAX	65536		/* open files per connection */

void	agent_files_init(struct agent_files *);
/* Closes every file still open (the connection went away). */
void	agent_files_close_all(struct agent_files *);
/* Serves one request: decodes its payload, runs the syscalls and builds
 * the reply in out. Returns 0, or -EBADMSG if the payload did not
 * decode (the caller drops the connection). */
int	agent_fs_serve(struct agent_fs *, struct agent_files *,
	    const struct proto_hdr *, struct proto_cur *, struct proto_buf *out);

#endif
