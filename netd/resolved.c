/*
 * systemd-resolved registration of the DNS stub (see resolved.h): the
 * calls of org.freedesktop.resolve1.Manager that "resolvectl dns",
 * "resolvectl domain" and "resolvectl revert" make, each bounded by a
 * short timeout so a stuck bus cannot hold netd's start-up. The domains
 * come from the pod: a single-label one (a top-level domain such as
 * "com") is never routed, nor one equal to, above or below a search
 * domain of this machine's own resolv.conf (where resolved lists every
 * link's), or the pod would answer lookups this machine makes elsewhere.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "localmatch.h"
#include "log.h"
#include "procfs.h"
#include "resolved.h"
#include "xmalloc.h"

#define RESOLVE1_NAME	"org.freedesktop.resolve1"
#define RESOLVE1_PATH	"/org/freedesktop/resolve1"
#define RESOLVE1_MANAGER "org.freedesktop.resolve1.Manager"
#define RESOLVE1_NO_SUCH_LINK "org.freedesktop.resolve1.NoSuchLink"
/* Each call, and the wait for the link below: the whole registration
 * stays well inside the time mirrorctl connect waits for netd's ready
 * line, however stuck the bus is. */
#define RESOLVED_CALL_USEC	(1000 * 1000)
/* resolved learns of a new link from rtnetlink, a moment after it
 * appears: until then it answers NoSuchLink. */
#define RESOLVED_LINK_WAIT_MS	2000
#define RESOLVED_LINK_POLL_MS	50
#define RESOLVED_WHY_MAX	256
#define OWN_RESOLV_CONF	"/etc/resolv.conf"
#define OWN_RESOLV_CONF_MAX 65536

/* Filled by resolved_register before the watcher starts; from then on
 * ifindex, dev, stub and the domain lists do not change and are read
 * freely, while tried, registered and why change (record(): the main
 * thread, then the watcher) under lock, as status_write (the relay
 * thread) reads them. */
static struct {
	pthread_mutex_t	 lock;
	int		 tried;
	int		 registered;
	int		 ifindex;
	char		 dev[64];
	char		 stub[INET_ADDRSTRLEN];
	char		 domains[RESOLVED_DOMAINS_MAX][DNS_NAME_MAX + 1];
	int		 ndomains;
	char		 refused[RESOLVED_DOMAINS_MAX][DNS_NAME_MAX + 1];
	char		 refused_why[RESOLVED_DOMAINS_MAX][DNS_NAME_MAX + 48];
	int		 nrefused;
	char		 why[RESOLVED_WHY_MAX];
} RS = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* This machine's search domains, from its resolv.conf, through the same
 * reader as the pod's (localmatch_pod_search). */
static void
own_domains_load(struct localmatch *own)
{
	char *text = xmalloc(OWN_RESOLV_CONF_MAX);
	ssize_t len;

	localmatch_init(own);
	if ((len = read_small_file(OWN_RESOLV_CONF, text,
	    OWN_RESOLV_CONF_MAX)) > 0)
		localmatch_pod_search(own, text, (size_t)len);
	x_free(text);
}

/* 1 if a is b or a name under b, case aside. */
static int
domain_within(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na < nb || strcasecmp(a + na - nb, b) != 0)
		return 0;
	return na == nb || a[na - nb - 1] == '.';
}

static void
domains_refuse(const char *d, const char *why)
{
	if (RS.nrefused == RESOLVED_DOMAINS_MAX)
		return;
	snprintf(RS.refused[RS.nrefused], DNS_NAME_MAX + 1, "%s", d);
	snprintf(RS.refused_why[RS.nrefused++], DNS_NAME_MAX + 48, "%s", why);
}

/* d into the domain list unless there already (case aside), a single
 * label or (own not NULL) related to one of this machine's search
 * domains; called with RS.lock held. */
