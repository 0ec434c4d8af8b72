/* SPDX-License-Identifier: MIT */
/*
 * The JSON configuration file: text in, struct mg_config out. Parsing is pure (no I/O, no name
 * resolution) and strict: unknown fields, wrong types, out-of-range values and duplicate peers are
 * refused with a message naming the field path and why, so a typo never silently means "default".
 * This file is meshgate's schema; the walk is jsonwalk.c's, addresses are addr.c's ADDR_CONFIG
 * dialect. The private key lives in its own file (wg genkey output), read by host/keyfile.c.
 */
#ifndef MG_CONFIG_H
#define MG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devconf.h"

#define CONFIG_IFNAME_MAX 15     /* Linux IFNAMSIZ - 1 */
#define CONFIG_MAX_EAL_ARGS 64
#define CONFIG_MAX_ADDRESSES 16  /* per wan / inner */
#define CONFIG_MAX_WORKERS 128
#define CONFIG_MTU_MIN 576
#define CONFIG_MTU_MAX 9000
#define CONFIG_MTU_DEFAULT 1420
#define CONFIG_WAN_MTU_MAX 9216

/* An interface address: "192.168.77.1/24", "fd77::1/64" (or bare, as /32 or /128). */
struct config_cidr {
	int family;         /* AF_INET or AF_INET6 */
	uint8_t addr[16];   /* network order; IPv4 in the first 4 bytes; host bits as given */
	uint8_t prefix_len;
};

struct config_wan {
	char *device;                   /* DPDK device string: PCI address or vdev with args */
	struct config_cidr *addresses;  /* at least one */
	size_t n_addresses;
	bool has_gateway;
	uint8_t gateway[4];             /* IPv4, network order */
	bool has_gateway6;
	uint8_t gateway6[16];
	uint16_t mtu;                   /* 0: the port's (the kernel interface's, behind AF_XDP) */
};

/* A route on the LAN side (gateway mode): prefix via a next hop on one of the LAN prefixes. */
struct config_route {
	int family;
	uint8_t addr[16];   /* network order, host bits zero */
	uint8_t prefix_len;
	int via_family;
	uint8_t via[16];
};

#define CONFIG_MAX_ROUTES 256
#define CONFIG_FLOWS_DEFAULT 65536

struct config_inner {
	char *device;                     /* NULL: "tun" (host mode); else a DPDK device string:
					   * gateway mode's LAN port */
	char name[CONFIG_IFNAME_MAX + 1]; /* TUN name; defaults to the interface name */
	struct config_cidr *addresses;    /* host mode: may be empty; gateway mode: at least one */
	size_t n_addresses;
	uint16_t mtu;                     /* the tunnel's MTU (inner packets' largest size) */
	struct config_route *routes;      /* gateway mode only */
	size_t n_routes;
};

enum config_log_level {
	CONFIG_LOG_ERROR,
	CONFIG_LOG_WARNING,
	CONFIG_LOG_INFO,  /* default */
	CONFIG_LOG_DEBUG,
};

struct policy;

struct mg_config {
	char interface[CONFIG_IFNAME_MAX + 1]; /* names the UAPI socket */
	char *private_key_file;
	uint16_t listen_port;                  /* host order; 0: picked at start */
	char **eal;                            /* rte_eal_init arguments after argv[0] */
	size_t n_eal;
	struct config_wan wan;
	struct config_inner inner;
	bool idle_backoff;                     /* "idle": "backoff" (default) or "poll" */
	unsigned int workers;                  /* 0: derived from the lcores */
	bool spread;                           /* "spread" (default true): one peer's decryption on
						* every worker, delivered in order */
	enum config_log_level log_level;
	/* The flow table: flows per worker (0: none). "flows": {"max": N}; a policy without it gets
	 * CONFIG_FLOWS_DEFAULT, since a stateful policy needs the table. */
	uint32_t flow_max;
	struct policy *policy;                 /* the compiled "policy" block; NULL: none */
	/* The device as a full replacement: replace_peers, listen port, and peers with
	 * replace_allowed_ips. The private key is not filled here: the caller reads it from
	 * private_key_file (host/keyfile.c) and adds it. */
	struct devconf wg;
};

/*
 * Parses len bytes of JSON (need not be NUL-terminated) into *out, which is overwritten, not freed.
 * 0, -EINVAL (err says "<field path>: <why>") or -ENOMEM; on error *out is empty (zeroed, nothing
 * to free). err may be NULL.
 */
int config_parse(const char *json, size_t len, struct mg_config *out, char *err, size_t errlen);
/* Frees everything and wipes keys; the struct is left zeroed. */
void config_free(struct mg_config *c);

#endif
