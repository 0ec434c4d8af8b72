/* SPDX-License-Identifier: MIT */
/*
 * The real UAPI server (ctrl/uapi_server.c) on a real socket, /var/run/wireguard/<name>.sock,
 * served by a thread of this process (uapi_server_poll until told to stop, then
 * uapi_server_close), talked to by the real wg(8) (set, setconf, syncconf, show dump, showconf,
 * show interfaces, errno answers) and by a raw client (requests split across writes, several in
 * one write, refused sets, a bad get, operations that are not one).
 *
 * This test plays ctrl/apply.c: apply_devconf() records a deep copy of what it is given (the
 * server frees its own after the call), counts sets, and answers a forced errno when a case asks;
 * apply_snapshot() counts gets and hands back a deep copy of the state the case set up (or a
 * forced errno). The server's limits (connections, time, memory, entries) are
 * tests/e2e/test_uapi_abuse.py's. The lib/ side of the protocol is tests/test_uapi.c's.
 *
 * Needs root (the socket lives in /var/run/wireguard): SKIP otherwise; the wg part is skipped,
 * saying so, when wg(8) is not installed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "apply.h"
#include "devconf_util.h"
#include "devconf.h"
#include "harness.h"
#include "keyenc.h"
#include "uapi.h"
#include "uapi_server.h"

extern char **environ;


#define WG_TIMEOUT_MS 5000

/* --- ctrl/apply.c, played by the test --- */

static struct {
	pthread_mutex_t lock;
	/* set by the test before a case */
	struct devconf get_state;
	int set_errno, get_errno; /* answer with this instead of 0, if nonzero */
	/* recorded by the stubs */
	unsigned int n_sets, n_gets;
	struct devconf last_set;  /* a deep copy of the last devconf applied */
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* dst = a deep copy of src (dst overwritten, not freed); 0 or -ENOMEM with dst empty. */
static int devconf_copy(struct devconf *dst, const struct devconf *src)
{
	*dst = *src;
	dst->peers = NULL;
	dst->n_peers = 0;
	for (size_t i = 0; i < src->n_peers; i++) {
		const struct devconf_peer *sp = &src->peers[i];
		struct devconf_peer *p = devconf_add_peer(dst);

		if (!p)
			goto fail;
		*p = *sp;
		p->allowed_ips = NULL;
		p->n_allowed_ips = 0;
		for (size_t j = 0; j < sp->n_allowed_ips; j++) {
			struct devconf_allowed_ip *a = devconf_add_allowed_ip(p);

			if (!a)
				goto fail;
			*a = sp->allowed_ips[j];
		}
	}
	return 0;
fail:
	devconf_free(dst);
	return -ENOMEM;
}

int apply_devconf(const struct devconf *c)
{
	int ret;

	pthread_mutex_lock(&st.lock);
	st.n_sets++;
	devconf_free(&st.last_set);
	ret = devconf_copy(&st.last_set, c);
	if (!ret && st.set_errno)
		ret = st.set_errno;
	pthread_mutex_unlock(&st.lock);
	return ret;
}

int apply_snapshot(struct devconf *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st.lock);
	st.n_gets++;
	ret = st.get_errno ? st.get_errno : devconf_copy(out, &st.get_state);
	pthread_mutex_unlock(&st.lock);
	return ret;
}

static void counts(unsigned int *sets, unsigned int *gets)
{
	pthread_mutex_lock(&st.lock);
	*sets = st.n_sets;
	*gets = st.n_gets;
	pthread_mutex_unlock(&st.lock);
}

/* What the stubs saw since counts() gave sets0/gets0 is exactly want_sets and want_gets. */
static bool counts_are(unsigned int sets0, unsigned int gets0, unsigned int want_sets,
		       unsigned int want_gets, unsigned int *sets, unsigned int *gets)
{
	counts(sets, gets);
	*sets -= sets0;
	*gets -= gets0;
	return *sets == want_sets && *gets == want_gets;
}

static void set_errnos(int set_err, int get_err)
{
	pthread_mutex_lock(&st.lock);
	st.set_errno = set_err;
	st.get_errno = get_err;
	pthread_mutex_unlock(&st.lock);
}

/* The last set applied, described; the lock makes the read well-ordered. */
static const char *last_set(struct sbuf *b)
{
	pthread_mutex_lock(&st.lock);
	describe(&st.last_set, b);
	pthread_mutex_unlock(&st.lock);
	return b->s;
}

/* --- the real server, on a thread of its own --- */

static struct {
	char name[16];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t thread;
	atomic_bool stop;
} srv;

static void *server_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv.stop))
		uapi_server_poll(50);
	uapi_server_close();
	return NULL;
}

static void remove_socket(void)
{
	if (srv.path[0])
		unlink(srv.path);
}

