/* SPDX-License-Identifier: MIT */
/*
 * The JSON schema walker (lib/jsonwalk.c) on a small schema of its own, not meshgate's: a table of
 * documents, each with the exact message it must give (or the values it must fill), covering the
 * walk's order (unknown and duplicate members before missing ones, handlers in table order,
 * whatever the members' order), the field path through objects and arrays, every typed getter's
 * words, strict JSON text, quoting of user strings, and messages cut short by small buffers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "jsonwalk.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The schema: {"name": string, "count": 1..10, "mode": "a"|"b", "tags": [string, ...] (0..3),
 * "inner": {"x": 0..65535 (required), "y": string}, "list": [{"x": ...}, ...]}; name required. */
struct inner {
	unsigned long x;
	char *y;
};

struct doc {
	char *name;
	unsigned long count;
	int mode;
	char *tags[3];
	size_t n_tags;
	struct inner inner;
	struct inner list[4];
	size_t n_list;
	char order[16]; /* the handlers that ran, in order */
};

static void ran(struct doc *d, char c)
{
	size_t n = strlen(d->order);

	if (n + 1 < sizeof(d->order))
		d->order[n] = c;
}

static int h_x(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return jsonwalk_uint(w, v, 0, 65535, &((struct inner *)obj)->x);
}

static int h_y(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return jsonwalk_strdup(w, v, &((struct inner *)obj)->y);
}

static const struct jsonwalk_field inner_fields[] = {
	{ "x", true, h_x },
	{ "y", false, h_y },
};

static int h_name(struct jsonwalk *w, const cJSON *v, void *obj)
{
	ran(obj, 'n');
	return jsonwalk_strdup(w, v, &((struct doc *)obj)->name);
}

static int h_count(struct jsonwalk *w, const cJSON *v, void *obj)
{
	ran(obj, 'c');
	return jsonwalk_uint(w, v, 1, 10, &((struct doc *)obj)->count);
}

static int h_mode(struct jsonwalk *w, const cJSON *v, void *obj)
{
	static const char *const modes[] = { "a", "b" };

	ran(obj, 'm');
	return jsonwalk_choice(w, v, modes, 2, "expected \"a\" or \"b\"",
			       &((struct doc *)obj)->mode);
}

static int tag(struct jsonwalk *w, const cJSON *v, size_t i, void *arg)
{
	return jsonwalk_strdup(w, v, &((char **)arg)[i]);
}

static int h_tags(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct doc *d = obj;
	int ret;

	ran(obj, 't');
	ret = jsonwalk_array(w, v, 0, 3, &d->n_tags);
	return ret ? ret : jsonwalk_elements(w, v, tag, d->tags);
}

static int h_inner(struct jsonwalk *w, const cJSON *v, void *obj)
{
	ran(obj, 'i');
	return jsonwalk_object(w, v, inner_fields, ARRAY_SIZE(inner_fields),
			       &((struct doc *)obj)->inner);
}

static int list_item(struct jsonwalk *w, const cJSON *v, size_t i, void *arg)
{
	return jsonwalk_object(w, v, inner_fields, ARRAY_SIZE(inner_fields),
			       &((struct inner *)arg)[i]);
}

static int h_list(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct doc *d = obj;
	int ret;

	ran(obj, 'l');
	ret = jsonwalk_array(w, v, 1, 4, &d->n_list);
	return ret ? ret : jsonwalk_elements(w, v, list_item, d->list);
}

static const struct jsonwalk_field doc_fields[] = {
	{ "name", true, h_name },
	{ "count", false, h_count },
	{ "mode", false, h_mode },
	{ "tags", false, h_tags },
	{ "inner", false, h_inner },
	{ "list", false, h_list },
};

static void doc_free(struct doc *d)
{
	free(d->name);
	for (size_t i = 0; i < 3; i++)
		free(d->tags[i]);
	free(d->inner.y);
	for (size_t i = 0; i < 4; i++)
		free(d->list[i].y);
	memset(d, 0, sizeof(*d));
}

