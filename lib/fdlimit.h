/* File-descriptor limits of daemons (see fdlimit.c). */
#ifndef MIRROR_FDLIMIT_H
#define MIRROR_FDLIMIT_H

/* Raises RLIMIT_NOFILE: both limits to 65,536 where root may, else the
 * soft one to the hard one; returns the soft limit now, or -errno. */
long	fdlimit_raise(void);
/* A spare descriptor for fdlimit_reset_one (or -1). */
int	fdlimit_spare(void);
/* After accept() on lfd failed with EMFILE or ENFILE: frees the spare,
 * accepts one connection and resets it, takes the spare again. 0, or
 * -errno (nothing was waiting, or no spare). */
int	fdlimit_reset_one(int lfd, int *spare);

#endif
