/*
 * The agent's file service, locks: POSIX record locks (OP_LOCK) kept as
 * OFD locks on an open file description per lock owner (struct
 * agent_lock, on the connection's agent_files), flock (OP_FLOCK), and
 * OP_FLUSH, which drops an owner's locks when it closes the file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-int.h"
#include "xmalloc.h"

/* The lock owner's own open file description of fd's file, made on
 * first use when create is set. Called with files->mtx held. */
static int
lock_fd(struct agent_files *files, int fd, uint64_t owner, int create)
{
	struct agent_lock *l;
	struct stat st;
	char procfd[64];
	int lfd, acc;

	if (fstat(fd, &st) < 0)
		return -errno;
	for (l = files->locks; l; l = l->next)
		if (l->dev == st.st_dev && l->ino == st.st_ino &&
		    l->owner == owner)
			return l->fd;
	if (!create)
		return -ENOENT;
	/* Read and write locks both need it open for both. */
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	acc = fcntl(fd, F_GETFL) & O_ACCMODE;
	lfd = open(procfd, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (lfd < 0)
		lfd = open(procfd, acc | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (lfd < 0)
		return -errno;
	l = xcalloc(1, sizeof(*l));
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->owner = owner;
	l->fd = lfd;
	l->next = files->locks;
	files->locks = l;
	return lfd;
}

int
fs_serve_lock(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_lock_req r;
	struct proto_lock_rep rep;
	uint64_t fh, owner, start, len;
	uint8_t cmd, type;
	struct flock fl;
	int fd, lfd, acc, rc = 0;

	if (proto_dec_lock_req(c, &r) < 0)
		return -EBADMSG;
	fh = r.fh;
	owner = r.owner;
	cmd = r.cmd;
	type = r.type;
	start = r.start;
	len = r.len;
	if (start > INT64_MAX || len > INT64_MAX)
		return reply_status(out, h, -EINVAL);
	if ((fd = fs_files_get(files, fh)) < 0)
		return reply_status(out, h, fd);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = (short)proto_lock_to_fcntl(type);
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)start;
	fl.l_len = (off_t)len;
	/* As POSIX: the handle the lock is asked through must allow it. */
	acc = fcntl(fd, F_GETFL) & O_ACCMODE;
	if (cmd == LOCK_CMD_SET &&
	    ((type == LOCK_TYPE_READ && acc == O_WRONLY) ||
	    (type == LOCK_TYPE_WRITE && acc == O_RDONLY)))
		rc = -EBADF;
	pthread_mutex_lock(&files->mtx);
	if (rc == 0) {
		lfd = lock_fd(files, fd, owner, cmd == LOCK_CMD_SET &&
		    type != LOCK_TYPE_UNLOCK);
		if (lfd == -ENOENT)
			/* Nothing held by this owner: unlock is done, and
			 * getlk may ask through the plain handle. */
			lfd = cmd == LOCK_CMD_GET ? fd : -1;
		if (lfd < -1)
			rc = lfd;
		else if (lfd >= 0 && fcntl(lfd, cmd == LOCK_CMD_GET ?
		    F_OFD_GETLK : F_OFD_SETLK, &fl) < 0)
			rc = errno == EACCES ? -EAGAIN : -errno;
	}
	pthread_mutex_unlock(&files->mtx);
	fs_files_put(files, fh);
	reply_begin(out, h, rc);
	if (rc == 0 && cmd == LOCK_CMD_GET) {
		rep.type = proto_lock_from_fcntl(fl.l_type);
		rep.start = (uint64_t)fl.l_start;
		rep.len = (uint64_t)fl.l_len;
		proto_enc_lock_rep(out, &rep);
	}
	return 0;
}

int
fs_serve_flock(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_flock_req r;
	uint64_t fh;
	uint32_t op;
	int fd, rc;

	if (proto_dec_flock_req(c, &r) < 0)
		return -EBADMSG;
	fh = r.fh;
	op = r.op & (LOCK_SH | LOCK_EX | LOCK_UN);
	if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN)
		return reply_status(out, h, -EINVAL);
	if ((fd = fs_files_get(files, fh)) < 0)
		return reply_status(out, h, fd);
	rc = flock(fd, (int)op | LOCK_NB) < 0 ? -errno : 0;
	fs_files_put(files, fh);
	reply_begin(out, h, rc);
	return 0;
}

int
fs_serve_flush(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct agent_lock **pp, *l;
	struct stat st;
	struct proto_flush_req r;
	uint64_t fh, owner;
	int fd, rc = 0;

	if (proto_dec_flush_req(c, &r) < 0)
		return -EBADMSG;
	fh = r.fh;
	owner = r.owner;
	if ((fd = fs_files_get(files, fh)) < 0)
		return reply_status(out, h, fd);
	if (fstat(fd, &st) < 0)
		rc = -errno;
	pthread_mutex_lock(&files->mtx);
	for (pp = &files->locks; rc == 0 && *pp; pp = &(*pp)->next) {
		l = *pp;
		if (l->dev == st.st_dev && l->ino == st.st_ino &&
		    l->owner == owner) {
			*pp = l->next;
			close(l->fd);	/* drops the owner's locks */
			x_free(l);
			break;
		}
	}
	pthread_mutex_unlock(&files->mtx);
	fs_files_put(files, fh);
	reply_begin(out, h, rc);
	return 0;
}
