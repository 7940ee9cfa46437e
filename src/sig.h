/* Signature verification, one file per algorithm family behind this. */
#ifndef PJ_SIG_H
#define PJ_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "jwk.h"

/*
 * Verify sig over msg with key for alg. The key is built here (RSA and EC
 * with EVP_PKEY_fromdata; Ed25519 raw through libsodium). Returns 0 when
 * the signature verifies; PJ_ERR_NO_KEY when the key does not fit alg or
 * cannot be built (EC point off its curve, Ed25519 x not a canonical point
 * of the prime-order group); PJ_ERR_BAD_SIGNATURE
 * otherwise (ES*: sig must be raw r||s of exactly 64/96/132 bytes with r
 * and s in [1, n-1]; PS*: MGF1 with the same hash, salt length = hash
 * length; RS*: PKCS#1 v1.5).
 */
int pj_sig_verify(int alg, const struct pj_jwk *key, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen);

/* A key as built from its JWK: the EVP_PKEY (RSA, EC), or for Ed25519
 * the mark that x is a valid point. Empty: {NULL, 0}. */
struct pj_sig_key {
	EVP_PKEY *pkey;
	int ed25519_ok;
};

/*
 * pj_sig_verify with the key built from key, kept in *built: an empty
 * *built is filled when the key builds (whatever the signature), a filled
 * one (built from this same JWK) is used as it is. Every check on alg and
 * the JWK runs either way. The caller clears *built.
 */
int pj_sig_verify_with(int alg, const struct pj_jwk *key, struct pj_sig_key *built,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen);
int pj_sig_key_ready(const struct pj_sig_key *k);
void pj_sig_key_clear(struct pj_sig_key *k);

/* Per family (sig_rsa.c, sig_ec.c, sig_eddsa.c); pj_sig_verify_with's contract. */
int pj_sig_rsa_verify(int alg, const struct pj_jwk *key, struct pj_sig_key *built,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen);
int pj_sig_ec_verify(int alg, const struct pj_jwk *key, struct pj_sig_key *built,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen);
int pj_sig_eddsa_verify(int alg, const struct pj_jwk *key, struct pj_sig_key *built,
    const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen);

/*
 * A public key of type ("RSA", "EC") from params, for the families: 0, or
 * PJ_ERR_NO_KEY when OpenSSL refuses the key (a point off its curve, ...),
 * PJ_ERR_INTERNAL when it has no such type. *out is NULL on error.
 */
int pj_sig_pkey_fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **out);

#endif
