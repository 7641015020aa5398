/*
 * tests/layer-calls: calls the libc functions that reach paths inside
 * glibc (where a preload hooking open or opendir alone would miss
 * them) and prints what they answer, one line each, for t-layer-exec
 * to compare with the pod's own view. Run under the layer (through
 * tests/layer-exec); it knows nothing of the layer itself.
 *
 * usage: layer-calls scandir|scandirat|nftw|ftw|glob|handle|pathconf|
 *            remove ARG
 *        layer-calls spawn|spawnp|execl|execlp PROGRAM [ARG]
 *        layer-calls spawn-open PROGRAM FILE   (FILE as its stdin)
 * Exits 0, or 1 with the errno's name on stdout where a call failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int
failed(const char *what)
{
	printf("%s: %s\n", what, strerrorname_np(errno));
	return 1;
}

static int
show_nftw(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	printf("%s %s\n", p, p + f->base);
	return 0;
}

static int
show_ftw(const char *p, const struct stat *sb, int flag)
{
	(void)sb;
	(void)flag;
	printf("%s\n", p);
	return 0;
}

static int
no_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static int
scan(const char *dir, int at)
{
	struct dirent **list;
	int n, i;

	n = at ? scandirat(AT_FDCWD, dir, &list, no_dots, alphasort) :
	    scandir(dir, &list, no_dots, alphasort);
	if (n < 0)
		return failed("scandir");
	for (i = 0; i < n; i++) {
		printf("%s\n", list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return 0;
}

/* Runs prog (argv prog [arg]) with posix_spawn[p], its stdin from
 * file if not NULL; prints its exit status. */
static int
spawn(int p, char **argv, const char *file)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, e;

	posix_spawn_file_actions_init(&fa);
	if (file != NULL && (e = posix_spawn_file_actions_addopen(&fa, 0, file,
	    O_RDONLY, 0)) != 0) {
		errno = e;
		return failed("addopen");
	}
	e = p ? posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) :
	    posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		errno = e;
		return failed("posix_spawn");
	}
	fflush(stdout);
	if (waitpid(pid, &st, 0) < 0)
		return failed("waitpid");
	printf("exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[1] : "", *arg = argv[2];
	char *sub[3] = { argv[2], argc > 3 ? argv[3] : NULL, NULL };
	glob_t g;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(cmd, "scandir") == 0 || strcmp(cmd, "scandirat") == 0)
		return scan(arg, cmd[7] == 'a');
	if (strcmp(cmd, "nftw") == 0)
		return nftw(arg, show_nftw, 8, FTW_PHYS) < 0 ?
		    failed("nftw") : 0;
	if (strcmp(cmd, "ftw") == 0)
		return ftw(arg, show_ftw, 8) < 0 ? failed("ftw") : 0;
	if (strcmp(cmd, "glob") == 0) {
		int rc = glob(arg, 0, NULL, &g);

		if (rc != 0) {
			printf("glob: %s\n", rc == GLOB_NOMATCH ? "NOMATCH" :
			    "error");
			return 1;
		}
		for (i = 0; i < g.gl_pathc; i++)
			printf("%s\n", g.gl_pathv[i]);
		globfree(&g);
		return 0;
	}
	if (strcmp(cmd, "handle") == 0) {
		struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
		int mount_id;

		h->handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, arg, h, &mount_id, 0) < 0)
			return failed("name_to_handle_at");
		printf("ok\n");
		free(h);
		return 0;
	}
	if (strcmp(cmd, "pathconf") == 0) {
		errno = 0;
		if (pathconf(arg, _PC_NAME_MAX) < 0)
			return failed("pathconf");
		printf("ok\n");
		return 0;
	}
	if (strcmp(cmd, "remove") == 0)
		return remove(arg) < 0 ? failed("remove") : (printf("ok\n"), 0);
	if (strcmp(cmd, "spawn") == 0 || strcmp(cmd, "spawnp") == 0)
		return spawn(cmd[5] == 'p', sub, NULL);
	if (strcmp(cmd, "spawn-open") == 0 && argc > 3) {
		sub[1] = NULL;
		return spawn(0, sub, argv[3]);
	}
	if (strcmp(cmd, "execl") == 0)
		execl(arg, arg, sub[1], (char *)NULL);
	else if (strcmp(cmd, "execlp") == 0)
		execlp(arg, arg, sub[1], (char *)NULL);
	else {
		fprintf(stderr, "usage: layer-calls CALL ARG...\n");
		return 2;
	}
	return failed(cmd);
}
