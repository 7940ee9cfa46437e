#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
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

/* One DER INTEGER of the size-octet big-endian v (in [1, n-1]: never 0):
 * no leading zero octets, one 0x00 when the top bit is set. */
static size_t
der_int(uint8_t *out, const uint8_t *v, size_t size)
{
	size_t skip = 0, n;

	while (skip + 1 < size && v[skip] == 0)
		skip++;
	n = size - skip;
	out[0] = 0x02;
	if (v[skip] & 0x80) {
		out[1] = (uint8_t)(n + 1);
		out[2] = 0x00;
		memcpy(out + 3, v + skip, n);
		return n + 3;
	}
	out[1] = (uint8_t)n;
	memcpy(out + 2, v + skip, n);
	return n + 2;
}

/* Raw r || s (RFC 7518 3.4) into the DER ECDSA-Sig-Value EVP wants,
 * written here: no BIGNUM or ECDSA_SIG round trip. der holds at least
 * 3 + 2 * (3 + EC_MAX) octets; each INTEGER is under 128 octets. */
static size_t
ec_sig_der(const uint8_t *sig, size_t size, uint8_t *der)
{
	uint8_t body[2 * (3 + EC_MAX)];
	size_t n = 0, h = 0;

	n += der_int(body, sig, size);
	n += der_int(body + n, sig + size, size);
	der[h++] = 0x30;
	if (n >= 0x80)
		der[h++] = 0x81;	/* P-521: the content is 128 octets or more */
	der[h++] = (uint8_t)n;
	memcpy(der + h, body, n);
	return h + n;
}

int
pj_sig_ec_verify(int alg, const struct pj_jwk *key, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen)
{
	const struct ec_curve *c;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *mctx = NULL;
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
	if (EVP_DigestVerifyInit_ex(mctx, NULL, c->md, NULL, NULL, pkey, NULL) != 1) {
		r = PJ_ERR_INTERNAL;
		goto out;
	}
	/* Exactly raw r || s: a DER signature, or one padded or cut, is not. */
	if (sig == NULL || siglen != 2 * c->size ||
	    !scalar_in_range(sig, c->order, c->size) ||
	    !scalar_in_range(sig + c->size, c->order, c->size)) {
		r = PJ_ERR_BAD_SIGNATURE;
		goto out;
	}
	derlen = ec_sig_der(sig, c->size, der);
	r = EVP_DigestVerify(mctx, der, derlen, msg, msglen) == 1 ? 0 : PJ_ERR_BAD_SIGNATURE;
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);
	ERR_pop_to_mark();
	return r;
}
