/* SPDX-License-Identifier: MIT */
/*
 * The UAPI socket, /var/run/wireguard/<interface>.sock, served from the control thread's loop with
 * non-blocking sockets: a client's request is buffered until complete (bounded), parsed whole by
 * lib/uapi.c, applied whole by apply.c, and answered; a slow or hostile client costs a buffer, never
 * a blocked thread. The protocol's rules are in lib/uapi.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_log.h>

#include <sodium.h>

#include "ctrl.h"
#include "uapi.h"

#define UAPI_DIR "/var/run/wireguard"
#define MAX_CLIENTS 16

struct client {
	int fd;
	char *buf;
	size_t len, cap, scanned;
	char *out;                /* pending answer */
	size_t out_len, out_off;
	bool out_secret;          /* holds the private key: wipe when done */
};

static int listen_fd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct client clients[MAX_CLIENTS];

int uapi_server_open(const char *ifname)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

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
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, MAX_CLIENTS) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	chmod(sock_path, 0600);
	listen_fd = fd;
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	return 0;
}

/* The pending answer is ours (not uapi_format_get's text): wipe exactly what we allocated. */
static void free_out(struct client *c)
{
	if (c->out && c->out_secret)
		sodium_memzero(c->out, c->out_len);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->out_secret = false;
}

static void client_close(struct client *c)
{
	close(c->fd);
	if (c->buf)
		sodium_memzero(c->buf, c->cap);
	free(c->buf);
	free_out(c);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void answer(struct client *c, char *text, size_t len, bool secret, int err)
{
	char status[32];
	int slen = snprintf(status, sizeof(status), UAPI_STATUS_FMT, err);
	char *out = malloc(len + (size_t)slen);

	if (!out) {
		if (secret)
			uapi_free_text(text, len);
		client_close(c);
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

static void do_set(struct client *c, const char *body, size_t len)
{
	struct devconf conf;
	char why[256];
	int err = uapi_parse_set(body, len, &conf, why, sizeof(why));

	if (err)
		RTE_LOG(NOTICE, USER1, "uapi: set refused: %s\n", why);
	else if ((err = apply_devconf(&conf)) != 0)
		RTE_LOG(NOTICE, USER1, "uapi: set not applied: %s\n", strerror(-err));
	devconf_free(&conf);
	answer(c, NULL, 0, false, err);
}

/* Consume complete operations from the buffer; false: close the connection. */
static bool process(struct client *c)
{
	while (!c->out && c->len) {
		char *nl = memchr(c->buf, '\n', c->len < 7 ? c->len : 7);
		size_t consumed = 0, next;
		ssize_t body;

		if (!nl)
			return c->len < 7;
		switch (uapi_parse_op(c->buf, (size_t)(nl - c->buf))) {
		case UAPI_OP_GET:
			if (c->len < 7)
				return true;
			/* "get=1" must be followed by the empty line (wireguard-go answers EINVAL). */
			if (c->buf[6] == '\n')
				do_get(c);
			else
				answer(c, NULL, 0, false, UAPI_ERR_INVALID);
			consumed = 7;
			break;
		case UAPI_OP_SET:
			body = uapi_find_body_end(c->buf + 6, c->len - 6, c->scanned, &next);
			if (body < 0) {
				c->scanned = next;
				return c->len < UAPI_MAX_REQUEST;
			}
			do_set(c, c->buf + 6, (size_t)body);
			consumed = 6 + next;
			c->scanned = 0;
			break;
		default:
			return false;
		}
		sodium_memzero(c->buf, consumed);
		memmove(c->buf, c->buf + consumed, c->len - consumed);
		c->len -= consumed;
	}
	return true;
}

static bool client_read(struct client *c)
{
	ssize_t n;

	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 8192;
		char *buf = malloc(cap);

		if (!buf)
			return false;
		if (c->buf) {
			memcpy(buf, c->buf, c->len);
			sodium_memzero(c->buf, c->cap); /* may hold keys */
			free(c->buf);
		}
		c->buf = buf;
		c->cap = cap;
	}
	n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return false;
	if (n > 0)
		c->len += (size_t)n;
	return process(c);
}

static bool client_write(struct client *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len) {
		free_out(c);
		return process(c);
	}
	return true;
}

static void accept_clients(void)
{
	int fd;

	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		int i;

		for (i = 0; i < MAX_CLIENTS && clients[i].fd >= 0; i++)
			;
		if (i == MAX_CLIENTS) {
			close(fd); /* too many at once: the tool retries or reports */
			continue;
		}
		clients[i].fd = fd;
	}
}

void uapi_server_poll(int timeout_ms)
{
	struct pollfd pfd[MAX_CLIENTS + 1];
	int map[MAX_CLIENTS + 1], n = 0;

	if (listen_fd < 0)
		return;
	pfd[n] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	map[n++] = -1;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd < 0)
			continue;
		pfd[n] = (struct pollfd){ .fd = clients[i].fd, .events = clients[i].out ? POLLOUT : POLLIN };
		map[n++] = i;
	}
	if (poll(pfd, (nfds_t)n, timeout_ms) <= 0)
		return;
	for (int k = 0; k < n; k++) {
		struct client *c;
		bool ok;

		if (!pfd[k].revents)
			continue;
		if (map[k] < 0) {
			accept_clients();
			continue;
		}
		c = &clients[map[k]];
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
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(sock_path);
		listen_fd = -1;
	}
}