/* The whole walk over len bytes of text; err is the message. */
static int walk(const char *text, size_t len, struct doc *d, char *err, size_t errlen)
{
	struct jsonwalk w;
	cJSON *root;
	int ret;

	memset(d, 0, sizeof(*d));
	jsonwalk_init(&w, err, errlen);
	ret = jsonwalk_parse(&w, text, len, &root);
	if (ret)
		return ret;
	ret = jsonwalk_object(&w, root, doc_fields, ARRAY_SIZE(doc_fields), d);
	jsonwalk_free_tree(root);
	return ret;
}

static const struct {
	const char *text;
	const char *want; /* the whole message; NULL: accepted */
	const char *order; /* handlers run, when accepted */
} cases[] = {
	{ "{\"name\": \"n\"}", NULL, "n" },
	{ "{\"list\": [{\"x\": 1}], \"mode\": \"b\", \"name\": \"n\", \"count\": 3}", NULL,
	  "ncml" },
	{ "{\"tags\": [], \"name\": \"n\", \"inner\": {\"y\": \"why\", \"x\": 0}}", NULL, "nti" },
	/* the walk's order: unknown or duplicate first, then missing, then handlers in order */
	{ "{}", "name: missing (required)", NULL },
	{ "{\"count\": 0}", "name: missing (required)", NULL },
	{ "{\"count\": 0, \"nmae\": \"n\"}",
	  "nmae: unknown field; expected one of: name, count, mode, tags, inner, list", NULL },
	{ "{\"name\": \"n\", \"name\": \"m\"}", "name: duplicate field", NULL },
	{ "{\"mode\": \"c\", \"count\": 0, \"name\": \"n\"}", "count: 0 out of range 1..10", NULL },
	/* the path */
	{ "{\"name\": \"n\", \"inner\": {}}", "inner.x: missing (required)", NULL },
	{ "{\"name\": \"n\", \"inner\": {\"x\": 1, \"z\": 2}}",
	  "inner.z: unknown field; expected one of: x, y", NULL },
	{ "{\"name\": \"n\", \"list\": [{\"x\": 1}, {\"x\": 1, \"y\": 5}]}",
	  "list[1].y: expected a string, got a number", NULL },
	{ "{\"name\": \"n\", \"tags\": [\"a\", \"\"]}", "tags[1]: empty string", NULL },
	{ "{\"name\": \"n\", \"b\\\"ad\\u0001\": 1}",
	  "b\\x22ad\\x01: unknown field; expected one of: name, count, mode, tags, inner, list",
	  NULL },
	/* the getters' words */
	{ "[]", "top level: expected an object, got an array", NULL },
	{ "{\"name\": null}", "name: expected a string, got null", NULL },
	{ "{\"name\": true}", "name: expected a string, got a boolean", NULL },
	{ "{\"name\": {}}", "name: expected a string, got an object", NULL },
	{ "{\"name\": \"\"}", "name: empty string", NULL },
	{ "{\"name\": \"n\", \"count\": \"1\"}", "count: expected an integer, got a string", NULL },
	{ "{\"name\": \"n\", \"count\": 11}", "count: 11 out of range 1..10", NULL },
	{ "{\"name\": \"n\", \"count\": -1}", "count: -1 out of range 1..10", NULL },
	{ "{\"name\": \"n\", \"count\": 1.5}", "count: 1.5 is not an integer", NULL },
	{ "{\"name\": \"n\", \"count\": 1e400}", "count: inf out of range 1..10", NULL },
	{ "{\"name\": \"n\", \"mode\": \"A\"}", "mode: \"A\": expected \"a\" or \"b\"", NULL },
	{ "{\"name\": \"n\", \"tags\": {}}", "tags: expected an array, got an object", NULL },
	{ "{\"name\": \"n\", \"tags\": [\"a\", \"b\", \"c\", \"d\"]}", "tags: more than 3 elements",
	  NULL },
	{ "{\"name\": \"n\", \"list\": []}", "list: needs at least 1 element(s)", NULL },
	{ "{\"name\": \"n\", \"inner\": 5}", "inner: expected an object, got a number", NULL },
	/* the text */
	{ "", "top level: empty (no JSON value)", NULL },
	{ " \t\r\n", "top level: empty (no JSON value)", NULL },
	{ "{", "JSON syntax error at line 1 column 1: invalid JSON", NULL }, /* cJSON's place */
	{ "{\n\"name\": x}", "JSON syntax error at line 2 column 9: invalid JSON", NULL },
	{ "{} {}",
	  "JSON syntax error at line 1 column 4: trailing content after the top-level value",
	  NULL },
	{ "{\"name\": \"a\\u0000b\"}",
	  "JSON syntax error at line 1 column 12: control character or \\u0000", NULL },
	{ "{\"name\": \"a\\\\u0000\"}", NULL, "n" }, /* an escaped backslash, then text */
	{ "{\"name\": \"a\tb\"}", "JSON syntax error at line 1 column 12: control character or "
	  "\\u0000", NULL },
	{ "\x01{}", "JSON syntax error at line 1 column 1: control character or \\u0000", NULL },
};

