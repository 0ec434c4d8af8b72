/* SPDX-License-Identifier: MIT */
/*
 * wggen's counter: what a DUT actually delivered. Three kinds, one loop:
 *  - plain: a UDP socket on the DUT's inner address (decrypt path); counts stamped datagrams;
 *  - decrypting: the generator's WireGuard sockets, one per peer (encrypt path); opens transport
 *    messages with each session's receive key in bursts, applies its replay window, counts stamped
 *    inner packets;
 *  - wire: any WireGuard transport message, unopened (the generator measured alone: the "DUT" is a
 *    plain socket where the DUT's WireGuard port would be).
 * The sender asks for the result over a unix socket (a path: namespaces do not separate those), and
 * the counter first drains what is still in flight, so late packets are not called lost.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "aead_burst.h"
#include "replay.h"
#include "wggen.h"

#define RX_BATCH 64

struct rx_state {
	const struct wggen_rx_opts *o;
	struct wggen_rx_result *r;
	struct aead_burst ab;
	struct wggen_link *links;
	unsigned int n_links;
	uint8_t buf[RX_BATCH][WGGEN_BUF];
	struct iovec iov[RX_BATCH];
	struct mmsghdr msg[RX_BATCH];
	struct aead_burst_op ops[RX_BATCH];
	uint64_t last_rx_ns;
	uint64_t next_seq;     /* one past the highest sequence number counted */
};

/* Count one inner packet by its stamp; ip_len is its IP length. */
static void count_stamp(struct rx_state *st, const uint8_t *stamp, uint32_t avail, uint32_t ip_len)
{
	struct wggen_stamp s;

	if (avail < sizeof(s)) {
		st->r->bad++;
		return;
	}
	memcpy(&s, stamp, sizeof(s));
	if (s.magic != WGGEN_MAGIC || (st->o->run_id && s.run_id != st->o->run_id)) {
		st->r->foreign++;
	} else if (s.phase == WGGEN_MEASURE) {
		st->r->pkts++;
		st->r->bytes += ip_len;
		if (s.seq < st->next_seq)
			st->r->reordered++;
		else
			st->next_seq = s.seq + 1;
	} else {
		st->r->warmup_pkts++;
	}
}

/* An opened inner packet: IPv4/UDP with a stamp, else bad (keepalives are not counted). */
static void count_inner(struct rx_state *st, const uint8_t *p, uint32_t len)
{
	uint32_t ihl, ip_len;

	if (len == 0)
		return;
	if (len < 20 || p[0] >> 4 != 4 || p[9] != IPPROTO_UDP) {
		st->r->bad++;
		return;
	}
	ihl = (p[0] & 0xfu) * 4;
	ip_len = (uint32_t)p[2] << 8 | p[3];
	if (ip_len > len || ip_len < ihl + 8) {
		st->r->bad++;
		return;
	}
	count_stamp(st, p + ihl + 8, ip_len - ihl - 8, ip_len);
}

/* Decrypting counter: open the batch's transport messages for our index in one burst. */
static void rx_decrypt(struct rx_state *st, struct wggen_link *link, unsigned int n)
{
	const struct handshake_session *s = &link->s;
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct message_data *d = (struct message_data *)st->buf[i];
		uint32_t len = st->msg[i].msg_len;

		if (message_classify(st->buf[i], len) != MESSAGE_DATA || d->key_idx != s->local_index)
			continue; /* handshakes, cookies, an old session's packets: not ours to count */
		st->ops[k++] = (struct aead_burst_op){ .key = s->recv_key, .counter = d->counter,
			.src = d->encrypted_data, .dst = d->encrypted_data,
			.tag = (uint8_t *)d + len - AEAD_TAG_SIZE, .len = len - MESSAGE_MINIMUM_LENGTH };
	}
	aead_burst_open(&st->ab, st->ops, k);
	for (unsigned int i = 0; i < k; i++) {
		if (!st->ops[i].ok || !replay_check(&link->replay, st->ops[i].counter, REJECT_AFTER_MESSAGES))
			st->r->bad++;
		else
			count_inner(st, st->ops[i].dst, st->ops[i].len);
	}
}

static void rx_batch(struct rx_state *st, struct wggen_link *link, unsigned int n)
{
	if (st->o->decrypt) {
		rx_decrypt(st, link, n);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint32_t len = st->msg[i].msg_len;

		if (!st->o->wire)
			count_stamp(st, st->buf[i], len, len + WGGEN_IPUDP_LEN);
		else if (message_classify(st->buf[i], len) == MESSAGE_DATA)
			st->r->pkts++, st->r->bytes += len - MESSAGE_MINIMUM_LENGTH;
	}
}

/* Drain every link's socket (up to max_batches each); returns how many datagrams were read. */
static uint64_t rx_drain(struct rx_state *st, unsigned int max_batches)
{
	uint64_t got = 0;

	for (unsigned int l = 0; l < st->n_links; l++) {
		for (unsigned int b = 0; b < max_batches; b++) {
			int n = recvmmsg(st->links[l].fd, st->msg, RX_BATCH, MSG_DONTWAIT, NULL);

			if (n <= 0)
				break;
			rx_batch(st, &st->links[l], (unsigned int)n);
			got += (unsigned int)n;
		}
	}
	if (got)
		st->last_rx_ns = wggen_now_ns();
	return got;
}

