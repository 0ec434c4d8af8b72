/* SPDX-License-Identifier: MIT */
/*
 * The JSON schema walker: strict text into cJSON's tree, then field tables, typed getters and the
 * field path for messages. See jsonwalk.h for the contract.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "jsonwalk.h"

void jsonwalk_init(struct jsonwalk *w, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->err = err;
	w->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
}

/* --- error messages and field paths --- */

int jsonwalk_fail(struct jsonwalk *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!w->err || w->errlen == 0)
		return -EINVAL;
	n = snprintf(w->err, w->errlen, "%s: ", w->plen ? w->path : "top level");
	if (n >= 0 && (size_t)n < w->errlen) {
		va_start(ap, fmt);
		vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int jsonwalk_fail_nomem(struct jsonwalk *w)
{
	jsonwalk_fail(w, "out of memory");
	return -ENOMEM;
}

const char *jsonwalk_quote(char buf[JSONWALK_QUOTE_MAX], const char *s)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s && o < JSONWALK_QUOTE_MAX - 10; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
	}
	if (*s) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

int jsonwalk_fail_value(struct jsonwalk *w, const char *value, const char *why)
{
	char q[JSONWALK_QUOTE_MAX];

	return jsonwalk_fail(w, "%s: %s", jsonwalk_quote(q, value), why);
}

/* Advances the path by what snprintf wrote (clamped when cut short). */
static void path_grow(struct jsonwalk *w, int n)
{
	if (n > 0)
		w->plen = w->plen + (size_t)n < sizeof(w->path) ? w->plen + (size_t)n :
			  sizeof(w->path) - 1;
}

/* Names may come from the user: sanitised. */
size_t jsonwalk_path_field(struct jsonwalk *w, const char *name)
{
	size_t old = w->plen;
	char q[JSONWALK_QUOTE_MAX];

	jsonwalk_quote(q, name);
	q[strlen(q) - 1] = '\0'; /* without the quotes */
	path_grow(w, snprintf(w->path + old, sizeof(w->path) - old, "%s%s", old ? "." : "", q + 1));
	return old;
}

size_t jsonwalk_path_index(struct jsonwalk *w, size_t i)
{
	size_t old = w->plen;

	path_grow(w, snprintf(w->path + old, sizeof(w->path) - old, "[%zu]", i));
	return old;
}

void jsonwalk_path_pop(struct jsonwalk *w, size_t mark)
{
	w->plen = mark;
	w->path[mark] = '\0';
}

/* --- typed values --- */

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "something else";
}

static int fail_type(struct jsonwalk *w, const cJSON *v, const char *want)
{
	return jsonwalk_fail(w, "expected %s, got %s", want, type_name(v));
}

int jsonwalk_string(struct jsonwalk *w, const cJSON *v, const char **out)
{
	if (!cJSON_IsString(v) || !v->valuestring)
		return fail_type(w, v, "a string");
	if (v->valuestring[0] == '\0')
		return jsonwalk_fail(w, "empty string");
	if (strnlen(v->valuestring, JSONWALK_STRING_MAX + 1) > JSONWALK_STRING_MAX)
		return jsonwalk_fail(w, "longer than %d bytes", JSONWALK_STRING_MAX);
	*out = v->valuestring;
	return 0;
}

