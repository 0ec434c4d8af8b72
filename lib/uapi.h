/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard cross-platform userspace API (https://www.wireguard.com/xplatform/), the text
 * protocol `wg` speaks over /var/run/wireguard/<ifname>.sock, as pure functions: no sockets, no
 * I/O. The socket server (ctrl/) reads and writes; this module parses and formats. Behaviour and
 * error numbers follow wireguard-go (device/uapi.go, ipc/uapi_unix.go), the reference
 * implementation `wg` is tested against.
 *
 * The conversation on one connection, repeated until the client closes:
 *
 *   client: "get=1\n" "\n"               server: <uapi_format_get output> "errno=0\n\n"
 *   client: "set=1\n" <body> "\n"        server: "errno=N\n\n"
 *
 * N is 0 or a NEGATIVE errno, exactly as wireguard-go writes it ("errno=-22"); `wg` negates it
 * and prints strerror ("Unable to modify interface: Invalid argument"); a get answer it only
 * understands with errno=0 (any other shows as a protocol error). Any first line other than
 * "get=1"/"set=1" makes wireguard-go close the connection without answering; so should we. After
 * "get=1\n" the next byte must be '\n', else the answer is "errno=-22\n\n" (wireguard-go consumes
 * that one byte and carries on reading the next operation).
 */
#ifndef MG_UAPI_H
#define MG_UAPI_H

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "devconf.h"

/*
 * wireguard-go's error codes (ipc/uapi_unix.go), as returned here and written after "errno=".
 * A bad value or unknown key is EINVAL, a line without '=' is EPROTO, a line longer than its
 * reader's buffer is EIO (bufio.Scanner's ErrTooLong). We add ENOMEM for allocation failure.
 */
#define UAPI_ERR_INVALID (-EINVAL)         /* -22 on Linux */
#define UAPI_ERR_PROTOCOL (-EPROTO)        /* -71 */
#define UAPI_ERR_IO (-EIO)                 /* -5 */
#define UAPI_ERR_PORT_IN_USE (-EADDRINUSE) /* -98: for the applier, when binding fails */
#define UAPI_ERR_UNKNOWN (-55)             /* -ENOANO: wireguard-go's "other UAPI error" */

/*
 * Longest line, without its '\n': wireguard-go reads set bodies with a bufio.Scanner whose token
 * limit is 64 KiB including the newline, and answers EIO beyond it. Valid lines are < 100 bytes.
 */
#define UAPI_MAX_LINE 65535
/*
 * Most bytes the server should buffer for one request before answering "errno=-5" and closing.
 * wireguard-go has no limit (it streams); we parse a whole body at once, so we need one. 64 MiB
 * fits ~250k peers of `wg setconf` (about 250 bytes each with a few allowed IPs).
 */
#define UAPI_MAX_REQUEST (64u << 20)
/* The status line the server appends to every answer: printf(UAPI_STATUS_FMT, err). */
#define UAPI_STATUS_FMT "errno=%d\n\n"

enum uapi_op {
	UAPI_OP_INVALID = 0, /* close the connection without answering */
	UAPI_OP_GET,
	UAPI_OP_SET,
};

/*
 * The operation named by a connection's first line. line/len are that line WITHOUT its '\n'.
 * Exact bytes only, as wireguard-go compares "get=1\n" / "set=1\n": "get=1\r" is invalid. No
 * valid line is longer than 5 bytes, so the server may give up after 6 bytes without a '\n'.
 */
enum uapi_op uapi_parse_op(const char *line, size_t len);

/*
 * Finds the empty line that ends a set body. buf/len hold what followed "set=1\n" so far. Returns
 * the body length to pass to uapi_parse_set (the empty line excluded) and sets *next to the
 * bytes up to and including the empty line (where the next operation starts). Returns -1 while
 * no empty line has arrived: then *next is where to resume, pass it as from after reading more
 * (0 the first time), so a large body is scanned once. An empty line is "\n" or "\r\n", as
 * bufio.Scanner drops one '\r'.
 */
ssize_t uapi_find_body_end(const char *buf, size_t len, size_t from, size_t *next);

/*
 * Parses a set body into *out, which is overwritten (not freed: pass it empty or freed).
 *
 * text/len: the bytes after "set=1\n" up to and EXCLUDING the terminating empty line, i.e. zero
 * or more lines "key=value\n". The last line's '\n' may be missing; one '\r' before each '\n' is
 * dropped (bufio.Scanner does). NUL bytes are data (and so invalid). An empty line inside is
 * EPROTO: it would have ended the request, so the caller split wrongly.
 *
 * Keys as wireguard-go takes them; device keys first, then per peer from its public_key line:
 *   private_key=<hex>          all-zero removes the key
 *   listen_port=<0..65535>     fwmark=<0..2^32-1> (0 removes)     replace_peers=true
 *   public_key=<hex>           starts a new peers[] entry; device keys after it are EINVAL
 *   remove=true  update_only=true  preshared_key=<hex> (all-zero clears)
 *   endpoint=a.b.c.d:port | [ipv6]:port | [ipv6%scope]:port (scope: ifindex or interface name)
 *   persistent_keepalive_interval=<0..65535>  replace_allowed_ips=true  protocol_version=1
 *   allowed_ip=[-]addr/cidr    '-' removes that prefix (newer wg); host bits kept as sent
 * Numbers are decimal digits only (leading zeros allowed, like Go's ParseUint); hex keys are
 * exactly 64 digits of either case; addresses are strictly numeric (wg resolves hostnames):
 * endpoints and prefixes are addr.h's ADDR_UAPI dialect, which lists where it differs from the
 * config file's.
 * A cidr with a leading zero or sign ("/08", "/+8") is EINVAL as with Go >= 1.22's netip
 * (golang/go#63850); wireguard-go built with older Go accepted it. "allowed_ip=-..." is what
 * newer wireguard-tools send for a prefix removal; older wireguard-go (0.0.20220316) says EINVAL.
 *
 * The result describes a SEQUENCE, to apply whole and in order, which is how wireguard-go acts
 * line by line (except that it leaves earlier lines applied on error; we change nothing):
 *  - repeated device keys: the last wins (wireguard-go rejects no duplicates);
 *  - a repeated public_key starts another peers[] entry: "remove" then re-add is meaningful;
 *  - replace_allowed_ips=true drops the allowed IPs listed before it in the same entry;
 *  - after remove=true the rest of the entry is validated but meaningless (wireguard-go parses
 *    into a dummy peer); update_only applies to the whole entry;
 *  - a peer whose key is the device's own public key is the applier's to skip (wireguard-go).
 * An endpoint's scope given as an interface name ("%eth0", as wg prints link-local scopes) is
 * resolved by resolve (the caller's system lookup: lib/ does none); NULL refuses such scopes.
 *
 * Returns 0, UAPI_ERR_INVALID, UAPI_ERR_PROTOCOL, UAPI_ERR_IO (line too long) or -ENOMEM. On
 * error *out is empty (zeroed, nothing to free) and err (if errlen > 0) names the line and key
 * and says why, never echoing key material; on success err is "".
 */
int uapi_parse_set(const char *text, size_t len, addr_scope_resolver *resolve, struct devconf *out,
		   char *err, size_t errlen);

/*
 * Formats a get answer from the device state, in wireguard-go's order and format:
 *   private_key (if set and not zero), listen_port (if set and not 0), fwmark (if set and not 0),
 *   then per peer: public_key, preshared_key (zeros when none), protocol_version=1, endpoint (if
 *   set), last_handshake_time_sec, last_handshake_time_nsec, tx_bytes, rx_bytes,
 *   persistent_keepalive_interval, allowed_ip lines (host bits masked off).
 * Keys are lowercase hex. IPv6 text is inet_ntop's; a scope is printed as its number. Each line
 * ends in '\n'; the caller appends "errno=0\n\n". The request-only fields (replace_*, remove,
 * update_only) are ignored; an allowed IP with remove set or a bad family/cidr is EINVAL.
 *
 * *out is malloc'd, NUL-terminated and holds the private key: release it with uapi_free_text.
 * Returns 0, -EINVAL or -ENOMEM (then *out is NULL).
 */
int uapi_format_get(const struct devconf *state, char **out, size_t *out_len);

/* Wipes and frees a uapi_format_get result (len as returned). NULL is fine. */
void uapi_free_text(char *text, size_t len);

#endif
