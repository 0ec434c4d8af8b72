/* SPDX-License-Identifier: MIT */
/*
 * The UAPI socket, /var/run/wireguard/<interface>.sock, served from the control thread's loop with
 * non-blocking sockets: a client's request is buffered until complete, parsed whole by lib/uapi.c,
 * applied whole by apply.c, and answered. The protocol's rules are in lib/uapi.h.
 *
 * The same thread runs handshakes and timers, so no client may block it, and what clients can
 * make it hold is bounded (tests/e2e/test_uapi_abuse.py throws each of these at it):
 *
 *  - Connections: at most MAX_CLIENTS at once. One more closes the least recently active one (an
 *    idle or stalled client, in practice), so forgotten or hostile connections can never lock
 *    `wg` out; but a connection gets EVICT_GRACE_NS to send its request before it can be pushed
 *    out, so a burst of real clients is served, not churned: while every slot is that young,
 *    newcomers wait in the listen backlog (and the listening socket is left out of poll(), so
 *    the thread does not spin on it). At most ACCEPT_BURST are accepted per round, so requests
 *    already sent on accepted connections are read first.
 *  - Time: a request must arrive whole, and an answer be taken, within STALL_NS of its first byte
 *    (of being queued); else the connection is closed, and a half-written set is never applied.
 *    That is the clients' time: a round in which the thread was busy elsewhere (a long apply, a
 *    get of a large table) counts for at most ROUND_NS, and a connection is only closed for it
 *    in a round where poll() found nothing to read from or write to it.
 *    A connection idle between requests (nothing buffered) is kept, as wireguard-go keeps it, but
 *    is the first to give up its slot.
 *  - Memory: a set line longer than UAPI_MAX_LINE is answered EIO (as wireguard-go's 64 KiB line
 *    buffer does) as soon as it is known to be too long, and a request reaching UAPI_MAX_REQUEST
 *    likewise, then the connection is closed (the stream cannot be resynchronised); nothing more
 *    of it is read. All clients' input buffers and pending answers together stay within
 *    BUFFER_BUDGET: growing past it first closes the least recently active other clients that
 *    hold memory, and answers ENOMEM only when the requester alone would exceed it.
 *  - Work: one read and at most one answer per client per round, consumed bytes are skipped
 *    rather than moved (compaction is amortised), a set body is scanned once however it arrives,
 *    and a set with more than MAX_SET_ENTRIES peer entries is refused (ENOSPC) before parsing:
 *    each entry costs apply.c a scan of the peer table, so the 880k entries that fit in
 *    UAPI_MAX_REQUEST held the control thread for seconds (800k: 6 s, measured). What clients
 *    cause is logged at most LOG_PER_S lines a second.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>

#include <sodium.h>

#include "apply.h"
#include "core.h"
#include "ifstate.h"
#include "uapi.h"
#include "uapi_server.h"

#define UAPI_DIR "/var/run/wireguard"
#define MAX_CLIENTS 256
#define ACCEPT_BURST 16
#define EVICT_GRACE_NS (100ull * 1000000ull)
#define STALL_NS (10ull * 1000000000ull)
#define ROUND_NS (100ull * 1000000ull)   /* most of one round that counts as clients' time */
#define BUF_MIN 8192u                    /* first input buffer */
#define BUF_MAX ((size_t)UAPI_MAX_REQUEST) /* largest input buffer: one whole request */
#define READ_MIN 4096u                   /* free space wanted before a read */
#define BUFFER_BUDGET (2 * BUF_MAX)      /* every client's buffers and answers together */
/*
 * Peer entries ("public_key=" lines) one set may carry. No request `wg` makes for a device that
 * can hold the result has more than 2 * MG_MAX_PEERS (syncconf: a removal per old peer and an
 * entry per new one); wireguard-go has no such limit (and no peer limit).
 */
#define MAX_SET_ENTRIES (4u * MG_MAX_PEERS)

struct client {
	int fd;
	char *buf;                /* received; [off, len) not consumed yet */
	size_t off, len, cap;
	size_t scanned;           /* uapi_find_body_end's resume point in the set body */
	char *out;                /* pending answer */
	size_t out_len, out_off;
	bool out_secret;          /* holds the private key: wipe when done */
	bool close_after;         /* the answer is the last word: close once it is sent */
	uint64_t active_ns;       /* accepted, or last read or written: who gives up a slot first */
	uint64_t busy_ns;         /* a request partly read or an answer pending since; 0: idle */
};

static int listen_fd = -1;
static bool started;          /* clients[] set up (start()) */
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct client clients[MAX_CLIENTS];
static size_t held;           /* bytes of every client's buf (cap) and out (out_len) */
static uint64_t now_ns;       /* the clients' clock: see tick() */
static uint64_t mono_last;
static uint64_t log_window_ns;
static unsigned int log_lines, log_dropped;

