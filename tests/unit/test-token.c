/*
 * Unit tests of session tokens (lib/token.c): reading a token file
 * (trimming, empty, too long, missing; a symbolic link, a file group or
 * other may read, a fifo refused), generating, writing a new 0600 file,
 * and constant-time comparison. Prints TAP; exits 0 only if every
 * test passed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"
#include "token.h"

#include "tap.h"

static char dir[] = "/tmp/mirror-test-token.XXXXXX";

/* Writes n bytes to dir/name; returns the path (static buffer). */
static const char *
put_file(const char *name, const void *data, size_t n)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
		perror(path);
		exit(99);
	}
	close(fd);
	return path;
}

static int
read_str(const char *name, const char *content, char *buf)
{
	return token_read_file(put_file(name, content, strlen(content)), buf,
	    PROTO_TOKEN_MAX + 1);
}

static void
test_read(void)
{
	char buf[PROTO_TOKEN_MAX + 1], big[PROTO_TOKEN_MAX + 64];
	char path[256];
	int rc;

	rc = read_str("plain", "abc123", buf);
	ok(rc == 0 && strcmp(buf, "abc123") == 0, "plain token read");
	rc = read_str("nl", "abc123\n", buf);
	ok(rc == 0 && strcmp(buf, "abc123") == 0, "trailing newline trimmed");
	rc = read_str("crlf", "abc123\r\n", buf);
	ok(rc == 0 && strcmp(buf, "abc123") == 0, "trailing CRLF trimmed");
	rc = read_str("ws", "abc123 \t \n", buf);
	ok(rc == 0 && strcmp(buf, "abc123") == 0,
	    "trailing spaces and tabs trimmed");
	rc = read_str("lines", "first\nsecond\n", buf);
	ok(rc == 0 && strcmp(buf, "first") == 0, "only the first line used");
	rc = read_str("inner", "a b\n", buf);
	ok(rc == 0 && strcmp(buf, "a b") == 0, "inner space kept");

	/*
	 * A NUL must not silently cut a (binary) token short. token.c
	 * must reject it rather than stop at it.
	 */
	rc = token_read_file(put_file("nul", "ab\0cdefgh\n", 10), buf,
	    sizeof(buf));
	ok(rc == -EINVAL, "NUL inside the first line -> -EINVAL (%d, \"%s\")",
	    rc, rc == 0 ? buf : "");

	rc = read_str("empty", "", buf);
	ok(rc == -EINVAL, "empty file -> -EINVAL (%d)", rc);
	rc = read_str("emptyline", "\nsecond\n", buf);
	ok(rc == -EINVAL, "empty first line -> -EINVAL (%d)", rc);
	rc = read_str("blank", " \t\r\n", buf);
	ok(rc == -EINVAL, "whitespace-only -> -EINVAL (%d)", rc);

	memset(big, 'k', PROTO_TOKEN_MAX);
	big[PROTO_TOKEN_MAX] = '\0';
	rc = read_str("max", big, buf);
	ok(rc == 0 && strlen(buf) == PROTO_TOKEN_MAX,
	    "token of PROTO_TOKEN_MAX accepted");
	big[PROTO_TOKEN_MAX] = '\n';
	big[PROTO_TOKEN_MAX + 1] = '\0';
	rc = read_str("maxnl", big, buf);
	ok(rc == 0 && strlen(buf) == PROTO_TOKEN_MAX,
	    "token of PROTO_TOKEN_MAX plus newline accepted");
	big[PROTO_TOKEN_MAX] = 'k';
	big[PROTO_TOKEN_MAX + 1] = '\0';
	rc = read_str("over", big, buf);
	ok(rc == -EINVAL, "token of PROTO_TOKEN_MAX + 1 -> -EINVAL (%d)", rc);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rc = read_str("long", big, buf);
	ok(rc == -EINVAL, "token far over the limit -> -EINVAL (%d)", rc);

	snprintf(path, sizeof(path), "%s/does-not-exist", dir);
	rc = token_read_file(path, buf, sizeof(buf));
	ok(rc == -ENOENT, "missing file -> -ENOENT (%d)", rc);
	rc = token_read_file(dir, buf, sizeof(buf));
	ok(rc < 0, "a directory is not a token file (%d)", rc);
	rc = token_read_file(put_file("small", "abc\n", 4), buf, 8);
	ok(rc == -EINVAL, "buffer smaller than PROTO_TOKEN_MAX + 1 -> -EINVAL");
}

/* What the daemons (root) must not trust: a token file behind a link, one
 * others can read, something that is not a file. */
