/*
 * "mirrorctl config show": each setting's effective value, in libconfig
 * syntax, and the file it came from. A setting no file holds shows the
 * built-in default as conf/mirror.conf documents it (tests/unit/
 * test-conf checks that file against conf_defaults()). Part of
 * lib/conf.c's module.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf-int.h"

/* Appends to buf at *off, never past size. */
static void __attribute__((format(printf, 4, 5)))
put(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n < size - *off ? (size_t)n : size - *off - 1;
}

static void
render(const config_setting_t *s, char *buf, size_t size, size_t *off)
{
	const unsigned char *p;
	const config_setting_t *e;
	const char *open = "[ ", *close = " ]";
	char num[48];
	unsigned int i;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		put(buf, size, off, "\"");
		for (p = (const unsigned char *)config_setting_get_string(s);
		    p && *p; p++)
			if (*p == '"' || *p == '\\')
				put(buf, size, off, "\\%c", *p);
			else if (*p < 0x20 || *p == 0x7f)
				put(buf, size, off, "\\x%02x", *p);
			else
				put(buf, size, off, "%c", *p);
		put(buf, size, off, "\"");
		return;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		put(buf, size, off, "%lld",
		    (long long)config_setting_get_int64(s));
		return;
	case CONFIG_TYPE_FLOAT:
		/* "%#g" would keep "1.00000"; a float keeps one decimal. */
		snprintf(num, sizeof(num), "%.15g", config_setting_get_float(s));
		if (strspn(num, "-0123456789") == strlen(num))
			strcat(num, ".0");
		put(buf, size, off, "%s", num);
		return;
	case CONFIG_TYPE_BOOL:
		put(buf, size, off, "%s", config_setting_get_bool(s) ?
		    "true" : "false");
		return;
	case CONFIG_TYPE_GROUP:
		open = "{ ";
		close = " }";
		break;
	case CONFIG_TYPE_LIST:
		open = "( ";
		close = " )";
		break;
	case CONFIG_TYPE_ARRAY:
		break;
	default:
		put(buf, size, off, "?");
		return;
	}
	if (config_setting_length(s) == 0) {
		put(buf, size, off, "%c%c", open[0], close[1]);
		return;
	}
	put(buf, size, off, "%s", open);
	for (i = 0; (e = config_setting_get_elem(s, i)) != NULL; i++) {
		if (config_setting_type(s) == CONFIG_TYPE_GROUP)
			put(buf, size, off, "%s = ", config_setting_name(e));
		render(e, buf, size, off);
		if (config_setting_type(s) == CONFIG_TYPE_GROUP)
			put(buf, size, off, ";");
		if (config_setting_get_elem(s, i + 1) != NULL)
			put(buf, size, off, config_setting_type(s) ==
			    CONFIG_TYPE_GROUP ? " " : ", ");
	}
	put(buf, size, off, "%s", close);
}

void
conf_render(const config_setting_t *s, char *buf, size_t size)
{
	size_t off = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	render(s, buf, size, &off);
	if (off >= size - 1 && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

void
conf_trace_note(struct conf_trace *t, size_t i, int layer,
    const config_setting_t *s)
{
	if (i >= CONF_SETTINGS_MAX)
		return;
	t->layer[i] = layer;
	conf_render(s, t->value[i], sizeof(t->value[i]));
}

void
conf_show(FILE *out, const struct conf_trace *t)
{
	static const char *const layer_names[CONF_LAYERS] = {
		"built-in", "system", "user", "project", "--config" };
	char value[CONF_VALUE_MAX];
	const config_setting_t *s;
	const char *name;
	config_t cfg;
	size_t i;
	int l, builtin;

	config_init(&cfg);
	builtin = config_read_string(&cfg, conf_builtin_text);
	fprintf(out, "# The effective configuration; a later layer wins.\n");
	for (l = CONF_LAYER_SYSTEM; l < CONF_LAYERS; l++)
		fprintf(out, "# %-9s %s\n", layer_names[l], t->file[l][0] ?
		    t->file[l] : "(none)");
	for (i = 0; (name = conf_setting_name(i)) != NULL &&
	    i < CONF_SETTINGS_MAX; i++) {
		if (t->layer[i] > CONF_LAYER_BUILTIN) {
			fprintf(out, "%s = %s;  # %s\n", name, t->value[i],
			    t->file[t->layer[i]]);
			continue;
		}
		if (builtin && (s = config_lookup(&cfg, name)) != NULL)
			conf_render(s, value, sizeof(value));
		else
			snprintf(value, sizeof(value), "(unset)");
		fprintf(out, "%s = %s;  # built-in\n", name, value);
	}
	config_destroy(&cfg);
}
