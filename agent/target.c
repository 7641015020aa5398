/*
 * The target by container ID: every runtime puts a container's processes
 * in a cgroup named after its ID (cri-containerd-ID.scope, crio-ID.scope,
 * docker-ID.scope, libpod-ID[.scope], or a bare ID under kubepods or
 * docker), so /proc/PID/cgroup finds them without asking the runtime.
 * The agent must see the host's processes (hostPID) for this to work.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target.h"
#include "xmalloc.h"

#define CGROUP_FILE_MAX	16384	/* /proc/PID/cgroup, all hierarchies */

/* What a runtime puts before the ID in a cgroup directory's name. */
static const char *const cgroup_prefixes[] = {
	"cri-containerd-", "crio-", "docker-", "libpod-", "",
};

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

/* Reads a small /proc file, NUL-terminated. Returns its length or -errno. */
static ssize_t
read_proc_file(const char *path, char *buf, size_t bufsz)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while (len < bufsz - 1) {
		n = read(fd, buf + len, bufsz - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/*
 * Is the cgroup directory name [s, s + len) the container id's? It is
 * when, after a runtime's prefix, it starts with id and is all hex up to
 * an optional ".scope": "libpod-conmon-ID.scope" (podman's monitor) is
 * not the container. full gets the whole hex run, the full ID.
 */
static int
cgroup_name_matches(const char *s, size_t len, const char *id, char *full,
    size_t fullsz)
{
	size_t i, n, idlen = strlen(id), hex;

	for (i = 0; i < sizeof(cgroup_prefixes) / sizeof(cgroup_prefixes[0]);
	    i++) {
		n = strlen(cgroup_prefixes[i]);
		if (len < n + idlen || strncmp(s, cgroup_prefixes[i], n) != 0 ||
		    strncmp(s + n, id, idlen) != 0)
			continue;
		for (hex = idlen; n + hex < len && isxdigit((unsigned char)
		    s[n + hex]); hex++)
			;
		if (hex > TARGET_ID_MAX || hex >= fullsz)
			continue;
		if (n + hex != len && (len - n - hex != 6 ||
		    strncmp(s + n + hex, ".scope", 6) != 0))
			continue;
		memcpy(full, s + n, hex);
		full[hex] = '\0';
		return 1;
	}
	return 0;
}

/* Does a /proc/PID/cgroup text name the container? Lines are
 * "HIERARCHY:CONTROLLERS:PATH". */
static int
cgroup_matches(const char *text, const char *id, char *full, size_t fullsz)
{
	const char *line, *eol, *p, *q;

	for (line = text; *line != '\0'; line = *eol ? eol + 1 : eol) {
		eol = line + strcspn(line, "\n");
		p = memchr(line, ':', (size_t)(eol - line));
		if (p == NULL ||
		    (p = memchr(p + 1, ':', (size_t)(eol - p - 1))) == NULL)
			continue;
		for (p++; p < eol; p = q + 1) {
			q = memchr(p, '/', (size_t)(eol - p));
			if (q == NULL)
				q = eol;
			if (q > p && cgroup_name_matches(p, (size_t)(q - p), id,
			    full, fullsz))
				return 1;
		}
	}
	return 0;
}

/* The parent's PID from /proc/PID/stat, or -1. */
static int
proc_parent(int pid)
{
	char path[64], buf[1024];
	const char *p;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_proc_file(path, buf, sizeof(buf)) < 0)
		return -1;
	/* The command name may hold spaces and parentheses: skip to the
	 * last ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
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
	int ppid, best = 0, rc = 0;

	if ((d = opendir("/proc")) == NULL)
		return -errno;
	cg = xmalloc(CGROUP_FILE_MAX);
	pcg = xmalloc(CGROUP_FILE_MAX);
	while ((de = readdir(d)) != NULL) {
		errno = 0;
		v = strtol(de->d_name, &end, 10);
		if (errno || *end != '\0' || v <= 0 || v > 0x7fffffff)
			continue;
		/* Processes come and go while we look: skip the gone. */
		snprintf(path, sizeof(path), "/proc/%ld/cgroup", v);
		if (read_proc_file(path, cg, CGROUP_FILE_MAX) < 0 ||
		    !cgroup_matches(cg, id, this_id, sizeof(this_id)))
			continue;
		/* The container's init: its parent (the runtime's monitor,
		 * or nothing we can see) is in another cgroup. */
		ppid = proc_parent((int)v);
		if (ppid > 0) {
			snprintf(path, sizeof(path), "/proc/%d/cgroup", ppid);
			if (read_proc_file(path, pcg, CGROUP_FILE_MAX) >= 0 &&
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
