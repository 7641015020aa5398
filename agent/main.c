/*
 * mirror-agent: serves one target (a process's root, or a directory) to
 * mirror clients over a websocket. The service thread checks each
 * message's header and the hello; file requests run on a worker pool,
 * network requests and streams on the network thread (net.c). Metadata
 * requests (lookup, getattr, xattrs) are served on the service thread
 * itself when the root is on a file system that does not block (ext4,
 * xfs, btrfs, overlayfs, tmpfs): no hand-off to a worker and back, a
 * thread wake-up less each way. Resolution then stays on the root's
 * mount (confine.h); a request that would leave it goes to a worker.
 *
 * Signals: SIGINT and SIGTERM are blocked from the start of main, so
 * every thread made later inherits the mask, and one thread takes them
 * with sigwait() and calls ws_stop(), which only sets a flag and wakes
 * the service loop with lws_cancel_service() (the one lws call another
 * thread may make). No code runs in signal context; a signal that comes
 * while the agent is still starting waits, pending, and stops it as soon
 * as it serves. SIGPIPE is ignored: a gone peer is an EPIPE.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "fs.h"
#include "hex.h"
#include "log.h"
#include "net.h"
#include "pool.h"
#include "proto.h"
#include "proto-fs.h"
#include "sha256.h"
#include "target.h"
#include "target-info.h"
#include "tlscert.h"
#include "token.h"
#include "ws.h"
#include "xmalloc.h"


#define AGENT_LANES_MAX	16

struct agent {
	struct agent_fs	 fs;
	struct pool	*pool;
	/* Requests with one order key run in order on one lane: a client
	 * answers some before they are done (write-behind) and sends the
	 * next ones about the same file. */
	struct pool	*lanes[AGENT_LANES_MAX];
	int		 nlanes;
	struct ws_ctx	*ws;
	struct agent_net *net;
	int		 pid;		/* the target process; 0: --root */
	/* The hello's key: SHA-256 of the token, which is all an agent
	 * started with --token-sha256 knows; the token itself is not kept. */
	uint8_t		 key[AUTH_KEY_LEN];
	/* Failed hellos are logged at most once a second (service thread). */
	double		 authfail_last;
	unsigned long	 authfail_quiet;
	/* --idle-ttl: exit once no authenticated client has been connected
	 * for so many seconds (0: never). Service thread only. */
	double		 idle_ttl;
	int		 nauthed;	/* authenticated connections */
	double		 idle_since;	/* monotonic; when nauthed became 0 */
	/* Metadata requests may be served on the service thread (the
	 * root's file system does not block); set once at start. */
	int		 inline_meta;
};

/* One client connection; freed when the connection and its jobs are gone. */
struct session {
	struct ws_conn	*conn;
	struct agent_files files;
	/* service thread only: the hello so far, and whether it is done */
	struct auth_state auth;
	int		 authed;
	int		 refused;	/* its failure is logged already */
	atomic_int	 refs;
	/* Made on the first network message; holds a reference on the
	 * session until the network thread is done with it. Service
	 * thread only. */
	struct agent_net_client *net;
	/* Gets the directory watch's events (made a file request).
	 * Service thread only. */
	int		 watching;
};

struct job {
	struct agent	*agent;
	struct session	*sess;
	uint8_t		*msg;
	size_t		 len;
};

static struct agent agent;

static void
session_unref(struct session *s)
{
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) > 1)
		return;
	agent_files_close_all(&s->files);
	ws_conn_unref(s->conn);
	x_free(s);
}

/* The network thread is done with the session's streams. */
static void
session_net_release(void *arg)
{
	session_unref(arg);
}

static void
on_open(struct ws_conn *conn, void *arg)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->conn = conn;
	ws_conn_ref(conn);
	agent_files_init(&s->files);
	s->refs = 1;
	ws_conn_set_data(conn, s);
	/* Not at info: before its hello a connection costs no log line. */
	log_debug("client %s connected", ws_conn_peer(conn));
}

