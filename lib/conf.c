/* Configuration loading with libconfig, over built-in defaults. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "log.h"

#ifndef MIRROR_SYSCONFDIR
#define MIRROR_SYSCONFDIR "/usr/local/etc"
#endif

void
conf_defaults(struct mirror_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->fs_rw = 0;
	c->fs_attr_timeout = 1.0;
	c->fs_entry_timeout = 1.0;
	c->fs_negative_timeout = 1.0;
	c->fs_request_timeout = 10.0;
	c->fs_max_read_kb = 1024;
	c->fs_readahead_kb = 1024;
	c->fs_max_inflight = 256;
	c->fs_write_behind_kb = 8192;
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
		if (strcmp(s, "ro") == 0)
			c->fs_rw = 0;
		else if (strcmp(s, "rw") == 0)
			c->fs_rw = 1;
		else {
			log_warnx("%s: fs.mode must be \"ro\" or \"rw\"", path);
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
	if (config_lookup_bool(&cfg, "net.dns", &c->net_dns))
		c->net_dns = c->net_dns != 0;
	if ((rc = get_cidrs(&cfg, path, "net.routes", c->net_routes,
	    &c->net_nroutes)) < 0 ||
	    (rc = get_cidrs(&cfg, path, "net.never_route", c->net_never,
	    &c->net_nnever)) < 0 ||
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
	if ((rc = get_string(&cfg, path, "agent.image", c->agent_image,
	    sizeof(c->agent_image))) < 0 ||
	    (rc = get_string(&cfg, path, "kube.kubectl", c->kubectl,
	    sizeof(c->kubectl))) < 0)
		goto out;
	if ((rc = get_double(&cfg, "fs.attr_timeout", &c->fs_attr_timeout, 0, 3600)) < 0 ||
	    (rc = get_double(&cfg, "fs.entry_timeout", &c->fs_entry_timeout, 0, 3600)) < 0 ||
	    (rc = get_double(&cfg, "fs.negative_timeout", &c->fs_negative_timeout, 0, 3600)) < 0 ||
	    (rc = get_double(&cfg, "fs.request_timeout", &c->fs_request_timeout, 0.1, 3600)) < 0 ||
	    (rc = get_int(&cfg, "fs.max_read_kb", &c->fs_max_read_kb, 4, 4096)) < 0 ||
	    (rc = get_int(&cfg, "fs.readahead_kb", &c->fs_readahead_kb, 0, 65536)) < 0 ||
	    (rc = get_int(&cfg, "fs.max_inflight", &c->fs_max_inflight, 1, 65536)) < 0 ||
	    (rc = get_int(&cfg, "fs.write_behind_kb", &c->fs_write_behind_kb, 0, 262144)) < 0 ||
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