static void test_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[512] = "unset";
		struct doc d;
		int ret = walk(cases[i].text, strlen(cases[i].text), &d, err, sizeof(err));

		if (!cases[i].want) {
			CHECK(ret == 0 && err[0] == '\0', "case %zu refused: %s", i, err);
			CHECK(strcmp(d.order, cases[i].order) == 0, "case %zu: handlers ran as %s",
			      i, d.order);
		} else {
			CHECK(ret == -EINVAL && strcmp(err, cases[i].want) == 0,
			      "case %zu: %d\n  got:    %s\n  wanted: %s", i, ret, err,
			      cases[i].want);
		}
		doc_free(&d);
	}
}

static void test_values(void)
{
	static const char text[] = "{\"name\": \"gw\", \"count\": 10, \"mode\": \"b\","
				   " \"tags\": [\"x\", \"y\"],"
				   " \"list\": [{\"x\": 65535, \"y\": \"z\"}]}\0";
	char err[128];
	struct doc d;

	/* A trailing NUL counted in the length is the caller's terminator, not trailing content. */
	CHECK(walk(text, sizeof(text) - 1, &d, err, sizeof(err)) == 0, "values: %s", err);
	CHECK(d.name && strcmp(d.name, "gw") == 0 && d.count == 10 && d.mode == 1, "scalars");
	CHECK(d.n_tags == 2 && strcmp(d.tags[0], "x") == 0 && strcmp(d.tags[1], "y") == 0, "tags");
	CHECK(d.n_list == 1 && d.list[0].x == 65535 && strcmp(d.list[0].y, "z") == 0, "list");
	doc_free(&d);
	/* Not NUL-terminated: only len bytes are read. */
	CHECK(walk("{\"name\": \"n\"}garbage", 13, &d, err, sizeof(err)) == 0, "counted: %s", err);
	doc_free(&d);
	CHECK(walk(NULL, 0, &d, err, sizeof(err)) == -EINVAL &&
	      strcmp(err, "top level: empty (no JSON value)") == 0, "NULL text: %s", err);
}

/* Messages into buffers of every size: the start of the same words, never an overrun. */
static void test_small_buffers(void)
{
	static const char text[] = "{\"name\": \"n\", \"list\": [{\"x\": 1}, {\"q\": 1}]}";
	static const char want[] = "list[1].q: unknown field; expected one of: x, y";
	struct doc d;

	for (size_t n = 0; n <= sizeof(want) + 1; n++) {
		char buf[sizeof(want) + 8];

		memset(buf, 'Z', sizeof(buf));
		CHECK(walk(text, strlen(text), &d, n ? buf : NULL, n) == -EINVAL, "size %zu", n);
		if (n) {
			size_t got = strlen(buf);

			CHECK(got == (n - 1 < strlen(want) ? n - 1 : strlen(want)) &&
			      strncmp(buf, want, got) == 0 && buf[n] == 'Z',
			      "size %zu: \"%s\"", n, buf);
		}
		doc_free(&d);
	}
}

