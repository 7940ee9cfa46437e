#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"

/*
 * cJSON 1.7.15 alone cuts strings at \u0000, keeps duplicate members and
 * accepts a BOM, bad UTF-8, 01, 1., 1e400 and more. So one iterative pass
 * checks the RFC 8259 grammar first; cJSON then builds the tree, which is
 * checked for non-finite numbers and duplicate names.
 */

/* cJSON converts at most 63 bytes of a number; a longer one it would cut. */
#define NUMBER_MAX 63

struct scan {
	const unsigned char *p;
	const unsigned char *end;
	size_t members;		/* total member count: bounds any one object */
};

static void
skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
is_digit(const struct scan *s)
{
	return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* One character of s (n > 0 bytes) into *cp; returns the bytes used. A
 * sequence that is not well-formed UTF-8 (RFC 3629 section 4: overlong,
 * a UTF-16 surrogate, past U+10FFFF, cut short) is one byte, U+FFFD. */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		goto bad;
	}
	if (len > n)
		goto bad;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return len;
bad:
	*cp = 0xfffd;
	return 1;
}

/* One well-formed UTF-8 sequence of 2-4 bytes at s->p (a byte >= 0x80). */
static int
scan_utf8(struct scan *s)
{
	uint32_t c;
	size_t n = utf8_next(s->p, (size_t)(s->end - s->p), &c);

	if (n == 1)
		return -1;
	s->p += n;
	return 0;
}

