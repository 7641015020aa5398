/*
 * Small /proc readers (procfs.h). /proc/PID/stat's second field is the
 * command name in parentheses, which may itself hold spaces and ')':
 * fields are counted from the last ')'.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

#define PROCFS_STAT_MAX		1024	/* one /proc/PID/stat line */
#define STAT_FIELD_START	22	/* starttime, in proc(5)'s count */

/* What a runtime puts before the ID in a cgroup directory's name. */
static const char *const cgroup_prefixes[] = {
	"cri-containerd-", "crio-", "docker-", "libpod-", "",
};

ssize_t
read_small_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, error = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
out:
	buf[len] = '\0';
	close(fd);
	return error != 0 ? error : (ssize_t)len;
}

int
procfs_stat(pid_t pid, struct procfs_stat *st)
{
	char path[64], buf[PROCFS_STAT_MAX], *p;
	ssize_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((n = read_small_file(path, buf, sizeof(buf))) < 0)
		return (int)n;
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' ||
	    sscanf(p + 2, "%c %d", &st->state, &st->ppid) != 2)
		return -EINVAL;
	/* p is at the end of field 2; each space starts the next. */
	for (field = 2; p != NULL && field < STAT_FIELD_START; field++)
		p = strchr(p + 1, ' ');
	st->start = p != NULL ? strtoull(p + 1, NULL, 10) : 0;
	return 0;
}

int
procfs_alive(pid_t pid)
{
	struct procfs_stat st;
	int rc;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return 0;
	rc = procfs_stat(pid, &st);
	if (rc == -EINVAL)
		return 1;
	return rc == 0 && st.state != 'Z' && st.state != 'X';
}

unsigned long long
procfs_start_time(pid_t pid)
{
	struct procfs_stat st;

	if (pid <= 0 || procfs_stat(pid, &st) < 0 || st.state == 'Z' ||
	    st.state == 'X')
		return 0;
	return st.start;
}

/*
 * Is the cgroup directory name [s, s + len) the container id's? It is
 * when, after a runtime's prefix, it starts with id and is all hex up to
 * an optional ".scope". full gets the whole hex run, the full ID.
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
		if (hex > PROCFS_CONTAINER_ID_MAX || hex >= fullsz)
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

/* Lines are "HIERARCHY:CONTROLLERS:PATH"; each directory of PATH is
 * tried. */
int
procfs_cgroup_names(const char *text, const char *id, char *full,
    size_t fullsz)
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
