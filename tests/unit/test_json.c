/* Strict JSON: every rule of pam_jwt(8), VALIDATION, step 1, accept and reject. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "json.h"

static int
parse_len(const char *buf, size_t len, int want_object)
{
	cJSON *j = (cJSON *)(uintptr_t)1;	/* must be NULLed on entry */
	int r;

	r = pj_json_parse(buf, len, want_object, &j);
	if (r == 0)
		assert_non_null(j);
	else
		assert_null(j);
	cJSON_Delete(j);
	return r;
}

static int
parse(const char *s)
{
	return parse_len(s, strlen(s), 0);
}

#define OK(s) assert_int_equal(parse(s), 0)
#define BAD(s) assert_int_equal(parse(s), PJ_ERR_MALFORMED)
#define OK_LEN(s) assert_int_equal(parse_len(s, sizeof(s) - 1, 0), 0)
#define BAD_LEN(s) assert_int_equal(parse_len(s, sizeof(s) - 1, 0), PJ_ERR_MALFORMED)

static void
test_valid_values(void **state)
{
	OK("{}");
	OK("[]");
	OK("{\"a\":1,\"b\":[true,false,null,\"x\",{\"c\":{}}],\"d\":-2.5}");
	OK("\"top string\"");
	OK("42");
	OK("null");
	BAD("");
	BAD("   ");
	BAD("{");
	BAD("[1,2");
	BAD("{\"a\"}");
	BAD("{\"a\":}");
	BAD("{\"a\" 1}");
	BAD("{1:2}");
	BAD("[1 2]");
}

static void
test_want_object(void **state)
{
	cJSON *j = NULL;

	assert_int_equal(pj_json_parse("{\"a\":1}", 7, 1, &j), 0);
	assert_true(cJSON_IsObject(j));
	cJSON_Delete(j);
	assert_int_equal(parse_len(" \n{ } ", 6, 1), 0);
	assert_int_equal(parse_len("[{}]", 4, 1), PJ_ERR_MALFORMED);
	assert_int_equal(parse_len("\"{}\"", 4, 1), PJ_ERR_MALFORMED);
	assert_int_equal(parse_len("1", 1, 1), PJ_ERR_MALFORMED);
	assert_int_equal(parse_len("[]", 2, 0), 0);
}

static void
test_trailing_data(void **state)
{
	OK("{} \t\r\n");
	OK(" \t\r\n{}");
	BAD("{}x");
	BAD("{}{}");
	BAD("{},");
	BAD("1 2");
	BAD("truex");
	/* Only the four JSON whitespace bytes. */
	BAD("{}\v");
	BAD("\f{}");
	BAD("{\xc2\xa0}");
}

static void
test_trailing_commas(void **state)
{
	OK("[1,2]");
	OK("{\"a\":1,\"b\":2}");
	BAD("[1,2,]");
	BAD("{\"a\":1,}");
	BAD("[,1]");
	BAD("{,}");
	BAD("[1,,2]");
}

static void
test_comments_and_quotes(void **state)
{
	OK("{\"a\":\"/* no comment */\"}");
	BAD("{/* c */\"a\":1}");
	BAD("{\"a\":1}// c");
	BAD("{\"a\":1}# c");
	BAD("{'a':1}");
	BAD("['a']");
	BAD("{a:1}");
}

static void
test_literals(void **state)
{
	OK("[true,false,null]");
	BAD("[True]");
	BAD("[FALSE]");
	BAD("[nul]");
	BAD("[tru]");
	BAD("[nulll]");
	BAD("[undefined]");
	BAD("[NaN]");
	BAD("[Infinity]");
	BAD("[-Infinity]");
}

static void
test_numbers(void **state)
{
	OK("[0]");
	OK("[-0]");
	OK("[1.5e10]");
	OK("[1E+2]");
	OK("[1e-2]");
	OK("[-12.034E5]");
	OK("[1e-400]");		/* underflows to 0: finite */
	OK("[1.7976931348623157e308]");
	BAD("[01]");
	BAD("[-01]");
	BAD("[00]");
	BAD("[1.]");
	BAD("[.5]");
	BAD("[+1]");
	BAD("[1e]");
	BAD("[1e+]");
	BAD("[-]");
	BAD("[0x10]");
	BAD("[1.e2]");
	BAD("[- 1]");
}

static void
test_numbers_finite(void **state)
{
	cJSON *j = NULL;

	OK("{\"exp\":1e308}");
	BAD("{\"exp\":1e400}");
	BAD("{\"exp\":-1e400}");
	BAD("[1.8e308]");
	BAD("{\"a\":{\"b\":[1,2,1e999]}}");
	/* cJSON converts the number, not the process locale's strtod alone. */
	assert_int_equal(pj_json_parse("[1.5]", 5, 0, &j), 0);
	assert_true(cJSON_GetArrayItem(j, 0)->valuedouble == 1.5);
	cJSON_Delete(j);
}

