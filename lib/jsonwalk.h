/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON documents checked against a schema written as C: text in through cJSON (refusing
 * what JSON forbids and cJSON lets through), then a walk of the tree with one field table per
 * object. Each table names its fields, which are required, and a handler; the walk refuses unknown
 * and duplicate members first, then missing ones, then runs handlers in table order, so the first
 * error reported does not depend on member order. The walker carries the field path
 * ("peers[0].allowed_ips[1]") and every error message starts with it ("<path>: <why>", or
 * "top level: <why>"); a JSON syntax error names line and column instead. Typed getters check a
 * value and say what was expected and what was found.
 *
 * Every function that can fail returns 0, -EINVAL or -ENOMEM, having written the message; a
 * handler returns what its getters returned. On error the walk stops and leaves the path at the
 * failing value (no need to pop it). Nothing here knows any particular schema.
 */
#ifndef MG_JSONWALK_H
#define MG_JSONWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define JSONWALK_QUOTE_MAX 80    /* a user's string in a message, with its quotes and NUL */
#define JSONWALK_STRING_MAX 4096 /* the longest string a getter takes */
#define JSONWALK_FIELDS_MAX 32   /* fields in one table */

struct jsonwalk {
	char *err;      /* the message; may be NULL */
	size_t errlen;
	char path[256]; /* cut short (not overrun) when deeper */
	size_t plen;
};

struct jsonwalk_field {
	const char *name;
	bool required;
	/* v is the member's value; obj what jsonwalk_object was given. */
	int (*parse)(struct jsonwalk *w, const struct cJSON *v, void *obj);
};

/* An element of an array: index i, value v; arg what jsonwalk_elements was given. */
typedef int jsonwalk_element_fn(struct jsonwalk *w, const struct cJSON *v, size_t i, void *arg);

/* Starts a walk at the top level; err (errlen bytes, may be NULL/0) is set to "". */
void jsonwalk_init(struct jsonwalk *w, char *err, size_t errlen);

/*
 * Parses len bytes (need not be NUL-terminated; a trailing NUL counted in len is dropped) into
 * *root: one JSON value, only whitespace around it, no control characters and no "\u0000" (which
 * would cut a C string short). *root is NULL on error; free it with jsonwalk_free_tree.
 */
int jsonwalk_parse(struct jsonwalk *w, const char *json, size_t len, struct cJSON **root);
/* Wipes every string in the tree (it may hold secrets), then frees it. NULL is fine. */
void jsonwalk_free_tree(struct cJSON *root);

/* "<path>: <fmt...>"; always -EINVAL. */
__attribute__((format(printf, 2, 3)))
int jsonwalk_fail(struct jsonwalk *w, const char *fmt, ...);
/* "<path>: out of memory"; -ENOMEM. */
int jsonwalk_fail_nomem(struct jsonwalk *w);
/* "<path>: "<value>": <why>", the value quoted as jsonwalk_quote does; -EINVAL. */
int jsonwalk_fail_value(struct jsonwalk *w, const char *value, const char *why);
/* A user's string for a message: in quotes, bytes outside printable ASCII and '"', '\' as \xNN,
 * cut with "..." when long. Returns buf. */
const char *jsonwalk_quote(char buf[JSONWALK_QUOTE_MAX], const char *s);

/* The path: append ".name" (sanitised like a quoted value) or "[i]"; each returns the length to
 * give jsonwalk_path_pop to go back. */
size_t jsonwalk_path_field(struct jsonwalk *w, const char *name);
size_t jsonwalk_path_index(struct jsonwalk *w, size_t i);
void jsonwalk_path_pop(struct jsonwalk *w, size_t mark);

/* A non-empty string of at most JSONWALK_STRING_MAX bytes (*out points into the tree). */
int jsonwalk_string(struct jsonwalk *w, const struct cJSON *v, const char **out);
/* The same, malloc'd. */
/* A JSON true or false. */
int jsonwalk_bool(struct jsonwalk *w, const struct cJSON *v, bool *out);
int jsonwalk_strdup(struct jsonwalk *w, const struct cJSON *v, char **out);
/* An integer min..max (a JSON number without fraction). */
int jsonwalk_uint(struct jsonwalk *w, const struct cJSON *v, unsigned long min, unsigned long max,
		  unsigned long *out);
/* A string equal to one of names[0..n); *out its index. expect: the message when it is none. */
int jsonwalk_choice(struct jsonwalk *w, const struct cJSON *v, const char *const *names, size_t n,
		    const char *expect, int *out);
/* An array of min..max elements; *n its size. */
int jsonwalk_array(struct jsonwalk *w, const struct cJSON *v, size_t min, size_t max, size_t *n);

/* An object whose members are fields[0..n) (n <= JSONWALK_FIELDS_MAX), handled in table order. */
int jsonwalk_object(struct jsonwalk *w, const struct cJSON *v, const struct jsonwalk_field *fields,
		    size_t n, void *obj);
/* each on every element of the array v in order, with "[i]" on the path; stops at an error. */
int jsonwalk_elements(struct jsonwalk *w, const struct cJSON *v, jsonwalk_element_fn *each,
		      void *arg);

#endif
