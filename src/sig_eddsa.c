#include "config.h"

#include <sodium.h>

#include "alg.h"
#include "err.h"
#include "sig.h"

int
pj_sig_eddsa_verify(int alg, const struct pj_jwk *key, struct pj_sig_key *built,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
	if ((alg != PJ_ALG_EDDSA && alg != PJ_ALG_ED25519) || key == NULL || key->kty != PJ_KTY_OKP ||
	    key->crv != PJ_CRV_ED25519 || key->a == NULL || key->alen != crypto_sign_PUBLICKEYBYTES)
		return PJ_ERR_NO_KEY;
	/* Building the key: x must be the canonical encoding of a point on
	 * the curve, in the prime-order subgroup (so not of small order), as
	 * an EC point must be on its curve. */
	if (!built->ed25519_ok) {
		if (crypto_core_ed25519_is_valid_point(key->a) != 1)
			return PJ_ERR_NO_KEY;
		built->ed25519_ok = 1;
	}
	if (sig == NULL || siglen != crypto_sign_BYTES)
		return PJ_ERR_BAD_SIGNATURE;
	/* libsodium refuses S >= L and a small-order or non-canonical R. */
	if (crypto_sign_verify_detached(sig, msg, msglen, key->a) != 0)
		return PJ_ERR_BAD_SIGNATURE;
	return 0;
}
