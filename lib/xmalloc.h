/*
 * Allocation that never returns NULL: out of memory is fatal, as in
 * tmux and OpenSSH. x_free(NULL) is a no-op.
 */
#ifndef MIRROR_XMALLOC_H
#define MIRROR_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 x_free(void *);

#endif
