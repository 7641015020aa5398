/*
 * Configuration loading with libconfig, over built-in defaults, in
 * layers: the system file, the user's, the project's (the nearest
 * .mirror/mirror.conf upward), then --config; later wins per setting.
 * Every setting a file may hold is in conf_settings[]: a name not there,
 * or a value of the wrong type, is an error that names the file and
 * line (and, for a misspelt name, the closest known one), so a typo
 * never leaves a default silently in force. The list settings are in
 * conf-lists.c, incoming.http_filter in conf-filter.c, and what
 * "mirrorctl config show" prints in conf-show.c.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-int.h"
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
	snprintf(c->net_tun_range6, sizeof(c->net_tun_range6),
	    "fd6d:6972:726f::/64");
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
	{ "net.tun_range6",		CONF_T_STRING },
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

size_t
conf_setting_count(void)
{
	return CONF_NSETTINGS;
}

const char *
conf_setting_name(size_t i)
{
	return i < CONF_NSETTINGS ? conf_settings[i].name : NULL;
}
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
check_settings(config_t *cfg, const char *path, struct conf_trace *t,
    int layer)
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
			if (t != NULL)
				conf_trace_note(t,
				    (size_t)(known - conf_settings), layer, s);
		}
	}
	return 0;
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
		log_warnx("%s:%d: %s = %g is out of range [%g, %g]",
		    config_setting_source_file(s) ?
		    config_setting_source_file(s) : "config",
		    config_setting_source_line(s), name, d, min, max);
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

/* One file over c: 0, or -errno after a message naming the file and
 * line. t (may be NULL) learns which settings the file holds. */
static int
conf_load_file(struct mirror_conf *c, const char *path,
    struct conf_trace *t, int layer)
{
	config_t cfg;
	const char *s;
	int rc = 0;

