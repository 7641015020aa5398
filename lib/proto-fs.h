/*
 * The file-system messages (OP_LOOKUP .. OP_FLISTXATTR), each layout
 * written once: a typed struct per request and per reply, an encoder
 * that appends its payload to a message begun with proto_begin() and a
 * decoder that reads it from a payload cursor and ends with proto_end().
 * The agent, mountd, the fuzzers and the codec check (tests/unit's
 * codec-dump, compared with tests/wsclient.py) use only these.
 *
 * Decoders return 0 or -EBADMSG. Strings of a decoded request are
 * copied NUL-terminated into a struct proto_fs_strs the caller gives;
 * bytes fields (a write's data, an xattr value, a read's data) point
 * into the message: borrowed until the message is freed, never copied.
 * Paths are checked with proto_path_ok(), names with the rules the
 * layout states; what a field means is for the agent to judge.
 *
 * Each struct lists its fields in wire order (str: u16 length + bytes,
 * no NUL; bytes: u32 length + bytes; attr: struct proto_attr field by
 * field). A reply has a payload only when its status is 0. Paths are
 * absolute within the target's root ("/", "/etc/passwd").
 *
 * Writing (CREATE, WRITE, SETATTR, MKNOD, MKDIR, UNLINK, RMDIR, SYMLINK,
 * RENAME, LINK, SETXATTR, REMOVEXATTR, FALLOCATE) is served only by an
 * agent started with --rw: EROFS otherwise. uid and gid in a request
 * that makes a node are the caller's: the node is theirs, as on a local
 * disk.
 */
#ifndef MIRROR_PROTO_FS_H
#define MIRROR_PROTO_FS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Room a decoder copies a request's strings into. */
struct proto_fs_strs {
	char	path[PROTO_PATH_MAX + 1];
	char	path2[PROTO_PATH_MAX + 1];	/* to, symlink target */
	char	name[PROTO_NAME_MAX + 1];	/* xattr name */
};

/* OP_LOOKUP, OP_GETATTR, OP_READLINK, OP_STATFS, OP_UNLINK, OP_RMDIR.
 * READLINK's answer is the target confined to the root. */
struct proto_path_req {
	const char	*path;
};

struct proto_readdir_req {
	const char	*path;
	uint64_t	 cookie;
	uint32_t	 max;		/* reply payload bytes wanted */
};

struct proto_open_req {
	const char	*path;
	uint32_t	 flags;
};

struct proto_read_req {
	uint64_t	fh, off;
	uint32_t	size;
};

/* OP_RELEASE, OP_FGETATTR */
struct proto_fh_req {
	uint64_t	fh;
};

/* OP_GETXATTR, OP_LISTXATTR: by path; OP_FGETXATTR, OP_FLISTXATTR: by
 * fh (never 0). name only in the get ones. */
struct proto_xattr_req {
	const char	*path;
	uint64_t	 fh;
	const char	*name;
	uint32_t	 size;
};

struct proto_create_req {
	const char	*path;
	uint32_t	 flags, mode, uid, gid;
};

struct proto_write_req {
	uint64_t	 fh, off;
	const uint8_t	*data;		/* borrowed */
	uint32_t	 len;		/* at most PROTO_WRITE_MAX */
};

struct proto_setattr_req {
	const char	*path;
	uint64_t	 fh;		/* 0: by path */
	uint32_t	 set;		/* SETATTR_* */
	uint32_t	 mode, uid, gid;
	uint64_t	 size;
	int64_t		 atime_sec;
	uint32_t	 atime_nsec;	/* below 10^9 */
	int64_t		 mtime_sec;
	uint32_t	 mtime_nsec;
};

struct proto_fsync_req {
	uint64_t	 fh;		/* 0: the directory at path */
	uint8_t		 datasync;
	const char	*path;
};

/* OP_MKNOD (mode, rdev), OP_MKDIR (mode), OP_SYMLINK (target, never
 * empty); uid and gid in all three. */
struct proto_mknode_req {
	const char	*path;
	const char	*target;
	uint32_t	 mode;
	uint64_t	 rdev;
	uint32_t	 uid, gid;
};

