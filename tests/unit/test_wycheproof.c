/*
 * Wycheproof vectors (tests/wycheproof/, see its README.md) through the key
 * and signature layers: every "invalid" must fail, every "valid" must verify
 * unless refused by design (counted and listed), every "acceptable" gets a
 * printed verdict. The vector files are large trusted test data: read with
 * cJSON directly. One test per file; a failing vector names its tcId.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#define LIST_MAX 1024

/* tcIds, printed as ranges. */
struct ids {
	int v[LIST_MAX];
	size_t n;
};

static void
note_id(struct ids *l, int id)
{
	if (l->n < LIST_MAX)
		l->v[l->n++] = id;
}

static void
print_ids(const char *what, const struct ids *l)
{
	size_t i = 0;

	if (l->n == 0)
		return;
	printf("#   %s: tcId", what);
	while (i < l->n) {
		size_t j = i;

		while (j + 1 < l->n && l->v[j + 1] == l->v[j] + 1)
			j++;
		if (j > i)
			printf(" %d-%d", l->v[i], l->v[j]);
		else
			printf(" %d", l->v[i]);
		i = j + 1;
	}
	printf("\n");
}

struct tally {
	unsigned valid_ok;		/* valid, verified */
	unsigned invalid_rejected;	/* invalid, refused */
	unsigned design;		/* valid, refused by design */
	unsigned acc_yes, acc_no;	/* acceptable: accepted, refused */
	unsigned failures;
	struct ids design_ids;		/* tcIds refused by design */
	struct ids ok_ids;		/* valid tcIds verified */
};

static cJSON *
load(const char *file)
{
	char path[4096];
	FILE *f;
	char *buf;
	long len;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/wycheproof/%s", PJ_TEST_DATA, file);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	j = cJSON_ParseWithLength(buf, (size_t)len);
	free(buf);
	assert_non_null(j);
	return j;
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* Hex to a new buffer (never NULL, so that empty messages work). */
static uint8_t *
unhex(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *b = malloc(cap);

	assert_non_null(b);
	if (sodium_hex2bin(b, cap, hex, strlen(hex), NULL, len, NULL) != 0)
		fail_msg("bad hex in vector file");
	return b;
}

/* An ASN.1-style hex integer (maybe a leading 00, maybe short) as exactly
 * size octets, big-endian. */
static uint8_t *
unhex_fixed(const char *hex, size_t size)
{
	size_t n = 0, skip = 0;
	uint8_t *raw = unhex(hex, &n), *out = calloc(1, size);

	assert_non_null(out);
	while (n - skip > size && raw[skip] == 0)
		skip++;
	assert_true(n - skip <= size);
	memcpy(out + size - (n - skip), raw + skip, n - skip);
	free(raw);
	return out;
}

/* Unsigned big-endian without leading zero octets (an RSA n or e). */
static uint8_t *
unhex_unsigned(const char *hex, size_t *len)
{
	size_t n = 0, skip = 0;
	uint8_t *raw = unhex(hex, &n), *out;

	while (skip < n && raw[skip] == 0)
		skip++;
	out = malloc(n - skip + 1);
	assert_non_null(out);
	memcpy(out, raw + skip, n - skip);
	*len = n - skip;
	free(raw);
	return out;
}

static void
key_clear(struct pj_jwk *k)
{
	free(k->a);
	free(k->b);
	memset(k, 0, sizeof(*k));
}

/* The JWK layer's view of one key (a JWK object): kept or not; when kept,
 * its bytes must be the ones the test took from the hex. */
static int
jwk_usable(const cJSON *jwk, const struct pj_jwk *direct)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "keys");
	struct pj_jwks *set = NULL;
	char *text;
	int usable;

	cJSON_AddItemToArray(arr, cJSON_Duplicate(jwk, 1));
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	assert_int_equal(pj_jwks_parse(text, strlen(text), NULL, &set), 0);
	free(text);
	usable = set->n == 1;
	if (usable && direct != NULL) {
		const struct pj_jwk *k = &set->keys[0];

		assert_int_equal(k->kty, direct->kty);
		assert_int_equal(k->crv, direct->crv);
		assert_int_equal(k->alen, direct->alen);
		assert_memory_equal(k->a, direct->a, k->alen);
		assert_int_equal(k->blen, direct->blen);
		if (k->blen > 0)
			assert_memory_equal(k->b, direct->b, k->blen);
		assert_true((k->algs & direct->algs) != 0);
	}
	pj_jwks_free(set);
	return usable;
}

