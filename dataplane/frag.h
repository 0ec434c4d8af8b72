/* SPDX-License-Identifier: MIT */
/* Outer IP fragments on the WAN: reassembly and fragmentation per worker (frag.c says why). */
#ifndef MG_FRAG_H
#define MG_FRAG_H

#include <stdint.h>

#include <rte_mbuf.h>

struct mg_worker;

/* Mbufs all workers' reassembly tables may hold at once (the pool is sized with them). */
unsigned int frag_pool_mbufs(unsigned int workers);
int frag_init(struct mg_worker *w);
void frag_fini(struct mg_worker *w);
/* A fragment (l2_len, l3_len set; l3_len takes in IPv6's fragment header) in; the whole datagram,
 * one segment, when this completed it, else NULL (held, or dropped and counted). */
struct rte_mbuf *frag_reassemble(struct mg_worker *w, struct rte_mbuf *m);
/* Drop (counted) what waited too long; cheap when nothing is held. */
void frag_expire(struct mg_worker *w);
/* A whole outer frame larger than the WAN MTU in, up to max frames that fit it out; m is consumed.
 * 0 when it could not be done (counted). */
uint16_t frag_fragment(struct mg_worker *w, struct rte_mbuf *m, struct rte_mbuf **out, uint16_t max);

#endif
