/*
 * The parts of "mirrorctl shell" and "mirrorctl exec" (cmd-shell.c):
 * the child that builds the shell's namespaces and runs the command in
 * them (shell-ns.c), and the keeper that removes what the shell needed
 * once it is over, also after a SIGKILL of mirrorctl (shell-keeper.c).
 */
#ifndef MIRRORCTL_SHELL_H
#define MIRRORCTL_SHELL_H

#include <limits.h>
#include <sys/types.h>

struct session;
struct mirror_conf;
struct conf_patterns;

/* The layer's variables for exec (the "layer" helper defines it in
 * ctx-layer.c; declared in ctx.h there). *add: NULL-terminated, caller
 * frees with ctx_env_free. 0, or -1 after one printed error. */
int	ctx_layer_env(const struct mirror_conf *conf, const char *root,
	    const char *statedir, char ***add);

/* The name ctx_layer_env gives its rules file in the statedir it gets
 * (the shell's scratch directory); MIRROR_LAYER_RULES names it. */
#define SHELL_LAYER_RULES	"layer.rules"
#define SHELL_PATHS_MAX	256	/* paths a shell binds from the target */
#define SHELL_GROUPS_MAX 256

/* What the namespace child needs; filled by cmd-shell.c before fork. */
struct shell_spec {
	const char	*target;	/* as typed: for the prompt */
	const char	*fuse_root;	/* the target's mount (laptop's ns) */
	char		 scratch[PATH_MAX]; /* empty dir: the shell's tmpfs */
	int		 chroot;
	int		 rw;
	uid_t		 uid;		/* the user the command runs as */
	gid_t		 gid;
	gid_t		 groups[SHELL_GROUPS_MAX];
	int		 ngroups;
	char		 home[PATH_MAX];
	char		 cwd[PATH_MAX];
	char		*const *argv;	/* NULL: the user's shell */
	char		 shell[PATH_MAX]; /* the user's shell */
	char		**envp;		/* merged; the child adds MIRROR_ROOT */
	const char	*hostname;	/* the target's, "" if not known */
	const char	*paths[SHELL_PATHS_MAX]; /* bound over local paths */
	int		 npaths;
	const struct conf_patterns *local; /* fs.local: never replaced */
	pid_t		 parent;	/* mirrorctl */
	int		 to_parent;	/* "U\n" once unshared, "P..." placed */
	int		 from_parent;	/* the resolv.conf path, a line */
};

/* The child: unshares its namespaces, tells the parent, waits for the
 * resolv.conf line, builds the mounts and runs the command as the user.
 * Never returns; exits 126 after one printed error if setup fails, 127
 * if the command cannot be run. */
void	shell_ns_child(struct shell_spec *sp) __attribute__((noreturn));

/* envp (NULL-terminated, malloc'd strings, or NULL) with NAME=value,
 * replacing NAME; the new array. */
char	**shell_env_put(char **envp, const char *name, const char *value);
/* A line from fd into buf, without its newline: 0, or -1 at EOF. */
int	shell_read_line(int fd, char *buf, size_t sz);

/* Where the shell's own tmpfs shows in its mount namespace (scratch is
 * in root's state directory, which the user cannot enter). */
#define SHELL_DIR	"/run/mirror-shell"
/* The path a shell's tree shows the target's root at (MIRROR_ROOT)
 * outside --chroot: SHELL_DIR/root. buf holds PATH_MAX. */
void	shell_root_path(const struct shell_spec *sp, char *buf);

/* The keeper: a process of its own session that waits for EOF on fd
 * (mirrorctl holds the other end and closes it when the shell is over,
 * or dies), then ends what is left in the shell's namespaces, stops its
 * netd, removes its record and scratch directory and, for a mount the
 * shell made that no other shell uses, unmounts it and stops its mountd
 * and agent. Returns its PID in the parent, -1 after a printed error. */
pid_t	shell_keeper_start(const struct session *s, int fd, int lockfd,
	    const char *scratch);
/* The lock that orders shells starting and keepers unmounting; an open
 * fd, -1 after a printed error. */
int	shell_lock(void);
void	shell_unlock(int fd);

#endif
