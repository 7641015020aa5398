/*
 * Configuration loading with libconfig, over built-in defaults. Every
 * setting the file may hold is in conf_settings[]: a name not there, or
 * a value of the wrong type, is an error that names the file and line
 * (and, for a misspelt name, the closest known one), so a typo never
 * leaves a default silently in force.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "httpfilter.h"
#include "proto-target.h"
#include "pathname.h"
#include "log.h"

#ifndef MIRROR_SYSCONFDIR
#define MIRROR_SYSCONFDIR "/usr/local/etc"
#endif

/* The layer's built-in lists (conf/mirror.conf.in shows and explains
 * them): local by default, as mirrord's, plus the toolchains' places. */
static const char *const conf_default_local[] = {
	"/proc", "/sys", "/dev", "/usr", "/lib", "/lib32", "/lib64",
	"/libx32", "/bin", "/sbin", "/etc", "/home", "/tmp", "/var/tmp",
	"/run/user", "/nix", "/gnu", "/opt", "/snap", "~",
	"\\.so(\\.[0-9]+)*$", "\\.pyc?$", "\\.jar$", "\\.js$",
	"/node_modules(/|$)", "/package\\.json$", "jvm\\.cfg$",
};
static const char *const conf_default_remote[] = {
	"/etc/resolv.conf", "/etc/hosts", "/etc/hostname",
};
static const char *const conf_default_not_found[] = {
	"~/.config/gcloud", "~/.kube", "~/.azure",
};

static void
conf_patterns_set(struct conf_patterns *p, const char *const *v, int n)
{
	int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < n; i++)
		snprintf(p->v[i], sizeof(p->v[i]), "%s", v[i]);
	p->n = n;
}
#define CONF_PATTERNS_SET(p, a) \
	conf_patterns_set((p), (a), (int)(sizeof(a) / sizeof((a)[0])))

void
conf_defaults(struct mirror_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->fs_rw = 0;
	c->fs_layer_mode = CONF_FS_READ;
	CONF_PATTERNS_SET(&c->fs_default_local, conf_default_local);
	CONF_PATTERNS_SET(&c->fs_default_remote, conf_default_remote);
	CONF_PATTERNS_SET(&c->fs_default_not_found, conf_default_not_found);
	c->fs_attr_timeout = 1.0;
	c->fs_entry_timeout = 1.0;
	c->fs_negative_timeout = 1.0;
	c->fs_watched_timeout = 60.0;
	c->fs_request_timeout = 10.0;
	c->fs_max_read_kb = 1024;
	c->fs_readahead_kb = 1024;
	c->fs_max_inflight = 256;
	c->fs_write_behind_kb = 8192;
	c->fs_max_nodes = 1000000;
	c->agent_workers = 4;
	c->agent_connect_timeout = 10.0;
	snprintf(c->agent_image, sizeof(c->agent_image),
	    "localhost/mirror-agent:%s", PACKAGE_VERSION);
	c->agent_job = 0;
	c->agent_idle_ttl = 300;
	c->agent_port = 0;
	snprintf(c->kubectl, sizeof(c->kubectl), "kubectl");
	snprintf(c->net_tun_name, sizeof(c->net_tun_name), "mirror0");
	snprintf(c->net_tun_range, sizeof(c->net_tun_range), "198.18.0.0/15");
	c->net_dns = 1;
	c->net_udp_idle = 60;
	c->incoming_mode = CONF_IN_MIRROR;	/* mirrord's default */
}

enum conf_type { CONF_T_STRING, CONF_T_NUMBER, CONF_T_BOOL, CONF_T_LIST,
	CONF_T_MAP };

