/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "devconf.h"

void devconf_free(struct devconf *c)
{
	for (size_t i = 0; i < c->n_peers; i++)
		free(c->peers[i].allowed_ips);
	if (c->peers)
		sodium_memzero(c->peers, c->n_peers * sizeof(*c->peers));
	free(c->peers);
	sodium_memzero(c, sizeof(*c));
}

/* Grow by one element; arrays are small (peers of one request), so doubling is not worth it. */
static void *grow(void *arr, size_t n, size_t size)
{
	char *p = realloc(arr, (n + 1) * size);

	if (p)
		memset(p + n * size, 0, size);
	return p;
}

struct devconf_peer *devconf_add_peer(struct devconf *c)
{
	struct devconf_peer *p = grow(c->peers, c->n_peers, sizeof(*p));

	if (!p)
		return NULL;
	c->peers = p;
	return &p[c->n_peers++];
}

struct devconf_allowed_ip *devconf_add_allowed_ip(struct devconf_peer *p)
{
	struct devconf_allowed_ip *a = grow(p->allowed_ips, p->n_allowed_ips, sizeof(*a));

	if (!a)
		return NULL;
	p->allowed_ips = a;
	return &a[p->n_allowed_ips++];
}
