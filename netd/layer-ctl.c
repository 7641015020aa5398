/*
 * The layer's line to netd (see layer-ctl.h): the thread that answers
 * the layer's requests (parsed by layer-ctl-parse.c). Each connection gets a
 * short-lived detached thread of its own (at most LAYER_CTL_CONNS_MAX at
 * once; beyond, the connection is closed unanswered and the layer goes
 * on as without netd), since a listen waits for the agent's answer and
 * another program's listen must not wait behind it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "incoming.h"
#include "layer-ctl.h"
#include "log.h"

/* Requests answered at once. */
#define LAYER_CTL_CONNS_MAX	32
/* A client silent so long is dropped. */
#define LAYER_CTL_READ_S	1

static int ctl_fd = -1;
static pthread_t ctl_thread;
static int ctl_started;
static _Atomic int ctl_conns;

/* ---- the answers ---- */

/* One line from fd into buf (at most LAYER_CTL_LINE_MAX bytes): its
 * length, or -1 when the client sent none in time. */
static ssize_t
read_line(int fd, char *buf)
{
	size_t len = 0;
	ssize_t n;
	char *nl;

	while (len < LAYER_CTL_LINE_MAX) {
		n = read(fd, buf + len, LAYER_CTL_LINE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		if ((nl = memchr(buf, '\n', len)) != NULL)
			return nl - buf + 1;
	}
	return -1;
}

/* 1 when addr is the shell's own (netd connects there for each stolen
 * connection, and must not be sent anywhere else): loopback, or an
 * address a socket of this thread's namespace (the shell's) can bind. */
static int
shell_address(const struct sockaddr_storage *addr, socklen_t len)
{
	struct sockaddr_storage a = *addr;
	int fd, ok;

	if (a.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a;

		if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127)
			return 1;
		sin->sin_port = 0;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a;

		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		sin6->sin6_port = 0;
	}
	if ((fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = bind(fd, (struct sockaddr *)&a, len) == 0;
	close(fd);
	return ok;
}

static void *
conn_main(void *arg)
{
	struct layer_ctl_req r;
	char buf[LAYER_CTL_LINE_MAX + 1], out[32];
	ssize_t n;
	int fd = (int)(intptr_t)arg, rc;

	memset(buf, 0, sizeof(buf));
	if ((n = read_line(fd, buf)) < 0)
		goto out;
	if (layer_ctl_parse(buf, (size_t)n, &r) < 0) {
		log_warnx("layer: a malformed request from the shell; "
		    "ignored");
		goto out;
	}
	if (r.op == LAYER_CTL_LISTEN && !shell_address(&r.to, r.tolen)) {
		log_warnx("layer: a listener on port %u at an address not the "
		    "shell's; ignored", r.local);
		snprintf(out, sizeof(out), "err %d\n", EADDRNOTAVAIL);
	} else if (r.op == LAYER_CTL_BIND)
		snprintf(out, sizeof(out), "%s\n",
		    incoming_layer_takes(r.asked) ? "yes" : "no");
	else {
		rc = incoming_layer_listen(r.local, r.asked, &r.to, r.tolen,
		    LAYER_CTL_WAIT_S);
		if (rc < 0)
			snprintf(out, sizeof(out), "err %d\n", -rc);
		else
			snprintf(out, sizeof(out), "%s\n", rc ? "ok" : "no");
	}
	(void)!write(fd, out, strlen(out));
out:
	close(fd);
	ctl_conns--;
	return NULL;
}

static void *
ctl_main(void *arg)
{
	struct timeval tv = { LAYER_CTL_READ_S, 0 };
	pthread_attr_t attr;
	pthread_t t;
	int fd;

	(void)arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		if ((fd = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				if (errno != EINTR && errno != ECONNABORTED)
					usleep(10000);
				continue;
			}
			break;		/* layer_ctl_stop's shutdown */
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (ctl_conns >= LAYER_CTL_CONNS_MAX) {
			close(fd);
			continue;
		}
		ctl_conns++;
		if (pthread_create(&t, &attr, conn_main,
		    (void *)(intptr_t)fd) != 0) {
			ctl_conns--;
			close(fd);
		}
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

int
layer_ctl_start(void)
{
	struct sockaddr_un sun;
	socklen_t len;
	int rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* sun_path[0] stays '\0': the abstract namespace. */
	memcpy(sun.sun_path + 1, LAYER_CTL_NAME + 1,
	    sizeof(LAYER_CTL_NAME) - 2);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    sizeof(LAYER_CTL_NAME) - 1);
	if ((ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (bind(ctl_fd, (struct sockaddr *)&sun, len) < 0 ||
	    listen(ctl_fd, 64) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = pthread_create(&ctl_thread, NULL, ctl_main, NULL)) != 0) {
		rc = -rc;
		goto fail;
	}
	ctl_started = 1;
	return 0;
fail:
	close(ctl_fd);
	ctl_fd = -1;
	return rc;
}

void
layer_ctl_stop(void)
{
	int i;

	if (!ctl_started)
		return;
	ctl_started = 0;
	(void)shutdown(ctl_fd, SHUT_RDWR);
	pthread_join(ctl_thread, NULL);
	close(ctl_fd);
	ctl_fd = -1;
	/* The answering threads use the agent's client, which goes after
	 * this: they stop waiting for it, and are waited for (a read or a
	 * write of theirs times out in LAYER_CTL_READ_S). */
	incoming_layer_off();
	for (i = 0; ctl_conns > 0 && i < LAYER_CTL_READ_S * 200 + 100; i++)
		usleep(5000);
}