/*
 * A failed or abandoned hello. Anyone who reaches the port can cause
 * one, so the log gets at most one line a second, saying how many were
 * left out since the last.
 */
static void
authfail_log(const char *peer, const char *why)
{
	double t = mono_now();

	if (t - agent.authfail_last < 1.0) {
		agent.authfail_quiet++;
		return;
	}
	if (agent.authfail_quiet > 0)
		log_warnx("client %s: authentication failed: %s (and %lu more "
		    "failed hellos in the last %.0f s)", peer, why,
		    agent.authfail_quiet, t - agent.authfail_last);
	else
		log_warnx("client %s: authentication failed: %s", peer, why);
	agent.authfail_last = t;
	agent.authfail_quiet = 0;
}

static void
on_close(struct ws_conn *conn, const char *why, void *arg)
{
	struct session *s = ws_conn_data(conn);

	if (s == NULL)
		return;
	if (s->authed) {
		log_info("client %s disconnected: %s", ws_conn_peer(conn), why);
		if (--agent.nauthed == 0)
			agent.idle_since = mono_now();
	} else if (!s->refused)
		authfail_log(ws_conn_peer(conn), why);
	auth_clear(&s->auth);
	if (s->watching) {
		fs_watch_unsubscribe(agent.fs.watch, conn);
		ws_conn_unref(conn);
	}
	ws_conn_set_data(conn, NULL);
	if (s->net != NULL) {
		agent_net_detach(agent.net, s->net);
		s->net = NULL;
	}
	session_unref(s);
}

/*
 * Serves j and sends its reply. on_service: the service thread serves
 * it itself, resolving on the root's mount only; if that had to stop at
 * a mount point, nothing is sent, j is kept and 1 returned (the caller
 * gives it to a worker, which serves it from the start: these requests
 * change nothing).
 */
static int
serve_job(struct job *j, int on_service)
{
	struct proto_hdr h;
	struct proto_cur c;
	struct proto_buf out;
	int rc;

	/* The header was checked on the service thread. */
	(void)proto_hdr_decode(j->msg, j->len, &h, &c);
	proto_buf_init(&out, proto_fs_reply_size_hint(h.op, &c));
	confine_same_mount = on_service;
	confine_crossed = 0;
	if (h.op == OP_TARGET_INFO)
		rc = agent_target_info_serve(&j->agent->fs, j->agent->pid, &h,
		    &c, &out);
	else
		rc = agent_fs_serve(&j->agent->fs, &j->sess->files, &h, &c,
		    &out);
	confine_same_mount = 0;
	if (on_service && confine_crossed) {
		proto_buf_free(&out);
		return 1;
	}
	if (rc == 0 && (rc = proto_finish(&out)) == 0) {
		ws_send(j->sess->conn, out.data, out.len);
		out.data = NULL;
	} else {
		log_warnx("client %s: malformed %s request (id %u); closing "
		    "the connection", ws_conn_peer(j->sess->conn),
		    proto_op_name(h.op), h.id);
		ws_close(j->sess->conn, "malformed request");
	}
	proto_buf_free(&out);
	x_free(j->msg);
	session_unref(j->sess);
	x_free(j);
	return 0;
}

static void
run_job(void *arg)
{
	(void)serve_job(arg, 0);
}

/* A request the service thread may serve itself: one that only looks
 * (by path: an open file's handle may be on any mount), and is not
 * ordered behind others. */
static int
serve_on_service(const struct proto_hdr *h)
{
	if (!agent.inline_meta || h->status != 0)
		return 0;
	switch (h->op) {
	case OP_LOOKUP:
	case OP_GETATTR:
	case OP_GETXATTR:
	case OP_LISTXATTR:
		return 1;
	}
	return 0;
}

/* File systems whose lookups and stats wait for a local disk at most. */
#define FS_EXT4_MAGIC		0xEF53
#define FS_XFS_MAGIC		0x58465342
#define FS_BTRFS_MAGIC		0x9123683E
#define FS_OVERLAY_MAGIC	0x794C7630
#define FS_TMPFS_MAGIC		0x01021994

