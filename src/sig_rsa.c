#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "alg.h"
#include "err.h"
#include "sig.h"

static const struct {
	const char *md;
	int pss;
	int hashlen;
} rsa_algs[] = {
	[PJ_ALG_RS256] = {"SHA256", 0, 32},
	[PJ_ALG_RS384] = {"SHA384", 0, 48},
	[PJ_ALG_RS512] = {"SHA512", 0, 64},
	[PJ_ALG_PS256] = {"SHA256", 1, 32},
	[PJ_ALG_PS384] = {"SHA384", 1, 48},
	[PJ_ALG_PS512] = {"SHA512", 1, 64},
};

/* OSSL_PARAM integers are unsigned and in native byte order. */
static void
to_native(uint8_t *dst, const uint8_t *be, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	memcpy(dst, be, len);
#else
	for (size_t i = 0; i < len; i++)
		dst[i] = be[len - 1 - i];
#endif
}

/* n and e straight into EVP_PKEY_fromdata: no BIGNUM, no param builder. */
static int
rsa_key(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen, EVP_PKEY **out)
{
	uint8_t nn[PJ_RSA_MAX_BYTES], ne[PJ_RSA_E_MAX_BYTES];
	OSSL_PARAM params[3];

	to_native(nn, n, nlen);
	to_native(ne, e, elen);
	params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, nn, nlen);
	params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, ne, elen);
	params[2] = OSSL_PARAM_construct_end();
	return pj_sig_pkey_fromdata("RSA", params, out);
}

int
pj_sig_rsa_verify(int alg, const struct pj_jwk *key, struct pj_sig_key *built,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const uint8_t *n, *e;
	size_t nlen, elen;
	int r = PJ_ERR_INTERNAL;

	if (alg < PJ_ALG_RS256 || alg > PJ_ALG_PS512 || key == NULL || key->kty != PJ_KTY_RSA ||
	    key->a == NULL || key->b == NULL)
		return PJ_ERR_NO_KEY;
	/* jwk.c refuses leading zero octets; skip any here so that k, the
	 * modulus length in octets, is right for keys built elsewhere. */
	for (n = key->a, nlen = key->alen; nlen > 0 && *n == 0; n++, nlen--)
		;
	for (e = key->b, elen = key->blen; elen > 0 && *e == 0; e++, elen--)
		;
	if (nlen == 0 || nlen > PJ_RSA_MAX_BYTES || elen == 0 || elen > PJ_RSA_E_MAX_BYTES)
		return PJ_ERR_NO_KEY;

	ERR_set_mark();
	if (built->pkey == NULL && (r = rsa_key(n, nlen, e, elen, &built->pkey)) != 0)
		goto out;
	pkey = built->pkey;
	/* RFC 8017 8.1.2 and 8.2.2: the signature is exactly k octets. */
	if (sig == NULL || siglen != nlen) {
		r = PJ_ERR_BAD_SIGNATURE;
		goto out;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, rsa_algs[alg].md, NULL, NULL, pkey, NULL) != 1) {
		r = PJ_ERR_INTERNAL;
		goto out;
	}
	/* JWA 3.5: MGF1 with the same hash, salt exactly the hash length
	 * (not AUTO, which would accept any salt length). */
	if (rsa_algs[alg].pss &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, rsa_algs[alg].md, NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, rsa_algs[alg].hashlen) != 1)) {
		r = PJ_ERR_INTERNAL;
		goto out;
	}
	r = EVP_DigestVerify(mctx, sig, siglen, msg, msglen) == 1 ? 0 : PJ_ERR_BAD_SIGNATURE;
out:
	EVP_MD_CTX_free(mctx);
	/* Leave the host's OpenSSL error queue as we found it. */
	ERR_pop_to_mark();
	return r;
}
