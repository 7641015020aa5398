/*
 * "A cold lookup brings its directory": the first lookup of a name in a
 * directory asks the agent for the directory's listing (names with
 * attributes, one page of at most DIRLIST_PAGE_BYTES) instead of the one
 * name, and the lookups of the other names in it are answered from that
 * listing; so is "no such name" when the page was the whole directory.
 * Lookups that come while the listing is on its way wait for it. A
 * listing is kept for keep_s seconds (the short attribute timeout: a
 * walk passes a directory in less) and dropped at once when the mount
 * changes a name in the directory or the agent reports a change in it.
 * At most DIRLIST_DIRS_MAX listings are held (the oldest goes first).
 * While the mount itself writes, listings are neither used nor fetched.
 */
#ifndef MIRROR_MOUNTD_DIRLIST_H
#define MIRROR_MOUNTD_DIRLIST_H

#include <stdint.h>

#include "proto.h"
#include "reply.h"

#define DIRLIST_DIRS_MAX	64
#define DIRLIST_PAGE_BYTES	(512 * 1024)	/* ~4,000 short names */
/* No listing is fetched within this long (ms) of a change made through
 * the mount: a writing mount asks by name. */
#define DIRLIST_QUIET_MS	1000

struct call;

enum dirlist_answer {
	DIRLIST_FOUND,		/* *a and *seq: the name's attributes */
	DIRLIST_ABSENT,		/* the whole directory is listed, no name */
	DIRLIST_ASK,		/* not known: ask the agent for the name */
	DIRLIST_QUEUED,		/* c waits for a listing on its way */
	DIRLIST_FETCH,		/* c waits; the caller fetches the listing
				 * and calls dirlist_fetched() */
};

/* A lookup of name in the directory node dir. seq: inval_seq() when
 * the listing was asked for. c NULL: never queued nor fetched (FOUND,
 * ABSENT or ASK). */
enum dirlist_answer dirlist_lookup(uint64_t dir, const char *name,
	    struct call *c, struct proto_attr *a, uint64_t *seq, double now);
/* The listing asked for arrived (list NULL: it failed); list's entries
 * are taken. Returns the calls that waited for it, linked by
 * c->next_wait, to be answered again through dirlist_lookup. */
struct call *dirlist_fetched(uint64_t dir, struct reply_dir *list,
	    int complete, uint64_t seq, double now, double keep_s);
/*
 * Listings fetched ahead: the subdirectories a listing showed are
 * listed before they are opened (find, ls -R, an editor's tree), so the
 * walk does not wait a round trip per directory. want reserves dir's
 * listing: 1 if the caller is to fetch it now, 0 if one is held or on
 * its way, no slot is free or the mount is writing. copy gives a held
 * listing to an opened directory: only a whole one, of a directory the
 * agent watches, with no change event since it was asked for (cur_seq:
 * inval_seq() now); 1 with list filled (reply_dir_start()ed before)
 * and *seq its seq, or 0.
 */
int	 dirlist_want(uint64_t dir, double now);
int	 dirlist_copy(uint64_t dir, struct reply_dir *list, uint64_t cur_seq,
	    uint64_t *seq, double now);
/* The mount changed something (a name, attributes, data, xattrs): no
 * listing held or on its way is used after. Any thread, cheap. */
void	 dirlist_touch(void);
/* Something changed in dir (any thread): drop its listing. */
void	 dirlist_drop(uint64_t dir);
void	 dirlist_drop_all(void);

#endif
