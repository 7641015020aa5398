/*
 * OP_TARGET_INFO's codec and the line format mirror-query prints it in
 * (proto-target.h). The decoder and the line parser share the shape
 * checks, so what mirrorctl reads from mirror-query is held to exactly
 * what the agent's reply was.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "envmap.h"
#include "proto-target.h"
#include "xmalloc.h"

int
target_hostname_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= TARGET_HOSTNAME_MAX)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || (s[i] == '-' && i > 0)))
			return 0;
	}
	return 1;
}

int
target_env_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int
target_env_ok(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq != NULL && target_env_name_ok(entry, (size_t)(eq - entry));
}

int
target_path_ok(const char *path)
{
	const char *p, *c;
	size_t n = strnlen(path, TARGET_VOLUME_PATH_MAX + 1);

	if (n == 0 || n > TARGET_VOLUME_PATH_MAX || path[0] != '/')
		return 0;
	if (n == 1)
		return 1;
	if (path[n - 1] == '/')
		return 0;
	for (p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	/* Each component: not empty, not "." or "..". */
	for (p = path + 1; ; p = c + 1) {
		c = strchrnul(p, '/');
		if (c == p || (c - p == 1 && p[0] == '.') ||
		    (c - p == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (*c == '\0')
			return 1;
	}
}

/* path is dir or under it. */
static int
path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

int
target_volume_ok(const char *path)
{
	return target_path_ok(path) && strcmp(path, "/") != 0 &&
	    !path_under(path, "/proc") && !path_under(path, "/sys") &&
	    !path_under(path, "/dev");
}

void
proto_put_target_info(struct proto_buf *b, const char *hostname,
    const void *environ, size_t envlen, char *const *volumes, size_t n)
{
	size_t i;

	proto_put_str(b, hostname);
	proto_put_bytes(b, environ, envlen < TARGET_ENV_MAX ? envlen :
	    TARGET_ENV_MAX);
	proto_put_u32(b, (uint32_t)n);
	for (i = 0; i < n; i++)
		proto_put_str(b, volumes[i]);
}

void
target_info_free(struct target_info *ti)
{
	size_t i;

	for (i = 0; ti->environ != NULL && ti->environ[i] != NULL; i++)
		x_free(ti->environ[i]);
	x_free(ti->environ);
	for (i = 0; ti->volumes != NULL && ti->volumes[i] != NULL; i++)
		x_free(ti->volumes[i]);
	x_free(ti->volumes);
	memset(ti, 0, sizeof(*ti));
}

/* Builds ti's arrays as the decoder and the parser fill them. */
struct ti_builder {
	struct envmap	env;
	char		**vol;
	size_t		nvol;
};

static void
tib_init(struct ti_builder *tb)
{
	envmap_init(&tb->env);
	tb->vol = xcalloc(TARGET_VOLUMES_MAX + 1, sizeof(*tb->vol));
	tb->nvol = 0;
}

/* The entry if valid and new, up to TARGET_ENV_COUNT_MAX; else dropped. */
static void
tib_env(struct ti_builder *tb, const char *entry)
{
	if (target_env_ok(entry) && tb->env.n < TARGET_ENV_COUNT_MAX)
		envmap_set(&tb->env, entry, 1);
}

static int
tib_volume(struct ti_builder *tb, const char *path)
{
	if (!target_volume_ok(path) || tb->nvol >= TARGET_VOLUMES_MAX)
		return -EBADMSG;
	tb->vol[tb->nvol++] = xstrdup(path);
	return 0;
}

/* On success hands the arrays to ti; on failure frees them. */
static int
tib_finish(struct ti_builder *tb, struct target_info *ti, int rc)
{
	size_t i;

	if (rc < 0) {
		envmap_free(&tb->env);
		for (i = 0; i < tb->nvol; i++)
			x_free(tb->vol[i]);
		x_free(tb->vol);
		memset(ti, 0, sizeof(*ti));
		return rc;
	}
	ti->environ = envmap_take(&tb->env, &ti->nenv);
	ti->volumes = tb->vol;
	ti->nvolumes = tb->nvol;
	return 0;
}

int
proto_get_target_info(struct proto_cur *c, struct target_info *ti)
{
	char path[TARGET_VOLUME_PATH_MAX + 1], *entry;
	struct ti_builder tb;
	const uint8_t *env;
	uint32_t envlen, n, i;
	size_t at, len;
	int rc;

	memset(ti, 0, sizeof(*ti));
	if (proto_get_str(c, ti->hostname, sizeof(ti->hostname)) < 0 ||
	    !target_hostname_ok(ti->hostname) ||
	    proto_get_bytes(c, &env, &envlen, TARGET_ENV_MAX) < 0 ||
	    proto_get_u32(c, &n) < 0 || n > TARGET_VOLUMES_MAX)
		return -EBADMSG;
	tib_init(&tb);
	/* NUL-separated entries; the last may lack its NUL. */
	entry = xmalloc((size_t)envlen + 1);
	for (at = 0; at < envlen; at += len + 1) {
		len = strnlen((const char *)env + at, envlen - at);
		memcpy(entry, env + at, len);
		entry[len] = '\0';
		tib_env(&tb, entry);
	}
	x_free(entry);
	rc = 0;
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = proto_get_str(c, path, sizeof(path))) == 0)
			rc = tib_volume(&tb, path);
	if (rc == 0)
		rc = proto_end(c);
	return tib_finish(&tb, ti, rc < 0 ? -EBADMSG : 0);
}

