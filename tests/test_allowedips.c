/* SPDX-License-Identifier: MIT */
/*
 * Allowed IPs: hand-made cases (overlaps, default routes, owner changes, exact and per-peer
 * removal, listing, validation, allocation failure, deferred reclaim) with a white-box check of
 * the trie's invariants; a differential test against a linear scan; and readers running lookups
 * while a writer churns the table, with a small quiescent-state scheme standing in for RCU.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allowedips.h"
#include "harness.h"

/* Peers are just distinct addresses. */
#define NPEERS 64
static char peer_pool[NPEERS];
#define P(i) ((void *)&peer_pool[i])
static void *const A = &peer_pool[0], *const B = &peer_pool[1], *const C = &peer_pool[2],
		  *const D = &peer_pool[3], *const E = &peer_pool[4], *const F = &peer_pool[5],
		  *const G = &peer_pool[6], *const H = &peer_pool[7];

/* Counting allocator with an optional failure point, and a deferred-reclaim list. */
struct mem {
	long allocs, frees, fail_at; /* fail_at: fail the allocation with that number (1 = next) */
	void **deferred;
	size_t ndeferred, cap;
};

static void *mem_alloc(void *ctx, size_t size)
{
	struct mem *m = ctx;

	if (m->fail_at && --m->fail_at == 0)
		return NULL;
	m->allocs++;
	return malloc(size);
}

static void mem_free(void *ctx, void *p)
{
	struct mem *m = ctx;

	m->frees++;
	free(p);
}

static void mem_reclaim(void *ctx, void *p)
{
	struct mem *m = ctx;

	if (m->ndeferred == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->deferred = realloc(m->deferred, m->cap * sizeof(*m->deferred));
		if (!m->deferred)
			abort();
	}
	m->deferred[m->ndeferred++] = p;
}

/* The "grace period" of the single-threaded tests: nothing reads, free everything deferred. */
static void mem_quiesce(struct mem *m)
{
	for (size_t i = 0; i < m->ndeferred; i++)
		mem_free(m, m->deferred[i]);
	m->ndeferred = 0;
}

static void mem_table(struct allowedips *t, struct mem *m, bool defer)
{
	struct allowedips_ops ops = { mem_alloc, mem_free, defer ? mem_reclaim : NULL, m };

	memset(m, 0, sizeof(*m));
	allowedips_init(t, &ops);
}

static void mem_done(struct allowedips *t, struct mem *m, const char *what)
{
	allowedips_fini(t);
	CHECK(t->root4 == NULL && t->root6 == NULL, "%s: empty after fini", what);
	mem_quiesce(m);
	CHECK(m->allocs == m->frees, "%s: %ld nodes allocated, %ld freed", what, m->allocs, m->frees);
	free(m->deferred);
}

/*
 * White box: children extend their parent and sit on the side of their bit at parent->cidr,
 * cidr grows strictly, host bits are zero, parents are right, peerless nodes branch. Returns the
 * node count.
 */
static long check_node(const struct allowedips_node *n, const struct allowedips_node *parent,
		       unsigned int bits, bool *ok)
{
	long count = 1;

	if (n->cidr > bits || n->parent != parent)
		*ok = false;
	if ((n->cidr < 64 && (n->key[0] << n->cidr || n->key[1])) ||
	    (n->cidr >= 64 && n->cidr < 128 && n->key[1] << (n->cidr - 64)))
		*ok = false;
	if (!n->peer && !(n->child[0] && n->child[1]))
		*ok = false;
	for (unsigned int b = 0; b < 2; b++) {
		const struct allowedips_node *c = n->child[b];
		unsigned int i = n->cidr;

		if (!c)
			continue;
		if (c->cidr <= n->cidr || ((c->key[i >> 6] >> (63 - (i & 63))) & 1) != b)
			*ok = false;
		else if ((i <= 64 && i && (c->key[0] ^ n->key[0]) >> (64 - i)) ||
			 (i > 64 && (c->key[0] != n->key[0] ||
				     (c->key[1] ^ n->key[1]) >> (128 - i))))
			*ok = false;
		count += check_node(c, n, bits, ok);
	}
	return count;
}

static long check_trie(const struct allowedips *t, const char *what)
{
	bool ok = true;
	long n = 0;

	if (t->root4)
		n += check_node(t->root4, NULL, 32, &ok);
	if (t->root6)
		n += check_node(t->root6, NULL, 128, &ok);
	CHECK(ok, "%s: trie invariants", what);
	return n;
}

static const uint8_t *ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	static uint8_t buf[4];

	buf[0] = a;
	buf[1] = b;
	buf[2] = c;
	buf[3] = d;
	return buf;
}

/* IPv6 from eight 16-bit groups. */
static const uint8_t *ip6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g3, uint16_t g4,
			  uint16_t g5, uint16_t g6, uint16_t g7)
{
	static uint8_t buf[16];
	const uint16_t g[8] = { g0, g1, g2, g3, g4, g5, g6, g7 };

	for (int i = 0; i < 8; i++) {
		buf[2 * i] = (uint8_t)(g[i] >> 8);
		buf[2 * i + 1] = (uint8_t)g[i];
	}
	return buf;
}

#define INS4(peer, a, b, c, d, cidr) \
	CHECK(allowedips_insert(&t, AF_INET, ip4(a, b, c, d), cidr, peer) == 0, "insert")
#define INS6(peer, cidr, ...) \
	CHECK(allowedips_insert(&t, AF_INET6, ip6(__VA_ARGS__), cidr, peer) == 0, "insert")
#define LOOK4(want, a, b, c, d) \
	CHECK(allowedips_lookup(&t, AF_INET, ip4(a, b, c, d)) == (want), \
	      "lookup %u.%u.%u.%u", a, b, c, d)