/* An RSA public JWK from bytes (libsodium's encoder, not ours). */
static cJSON *
rsa_jwk(const struct pj_jwk *k)
{
	cJSON *j = cJSON_CreateObject();
	char n[4096], e[64];

	sodium_bin2base64(n, sizeof(n), k->a, k->alen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(e, sizeof(e), k->b, k->blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	cJSON_AddStringToObject(j, "kty", "RSA");
	cJSON_AddStringToObject(j, "n", n);
	cJSON_AddStringToObject(j, "e", e);
	return j;
}

/* An EC public JWK from bytes, for groups the file gives none. */
static cJSON *
ec_jwk(const struct pj_jwk *k, const char *crv)
{
	cJSON *j = cJSON_CreateObject();
	char x[128], y[128];

	sodium_bin2base64(x, sizeof(x), k->a, k->alen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(y, sizeof(y), k->b, k->blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	cJSON_AddStringToObject(j, "kty", "EC");
	cJSON_AddStringToObject(j, "crv", crv);
	cJSON_AddStringToObject(j, "x", x);
	cJSON_AddStringToObject(j, "y", y);
	return j;
}

static void
report(const char *file, const struct tally *t, const char *design_why)
{
	printf("# %s: valid verified %u / invalid rejected %u / refused by design %u / "
	    "acceptable: accepted %u, rejected %u\n", file, t->valid_ok, t->invalid_rejected,
	    t->design, t->acc_yes, t->acc_no);
	if (t->design > 0) {
		char what[256];

		snprintf(what, sizeof(what), "valid but refused by design (%s)", design_why);
		print_ids(what, &t->design_ids);
	}
	fflush(stdout);
}

/* One vector through pj_sig_verify; by_design: its "valid" must fail. */
static void
run_vector(const char *file, const cJSON *t, int alg, const struct pj_jwk *key, int by_design,
    struct tally *ty)
{
	const char *result = str(t, "result");
	size_t mlen = 0, slen = 0;
	uint8_t *msg = unhex(str(t, "msg"), &mlen), *sig = unhex(str(t, "sig"), &slen);
	int id = num(t, "tcId");
	int r = pj_sig_verify(alg, key, msg, mlen, sig, slen);

	if (strcmp(result, "valid") == 0) {
		if (by_design) {
			if (r == 0) {
				printf("# FAIL %s tcId %d: valid vector outside JWA verified\n", file, id);
				ty->failures++;
			} else {
				ty->design++;
				note_id(&ty->design_ids, id);
			}
		} else if (r == 0) {
			ty->valid_ok++;
			note_id(&ty->ok_ids, id);
		} else {
			printf("# FAIL %s tcId %d (%s): valid vector refused: %s\n", file, id,
			    str(t, "comment"), pj_err_reason(r));
			ty->failures++;
		}
	} else if (strcmp(result, "invalid") == 0) {
		if (r != 0)
			ty->invalid_rejected++;
		else {
			printf("# FAIL %s tcId %d (%s): invalid vector verified\n", file, id,
			    str(t, "comment"));
			ty->failures++;
		}
	} else {
		const cJSON *flags = cJSON_GetObjectItemCaseSensitive(t, "flags");
		char *f = cJSON_PrintUnformatted(flags);

		/* Either verdict is allowed; the line says which one we take. */
		printf("# %s tcId %d acceptable %s (%s): %s\n", file, id, f ? f : "[]",
		    str(t, "comment"), r == 0 ? "accepted" : "rejected");
		free(f);
		if (r == 0)
			ty->acc_yes++;
		else
			ty->acc_no++;
	}
	free(msg);
	free(sig);
}

/* ------------------------------------------------------------ ECDSA */

static void
run_ecdsa(const char *file, int alg, int crv, const char *crvname, size_t size, int k1)
{
	cJSON *doc = load(file);
	const cJSON *g, *t;
	struct tally ty;

	memset(&ty, 0, sizeof(ty));
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "testGroups")) {
		const cJSON *pk = cJSON_GetObjectItemCaseSensitive(g, "publicKey");
		struct pj_jwk key;
		cJSON *jwk;
		int usable;

		memset(&key, 0, sizeof(key));
		key.kty = PJ_KTY_EC;
		key.crv = crv;
		key.algs = PJ_ALG_BIT(alg);
		key.a = unhex_fixed(str(pk, "wx"), size);
		key.b = unhex_fixed(str(pk, "wy"), size);
		key.alen = key.blen = size;
		if ((jwk = cJSON_GetObjectItemCaseSensitive(g, "publicKeyJwk")) != NULL)
			usable = jwk_usable(jwk, &key);
		else {
			jwk = ec_jwk(&key, crvname);
			usable = jwk_usable(jwk, &key);
			cJSON_Delete(jwk);
		}
		/* secp256k1 (ES256K) is not ES256: the JWK layer drops it, and
		 * the same point labelled P-256 is off that curve. */
		if (k1)
			assert_false(usable);
		else
			assert_true(usable);
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g, "tests"))
			run_vector(file, t, alg, &key, k1, &ty);
		key_clear(&key);
	}
	report(file, &ty, "secp256k1 key: dropped by the JWK layer, and off P-256 as an ES256 key");
	cJSON_Delete(doc);
	if (ty.failures > 0)
		fail_msg("%u vector(s) failed in %s", ty.failures, file);
}

