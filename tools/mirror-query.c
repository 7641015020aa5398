/*
 * mirror-query: asks an agent one question for mirrorctl, which links
 * neither libwebsockets nor libcrypto. It connects and authenticates as
 * mountd and netd do (lib/client.c: the token file, the pinned
 * fingerprint of a wss:// agent), sends OP_TARGET_INFO, checks the reply
 * with the typed decoder and prints it in proto-target.h's line format.
 * A helper program, not a command users type: in pkglibexecdir.
 * Exit status: 0, 1 with one line on stderr saying why, 2 for a usage
 * mistake.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "conf.h"
#include "log.h"
#include "proto-target.h"
#include "token.h"
#include "xmalloc.h"

#define PROG	"mirror-query"

static int
ti_parse(void *arg, struct proto_cur *p)
{
	return proto_get_target_info(p, arg);
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --agent URL --token-file FILE [--fingerprint HEX]\n"
"                    [--config FILE] target-info\n"
"\n"
"Asks the agent at URL (ws://HOST:PORT or wss://HOST:PORT) about its\n"
"target and prints the answer, one item a line (hostname NAME, env\n"
"NAME=VALUE, volume PATH; bytes outside '!'..'~' and '%%' as %%XX).\n"
"Run by mirrorctl env and mirrorctl shell.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "token-file", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *url = NULL, *token_file = NULL, *fingerprint = NULL;
	const char *config = NULL, *why = NULL;
	char token[PROTO_TOKEN_MAX + 1], *text;
	struct mirror_conf conf;
	struct target_info ti;
	struct client *cl;
	struct proto_buf b;
	int ch, rc, err, ret = 1;

	log_init(PROG, LOG_LVL_ERROR);
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': url = optarg; break;
		case 't': token_file = optarg; break;
		case 'F': fingerprint = optarg; break;
		case 'c': config = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (url == NULL || token_file == NULL || optind != argc - 1 ||
	    strcmp(argv[optind], "target-info") != 0) {
		usage(stderr);
		return 2;
	}
	conf_defaults(&conf);
	if (conf_load(&conf, config) < 0)
		return 1;
	if ((rc = token_read_file(token_file, token, sizeof(token))) < 0) {
		fprintf(stderr, PROG ": cannot read the token file %s: %s\n",
		    token_file, token_strerror(rc));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	cl = client_new(url, token, conf.fs_request_timeout, 4);
	explicit_bzero(token, sizeof(token));
	if (cl == NULL) {
		fprintf(stderr, PROG ": bad agent URL \"%s\"\n", url);
		return 2;
	}
	if (client_pin(cl, fingerprint, &why) < 0) {
		fprintf(stderr, PROG ": %s\n", why);
		client_free(cl);
		return 2;
	}
	rc = client_start(cl, conf.agent_connect_timeout, &why);
	if (rc < 0) {
		fprintf(stderr, PROG ": %s %s: %s\n", rc == -EACCES ||
		    rc == -EKEYREJECTED ? "refused by the agent at" :
		    "cannot reach the agent at", url, why);
		goto out;
	}
	memset(&ti, 0, sizeof(ti));
	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_REQUEST, OP_TARGET_INFO, 0, 0);
	err = client_call_wait(cl, &b, ti_parse, &ti);
	if (err == -EBADMSG)
		fprintf(stderr, PROG ": the agent at %s sent a malformed "
		    "description of its target\n", url);
	else if (err < 0)
		fprintf(stderr, PROG ": the agent at %s did not describe its "
		    "target: %s\n", url, strerror(-err));
	else {
		text = target_info_format(&ti);
		if (fputs(text, stdout) >= 0 && fflush(stdout) == 0)
			ret = 0;
		else
			fprintf(stderr, PROG ": writing the answer: %s\n",
			    strerror(errno));
		x_free(text);
		target_info_free(&ti);
	}
out:
	client_stop(cl);
	client_free(cl);
	return ret;
}
