/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard wire format, all of it: message types, layouts, sizes, and the protocol's constants.
 * Protocol (spec) constants live here; tuning constants (queue sizes, table bounds) live in tuning.h.
 * Multi-byte integers on the wire are little-endian.
 */
#ifndef MG_MESSAGES_H
#define MG_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_PUBLIC_KEY_LEN 32
#define NOISE_SYMMETRIC_KEY_LEN 32
#define NOISE_TIMESTAMP_LEN 12
#define NOISE_AUTHTAG_LEN 16
#define NOISE_HASH_LEN 32
#define COOKIE_LEN 16
#define COOKIE_NONCE_LEN 24

#define noise_encrypted_len(plain_len) ((plain_len) + NOISE_AUTHTAG_LEN)

/* Protocol constants from the WireGuard paper (section 6.1) and the Linux implementation. */
#define REKEY_AFTER_MESSAGES (1ULL << 60)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13) - 1) /* 2^64 - 2^13 - 1, as the paper */
#define REKEY_TIMEOUT_S 5
#define REKEY_TIMEOUT_JITTER_MAX_MS 333
#define REKEY_AFTER_TIME_S 120
#define REKEY_ATTEMPT_TIME_S 90
#define REJECT_AFTER_TIME_S 180
#define KEEPALIVE_TIMEOUT_S 10
#define COOKIE_SECRET_MAX_AGE_S 120
#define COOKIE_SECRET_LATENCY_S 5
#define INITIATIONS_PER_SECOND 50   /* per peer, accepted by a responder */
#define MAX_TIMER_HANDSHAKES (REKEY_ATTEMPT_TIME_S / REKEY_TIMEOUT_S)
#define MESSAGE_PADDING_MULTIPLE 16
#define COUNTER_WINDOW_SIZE 8128     /* replay window: 8192-bit bitmap minus one 64-bit word */

#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1 "mac1----"
#define WG_LABEL_COOKIE "cookie--"

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4
};

/* The first four bytes of every message: type (1 byte) and three zero bytes, read as one LE word. */
struct message_header {
	uint32_t type;
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[noise_encrypted_len(0)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint32_t receiver_index;
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[noise_encrypted_len(COOKIE_LEN)];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint32_t key_idx;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

#define MESSAGE_INITIATION_SIZE 148
#define MESSAGE_RESPONSE_SIZE 92
#define MESSAGE_COOKIE_SIZE 64
#define MESSAGE_DATA_HEADER_SIZE 16
#define message_data_len(plain_len) (MESSAGE_DATA_HEADER_SIZE + noise_encrypted_len(plain_len))
#define MESSAGE_MINIMUM_LENGTH message_data_len(0) /* a keepalive: 32 bytes */

_Static_assert(sizeof(struct message_handshake_initiation) == MESSAGE_INITIATION_SIZE, "initiation");
_Static_assert(sizeof(struct message_handshake_response) == MESSAGE_RESPONSE_SIZE, "response");
_Static_assert(sizeof(struct message_handshake_cookie) == MESSAGE_COOKIE_SIZE, "cookie");
_Static_assert(sizeof(struct message_data) == MESSAGE_DATA_HEADER_SIZE, "data header");

/* Offset of the MACs within a handshake message, and the byte ranges they cover. */
#define message_mac1_offset(msg_len) ((msg_len) - sizeof(struct message_macs))
#define message_mac2_offset(msg_len) ((msg_len) - COOKIE_LEN)

/* The header word for type t, in host order of a little-endian host (x86, arm64 LE). */
#define MESSAGE_HEADER_WORD(t) ((uint32_t)(t))

/*
 * What a UDP payload is: its type when the header word and the length fit that type exactly (data:
 * at least a keepalive), else MESSAGE_INVALID. The only check between the wire and the consumers,
 * which take fixed-size structs.
 */
static inline enum message_type message_classify(const uint8_t *p, size_t len)
{
	uint32_t word;

	if (len < sizeof(word))
		return MESSAGE_INVALID;
	__builtin_memcpy(&word, p, sizeof(word));
	switch (word) {
	case MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_INITIATION):
		return len == MESSAGE_INITIATION_SIZE ? MESSAGE_HANDSHAKE_INITIATION : MESSAGE_INVALID;
	case MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_RESPONSE):
		return len == MESSAGE_RESPONSE_SIZE ? MESSAGE_HANDSHAKE_RESPONSE : MESSAGE_INVALID;
	case MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_COOKIE):
		return len == MESSAGE_COOKIE_SIZE ? MESSAGE_HANDSHAKE_COOKIE : MESSAGE_INVALID;
	case MESSAGE_HEADER_WORD(MESSAGE_DATA):
		return len >= MESSAGE_MINIMUM_LENGTH ? MESSAGE_DATA : MESSAGE_INVALID;
	default:
		return MESSAGE_INVALID;
	}
}

#endif