static void
test_ecdsa_secp256r1_sha256_p1363(void **state)
{
	run_ecdsa("ecdsa_secp256r1_sha256_p1363_test.json", PJ_ALG_ES256, PJ_CRV_P256, "P-256", 32, 0);
}

static void
test_ecdsa_secp384r1_sha384_p1363(void **state)
{
	run_ecdsa("ecdsa_secp384r1_sha384_p1363_test.json", PJ_ALG_ES384, PJ_CRV_P384, "P-384", 48, 0);
}

static void
test_ecdsa_secp521r1_sha512_p1363(void **state)
{
	run_ecdsa("ecdsa_secp521r1_sha512_p1363_test.json", PJ_ALG_ES512, PJ_CRV_P521, "P-521", 66, 0);
}

static void
test_ecdsa_secp256k1_refused_for_es256(void **state)
{
	run_ecdsa("ecdsa_secp256k1_sha256_p1363_test.json", PJ_ALG_ES256, PJ_CRV_P256, "secp256k1", 32, 1);
}

/* ------------------------------------------------------------ EdDSA */

static void
test_ed25519(void **state)
{
	const char *file = "ed25519_test.json";
	cJSON *doc = load(file);
	const cJSON *g, *t;
	struct tally ty;

	memset(&ty, 0, sizeof(ty));
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "testGroups")) {
		const cJSON *pk = cJSON_GetObjectItemCaseSensitive(g, "publicKey");
		struct pj_jwk key;

		memset(&key, 0, sizeof(key));
		key.kty = PJ_KTY_OKP;
		key.crv = PJ_CRV_ED25519;
		key.algs = PJ_ALG_BIT(PJ_ALG_EDDSA);
		key.a = unhex(str(pk, "pk"), &key.alen);
		assert_int_equal(key.alen, 32);
		assert_true(jwk_usable(cJSON_GetObjectItemCaseSensitive(g, "publicKeyJwk"), &key));
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g, "tests"))
			run_vector(file, t, PJ_ALG_EDDSA, &key, 0, &ty);
		key_clear(&key);
	}
	report(file, &ty, "-");
	cJSON_Delete(doc);
	if (ty.failures > 0)
		fail_msg("%u vector(s) failed in %s", ty.failures, file);
}