/* NULL on success, else why nothing here can run (why holds the reason). */
static const char *server_start(char *why, size_t size)
{
	int ret;

	/* unique per process: parallel runs must not meet; wg wants < IFNAMSIZ */
	snprintf(srv.name, sizeof(srv.name), "mgs%d", (int)getpid());
	snprintf(srv.path, sizeof(srv.path), "/var/run/wireguard/%s.sock", srv.name);
	ret = uapi_server_open(srv.name);
	if (ret) {
		snprintf(why, size, "cannot open the UAPI socket %s: %s%s", srv.path, strerror(-ret),
			 ret == -EACCES || ret == -EPERM ? " (not root?)" : "");
		srv.path[0] = '\0';
		return why;
	}
	atexit(remove_socket); /* a run that ends early leaves nothing behind */
	if (pthread_create(&srv.thread, NULL, server_main, NULL) != 0) {
		uapi_server_close();
		snprintf(why, size, "cannot start the server thread");
		return why;
	}
	return NULL;
}

static void server_stop(void)
{
	atomic_store(&srv.stop, true);
	pthread_join(srv.thread, NULL);
}

/* --- a raw client: what the socket itself says --- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int raw_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(addr.sun_path, srv.path, sizeof(srv.path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

struct reply {
	char s[8192];
	size_t len;
	bool eof; /* the server closed the connection */
};

/*
 * Reads what the server sends until it closes, or (unless want_eof) until `want` bytes came and
 * nothing more came for 100 ms after them (so a longer answer than expected, or a close right
 * after it, is seen), or for at most WG_TIMEOUT_MS.
 */
static void raw_read(int fd, struct reply *r, size_t want, bool want_eof)
{
	long long deadline = now_ms() + WG_TIMEOUT_MS;

	r->len = 0;
	r->eof = false;
	r->s[0] = '\0';
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;

		if (!want_eof && r->len >= want && left > 100)
			left = 100;
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
		n = read(fd, r->s + r->len, sizeof(r->s) - 1 - r->len);
		if (n <= 0) {
			r->eof = n == 0 || errno == ECONNRESET;
			return;
		}
		r->len += (size_t)n;
		r->s[r->len] = '\0';
		if (r->len == sizeof(r->s) - 1)
			return;
	}
}

/*
 * One connection: each chunk written on its own, `pause_ms` apart (so the server reads them
 * separately: poll() wakes it at once), then the reply read as raw_read does. false if the
 * connection could not be made or a write failed.
 */
static bool raw_exchange(const char *const *chunks, const size_t *lens, size_t n, int pause_ms,
			 struct reply *r, size_t want, bool want_eof)
{
	int fd = raw_connect();
	bool ok = fd >= 0;

