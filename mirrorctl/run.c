/* Capturing child processes, growing strings, JSON text. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "run.h"
#include "xmalloc.h"

void
sbuf_init(struct sbuf *b)
{
	b->size = 256;
	b->len = 0;
	b->s = xmalloc(b->size);
	b->s[0] = '\0';
}

void
sbuf_free(struct sbuf *b)
{
	x_free(b->s);
	b->s = NULL;
	b->len = b->size = 0;
}

static void
sbuf_grow(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->size)
		return;
	while (b->len + more + 1 > b->size)
		b->size *= 2;
	b->s = xrealloc(b->s, b->size);
}

static void
sbuf_add(struct sbuf *b, const char *p, size_t n)
{
	sbuf_grow(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	sbuf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
sbuf_json_str(struct sbuf *b, const char *s)
{
	const unsigned char *p;

	sbuf_add(b, "\"", 1);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': sbuf_add(b, "\\\"", 2); break;
		case '\\': sbuf_add(b, "\\\\", 2); break;
		case '\n': sbuf_add(b, "\\n", 2); break;
		case '\t': sbuf_add(b, "\\t", 2); break;
		case '\r': sbuf_add(b, "\\r", 2); break;
		default:
			if (*p < 0x20)
				sbuf_printf(b, "\\u%04x", *p);
			else
				sbuf_add(b, (const char *)p, 1);
		}
	}
	sbuf_add(b, "\"", 1);
}

void
sbuf_json_argv(struct sbuf *b, const char *const argv[])
{
	int i;

	sbuf_add(b, "[", 1);
	for (i = 0; argv[i]; i++) {
		if (i)
			sbuf_add(b, ", ", 2);
		sbuf_json_str(b, argv[i]);
	}
	sbuf_add(b, "]", 1);
}

void
argv_init(struct argv_buf *a)
{
	a->size = 16;
	a->n = 0;
	a->v = xcalloc((size_t)a->size, sizeof(*a->v));
}

void
argv_add(struct argv_buf *a, const char *s)
{
	if (a->n + 2 > a->size) {
		a->size *= 2;
		a->v = xrealloc(a->v, (size_t)a->size * sizeof(*a->v));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

void
argv_addf(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		abort();
	argv_add(a, s);
	free(s);
}

void
argv_free(struct argv_buf *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		x_free(a->v[i]);
	x_free(a->v);
	a->v = NULL;
	a->n = a->size = 0;
}

int
run_have(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	char buf[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - p), p, name);
		if (access(buf, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* The last non-empty line of text, trimmed, into buf. */
static void
last_line(const char *text, size_t len, char *buf, size_t size)
{
	size_t end = len, start;

	while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == ' ' ||
	    text[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	snprintf(buf, size, "%.*s", (int)(end - start), text + start);
}

int
run_capture(const char *const argv[], const char *in, int timeout_ms,
    struct run_result *r)
{
	int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 }, ipipe[2] = { -1, -1 };
	struct sbuf err;
	size_t inoff = 0, inlen = in ? strlen(in) : 0;
	double deadline = mono_ms() + timeout_ms;
	int status = 0, open_fds, timed_out = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	sbuf_init(&r->out);
	sbuf_init(&err);
	r->status = 127;
	if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0 ||
	    pipe2(ipipe, O_CLOEXEC) < 0) {
		snprintf(r->err, sizeof(r->err), "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		snprintf(r->err, sizeof(r->err), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		struct sigaction sa;

		setpgid(0, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &sa, NULL);
		dup2(ipipe[0], 0);
		dup2(opipe[1], 1);
		dup2(epipe[1], 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(ipipe[0]);
	close(opipe[1]);
	close(epipe[1]);
	ipipe[0] = opipe[1] = epipe[1] = -1;
	if (inlen == 0) {
		close(ipipe[1]);
		ipipe[1] = -1;
	} else
		fcntl(ipipe[1], F_SETFL, O_NONBLOCK);
	/* poll() ignores the negative fds of pipes already closed. */
	open_fds = 2;
	while (open_fds > 0) {
		struct pollfd p[3] = {
			{ .fd = opipe[0], .events = POLLIN },
			{ .fd = epipe[0], .events = POLLIN },
			{ .fd = ipipe[1], .events = POLLOUT },
		};
		char buf[8192];
		int wait = -1, i;
		ssize_t n;

		if (timeout_ms > 0) {
			wait = (int)(deadline - mono_ms());
			if (wait <= 0) {
				timed_out = 1;
				kill(-pid, SIGKILL);
				break;
			}
		}
		if (poll(p, 3, wait) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents) {
			n = write(ipipe[1], in + inoff, inlen - inoff);
			if (n > 0)
				inoff += (size_t)n;
			if ((n < 0 && errno != EAGAIN) || inoff == inlen) {
				close(ipipe[1]);
				ipipe[1] = -1;
			}
		}
		for (i = 0; i < 2; i++) {
			int *fd = i == 0 ? &opipe[0] : &epipe[0];

			if (p[i].revents == 0)
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n > 0)
				sbuf_add(i == 0 ? &r->out : &err, buf,
				    (size_t)n);
			else if (n == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
				open_fds--;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		r->status = 124;
		snprintf(r->err, sizeof(r->err), "%s did not answer within "
		    "%d s", argv[0], timeout_ms / 1000);
		goto out;
	}
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	last_line(err.s, err.len, r->err, sizeof(r->err));
out:
	if (opipe[0] >= 0)
		close(opipe[0]);
	if (epipe[0] >= 0)
		close(epipe[0]);
	if (ipipe[1] >= 0)
		close(ipipe[1]);
	if (ipipe[0] >= 0)
		close(ipipe[0]);
	if (opipe[1] >= 0)
		close(opipe[1]);
	if (epipe[1] >= 0)
		close(epipe[1]);
	sbuf_free(&err);
	return r->status;
}

void
run_result_free(struct run_result *r)
{
	sbuf_free(&r->out);
}
