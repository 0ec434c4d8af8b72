/* SPDX-License-Identifier: MIT */
/*
 * A real WireGuard exchange captured by Wireshark's test suite (GPL material, read from
 * ../shared/vectors only; skipped when absent). With the published static and ephemeral keys we
 * rebuild the initiations and the response byte for byte (MACs included), consume them as the other
 * side, check the timestamps Wireshark reports, derive the session and decrypt the first data
 * packets to the ICMP echo request and reply they carry.
 */
#include <string.h>
#include <stdlib.h>

#include <sodium.h>

#include "aead.h"
#include "cookie.h"
#include "handshake.h"
#include "harness.h"
#include "x25519.h"

#define MS 1000000ULL

static cJSON *keys, *packets;

static void key(const char *name, uint8_t out[32])
{
	CHECK(test_hex_fixed(test_str(cJSON_GetObjectItemCaseSensitive(keys, name), "hex"), out, 32) == 0,
	      "key %s", name);
}

static size_t packet(const char *name, uint8_t *out, size_t cap)
{
	uint8_t *buf;
	size_t len;

	test_hex(test_str(cJSON_GetObjectItemCaseSensitive(packets, name), "hex"), &buf, &len);
	CHECK(len > 0 && len <= cap, "packet %s", name);
	if (len > cap)
		len = 0;
	memcpy(out, buf, len);
	free(buf);
	return len;
}

static struct handshake_identity id_i, id_r;
static struct handshake hs_i, hs_r;

static struct handshake *lookup_i(void *ctx, const uint8_t *remote_static)
{
	(void)ctx;
	return memcmp(remote_static, id_i.static_public, 32) == 0 ? &hs_r : NULL;
}

static uint32_t nanos(const uint8_t ts[12])
{
	return (uint32_t)ts[8] << 24 | (uint32_t)ts[9] << 16 | (uint32_t)ts[10] << 8 | ts[11];
}

/* Consume an initiation as the responder, then rebuild it as the initiator from its keys. */
static void check_initiation(const char *frame, const char *eph, const char *eph_alt, uint64_t now,
			     uint32_t expect_nanos)
{
	struct message_handshake_initiation got, built;
	struct cookie_checker checker;
	struct cookie_maker maker;
	struct handshake *peer;
	uint8_t e[32];

	CHECK(packet(frame, (uint8_t *)&got, sizeof(got)) == MESSAGE_INITIATION_SIZE, "%s size", frame);
	cookie_checker_init(&checker, id_r.static_public);
	CHECK(cookie_validate(&checker, (uint8_t *)&got, sizeof(got), NULL, 0, false, now) ==
	      COOKIE_VALID_MAC_BUT_NO_COOKIE, "%s mac1", frame);
	CHECK(handshake_consume_initiation(&got, &id_r, lookup_i, NULL, now, &peer) == 0, "%s consume", frame);
	CHECK(peer == &hs_r, "%s peer", frame);
	if (expect_nanos)
		CHECK(nanos(hs_r.latest_timestamp) == expect_nanos, "%s timestamp nanoseconds %u",
		      frame, nanos(hs_r.latest_timestamp));

	cookie_maker_init(&maker, id_r.static_public);
	for (int alt = 0; alt < (eph_alt ? 2 : 1); alt++) {
		key(alt ? eph_alt : eph, e);
		CHECK(handshake_create_initiation(&built, &hs_i, &id_i, got.sender_index, e,
						  hs_r.latest_timestamp) == 0, "%s create", frame);
		cookie_add_macs(&maker, (uint8_t *)&built, sizeof(built), now);
		CHECK_MEM(&built, &got, sizeof(got), "%s rebuilt byte for byte%s", frame,
			  alt ? " (clamping-equivalent key)" : "");
	}
	cookie_checker_wipe(&checker);
}

