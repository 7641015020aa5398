/*
 * The mirror wire protocol: one binary websocket message per protocol
 * message, a fixed little-endian header and a payload that is built and
 * read only through the cursor functions below, which check every length
 * against the bytes actually present.
 *
 * Header (PROTO_HDR_LEN bytes, little-endian):
 *   u8  version   PROTO_VERSION
 *   u8  kind      MSG_HELLO, MSG_REQUEST, MSG_REPLY
 *   u16 op        OP_* (0 for hello)
 *   u32 id        request id chosen by the client, echoed in the reply
 *   u32 status    in a reply: 0, or a positive errno. In a request: an
 *                 order key; requests with the same non-zero key are
 *                 served one after another in the order sent (a client
 *                 keys everything about one file with that file), 0:
 *                 any order
 *   u32 length    payload bytes that follow
 *
 * The hello: mutual authentication by challenge and response (lib/auth.c).
 * The token never crosses the wire; the agent proves it knows it first,
 * the client second. Each step is a MSG_HELLO, op 0, with the step in id:
 *   1 client -> agent  u32 caps, bytes cn (32), bytes sid (16)
 *   2 agent -> client  bytes an (32), bytes HMAC(K, "mirror-auth-2 agent"
 *                      || cn || an || sid)
 *   3 client -> agent  bytes HMAC(K, "mirror-auth-2 client" || cn || an
 *                      || sid)
 *   4 agent -> client  status 0: u32 caps, str server; or EACCES, empty
 * K = SHA-256(token) (all an agent started with --token-sha256 knows, so
 * that hash is as secret as the token); HMAC is HMAC-SHA-256; cn and an
 * are fresh random nonces of each side (getrandom), sid a random session
 * id the client picks (the agent logs it). The client checks the agent's
 * MAC (constant time) before it sends step 3 and closes without it when
 * the MAC is wrong: a fake agent on the port gets a nonce and a random
 * label, nothing derived from K. The agent's MAC always covers its own
 * fresh nonce, so a fake client that sends a chosen cn learns nothing it
 * can replay as an agent, and a recorded step 3 fails against a new an.
 * The agent serves nothing and accepts nothing but these steps until the
 * client's MAC checked; a hello after that is refused on both sides and
 * closes the connection. A peer speaking another PROTO_VERSION is told so
 * (its header's first byte) and the connection closed.
 *
 * File-system requests and replies (OP_LOOKUP .. OP_FLISTXATTR): each
 * layout is written once, as a typed struct with its encoder and
 * decoder, in lib/proto-fs.h; a reply has a payload only when its status
 * is 0. The writing ones are served only by an agent started with --rw
 * (EROFS otherwise).
 *
 * Network (served by every agent; netd is the client):
 *   OP_NET_INFO  (empty)   -> bytes resolv_conf (the target's
 *                /etc/resolv.conf), u32 n, n x (u8 family 4|6,
 *                bytes addr, u8 prefixlen, str ifname): the target
 *                netns' interface addresses (loopback left out),
 *                u32 m, m x (u8 family, bytes dst, u8 prefixlen,
 *                str ifname): its routes that are not default routes
 *   OP_DNS       bytes query (one DNS message) -> bytes answer (the
 *                answer of the target's nameservers, unchanged; sent
 *                from the target's netns)
 *
 * Incoming traffic (served by an agent whose hello has CAP_INCOMING;
 * netd is the client; lib/proto-net.h):
 *   OP_INCOMING_SUB   u16 port (1..65535), u8 mode (INCOMING_STEAL,
 *                INCOMING_MIRROR or INCOMING_FILTER, optionally |
 *                INCOMING_FLUSH), and only with INCOMING_FILTER: bytes
 *                filter (1..HTTP_FILTER_WIRE_MAX, lib/httpfilter.h's
 *                wire form) -> empty. New connections to that
 *                TCP port of the target arrive as STREAM_ACCEPT; when
 *                mirrored, the target's own process answers them and the
 *                stream carries a copy of what the peer sends (what the
 *                client writes to it is dropped); a copy that falls
 *                behind is closed with STREAM_CLOSE ENOBUFS. With a
 *                filter the agent parses each connection's HTTP/1.x
 *                requests: those the filter matches go to the client
 *                (one STREAM_ACCEPT per connection), the others to the
 *                target's own process (EINVAL: the filter does not
 *                compile).
 *                Errors: EADDRINUSE (another client holds the port),
 *                EPERM (no CAP_NET_ADMIN in the target's netns, or the
 *                netns could not be entered), EMFILE (the client holds
 *                INCOMING_SUBS_MAX ports), EOPNOTSUPP (the mode), or
 *                what the kernel said of the nftables batch. A second
 *                SUB of the same port by the same client is 0.
 *   OP_INCOMING_UNSUB u16 port -> empty (ENOENT: not subscribed). The
 *                port's redirect is gone when the reply is sent.
 *                A client's subscriptions also end with its connection.
 *
 * The target itself (served by every agent, read-only; lib/proto-target.h):
 *   OP_TARGET_INFO (empty) -> str hostname (its UTS name; "" if unknown),
 *                bytes environ (/proc/PID/environ as it is, NUL-separated,
 *                at most TARGET_ENV_MAX), u32 n, n x str path: its volume
 *                mount points (mountinfo beyond the image root, /proc,
 *                /sys, /dev left out), absolute and normalized
 *
 * Streams (MSG_STREAM, either direction; header op = STREAM_*, id = a
 * stream id, never reused on the connection; status 0 unless said
 * otherwise). Ids have two spaces: a stream the client opens
 * (STREAM_OPEN) has an id the client picked below STREAM_ID_AGENT; one
 * the agent opens (STREAM_ACCEPT) an id the agent picked with
 * STREAM_ID_AGENT set. The codec refuses an OPEN or ACCEPT whose id is
 * in the other side's space. A stream's data, in each direction, is
 * flow controlled: a side may have at most "window" bytes sent that the
 * other side has not credited back.
 *   STREAM_OPEN    client -> agent: u8 proto (NET_TCP, NET_UDP,
 *                  NET_ICMP), u8 family (4|6), bytes addr (4 or 16),
 *                  u16 port (0 for ICMP), u32 window (what the agent may
 *                  send before a credit). The agent connects from the
 *                  target's netns.
 *   STREAM_OPENED  agent -> client: status 0, or the connect's errno
 *                  (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH,
 *                  ...; the stream is then gone); u32 window (what the
 *                  client may send before a credit)
 *   STREAM_ACCEPT  agent -> client: an incoming connection to a port the
 *                  client subscribed (OP_INCOMING_SUB): u8 family (4|6),
 *                  bytes src addr (4 or 16), u16 src port (the peer's
 *                  real address and port), u16 dst port (the target's
 *                  port it came to), u32 window (what the client may
 *                  send before a credit). The client answers
 *                  STREAM_OPENED: status 0 (its local connect is done)
 *                  with its window, or the connect's errno (the agent
 *                  resets the connection). Then as any TCP stream.
 *   STREAM_DATA    the payload is the data: TCP bytes, or one UDP
 *                  datagram, or one ICMP echo message (type, code,
 *                  checksum, id, seq, data; the agent's kernel sets id)
 *   STREAM_CREDIT  u32 n: the sender of this consumed n more bytes
 *   STREAM_SHUT    (empty): the sender sends no more data (TCP FIN)
 *   STREAM_CLOSE   status 0 or an errno (ECONNRESET: a reset); the
 *                  stream is gone for the sender at once and for the
 *                  receiver when it arrives. Data for an unknown id is
 *                  dropped.
 *   STREAM_FS_EVENT agent -> client, id 0, no stream: changes the agent
 *                  saw (inotify) in directories it watches for the
 *                  client's file requests (agent with CAP_WATCH, sent
 *                  to connections that made file requests). u32
 *                  watches (directories watched now), u8 limited (1: a
 *                  directory could not be watched), u32 n (at most
 *                  PROTO_FS_EVENTS_MAX), n x (u32 mask FSEV_*, str dir,
 *                  str name: "" for dir itself). lib/proto-fs.h has the
 *                  codec. A client drops what it cached of those names.
 *
 * str is u16 length + bytes (no NUL inside); bytes is u32 length + bytes.
 * Paths are absolute within the target's root ("/", "/etc/passwd").
 * attr is struct proto_attr field by field (lstat, plus ATTR_* flags).
 */
