/* Session state files: key=value lines in STATE_DIR/sessions/N/state. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mirrorctl.h"
#include "procfs.h"
#include "session.h"
#include "statedir.h"
#include "xmalloc.h"

#define STOP_POLL_MS	20	/* between two checks that it is gone */
#define KILL_WAIT_MS	1000	/* after SIGKILL, for the pidfd to say so */

static int
sessions_dir(char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/sessions", state_dir("mirrorctl"));
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
session_create(struct session *s)
{
	char base[PATH_MAX];
	int rc, i;

	memset(s, 0, sizeof(*s));
	if ((rc = sessions_dir(base, sizeof(base))) < 0)
		return rc;
	for (i = 0; i < 1000; i++) {
		snprintf(s->dir, sizeof(s->dir), "%.3900s/%d-%d", base,
		    (int)getpid(), i);
		if (mkdir(s->dir, 0700) == 0) {
			s->started = time(NULL);
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

const char *
session_file(const struct session *s, const char *name)
{
	static char buf[PATH_MAX + 128];

	snprintf(buf, sizeof(buf), "%s/%s", s->dir, name);
	return buf;
}

int
session_save(struct session *s)
{
	char tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	FILE *f;

	/* Read now, so a PID that changed since (mountd's daemon after its
	 * parent) gets its own process's time. One already gone is saved
	 * as 0: a later reader could not tell it from a stranger. */
	s->mountd_start = procfs_start_time(s->mountd_pid);
	s->agent_start = procfs_start_time(s->agent_pid);
	s->pf_start = procfs_start_time(s->pf_pid);
	s->netd_start = procfs_start_time(s->netd_pid);
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", s->dir);
	snprintf(path, sizeof(path), "%s/state", s->dir);
	if ((f = fopen(tmp, "w")) == NULL)
		return -errno;
	fprintf(f, "target=%s\nmountpoint=%s\nurl=%s\nmountd_pid=%d\n"
	    "agent_pid=%d\nstarted=%lld\nmode=%s\npf_pid=%d\nnet=%d\n"
	    "netd_pid=%d\ndev=%s\ntoken_file=%s\n", s->target, s->mountpoint,
	    s->url, s->mountd_start ? (int)s->mountd_pid : 0,
	    s->agent_start ? (int)s->agent_pid : 0, (long long)s->started,
	    s->rw ? "rw" : "ro", s->pf_start ? (int)s->pf_pid : 0, s->net,
	    s->netd_start ? (int)s->netd_pid : 0, s->dev, s->token_file);
	fprintf(f, "mountd_start=%llu\nagent_start=%llu\npf_start=%llu\n"
	    "netd_start=%llu\n", s->mountd_start, s->agent_start, s->pf_start,
	    s->netd_start);
	if (s->fingerprint[0])
		fprintf(f, "fingerprint=%s\n", s->fingerprint);
	if (s->by_shell)
		fprintf(f, "by_shell=1\n");
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return -errno;
	return 0;
}

/* The basename of what /proc/PID/exe points to, in buf; -errno if it
 * cannot be read. */
static int
session_pid_exe(pid_t pid, char *buf, size_t sz)
{
	char path[64], exe[PATH_MAX], *base;
	size_t len;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) < 0)
		return -errno;
	exe[n] = '\0';
	len = (size_t)n;
	/* Reinstalled since it started: still the same program. */
	if (len > 10 && strcmp(exe + len - 10, " (deleted)") == 0)
		exe[len - 10] = '\0';
	base = strrchr(exe, '/');
	if ((size_t)snprintf(buf, sz, "%s", base ? base + 1 : exe) >= sz)
		return -ENAMETOOLONG;
	return 0;
}

/* The file name of the program mirrorctl runs as name ("mirror-agent"),
 * or of mirrorctl itself for NULL. */
static void
session_prog(const char *name, char *buf, size_t sz)
{
	char *path, *base;

	if (name == NULL) {
		if (session_pid_exe(getpid(), buf, sz) < 0)
			snprintf(buf, sz, "mirrorctl");
		return;
	}
	path = ctl_program_path(name);
	base = strrchr(path, '/');
	snprintf(buf, sz, "%s", base ? base + 1 : path);
	x_free(path);
}

/*
 * Keeps *pid only if it is still the process the state file meant: alive,
 * started at *start, running the program name (NULL: mirrorctl). A file
 * of an older mirrorctl has no start time: the program must match then.
 * Otherwise *pid and *start become 0.
 */
static void
session_check_pid(pid_t *pid, unsigned long long *start, const char *name)
{
	char want[256], exe[256];
	unsigned long long now;
	int rc;

	if (*pid <= 0 || (now = procfs_start_time(*pid)) == 0 ||
	    (*start != 0 && now != *start))
		goto gone;
	session_prog(name, want, sizeof(want));
	rc = session_pid_exe(*pid, exe, sizeof(exe));
	/* Unreadable (another user's): the start time must decide. */
	if (rc < 0 && (rc == -ENOENT || *start == 0))
		goto gone;
	if (rc == 0 && strcmp(exe, want) != 0)
		goto gone;
	*start = now;
	return;
gone:
	*pid = 0;
	*start = 0;
}

int
session_load(const char *dir, struct session *s)
{
	char path[PATH_MAX + 64], line[PATH_MAX + 64], *v;
	FILE *f;
	size_t n;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/state", dir);
	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "target") == 0)
			snprintf(s->target, sizeof(s->target), "%s", v);
		else if (strcmp(line, "mountpoint") == 0)
			snprintf(s->mountpoint, sizeof(s->mountpoint), "%s", v);
		else if (strcmp(line, "url") == 0)
			snprintf(s->url, sizeof(s->url), "%s", v);
		else if (strcmp(line, "mountd_pid") == 0)
			s->mountd_pid = atoi(v);
		else if (strcmp(line, "agent_pid") == 0)
			s->agent_pid = atoi(v);
		else if (strcmp(line, "started") == 0)
			s->started = (time_t)atoll(v);
		else if (strcmp(line, "mode") == 0)
			s->rw = strcmp(v, "rw") == 0;
		else if (strcmp(line, "pf_pid") == 0)
			s->pf_pid = atoi(v);
		else if (strcmp(line, "net") == 0)
			s->net = atoi(v);
		else if (strcmp(line, "netd_pid") == 0)
			s->netd_pid = atoi(v);
		else if (strcmp(line, "dev") == 0)
			snprintf(s->dev, sizeof(s->dev), "%s", v);
		else if (strcmp(line, "token_file") == 0)
			snprintf(s->token_file, sizeof(s->token_file), "%s", v);
		else if (strcmp(line, "fingerprint") == 0)
			snprintf(s->fingerprint, sizeof(s->fingerprint), "%s",
			    v);
		else if (strcmp(line, "mountd_start") == 0)
			s->mountd_start = strtoull(v, NULL, 10);
		else if (strcmp(line, "agent_start") == 0)
			s->agent_start = strtoull(v, NULL, 10);
		else if (strcmp(line, "pf_start") == 0)
			s->pf_start = strtoull(v, NULL, 10);
		else if (strcmp(line, "netd_start") == 0)
			s->netd_start = strtoull(v, NULL, 10);
		else if (strcmp(line, "by_shell") == 0)
			s->by_shell = atoi(v);
	}
	fclose(f);
	session_check_pid(&s->mountd_pid, &s->mountd_start, "mirror-mountd");
	session_check_pid(&s->agent_pid, &s->agent_start, "mirror-agent");
	session_check_pid(&s->pf_pid, &s->pf_start, NULL);
	session_check_pid(&s->netd_pid, &s->netd_start, "mirror-netd");
	return s->mountpoint[0] || s->net ? 0 : -EINVAL;
}

