/*
 * Looking up a mount point in /proc/self/mountinfo without touching the
 * mount itself (a stat() of a FUSE mount waits for its daemon, and fails
 * on a dead one).
 */
#ifndef MIRROR_MOUNTINFO_H
#define MIRROR_MOUNTINFO_H

#include <stddef.h>

struct mountinfo {
	unsigned int	major, minor;	/* the mount's device */
	char		fstype[128];	/* "fuse.mirror", "ext4", ... */
};

/* The topmost mount on path (absolute, normalized): 0, or -ENOENT if
 * nothing is mounted there. */
int	mountinfo_find(const char *path, struct mountinfo *mi);

#endif
