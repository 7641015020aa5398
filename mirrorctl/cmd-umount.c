/*
 * mirrorctl umount: unmounts a mirror mount and stops what mount
 * started, also when mountd died and left "Transport endpoint is not
 * connected" behind.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "mirrorctl.h"
#include "run.h"
#include "mountinfo.h"
#include "agent.h"
#include "session.h"

/* How long mountd gets to answer what is in flight and exit. */
#define MOUNTD_STOP_MS	3000

static int cmd_umount_exec(int, char **);

const struct cmd_entry cmd_umount_entry = {
	.name = "umount",
	.usage = "umount MOUNTPOINT",
	.summary = "Unmount a mirror mount and stop its daemons.",
	.help =
"Works whether mountd is alive or died. A busy mount (a process has\n"
"files open in it) is left mounted with an error that says so; use\n"
"--lazy to detach it anyway.\n"
"\n"
"Options:\n"
"  -l, --lazy   detach even when busy (umount -l)\n",
	.exec = cmd_umount_exec,
};

/* fusermount3 -u (-uz: lazy) of an ordinary user's mount: 0, or -1
 * after saying why. */
static int
user_unmount(const char *abs, int lazy)
{
	const char *argv[] = { "fusermount3", lazy ? "-uz" : "-u", "--",
		abs, NULL };
	struct run_result r;
	int rc = 0;

	if (run_capture(argv, NULL, MOUNTD_STOP_MS * 2, &r) != 0) {
		if (strstr(r.err, "busy"))
			rc = ctl_fail("%s is busy: a process has files open "
			    "there (see: fuser -vm %s); close them, or use "
			    "--lazy", abs, abs);
		else
			rc = ctl_fail("cannot unmount %s: %s", abs, r.status ==
			    127 ? "no fusermount3 (apt-get install fuse3)" :
			    r.err);
	}
	run_result_free(&r);
	return rc;
}

static int
cmd_umount_exec(int argc, char **argv)
{
	struct session s;
	struct mountinfo mi;
	char abs[PATH_MAX], type[128];
	int i, lazy = 0, have_session, mounted, rc = 0;
	const char *mp = NULL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			ctl_usage(&cmd_umount_entry);
			return 0;
		} else if (strcmp(argv[i], "-l") == 0 ||
		    strcmp(argv[i], "--lazy") == 0)
			lazy = 1;
		else if (mp == NULL)
			mp = argv[i];
		else
			return ctl_fail("usage: mirrorctl %s",
			    cmd_umount_entry.usage);
	}
	if (mp == NULL)
		return ctl_fail("usage: mirrorctl %s", cmd_umount_entry.usage);
	/* Lexically: realpath() fails on a mount whose daemon died. */
	if (session_abspath(mp, abs) < 0)
		return ctl_fail("%s: bad path", mp);
	have_session = session_find(abs, &s) == 0;
	mounted = mountinfo_find(abs, &mi) == 0;
	snprintf(type, sizeof(type), "%s", mounted ? mi.fstype : "");
	if (mounted && strncmp(type, "fuse.mirror", 11) != 0 && !have_session)
		return ctl_fail("%s is a %s mount, not a mirror mount", abs,
		    type);
	if (!mounted && !have_session)
		return ctl_fail("%s is not a mirror mount (see: mirrorctl "
		    "status)", abs);

	if (mounted && geteuid() != 0) {
		/* An ordinary user's FUSE mount: fusermount3 unmounts it
		 * (umount2 is root's). */
		if (user_unmount(abs, lazy) < 0 && !have_session)
			return -1;
	} else if (mounted) {
		if (umount2(abs, 0) < 0) {
			if (errno == EBUSY && !lazy)
				return ctl_fail("%s is busy: a process has "
				    "files open there (see: fuser -vm %s); "
				    "close them, or use --lazy", abs, abs);
			if (umount2(abs, MNT_DETACH) < 0) {
				rc = ctl_fail("cannot unmount %s: %s%s", abs,
				    strerror(errno), errno == EPERM ?
				    " (run as root)" : "");
				if (!have_session)
					return rc;
			}
		}
	}
	if (have_session) {
		/* Each only if it is still the process mount started (the
		 * session's load dropped the others). */
		session_stop_proc(s.mountd_pid, s.mountd_start,
		    MOUNTD_STOP_MS);
		ctl_agent_stop(&s);
		session_remove(&s);
	}
	if (rc == 0)
		printf("unmounted %s\n", abs);
	return rc;
}