/* --- The line format. */

static int
needs_escape(unsigned char ch)
{
	return ch <= ' ' || ch > '~' || ch == '%';
}

static void
put_escaped(char **o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		if (needs_escape((unsigned char)*s)) {
			*(*o)++ = '%';
			*(*o)++ = hex[(unsigned char)*s >> 4];
			*(*o)++ = hex[(unsigned char)*s & 15];
		} else
			*(*o)++ = *s;
	}
}

char *
target_info_format(const struct target_info *ti)
{
	size_t size = 32 + strlen(ti->hostname), i;
	char *buf, *o;

	for (i = 0; ti->environ && ti->environ[i]; i++)
		size += 8 + 3 * strlen(ti->environ[i]);
	for (i = 0; ti->volumes && ti->volumes[i]; i++)
		size += 8 + 3 * strlen(ti->volumes[i]);
	o = buf = xmalloc(size);
	if (ti->hostname[0]) {
		o = stpcpy(o, "hostname ");
		put_escaped(&o, ti->hostname);
		*o++ = '\n';
	}
	for (i = 0; ti->environ && ti->environ[i]; i++) {
		o = stpcpy(o, "env ");
		put_escaped(&o, ti->environ[i]);
		*o++ = '\n';
	}
	for (i = 0; ti->volumes && ti->volumes[i]; i++) {
		o = stpcpy(o, "volume ");
		put_escaped(&o, ti->volumes[i]);
		*o++ = '\n';
	}
	*o = '\0';
	return buf;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes the n bytes at s into out (n + 1 bytes): 0, or -EBADMSG for a
 * byte that should have been escaped, a bad escape or an escaped NUL. */
static int
unescape(const char *s, size_t n, char *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			if (needs_escape((unsigned char)s[i]))
				return -EBADMSG;
			*out++ = s[i];
			continue;
		}
		if (n - i < 3 || (hi = hexval(s[i + 1])) < 0 ||
		    (lo = hexval(s[i + 2])) < 0 || (hi | lo) == 0)
			return -EBADMSG;
		*out++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*out = '\0';
	return 0;
}

int
target_info_parse(const char *text, size_t len, struct target_info *ti)
{
	const char *line = text, *end = text + len, *nl, *sp;
	struct ti_builder tb;
	char *val = NULL;
	size_t vlen;
	int rc = 0, host = 0;

	memset(ti, 0, sizeof(*ti));
	tib_init(&tb);
	for (; line < end && rc == 0; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL ||
		    (sp = memchr(line, ' ', (size_t)(nl - line))) == NULL) {
			rc = -EBADMSG;
			break;
		}
		vlen = (size_t)(nl - sp - 1);
		val = xmalloc(vlen + 1);
		if ((rc = unescape(sp + 1, vlen, val)) < 0)
			;
		else if (sp - line == 8 && memcmp(line, "hostname", 8) == 0) {
			if (host++ || val[0] == '\0' ||
			    strlen(val) > TARGET_HOSTNAME_MAX ||
			    !target_hostname_ok(val))
				rc = -EBADMSG;
			else
				memcpy(ti->hostname, val, strlen(val) + 1);
		} else if (sp - line == 3 && memcmp(line, "env", 3) == 0) {
			if (!target_env_ok(val) ||
			    tb.env.n >= TARGET_ENV_COUNT_MAX)
				rc = -EBADMSG;
			else
				envmap_set(&tb.env, val, 1);
		} else if (sp - line == 6 && memcmp(line, "volume", 6) == 0)
			rc = tib_volume(&tb, val);
		else
			rc = -EBADMSG;
		x_free(val);
		val = NULL;
	}
	return tib_finish(&tb, ti, rc);
}
