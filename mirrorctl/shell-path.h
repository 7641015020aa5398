/*
 * The string rules for the paths a shell places from the target
 * (shell-path.c). Pure functions: no I/O.
 */
#ifndef MIRRORCTL_SHELL_PATH_H
#define MIRRORCTL_SHELL_PATH_H

/* 1 if p is absolute, shorter than PATH_MAX, with no empty, "." or ".."
 * component and no trailing slash ("/" itself is clean). */
int	shell_path_clean(const char *p);
/* 1 if p must stay the laptop's: not clean, /, a system top directory,
 * /proc, /sys, /dev or below, the home (or a parent of it, or below it),
 * a parent of the scratch directory, the target's mount or near it. */
int	shell_path_refused(const char *p, const char *home,
	    const char *scratch, const char *fuse_root);
/* 1 if p is strictly below dir ("/a/b" below "/a", not "/ab" nor "/a"). */
int	shell_path_below(const char *p, const char *dir);
/* 1 if paths[i] is below another of the n paths, or repeats an earlier
 * one: the other one's bind shows it already. */
int	shell_path_covered(const char *const *paths, int n, int i);

#endif