static const struct conf_setting {
	const char	*name;		/* group.key */
	enum conf_type	 type;
} conf_settings[] = {
	{ "log.level",			CONF_T_STRING },
	{ "fs.mode",			CONF_T_STRING },
	{ "fs.attr_timeout",		CONF_T_NUMBER },
	{ "fs.entry_timeout",		CONF_T_NUMBER },
	{ "fs.negative_timeout",	CONF_T_NUMBER },
	{ "fs.watched_timeout",		CONF_T_NUMBER },
	{ "fs.request_timeout",		CONF_T_NUMBER },
	{ "fs.max_read_kb",		CONF_T_NUMBER },
	{ "fs.readahead_kb",		CONF_T_NUMBER },
	{ "fs.max_inflight",		CONF_T_NUMBER },
	{ "fs.write_behind_kb",		CONF_T_NUMBER },
	{ "fs.max_nodes",		CONF_T_NUMBER },
	{ "fs.allow_users",		CONF_T_LIST },
	{ "fs.mapping",			CONF_T_LIST },
	{ "fs.read_only",		CONF_T_LIST },
	{ "fs.read_write",		CONF_T_LIST },
	{ "fs.local",			CONF_T_LIST },
	{ "fs.not_found",		CONF_T_LIST },
	{ "fs.default_local",		CONF_T_LIST },
	{ "fs.default_remote",		CONF_T_LIST },
	{ "fs.default_not_found",	CONF_T_LIST },
	{ "fs.remote",			CONF_T_LIST },
	{ "agent.workers",		CONF_T_NUMBER },
	{ "agent.connect_timeout",	CONF_T_NUMBER },
	{ "agent.image",		CONF_T_STRING },
	{ "agent.mode",			CONF_T_STRING },
	{ "agent.idle_ttl",		CONF_T_NUMBER },
	{ "agent.port",			CONF_T_NUMBER },
	{ "net.tun_name",		CONF_T_STRING },
	{ "net.tun_range",		CONF_T_STRING },
	{ "net.routes",			CONF_T_LIST },
	{ "net.never_route",		CONF_T_LIST },
	{ "net.local",			CONF_T_LIST },
	{ "net.dns",			CONF_T_BOOL },
	{ "net.udp_idle_timeout",	CONF_T_NUMBER },
	{ "kube.kubectl",		CONF_T_STRING },
	{ "env.include",		CONF_T_LIST },
	{ "env.exclude",		CONF_T_LIST },
	{ "env.override",		CONF_T_MAP },
	{ "incoming.mode",		CONF_T_STRING },
	{ "incoming.ports",		CONF_T_LIST },
	{ "incoming.ignore_ports",	CONF_T_LIST },
	{ "incoming.port_mapping",	CONF_T_LIST },
	{ "incoming.http_filter",	CONF_T_MAP },
	{ "incoming.flush_connections",	CONF_T_BOOL },
};
#define CONF_NSETTINGS	(sizeof(conf_settings) / sizeof(conf_settings[0]))
#define CONF_NAME_MAX	64	/* longest group.key looked up */
#define CONF_SUGGEST_MAX 3	/* edits at most for "did you mean" */

static const char *const conf_type_what[] = {
	[CONF_T_STRING] = "a string in double quotes",
	[CONF_T_NUMBER] = "a number",
	[CONF_T_BOOL] = "true or false",
	[CONF_T_LIST] = "a list, [ ... ] or ( ... )",
	[CONF_T_MAP] = "a group, { NAME = \"value\"; }, or a list of "
	    "\"NAME=value\" strings",
};

/* Levenshtein distance of a and b, both shorter than CONF_NAME_MAX. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t prev[CONF_NAME_MAX + 1], cur[CONF_NAME_MAX + 1];
	size_t la = strlen(a), lb = strlen(b), i, j, best;

	if (la > CONF_NAME_MAX || lb > CONF_NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			best = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* The known setting closest to name (a group name is compared with the
 * groups), or NULL if none is within CONF_SUGGEST_MAX edits. The result
 * points into conf_settings[] or into buf. */
static const char *
closest_setting(const char *name, int is_group, char *buf, size_t size)
{
	const char *best = NULL, *dot;
	size_t i, d, bestd = CONF_SUGGEST_MAX + 1;

	for (i = 0; i < CONF_NSETTINGS; i++) {
		const char *cand = conf_settings[i].name;

		if (is_group) {
			dot = strchr(cand, '.');
			snprintf(buf, size, "%.*s", (int)(dot - cand), cand);
			d = edit_distance(name, buf);
			if (d < bestd) {
				bestd = d;
				best = cand;
			}
			continue;
		}
		d = edit_distance(name, cand);
		if (d < bestd) {
			bestd = d;
			best = cand;
		}
	}
	if (best != NULL && is_group) {
		dot = strchr(best, '.');
		snprintf(buf, size, "%.*s", (int)(dot - best), best);
		return buf;
	}
	return best;
}

static const struct conf_setting *
find_setting(const char *name)
{
	size_t i;

	for (i = 0; i < CONF_NSETTINGS; i++)
		if (strcmp(conf_settings[i].name, name) == 0)
			return &conf_settings[i];
	return NULL;
}

static int
type_matches(config_setting_t *s, enum conf_type t)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		return t == CONF_T_STRING;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
	case CONFIG_TYPE_FLOAT:
		return t == CONF_T_NUMBER;
	case CONFIG_TYPE_BOOL:
		return t == CONF_T_BOOL;
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		return t == CONF_T_LIST || t == CONF_T_MAP;
	case CONFIG_TYPE_GROUP:
		return t == CONF_T_MAP;
	default:
		return 0;
	}
}

/* An unknown setting: file:line, the name, and the closest known one. */
static void
warn_unknown(config_setting_t *s, const char *path, const char *name,
    int is_group)
{
	char buf[CONF_NAME_MAX];
	const char *file = config_setting_source_file(s);
	const char *near = closest_setting(name, is_group, buf, sizeof(buf));

	if (near != NULL)
		log_warnx("%s:%d: %s: unknown %s; did you mean %s?",
		    file ? file : path, config_setting_source_line(s), name,
		    is_group ? "group" : "setting", near);
	else
		log_warnx("%s:%d: %s: unknown %s", file ? file : path,
		    config_setting_source_line(s), name,
		    is_group ? "group" : "setting");
}