/* Wait up to ms for any link's socket (and the control socket lfd, if >= 0); true if lfd is ready. */
static bool rx_wait(struct rx_state *st, int lfd, int ms)
{
	struct pollfd p[WGGEN_MAX_PEERS + 1];
	unsigned int n = 0;

	for (unsigned int l = 0; l < st->n_links; l++)
		p[n++] = (struct pollfd){ .fd = st->links[l].fd, .events = POLLIN };
	if (lfd >= 0)
		p[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	return poll(p, n, ms) > 0 && lfd >= 0 && (p[n - 1].revents & POLLIN);
}

static int ctl_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		return -EINVAL;
	strcpy(a.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* A sender asked: drain until it all arrived (expect), 300 ms pass quietly, or 3 s; then answer. */
static void ctl_answer(int conn, struct rx_state *st)
{
	char req[64] = "", out[160];
	unsigned long long run = 0, expect = 0;
	uint64_t t_end = wggen_now_ns() + 3000000000ull;
	ssize_t n = read(conn, req, sizeof(req) - 1);

	if (n > 0)
		sscanf(req, "%llu %llu", &run, &expect);
	while (wggen_now_ns() < t_end && (expect == 0 || st->r->pkts < expect)) {
		if (rx_drain(st, 1024) == 0) {
			rx_wait(st, -1, 50);
			if (rx_drain(st, 1024) == 0 && wggen_now_ns() - st->last_rx_ns > 300000000ull)
				break;
		}
	}
	n = snprintf(out, sizeof(out), "%llu %llu %llu %llu %llu %llu\n",
		     (unsigned long long)st->r->pkts, (unsigned long long)st->r->bytes,
		     (unsigned long long)st->r->warmup_pkts, (unsigned long long)st->r->foreign,
		     (unsigned long long)st->r->bad, (unsigned long long)st->r->reordered);
	if (write(conn, out, (size_t)n) != n)
		perror("wggen: ctl answer");
}

static bool rx_done(const struct rx_state *st, uint64_t t_end)
{
	const struct wggen_rx_opts *o = st->o;
	uint64_t now = wggen_now_ns();

	if (now >= t_end)
		return true;
	if (o->ctl_path)
		return false; /* the sender decides when the run is over */
	if (o->count && st->r->pkts >= o->count)
		return true;
	return st->last_rx_ns && now - st->last_rx_ns > (uint64_t)(o->idle_s * 1e9);
}

static void rx_setup(struct rx_state *st)
{
	for (unsigned int i = 0; i < RX_BATCH; i++) {
		st->iov[i] = (struct iovec){ .iov_base = st->buf[i], .iov_len = WGGEN_BUF };
		st->msg[i].msg_hdr = (struct msghdr){ .msg_iov = &st->iov[i], .msg_iovlen = 1 };
	}
	for (unsigned int l = 0; l < st->n_links; l++)
		replay_init(&st->links[l].replay);
}

int wggen_count(struct wggen_link *links, unsigned int n_links, const struct wggen_rx_opts *o,
		struct wggen_rx_result *r)
{
	struct rx_state *st = calloc(1, sizeof(*st));
	uint64_t t_end = wggen_now_ns() + (uint64_t)(o->timeout_s * 1e9);
	int lfd = -1;

	memset(r, 0, sizeof(*r));
	if (st == NULL || aead_burst_init(&st->ab, AEAD_BACKEND_AUTO) != 0) {
		free(st);
		return -ENOMEM;
	}
	st->o = o;
	st->r = r;
	st->links = links;
	st->n_links = n_links;
	rx_setup(st);
	if (o->ctl_path && (lfd = ctl_listen(o->ctl_path)) < 0) {
		aead_burst_fini(&st->ab);
		free(st);
		return lfd;
	}
	while (!rx_done(st, t_end)) {
		if (rx_drain(st, 64) > 0)
			continue;
		if (rx_wait(st, lfd, 100)) {
			int conn = accept(lfd, NULL, NULL);

			if (conn >= 0) {
				ctl_answer(conn, st);
				close(conn);
				break;
			}
		}
	}
	if (lfd >= 0) {
		close(lfd);
		unlink(o->ctl_path);
	}
	aead_burst_fini(&st->ab);
	free(st);
	return 0;
}

int wggen_ctl_query(const char *ctl_path, uint32_t run_id, uint64_t expect,
		    struct wggen_rx_result *r, double timeout_s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = (time_t)timeout_s, .tv_usec = 0 };
	char buf[200] = "";
	unsigned long long v[6];
	ssize_t n;

	if (fd < 0 || strlen(ctl_path) >= sizeof(a.sun_path))
		return -EINVAL;
	strcpy(a.sun_path, ctl_path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	n = snprintf(buf, sizeof(buf), "%u %llu\n", run_id, (unsigned long long)expect);
	n = write(fd, buf, (size_t)n) == n ? read(fd, buf, sizeof(buf) - 1) : -1;
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EPROTO;
	*r = (struct wggen_rx_result){ v[0], v[1], v[2], v[3], v[4], v[5] };
	return 0;
}