	config_init(&cfg);
	if (!config_read_file(&cfg, path)) {
		log_warnx("%s:%d: %s", config_error_file(&cfg) ?
		    config_error_file(&cfg) : path, config_error_line(&cfg),
		    config_error_text(&cfg));
		rc = -EINVAL;
		goto out;
	}
	if ((rc = check_settings(&cfg, path, t, layer)) < 0)
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
	if ((rc = conf_load_lists(&cfg, path, c)) < 0)
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
	if ((rc = get_string(&cfg, path, "net.tun_name", c->net_tun_name,
	    sizeof(c->net_tun_name))) < 0 ||
	    (rc = get_string(&cfg, path, "net.tun_range", c->net_tun_range,
	    sizeof(c->net_tun_range))) < 0 ||
	    (rc = get_string(&cfg, path, "net.tun_range6", c->net_tun_range6,
	    sizeof(c->net_tun_range6))) < 0 ||
	    (rc = get_double(&cfg, "net.udp_idle_timeout", &c->net_udp_idle,
	    1, 86400)) < 0)
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

/* A layer's file may be used: owned by the invoking user or root and
 * not writable by others (a .mirror/ another user could plant in /tmp
 * or a shared tree must not steer a root mirrorctl). 1 if so, 0 after
 * a warning. */
static int
conf_file_trusted(const char *path, const struct stat *st)
{
	char dir[PATH_MAX], *slash;
	struct stat dst;
	uid_t uid = conf_invoking_uid();

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	if (stat(dir, &dst) < 0)
		dst = *st;
	if ((st->st_uid != uid && st->st_uid != 0) ||
	    (dst.st_uid != uid && dst.st_uid != 0)) {
		log_warnx("%s: ignored: owned by uid %u, not by you or root",
		    path, (unsigned int)(st->st_uid != uid && st->st_uid != 0 ?
		    st->st_uid : dst.st_uid));
		return 0;
	}
	if ((st->st_mode & 022) != 0 || (dst.st_mode & 022) != 0) {
		log_warnx("%s: ignored: it or its directory is writable by "
		    "others (chmod go-w)", path);
		return 0;
	}
	return 1;
}

/* The home of the user mirrorctl acts for (the one who ran sudo). */
static const char *
conf_home(void)
{
	const struct passwd *pw;
	const char *home;

	if (getuid() == 0 && conf_invoking_uid() != 0 &&
	    (pw = getpwuid(conf_invoking_uid())) != NULL)
		return pw->pw_dir;
	if ((home = getenv("HOME")) != NULL && home[0] == '/')
		return home;
	if ((pw = getpwuid(getuid())) != NULL)
		return pw->pw_dir;
	return NULL;
}

/* The nearest DIR/.mirror/mirror.conf from the working directory up. */
static int
conf_project_path(char *buf, size_t size)
{
	char dir[PATH_MAX], *slash;
	size_t len;

	if (getcwd(dir, sizeof(dir)) == NULL)
		return -errno;
	for (;;) {
		len = strlen(dir);
		if ((size_t)snprintf(buf, size, "%s/.mirror/mirror.conf",
		    len == 1 ? "" : dir) < size && access(buf, F_OK) == 0)
			return 0;
		if (len == 1 || (slash = strrchr(dir, '/')) == NULL)
			return -ENOENT;
		slash[slash == dir] = '\0';
	}
}

int
conf_layer_path(int layer, const char *explicit_path, char *buf,
    size_t size)
{
	const char *v, *home;

	buf[0] = '\0';
	switch (layer) {
	case CONF_LAYER_SYSTEM:
		if ((v = getenv("MIRROR_SYSTEM_CONFIG")) == NULL || !*v)
			v = MIRROR_SYSCONFDIR "/mirror/mirror.conf";
		snprintf(buf, size, "%s", v);
		return 0;
	case CONF_LAYER_USER:
		v = getenv("XDG_CONFIG_HOME");
		if (getuid() != 0 && v != NULL && v[0] == '/') {
			snprintf(buf, size, "%s/mirror/mirror.conf", v);
			return 0;
		}
		if ((home = conf_home()) == NULL)
			return -ENOENT;
		snprintf(buf, size, "%s/.config/mirror/mirror.conf", home);
		return 0;
	case CONF_LAYER_PROJECT:
		return conf_project_path(buf, size);
	case CONF_LAYER_EXPLICIT:
		if (explicit_path == NULL)
			explicit_path = getenv("MIRROR_CONFIG");
		if (explicit_path == NULL || !*explicit_path)
			return -ENOENT;
		snprintf(buf, size, "%s", explicit_path);
		return 0;
	}
	return -ENOENT;
}

int
conf_load_traced(struct mirror_conf *c, const char *path,
    struct conf_trace *t)
{
	char file[PATH_MAX];
	struct stat st;
	int layer, rc;

	for (layer = CONF_LAYER_SYSTEM; layer < CONF_LAYERS; layer++) {
		if (conf_layer_path(layer, path, file, sizeof(file)) < 0)
			continue;
		if (layer == CONF_LAYER_EXPLICIT) {
			if (access(file, R_OK) != 0) {
				rc = -errno;
				log_warn("cannot read the configuration %s",
				    file);
				return rc;
			}
		} else if (stat(file, &st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			/* A directory on the way that this user may not
			 * search (root's $HOME kept by setpriv or su): not
			 * this user's configuration, as if there were none.
			 * The system file stays an error. */
			if (errno == EACCES && layer != CONF_LAYER_SYSTEM)
				continue;
			rc = -errno;
			log_warn("cannot read the configuration %s", file);
			return rc;
		} else if (!conf_file_trusted(file, &st))
			continue;
		if ((rc = conf_load_file(c, file, t, layer)) < 0)
			return rc;
		if (t != NULL)
			snprintf(t->file[layer], sizeof(t->file[layer]), "%s",
			    file);
	}
	return 0;
}

int
conf_load(struct mirror_conf *c, const char *path)
{
	return conf_load_traced(c, path, NULL);
}

int
conf_check_file(const char *path)
{
	struct mirror_conf *c;
	int rc;

	if (access(path, R_OK) != 0) {
		rc = -errno;
		log_warn("cannot read %s", path);
		return rc;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	conf_defaults(c);
	rc = conf_load_file(c, path, NULL, CONF_LAYER_EXPLICIT);
	free(c);
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
