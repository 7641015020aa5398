/* Logging to stderr (or a file), one line per message, with a level. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "mirror";
static int log_level = LOG_LVL_INFO;
static int log_fd = STDERR_FILENO;

void
log_init(const char *progname, int level)
{
	log_prog = progname;
	log_level = level;
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

void
log_set_fd(int fd)
{
	log_fd = fd;
}

int
log_level_parse(const char *s)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

static void __attribute__((format(printf, 3, 0)))
log_write(int level, const char *prefix, const char *fmt, va_list ap,
    const char *suffix)
{
	static const char *tags[] = { "error", "warning", "info", "debug" };
	char line[2048];
	int n, m;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "%s: %s: %s", log_prog, tags[level],
	    prefix ? prefix : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n >= sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (suffix)
		n += snprintf(line + n, sizeof(line) - n, ": %s", suffix);
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so concurrent threads do not interleave. */
	if (write(log_fd, line, n) < 0) {
		/* Nowhere left to report it. */
	}
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	log_write(level, NULL, fmt, ap, NULL);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_write(LOG_LVL_WARN, NULL, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LVL_WARN, NULL, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LVL_INFO, NULL, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug_(const char *func, const char *fmt, ...)
{
	va_list ap;
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "%s: ", func);
	va_start(ap, fmt);
	log_write(LOG_LVL_DEBUG, prefix, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_write(LOG_LVL_ERROR, NULL, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LVL_ERROR, NULL, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
