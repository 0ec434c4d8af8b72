/* SPDX-License-Identifier: MIT */
/*
 * A device's WireGuard configuration as data: what a UAPI "set=1" request asks to change, what the
 * JSON config file sets at start (a full replacement), and what "get=1" reports (with the get-only
 * fields filled). Parsers produce one of these and validate it whole; the control thread applies it
 * whole or not at all. Plain data, no behaviour beyond freeing.
 */
#ifndef MG_DEVCONF_H
#define MG_DEVCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVCONF_KEY_LEN 32

struct devconf_endpoint {
	int family;        /* AF_INET or AF_INET6; 0 when unset */
	uint8_t addr[16];  /* network order; IPv4 in the first 4 bytes */
	uint16_t port;     /* host order */
	uint32_t scope_id; /* IPv6 link-local scope, else 0 */
};

struct devconf_allowed_ip {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order, host bits as given (the table masks them) */
	uint8_t cidr;
	bool remove;      /* UAPI "allowed_ip=-prefix" (newer wg); removal of this exact prefix */
};

struct devconf_peer {
	uint8_t public_key[DEVCONF_KEY_LEN];
	bool remove;               /* remove=true */
	bool update_only;          /* update_only=true: only if the peer exists */
	bool has_preshared_key;    /* an all-zero key clears it */
	uint8_t preshared_key[DEVCONF_KEY_LEN];
	bool has_endpoint;
	struct devconf_endpoint endpoint;
	bool has_persistent_keepalive;
	uint16_t persistent_keepalive; /* seconds, 0 = off */
	bool replace_allowed_ips;
	struct devconf_allowed_ip *allowed_ips;
	size_t n_allowed_ips;
	/* get only */
	uint64_t rx_bytes, tx_bytes;
	int64_t last_handshake_sec;
	int64_t last_handshake_nsec;
};

struct devconf {
	bool has_private_key;      /* an all-zero key removes it */
	uint8_t private_key[DEVCONF_KEY_LEN];
	bool has_listen_port;
	uint16_t listen_port;
	bool has_fwmark;
	uint32_t fwmark;
	bool replace_peers;
	struct devconf_peer *peers;
	size_t n_peers;
};

/* Frees peers and allowed-IPs and wipes keys; the struct is left empty and reusable. */
void devconf_free(struct devconf *c);
/* Appends a zeroed peer / allowed-IP; NULL on allocation failure (nothing changed). */
struct devconf_peer *devconf_add_peer(struct devconf *c);
struct devconf_allowed_ip *devconf_add_allowed_ip(struct devconf_peer *p);

#endif