static void check_data(const char *frame, const uint8_t key[32], uint32_t key_idx, uint8_t icmp_type)
{
	uint8_t pkt[256], plain[256];
	size_t len = packet(frame, pkt, sizeof(pkt));
	struct message_data *d = (struct message_data *)pkt;
	size_t clen = len - MESSAGE_DATA_HEADER_SIZE;

	CHECK(len >= MESSAGE_MINIMUM_LENGTH && d->header.type == MESSAGE_DATA, "%s type", frame);
	CHECK(d->key_idx == key_idx && d->counter == 0, "%s index and counter", frame);
	CHECK(aead_open(plain, d->encrypted_data, clen, NULL, 0, d->counter, key) == 0, "%s decrypts", frame);
	CHECK((clen - 16) % 16 == 0, "%s padded to 16", frame);
	CHECK(plain[0] == 0x45 && plain[9] == 1 && plain[20] == icmp_type,
	      "%s is IPv4 ICMP type %u", frame, icmp_type);
	CHECK((size_t)(plain[2] << 8 | plain[3]) <= clen - 16, "%s IP length within packet", frame);
	d->encrypted_data[0] ^= 1;
	CHECK(aead_open(plain, d->encrypted_data, clen, NULL, 0, 0, key) != 0, "%s tamper fails", frame);
}

int main(void)
{
	cJSON *root = test_load_json_or_skip("wireguard/wireshark_wireguard_capture_transcript.json");
	struct message_handshake_response got, built;
	struct handshake_session si, sr;
	struct cookie_maker maker;
	uint8_t priv[32], pub[32], e[32];

	CHECK(sodium_init() >= 0, "sodium");
	keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
	packets = cJSON_GetObjectItemCaseSensitive(root, "packets");

	key("Spriv_i", priv);
	CHECK(handshake_identity_set(&id_i, priv) == 0, "initiator identity");
	key("Spub_i", pub);
	CHECK_MEM(id_i.static_public, pub, 32, "Spub_i from Spriv_i");
	key("Spriv_i_alt", priv);
	x25519_clamp(priv);
	CHECK_MEM(priv, id_i.static_private, 32, "Spriv_i_alt clamps to Spriv_i");
	key("Spriv_r", priv);
	CHECK(handshake_identity_set(&id_r, priv) == 0, "responder identity");
	key("Spub_r", pub);
	CHECK_MEM(id_r.static_public, pub, 32, "Spub_r from Spriv_r");
	handshake_init(&hs_i, &id_i, id_r.static_public, NULL);
	handshake_init(&hs_r, &id_r, id_i.static_public, NULL);

	/* Session 1: frames 1 (initiation), 2 (response), 3 and 4 (ICMP echo request, reply). */
	check_initiation("init_session1_frame1", "Epriv_i0", "Epriv_i0_alt", 1000 * MS, 356537872);
	CHECK(packet("resp_session1_frame2", (uint8_t *)&got, sizeof(got)) == MESSAGE_RESPONSE_SIZE, "resp size");
	key("Epriv_r0", e);
	CHECK(handshake_create_response(&built, &hs_r, got.sender_index, e) == 0, "create response");
	cookie_maker_init(&maker, id_i.static_public);
	cookie_add_macs(&maker, (uint8_t *)&built, sizeof(built), 0);
	CHECK_MEM(&built, &got, sizeof(got), "response rebuilt byte for byte");
	CHECK(handshake_consume_response(&got, &hs_i) == 0, "initiator consumes the captured response");
	CHECK(handshake_derive_session(&hs_i, &si) == 0 && handshake_derive_session(&hs_r, &sr) == 0, "derive");
	CHECK_MEM(si.send_key, sr.recv_key, 32, "session keys agree");
	check_data("data_session1_AtoB_first", si.send_key, si.remote_index, 8);
	check_data("data_session1_BtoA_first", si.recv_key, si.local_index, 0);

	/* Session 2's initiation (frame 13): a newer timestamp, accepted. */
	check_initiation("init_session2_frame13", "Epriv_i1", NULL, 60000 * MS, 490514356);

	/* The PSK capture's initiation: the psk only enters at the response, so this consumes too. */
	handshake_init(&hs_r, &id_r, id_i.static_public, NULL); /* another capture: fresh peer state */
	check_initiation("init_psk_capture", "Epriv_i2", NULL, 90000 * MS, 0);

	handshake_destroy(&hs_i);
	handshake_destroy(&hs_r);
	cJSON_Delete(root);
	return test_done("wireshark");
}
