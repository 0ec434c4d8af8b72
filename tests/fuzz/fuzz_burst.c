/* SPDX-License-Identifier: MIT */
/*
 * The burst AEAD as the data path calls it: one burst of packets of many lengths, under the keys
 * of several peers, opened (decrypt path: ciphertext from the wire) and sealed (encrypt path:
 * plaintext from the inner side) by every backend this CPU runs, the SIMD ones both with and
 * without handing long packets to intel-ipsec-mb. The reference is libsodium's one-shot AEAD
 * (aead.c). What drives the backends' control flow is the shape of the burst, not the bytes, so
 * the input describes the shape and the bytes are generated; per packet 4 bytes:
 *   u16 len (mod BURST_MAX_LEN + 1), u8 flags, u8 corrupt
 *   flags bit 0: authentic (sealed by the reference; else the ciphertext and tag are filler)
 *         bit 1: in place (dst == src)
 *         bit 2: NULL src and dst when len is 0 (the API allows it)
 *         bits 3-4: which of BURST_KEYS keys; bits 5-7: the counter's top bits
 *   corrupt: when authentic and not 0, flip bit corrupt & 7 of a byte of ciphertext || tag
 * Every buffer is its own allocation of exactly its size, so ASan sees a lane reading past its
 * packet. Open must verify exactly the authentic, uncorrupted packets, give their plaintext and
 * zero dst for the others; seal must match the reference byte for byte.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "aead_burst.h"
#include "fuzz.h"

#define BURST_MAX_OPS 80    /* more than one SIMD chunk (64) */
#define BURST_MAX_LEN 4096  /* past the SIMD backends' split_min, so the split is taken */
#define BURST_KEYS 4
#define MAX_CONFIGS (2 * AEAD_BACKEND_COUNT)

struct packet {
	uint32_t len;
	uint64_t counter;
	const uint8_t *key;
	bool in_place, null_empty, expect_ok;
	uint8_t *plain, *ct, tag[AEAD_TAG_SIZE]; /* ct, tag: what arrives from the wire */
	uint8_t *ref;                            /* the reference's ciphertext || tag */
};

static struct aead_burst configs[MAX_CONFIGS];
static unsigned int n_configs;
static uint8_t keys[BURST_KEYS][AEAD_KEY_SIZE];

/* Only the SIMD backends read MESHGATE_SIMD_SPLIT (at init): the others are added once. */
static void add_configs(bool simd_only)
{
	for (int b = AEAD_BACKEND_SODIUM; b < AEAD_BACKEND_COUNT; b++)
		if ((!simd_only || b >= AEAD_BACKEND_SIMD_AVX2) &&
		    aead_burst_backend_supported((enum aead_backend)b) &&
		    aead_burst_init(&configs[n_configs], (enum aead_backend)b) == 0)
			n_configs++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	for (unsigned int k = 0; k < BURST_KEYS; k++)
		fuzz_fill(keys[k], AEAD_KEY_SIZE, (uint8_t)(0x40 + k));
	unsetenv("MESHGATE_SIMD_SPLIT");
	add_configs(false);
	setenv("MESHGATE_SIMD_SPLIT", "0", 1);
	add_configs(true);
	unsetenv("MESHGATE_SIMD_SPLIT");
	FUZZ_CHECK(n_configs > 0);
	return 0;
}

static uint8_t *alloc(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	FUZZ_CHECK(p != NULL);
	return p;
}

static void packet_make(struct packet *p, unsigned int i, uint16_t len, uint8_t flags,
			uint8_t corrupt)
{
	p->len = len % (BURST_MAX_LEN + 1);
	p->in_place = flags & 2;
	p->null_empty = (flags & 4) && p->len == 0;
	p->key = keys[(flags >> 3) & 3];
	p->counter = (uint64_t)(flags >> 5) << 61 | i;
	p->plain = alloc(p->len);
	p->ct = alloc(p->len);
	p->ref = alloc(p->len + AEAD_TAG_SIZE);
	fuzz_fill(p->plain, p->len, (uint8_t)(i * 7 + flags));
	aead_seal(p->ref, p->plain, p->len, NULL, 0, p->counter, p->key);
	p->expect_ok = flags & 1;
	if (p->expect_ok) {
		memcpy(p->ct, p->ref, p->len);
		memcpy(p->tag, p->ref + p->len, AEAD_TAG_SIZE);
	} else {
		fuzz_fill(p->ct, p->len, (uint8_t)~i);
		fuzz_fill(p->tag, AEAD_TAG_SIZE, (uint8_t)(i + 1));
	}
	if (p->expect_ok && corrupt) {
		size_t at = (size_t)(corrupt >> 3) * (p->len + AEAD_TAG_SIZE) / 32;
		uint8_t *byte = at < p->len ? &p->ct[at] : &p->tag[at - p->len];

		*byte ^= (uint8_t)(1u << (corrupt & 7));
		p->expect_ok = false;
	}
}