/*
 * Advances now_ns with CLOCK_MONOTONIC (real time: the test clock speed-up is for the protocol),
 * but by at most ROUND_NS per call: when the thread was away for longer, the clients were not
 * the ones keeping it waiting.
 */
static void tick(void)
{
	struct timespec ts;
	uint64_t mono, d;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	mono = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	d = mono_last ? mono - mono_last : 0;
	mono_last = mono;
	now_ns += d < ROUND_NS ? d : ROUND_NS;
}

/*
 * Whether a message about what a client did may be logged: at most LOG_PER_S a second, so that a
 * flood of bad requests does not become a flood of log writes from this thread.
 */
#define LOG_PER_S 10u
static bool log_ok(void)
{
	if (now_ns - log_window_ns >= 1000000000ull) {
		if (log_dropped)
			RTE_LOG(NOTICE, USER1, "uapi: %u more messages like these suppressed\n", log_dropped);
		log_window_ns = now_ns;
		log_lines = log_dropped = 0;
	}
	if (log_lines < LOG_PER_S) {
		log_lines++;
		return true;
	}
	log_dropped++;
	return false;
}

/* No clients, nothing held: once, before the first socket or client. */
static void start(void)
{
	if (started)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	held = 0;
	now_ns = 1; /* busy_ns 0 means idle */
	mono_last = 0;
	log_window_ns = log_lines = log_dropped = 0;
	started = true;
}

int uapi_server_open(const char *ifname)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t mask;
	int fd, ret;

	mkdir(UAPI_DIR, 0755);
	snprintf(sock_path, sizeof(sock_path), UAPI_DIR "/%s.sock", ifname);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(addr.sun_path, sock_path, sizeof(sock_path));
	/* A socket file nobody answers on is left from a crash: take it over (as wireguard-go). */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(sock_path);
	/* The socket answers "get" with the private key: it must never exist with a looser mode, not
	 * even between bind() and chmod() (wireguard-go sets umask 077 around its bind the same way).
	 * The control thread is the only one creating files at this point of start-up. */
	mask = umask(0077);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(mask);
	if (ret != 0 || chmod(sock_path, 0600) != 0 || listen(fd, MAX_CLIENTS) != 0) {
		int err = -errno;

		close(fd);
		if (ret == 0)
			unlink(sock_path);
		return err;
	}
	start();
	listen_fd = fd;
	return 0;
}


/* The input buffer may hold keys: wipe it all. */
static void free_buf(struct client *c)
{
	if (c->buf) {
		sodium_memzero(c->buf, c->cap);
		free(c->buf);
		held -= c->cap;
	}
	c->buf = NULL;
	c->off = c->len = c->cap = c->scanned = 0;
}

/* The pending answer is ours (not uapi_format_get's text): wipe exactly what we allocated. */
static void free_out(struct client *c)
{
	if (c->out) {
		if (c->out_secret)
			sodium_memzero(c->out, c->out_len);
		free(c->out);
		held -= c->out_len;
	}
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->out_secret = false;
}

static void client_close(struct client *c)
{
	close(c->fd);
	free_buf(c);
	free_out(c);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* The least recently active client other than self, among those holding memory if `holding`. */
static struct client *least_active(const struct client *self, bool holding)
{
	struct client *best = NULL;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0 || c == self || (holding && !c->cap && !c->out_len))
			continue;
		if (!best || c->active_ns < best->active_ns)
			best = c;
	}
	return best;
}

static void evict(struct client *c, const char *why)
{
	client_close(c);
	if (log_ok())
		RTE_LOG(NOTICE, USER1, "uapi: least recently active connection closed: %s\n", why);
}

/* Makes room for `more` bytes held for c, closing others if need be; false: c alone is too much. */
static bool make_room(struct client *c, size_t more)
{
	while (held + more > BUFFER_BUDGET) {
		struct client *victim = least_active(c, true);

		if (!victim)
			return false;
		evict(victim, "memory budget reached");
	}
	return true;
}

/* Queues the answer (text, if any, then the status line). The client has STALL_NS to take it. */
static void answer(struct client *c, char *text, size_t len, bool secret, int err)
{
	char status[32];
	int slen;
	char *out;

	if (len && !make_room(c, len + sizeof(status))) {
		if (secret)
			uapi_free_text(text, len);
		text = NULL;
		len = 0;
		secret = false;
		err = -ENOMEM;
	}
	slen = snprintf(status, sizeof(status), UAPI_STATUS_FMT, err);
	out = malloc(len + (size_t)slen);
	if (!out) {
		if (secret)
			uapi_free_text(text, len);
		c->close_after = true; /* nothing to send: the next round closes it */
		return;
	}
	if (len)
		memcpy(out, text, len);
	memcpy(out + len, status, (size_t)slen);
	if (secret)
		uapi_free_text(text, len);
	c->out = out;
	c->out_len = len + (size_t)slen;
	c->out_off = 0;
	c->out_secret = secret;
	c->busy_ns = now_ns;
	held += c->out_len;
}

