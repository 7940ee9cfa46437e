/*
 * JWK usability and key choice (pam_jwt(8), KEYS), the signature layer
 * (section 3, step 4) and the RFC examples. Keys and tokens come from
 * tests/jwk/fixtures.json (tests/jwk/gen_fixtures.py, python3-jwcrypto and
 * pyca) and tests/rfc/ (the RFC texts); none is made by our code.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sodium.h>

#include "alg.h"
#include "b64.h"
#include "err.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "sig.h"

#define ALL_ALGS ((1u << PJ_ALG_COUNT) - 1)
#define RSA_ALGS (PJ_ALG_BIT(PJ_ALG_RS256) | PJ_ALG_BIT(PJ_ALG_RS384) | \
	PJ_ALG_BIT(PJ_ALG_RS512) | PJ_ALG_BIT(PJ_ALG_PS256) | PJ_ALG_BIT(PJ_ALG_PS384) | \
	PJ_ALG_BIT(PJ_ALG_PS512))
#define ED_ALGS (PJ_ALG_BIT(PJ_ALG_EDDSA) | PJ_ALG_BIT(PJ_ALG_ED25519))

/* ------------------------------------------------------------ helpers */

static char *
slurp(const char *rel, size_t *lenp)
{
	char path[4096];
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof(path), "%s/%s", PJ_TEST_DATA, rel);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	buf[len] = '\0';
	/* Data files end with a newline; tokens and JWKs do not hold one. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)len;
	return buf;
}

static int
group_setup(void **state)
{
	char *text = slurp("jwk/fixtures.json", NULL);

	if (sodium_init() < 0)
		return -1;
	*state = cJSON_Parse(text);
	free(text);
	return *state == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	cJSON_Delete(*state);
	return 0;
}

static const char *
fx(void **state, const char *section, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(*state, section), name);

	if (!cJSON_IsString(v))
		fail_msg("fixture %s.%s missing", section, name);
	return v->valuestring;
}

/* A copy of fixture key name, to change and hand to a set. */
static cJSON *
key(void **state, const char *name)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(*state, "jwk"), name);

	if (k == NULL)
		fail_msg("fixture jwk.%s missing", name);
	return cJSON_Duplicate(k, 1);
}

/* Set (or with val NULL remove) member m of k; returns k. */
static cJSON *
with(cJSON *k, const char *m, cJSON *val)
{
	cJSON_DeleteItemFromObjectCaseSensitive(k, m);
	if (val != NULL)
		cJSON_AddItemToObject(k, m, val);
	return k;
}

static cJSON *
with_str(cJSON *k, const char *m, const char *s)
{
	return with(k, m, cJSON_CreateString(s));
}

/* {"keys": [k...]} (owning the keys) through pj_jwks_parse, which must
 * succeed. */
static struct pj_jwks *
set_of(int count, ...)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "keys");
	struct pj_jwks *set = NULL;
	va_list ap;
	char *text;

	va_start(ap, count);
	for (int i = 0; i < count; i++)
		cJSON_AddItemToArray(arr, va_arg(ap, cJSON *));
	va_end(ap);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	assert_int_equal(pj_jwks_parse(text, strlen(text), NULL, &set), 0);
	free(text);
	assert_non_null(set);
	assert_int_equal(set->n + set->dropped, (size_t)count);
	return set;
}

/* How many of one key's set were kept (0 or 1); *algs gets its algs. */
static size_t
kept(cJSON *k, unsigned *algs)
{
	struct pj_jwks *set = set_of(1, k);
	size_t n = set->n;

	if (algs != NULL)
		*algs = n == 1 ? set->keys[0].algs : 0;
	pj_jwks_free(set);
	return n;
}

static int
parse_rc(const char *text)
{
	struct pj_jwks *set = NULL;
	int r = pj_jwks_parse(text, strlen(text), NULL, &set);

	if (r != 0)
		assert_null(set);
	pj_jwks_free(set);
	return r;
}

/* Steps 1 to 4 for a compact token: the module's order. */
static int
verify_token(const struct pj_jwks *set, const char *tok)
{
	struct pj_jws jws;
	const struct pj_jwk *k = NULL;
	int r;

	if ((r = pj_jws_parse(tok, strlen(tok), &jws)) != 0)
		return r;
	if ((r = pj_jws_check_header(&jws, ALL_ALGS)) == 0 &&
	    (r = pj_jwks_choose(set, jws.alg, jws.kid, &k)) == 0)
		r = pj_sig_verify(jws.alg, k, (const uint8_t *)jws.signing_input,
		    jws.signing_input_len, jws.sig, jws.siglen);
	pj_jws_clear(&jws);
	return r;
}

/*
 * Steps 2 to 4 for a compact token whose payload need not be a JSON object
 * (RFC 7520 and RFC 8037 sign text): the header goes through the strict
 * JSON pass and pj_jws_check_header, then key choice and signature.
 */
static int
verify_lower(const struct pj_jwks *set, const char *tok)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	struct pj_jws jws;
	const struct pj_jwk *k = NULL;
	uint8_t *hdr = NULL;
	size_t hlen = 0;
	int r;

	memset(&jws, 0, sizeof(jws));
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return PJ_ERR_MALFORMED;
	if ((r = pj_b64url_decode(tok, (size_t)(d1 - tok), 65536, &hdr, &hlen)) != 0 ||
	    (r = pj_json_parse((const char *)hdr, hlen, 1, &jws.header)) != 0 ||
	    (r = pj_b64url_decode(d2 + 1, strlen(d2 + 1), 65536, &jws.sig, &jws.siglen)) != 0)
		goto out;
	jws.signing_input = tok;
	jws.signing_input_len = (size_t)(d2 - tok);
	if ((r = pj_jws_check_header(&jws, ALL_ALGS)) == 0 &&
	    (r = pj_jwks_choose(set, jws.alg, jws.kid, &k)) == 0)
		r = pj_sig_verify(jws.alg, k, (const uint8_t *)jws.signing_input,
		    jws.signing_input_len, jws.sig, jws.siglen);
