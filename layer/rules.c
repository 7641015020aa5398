/*
 * The layer's path rules: the parser of the rules file mirrorctl writes
 * and the decision for one path (see rules.h for the format). The file
 * sits in a directory the user may write, so it is read as untrusted
 * input: bounded in size, lines, patterns and their lengths; a regex may
 * not use back-references (glibc matches those in exponential time); any
 * line that is not exactly one known rule refuses the whole file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

/* The lists' regexes match case-insensitively, as mirrord's do
 * (MIRRORD.md); fs.mapping's stay case-sensitive, and so do path
 * prefixes (a path is what the kernel compares). */
#define LAYER_LIST_CFLAGS	(REG_NOSUB | REG_ICASE)

static const char *const layer_tier_names[LAYER_T_N] = {
	[LAYER_T_NOT_FOUND] = "not_found",
	[LAYER_T_READ_WRITE] = "read_write",
	[LAYER_T_READ_ONLY] = "read_only",
	[LAYER_T_LOCAL] = "local",
	[LAYER_T_DEF_NOT_FOUND] = "default_not_found",
	[LAYER_T_DEF_REMOTE] = "default_remote",
	[LAYER_T_DEF_LOCAL] = "default_local",
};

int
layer_normalise(const char *path, char *out, size_t sz)
{
	const char *p = path, *end;
	size_t len = 0, n;

	if (sz < 2)
		return -ENAMETOOLONG;
	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 1 && p[0] == '.')
			;
		else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[--len] != '/')
				;
		} else {
			if (len + 1 + n >= sz)
				return -ENAMETOOLONG;
			out[len] = '/';
			memcpy(out + len + 1, p, n);
			len += 1 + n;
		}
		p = end;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/* path is prefix, or below it ("/" holds everything). */
static int
layer_under(const char *path, const char *prefix, size_t len)
{
	if (len == 1)
		return 1;
	return strncmp(path, prefix, len) == 0 &&
	    (path[len] == '/' || path[len] == '\0');
}

/* A pattern from the file: a prefix ('/' or '~'), or a regex. 0, 1 if
 * it is "~..." and there is no home (the rule is left out: a program
 * run without $HOME has nothing there to keep apart), or -EINVAL. */
static int
layer_pattern_init(struct layer_pattern *p, const char *s, const char *home,
    int cflags)
{
	char path[PATH_MAX], norm[PATH_MAX];
	unsigned long reps = 1;
	const char *q;

	memset(p, 0, sizeof(*p));
	if (s[0] == '~') {
		if (s[1] != '\0' && s[1] != '/')
			return -EINVAL;
		if (home == NULL || home[0] != '/')
			return 1;
		if ((size_t)snprintf(path, sizeof(path), "%s%s", home, s + 1) >=
		    sizeof(path))
			return -EINVAL;
		s = path;
	}
	if (s[0] == '/') {
		if (layer_normalise(s, norm, sizeof(norm)) < 0 ||
		    (p->prefix = strdup(norm)) == NULL)
			return -EINVAL;
		p->len = strlen(norm);
		return 0;
	}
	/* Back-references make glibc's matcher exponential. */
	for (q = s; (q = strchr(q, '\\')) != NULL; q += 2) {
		if (q[1] >= '1' && q[1] <= '9')
			return -EINVAL;
		if (q[1] == '\0')
			break;
	}
	/* glibc compiles a bound by copying its atom, and "+" as the atom
	 * then the atom repeated: "(a{99}){99}" is 9801 atoms, "a++++..."
	 * doubles per "+", and a few more such to gigabytes. The product
	 * of the bounds (a "+" counts 2), as if all were nested, is capped;
	 * a "+" or brace that is a literal counts too, which only errs on
	 * the safe side. */
	for (q = s; *q != '\0'; q++) {
		unsigned long most = 0, v;
		char *end;

		/* Stacked repetitions ("a****", "a+*?") blow up glibc's
		 * epsilon closures (seconds for a few dozen): refused, a
		 * literal one after an escape too, on the safe side. */
		if (q > s && strchr("*+?{", *q) != NULL &&
		    strchr("*+?}", q[-1]) != NULL)
			return -EINVAL;

		if (*q == '+')
			most = 2;
		else if (*q == '{') {
			do {
				v = strtoul(q + 1, &end, 10);
				if (v > most)
					most = v;
				q = end;
			} while (*q == ',');
			if (*q == '\0')
				q--;
		}
		if (most > 1 && (most > LAYER_REPEAT_MAX ||
		    (reps *= most) > LAYER_REPEAT_MAX))
			return -EINVAL;
	}
	if (regcomp(&p->re, s, REG_EXTENDED | cflags) != 0)
		return -EINVAL;
	if ((p->src = strdup(s)) == NULL) {
		regfree(&p->re);
		return -ENOMEM;
	}
	return 0;
}