static int
fs_never_blocks(int fd, const char **name)
{
	static const struct {
		unsigned long	 magic;
		const char	*name;
	} ok[] = {
		{ FS_EXT4_MAGIC, "ext4" }, { FS_XFS_MAGIC, "xfs" },
		{ FS_BTRFS_MAGIC, "btrfs" }, { FS_OVERLAY_MAGIC, "overlayfs" },
		{ FS_TMPFS_MAGIC, "tmpfs" },
	};
	struct statfs sf;
	size_t i;

	if (fstatfs(fd, &sf) < 0)
		return 0;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if ((unsigned long)sf.f_type == ok[i].magic) {
			*name = ok[i].name;
			return 1;
		}
	return 0;
}

/* The directory watch's events to one connection (fs-watch.h). */
static void
watch_send(void *conn, uint8_t *msg, size_t len)
{
	(void)ws_send(conn, msg, len);
}

/* Sends a hello step built in out (and frees it). */
static void
send_built(struct session *s, struct proto_buf *out)
{
	if (proto_finish(out) == 0) {
		ws_send(s->conn, out->data, out->len);
		out->data = NULL;
	}
	proto_buf_free(out);
}

/*
 * The hello (proto.h): the client's nonce and session id, answered with
 * ours and our proof; then the client's proof, answered with a welcome
 * or a refusal. Nothing else is accepted until the client's proof
 * checked, and nothing after it is a hello.
 */
static int
handle_hello(struct session *s, const struct proto_hdr *h,
    struct proto_cur *c, const char **why)
{
	struct proto_buf out;
	int rc;

	if (s->authed) {
		*why = "a second hello on an authenticated connection";
		return -EPROTO;
	}
	proto_buf_init(&out, 128);
	if (s->auth.step == 0) {
		rc = auth_agent_hello(&s->auth, agent.key, h, c, &out);
		if (rc < 0) {
			proto_buf_free(&out);
			*why = "malformed hello";
			return rc;
		}
		send_built(s, &out);
		return 0;
	}
	rc = auth_agent_proof(&s->auth, h, c);
	if (rc == -EACCES) {
		auth_agent_welcome(&out, EACCES, 0, NULL);
		send_built(s, &out);
		authfail_log(ws_conn_peer(s->conn), "wrong proof of the token");
		s->refused = 1;
		ws_close(s->conn, "authentication failed");
		return 0;
	}
	if (rc < 0) {
		proto_buf_free(&out);
		*why = "malformed proof in the hello";
		return rc;
	}
	s->authed = 1;
	agent.nauthed++;
	/* Before the welcome: off the list of connections that must
	 * authenticate in time. */
	ws_conn_authenticated(s->conn);
	auth_agent_welcome(&out, 0, (agent.fs.writable ? CAP_WRITE : 0) |
	    (agent.fs.watch != NULL ? CAP_WATCH : 0) | CAP_NET | CAP_INCOMING,
	    "mirror-agent " PACKAGE_VERSION);
	send_built(s, &out);
	log_info("client %s authenticated (session %02x%02x%02x%02x)",
	    ws_conn_peer(s->conn), s->auth.sid[0], s->auth.sid[1],
	    s->auth.sid[2], s->auth.sid[3]);
	auth_clear(&s->auth);
	return 0;
}