#define LOOK6(want, ...) \
	CHECK(allowedips_lookup(&t, AF_INET6, ip6(__VA_ARGS__)) == (want), "lookup " #__VA_ARGS__)

static void test_ipv4_basics(void)
{
	struct allowedips t;
	struct mem m;

	mem_table(&t, &m, false);
	INS4(A, 172, 16, 0, 0, 12);
	INS4(B, 172, 20, 8, 0, 24);
	INS4(C, 172, 20, 8, 200, 32);
	INS4(D, 172, 20, 8, 77, 26);   /* host bits set: means 172.20.8.64/26 */
	INS4(E, 0, 0, 0, 0, 0);
	INS4(F, 10, 1, 0, 0, 28);
	INS4(G, 10, 1, 0, 8, 30);
	INS4(H, 10, 1, 0, 16, 28);
	INS4(A, 10, 1, 0, 0, 30);
	INS4(B, 10, 1, 0, 4, 30);
	check_trie(&t, "v4 basics");

	LOOK4(C, 172, 20, 8, 200);
	LOOK4(B, 172, 20, 8, 201);
	LOOK4(B, 172, 20, 8, 0);
	LOOK4(D, 172, 20, 8, 64);
	LOOK4(D, 172, 20, 8, 127);
	LOOK4(B, 172, 20, 8, 128);
	LOOK4(A, 172, 20, 9, 1);
	LOOK4(A, 172, 31, 255, 255);
	LOOK4(E, 172, 32, 0, 0);       /* just past the /12 */
	LOOK4(E, 172, 15, 255, 255);   /* just before it */
	LOOK4(E, 255, 255, 255, 255);
	LOOK4(E, 0, 0, 0, 0);
	LOOK4(A, 10, 1, 0, 1);
	LOOK4(B, 10, 1, 0, 5);
	LOOK4(B, 10, 1, 0, 7);
	LOOK4(G, 10, 1, 0, 11);
	LOOK4(F, 10, 1, 0, 12);
	LOOK4(F, 10, 1, 0, 15);
	LOOK4(H, 10, 1, 0, 16);
	LOOK4(H, 10, 1, 0, 31);
	LOOK4(E, 10, 1, 0, 32);

	/* A new owner for an identical prefix, given with other host bits. */
	INS4(F, 172, 20, 8, 99, 26);
	LOOK4(F, 172, 20, 8, 70);
	CHECK(allowedips_remove(&t, AF_INET, ip4(172, 20, 8, 64), 26, D) == -ENOENT,
	      "the old owner cannot remove it");
	LOOK4(F, 172, 20, 8, 70);
	/* Exact removal: a different peer's entry stays; the owner's goes. */
	CHECK(allowedips_remove(&t, AF_INET, ip4(172, 20, 8, 0), 24, A) == -ENOENT, "not A's");
	LOOK4(B, 172, 20, 8, 1);
	CHECK(allowedips_remove(&t, AF_INET, ip4(172, 20, 8, 0), 25, B) == -ENOENT, "no such /25");
	CHECK(allowedips_remove(&t, AF_INET, ip4(172, 20, 8, 0), 23, B) == -ENOENT, "no such /23");
	CHECK(allowedips_remove(&t, AF_INET, ip4(172, 20, 8, 0), 24, B) == 0, "B's");
	LOOK4(A, 172, 20, 8, 1);
	LOOK4(C, 172, 20, 8, 200);
	LOOK4(F, 172, 20, 8, 70);
	CHECK(allowedips_remove(&t, AF_INET, ip4(172, 20, 8, 0), 24, B) == -ENOENT, "gone");
	/* Removal masks host bits too. */
	CHECK(allowedips_remove(&t, AF_INET, ip4(172, 20, 8, 65), 26, F) == 0, "masked removal");
	LOOK4(A, 172, 20, 8, 70);
	/* The default route. */
	CHECK(allowedips_remove(&t, AF_INET, ip4(1, 2, 3, 4), 0, E) == 0, "remove /0");
	LOOK4(NULL, 172, 32, 0, 0);
	LOOK4(NULL, 0, 0, 0, 0);
	LOOK4(A, 172, 20, 8, 70);
	check_trie(&t, "v4 after removals");
	mem_done(&t, &m, "v4 basics");
}

static void test_ipv6_basics(void)
{
	struct allowedips t;
	struct mem m;

	mem_table(&t, &m, false);
	INS6(A, 32, 0x2001, 0xdb8, 0, 0, 0, 0, 0, 0);
	INS6(B, 64, 0x2001, 0xdb8, 1, 2, 0xdead, 0xbeef, 0xdead, 0xbeef); /* masked to /64 */
	INS6(C, 128, 0x2001, 0xdb8, 1, 2, 0, 0, 0, 1);
	INS6(D, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	INS6(E, 0, 0xffff, 0, 0, 0, 0, 0, 0, 0);                           /* replaces D */
	/* Around the 64-bit word boundary inside the key. */
	INS6(F, 63, 0xfd00, 0, 0, 0, 0, 0, 0, 0);
	INS6(G, 64, 0xfd00, 0, 0, 1, 0, 0, 0, 0);
	INS6(H, 65, 0xfd00, 0, 0, 1, 0x8000, 0, 0, 0);
	INS6(A, 127, 0xfd00, 0, 0, 1, 0xffff, 0xffff, 0xffff, 0xfffe);
	INS6(B, 128, 0xfd00, 0, 0, 1, 0xffff, 0xffff, 0xffff, 0xffff);
	check_trie(&t, "v6 basics");

	LOOK6(C, 0x2001, 0xdb8, 1, 2, 0, 0, 0, 1);
	LOOK6(B, 0x2001, 0xdb8, 1, 2, 0, 0, 0, 2);
	LOOK6(B, 0x2001, 0xdb8, 1, 2, 0xffff, 0xffff, 0xffff, 0xffff);
	LOOK6(A, 0x2001, 0xdb8, 1, 3, 0, 0, 0, 1);
	LOOK6(A, 0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0);
	LOOK6(E, 0x2001, 0xdb9, 0, 0, 0, 0, 0, 0);
	LOOK6(E, 0x2001, 0xdb7, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff);
	LOOK6(F, 0xfd00, 0, 0, 0, 0, 0, 0, 0);
	LOOK6(G, 0xfd00, 0, 0, 1, 0, 0, 0, 0);
	LOOK6(G, 0xfd00, 0, 0, 1, 0x7fff, 0xffff, 0xffff, 0xffff);
	LOOK6(H, 0xfd00, 0, 0, 1, 0x8000, 0, 0, 0);
	LOOK6(H, 0xfd00, 0, 0, 1, 0xffff, 0xffff, 0xffff, 0xfffd);
	LOOK6(A, 0xfd00, 0, 0, 1, 0xffff, 0xffff, 0xffff, 0xfffe);
	LOOK6(B, 0xfd00, 0, 0, 1, 0xffff, 0xffff, 0xffff, 0xffff);
	LOOK6(E, 0xfd00, 0, 0, 2, 0, 0, 0, 0);
	/* The families do not mix: no IPv4 routes, whatever the IPv6 table holds. */
	LOOK4(NULL, 0, 0, 0, 0);
	LOOK4(NULL, 0x20, 0x01, 0x0d, 0xb8);
	INS4(F, 0, 0, 0, 0, 0);
	LOOK4(F, 32, 1, 13, 184);
	LOOK6(E, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK(allowedips_remove(&t, AF_INET6, ip6(0, 0, 0, 0, 0, 0, 0, 0), 0, F) == -ENOENT,
	      "v6 /0 is not F's");
	CHECK(allowedips_remove(&t, AF_INET, ip4(0, 0, 0, 0), 0, F) == 0, "v4 /0 is");
	LOOK6(E, 0, 0, 0, 0, 0, 0, 0, 0);
	LOOK4(NULL, 32, 1, 13, 184);

	CHECK(allowedips_remove(&t, AF_INET6, ip6(0xfd00, 0, 0, 1, 0x8000, 0, 0, 0), 65, H) == 0,
	      "remove /65");
	LOOK6(G, 0xfd00, 0, 0, 1, 0x8000, 0, 0, 0);
	LOOK6(A, 0xfd00, 0, 0, 1, 0xffff, 0xffff, 0xffff, 0xfffe);
	check_trie(&t, "v6 after removal");
	mem_done(&t, &m, "v6 basics");
}

/* Invalid input is refused before anything changes. */
static void test_validation(void)
{
	struct allowedips t;
	struct mem m;
	long nodes;

	mem_table(&t, &m, false);
	INS4(A, 10, 0, 0, 0, 8);
	nodes = m.allocs;
	CHECK(allowedips_insert(&t, AF_INET, ip4(10, 0, 0, 0), 33, A) == -EINVAL, "v4 /33");
	CHECK(allowedips_insert(&t, AF_INET, ip4(10, 0, 0, 0), 128, A) == -EINVAL, "v4 /128");
	CHECK(allowedips_insert(&t, AF_INET, ip4(10, 0, 0, 0), 1u << 31, A) == -EINVAL, "huge");
	CHECK(allowedips_insert(&t, AF_INET6, ip6(0, 0, 0, 0, 0, 0, 0, 0), 129, A) == -EINVAL,
	      "v6 /129");
	CHECK(allowedips_insert(&t, AF_INET6, ip6(0, 0, 0, 0, 0, 0, 0, 0), 256 + 8, A) == -EINVAL,
	      "v6 cidr that wraps a byte");
	CHECK(allowedips_insert(&t, AF_UNIX, ip4(10, 0, 0, 0), 8, A) == -EAFNOSUPPORT, "AF_UNIX");
	CHECK(allowedips_insert(&t, AF_UNSPEC, ip4(10, 0, 0, 0), 8, A) == -EAFNOSUPPORT, "AF_UNSPEC");
	CHECK(allowedips_insert(&t, AF_INET, ip4(10, 0, 0, 0), 16, NULL) == -EINVAL, "NULL peer");
	CHECK(allowedips_remove(&t, AF_INET, ip4(10, 0, 0, 0), 33, A) == -EINVAL, "remove /33");
	CHECK(allowedips_remove(&t, AF_UNIX, ip4(10, 0, 0, 0), 8, A) == -EAFNOSUPPORT, "remove fam");
	CHECK(allowedips_remove(&t, AF_INET, ip4(10, 0, 0, 0), 8, NULL) == -ENOENT, "remove NULL");
	CHECK(allowedips_lookup(&t, AF_UNIX, ip4(10, 0, 0, 0)) == NULL, "lookup fam");
	CHECK(m.allocs == nodes, "nothing allocated");
	LOOK4(A, 10, 9, 9, 9);
	allowedips_remove_by_peer(&t, NULL); /* no-op */
	LOOK4(A, 10, 9, 9, 9);
	mem_done(&t, &m, "validation");
}

/* Allocation failure at each allocation an insert makes leaves the table as it was. */
static void test_enomem(void)
{
	struct allowedips t;
	struct mem m;
	long nodes;

	mem_table(&t, &m, false);
	INS4(A, 192, 168, 0, 0, 24);
	nodes = check_trie(&t, "enomem");
	/* A sibling needs two nodes (itself and a branch): fail either. */
	for (long fail = 1; fail <= 2; fail++) {
		m.fail_at = fail;
		CHECK(allowedips_insert(&t, AF_INET, ip4(192, 168, 1, 0), 24, B) == -ENOMEM,
		      "fail allocation %ld", fail);
		m.fail_at = 0;
		CHECK(check_trie(&t, "after ENOMEM") == nodes, "node count");
		CHECK(m.allocs - m.frees == nodes, "nothing leaked: %ld live", m.allocs - m.frees);
		LOOK4(NULL, 192, 168, 1, 1);
		LOOK4(A, 192, 168, 0, 1);
	}
	/* A containing prefix or a first node needs one. */
	m.fail_at = 1;
	CHECK(allowedips_insert(&t, AF_INET, ip4(192, 168, 0, 0), 16, B) == -ENOMEM, "parent");
	m.fail_at = 1;
	CHECK(allowedips_insert(&t, AF_INET6, ip6(0, 0, 0, 0, 0, 0, 0, 0), 0, B) == -ENOMEM, "root");
	m.fail_at = 0;
	CHECK(check_trie(&t, "after ENOMEM") == nodes, "node count");
	LOOK4(NULL, 192, 168, 1, 1);
	LOOK6(NULL, 0, 0, 0, 0, 0, 0, 0, 0);
	/* Changing an owner allocates nothing. */
	m.fail_at = 1;
	CHECK(allowedips_insert(&t, AF_INET, ip4(192, 168, 0, 0), 24, C) == 0, "owner change");
	m.fail_at = 0;
	LOOK4(C, 192, 168, 0, 1);
	INS4(B, 192, 168, 1, 0, 24);
	LOOK4(B, 192, 168, 1, 1);
	mem_done(&t, &m, "enomem");
}

static void test_remove_by_peer(void)
{
	struct allowedips t;
	struct mem m;

	mem_table(&t, &m, false);
	/* Nested prefixes of one peer, and a neighbour in between that must survive. */
	INS4(A, 100, 64, 0, 0, 10);
	INS4(A, 100, 64, 0, 0, 24);
	INS4(A, 100, 64, 0, 0, 32);
	INS4(B, 100, 64, 0, 128, 25);
	INS4(A, 1, 0, 0, 0, 32);
	INS4(A, 128, 0, 0, 0, 32);
	INS4(A, 255, 0, 0, 0, 32);
	INS6(A, 48, 0x2001, 0xdb8, 0x42, 0, 0, 0, 0, 0);
	INS6(C, 56, 0x2001, 0xdb8, 0x42, 0, 0, 0, 0, 0);
	INS6(A, 128, 0x2001, 0xdb8, 0x42, 0, 0, 0, 0, 1);
	check_trie(&t, "before remove_by_peer");
	allowedips_remove_by_peer(&t, A);
	check_trie(&t, "after remove_by_peer");
	LOOK4(NULL, 100, 64, 0, 0);
	LOOK4(NULL, 100, 64, 0, 1);
	LOOK4(NULL, 100, 100, 0, 1);
	LOOK4(B, 100, 64, 0, 129);
	LOOK4(NULL, 1, 0, 0, 0);
	LOOK4(NULL, 128, 0, 0, 0);
	LOOK4(NULL, 255, 0, 0, 0);
	LOOK6(C, 0x2001, 0xdb8, 0x42, 0, 0, 0, 0, 1);
	LOOK6(NULL, 0x2001, 0xdb8, 0x42, 0x100, 0, 0, 0, 1);
	/* Only B's and C's nodes are left: one each. */
	CHECK(check_trie(&t, "left") == 2, "two nodes left: %ld", check_trie(&t, "left"));
	allowedips_remove_by_peer(&t, B);
	allowedips_remove_by_peer(&t, C);
	CHECK(t.root4 == NULL && t.root6 == NULL, "empty");
	CHECK(m.allocs == m.frees, "all freed");
	/* The table is reusable. */
	INS4(D, 100, 64, 0, 0, 10);
	LOOK4(D, 100, 64, 0, 0);
	mem_done(&t, &m, "remove_by_peer");
}

struct listed {
	int family;
	uint8_t addr[16];
	unsigned int cidr;
};

struct listing {
	struct listed items[16];
	int n, stop_after;
};

static int list_cb(void *arg, int family, const uint8_t *addr, unsigned int cidr)
{
	struct listing *l = arg;

	if (l->n < 16) {
		l->items[l->n].family = family;
		memcpy(l->items[l->n].addr, addr, family == AF_INET ? 4 : 16);
		l->items[l->n].cidr = cidr;
	}
	l->n++;
	return l->n == l->stop_after ? 42 : 0;
}

static bool listed_is(const struct listed *x, int family, const uint8_t *addr, unsigned int cidr)
{
	return x->family == family && x->cidr == cidr &&
	       memcmp(x->addr, addr, family == AF_INET ? 4 : 16) == 0;
}

static void test_listing(void)
{
	struct allowedips t;
	struct mem m;
	struct listing l = { .n = 0 };

	mem_table(&t, &m, false);
	INS4(A, 198, 51, 100, 77, 27);
	INS6(A, 128, 0x2001, 0xdb8, 7, 0, 0, 0, 0xc0ff, 0xee);
	INS4(A, 10, 1, 0, 20, 29);
	INS6(A, 83, 0x2001, 0xdb8, 0x6d8a, 0x6bf8, 0xdab1, 0xf1df, 0xc05f, 0x1523);
	INS6(A, 21, 0x2001, 0xdb8, 0x6d8a, 0x6bf8, 0xdab1, 0xf1df, 0xc05f, 0x1523);
	INS4(B, 198, 51, 100, 0, 24);
	INS4(A, 0, 0, 0, 0, 0);
	CHECK(allowedips_walk_peer(&t, A, list_cb, &l) == 0, "walk");
	CHECK(l.n == 6, "six prefixes: %d", l.n);
	if (l.n == 6) {
		/* IPv4 first, then IPv6, each in address order; host bits zero. */
		CHECK(listed_is(&l.items[0], AF_INET, ip4(0, 0, 0, 0), 0), "0/0");
		CHECK(listed_is(&l.items[1], AF_INET, ip4(10, 1, 0, 16), 29), "10.1.0.16/29");
		CHECK(listed_is(&l.items[2], AF_INET, ip4(198, 51, 100, 64), 27), "198.51.100.64/27");
		CHECK(listed_is(&l.items[3], AF_INET6, ip6(0x2001, 0x800, 0, 0, 0, 0, 0, 0), 21),
		      "2001:800::/21");
		CHECK(listed_is(&l.items[4], AF_INET6,
				ip6(0x2001, 0xdb8, 7, 0, 0, 0, 0xc0ff, 0xee), 128), "/128");
		CHECK(listed_is(&l.items[5], AF_INET6,
				ip6(0x2001, 0xdb8, 0x6d8a, 0x6bf8, 0xdab1, 0xe000, 0, 0), 83), "/83");
	}
	l.n = 0;
	l.stop_after = 2;
	CHECK(allowedips_walk_peer(&t, A, list_cb, &l) == 42 && l.n == 2, "stopped walk");
	l.n = 0;
	l.stop_after = 0;
	CHECK(allowedips_walk_peer(&t, B, list_cb, &l) == 0 && l.n == 1, "B has one");
	l.n = 0;
	CHECK(allowedips_walk_peer(&t, C, list_cb, &l) == 0 && l.n == 0, "C has none");
	CHECK(allowedips_walk_peer(&t, NULL, list_cb, &l) == 0 && l.n == 0, "NULL lists nothing");
	mem_done(&t, &m, "listing");
}

/* Host routes one bit away from all-ones: every one branches off the same spine. */
static void test_deep(void)
{
	struct allowedips t;
	struct mem m;
	uint8_t a[16];

	mem_table(&t, &m, false);
	for (unsigned int i = 0; i < 128; i++) {
		memset(a, 0xff, sizeof(a));
		a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		CHECK(allowedips_insert(&t, AF_INET6, a, 128, P(i % NPEERS)) == 0, "insert %u", i);
		if (i < 32)
			CHECK(allowedips_insert(&t, AF_INET, a, 32, P(i)) == 0, "insert v4 %u", i);
	}
	check_trie(&t, "deep");
	for (unsigned int i = 0; i < 128; i++) {
		memset(a, 0xff, sizeof(a));
		a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		CHECK(allowedips_lookup(&t, AF_INET6, a) == P(i % NPEERS), "lookup %u", i);
		if (i < 32)
			CHECK(allowedips_lookup(&t, AF_INET, a) == P(i), "lookup v4 %u", i);
	}
	memset(a, 0xff, sizeof(a));
	CHECK(allowedips_lookup(&t, AF_INET6, a) == NULL, "all ones: no route");
	/* Both children of the deepest branch are /128s: remove one, the branch goes too. */
	a[15] = 0xfe;
	CHECK(allowedips_remove(&t, AF_INET6, a, 128, P(127 % NPEERS)) == 0, "remove last");
	check_trie(&t, "deep after removal");
	mem_done(&t, &m, "deep");
}

/* Unlinked nodes go to reclaim, not to free, and only they do. */
static void test_reclaim(void)
{
	struct allowedips t;
	struct mem m;

	mem_table(&t, &m, true);
	INS4(A, 10, 0, 0, 0, 24);
	INS4(B, 10, 0, 1, 0, 24);  /* + a branch at 10.0.0.0/23 */
	INS4(C, 10, 0, 0, 0, 16);  /* above the branch */
	CHECK(m.allocs == 4 && check_trie(&t, "reclaim") == 4, "four nodes");
	/* Owner changes and a peered node with two children unlink nothing. */
	INS4(D, 10, 0, 0, 0, 24);
	CHECK(allowedips_remove(&t, AF_INET, ip4(10, 0, 0, 0), 16, C) == 0, "remove the /16");
	CHECK(m.ndeferred == 1, "the /16 had one child: it goes (%zu)", m.ndeferred);
	/* A leaf under a peerless branch takes the branch with it. */
	CHECK(allowedips_remove(&t, AF_INET, ip4(10, 0, 1, 0), 24, B) == 0, "remove a leaf");
	CHECK(m.ndeferred == 3 && m.frees == 0, "leaf and branch deferred (%zu)", m.ndeferred);
	CHECK(check_trie(&t, "reclaim") == 1, "one node left");
	LOOK4(D, 10, 0, 0, 1);
	LOOK4(NULL, 10, 0, 1, 1);
	/* Deferred nodes are still readable: their links were left alone. */
	for (size_t i = 0; i < m.ndeferred; i++) {
		const struct allowedips_node *n = m.deferred[i];

		CHECK(n->cidr == 16 || n->cidr == 23 || n->cidr == 24, "deferred node intact");
	}
	mem_quiesce(&m);
	mem_done(&t, &m, "reclaim");
}

/* The linear reference: every (family, prefix, cidr, peer), longest match by scanning. */
struct ref_entry {
	uint64_t key[2];
	unsigned int cidr;
	void *peer;
};

struct ref {
	struct ref_entry *e;
	size_t n, cap;
};

static void key_of(int family, const uint8_t *a, uint64_t k[2])
{
	unsigned int len = family == AF_INET ? 4 : 16;

	k[0] = k[1] = 0;
	for (unsigned int i = 0; i < len; i++)
		k[i / 8] |= (uint64_t)a[i] << (56 - 8 * (i % 8));
}

/* The first `bits` bits of a word set (bits may exceed 64: all of them). */
static uint64_t ref_m64(int bits)
{
	if (bits <= 0)
		return 0;
	return bits >= 64 ? ~0ULL : ~(~0ULL >> bits);
}

static bool ref_matches(const struct ref_entry *e, const uint64_t k[2])
{
	int c = (int)e->cidr;

	return ((e->key[0] ^ k[0]) & ref_m64(c)) == 0 && ((e->key[1] ^ k[1]) & ref_m64(c - 64)) == 0;
}

/* Keeps the first cidr bits. */
static void ref_mask(uint64_t k[2], unsigned int cidr)
{
	k[0] &= ref_m64((int)cidr);
	k[1] &= ref_m64((int)cidr - 64);
}

/* Keeps the bits after the first cidr of an address of `bits` bits. */
static void ref_host(uint64_t k[2], unsigned int cidr, unsigned int bits)
{
	ref_mask(k, bits);
	k[0] &= ~ref_m64((int)cidr);
	k[1] &= ~ref_m64((int)cidr - 64);
}

static void ref_insert(struct ref *r, const uint64_t key[2], unsigned int cidr, void *peer)
{
	uint64_t k[2] = { key[0], key[1] };

	ref_mask(k, cidr);
	for (size_t i = 0; i < r->n; i++) {
		if (r->e[i].cidr == cidr && r->e[i].key[0] == k[0] && r->e[i].key[1] == k[1]) {
			r->e[i].peer = peer;
			return;
		}
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		r->e = realloc(r->e, r->cap * sizeof(*r->e));
		if (!r->e)
			abort();
	}
	r->e[r->n++] = (struct ref_entry){ { k[0], k[1] }, cidr, peer };
}

static int ref_remove(struct ref *r, const uint64_t key[2], unsigned int cidr, const void *peer)
{
	uint64_t k[2] = { key[0], key[1] };

	ref_mask(k, cidr);
	for (size_t i = 0; i < r->n; i++) {
		if (r->e[i].cidr == cidr && r->e[i].key[0] == k[0] && r->e[i].key[1] == k[1]) {
			if (r->e[i].peer != peer)
				return -ENOENT;
			r->e[i] = r->e[--r->n];
			return 0;
		}
	}
	return -ENOENT;
}

static void ref_remove_peer(struct ref *r, const void *peer)
{
	for (size_t i = 0; i < r->n;) {
		if (r->e[i].peer == peer)
			r->e[i] = r->e[--r->n];
		else
			i++;
	}
}

static void *ref_lookup(const struct ref *r, const uint64_t k[2])
{
	const struct ref_entry *best = NULL;

	for (size_t i = 0; i < r->n; i++)
		if ((!best || r->e[i].cidr > best->cidr) && ref_matches(&r->e[i], k))
			best = &r->e[i];
	return best ? best->peer : NULL;
}

static void addr_of(int family, const uint64_t k[2], uint8_t *a)
{
	unsigned int len = family == AF_INET ? 4 : 16;

	for (unsigned int i = 0; i < len; i++)
		a[i] = (uint8_t)(k[i / 8] >> (56 - 8 * (i % 8)));
}

/* Random key near one of a few bases, so that prefixes overlap and nest. */
#define NBASES 24

struct world {
	struct test_rng rng;
	uint64_t base[2][NBASES][2]; /* [v6][i] */
	struct ref ref[2];
	struct allowedips t;
	struct mem m;
	unsigned long bad;
};

static void random_key(struct world *w, int v6, uint64_t k[2])
{
	unsigned int bits = v6 ? 128 : 32, keep = (unsigned int)(test_rng_next(&w->rng) % (bits + 1));
	const uint64_t *b = w->base[v6][test_rng_next(&w->rng) % NBASES];
	uint64_t noise[2] = { test_rng_next(&w->rng), test_rng_next(&w->rng) };

	/* The base's first `keep` bits, random after. */
	k[0] = b[0];
	k[1] = b[1];
	ref_mask(k, keep);
	ref_host(noise, keep, bits);
	k[0] |= noise[0];
	k[1] |= noise[1];
}

static unsigned int random_cidr(struct world *w, int v6)
{
	unsigned int bits = v6 ? 128 : 32;
	uint64_t r = test_rng_next(&w->rng);

	if (r % 4 == 0)
		return (unsigned int)((r >> 8) % (bits + 1));
	if (r % 4 == 1)
		return bits - (unsigned int)((r >> 8) % 9); /* long prefixes, host routes */
	return (unsigned int)((r >> 8) % 9) * bits / 8; /* the octet-ish boundaries */
}

/* An address to look up: inside an inserted prefix, near a base, or anywhere. */
static void random_probe(struct world *w, int v6, uint64_t k[2])
{
	struct ref *r = &w->ref[v6];
	uint64_t sel = test_rng_next(&w->rng) % 4;

	if (sel < 2 && r->n) {
		const struct ref_entry *e = &r->e[test_rng_next(&w->rng) % r->n];
		uint64_t noise[2] = { test_rng_next(&w->rng), test_rng_next(&w->rng) };

		ref_host(noise, e->cidr, v6 ? 128 : 32);
		k[0] = e->key[0] | noise[0];
		k[1] = e->key[1] | noise[1];
	} else if (sel == 2) {
		random_key(w, v6, k);
	} else {
		k[0] = test_rng_next(&w->rng);
		k[1] = test_rng_next(&w->rng);
		ref_mask(k, v6 ? 128 : 32);
	}
}

static void compare_lookups(struct world *w, unsigned long n)
{
	uint8_t a[16];
	uint64_t k[2];

	for (unsigned long i = 0; i < n; i++) {
		int v6 = test_rng_next(&w->rng) % 3 == 0, family = v6 ? AF_INET6 : AF_INET;
		void *want, *got;

		random_probe(w, v6, k);
		addr_of(family, k, a);
		want = ref_lookup(&w->ref[v6], k);
		got = allowedips_lookup(&w->t, family, a);
		if (got != want && w->bad++ < 10)
			CHECK(got == want, "lookup v%d %016llx%016llx: got %p want %p", v6 ? 6 : 4,
			      (unsigned long long)k[0], (unsigned long long)k[1], got, want);
	}
}

/* Every peer's listing is exactly its reference entries. */
struct ref_listing {
	const struct ref *ref;
	const void *peer;
	size_t n;
	bool ok;
};

static int ref_list_cb(void *arg, int family, const uint8_t *addr, unsigned int cidr)
{
	struct ref_listing *l = arg;
	const struct ref *r = &l->ref[family == AF_INET6];
	uint64_t k[2];
	bool found = false;

	key_of(family, addr, k);
	for (size_t i = 0; i < r->n && !found; i++)
		found = r->e[i].cidr == cidr && r->e[i].key[0] == k[0] && r->e[i].key[1] == k[1] &&
			r->e[i].peer == l->peer;
	l->ok &= found;
	l->n++;
	return 0;
}

static void compare_listings(struct world *w)
{
	for (int p = 0; p < NPEERS; p++) {
		struct ref_listing l = { w->ref, P(p), 0, true };
		size_t want = 0;

		allowedips_walk_peer(&w->t, P(p), ref_list_cb, &l);
		for (int v6 = 0; v6 < 2; v6++)
			for (size_t i = 0; i < w->ref[v6].n; i++)
				want += w->ref[v6].e[i].peer == P(p);
		CHECK(l.ok && l.n == want, "peer %d lists %zu (want %zu)%s", p, l.n, want,
		      l.ok ? "" : ", some not in the reference");
	}
}

static void random_op(struct world *w, int v6)
{
	int family = v6 ? AF_INET6 : AF_INET, got, want;
	uint64_t r = test_rng_next(&w->rng) % 100, k[2];
	unsigned int cidr;
	void *peer = P(test_rng_next(&w->rng) % NPEERS);
	uint8_t a[16];

	if (r < 80 || !w->ref[v6].n) { /* insert */
		random_key(w, v6, k);
		cidr = random_cidr(w, v6);
		addr_of(family, k, a);
		ref_insert(&w->ref[v6], k, cidr, peer);
		got = allowedips_insert(&w->t, family, a, cidr, peer);
		CHECK(got == 0, "insert: %d", got);
		return;
	}
	if (r < 95) { /* exact removal of an existing prefix, by its owner or not */
		const struct ref_entry *e = &w->ref[v6].e[test_rng_next(&w->rng) % w->ref[v6].n];

		k[0] = e->key[0];
		k[1] = e->key[1];
		cidr = e->cidr;
		if (r < 90)
			peer = e->peer;
	} else { /* removal of something random, probably absent */
		random_key(w, v6, k);
		cidr = random_cidr(w, v6);
	}
	addr_of(family, k, a);
	want = ref_remove(&w->ref[v6], k, cidr, peer);
	got = allowedips_remove(&w->t, family, a, cidr, peer);
	if (got != want && w->bad++ < 10)
		CHECK(got == want, "remove: got %d want %d", got, want);
}

static void test_random(uint64_t seed, unsigned long n4, unsigned long n6, unsigned long lookups)
{
	struct world *w = calloc(1, sizeof(*w));
	unsigned long done4 = 0, done6 = 0, step = 0;

	printf("random: seed %llu, %lu v4 + %lu v6 operations, %lu lookups\n",
	       (unsigned long long)seed, n4, n6, lookups);
	if (!w)
		abort();
	test_rng_seed(&w->rng, seed);
	for (int v6 = 0; v6 < 2; v6++)
		for (int i = 0; i < NBASES; i++) {
			w->base[v6][i][0] = test_rng_next(&w->rng);
			w->base[v6][i][1] = test_rng_next(&w->rng);
			ref_mask(w->base[v6][i], v6 ? 128 : 32);
		}
	mem_table(&w->t, &w->m, true);
	while (done4 < n4 || done6 < n6) {
		int v6 = done4 >= n4 || (done6 < n6 && test_rng_next(&w->rng) % 3 == 0);

		random_op(w, v6);
		done4 += !v6;
		done6 += v6;
		if (++step % 1500 == 0) { /* a peer leaves */
			const void *p = P(test_rng_next(&w->rng) % NPEERS);

			ref_remove_peer(&w->ref[0], p);
			ref_remove_peer(&w->ref[1], p);
			allowedips_remove_by_peer(&w->t, p);
		}
		if (step % 500 == 0) {
			check_trie(&w->t, "random");
			compare_lookups(w, 1000);
			mem_quiesce(&w->m);
		}
	}
	printf("random: %zu v4 and %zu v6 prefixes, %ld nodes\n", w->ref[0].n, w->ref[1].n,
	       check_trie(&w->t, "random final"));
	compare_lookups(w, lookups);
	compare_listings(w);
	CHECK(w->bad == 0, "%lu disagreements with the reference", w->bad);
	mem_done(&w->t, &w->m, "random");
	free(w->ref[0].e);
	free(w->ref[1].e);
	free(w);
}

/*
 * Readers look up while the writer churns. Stable routes (the /0s and host routes) are never
 * touched by the writer, so every reader must always find them, whatever the churn does around
 * them. Unlinked nodes wait for a grace period: every reader passed a quiescent point (the end of
 * a lookup) after the unlink. Under ASan, a reader touching a node freed too early is reported.
 */
#define NREADERS 3
#define NSTABLE 256

struct reader {
	uint64_t quiescent; /* lookups finished: bumped with release after each */
	bool done;
	unsigned long lookups, bad;
	pthread_t thread;
	struct test_rng rng;
	char pad[64];
};

static struct {
	struct allowedips t;
	struct mem m;
	bool stop;
	uint8_t host4[NSTABLE][4], host6[NSTABLE][16];
	struct reader readers[NREADERS];
} conc;

static void *stable_peer(unsigned int i)
{
	return P(1 + i % 7);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint8_t a[16];

	while (!__atomic_load_n(&conc.stop, __ATOMIC_ACQUIRE)) {
		unsigned int i = (unsigned int)(test_rng_next(&r->rng) % NSTABLE);

		r->bad += allowedips_lookup(&conc.t, AF_INET, conc.host4[i]) != stable_peer(i);
		r->bad += allowedips_lookup(&conc.t, AF_INET6, conc.host6[i]) != stable_peer(i);
		test_rng_bytes(&r->rng, a, sizeof(a));
		r->bad += allowedips_lookup(&conc.t, AF_INET, a) == NULL;
		r->bad += allowedips_lookup(&conc.t, AF_INET6, a) == NULL;
		r->lookups += 4;
		__atomic_store_n(&r->quiescent, r->quiescent + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Waits until every reader finished a lookup begun after this call, then frees what waited. */
static void synchronize(void)
{
	uint64_t seen[NREADERS];

	for (int i = 0; i < NREADERS; i++)
		seen[i] = __atomic_load_n(&conc.readers[i].quiescent, __ATOMIC_ACQUIRE);
	for (int i = 0; i < NREADERS; i++)
		while (__atomic_load_n(&conc.readers[i].quiescent, __ATOMIC_ACQUIRE) == seen[i] &&
		       !__atomic_load_n(&conc.readers[i].done, __ATOMIC_ACQUIRE))
			sched_yield();
	mem_quiesce(&conc.m);
}

static void churn(struct test_rng *rng, struct ref *live, unsigned long ops)
{
	for (unsigned long i = 0; i < ops; i++) {
		int v6 = (int)(test_rng_next(rng) & 1), family = v6 ? AF_INET6 : AF_INET;
		unsigned int bits = v6 ? 128 : 32, cidr;
		void *peer = P(8 + test_rng_next(rng) % (NPEERS - 8));
		uint64_t r = test_rng_next(rng) % 100, k[2];
		uint8_t a[16];

		if (r < 60 || !live[v6].n) { /* cidr 1 .. bits - 1: never a stable route */
			cidr = 1 + (unsigned int)(test_rng_next(rng) % (bits - 1));
			k[0] = test_rng_next(rng);
			k[1] = test_rng_next(rng);
			if (test_rng_next(rng) & 1) { /* near a stable host route */
				key_of(family, v6 ? conc.host6[r % NSTABLE] : conc.host4[r % NSTABLE], k);
				k[1] ^= test_rng_next(rng) & 0xff;
				k[0] ^= (test_rng_next(rng) & 0xff) << 32;
			}
			ref_mask(k, bits);
			addr_of(family, k, a);
			ref_insert(&live[v6], k, cidr, peer);
			CHECK(allowedips_insert(&conc.t, family, a, cidr, peer) == 0, "churn insert");
		} else if (r < 98) {
			struct ref_entry e = live[v6].e[test_rng_next(rng) % live[v6].n];

			addr_of(family, e.key, a);
			ref_remove(&live[v6], e.key, e.cidr, e.peer);
			CHECK(allowedips_remove(&conc.t, family, a, e.cidr, e.peer) == 0, "churn remove");
		} else {
			ref_remove_peer(&live[0], peer);
			ref_remove_peer(&live[1], peer);
			allowedips_remove_by_peer(&conc.t, peer);
		}
		if (i % 64 == 63)
			synchronize();
	}
}

static void test_concurrent(uint64_t seed, unsigned long ops)
{
	struct test_rng rng;
	struct ref live[2] = { { 0 } };
	unsigned long lookups = 0, bad = 0;

	printf("concurrent: seed %llu, %d readers, %lu writer operations\n",
	       (unsigned long long)seed, NREADERS, ops);
	test_rng_seed(&rng, seed);
	mem_table(&conc.t, &conc.m, true);
	CHECK(allowedips_insert(&conc.t, AF_INET, ip4(0, 0, 0, 0), 0, P(0)) == 0, "v4 /0");
	CHECK(allowedips_insert(&conc.t, AF_INET6, ip6(0, 0, 0, 0, 0, 0, 0, 0), 0, P(0)) == 0,
	      "v6 /0");
	for (unsigned int i = 0; i < NSTABLE; i++) {
		test_rng_bytes(&rng, conc.host4[i], 4);
		test_rng_bytes(&rng, conc.host6[i], 16);
		CHECK(allowedips_insert(&conc.t, AF_INET, conc.host4[i], 32, stable_peer(i)) == 0,
		      "host4");
		CHECK(allowedips_insert(&conc.t, AF_INET6, conc.host6[i], 128, stable_peer(i)) == 0,
		      "host6");
	}
	/* Random hosts can collide; the later owner wins, and that is what readers expect. */
	for (unsigned int i = 0; i < NSTABLE; i++) {
		CHECK(allowedips_lookup(&conc.t, AF_INET, conc.host4[i]) == stable_peer(i) ||
		      memcmp(conc.host4[i], conc.host4[(i + 1) % NSTABLE], 4) == 0, "distinct hosts");
	}
	for (int i = 0; i < NREADERS; i++) {
		test_rng_seed(&conc.readers[i].rng, seed + 1 + (uint64_t)i);
		CHECK(pthread_create(&conc.readers[i].thread, NULL, reader_main,
				     &conc.readers[i]) == 0, "reader %d", i);
	}
	churn(&rng, live, ops);
	check_trie(&conc.t, "concurrent");
	__atomic_store_n(&conc.stop, true, __ATOMIC_RELEASE);
	for (int i = 0; i < NREADERS; i++) {
		pthread_join(conc.readers[i].thread, NULL);
		lookups += conc.readers[i].lookups;
		bad += conc.readers[i].bad;
	}
	printf("concurrent: %lu lookups, %zu + %zu churn prefixes left\n", lookups, live[0].n,
	       live[1].n);
	CHECK(bad == 0, "%lu wrong lookups under churn", bad);
	CHECK(lookups > 0, "readers ran");
	mem_done(&conc.t, &conc.m, "concurrent");
	free(live[0].e);
	free(live[1].e);
}

int main(void)
{
	test_ipv4_basics();
	test_ipv6_basics();
	test_validation();
	test_enomem();
	test_remove_by_peer();
	test_listing();
	test_deep();
	test_reclaim();
	test_random(0xa110ed1, 4000, 2000, 150000);
	test_random(0xa110ed2, 600, 600, 50000); /* a small dense table */
	test_concurrent(0xc0ffee, 20000);
	return test_done("allowedips");
}
