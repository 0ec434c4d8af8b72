/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

unsigned long test_checks_passed, test_checks_failed;

int test_done(const char *name)
{
	printf("%s: %lu checks passed, %lu failed\n", name, test_checks_passed, test_checks_failed);
	if (test_checks_passed + test_checks_failed == 0) {
		printf("%s: no checks ran\n", name);
		return 1;
	}
	return test_checks_failed ? 1 : 0;
}

void test_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	exit(77);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

cJSON *test_load_json(const char *relpath, char *where, size_t wherelen)
{
	const char *dirs[] = { getenv("MG_VECTORS"), getenv("MG_SHARED_VECTORS") };
	size_t off = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[4096];
		size_t len;
		char *text;
		cJSON *json;

		if (!dirs[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirs[i], relpath);
		if (where && off < wherelen)
			off += (size_t)snprintf(where + off, wherelen - off, "%s%s", off ? ", " : "", path);
		text = slurp(path, &len);
		if (!text)
			continue;
		json = cJSON_ParseWithLength(text, len);
		free(text);
		if (!json) {
			fprintf(stderr, "%s: not valid JSON\n", path);
			return NULL;
		}
		return json;
	}
	return NULL;
}

cJSON *test_load_json_or_skip(const char *relpath)
{
	char where[8192] = "MG_VECTORS/MG_SHARED_VECTORS unset";
	cJSON *j = test_load_json(relpath, where, sizeof(where));
	char msg[9000];

	if (j)
		return j;
	snprintf(msg, sizeof(msg), "%s not present (looked in: %s); its tests are skipped", relpath, where);
	test_skip(msg);
}

cJSON *test_load_json_required(const char *relpath)
{
	char where[8192] = "MG_VECTORS/MG_SHARED_VECTORS unset";
	cJSON *j = test_load_json(relpath, where, sizeof(where));

	if (!j) {
		fprintf(stderr, "FAIL: required vector file %s missing (looked in: %s)\n", relpath, where);
		exit(1);
	}
	return j;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int test_hex(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = strlen(hex);

	*out = malloc(n / 2 + 1);
	*len = 0;
	if (!*out)
		return -1;
	if (n % 2)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		(*out)[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

int test_hex_fixed(const char *hex, uint8_t *out, size_t n)
{
	uint8_t *buf;
	size_t len;
	int ret = test_hex(hex, &buf, &len);

	if (ret == 0 && len == n)
		memcpy(out, buf, n);
	else
		ret = -1;
	free(buf);
	return ret;
}

const char *test_str(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : "";
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void test_rng_seed(struct test_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++) { /* splitmix64 */
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		r->s[i] = z ^ (z >> 31);
	}
}

uint64_t test_rng_next(struct test_rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

void test_rng_bytes(struct test_rng *r, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		uint64_t v = test_rng_next(r);
		size_t k = n < 8 ? n : 8;

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}
