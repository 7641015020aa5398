/*
 * libFuzzer harness for the layer's rules file (layer/rules.c), which
 * libmirror-layer.so reads at load from a file in a directory the user
 * may write: the input is a rules file, then after a NUL byte the paths
 * (one a line) to decide for. The parser must refuse or accept within
 * its bounds, and every decision must hold: a path normalised has no
 * empty, "." or ".." component; a remote path's answer lies under the
 * root; an answer always fits and ends inside its buffer.
 *
 * FUZZ-SOURCES: layer/rules.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layer/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_normal(const char *p)
{
	if (p[0] != '/' || strstr(p, "//") != NULL || strstr(p, "/./") != NULL ||
	    strstr(p, "/../") != NULL)
		abort();
	size_t n = strlen(p);
	if (n > 1 && (p[n - 1] == '/' || (n >= 2 && strcmp(p + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(p + n - 3, "/..") == 0)))
		abort();
}

static void
check_path(const struct layer_rules *r, const char *path)
{
	static const size_t sizes[] = { PATH_MAX, 64, 2 };
	char norm[PATH_MAX], out[PATH_MAX];
	enum layer_class cls;
	size_t i;

	if (layer_normalise(path, norm, sizeof(norm)) < 0)
		return;
	check_normal(norm);
	/* not_found comes first, outside the mount, without mappings. */
	if (r->nmaps == 0 && r->rootlen > 1 &&
	    (strncmp(norm, r->root, r->rootlen) != 0 ||
	    (norm[r->rootlen] != '/' && norm[r->rootlen] != '\0')) &&
	    layer_rules_in(r, LAYER_T_NOT_FOUND, norm) &&
	    layer_rules_resolve(r, norm, out, sizeof(out), &cls) == 0 &&
	    cls != LAYER_NOT_FOUND)
		abort();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(out, 'x', sizeof(out));
		if (layer_rules_resolve(r, norm, out, sizes[i], &cls) < 0)
			continue;
		if (memchr(out, '\0', sizes[i]) == NULL)
			abort();
		if ((cls == LAYER_REMOTE_RO || cls == LAYER_REMOTE_RW) &&
		    (strncmp(out, r->root, r->rootlen) != 0 ||
		    (out[r->rootlen] != '/' && out[r->rootlen] != '\0')))
			abort();
		if (cls == LAYER_LOCAL && out[0] != '/')
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct layer_rules r;
	const char *text = (const char *)data, *nul;
	char *paths, *p, *save = NULL;
	size_t tlen = size;
	int line, rc;

	if ((nul = memchr(data, '\0', size)) != NULL)
		tlen = (size_t)(nul - text);
	memset(&r, 0, sizeof(r));
	rc = layer_rules_parse(&r, text, tlen, "/home/user", &line);
	if (rc == 0 && (r.rootlen == 0 || r.root[0] != '/'))
		abort();
	if (getenv("MIRROR_FUZZ_EXPECT_VALID") != NULL && rc != 0)
		abort();
	if (rc == 0) {
		(void)layer_rules_add_prefix(&r, LAYER_T_DEF_LOCAL, "/tmp");
		check_path(&r, "/");
		check_path(&r, "/app/config.yaml");
		check_path(&r, "/usr/lib/x.so.1");
		if (nul != NULL && (paths = strndup(nul + 1,
		    size - tlen - 1)) != NULL) {
			for (p = strtok_r(paths, "\n", &save); p != NULL;
			    p = strtok_r(NULL, "\n", &save))
				check_path(&r, p);
			free(paths);
		}
	}
	layer_rules_free(&r);
	return 0;
}