static void packet_free(struct packet *p)
{
	free(p->plain);
	free(p->ct);
	free(p->ref);
}

/* The op for packet p, every buffer its own allocation: in is the input (ciphertext or plaintext),
 * tag_in the tag to open with (NULL when sealing). */
static void op_make(struct aead_burst_op *op, const struct packet *p, const uint8_t *in,
		    const uint8_t *tag_in)
{
	memset(op, 0, sizeof(*op));
	op->key = p->key;
	op->counter = p->counter;
	op->len = p->len;
	op->tag = alloc(AEAD_TAG_SIZE);
	if (tag_in)
		memcpy(op->tag, tag_in, AEAD_TAG_SIZE);
	else
		memset(op->tag, 0xaa, AEAD_TAG_SIZE);
	if (p->null_empty)
		return;
	op->dst = alloc(p->len);
	if (p->in_place)
		memcpy(op->dst, in, p->len);
	else
		memset(op->dst, 0xaa, p->len); /* must be overwritten or zeroed */
	op->src = p->in_place ? op->dst : in;
}

static void op_free(struct aead_burst_op *op)
{
	free(op->dst);
	free(op->tag);
}

static void check_open(struct aead_burst *ab, const struct packet *pk, struct aead_burst_op *ops,
		       unsigned int n)
{
	unsigned int verified, ok = 0;

	for (unsigned int i = 0; i < n; i++)
		op_make(&ops[i], &pk[i], pk[i].ct, pk[i].tag);
	verified = aead_burst_open(ab, ops, n);
	for (unsigned int i = 0; i < n; i++) {
		const struct packet *p = &pk[i];
		const uint8_t *dst = ops[i].dst;

		ok += ops[i].ok;
		FUZZ_CHECK(ops[i].ok == p->expect_ok);
		FUZZ_CHECK(memcmp(ops[i].tag, p->tag, AEAD_TAG_SIZE) == 0); /* read only */
		if (p->expect_ok)
			FUZZ_CHECK(p->len == 0 || memcmp(dst, p->plain, p->len) == 0);
		else /* all zero */
			FUZZ_CHECK(p->len == 0 || (dst[0] == 0 && memcmp(dst, dst + 1, p->len - 1) == 0));
		op_free(&ops[i]);
	}
	FUZZ_CHECK(verified == ok);
}

static void check_seal(struct aead_burst *ab, const struct packet *pk, struct aead_burst_op *ops,
		       unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		op_make(&ops[i], &pk[i], pk[i].plain, NULL);
	aead_burst_seal(ab, ops, n);
	for (unsigned int i = 0; i < n; i++) {
		const struct packet *p = &pk[i];

		FUZZ_CHECK(memcmp(ops[i].tag, p->ref + p->len, AEAD_TAG_SIZE) == 0);
		FUZZ_CHECK(p->len == 0 || memcmp(ops[i].dst, p->ref, p->len) == 0);
		op_free(&ops[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct packet pk[BURST_MAX_OPS];
	struct aead_burst_op ops[BURST_MAX_OPS];
	unsigned int n = 0;

	while (fuzz_left(&in) && n < BURST_MAX_OPS) {
		uint16_t len = fuzz_u16(&in);
		uint8_t flags = fuzz_u8(&in);

		packet_make(&pk[n], n, len, flags, fuzz_u8(&in));
		n++;
	}
	for (unsigned int c = 0; c < n_configs; c++) {
		check_open(&configs[c], pk, ops, n);
		check_seal(&configs[c], pk, ops, n);
	}
	for (unsigned int i = 0; i < n; i++)
		packet_free(&pk[i]);
	return 0;
}
