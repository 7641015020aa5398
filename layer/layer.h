/*
 * Inside libmirror-layer.so: what the hooks (hooks.c) need from the
 * layer's core (layer.c): one call that turns the path a program passed
 * into the one to use, and the real libc function behind each hook.
 * Hidden: nothing here is exported to the program.
 */
#ifndef MIRROR_LAYER_H
#define MIRROR_LAYER_H

#include <dlfcn.h>
#include <limits.h>

#define LAYER_HIDDEN	__attribute__((visibility("hidden")))

/* The kind of access a hooked call makes: a write on a read-only remote
 * path fails with EROFS. */
enum layer_access { LAYER_READ, LAYER_WRITE };

/* The path to pass on for path: path itself (relative, local, or the
 * layer is off), or a rewritten one in buf (PATH_MAX bytes); *remote
 * says whether it is under the target's mount. NULL with errno set when
 * the call must fail: ENOENT (not_found), EROFS (a write on a read-only
 * path), EIO (the target's mount is gone), ENAMETOOLONG.
 * errno is unchanged otherwise. */
LAYER_HIDDEN const char *layer_path(const char *path, enum layer_access acc,
    char *buf, int *remote);
/* After a remote call failed: if the mount is gone, errno becomes EIO
 * (the first time with a line on stderr), else it stays as it is.
 * Before a call, layer_path trusts a mount it saw alive for a few ms
 * (a statx per call would cost more than the rest of the layer). */
LAYER_HIDDEN void layer_failed(const char *path);
/* Where the target's root is ("" when no rules are loaded): realpath
 * strips it from its answers. */
LAYER_HIDDEN const char *layer_root(void);
/* The next definition of the libc function name (the real one). */
LAYER_HIDDEN void *layer_real(const char *name);



#endif
