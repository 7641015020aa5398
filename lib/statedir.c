/*
 * The state directory (statedir.h), for mirrorctl and the demo helper.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "statedir.h"

#define STATE_DIR_DEFAULT	"/run/mirror"

const char *
state_dir(const char *prog)
{
	static char dir[PATH_MAX];
	const char *env;

	if (dir[0] == '\0') {
		env = getenv("MIRROR_STATE_DIR");
		snprintf(dir, sizeof(dir), "%s", env && *env ? env :
		    STATE_DIR_DEFAULT);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			fprintf(stderr, "%s: cannot create %s: %s%s\n", prog,
			    dir, strerror(errno), errno == EACCES ?
			    " (run as root, or set MIRROR_STATE_DIR)" : "");
	}
	return dir;
}
