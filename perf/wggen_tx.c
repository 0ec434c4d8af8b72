/* SPDX-License-Identifier: MIT */
/*
 * wggen's load: bursts of inner IPv4/UDP packets, either sealed into WireGuard transport messages
 * with the burst AEAD (decrypt path: the DUT must open them) or sent as plaintext into the DUT's
 * inner side (encrypt path: the DUT must seal them). Batched: one UDP GSO send per burst of same-size messages, else sendmmsg.
 *
 * Inner packets are written once into zeroed buffers and only their headers and stamp change, so
 * the per-packet cost outside the AEAD is a few dozen bytes of stores.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#include "aead_burst.h"
#include "wggen.h"

/* A simple IMIX (7:4:1 as the classic one), the large size capped at the inner MTU. */
static const uint16_t imix_pattern[12] = { 64, 576, 64, 64, 576, 64, 1420, 64, 576, 64, 576, 64 };

unsigned int wggen_imix_len(uint64_t seq)
{
	return imix_pattern[seq % 12];
}

int wggen_inner_len(const struct wggen_load *l, uint64_t seq)
{
	return l->size ? l->size : (int)wggen_imix_len(seq);
}

static void put_stamp(uint8_t *p, const struct wggen_load *l, uint64_t seq, enum wggen_phase phase)
{
	struct wggen_stamp st = { .magic = WGGEN_MAGIC, .run_id = l->run_id, .seq = seq,
				  .phase = (uint8_t)phase };

	memcpy(p, &st, sizeof(st));
}

/* IPv4 + UDP headers and the stamp; the rest of pkt[0..len) must already be zero. UDP checksum 0
 * (allowed over IPv4, RFC 768), as every DUT must accept it and it costs the generator nothing. */
void wggen_build_inner(uint8_t *pkt, int len, const struct wggen_load *l, uint64_t seq,
		       enum wggen_phase phase, struct in_addr src)
{
	uint16_t sport = (uint16_t)(l->sport + seq % l->flows);

	wggen_put_ip4(pkt, (uint16_t)len, IPPROTO_UDP, src.s_addr, l->inner_dst.s_addr, 0x4000 /* DF */);
	wggen_put16(pkt + 20, sport);
	wggen_put16(pkt + 22, l->dport);
	wggen_put16(pkt + 24, (uint16_t)(len - 20));
	wggen_put16(pkt + 26, 0);
	put_stamp(pkt + WGGEN_IPUDP_LEN, l, seq, phase);
}

/* Pacing and phases, shared by both senders. */
struct pacer {
	const struct wggen_load *l;
	uint64_t t0, measure_t0, measure_t1, end;
	uint64_t seq, measured;
};

static void pacer_start(struct pacer *pc, const struct wggen_load *l)
{
	memset(pc, 0, sizeof(*pc));
	pc->l = l;
	pc->t0 = wggen_now_ns();
	pc->measure_t0 = pc->t0 + (uint64_t)(l->warmup_s * 1e9);
	pc->end = l->count ? UINT64_MAX : pc->measure_t0 + (uint64_t)(l->duration_s * 1e9);
}

/* How many packets to send now (0: done), after waiting for the first of them to be due. */
static unsigned int pacer_next(struct pacer *pc, enum wggen_phase *phase)
{
	const struct wggen_load *l = pc->l;
	uint64_t now = wggen_now_ns(), n = WGGEN_BURST;

	if (l->rate > 0) {
		uint64_t due_at = pc->t0 + (uint64_t)((double)pc->seq * 1e9 / l->rate);
		double due;

		if (due_at > now)
			wggen_sleep_until(due_at);
		now = wggen_now_ns();
		due = (double)(now - pc->t0) * 1e-9 * l->rate - (double)pc->seq + 1;
		n = due < 1 ? 1 : due > WGGEN_BURST ? WGGEN_BURST : (uint64_t)due;
	}
	if (now < pc->measure_t0) {
		*phase = WGGEN_WARMUP;
		return (unsigned int)n;
	}
	if (now >= pc->end || (l->count && pc->measured >= l->count))
		return 0;
	if (pc->measured == 0)
		pc->measure_t0 = now;
	if (l->count && l->count - pc->measured < n)
		n = l->count - pc->measured;
	*phase = WGGEN_MEASURE;
	return (unsigned int)n;
}

