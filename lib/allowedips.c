/* SPDX-License-Identifier: MIT */
/* Longest-prefix match in path-compressed binary tries, one writer and RCU readers; see
 * allowedips.h. */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allowedips.h"

#define MAX_BITS 128

static struct allowedips_node *load_link(struct allowedips_node *const *link)
{
	return __atomic_load_n(link, __ATOMIC_ACQUIRE);
}

/* Makes n (fully initialised, with everything it links to) visible to readers at link. */
static void publish(struct allowedips_node **link, struct allowedips_node *n)
{
	__atomic_store_n(link, n, __ATOMIC_RELEASE);
}

static uint64_t mask64(unsigned int bits)
{
	return bits ? ~0ULL << (64 - bits) : 0;
}

/* Bit i (0 = most significant) of a 128-bit key; i < 128. */
static unsigned int bit_at(const uint64_t k[2], unsigned int i)
{
	return (unsigned int)(k[i >> 6] >> (63 - (i & 63))) & 1;
}

/* Whether k lies in the prefix n. */
static bool prefix_matches(const struct allowedips_node *n, const uint64_t k[2])
{
	if (n->cidr <= 64)
		return ((k[0] ^ n->key[0]) & mask64(n->cidr)) == 0;
	return k[0] == n->key[0] && ((k[1] ^ n->key[1]) & mask64(n->cidr - 64u)) == 0;
}

/* How many leading bits a and b share (128 when equal). */
static unsigned int common_bits(const uint64_t a[2], const uint64_t b[2])
{
	if (a[0] != b[0])
		return (unsigned int)__builtin_clzll(a[0] ^ b[0]);
	if (a[1] != b[1])
		return 64 + (unsigned int)__builtin_clzll(a[1] ^ b[1]);
	return MAX_BITS;
}

static void mask_key(uint64_t k[2], unsigned int cidr)
{
	if (cidr <= 64) {
		k[0] &= mask64(cidr);
		k[1] = 0;
	} else {
		k[1] &= mask64(cidr - 64);
	}
}

/* The key of addr; false for an unknown family. */
static bool load_key(int family, const uint8_t *addr, uint64_t k[2])
{
	uint32_t a4;

	if (family == AF_INET) {
		memcpy(&a4, addr, 4);
		k[0] = (uint64_t)be32toh(a4) << 32;
		k[1] = 0;
	} else if (family == AF_INET6) {
		memcpy(&k[0], addr, 8);
		memcpy(&k[1], addr + 8, 8);
		k[0] = be64toh(k[0]);
		k[1] = be64toh(k[1]);
	} else {
		return false;
	}
	return true;
}

static void store_key(int family, const uint64_t k[2], uint8_t *addr)
{
	uint32_t a4 = htobe32((uint32_t)(k[0] >> 32));
	uint64_t a6[2] = { htobe64(k[0]), htobe64(k[1]) };

	if (family == AF_INET)
		memcpy(addr, &a4, 4);
	else
		memcpy(addr, a6, 16);
}

/* The masked key of addr/cidr and the root it belongs under, or a negative errno. */
static int parse(struct allowedips *t, int family, const uint8_t *addr, unsigned int cidr,
		 uint64_t k[2], struct allowedips_node ***root)
{
	if (!load_key(family, addr, k))
		return -EAFNOSUPPORT;
	if (cidr > (family == AF_INET ? 32u : 128u))
		return -EINVAL;
	mask_key(k, cidr);
	*root = family == AF_INET ? &t->root4 : &t->root6;
	return 0;
}

void allowedips_init(struct allowedips *t, const struct allowedips_ops *ops)
{
	memset(t, 0, sizeof(*t));
	if (ops)
		t->ops = *ops;
}

static struct allowedips_node *node_new(struct allowedips *t, const uint64_t k[2],
					unsigned int cidr, void *peer)
{
	struct allowedips_node *n;

	n = t->ops.alloc ? t->ops.alloc(t->ops.ctx, sizeof(*n)) : malloc(sizeof(*n));
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->key[0] = k[0];
	n->key[1] = k[1];
	mask_key(n->key, cidr);
	n->cidr = (uint8_t)cidr;
	n->peer = peer;
	return n;
}

/* For nodes no reader can have seen. */
static void node_free(struct allowedips *t, struct allowedips_node *n)
{
	if (t->ops.free)
		t->ops.free(t->ops.ctx, n);
	else
		free(n);
}

/* For unlinked nodes: readers may still be on them, so their links are left intact. */
static void node_release(struct allowedips *t, struct allowedips_node *n)
{
	if (t->ops.reclaim)
		t->ops.reclaim(t->ops.ctx, n);
	else
		node_free(t, n);
}

/* The link that points at n. */
static struct allowedips_node **link_of(struct allowedips_node **root, struct allowedips_node *n)
{
	struct allowedips_node *p = n->parent;

	return p ? &p->child[bit_at(n->key, p->cidr)] : root;
}

/*
 * Links a new node for k/cidr at *link, where old (possibly NULL) was: below old's parent, old
 * does not contain k/cidr. Either k/cidr contains old (old becomes its child), or the two split
 * at their first differing bit under a new branching node. Both nodes are allocated before
 * anything is touched, and one release store makes the finished subtree visible.
 */