#ifndef MIRROR_PROTO_H
#define MIRROR_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* 2: the hello became a challenge and response (was: the token itself) */
#define PROTO_VERSION	2
#define PROTO_HDR_LEN	16
/* Largest payload either side accepts; checked before anything is read. */
#define PROTO_PAYLOAD_MAX	(4u * 1024 * 1024 + 4096)
#define PROTO_MSG_MAX	(PROTO_HDR_LEN + PROTO_PAYLOAD_MAX)
#define PROTO_READ_MAX	(4u * 1024 * 1024)
/* Paths within the target: longer than one syscall's PATH_MAX, as a
 * deep tree made through directory fds is. */
#define PROTO_PATH_MAX	16384
#define PROTO_NAME_MAX	255
#define PROTO_TOKEN_MAX	512
#define PROTO_XATTR_MAX	65536

enum msg_kind {
	MSG_HELLO = 1,
	MSG_REQUEST = 2,
	MSG_REPLY = 3,
	MSG_STREAM = 4,
};

enum stream_op {
	STREAM_OPEN = 1,
	STREAM_OPENED,
	STREAM_DATA,
	STREAM_CREDIT,
	STREAM_SHUT,
	STREAM_CLOSE,
	STREAM_ACCEPT,
	STREAM_FS_EVENT,
	STREAM_MAX_
};