/* The 4 hex digits after "\u"; s->p is at the backslash. */
static int
scan_u_escape(struct scan *s, unsigned *u)
{
	int i;
	unsigned c;

	if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u')
		return -1;
	*u = 0;
	for (i = 2; i < 6; i++) {
		c = s->p[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return -1;
		*u = *u << 4 | c;
	}
	s->p += 6;
	return 0;
}

static int
scan_string(struct scan *s)
{
	unsigned u, lo;

	s->p++;			/* opening quote */
	for (;;) {
		if (s->p >= s->end || *s->p < 0x20)
			return -1;
		if (*s->p == '"') {
			s->p++;
			return 0;
		}
		if (*s->p >= 0x80) {
			if (scan_utf8(s) != 0)
				return -1;
			continue;
		}
		if (*s->p != '\\') {
			s->p++;
			continue;
		}
		if (s->end - s->p < 2)
			return -1;
		if (s->p[1] != 'u') {
			if (memchr("\"\\/bfnrt", s->p[1], 8) == NULL)
				return -1;
			s->p += 2;
			continue;
		}
		if (scan_u_escape(s, &u) != 0 || u == 0)
			return -1;
		if (u >= 0xdc00 && u <= 0xdfff)
			return -1;	/* lone low surrogate */
		if (u >= 0xd800 && u <= 0xdbff &&
		    (scan_u_escape(s, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff))
			return -1;	/* high surrogate without its low half */
	}
}

/* -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static int
scan_number(struct scan *s)
{
	const unsigned char *start = s->p;

	if (*s->p == '-')
		s->p++;
	if (!is_digit(s))
		return -1;
	if (*s->p++ != '0')
		while (is_digit(s))
			s->p++;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!is_digit(s))
			return -1;
		while (is_digit(s))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!is_digit(s))
			return -1;
		while (is_digit(s))
			s->p++;
	}
	return s->p - start > NUMBER_MAX ? -1 : 0;
}

static int
scan_literal(struct scan *s)
{
	static const char *const lits[] = {"true", "false", "null"};
	size_t i, n;

	for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		n = strlen(lits[i]);
		if ((size_t)(s->end - s->p) >= n && memcmp(s->p, lits[i], n) == 0) {
			s->p += n;
			return 0;
		}
	}
	return -1;
}

/*
 * The whole buffer is one value and optional whitespace. Iterative: the
 * stack holds the open containers ('{' or '['), at most PJ_JSON_MAX_DEPTH.
 */
static int
scan_document(struct scan *s)
{
	unsigned char stack[PJ_JSON_MAX_DEPTH];
	size_t depth = 0;
	int key;		/* a member name is expected, not a value */

	key = 0;
	for (;;) {
		skip_ws(s);
		if (s->p >= s->end)
			return -1;
		if (key) {
			if (*s->p != '"' || scan_string(s) != 0)
				return -1;
			s->members++;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return -1;
			s->p++;
			key = 0;
			continue;
		}
		switch (*s->p) {
		case '{':
		case '[':
			if (depth == PJ_JSON_MAX_DEPTH)
				return -1;
			stack[depth++] = *s->p++;
			skip_ws(s);
			if (s->p < s->end && *s->p == stack[depth - 1] + 2) {
				/* empty: '{' + 2 == '}', '[' + 2 == ']' */
				s->p++;
				depth--;
				break;
			}
			key = stack[depth - 1] == '{';
			continue;
		case '"':
			if (scan_string(s) != 0)
				return -1;
			break;
		case 't':
		case 'f':
		case 'n':
			if (scan_literal(s) != 0)
				return -1;
			break;
		default:
			if (scan_number(s) != 0)
				return -1;
			break;
		}
		/* A value ended: close containers, or go on after a comma. */
		for (;;) {
			skip_ws(s);
			if (depth == 0)
				return s->p == s->end ? 0 : -1;
			if (s->p >= s->end)
				return -1;
			if (*s->p == stack[depth - 1] + 2) {
				s->p++;
				depth--;
				continue;
			}
			if (*s->p != ',')
				return -1;
			s->p++;
			key = stack[depth - 1] == '{';
			break;
		}
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The walk over cJSON's tree, in document order, with a cursor into the
 * validated text so that each number gets its own JSON text back. */
struct walk {
	const char **names;	/* room for the largest object */
	const char *cur, *end;
};

/* The next number's text from w->cur: digits occur only in numbers and
 * strings (the literals have none), so skip strings and take the run. */
static int
next_number_text(struct walk *w, char **text)
{
	const char *p = w->cur, *q;

	while (p < w->end && *p != '-' && (*p < '0' || *p > '9')) {
		if (*p == '"') {
			for (p++; p < w->end && *p != '"'; p++)
				if (*p == '\\')
					p++;
		}
		p++;
	}
	for (q = p; q < w->end && strchr("0123456789+-.eE", *q) != NULL && *q != '\0'; q++)
		;
	if (p >= w->end || (*text = strndup(p, (size_t)(q - p))) == NULL)
		return PJ_ERR_NOMEM;
	w->cur = q;
	return 0;
}

/*
 * Every number finite, with its own text kept; no two members of one
 * object with the same name (sorted, so O(n log n)). Recursion is bounded
 * by PJ_JSON_MAX_DEPTH, already enforced.
 */
static int
check_tree(cJSON *item, struct walk *w)
{
	cJSON *c;
	size_t n = 0, i;
	int r;

	if (cJSON_IsNumber(item)) {
		if (!isfinite(item->valuedouble))
			return PJ_ERR_MALFORMED;
		return next_number_text(w, &item->valuestring);
	}
	if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
		return 0;
	if (cJSON_IsObject(item)) {
		for (c = item->child; c != NULL; c = c->next) {
			if (c->string == NULL)
				return PJ_ERR_MALFORMED;
			w->names[n++] = c->string;
		}
		qsort(w->names, n, sizeof(*w->names), cmp_names);
		for (i = 1; i < n; i++)
			if (strcmp(w->names[i - 1], w->names[i]) == 0)
				return PJ_ERR_MALFORMED;
	}
	for (c = item->child; c != NULL; c = c->next)
		if ((r = check_tree(c, w)) != 0)
			return r;
	return 0;
}

int
pj_json_parse(const char *buf, size_t len, int want_object, cJSON **out)
{
	struct scan s;
	const char **names = NULL;
	char *copy = NULL;
	cJSON *root = NULL;
	int r = PJ_ERR_INTERNAL;

	*out = NULL;
	if (buf == NULL) {
		r = PJ_ERR_MALFORMED;
		goto out;
	}
	s.p = (const unsigned char *)buf;
	s.end = s.p + len;
	s.members = 0;
	if (scan_document(&s) != 0) {
		r = PJ_ERR_MALFORMED;
		goto out;
	}
	if (want_object) {
		/* Valid JSON, so the first non-whitespace byte names the type. */
		s.p = (const unsigned char *)buf;
		skip_ws(&s);
		if (*s.p != '{') {
			r = PJ_ERR_MALFORMED;
			goto out;
		}
	}
	/* cJSON wants a NUL after the value to require nothing else follows. */
	if ((copy = malloc(len + 1)) == NULL ||
	    (names = calloc(s.members + 1, sizeof(*names))) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	/* The grammar is already checked: cJSON can now only run out of memory. */
	if ((root = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1)) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	{
		struct walk w = {names, copy, copy + len};

		if ((r = check_tree(root, &w)) != 0)
			goto out;
	}
	*out = root;
	root = NULL;
	r = 0;
out:
	cJSON_Delete(root);
	free(names);
	free(copy);
	return r;
}

const cJSON *
pj_json_get(const cJSON *obj, const char *name)
{
	if (!cJSON_IsObject(obj) || name == NULL)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

const char *
pj_json_get_string(const cJSON *obj, const char *name)
{
	return cJSON_GetStringValue(pj_json_get(obj, name));
}

/*
 * JSON in ASCII only, so that no control or bidirectional character of a
 * token reaches a terminal or a log: every character outside 0x20-0x7e is
 * written \uXXXX (a surrogate pair above U+FFFF). Bytes that are not UTF-8
 * (never from a token: pj_json_parse refuses them, but a path or an argument
 * may hold them) are written U+FFFD, so the output is RFC 8259 whatever the
 * input.
 */

void
pj_json_print_string(FILE *f, const char *s)
{
	size_t n = strlen(s), i = 0;
	uint32_t c;

	fputc('"', f);
	while (i < n) {
		i += utf8_next((const unsigned char *)s + i, n - i, &c);
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", (int)c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c >= 0x20 && c < 0x7f)
			fputc((int)c, f);
		else if (c > 0xffff)
			fprintf(f, "\\u%04x\\u%04x", (unsigned)(0xd800 + ((c - 0x10000) >> 10)),
			    (unsigned)(0xdc00 + ((c - 0x10000) & 0x3ff)));
		else
			fprintf(f, "\\u%04x", (unsigned)c);
	}
	fputc('"', f);
}

/* The shortest of %.15g and %.17g that reads back the same; null when not
 * finite (JSON has no such number). */
void
pj_json_print_double(FILE *f, double d)
{
	char b[40];

	if (!isfinite(d)) {
		fputs("null", f);
		return;
	}
	snprintf(b, sizeof(b), "%.15g", d);
	if (strtod(b, NULL) != d)
		snprintf(b, sizeof(b), "%.17g", d);
	fputs(b, f);
}

/* A number as the token wrote it (pj_json_parse keeps the text, so 1.0
 * stays 1.0), else as a double. */
static void
put_number(FILE *f, const cJSON *v)
{
	const char *t = v->valuestring;

	if (t != NULL && t[0] != '\0' && strspn(t, "0123456789+-.eE") == strlen(t))
		fputs(t, f);
	else
		pj_json_print_double(f, v->valuedouble);
}

static void
put_indent(FILE *f, int depth)
{
	for (int i = 0; i < depth; i++)
		fputs("  ", f);
}

/* Any value; indented by two spaces a level when pretty. Depth is bounded
 * by the parser (PJ_JSON_MAX_DEPTH). */
static void
put_value(FILE *f, const cJSON *v, int depth, int pretty)
{
	const cJSON *c;
	int obj;

	if (v == NULL || cJSON_IsNull(v)) {
		fputs("null", f);
	} else if (cJSON_IsString(v) && v->valuestring != NULL) {
		pj_json_print_string(f, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		put_number(f, v);
	} else if (cJSON_IsBool(v)) {
		fputs(cJSON_IsTrue(v) ? "true" : "false", f);
	} else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		obj = cJSON_IsObject(v);
		fputc(obj ? '{' : '[', f);
		for (c = v->child; c != NULL; c = c->next) {
			if (pretty) {
				fputc('\n', f);
				put_indent(f, depth + 1);
			}
			if (obj) {
				pj_json_print_string(f, c->string != NULL ? c->string : "");
				fputs(pretty ? ": " : ":", f);
			}
			put_value(f, c, depth + 1, pretty);
			if (c->next != NULL)
				fputc(',', f);
		}
		if (pretty && v->child != NULL) {
			fputc('\n', f);
			put_indent(f, depth);
		}
		fputc(obj ? '}' : ']', f);
	} else {
		fputs("null", f);
	}
}

void
pj_json_print(FILE *f, const cJSON *v, int pretty)
{
	put_value(f, v, 0, pretty);
}
