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
#include <unistd.h>

#include "statedir.h"

#define STATE_DIR_DEFAULT	"/run/mirror"

const char *
state_dir(const char *prog)
{
	static char dir[PATH_MAX];
	const char *env;

	if (dir[0] == '\0') {
		env = getenv("MIRROR_STATE_DIR");
		if (env && *env)
			snprintf(dir, sizeof(dir), "%s", env);
		else if (geteuid() == 0)
			snprintf(dir, sizeof(dir), "%s", STATE_DIR_DEFAULT);
		else if ((env = getenv("XDG_RUNTIME_DIR")) != NULL &&
		    env[0] == '/')
			/* an ordinary user's sessions: theirs alone */
			snprintf(dir, sizeof(dir), "%s/mirror", env);
		else
			snprintf(dir, sizeof(dir), "/run/user/%u/mirror",
			    (unsigned int)geteuid());
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			fprintf(stderr, "%s: cannot create %s: %s%s\n", prog,
			    dir, strerror(errno), errno == EACCES ?
			    " (set XDG_RUNTIME_DIR or MIRROR_STATE_DIR)" : "");
	}
	return dir;
}
