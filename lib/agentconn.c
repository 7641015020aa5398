/*
 * The start-up connection of mirror-mountd and mirror-netd to their
 * agent, written once: both daemons say the same thing, with the same
 * exit code, for a bad URL, a bad pin, a refused certificate, a refused
 * token and an agent that does not answer.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "agentconn.h"
#include "daemon.h"
#include "log.h"
#include "startup.h"
#include "token.h"

void
agentconn_init(struct agentconn *ac, const char *prog, const char *url,
    const char *fingerprint, const char *token_file,
    const struct mirror_conf *conf)
{
	int rc;

	memset(ac, 0, sizeof(*ac));
	ac->prog = prog;
	ac->url = url;
	ac->fingerprint = fingerprint;
	ac->request_timeout = conf->fs_request_timeout;
	ac->max_inflight = conf->fs_max_inflight;
	ac->connect_timeout = conf->agent_connect_timeout;
	if ((rc = token_read_file(token_file, ac->token,
	    sizeof(ac->token))) < 0)
		fatalx("cannot read the token file %s: %s", token_file,
		    token_strerror(rc));
}

int
agentconn_start(struct agentconn *ac, int wfd, struct client **clp)
{
	struct client *cl;
	const char *why = "";
	int rc, ret;

	*clp = NULL;
	cl = client_new(ac->url, ac->token, ac->request_timeout,
	    ac->max_inflight);
	explicit_bzero(ac->token, sizeof(ac->token));
	if (cl == NULL)
		return startup_fail(wfd, ac->prog, DAEMON_EXIT_USAGE,
		    "bad agent URL \"%s\" (want ws://HOST:PORT)", ac->url);
	if (client_pin(cl, ac->fingerprint, &why) < 0) {
		ret = startup_fail(wfd, ac->prog, DAEMON_EXIT_USAGE, "%s",
		    why);
		goto out;
	}
	if (ac->on_stream != NULL || ac->on_link != NULL)
		client_set_stream_handler(cl, ac->on_stream, ac->on_link,
		    ac->stream_arg);
	rc = client_start(cl, ac->connect_timeout, &why);
	if (rc == -EKEYREJECTED)
		ret = startup_fail(wfd, ac->prog, DAEMON_EXIT_AUTH,
		    "refusing %s", why);
	else if (rc == -EACCES)
		ret = startup_fail(wfd, ac->prog, DAEMON_EXIT_AUTH,
		    "authentication failed: %s (check --token-file)", why);
	else if (rc < 0)
		ret = startup_fail(wfd, ac->prog, DAEMON_EXIT_UNREACHABLE,
		    "agent unreachable after %.0f s: %s (is mirror-agent "
		    "running and the address right?)", ac->connect_timeout,
		    why);
	else if ((client_caps(cl) & ac->caps) != ac->caps)
		ret = startup_fail(wfd, ac->prog, DAEMON_EXIT_AGENT_CAPS, "%s",
		    ac->caps_missing);
	else {
		*clp = cl;
		return 0;
	}
	client_stop(cl);
out:
	client_free(cl);
	return ret;
}