out:
	free(hdr);
	pj_jws_clear(&jws);
	return r;
}

/* tok with one signature character changed (not the last: its unused
 * bits would only make it non-canonical). */
static char *
tamper_sig(const char *tok)
{
	char *t = strdup(tok), *p = strrchr(t, '.') + 5;

	*p = *p == 'A' ? 'B' : 'A';
	return t;
}

/* ------------------------------------------------------------ usability */

static void
test_kty_rsa_ec_okp_only(void **state)
{
	assert_int_equal(kept(key(state, "rsa2048"), NULL), 1);
	assert_int_equal(kept(key(state, "ec256"), NULL), 1);
	assert_int_equal(kept(key(state, "ed25519"), NULL), 1);
	assert_int_equal(kept(with_str(key(state, "ec256"), "kty", "oct"), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "kty", "ec"), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "kty", "XYZ"), NULL), 0);
	assert_int_equal(kept(with(key(state, "ec256"), "kty", NULL), NULL), 0);
	assert_int_equal(kept(with(key(state, "ec256"), "kty", cJSON_CreateNumber(2)), NULL), 0);
}

static void
test_rsa_modulus_at_least_2048_bits(void **state)
{
	assert_int_equal(kept(key(state, "rsa2048"), NULL), 1);
	assert_int_equal(kept(key(state, "rsa2047"), NULL), 0);
	assert_int_equal(kept(key(state, "rsa1024"), NULL), 0);
}

static void
test_rsa_modulus_no_leading_zero(void **state)
{
	assert_int_equal(kept(with_str(key(state, "rsa2048"), "n", fx(state, "b64", "n2048")), NULL), 1);
	assert_int_equal(kept(with_str(key(state, "rsa2048"), "n",
	    fx(state, "b64", "n2048_lead0")), NULL), 0);
}

static void
test_rsa_exponent_odd_at_least_3(void **state)
{
	static const struct {
		const char *e;
		size_t kept;
	} cases[] = {
		{"e_65537", 1}, {"e_3", 1}, {"e_1", 0}, {"e_2", 0}, {"e_65536", 0},
		{"e_65537_lead0", 0}, {"e_empty", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = kept(with_str(key(state, "rsa2048"), "e", fx(state, "b64", cases[i].e)), NULL);

		if (n != cases[i].kept)
			fail_msg("e %s: kept %zu, want %zu", cases[i].e, n, cases[i].kept);
	}
	assert_int_equal(kept(with(key(state, "rsa2048"), "e", NULL), NULL), 0);
}

static void
test_ec_curves_p256_p384_p521_only(void **state)
{
	assert_int_equal(kept(key(state, "ec256"), NULL), 1);
	assert_int_equal(kept(key(state, "ec384"), NULL), 1);
	assert_int_equal(kept(key(state, "ec521"), NULL), 1);
	assert_int_equal(kept(key(state, "secp256k1"), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "crv", "P-192"), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "crv", "p-256"), NULL), 0);
	assert_int_equal(kept(with(key(state, "ec256"), "crv", NULL), NULL), 0);
}

static void
test_ec_coordinates_exact_size(void **state)
{
	assert_int_equal(kept(with_str(key(state, "ec256"), "x", fx(state, "b64", "ec256_x")), NULL), 1);
	assert_int_equal(kept(with_str(key(state, "ec256"), "x", fx(state, "b64", "ec256_x31")), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "x", fx(state, "b64", "ec256_x33")), NULL), 0);
	/* A P-384 point labelled P-256, and the other way round. */
	assert_int_equal(kept(with_str(key(state, "ec384"), "crv", "P-256"), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "crv", "P-384"), NULL), 0);
	assert_int_equal(kept(with(key(state, "ec256"), "y", NULL), NULL), 0);
}

static void
test_okp_ed25519_only(void **state)
{
	assert_int_equal(kept(key(state, "ed25519"), NULL), 1);
	assert_int_equal(kept(key(state, "ed448"), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ed25519"), "crv", "X25519"), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ed25519"), "x", fx(state, "b64", "ed_x31")), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ed25519"), "x", fx(state, "b64", "ed_x33")), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ed25519"), "x", fx(state, "b64", "ed_x")), NULL), 1);
}

/* Attack: an issuer that publishes a private key. The key is dropped, the
 * rest of the set survives. */
static void
test_private_members_dropped(void **state)
{
	static const char *const members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	struct pj_jwks *set;

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		if (kept(with_str(key(state, "rsa2048"), members[i], "AQAB"), NULL) != 0)
			fail_msg("a key with \"%s\" was kept", members[i]);
		/* Present at all, whatever its type. */
		if (kept(with(key(state, "ec256"), members[i], cJSON_CreateNull()), NULL) != 0)
			fail_msg("a key with \"%s\": null was kept", members[i]);
	}
	assert_int_equal(kept(key(state, "rsa2048_private"), NULL), 0);
	set = set_of(2, key(state, "rsa2048_private"), key(state, "ec256"));
	assert_int_equal(set->n, 1);
	assert_int_equal(set->dropped, 1);
	assert_int_equal(set->keys[0].kty, PJ_KTY_EC);
	pj_jwks_free(set);
	assert_int_equal(kept(key(state, "rsa2048"), NULL), 1);
}

