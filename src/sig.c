#include "config.h"

#include <openssl/evp.h>

#include "alg.h"
#include "err.h"
#include "sig.h"

int
pj_sig_verify(int alg, const struct pj_jwk *key, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen)
{
	struct pj_sig_key built = {NULL, 0};
	int r = pj_sig_verify_with(alg, key, &built, msg, msglen, sig, siglen);

	pj_sig_key_clear(&built);
	return r;
}

int
pj_sig_verify_with(int alg, const struct pj_jwk *key, struct pj_sig_key *built,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
	if (key == NULL || alg < 0 || alg >= PJ_ALG_COUNT)
		return PJ_ERR_NO_KEY;
	/* kty/crv narrowed by use, key_ops and alg (jwk.c); the family
	 * checks kty, crv and sizes again on its own. */
	if ((key->algs & PJ_ALG_BIT(alg)) == 0)
		return PJ_ERR_NO_KEY;
	switch (alg) {
	case PJ_ALG_RS256:
	case PJ_ALG_RS384:
	case PJ_ALG_RS512:
	case PJ_ALG_PS256:
	case PJ_ALG_PS384:
	case PJ_ALG_PS512:
		return pj_sig_rsa_verify(alg, key, built, msg, msglen, sig, siglen);
	case PJ_ALG_ES256:
	case PJ_ALG_ES384:
	case PJ_ALG_ES512:
		return pj_sig_ec_verify(alg, key, built, msg, msglen, sig, siglen);
	case PJ_ALG_EDDSA:
	case PJ_ALG_ED25519:
		return pj_sig_eddsa_verify(alg, key, built, msg, msglen, sig, siglen);
	default:
		return PJ_ERR_NO_KEY;
	}
}

int
pj_sig_pkey_fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	int r = PJ_ERR_NO_KEY;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
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

int
pj_sig_key_ready(const struct pj_sig_key *k)
{
	return k->pkey != NULL || k->ed25519_ok;
}

void
pj_sig_key_clear(struct pj_sig_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
	k->ed25519_ok = 0;
}
