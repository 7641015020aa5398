/* Session tokens: file I/O, generation and constant-time comparison. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "proto.h"
#include "token.h"

int
token_read_file(const char *path, char *buf, size_t bufsz)
{
	char tmp[PROTO_TOKEN_MAX + 2];
	const char *nl;
	struct stat st;
	ssize_t n;
	size_t len;
	int fd, rc = 0;

	if (bufsz < PROTO_TOKEN_MAX + 1)
		return -EINVAL;
	/*
	 * A link could point the daemon (root) at a file someone else
	 * chose; a fifo would block it; a token others can read is no
	 * secret. Refuse all three rather than read them.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH |
	    S_IWOTH))) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : !S_ISREG(st.st_mode) ?
		    -ENOTSUP : -EPERM;
		close(fd);
		goto out;
	}
	n = read(fd, tmp, sizeof(tmp) - 1);
	if (n < 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	close(fd);
	nl = memchr(tmp, '\n', (size_t)n);
	len = nl ? (size_t)(nl - tmp) : (size_t)n;
	while (len > 0 && (tmp[len - 1] == ' ' || tmp[len - 1] == '\r' ||
	    tmp[len - 1] == '\t'))
		len--;
	/* A NUL inside would silently shorten the token: refuse it. */
	if (len == 0 || len > PROTO_TOKEN_MAX || memchr(tmp, '\0', len)) {
		rc = -EINVAL;
		goto out;
	}
	memcpy(buf, tmp, len);
	buf[len] = '\0';
out:
	explicit_bzero(tmp, sizeof(tmp));
	return rc;
}

const char *
token_strerror(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "empty or longer than 512 bytes";
	case -ELOOP:
		return "it is a symbolic link (name the file itself)";
	case -EPERM:
		return "it is readable or writable by group/other "
		    "(chmod 600 it)";
	case -ENOTSUP:
		return "not a regular file";
	default:
		return strerror(-rc);
	}
}

int
token_generate(char *buf, size_t bufsz)
{
	uint8_t raw[TOKEN_HEX_LEN / 2];

	if (bufsz < TOKEN_HEX_LEN + 1)
		return -EINVAL;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	hex_encode(raw, sizeof(raw), buf);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

int
token_write_file(const char *path, const char *token)
{
	size_t len = strlen(token);
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		rc = -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		unlink(path);
	return rc;
}

int
token_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile uint8_t *pa = a, *pb = b;
	uint8_t diff = alen != blen;
	size_t i, n = alen < blen ? alen : blen;

	/* Time depends only on the shorter length, never on the contents. */
	for (i = 0; i < n; i++)
		diff |= pa[i] ^ pb[i];
	return diff == 0;
}
