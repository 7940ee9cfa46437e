/* Core pieces with a pinned clock: base64url, escaping, the PAM table,
 * header rules, time rules at their boundaries, iss/aud, require_claim,
 * JSON Pointer claims, and the long-token piece assembly. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <security/_pam_types.h>

#include "alg.h"
#include "b64.h"
#include "claims.h"
#include "conf.h"
#include "entry.h"
#include "err.h"
#include "json.h"
#include "jws.h"
#include "log.h"
#include "num.h"

#define NOW 1700000000

static cJSON *
obj(const char *text)
{
	cJSON *o = NULL;

	assert_int_equal(pj_json_parse(text, strlen(text), 1, &o), 0);
	return o;
}

static int
b64(const char *s)
{
	uint8_t *out = NULL;
	size_t n = 0;
	int r = pj_b64url_decode(s, strlen(s), 1000, &out, &n);

	free(out);
	return r;
}

static void
test_b64url_canonical(void **state)
{
	assert_int_equal(b64("eyJhIjoxfQ"), 0);
	assert_int_equal(b64(""), 0);
	assert_int_equal(b64("eyJhIjoxfQ=="), PJ_ERR_MALFORMED);	/* padding */
	assert_int_equal(b64("ab+/"), PJ_ERR_MALFORMED);		/* std alphabet */
	assert_int_equal(b64("ab-_"), 0);
	assert_int_equal(b64("QR"), PJ_ERR_MALFORMED);		/* unused bits set */
	assert_int_equal(b64("QQ"), 0);
	assert_int_equal(b64("QUJ"), PJ_ERR_MALFORMED);
	assert_int_equal(b64("QUI"), 0);
	assert_int_equal(b64("A"), PJ_ERR_MALFORMED);		/* 1 mod 4 */
	assert_int_equal(b64("ab cd"), PJ_ERR_MALFORMED);
	assert_int_equal(b64("ab\ncd"), PJ_ERR_MALFORMED);
}

/* Regression: libsodium 1.0.18 reads bytes >= 0x80 as '_', so a token
 * with 0xff in place of '_' in its signature verified. */
static void
test_b64url_high_bytes_refused(void **state)
{
	uint8_t out[16];
	size_t n = 0;

	assert_int_equal(pj_b64url_decode_into("ab_d", 4, out, sizeof(out), &n), 0);
	assert_int_equal(pj_b64url_decode_into("ab\xff" "d", 4, out, sizeof(out), &n), PJ_ERR_MALFORMED);
	assert_int_equal(pj_b64url_decode_into("ab\x80" "d", 4, out, sizeof(out), &n), PJ_ERR_MALFORMED);
	for (int c = 0x80; c <= 0xff; c++) {
		char in[4] = {'a', 'b', (char)c, 'd'};

		assert_int_equal(pj_b64url_decode_into(in, 4, out, sizeof(out), &n), PJ_ERR_MALFORMED);
	}
}

static void
test_escape_cuts_and_escapes(void **state)
{
	char out[PJ_ESC_MAX], big[300];

	assert_string_equal(pj_escape(out, "al\"i\\ce\n\xff", 9), "al\\x22i\\x5cce\\x0a\\xff");
	memset(big, 'a', sizeof(big));
	assert_int_equal(strlen(pj_escape(out, big, sizeof(big))), 128);
	memset(big, '\n', sizeof(big));
	/* Never cut inside an escape. */
	assert_int_equal(strlen(pj_escape(out, big, sizeof(big))), 128);
	assert_memory_equal(out + 124, "\\x0a", 4);
}

