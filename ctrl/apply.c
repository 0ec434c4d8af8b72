/* SPDX-License-Identifier: MIT */
/*
 * Configuration changes, from the config file at start and from UAPI "set" at run time, applied in
 * the order they were written (as wireguard-go does line by line), after checking everything that
 * can be checked first, so a refused change leaves the device as it was. The one exception is an
 * allocation failure in the middle, reported as -ENOMEM. And "get": the running state as a devconf.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_random.h>

#include <sodium.h>

#include "apply.h"
#include "core.h"
#include "hs.h"
#include "peers.h"

/* Peers the change would create, to refuse it before touching anything when they do not fit. */
static int check_capacity(const struct devconf *c)
{
	unsigned int have = c->replace_peers ? 0 : ctrl.n_peers, add = 0;

	for (size_t i = 0; i < c->n_peers; i++) {
		const struct devconf_peer *p = &c->peers[i];
		bool exists = !c->replace_peers && peers_find(p->public_key);

		/* Duplicates within one request are rare; counting them twice only errs on caution. */
		if (!p->remove && !p->update_only && !exists)
			add++;
	}
	return have + add > MG_MAX_PEERS ? -ENOSPC : 0;
}

/*
 * As Linux (netlink.c set_device) and wireguard-go (SetPrivateKey): the same key again (wg
 * syncconf of an unchanged file) changes nothing; another key, or none, expires every
 * peer's keypairs for sending only, so what the peer sends under them still decrypts and our answer
 * starts a handshake under the new identity at once. A peer with our own new public key goes.
 */
static void set_private_key(const uint8_t key[32])
{
	struct handshake_identity id;
	struct mg_peer *self;
	bool had = ctrl.id.has_identity;

	if (handshake_identity_set(&id, key) != 0)
		memset(&id, 0, sizeof(id)); /* all zero: no identity */
	if (sodium_memcmp(id.static_private, ctrl.id.static_private, sizeof(id.static_private)) == 0) {
		sodium_memzero(&id, sizeof(id));
		return;
	}
	self = id.has_identity ? peers_find(id.static_public) : NULL;
	if (self)
		peers_remove(self);
	ctrl.id = id;
	sodium_memzero(&id, sizeof(id));
	cookie_checker_init(&ctrl.checker, ctrl.id.static_public);
	for (unsigned int i = 0; i < MG_MAX_PEERS; i++) {
		struct mg_peer *p = mg_dev.peers[i];

		if (!p)
			continue;
		peers_expire_keys(p); /* first: it frees the index of the handshake in progress */
		handshake_set_identity(&p->hs, &ctrl.id);
		/* Packets that waited while there was no key to handshake with can go now. */
		if (!had && ctrl.id.has_identity && !rte_ring_empty(p->staged))
			hs_send_initiation(p, false);
	}
}

/* Port 0 picks one, as Linux does when it binds: from the kernel's default ephemeral range. A new
 * port rebuilds every endpoint's header, or data would still leave from the old one. */
static void set_listen_port(uint16_t port)
{
	while (!port)
		port = (uint16_t)(32768 + rte_rand_max(60999 - 32768 + 1));
	if (port == mg_dev.listen_port)
		return;
	__atomic_store_n(&mg_dev.listen_port, port, __ATOMIC_RELEASE);
	peers_rebuild_endpoints();
}

static int apply_allowed_ips(struct mg_peer *peer, const struct devconf_peer *p)
{
	if (p->replace_allowed_ips)
		allowedips_remove_by_peer(mg_dev.allowedips, peer);
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		const struct devconf_allowed_ip *a = &p->allowed_ips[i];
		int ret;

		if (a->remove) {
			allowedips_remove(mg_dev.allowedips, a->family, a->addr, a->cidr, peer);
			continue;
		}
		ret = allowedips_insert(mg_dev.allowedips, a->family, a->addr, a->cidr, peer);
		if (ret)
			return ret;
	}
	return 0;
}

