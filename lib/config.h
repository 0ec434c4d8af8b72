/* SPDX-License-Identifier: MIT */
/*
 * The JSON configuration file: text in, struct mg_config out. Parsing is pure (no I/O, no name
 * resolution) and strict: unknown fields, wrong types, out-of-range values and duplicate peers are
 * refused with a message naming the field path and why, so a typo never silently means "default".
 * The private key lives in its own file (wg genkey output), read by config_read_private_key().
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

/* An interface address: "192.168.77.1/24", "fd77::1/64". */
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

struct config_inner {
	char name[CONFIG_IFNAME_MAX + 1]; /* TUN name; defaults to the interface name */
	struct config_cidr *addresses;    /* may be empty */
	size_t n_addresses;
	uint16_t mtu;
};

enum config_log_level {
	CONFIG_LOG_ERROR,
	CONFIG_LOG_WARNING,
	CONFIG_LOG_INFO,  /* default */
	CONFIG_LOG_DEBUG,
};

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
	enum config_log_level log_level;
	/* The device as a full replacement: replace_peers, listen port, and peers with
	 * replace_allowed_ips. The private key is not filled here: the caller adds it after
	 * config_read_private_key(). */
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

/*
 * Reads a wg genkey file: 44 base64 characters, then optional whitespace (as wg(8) accepts). The
 * file must be a regular file that group and others cannot access (as ssh requires). 0, -errno
 * when it cannot be opened or read, -EPERM for a loose mode, -EINVAL for anything else (not a
 * regular file, bad content, all-zero key). err names the path and why; key is zeroed on error.
 */
int config_read_private_key(const char *path, uint8_t key[32], char *err, size_t errlen);

/*
 * "addr/prefix", or a bare address meaning a host prefix (/32, /128) as wg(8) accepts. 0 or
 * -EINVAL. addr is zero-padded to 16 bytes.
 */
int config_parse_cidr(const char *text, int *family, uint8_t addr[16], uint8_t *cidr);
/* "a.b.c.d:port", "[ipv6]:port" or "[ipv6%N]:port" (numeric scope); port 1..65535; no host names.
 * 0 or -EINVAL. */
int config_parse_endpoint(const char *text, struct devconf_endpoint *ep);

#endif