/* OP_RENAME (flags: RENAME_NOREPLACE 1, RENAME_EXCHANGE 2), OP_LINK */
struct proto_rename_req {
	const char	*from, *to;
	uint32_t	 flags;
};

/* OP_SETXATTR (value, flags), OP_REMOVEXATTR; name never empty. */
struct proto_setxattr_req {
	const char	*path;
	uint64_t	 fh;		/* 0: by path */
	const char	*name;
	const uint8_t	*value;		/* borrowed */
	uint32_t	 len;		/* at most PROTO_XATTR_MAX */
	uint32_t	 flags;
};

struct proto_fallocate_req {
	uint64_t	fh;
	uint32_t	mode;
	uint64_t	off, len;
};

/* OP_LOCK, a POSIX lock of owner: cmd at most LOCK_CMD_SET, type at
 * most LOCK_TYPE_WRITE, len 0: to the end. Never blocks: a conflict is
 * EAGAIN, the client retries. */
struct proto_lock_req {
	uint64_t	fh, owner;
	uint8_t		cmd, type;
	uint64_t	start, len;
};

/* OP_FLOCK: op LOCK_SH, LOCK_EX or LOCK_UN; never blocks. */
struct proto_flock_req {
	uint64_t	fh;
	uint32_t	op;
};

/* OP_FLUSH: drops the owner's POSIX locks on the file (a close() did). */
struct proto_flush_req {
	uint64_t	fh, owner;
};

/* Any file-system request, by op (the fuzzer and the codec check). */
union proto_fs_req {
	struct proto_path_req		path;
	struct proto_readdir_req	readdir;
	struct proto_open_req		open;
	struct proto_read_req		read;
	struct proto_fh_req		fh;
	struct proto_xattr_req		xattr;
	struct proto_create_req		create;
	struct proto_write_req		write;
	struct proto_setattr_req	setattr;
	struct proto_fsync_req		fsync;
	struct proto_mknode_req		mknode;
	struct proto_rename_req		rename;
	struct proto_setxattr_req	setxattr;
	struct proto_fallocate_req	fallocate;
	struct proto_lock_req		lock;
	struct proto_flock_req		flock;
	struct proto_flush_req		flush;
};

void	proto_enc_path_req(struct proto_buf *, const struct proto_path_req *);
int	proto_dec_path_req(struct proto_cur *, struct proto_fs_strs *,
	    struct proto_path_req *);
void	proto_enc_readdir_req(struct proto_buf *,
	    const struct proto_readdir_req *);
int	proto_dec_readdir_req(struct proto_cur *, struct proto_fs_strs *,
	    struct proto_readdir_req *);
void	proto_enc_open_req(struct proto_buf *, const struct proto_open_req *);
int	proto_dec_open_req(struct proto_cur *, struct proto_fs_strs *,
	    struct proto_open_req *);
void	proto_enc_read_req(struct proto_buf *, const struct proto_read_req *);
int	proto_dec_read_req(struct proto_cur *, struct proto_read_req *);
void	proto_enc_fh_req(struct proto_buf *, const struct proto_fh_req *);
int	proto_dec_fh_req(struct proto_cur *, struct proto_fh_req *);
void	proto_enc_xattr_req(struct proto_buf *, uint16_t op,
	    const struct proto_xattr_req *);
int	proto_dec_xattr_req(struct proto_cur *, uint16_t op,
	    struct proto_fs_strs *, struct proto_xattr_req *);
void	proto_enc_create_req(struct proto_buf *,
	    const struct proto_create_req *);
int	proto_dec_create_req(struct proto_cur *, struct proto_fs_strs *,
	    struct proto_create_req *);
void	proto_enc_write_req(struct proto_buf *,
	    const struct proto_write_req *);
int	proto_dec_write_req(struct proto_cur *, struct proto_write_req *);
void	proto_enc_setattr_req(struct proto_buf *,
	    const struct proto_setattr_req *);
int	proto_dec_setattr_req(struct proto_cur *, struct proto_fs_strs *,
	    struct proto_setattr_req *);
void	proto_enc_fsync_req(struct proto_buf *,
	    const struct proto_fsync_req *);
int	proto_dec_fsync_req(struct proto_cur *, struct proto_fs_strs *,
	    struct proto_fsync_req *);
