/*
 * Pushed invalidation, the agent's half: one inotify fd watching the
 * directories the agent served to its clients (a lookup's or getattr's
 * directory, a listed directory), bounded by a maximum, and a thread
 * that turns what inotify reports into STREAM_FS_EVENT messages
 * (proto.h) for every connection that made file requests. A client may
 * then keep what it learnt of a watched directory for long: a change
 * made in the target reaches it as an event.
 */
#ifndef MIRROR_AGENT_FS_WATCH_H
#define MIRROR_AGENT_FS_WATCH_H

struct agent_fs;
struct fs_watch;
#include <stddef.h>
#include <stdint.h>

/* Sends a message (malloc'd, taken) to a subscriber; never waits. */
typedef void (*fs_watch_send_fn)(void *sub, uint8_t *msg, size_t len);

/* Default bound on directories watched (also bounded by the kernel's
 * fs.inotify.max_user_watches). */
#define FS_WATCH_MAX_DEFAULT	16384

/* Starts the watcher (its thread runs until exit). NULL if inotify is
 * not available (logged); then nothing is watched. */
struct fs_watch	*fs_watch_new(struct agent_fs *fs, unsigned int max,
		    fs_watch_send_fn send);
/* Watches the directory path (absolute within the root) from now on:
 * 1 if it is watched (and *dev its st_dev: a name in it on another
 * device is a mount point, whose changes the watch does not see), 0 if
 * not (past the bound, or on a file system that changes without
 * inotify events: procfs, sysfs, network and FUSE ones). Any thread. */
int		 fs_watch_dir(struct fs_watch *w, const char *path,
		    uint64_t *dev);
/* Watches the directory a path's name is in ("/" for "/" itself). */
int		 fs_watch_parent(struct fs_watch *w, const char *path,
		    uint64_t *dev);
/* sub gets the events from now on, until unsubscribed; the caller
 * keeps it alive until fs_watch_unsubscribe returned. Any thread. */
void		 fs_watch_subscribe(struct fs_watch *w, void *sub);
void		 fs_watch_unsubscribe(struct fs_watch *w, void *sub);

#endif