/* ------------------------------------------------------------ RSA */

static int
hash_len(const char *sha)
{
	if (sha == NULL)
		return -1;
	if (strcmp(sha, "SHA-256") == 0)
		return 32;
	if (strcmp(sha, "SHA-384") == 0)
		return 48;
	if (strcmp(sha, "SHA-512") == 0)
		return 64;
	return -1;	/* SHA-1, SHA-224, ...: no JWS algorithm */
}

/*
 * RSA keys under 2048 bits are refused by the JWK layer, not here: the
 * signature layer verifies what it is given. Each group's key also goes
 * through pj_jwks_parse; a group it drops would have its "valid" vectors
 * counted as refused by design (no file here has one).
 */
static void
run_rsa(const char *file, int pss)
{
	cJSON *doc = load(file);
	const cJSON *g, *t;
	struct tally ty;
	unsigned dropped_groups = 0, nonjwa_groups = 0;

	memset(&ty, 0, sizeof(ty));
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "testGroups")) {
		const cJSON *pk = cJSON_GetObjectItemCaseSensitive(g, "publicKey");
		const char *sha = str(g, "sha");
		int hl = hash_len(sha), alg, by_design = 0;
		struct pj_jwk key;
		cJSON *jwk;

		if (hl < 0) {
			/* No JWS algorithm hashes with SHA-1 or SHA-224: run as
			 * PS256 anyway, every vector must fail. */
			assert_true(pss);
			alg = PJ_ALG_PS256;
			by_design = 1;
		} else if (pss) {
			alg = hl == 32 ? PJ_ALG_PS256 : hl == 48 ? PJ_ALG_PS384 : PJ_ALG_PS512;
			/* JWA: MGF1 with the same hash, salt = hash length. Our
			 * layer always uses those, so other groups' "valid"
			 * vectors fail by design. */
			if (strcmp(str(g, "mgf"), "MGF1") != 0 || strcmp(str(g, "mgfSha"), sha) != 0 ||
			    num(g, "sLen") != hl)
				by_design = 1;
		} else
			alg = hl == 32 ? PJ_ALG_RS256 : hl == 48 ? PJ_ALG_RS384 : PJ_ALG_RS512;
		if (by_design)
			nonjwa_groups++;
		memset(&key, 0, sizeof(key));
		key.kty = PJ_KTY_RSA;
		key.algs = PJ_ALG_BIT(alg);
		key.a = unhex_unsigned(str(pk, "modulus"), &key.alen);
		key.b = unhex_unsigned(str(pk, "publicExponent"), &key.blen);
		jwk = rsa_jwk(&key);
		if (!jwk_usable(jwk, &key)) {
			dropped_groups++;
			by_design = 1;
		}
		cJSON_Delete(jwk);
		/* The file's own JWK, when it has one, must be usable too. */
		if ((jwk = cJSON_GetObjectItemCaseSensitive(g, pss ? "publicKeyJwk" : "keyJwk")) != NULL)
			assert_true(jwk_usable(jwk, NULL));
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g, "tests"))
			run_vector(file, t, alg, &key, by_design, &ty);
		key_clear(&key);
	}
	printf("# %s: groups outside JWA parameters %u; keys dropped by the JWK layer "
	    "(under 2048 bits, ...) %u\n", file, nonjwa_groups, dropped_groups);
	report(file, &ty, pss ? "PSS parameters other than JWA's (hash, MGF1 hash, salt length)" :
	    "key dropped by the JWK layer");
	if (nonjwa_groups > 0)
		print_ids("valid and verified (the groups with JWA parameters)", &ty.ok_ids);
	cJSON_Delete(doc);
	if (ty.failures > 0)
		fail_msg("%u vector(s) failed in %s", ty.failures, file);
}

