/*
 * What mirror-mountd and mirror-netd share as daemons: their exit codes,
 * detaching from the caller (with start-up reports, startup.h) and the
 * pid file.
 */
#ifndef MIRROR_DAEMON_H
#define MIRROR_DAEMON_H

/*
 * Exit codes of mountd and netd, and of the caller's process while it
 * waits for the start-up report. The numbers are an interface: scripts
 * and tests check them, so a new reason gets a new number.
 */
enum daemon_exit {
	DAEMON_EXIT_OK		= 0,
	DAEMON_EXIT_FAIL	= 1,	/* anything else, fatal() too */
	DAEMON_EXIT_USAGE	= 2,	/* bad options, agent URL, fingerprint */
	DAEMON_EXIT_AUTH	= 3,	/* authentication failed either way */
	DAEMON_EXIT_UNREACHABLE	= 4,	/* the agent did not answer */
	DAEMON_EXIT_MOUNT	= 5,	/* mountd: cannot mount there */
	DAEMON_EXIT_AGENT_CAPS	= 6,	/* the agent does not serve that */
};

/*
 * Forks. The parent waits for the child's start-up report and exits
 * with its status (it never returns). The child starts a new session,
 * logs to log_file (NULL: keeps logging to stderr) and returns the fd to
 * pass to startup_report(). prog names the program in messages, what the
 * daemon ("mount daemon"). Fatal if it cannot fork.
 */
int	daemon_detach(const char *prog, const char *what, const char *log_file);
/*
 * The daemon is up: reports status 0 and msg (a line for the caller,
 * "" for none) on wfd. Detached (wfd >= 0) it then puts stdin and stdout
 * on /dev/null and stderr and the log on log_file (no log file: stderr
 * on /dev/null, and the log is cut to errors), and moves to "/". In the
 * foreground (wfd -1) it only prints msg.
 */
void	daemon_ready(int wfd, const char *prog, const char *log_file,
	    const char *msg);

/*
 * The start of every daemon (agent, mountd, netd): the defaults, then
 * the configuration file (NULL: the installed one), then the log level
 * (level, NULL: the file's log.level). An unknown level is fatal (a
 * command-line mistake, at start-up); 0, or -errno when the file cannot
 * be used (conf_load printed why).
 */
struct mirror_conf;
int	daemon_configure(struct mirror_conf *conf, const char *config,
	    const char *level);

/* Writes this process's pid to path (NULL: none); 0 or -errno. */
int	daemon_pidfile_write(const char *path);
/* Removes it (NULL: none). */
void	daemon_pidfile_remove(const char *path);

#endif