static void
test_nul_escape(void **state)
{
	OK("{\"sub\":\"alice\\u0001x\"}");
	OK("{\"alg\\u0041x\":1}");
	/* The exact strings cJSON would cut short. */
	BAD("{\"sub\":\"alice\\u0000x\"}");
	BAD("{\"alg\\u0000x\":\"none\"}");
	BAD("[\"\\u0000\"]");
}

static void
test_embedded_nul(void **state)
{
	OK_LEN("{\"a\":\"b\"}");
	BAD_LEN("{\"a\":\"b\0\"}");
	BAD_LEN("{\"a\":\"b\"}\0");
	BAD_LEN("{\"a\":\0\"b\"}");
	BAD_LEN("\0{}");
}

static void
test_control_chars(void **state)
{
	OK("[\"a\\tb\\nc\\u001f\"]");
	OK("[\"\x7f\"]");
	BAD("[\"a\tb\"]");
	BAD("[\"a\nb\"]");
	BAD("[\"a\x1f\"]");
	BAD("[\"a\x01\"]");
}

static void
test_escapes(void **state)
{
	OK("[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u00E9\"]");
	BAD("[\"\\a\"]");
	BAD("[\"\\x41\"]");
	BAD("[\"\\'\"]");
	BAD("[\"\\0\"]");
	BAD("[\"\\u12\"]");
	BAD("[\"\\u12g4\"]");
	BAD("[\"\\U00e9\"]");
	BAD("[\"abc\\\"]");
	BAD("[\"abc]");
}

static void
test_surrogates(void **state)
{
	OK("[\"\\ud83d\\ude00\"]");
	OK("[\"\\uD83D\\uDE00\"]");
	BAD("[\"\\ud83d\"]");
	BAD("[\"\\ud83dx\"]");
	BAD("[\"\\ud83d\\u0041\"]");
	BAD("[\"\\ud83d\\ud83d\"]");
	BAD("[\"\\ude00\"]");
	BAD("[\"\\ude00\\ud83d\"]");
}

static void
test_utf8(void **state)
{
	cJSON *j = NULL;

	OK("[\"\xc3\xa9\"]");			/* é */
	OK("[\"\xf0\x9f\x98\x80\"]");		/* U+1F600 */
	OK("[\"\xe2\x82\xac \xef\xbf\xbf \xf4\x8f\xbf\xbf\"]");	/* €, U+FFFF, U+10FFFF */
	OK("{\"\xc3\xa9t\xc3\xa9\":1}");
	BAD("[\"\xc0\x80\"]");			/* overlong NUL */
	BAD("[\"\xc1\xbf\"]");			/* overlong */
	BAD("[\"\xe0\x80\xaf\"]");		/* overlong '/' */
	BAD("[\"\xf0\x80\x80\xaf\"]");		/* overlong */
	BAD("[\"\xed\xa0\x80\"]");		/* U+D800 */
	BAD("[\"\xed\xbf\xbf\"]");		/* U+DFFF */
	BAD("[\"\xf4\x90\x80\x80\"]");		/* U+110000 */
	BAD("[\"\xf5\x80\x80\x80\"]");
	BAD("[\"\xff\"]");
	BAD("[\"\x80\"]");			/* lone continuation */
	BAD("[\"\xc3\"]");			/* truncated */
	BAD("[\"\xe2\x82\"]");
	BAD("[\"\xf0\x9f\x98\"]");
	BAD_LEN("[\"\xf0\x9f");			/* truncated at the end */
	BAD("[\"\xc3\x28\"]");			/* bad continuation */
	BAD("{\"\xc3\":1}");			/* in a name too */
	/* The emoji escaped and raw compare equal once unescaped. */
	assert_int_equal(pj_json_parse("[\"\\ud83d\\ude00\"]", 16, 0, &j), 0);
	assert_string_equal(cJSON_GetArrayItem(j, 0)->valuestring,
	    "\xf0\x9f\x98\x80");
	cJSON_Delete(j);
}

static void
test_bom(void **state)
{
	OK("{\"a\":\"\xef\xbb\xbf\"}");		/* U+FEFF inside a string is data */
	BAD("\xef\xbb\xbf{\"a\":1}");
	BAD("\xef\xbb\xbf[]");
	BAD("\xfe\xff{}");
}

static void
test_duplicates(void **state)
{
	OK("{\"sub\":1,\"Sub\":2}");
	OK("{\"a\":{\"x\":1},\"b\":{\"x\":1}}");
	OK("[{\"a\":1},{\"a\":1}]");
	BAD("{\"sub\":1,\"sub\":2}");
	BAD("{\"sub\":1,\"\\u0073ub\":2}");
	BAD("{\"a\\/b\":1,\"a/b\":2}");
	BAD("{\"\xc3\xa9\":1,\"\\u00e9\":2}");
	BAD("{\"b\":1,\"a\":1,\"c\":1,\"a\":2}");
}

