/*
 * The child of "mirrorctl shell": its own mount, UTS, network and IPC
 * namespaces, the target's files placed over the local paths (the bind
 * placement is shell-binds.c), the target's hostname, --chroot into the
 * target's root, then the user's command as the user.
 *
 * Mounts are slaves of the laptop's, so nothing leaks out. The command
 * runs with no_new_privs: a setuid program in the shell must not read
 * the target's files as root.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mirrorctl.h"
#include "shell.h"
#include "shell-binds.h"
#include "xmalloc.h"

#define HOSTNAME_LEN	64

/* lo up: a fresh network namespace has it down. */
static void
loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

void
shell_root_path(const struct shell_spec *sp, char *buf)
{
	(void)sp;
	snprintf(buf, PATH_MAX, "%s/root", SHELL_DIR);
}

/* The scratch tmpfs at SHELL_DIR: the state directory it lives in is
 * root's alone (0700), and the user must reach MIRROR_ROOT and the rc
 * file. Made on a tmpfs overlay of /run, like any missing mount point. */
static void
publish_scratch(struct shell_ns *c)
{
	int dst = shell_local_walk(c, SHELL_DIR, 1);

	if (dst < 0 || shell_bind_fd(c->scratchfd, dst, 0) < 0)
		shell_die("cannot make %s: %s", SHELL_DIR, strerror(dst < 0 ? -dst :
		    errno));
	close(dst);
}

/* --chroot: the target's root with /proc, /sys, /dev and the user's home
 * (at /mirror-local) of the laptop, on a tmpfs that becomes /. */