static int
on_message(struct ws_conn *conn, const uint8_t *msg, size_t len,
    const char **why, void *arg)
{
	static char vwhy[128];
	struct session *s = ws_conn_data(conn);
	struct proto_hdr h;
	struct proto_cur c;
	struct job *j;
	int rc;

	if (s == NULL)
		return -ENOTCONN;
	/* Refused: its close is on the way behind the refusal; whatever it
	 * pipelined meanwhile is dropped unread. */
	if (s->refused)
		return 0;
	rc = proto_hdr_decode(msg, len, &h, &c);
	if (rc < 0) {
		switch (rc) {
		case -EPROTONOSUPPORT:
			/* Service thread only: why is used before the next. */
			snprintf(vwhy, sizeof(vwhy), "protocol version %u from "
			    "the client, this agent speaks %u: use the same "
			    "mirror version on both sides", len > 0 ? msg[0] : 0,
			    PROTO_VERSION);
			*why = vwhy;
			break;
		case -EMSGSIZE:
			*why = "oversized payload length";
			break;
		case -EOPNOTSUPP:
			*why = "unknown operation";
			break;
		default:
			*why = len < PROTO_HDR_LEN ? "truncated header" :
			    "payload length does not match the message";
			break;
		}
		return rc;
	}
	if (h.kind == MSG_HELLO)
		return handle_hello(s, &h, &c, why);
	if (!s->authed) {
		*why = "request before a successful hello";
		return -EACCES;
	}
	if (h.kind == MSG_STREAM ||
	    (h.kind == MSG_REQUEST && agent_net_serves(h.op))) {
		if (s->net == NULL) {
			atomic_fetch_add_explicit(&s->refs, 1,
			    memory_order_acq_rel);
			s->net = agent_net_attach(agent.net, conn,
			    session_net_release, s);
		}
		return agent_net_submit(agent.net, s->net, &h, msg, len, why);
	}
	if (h.kind != MSG_REQUEST) {
		*why = "unexpected message kind";
		return -EBADMSG;
	}
	if (!s->watching && h.op != OP_TARGET_INFO) {
		s->watching = 1;
		ws_conn_ref(conn);
		fs_watch_subscribe(agent.fs.watch, conn);
	}
	j = xmalloc(sizeof(*j));
	j->agent = &agent;
	j->sess = s;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_acq_rel);
	j->msg = xmalloc(len);
	memcpy(j->msg, msg, len);
	j->len = len;
	/* A request's status field is its order key. */
	if (h.status != 0)
		pool_submit(agent.lanes[h.status % (uint32_t)agent.nlanes],
		    run_job, j);
	else if (!serve_on_service(&h) || serve_job(j, 1) != 0)
		pool_submit(agent.pool, run_job, j);
	return 0;
}

/* Service thread, about once a second: the idle exit. */
static void
on_tick(void *arg)
{
	if (agent.idle_ttl <= 0 || agent.nauthed > 0 ||
	    mono_now() - agent.idle_since < agent.idle_ttl)
		return;
	log_info("no client for %g s; exiting", agent.idle_ttl);
	ws_stop(agent.ws);
}

static const struct ws_handlers handlers = {
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
	.on_tick = on_tick,
};

/* The signal thread: see the top of the file. */
static void *
signal_main(void *arg)
{
	const sigset_t *sigs = arg;
	int sig;

	while (sigwait(sigs, &sig) != 0)
		;
	log_info("signal %d: stopping", sig);
	ws_stop(agent.ws);
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: mirror-agent --listen HOST:PORT (--token-file FILE | --token-sha256 HEX)\n"
"                    (--target-pid PID | --target-container-id ID | --root DIR)\n"
"                    [options]\n"
"\n"
"Serves one target's files to mirror clients over a websocket. Prints\n"
"\"ready ws://HOST:PORT\" on stdout once it accepts connections (PORT 0\n"
"picks a free port), or with --tls \"ready wss://HOST:PORT sha256=HEX\",\n"
"HEX being the fingerprint clients pin (mirrorctl mount --fingerprint).\n"
"Every path is resolved inside the target's root.\n"
"\n"
"  --listen HOST:PORT   address to listen on (127.0.0.1; in a pod,\n"
"                       0.0.0.0 or the pod's IP)\n"
"  --tls                serve wss:// with a self-signed certificate made\n"
"                       at start (needed off loopback)\n"
"  --insecure-plaintext allow ws:// on an address other than loopback:\n"
"                       anyone on the path can read and change the\n"
"                       traffic\n"
"  --token-file FILE    the session token; clients must present it\n"
"  --token-sha256 HEX   instead of --token-file: the SHA-256 of the token\n"
"                       (64 hex digits), so that a pod spec never holds\n"
"                       the token itself\n"
"  --target-pid PID     serve /proc/PID/root (a container's process)\n"
"  --target-container-id ID\n"
"                       serve the root of the container with this ID\n"
"                       (containerd://ID, cri-o://ID, docker://ID,\n"
"                       podman://ID or at least 12 hex digits of it); the\n"
"                       agent must see the host's processes (hostPID)\n"
"  --root DIR           serve a directory\n"
"  --rw                 serve writes too (default: read-only; every write\n"
"                       is answered EROFS)\n"
"  --idle-ttl SECONDS   exit (status 0) once no authenticated client has\n"
"                       been connected for SECONDS, counted from the start\n"
"                       and from the last client's disconnect (default 0:\n"
"                       never)\n"
"  --config FILE        configuration (default: the installed mirror.conf)\n"
"  --workers N          threads for file syscalls (agent.workers)\n"
"  --watch-max N        watch at most N directories for changes and tell\n"
"                       the clients (pushed invalidation, long caches;\n"
"                       default 16384; 0: none, the clients keep to short\n"
"                       timeouts)\n"
"  --log-level LEVEL    error, warn, info or debug\n"
"  -h, --help           this help\n");
}

