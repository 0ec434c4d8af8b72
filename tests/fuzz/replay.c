/* SPDX-License-Identifier: MIT */
/*
 * Replays committed fuzz inputs through a libFuzzer target in a plain build (any compiler, no
 * -fsanitize=fuzzer): linked with one tests/fuzz/fuzz_<name>.c, it calls LLVMFuzzerInitialize if
 * the target defines one, then LLVMFuzzerTestOneInput once per input, as libFuzzer does when it is
 * given files to run. So `meson test` keeps every seed and every fixed finding passing, under
 * ASan+UBSan too (tests/meson.build: fuzz_replay_<name>).
 *
 *   fuzz_replay_<name> PATH...     each PATH a file (one input) or a directory (every regular
 *                                  file in it, not recursing, in name order; dot files skipped)
 *
 * Each input is read into a buffer of exactly its size, so a read past its end is a finding under
 * ASan, and under ASan a leak check follows each input (the first input that leaks is named).
 * Prints one line per PATH ("N inputs in T s from PATH"). Exits 1 if a PATH does not exist, cannot
 * be read or holds no inputs (a replay that ran nothing has proven nothing). A check that fails in
 * the target aborts the process; the input being run is then named on stderr (and with
 * FUZZ_REPLAY_VERBOSE=1 every input is named as it starts, which also covers a plain segfault).
 * Inputs are run whole, as libFuzzer runs files it is given (no -max_len cut).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Under ASan (gcc or clang), a leak check after each input, as libFuzzer does, names the input
 * that leaked; the end-of-process check would only show the allocation's stack. */
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_LSAN 1
#endif
#endif
#ifdef REPLAY_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* libFuzzer's entry points; the initializer is optional, as it is for libFuzzer. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *current; /* the input being run, for the abort handler */
static bool verbose;
static bool leaked; /* a per-input leak check found something */

static void on_abort(int sig)
{
	static const char pre[] = "fuzz_replay: aborted in input ";
	const char *p = current;

	if (p) {
		if (write(STDERR_FILENO, pre, sizeof(pre) - 1) < 0 ||
		    write(STDERR_FILENO, p, strlen(p)) < 0 || write(STDERR_FILENO, "\n", 1) < 0) {
			/* nothing more to do: the process is on its way down */
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads path whole into a buffer of exactly its size (a distinct pointer even when empty). */
static uint8_t *read_input(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (len == cap) {
			uint8_t *n = realloc(buf, cap ? cap * 2 : 4096);

			if (!n)
				goto fail;
			buf = n;
			cap = cap ? cap * 2 : 4096;
		}
		size_t got = fread(buf + len, 1, cap - len, f);

		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	/* Exactly len bytes (one byte allocated for an empty input, none of it readable as data). */
	uint8_t *exact = malloc(len ? len : 1);

	if (!exact) {
		free(buf);
		return NULL;
	}
	memcpy(exact, buf, len);
	free(buf);
	*size = len;
	return exact;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

static int run_one(const char *path)
{
	size_t size = 0;
	uint8_t *data = read_input(path, &size);

	if (!data) {
		fprintf(stderr, "fuzz_replay: %s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	if (verbose)
		fprintf(stderr, "fuzz_replay: running %s (%zu bytes)\n", path, size);
	current = path;
	LLVMFuzzerTestOneInput(data, size);
	free(data);
#ifdef REPLAY_LSAN
	if (!leaked && __lsan_do_recoverable_leak_check()) { /* the first leak only: it stays */
		fprintf(stderr, "fuzz_replay: leak in input %s\n", path);
		leaked = true;
	}
#endif
	current = NULL;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file directly in dir, in name order; returns how many ran, -1 on an error. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	long ran = 0;
	struct dirent *e;

	if (!d) {
		fprintf(stderr, "fuzz_replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *path;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			ran = -1;
			break;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (!grown) {
				free(path);
				ran = -1;
				break;
			}
			names = grown;
		}
		names[n++] = path;
	}
	closedir(d);
	if (ran == 0) {
		qsort(names, n, sizeof(*names), by_name);
		for (size_t i = 0; i < n && ran >= 0; i++)
			ran = run_one(names[i]) == 0 ? ran + 1 : -1;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	const char *v = getenv("FUZZ_REPLAY_VERBOSE");
	long total = 0;
	int status = 0;

	verbose = v && *v && strcmp(v, "0") != 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	signal(SIGABRT, on_abort);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		const char *path = argv[i];
		struct stat st;
		struct timespec t0, t1;
		long ran;

		if (stat(path, &st) != 0) {
			fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
			status = 1;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (S_ISDIR(st.st_mode))
			ran = run_dir(path);
		else
			ran = run_one(path) == 0 ? 1 : -1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (ran < 0) {
			status = 1;
			continue;
		}
		printf("fuzz_replay: %ld input%s in %.3f s from %s\n", ran, ran == 1 ? "" : "s",
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, path);
		if (ran == 0) {
			fprintf(stderr, "fuzz_replay: %s holds no inputs\n", path);
			status = 1;
		}
		total += ran;
	}
	if (leaked)
		status = 1;
	printf("fuzz_replay: %ld input%s in all%s\n", total, total == 1 ? "" : "s",
	       status ? ", with errors" : "");
	return status;
}