static void
test_noncanonical_base64url_dropped(void **state)
{
	char spaced[1024];

	assert_int_equal(kept(with_str(key(state, "rsa2048"), "n", fx(state, "b64", "n2048")), NULL), 1);
	assert_int_equal(kept(with_str(key(state, "rsa2048"), "n",
	    fx(state, "b64", "n2048_padded")), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "rsa2048"), "n", fx(state, "b64", "n2048_std")), NULL), 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "x",
	    fx(state, "b64", "ec256_x_badbits")), NULL), 0);
	snprintf(spaced, sizeof(spaced), " %s", fx(state, "b64", "ec256_x"));
	assert_int_equal(kept(with_str(key(state, "ec256"), "x", spaced), NULL), 0);
	assert_int_equal(kept(with(key(state, "ec256"), "x", cJSON_CreateNumber(1)), NULL), 0);
}

static void
test_kid_non_empty_string(void **state)
{
	struct pj_jwks *set = set_of(1, with_str(key(state, "ec256"), "kid", "k1"));

	assert_int_equal(set->n, 1);
	assert_string_equal(set->keys[0].kid, "k1");
	pj_jwks_free(set);
	set = set_of(1, key(state, "ec256"));
	assert_int_equal(set->n, 1);
	assert_null(set->keys[0].kid);
	pj_jwks_free(set);
	assert_int_equal(kept(with_str(key(state, "ec256"), "kid", ""), NULL), 0);
	assert_int_equal(kept(with(key(state, "ec256"), "kid", cJSON_CreateNumber(7)), NULL), 0);
	assert_int_equal(kept(with(key(state, "ec256"), "kid", cJSON_CreateNull()), NULL), 0);
}

static void
test_use_absent_or_sig(void **state)
{
	unsigned algs = 0;

	assert_int_equal(kept(key(state, "ec256"), &algs), 1);
	assert_int_equal(algs, PJ_ALG_BIT(PJ_ALG_ES256));
	assert_int_equal(kept(with_str(key(state, "ec256"), "use", "sig"), &algs), 1);
	assert_int_equal(algs, PJ_ALG_BIT(PJ_ALG_ES256));
	/* Kept (usable by its JSON) but fits nothing. */
	assert_int_equal(kept(with_str(key(state, "ec256"), "use", "enc"), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "use", "SIG"), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with(key(state, "ec256"), "use", cJSON_CreateNumber(1)), NULL), 0);
}

static void
test_key_ops_holds_verify(void **state)
{
	static const char *const sv[] = {"sign", "verify"}, *const s[] = {"sign"},
	    *const ev[] = {"encrypt"}, *const v[] = {"verify"};
	cJSON *bad;
	unsigned algs = 0;

	assert_int_equal(kept(with(key(state, "ed25519"), "key_ops", cJSON_CreateStringArray(v, 1)),
	    &algs), 1);
	assert_int_equal(algs, ED_ALGS);
	assert_int_equal(kept(with(key(state, "ed25519"), "key_ops", cJSON_CreateStringArray(sv, 2)),
	    &algs), 1);
	assert_int_equal(algs, ED_ALGS);
	assert_int_equal(kept(with(key(state, "ed25519"), "key_ops", cJSON_CreateStringArray(s, 1)),
	    &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with(key(state, "ed25519"), "key_ops", cJSON_CreateStringArray(ev, 1)),
	    &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with(key(state, "ed25519"), "key_ops", cJSON_CreateArray()), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with_str(key(state, "ed25519"), "key_ops", "verify"), NULL), 0);
	bad = cJSON_CreateStringArray(v, 1);
	cJSON_AddItemToArray(bad, cJSON_CreateNumber(1));
	assert_int_equal(kept(with(key(state, "ed25519"), "key_ops", bad), NULL), 0);
}

static void
test_alg_member_narrows(void **state)
{
	unsigned algs = 0;

	assert_int_equal(kept(key(state, "rsa2048"), &algs), 1);
	assert_int_equal(algs, RSA_ALGS);
	assert_int_equal(kept(with_str(key(state, "rsa2048"), "alg", "PS256"), &algs), 1);
	assert_int_equal(algs, PJ_ALG_BIT(PJ_ALG_PS256));
	assert_int_equal(kept(with_str(key(state, "ec521"), "alg", "ES512"), &algs), 1);
	assert_int_equal(algs, PJ_ALG_BIT(PJ_ALG_ES512));
	/* Known but for another key type; a typo; not ours. */
	assert_int_equal(kept(with_str(key(state, "rsa2048"), "alg", "ES256"), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with_str(key(state, "ec521"), "alg", "ES521"), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with_str(key(state, "rsa2048"), "alg", "RSA-OAEP"), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "alg", "es256"), &algs), 1);
	assert_int_equal(algs, 0);
	/* EdDSA and Ed25519 (RFC 9864) are one signature: either name fits both. */
	assert_int_equal(kept(with_str(key(state, "ed25519"), "alg", "EdDSA"), &algs), 1);
	assert_int_equal(algs, ED_ALGS);
	assert_int_equal(kept(with_str(key(state, "ed25519"), "alg", "Ed25519"), &algs), 1);
	assert_int_equal(algs, ED_ALGS);
	assert_int_equal(kept(with_str(key(state, "ed25519"), "alg", "ED25519"), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with_str(key(state, "ed25519"), "alg", "ES256"), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with_str(key(state, "ec256"), "alg", "Ed25519"), &algs), 1);
	assert_int_equal(algs, 0);
	assert_int_equal(kept(with(key(state, "rsa2048"), "alg", cJSON_CreateNumber(256)), NULL), 0);
}

