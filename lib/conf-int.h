/*
 * The configuration loader's own header, shared by its files (conf.c:
 * the key table, scalars and the layers; conf-lists.c: list settings;
 * conf-filter.c: incoming.http_filter; conf-show.c: config show). Only
 * these files include <libconfig.h>.
 */
#ifndef MIRROR_CONF_INT_H
#define MIRROR_CONF_INT_H

#include <stddef.h>

#include <libconfig.h>

#include "conf.h"

/* The list settings of one file (net.*, env.*, fs.* lists, incoming.*
 * lists and http_filter) over c: 0, or -EINVAL after a message naming
 * path and, where libconfig knows it, the line. */
int	conf_load_lists(config_t *cfg, const char *path, struct mirror_conf *c);
/* incoming.http_filter into c's wire form: 0 or -EINVAL after a
 * message. */
int	conf_get_http_filter(config_t *cfg, const char *path,
	    struct mirror_conf *c);
/* The key table: its size, and the name of entry i (NULL past it). */
size_t	conf_setting_count(void);
const char *conf_setting_name(size_t i);
/* Setting i of the table was found in a file of layer. */
void	conf_trace_note(struct conf_trace *t, size_t i, int layer,
	    const config_setting_t *s);
/* conf/mirror.conf as built (the documented defaults), for config show. */
extern const char conf_builtin_text[];
/* A setting's value in libconfig syntax into buf (cut at size). */
void	conf_render(const config_setting_t *s, char *buf, size_t size);

#endif
