/*
 * OP_TARGET_INFO: what the remote-context shell needs to know about its
 * target. The hostname is the target's UTS name, read by a short-lived
 * thread that joins its UTS namespace (or, where that is not allowed,
 * the first line of its /etc/hostname, opened confined under its root);
 * the environment is /proc/PID/environ as it is, capped; the volumes are
 * its mount points from /proc/PID/mountinfo, which the kernel shows
 * relative to the target's root, leaving out the root itself and /proc,
 * /sys, /dev. All of it is pod-controlled: only the shapes
 * proto-target.h accepts are sent.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "log.h"
#include "proto-target.h"
#include "target-info.h"
#include "xmalloc.h"

struct uts_job {
	int	pid;
	char	name[TARGET_HOSTNAME_MAX + 1];
};

/* In a thread of its own: setns() changes only the calling thread's UTS
 * namespace, and the thread ends right after. */
static void *
uts_thread(void *arg)
{
	struct uts_job *j = arg;
	struct utsname u;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/uts", j->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (setns(fd, CLONE_NEWUTS) == 0 && uname(&u) == 0)
		snprintf(j->name, sizeof(j->name), "%s", u.nodename);
	close(fd);
	return NULL;
}

/* The first line of the target's /etc/hostname. */
static void
hostname_from_file(struct agent_fs *fs, char *out, size_t size)
{
	char buf[TARGET_HOSTNAME_MAX + 2];
	ssize_t n;
	int fd;

	out[0] = '\0';
	fd = agent_fs_open_regular_in_root(fs, "/etc/hostname", O_RDONLY);
	if (fd < 0)
		return;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strlen(buf) < size)		/* else too long: unknown */
		memcpy(out, buf, strlen(buf) + 1);
}

static void
target_hostname(struct agent_fs *fs, int pid, char *out, size_t size)
{
	struct uts_job j = { .pid = pid };
	pthread_t t;

	if (pid > 0 && pthread_create(&t, NULL, uts_thread, &j) == 0) {
		pthread_join(t, NULL);
		snprintf(out, size, "%s", j.name);
	} else
		out[0] = '\0';
	if (out[0] == '\0' || !target_hostname_ok(out))
		hostname_from_file(fs, out, size);
	if (!target_hostname_ok(out))
		out[0] = '\0';
}

/* Up to TARGET_ENV_MAX bytes of /proc/PID/environ into buf (that
 * size), cut after the last whole entry. Returns the length or -errno. */
static ssize_t
target_environ(int pid, char *buf)
{
	char path[64];
	size_t len = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while (len < TARGET_ENV_MAX) {
		n = read(fd, buf + len, TARGET_ENV_MAX - len);
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
	if (len == TARGET_ENV_MAX) {
		log_warnx("the target's environment is larger than %u bytes; "
		    "the rest is left out", TARGET_ENV_MAX);
		while (len > 0 && buf[len - 1] != '\0')
			len--;
	}
	return (ssize_t)len;
}

/* A mountinfo field with its \ooo escapes decoded, in place. */
static void
unescape_octal(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
			    (s[3] - '0'));
			s += 3;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* The target's volume mount points into vols (TARGET_VOLUMES_MAX),
 * each once, in mount order. Returns how many. */
static size_t
target_volumes(int pid, char **vols)
{
	char path[64], *line = NULL, *mp, *save;
	size_t cap = 0, n = 0, i;
	FILE *f;
	int k;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint ... */
		mp = strtok_r(line, " \n", &save);
		for (k = 0; k < 4 && mp != NULL; k++)
			mp = strtok_r(NULL, " \n", &save);
		if (mp == NULL)
			continue;
		unescape_octal(mp);
		if (!target_volume_ok(mp))
			continue;
		for (i = 0; i < n && strcmp(vols[i], mp) != 0; i++)
			;
		if (i < n)
			continue;
		if (n == TARGET_VOLUMES_MAX) {
			log_warnx("the target has more than %d mount points; "
			    "the rest is left out", TARGET_VOLUMES_MAX);
			break;
		}
		vols[n++] = xstrdup(mp);
	}
	free(line);
	fclose(f);
	return n;
}

int
agent_target_info_serve(struct agent_fs *fs, int pid,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char host[TARGET_HOSTNAME_MAX + 1], *env = NULL;
	char *vols[TARGET_VOLUMES_MAX];
	size_t nvols = 0, i;
	ssize_t envlen = 0;

	if (proto_end(c) < 0)
		return -EBADMSG;
	if (pid > 0) {
		env = xmalloc(TARGET_ENV_MAX);
		if ((envlen = target_environ(pid, env)) < 0) {
			/* The process is gone, or not ours to read. */
			proto_begin(out, MSG_REPLY, h->op, h->id,
			    (uint32_t)-envlen);
			goto out;
		}
		nvols = target_volumes(pid, vols);
	}
	target_hostname(fs, pid, host, sizeof(host));
	proto_begin(out, MSG_REPLY, h->op, h->id, 0);
	proto_put_target_info(out, host, env ? env : "", (size_t)envlen, vols,
	    nvols);
out:
	for (i = 0; i < nvols; i++)
		x_free(vols[i]);
	x_free(env);
	return 0;
}
