/*
 * JWKS parsing (pj_jwks_parse), key choice for every algorithm with and
 * without each kid, and key building: each usable key runs one signature
 * check per algorithm it fits (EVP_PKEY_fromdata, the EC point check,
 * Ed25519), with a signature of the right size taken from the input.
 * Invariants: a kept key fits only algorithms of its own type, with the
 * member sizes the contract allows; choice finds a key only in the set.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alg.h"
#include "err.h"
#include "fuzz.h"
#include "jwk.h"
#include "sig.h"

#define RSA_ALGS (PJ_ALG_BIT(PJ_ALG_RS256) | PJ_ALG_BIT(PJ_ALG_RS384) | PJ_ALG_BIT(PJ_ALG_RS512) | \
	PJ_ALG_BIT(PJ_ALG_PS256) | PJ_ALG_BIT(PJ_ALG_PS384) | PJ_ALG_BIT(PJ_ALG_PS512))

static void
check_key(const struct pj_jwk *k)
{
	switch (k->kty) {
	case PJ_KTY_RSA:
		if ((k->algs & ~RSA_ALGS) != 0 || k->crv != PJ_CRV_NONE || k->alen < 256 ||
		    k->alen > 2048 || k->a[0] == 0 || k->blen == 0 || k->blen > 8 || k->b[0] == 0 ||
		    (k->b[k->blen - 1] & 1) == 0)
			fuzz_fail("an RSA key outside the contract was kept");
		break;
	case PJ_KTY_EC:
		if ((k->crv == PJ_CRV_P256 && (k->alen != 32 || k->algs & ~PJ_ALG_BIT(PJ_ALG_ES256))) ||
		    (k->crv == PJ_CRV_P384 && (k->alen != 48 || k->algs & ~PJ_ALG_BIT(PJ_ALG_ES384))) ||
		    (k->crv == PJ_CRV_P521 && (k->alen != 66 || k->algs & ~PJ_ALG_BIT(PJ_ALG_ES512))) ||
		    k->crv < PJ_CRV_P256 || k->crv > PJ_CRV_P521 || k->blen != k->alen)
			fuzz_fail("an EC key outside the contract was kept");
		break;
	case PJ_KTY_OKP:
		if (k->crv != PJ_CRV_ED25519 || k->alen != 32 || (k->algs & ~pj_alg_same_sig(PJ_ALG_EDDSA)))
			fuzz_fail("an OKP key outside the contract was kept");
		break;
	default:
		fuzz_fail("a key of no known type was kept");
	}
	if (k->kid != NULL && k->kid[0] == '\0')
		fuzz_fail("an empty kid was kept");
}

int
fuzz_one(const uint8_t *data, size_t size)
{
	static const uint8_t msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
	struct pj_jwks *set = NULL;
	uint8_t sig[2048];
	int r;

	if ((r = pj_jwks_parse((const char *)data, size, NULL, &set)) != 0) {
		if (r != PJ_ERR_MALFORMED || set != NULL)
			fuzz_fail("a JWKS refused for another reason than malformed");
		return 0;
	}
	/* The signature bytes: the input's, repeated. */
	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = size > 0 ? data[i % size] ^ (uint8_t)i : (uint8_t)i;
	for (size_t i = 0; i < set->n; i++) {
		const struct pj_jwk *k = &set->keys[i];

		check_key(k);
		for (int a = 0; a < PJ_ALG_COUNT; a++) {
			const struct pj_jwk *c = NULL;
			size_t siglen;

			r = pj_jwks_choose(set, a, k->kid, &c);
			if (r == 0 && (c < set->keys || c >= set->keys + set->n || (c->algs & PJ_ALG_BIT(a)) == 0))
				fuzz_fail("choice returned a key that does not fit");
			if (!(k->algs & PJ_ALG_BIT(a)))
				continue;
			siglen = k->kty == PJ_KTY_RSA ? k->alen : k->kty == PJ_KTY_EC ? 2 * k->alen : 64;
			r = pj_sig_verify(a, k, msg, sizeof(msg) - 1, sig, siglen);
			if (r != 0 && r != PJ_ERR_BAD_SIGNATURE && r != PJ_ERR_NO_KEY)
				fuzz_fail("a signature check ended in neither verdict");
			/* The psychic signature never verifies. */
			memset(sig, 0, siglen);
			if (pj_sig_verify(a, k, msg, sizeof(msg) - 1, sig, siglen) == 0)
				fuzz_fail("an all-zero signature verified");
			for (size_t j = 0; j < siglen; j++)
				sig[j] = size > 0 ? data[j % size] ^ (uint8_t)j : (uint8_t)j;
		}
	}
	for (int a = 0; a < PJ_ALG_COUNT; a++) {
		const struct pj_jwk *c = NULL;

		if (pj_jwks_choose(set, a, NULL, &c) == 0 && (c->algs & PJ_ALG_BIT(a)) == 0)
			fuzz_fail("kid-less choice returned a key that does not fit");
	}
	pj_jwks_free(set);
	return 0;
}