/*
 * "acceptable" in the PKCS#1 files is MissingNull (a DigestInfo without the
 * NULL parameters): OpenSSL's PKCS#1 v1.5 verifier re-encodes the
 * DigestInfo with NULL and compares, so we reject it (RFC 8017 9.2 note:
 * verifiers should accept both, JWS implementations need not).
 */
static void
test_rsa_signature_2048_sha256(void **state)
{
	run_rsa("rsa_signature_2048_sha256_test.json", 0);
}

static void
test_rsa_signature_2048_sha384(void **state)
{
	run_rsa("rsa_signature_2048_sha384_test.json", 0);
}

static void
test_rsa_signature_2048_sha512(void **state)
{
	run_rsa("rsa_signature_2048_sha512_test.json", 0);
}

static void
test_rsa_signature_3072_sha256(void **state)
{
	run_rsa("rsa_signature_3072_sha256_test.json", 0);
}

static void
test_rsa_signature_4096_sha256(void **state)
{
	run_rsa("rsa_signature_4096_sha256_test.json", 0);
}

static void
test_rsa_signature_4096_sha512(void **state)
{
	run_rsa("rsa_signature_4096_sha512_test.json", 0);
}

static void
test_rsa_pss_2048_sha256_mgf1_32(void **state)
{
	run_rsa("rsa_pss_2048_sha256_mgf1_32_test.json", 1);
}

static void
test_rsa_pss_3072_sha256_mgf1_32(void **state)
{
	run_rsa("rsa_pss_3072_sha256_mgf1_32_test.json", 1);
}

static void
test_rsa_pss_4096_sha384_mgf1_48(void **state)
{
	run_rsa("rsa_pss_4096_sha384_mgf1_48_test.json", 1);
}

static void
test_rsa_pss_4096_sha512_mgf1_64(void **state)
{
	run_rsa("rsa_pss_4096_sha512_mgf1_64_test.json", 1);
}

static void
test_rsa_pss_misc(void **state)
{
	run_rsa("rsa_pss_misc_test.json", 1);
}

/* ------------------------------------------------------------ JOSE files */

/* Steps 1 to 4, the module's order. */
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
 * The same without requiring the payload to be a JSON object (these files'
 * payloads are "foo", binary, or empty: not JWT claim sets): three
 * canonical base64url segments, the header through the strict JSON pass and
 * pj_jws_check_header, key choice, signature. *payload_object tells whether
 * step 1 would have accepted the payload.
 */
static int
verify_lower(const struct pj_jwks *set, const char *tok, int *payload_object)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	struct pj_jws jws;
	const struct pj_jwk *k = NULL;
	uint8_t *hdr = NULL, *pay = NULL;
	size_t hlen = 0, plen = 0;
	cJSON *pj = NULL;
	int r;

	*payload_object = 0;
	memset(&jws, 0, sizeof(jws));
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return PJ_ERR_MALFORMED;
	if ((r = pj_b64url_decode(tok, (size_t)(d1 - tok), 65536, &hdr, &hlen)) != 0 ||
	    (r = pj_json_parse((const char *)hdr, hlen, 1, &jws.header)) != 0 ||
	    (r = pj_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), 65536, &pay, &plen)) != 0 ||
	    (r = pj_b64url_decode(d2 + 1, strlen(d2 + 1), 65536, &jws.sig, &jws.siglen)) != 0) {
		r = r == PJ_ERR_NOMEM ? r : PJ_ERR_MALFORMED;
		goto out;
	}
	*payload_object = pj_json_parse((const char *)pay, plen, 1, &pj) == 0;
	jws.signing_input = tok;
	jws.signing_input_len = (size_t)(d2 - tok);
	if ((r = pj_jws_check_header(&jws, ALL_ALGS)) == 0 &&
	    (r = pj_jwks_choose(set, jws.alg, jws.kid, &k)) == 0)
		r = pj_sig_verify(jws.alg, k, (const uint8_t *)jws.signing_input,
		    jws.signing_input_len, jws.sig, jws.siglen);