/* Stream ids the agent picks (STREAM_ACCEPT) have this bit; the
 * client's never do. */
#define STREAM_ID_AGENT	0x80000000u

/* STREAM_OPEN protocols (the IP protocol numbers). */
#define NET_ICMP	1
#define NET_TCP		6
#define NET_UDP		17

/* Largest STREAM_DATA payload a side sends. */
#define PROTO_STREAM_DATA_MAX	(256u * 1024)

enum proto_op {
	OP_LOOKUP = 1,
	OP_GETATTR,
	OP_READDIR,
	OP_OPEN,
	OP_READ,
	OP_RELEASE,
	OP_READLINK,
	OP_STATFS,
	OP_GETXATTR,
	OP_LISTXATTR,
	OP_CREATE,
	OP_WRITE,
	OP_SETATTR,
	OP_FSYNC,
	OP_MKNOD,
	OP_MKDIR,
	OP_UNLINK,
	OP_RMDIR,
	OP_SYMLINK,
	OP_RENAME,
	OP_LINK,
	OP_SETXATTR,
	OP_REMOVEXATTR,
	OP_FALLOCATE,
	OP_FGETATTR,
	OP_LOCK,
	OP_FLOCK,
	OP_FLUSH,
	OP_FGETXATTR,
	OP_FLISTXATTR,
	OP_NET_INFO,
	OP_DNS,
	OP_TARGET_INFO,
	OP_INCOMING_SUB,
	OP_INCOMING_UNSUB,
	OP_MAX_
};

struct proto_hdr {
	uint8_t		version;
	uint8_t		kind;
	uint16_t	op;
	uint32_t	id;
	uint32_t	status;
	uint32_t	length;
};

/* File attributes as the target sees them (lstat). */
struct proto_attr {
	uint64_t	dev;
	uint64_t	ino;
	uint32_t	mode;
	uint32_t	nlink;
	uint32_t	uid;
	uint32_t	gid;
	uint64_t	rdev;
	uint64_t	size;
	uint64_t	blocks;
	uint32_t	blksize;
	int64_t		atime_sec;
	uint32_t	atime_nsec;
	int64_t		mtime_sec;
	uint32_t	mtime_nsec;
	int64_t		ctime_sec;
	uint32_t	ctime_nsec;
	uint32_t	flags;		/* ATTR_* */
};

/* The file has no extended attributes at all: a client may answer
 * getxattr with ENODATA itself until the attributes change. ls -l asks
 * for two xattrs on every file; without this each would be a round trip. */