static void
layer_pattern_free(struct layer_pattern *p)
{
	if (p->prefix != NULL)
		free(p->prefix);
	else {
		regfree(&p->re);
		free(p->src);
	}
	p->prefix = p->src = NULL;
}

static int
layer_pattern_match(const struct layer_pattern *p, const char *path)
{
	if (p->prefix != NULL)
		return layer_under(path, p->prefix, p->len);
	return regexec(&p->re, path, 0, NULL, 0) == 0;
}

int
layer_rules_add(struct layer_rules *r, enum layer_tier t, const char *pattern,
    const char *home)
{
	int rc;

	if (r->npats[t] >= LAYER_PATTERNS_MAX)
		return -ENOSPC;
	if ((rc = layer_pattern_init(&r->pats[t][r->npats[t]], pattern, home,
	    LAYER_LIST_CFLAGS)) == 0)
		r->npats[t]++;
	return rc;
}

int
layer_rules_add_prefix(struct layer_rules *r, enum layer_tier t,
    const char *path)
{
	int rc;

	if (path[0] != '/')
		return -EINVAL;
	if ((rc = layer_rules_add(r, t, path, NULL)) == -ENOSPC)
		return rc;
	return rc != 0 ? -EINVAL : 0;
}

/* One line (NUL-terminated, no newline) into r. */
static int
layer_rules_line(struct layer_rules *r, char *line, const char *home)
{
	char *f[3], *tab;
	int n = 0, t, rc;

	f[0] = line;
	while ((tab = strchr(f[n], '\t')) != NULL) {
		if (++n == 3)
			return -EINVAL;
		*tab = '\0';
		f[n] = tab + 1;
	}
	for (t = 0; t <= n; t++)
		if (f[t][0] == '\0' || strlen(f[t]) >= LAYER_RULE_MAX)
			return -EINVAL;
	if (n == 1 && strcmp(f[0], "root") == 0) {
		if (f[1][0] != '/' ||
		    layer_normalise(f[1], r->root, sizeof(r->root)) < 0)
			return -EINVAL;
		r->rootlen = strlen(r->root);
		return 0;
	}
	if (n == 1 && strcmp(f[0], "mode") == 0) {
		if (strcmp(f[1], "local") == 0)
			r->mode = LAYER_MODE_LOCAL;
		else if (strcmp(f[1], "read") == 0)
			r->mode = LAYER_MODE_READ;
		else if (strcmp(f[1], "write") == 0)
			r->mode = LAYER_MODE_WRITE;
		else
			return -EINVAL;
		return 0;
	}
	if (n == 2 && strcmp(f[0], "map") == 0) {
		struct layer_mapping *m = &r->maps[r->nmaps];

		if (r->nmaps >= LAYER_MAPPINGS_MAX ||
		    (rc = layer_pattern_init(&m->from, f[1], home, 0)) < 0)
			return -EINVAL;
		if (rc == 1)
			return 0;
		if ((m->to = strdup(f[2])) == NULL) {
			layer_pattern_free(&m->from);
			return -ENOMEM;
		}
		r->nmaps++;
		return 0;
	}
	for (t = 0; t < LAYER_T_N; t++)
		if (n == 1 && strcmp(f[0], layer_tier_names[t]) == 0)
			return layer_rules_add(r, (enum layer_tier)t, f[1],
			    home) < 0 ? -EINVAL : 0;
	return -EINVAL;
}

/* Each list's regexes as one alternation, where there are two or more.
 * Left as they are if that does not compile (it should: each did). */
