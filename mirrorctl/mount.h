/*
 * Mounting a TARGET, shared by "mirrorctl mount" and "mirrorctl shell"
 * (which mounts under its own session directory when no mount of the
 * target is there to reuse).
 */
#ifndef MIRRORCTL_MOUNT_H
#define MIRRORCTL_MOUNT_H

#include "agent.h"

struct mount_opts {
	const char		*token_file;	/* NULL: a new token */
	const char		*fingerprint;	/* wss:// only */
	const char		*config;	/* --config, or NULL */
	const struct mirror_conf *conf;
	const struct kube_opts	*ko;
	int			 rw;
	int			 fg;	/* mount -f: returns once unmounted */
	int			 quiet;	/* no progress on stdout (a shell's) */
};

/* What must hold before anything starts: root for a local target,
 * /dev/fuse. 0, or -1 after one printed error. */
int	ctl_mount_check(const struct target *t, const char *target);
/* Gets an agent for t and mounts it on mp (absolute, an empty directory
 * that is not a mount point), or with mp NULL on a new directory "root"
 * in the new session's directory (s->by_shell set). Fills and saves s.
 * 0, or -1 after one printed error (nothing left running). */
int	ctl_mount_target(const struct target *t, const char *target,
	    const char *mp, const struct mount_opts *mo, struct session *s);

#endif