/* n packets of bytes inner bytes went out: advance, and count them if they are measured. */
static void pacer_sent(struct pacer *pc, enum wggen_phase ph, unsigned int n, uint64_t bytes,
		       struct wggen_tx_result *r)
{
	pc->seq += n;
	if (ph == WGGEN_MEASURE) {
		pc->measured += n;
		r->pkts += n;
		r->bytes += bytes;
		pc->measure_t1 = wggen_now_ns();
	}
}

static void pacer_result(const struct pacer *pc, struct wggen_tx_result *r)
{
	r->seconds = (double)(pc->measure_t1 - pc->measure_t0) * 1e-9;
	r->total = pc->seq;
}

/* Send n messages, resuming after partial sends; returns how many were taken. */
static unsigned int send_all(int fd, struct mmsghdr *m, unsigned int n, uint64_t *errors)
{
	unsigned int done = 0;

	while (done < n) {
		int k = sendmmsg(fd, m + done, n - done, 0);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			/* e.g. ENOBUFS: this packet is lost at the generator; count it and go on. */
			(*errors)++;
			done++;
			continue;
		}
		done += (unsigned int)k;
	}
	return done;
}

/*
 * Same-size messages go out as one UDP GSO send (UDP_SEGMENT): one system call and one pass through
 * the socket layer for the burst, cut into datagrams by the kernel at the device, so the generator
 * is not what limits a fast DUT. Falls back to sendmmsg for mixed sizes or when the kernel refuses.
 */
static bool gso_send(int fd, const struct sockaddr_in *ep, struct iovec *iov, unsigned int n)
{
	static bool unsupported;
	char ctl[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
	struct msghdr mh = { .msg_name = (void *)ep, .msg_namelen = sizeof(*ep), .msg_iov = iov,
			     .msg_iovlen = n, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	uint16_t seg = (uint16_t)iov[0].iov_len;

	if (unsupported || n < 2)
		return false;
	for (unsigned int i = 1; i < n; i++)
		if (iov[i].iov_len != seg)
			return false;
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	while (sendmsg(fd, &mh, 0) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINVAL || errno == EIO || errno == EOPNOTSUPP)
			unsupported = true;
		return false;
	}
	return true;
}

struct enc_slots {
	uint8_t plain[WGGEN_BURST][WGGEN_BUF];
	uint8_t wire[WGGEN_BURST][WGGEN_BUF];
	struct aead_burst_op ops[WGGEN_BURST];
	struct iovec iov[WGGEN_BURST];
	struct mmsghdr msg[WGGEN_BURST];
};

/* Padded plaintext length: a multiple of 16 but not past the MTU, as WireGuard pads. */
static uint32_t padded(int len)
{
	uint32_t p = ((uint32_t)len + 15) & ~15u;

	return p > WGGEN_MAX_INNER && len <= WGGEN_MAX_INNER ? WGGEN_MAX_INNER : p;
}

static void enc_fill(struct enc_slots *es, unsigned int i, const struct wggen_link *k,
		     const struct wggen_load *l, uint64_t seq, uint64_t ctr, enum wggen_phase ph)
{
	const struct handshake_session *s = &k->s;
	int len = wggen_inner_len(l, seq);
	uint32_t plen = padded(len);
	struct message_data *d = (struct message_data *)es->wire[i];

	wggen_build_inner(es->plain[i], len, l, seq, ph, k->inner);
	d->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
	d->key_idx = s->remote_index;
	d->counter = ctr; /* little-endian on the wire; x86 is */
	es->ops[i] = (struct aead_burst_op){ .key = s->send_key, .counter = ctr,
		.src = es->plain[i], .dst = d->encrypted_data,
		.tag = d->encrypted_data + plen, .len = plen };
	es->iov[i].iov_len = message_data_len(plen);
}

int wggen_send_encrypted(struct wggen_link *links, unsigned int n_links, const struct wggen_load *l,
			 struct wggen_tx_result *r)
{
	struct enc_slots *es = calloc(1, sizeof(*es));
	uint64_t *ctr = calloc(n_links, sizeof(*ctr)); /* each session's next nonce */
	struct aead_burst ab;
	struct pacer pc;
	enum wggen_phase ph;
	unsigned int n, burst = 0;

	if (es == NULL || ctr == NULL || aead_burst_init(&ab, AEAD_BACKEND_AUTO) != 0) {
		free(es);
		free(ctr);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < WGGEN_BURST; i++) {
		es->iov[i].iov_base = es->wire[i];
		es->msg[i].msg_hdr = (struct msghdr){ .msg_namelen = sizeof(struct sockaddr_in),
			.msg_iov = &es->iov[i], .msg_iovlen = 1 };
	}
	memset(r, 0, sizeof(*r));
	pacer_start(&pc, l);
	while ((n = pacer_next(&pc, &ph)) > 0) {
		unsigned int p = burst++ % n_links;
		struct wggen_link *k = &links[p];
		uint64_t bytes = 0;

		for (unsigned int i = 0; i < n; i++) {
			enc_fill(es, i, k, l, pc.seq + i, ctr[p]++, ph);
			es->msg[i].msg_hdr.msg_name = &k->ep;
			bytes += (uint64_t)wggen_inner_len(l, pc.seq + i);
		}
		aead_burst_seal(&ab, es->ops, n);
		if (l->no_gso || !gso_send(k->fd, &k->ep, es->iov, n))
			send_all(k->fd, es->msg, n, &r->send_errors);
		pacer_sent(&pc, ph, n, bytes, r);
	}
	pacer_result(&pc, r);
	r->backend = aead_burst_backend_name(ab.backend);
	aead_burst_fini(&ab);
	free(es);
	free(ctr);
	return 0;
}

/* Plaintext sender: one socket per flow (the kernel writes the headers; a flow is a source port). */
static int plain_sockets(const struct wggen_load *l, int *fds)
{
	for (unsigned int f = 0; f < l->flows; f++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = l->inner_src,
					 .sin_port = htons((uint16_t)(l->sport + f)) };

		fds[f] = wggen_udp_socket(&a, true);
		if (fds[f] < 0)
			return fds[f];
	}
	return 0;
}

