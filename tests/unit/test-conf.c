/*
 * Unit tests for the configuration loader (lib/conf.c): a misspelt or
 * unknown setting and a value of the wrong type are errors that name the
 * file and line (with a suggestion for a misspelling), a good file
 * loads, and the shipped conf/mirror.conf holds every setting with the
 * value conf_defaults() gives it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "tap.h"

static char dir[] = "/tmp/mirror-test-conf.XXXXXX";
static char conf_path[sizeof(dir) + 16];
static char log_path[sizeof(dir) + 16];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Loads text as a configuration; the logged message in msg. */
static int
load_text(const char *text, struct mirror_conf *c, char *msg, size_t size)
{
	FILE *f;
	size_t n;
	int rc;

	write_file(conf_path, text);
	write_file(log_path, "");
	conf_defaults(c);
	rc = conf_load(c, conf_path);
	msg[0] = '\0';
	if ((f = fopen(log_path, "r")) != NULL) {
		n = fread(msg, 1, size - 1, f);
		msg[n] = '\0';
		fclose(f);
	}
	return rc;
}

static int
has(const char *msg, const char *want)
{
	if (strstr(msg, want) != NULL)
		return 1;
	diag("wanted \"%s\" in: %s", want, msg);
	return 0;
}

static void
test_errors(void)
{
	struct mirror_conf c;
	char msg[1024], want[256];
	int rc;

	rc = load_text("fs = {\n  mode = \"ro\";\n  attr_timout = 2.0;\n};\n",
	    &c, msg, sizeof(msg));
	snprintf(want, sizeof(want), "%s:3: fs.attr_timout: unknown setting; "
	    "did you mean fs.attr_timeout?", conf_path);
	ok(rc == -EINVAL && has(msg, want), "misspelt key: file, line, "
	    "suggestion");

	rc = load_text("log = { level = \"info\"; };\nfss = { mode = \"rw\"; };\n",
	    &c, msg, sizeof(msg));
	snprintf(want, sizeof(want), "%s:2: fss: unknown group; did you mean "
	    "fs?", conf_path);
	ok(rc == -EINVAL && has(msg, want), "misspelt group: suggestion");

	rc = load_text("kube = { frobnicate_everything = 1; };\n", &c, msg,
	    sizeof(msg));
	snprintf(want, sizeof(want), "%s:1: kube.frobnicate_everything: "
	    "unknown setting\n", conf_path);
	ok(rc == -EINVAL && has(msg, want), "unknown key: no suggestion");

	rc = load_text("\nfs = {\n  attr_timeout = \"1\";\n};\n", &c, msg,
	    sizeof(msg));
	snprintf(want, sizeof(want), "%s:3: fs.attr_timeout: must be a number",
	    conf_path);
	ok(rc == -EINVAL && has(msg, want), "string for a number");

	rc = load_text("net = { dns = 1; };\n", &c, msg, sizeof(msg));
	snprintf(want, sizeof(want), "%s:1: net.dns: must be true or false",
	    conf_path);
	ok(rc == -EINVAL && has(msg, want), "number for a boolean");

	rc = load_text("agent = { image = 3; };\n", &c, msg, sizeof(msg));
	ok(rc == -EINVAL && has(msg, "agent.image: must be a string"),
	    "number for a string");

	rc = load_text("net = { routes = \"10.0.0.0/8\"; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL && has(msg, "net.routes: must be a list"),
	    "string for a list");

	rc = load_text("fs = { attr_timeout = 99999.0; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL && has(msg, "out of range"), "out of range");

	rc = load_text("fs = { mode = \"local\";\n  mapping = ( [ \"^/d/(.*)$\", "
	    "\"/app/\\\\1\" ], [ \"/x\", \"/y\" ] );\n"
	    "  not_found = [ \"~/.aws\" ]; };\n", &c, msg, sizeof(msg));
	ok(rc == 0 && c.fs_layer_mode == CONF_FS_LOCAL && c.fs_rw == 0 &&
	    c.fs_nmapping == 2 && strcmp(c.fs_mapping[0][1], "/app/\\1") == 0 &&
	    strcmp(c.fs_mapping[1][0], "/x") == 0 && c.fs_not_found.n == 1 &&
	    strcmp(c.fs_not_found.v[0], "~/.aws") == 0,
	    "the layer's mode, mapping and lists load");
	rc = load_text("fs = { mapping = ( [ \"/only-one\" ] ); };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL && has(msg, ":1: fs.mapping[0] must be"),
	    "a mapping without its replacement");
	rc = load_text("fs = {\n local = [ \"/a\\tb\" ]; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL && has(msg, ":2: fs.local[0] must be"),
	    "a pattern with a control character");
	rc = load_text("fs = { mode = \"write\"; };\n", &c, msg, sizeof(msg));
	ok(rc == 0 && c.fs_rw == 1 && c.fs_layer_mode == CONF_FS_WRITE,
	    "fs.mode write is a read-write mount");

	rc = load_text("fs = { attr_timeout = 2; mode = \"rw\"; };\n"
	    "net = { dns = false; routes = [ \"10.96.0.0/12\" ]; };\n",
	    &c, msg, sizeof(msg));
	ok(rc == 0 && c.fs_attr_timeout == 2.0 && c.fs_rw == 1 &&
	    c.net_dns == 0 && c.net_nroutes == 1 &&
	    strcmp(c.net_routes[0], "10.96.0.0/12") == 0, "a good file loads");

	rc = load_text("env = { include = [ \"DB_*\" ]; exclude = [ \"A?\", "
	    "\"B\" ];\n  override = { LOG = \"x y\"; EMPTY = \"\"; }; };\n",
	    &c, msg, sizeof(msg));
	ok(rc == 0 && c.env_ninclude == 1 && c.env_nexclude == 2 &&
	    strcmp(c.env_exclude[0], "A?") == 0 && c.env_noverride == 2 &&
	    strcmp(c.env_override[0], "LOG=x y") == 0 &&
	    strcmp(c.env_override[1], "EMPTY=") == 0,
	    "env: patterns, and override as a group");
	rc = load_text("env = { override = [ \"A=1=2\" ]; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == 0 && c.env_noverride == 1 &&
	    strcmp(c.env_override[0], "A=1=2") == 0, "env.override as a list");
	rc = load_text("env = { override = [ \"NOVALUE\" ]; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL && has(msg, ":1: env.override: each entry"),
	    "env.override: an entry without '=' names its line");
	rc = load_text("env = { override = { A = 1; }; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL, "env.override: a value that is not a string");
	rc = load_text("env = { exclude = \"A\"; };\n", &c, msg, sizeof(msg));
	ok(rc == -EINVAL && has(msg, "env.exclude: must be a list"),
	    "env.exclude: a string for a list");
}

/* The incoming group: the mode, port lists and port_mapping. */
static void
test_incoming(void)
{
	struct mirror_conf c;
	char msg[1024];
	int rc;

	rc = load_text("incoming = { mode = \"steal\"; ports = [ 80, 8080 ]; "
	    "ignore_ports = [ 9229 ]; port_mapping = ( [8080, 80], "
	    "[3000, 443] ); };\n", &c, msg, sizeof(msg));
	ok(rc == 0 && c.incoming_mode == CONF_IN_STEAL &&
	    c.incoming_nports == 2 && c.incoming_ports[1] == 8080 &&
	    c.incoming_nignore == 1 && c.incoming_ignore[0] == 9229 &&
	    c.incoming_nmapping == 2 && c.incoming_mapping[1][0] == 3000 &&
	    c.incoming_mapping[1][1] == 443, "incoming: a full group loads");
	rc = load_text("incoming = { mode = \"off\"; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == 0 && c.incoming_mode == CONF_IN_OFF, "incoming.mode off");
	ok(c.incoming_flush == 0, "incoming.flush_connections: false unless set");
	rc = load_text("incoming = { flush_connections = true; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == 0 && c.incoming_flush == 1 &&
	    c.incoming_mode == CONF_IN_MIRROR, "incoming.flush_connections");
	rc = load_text("incoming = { flush_connections = 1; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL, "incoming.flush_connections: not a bool");
	rc = load_text("incoming = { mode = \"stael\"; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL && has(msg, "incoming.mode must be"),
	    "incoming.mode: an unknown mode");
	rc = load_text("incoming = { ports = [ 0 ]; };\n", &c, msg,
	    sizeof(msg));
	ok(rc == -EINVAL && has(msg, "incoming.ports[0] must be a port"),
	    "incoming.ports: port 0");
	rc = load_text("incoming = { ignore_ports = [ 65536 ]; };\n", &c,
	    msg, sizeof(msg));
	ok(rc == -EINVAL, "incoming.ignore_ports: port 65536");
	rc = load_text("incoming = { port_mapping = ( [8080] ); };\n", &c,
	    msg, sizeof(msg));
	ok(rc == -EINVAL && has(msg, "incoming.port_mapping[0] must be"),
	    "incoming.port_mapping: one port, not two");
	rc = load_text("incoming = { port_mapping = ( [\"a\", 80] ); };\n",
	    &c, msg, sizeof(msg));
	ok(rc == -EINVAL, "incoming.port_mapping: a string for a port");
	ok(conf_incoming_mode("mirror") == CONF_IN_MIRROR &&
	    conf_incoming_mode("x") == -EINVAL, "conf_incoming_mode");
}

/* conf/mirror.conf as built (configure makes it from mirror.conf.in). */
static void
test_shipped(void)
{
	struct mirror_conf want, got;
	const char *builddir = getenv("MIRROR_BUILDDIR");
	char path[4096];
	int i;

	snprintf(path, sizeof(path), "%s/conf/mirror.conf",
	    builddir ? builddir : ".");
	conf_defaults(&want);
	/* Every field away from its default, so that one the file does not
	 * set shows as a difference. */
	conf_defaults(&got);
	snprintf(got.log_level, sizeof(got.log_level), "x");
	got.fs_rw = 2;
	got.fs_attr_timeout = got.fs_entry_timeout = -1;
	got.fs_negative_timeout = got.fs_request_timeout = -1;
	got.fs_max_read_kb = got.fs_readahead_kb = -1;
	got.fs_max_inflight = got.fs_write_behind_kb = -1;
	got.fs_max_nodes = -1;
	got.fs_nallow_users = -1;
	got.fs_nremote = -1;
	got.agent_workers = -1;
	got.agent_connect_timeout = -1;
	snprintf(got.agent_image, sizeof(got.agent_image), "x");
	got.agent_job = 2;
	got.agent_idle_ttl = -1;
	got.agent_port = -1;
	snprintf(got.kubectl, sizeof(got.kubectl), "x");
	snprintf(got.net_tun_name, sizeof(got.net_tun_name), "x");
	snprintf(got.net_tun_range, sizeof(got.net_tun_range), "x");
	snprintf(got.net_tun_range6, sizeof(got.net_tun_range6), "x");
	got.net_dns = 2;
	got.net_udp_idle = -1;
	got.net_nroutes = got.net_nnever = -1;
	got.env_ninclude = got.env_nexclude = got.env_noverride = -1;
	got.fs_layer_mode = -1;
	got.fs_nmapping = -1;
	got.fs_read_only.n = got.fs_read_write.n = got.fs_local.n = -1;
	got.fs_not_found.n = -1;
	memset(&got.fs_default_local, 0, sizeof(got.fs_default_local));
	memset(&got.fs_default_remote, 0, sizeof(got.fs_default_remote));
	memset(&got.fs_default_not_found, 0, sizeof(got.fs_default_not_found));
	got.incoming_mode = -1;
	got.incoming_nports = got.incoming_nignore = -1;
	got.incoming_nmapping = -1;

	ok(conf_load(&got, path) == 0, "%s loads", path);
#define SAME_NUM(f) ok(got.f == want.f, "mirror.conf: " #f " = %g, default " \
	"%g", (double)got.f, (double)want.f)
#define SAME_STR(f) ok(strcmp(got.f, want.f) == 0, "mirror.conf: " #f \
	" = \"%s\", default \"%s\"", got.f, want.f)
	SAME_STR(log_level);
	SAME_NUM(fs_rw);
	SAME_NUM(fs_attr_timeout);
	SAME_NUM(fs_entry_timeout);
	SAME_NUM(fs_negative_timeout);
	SAME_NUM(fs_request_timeout);
	SAME_NUM(fs_max_read_kb);
	SAME_NUM(fs_readahead_kb);
	SAME_NUM(fs_max_inflight);
	SAME_NUM(fs_write_behind_kb);
	SAME_NUM(fs_max_nodes);
	SAME_NUM(fs_nallow_users);
	SAME_NUM(fs_nremote);
	SAME_NUM(agent_workers);
	SAME_NUM(agent_connect_timeout);
	SAME_STR(agent_image);
	SAME_NUM(agent_job);
	SAME_NUM(agent_idle_ttl);
	SAME_NUM(agent_port);
	SAME_STR(kubectl);
	SAME_STR(net_tun_name);
	SAME_STR(net_tun_range);
	SAME_STR(net_tun_range6);
	SAME_NUM(net_dns);
	SAME_NUM(net_udp_idle);
	SAME_NUM(net_nroutes);
	SAME_NUM(net_nnever);
	SAME_NUM(env_ninclude);
	SAME_NUM(env_nexclude);
	SAME_NUM(env_noverride);
	SAME_NUM(fs_layer_mode);
	SAME_NUM(fs_nmapping);
	SAME_NUM(fs_read_only.n);
	SAME_NUM(fs_local.n);
	SAME_NUM(fs_default_local.n);
	SAME_NUM(fs_default_remote.n);
	SAME_NUM(fs_default_not_found.n);
	SAME_NUM(incoming_mode);
	SAME_NUM(incoming_nports);
	SAME_NUM(incoming_nignore);
	SAME_NUM(incoming_nmapping);
	for (i = 0; i < want.fs_default_local.n && i < got.fs_default_local.n;
	    i++)
		SAME_STR(fs_default_local.v[i]);
	for (i = 0; i < want.net_nroutes && i < got.net_nroutes; i++)
		SAME_STR(net_routes[i]);
	/* A field added to struct mirror_conf and not compared above makes
	 * the structs differ here. */
	ok(memcmp(&got, &want, sizeof(got)) == 0,
	    "mirror.conf: the whole struct equals the defaults");
}

/* The index of a setting in the key table, for the trace. */
static int
setting_index(const struct conf_trace *t, const char *name)
{
	char *line = NULL, *buf = NULL;
	size_t n, cap = 0;
	FILE *f;
	int i = -1, k = 0;

	/* The table's order is config show's: find name in its output. */
	if ((f = open_memstream(&buf, &n)) == NULL)
		return -1;
	conf_show(f, t);
	fclose(f);
	f = fmemopen(buf, n, "r");
	while (f != NULL && getline(&line, &cap, f) > 0) {
		if (line[0] == '#')
			continue;
		if (strncmp(line, name, strlen(name)) == 0 &&
		    line[strlen(name)] == ' ') {
			i = k;
			break;
		}
		k++;
	}
	if (f != NULL)
		fclose(f);
	free(line);
	free(buf);
	return i;
}

/* The layers: system, user, project (nearest .mirror/ upward), then
 * the explicit file; later wins per setting, the trace says which file
 * and renders each value; a project file others may write is left out;
 * a bad layer fails the load. */
static void
test_layers(void)
{
	char sys[300], home[300], user[300], proj[300], pfile[400], deep[300];
	char cwd[4096], msg[1024];
	struct mirror_conf *c = calloc(1, sizeof(*c));
	struct conf_trace *t = calloc(1, sizeof(*t));
	int i;

	if (c == NULL || t == NULL || getcwd(cwd, sizeof(cwd)) == NULL)
		exit(1);
	snprintf(sys, sizeof(sys), "%s/sys.conf", dir);
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(user, sizeof(user), "%s/home/.config/mirror/mirror.conf",
	    dir);
	snprintf(proj, sizeof(proj), "%s/proj/.mirror", dir);
	snprintf(pfile, sizeof(pfile), "%s/mirror.conf", proj);
	snprintf(deep, sizeof(deep), "%s/proj/a/b", dir);
	snprintf(msg, sizeof(msg), "mkdir -p %s/home/.config/mirror %s %s "
	    "&& chmod 755 %s %s/proj", dir, proj, deep, proj, dir);
	if (system(msg) != 0)
		exit(1);
	write_file(sys, "fs = { attr_timeout = 5.0; };\n"
	    "agent = { port = 7000; workers = 2; };\n");
	write_file(user, "fs = { attr_timeout = 6.0; };\n"
	    "agent = { workers = 3; };\n");
	write_file(pfile, "fs = { attr_timeout = 7.5; };\n"
	    "net = { never_route = [ \"10.1.0.0/16\" ]; };\n"
	    "env = { override = { A = \"b\"; }; };\n");
	write_file(conf_path, "agent = { port = 7001; };\n");
	chmod(sys, 0644);
	chmod(user, 0644);
	chmod(pfile, 0644);
	setenv("MIRROR_SYSTEM_CONFIG", sys, 1);
	setenv("HOME", home, 1);
	unsetenv("XDG_CONFIG_HOME");
	if (chdir(deep) < 0)
		exit(1);

	conf_defaults(c);
	ok(conf_load_traced(c, conf_path, t) == 0, "four layers load");
	ok(c->fs_attr_timeout == 7.5 && c->agent_workers == 3 &&
	    c->agent_port == 7001 && c->net_nnever == 1 &&
	    c->fs_entry_timeout == 1.0, "later layers win per setting");
	ok(strcmp(t->file[CONF_LAYER_SYSTEM], sys) == 0 &&
	    strcmp(t->file[CONF_LAYER_USER], user) == 0 &&
	    strcmp(t->file[CONF_LAYER_PROJECT], pfile) == 0 &&
	    strcmp(t->file[CONF_LAYER_EXPLICIT], conf_path) == 0,
	    "the trace names each layer's file");
	i = setting_index(t, "fs.attr_timeout");
	ok(i >= 0 && t->layer[i] == CONF_LAYER_PROJECT &&
	    strcmp(t->value[i], "7.5") == 0, "fs.attr_timeout from the "
	    "project, as 7.5");
	i = setting_index(t, "agent.workers");
	ok(i >= 0 && t->layer[i] == CONF_LAYER_USER &&
	    strcmp(t->value[i], "3") == 0, "agent.workers from the user");
	i = setting_index(t, "net.never_route");
	ok(i >= 0 && strcmp(t->value[i], "[ \"10.1.0.0/16\" ]") == 0,
	    "a list rendered: %s", i >= 0 ? t->value[i] : "?");
	i = setting_index(t, "env.override");
	ok(i >= 0 && strcmp(t->value[i], "{ A = \"b\"; }") == 0,
	    "a group rendered: %s", i >= 0 ? t->value[i] : "?");
	i = setting_index(t, "fs.entry_timeout");
	ok(i >= 0 && t->layer[i] == CONF_LAYER_BUILTIN, "an unset setting "
	    "is built-in");

	/* Others may write the project's directory: it is not used. */
	chmod(proj, 0757);
	conf_defaults(c);
	memset(t, 0, sizeof(*t));
	ok(conf_load_traced(c, NULL, t) == 0 && c->fs_attr_timeout == 6.0 &&
	    t->file[CONF_LAYER_PROJECT][0] == '\0', "a project file others "
	    "may write is ignored");
	chmod(proj, 0755);

	/* A bad user file fails every load, naming its line. */
	write_file(user, "agent = {\n  wokers = 3;\n};\n");
	write_file(log_path, "");
	conf_defaults(c);
	ok(conf_load(c, NULL) == -EINVAL, "a bad layer fails the load");
	ok(conf_check_file(user) == -EINVAL, "config check of it fails");
	ok(conf_check_file(sys) == 0, "config check of a good file");

	if (chdir(cwd) < 0)
		exit(1);
	snprintf(msg, sizeof(msg), "rm -rf %s/home %s/proj %s", dir, dir, sys);
	if (system(msg) != 0)
		exit(1);
	unsetenv("MIRROR_SYSTEM_CONFIG");
	setenv("HOME", dir, 1);
	free(c);
	free(t);
}

int
main(void)
{
	int fd;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(conf_path, sizeof(conf_path), "%s/mirror.conf", dir);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	write_file(log_path, "");
	if ((fd = open(log_path, O_WRONLY | O_APPEND)) < 0) {
		perror(log_path);
		return 1;
	}
	log_init("test-conf", LOG_LVL_WARN);
	log_set_fd(fd);
	/* Only the layers a test writes. */
	setenv("MIRROR_SYSTEM_CONFIG", "/nonexistent/mirror.conf", 1);
	setenv("HOME", dir, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("MIRROR_CONFIG");

	test_errors();
	test_incoming();
	test_shipped();
	test_layers();

	unlink(conf_path);
	unlink(log_path);
	rmdir(dir);
	return done_testing();
}