static void
layer_rules_join(struct layer_rules *r)
{
	char *all;
	size_t len, n;
	int t, i, k;

	for (t = 0; t < LAYER_T_N; t++) {
		len = 1;
		for (i = k = 0; i < r->npats[t]; i++)
			if (r->pats[t][i].prefix == NULL) {
				len += strlen(r->pats[t][i].src) + 3;
				k++;
			}
		if (k < 2 || (all = malloc(len)) == NULL)
			continue;
		len = 0;
		for (i = 0; i < r->npats[t]; i++) {
			if (r->pats[t][i].prefix != NULL)
				continue;
			n = strlen(r->pats[t][i].src);
			if (len > 0)
				all[len++] = '|';
			all[len++] = '(';
			memcpy(all + len, r->pats[t][i].src, n);
			len += n;
			all[len++] = ')';
		}
		all[len] = '\0';
		r->has_any[t] = regcomp(&r->any[t], all,
		    REG_EXTENDED | LAYER_LIST_CFLAGS) == 0;
		free(all);
	}
}

int
layer_rules_parse(struct layer_rules *r, const char *text, size_t len,
    const char *home, int *line)
{
	char buf[LAYER_RULE_MAX * 2 + 32];
	const char *p = text, *end = text + len, *nl;
	int rc, ended = 0;

	*line = 0;
	r->mode = LAYER_MODE_READ;
	if (len > LAYER_RULES_FILE_MAX)
		return -EINVAL;
	while (p < end) {
		++*line;
		if (ended || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (size_t)(nl - p) >= sizeof(buf) ||
		    memchr(p, '\0', (size_t)(nl - p)) != NULL)
			return -EINVAL;
		memcpy(buf, p, (size_t)(nl - p));
		buf[nl - p] = '\0';
		p = nl + 1;
		if (*line == 1) {
			if (strcmp(buf, LAYER_RULES_MAGIC) != 0)
				return -EINVAL;
		} else if (strcmp(buf, "end") == 0)
			ended = 1;
		else if ((rc = layer_rules_line(r, buf, home)) < 0)
			return rc;
	}
	++*line;
	/* No root, nothing may be remote. */
	if (!ended || r->rootlen == 0)
		return -EINVAL;
	layer_rules_join(r);
	return 0;
}

void
layer_rules_free(struct layer_rules *r)
{
	int t, i;

	for (i = 0; i < r->nmaps; i++) {
		layer_pattern_free(&r->maps[i].from);
		free(r->maps[i].to);
	}
	r->nmaps = 0;
	for (t = 0; t < LAYER_T_N; t++) {
		for (i = 0; i < r->npats[t]; i++)
			layer_pattern_free(&r->pats[t][i]);
		r->npats[t] = 0;
		if (r->has_any[t])
			regfree(&r->any[t]);
		r->has_any[t] = 0;
	}
}

/* The replacement of a regex mapping: \0..\9 are the match and its
 * groups, "\\" a backslash. 0 or -ENAMETOOLONG. */
static int
layer_expand(const char *path, const regmatch_t *m, const char *to, char *out,
    size_t sz)
{
	size_t len = 0, n;
	const char *src;

#define PUT(s, l) do { \
	if (len + (l) >= sz) \
		return -ENAMETOOLONG; \
	memcpy(out + len, (s), (l)); \
	len += (l); \
} while (0)
	PUT(path, (size_t)m[0].rm_so);
	for (; *to; to++) {
		if (to[0] == '\\' && to[1] >= '0' && to[1] <= '9') {
			const regmatch_t *g = &m[to[1] - '0'];

			to++;
			if (g->rm_so < 0)
				continue;
			src = path + g->rm_so;
			n = (size_t)(g->rm_eo - g->rm_so);
		} else {
			if (to[0] == '\\' && to[1] == '\\')
				to++;
			src = to;
			n = 1;
		}
		PUT(src, n);
	}
	n = strlen(path + m[0].rm_eo);
	PUT(path + m[0].rm_eo, n + 1);
#undef PUT
	return 0;
}

/* fs.mapping: the first rule that matches rewrites path into out. 1 if
 * one did, 0 if none, -ENAMETOOLONG. */
