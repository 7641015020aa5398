/*
 * The shape of a path name, checked before anything is done with it
 * (fs.remote in the config, the volume paths a target reports to
 * mirrorctl shell). Pure: no I/O.
 */
#ifndef MIRROR_PATHNAME_H
#define MIRROR_PATHNAME_H

/* 1 if p is absolute, shorter than PATH_MAX, with no empty, "." or ".."
 * component, none over NAME_MAX, and no trailing slash ("/" itself is
 * clean); else 0. */
int	pathname_clean(const char *p);

#endif
