/*
 * What mountd knows of a node ahead of the agent, kept on the node
 * (nodes-table.h) under the table's lock:
 * - its attributes: the last the agent said, kept up to date with what
 *   the mount itself did since, so a getattr of a file made here needs
 *   no round trip; and its mtime and size at the last open, so the
 *   kernel may keep its page cache;
 * - changes made behind: writes and attribute changes answered to the
 *   kernel before the agent has done them, counted until it has, and
 *   the first error among them;
 * - fresh directories: the names in a directory made through the mount,
 *   so a lookup of any other name is answered "no such file" here.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"
#include "clock.h"
#include "nodes-table.h"
#include "xmalloc.h"

#define FRESH_NAMES_MAX	65536	/* past this, a fresh directory is not */

struct name_ent {
	struct name_ent	*next;
	char		 name[];
};

static pthread_cond_t nodes_cv = PTHREAD_COND_INITIALIZER;	/* writes done */

void
cache_record_attr(struct node *n, const struct proto_attr *a)
{
	n->attr = *a;
	n->have_attr = 1;
	n->attr_stale = 0;
	n->attr_est = 0;
	n->attr_at = mono_now();
}

static void
names_clear(struct node *n)
{
	struct node_more *m = n->more;
	struct name_ent *e, *next;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbnames; i++)
		for (e = m->names[i]; e; e = next) {
			next = e->next;
			x_free(e);
		}
	x_free(m->names);
	m->names = NULL;
	m->nnames = m->nbnames = 0;
	m->fresh_until = 0;
}

/* The first write failure not reported yet (0: none). */
static int
node_werr(const struct node *n)
{
	return n->more != NULL ? n->more->werr : 0;
}

void
cache_node_free(struct node *n)
{
	names_clear(n);
}

int
cache_same_data(uint64_t nodeid, const struct proto_attr *a)
{
	struct node *n;
	int same = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL) {
		same = n->have_data && n->mtime_sec == a->mtime_sec &&
		    n->mtime_nsec == a->mtime_nsec && n->size == a->size;
		n->have_data = 1;
		n->mtime_sec = a->mtime_sec;
		n->mtime_nsec = a->mtime_nsec;
		n->size = a->size;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return same;
}
int
cache_write_begin(uint64_t nodeid, uint64_t end, uint64_t size,
    uint64_t window)
{
	struct node_more *m;
	struct node *n;
	int rc = 0;

	pthread_mutex_lock(&nodes_mtx);
	while ((n = nodes_find(nodeid)) != NULL && node_werr(n) == 0 &&
	    node_wpending(n) > 0 && n->more->wbytes + size > window)
		pthread_cond_wait(&nodes_cv, &nodes_mtx);
	if (n == NULL)
		rc = -ESTALE;
	else if (node_werr(n) != 0)
		rc = node_werr(n);
	else {
		m = nodes_more(n);
		m->wpending++;
		m->wbytes += size;
		if (end > m->wend)
			m->wend = end;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

void
cache_write_end(uint64_t nodeid, uint64_t size, int err)
{
	struct node_more *m;
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && node_wpending(n) > 0) {
		m = n->more;
		m->wpending--;
		m->wbytes -= size;
		if (err < 0 && m->werr == 0)
			m->werr = err;
		if (m->wpending == 0)
			m->wend = 0;
	}
	pthread_cond_broadcast(&nodes_cv);
	pthread_mutex_unlock(&nodes_mtx);
}

int
cache_write_drain(uint64_t nodeid, int clear)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&nodes_mtx);
	while ((n = nodes_find(nodeid)) != NULL && node_wpending(n) > 0)
		pthread_cond_wait(&nodes_cv, &nodes_mtx);
	if (n != NULL) {
		err = node_werr(n);
		if (clear && n->more != NULL)
			n->more->werr = 0;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return err;
}