static void
test_algs_per_key_type(void **state)
{
	static const struct {
		const char *name;
		unsigned algs;
	} cases[] = {
		{"rsa2048", RSA_ALGS},
		{"ec256", PJ_ALG_BIT(PJ_ALG_ES256)},
		{"ec384", PJ_ALG_BIT(PJ_ALG_ES384)},
		{"ec521", PJ_ALG_BIT(PJ_ALG_ES512)},
		{"ed25519", ED_ALGS},
	};
	unsigned algs;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(kept(key(state, cases[i].name), &algs), 1);
		if (algs != cases[i].algs)
			fail_msg("%s: algs %#x, want %#x", cases[i].name, algs, cases[i].algs);
	}
}

static void
test_document_shape(void **state)
{
	struct pj_jwks *set;

	assert_int_equal(parse_rc("{\"keys\":[]}"), 0);
	assert_int_equal(parse_rc("[]"), PJ_ERR_MALFORMED);
	assert_int_equal(parse_rc("{}"), PJ_ERR_MALFORMED);
	assert_int_equal(parse_rc("{\"keys\":{}}"), PJ_ERR_MALFORMED);
	assert_int_equal(parse_rc("{\"Keys\":[]}"), PJ_ERR_MALFORMED);
	assert_int_equal(parse_rc("{\"keys\":[],\"keys\":[]}"), PJ_ERR_MALFORMED);
	assert_int_equal(parse_rc("{\"keys\":[],}"), PJ_ERR_MALFORMED);
	assert_int_equal(parse_rc("{\"keys\":[]} x"), PJ_ERR_MALFORMED);
	assert_int_equal(parse_rc(""), PJ_ERR_MALFORMED);
	/* Elements that are not objects are dropped, never fatal. */
	set = set_of(4, cJSON_CreateNumber(1), cJSON_CreateString("x"), key(state, "rsa2048"),
	    cJSON_CreateArray());
	assert_int_equal(set->n, 1);
	assert_int_equal(set->dropped, 3);
	pj_jwks_free(set);
	/* A key with duplicate members makes the document malformed. */
	assert_int_equal(parse_rc("{\"keys\":[{\"kty\":\"OKP\",\"kty\":\"OKP\"}]}"), PJ_ERR_MALFORMED);
}

static void
test_drop_is_logged_with_index_and_kid(void **state)
{
	const struct pj_log lg = {NULL, 0, 0, NULL};
	struct pj_jwks *set = NULL;
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "keys");
	char *text, out[4096];
	FILE *tmp = tmpfile();
	int saved;
	size_t n;

	assert_non_null(tmp);
	cJSON_AddItemToArray(arr, key(state, "ec256"));
	cJSON_AddItemToArray(arr, with_str(key(state, "rsa1024"), "kid", "small\x01\"k"));
	cJSON_AddItemToArray(arr, with_str(key(state, "rsa2048_private"), "kid", "leak"));
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	assert_int_equal(pj_jwks_parse(text, strlen(text), &lg, &set), 0);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	free(text);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	assert_int_equal(set->n, 1);
	assert_int_equal(set->dropped, 2);
	pj_jwks_free(set);
	assert_non_null(strstr(out, "key 1 (kid \"small\\x01\\x22k\") dropped: RSA modulus under 2048"));
	assert_non_null(strstr(out, "key 2 (kid \"leak\") dropped:"));
	assert_non_null(strstr(out, "PRIVATE"));
	assert_null(strstr(out, "key 0"));
}

/* ------------------------------------------------------------ choice */

static void
test_choose_by_kid_exact(void **state)
{
	struct pj_jwks *set = set_of(2, with_str(key(state, "rsa2048"), "kid", "a"),
	    with_str(key(state, "ec256"), "kid", "b"));
	const struct pj_jwk *k = NULL;

	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, "a", &k), 0);
	assert_ptr_equal(k, &set->keys[0]);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_ES256, "b", &k), 0);
	assert_ptr_equal(k, &set->keys[1]);
	/* Byte for byte: no case folding, no prefix. */
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, "A", &k), PJ_ERR_UNKNOWN_KID);
	assert_null(k);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, "a ", &k), PJ_ERR_UNKNOWN_KID);
	pj_jwks_free(set);
}

/* Attack: a forged kid is a kid miss, not a fallback to another key. */
static void
test_kid_miss_is_unknown_kid(void **state)
{
	struct pj_jwks *set = set_of(1, with_str(key(state, "rsa2048"), "kid", "k2"));
	const struct pj_jwk *k = NULL;

	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, "k1", &k), PJ_ERR_UNKNOWN_KID);
	assert_null(k);
	assert_int_equal(verify_token(set, fx(state, "jws", "RS256_kid_k1")), PJ_ERR_UNKNOWN_KID);
	pj_jwks_free(set);
	set = set_of(1, with_str(key(state, "rsa2048"), "kid", "k1"));
	assert_int_equal(verify_token(set, fx(state, "jws", "RS256_kid_k1")), 0);
	pj_jwks_free(set);
}

static void
test_kid_match_must_fit(void **state)
{
	struct pj_jwks *set = set_of(2, with_str(key(state, "rsa2048"), "kid", "a"),
	    with_str(with_str(key(state, "ec256"), "kid", "e"), "use", "enc"));
	const struct pj_jwk *k = NULL;

	assert_int_equal(pj_jwks_choose(set, PJ_ALG_ES256, "a", &k), PJ_ERR_NO_KEY);
	/* A key kept for another use is found by its kid and does not fit:
	 * no_key, not a kid miss. */
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_ES256, "e", &k), PJ_ERR_NO_KEY);
	assert_null(k);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_PS512, "a", &k), 0);
	assert_non_null(k);
	pj_jwks_free(set);
}