static void do_get(struct client *c)
{
	struct devconf state;
	char *text = NULL;
	size_t len = 0;
	int err = apply_snapshot(&state);

	if (!err)
		err = uapi_format_get(&state, &text, &len);
	devconf_free(&state);
	answer(c, err ? NULL : text, err ? 0 : len, !err, err);
}

/* Lines starting "public_key=" in a set body, counting stops past limit. */
static size_t count_entries(const char *body, size_t len, size_t limit)
{
	const char *p = body, *end = body + len;
	size_t n = 0;

	while (p < end && n <= limit) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(end - p) > 11 && memcmp(p, "public_key=", 11) == 0)
			n++;
		p = nl ? nl + 1 : end;
	}
	return n;
}

static void do_set(struct client *c, const char *body, size_t len)
{
	struct devconf conf;
	char why[256];
	int err;

	if (count_entries(body, len, MAX_SET_ENTRIES) > MAX_SET_ENTRIES) {
		if (log_ok())
			RTE_LOG(NOTICE, USER1, "uapi: set refused: more than %u peer entries\n",
				MAX_SET_ENTRIES);
		answer(c, NULL, 0, false, -ENOSPC);
		return;
	}
	err = uapi_parse_set(body, len, ifstate_index, &conf, why, sizeof(why));
	if (err) {
		if (log_ok())
			RTE_LOG(NOTICE, USER1, "uapi: set refused: %s\n", why);
	} else if ((err = apply_devconf(&conf)) != 0 && log_ok()) {
		RTE_LOG(NOTICE, USER1, "uapi: set not applied: %s\n", strerror(-err));
	}
	devconf_free(&conf);
	answer(c, NULL, 0, false, err);
	/* wireguard-go goes on reading after EIO in the middle of a line: it finds no operation there
	 * and closes. We know where the next one starts, but answer the same way. */
	if (err == UAPI_ERR_IO)
		c->close_after = true;
}

/* Marks the first n unconsumed bytes consumed (wiped: they may hold keys). */
static void consume(struct client *c, size_t n)
{
	sodium_memzero(c->buf + c->off, n);
	c->off += n;
	c->scanned = 0;
	if (c->off == c->len) {
		c->off = c->len = 0;
		if (c->cap > BUF_MIN)
			free_buf(c); /* a large request's buffer is not kept for the next */
	}
}

/* Consume complete operations from the buffer; false: close the connection. */
static bool process(struct client *c)
{
	while (!c->out && !c->close_after && c->len > c->off) {
		const char *p = c->buf + c->off;
		size_t avail = c->len - c->off, next;
		const char *nl = memchr(p, '\n', avail < 7 ? avail : 7);
		ssize_t body;

		if (!nl)
			return avail < 7; /* no valid first line is longer than "get=1\n" */
		switch (uapi_parse_op(p, (size_t)(nl - p))) {
		case UAPI_OP_GET:
			if (avail < 7)
				return true;
			/* "get=1" must be followed by the empty line (wireguard-go answers EINVAL). */
			if (p[6] == '\n')
				do_get(c);
			else
				answer(c, NULL, 0, false, UAPI_ERR_INVALID);
			consume(c, 7);
			break;
		case UAPI_OP_SET:
			body = uapi_find_body_end(p + 6, avail - 6, c->scanned, &next);
			if (body >= 0) {
				do_set(c, p + 6, (size_t)body);
				consume(c, 6 + next);
				break;
			}
			c->scanned = next; /* where the incomplete last line starts */
			if (avail - 6 - next > UAPI_MAX_LINE || avail >= BUF_MAX) {
				if (log_ok())
					RTE_LOG(NOTICE, USER1, "uapi: set refused: %s too long, closing\n",
						avail >= BUF_MAX ? "request" : "line");
				answer(c, NULL, 0, false, UAPI_ERR_IO);
				c->close_after = true;
				free_buf(c); /* nothing more of it will be read */
			}
			return true;
		default:
			return false; /* not an operation: wireguard-go closes without a word */
		}
	}
	return true;
}