void	proto_enc_mknode_req(struct proto_buf *, uint16_t op,
	    const struct proto_mknode_req *);
int	proto_dec_mknode_req(struct proto_cur *, uint16_t op,
	    struct proto_fs_strs *, struct proto_mknode_req *);
void	proto_enc_rename_req(struct proto_buf *, uint16_t op,
	    const struct proto_rename_req *);
int	proto_dec_rename_req(struct proto_cur *, uint16_t op,
	    struct proto_fs_strs *, struct proto_rename_req *);
void	proto_enc_setxattr_req(struct proto_buf *, uint16_t op,
	    const struct proto_setxattr_req *);
int	proto_dec_setxattr_req(struct proto_cur *, uint16_t op,
	    struct proto_fs_strs *, struct proto_setxattr_req *);
void	proto_enc_fallocate_req(struct proto_buf *,
	    const struct proto_fallocate_req *);
int	proto_dec_fallocate_req(struct proto_cur *,
	    struct proto_fallocate_req *);
void	proto_enc_lock_req(struct proto_buf *, const struct proto_lock_req *);
int	proto_dec_lock_req(struct proto_cur *, struct proto_lock_req *);
void	proto_enc_flock_req(struct proto_buf *,
	    const struct proto_flock_req *);
int	proto_dec_flock_req(struct proto_cur *, struct proto_flock_req *);
void	proto_enc_flush_req(struct proto_buf *,
	    const struct proto_flush_req *);
int	proto_dec_flush_req(struct proto_cur *, struct proto_flush_req *);

/* By op: -EOPNOTSUPP for an op that is not a file-system request. */
int	proto_enc_fs_req(struct proto_buf *, uint16_t op,
	    const union proto_fs_req *);
int	proto_dec_fs_req(struct proto_cur *, uint16_t op,
	    struct proto_fs_strs *, union proto_fs_req *);

/*
 * Replies. The empty ones (RELEASE, FSYNC, UNLINK, RMDIR, RENAME,
 * SETXATTR, REMOVEXATTR, FALLOCATE, FLOCK, FLUSH, LOCK's set, every
 * error) have no encoder: proto_begin() is the whole message.
 */

/* OP_LOOKUP, OP_GETATTR, OP_SETATTR, OP_MKNOD, OP_MKDIR, OP_SYMLINK,
 * OP_LINK, OP_FGETATTR */
void	proto_enc_attr_rep(struct proto_buf *, const struct proto_attr *);
int	proto_dec_attr_rep(struct proto_cur *, struct proto_attr *);

/* OP_OPEN, OP_CREATE */
struct proto_open_rep {
	uint64_t		fh;
	struct proto_attr	attr;
};
void	proto_enc_open_rep(struct proto_buf *, const struct proto_open_rep *);
int	proto_dec_open_rep(struct proto_cur *, struct proto_open_rep *);

/* OP_READ, framed in place: reserve size bytes, pread() into them,
 * trim to what was read. The reserve is the message's last field. */
struct proto_read_rep {
	const uint8_t	*data;		/* borrowed */
	uint32_t	 len;
};
uint8_t	*proto_enc_read_rep_reserve(struct proto_buf *, size_t size);
void	 proto_enc_read_rep_trim(struct proto_buf *, uint8_t *at, size_t got);
/* Fails on more than max bytes (the size asked for). */
int	 proto_dec_read_rep(struct proto_cur *, uint32_t max,
	    struct proto_read_rep *);
/* The buffer a reply to a request of this op and payload needs: a
 * read's holds the data asked for (clamped to PROTO_READ_MAX), anything
 * else is small and grows on demand. */
size_t	 proto_fs_reply_size_hint(uint16_t op, const struct proto_cur *req);

/* OP_READLINK: the target into dst of dstsz (NUL-terminated). */
void	proto_enc_readlink_rep(struct proto_buf *, const char *target);
int	proto_dec_readlink_rep(struct proto_cur *, char *dst, size_t dstsz);

void	proto_enc_statfs_rep(struct proto_buf *, const struct proto_statfs *);
int	proto_dec_statfs_rep(struct proto_cur *, struct proto_statfs *);

/* OP_WRITE */
void	proto_enc_write_rep(struct proto_buf *, uint32_t written);
int	proto_dec_write_rep(struct proto_cur *, uint32_t *written);