/* Attack: two keys under one kid; neither is picked. */
static void
test_duplicate_kid_is_no_key(void **state)
{
	struct pj_jwks *set = set_of(2, with_str(key(state, "rsa2048"), "kid", "k1"),
	    with_str(key(state, "rsa_e3"), "kid", "k1"));
	const struct pj_jwk *k = NULL;

	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, "k1", &k), PJ_ERR_NO_KEY);
	assert_null(k);
	assert_int_equal(verify_token(set, fx(state, "jws", "RS256_kid_k1")), PJ_ERR_NO_KEY);
	pj_jwks_free(set);
	/* Even of different types. */
	set = set_of(2, with_str(key(state, "rsa2048"), "kid", "k1"),
	    with_str(key(state, "ec256"), "kid", "k1"));
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_ES256, "k1", &k), PJ_ERR_NO_KEY);
	pj_jwks_free(set);
	/* Twin: the other key dropped (private), the survivor is chosen. */
	set = set_of(2, with_str(key(state, "rsa2048"), "kid", "k1"),
	    with_str(key(state, "rsa2048_private"), "kid", "k1"));
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, "k1", &k), 0);
	assert_int_equal(verify_token(set, fx(state, "jws", "RS256_kid_k1")), 0);
	pj_jwks_free(set);
}

static void
test_choose_without_kid(void **state)
{
	struct pj_jwks *set = set_of(3, with_str(key(state, "rsa2048"), "kid", "a"),
	    key(state, "ec256"), with_str(key(state, "ec384"), "use", "enc"));
	const struct pj_jwk *k = NULL;

	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, NULL, &k), 0);
	assert_ptr_equal(k, &set->keys[0]);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_ES256, NULL, &k), 0);
	assert_ptr_equal(k, &set->keys[1]);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_ES384, NULL, &k), PJ_ERR_NO_KEY);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_EDDSA, NULL, &k), PJ_ERR_NO_KEY);
	assert_int_equal(pj_jwks_choose(set, -1, NULL, &k), PJ_ERR_NO_KEY);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_COUNT, NULL, &k), PJ_ERR_NO_KEY);
	pj_jwks_free(set);
	/* Two keys fit: neither. */
	set = set_of(2, key(state, "rsa2048"), key(state, "rsa_e3"));
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, NULL, &k), PJ_ERR_NO_KEY);
	assert_null(k);
	assert_int_equal(verify_token(set, fx(state, "jws", "RS256")), PJ_ERR_NO_KEY);
	pj_jwks_free(set);
	/* Empty set. */
	set = set_of(0);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, NULL, &k), PJ_ERR_NO_KEY);
	assert_int_equal(pj_jwks_choose(set, PJ_ALG_RS256, "a", &k), PJ_ERR_UNKNOWN_KID);
	pj_jwks_free(set);
}

/* ------------------------------------------------------------ signatures */

static void
test_each_alg_verifies_and_tamper_fails(void **state)
{
	static const char *const algs[] = {
		"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
		"Ed25519",
	};
	struct pj_jwks *set = set_of(5, key(state, "rsa2048"), key(state, "ec256"),
	    key(state, "ec384"), key(state, "ec521"), key(state, "ed25519"));

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const char *tok = fx(state, "jws", algs[i]);
		char *bad = tamper_sig(tok), *badp = strdup(tok);
		int r;

		if ((r = verify_token(set, tok)) != 0)
			fail_msg("%s: %s", algs[i], pj_err_reason(r));
		if ((r = verify_token(set, bad)) != PJ_ERR_BAD_SIGNATURE)
			fail_msg("%s tampered signature: %s", algs[i], pj_err_reason(r));
		/* Change the payload: {"sub":"alice"...} -> another claim set
		 * ("eyJz" -> "eyJ0": {"t...). */
		*(strchr(badp, '.') + 4) = '0';
		if ((r = verify_token(set, badp)) != PJ_ERR_BAD_SIGNATURE)
			fail_msg("%s tampered payload: %s", algs[i], pj_err_reason(r));
		free(bad);
		free(badp);
	}
	pj_jwks_free(set);
}

/* A key whose alg is EdDSA verifies a token whose header says Ed25519, and
 * the other way round; a key for another algorithm fits neither. */
static void
test_ed25519_name_fits_eddsa_key(void **state)
{
	static const char *const names[] = {"EdDSA", "Ed25519"};
	char relabelled[1024];
	const char *tok;
	struct pj_jwks *set;

	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 2; j++) {
			set = set_of(1, with_str(key(state, "ed25519"), "alg", names[i]));
			tok = fx(state, "jws", names[j]);
			if (verify_token(set, tok) != 0)
				fail_msg("key alg %s, token alg %s: refused", names[i], names[j]);
			pj_jwks_free(set);
		}
	/* The header is signed: relabelling one name as the other breaks it. */
	set = set_of(1, key(state, "ed25519"));
	tok = fx(state, "jws", "EdDSA");
	assert_int_equal(verify_token(set, fx(state, "jws", "Ed25519")), 0);
	/* {"alg":"Ed25519"} in front of the EdDSA token's payload and signature. */
	assert_true((size_t)snprintf(relabelled, sizeof(relabelled), "eyJhbGciOiJFZDI1NTE5In0%s",
	    strchr(tok, '.')) < sizeof(relabelled));
	assert_int_equal(verify_token(set, relabelled), PJ_ERR_BAD_SIGNATURE);
	pj_jwks_free(set);
	/* Twin: a key for EdDSA or Ed25519 and an ES256 alg member fit nothing. */
	set = set_of(1, with_str(key(state, "ed25519"), "alg", "ES256"));
	assert_int_equal(verify_token(set, fx(state, "jws", "Ed25519")), PJ_ERR_NO_KEY);
	assert_int_equal(verify_token(set, fx(state, "jws", "EdDSA")), PJ_ERR_NO_KEY);
	pj_jwks_free(set);
}

/* Attack: a 1024-bit RSA key in the set. It is dropped, so its token finds
 * no key at all. */
