/*
 * libFuzzer harness for the agent's symlink confinement
 * (agent_fs_confine_link in agent/confine.c, the real function) over a
 * scratch root made at start: a few directories and links, one of them
 * pointing above the root and one absolute. The input is a link path
 * and a target separated by a NUL byte. Whatever comes back must be a
 * relative target that, walked from the link's directory, never climbs
 * above the root; the function must never write out of bounds (ASan).
 *
 * FUZZ-SOURCES: agent/confine.c lib/proto.c lib/log.c lib/xmalloc.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/fs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct agent_fs fs;
static char out[PROTO_PATH_MAX + 1];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/fuzz-confine.XXXXXX";

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL || chdir(dir) < 0 ||
	    mkdir("a", 0755) < 0 || mkdir("a/b", 0755) < 0 ||
	    mkdir("a/b/c", 0755) < 0 || mkdir("etc", 0755) < 0 ||
	    symlink("../..", "a/b/up") < 0 || symlink("/a", "abs") < 0 ||
	    symlink("loop", "loop") < 0 || symlink("b/c", "a/cl") < 0 ||
	    symlink("/", "a/b/c/root") < 0 || chdir("/") < 0 ||
	    agent_fs_open_root(&fs, dir, 0) < 0) {
		perror("fuzz-confine: scratch root");
		exit(1);
	}
	return 0;
}

static void
check(const char *link, const char *target)
{
	char dir[PROTO_PATH_MAX + 2], *save = NULL, *t, *copy;
	int depth = 0;

	if (out[0] == '/' || out[0] == '\0') {
		fprintf(stderr, "fuzz-confine: '%s' -> '%s' gave '%s'\n", link,
		    target, out);
		abort();
	}
	/* Depth of the link's directory, ".." lexically (as mountd's
	 * paths are, directories only). */
	snprintf(dir, sizeof(dir), "%s", link);
	if ((t = strrchr(dir, '/')) != NULL)
		*t = '\0';
	for (t = strtok_r(dir, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, "..") == 0)
			depth -= depth > 0;
		else if (strcmp(t, ".") != 0)
			depth++;
	}
	copy = strdup(out);
	save = NULL;
	for (t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, "..") == 0 && --depth < 0) {
			fprintf(stderr, "fuzz-confine: '%s' -> '%s' gave '%s', "
			    "above the root\n", link, target, out);
			abort();
		} else if (strcmp(t, "..") != 0 && strcmp(t, ".") != 0)
			depth++;
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	char *link, *target;
	size_t ll;
	int rc;

	if (nul == NULL)
		return 0;
	ll = (size_t)(nul - data);
	link = malloc(ll + 2);
	link[0] = '/';
	memcpy(link + 1, data, ll);
	link[ll + 1] = '\0';
	target = strndup((const char *)nul + 1, size - ll - 1);
	if (strlen(target) > 0 && strlen(link) == ll + 1) {
		rc = agent_fs_confine_link(&fs, link, target, out, sizeof(out));
		if (rc == 0)
			check(link, target);
		else if (rc != -ENAMETOOLONG && rc != -ENOENT &&
		    rc != -ELOOP && rc != -ENOTDIR) {
			fprintf(stderr, "fuzz-confine: unexpected %d\n", rc);
			abort();
		}
	}
	free(link);
	free(target);
	return 0;
}
