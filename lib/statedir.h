/*
 * The state directory: where mirrorctl keeps its sessions and the demo
 * helper its pod's files. One definition so that both agree on it.
 */
#ifndef MIRROR_STATEDIR_H
#define MIRROR_STATEDIR_H

/*
 * $MIRROR_STATE_DIR, else /run/mirror for root, else an ordinary
 * user's $XDG_RUNTIME_DIR/mirror (/run/user/UID/mirror without it),
 * created 0700 on the first call; if
 * that fails, says why on stderr as "PROG: cannot create ..." (the path
 * is returned all the same: what uses it fails with its own message).
 * Borrowed string.
 */
const char	*state_dir(const char *prog);

#endif