static void
test_rsa_under_2048_dropped(void **state)
{
	struct pj_jwks *set = set_of(1, key(state, "rsa1024"));

	assert_int_equal(set->n, 0);
	assert_int_equal(verify_token(set, fx(state, "jws", "RS256_rsa1024")), PJ_ERR_NO_KEY);
	pj_jwks_free(set);
	set = set_of(1, key(state, "rsa_e3"));
	assert_int_equal(verify_token(set, fx(state, "jws", "RS256_rsa_e3")), 0);
	pj_jwks_free(set);
}

/* Attack: an EC "key" off its curve (invalid-curve attacks). Usable by
 * its JSON, refused when built. */
static void
test_ec_point_not_on_curve(void **state)
{
	struct pj_jwks *set = set_of(1, key(state, "ec256_offcurve"));

	assert_int_equal(set->n, 1);
	assert_int_equal(verify_token(set, fx(state, "jws", "ES256")), PJ_ERR_NO_KEY);
	pj_jwks_free(set);
	set = set_of(1, key(state, "ec256"));
	assert_int_equal(verify_token(set, fx(state, "jws", "ES256")), 0);
	pj_jwks_free(set);
}

/* Attack: an Ed25519 "key" that is no usable point: of small order (any
 * signature of the right shape verifies for some messages), not on the
 * curve, or not canonical. Usable by its JSON (32 octets), refused when
 * built: no_key, as for an EC point off its curve. */
static void
test_ed25519_point_invalid(void **state)
{
	static const char *const xs[] = {
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* y = 0: order 4 */
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* y = 1: the identity */
		"7P_______________________________________38",	/* y = p - 1: order 2 */
		"AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* y = 2: not on the curve */
		"7v_______________________________________38",	/* y = p + 1: not canonical */
	};
	const char *tok = fx(state, "jws", "EdDSA");
	struct pj_jwks *set;
	struct pj_jws jws;

	assert_int_equal(pj_jws_parse(tok, strlen(tok), &jws), 0);
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		set = set_of(1, with_str(key(state, "ed25519"), "x", xs[i]));
		if (set->n != 1)
			fail_msg("x %s: dropped by its JSON", xs[i]);
		if (verify_token(set, tok) != PJ_ERR_NO_KEY)
			fail_msg("x %s: not no_key", xs[i]);
		/* The all-zero signature, whatever the message. */
		memset(jws.sig, 0, jws.siglen);
		if (pj_sig_verify(PJ_ALG_EDDSA, &set->keys[0], (const uint8_t *)jws.signing_input,
		    jws.signing_input_len, jws.sig, jws.siglen) != PJ_ERR_NO_KEY)
			fail_msg("x %s, zero signature: not no_key", xs[i]);
		pj_jwks_free(set);
	}
	pj_jws_clear(&jws);
	set = set_of(1, key(state, "ed25519"));
	assert_int_equal(verify_token(set, tok), 0);
	pj_jwks_free(set);
}

/* Attack: ES256 must be P-256 (not P-384, not secp256k1). */
static void
test_wrong_curve_for_es256(void **state)
{
	struct pj_jwks *set = set_of(2, key(state, "ec384"), key(state, "secp256k1"));
	const char *tok = fx(state, "jws", "ES384_as_ES256");
	struct pj_sig_key built = {NULL, 0};
	struct pj_jwk forced;
	struct pj_jws jws;

	assert_int_equal(set->n, 1);	/* secp256k1 dropped */
	assert_int_equal(verify_token(set, tok), PJ_ERR_NO_KEY);
	/* Even when handed straight to the signature layer. */
	assert_int_equal(pj_jws_parse(tok, strlen(tok), &jws), 0);
	forced = set->keys[0];
	forced.algs = ALL_ALGS;
	assert_int_equal(pj_sig_verify(PJ_ALG_ES256, &forced, (const uint8_t *)jws.signing_input,
	    jws.signing_input_len, jws.sig, jws.siglen), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_ec_verify(PJ_ALG_ES256, &forced, &built, (const uint8_t *)jws.signing_input,
	    jws.signing_input_len, jws.sig, jws.siglen), PJ_ERR_NO_KEY);
	pj_jws_clear(&jws);
	/* A key already built (as reuse keeps it) is refused all the same. */
	assert_int_equal(pj_jws_parse(fx(state, "jws", "ES384"), strlen(fx(state, "jws", "ES384")), &jws), 0);
	assert_int_equal(pj_sig_verify_with(PJ_ALG_ES384, &set->keys[0], &built,
	    (const uint8_t *)jws.signing_input, jws.signing_input_len, jws.sig, jws.siglen), 0);
	assert_true(pj_sig_key_ready(&built));
	assert_int_equal(pj_sig_ec_verify(PJ_ALG_ES256, &forced, &built, (const uint8_t *)jws.signing_input,
	    jws.signing_input_len, jws.sig, jws.siglen), PJ_ERR_NO_KEY);
	pj_sig_key_clear(&built);
	pj_jws_clear(&jws);
	assert_int_equal(verify_token(set, fx(state, "jws", "ES384")), 0);
	pj_jwks_free(set);
}

