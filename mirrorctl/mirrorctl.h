/*
 * mirrorctl: the command users type. One cmd-<verb>.c per subcommand,
 * each exporting one struct cmd_entry; main.c holds the table.
 */
#ifndef MIRRORCTL_H
#define MIRRORCTL_H

#include <sys/types.h>

/* Exit status of a command that failed (and printed why). */
#define CTL_EXIT_FAIL	1

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* "mount [--token-file FILE] TARGET DIR [-f]" */
	const char	*summary;	/* one line for the command list */
	const char	*help;		/* the rest of --help: options, examples */
	/* argv[0] is the subcommand's name; returns the exit code, or
	 * -1 after printing why (exit status CTL_EXIT_FAIL). */
	int		(*exec)(int argc, char **argv);
};

extern const struct cmd_entry cmd_mount_entry;
extern const struct cmd_entry cmd_umount_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_doctor_entry;
extern const struct cmd_entry cmd_demo_entry;
extern const struct cmd_entry cmd_ls_entry;
extern const struct cmd_entry cmd_connect_entry;
extern const struct cmd_entry cmd_disconnect_entry;
extern const struct cmd_entry cmd_env_entry;
extern const struct cmd_entry cmd_shell_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_portfwd_entry;
extern const struct cmd_entry cmd_config_entry;

/*
 * The one error convention of mirrorctl: a function that fails prints
 * one line at the point of failure and returns -1; its callers print
 * nothing more. Helpers that print nothing return -errno instead, and
 * their caller prints. ctl_fail() prints "mirrorctl: MSG" on stderr and
 * returns -1; ctl_warn() prints "mirrorctl: warning: MSG".
 */
int	ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the --help of a command on stdout. */
void	ctl_usage(const struct cmd_entry *);
/* True if argv holds -h or --help before any "--". */
int	ctl_wants_help(int argc, char **argv);
/* Path of a sibling program (mirror-agent, mirror-mountd, mirror-netd):
 * $MIRROR_AGENT / $MIRROR_MOUNTD / $MIRROR_NETD, else next to
 * mirrorctl's own binary, else the install bindir. Caller frees. */
char	*ctl_program_path(const char *name);

#endif