static void
domains_add(const char *d, const struct localmatch *own)
{
	char why[DNS_NAME_MAX + 48];
	int i;

	if (strchr(d, '.') == NULL) {
		domains_refuse(d, "a top-level domain");
		return;
	}
	for (i = 0; own != NULL && i < own->nsearch; i++)
		if (domain_within(d, own->search[i]) ||
		    domain_within(own->search[i], d)) {
			snprintf(why, sizeof(why), "this machine's search "
			    "domain %s", own->search[i]);
			domains_refuse(d, why);
			return;
		}
	for (i = 0; i < RS.ndomains; i++)
		if (strcasecmp(RS.domains[i], d) == 0)
			return;
	if (RS.ndomains < RESOLVED_DOMAINS_MAX)
		snprintf(RS.domains[RS.ndomains++], DNS_NAME_MAX + 1, "%s", d);
}

/* Sends m (a call of member) and waits for the answer. 0, -ENODEV when
 * resolved does not know the link (yet), or -errno; the bus's message in
 * why. */
static int
manager_call(sd_bus *bus, char *why, size_t whysz, const char *member,
    sd_bus_message *m)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int rc;

	rc = sd_bus_call(bus, m, RESOLVED_CALL_USEC, &err, NULL);
	if (rc < 0)
		snprintf(why, whysz, "%s: %s", member, err.message ?
		    err.message : strerror(-rc));
	if (rc < 0 && sd_bus_error_has_name(&err, RESOLVE1_NO_SUCH_LINK))
		rc = -ENODEV;
	sd_bus_error_free(&err);
	return rc < 0 ? rc : 0;
}

static int
manager_new(sd_bus *bus, sd_bus_message **m, const char *member)
{
	return sd_bus_message_new_method_call(bus, m, RESOLVE1_NAME,
	    RESOLVE1_PATH, RESOLVE1_MANAGER, member);
}

/* SetLinkDNS: the stub, IPv4, as the link's only server. */
static int
set_dns(sd_bus *bus, int ifindex, uint32_t stub, char *why, size_t whysz)
{
	sd_bus_message *m = NULL;
	int rc;

	if ((rc = manager_new(bus, &m, "SetLinkDNS")) < 0 ||
	    (rc = sd_bus_message_append(m, "i", ifindex)) < 0 ||
	    (rc = sd_bus_message_open_container(m, 'a', "(iay)")) < 0 ||
	    (rc = sd_bus_message_open_container(m, 'r', "iay")) < 0 ||
	    (rc = sd_bus_message_append(m, "i", AF_INET)) < 0 ||
	    (rc = sd_bus_message_append_array(m, 'y', &stub,
	    sizeof(stub))) < 0 ||
	    (rc = sd_bus_message_close_container(m)) < 0 ||
	    (rc = sd_bus_message_close_container(m)) < 0) {
		snprintf(why, whysz, "SetLinkDNS: %s", strerror(-rc));
		goto out;
	}
	rc = manager_call(bus, why, whysz, "SetLinkDNS", m);
out:
	sd_bus_message_unref(m);
	return rc;
}

/* SetLinkDomains: every domain of RS as a routing-only domain ("~"). */
static int
set_domains(sd_bus *bus, int ifindex, char *why, size_t whysz)
{
	sd_bus_message *m = NULL;
	int rc, i;

	if ((rc = manager_new(bus, &m, "SetLinkDomains")) < 0 ||
	    (rc = sd_bus_message_append(m, "i", ifindex)) < 0 ||
	    (rc = sd_bus_message_open_container(m, 'a', "(sb)")) < 0)
		goto fail;
	for (i = 0; i < RS.ndomains; i++)
		if ((rc = sd_bus_message_append(m, "(sb)", RS.domains[i],
		    1)) < 0)
			goto fail;
	if ((rc = sd_bus_message_close_container(m)) < 0)
		goto fail;
	rc = manager_call(bus, why, whysz, "SetLinkDomains", m);
	goto out;
fail:
	snprintf(why, whysz, "SetLinkDomains: %s", strerror(-rc));
out:
	sd_bus_message_unref(m);
	return rc;
}