int
session_list(struct session **out, size_t *n)
{
	char base[PATH_MAX], dir[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (sessions_dir(base, sizeof(base)) < 0 ||
	    (d = opendir(base)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		if (session_load(dir, &(*out)[*n]) == 0)
			(*n)++;
	}
	closedir(d);
	return 0;
}

int
session_find(const char *mountpoint, struct session *s)
{
	struct session *all;
	size_t n, i;
	int rc = -ENOENT;

	session_list(&all, &n);
	for (i = 0; i < n; i++)
		if (!all[i].net && strcmp(all[i].mountpoint, mountpoint) == 0) {
			*s = all[i];
			rc = 0;
			break;
		}
	x_free(all);
	return rc;
}

void
session_remove(const struct session *s)
{
	struct dirent *de;
	char path[PATH_MAX + 300];
	DIR *d;

	if (s->dir[0] == '\0' || (d = opendir(s->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(s->dir);
}

int
session_abspath(const char *path, char *buf)
{
	char tmp[2 * PATH_MAX], *comp[PATH_MAX / 2], *save = NULL, *t;
	size_t len = 0;
	int n = 0, i;

	if (path[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", path);
	else {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
	}
	for (t = strtok_r(tmp, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (n > 0)
				n--;
			continue;
		}
		comp[n++] = t;
	}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t cl = strlen(comp[i]);

		if (len + cl + 2 >= PATH_MAX)
			return -ENAMETOOLONG;
		buf[len++] = '/';
		memcpy(buf + len, comp[i], cl + 1);
		len += cl;
	}
	if (len == 0)
		strcpy(buf, "/");
	return 0;
}

void
session_stop_pid(pid_t pid, int ms)
{
	int waited;

	if (!procfs_alive(pid))
		return;
	kill(pid, SIGTERM);
	for (waited = 0; waited < ms; waited += STOP_POLL_MS) {
		/* Our own child must be reaped to stop being "alive". */
		(void)waitpid(pid, NULL, WNOHANG);
		if (!procfs_alive(pid))
			return;
		usleep(STOP_POLL_MS * 1000);
	}
	kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
}

void
session_stop_proc(pid_t pid, unsigned long long start, int ms)
{
	struct pollfd pfd;
	int fd, waited;

	if (start == 0) {
		session_stop_pid(pid, ms);
		return;
	}
	if (pid <= 0)
		return;
	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
		/* No pidfds (Linux before 5.3): check, then signal. */
		if (errno == ENOSYS && procfs_start_time(pid) == start)
			session_stop_pid(pid, ms);
		return;
	}
	/* The pidfd holds on to one process: if that one started at start,
	 * the signals below reach it and no other. */
	if (procfs_start_time(pid) != start)
		goto out;
	syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	/* Readable once it has exited. */
	for (waited = 0; waited < ms; waited += STOP_POLL_MS)
		if (poll(&pfd, 1, STOP_POLL_MS) > 0)
			goto out;
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	(void)poll(&pfd, 1, KILL_WAIT_MS);
out:
	/* Ours (a keeper this mirrorctl forked): reaped. */
	(void)waitpid(pid, NULL, WNOHANG);
	close(fd);
}

int
session_shell_save(const struct session *s, struct session_shell *sh)
{
	char tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	FILE *f;

	sh->keeper_start = procfs_start_time(sh->keeper);
	sh->child_start = procfs_start_time(sh->child);
	sh->netd_start = procfs_start_time(sh->netd_pid);
	snprintf(tmp, sizeof(tmp), "%s/shell-%d.tmp", s->dir, (int)sh->keeper);
	snprintf(path, sizeof(path), "%s/shell-%d", s->dir, (int)sh->keeper);
	if ((f = fopen(tmp, "w")) == NULL)
		return -errno;
	fprintf(f, "keeper_start=%llu\nctl=%d\nchild=%d\nchild_start=%llu\n"
	    "netd_pid=%d\nnetd_start=%llu\nuid=%u\nchroot=%d\nnetns=%llu\n"
	    "placed=%s\n", sh->keeper_start, (int)sh->ctl, (int)sh->child,
	    sh->child_start, (int)sh->netd_pid, sh->netd_start,
	    (unsigned)sh->uid, sh->chroot, sh->netns, sh->placed);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return -errno;
	return 0;
}

/* Reads the record at path into sh; 0 or -errno. */
static int
session_shell_load(const char *path, struct session_shell *sh)
{
	char line[SESSION_PLACED_MAX + 64], *v;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "keeper_start") == 0)
			sh->keeper_start = strtoull(v, NULL, 10);
		else if (strcmp(line, "ctl") == 0)
			sh->ctl = atoi(v);
		else if (strcmp(line, "child") == 0)
			sh->child = atoi(v);
		else if (strcmp(line, "child_start") == 0)
			sh->child_start = strtoull(v, NULL, 10);
		else if (strcmp(line, "netd_pid") == 0)
			sh->netd_pid = atoi(v);
		else if (strcmp(line, "netd_start") == 0)
			sh->netd_start = strtoull(v, NULL, 10);
		else if (strcmp(line, "uid") == 0)
			sh->uid = (uid_t)strtoul(v, NULL, 10);
		else if (strcmp(line, "chroot") == 0)
			sh->chroot = atoi(v);
		else if (strcmp(line, "netns") == 0)
			sh->netns = strtoull(v, NULL, 10);
		else if (strcmp(line, "placed") == 0)
			snprintf(sh->placed, sizeof(sh->placed), "%s", v);
	}
	fclose(f);
	return 0;
}

int
session_shell_list(const struct session *s, struct session_shell **out,
    size_t *n)
{
	char path[PATH_MAX + 300];
	struct session_shell sh;
	struct dirent *de;
	char *end;
	DIR *d;
	long p;

	*out = NULL;
	*n = 0;
	if ((d = opendir(s->dir)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "shell-", 6) != 0)
			continue;
		p = strtol(de->d_name + 6, &end, 10);
		if (*end != '\0' || p <= 0)
			continue;
		memset(&sh, 0, sizeof(sh));
		sh.keeper = (pid_t)p;
		snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
		if (session_shell_load(path, &sh) < 0)
			continue;
		/* Its keeper is gone (killed): nothing cleans up after it,
		 * and it holds nothing. */
		session_check_pid(&sh.keeper, &sh.keeper_start, NULL);
		if (sh.keeper == 0)
			continue;
		session_check_pid(&sh.netd_pid, &sh.netd_start, "mirror-netd");
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = sh;
	}
	closedir(d);
	return 0;
}

void
session_shell_remove(const struct session *s, pid_t keeper)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/shell-%d", s->dir, (int)keeper);
	unlink(path);
}