	for (size_t i = 0; ok && i < n; i++) {
		ok = send_all(fd, chunks[i], lens[i]);
		if (pause_ms && i + 1 < n)
			poll(NULL, 0, pause_ms);
	}
	if (ok)
		raw_read(fd, r, want, want_eof);
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool raw_one(const char *req, struct reply *r, size_t want, bool want_eof)
{
	size_t len = strlen(req);

	return raw_exchange(&req, &len, 1, 0, r, want, want_eof);
}

/* The get answer the server should make of st.get_state: the formatter's text, then errno=0. */
static char *get_answer(size_t *len)
{
	char *text, *out;
	size_t tlen;

	pthread_mutex_lock(&st.lock);
	if (uapi_format_get(&st.get_state, &text, &tlen) != 0)
		abort();
	pthread_mutex_unlock(&st.lock);
	out = malloc(tlen + 16);
	if (!out)
		abort();
	memcpy(out, text, tlen);
	memcpy(out + tlen, "errno=0\n\n", 10);
	*len = tlen + 9;
	uapi_free_text(text, tlen);
	return out;
}

static void serve_small_state(void)
{
	struct devconf_peer *p;

	pthread_mutex_lock(&st.lock);
	devconf_free(&st.get_state);
	st.get_state.has_listen_port = true;
	st.get_state.listen_port = 4242;
	p = add_peer(&st.get_state, KB);
	add_ip(p, AF_INET, "10.9.0.0", 16);
	pthread_mutex_unlock(&st.lock);
}

/* One set sent as n pieces, pause_ms apart: answered errno=0 once, applied once, as want. */
static void check_set_in_pieces(const char *what, const char *const *chunks, const size_t *lens,
				size_t n, int pause_ms, const char *want)
{
	unsigned int s0, g0, s, g;
	struct reply r;
	struct sbuf b;

	counts(&s0, &g0);
	CHECK(raw_exchange(chunks, lens, n, pause_ms, &r, 9, false), "%s: connected", what);
	CHECK(r.len == 9 && memcmp(r.s, "errno=0\n\n", 9) == 0 && !r.eof, "%s: answer \"%s\"%s",
	      what, r.s, r.eof ? " then closed" : "");
	CHECK(counts_are(s0, g0, 1, 0, &s, &g), "%s: %u sets, %u gets applied", what, s, g);
	CHECK(strcmp(last_set(&b), want) == 0, "%s:\n got %s\nwant %s", what, b.s, want);
}

/*
 * Requests that arrive in pieces (the server reads each piece on its own: poll() wakes it at
 * once and the next comes 20 ms later): a set cut in its first line, mid-line, mid-key and
 * between the body's last '\n' and the empty line that ends it; a set whose "\r\n" empty line
 * is cut after the '\r'; the first set again one byte per write; a get cut in its first line and
 * before its empty line.
 */
static void raw_test_split(void)
{
	static const char req[] = "set=1\nlisten_port=7\npublic_key=" KA "\nallowed_ip=10.0.0.0/8\n\n";
	static const char *want = "dev: port=7 | peer=aaaaaaaa ips=10.0.0.0/8";
	const size_t cuts[] = { 0, 2, 13, 40, sizeof(req) - 2, sizeof(req) - 1 };
	static const char *const crlf[] = { "set=1\nfwmark=3\r\n\r", "\n" };
	static const char *const gc[] = { "ge", "t=1\n", "\n" };
	const size_t crlf_lens[] = { strlen(crlf[0]), 1 }, gl[] = { 2, 4, 1 };
	const char *chunks[sizeof(req)];
	size_t lens[sizeof(req)], n, alen;
	unsigned int s0, g0, s, g;
	struct reply r;
	char *ans;

	for (n = 0; n + 1 < sizeof(cuts) / sizeof(cuts[0]); n++) {
		chunks[n] = req + cuts[n];
		lens[n] = cuts[n + 1] - cuts[n];
	}
	check_set_in_pieces("split set", chunks, lens, n, 20, want);
	check_set_in_pieces("split CRLF end", crlf, crlf_lens, 2, 20, "dev: fwmark=3");
	for (n = 0; n < sizeof(req) - 1; n++) {
		chunks[n] = req + n;
		lens[n] = 1;
	}
	check_set_in_pieces("bytewise set", chunks, lens, n, 2, want);

	serve_small_state();
	ans = get_answer(&alen);
	counts(&s0, &g0);
	CHECK(raw_exchange(gc, gl, 3, 20, &r, alen, false), "split get: connected");
	CHECK(r.len == alen && memcmp(r.s, ans, alen) == 0 && !r.eof,
	      "split get: answer\n%s\nwant\n%s", r.s, ans);
	CHECK(counts_are(s0, g0, 0, 1, &s, &g), "split get: %u sets, %u gets", s, g);
	free(ans);
}

/* Several requests in one write are answered in order, each once, on the same connection. */
static void raw_test_pipelined(void)
{
	const char *req = "get=1\n\nset=1\nfwmark=9\n\nset=1\r\n\nget=1\n\n";
	unsigned int s0, g0, s, g;
	char want[8192];
	size_t alen, wlen;
	struct reply r;
	struct sbuf b;
	char *ans;

	serve_small_state();
	ans = get_answer(&alen);
	/* "set=1\r" is not an operation: after the get, the set and nothing more, the server
	 * closes without a word, as wireguard-go does */
	wlen = 0;
	memcpy(want + wlen, ans, alen);
	wlen += alen;
	memcpy(want + wlen, "errno=0\n\n", 9);
	wlen += 9;
	want[wlen] = '\0';
	counts(&s0, &g0);
	CHECK(raw_one(req, &r, wlen, true), "pipelined: connected");
	CHECK(r.len == wlen && memcmp(r.s, want, wlen) == 0,
	      "pipelined: answer\n%s\nwant\n%s", r.s, want);
	CHECK(r.eof, "pipelined: not closed after an invalid operation");
	CHECK(counts_are(s0, g0, 1, 1, &s, &g), "pipelined: %u sets, %u gets", s, g);
	CHECK(strcmp(last_set(&b), "dev: fwmark=9") == 0, "pipelined: set %s", b.s);

	/* three valid ones: get, set, get */
	req = "get=1\n\nset=1\nlisten_port=5\n\nget=1\n\n";
	wlen = 0;
	memcpy(want + wlen, ans, alen);
	wlen += alen;
	memcpy(want + wlen, "errno=0\n\n", 9);
	wlen += 9;
	memcpy(want + wlen, ans, alen);
	wlen += alen;
	want[wlen] = '\0';
	counts(&s0, &g0);
	CHECK(raw_one(req, &r, wlen, false), "get, set, get: connected");
	CHECK(r.len == wlen && memcmp(r.s, want, wlen) == 0 && !r.eof,
	      "get, set, get: answer%s\n%s\nwant\n%s", r.eof ? " (then closed)" : "", r.s, want);
	CHECK(counts_are(s0, g0, 1, 2, &s, &g), "get, set, get: %u sets, %u gets", s, g);
	CHECK(strcmp(last_set(&b), "dev: port=5") == 0, "get, set, get: set %s", b.s);
	sodium_memzero(want, sizeof(want));
	free(ans);
}

/* Refused requests: what the socket answers, and that nothing reaches apply. */
static void raw_test_refused(void)
{
	static const struct {
		const char *req, *want;
		bool eof; /* closed after the answer */
	} cases[] = {
		/* refused by the parser: errno answered, the connection stays usable */
		{ "set=1\nlisten_port=65536\n\n", "errno=-22\n\n", false },
		{ "set=1\nlisten_port\n\n", "errno=-71\n\n", false },
		{ "set=1\npublic_key=" KA "\nprivate_key=" KB "\n\n", "errno=-22\n\n", false },
		/* get=1 must be followed by the empty line */
		{ "get=1\nx", "errno=-22\n\n", false },
		/* not an operation: closed without a word */
		{ "bogus=1\n\n", "", true },
		{ "get=1\r\n\n", "", true },
		{ "set=2\n\n", "", true },
		{ "get=1x\n\n", "", true },
	};
	unsigned int s0, g0, s, g;
	struct reply r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t wl = strlen(cases[i].want);

		counts(&s0, &g0);
		CHECK(raw_one(cases[i].req, &r, wl, cases[i].eof), "refused %zu: connected", i);
		CHECK(r.len == wl && memcmp(r.s, cases[i].want, wl) == 0,
		      "refused %zu: answer \"%s\", want \"%s\"", i, r.s, cases[i].want);
		CHECK(r.eof == cases[i].eof, "refused %zu: %s", i, r.eof ? "closed" : "left open");
		CHECK(counts_are(s0, g0, 0, 0, &s, &g), "refused %zu: %u sets, %u gets applied", i,
		      s, g);
	}