/* One of the Manager's (ifindex, value) setters: type is "b" or "s". */
static int
set_link(sd_bus *bus, const char *member, int ifindex, const char *type,
    const void *v, char *why, size_t whysz)
{
	sd_bus_message *m = NULL;
	int rc;

	if ((rc = manager_new(bus, &m, member)) < 0 ||
	    (rc = sd_bus_message_append(m, "i", ifindex)) < 0 ||
	    (rc = sd_bus_message_append_basic(m, type[0], v)) < 0) {
		snprintf(why, whysz, "%s: %s", member, strerror(-rc));
		goto out;
	}
	rc = manager_call(bus, why, whysz, member, m);
out:
	sd_bus_message_unref(m);
	return rc;
}

/* 1 if resolved owns its name on the bus, 0 if not, -errno. */
static int
resolved_running(sd_bus *bus, char *why, size_t whysz)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int rc, has = 0;

	rc = sd_bus_call_method(bus, "org.freedesktop.DBus",
	    "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
	    &err, &reply, "s", RESOLVE1_NAME);
	if (rc >= 0)
		rc = sd_bus_message_read(reply, "b", &has);
	if (rc < 0)
		snprintf(why, whysz, "the system bus: %s", err.message ?
		    err.message : strerror(-rc));
	else if (!has)
		snprintf(why, whysz, "no systemd-resolved (%s is not on the "
		    "system bus)", RESOLVE1_NAME);
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	return rc < 0 ? rc : has;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The registration proper; RS filled. 0, or -errno with why. */
static int
register_link(sd_bus *bus, uint32_t stub, char *why, size_t whysz)
{
	const int no = 0;
	const char *off = "no";
	int rc, waited;

	if ((rc = resolved_running(bus, why, whysz)) <= 0)
		return rc < 0 ? rc : -ENOENT;
	for (waited = 0; (rc = set_dns(bus, RS.ifindex, stub, why,
	    whysz)) == -ENODEV && waited < RESOLVED_LINK_WAIT_MS;
	    waited += RESOLVED_LINK_POLL_MS)
		sleep_ms(RESOLVED_LINK_POLL_MS);
	if (rc < 0)
		return rc;
	if ((rc = set_domains(bus, RS.ifindex, why, whysz)) < 0 ||
	    (rc = set_link(bus, "SetLinkDefaultRoute", RS.ifindex, "b", &no,
	    why, whysz)) < 0)
		return rc;
	/* Not fatal: an older resolved lacks a setter, and these only keep
	 * multicast lookups of this machine out of the pod. */
	if (set_link(bus, "SetLinkLLMNR", RS.ifindex, "s", off, why,
	    whysz) < 0 || set_link(bus, "SetLinkMulticastDNS", RS.ifindex,
	    "s", off, why, whysz) < 0)
		log_info("systemd-resolved: %s", why);
	return 0;
}

/* The outcome of a registration try: logged, and kept for the status. */
static void
record(int rc, const char *why)
{
	if (rc < 0)
		log_warnx("DNS: not registered with systemd-resolved (%s); "
		    "\"mirrorctl status\" says how to use the stub", why);
	else
		log_info("DNS: systemd-resolved sends the pod's domains to %s "
		    "on %s", RS.stub, RS.dev);
	pthread_mutex_lock(&RS.lock);
	RS.tried = 1;
	RS.registered = rc == 0;
	snprintf(RS.why, sizeof(RS.why), "%s", why);
	pthread_mutex_unlock(&RS.lock);
}

/* The watcher: resolved forgets every link's settings when it restarts
 * (an upgrade, a crash), and may start after netd. On each change of
 * the owner of its bus name the thread registers again or notes that
 * it is gone. The thread owns the bus from its start to its end, and
 * W's fields but stopfd; stopfd (an eventfd) ends it. */
