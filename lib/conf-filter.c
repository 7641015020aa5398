/*
 * incoming.http_filter of the configuration: a tree of groups read
 * into lib/httpfilter.h's wire form (the one form the agent parses),
 * bounded in depth, width and bytes. Part of lib/conf.c's module.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf-int.h"
#include "httpfilter.h"
#include "log.h"

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
int
conf_get_http_filter(config_t *cfg, const char *path, struct mirror_conf *c)
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
