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
 * layer is off), or a rewritten one in buf (PATH_MAX bytes). NULL with
 * errno set when the call must fail: ENOENT (not_found), EROFS (a write
 * on a read-only path), EIO (the target's mount is gone), ENAMETOOLONG.
 * errno is unchanged otherwise. */
LAYER_HIDDEN const char *layer_path(const char *path, enum layer_access acc,
    char *buf);
/* Where the target's root is ("" when no rules are loaded): realpath
 * strips it from its answers. */
LAYER_HIDDEN const char *layer_root(void);



#endif