static int apply_peer(const struct devconf_peer *p)
{
	struct mg_peer *peer = peers_find(p->public_key);
	bool keepalive_on;

	if (ctrl.id.has_identity && sodium_memcmp(p->public_key, ctrl.id.static_public, 32) == 0)
		return 0; /* ourselves: skipped, as wireguard-go */
	if (p->remove) {
		if (peer)
			peers_remove(peer);
		return 0;
	}
	if (!peer) {
		if (p->update_only)
			return 0;
		peer = peers_create(p->public_key);
		if (!peer)
			return -ENOMEM;
	}
	if (p->has_preshared_key) {
		handshake_set_psk(&peer->hs, sodium_is_zero(p->preshared_key, 32) ? NULL : p->preshared_key);
	}
	if (p->has_endpoint)
		peers_set_endpoint(peer, &p->endpoint, NULL, NULL);
	if (p->has_persistent_keepalive) {
		keepalive_on = !peer->persistent_keepalive && p->persistent_keepalive;
		peer->persistent_keepalive = p->persistent_keepalive;
		timers_set_persistent_keepalive(&peer->timers, p->persistent_keepalive, ctrl.now_ns);
		/* Turning it on sends one at once, as Linux and wireguard-go do; without a session that
		 * means a handshake first. */
		if (keepalive_on) {
			if (peer->current)
				hs_send_keepalive(peer);
			else
				hs_send_initiation(peer, false);
		}
	}
	return apply_allowed_ips(peer, p);
}

int apply_devconf(const struct devconf *c)
{
	int ret = check_capacity(c);

	if (ret)
		return ret;
	if (c->has_private_key)
		set_private_key(c->private_key);
	if (c->has_listen_port)
		set_listen_port(c->listen_port);
	if (c->replace_peers) {
		for (unsigned int i = 0; i < MG_MAX_PEERS; i++)
			if (mg_dev.peers[i])
				peers_remove(mg_dev.peers[i]);
	}
	for (size_t i = 0; i < c->n_peers && !ret; i++)
		ret = apply_peer(&c->peers[i]);
	return ret;
}

static int add_allowed(void *arg, int family, const uint8_t *addr, unsigned int cidr)
{
	struct devconf_allowed_ip *a = devconf_add_allowed_ip(arg);

	if (!a)
		return -ENOMEM;
	a->family = family;
	memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
	a->cidr = (uint8_t)cidr;
	return 0;
}

static int snapshot_peer(struct devconf *out, const struct mg_peer *peer)
{
	struct devconf_peer *p = devconf_add_peer(out);

	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, peer->public_key, 32);
	p->has_preshared_key = true;
	memcpy(p->preshared_key, peer->hs.preshared_key, 32);
	if (peer->endpoint) {
		p->has_endpoint = true;
		p->endpoint = peer->endpoint->addr;
	}
	p->has_persistent_keepalive = true;
	p->persistent_keepalive = peer->persistent_keepalive;
	p->last_handshake_sec = (int64_t)(peer->last_handshake_unix_ns / 1000000000ULL);
	p->last_handshake_nsec = (int64_t)(peer->last_handshake_unix_ns % 1000000000ULL);
	peers_data_bytes(peer, &p->rx_bytes, &p->tx_bytes);
	p->tx_bytes += peer->ctrl_tx_bytes;
	p->rx_bytes += peer->ctrl_rx_bytes;
	return allowedips_walk_peer(mg_dev.allowedips, peer, add_allowed, p);
}

int apply_snapshot(struct devconf *out)
{
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (ctrl.id.has_identity) {
		out->has_private_key = true;
		memcpy(out->private_key, ctrl.id.static_private, 32);
	}
	out->has_listen_port = true;
	out->listen_port = mg_dev.listen_port;
	for (unsigned int i = 0; i < MG_MAX_PEERS && !ret; i++)
		if (mg_dev.peers[i])
			ret = snapshot_peer(out, mg_dev.peers[i]);
	if (ret)
		devconf_free(out);
	return ret;
}