static int link_new(struct allowedips *t, struct allowedips_node **link,
		    struct allowedips_node *parent, struct allowedips_node *old,
		    const uint64_t k[2], unsigned int cidr, void *peer)
{
	struct allowedips_node *fresh, *branch;
	unsigned int split;

	fresh = node_new(t, k, cidr, peer);
	if (!fresh)
		return -ENOMEM;
	fresh->parent = parent;
	if (!old) {
		publish(link, fresh);
		return 0;
	}
	split = common_bits(k, old->key);
	if (split >= cidr) { /* old is more specific: it hangs below fresh */
		fresh->child[bit_at(old->key, cidr)] = old;
		publish(link, fresh);
		old->parent = fresh;
		return 0;
	}
	/* split < cidr and split < old->cidr: they differ at bit split. */
	branch = node_new(t, k, split, NULL);
	if (!branch) {
		node_free(t, fresh);
		return -ENOMEM;
	}
	branch->parent = parent;
	branch->child[bit_at(k, split)] = fresh;
	branch->child[bit_at(old->key, split)] = old;
	fresh->parent = branch;
	publish(link, branch);
	old->parent = branch;
	return 0;
}

int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, unsigned int cidr,
		      void *peer)
{
	struct allowedips_node **link, *n, *parent = NULL;
	uint64_t k[2];
	int ret;

	ret = parse(t, family, addr, cidr, k, &link);
	if (ret)
		return ret;
	if (!peer)
		return -EINVAL;
	/* Descend through the nodes that contain k/cidr. */
	for (n = *link; n && n->cidr <= cidr && prefix_matches(n, k); n = *link) {
		if (n->cidr == cidr) {
			__atomic_store_n(&n->peer, peer, __ATOMIC_RELEASE);
			return 0;
		}
		parent = n;
		link = &n->child[bit_at(k, n->cidr)];
	}
	return link_new(t, link, parent, n, k, cidr, peer);
}

/*
 * n has just lost its peer: unlink it unless it still branches, and then its parent if that is
 * left a peerless node with a single child.
 */
static void prune(struct allowedips *t, struct allowedips_node **root, struct allowedips_node *n)
{
	struct allowedips_node *only, *parent;

	while (n && !n->peer && !(n->child[0] && n->child[1])) {
		only = n->child[0] ? n->child[0] : n->child[1];
		parent = n->parent;
		publish(link_of(root, n), only);
		if (only)
			only->parent = parent;
		node_release(t, n);
		/* A parent that loses a leaf may be left with one child; losing a node that had a
		 * child does not change the parent's count. */
		n = only ? NULL : parent;
	}
}

int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr, unsigned int cidr,
		      const void *peer)
{
	struct allowedips_node **root, *n;
	uint64_t k[2];
	int ret;

	ret = parse(t, family, addr, cidr, k, &root);
	if (ret)
		return ret;
	for (n = *root; n && n->cidr < cidr && prefix_matches(n, k);)
		n = n->child[bit_at(k, n->cidr)];
	if (!n || !peer || n->cidr != cidr || n->peer != peer || !prefix_matches(n, k))
		return -ENOENT;
	__atomic_store_n(&n->peer, NULL, __ATOMIC_RELEASE);
	prune(t, root, n);
	return 0;
}

/* Post-order, so that each node is judged after its subtrees shrank. peer NULL drops all. */
static void remove_subtree(struct allowedips *t, struct allowedips_node **link, const void *peer)
{
	struct allowedips_node *n = *link, *only;

	if (!n)
		return;
	remove_subtree(t, &n->child[0], peer);
	remove_subtree(t, &n->child[1], peer);
	if (!peer || n->peer == peer)
		__atomic_store_n(&n->peer, NULL, __ATOMIC_RELEASE);
	if (n->peer || (n->child[0] && n->child[1]))
		return;
	only = n->child[0] ? n->child[0] : n->child[1];
	publish(link, only);
	if (only)
		only->parent = n->parent;
	node_release(t, n);
}

void allowedips_remove_by_peer(struct allowedips *t, const void *peer)
{
	if (!peer)
		return;
	remove_subtree(t, &t->root4, peer);
	remove_subtree(t, &t->root6, peer);
}

void allowedips_fini(struct allowedips *t)
{
	remove_subtree(t, &t->root4, NULL);
	remove_subtree(t, &t->root6, NULL);
}

void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr)
{
	const struct allowedips_node *n;
	void *found = NULL, *peer;
	uint64_t k[2];

	if (!load_key(family, addr, k))
		return NULL;
	n = load_link(family == AF_INET ? &t->root4 : &t->root6);
	while (n && prefix_matches(n, k)) {
		peer = __atomic_load_n(&n->peer, __ATOMIC_ACQUIRE);
		if (peer)
			found = peer;
		if (n->cidr == MAX_BITS)
			break;
		n = load_link(&n->child[bit_at(k, n->cidr)]);
	}
	return found;
}

static int walk(const struct allowedips_node *n, int family, const void *peer,
		int (*cb)(void *arg, int family, const uint8_t *addr, unsigned int cidr), void *arg)
{
	uint8_t addr[16];
	int ret;

	if (!n)
		return 0;
	if (n->peer == peer) {
		store_key(family, n->key, addr);
		ret = cb(arg, family, addr, n->cidr);
		if (ret)
			return ret;
	}
	ret = walk(n->child[0], family, peer, cb, arg);
	return ret ? ret : walk(n->child[1], family, peer, cb, arg);
}

int allowedips_walk_peer(const struct allowedips *t, const void *peer,
			 int (*cb)(void *arg, int family, const uint8_t *addr, unsigned int cidr),
			 void *arg)
{
	int ret;

	if (!peer)
		return 0;
	ret = walk(t->root4, AF_INET, peer, cb, arg);
	return ret ? ret : walk(t->root6, AF_INET6, peer, cb, arg);
}
