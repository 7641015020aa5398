/*
 * Finding the agent's target by container ID (--target-container-id):
 * a Kubernetes job on the target's node knows the container's ID from
 * the pod's status, not its PID. The container's processes carry the ID
 * in their cgroup paths.
 */
#ifndef MIRROR_AGENT_TARGET_H
#define MIRROR_AGENT_TARGET_H

#include <stddef.h>

#include "procfs.h"

#define TARGET_ID_MIN	12	/* hex digits of the shortest ID accepted */
#define TARGET_ID_MAX	PROCFS_CONTAINER_ID_MAX	/* a full container ID */

/*
 * Normalizes a container ID: "containerd://ID", "cri-o://ID",
 * "docker://ID", "podman://ID" or a bare ID, TARGET_ID_MIN..TARGET_ID_MAX
 * hex digits (a prefix of the full ID), into lowercase hex in out (at
 * least TARGET_ID_MAX + 1). Returns 0 or -EINVAL.
 */
int	agent_target_parse_id(const char *spec, char *out, size_t outsz);

/*
 * Finds the container's init in /proc: of the processes whose cgroup
 * path names the container (id from agent_target_parse_id), the one
 * whose parent is in another cgroup, the lowest PID if several are.
 * Returns 0 and sets *pid and full (the full ID; at least
 * TARGET_ID_MAX + 1); -ESRCH if no process matches; -EEXIST if id is a
 * prefix of two containers' IDs; another -errno if /proc cannot be read.
 */
int	agent_target_find_container(const char *id, int *pid, char *full,
	    size_t fullsz);

#endif
