/*
 * The one logger. log_warn appends strerror(errno), log_warnx doesn't,
 * log_debug prefixes the function. libwebsockets' and libfuse's own
 * messages are routed here. Never pass a token or file contents.
 */
#ifndef MIRROR_LOG_H
#define MIRROR_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(const char *progname, int level);
void	log_set_level(int level);
int	log_get_level(void);
/* Log to this file descriptor from now on (default stderr). */
void	log_set_fd(int fd);
int	log_level_parse(const char *s);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug_(const char *func, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
#define log_debug(...) do {					\
	if (log_get_level() >= LOG_LVL_DEBUG)			\
		log_debug_(__func__, __VA_ARGS__);		\
} while (0)
void	log_vmsg(int level, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