	/* a refused set leaves the connection serving: the next request is answered */
	{
		const char *req = "set=1\nlisten_port=x\n\nset=1\nlisten_port=6\n\n";
		struct sbuf b;

		counts(&s0, &g0);
		CHECK(raw_one(req, &r, 20, false), "refused then valid: connected");
		CHECK(r.len == 20 && memcmp(r.s, "errno=-22\n\nerrno=0\n\n", 20) == 0 && !r.eof,
		      "refused then valid: \"%s\"", r.s);
		CHECK(counts_are(s0, g0, 1, 0, &s, &g), "refused then valid: %u sets, %u gets", s, g);
		CHECK(strcmp(last_set(&b), "dev: port=6") == 0, "refused then valid: %s", b.s);
	}

	/* apply's own errors and a snapshot's are answered as they come */
	{
		counts(&s0, &g0);
		set_errnos(-EADDRINUSE, -EPROTO);
		CHECK(raw_one("set=1\nlisten_port=1\n\nget=1\n\n", &r, 22, false),
		      "apply errors: connected");
		set_errnos(0, 0);
		CHECK(r.len == 22 && memcmp(r.s, "errno=-98\n\nerrno=-71\n\n", 22) == 0 && !r.eof,
		      "apply errors: \"%s\"", r.s);
		CHECK(counts_are(s0, g0, 1, 1, &s, &g), "apply errors: %u sets, %u gets", s, g);
	}
}

static void test_raw(void)
{
	raw_test_split();
	raw_test_pipelined();
	raw_test_refused();
}

/* --- the real wg(8) --- */

struct run {
	int status; /* exit code; -1 on timeout or failure to start */
	char out[8192];
	char err[2048];
};

/* Appends what fd has to dst (truncating, but always draining); false at EOF. */
static bool drain(int fd, char *dst, size_t size, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	size_t take;

	if (n <= 0)
		return n < 0 && errno == EINTR;
	take = (size_t)n < size - 1 - *len ? (size_t)n : size - 1 - *len;
	memcpy(dst + *len, tmp, take);
	*len += take;
	dst[*len] = '\0';
	return true;
}

/* Collects stdout and stderr until both close or the deadline passes. false on timeout. */
static bool collect(int fds[2], struct run *r)
{
	long long deadline = now_ms() + WG_TIMEOUT_MS;
	size_t lens[2] = { 0, 0 };
	bool open[2] = { true, true };

	while (open[0] || open[1]) {
		struct pollfd pfd[2] = { { .fd = open[0] ? fds[0] : -1, .events = POLLIN },
					 { .fd = open[1] ? fds[1] : -1, .events = POLLIN } };
		long long left = deadline - now_ms();

		if (left <= 0 || poll(pfd, 2, (int)left) < 0)
			return false;
		if (pfd[0].revents)
			open[0] = drain(fds[0], r->out, sizeof(r->out), &lens[0]);
		if (pfd[1].revents)
			open[1] = drain(fds[1], r->err, sizeof(r->err), &lens[1]);
	}
	return true;
}

