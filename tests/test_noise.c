/* SPDX-License-Identifier: MIT */
/*
 * The Noise core against cacophony's vectors: Noise_IKpsk2 (WireGuard's pattern) and the related
 * Noise_IK and Noise_IKpsk1 entries. Every handshake message byte for byte, both handshake hashes,
 * then the transport messages with the split keys.
 */
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "harness.h"
#include "noise.h"
#include "x25519.h"

static unsigned int psk_position(const char *name)
{
	if (strstr(name, "psk1"))
		return 1;
	if (strstr(name, "psk2"))
		return 2;
	return 0;
}

static void get_key(const cJSON *v, const char *name, uint8_t out[32])
{
	CHECK(test_hex_fixed(test_str(v, name), out, 32) == 0, "%s", name);
}

static void get_psk(const cJSON *v, const char *name, uint8_t out[32], bool *present)
{
	const cJSON *psks = cJSON_GetObjectItemCaseSensitive(v, name);

	*present = cJSON_IsArray(psks) && cJSON_GetArraySize(psks) == 1;
	if (*present)
		CHECK(test_hex_fixed(cJSON_GetArrayItem(psks, 0)->valuestring, out, 32) == 0, "%s", name);
}

/* Transport messages after the handshake: even index initiator -> responder. */
static void check_transport(const char *name, const cJSON *messages, uint8_t keys[2][2][32])
{
	uint64_t nonce[2] = { 0, 0 };

	for (int i = 2; i < cJSON_GetArraySize(messages); i++) {
		const cJSON *m = cJSON_GetArrayItem(messages, i);
		int dir = i % 2; /* 0: I->R, 1: R->I */
		uint8_t *pt, *ct, out[512];
		size_t ptlen, ctlen;

		test_hex(test_str(m, "payload"), &pt, &ptlen);
		test_hex(test_str(m, "ciphertext"), &ct, &ctlen);
		CHECK(ctlen == ptlen + 16 && ctlen <= sizeof(out), "%s msg %d size", name, i);
		if (ctlen == ptlen + 16 && ctlen <= sizeof(out)) {
			/* sender's send key = keys[sender][0]; receiver's recv key = keys[receiver][1] */
			aead_seal(out, pt, ptlen, NULL, 0, nonce[dir], keys[dir][0]);
			CHECK_MEM(out, ct, ctlen, "%s transport %d ciphertext", name, i);
			CHECK(aead_open(out, ct, ctlen, NULL, 0, nonce[dir], keys[!dir][1]) == 0,
			      "%s transport %d open", name, i);
			CHECK_MEM(out, pt, ptlen, "%s transport %d plaintext", name, i);
		}
		nonce[dir]++;
		free(pt);
		free(ct);
	}
}