static void
test_duplicates_nested(void **state)
{
	OK("{\"l1\":{\"l2\":{\"x\":1,\"y\":2}}}");
	OK("[[{\"x\":1,\"y\":2}]]");
	BAD("{\"l1\":{\"l2\":{\"x\":1,\"x\":2}}}");
	BAD("[[{\"x\":1,\"x\":2}]]");
	BAD("{\"l1\":[{\"l3\":{\"x\":1,\"\\u0078\":2}}]}");
}

static char *
nest(char open, char close, int n)
{
	char *s = malloc(2 * (size_t)n + 1);
	int i;

	assert_non_null(s);
	for (i = 0; i < n; i++) {
		s[i] = open;
		s[2 * n - 1 - i] = close;
	}
	s[2 * n] = '\0';
	return s;
}

static void
test_depth(void **state)
{
	char *s;
	char buf[512];
	int i;
	size_t o = 0;

	s = nest('[', ']', PJ_JSON_MAX_DEPTH);
	OK(s);
	free(s);
	s = nest('[', ']', PJ_JSON_MAX_DEPTH + 1);
	BAD(s);
	free(s);
	s = nest('[', ']', 10000);
	BAD(s);
	free(s);

	/* Objects count the same: 32 nested objects, then 33. */
	for (i = 0; i < PJ_JSON_MAX_DEPTH; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"a\":");
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "1");
	for (i = 0; i < PJ_JSON_MAX_DEPTH; i++)
		buf[o++] = '}';
	buf[o] = '\0';
	OK(buf);
	memmove(buf + 5, buf, o + 1);
	memcpy(buf, "{\"a\":", 5);
	strcat(buf, "}");
	BAD(buf);
}

/* {"k00000":0,...} with n members; the last one named dup_of when >= 0. */
static char *
big_object(int n, int dup_of, size_t *len)
{
	size_t cap = (size_t)n * 16 + 16, o = 0;
	char *s = malloc(cap);
	int i;

	assert_non_null(s);
	s[o++] = '{';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s\"k%05d\":%d",
		    i ? "," : "", i == n - 1 && dup_of >= 0 ? dup_of : i, i);
	s[o++] = '}';
	s[o] = '\0';
	*len = o;
	return s;
}

static void
test_large_object(void **state)
{
	size_t len;
	char *s;
	cJSON *j = NULL;
	clock_t t0 = clock();

	s = big_object(50000, -1, &len);
	assert_int_equal(pj_json_parse(s, len, 1, &j), 0);
	assert_int_equal(cJSON_GetArraySize(j), 50000);
	assert_int_equal(pj_json_get(j, "k49999")->valueint, 49999);
	cJSON_Delete(j);
	free(s);

	s = big_object(50000, 0, &len);
	assert_int_equal(parse_len(s, len, 1), PJ_ERR_MALFORMED);
	free(s);
	s = big_object(50000, 31337, &len);
	assert_int_equal(parse_len(s, len, 1), PJ_ERR_MALFORMED);
	free(s);
	/*
	 * CPU time: sorted names take ~0.05 s here (~2.5 s under valgrind); a
	 * quadratic check takes over 10 s even natively.
	 */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 8.0);
}

static void
test_get(void **state)
{
	cJSON *j = NULL;
	const char *doc = "{\"alg\":\"ES256\",\"kid\":7,\"Alg\":\"none\",\"n\":null}";

	assert_int_equal(pj_json_parse(doc, strlen(doc), 1, &j), 0);
	assert_string_equal(pj_json_get_string(j, "alg"), "ES256");
	assert_string_equal(pj_json_get_string(j, "Alg"), "none");
	assert_null(pj_json_get(j, "ALG"));
	assert_null(pj_json_get_string(j, "ALG"));
	assert_non_null(pj_json_get(j, "kid"));
	assert_null(pj_json_get_string(j, "kid"));
	assert_null(pj_json_get_string(j, "n"));
	assert_null(pj_json_get(NULL, "alg"));
	assert_null(pj_json_get(cJSON_GetObjectItemCaseSensitive(j, "kid"), "alg"));
	cJSON_Delete(j);

	assert_int_equal(pj_json_parse("[\"alg\"]", 7, 0, &j), 0);
	assert_null(pj_json_get(j, "alg"));
	assert_null(pj_json_get_string(j, "alg"));
	cJSON_Delete(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_want_object),
		cmocka_unit_test(test_trailing_data),
		cmocka_unit_test(test_trailing_commas),
		cmocka_unit_test(test_comments_and_quotes),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_numbers_finite),
		cmocka_unit_test(test_nul_escape),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_surrogates),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_duplicates_nested),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_large_object),
		cmocka_unit_test(test_get),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