void
cache_fix_attr(uint64_t nodeid, struct proto_attr *a)
{
	struct node *n;
	uint64_t size;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && node_wpending(n) > 0) {
		if (n->more->spending > 0 && n->have_attr) {
			size = a->size;
			*a = n->attr;
			a->size = size;
		}
		if (a->size < n->more->wend)
			a->size = n->more->wend;
	} else if (n != NULL)
		cache_record_attr(n, a);
	pthread_mutex_unlock(&nodes_mtx);
}

void
cache_set_created(uint64_t nodeid)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		n->created_here = 1;
	pthread_mutex_unlock(&nodes_mtx);
}

int
cache_setattr_begin(uint64_t nodeid, const struct cache_setattr *sa,
    struct proto_attr *out)
{
	struct node_more *m;
	struct node *n;
	struct proto_attr *a;
	int rc = -1;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) == NULL || !n->created_here ||
	    !n->have_attr || node_werr(n) != 0)
		goto out;
	a = &n->attr;
	if (sa->set_mode)
		a->mode = (a->mode & ~07777u) | (sa->mode & 07777u);
	if (sa->set_uid || sa->set_gid) {
		if (sa->set_uid)
			a->uid = sa->uid;
		if (sa->set_gid)
			a->gid = sa->gid;
		/* As chown(2) does to a file that is not a directory. */
		if (!S_ISDIR(a->mode)) {
			a->mode &= ~(uint32_t)S_ISUID;
			if (a->mode & S_IXGRP)
				a->mode &= ~(uint32_t)S_ISGID;
		}
	}
	if (sa->set_atime) {
		a->atime_sec = sa->atime_sec;
		a->atime_nsec = sa->atime_nsec;
	}
	if (sa->set_mtime) {
		a->mtime_sec = sa->mtime_sec;
		a->mtime_nsec = sa->mtime_nsec;
	}
	a->ctime_sec = sa->now_sec;
	a->ctime_nsec = sa->now_nsec;
	n->attr_est = 1;
	m = nodes_more(n);
	m->wpending++;
	m->spending++;
	*out = *a;
	if (out->size < m->wend)
		out->size = m->wend;
	rc = 0;
out:
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

void
cache_setattr_end(uint64_t nodeid, int err, const struct proto_attr *real)
{
	struct node_more *m;
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && node_wpending(n) > 0) {
		m = n->more;
		m->wpending--;
		m->spending--;
		if (err < 0 && m->werr == 0)
			m->werr = err;
		if (m->wpending == 0) {
			m->wend = 0;
			/* have_attr is still set: begin asked for it, and
			 * nothing clears it while a change is outstanding. */
			if (real != NULL)
				cache_record_attr(n, real);
			else
				n->have_attr = 0;	/* ask again */
		}
	}
	pthread_cond_broadcast(&nodes_cv);
	pthread_mutex_unlock(&nodes_mtx);
}

static struct name_ent **
name_find(struct node_more *m, const char *name)
{
	struct name_ent **pp;

	for (pp = &m->names[nodes_str_hash(name) & (m->nbnames - 1)]; *pp;
	    pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			return pp;
	return pp;
}

void
cache_dir_made(uint64_t nodeid, double fresh_s)
{
	struct node_more *m;
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && fresh_s > 0) {
		names_clear(n);
		m = nodes_more(n);
		m->nbnames = 16;
		m->names = xcalloc(m->nbnames, sizeof(*m->names));
		m->fresh_until = mono_now() + fresh_s;
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
cache_dir_note(uint64_t nodeid, const char *name, int present)
{
	struct name_ent **pp, *e, **nb, *next;
	struct node_more *m;
	struct node *n;
	size_t i, nbn, h;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) == NULL || (m = n->more) == NULL ||
	    m->names == NULL)
		goto out;
	pp = name_find(m, name);
	if (!present && *pp != NULL) {
		e = *pp;
		*pp = e->next;
		x_free(e);
		m->nnames--;
	} else if (present && *pp == NULL) {
		if (m->nnames >= FRESH_NAMES_MAX) {
			names_clear(n);
			goto out;
		}
		e = xmalloc(sizeof(*e) + strlen(name) + 1);
		strcpy(e->name, name);
		e->next = NULL;
		*pp = e;
		if (++m->nnames > m->nbnames) {
			nbn = m->nbnames * 2;
			nb = xcalloc(nbn, sizeof(*nb));
			for (i = 0; i < m->nbnames; i++)
				for (e = m->names[i]; e; e = next) {
					next = e->next;
					h = nodes_str_hash(e->name) & (nbn - 1);
					e->next = nb[h];
					nb[h] = e;
				}
			x_free(m->names);
			m->names = nb;
			m->nbnames = nbn;
		}
	}
out:
	pthread_mutex_unlock(&nodes_mtx);
}