/* Every setting in the file is a known one, of its type: 0 or -EINVAL
 * after a message naming the file and line. */
static int
check_settings(config_t *cfg, const char *path)
{
	config_setting_t *root = config_root_setting(cfg), *g, *s;
	const struct conf_setting *known;
	char name[CONF_NAME_MAX * 2];
	const char *file;
	int i, j;

	for (i = 0; (g = config_setting_get_elem(root, (unsigned int)i)) !=
	    NULL; i++) {
		if (!config_setting_is_group(g) ||
		    closest_setting(config_setting_name(g), 1, name,
		    sizeof(name)) == NULL ||
		    strcmp(name, config_setting_name(g)) != 0) {
			warn_unknown(g, path, config_setting_name(g),
			    config_setting_is_group(g));
			return -EINVAL;
		}
		for (j = 0; (s = config_setting_get_elem(g, (unsigned int)j)) !=
		    NULL; j++) {
			snprintf(name, sizeof(name), "%s.%s",
			    config_setting_name(g), config_setting_name(s));
			if ((known = find_setting(name)) == NULL) {
				warn_unknown(s, path, name, 0);
				return -EINVAL;
			}
			if (!type_matches(s, known->type)) {
				file = config_setting_source_file(s);
				log_warnx("%s:%d: %s: must be %s",
				    file ? file : path,
				    config_setting_source_line(s), name,
				    conf_type_what[known->type]);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* A list of CIDR strings (net.routes, net.never_route). */
static int
get_cidrs(config_t *cfg, const char *path, const char *name,
    char list[][64], int *n)
{
	config_setting_t *s = config_lookup(cfg, name);
	int i, len;

	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		log_warnx("%s: %s must be a list of CIDR strings, e.g. "
		    "[\"10.96.0.0/12\"]", path, name);
		return -EINVAL;
	}
	len = config_setting_length(s);
	if (len > CONF_CIDRS_MAX) {
		log_warnx("%s: %s holds more than %d entries", path, name,
		    CONF_CIDRS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		const char *v = config_setting_get_string_elem(s, i);

		if (v == NULL || v[0] == '\0' || strlen(v) >= 64) {
			log_warnx("%s: %s[%d] must be a CIDR string", path,
			    name, i);
			return -EINVAL;
		}
		snprintf(list[i], 64, "%s", v);
	}
	*n = len;
	return 0;
}

/* net.local: strings of the forms mirror-netd's localmatch.c parses
 * (an address, CIDR, ADDR:PORT, CIDR:PORT, :PORT, NAME or NAME:PORT);
 * here only their number and length are bounded. */
static int
get_local(config_t *cfg, const char *path, struct mirror_conf *c)
{
	config_setting_t *s = config_lookup(cfg, "net.local");
	int i, len;

	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		log_warnx("%s: net.local must be a list of strings, e.g. "
		    "[\"10.0.0.0/8\", \"db.example.com:5432\"]", path);
		return -EINVAL;
	}
	len = config_setting_length(s);
	if (len > CONF_LOCAL_MAX) {
		log_warnx("%s: net.local holds more than %d entries", path,
		    CONF_LOCAL_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		const char *v = config_setting_get_string_elem(s, i);

		if (v == NULL || v[0] == '\0' || strlen(v) >= CONF_LOCAL_LEN) {
			log_warnx("%s: net.local[%d] must be an address, CIDR, "
			    "host name or :PORT of at most %d characters", path,
			    i, CONF_LOCAL_LEN - 1);
			return -EINVAL;
		}
		snprintf(c->net_local[i], CONF_LOCAL_LEN, "%s", v);
	}
	c->net_nlocal = len;
	return 0;
}

/* env.include, env.exclude: glob patterns (fnmatch) of names. */
static int
get_env_patterns(config_t *cfg, const char *path, const char *name,
    char list[][CONF_ENV_PATTERN_MAX], int *n)
{
	config_setting_t *s = config_lookup(cfg, name);
	int i, len;

	if (s == NULL)
		return 0;
	len = config_setting_length(s);
	if (len > CONF_ENV_MAX) {
		log_warnx("%s: %s holds more than %d entries", path, name,
		    CONF_ENV_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		const char *v = config_setting_get_string_elem(s, i);

		if (v == NULL || v[0] == '\0' ||
		    strlen(v) >= CONF_ENV_PATTERN_MAX) {
			log_warnx("%s: %s[%d] must be a pattern of variable "
			    "names, e.g. \"AWS_*\" (at most %d characters)",
			    path, name, i, CONF_ENV_PATTERN_MAX - 1);
			return -EINVAL;
		}
		snprintf(list[i], CONF_ENV_PATTERN_MAX, "%s", v);
	}
	*n = len;
	return 0;
}

/* env.override: a group { NAME = "value"; ... } or a list of
 * "NAME=value" strings, into "NAME=value" entries. */
static int
get_env_override(config_t *cfg, const char *path, struct mirror_conf *c)
{
	config_setting_t *s = config_lookup(cfg, "env.override"), *e;
	const char *v, *name;
	int i, len, group;

	if (s == NULL)
		return 0;
	group = config_setting_is_group(s);
	len = config_setting_length(s);
	if (len > CONF_ENV_MAX) {
		log_warnx("%s: env.override holds more than %d entries", path,
		    CONF_ENV_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		v = config_setting_get_string(e);
		name = group ? config_setting_name(e) : v;
		if (v == NULL || name == NULL ||
		    !target_env_name_ok(name, group ? strlen(name) :
		    strcspn(name, "=")) || (!group && strchr(v, '=') == NULL) ||
		    (size_t)snprintf(c->env_override[i], CONF_ENV_OVERRIDE_MAX,
		    "%s%s%s", group ? name : "", group ? "=" : "", v) >=
		    CONF_ENV_OVERRIDE_MAX) {
			log_warnx("%s:%d: env.override: each entry must be "
			    "NAME = \"value\" (in a group) or \"NAME=value\" (in "
			    "a list), NAME a variable name, at most %d "
			    "characters in all", config_setting_source_file(e) ?
			    config_setting_source_file(e) : path,
			    config_setting_source_line(e),
			    CONF_ENV_OVERRIDE_MAX - 1);
			return -EINVAL;
		}
	}
	c->env_noverride = len;
	return 0;
}

/* The list setting name, at most max long: 0 and *out (NULL if it is not
 * there), 1 if it is not a list, -EINVAL after a message if too long. */
static int
list_setting(config_t *cfg, const char *path, const char *name, int max,
    config_setting_t **out)
{
	config_setting_t *s = config_lookup(cfg, name);

	*out = NULL;
	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return 1;
	if (config_setting_length(s) > max) {
		log_warnx("%s: %s holds more than %d entries", path, name, max);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

/* fs.remote: absolute paths without "." or ".." components. */
static int
get_paths(config_t *cfg, const char *path, const char *name,
    char list[][CONF_PATH_MAX], int *n)
{
	config_setting_t *s;
	int i, len, rc;

	if ((rc = list_setting(cfg, path, name, CONF_REMOTE_MAX, &s)) < 0)
		return rc;
	if (rc > 0)
		goto bad;
	len = s ? config_setting_length(s) : 0;
	for (i = 0; i < len; i++) {
		const char *v = config_setting_get_string_elem(s, i);

		if (v == NULL || !pathname_clean(v) ||
		    strlen(v) >= CONF_PATH_MAX)
			goto bad;
		snprintf(list[i], CONF_PATH_MAX, "%s", v);
	}
	*n = len;
	return 0;
bad:
	log_warnx("%s: %s must be a list of absolute paths without . or .., "
	    "e.g. [\"/etc/app\"]", path, name);
	return -EINVAL;
}

/* fs.allow_users: user names (strings) or uids (integers). Names are
 * resolved by the program that uses them. */
static int
get_users(config_t *cfg, const char *path, const char *name,
    char list[][64], int *n)
{
	config_setting_t *s = config_lookup(cfg, name), *e;
	const char *v;
	long long id;
	int i, len;

	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		goto bad;
	len = config_setting_length(s);
	if (len > CONF_USERS_MAX) {
		log_warnx("%s: %s holds more than %d entries", path, name,
		    CONF_USERS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING:
			v = config_setting_get_string(e);
			if (v[0] == '\0' || strlen(v) >= 64)
				goto bad;
			snprintf(list[i], 64, "%s", v);
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			id = config_setting_get_int64(e);
			if (id < 0 || id >= 4294967295LL)
				goto bad;
			snprintf(list[i], 64, "%lld", id);
			break;
		default:
			goto bad;
		}
	}
	*n = len;
	return 0;
bad:
	log_warnx("%s: %s must be a list of user names or uids, e.g. "
	    "[\"alice\", \"bob\"], or ( \"alice\", 1001 )", path, name);
	return -EINVAL;
}

/* One pattern of the layer's: 1 to CONF_PATTERN_MAX - 1 bytes, no
 * control characters (the rules file is lines of tab-split fields).
 * Whether a regex compiles is checked where it is used, by the layer's
 * own parser (mirrorctl/ctx-layer.c). */
static int
conf_pattern_ok(const char *v)
{
	const unsigned char *p;

	if (v == NULL || v[0] == '\0' || strlen(v) >= CONF_PATTERN_MAX)
		return 0;
	for (p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* A list of patterns (fs.local, fs.read_only, ...). */
static int
get_patterns(config_t *cfg, const char *path, const char *name,
    struct conf_patterns *p)
{
	config_setting_t *s = config_lookup(cfg, name);
	int i, len;

	if (s == NULL)
		return 0;
	len = config_setting_length(s);
	if (len > CONF_PATTERNS_MAX) {
		log_warnx("%s:%d: %s holds more than %d entries", path,
		    config_setting_source_line(s), name, CONF_PATTERNS_MAX);
		return -EINVAL;
	}
	memset(p, 0, sizeof(*p));
	for (i = 0; i < len; i++) {
		const char *v = config_setting_get_string_elem(s, i);

		if (!conf_pattern_ok(v)) {
			log_warnx("%s:%d: %s[%d] must be a path (\"/dir\", "
			    "\"~/dir\") or a regex, 1 to %d characters, no "
			    "control characters", path,
			    config_setting_source_line(s), name, i,
			    CONF_PATTERN_MAX - 1);
			return -EINVAL;
		}
		snprintf(p->v[i], sizeof(p->v[i]), "%s", v);
	}
	p->n = len;
	return 0;
}

/* fs.mapping: a list of [pattern, replacement] pairs. */
static int
get_mapping(config_t *cfg, const char *path, struct mirror_conf *c)
{
	config_setting_t *s = config_lookup(cfg, "fs.mapping"), *e;
	int i, j, len;

	if (s == NULL)
		return 0;
	len = config_setting_length(s);
	if (len > CONF_MAPPINGS_MAX) {
		log_warnx("%s:%d: fs.mapping holds more than %d entries", path,
		    config_setting_source_line(s), CONF_MAPPINGS_MAX);
		return -EINVAL;
	}
	memset(c->fs_mapping, 0, sizeof(c->fs_mapping));
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (config_setting_length(e) != 2 ||
		    (!config_setting_is_array(e) && !config_setting_is_list(e)))
			goto bad;
		for (j = 0; j < 2; j++) {
			const char *v = config_setting_get_string_elem(e, j);

			if (!conf_pattern_ok(v))
				goto bad;
			snprintf(c->fs_mapping[i][j], CONF_PATTERN_MAX, "%s", v);
		}
	}
	c->fs_nmapping = len;
	return 0;
bad:
	log_warnx("%s:%d: fs.mapping[%d] must be [ \"pattern\", "
	    "\"replacement\" ], each 1 to %d characters", path,
	    config_setting_source_line(s), i, CONF_PATTERN_MAX - 1);
	return -EINVAL;
}

/* A string setting copied into buf; an error if it does not fit. */
static int
get_string(config_t *cfg, const char *path, const char *name, char *buf,
    size_t size)
{
	const char *s;

	if (!config_lookup_string(cfg, name, &s))
		return 0;
	if (s[0] == '\0' || strlen(s) >= size) {
		log_warnx("%s: %s must be 1 to %zu characters", path, name,
		    size - 1);
		return -EINVAL;
	}
	snprintf(buf, size, "%s", s);
	return 0;
}

static int
get_double(config_t *cfg, const char *name, double *v, double min, double max)
{
	config_setting_t *s = config_lookup(cfg, name);
	double d;

	if (s == NULL)
		return 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_FLOAT:
		d = config_setting_get_float(s);
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		d = (double)config_setting_get_int64(s);
		break;
	default:
		log_warnx("%s: %s must be a number", config_setting_source_file(s)
		    ? config_setting_source_file(s) : "config", name);
		return -EINVAL;
	}
	if (d < min || d > max) {
		log_warnx("config: %s = %g is out of range [%g, %g]", name, d,
		    min, max);
		return -EINVAL;
	}
	*v = d;
	return 0;
}

static int
get_int(config_t *cfg, const char *name, int *v, int min, int max)
{
	double d = *v;
	int rc = get_double(cfg, name, &d, min, max);

	if (rc == 0)
		*v = (int)d;
	return rc;
}

int
conf_incoming_mode(const char *s)
{
	if (strcmp(s, "steal") == 0)
		return CONF_IN_STEAL;
	if (strcmp(s, "mirror") == 0)
		return CONF_IN_MIRROR;
	if (strcmp(s, "off") == 0)
		return CONF_IN_OFF;
	return -EINVAL;
}

/* One TCP port of a list, 1..65535; -1 if it is none. */
static int
port_elem(const config_setting_t *s, int i)
{
	const config_setting_t *e = config_setting_get_elem(s,
	    (unsigned int)i);
	long long v;

	if (e == NULL || (config_setting_type(e) != CONFIG_TYPE_INT &&
	    config_setting_type(e) != CONFIG_TYPE_INT64))
		return -1;
	v = config_setting_get_int64(e);
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* incoming.ports, incoming.ignore_ports: TCP port numbers. */
static int
get_ports(config_t *cfg, const char *path, const char *name, int *list,
    int *n)
{
	config_setting_t *s = config_lookup(cfg, name);
	int i, len;

	if (s == NULL)
		return 0;
	len = config_setting_length(s);
	if (len > CONF_PORTS_MAX) {
		log_warnx("%s: %s holds more than %d ports", path, name,
		    CONF_PORTS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++)
		if ((list[i] = port_elem(s, i)) < 0) {
			log_warnx("%s: %s[%d] must be a port number, 1 to "
			    "65535", path, name, i);
			return -EINVAL;
		}
	*n = len;
	return 0;
}

/* incoming.port_mapping: ( [local, remote], ... ). */
static int
get_port_mapping(config_t *cfg, const char *path, struct mirror_conf *c)
{
	config_setting_t *s = config_lookup(cfg, "incoming.port_mapping");
	config_setting_t *e;
	int i, len;

	if (s == NULL)
		return 0;
	len = config_setting_length(s);
	if (len > CONF_PORTS_MAX) {
		log_warnx("%s: incoming.port_mapping holds more than %d "
		    "entries", path, CONF_PORTS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (e == NULL || config_setting_length(e) != 2 ||
		    (c->incoming_mapping[i][0] = port_elem(e, 0)) < 0 ||
		    (c->incoming_mapping[i][1] = port_elem(e, 1)) < 0) {
			log_warnx("%s: incoming.port_mapping[%d] must be "
			    "[local, remote], two port numbers", path, i);
			return -EINVAL;
		}
	}
	c->incoming_nmapping = len;
	return 0;
}

/* One filter node from a setting of a group of incoming.http_filter:
 * header, path, method (a regex) or all_of, any_of (a list of groups). */
static int filter_group(config_setting_t *, const char *,
    struct http_filter_wire *, int);

static int
filter_key(config_setting_t *k, const char *path, struct http_filter_wire *w,
    int depth)
{
	static const char *const names[] = { [HF_HEADER] = "header",
	    [HF_PATH] = "path", [HF_METHOD] = "method",
	    [HF_ALL_OF] = "all_of", [HF_ANY_OF] = "any_of" };
	const char *name = config_setting_name(k), *file, *re;
	char err[128];
	int kind, i, n, rc;

	file = config_setting_source_file(k);
	if (file == NULL)
		file = path;
	for (kind = HF_HEADER; kind <= HF_ANY_OF; kind++)
		if (name != NULL && strcmp(name, names[kind]) == 0)
			break;
	if (kind > HF_ANY_OF) {
		log_warnx("%s:%d: incoming.http_filter: %s: unknown; header, "
		    "path, method, all_of or any_of", file,
		    config_setting_source_line(k), name ? name : "?");
		return -EINVAL;
	}
	if (kind <= HF_METHOD) {
		if ((re = config_setting_get_string(k)) == NULL) {
			log_warnx("%s:%d: incoming.http_filter: %s must be a "
			    "string (a regex)", file,
			    config_setting_source_line(k), name);
			return -EINVAL;
		}
		if ((rc = http_filter_put_leaf(w, kind, re, err,
		    sizeof(err))) == -EINVAL) {
			log_warnx("%s:%d: incoming.http_filter: %s \"%s\": "
			    "%s", file, config_setting_source_line(k), name,
			    re, err);
			return rc;
		}
		return rc;
	}
	n = config_setting_length(k);
	if (!config_setting_is_list(k) || n < 1 || n > HTTP_FILTER_KIDS_MAX ||
	    depth >= HTTP_FILTER_DEPTH_MAX) {
		log_warnx("%s:%d: incoming.http_filter: %s must be a list of "
		    "1 to %d groups, ( { header = \"...\"; }, ... ), at "
		    "most %d deep", file, config_setting_source_line(k),
		    name, HTTP_FILTER_KIDS_MAX, HTTP_FILTER_DEPTH_MAX);
		return -EINVAL;
	}
	if ((rc = http_filter_put_group(w, kind, (unsigned int)n)) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = filter_group(config_setting_get_elem(k,
		    (unsigned int)i), path, w, depth + 1)) < 0)
			return rc;
	return 0;
}

/* A group: its one setting, or all of its settings (all_of). */
static int
filter_group(config_setting_t *g, const char *path,
    struct http_filter_wire *w, int depth)
{
	int i, n, rc;

	n = g != NULL && config_setting_is_group(g) ?
	    config_setting_length(g) : 0;
	if (n < 1 || n > HTTP_FILTER_KIDS_MAX) {
		log_warnx("%s:%d: incoming.http_filter: a filter is a group "
		    "of 1 to %d settings, { header = \"^x-mirror: me$\"; }",
		    path, g ? config_setting_source_line(g) : 0,
		    HTTP_FILTER_KIDS_MAX);
		return -EINVAL;
	}
	if (n > 1 && (depth >= HTTP_FILTER_DEPTH_MAX ||
	    (rc = http_filter_put_group(w, HF_ALL_OF, (unsigned int)n)) < 0)) {
		log_warnx("%s:%d: incoming.http_filter: nested too deep",
		    path, config_setting_source_line(g));
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if ((rc = filter_key(config_setting_get_elem(g,
		    (unsigned int)i), path, w, depth + (n > 1))) < 0)
			return rc;
	return 0;
}

/* incoming.http_filter, into its wire form. */
static int
get_http_filter(config_t *cfg, const char *path, struct mirror_conf *c)
{
	config_setting_t *s = config_lookup(cfg, "incoming.http_filter");
	struct http_filter_wire *w;
	int rc;

	if (s == NULL)
		return 0;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	rc = filter_group(s, path, w, 1);
	if (rc == 0 && w->err != 0)
		rc = w->err;
	if (rc == -E2BIG)
		log_warnx("%s:%d: incoming.http_filter is too big (at most "
		    "%d bytes, %d filters)", path,
		    config_setting_source_line(s), HTTP_FILTER_WIRE_MAX,
		    HTTP_FILTER_NODES_MAX);
	if (rc == 0) {
		memcpy(c->incoming_filter, w->buf, w->len);
		c->incoming_filter_len = w->len;
	}
	free(w);
	return rc < 0 ? -EINVAL : 0;
}

int
conf_load(struct mirror_conf *c, const char *path)
{
	config_t cfg;
	const char *s;
	int rc = 0, explicit = path != NULL;

	if (path == NULL)
		path = getenv("MIRROR_CONFIG");
	if (path != NULL)
		explicit = 1;
	else {
		path = MIRROR_SYSCONFDIR "/mirror.conf";
		if (access(path, R_OK) != 0)
			return 0;
	}
	if (explicit && access(path, R_OK) != 0) {
		rc = -errno;
		log_warn("cannot read the configuration %s", path);
		return rc;
	}
	config_init(&cfg);
	if (!config_read_file(&cfg, path)) {
		log_warnx("%s:%d: %s", config_error_file(&cfg) ?
		    config_error_file(&cfg) : path, config_error_line(&cfg),
		    config_error_text(&cfg));
		rc = -EINVAL;
		goto out;
	}
	if ((rc = check_settings(&cfg, path)) < 0)
		goto out;
	if (config_lookup_string(&cfg, "log.level", &s)) {
		if (log_level_parse(s) < 0) {
			log_warnx("%s: log.level must be error, warn, info or "
			    "debug", path);
			rc = -EINVAL;
			goto out;
		}
		snprintf(c->log_level, sizeof(c->log_level), "%s", s);
	}
	if (config_lookup_string(&cfg, "fs.mode", &s)) {
		/* "read" and "write" say for the layer what "ro" and
		 * "rw" say for the mount, and imply them. */
		if (strcmp(s, "ro") == 0 || strcmp(s, "read") == 0) {
			c->fs_rw = 0;
			c->fs_layer_mode = CONF_FS_READ;
		} else if (strcmp(s, "rw") == 0 || strcmp(s, "write") == 0) {
			c->fs_rw = 1;
			c->fs_layer_mode = CONF_FS_WRITE;
		} else if (strcmp(s, "local") == 0) {
			c->fs_rw = 0;
			c->fs_layer_mode = CONF_FS_LOCAL;
		} else {
			log_warnx("%s: fs.mode must be \"read\", \"write\", "
			    "\"local\", \"ro\" or \"rw\"", path);
			rc = -EINVAL;
			goto out;
		}
	}
	if (config_lookup_string(&cfg, "agent.mode", &s)) {
		if (strcmp(s, "ephemeral") == 0)
			c->agent_job = 0;
		else if (strcmp(s, "job") == 0)
			c->agent_job = 1;
		else {
			log_warnx("%s: agent.mode must be \"ephemeral\" or "
			    "\"job\"", path);
			rc = -EINVAL;
			goto out;
		}
	}
	if (config_lookup_string(&cfg, "incoming.mode", &s)) {
		if ((c->incoming_mode = conf_incoming_mode(s)) < 0) {
			log_warnx("%s: incoming.mode must be \"steal\", "
			    "\"mirror\" or \"off\"", path);
			rc = -EINVAL;
			goto out;
		}
	}
	if ((rc = get_ports(&cfg, path, "incoming.ports", c->incoming_ports,
	    &c->incoming_nports)) < 0 ||
	    (rc = get_ports(&cfg, path, "incoming.ignore_ports",
	    c->incoming_ignore, &c->incoming_nignore)) < 0 ||
	    (rc = get_port_mapping(&cfg, path, c)) < 0 ||
	    (rc = get_http_filter(&cfg, path, c)) < 0)
		goto out;
	if (config_lookup_bool(&cfg, "incoming.flush_connections",
	    &c->incoming_flush))
		c->incoming_flush = c->incoming_flush != 0;
	if (c->incoming_filter_len > 0) {
		/* A filter implies steal; mirror with a filter is not
		 * built. */
		if (config_lookup_string(&cfg, "incoming.mode", &s) &&
		    c->incoming_mode != CONF_IN_STEAL) {
			log_warnx("%s: incoming.http_filter needs "
			    "incoming.mode = \"steal\"", path);
			rc = -EINVAL;
			goto out;
		}
		c->incoming_mode = CONF_IN_STEAL;
	}
	if (config_lookup_bool(&cfg, "net.dns", &c->net_dns))
		c->net_dns = c->net_dns != 0;
	if ((rc = get_cidrs(&cfg, path, "net.routes", c->net_routes,
	    &c->net_nroutes)) < 0 ||
	    (rc = get_cidrs(&cfg, path, "net.never_route", c->net_never,
	    &c->net_nnever)) < 0 ||
	    (rc = get_local(&cfg, path, c)) < 0 ||
	    (rc = get_string(&cfg, path, "net.tun_name", c->net_tun_name,
	    sizeof(c->net_tun_name))) < 0 ||
	    (rc = get_string(&cfg, path, "net.tun_range", c->net_tun_range,
	    sizeof(c->net_tun_range))) < 0 ||
	    (rc = get_double(&cfg, "net.udp_idle_timeout", &c->net_udp_idle,
	    1, 86400)) < 0)
		goto out;
	if ((rc = get_users(&cfg, path, "fs.allow_users", c->fs_allow_users,
	    &c->fs_nallow_users)) < 0)
		goto out;
	if ((rc = get_env_patterns(&cfg, path, "env.include", c->env_include,
	    &c->env_ninclude)) < 0 ||
	    (rc = get_env_patterns(&cfg, path, "env.exclude", c->env_exclude,
	    &c->env_nexclude)) < 0 ||
	    (rc = get_env_override(&cfg, path, c)) < 0 ||
	    (rc = get_mapping(&cfg, path, c)) < 0 ||
	    (rc = get_patterns(&cfg, path, "fs.read_only",
	    &c->fs_read_only)) < 0 ||
	    (rc = get_patterns(&cfg, path, "fs.read_write",
	    &c->fs_read_write)) < 0 ||
	    (rc = get_patterns(&cfg, path, "fs.local", &c->fs_local)) < 0 ||
	    (rc = get_patterns(&cfg, path, "fs.not_found",
	    &c->fs_not_found)) < 0 ||
	    (rc = get_patterns(&cfg, path, "fs.default_local",
	    &c->fs_default_local)) < 0 ||
	    (rc = get_patterns(&cfg, path, "fs.default_remote",
	    &c->fs_default_remote)) < 0 ||
	    (rc = get_patterns(&cfg, path, "fs.default_not_found",
	    &c->fs_default_not_found)) < 0 ||
	    (rc = get_paths(&cfg, path, "fs.remote", c->fs_remote,
	    &c->fs_nremote)) < 0)
		goto out;
	if ((rc = get_string(&cfg, path, "agent.image", c->agent_image,
	    sizeof(c->agent_image))) < 0 ||
	    (rc = get_string(&cfg, path, "kube.kubectl", c->kubectl,
	    sizeof(c->kubectl))) < 0)
		goto out;
	if ((rc = get_double(&cfg, "fs.attr_timeout", &c->fs_attr_timeout, 0, 3600)) < 0 ||
	    (rc = get_double(&cfg, "fs.entry_timeout", &c->fs_entry_timeout, 0, 3600)) < 0 ||
	    (rc = get_double(&cfg, "fs.negative_timeout", &c->fs_negative_timeout, 0, 3600)) < 0 ||
	    (rc = get_double(&cfg, "fs.watched_timeout", &c->fs_watched_timeout, 0, 3600)) < 0 ||
	    (rc = get_double(&cfg, "fs.request_timeout", &c->fs_request_timeout, 0.1, 3600)) < 0 ||
	    (rc = get_int(&cfg, "fs.max_read_kb", &c->fs_max_read_kb, 4, 4096)) < 0 ||
	    (rc = get_int(&cfg, "fs.readahead_kb", &c->fs_readahead_kb, 0, 65536)) < 0 ||
	    (rc = get_int(&cfg, "fs.max_inflight", &c->fs_max_inflight, 1, 65536)) < 0 ||
	    (rc = get_int(&cfg, "fs.write_behind_kb", &c->fs_write_behind_kb, 0, 262144)) < 0 ||
	    (rc = get_int(&cfg, "fs.max_nodes", &c->fs_max_nodes, 1000, 100000000)) < 0 ||
	    (rc = get_int(&cfg, "agent.workers", &c->agent_workers, 1, 256)) < 0 ||
	    (rc = get_double(&cfg, "agent.connect_timeout", &c->agent_connect_timeout, 0.1, 3600)) < 0 ||
	    (rc = get_double(&cfg, "agent.idle_ttl", &c->agent_idle_ttl, 0, 7 * 86400)) < 0 ||
	    (rc = get_int(&cfg, "agent.port", &c->agent_port, 0, 65535)) < 0)
		goto out;
out:
	config_destroy(&cfg);
	return rc;
}

int
conf_parse_uid(const char *s, uid_t *uid)
{
	unsigned long v;
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= (uid_t)-1)
		return -EINVAL;
	*uid = (uid_t)v;
	return 0;
}

uid_t
conf_invoking_uid(void)
{
	uid_t uid;

	if (getuid() != 0 || conf_parse_uid(getenv("SUDO_UID"), &uid) < 0)
		return getuid();
	return uid;
}
