/* Strict JSON: an RFC 8259 pass that cJSON alone does not make, then cJSON. */
#ifndef PJ_JSON_H
#define PJ_JSON_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define PJ_JSON_MAX_DEPTH 32

/*
 * Parse exactly one JSON value of len bytes (no NUL needed; none allowed
 * inside) into *out. Rejected with PJ_ERR_MALFORMED: anything outside the
 * RFC 8259 grammar (leading zeros, "1.", "+1", trailing commas, comments,
 * trailing data other than JSON whitespace), a byte-order mark, invalid
 * UTF-8 (overlongs, surrogates, > U+10FFFF), an escaped lone surrogate,
 * any \u0000 escape, a raw control character in a string, a number that is
 * not finite as a double (1e400), nesting deeper than PJ_JSON_MAX_DEPTH
 * (the outermost value is level 1), and duplicate member names at any depth
 * (compared after unescaping, case-sensitively). When want_object is set,
 * the top value must be an object. *out is NULL on entry and set only on
 * success; free with cJSON_Delete.
 */
int pj_json_parse(const char *buf, size_t len, int want_object, cJSON **out);

/* For number items, valuestring holds the number's own JSON text (owned by
 * the item; cJSON_Delete frees it), so that a require_claim can tell 1 from
 * 1.0 or 1e0 (pam_jwt(8), OPTIONS). */

/* Case-sensitive member lookup; NULL when obj is not an object or absent. */
const cJSON *pj_json_get(const cJSON *obj, const char *name);
/* The string value of member name, or NULL when absent or not a string. */
const char *pj_json_get_string(const cJSON *obj, const char *name);

/*
 * JSON in ASCII only, for what the programs print: every character outside
 * 0x20-0x7e as \uXXXX (a surrogate pair above U+FFFF), so no control or
 * bidirectional character reaches a terminal or a log; bytes that are not
 * UTF-8 (a path may hold them) as U+FFFD, so the output is RFC 8259
 * whatever the input. Numbers keep the text pj_json_parse kept.
 */
void pj_json_print(FILE *f, const cJSON *v, int pretty);
void pj_json_print_string(FILE *f, const char *s);
/* The shortest of %.15g and %.17g that reads back the same; null when not finite. */
void pj_json_print_double(FILE *f, double d);

#endif
