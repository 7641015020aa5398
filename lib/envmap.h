/*
 * A set of environment entries ("NAME=value") keyed by NAME, in the
 * order they were first added: the target's environ as decoded (a name
 * seen twice keeps its first value, as getenv does) and the merged
 * environment of a shell (later sources replace earlier ones). Hashed,
 * so a pod with tens of thousands of variables costs linear time.
 */
#ifndef MIRROR_ENVMAP_H
#define MIRROR_ENVMAP_H

#include <stddef.h>

struct envmap {
	char	**v;		/* entries, owned; v[n] is NULL */
	size_t	  n, cap;
	size_t	 *slot;		/* hash table of index + 1; 0 is empty */
	size_t	  nslot;	/* a power of two, > 2 * n */
};

void	envmap_init(struct envmap *m);
void	envmap_free(struct envmap *m);
/* The entry for the first namelen bytes of name, or NULL. */
const char *envmap_get(const struct envmap *m, const char *name,
	    size_t namelen);
/* Adds a copy of entry ("NAME=value"; no '=' means a NAME without
 * value). An existing NAME is replaced, or kept when keep is set.
 * Returns 1 if the set changed. */
int	envmap_set(struct envmap *m, const char *entry, int keep);
/* Removes NAME if present. */
void	envmap_unset(struct envmap *m, const char *name, size_t namelen);
/* The NULL-terminated entries, handed to the caller (free each and the
 * array); m is empty afterwards. */
char	**envmap_take(struct envmap *m, size_t *n);

#endif
