/* SPDX-License-Identifier: MIT */
/*
 * Allowed IPs (cryptokey routing) on a stream of table changes, as UAPI and the config file make
 * them, and lookups of addresses from packets, against a naive model: a list of (prefix, peer)
 * searched linearly for the longest match. Per operation a u8 op, then an address and a u8 cidr
 * where the operation takes them:
 *   op % 5: 0 insert, 1 remove, 2 remove_by_peer, 3 lookup, 4 walk_peer (compared as a set)
 *   (op >> 3) & 3: family: AF_INET, AF_INET6, AF_INET again, or an unsupported one
 *   op >> 5: which of four peers (4..7: the same four)
 * An IPv4 address is 4 bytes; an IPv6 one is 4 bytes and a fifth repeated over the other 12, so
 * that prefixes share leading bits often and long prefixes still differ. The cidr byte is taken
 * as it comes: beyond the family's length it must be refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "allowedips.h"
#include "fuzz.h"

#define MAX_ENTRIES 512

struct entry {
	int family;
	uint8_t addr[16]; /* host bits zero */
	unsigned int cidr;
	void *peer;
};

struct model {
	struct entry e[MAX_ENTRIES];
	unsigned int n;
};

static char peers[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static unsigned int bits_of(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void mask(uint8_t *a, unsigned int cidr)
{
	for (unsigned int bit = cidr; bit < 128; bit++)
		a[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

static bool contains(const struct entry *e, int family, const uint8_t *addr)
{
	uint8_t a[16] = { 0 };

	memcpy(a, addr, family == AF_INET ? 4 : 16);
	mask(a, e->cidr);
	return e->family == family && memcmp(a, e->addr, 16) == 0;
}

static struct entry *model_find(struct model *m, int family, const uint8_t *a, unsigned int cidr)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (m->e[i].family == family && m->e[i].cidr == cidr && !memcmp(m->e[i].addr, a, 16))
			return &m->e[i];
	return NULL;
}

static void model_drop(struct model *m, struct entry *e)
{
	*e = m->e[--m->n];
}

static void *model_lookup(const struct model *m, int family, const uint8_t *addr)
{
	const struct entry *best = NULL;

	for (unsigned int i = 0; i < m->n; i++)
		if (contains(&m->e[i], family, addr) && (!best || m->e[i].cidr > best->cidr))
			best = &m->e[i];
	return best ? best->peer : NULL;
}

struct walked {
	struct model *m;
	void *peer;
	bool seen[MAX_ENTRIES];
	unsigned int n;
};

/* Each prefix walked is the peer's in the model, once. */
static int walk_cb(void *arg, int family, const uint8_t *addr, unsigned int cidr)
{
	struct walked *w = arg;
	uint8_t a[16] = { 0 };
	struct entry *e;

	memcpy(a, addr, family == AF_INET ? 4 : 16);
	e = model_find(w->m, family, a, cidr);
	FUZZ_CHECK(e != NULL && e->peer == w->peer && !w->seen[e - w->m->e]);
	mask(a, cidr);
	FUZZ_CHECK(memcmp(a, e->addr, 16) == 0); /* host bits zero */
	w->seen[e - w->m->e] = true;
	w->n++;
	return 0;
}

static void check_walk(const struct allowedips *t, struct model *m, void *peer)
{
	static struct walked w;
	unsigned int want = 0;

	memset(&w, 0, sizeof(w));
	w.m = m;
	w.peer = peer;
	FUZZ_CHECK(allowedips_walk_peer(t, peer, walk_cb, &w) == 0);
	for (unsigned int i = 0; i < m->n; i++)
		want += m->e[i].peer == peer;
	FUZZ_CHECK(w.n == want);
}

static void step(struct allowedips *t, struct model *m, struct fuzz_in *in)
{
	static const int families[4] = { AF_INET, AF_INET6, AF_INET, AF_UNIX };
	uint8_t op = fuzz_u8(in), addr[16] = { 0 }, masked[16];
	int family = families[(op >> 3) & 3], ret;
	void *peer = &peers[(op >> 5) & 3];
	unsigned int cidr, len = family == AF_INET ? 4 : 16;
	bool valid;
	struct entry *e;

	for (unsigned int i = 0; i < 4; i++)
		addr[i] = fuzz_u8(in);
	if (len == 16)
		memset(addr + 4, fuzz_u8(in), 12);
	cidr = op % 5 < 2 ? fuzz_u8(in) : 0;
	valid = family != AF_UNIX && cidr <= bits_of(family);
	memcpy(masked, addr, 16);
	mask(masked, cidr);
	e = valid ? model_find(m, family, masked, cidr) : NULL;

	switch (op % 5) {
	case 0:
		ret = allowedips_insert(t, family, addr, cidr, peer);
		FUZZ_CHECK(ret == (family == AF_UNIX ? -EAFNOSUPPORT : valid ? 0 : -EINVAL));
		if (ret != 0)
			break;
		if (e) { /* the same prefix changes owner */
			e->peer = peer;
		} else if (m->n < MAX_ENTRIES) {
			e = &m->e[m->n++];
			*e = (struct entry){ .family = family, .cidr = cidr, .peer = peer };
			memcpy(e->addr, masked, 16);
		} else { /* the model is full: take it back */
			FUZZ_CHECK(allowedips_remove(t, family, addr, cidr, peer) == 0);
		}
		break;
	case 1:
		ret = allowedips_remove(t, family, addr, cidr, peer);
		if (!valid)
			FUZZ_CHECK(ret == (family == AF_UNIX ? -EAFNOSUPPORT : -EINVAL));
		else
			FUZZ_CHECK(ret == (e && e->peer == peer ? 0 : -ENOENT));
		if (ret == 0)
			model_drop(m, e);
		break;
	case 2:
		allowedips_remove_by_peer(t, peer);
		for (unsigned int i = m->n; i-- > 0;)
			if (m->e[i].peer == peer)
				model_drop(m, &m->e[i]);
		break;
	case 3:
		FUZZ_CHECK(allowedips_lookup(t, family, addr) ==
			   (family == AF_UNIX ? NULL : model_lookup(m, family, addr)));
		break;
	default:
		check_walk(t, m, peer);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct model m;
	struct allowedips t;

	m.n = 0;
	allowedips_init(&t, NULL);
	while (fuzz_left(&in))
		step(&t, &m, &in);
	for (unsigned int p = 0; p < 4; p++)
		check_walk(&t, &m, &peers[p]);
	allowedips_fini(&t); /* LeakSanitizer: every node freed */
	return 0;
}
