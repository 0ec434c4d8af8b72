/* SPDX-License-Identifier: MIT */
/*
 * Handshake messages on the control thread (hs.c): initiations, responses and cookie replies in,
 * the same out, the under-load defence, keepalives, and the keys kept fresh.
 */
#ifndef MG_HS_H
#define MG_HS_H

#include <stdbool.h>

#include <rte_mbuf.h>

#include "device.h"

/* A handshake frame from a worker (consumed). */
void hs_input(struct rte_mbuf *m);
/* Send an initiation unless one went out less than REKEY_TIMEOUT ago; retry: from the retransmit
 * timer (does not restart the retry budget). */
void hs_send_initiation(struct mg_peer *peer, bool retry);
void hs_send_keepalive(struct mg_peer *peer);
/* A handshake completed: its response arrived, or a responder's keypair was confirmed. */
void hs_complete(struct mg_peer *peer);
void hs_keep_key_fresh_on_receive(struct mg_peer *peer);

#endif
