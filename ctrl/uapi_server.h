/* SPDX-License-Identifier: MIT */
/* The WireGuard UAPI socket (uapi_server.c), so the standard wg tool configures meshgate. */
#ifndef MG_UAPI_SERVER_H
#define MG_UAPI_SERVER_H

int uapi_server_open(const char *ifname);
/* Serve a connection made elsewhere (a socketpair's end: the in-process tests); 0 or -EBUSY. The
 * server closes it when done. */
int uapi_server_attach(int fd);
/* Serve what clients sent; wait at most timeout_ms for something to happen. */
void uapi_server_poll(int timeout_ms);
void uapi_server_close(void);

#endif
