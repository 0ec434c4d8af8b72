/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's allowed IPs: IPv4 and IPv6 prefixes, each owned by one peer (an opaque pointer),
 * and a longest-prefix match from an address to its peer (cryptokey routing, whitepaper 2).
 *
 * Structure: per family, a path-compressed binary trie as in Linux WireGuard. Every node is a
 * prefix (key, cidr); a node's children extend it and differ at bit `cidr`. Nodes without a peer
 * exist only to branch, so they always have two children. A lookup walks one path, at most
 * 129 nodes, comparing at most two 64-bit words per node, with no allocation.
 *
 * Concurrency: ONE writer (the control thread calls everything but lookup) and any number of
 * lock-free readers (allowedips_lookup only). The writer fully builds a node and then publishes
 * it with a release store; readers load links and peers with acquire. A node the writer unlinks
 * may still be under a reader, so it goes to ops->reclaim, which must free it only after every
 * reader that could have seen it is done (an RCU grace period: rte_rcu_qsbr in the data plane).
 * Without a reclaim callback nodes are freed at once: single-threaded use only.
 * A reader racing with a change sees the table either before or after each single link change,
 * so it may return the old owner of a prefix being replaced or removed; it never returns garbage
 * and never misses a prefix the writer is not changing.
 *
 * Addresses are in network byte order: 4 bytes for AF_INET, 16 for AF_INET6.
 * Known limits: remove_by_peer and walk_peer visit the whole table (no per-peer index, since the
 * peer is opaque): O(prefixes) each. Writer-side recursion is bounded by the trie depth (<= 129).
 */
#ifndef MG_ALLOWEDIPS_H
#define MG_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

/* Internal; in the header for embedding and white-box tests. */
struct allowedips_node {
	struct allowedips_node *child[2]; /* by bit `cidr` of the address; readers: acquire */
	void *peer;                       /* NULL: a branching node; readers: acquire */
	uint64_t key[2];                  /* the prefix as two big-endian-ordered words, host bits 0;
					   * IPv4 in the top 32 bits of key[0] */
	uint8_t cidr;                     /* immutable once published, as is key */
	struct allowedips_node *parent;   /* writer only */
};

struct allowedips_ops {
	/* Optional node allocator (NULL: malloc) and its release (NULL: free). */
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *node);
	/* Optional: takes an unlinked node, to be released (as ->free would) after a grace period.
	 * NULL: released at once. */
	void (*reclaim)(void *ctx, void *node_to_free);
	void *ctx;
};

struct allowedips {
	struct allowedips_node *root4, *root6; /* readers: acquire */
	struct allowedips_ops ops;
};

/* An empty table; ops may be NULL (malloc, free, no deferral). */
void allowedips_init(struct allowedips *t, const struct allowedips_ops *ops);
/* Removes every prefix (unlinked nodes go through reclaim as usual). The table stays usable. */
void allowedips_fini(struct allowedips *t);

/*
 * Routes prefix addr/cidr to peer, masking the host bits; an identical prefix changes owner.
 * 0; -EAFNOSUPPORT unless AF_INET/AF_INET6; -EINVAL for cidr > 32 (v4) or > 128 (v6) or a NULL
 * peer; -ENOMEM with the table unchanged.
 */
int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, unsigned int cidr,
		      void *peer);
/* Removes addr/cidr (host bits masked) only if peer owns it: 0, else -ENOENT (or as insert). */
int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr, unsigned int cidr,
		      const void *peer);
/* Removes every prefix peer owns. */
void allowedips_remove_by_peer(struct allowedips *t, const void *peer);

/* The owner of the longest prefix containing addr, or NULL. Safe concurrently with the writer. */
void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr);

/*
 * Calls cb for each prefix peer owns (IPv4 first, each family in address order), with the host
 * bits zero. A nonzero return from cb stops the walk and is returned; else 0. Writer thread only,
 * and cb must not change the table.
 */
int allowedips_walk_peer(const struct allowedips *t, const void *peer,
			 int (*cb)(void *arg, int family, const uint8_t *addr, unsigned int cidr),
			 void *arg);

#endif
