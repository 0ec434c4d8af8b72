/* SPDX-License-Identifier: MIT */
/* Tuning constants: our choices, not the protocol's (those are in messages.h). */
#ifndef MG_TUNING_H
#define MG_TUNING_H

#define RATELIMIT_PACKETS_PER_SECOND 20 /* handshake messages per source address (IPv4, IPv6 /64) */
#define RATELIMIT_BURST 5
#define RATELIMIT_TABLE_SIZE 8192       /* sources tracked at once; a full table refuses new ones */

#endif