static void run_vector(const cJSON *v)
{
	const char *name = test_str(v, "protocol_name");
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(v, "messages");
	uint8_t i_s[32], i_e[32], i_rs[32], r_s[32], r_e[32], psk[32] = { 0 }, hash[32], r_pub[32];
	uint8_t *prologue, *payload, *ct, buf[1024], keys[2][2][32];
	size_t prologue_len, plen, ctlen;
	struct noise_handshake ini, resp;
	bool has_psk;
	struct noise_params p;

	get_key(v, "init_static", i_s);
	get_key(v, "init_ephemeral", i_e);
	get_key(v, "init_remote_static", i_rs);
	get_key(v, "resp_static", r_s);
	get_key(v, "resp_ephemeral", r_e);
	get_key(v, "handshake_hash", hash);
	get_psk(v, "init_psks", psk, &has_psk);
	test_hex(test_str(v, "init_prologue"), &prologue, &prologue_len);
	x25519_public(r_pub, r_s);
	CHECK_MEM(r_pub, i_rs, 32, "%s: init_remote_static is the responder's public key", name);

	p = (struct noise_params){ .protocol_name = name, .prologue = prologue,
				   .prologue_len = prologue_len, .psk_position = psk_position(name) };
	CHECK(has_psk == (p.psk_position != 0), "%s: psk presence", name);
	noise_handshake_init(&ini, &p, true, i_s, i_rs, has_psk ? psk : NULL);
	noise_handshake_init(&resp, &p, false, r_s, NULL, has_psk ? psk : NULL);

	/* -> e, es, s, ss [psk] */
	test_hex(test_str(cJSON_GetArrayItem(messages, 0), "payload"), &payload, &plen);
	test_hex(test_str(cJSON_GetArrayItem(messages, 0), "ciphertext"), &ct, &ctlen);
	CHECK(ctlen == NOISE_MSG1_LEN(plen), "%s msg1 length", name);
	CHECK(noise_write_message1(&ini, i_e, payload, plen, buf) == 0, "%s write msg1", name);
	CHECK_MEM(buf, ct, ctlen, "%s msg1 bytes", name);
	memset(buf + 512, 0, 512);
	CHECK(noise_read_message1(&resp, ct, ctlen, NULL, NULL, buf + 512) == 0, "%s read msg1", name);
	CHECK_MEM(buf + 512, payload, plen, "%s msg1 payload", name);
	CHECK_MEM(resp.rs, ini.s_pub, 32, "%s responder learnt initiator static", name);
	free(payload);
	free(ct);

	/* <- e, ee, se [psk] */
	test_hex(test_str(cJSON_GetArrayItem(messages, 1), "payload"), &payload, &plen);
	test_hex(test_str(cJSON_GetArrayItem(messages, 1), "ciphertext"), &ct, &ctlen);
	CHECK(ctlen == NOISE_MSG2_LEN(plen), "%s msg2 length", name);
	CHECK(noise_write_message2(&resp, r_e, payload, plen, buf) == 0, "%s write msg2", name);
	CHECK_MEM(buf, ct, ctlen, "%s msg2 bytes", name);
	CHECK(noise_read_message2(&ini, ct, ctlen, buf + 512) == 0, "%s read msg2", name);
	CHECK_MEM(buf + 512, payload, plen, "%s msg2 payload", name);
	free(payload);
	free(ct);

	CHECK_MEM(ini.h, hash, 32, "%s initiator handshake hash", name);
	CHECK_MEM(resp.h, hash, 32, "%s responder handshake hash", name);
	noise_split(&ini, keys[0][0], keys[0][1]);
	noise_split(&resp, keys[1][0], keys[1][1]);
	CHECK_MEM(keys[0][0], keys[1][1], 32, "%s I send == R recv", name);
	CHECK_MEM(keys[0][1], keys[1][0], 32, "%s R send == I recv", name);
	check_transport(name, messages, keys);
	printf("%s: handshake and %d transport messages checked\n", name, cJSON_GetArraySize(messages) - 2);
	noise_handshake_clear(&ini);
	noise_handshake_clear(&resp);
	free(prologue);
}

static void run_file(const char *path, int expect)
{
	cJSON *root = test_load_json_required(path), *v;
	int n = 0;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "vectors")) {
		run_vector(v);
		n++;
	}
	CHECK(n == expect, "%s: %d vectors", path, n);
	cJSON_Delete(root);
}

/* A tampered message 1 or 2 must fail, in every byte of the encrypted parts. */
static void check_tamper(void)
{
	static const struct noise_params p = { .protocol_name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s",
					       .psk_position = 2 };
	uint8_t i_s[32], i_pub[32], r_s[32], r_pub[32], e[32], epub[32], msg[NOISE_MSG1_LEN(4)], out[8];
	unsigned int rejected = 0, total = 0;
	struct noise_handshake ini, resp;

	x25519_generate(i_s, i_pub);
	x25519_generate(r_s, r_pub);
	x25519_generate(e, epub);
	noise_handshake_init(&ini, &p, true, i_s, r_pub, NULL);
	CHECK(noise_write_message1(&ini, e, (const uint8_t *)"ping", 4, msg) == 0, "write");
	for (size_t i = 32; i < sizeof(msg); i++) {
		msg[i] ^= 0x01;
		noise_handshake_init(&resp, &p, false, r_s, NULL, NULL);
		rejected += noise_read_message1(&resp, msg, sizeof(msg), NULL, NULL, out) != 0;
		total++;
		msg[i] ^= 0x01;
	}
	CHECK(rejected == total, "tampered msg1: %u of %u rejected", rejected, total);
	noise_handshake_init(&resp, &p, false, r_s, NULL, NULL);
	CHECK(noise_read_message1(&resp, msg, sizeof(msg), NULL, NULL, out) == 0, "untampered accepted");
	CHECK(noise_read_message1(&resp, msg, NOISE_MSG1_LEN(0) - 1, NULL, NULL, out) != 0, "short msg1");
	noise_handshake_clear(&ini);
	noise_handshake_clear(&resp);
}

int main(void)
{
	run_file("noise/noise_ikpsk2_25519_chachapoly_blake2s.json", 1);
	run_file("noise/noise_ik_ikpsk1_25519_chachapoly_blake2s_related.json", 2);
	check_tamper();
	return test_done("noise");
}