static int
layer_map(const struct layer_rules *r, const char *path, char *out, size_t sz)
{
	char tmp[PATH_MAX];
	regmatch_t m[10];
	int i, rc;

	for (i = 0; i < r->nmaps; i++) {
		const struct layer_mapping *mp = &r->maps[i];

		if (mp->from.prefix != NULL) {
			if (!layer_under(path, mp->from.prefix, mp->from.len))
				continue;
			if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", mp->to,
			    path + mp->from.len) >= sizeof(tmp))
				return -ENAMETOOLONG;
		} else {
			if (regexec(&mp->from.re, path, 10, m, 0) != 0)
				continue;
			if ((rc = layer_expand(path, m, mp->to, tmp,
			    sizeof(tmp))) < 0)
				return rc;
		}
		/* A replacement that is not absolute maps to nothing. */
		if (tmp[0] != '/')
			return 0;
		return layer_normalise(tmp, out, sz) < 0 ? -ENAMETOOLONG : 1;
	}
	return 0;
}

static int
layer_tier_match(const struct layer_rules *r, enum layer_tier t,
    const char *path)
{
	int i, pass;

	/* Prefixes first (pass 0): they are cheap, and any match decides. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && r->has_any[t])
			return regexec(&r->any[t], path, 0, NULL, 0) == 0;
		for (i = 0; i < r->npats[t]; i++)
			if ((r->pats[t][i].prefix != NULL) == (pass == 0) &&
			    layer_pattern_match(&r->pats[t][i], path))
				return 1;
	}
	return 0;
}

int
layer_rules_in(const struct layer_rules *r, enum layer_tier t,
    const char *path)
{
	return layer_tier_match(r, t, path);
}

/* What a match in each list makes a path; -1: what the mode says. */
static const int layer_tier_class[LAYER_T_N] = {
	[LAYER_T_NOT_FOUND] = LAYER_NOT_FOUND,
	[LAYER_T_READ_WRITE] = LAYER_REMOTE_RW,
	[LAYER_T_READ_ONLY] = LAYER_REMOTE_RO,
	[LAYER_T_LOCAL] = LAYER_LOCAL,
	[LAYER_T_DEF_NOT_FOUND] = LAYER_NOT_FOUND,
	[LAYER_T_DEF_REMOTE] = -1,
	[LAYER_T_DEF_LOCAL] = LAYER_LOCAL,
};

/* The first list (in precedence order) that holds path decides. */
static enum layer_class
layer_classify(const struct layer_rules *r, const char *path)
{
	enum layer_class by_mode = r->mode == LAYER_MODE_WRITE ?
	    LAYER_REMOTE_RW : LAYER_REMOTE_RO;
	int t;

	for (t = 0; t < LAYER_T_N; t++) {
		/* "local": only what the user's own lists name is remote. */
		if (t == LAYER_T_DEF_NOT_FOUND && r->mode == LAYER_MODE_LOCAL)
			return LAYER_LOCAL;
		if (layer_tier_match(r, (enum layer_tier)t, path))
			return layer_tier_class[t] < 0 ? by_mode :
			    (enum layer_class)layer_tier_class[t];
	}
	return by_mode;
}

int
layer_rules_resolve(const struct layer_rules *r, const char *path,
    char *out, size_t sz, enum layer_class *cls)
{
	char mapped[PATH_MAX];
	const char *p = path;
	int rc;

	*cls = LAYER_LOCAL;
	/* The mount itself: already the target's files. */
	if (r->rootlen == 0 || layer_under(path, r->root, r->rootlen))
		goto local;
	if ((rc = layer_map(r, path, mapped, sizeof(mapped))) < 0)
		return rc;
	if (rc == 1)
		p = mapped;
	*cls = layer_classify(r, p);
	if (*cls == LAYER_REMOTE_RO || *cls == LAYER_REMOTE_RW) {
		/* "/" itself is the root; nothing is appended. */
		if ((size_t)snprintf(out, sz, "%s%s", r->root,
		    strcmp(p, "/") == 0 ? "" : p) >= sz)
			return -ENAMETOOLONG;
		return 0;
	}
local:
	if ((size_t)snprintf(out, sz, "%s", p) >= sz)
		return -ENAMETOOLONG;
	return 0;
}