/* A command-line mistake: one line saying what, and exit status 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mirror-agent: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see mirror-agent --help)\n", stderr);
	exit(2);
}

/* True for a numeric loopback address (127/8, ::1, ::ffff:127/104): the
 * only addresses served in clear without --insecure-plaintext. */
static int
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 't' },
		{ "token-sha256", required_argument, NULL, 'H' },
		{ "target-pid", required_argument, NULL, 'p' },
		{ "target-container-id", required_argument, NULL, 'C' },
		{ "root", required_argument, NULL, 'r' },
		{ "rw", no_argument, NULL, 'W' },
		{ "idle-ttl", required_argument, NULL, 'I' },
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "watch-max", required_argument, NULL, 'M' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "tls", no_argument, NULL, 'S' },
		{ "insecure-plaintext", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mirror_conf conf;
	const char *listen = NULL, *token_file = NULL, *token_hash = NULL;
	const char *root = NULL, *pid_arg = NULL, *container = NULL;
	const char *config = NULL, *level = NULL, *ttl_arg = NULL;
	char host[256], proc[64], cid[TARGET_ID_MAX + 1];
	char full_id[TARGET_ID_MAX + 1], fphex[TLSCERT_FP_HEX_LEN + 1];
	struct tlscert cert;
	static sigset_t sigs;	/* read by the signal thread */
	pthread_t sigthr;
	char *end;
	long v;
	int watch_max = FS_WATCH_MAX_DEFAULT;
	int ch, i, pid = 0, rw = 0, port, tls, bound = 0, workers = 0, rc;
	int use_tls = 0, plaintext_ok = 0;

	log_init("mirror-agent", LOG_LVL_INFO);
	/* Before any thread: they all inherit the mask (top of file). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': listen = optarg; break;
		case 't': token_file = optarg; break;
		case 'H': token_hash = optarg; break;
		case 'p': pid_arg = optarg; break;
		case 'C': container = optarg; break;
		case 'r': root = optarg; break;
		case 'W': rw = 1; break;
		case 'I': ttl_arg = optarg; break;
		case 'c': config = optarg; break;
		case 'w': workers = atoi(optarg); break;
		case 'M': watch_max = atoi(optarg); break;
		case 'L': level = optarg; break;
		case 'S': use_tls = 1; break;
		case 'P': plaintext_ok = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc)
		usage_error("unexpected argument \"%s\"", argv[optind]);
	if (listen == NULL)
		usage_error("--listen HOST:PORT is required");
	if ((token_file != NULL) == (token_hash != NULL))
		usage_error("give exactly one of --token-file and "
		    "--token-sha256");
	if ((pid_arg != NULL) + (container != NULL) + (root != NULL) != 1)
		usage_error("give exactly one of --target-pid, "
		    "--target-container-id and --root");
	if (pid_arg != NULL) {
		errno = 0;
		v = strtol(pid_arg, &end, 10);
		if (errno || end == pid_arg || *end != '\0' || v <= 0 ||
		    v > 0x7fffffff)
			usage_error("--target-pid wants a process ID, got "
			    "\"%s\"", pid_arg);
		pid = (int)v;
	}
	if (container != NULL &&
	    agent_target_parse_id(container, cid, sizeof(cid)) < 0)
		usage_error("--target-container-id wants containerd://ID, "
		    "cri-o://ID, docker://ID, podman://ID or an ID of %d to %d "
		    "hex digits, got \"%s\"", TARGET_ID_MIN, TARGET_ID_MAX,
		    container);
	/* Never echo the hash back: it is as good as a token to a
	 * brute-force search of short tokens. */
	if (token_hash != NULL &&
	    hex_decode(token_hash, agent.key, SHA256_LEN, '\0') < 0)
		usage_error("--token-sha256 wants 64 hex digits (the SHA-256 "
		    "of the token)");
	if (token_hash != NULL) {
		uint8_t empty[SHA256_LEN];

		/* No client has an empty token: this is a mistake. */
		sha256("", 0, empty);
		if (memcmp(empty, agent.key, sizeof(empty)) == 0)
			usage_error("--token-sha256 is the SHA-256 of an empty "
			    "token");
	}
	if (ttl_arg != NULL) {
		errno = 0;
		agent.idle_ttl = strtod(ttl_arg, &end);
		if (errno || end == ttl_arg || *end != '\0' ||
		    !isfinite(agent.idle_ttl) || agent.idle_ttl < 0)
			usage_error("--idle-ttl wants seconds (0: never), got "
			    "\"%s\"", ttl_arg);
	}
	if (daemon_configure(&conf, config, level) < 0)
		return DAEMON_EXIT_FAIL;
	if (workers <= 0)
		workers = conf.agent_workers;

	if (ws_parse_url(listen, host, sizeof(host), &port, &tls) < 0 || tls)
		fatalx("--listen wants HOST:PORT, got \"%s\"", listen);
	if (use_tls && plaintext_ok)
		usage_error("--tls and --insecure-plaintext exclude each other");
	/* Loopback stays plaintext: local agents (pid/, podman/, docker/,
	 * demo) and Kubernetes ones, which listen on the pod's loopback
	 * behind kubectl port-forward (tunnelled through the API server's
	 * TLS). Anything else crosses a network. */
	if (!use_tls && !plaintext_ok && !is_loopback(host))
		usage_error("refusing to serve in clear on %s, which is not a "
		    "loopback address: add --tls (clients pin the fingerprint "
		    "printed on the ready line), or --insecure-plaintext if "
		    "everything on the path is trusted", host);
	if (token_file != NULL) {
		char token[PROTO_TOKEN_MAX + 1];

		if ((rc = token_read_file(token_file, token,
		    sizeof(token))) < 0)
			fatalx("cannot read the token file %s: %s", token_file,
			    token_strerror(rc));
		auth_key_from_token(token, strlen(token), agent.key);
		explicit_bzero(token, sizeof(token));
	}

	if (container != NULL) {
		rc = agent_target_find_container(cid, &pid, full_id,
		    sizeof(full_id));
		if (rc == -ESRCH)
			fatalx("no process of container %s is visible: the "
			    "container must be running, and the agent must run "
			    "in the host's PID namespace (Kubernetes: hostPID: "
			    "true; podman, docker: --pid host)", cid);
		if (rc == -EEXIST)
			fatalx("more than one container's ID starts with %s; "
			    "give more of it", cid);
		if (rc < 0)
			fatalx("cannot look for container %s in /proc: %s", cid,
			    strerror(-rc));
		log_info("container %.12s is process %d", full_id, pid);
	}
	if (pid > 0) {
		snprintf(proc, sizeof(proc), "/proc/%d", pid);
		if (access(proc, F_OK) != 0)
			fatalx("target process %d is gone (no %s); check the "
			    "PID", pid, proc);
	}
	if ((rc = agent_fs_open_root(&agent.fs, root, pid)) < 0) {
		if (root)
			fatalx("cannot open the root %s: %s", root,
			    strerror(-rc));
		fatalx("cannot open /proc/%d/root: %s%s", pid, strerror(-rc),
		    rc == -EACCES || rc == -EPERM ?
		    " (serving another process needs root, and in a "
		    "container CAP_SYS_PTRACE)" : "");
	}

	agent.fs.writable = rw;
	{
		const char *fsname = NULL, *env = getenv("MIRROR_AGENT_INLINE");

		/* MIRROR_AGENT_INLINE=0: always the pool (bench/fs compares). */
		agent.inline_meta = fs_never_blocks(agent.fs.rootfd, &fsname) &&
		    (env == NULL || strcmp(env, "0") != 0);
		if (agent.inline_meta)
			log_info("metadata of the root's mount (%s) served on "
			    "the service thread", fsname);
	}
	/* Pushed invalidation: the directories served are watched. */
	if (watch_max > 0)
		agent.fs.watch = fs_watch_new(&agent.fs,
		    (unsigned int)watch_max, watch_send);
	agent.pid = pid;
	agent.net = agent_net_new(&agent.fs, pid);
	/* Modes from clients were masked by the client's kernel already. */
	umask(0);

	agent.pool = pool_new(workers);
	agent.nlanes = workers < AGENT_LANES_MAX ? workers : AGENT_LANES_MAX;
	for (i = 0; i < agent.nlanes; i++)
		agent.lanes[i] = pool_new(1);
	if (use_tls) {
		struct ws_tls_id id;

		if (tlscert_make(&cert, "mirror-agent") < 0)
			fatalx("cannot make a TLS certificate (libcrypto "
			    "failed)");
		id.cert_pem = cert.cert_pem;
		id.cert_len = cert.cert_len;
		id.key_pem = cert.key_pem;
		id.key_len = cert.key_len;
		agent.ws = ws_server_new_tls(host, port, &id, &handlers, NULL,
		    &bound);
		tlscert_fp_hex(cert.fp, fphex);
		tlscert_free(&cert);	/* the SSL context holds its copy */
	} else {
		if (!is_loopback(host))
			log_warnx("serving in clear on %s (--insecure-"
			    "plaintext): anyone on the path can read and "
			    "change the traffic", host);
		agent.ws = ws_server_new(host, port, &handlers, NULL, &bound);
	}
	if (agent.ws == NULL)
		fatalx("cannot listen on %s: address in use or not on this "
		    "machine", listen);
	if ((rc = pthread_create(&sigthr, NULL, signal_main, &sigs)) != 0)
		fatalx("cannot start the signal thread: %s", strerror(rc));
	pthread_detach(sigthr);
	log_info("serving %s%s%s on %s:%d", pid ? "the root of process " : "",
	    pid ? proc + 6 : root, rw ? " read-write" : " read-only", host,
	    bound);
	/* Scripts parse this line: keep "ready ws://HOST:PORT" as it is,
	 * and add to it, never rename. */
	if (use_tls && strchr(host, ':'))
		printf("ready wss://[%s]:%d sha256=%s\n", host, bound, fphex);
	else if (use_tls)
		printf("ready wss://%s:%d sha256=%s\n", host, bound, fphex);
	else if (strchr(host, ':'))
		printf("ready ws://[%s]:%d\n", host, bound);
	else
		printf("ready ws://%s:%d\n", host, bound);
	fflush(stdout);

	agent.idle_since = mono_now();
	if (agent.idle_ttl > 0)
		log_info("exiting after %g s without a client", agent.idle_ttl);
	ws_run(agent.ws);
	log_info("shutting down");
	/* Workers finish first: they still queue replies on connections. */
	for (i = 0; i < agent.nlanes; i++)
		pool_free(agent.lanes[i]);
	pool_free(agent.pool);
	/* The network thread stops before the connections go; their
	 * on_close then releases what it kept of them. */
	agent_net_stop(agent.net);
	ws_ctx_free(agent.ws);
	agent_net_free(agent.net);
	close(agent.fs.rootfd);
	explicit_bzero(agent.key, sizeof(agent.key));
	return 0;
}