struct plain_slots {
	uint8_t buf[WGGEN_BURST][WGGEN_BUF];
	struct iovec iov[WGGEN_BURST];
	struct mmsghdr msg[WGGEN_BURST];
};

int wggen_send_plain(const struct wggen_load *l, struct wggen_tx_result *r)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(l->dport) };
	struct plain_slots *ps = calloc(1, sizeof(*ps));
	int *fds = calloc(l->flows, sizeof(int));
	struct pacer pc;
	enum wggen_phase ph;
	unsigned int n, burst = 0;
	int err;

	if (ps == NULL || fds == NULL)
		return -ENOMEM;
	err = plain_sockets(l, fds);
	for (unsigned int i = 0; i < WGGEN_BURST; i++) {
		ps->iov[i].iov_base = ps->buf[i];
		ps->msg[i].msg_hdr = (struct msghdr){ .msg_name = &dst, .msg_namelen = sizeof(dst),
			.msg_iov = &ps->iov[i], .msg_iovlen = 1 };
	}
	memset(r, 0, sizeof(*r));
	pacer_start(&pc, l);
	while (err == 0 && (n = pacer_next(&pc, &ph)) > 0) {
		uint64_t bytes = 0;

		for (unsigned int i = 0; i < n; i++) {
			int len = wggen_inner_len(l, pc.seq + i);

			put_stamp(ps->buf[i], l, pc.seq + i, ph);
			ps->iov[i].iov_len = (size_t)(len - WGGEN_IPUDP_LEN);
			bytes += (uint64_t)len;
		}
		/* A burst per flow in turn (the flow's socket sets the source port) and per peer
		 * (destination inner_dst + p). */
		dst.sin_addr.s_addr = htonl(ntohl(l->inner_dst.s_addr) + burst % (l->peers ? l->peers : 1));
		send_all(fds[burst++ % l->flows], ps->msg, n, &r->send_errors);
		pacer_sent(&pc, ph, n, bytes, r);
	}
	pacer_result(&pc, r);
	r->backend = "none";
	free(ps);
	free(fds);
	return err;
}