static void
build_chroot(struct shell_ns *c, const char *resolv)
{
	static const char *const skip[] = { "proc", "sys", "dev",
	    "mirror-local", NULL };
	static const char *const local[] = { "proc", "sys", "dev", NULL };
	char path[PATH_MAX + 64], fp[64];
	int nr, src, dst, i, rc;

	if ((nr = shell_new_tmpfs(c, "newroot", 0755)) < 0)
		shell_die("tmpfs for the new root: %s", strerror(-nr));
	if ((rc = shell_mirror_entries(c->rootfd, nr, skip)) < 0)
		shell_die("cannot lay out the target's root: %s", strerror(-rc));
	for (i = 0; local[i]; i++) {
		snprintf(path, sizeof(path), "/%s", local[i]);
		if ((src = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    (dst = shell_make_stub(nr, local[i], 1, 0555)) < 0 ||
		    (rc = shell_bind_fd(src, dst, 0)) < 0)
			shell_die("cannot mount %s in the new root: %s", path,
			    strerror(errno));
		close(src);
		close(dst);
	}
	if ((src = open(c->sp->home, O_PATH | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if ((dst = shell_make_stub(nr, "mirror-local", 1, 0755)) < 0 ||
		    shell_bind_fd(src, dst, 0) < 0)
			shell_die("cannot mount %s at /mirror-local: %s",
			    c->sp->home, strerror(errno));
		close(dst);
		close(src);
		shell_note_placed(c, "/mirror-local");
	}
	shell_place_resolv(c, resolv, nr);
	/* pivot_root into it; the old root goes (detached) with it. */
	if (fchdir(nr) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		shell_die("cannot make the target's root / (pivot_root %s): %s",
		    shell_fdpath(nr, fp, sizeof(fp)), strerror(errno));
	close(nr);
}

/* Writes bash's rc file (for the prompt) into the scratch tmpfs. */
static void
write_bashrc(struct shell_ns *c)
{
	static const char rc[] =
	    "# mirror: the user's own rc file, then the target in the prompt\n"
	    "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc\n"
	    "[ -f ~/.bashrc ] && . ~/.bashrc\n"
	    "PS1='(mirror:${MIRROR_TARGET}) '\"$PS1\"\n";
	int fd = openat(c->scratchfd, "bashrc", O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd >= 0) {
		if (write(fd, rc, sizeof(rc) - 1) < 0)
			fprintf(stderr, "mirrorctl: shell: bashrc: %s\n",
			    strerror(errno));
		close(fd);
	}
}

/* exec's layer rules (MIRROR_LAYER_RULES, written by ctx_layer_env into
 * the scratch directory, root's): an fd, or -1 if there are none. */
static int
open_layer_rules(const struct shell_spec *sp)
{
	char want[PATH_MAX + 32];
	size_t n = strlen("MIRROR_LAYER_RULES=");
	int i;

	snprintf(want, sizeof(want), "%s/%s", sp->scratch, SHELL_LAYER_RULES);
	for (i = 0; sp->envp && sp->envp[i]; i++)
		if (strncmp(sp->envp[i], "MIRROR_LAYER_RULES=", n) == 0) {
			if (strcmp(sp->envp[i] + n, want) != 0)
				return -1;	/* elsewhere: left as it is */
			return open(want, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		}
	return -1;
}

/* Copies the rules into the shell's tmpfs, where the user can read them,
 * and points MIRROR_LAYER_RULES there. */
static char **
copy_layer_rules(struct shell_ns *c, int rules, char **envp)
{
	char buf[8192];
	ssize_t n;
	int fd;

	if ((fd = openat(c->scratchfd, SHELL_LAYER_RULES, O_WRONLY | O_CREAT |
	    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		shell_die("layer rules: %s", strerror(errno));
	while ((n = read(rules, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			shell_die("layer rules: %s", strerror(errno));
	if (n < 0 || close(fd) < 0)
		shell_die("layer rules: %s", strerror(errno));
	close(rules);
	return shell_env_put(envp, "MIRROR_LAYER_RULES",
	    SHELL_DIR "/" SHELL_LAYER_RULES);
}

char **
shell_env_put(char **envp, const char *name, const char *value)
{
	size_t n = strlen(name), i;
	char *kv;

	xasprintf(&kv, "%s=%s", name, value);
	for (i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=') {
			x_free(envp[i]);
			envp[i] = kv;
			return envp;
		}
	envp = xrealloc(envp, (i + 2) * sizeof(*envp));
	envp[i] = kv;
	envp[i + 1] = NULL;
	return envp;
}

int
shell_read_line(int fd, char *buf, size_t sz)
{
	size_t len = 0;
	ssize_t n;

	while (len < sz - 1) {
		if ((n = read(fd, buf + len, 1)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return 0;
		}
		len++;
	}
	buf[len] = '\0';
	return 0;
}

void
shell_ns_child(struct shell_spec *sp)
{
	struct shell_ns c;
	char resolv[PATH_MAX], root[PATH_MAX], cwd[PATH_MAX + 32];
	char fp[64], **envp = sp->envp, *argv_sh[5];
	char *const *argv = sp->argv;
	const char *home = sp->home, *base;
	int src, dst, i, rc, rules;

	memset(&c, 0, sizeof(c));
	c.sp = sp;
	c.rootfd = -1;
	shell_local_rules(&c);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != sp->parent)
		_exit(126);
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET |
	    CLONE_NEWIPC) < 0)
		shell_die("unshare: %s", strerror(errno));
	/* Slave: the laptop's later mounts show, ours never leave. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		shell_die("mount propagation: %s", strerror(errno));
	loopback_up();
	if (write(sp->to_parent, "U\n", 2) != 2 ||
	    shell_read_line(sp->from_parent, resolv, sizeof(resolv)) < 0)
		_exit(126);	/* the parent failed and said why */

	rules = open_layer_rules(sp);	/* before the tmpfs hides it */
	if ((c.scratchfd = open(sp->scratch, O_PATH | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    mount("tmpfs", shell_fdpath(c.scratchfd, fp, sizeof(fp)), "tmpfs",
	    MS_NOSUID | MS_NODEV, "mode=0755,size=4m") < 0)
		shell_die("tmpfs on %s: %s", sp->scratch, strerror(errno));
	close(c.scratchfd);
	if ((c.scratchfd = open(sp->scratch, O_PATH | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0)
		shell_die("%s: %s", sp->scratch, strerror(errno));
	shell_add_ours(&c, c.scratchfd);

	/* MIRROR_ROOT: a bind of the mount, read-only unless --rw. */
	if ((src = open(sp->fuse_root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (dst = shell_make_stub(c.scratchfd, "root", 1, 0755)) < 0 ||
	    shell_bind_fd(src, dst, 0) < 0)
		shell_die("cannot bind the target's root %s: %s", sp->fuse_root,
		    strerror(errno));
	close(src);
	close(dst);
	if ((c.rootfd = openat(c.scratchfd, "root", O_PATH | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0 || (!sp->rw && mount(NULL,
	    shell_fdpath(c.rootfd, fp, sizeof(fp)), NULL, MS_REMOUNT | MS_BIND |
	    MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0))
		shell_die("read-only root: %s", strerror(errno));
	write_bashrc(&c);
	shell_root_path(sp, root);
	if (!sp->chroot)
		publish_scratch(&c);

	if (sp->hostname[0] && sethostname(sp->hostname,
	    strnlen(sp->hostname, HOSTNAME_LEN)) < 0)
		shell_die("sethostname: %s", strerror(errno));

	if (sp->chroot) {
		build_chroot(&c, resolv);
		envp = shell_env_put(envp, "MIRROR_ROOT", "/");
		envp = shell_env_put(envp, "MIRROR_LOCAL", "/mirror-local");
		home = "/mirror-local";
		rc = (int)strlen(sp->home);
		if (strncmp(sp->cwd, sp->home, (size_t)rc) == 0 &&
		    (sp->cwd[rc] == '/' || !sp->cwd[rc]))
			snprintf(cwd, sizeof(cwd), "/mirror-local%s",
			    sp->cwd + rc);
		else
			snprintf(cwd, sizeof(cwd), "/mirror-local");
	} else {
		shell_place_remotes(&c);
		shell_place_file(&c, "/etc/hosts");
		shell_place_file(&c, "/etc/hostname");
		shell_place_resolv(&c, resolv, -1);
		envp = shell_env_put(envp, "MIRROR_ROOT", root);
		if (rules >= 0)
			envp = copy_layer_rules(&c, rules, envp);
		snprintf(cwd, sizeof(cwd), "%s", sp->cwd);
	}
	envp = shell_env_put(envp, "HOME", home);
	dprintf(sp->to_parent, "P%s\n", c.placed);
	close(sp->to_parent);
	close(sp->from_parent);

	/* The command: the user's shell (bash with our rc file for the
	 * prompt), /bin/sh of the target under --chroot, or argv. */
	if (argv == NULL) {
		const char *sh = sp->chroot ? "/bin/sh" : sp->shell;

		base = strrchr(sh, '/');
		base = base ? base + 1 : sh;
		i = 0;
		argv_sh[i++] = (char *)sh;
		if (!sp->chroot && strcmp(base, "bash") == 0) {
			char *rcf;

			xasprintf(&rcf, "%s/bashrc", SHELL_DIR);
			argv_sh[i++] = "--rcfile";
			argv_sh[i++] = rcf;
		}
		argv_sh[i] = NULL;
		argv = argv_sh;
	}

	/* The user, with their groups; no way back to root. */
	if (setgroups((size_t)sp->ngroups, sp->groups) < 0 ||
	    setresgid(sp->gid, sp->gid, sp->gid) < 0 ||
	    setresuid(sp->uid, sp->uid, sp->uid) < 0)
		shell_die("cannot become uid %u: %s", (unsigned)sp->uid,
		    strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		shell_die("prctl: %s", strerror(errno));
	if (getppid() != sp->parent)
		_exit(126);
	if (chdir(cwd) < 0 && chdir(home) < 0 && chdir("/") < 0)
		shell_die("chdir: %s", strerror(errno));
	execvpe(argv[0], argv, envp);
	fprintf(stderr, "mirrorctl: shell: cannot run %s: %s\n", argv[0],
	    strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}