static void test_quote_and_path(void)
{
	char q[JSONWALK_QUOTE_MAX], long_name[300], err[600], text[400];
	struct jsonwalk w;
	struct doc d;
	size_t mark;

	jsonwalk_quote(q, "a\"b\\c\x7f\xc3\xa9");
	CHECK(strcmp(q, "\"a\\x22b\\x5cc\\x7f\\xc3\\xa9\"") == 0, "quote: %s", q);
	memset(long_name, 'k', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	jsonwalk_quote(q, long_name);
	CHECK(strlen(q) < JSONWALK_QUOTE_MAX && strcmp(q + strlen(q) - 4, "...\"") == 0,
	      "long quote: %s", q);

	jsonwalk_init(&w, err, sizeof(err));
	mark = jsonwalk_path_field(&w, "a");
	jsonwalk_path_index(&w, 12);
	jsonwalk_path_field(&w, "b");
	CHECK(strcmp(w.path, "a[12].b") == 0, "path %s", w.path);
	jsonwalk_path_pop(&w, mark);
	CHECK(w.plen == 0 && w.path[0] == '\0', "popped");
	CHECK(jsonwalk_fail_value(&w, "v", "why") == -EINVAL &&
	      strcmp(err, "top level: \"v\": why") == 0, "fail_value: %s", err);
	CHECK(jsonwalk_fail_nomem(&w) == -ENOMEM && strcmp(err, "top level: out of memory") == 0,
	      "nomem: %s", err);
	/* A path deeper than its buffer is cut, never overrun. */
	for (int i = 0; i < 100; i++)
		jsonwalk_path_field(&w, "deep");
	CHECK(w.plen == sizeof(w.path) - 1 && strlen(w.path) == w.plen, "deep path %zu", w.plen);

	/* An unknown member's name is shown sanitised and cut. */
	snprintf(text, sizeof(text), "{\"%s\": 1}", long_name);
	CHECK(walk(text, strlen(text), &d, err, sizeof(err)) == -EINVAL &&
	      strncmp(err, "kkkk", 4) == 0 && strstr(err, "...: unknown field"), "long name: %s",
	      err);
	doc_free(&d);
}

static int h_any(struct jsonwalk *w, const cJSON *v, void *obj)
{
	(void)w;
	(void)v;
	(void)obj;
	return 0;
}

static void test_table_limit(void)
{
	struct jsonwalk_field many[JSONWALK_FIELDS_MAX + 1];
	char names[JSONWALK_FIELDS_MAX + 1][8], err[128];
	struct jsonwalk w;
	cJSON *root = cJSON_Parse("{\"f32\": 1}");

	for (size_t i = 0; i < ARRAY_SIZE(many); i++) {
		snprintf(names[i], sizeof(names[i]), "f%zu", i);
		many[i] = (struct jsonwalk_field){ names[i], false, h_any };
	}
	jsonwalk_init(&w, err, sizeof(err));
	CHECK(jsonwalk_object(&w, root, many, JSONWALK_FIELDS_MAX, NULL) == -EINVAL &&
	      strstr(err, "f32: unknown field"), "32 fields: %s", err);
	jsonwalk_init(&w, err, sizeof(err));
	CHECK(jsonwalk_object(&w, root, many, JSONWALK_FIELDS_MAX + 1, NULL) == -EINVAL &&
	      strstr(err, "schema error"), "33 fields: %s", err);
	jsonwalk_free_tree(root);
	jsonwalk_free_tree(NULL);
}

int main(void)
{
	test_cases();
	test_values();
	test_small_buffers();
	test_quote_and_path();
	test_table_limit();
	return test_done("jsonwalk");
}