out:
	cJSON_Delete(pj);
	free(hdr);
	free(pay);
	pj_jws_clear(&jws);
	return r;
}

/* The token's header alg, decoded independently (libsodium), or "". */
static void
header_alg(const char *tok, char *out, size_t cap)
{
	const char *d1 = strchr(tok, '.');
	char buf[4096];
	size_t n = 0;
	cJSON *h;

	out[0] = '\0';
	if (d1 == NULL || sodium_base642bin((unsigned char *)buf, sizeof(buf) - 1, tok,
	    (size_t)(d1 - tok), NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return;
	buf[n] = '\0';
	if ((h = cJSON_Parse(buf)) != NULL) {
		const char *a = str(h, "alg");

		if (a != NULL)
			snprintf(out, cap, "%s", a);
		cJSON_Delete(h);
	}
}

/* Vectors whose "invalid" verdict we reach only through a later rule. */
static const struct {
	const char *file;
	int id;
	const char *why;
} known[] = {
	{"json_web_key_test.json", 7, "ROCA-weak RSA key: no ROCA fingerprint check (not a key rule "
	    "of pam_jwt(8), KEYS); its signature verifies at steps 2-4, and the token is refused at "
	    "step 1 only because its payload is not a JSON object"},
};

/* json_web_key_test.json: the key rule each of its key cases hits. */
static const struct {
	int id;
	int want;	/* steps 2-4 */
} key_cases[] = {
	{6, PJ_ERR_NO_KEY},		/* use "enc", alg RSA1_5: kept, fits nothing */
	{8, PJ_ERR_UNKNOWN_KID},	/* 1024-bit RSA: dropped */
	{9, PJ_ERR_UNKNOWN_KID},	/* e = 1: dropped */
	{19, PJ_ERR_NO_KEY},		/* alg ES521 on P-256 */
	{20, PJ_ERR_NO_KEY},		/* alg ES224 */
	{21, PJ_ERR_NO_KEY},		/* use "enc" */
	{22, PJ_ERR_NO_KEY},		/* point off the curve: refused when built */
	{23, PJ_ERR_UNKNOWN_KID},	/* P-384 with 32-octet x, y: dropped */
	{24, PJ_ERR_UNKNOWN_KID},	/* kty RSA with x, y: no n, dropped */
};

static const char *
known_gap(const char *file, int id)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].file, file) == 0 && known[i].id == id)
			return known[i].why;
	return NULL;
}

struct jose_tally {
	unsigned valid_full;		/* valid, whole JWT path */
	unsigned valid_lower;		/* valid at steps 2-4, payload not a JSON object */
	unsigned invalid_rejected;
	unsigned gaps;
	unsigned failures;
	/* Invalid for pam_jwt by design, whatever the file says (README). */
	unsigned hs, json_ser, secret, key_alg;
	unsigned hs_valid, json_ser_valid, secret_valid, key_alg_valid;
	struct ids ids_hs, ids_json, ids_secret, ids_keyalg, ids_lower;
};

enum design { D_NONE, D_JSON_SER, D_HS, D_SECRET };

/* A group given only a symmetric key (kty oct): an HS* group. */
static int
symmetric_only(const cJSON *priv, int keysets)
{
	const cJSON *k = keysets ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(priv, "keys"), 0) :
	    priv;
	const char *kty = str(k, "kty");

	return kty != NULL && strcmp(kty, "oct") == 0;
}