#define ATTR_NO_XATTR	0x1
/* In an OP_OPEN reply: a file of procfs, sysfs and the like, whose size
 * says nothing (0, or 4096) about the bytes a read returns. */
#define ATTR_SYNTHETIC	0x2
/* In a lookup, getattr or readdir reply of an agent with CAP_WATCH: the
 * directory the name is in (for "/", "/" itself; in a readdir, the one
 * listed) is watched, so a change to the name or its attributes will
 * come as a STREAM_FS_EVENT: a client may cache it long. */
#define ATTR_WATCHED	0x4

/* Hello caps, agent to client: the agent accepts writes (--rw). */
#define CAP_WRITE	0x1
/* ... and serves OP_NET_INFO, OP_DNS and streams. */
#define CAP_NET		0x2
/* ... and OP_INCOMING_SUB/UNSUB and STREAM_ACCEPT. */
#define CAP_INCOMING	0x4

/* OP_INCOMING_SUB modes. */
#define INCOMING_STEAL	1	/* connections go to the client only */
#define INCOMING_MIRROR	2	/* a copy while the pod answers */
#define INCOMING_FILTER	3	/* steal the requests a filter matches */
#define INCOMING_MODE_MAX INCOMING_FILTER
/* OR-ed into OP_INCOMING_SUB's mode: when the redirect is in place, the
 * target's established connections to the port are cut (sock_diag
 * SOCK_DESTROY), so that their clients reconnect and are redirected. */
#define INCOMING_FLUSH	0x80

/* ... and watches the directories it serves, sending STREAM_FS_EVENT. */
#define CAP_WATCH	0x8

/* STREAM_FS_EVENT masks. */
#define FSEV_CHANGED	0x1	/* data or attributes of name (or dir) */
#define FSEV_NAMES	0x2	/* name was made, removed or renamed in dir */
#define FSEV_GONE	0x4	/* dir itself was removed or moved: no longer
				 * watched, nor anything cached under it */
#define FSEV_OVERFLOW	0x8	/* events were lost: anything may have
				 * changed (dir "/", name "") */
#define FSEV_ALL_	0xf
#define PROTO_FS_EVENTS_MAX	1024

/* OP_SETATTR: which fields to set. */
#define SETATTR_MODE		0x01
#define SETATTR_UID		0x02
#define SETATTR_GID		0x04
#define SETATTR_SIZE		0x08
#define SETATTR_ATIME		0x10
#define SETATTR_MTIME		0x20
#define SETATTR_ATIME_NOW	0x40
#define SETATTR_MTIME_NOW	0x80

/* OP_LOCK */
#define LOCK_CMD_GET		0
#define LOCK_CMD_SET		1
#define LOCK_TYPE_UNLOCK	0
#define LOCK_TYPE_READ		1
#define LOCK_TYPE_WRITE		2

/* Largest data of one OP_WRITE. */
#define PROTO_WRITE_MAX		(4u * 1024 * 1024)

struct proto_statfs {
	uint64_t	bsize, frsize, blocks, bfree, bavail;
	uint64_t	files, ffree, favail, namemax;
};

/* Read cursor over received bytes; never reads past end. */
struct proto_cur {
	const uint8_t	*p;
	size_t		 left;
};

/* Growing output buffer with a hard cap (PROTO_MSG_MAX). Caller frees data. */
struct proto_buf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	int		 err;		/* sticky: -EMSGSIZE after an overflow */
};

const char	*proto_op_name(unsigned int op);
const char	*proto_stream_op_name(unsigned int op);

/* Header: decode fails unless version, kind and length are acceptable
 * and the length equals the bytes present. */
int	proto_hdr_decode(const uint8_t *msg, size_t len, struct proto_hdr *h,
	    struct proto_cur *payload);

/* A header into p (PROTO_HDR_LEN bytes), for a message built by hand
 * (a stream's data read straight into place after it). */
void	proto_hdr_encode(uint8_t *p, uint8_t kind, uint16_t op, uint32_t id,
	    uint32_t status, uint32_t length);

