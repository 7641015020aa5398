/*
 * Checks on what the agent answers, before mountd hands it to the
 * kernel. An agent that authenticated may still be hostile (a pod that
 * took over the agent's process): whatever it says is bounded here. Pure
 * functions (no I/O, no clock, no global state), for the unit test and
 * the fuzzer.
 */
#ifndef MIRROR_MOUNTD_REPLY_H
#define MIRROR_MOUNTD_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*
 * One directory listing (all of its pages) is held whole in memory; these
 * bound it. Past any of them the listing fails with EIO (never a listing
 * cut short that a program would take for the whole directory).
 */
#define REPLY_DIR_ENTRIES_MAX	(1u << 20)	/* entries */
#define REPLY_DIR_BYTES_MAX	(256u << 20)	/* memory held by them */
#define REPLY_DIR_PAGES_MAX	16384		/* agent round trips */
#define REPLY_DIR_SECONDS_MAX	120.0		/* from the first page asked */

struct reply_dirent {
	char		*name;
	struct proto_attr attr;
};

/* A listing being read. Owned by one open directory. */
struct reply_dir {
	struct reply_dirent *ents;
	size_t		 n, cap;
	size_t		 bytes;		/* held by ents and names */
	unsigned int	 pages;		/* pages decoded */
	uint64_t	 cookie;	/* where the next page starts */
	double		 started;	/* reply_dir_start()'s now */
	/* The caps: REPLY_DIR_* from reply_dir_init() (a test lowers them). */
	size_t		 max_entries, max_bytes;
	unsigned int	 max_pages;
	double		 max_seconds;
};

/* An empty listing with the default caps. */
void	reply_dir_init(struct reply_dir *d);
/* Empties d and starts a new listing at time now (seconds, any
 * monotonic clock). */
void	reply_dir_start(struct reply_dir *d, double now);
/* Frees the entries; d is as after reply_dir_init(). */
void	reply_dir_free(struct reply_dir *d);

/*
 * Decodes one OP_READDIR reply payload into d, at time now. Returns 1 when
 * the listing is complete, 0 when the next page is to be asked for at
 * d->cookie, -EIO for a malformed page (a bad name: empty, ".", "..",
 * holding '/' or NUL, longer than NAME_MAX; bad attributes; leftovers; a
 * page that makes no progress: no entries or the same cookie again, and
 * no eof), -EOVERFLOW past a cap. The entries of a page that
 * fails are not kept.
 */
int	reply_readdir_page(struct proto_cur *p, struct reply_dir *d,
	    double now);

/* 0 if the attributes can be given to the kernel: a file type that
 * exists, size and blocks that fit off_t, nanoseconds below 10^9.
 * -EIO otherwise. */
int	reply_attr_ok(const struct proto_attr *a);
/* An attributes reply (lookup, getattr, setattr, the nodes made, link,
 * fgetattr): proto_dec_attr_rep(), then reply_attr_ok(). 0 or -EIO. */
int	reply_get_attr(struct proto_cur *p, struct proto_attr *a);

/* Directories above a path within the target: 0 for "/x", 2 for
 * "/a/b/x" (the levels a link there may climb with ".."). */
unsigned int reply_link_depth(const char *path);
/*
 * A link target from the agent, for a link depth directories below the
 * root. The kernel follows it relative to the link, inside the mount, so
 * it must be relative, and its ".." must all come first and number at
 * most depth: past a name a ".." would climb from wherever that name (a
 * symlink) leads. "." and empty components are ignored. 0, -EIO (empty,
 * absolute, climbing out or ".." after a name) or -ENAMETOOLONG (PATH_MAX
 * or longer: the kernel takes no more).
 */
int	reply_link_target_ok(const char *target, unsigned int depth);

/* A listxattr answer of n bytes: names each ended by a NUL, none empty,
 * none longer than XATTR_NAME_MAX. 0 or -EIO. */
int	reply_xattr_list_ok(const uint8_t *list, size_t n);
/* The size an xattr query says it needs: at most PROTO_XATTR_MAX
 * (the kernel's own limit). 0 or -EIO. */
int	reply_xattr_size_ok(uint32_t needed);

/* A conflicting lock (getlk): a type that exists, and a range that fits
 * off_t (length 0: to the end). 0 or -EIO. */
int	reply_lock_ok(uint8_t type, uint64_t start, uint64_t len);

#endif
