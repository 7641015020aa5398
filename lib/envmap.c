/*
 * The environment set (envmap.h): an array of entries in insertion order
 * and an open-addressing table of their indexes, keyed by a hash of the
 * name.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "envmap.h"
#include "xmalloc.h"

static size_t
name_len(const char *entry)
{
	return strcspn(entry, "=");
}

static size_t
name_hash(const char *name, size_t n)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 29));
}

/* The table slot of name: its own, or the empty one it would take. */
static size_t
find_slot(const struct envmap *m, const char *name, size_t n)
{
	size_t i = name_hash(name, n) & (m->nslot - 1), k;
	const char *e;

	while ((k = m->slot[i]) != 0) {
		e = m->v[k - 1];
		if (name_len(e) == n && memcmp(e, name, n) == 0)
			break;
		i = (i + 1) & (m->nslot - 1);
	}
	return i;
}

static void
rehash(struct envmap *m, size_t nslot)
{
	size_t i;

	x_free(m->slot);
	m->nslot = nslot;
	m->slot = xcalloc(nslot, sizeof(*m->slot));
	for (i = 0; i < m->n; i++)
		m->slot[find_slot(m, m->v[i], name_len(m->v[i]))] = i + 1;
}

void
envmap_init(struct envmap *m)
{
	memset(m, 0, sizeof(*m));
	m->cap = 16;
	m->v = xcalloc(m->cap + 1, sizeof(*m->v));
	rehash(m, 64);
}

void
envmap_free(struct envmap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		x_free(m->v[i]);
	x_free(m->v);
	x_free(m->slot);
	memset(m, 0, sizeof(*m));
}

const char *
envmap_get(const struct envmap *m, const char *name, size_t namelen)
{
	size_t k = m->slot[find_slot(m, name, namelen)];

	return k ? m->v[k - 1] : NULL;
}

int
envmap_set(struct envmap *m, const char *entry, int keep)
{
	size_t n = name_len(entry), i = find_slot(m, entry, n), k;

	if ((k = m->slot[i]) != 0) {
		if (keep || strcmp(m->v[k - 1], entry) == 0)
			return 0;
		x_free(m->v[k - 1]);
		m->v[k - 1] = xstrdup(entry);
		return 1;
	}
	if (m->n == m->cap) {
		m->cap *= 2;
		m->v = xrealloc(m->v, (m->cap + 1) * sizeof(*m->v));
	}
	m->v[m->n++] = xstrdup(entry);
	m->v[m->n] = NULL;
	m->slot[i] = m->n;
	if (m->nslot <= 2 * m->n)
		rehash(m, m->nslot * 2);
	return 1;
}

void
envmap_unset(struct envmap *m, const char *name, size_t namelen)
{
	size_t k = m->slot[find_slot(m, name, namelen)];

	if (k == 0)
		return;
	x_free(m->v[k - 1]);
	memmove(&m->v[k - 1], &m->v[k], (m->n - k + 1) * sizeof(*m->v));
	m->n--;
	rehash(m, m->nslot);
}

char **
envmap_take(struct envmap *m, size_t *n)
{
	char **v = m->v;

	if (n != NULL)
		*n = m->n;
	m->v = NULL;
	m->n = 0;
	envmap_free(m);
	return v;
}
