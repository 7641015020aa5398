/*
 * A tiny header-only TAP producer for the unit tests: plan(), ok(),
 * diag(), todo_start()/todo_end() and done_testing(), whose return value
 * is the exit status (0 only if every test passed and the plan was met;
 * a failing TODO test is reported but does not count). One test program
 * is one translation unit, so the state lives in static variables here.
 */
#ifndef MIRROR_TAP_H
#define MIRROR_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_planned = -1;	/* -1: no plan, print it at the end */
static int tap_run;
static int tap_failed;
static const char *tap_todo;	/* reason while inside a TODO block */

/* Tests until todo_end() are known to fail: reported, not counted. */
__attribute__((unused)) static void
todo_start(const char *reason)
{
	tap_todo = reason;
}

__attribute__((unused)) static void
todo_end(void)
{
	tap_todo = NULL;
}

__attribute__((unused)) static void
plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

__attribute__((unused, format(printf, 1, 2))) static void
diag(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

__attribute__((unused, format(printf, 4, 5))) static int
tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	if (!cond && tap_todo == NULL)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (tap_todo)
		printf(" # TODO %s", tap_todo);
	fputc('\n', stdout);
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

/* ok(condition, "description %d", ...): one test; returns the condition. */
#define ok(cond, ...)	tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* Ends the run; returns the exit status for main(). */
__attribute__((unused)) static int
done_testing(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_run != tap_planned) {
		printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
		fflush(stdout);
		return 1;
	}
	if (tap_failed)
		printf("# failed %d of %d tests\n", tap_failed, tap_run);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