/* Output. Start a message, put fields, finish (fills in the length). */
void	proto_buf_init(struct proto_buf *b, size_t hint);
void	proto_buf_free(struct proto_buf *b);
/* A buffer holding a copy of a message built before (to send again). */
void	proto_buf_copy(struct proto_buf *b, const uint8_t *msg, size_t len);
void	proto_begin(struct proto_buf *b, uint8_t kind, uint16_t op,
	    uint32_t id, uint32_t status);
int	proto_finish(struct proto_buf *b);
void	proto_put_u8(struct proto_buf *b, uint8_t v);
void	proto_put_u16(struct proto_buf *b, uint16_t v);
void	proto_put_u32(struct proto_buf *b, uint32_t v);
void	proto_put_u64(struct proto_buf *b, uint64_t v);
void	proto_put_str(struct proto_buf *b, const char *s);
void	proto_put_strn(struct proto_buf *b, const char *s, size_t n);
void	proto_put_bytes(struct proto_buf *b, const void *p, size_t n);
/* Overwrites the u32 put at offset at (a count known only later). */
void	proto_patch_u32(struct proto_buf *b, size_t at, uint32_t v);
void	proto_patch_u8(struct proto_buf *b, size_t at, uint8_t v);
void	proto_patch_u64(struct proto_buf *b, size_t at, uint64_t v);
/* The request id of a message begun in b (the client picks it when it
 * sends). */
void	proto_set_id(struct proto_buf *b, uint32_t id);
/* n bytes as they are, no length (STREAM_DATA's payload). */
void	proto_put_raw(struct proto_buf *b, const void *p, size_t n);
/* Reserve n bytes of a "bytes" field to be filled in place; returns the
 * place or NULL on overflow. proto_bytes_trim() shortens it afterwards. */
uint8_t	*proto_put_bytes_reserve(struct proto_buf *b, size_t n);
void	 proto_bytes_trim(struct proto_buf *b, uint8_t *at, size_t used);
void	proto_put_attr(struct proto_buf *b, const struct proto_attr *a);
void	proto_put_statfs(struct proto_buf *b, const struct proto_statfs *s);

/* Input. Each returns 0 or -EBADMSG; on error the cursor is spent. */
int	proto_get_u8(struct proto_cur *c, uint8_t *v);
int	proto_get_u16(struct proto_cur *c, uint16_t *v);
int	proto_get_u32(struct proto_cur *c, uint32_t *v);
int	proto_get_u64(struct proto_cur *c, uint64_t *v);
/* str: copied NUL-terminated into dst of dstsz; fails if too long or
 * if it holds a NUL. */
int	proto_get_str(struct proto_cur *c, char *dst, size_t dstsz);
/* bytes: points into the message (borrowed until the message is freed). */
int	proto_get_bytes(struct proto_cur *c, const uint8_t **p, uint32_t *n,
	    uint32_t max);
int	proto_get_attr(struct proto_cur *c, struct proto_attr *a);
int	proto_get_statfs(struct proto_cur *c, struct proto_statfs *s);
/* Fails unless every byte was consumed. */
int	proto_end(struct proto_cur *c);

void	proto_attr_from_stat(struct proto_attr *a, const struct stat *st);
void	proto_attr_to_stat(const struct proto_attr *a, struct stat *st);
/* OP_STATFS's reply from fstatvfs() (agent) and back (mountd, for
 * fuse_reply_statfs; the fields the wire does not carry are 0). */
void	proto_statfs_from_statvfs(struct proto_statfs *s,
	    const struct statvfs *sv);
void	proto_statfs_to_statvfs(const struct proto_statfs *s,
	    struct statvfs *sv);

/* LOCK_TYPE_* and the fcntl lock types (F_RDLCK, F_WRLCK, F_UNLCK). */
int	proto_lock_to_fcntl(unsigned int lock_type);
uint8_t	proto_lock_from_fcntl(int l_type);

/* A path from a peer: absolute, no NUL, at most PROTO_PATH_MAX. */
int	proto_path_ok(const char *path);
/* A single name: no '/', not "." or "..", not empty. */
int	proto_name_ok(const char *name);

#endif
