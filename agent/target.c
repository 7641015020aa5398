/*
 * The target by container ID: every runtime puts a container's processes
 * in a cgroup named after its ID (cri-containerd-ID.scope, crio-ID.scope,
 * docker-ID.scope, libpod-ID[.scope], or a bare ID under kubepods or
 * docker), so /proc/PID/cgroup finds them without asking the runtime.
 * The agent must see the host's processes (hostPID) for this to work.
 * The cgroup name matcher is lib/procfs.c's, shared with mirrorctl.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "target.h"
#include "xmalloc.h"

/* What a runtime puts before the ID in a Kubernetes containerID. */
static const char *const id_schemes[] = {
	"containerd://", "cri-o://", "docker://", "podman://",
};

int
agent_target_parse_id(const char *spec, char *out, size_t outsz)
{
	size_t i, n;

	for (i = 0; i < sizeof(id_schemes) / sizeof(id_schemes[0]); i++) {
		n = strlen(id_schemes[i]);
		if (strncmp(spec, id_schemes[i], n) == 0) {
			spec += n;
			break;
		}
	}
	n = strlen(spec);
	if (n < TARGET_ID_MIN || n > TARGET_ID_MAX || outsz <= n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)spec[i]))
			return -EINVAL;
		out[i] = (char)tolower((unsigned char)spec[i]);
	}
	out[n] = '\0';
	return 0;
}

int
agent_target_find_container(const char *id, int *pid, char *full,
    size_t fullsz)
{
	char path[64], this_id[TARGET_ID_MAX + 1], *cg = NULL, *pcg = NULL;
	struct dirent *de;
	DIR *d;
	long v;
	char *end;
	struct procfs_stat st;
	int best = 0, rc = 0;

	if ((d = opendir("/proc")) == NULL)
		return -errno;
	cg = xmalloc(PROCFS_CGROUP_MAX);
	pcg = xmalloc(PROCFS_CGROUP_MAX);
	while ((de = readdir(d)) != NULL) {
		errno = 0;
		v = strtol(de->d_name, &end, 10);
		if (errno || *end != '\0' || v <= 0 || v > 0x7fffffff)
			continue;
		/* Processes come and go while we look: skip the gone. */
		snprintf(path, sizeof(path), "/proc/%ld/cgroup", v);
		if (read_small_file(path, cg, PROCFS_CGROUP_MAX) < 0 ||
		    !procfs_cgroup_names(cg, id, this_id, sizeof(this_id)))
			continue;
		/* The container's init: its parent (the runtime's monitor,
		 * or nothing we can see) is in another cgroup. */
		if (procfs_stat((pid_t)v, &st) == 0 && st.ppid > 0) {
			snprintf(path, sizeof(path), "/proc/%d/cgroup", st.ppid);
			if (read_small_file(path, pcg, PROCFS_CGROUP_MAX) >= 0 &&
			    strcmp(cg, pcg) == 0)
				continue;
		}
		if (best != 0 && strcmp(this_id, full) != 0) {
			rc = -EEXIST;
			goto out;
		}
		if (best == 0 || v < best) {
			if (best == 0)
				snprintf(full, fullsz, "%s", this_id);
			best = (int)v;
		}
	}
	if (best == 0)
		rc = -ESRCH;
	else
		*pid = best;
out:
	x_free(cg);
	x_free(pcg);
	closedir(d);
	return rc;
}
