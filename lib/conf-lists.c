/*
 * The list settings of the configuration (net.routes, net.local,
 * env.*, fs.* lists, incoming.ports and port_mapping): each checked
 * for its count, length and form before it is copied, so a file never
 * writes past a fixed array. Part of lib/conf.c's module.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf-int.h"
#include "log.h"
#include "pathname.h"
#include "proto-target.h"

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

int
conf_load_lists(config_t *cfg, const char *path, struct mirror_conf *c)
{
	int rc;

	if ((rc = get_ports(cfg, path, "incoming.ports", c->incoming_ports,
	    &c->incoming_nports)) < 0 ||
	    (rc = get_ports(cfg, path, "incoming.ignore_ports",
	    c->incoming_ignore, &c->incoming_nignore)) < 0 ||
	    (rc = get_port_mapping(cfg, path, c)) < 0 ||
	    (rc = conf_get_http_filter(cfg, path, c)) < 0)
		return rc;
	if ((rc = get_cidrs(cfg, path, "net.routes", c->net_routes,
	    &c->net_nroutes)) < 0 ||
	    (rc = get_cidrs(cfg, path, "net.never_route", c->net_never,
	    &c->net_nnever)) < 0 ||
	    (rc = get_local(cfg, path, c)) < 0)
		return rc;
	if ((rc = get_users(cfg, path, "fs.allow_users", c->fs_allow_users,
	    &c->fs_nallow_users)) < 0)
		return rc;
	if ((rc = get_env_patterns(cfg, path, "env.include", c->env_include,
	    &c->env_ninclude)) < 0 ||
	    (rc = get_env_patterns(cfg, path, "env.exclude", c->env_exclude,
	    &c->env_nexclude)) < 0 ||
	    (rc = get_env_override(cfg, path, c)) < 0 ||
	    (rc = get_mapping(cfg, path, c)) < 0 ||
	    (rc = get_patterns(cfg, path, "fs.read_only",
	    &c->fs_read_only)) < 0 ||
	    (rc = get_patterns(cfg, path, "fs.read_write",
	    &c->fs_read_write)) < 0 ||
	    (rc = get_patterns(cfg, path, "fs.local", &c->fs_local)) < 0 ||
	    (rc = get_patterns(cfg, path, "fs.not_found",
	    &c->fs_not_found)) < 0 ||
	    (rc = get_patterns(cfg, path, "fs.default_local",
	    &c->fs_default_local)) < 0 ||
	    (rc = get_patterns(cfg, path, "fs.default_remote",
	    &c->fs_default_remote)) < 0 ||
	    (rc = get_patterns(cfg, path, "fs.default_not_found",
	    &c->fs_default_not_found)) < 0 ||
	    (rc = get_paths(cfg, path, "fs.remote", c->fs_remote,
	    &c->fs_nremote)) < 0)
		return rc;
	return 0;
}