static void
test_refuse(void)
{
	char buf[PROTO_TOKEN_MAX + 1], link[256], fifo[256], real[256];
	static const mode_t bad[] = { 0644, 0640, 0604, 0620, 0602, 0666 };
	size_t i;
	int rc;

	snprintf(real, sizeof(real), "%s", put_file("real", "secret\n", 7));
	rc = token_read_file(real, buf, sizeof(buf));
	ok(rc == 0 && strcmp(buf, "secret") == 0, "a 0600 file is accepted");
	chmod(real, 0400);
	rc = token_read_file(real, buf, sizeof(buf));
	ok(rc == 0 && strcmp(buf, "secret") == 0, "a 0400 file is accepted");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		chmod(real, bad[i]);
		memset(buf, 0, sizeof(buf));
		rc = token_read_file(real, buf, sizeof(buf));
		ok(rc == -EPERM && buf[0] == '\0',
		    "a %04o file is refused with -EPERM, nothing read (%d)",
		    (unsigned int)bad[i], rc);
	}
	ok(strstr(token_strerror(-EPERM), "chmod 600") != NULL &&
	    strstr(token_strerror(-EPERM), "group/other") != NULL,
	    "the reason says group/other and chmod 600: %s",
	    token_strerror(-EPERM));
	chmod(real, 0600);

	snprintf(link, sizeof(link), "%s/link", dir);
	if (symlink(real, link) == 0) {
		memset(buf, 0, sizeof(buf));
		rc = token_read_file(link, buf, sizeof(buf));
		ok(rc == -ELOOP && buf[0] == '\0',
		    "a symbolic link to a 0600 token is refused (%d)", rc);
		ok(strstr(token_strerror(rc), "symbolic link") != NULL,
		    "the reason says symbolic link: %s", token_strerror(rc));
		unlink(link);
	} else
		ok(0, "symlink %s", link);

	/* A fifo with no writer would hang a daemon that opened it. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	if (mkfifo(fifo, 0600) == 0) {
		alarm(10);
		rc = token_read_file(fifo, buf, sizeof(buf));
		alarm(0);
		ok(rc == -ENOTSUP, "a fifo is refused at once (%d: %s)", rc,
		    token_strerror(rc));
		unlink(fifo);
	} else
		ok(0, "mkfifo %s", fifo);
	ok(strcmp(token_strerror(-ENOENT), strerror(ENOENT)) == 0,
	    "other errors read as strerror");
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

static void
test_generate(void)
{
	char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1], small[TOKEN_HEX_LEN];
	int rc;

	rc = token_generate(a, sizeof(a));
	ok(rc == 0 && strlen(a) == TOKEN_HEX_LEN && TOKEN_HEX_LEN == 64 &&
	    is_hex(a, TOKEN_HEX_LEN), "generate gives 64 hex chars");
	rc = token_generate(b, sizeof(b));
	ok(rc == 0 && strcmp(a, b) != 0, "two generated tokens differ");
	ok(token_generate(small, sizeof(small)) == -EINVAL,
	    "generate into a short buffer -> -EINVAL");
}

static void
test_write(void)
{
	char tok[TOKEN_HEX_LEN + 1], back[PROTO_TOKEN_MAX + 1], path[256];
	char link[256], target[256];
	struct stat st;
	int rc;

	snprintf(path, sizeof(path), "%s/new-token", dir);
	umask(022);
	token_generate(tok, sizeof(tok));
	rc = token_write_file(path, tok);
	ok(rc == 0, "write_file creates a new file (%d)", rc);
	if (stat(path, &st) != 0)
		memset(&st, 0, sizeof(st));
	ok(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600,
	    "created with mode 0600 (%o)", (unsigned int)(st.st_mode & 07777));
	rc = token_read_file(path, back, sizeof(back));
	ok(rc == 0 && strcmp(back, tok) == 0, "what was written reads back");
	rc = token_write_file(path, "other");
	ok(rc == -EEXIST, "refuses an existing file (%d)", rc);
	rc = token_read_file(path, back, sizeof(back));
	ok(rc == 0 && strcmp(back, tok) == 0, "existing file left untouched");
	snprintf(link, sizeof(link), "%s/dangling", dir);
	snprintf(target, sizeof(target), "%s/nowhere", dir);
	if (symlink("nowhere", link) == 0) {
		rc = token_write_file(link, "t");
		ok(rc < 0 && access(target, F_OK) != 0,
		    "refuses to write through a dangling symlink (%d)", rc);
		unlink(link);
	} else
		ok(0, "symlink %s", link);
	snprintf(path, sizeof(path), "%s/no-such-dir/token", dir);
	ok(token_write_file(path, "t") == -ENOENT,
	    "missing directory -> -ENOENT");
}

static void
test_equal(void)
{
	ok(token_equal("abcdef", 6, "abcdef", 6), "equal tokens");
	ok(!token_equal("abcdef", 6, "abcdeg", 6), "differ in the last byte");
	ok(!token_equal("abcdef", 6, "bbcdef", 6), "differ in the first byte");
	ok(!token_equal("abcdef", 6, "abcde", 5), "prefix is not equal");
	ok(!token_equal("abcde", 5, "abcdef", 6), "longer is not equal");
	ok(!token_equal("", 0, "a", 1), "empty vs one byte");
	ok(!token_equal("a", 1, "", 0), "one byte vs empty");
	ok(token_equal("", 0, "", 0), "empty equals empty");
	ok(token_equal("a\0b", 3, "a\0b", 3), "compares bytes, not C strings");
	ok(!token_equal("a\0b", 3, "a\0c", 3), "bytes after a NUL count");
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_read();
	test_refuse();
	test_generate();
	test_write();
	test_equal();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