double
cache_dir_absent(uint64_t nodeid, const char *name)
{
	struct node_more *m;
	struct node *n;
	double left = 0, now;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && (m = n->more) != NULL &&
	    m->names != NULL) {
		now = mono_now();
		if (now >= m->fresh_until)
			names_clear(n);
		else if (*name_find(m, name) == NULL)
			left = m->fresh_until - now;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return left;
}

void
cache_wrote(uint64_t nodeid, uint64_t end)
{
	struct node *n;
	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && n->have_attr) {
		if (end > n->attr.size)
			n->attr.size = end;
		/* The times are the agent's to say: git keeps them. */
		n->attr_stale = 1;
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
cache_forget_attr(uint64_t nodeid)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && node_wpending(n) == 0)
		n->have_attr = 0;
	pthread_mutex_unlock(&nodes_mtx);
}

int
cache_last_attr(uint64_t nodeid, struct proto_attr *a)
{
	struct node *n;
	int rc = -ESTALE;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && n->have_attr) {
		*a = n->attr;
		rc = 0;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

int
cache_pending_attr(uint64_t nodeid, struct proto_attr *a)
{
	struct node *n;
	int rc = -1;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && node_spending(n) > 0 &&
	    n->have_attr) {
		*a = n->attr;
		if (a->size < n->more->wend)
			a->size = n->more->wend;
		rc = 0;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

int
cache_behind(uint64_t nodeid)
{
	struct node *n;
	int behind = 0;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		behind = node_wpending(n) > 0 || node_spending(n) > 0;
	pthread_mutex_unlock(&nodes_mtx);
	return behind;
}

int
cache_known_attr(uint64_t nodeid, double timeout, struct proto_attr *a,
    int *estimated)
{
	struct node *n;
	int rc = -1;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && n->created_here &&
	    n->have_attr && !n->attr_stale && node_wpending(n) == 0 &&
	    mono_now() - n->attr_at < timeout) {
		*a = n->attr;
		*estimated = n->attr_est;
		rc = 0;
	}
	pthread_mutex_unlock(&nodes_mtx);
	return rc;
}

void
cache_dir_changed(uint64_t nodeid, int nlink_delta, int known)
{
	struct node *n;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL && n->have_attr) {
		if (!known)
			n->attr_stale = 1;
		else {
			n->attr_est = 1;
			n->attr.nlink = (uint32_t)((int)n->attr.nlink +
			    nlink_delta);
			n->attr.mtime_sec = n->attr.ctime_sec = now.tv_sec;
			n->attr.mtime_nsec = n->attr.ctime_nsec =
			    (uint32_t)now.tv_nsec;
		}
	}
	pthread_mutex_unlock(&nodes_mtx);
}

void
cache_attr_stale(uint64_t nodeid)
{
	struct node *n;

	pthread_mutex_lock(&nodes_mtx);
	if ((n = nodes_find(nodeid)) != NULL)
		n->attr_stale = 1;
	pthread_mutex_unlock(&nodes_mtx);
}
