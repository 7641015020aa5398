/*
 * Running the tools mirrorctl drives (podman, docker, kubectl): capture
 * what they print, bound how long they take; and the growing strings and
 * JSON text that mirrorctl writes for them and for scripts.
 */
#ifndef MIRRORCTL_RUN_H
#define MIRRORCTL_RUN_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* A growing NUL-terminated string. */
struct sbuf {
	char	*s;
	size_t	 len, size;
};

void	sbuf_init(struct sbuf *);
void	sbuf_free(struct sbuf *);
void	sbuf_printf(struct sbuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string, quotes included. */
void	sbuf_json_str(struct sbuf *, const char *s);
/* Appends a JSON array of strings. */
void	sbuf_json_argv(struct sbuf *, const char *const argv[]);

/* What a finished command said and how it ended. */
struct run_result {
	struct sbuf out;	/* all of stdout */
	char	err[1024];	/* the end of stderr, one line, trimmed */
	int	status;		/* exit status; 124 timed out, 127 not run */
};

/*
 * Runs argv[0] (looked up in PATH) with stdin from in (NULL: /dev/null),
 * waits up to timeout_ms (0: no limit; then kills the command's process
 * group). Returns the exit status, also in r->status; the caller frees
 * r with run_result_free.
 */
int	run_capture(const char *const argv[], const char *in,
	    int timeout_ms, struct run_result *r);
void	run_result_free(struct run_result *);
/* True if name is a program in PATH (or a path that is executable). */
int	run_have(const char *name);

/* A NULL-terminated argv that grows. */
struct argv_buf {
	char	**v;
	int	  n, size;
};

void	argv_init(struct argv_buf *);
void	argv_add(struct argv_buf *, const char *);
void	argv_addf(struct argv_buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	argv_free(struct argv_buf *);

#endif