/* Attack: CVE-2022-21449, r = s = 0 (and r = n). */
static void
test_psychic_ecdsa_signature(void **state)
{
	struct pj_jwks *set = set_of(1, key(state, "ec256"));

	assert_int_equal(verify_token(set, fx(state, "jws", "ES256_psychic")), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(verify_token(set, fx(state, "jws", "ES256_r_is_n")), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(verify_token(set, fx(state, "jws", "ES256_raw_from_der")), 0);
	pj_jwks_free(set);
}

/* Attack: a DER ECDSA signature is not the JWS form (and its length
 * varies); refused even though it is a valid signature. */
static void
test_der_ecdsa_signature(void **state)
{
	struct pj_jwks *set = set_of(1, key(state, "ec256"));

	assert_int_equal(verify_token(set, fx(state, "jws", "ES256_der")), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(verify_token(set, fx(state, "jws", "ES256_raw_from_der")), 0);
	pj_jwks_free(set);
}

/* Attack: a key of one type used for another algorithm. */
static void
test_key_alg_mismatch(void **state)
{
	struct pj_jwks *set = set_of(4, key(state, "rsa2048"), key(state, "ec256"),
	    key(state, "ec521"), key(state, "ed25519"));
	const struct pj_jwk *rsa = &set->keys[0], *p256 = &set->keys[1], *p521 = &set->keys[2],
	    *ed = &set->keys[3];
	static const uint8_t msg[] = "m";
	uint8_t sig[512];
	struct pj_jwk f;

	memset(sig, 1, sizeof(sig));
	assert_int_equal(pj_sig_verify(PJ_ALG_ES256, rsa, msg, 1, sig, 64), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_RS256, ed, msg, 1, sig, 256), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_EDDSA, p256, msg, 1, sig, 64), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_ES256, p521, msg, 1, sig, 64), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_RS256, p256, msg, 1, sig, 256), PJ_ERR_NO_KEY);
	/* The families check kty and crv on their own, whatever algs says. */
	f = *rsa;
	f.algs = ALL_ALGS;
	assert_int_equal(pj_sig_verify(PJ_ALG_ES256, &f, msg, 1, sig, 64), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_EDDSA, &f, msg, 1, sig, 64), PJ_ERR_NO_KEY);
	f = *ed;
	f.algs = ALL_ALGS;
	assert_int_equal(pj_sig_verify(PJ_ALG_RS256, &f, msg, 1, sig, 256), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_ES256, &f, msg, 1, sig, 64), PJ_ERR_NO_KEY);
	f = *p521;
	f.algs = ALL_ALGS;
	assert_int_equal(pj_sig_verify(PJ_ALG_ES256, &f, msg, 1, sig, 64), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_PS256, &f, msg, 1, sig, 256), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_RS256, NULL, msg, 1, sig, 256), PJ_ERR_NO_KEY);
	assert_int_equal(pj_sig_verify(PJ_ALG_COUNT, rsa, msg, 1, sig, 256), PJ_ERR_NO_KEY);
	/* Twins: the matching pairs get as far as the signature. */
	assert_int_equal(pj_sig_verify(PJ_ALG_RS256, rsa, msg, 1, sig, 256), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(pj_sig_verify(PJ_ALG_ES256, p256, msg, 1, sig, 64), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(pj_sig_verify(PJ_ALG_ES512, p521, msg, 1, sig, 132), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(pj_sig_verify(PJ_ALG_EDDSA, ed, msg, 1, sig, 64), PJ_ERR_BAD_SIGNATURE);
	/* And a signature of the wrong length is bad, not a key problem. */
	assert_int_equal(pj_sig_verify(PJ_ALG_RS256, rsa, msg, 1, sig, 255), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(pj_sig_verify(PJ_ALG_EDDSA, ed, msg, 1, sig, 63), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(pj_sig_verify(PJ_ALG_ES256, p256, msg, 1, sig, 65), PJ_ERR_BAD_SIGNATURE);
	pj_jwks_free(set);
}

/* PS*: MGF1 with the same hash and salt = hash length, nothing else. */
static void
test_pss_parameters_exact(void **state)
{
	struct pj_jwks *set = set_of(1, key(state, "rsa2048"));

	assert_int_equal(verify_token(set, fx(state, "jws", "PS256_salt32")), 0);
	assert_int_equal(verify_token(set, fx(state, "jws", "PS256_salt0")), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(verify_token(set, fx(state, "jws", "PS256_salt64")), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(verify_token(set, fx(state, "jws", "PS256_saltmax")), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(verify_token(set, fx(state, "jws", "PS256_mgf1_sha1")), PJ_ERR_BAD_SIGNATURE);
	pj_jwks_free(set);
}

/* One RSA key, two paddings: an RS256 signature is no PS256 one (and the
 * other way round). */
static void
test_rsa_padding_not_interchangeable(void **state)
{
	struct pj_jwks *set = set_of(1, key(state, "rsa2048"));
	struct pj_jws jws;
	const char *tok = fx(state, "jws", "RS256");

	assert_int_equal(pj_jws_parse(tok, strlen(tok), &jws), 0);
	assert_int_equal(pj_sig_verify(PJ_ALG_RS256, &set->keys[0], (const uint8_t *)jws.signing_input,
	    jws.signing_input_len, jws.sig, jws.siglen), 0);
	assert_int_equal(pj_sig_verify(PJ_ALG_PS256, &set->keys[0], (const uint8_t *)jws.signing_input,
	    jws.signing_input_len, jws.sig, jws.siglen), PJ_ERR_BAD_SIGNATURE);
	assert_int_equal(pj_sig_verify(PJ_ALG_RS384, &set->keys[0], (const uint8_t *)jws.signing_input,
	    jws.signing_input_len, jws.sig, jws.siglen), PJ_ERR_BAD_SIGNATURE);
	pj_jws_clear(&jws);
	tok = fx(state, "jws", "PS256");
	assert_int_equal(pj_jws_parse(tok, strlen(tok), &jws), 0);
	assert_int_equal(pj_sig_verify(PJ_ALG_RS256, &set->keys[0], (const uint8_t *)jws.signing_input,
	    jws.signing_input_len, jws.sig, jws.siglen), PJ_ERR_BAD_SIGNATURE);
	pj_jws_clear(&jws);
	pj_jwks_free(set);
}

/* ------------------------------------------------------------ RFC examples */

static struct pj_jwks *
rfc_set(const char *base)
{
	char rel[256], *jwk, *doc;
	struct pj_jwks *set = NULL;
	size_t len;

	snprintf(rel, sizeof(rel), "rfc/%s.jwk", base);
	jwk = slurp(rel, &len);
	doc = malloc(len + 16);
	assert_non_null(doc);
	snprintf(doc, len + 16, "{\"keys\":[%s]}", jwk);
	assert_int_equal(pj_jwks_parse(doc, strlen(doc), NULL, &set), 0);
	assert_int_equal(set->n, 1);
	free(jwk);
	free(doc);
	return set;
}

/* json_payload: the payload is a JWT claim set (RFC 7515 A.2, A.3), so the
 * whole of steps 1-4 runs; RFC 7520 and RFC 8037 sign text, which step 1
 * refuses for a JWT (malformed), so steps 2-4 run on it. */
static void
rfc_example(const char *base, int alg, int json_payload)
{
	char rel[256], *tok, *bad;
	struct pj_jwks *set = rfc_set(base);
	struct pj_jws jws;

	snprintf(rel, sizeof(rel), "rfc/%s.jws", base);
	tok = slurp(rel, NULL);
	bad = tamper_sig(tok);
	if (json_payload) {
		assert_int_equal(verify_token(set, tok), 0);
		assert_int_equal(verify_token(set, bad), PJ_ERR_BAD_SIGNATURE);
		assert_int_equal(pj_jws_parse(tok, strlen(tok), &jws), 0);
		assert_int_equal(pj_jws_check_header(&jws, ALL_ALGS), 0);
		assert_int_equal(jws.alg, alg);
		pj_jws_clear(&jws);
		/* Not allowed by configuration: refused before any key. */
		assert_int_equal(pj_jws_parse(tok, strlen(tok), &jws), 0);
		assert_int_equal(pj_jws_check_header(&jws, ALL_ALGS & ~PJ_ALG_BIT(alg)),
		    PJ_ERR_ALG_NOT_ALLOWED);
		pj_jws_clear(&jws);
	} else
		assert_int_equal(verify_token(set, tok), PJ_ERR_MALFORMED);
	assert_int_equal(verify_lower(set, tok), 0);
	assert_int_equal(verify_lower(set, bad), PJ_ERR_BAD_SIGNATURE);
	free(tok);
	free(bad);
	pj_jwks_free(set);
}

static void
test_rfc7515_a2_rs256(void **state)
{
	rfc_example("rfc7515_A.2", PJ_ALG_RS256, 1);
}

static void
test_rfc7515_a3_es256(void **state)
{
	rfc_example("rfc7515_A.3", PJ_ALG_ES256, 1);
}

static void
test_rfc8037_a4_eddsa(void **state)
{
	rfc_example("rfc8037_A.4", PJ_ALG_EDDSA, 0);
}

static void
test_rfc7520_4_1_rs256(void **state)
{
	rfc_example("rfc7520_4.1", PJ_ALG_RS256, 0);
}

static void
test_rfc7520_4_2_ps384(void **state)
{
	rfc_example("rfc7520_4.2", PJ_ALG_PS384, 0);
}

static void
test_rfc7520_4_3_es512(void **state)
{
	rfc_example("rfc7520_4.3", PJ_ALG_ES512, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kty_rsa_ec_okp_only),
		cmocka_unit_test(test_rsa_modulus_at_least_2048_bits),
		cmocka_unit_test(test_rsa_modulus_no_leading_zero),
		cmocka_unit_test(test_rsa_exponent_odd_at_least_3),
		cmocka_unit_test(test_ec_curves_p256_p384_p521_only),
		cmocka_unit_test(test_ec_coordinates_exact_size),
		cmocka_unit_test(test_okp_ed25519_only),
		cmocka_unit_test(test_private_members_dropped),
		cmocka_unit_test(test_noncanonical_base64url_dropped),
		cmocka_unit_test(test_kid_non_empty_string),
		cmocka_unit_test(test_use_absent_or_sig),
		cmocka_unit_test(test_key_ops_holds_verify),
		cmocka_unit_test(test_alg_member_narrows),
		cmocka_unit_test(test_algs_per_key_type),
		cmocka_unit_test(test_document_shape),
		cmocka_unit_test(test_drop_is_logged_with_index_and_kid),
		cmocka_unit_test(test_choose_by_kid_exact),
		cmocka_unit_test(test_kid_miss_is_unknown_kid),
		cmocka_unit_test(test_kid_match_must_fit),
		cmocka_unit_test(test_duplicate_kid_is_no_key),
		cmocka_unit_test(test_choose_without_kid),
		cmocka_unit_test(test_each_alg_verifies_and_tamper_fails),
		cmocka_unit_test(test_ed25519_name_fits_eddsa_key),
		cmocka_unit_test(test_rsa_under_2048_dropped),
		cmocka_unit_test(test_ec_point_not_on_curve),
		cmocka_unit_test(test_ed25519_point_invalid),
		cmocka_unit_test(test_wrong_curve_for_es256),
		cmocka_unit_test(test_psychic_ecdsa_signature),
		cmocka_unit_test(test_der_ecdsa_signature),
		cmocka_unit_test(test_key_alg_mismatch),
		cmocka_unit_test(test_pss_parameters_exact),
		cmocka_unit_test(test_rsa_padding_not_interchangeable),
		cmocka_unit_test(test_rfc7515_a2_rs256),
		cmocka_unit_test(test_rfc7515_a3_es256),
		cmocka_unit_test(test_rfc8037_a4_eddsa),
		cmocka_unit_test(test_rfc7520_4_1_rs256),
		cmocka_unit_test(test_rfc7520_4_2_ps384),
		cmocka_unit_test(test_rfc7520_4_3_es512),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