/* OP_GETXATTR, OP_LISTXATTR, OP_FGETXATTR, OP_FLISTXATTR: u32 needed,
 * bytes value. Framed in place: reserve size bytes (NULL: no room; a
 * size of 0 gives an empty value and a pointer that is not to be
 * written), fill them, then finish with what the call said it needs
 * and the bytes used (used 0 when size was 0). */
struct proto_xattr_rep {
	uint32_t	 needed;
	const uint8_t	*value;		/* borrowed */
	uint32_t	 len;
};
uint8_t	*proto_enc_xattr_rep_reserve(struct proto_buf *, size_t size);
void	 proto_enc_xattr_rep_finish(struct proto_buf *, uint8_t *at,
	    uint32_t needed, size_t used);
void	 proto_enc_xattr_rep(struct proto_buf *,
	    const struct proto_xattr_rep *);
int	 proto_dec_xattr_rep(struct proto_cur *, struct proto_xattr_rep *);

/* OP_LOCK with LOCK_CMD_GET: the conflicting lock (type UNLOCK: none). */
struct proto_lock_rep {
	uint8_t		type;
	uint64_t	start, len;
};
void	proto_enc_lock_rep(struct proto_buf *, const struct proto_lock_rep *);
int	proto_dec_lock_rep(struct proto_cur *, struct proto_lock_rep *);

/* An empty reply: nothing may follow the header. */
int	proto_dec_empty_rep(struct proto_cur *);

/*
 * OP_READDIR: u8 eof, u64 next_cookie, u32 n, n x (str name, attr).
 * Built as entries come: begin, add each entry (-ENOSPC, and nothing
 * added, when it would take the payload past max bytes), finish with
 * eof and the next cookie. Read as a head, then n entries (a name that
 * is not one component fails), then proto_end().
 */
struct proto_readdir_rep {
	uint8_t		eof;
	uint64_t	next_cookie;
	uint32_t	n;
};
struct proto_readdir_enc {
	size_t		head;		/* offset of eof in the message */
	uint32_t	n;
};
void	proto_enc_readdir_rep_begin(struct proto_buf *,
	    struct proto_readdir_enc *);
int	proto_enc_readdir_rep_add(struct proto_buf *,
	    struct proto_readdir_enc *, const char *name,
	    const struct proto_attr *, size_t max);
void	proto_enc_readdir_rep_finish(struct proto_buf *,
	    const struct proto_readdir_enc *, uint8_t eof,
	    uint64_t next_cookie);
int	proto_dec_readdir_rep(struct proto_cur *, struct proto_readdir_rep *);
int	proto_dec_readdir_ent(struct proto_cur *, char *name, size_t namesz,
	    struct proto_attr *);

/*
 * STREAM_FS_EVENT (proto.h): u32 watches, u8 limited, u32 n, n x (u32
 * mask, str dir, str name). Built as events come: begin, add each
 * (-ENOSPC, and nothing added, past PROTO_FS_EVENTS_MAX events or max
 * payload bytes), finish. Read as a head (n at most
 * PROTO_FS_EVENTS_MAX), then n events (mask non-zero and only FSEV_*
 * bits, dir a path, name "" or one component), then proto_end().
 */
struct proto_fs_events {
	uint32_t	watches;
	uint8_t		limited;
	uint32_t	n;
};
struct proto_fs_events_enc {
	size_t		head;		/* offset of watches in the message */
	uint32_t	n;
};
void	proto_enc_fs_events_begin(struct proto_buf *,
	    struct proto_fs_events_enc *);
int	proto_enc_fs_event_add(struct proto_buf *,
	    struct proto_fs_events_enc *, uint32_t mask, const char *dir,
	    const char *name, size_t max);
void	proto_enc_fs_events_finish(struct proto_buf *,
	    const struct proto_fs_events_enc *, uint32_t watches,
	    uint8_t limited);
int	proto_dec_fs_events(struct proto_cur *, struct proto_fs_events *);
/* dir into dir of dirsz, name into name of namesz. */
int	proto_dec_fs_event(struct proto_cur *, uint32_t *mask, char *dir,
	    size_t dirsz, char *name, size_t namesz);

#endif