int jsonwalk_bool(struct jsonwalk *w, const cJSON *v, bool *out)
{
	if (!cJSON_IsBool(v))
		return fail_type(w, v, "true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

int jsonwalk_strdup(struct jsonwalk *w, const cJSON *v, char **out)
{
	const char *s;
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	*out = strdup(s);
	return *out ? 0 : jsonwalk_fail_nomem(w);
}

/* JSON has only doubles: an integer is a number in range with no fraction. */
int jsonwalk_uint(struct jsonwalk *w, const cJSON *v, unsigned long min, unsigned long max,
		  unsigned long *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return fail_type(w, v, "an integer");
	d = v->valuedouble;
	if (!(d >= (double)min && d <= (double)max))
		return jsonwalk_fail(w, "%g out of range %lu..%lu", d, min, max);
	if (d != (double)(unsigned long)d)
		return jsonwalk_fail(w, "%g is not an integer", d);
	*out = (unsigned long)d;
	return 0;
}

int jsonwalk_choice(struct jsonwalk *w, const cJSON *v, const char *const *names, size_t n,
		    const char *expect, int *out)
{
	const char *s;
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	return jsonwalk_fail_value(w, s, expect);
}

int jsonwalk_array(struct jsonwalk *w, const cJSON *v, size_t min, size_t max, size_t *n)
{
	if (!cJSON_IsArray(v))
		return fail_type(w, v, "an array");
	*n = (size_t)cJSON_GetArraySize(v);
	if (*n < min)
		return jsonwalk_fail(w, "needs at least %zu element(s)", min);
	if (*n > max)
		return jsonwalk_fail(w, "more than %zu elements", max);
	return 0;
}

/* --- walking objects and arrays --- */

static int check_members(struct jsonwalk *w, const cJSON *o, const struct jsonwalk_field *f,
			 size_t n, uint32_t *seen)
{
	const cJSON *m;
	size_t i;

	cJSON_ArrayForEach(m, o) {
		for (i = 0; i < n && strcmp(m->string, f[i].name) != 0; i++)
			;
		if (i < n && !(*seen & (1u << i))) {
			*seen |= 1u << i;
			continue;
		}
		jsonwalk_path_field(w, m->string);
		if (i < n)
			return jsonwalk_fail(w, "duplicate field");
		/* Listing the known names turns a typo into an obvious fix. */
		jsonwalk_fail(w, "unknown field; expected one of:");
		for (i = 0; i < n && w->err && w->errlen; i++) {
			size_t used = strlen(w->err);

			snprintf(w->err + used, w->errlen - used, "%s %s", i ? "," : "", f[i].name);
		}
		return -EINVAL;
	}
	return 0;
}

int jsonwalk_object(struct jsonwalk *w, const cJSON *o, const struct jsonwalk_field *f, size_t n,
		    void *obj)
{
	uint32_t seen = 0;
	size_t mark;
	int ret;

	if (n > JSONWALK_FIELDS_MAX)
		return jsonwalk_fail(w, "schema error: more than %d fields", JSONWALK_FIELDS_MAX);
	if (!cJSON_IsObject(o))
		return fail_type(w, o, "an object");
	ret = check_members(w, o, f, n, &seen);
	for (size_t i = 0; i < n && !ret; i++) {
		if (!(seen & (1u << i))) {
			if (f[i].required) {
				jsonwalk_path_field(w, f[i].name);
				ret = jsonwalk_fail(w, "missing (required)");
			}
			continue;
		}
		mark = jsonwalk_path_field(w, f[i].name);
		ret = f[i].parse(w, cJSON_GetObjectItemCaseSensitive(o, f[i].name), obj);
		if (!ret)
			jsonwalk_path_pop(w, mark);
	}
	return ret;
}

int jsonwalk_elements(struct jsonwalk *w, const cJSON *v, jsonwalk_element_fn *each, void *arg)
{
	const cJSON *e;
	size_t i = 0;

	if (!cJSON_IsArray(v))
		return fail_type(w, v, "an array");
	cJSON_ArrayForEach(e, v) {
		size_t mark = jsonwalk_path_index(w, i);
		int ret = each(w, e, i++, arg);

		if (ret)
			return ret;
		jsonwalk_path_pop(w, mark);
	}
	return 0;
}

/* --- JSON text --- */

/*
 * cJSON accepts what JSON forbids and C strings cannot hold: raw control characters (skipped as
 * whitespace, or kept inside strings) and "\u0000", which cuts a string short so that
 * "10.0.0.1\u0000junk" would pass as "10.0.0.1". Returns the offset of the first such, or len.
 */
static size_t find_bad_byte(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 && (in_string || (ch != '\t' && ch != '\n' && ch != '\r')))
			return i;
		if (!in_string) {
			in_string = ch == '"';
		} else if (ch == '"') {
			in_string = false;
		} else if (ch == '\\' && i + 1 < len) {
			if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
				return i;
			i++; /* the escaped character: never a quote that ends the string */
		}
	}
	return len;
}

static int fail_syntax(struct jsonwalk *w, const char *json, size_t off, const char *why)
{
	unsigned int line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		col++;
		if (json[i] == '\n') {
			line++;
			col = 1;
		}
	}
	/* Not a field's fault: no path. */
	if (w->err && w->errlen)
		snprintf(w->err, w->errlen, "JSON syntax error at line %u column %u: %s", line, col,
			 why);
	return -EINVAL;
}

int jsonwalk_parse(struct jsonwalk *w, const char *json, size_t len, cJSON **root)
{
	const char *end = NULL;
	size_t off;

	*root = NULL;
	if (json && len > 0 && json[len - 1] == '\0')
		len--; /* a caller counting the terminator */
	if (!json || len == 0)
		return jsonwalk_fail(w, "empty (no JSON value)");
	for (off = 0; off < len && memchr(" \t\r\n", json[off], 4); off++)
		;
	if (off == len)
		return jsonwalk_fail(w, "empty (no JSON value)");
	off = find_bad_byte(json, len);
	if (off < len)
		return fail_syntax(w, json, off, "control character or \\u0000");
	*root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
	if (!*root)
		return fail_syntax(w, json, off, "invalid JSON");
	while (off < len && memchr(" \t\r\n", json[off], 4))
		off++;
	if (off < len) {
		cJSON_Delete(*root);
		*root = NULL;
		return fail_syntax(w, json, off, "trailing content after the top-level value");
	}
	return 0;
}

static void wipe_tree(cJSON *n)
{
	for (; n; n = n->next) {
		if (n->valuestring)
			sodium_memzero(n->valuestring, strlen(n->valuestring));
		wipe_tree(n->child);
	}
}

void jsonwalk_free_tree(cJSON *root)
{
	wipe_tree(root);
	cJSON_Delete(root);
}
