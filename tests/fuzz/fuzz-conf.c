/*
 * libFuzzer harness for the configuration loader (lib/conf*.c): a
 * project's .mirror/mirror.conf comes with a cloned repository, so a
 * root mirrorctl reads files others wrote. Each input is loaded as the
 * --config layer over the defaults (no other layer: the system and user
 * paths point nowhere, the working directory is /), then shown as
 * "mirrorctl config show" prints it. Every list stays within its array,
 * every string within its field, and the rendered values within
 * CONF_VALUE_MAX.
 *
 * FUZZ-SOURCES: lib/conf.c lib/conf-lists.c lib/conf-filter.c lib/conf-show.c lib/conf-builtin.c lib/log.c lib/httpfilter.c lib/proto-target.c lib/pathname.c lib/proto.c lib/xmalloc.c lib/envmap.c
 * FUZZ-FLAGS: -lconfig -lpthread
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/conf.h"
#include "../../lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's scanner leaks its string buffer when a syntax error
 * follows a string ("a = [ "x" } );"): once per failed parse, in a
 * program that parses at start-up only; not this code's to fix. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static char path[] = "/tmp/mirror-fuzz-conf.XXXXXX";
static struct mirror_conf conf;
static struct conf_trace trace;
static FILE *devnull;

static void
setup(void)
{
	int fd;

	if (devnull != NULL)
		return;
	if ((fd = mkstemp(path)) < 0)
		abort();
	close(fd);
	setenv("MIRROR_SYSTEM_CONFIG", "/nonexistent/mirror.conf", 1);
	setenv("HOME", "/nonexistent", 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("MIRROR_CONFIG");
	if (chdir("/") < 0)
		abort();
	devnull = fopen("/dev/null", "w");
	log_init("fuzz-conf", LOG_LVL_ERROR);
}

static void
check_str(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f;
	int i;

	setup();
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	conf_defaults(&conf);
	memset(&trace, 0, sizeof(trace));
	if (conf_load_traced(&conf, path, &trace) == 0)
		conf_show(devnull, &trace);
	(void)conf_check_file(path);
	if (conf.net_nroutes > CONF_CIDRS_MAX || conf.net_nnever > CONF_CIDRS_MAX ||
	    conf.net_nlocal > CONF_LOCAL_MAX || conf.env_ninclude > CONF_ENV_MAX ||
	    conf.env_nexclude > CONF_ENV_MAX || conf.env_noverride > CONF_ENV_MAX ||
	    conf.fs_nmapping > CONF_MAPPINGS_MAX ||
	    conf.fs_nremote > CONF_REMOTE_MAX ||
	    conf.fs_nallow_users > CONF_USERS_MAX ||
	    conf.fs_local.n > CONF_PATTERNS_MAX ||
	    conf.incoming_nports > CONF_PORTS_MAX ||
	    conf.incoming_nmapping > CONF_PORTS_MAX ||
	    conf.incoming_filter_len > sizeof(conf.incoming_filter))
		abort();
	check_str(conf.log_level, sizeof(conf.log_level));
	check_str(conf.agent_image, sizeof(conf.agent_image));
	check_str(conf.kubectl, sizeof(conf.kubectl));
	check_str(conf.net_tun_name, sizeof(conf.net_tun_name));
	check_str(conf.net_tun_range, sizeof(conf.net_tun_range));
	for (i = 0; i < CONF_SETTINGS_MAX; i++)
		check_str(trace.value[i], sizeof(trace.value[i]));
	return 0;
}
