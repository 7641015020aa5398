/*
 * The monotonic clock, for deadlines, timeouts and ages: one reading
 * of CLOCK_MONOTONIC in the unit the caller counts in. Never the wall
 * clock: these values only make sense subtracted from each other.
 */
#ifndef MIRROR_CLOCK_H
#define MIRROR_CLOCK_H

/* Seconds since an arbitrary start (boot), with nanosecond fraction. */
double	mono_now(void);
/* The same in milliseconds. */
double	mono_ms(void);

#endif