/* Runs argv (argv[0] a path) with a timeout, capturing its output. */
static int run(struct run *r, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int out[2], err[2], fds[2], st;
	pid_t pid;
	bool done;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (pipe2(out, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	st = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	fds[0] = out[0];
	fds[1] = err[0];
	done = st == 0 && collect(fds, r);
	close(out[0]);
	close(err[0]);
	if (st != 0)
		return -1;
	if (!done)
		kill(pid, SIGKILL); /* our own child, by pid */
	if (waitpid(pid, &st, 0) == pid && done && WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	return r->status;
}

static const char *find_wg(char *buf, size_t size)
{
	const char *path = getenv("PATH");

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, size, "%.*s/wg", (int)n, p);
		if (n && access(buf, X_OK) == 0)
			return buf;
		p += n + (p[n] == ':');
	}
	return NULL;
}

struct wg_ctx {
	const char *wg;
	uint8_t priv[32], pub[32], psk[32], peer[3][32];
	char priv_b64[KEYENC_B64_LEN + 1], pub_b64[KEYENC_B64_LEN + 1], psk_b64[KEYENC_B64_LEN + 1];
	char peer_b64[3][KEYENC_B64_LEN + 1];
};

/* A temp file holding text; path receives its name. */
static void write_tmp(char path[64], const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/mgs-%d-XXXXXX", (int)getpid());
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* Runs wg with up to 24 arguments after "wg"; NULL-terminated. */
static int wg(struct wg_ctx *x, struct run *r, ...)
{
	char *argv[26] = { (char *)x->wg };
	va_list ap;
	int n = 1;

	va_start(ap, r);
	while (n < 25 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(r, argv);
}

static void key4(char out[9], const uint8_t *k)
{
	snprintf(out, 9, "%02x%02x%02x%02x", k[0], k[1], k[2], k[3]);
}

/* Full-key comparison for what describe() abbreviates. */
static bool last_set_keys(const uint8_t *priv, const uint8_t *pub0, const uint8_t *psk0)
{
	const struct devconf *c = &st.last_set;
	bool ok;

	pthread_mutex_lock(&st.lock);
	ok = (!priv || (c->has_private_key && !memcmp(c->private_key, priv, 32))) &&
	     (!pub0 || (c->n_peers && !memcmp(c->peers[0].public_key, pub0, 32))) &&
	     (!psk0 || (c->n_peers && c->peers[0].has_preshared_key &&
			!memcmp(c->peers[0].preshared_key, psk0, 32)));
	pthread_mutex_unlock(&st.lock);
	return ok;
}

/*
 * wg set: every per-device and per-peer option, as the tool encodes them. One set reaches apply
 * (so the server took it for one valid request, and the parser accepted it), no get.
 */
static void wg_test_set(struct wg_ctx *x)
{
	char pkf[64], pskf[64], want[512], k[3][9];
	unsigned int s0, g0, s, g;
	struct run r;
	struct sbuf b;

	write_tmp(pkf, x->priv_b64);
	write_tmp(pskf, x->psk_b64);
	counts(&s0, &g0);
	wg(x, &r, "set", srv.name, "private-key", pkf, "listen-port", "51820", "fwmark", "0x1234",
	   "peer", x->peer_b64[0], "preshared-key", pskf, "endpoint", "192.0.2.1:51820",
	   "persistent-keepalive", "25", "allowed-ips", "10.0.0.0/8,fd00::/64", NULL);
	CHECK(r.status == 0, "wg set: status %d: %s", r.status, r.err);
	key4(k[0], x->priv);
	key4(k[1], x->peer[0]);
	key4(k[2], x->psk);
	snprintf(want, sizeof(want),
		 "dev: pk=%s port=51820 fwmark=4660 | peer=%s psk=%s ep=192.0.2.1%%0:51820 ka=25 "
		 "replace_ips ips=10.0.0.0/8,fd00::/64", k[0], k[1], k[2]);
	CHECK(counts_are(s0, g0, 1, 0, &s, &g) && strcmp(last_set(&b), want) == 0,
	      "wg set applied (%u sets, %u gets)\n got %s\nwant %s", s, g, b.s, want);
	CHECK(last_set_keys(x->priv, x->peer[0], x->psk), "wg set: keys");
	unlink(pkf);
	unlink(pskf);
}

/* wg set: IPv6 endpoints (a scope arrives as an interface name), emptied allowed IPs, remove. */
static void wg_test_set_peers(struct wg_ctx *x)
{
	char want[512], k[3][9];
	unsigned int s0, g0, s, g;
	struct run r;
	struct sbuf b;

	counts(&s0, &g0);
	wg(x, &r, "set", srv.name, "peer", x->peer_b64[1], "endpoint", "[2001:db8::1]:443", "peer",
	   x->peer_b64[2], "endpoint", "[fe80::1%lo]:51820", "allowed-ips", "", "peer",
	   x->peer_b64[0], "remove", NULL);
	CHECK(r.status == 0, "wg set peers: status %d: %s", r.status, r.err);
	for (int i = 0; i < 3; i++)
		key4(k[i], x->peer[i]);
	snprintf(want, sizeof(want),
		 "dev: | peer=%s ep=2001:db8::1%%0:443 | peer=%s ep=fe80::1%%%u:51820 replace_ips "
		 "| peer=%s remove", k[1], k[2], if_nametoindex("lo"), k[0]);
	CHECK(counts_are(s0, g0, 1, 0, &s, &g) && strcmp(last_set(&b), want) == 0,
	      "wg set peers applied (%u sets, %u gets)\n got %s\nwant %s", s, g, b.s, want);
}

/* wg resolves hostnames itself; what reaches us is numeric. */
static void wg_test_hostname(struct wg_ctx *x)
{
	unsigned int s0, g0, s, g;
	struct run r;
	struct sbuf b;

	counts(&s0, &g0);
	wg(x, &r, "set", srv.name, "peer", x->peer_b64[0], "endpoint", "localhost:9", NULL);
	if (r.status != 0) {
		printf("wg: localhost does not resolve here (%s); hostname case skipped\n", r.err);
		return;
	}
	last_set(&b);
	CHECK(counts_are(s0, g0, 1, 0, &s, &g) &&
	      (strstr(b.s, "ep=127.0.0.1%0:9") || strstr(b.s, "ep=::1%0:9")),
	      "localhost endpoint (%u sets, %u gets): %s", s, g, b.s);
}

/*
 * wg set reports our errno the way it reports wireguard-go's: negated, through strerror. The
 * errno is apply's: the set reached it (parsed and accepted as one request) and its answer came
 * back through the server.
 */
static void wg_test_errno(struct wg_ctx *x)
{
	static const struct {
		int err;
		const char *msg;
	} cases[] = { { UAPI_ERR_PORT_IN_USE, "Address already in use" },
		      { UAPI_ERR_INVALID, "Invalid argument" },
		      { UAPI_ERR_PROTOCOL, "Protocol error" } };
	unsigned int s0, g0, s, g;
	struct run r;
	struct sbuf b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		counts(&s0, &g0);
		set_errnos(cases[i].err, 0);
		wg(x, &r, "set", srv.name, "listen-port", "1", NULL);
		set_errnos(0, 0);
		CHECK(r.status != 0 && strstr(r.err, cases[i].msg) &&
		      counts_are(s0, g0, 1, 0, &s, &g) && strcmp(last_set(&b), "dev: port=1") == 0,
		      "errno %d: status %d, stderr %s, %u sets, %u gets, set %s", cases[i].err,
		      r.status, r.err, s, g, b.s);
	}
}

/* wg show reports a get's errno the same way. */
static void wg_test_get_errno(struct wg_ctx *x)
{
	unsigned int s0, g0, s, g;
	struct run r;
	bool counted;

	counts(&s0, &g0);
	set_errnos(0, -EPROTO);
	wg(x, &r, "show", srv.name, "dump", NULL);
	set_errnos(0, 0);
	counted = counts_are(s0, g0, 0, 1, &s, &g);
	CHECK(r.status != 0 && r.out[0] == '\0' && strstr(r.err, "Protocol error") && counted,
	      "get errno: status %d, stdout %s, stderr %s, %u sets, %u gets", r.status, r.out, r.err,
	      s, g);
}

static const char *setconf_fmt =
	"[Interface]\nPrivateKey = %s\nListenPort = 12345\nFwMark = 7\n\n"
	"[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 192.168.0.0/24, 2001:db8::/32\n"
	"Endpoint = 198.51.100.7:9\nPersistentKeepalive = 10\n\n"
	"[Peer]\nPublicKey = %s\nAllowedIPs = 0.0.0.0/0, ::/0\n";

/* wg setconf: a whole configuration, replacing peers and each peer's allowed IPs. */
static void wg_test_setconf(struct wg_ctx *x)
{
	char conf[1024], path[64], want[512], k[4][9];
	unsigned int s0, g0, s, g;
	struct run r;
	struct sbuf b;

	snprintf(conf, sizeof(conf), setconf_fmt, x->priv_b64, x->peer_b64[0], x->psk_b64,
		 x->peer_b64[1]);
	write_tmp(path, conf);
	counts(&s0, &g0);
	wg(x, &r, "setconf", srv.name, path, NULL);
	CHECK(r.status == 0, "wg setconf: status %d: %s", r.status, r.err);
	key4(k[0], x->priv);
	key4(k[1], x->peer[0]);
	key4(k[2], x->psk);
	key4(k[3], x->peer[1]);
	snprintf(want, sizeof(want),
		 "dev: pk=%s port=12345 fwmark=7 replace_peers | peer=%s psk=%s "
		 "ep=198.51.100.7%%0:9 ka=10 replace_ips ips=192.168.0.0/24,2001:db8::/32 "
		 "| peer=%s replace_ips "
		 "ips=0.0.0.0/0,::/0", k[0], k[1], k[2], k[3]);
	CHECK(counts_are(s0, g0, 1, 0, &s, &g) && strcmp(last_set(&b), want) == 0,
	      "wg setconf applied (%u sets, %u gets)\n got %s\nwant %s", s, g, b.s, want);
	CHECK(last_set_keys(x->priv, x->peer[0], x->psk), "wg setconf: keys");
	sodium_memzero(conf, sizeof(conf));
	unlink(path);
}

/* The get state the show tests serve: build_state with our key pair and a scope wg can name. */
static void serve_state(struct wg_ctx *x)
{
	pthread_mutex_lock(&st.lock);
	devconf_free(&st.get_state);
	build_state(&st.get_state);
	memcpy(st.get_state.private_key, x->priv, 32);
	memcpy(st.get_state.peers[0].public_key, x->peer[0], 32);
	memcpy(st.get_state.peers[0].preshared_key, x->psk, 32);
	memcpy(st.get_state.peers[1].public_key, x->peer[1], 32);
	memcpy(st.get_state.peers[2].public_key, x->peer[2], 32);
	st.get_state.peers[1].endpoint.scope_id = if_nametoindex("lo");
	pthread_mutex_unlock(&st.lock);
}

/* wg show <if> dump: one tab-separated line for the device, one per peer. */
static void wg_test_dump(struct wg_ctx *x)
{
	char want[2048];
	unsigned int s0, g0, s, g;
	struct run r;

	serve_state(x);
	counts(&s0, &g0);
	wg(x, &r, "show", srv.name, "dump", NULL);
	CHECK(counts_are(s0, g0, 0, 1, &s, &g), "wg show dump: %u sets, %u gets", s, g);
	snprintf(want, sizeof(want),
		 "%s\t%s\t51820\t0x1234\n"
		 "%s\t%s\t192.0.2.1:51820\t10.0.0.0/8,fd00::/64,192.168.1.128/25\t1700000000\t"
		 "18446744073709551615\t1000\t25\n"
		 "%s\t(none)\t[fe80::1%%lo]:443\t(none)\t0\t0\t0\toff\n"
		 "%s\t(none)\t[2001:db8::1]:1\t::/0\t0\t0\t0\toff\n",
		 x->priv_b64, x->pub_b64, x->peer_b64[0], x->psk_b64, x->peer_b64[1],
		 x->peer_b64[2]);
	CHECK(r.status == 0 && strcmp(r.out, want) == 0,
	      "wg show dump: status %d %s\n got:\n%s\nwant:\n%s", r.status, r.err, r.out, want);
}

/* wg showconf <if>: the configuration file form of the same state. */
static void wg_test_showconf(struct wg_ctx *x)
{
	char want[2048];
	unsigned int s0, g0, s, g;
	struct run r;
	bool counted;

	serve_state(x);
	counts(&s0, &g0);
	wg(x, &r, "showconf", srv.name, NULL);
	snprintf(want, sizeof(want),
		 "[Interface]\nListenPort = 51820\nFwMark = 0x1234\nPrivateKey = %s\n\n"
		 "[Peer]\nPublicKey = %s\nPresharedKey = %s\n"
		 "AllowedIPs = 10.0.0.0/8, fd00::/64, 192.168.1.128/25\n"
		 "Endpoint = 192.0.2.1:51820\n"
		 "PersistentKeepalive = 25\n\n"
		 "[Peer]\nPublicKey = %s\nEndpoint = [fe80::1%%lo]:443\n\n"
		 "[Peer]\nPublicKey = %s\nAllowedIPs = ::/0\nEndpoint = [2001:db8::1]:1\n",
		 x->priv_b64, x->peer_b64[0], x->psk_b64, x->peer_b64[1], x->peer_b64[2]);
	counted = counts_are(s0, g0, 0, 1, &s, &g);
	CHECK(r.status == 0 && strcmp(r.out, want) == 0 && counted,
	      "wg showconf: status %d %s, %u sets, %u gets\n got:\n%s\nwant:\n%s", r.status, r.err,
	      s, g, r.out, want);
	sodium_memzero(want, sizeof(want));
	sodium_memzero(r.out, sizeof(r.out));
}

/* An empty device, and the interface list (wg finds us by the socket's name). */
static void wg_test_empty(struct wg_ctx *x)
{
	unsigned int s0, g0, s, g;
	struct run r;
	bool counted;

	pthread_mutex_lock(&st.lock);
	devconf_free(&st.get_state);
	pthread_mutex_unlock(&st.lock);
	counts(&s0, &g0);
	wg(x, &r, "show", srv.name, "dump", NULL);
	counted = counts_are(s0, g0, 0, 1, &s, &g);
	CHECK(r.status == 0 && strcmp(r.out, "(none)\t(none)\t0\toff\n") == 0 && counted,
	      "empty dump: status %d %s, %u sets, %u gets: %s", r.status, r.err, s, g, r.out);
	wg(x, &r, "show", "interfaces", NULL);
	CHECK(r.status == 0 && strstr(r.out, srv.name), "wg show interfaces: %s %s", r.out, r.err);
}

/* The entries of the last set for a key: how many, and how many of them remove it. */
static void count_entries(const uint8_t *key, unsigned int *n, unsigned int *removes)
{
	*n = *removes = 0;
	pthread_mutex_lock(&st.lock);
	for (size_t i = 0; i < st.last_set.n_peers; i++) {
		const struct devconf_peer *p = &st.last_set.peers[i];

		if (memcmp(p->public_key, key, 32) == 0) {
			++*n;
			*removes += p->remove;
		}
	}
	pthread_mutex_unlock(&st.lock);
}

/*
 * wg syncconf: a get, then a set of the difference: the peer missing from the file is removed,
 * the others are (re)configured, and replace_peers is not used. Entry order is wg's business.
 */
static void wg_test_syncconf(struct wg_ctx *x)
{
	char conf[1024], path[64];
	unsigned int s0, g0, s, g, n[3], rm[3];
	struct run r;
	bool replace;
	size_t peers;

	serve_state(x);
	snprintf(conf, sizeof(conf), setconf_fmt, x->priv_b64, x->peer_b64[0], x->psk_b64,
		 x->peer_b64[1]);
	write_tmp(path, conf);
	counts(&s0, &g0);
	wg(x, &r, "syncconf", srv.name, path, NULL);
	CHECK(r.status == 0, "wg syncconf: status %d: %s", r.status, r.err);
	pthread_mutex_lock(&st.lock);
	replace = st.last_set.replace_peers;
	peers = st.last_set.n_peers;
	pthread_mutex_unlock(&st.lock);
	CHECK(counts_are(s0, g0, 1, 1, &s, &g) && !replace && peers == 3,
	      "wg syncconf: %u sets, %u gets, replace_peers %d, %zu peers", s, g, replace, peers);
	CHECK(g == 1, "wg syncconf: %u gets", g);
	for (int i = 0; i < 3; i++)
		count_entries(x->peer[i], &n[i], &rm[i]);
	CHECK(n[0] == 1 && rm[0] == 0 && n[1] == 1 && rm[1] == 0, "kept peers");
	CHECK(n[2] == 1 && rm[2] == 1, "peer missing from the file is removed");
	CHECK(last_set_keys(x->priv, NULL, NULL), "wg syncconf: private key");
	sodium_memzero(conf, sizeof(conf));
	unlink(path);
}

static void wg_keys(struct wg_ctx *x)
{
	struct test_rng r;

	test_rng_seed(&r, 0x7767);
	test_rng_bytes(&r, x->priv, 32);
	x->priv[0] &= 248; /* what wg genkey prints: a clamped scalar */
	x->priv[31] = (x->priv[31] & 127) | 64;
	if (crypto_scalarmult_curve25519_base(x->pub, x->priv) != 0)
		abort();
	test_rng_bytes(&r, x->psk, 32);
	test_rng_bytes(&r, x->peer, sizeof(x->peer));
	keyenc_to_base64(x->priv_b64, x->priv);
	keyenc_to_base64(x->pub_b64, x->pub);
	keyenc_to_base64(x->psk_b64, x->psk);
	for (int i = 0; i < 3; i++)
		keyenc_to_base64(x->peer_b64[i], x->peer[i]);
}

static void test_real_wg(void)
{
	struct wg_ctx x = { 0 };
	char path[4096];

	x.wg = find_wg(path, sizeof(path));
	if (!x.wg) {
		printf("SKIP real wg part: no wg binary in PATH (wireguard-tools not installed)\n");
		return;
	}
	printf("real wg: %s against %s\n", x.wg, srv.path);
	wg_keys(&x);
	wg_test_set(&x);
	wg_test_set_peers(&x);
	wg_test_hostname(&x);
	wg_test_errno(&x);
	wg_test_setconf(&x);
	wg_test_dump(&x);
	wg_test_get_errno(&x);
	wg_test_showconf(&x);
	wg_test_syncconf(&x);
	wg_test_empty(&x);
	sodium_memzero(&x, sizeof(x));
}

int main(void)
{
	char why[512], path[sizeof(srv.path)];

	if (sodium_init() < 0)
		return 1;
	if (server_start(why, sizeof(why)))
		test_skip(why);
	printf("real server: ctrl/uapi_server.c on %s\n", srv.path);
	test_raw();
	test_real_wg();
	snprintf(path, sizeof(path), "%s", srv.path);
	server_stop();
	CHECK(access(path, F_OK) != 0, "socket %s left behind", path);
	devconf_free(&st.get_state);
	devconf_free(&st.last_set);
	return test_done("uapi_server");
}
