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
	size_t size;	/* field and order size in octets */
} curves[] = {
	{PJ_CRV_P256, "prime256v1", "SHA256", 32},
	{PJ_CRV_P384, "secp384r1", "SHA384", 48},
	{PJ_CRV_P521, "secp521r1", "SHA512", 66},
};

static int
ec_key(const struct ec_curve *c, const struct pj_jwk *key, EVP_PKEY **out)
{
	uint8_t pub[1 + 2 * EC_MAX];
	char group[sizeof(c->group)];
	OSSL_PARAM params[3];

	/* SEC 1 uncompressed point: 0x04 || x || y. The import decodes it with
	 * EC_POINT_oct2point, which refuses a coordinate >= p and a point off
	 * the curve (infinity has no such encoding; cofactor 1): that is the
	 * whole public key check on these curves, so none follows
	 * (test_ec_point_not_on_curve holds it). */
	pub[0] = 0x04;
	memcpy(pub + 1, key->a, c->size);
	memcpy(pub + 1 + c->size, key->b, c->size);
	memcpy(group, c->group, sizeof(group));	/* the OSSL_PARAM wants it writable */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * c->size);
	params[2] = OSSL_PARAM_construct_end();
	return pj_sig_pkey_fromdata("EC", params, out);
}

/* 1 when v is in [1, n-1]. Zero is the "psychic signature"
 * (CVE-2022-21449); n and above are zero or a small value mod n. */
static int
scalar_in_range(const BIGNUM *v, const BIGNUM *order)
{
	return !BN_is_zero(v) && BN_cmp(v, order) < 0;
}

/*
 * Raw r || s (RFC 7518 3.4, size octets each) into the DER
 * ECDSA-Sig-Value EVP wants, when r and s are in [1, n-1] for the key's
 * order n: 0, PJ_ERR_BAD_SIGNATURE (out of range), PJ_ERR_NOMEM.
 * *der is NULL on entry; free it with OPENSSL_free.
 */
static int
ec_sig_der(EVP_PKEY *pkey, const uint8_t *sig, size_t size, uint8_t **der, size_t *derlen)
{
	BIGNUM *order = NULL, *r = NULL, *s = NULL;
	ECDSA_SIG *es = NULL;
	int n, rc = PJ_ERR_INTERNAL;

	*der = NULL;
	*derlen = 0;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_ORDER, &order) != 1)
		goto out;
	if ((r = BN_bin2bn(sig, (int)size, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + size, (int)size, NULL)) == NULL) {
		rc = PJ_ERR_NOMEM;
		goto out;
	}
	if (!scalar_in_range(r, order) || !scalar_in_range(s, order)) {
		rc = PJ_ERR_BAD_SIGNATURE;
		goto out;
	}
	if ((es = ECDSA_SIG_new()) == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		rc = PJ_ERR_NOMEM;
		goto out;
	}
	r = s = NULL;	/* es owns them now */
	if ((n = i2d_ECDSA_SIG(es, der)) <= 0) {
		rc = PJ_ERR_NOMEM;
		goto out;
	}
	*derlen = (size_t)n;
	rc = 0;
out:
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	BN_free(order);
	return rc;
}

int
pj_sig_ec_verify(int alg, const struct pj_jwk *key, struct pj_sig_key *built,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
	const struct ec_curve *c;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *mctx = NULL;
	uint8_t *der = NULL;
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
	if (built->pkey == NULL && (r = ec_key(c, key, &built->pkey)) != 0)
		goto out;
	pkey = built->pkey;
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(mctx, NULL, c->md, NULL, NULL, pkey, NULL) != 1) {
		r = PJ_ERR_INTERNAL;
		goto out;
	}
	/* Exactly raw r || s: a DER signature, or one padded or cut, is not. */
	if (sig == NULL || siglen != 2 * c->size) {
		r = PJ_ERR_BAD_SIGNATURE;
		goto out;
	}
	if ((r = ec_sig_der(pkey, sig, c->size, &der, &derlen)) != 0)
		goto out;
	r = EVP_DigestVerify(mctx, der, derlen, msg, msglen) == 1 ? 0 : PJ_ERR_BAD_SIGNATURE;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	ERR_pop_to_mark();
	return r;
}
