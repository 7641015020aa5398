/*
 * The progress line of a slow start (see progress.h). On a terminal the
 * line is rewritten with "\r" and cleared to its end, so a shorter step
 * leaves nothing of a longer one behind; elsewhere (a log, a pipe, an
 * IDE's console) each step is a line of its own.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static int	progress_quiet;
static int	progress_on;		/* between begin and end */
static int	progress_tty;		/* stderr is a terminal */
static int	progress_pending;	/* a line without its newline */
static struct timespec progress_t0;
static char	progress_last[512];	/* the step shown last */

void
progress_set_quiet(int quiet)
{
	progress_quiet = quiet;
}

void
progress_begin(void)
{
	if (progress_quiet)
		return;
	progress_on = 1;
	progress_tty = isatty(2);
	progress_last[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &progress_t0);
}

static void __attribute__((format(printf, 2, 0)))
progress_vprint(int last, const char *fmt, va_list ap)
{
	struct timespec now;
	char text[sizeof(progress_last)];
	double secs;

	vsnprintf(text, sizeof(text), fmt, ap);
	/* A step seen again is news only on a terminal (its clock). */
	if (!progress_tty && !last && strcmp(text, progress_last) == 0)
		return;
	snprintf(progress_last, sizeof(progress_last), "%s", text);
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - progress_t0.tv_sec) +
	    (double)(now.tv_nsec - progress_t0.tv_nsec) / 1e9;
	if (progress_tty)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "mirrorctl: [%.1fs] %s", secs, text);
	if (progress_tty && !last) {
		progress_pending = 1;
	} else {
		fputc('\n', stderr);
		progress_pending = 0;
	}
	fflush(stderr);
}

void
progress_step(const char *fmt, ...)
{
	va_list ap;

	if (!progress_on)
		return;
	va_start(ap, fmt);
	progress_vprint(0, fmt, ap);
	va_end(ap);
}

void
progress_end(const char *fmt, ...)
{
	va_list ap;

	if (!progress_on)
		return;
	va_start(ap, fmt);
	progress_vprint(1, fmt, ap);
	va_end(ap);
	progress_on = 0;
}

void
progress_break(void)
{
	if (progress_pending) {
		fputc('\n', stderr);
		progress_pending = 0;
	}
}
