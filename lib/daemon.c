/*
 * Detaching a daemon (mirror-mountd, mirror-netd) and its pid file, and
 * the configuration every daemon starts with (the agent too). The
 * caller's process stays until the daemon says it is up or why not
 * (startup.c), so errors reach the terminal and the exit status.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "startup.h"

static int
log_file_open(const char *log_file)
{
	return open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600);
}

int
daemon_detach(const char *prog, const char *what, const char *log_file)
{
	int pipefd[2], lfd;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		fatal("pipe");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0) {
		close(pipefd[1]);
		exit(startup_wait(pipefd[0], pid, prog, what));
	}
	close(pipefd[0]);
	setsid();
	/* Warnings while starting go to the log file: the caller sees one
	 * line, the reported error. */
	if (log_file != NULL && (lfd = log_file_open(log_file)) >= 0)
		log_set_fd(lfd);
	return pipefd[1];
}

void
daemon_ready(int wfd, const char *prog, const char *log_file,
    const char *msg)
{
	int nfd, lfd;

	if (wfd < 0) {
		startup_report(-1, prog, DAEMON_EXIT_OK, msg);
		return;
	}
	nfd = open("/dev/null", O_RDWR);
	lfd = log_file ? log_file_open(log_file) : -1;
	startup_report(wfd, prog, DAEMON_EXIT_OK, msg);
	if (nfd >= 0) {
		dup2(nfd, 0);
		dup2(nfd, 1);
		dup2(lfd >= 0 ? lfd : nfd, 2);
		if (nfd > 2)
			close(nfd);
	}
	if (lfd >= 0)
		log_set_fd(lfd);
	else
		log_set_level(LOG_LVL_ERROR);
	if (chdir("/") < 0)
		log_warn("chdir /");
}

int
daemon_configure(struct mirror_conf *conf, const char *config,
    const char *level)
{
	int rc;

	conf_defaults(conf);
	if ((rc = conf_load(conf, config)) < 0)
		return rc;
	if (level == NULL)
		level = conf->log_level;
	if ((rc = log_level_parse(level)) < 0)
		fatalx("--log-level must be error, warn, info or debug");
	log_set_level(rc);
	return 0;
}

int
daemon_pidfile_write(const char *path)
{
	FILE *f;
	int rc = 0;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "w")) == NULL)
		return -errno;
	if (fprintf(f, "%d\n", (int)getpid()) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

void
daemon_pidfile_remove(const char *path)
{
	if (path != NULL)
		unlink(path);
}
