#include "config.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "alg.h"
#include "err.h"
#include "sig.h"

#define EC_MAX 66	/* P-521 field and order size in octets */

static const struct ec_curve {
	int crv;
	char group[12];
	const char *md;
	size_t size;
	uint8_t order[EC_MAX];	/* n, big-endian, size octets */
} curves[] = {
	{PJ_CRV_P256, "prime256v1", "SHA256", 32, {
	    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	    0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51}},
	{PJ_CRV_P384, "secp384r1", "SHA384", 48, {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a, 0x0d, 0xb2,
	    0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73}},
	{PJ_CRV_P521, "secp521r1", "SHA512", 66, {
	    0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x51, 0x86,
	    0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b, 0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09,
	    0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c, 0x47, 0xae, 0xbb, 0x6f,
	    0xb7, 0x1e, 0x91, 0x38, 0x64, 0x09}},
};

/* 1 when the size-octet big-endian v is in [1, n-1]. Public data: no need
 * for constant time. Zero is the "psychic signature" (CVE-2022-21449). */
static int
scalar_in_range(const uint8_t *v, const uint8_t *order, size_t size)
{
	size_t i;

	for (i = 0; i < size && v[i] == 0; i++)
		;
	return i < size && memcmp(v, order, size) < 0;
}

static int
ec_key(const struct ec_curve *c, const struct pj_jwk *key, EVP_PKEY **out)
{
	uint8_t pub[1 + 2 * EC_MAX];
	char group[sizeof(c->group)];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	int r = PJ_ERR_NO_KEY;

	*out = NULL;
	/* SEC 1 uncompressed point: 0x04 || x || y. */
	pub[0] = 0x04;
	memcpy(pub + 1, key->a, c->size);
	memcpy(pub + 1 + c->size, key->b, c->size);
	memcpy(group, c->group, sizeof(group));	/* the OSSL_PARAM wants it writable */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * c->size);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL) {
		r = PJ_ERR_INTERNAL;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* Raw r || s (RFC 7518 3.4) into DER for EVP; der holds at least 141 octets
 * (P-521: 3 + 2 * (2 + 67)). */
static int
ec_sig_der(const uint8_t *sig, size_t size, uint8_t *der, size_t cap, size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = der;
	int len, ret = PJ_ERR_NOMEM;

	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, (int)size, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + size, (int)size, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;	/* owned by es now */
	if ((len = i2d_ECDSA_SIG(es, NULL)) <= 0 || (size_t)len > cap) {
		ret = PJ_ERR_INTERNAL;
		goto out;
	}
	if (i2d_ECDSA_SIG(es, &p) != len) {
		ret = PJ_ERR_INTERNAL;
		goto out;
	}
	*derlen = (size_t)len;
	ret = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return ret;
}

int
pj_sig_ec_verify(int alg, const struct pj_jwk *key, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen)
{
	const struct ec_curve *c;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t der[160];
	size_t derlen = 0;
	int r = PJ_ERR_INTERNAL;

	switch (alg) {
	case PJ_ALG_ES256:
		c = &curves[0];
		break;
	case PJ_ALG_ES384:
		c = &curves[1];
		break;
	case PJ_ALG_ES512:
		c = &curves[2];
		break;
	default:
		return PJ_ERR_NO_KEY;
	}
	/* ES256 is P-256 and nothing else (no secp256k1, no P-384 key). */
	if (key == NULL || key->kty != PJ_KTY_EC || key->crv != c->crv ||
	    key->a == NULL || key->b == NULL || key->alen != c->size || key->blen != c->size)
		return PJ_ERR_NO_KEY;

	ERR_set_mark();
	if ((r = ec_key(c, key, &pkey)) != 0)
		goto out;
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, c->md, NULL, NULL, pkey, NULL) != 1) {
		r = PJ_ERR_INTERNAL;
		goto out;
	}
	/* The point must be on the curve (and not infinity, coordinates below
	 * p): the quick check is the full one on these curves (cofactor 1).
	 * pctx carries pkey, so no second context is made for it. */
	if (EVP_PKEY_public_check_quick(pctx) != 1) {
		r = PJ_ERR_NO_KEY;
		goto out;
	}
	/* Exactly raw r || s: a DER signature, or one padded or cut, is not. */
	if (sig == NULL || siglen != 2 * c->size ||
	    !scalar_in_range(sig, c->order, c->size) ||
	    !scalar_in_range(sig + c->size, c->order, c->size)) {
		r = PJ_ERR_BAD_SIGNATURE;
		goto out;
	}
	if ((r = ec_sig_der(sig, c->size, der, sizeof(der), &derlen)) != 0)
		goto out;
	r = EVP_DigestVerify(mctx, der, derlen, msg, msglen) == 1 ? 0 : PJ_ERR_BAD_SIGNATURE;
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);
	ERR_pop_to_mark();
	return r;
}
