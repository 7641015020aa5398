/*
 * Progress of a slow start (an agent in a cluster): one line on stderr
 * that updates in place on a terminal, one plain line per step when
 * stderr is not a terminal, nothing with -q. Each line carries the time
 * since progress_begin(). mirrorctl is single-threaded where it reports.
 */
#ifndef MIRRORCTL_PROGRESS_H
#define MIRRORCTL_PROGRESS_H

/* -q: no progress at all (errors still print). */
void	progress_set_quiet(int quiet);
/* Starts the clock; steps print from here on. */
void	progress_begin(void);
/* A step, "creating agent (...)": replaces the line on a terminal. */
void	progress_step(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* The last step: printed and the line ended; progress stops. */
void	progress_end(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Ends a pending updating line so that a message can follow on a line
 * of its own (ctl_fail and ctl_warn call it). */
void	progress_break(void);

#endif