static struct {
	pthread_t	 thread;
	int		 running;
	int		 stopfd;
	uint32_t	 stub;
	int		 changed;	/* the watcher's, set by owner_changed */
	int		 has_owner;
} W = { .stopfd = -1 };

static int
owner_changed(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	const char *name, *old, *new;

	(void)arg;
	(void)err;
	if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0 ||
	    strcmp(name, RESOLVE1_NAME) != 0)
		return 0;
	W.changed = 1;
	W.has_owner = new[0] != '\0';
	return 0;
}

static void *
watch_main(void *arg)
{
	char why[RESOLVED_WHY_MAX];
	struct pollfd pfd[2];
	sd_bus *bus = arg;
	uint64_t usec;
	int rc, ms;

	for (;;) {
		while ((rc = sd_bus_process(bus, NULL)) > 0)
			;
		if (rc < 0) {
			log_info("systemd-resolved: the system bus: %s; a "
			    "restarted resolved will not know the stub",
			    strerror(-rc));
			break;
		}
		if (W.changed) {
			W.changed = 0;
			if (W.has_owner) {
				log_info("systemd-resolved (re)started: "
				    "registering the stub again");
				record(register_link(bus, W.stub, why,
				    sizeof(why)), why);
			} else
				record(-ENOENT, "systemd-resolved stopped");
			continue;
		}
		pfd[0].fd = sd_bus_get_fd(bus);
		pfd[0].events = (short)sd_bus_get_events(bus);
		pfd[1].fd = W.stopfd;
		pfd[1].events = POLLIN;
		ms = -1;
		if (sd_bus_get_timeout(bus, &usec) >= 0 && usec != UINT64_MAX)
			ms = (int)((usec + 999) / 1000 > 60000 ? 60000 :
			    (usec + 999) / 1000);
		if (poll(pfd, 2, ms) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
	}
	sd_bus_flush_close_unref(bus);
	return NULL;
}

void
resolved_register(int ifindex, const char *dev, uint32_t stub,
    const char (*search)[DNS_NAME_MAX + 1], int nsearch)
{
	static const char match[] = "type='signal',"
	    "sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
	    "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
	    "arg0='" RESOLVE1_NAME "'";
	static struct localmatch own;
	char why[RESOLVED_WHY_MAX] = "";
	sd_bus *bus = NULL;
	int rc, i;

	own_domains_load(&own);
	pthread_mutex_lock(&RS.lock);
	RS.ifindex = ifindex;
	snprintf(RS.dev, sizeof(RS.dev), "%s", dev);
	inet_ntop(AF_INET, &stub, RS.stub, sizeof(RS.stub));
	RS.ndomains = RS.nrefused = 0;
	domains_add("cluster.local", NULL);	/* Kubernetes' own: always */
	for (i = 0; i < nsearch; i++)
		domains_add(search[i], &own);
	pthread_mutex_unlock(&RS.lock);

	for (i = 0; i < RS.nrefused; i++)
		log_info("systemd-resolved: the pod's search domain %s is %s: "
		    "not routed to the pod", RS.refused[i], RS.refused_why[i]);
	/* The match first: a resolved that starts during the first try is
	 * seen by the watcher. */
	if ((rc = sd_bus_open_system(&bus)) < 0)
		snprintf(why, sizeof(why), "no system bus: %s", strerror(-rc));
	else if ((rc = sd_bus_set_method_call_timeout(bus,
	    RESOLVED_CALL_USEC)) < 0 ||
	    (rc = sd_bus_add_match(bus, NULL, match, owner_changed,
	    NULL)) < 0)
		snprintf(why, sizeof(why), "sd-bus: %s", strerror(-rc));
	else
		rc = register_link(bus, stub, why, sizeof(why));
	record(rc, why);
	if (bus == NULL || !sd_bus_is_open(bus))
		goto out;
	W.stub = stub;
	if ((W.stopfd = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    pthread_create(&W.thread, NULL, watch_main, bus) != 0) {
		log_warn("systemd-resolved: no watcher; a restarted resolved "
		    "will not know the stub");
		goto out;
	}
	W.running = 1;
	return;		/* the bus is the watcher's now */
out:
	sd_bus_flush_close_unref(bus);
}

void
resolved_revert(void)
{
	char why[RESOLVED_WHY_MAX];
	sd_bus_message *m = NULL;
	sd_bus *bus = NULL;
	int rc, ifindex;

	if (W.running) {
		uint64_t one = 1;

		if (write(W.stopfd, &one, sizeof(one)) == sizeof(one))
			pthread_join(W.thread, NULL);
		close(W.stopfd);
		W.stopfd = -1;
		W.running = 0;
	}
	pthread_mutex_lock(&RS.lock);
	ifindex = RS.registered ? RS.ifindex : 0;
	RS.registered = 0;
	pthread_mutex_unlock(&RS.lock);
	if (ifindex == 0)
		return;
	if ((rc = sd_bus_open_system(&bus)) < 0)
		snprintf(why, sizeof(why), "no system bus: %s", strerror(-rc));
	else if ((rc = sd_bus_set_method_call_timeout(bus,
	    RESOLVED_CALL_USEC)) < 0 ||
	    (rc = manager_new(bus, &m, "RevertLink")) < 0 ||
	    (rc = sd_bus_message_append(m, "i", ifindex)) < 0)
		snprintf(why, sizeof(why), "RevertLink: %s", strerror(-rc));
	else
		rc = manager_call(bus, why, sizeof(why), "RevertLink", m);
	/* The device goes next, and resolved forgets its link with it. */
	if (rc < 0)
		log_info("systemd-resolved: %s", why);
	sd_bus_message_unref(m);
	sd_bus_flush_close_unref(bus);
}

/* The domains, joined into out with prefix before each and sep after
 * each but the last. */
static void
domains_join(char *out, size_t size, const char *prefix, const char *suffix,
    const char *sep)
{
	size_t len = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < RS.ndomains && len < size; i++) {
		n = snprintf(out + len, size - len, "%s%s%s%s", prefix,
		    RS.domains[i], suffix, i + 1 < RS.ndomains ? sep : "");
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

void
resolved_status(FILE *f)
{
	char doms[RESOLVED_DOMAINS_MAX * (DNS_NAME_MAX + 2) + 1];
	char lines[RESOLVED_DOMAINS_MAX * (DNS_NAME_MAX + 32) + 1];
	char sfx[INET_ADDRSTRLEN + 2];
	int i;

	pthread_mutex_lock(&RS.lock);
	if (!RS.tried)
		goto out;
	domains_join(doms, sizeof(doms), "~", "", " ");
	if (RS.registered) {
		fprintf(f, "system_dns=systemd-resolved sends %s to %s on %s\n",
		    doms, RS.stub, RS.dev);
	} else {
		fprintf(f, "system_dns=not registered: %s; to send the pod's "
		    "names to the stub %s:53:\n", RS.why, RS.stub);
		fprintf(f, "system_dns=  resolvectl dns %s %s; resolvectl "
		    "domain %s %s\n", RS.dev, RS.stub, RS.dev, doms);
		snprintf(sfx, sizeof(sfx), "/%s", RS.stub);
		domains_join(lines, sizeof(lines), "server=/", sfx, " ");
		fprintf(f, "system_dns=  or dnsmasq: %s\n", lines);
	}
	for (i = 0; i < RS.nrefused; i++)
		fprintf(f, "system_dns=not routed: %s (%s)\n", RS.refused[i],
		    RS.refused_why[i]);
out:
	pthread_mutex_unlock(&RS.lock);
}
