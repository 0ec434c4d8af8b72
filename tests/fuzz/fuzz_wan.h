/* SPDX-License-Identifier: MIT */
/*
 * The fixed world of the WAN fuzz target (fuzz_wan.c builds it in mg_dev; make_seeds.c writes
 * frames for it). No DPDK here, so the seed generator can use it too.
 *
 * We are B of fuzz_common.h's world, on the WAN at 192.0.2.2/24, 2001:db8::2/64 and
 * 198.51.100.2/24, MAC 02:6d:67:00:00:01, listening on port 51820. Two peers:
 *   A: the world's initiator, at 192.0.2.1:51820 (MAC 02:77:00:00:00:0a), inner 10.77.0.2/32 and
 *      fd00:77::2/128. Keypairs: next = the world's session (B is the responder and has not seen
 *      A use it yet; receiver index FUZZ_INDEX_B, key world.data_key), current, and previous
 *      (older than REJECT_AFTER_TIME: expired).
 *   C: at [2001:db8::c]:51821, inner 10.77.1.0/24 and fd00:77:1::/48, one current keypair.
 * The clock is FUZZ_NOW_NS. Keys other than the world's are fuzz_fill(key, 32, seed).
 */
#ifndef MG_FUZZ_WAN_H
#define MG_FUZZ_WAN_H

#include <netinet/in.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "messages.h"

#define WAN_LISTEN_PORT 51820
#define WAN_NS_PER_S 1000000000ULL

static const uint8_t wan_our_mac[6] = { 0x02, 0x6d, 0x67, 0x00, 0x00, 0x01 };
static const uint8_t wan_a_mac[6] = { 0x02, 0x77, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t wan_c_mac[6] = { 0x02, 0x77, 0x00, 0x00, 0x00, 0x0c };

struct wan_prefix {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
};

/* Our addresses; the first of each family is the source we answer from. */
static const struct wan_prefix wan_addrs[] = {
	{ AF_INET, { 192, 0, 2, 2 }, 24 },
	{ AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 }, 64 },
	{ AF_INET, { 198, 51, 100, 2 }, 24 },
};
#define WAN_N_ADDRS (sizeof(wan_addrs) / sizeof(wan_addrs[0]))
static const uint8_t wan_gateway4[4] = { 192, 0, 2, 254 };

enum { WAN_PEER_A, WAN_PEER_C, WAN_PEERS };

struct wan_peer {
	int family;                  /* endpoint */
	uint8_t addr[16];
	uint16_t port;
	struct wan_prefix allowed[2];
};

static const struct wan_peer wan_peers[WAN_PEERS] = {
	[WAN_PEER_A] = { AF_INET, { 192, 0, 2, 1 }, 51820,
			 { { AF_INET, { 10, 77, 0, 2 }, 32 },
			   { AF_INET6, { 0xfd, 0x00, 0x00, 0x77, [15] = 2 }, 128 } } },
	[WAN_PEER_C] = { AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x0c }, 51821,
			 { { AF_INET, { 10, 77, 1, 0 }, 24 },
			   { AF_INET6, { 0xfd, 0x00, 0x00, 0x77, 0x00, 0x01 }, 48 } } },
};

enum wan_role { WAN_NEXT, WAN_CURRENT, WAN_PREVIOUS };
enum { WAN_KP_A_NEXT, WAN_KP_A_CURRENT, WAN_KP_A_PREVIOUS, WAN_KP_C_CURRENT, WAN_KEYPAIRS };

struct wan_keypair {
	uint32_t index;     /* our receiver index: what the peer puts on data messages to us */
	uint8_t peer;
	uint8_t role;
	uint8_t key_seed;   /* receiving key fuzz_fill(key, 32, seed); 0: the world's data_key */
	uint64_t age_ns;    /* birth = FUZZ_NOW_NS - age */
};

/* Index slots (low MG_INDEX_BITS bits) all differ. */
static const struct wan_keypair wan_keypairs[WAN_KEYPAIRS] = {
	[WAN_KP_A_NEXT] = { FUZZ_INDEX_B, WAN_PEER_A, WAN_NEXT, 0, 1 * WAN_NS_PER_S },
	[WAN_KP_A_CURRENT] = { 0x5a5a0101u, WAN_PEER_A, WAN_CURRENT, 0xc1, 10 * WAN_NS_PER_S },
	[WAN_KP_A_PREVIOUS] = { 0x5a5a0102u, WAN_PEER_A, WAN_PREVIOUS, 0xc2,
				(REJECT_AFTER_TIME_S + 1) * WAN_NS_PER_S },
	[WAN_KP_C_CURRENT] = { 0x5a5a0103u, WAN_PEER_C, WAN_CURRENT, 0xc3, 5 * WAN_NS_PER_S },
};

/* The receiving key of keypair k (the sender's sending key). */
static inline void wan_key(const struct fuzz_world *w, unsigned int k, uint8_t key[32])
{
	if (wan_keypairs[k].key_seed)
		fuzz_fill(key, 32, wan_keypairs[k].key_seed);
	else
		memcpy(key, w->data_key, 32);
}

/*
 * The input encoding (fuzz_wan.c's header says what each part does):
 *   u8 knobs, then up to MG_BURST (32) frames, each a u16 little-endian header and the frame:
 *   header bits 0-10 the frame's length (cut to what is left), bit 14 seal its data message first,
 *   bit 15 chain it as two segments.
 */
#define WAN_KNOB_INNER_FULL 1u      /* bits 0-1: inner device takes all / none (full) / */
#define WAN_KNOB_INNER_DOWN 2u      /*   none (down) / half (full) */
#define WAN_KNOB_INNER_HALF 3u
#define WAN_KNOB_CTRL_SMALL 4u      /* to_ctrl ring with room for 3 */
#define WAN_KNOB_EVENTS_SMALL 8u    /* event ring with room for 1 */
#define WAN_KNOB_BACKEND_SHIFT 4    /* bits 4-7: AEAD backend, mod the number this CPU runs */
#define WAN_FRAME_LEN_MASK 0x7ffu
#define WAN_FRAME_SEAL 0x4000u
#define WAN_FRAME_CHAINED 0x8000u

#endif