static void
run_jose(const char *file, int keysets)
{
	cJSON *doc = load(file);
	const cJSON *g, *t;
	struct jose_tally ty;

	memset(&ty, 0, sizeof(ty));
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "testGroups")) {
		const cJSON *pub = cJSON_GetObjectItemCaseSensitive(g, "public");
		const cJSON *src = pub != NULL ? pub : cJSON_GetObjectItemCaseSensitive(g, "private");
		const char *key_alg = NULL;
		struct pj_jwks *set = NULL;
		cJSON *doc_keys;
		char *text;

		/* The public key(s) when given; else the private or symmetric
		 * one(s), which the JWK layer must drop. */
		if (keysets) {
			doc_keys = cJSON_Duplicate(src, 1);
		} else {
			doc_keys = cJSON_CreateObject();
			cJSON_AddItemToArray(cJSON_AddArrayToObject(doc_keys, "keys"),
			    cJSON_Duplicate(src, 1));
			key_alg = str(src, "alg");
		}
		text = cJSON_PrintUnformatted(doc_keys);
		cJSON_Delete(doc_keys);
		assert_int_equal(pj_jwks_parse(text, strlen(text), NULL, &set), 0);
		free(text);

		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g, "tests")) {
			const char *tok = str(t, "jws"), *result = str(t, "result"), *gap;
			int id = num(t, "tcId"), obj = 0, full, lower;
			int valid = strcmp(result, "valid") == 0;
			enum design d = D_NONE;
			char alg[64];

			header_alg(tok, alg, sizeof(alg));
			if (tok[0] == '{')
				d = D_JSON_SER;
			else if (strncmp(alg, "HS", 2) == 0 || (pub == NULL && symmetric_only(src, keysets)))
				d = D_HS;
			else if (pub == NULL)
				d = D_SECRET;
			switch (d) {
			case D_JSON_SER:
				ty.json_ser++;
				ty.json_ser_valid += valid;
				note_id(&ty.ids_json, id);
				break;
			case D_HS:
				ty.hs++;
				ty.hs_valid += valid;
				note_id(&ty.ids_hs, id);
				break;
			case D_SECRET:
				ty.secret++;
				ty.secret_valid += valid;
				note_id(&ty.ids_secret, id);
				break;
			case D_NONE:
				break;
			}
			full = verify_token(set, tok);
			lower = verify_lower(set, tok, &obj);
			/* What steps 1-4 accept, steps 2-4 accept. */
			if (full == 0 && lower != 0) {
				printf("# FAIL %s tcId %d: layers disagree\n", file, id);
				ty.failures++;
			}
			if (d != D_NONE) {
				if (full == 0 || lower == 0) {
					printf("# FAIL %s tcId %d: accepted although invalid by design\n",
					    file, id);
					ty.failures++;
				}
				continue;
			}
			if (keysets) {
				for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++)
					if (key_cases[i].id == id && lower != key_cases[i].want) {
						printf("# FAIL %s tcId %d (%s): %s, want %s\n", file, id,
						    str(g, "comment"), pj_err_reason(lower),
						    pj_err_reason(key_cases[i].want));
						ty.failures++;
					}
				printf("# %s tcId %d %s (%s): steps 2-4 %s, whole %s\n", file, id, result,
				    str(g, "comment"), pj_err_reason(lower), pj_err_reason(full));
			}
			if (!valid) {
				if (full == 0) {
					printf("# FAIL %s tcId %d (%s): invalid token accepted\n", file,
					    id, str(t, "comment"));
					ty.failures++;
				} else if (lower == 0 && (gap = known_gap(file, id)) != NULL) {
					printf("# KNOWN %s tcId %d: %s\n", file, id, gap);
					ty.gaps++;
				} else if (lower == 0) {
					printf("# FAIL %s tcId %d (%s): invalid signature verified at "
					    "steps 2-4\n", file, id, str(t, "comment"));
					ty.failures++;
				} else
					ty.invalid_rejected++;
				continue;
			}
			/* valid (these files have no "acceptable") */
			if (key_alg != NULL && strcmp(key_alg, alg) != 0) {
				/* The key says "alg": "PS256" (or "ES521") and the
				 * token PS384 (ES512): the key does not fit (pam_jwt(8),
				 * KEYS: "alg is absent or equal"). */
				if (full == 0 || lower != PJ_ERR_NO_KEY) {
					printf("# FAIL %s tcId %d: key alg %s, token %s: got %s\n",
					    file, id, key_alg, alg, pj_err_reason(lower));
					ty.failures++;
				} else {
					ty.key_alg++;
					ty.key_alg_valid++;
					note_id(&ty.ids_keyalg, id);
				}
			} else if (lower != 0) {
				printf("# FAIL %s tcId %d (%s): valid token refused at steps 2-4: %s\n",
				    file, id, str(t, "comment"), pj_err_reason(lower));
				ty.failures++;
			} else if (obj) {
				if (full == 0)
					ty.valid_full++;
				else {
					printf("# FAIL %s tcId %d: valid JWT refused: %s\n", file, id,
					    pj_err_reason(full));
					ty.failures++;
				}
			} else if (full != PJ_ERR_MALFORMED) {
				printf("# FAIL %s tcId %d: non-object payload gave %s\n", file, id,
				    pj_err_reason(full));
				ty.failures++;
			} else {
				ty.valid_lower++;
				note_id(&ty.ids_lower, id);
			}
		}
		pj_jwks_free(set);
	}
	printf("# %s: valid verified as a JWT %u / valid verified at steps 2-4, payload not a "
	    "JSON object so refused at step 1 %u / invalid rejected %u / known gaps %u\n", file,
	    ty.valid_full, ty.valid_lower, ty.invalid_rejected, ty.gaps);
	printf("# %s: invalid for pam_jwt by design, all rejected: HS* or symmetric key %u (of them \"valid\" %u), "
	    "JSON serialization %u (valid %u), only a private or symmetric key given %u (valid %u), "
	    "key's alg member names another alg %u (valid %u)\n", file, ty.hs, ty.hs_valid,
	    ty.json_ser, ty.json_ser_valid, ty.secret, ty.secret_valid, ty.key_alg,
	    ty.key_alg_valid);
	print_ids("valid at steps 2-4, payload not a JWT claim set", &ty.ids_lower);
	print_ids("by design, HS* or an HS* group's symmetric key", &ty.ids_hs);
	print_ids("by design, JSON serialization", &ty.ids_json);
	print_ids("by design, private or symmetric key only", &ty.ids_secret);
	print_ids("by design, key alg member mismatch", &ty.ids_keyalg);
	fflush(stdout);
	cJSON_Delete(doc);
	if (ty.failures > 0)
		fail_msg("%u case(s) failed in %s", ty.failures, file);
}