static void
test_err_table(void **state)
{
	assert_int_equal(pj_err_pam(0), PAM_SUCCESS);
	assert_int_equal(pj_err_pam(PJ_ERR_BAD_SIGNATURE), PAM_AUTH_ERR);
	assert_int_equal(pj_err_pam(PJ_ERR_KEYS_UNAVAILABLE), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(pj_err_pam(PJ_ERR_USER_LOOKUP_FAILED), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(pj_err_pam(PJ_ERR_REPLAY_STORE_UNAVAILABLE), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(pj_err_pam(PJ_ERR_USER_UNKNOWN), PAM_USER_UNKNOWN);
	assert_int_equal(pj_err_pam(PJ_ERR_CONFIG), PAM_SERVICE_ERR);
	assert_int_equal(pj_err_pam(PJ_ERR_CONV), PAM_CONV_ERR);
	assert_int_equal(pj_err_pam(PJ_ERR_NOMEM), PAM_BUF_ERR);
	assert_int_equal(pj_err_pam(-1000), PAM_AUTH_ERR);	/* unknown fails closed */
	assert_int_equal(pj_err_pam(5), PAM_AUTH_ERR);
	assert_string_equal(pj_err_reason(PJ_ERR_WRONG_USER), "wrong_user");
	/* Every refusal is one: never PAM_SUCCESS, never an unnamed reason. */
	for (int e = -1; e > PJ_ERR_MIN_; e--) {
		assert_int_not_equal(pj_err_pam(e), PAM_SUCCESS);
		if (e != PJ_ERR_INTERNAL)
			assert_string_not_equal(pj_err_reason(e), "internal");
	}
}

static void
test_alg_names(void **state)
{
	assert_int_equal(pj_alg_from_name("ES256"), PJ_ALG_ES256);
	assert_int_equal(pj_alg_from_name("EdDSA"), PJ_ALG_EDDSA);
	assert_int_equal(pj_alg_from_name("Ed25519"), PJ_ALG_ED25519);
	assert_int_equal(pj_alg_from_name("ed25519"), -1);
	assert_int_equal(pj_alg_from_name("EDDSA"), -1);
	assert_string_equal(pj_alg_name(PJ_ALG_ED25519), "Ed25519");
	/* One signature under two names; every other name is itself alone. */
	assert_int_equal(pj_alg_same_sig(PJ_ALG_EDDSA),
	    PJ_ALG_BIT(PJ_ALG_EDDSA) | PJ_ALG_BIT(PJ_ALG_ED25519));
	assert_int_equal(pj_alg_same_sig(PJ_ALG_ED25519),
	    PJ_ALG_BIT(PJ_ALG_EDDSA) | PJ_ALG_BIT(PJ_ALG_ED25519));
	assert_int_equal(pj_alg_same_sig(PJ_ALG_ES256), PJ_ALG_BIT(PJ_ALG_ES256));
	assert_int_equal(pj_alg_same_sig(-1), 0);
	assert_int_equal(pj_alg_same_sig(PJ_ALG_COUNT), 0);
	assert_int_equal(pj_alg_from_name("none"), -1);
	assert_int_equal(pj_alg_from_name("HS256"), -1);
	assert_int_equal(pj_alg_from_name("rs256"), -1);
	assert_int_equal(pj_alg_from_name(NULL), -1);
}

static void
b64enc(char *out, size_t cap, const char *in)
{
	sodium_bin2base64(out, cap, (const unsigned char *)in, strlen(in),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A JWS with the given header JSON, payload {} and signature "AAAA". */
static int
header_verdict(const char *header, unsigned algs)
{
	char tok[1024], h[600];
	size_t n;
	struct pj_jws jws;
	int r;

	b64enc(h, sizeof(h), header);
	n = (size_t)snprintf(tok, sizeof(tok), "%s.e30.AAAA", h);
	if ((r = pj_jws_parse(tok, n, &jws)) != 0)
		return r;
	r = pj_jws_check_header(&jws, algs);
	pj_jws_clear(&jws);
	return r;
}

static void
test_header_rules(void **state)
{
	unsigned all = (1u << PJ_ALG_COUNT) - 1;

	assert_int_equal(header_verdict("{\"alg\":\"RS256\"}", all), 0);
	assert_int_equal(header_verdict("{\"alg\":\"RS256\",\"kid\":\"k\"}", all), 0);
	assert_int_equal(header_verdict("{\"kid\":\"k\"}", all), PJ_ERR_BAD_HEADER);
	assert_int_equal(header_verdict("{\"alg\":7}", all), PJ_ERR_BAD_HEADER);
	assert_int_equal(header_verdict("{\"alg\":\"none\"}", all), PJ_ERR_ALG_NOT_ALLOWED);
	assert_int_equal(header_verdict("{\"alg\":\"HS256\"}", all), PJ_ERR_ALG_NOT_ALLOWED);
	assert_int_equal(header_verdict("{\"alg\":\"RS384\"}", PJ_ALG_DEFAULT), PJ_ERR_ALG_NOT_ALLOWED);
	/* EdDSA and Ed25519 are two entries of the allowed set. */
	assert_int_equal(header_verdict("{\"alg\":\"Ed25519\"}", PJ_ALG_DEFAULT), 0);
	assert_int_equal(header_verdict("{\"alg\":\"EdDSA\"}", PJ_ALG_DEFAULT), 0);
	assert_int_equal(header_verdict("{\"alg\":\"Ed25519\"}", PJ_ALG_BIT(PJ_ALG_EDDSA)),
	    PJ_ERR_ALG_NOT_ALLOWED);
	assert_int_equal(header_verdict("{\"alg\":\"EdDSA\"}", PJ_ALG_BIT(PJ_ALG_ED25519)),
	    PJ_ERR_ALG_NOT_ALLOWED);
	assert_int_equal(header_verdict("{\"alg\":\"Ed25519\"}", PJ_ALG_BIT(PJ_ALG_ED25519)), 0);
	assert_int_equal(header_verdict("{\"alg\":\"RS256\",\"crit\":[\"exp\"]}", all), PJ_ERR_BAD_HEADER);
	assert_int_equal(header_verdict("{\"alg\":\"RS256\",\"jku\":\"https://x\"}", all), PJ_ERR_BAD_HEADER);
	assert_int_equal(header_verdict("{\"alg\":\"RS256\",\"x5u\":\"https://x\"}", all), PJ_ERR_BAD_HEADER);
	assert_int_equal(header_verdict("{\"alg\":\"RS256\",\"jwk\":{}}", all), PJ_ERR_BAD_HEADER);
	assert_int_equal(header_verdict("{\"alg\":\"RS256\",\"kid\":\"\"}", all), PJ_ERR_BAD_HEADER);
	assert_int_equal(header_verdict("{\"alg\":\"RS256\",\"kid\":5}", all), PJ_ERR_BAD_HEADER);
	/* Present but never trusted. */
	assert_int_equal(header_verdict("{\"alg\":\"RS256\",\"x5c\":[\"x\"],\"typ\":\"JWT\",\"cty\":\"x\"}", all), 0);
}

static void
test_format(void **state)
{
	struct pj_jws jws;
	char big[PJ_TOKEN_MAX + 2];

	assert_int_equal(pj_jws_parse("e30.e30.", 8, &jws), 0);
	pj_jws_clear(&jws);
	assert_int_equal(pj_jws_parse("e30.e30", 7, &jws), PJ_ERR_MALFORMED);
	assert_int_equal(pj_jws_parse("e30.e30.e30.e30.e30", 19, &jws), PJ_ERR_MALFORMED);
	assert_int_equal(pj_jws_parse("e30.W10.", 8, &jws), PJ_ERR_MALFORMED);	/* [] payload */
	assert_int_equal(pj_jws_parse("e30.e30.AA=", 11, &jws), PJ_ERR_MALFORMED);
	assert_int_equal(pj_jws_parse("e30.e30\0.", 9, &jws), PJ_ERR_MALFORMED);
	memset(big, 'A', sizeof(big));
	assert_int_equal(pj_jws_parse(big, PJ_TOKEN_MAX + 1, &jws), PJ_ERR_TOO_LARGE);
	assert_int_equal(pj_jws_parse(big, PJ_TOKEN_MAX, &jws), PJ_ERR_MALFORMED);
}

static int
tcheck(const char *payload, long leeway, long maxlife)
{
	cJSON *o = obj(payload);
	int r = pj_claims_check_time(o, NOW, leeway, maxlife, NULL);

	cJSON_Delete(o);
	return r;
}

static void
test_time_boundaries(void **state)
{
	char p[200];

	/* exp = now - leeway + 1 accepted, exp = now - leeway refused. */
	snprintf(p, sizeof(p), "{\"exp\":%d}", NOW - 60 + 1);
	assert_int_equal(tcheck(p, 60, 0), 0);
	snprintf(p, sizeof(p), "{\"exp\":%d}", NOW - 60);
	assert_int_equal(tcheck(p, 60, 0), PJ_ERR_EXPIRED);
	assert_int_equal(tcheck("{}", 60, 0), PJ_ERR_EXPIRED);
	snprintf(p, sizeof(p), "{\"exp\":%d}", NOW + 1);
	assert_int_equal(tcheck(p, 0, 0), 0);
	snprintf(p, sizeof(p), "{\"exp\":%d}", NOW);
	assert_int_equal(tcheck(p, 0, 0), PJ_ERR_EXPIRED);
	/* nbf = now + leeway accepted, + 1 refused. */
	snprintf(p, sizeof(p), "{\"exp\":%d,\"nbf\":%d}", NOW + 600, NOW + 60);
	assert_int_equal(tcheck(p, 60, 0), 0);
	snprintf(p, sizeof(p), "{\"exp\":%d,\"nbf\":%d}", NOW + 600, NOW + 61);
	assert_int_equal(tcheck(p, 60, 0), PJ_ERR_NOT_YET_VALID);
	/* iat likewise. */
	snprintf(p, sizeof(p), "{\"exp\":%d,\"iat\":%d}", NOW + 600, NOW + 60);
	assert_int_equal(tcheck(p, 60, 0), 0);
	snprintf(p, sizeof(p), "{\"exp\":%d,\"iat\":%d}", NOW + 600, NOW + 61);
	assert_int_equal(tcheck(p, 60, 0), PJ_ERR_ISSUED_IN_FUTURE);
	/* Order: exp decides before nbf. */
	snprintf(p, sizeof(p), "{\"exp\":%d,\"nbf\":%d}", NOW - 600, NOW + 600);
	assert_int_equal(tcheck(p, 60, 0), PJ_ERR_EXPIRED);
	/* max_lifetime: exp - iat = max accepted, max + 1 refused, no iat refused. */
	snprintf(p, sizeof(p), "{\"exp\":%d,\"iat\":%d}", NOW + 300, NOW);
	assert_int_equal(tcheck(p, 60, 300), 0);
	snprintf(p, sizeof(p), "{\"exp\":%d,\"iat\":%d}", NOW + 301, NOW);
	assert_int_equal(tcheck(p, 60, 300), PJ_ERR_LIFETIME_TOO_LONG);
	snprintf(p, sizeof(p), "{\"exp\":%d}", NOW + 30);
	assert_int_equal(tcheck(p, 60, 300), PJ_ERR_LIFETIME_TOO_LONG);
	/* NumericDate type and range. */
	assert_int_equal(tcheck("{\"exp\":\"1900000000\"}", 60, 0), PJ_ERR_MALFORMED);
	assert_int_equal(tcheck("{\"exp\":9007199254740992}", 60, 0), PJ_ERR_MALFORMED);
	assert_int_equal(tcheck("{\"exp\":9007199254740991}", 60, 0), 0);
	assert_int_equal(tcheck("{\"exp\":-1}", 60, 0), PJ_ERR_MALFORMED);
	assert_int_equal(tcheck("{\"exp\":1900000000.5}", 60, 0), 0);
	assert_int_equal(tcheck("{\"exp\":true}", 60, 0), PJ_ERR_MALFORMED);
	snprintf(p, sizeof(p), "{\"exp\":%d,\"nbf\":null}", NOW + 600);
	assert_int_equal(tcheck(p, 60, 0), PJ_ERR_MALFORMED);
}

static void
test_iss_aud(void **state)
{
	char a1[] = "ssh://host1", a2[] = "ssh://host2", iss[] = "https://idp.example";
	char *auds[] = {a1, a2};
	struct pj_config cfg = {.issuer = iss, .audiences = auds, .n_audiences = 2};
	struct {
		const char *payload;
		int want;
	} cases[] = {
		{"{\"iss\":\"https://idp.example\",\"aud\":\"ssh://host1\"}", 0},
		{"{\"iss\":\"https://idp.example\",\"aud\":[\"x\",\"ssh://host2\"]}", 0},
		{"{\"iss\":\"https://idp.example\"}", PJ_ERR_BAD_AUDIENCE},
		{"{\"iss\":\"https://idp.example\",\"aud\":\"ssh://host3\"}", PJ_ERR_BAD_AUDIENCE},
		{"{\"iss\":\"https://idp.example\",\"aud\":[]}", PJ_ERR_BAD_AUDIENCE},
		{"{\"iss\":\"https://idp.example\",\"aud\":[\"ssh://host1\",1]}", PJ_ERR_BAD_AUDIENCE},
		{"{\"iss\":\"https://idp.example\",\"aud\":{\"a\":\"ssh://host1\"}}", PJ_ERR_BAD_AUDIENCE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *o = obj(cases[i].payload);

		assert_int_equal(pj_claims_check_aud(o, &cfg, NULL), cases[i].want);
		cJSON_Delete(o);
	}
}

/* Step 3: iss picks the issuer byte for byte, or none. */
static void
test_issuer_pick(void **state)
{
	char iss[] = "https://idp.example";
	struct pj_config c = {.issuer = iss}, *v[] = {&c};
	struct pj_configs set = {.n = 1, .v = v};

	assert_ptr_equal(pj_configs_pick(&set, "https://idp.example"), &c);
	assert_null(pj_configs_pick(&set, "https://idp.example/"));
	assert_null(pj_configs_pick(&set, "HTTPS://idp.example"));
	assert_null(pj_configs_pick(&set, "https://idp.exampl"));
	assert_null(pj_configs_pick(&set, ""));
	assert_null(pj_configs_pick(&set, NULL));
}

static void
test_require_claim_forms(void **state)
{
	cJSON *o = obj("{\"s\":\"a=b\",\"arr\":[\"x\",2,\"y\"],\"t\":true,\"f\":false,\"n\":42,"
		       "\"neg\":-7,\"z\":0,\"fl\":1.0,\"ex\":1e2,\"mz\":-0,\"big\":1234567890123456,"
		       "\"scope\":\"read write\",\"nul\":null,"
		       "\"kubernetes.io\":{\"namespace\":\"prod\",\"a/b\":\"s\",\"t~\":\"u\"},"
		       "\"list\":[\"p\",{\"q\":\"r\"}]}");

	assert_true(pj_claim_matches(pj_claim_get(o, "s"), "a=b"));
	assert_false(pj_claim_matches(pj_claim_get(o, "s"), "a"));
	assert_true(pj_claim_matches(pj_claim_get(o, "arr"), "y"));
	assert_false(pj_claim_matches(pj_claim_get(o, "arr"), "2"));
	assert_true(pj_claim_matches(pj_claim_get(o, "t"), "true"));
	assert_false(pj_claim_matches(pj_claim_get(o, "t"), "1"));
	assert_true(pj_claim_matches(pj_claim_get(o, "f"), "false"));
	assert_false(pj_claim_matches(pj_claim_get(o, "f"), "true"));
	assert_true(pj_claim_matches(pj_claim_get(o, "n"), "42"));
	assert_false(pj_claim_matches(pj_claim_get(o, "n"), "042"));
	assert_false(pj_claim_matches(pj_claim_get(o, "n"), "+42"));
	assert_false(pj_claim_matches(pj_claim_get(o, "n"), "42.0"));
	assert_true(pj_claim_matches(pj_claim_get(o, "neg"), "-7"));
	assert_true(pj_claim_matches(pj_claim_get(o, "z"), "0"));
	assert_false(pj_claim_matches(pj_claim_get(o, "fl"), "1"));
	assert_false(pj_claim_matches(pj_claim_get(o, "ex"), "100"));
	assert_false(pj_claim_matches(pj_claim_get(o, "mz"), "0"));
	assert_false(pj_claim_matches(pj_claim_get(o, "mz"), "-0"));
	assert_false(pj_claim_matches(pj_claim_get(o, "big"), "1234567890123456"));
	assert_false(pj_claim_matches(pj_claim_get(o, "scope"), "read"));
	assert_true(pj_claim_matches(pj_claim_get(o, "scope"), "read write"));
	assert_false(pj_claim_matches(pj_claim_get(o, "nul"), "null"));
	assert_false(pj_claim_matches(pj_claim_get(o, "absent"), ""));
	/* JSON Pointer. */
	assert_true(pj_claim_matches(pj_claim_get(o, "/kubernetes.io/namespace"), "prod"));
	assert_false(pj_claim_matches(pj_claim_get(o, "/kubernetes.io/namespace"), "dev"));
	assert_null(pj_claim_get(o, "kubernetes.io/namespace"));
	assert_true(pj_claim_matches(pj_claim_get(o, "/kubernetes.io/a~1b"), "s"));
	assert_true(pj_claim_matches(pj_claim_get(o, "/kubernetes.io/t~0"), "u"));
	assert_null(pj_claim_get(o, "/kubernetes.io/t~2"));
	assert_true(pj_claim_matches(pj_claim_get(o, "/list/1/q"), "r"));
	assert_null(pj_claim_get(o, "/list/01/q"));
	assert_null(pj_claim_get(o, "/list/-"));
	assert_true(pj_claim_matches(pj_claim_get(o, "/s"), "a=b"));
	cJSON_Delete(o);
}

static void
test_pieces(void **state)
{
	char buf[PJ_ENTRY_BUF];
	size_t len = 0;
	int more = 0;

	buf[0] = '\0';
	assert_int_equal(pj_entry_add_piece(buf, &len, "  abc\\ \n", 1, &more), 0);
	assert_true(more);
	assert_int_equal(pj_entry_add_piece(buf, &len, "def", 2, &more), 0);
	assert_false(more);
	assert_string_equal(buf, "abcdef");
	/* 64 pieces at most: a 64th that still asks for more is too large. */
	len = 0;
	for (int i = 1; i < 64; i++)
		assert_int_equal(pj_entry_add_piece(buf, &len, "a\\", i, &more), 0);
	assert_int_equal(pj_entry_add_piece(buf, &len, "a\\", 64, &more), PJ_ERR_TOO_LARGE);
	len = 0;
	for (int i = 1; i < 64; i++)
		assert_int_equal(pj_entry_add_piece(buf, &len, "a\\", i, &more), 0);
	assert_int_equal(pj_entry_add_piece(buf, &len, "a", 64, &more), 0);
	assert_int_equal(len, 64);
}

static void
test_pieces_size_limit(void **state)
{
	char buf[PJ_ENTRY_BUF], piece[501];
	size_t len = 0;
	int more = 0, i;

	memset(piece, 'A', 500);
	piece[500] = '\0';
	/* 32 pieces of 500 = 16000, then 384 more = 16384 exactly: allowed. */
	for (i = 1; i <= 32; i++) {
		piece[499] = '\\';
		assert_int_equal(pj_entry_add_piece(buf, &len, piece, i, &more), 0);
	}
	piece[384] = '\0';
	piece[383] = 'A';
	assert_int_equal(pj_entry_add_piece(buf, &len, piece, i, &more), 0);
	assert_int_equal(len, 16384 - 32);
	len = 16384;
	assert_int_equal(pj_entry_add_piece(buf, &len, "", 40, &more), 0);
	assert_int_equal(pj_entry_add_piece(buf, &len, "A", 41, &more), PJ_ERR_TOO_LARGE);
}

/* The one decimal parser: digits only, min..max, no overflow, canonical on request. */
static void
test_num_parse(void **state)
{
	static const char *const bad[] = {"", "+1", "-1", " 1", "1 ", "1x", "0x10", "1e3", "1.0"};
	long long v = -1;

	(void)state;
	assert_int_equal(pj_num_parse("42", 2, 0, 100, 0, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(pj_num_parse("4217", 2, 0, 100, 0, &v), 0);	/* len bounds it */
	assert_int_equal(v, 42);
	assert_int_equal(pj_num_parse("007", 3, 0, 100, 0, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pj_num_parse("007", 3, 0, 100, PJ_NUM_CANONICAL, &v), PJ_ERR_MALFORMED);
	assert_int_equal(v, 0);
	assert_int_equal(pj_num_parse("0", 1, 0, 100, PJ_NUM_CANONICAL, &v), 0);
	assert_int_equal(pj_num_parse("100", 3, 0, 100, 0, &v), 0);
	assert_int_equal(pj_num_parse("101", 3, 0, 100, 0, &v), PJ_ERR_TOO_LARGE);
	assert_int_equal(pj_num_parse("4", 1, 5, 100, 0, &v), PJ_ERR_TOO_LARGE);
	assert_int_equal(pj_num_parse("9223372036854775807", 19, 0, INT64_MAX, 0, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(pj_num_parse("9223372036854775808", 19, 0, INT64_MAX, 0, &v),
	    PJ_ERR_TOO_LARGE);
	assert_int_equal(pj_num_parse("99999999999999999999999999", 26, 0, INT64_MAX, 0, &v),
	    PJ_ERR_TOO_LARGE);
	assert_int_equal(pj_num_parse("00000000000000000000000000001", 29, 0, 5, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pj_num_parse("1\0002", 3, 0, 1000, 0, &v), PJ_ERR_MALFORMED);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pj_num_parse(bad[i], strlen(bad[i]), 0, 1000, 0, &v),
		    PJ_ERR_MALFORMED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_canonical),
		cmocka_unit_test(test_b64url_high_bytes_refused),
		cmocka_unit_test(test_escape_cuts_and_escapes),
		cmocka_unit_test(test_err_table),
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_time_boundaries),
		cmocka_unit_test(test_iss_aud),
		cmocka_unit_test(test_issuer_pick),
		cmocka_unit_test(test_require_claim_forms),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_pieces_size_limit),
		cmocka_unit_test(test_num_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