/* Room for a read: skip-then-compact consumed bytes, or grow within the limits. */
static bool make_read_room(struct client *c)
{
	size_t cap;
	char *buf;

	if (c->cap - c->len >= READ_MIN)
		return true;
	/* Moving costs no more than was consumed (amortised), or growth is impossible anyway. */
	if (c->off && (c->off >= c->len - c->off || c->cap >= BUF_MAX)) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
		if (c->cap - c->len >= READ_MIN)
			return true;
	}
	if (c->cap >= BUF_MAX)
		return c->len < c->cap;
	cap = c->cap ? c->cap * 2 : BUF_MIN;
	if (!make_room(c, cap - c->cap)) {
		if (log_ok())
			RTE_LOG(NOTICE, USER1, "uapi: request refused: clients hold %zu bytes already\n",
				held);
		answer(c, NULL, 0, false, -ENOMEM);
		c->close_after = true;
		free_buf(c);
		return false;
	}
	buf = malloc(cap);
	if (!buf)
		return false;
	if (c->buf) {
		memcpy(buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
		sodium_memzero(c->buf, c->cap); /* may hold keys */
		free(c->buf);
	}
	held += cap - c->cap;
	c->buf = buf;
	c->cap = cap;
	return true;
}

static bool client_read(struct client *c)
{
	ssize_t n;

	if (!make_read_room(c))
		return c->close_after; /* the ENOMEM answer goes out first */
	n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return false; /* closed: a partial request is dropped, never applied */
	if (n < 0)
		return true;
	c->len += (size_t)n;
	c->active_ns = now_ns;
	if (!c->busy_ns)
		c->busy_ns = now_ns;
	if (!process(c))
		return false;
	if (!c->out && c->len == c->off)
		c->busy_ns = 0;
	return true;
}

static bool client_write(struct client *c)
{
	ssize_t n;

	if (!c->out)
		return !c->close_after;
	n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->out_off += (size_t)n;
	c->active_ns = now_ns;
	if (c->out_off < c->out_len)
		return true;
	free_out(c);
	if (c->close_after)
		return false;
	/* What was read after that request: a partial one gets its own STALL_NS from now. */
	c->busy_ns = c->len > c->off ? now_ns : 0;
	return process(c);
}

/* A free slot, or the client to close for one (past its grace), or NULL: accept nobody now. */
static struct client *slot_for_newcomer(void)
{
	struct client *c;

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd < 0)
			return &clients[i];
	c = least_active(NULL, false);
	return now_ns - c->active_ns >= EVICT_GRACE_NS ? c : NULL;
}

static void accept_clients(void)
{
	for (int k = 0; k < ACCEPT_BURST; k++) {
		struct client *c = slot_for_newcomer();
		int fd;

		if (!c)
			return;
		/* EAGAIN: none waiting. EMFILE/ENFILE: left in the backlog for a later round. */
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (c->fd >= 0)
			evict(c, "connection limit reached");
		c->fd = fd;
		c->active_ns = now_ns;
		c->busy_ns = 0;
	}
}

int uapi_server_attach(int fd)
{
	struct client *c;

	start();
	c = slot_for_newcomer();
	if (!c)
		return -EBUSY;
	if (c->fd >= 0)
		evict(c, "connection limit reached");
	c->fd = fd;
	c->active_ns = now_ns;
	c->busy_ns = 0;
	return 0;
}

void uapi_server_poll(int timeout_ms)
{
	struct pollfd pfd[MAX_CLIENTS + 1];
	int map[MAX_CLIENTS + 1], n = 0;

	if (!started)
		return;
	tick();
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0)
			continue;
		pfd[n] = (struct pollfd){ .fd = c->fd,
					  .events = (c->out || c->close_after) ? POLLOUT : POLLIN };
		map[n++] = i;
	}
	/* Last, so that accepting (which may close a client to make room) comes after the clients'
	 * events of this round have been handled; not at all while nobody could be accepted. */
	if (listen_fd >= 0 && slot_for_newcomer()) {
		pfd[n] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		map[n++] = -1;
	}
	if (poll(pfd, (nfds_t)n, timeout_ms) < 0)
		return;
	tick();
	for (int k = 0; k < n; k++) {
		struct client *c;
		bool ok;

		if (map[k] < 0) {
			if (pfd[k].revents)
				accept_clients();
			continue;
		}
		c = &clients[map[k]];
		if (c->fd != pfd[k].fd)
			continue; /* closed to make room earlier in this round */
		if (!pfd[k].revents) {
			if (c->busy_ns && now_ns - c->busy_ns > STALL_NS) {
				if (log_ok())
					RTE_LOG(NOTICE, USER1, "uapi: connection closed: %s for %llu s\n",
						c->out ? "answer not taken" : "request incomplete",
						STALL_NS / 1000000000ull);
				client_close(c);
			}
			continue;
		}
		if (pfd[k].revents & POLLOUT)
			ok = client_write(c);
		else if (pfd[k].revents & POLLIN)
			ok = client_read(c);
		else
			ok = false;
		if (!ok)
			client_close(c);
	}
}

void uapi_server_close(void)
{
	for (int i = 0; started && i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	started = false;
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(sock_path);
		listen_fd = -1;
	}
}