static void
test_json_web_signature(void **state)
{
	run_jose("json_web_signature_test.json", 0);
}

static void
test_json_web_key(void **state)
{
	run_jose("json_web_key_test.json", 1);
}

static int
group_setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa_secp256r1_sha256_p1363),
		cmocka_unit_test(test_ecdsa_secp384r1_sha384_p1363),
		cmocka_unit_test(test_ecdsa_secp521r1_sha512_p1363),
		cmocka_unit_test(test_ecdsa_secp256k1_refused_for_es256),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_rsa_signature_2048_sha256),
		cmocka_unit_test(test_rsa_signature_2048_sha384),
		cmocka_unit_test(test_rsa_signature_2048_sha512),
		cmocka_unit_test(test_rsa_signature_3072_sha256),
		cmocka_unit_test(test_rsa_signature_4096_sha256),
		cmocka_unit_test(test_rsa_signature_4096_sha512),
		cmocka_unit_test(test_rsa_pss_2048_sha256_mgf1_32),
		cmocka_unit_test(test_rsa_pss_3072_sha256_mgf1_32),
		cmocka_unit_test(test_rsa_pss_4096_sha384_mgf1_48),
		cmocka_unit_test(test_rsa_pss_4096_sha512_mgf1_64),
		cmocka_unit_test(test_rsa_pss_misc),
		cmocka_unit_test(test_json_web_signature),
		cmocka_unit_test(test_json_web_key),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
