/* JWK / JWKS: parsed and checked by their JSON alone; a key is built only
 * when chosen (sig.h). */
#ifndef PJ_JWK_H
#define PJ_JWK_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct pj_sig_key;

enum pj_kty { PJ_KTY_RSA = 1, PJ_KTY_EC, PJ_KTY_OKP };

/* RSA n and e bounds (OpenSSL's own ceilings: OPENSSL_RSA_MAX_MODULUS_BITS,
 * and 64 bits of e for large moduli): jwk.c drops a key past them, and
 * sig_rsa.c sizes its buffers by them. */
#define PJ_RSA_MAX_BYTES (16384 / 8)
#define PJ_RSA_E_MAX_BYTES 8
enum pj_crv { PJ_CRV_NONE = 0, PJ_CRV_P256, PJ_CRV_P384, PJ_CRV_P521, PJ_CRV_ED25519 };

struct pj_jwk {
	int kty;		/* enum pj_kty */
	int crv;		/* enum pj_crv; PJ_CRV_NONE for RSA */
	char *kid;		/* NULL when absent */
	unsigned algs;		/* PJ_ALG_BIT set this key fits (kty/crv, use, key_ops, alg) */
	/* RSA: a = n, b = e. EC: a = x, b = y (each exactly the curve's size).
	 * OKP: a = x (32 bytes), b unused. Decoded bytes, owned. */
	uint8_t *a, *b;
	size_t alen, blen;
};

struct pj_jwks {
	struct pj_jwk *keys;	/* usable keys only */
	size_t n;
	size_t dropped;		/* keys in the document that were not usable */
	long refs;		/* references besides the first (reuse.c shares sets) */
	struct pj_sig_key *built;	/* per key, its imported key once kept (reuse.c); or NULL */
};

/*
 * Parse a JWKS document ({"keys": [...]}) through the strict JSON pass.
 * Unusable keys (pam_jwt(8), KEYS: RSA under 2048 bits, even e or e < 3,
 * leading zero octets in n or e; EC other than P-256/384/521 or x/y not the
 * curve's size; OKP other than Ed25519 or x not 32 bytes; any private or
 * symmetric member d p q dp dq qi oth k; non-canonical base64url; unknown
 * kty; kid present but not a non-empty string; use/key_ops/alg of the wrong
 * type; past OpenSSL's bounds: n over 16384 bits, e over 64 bits) are
 * dropped and reported through lg (LOG_WARNING, LOG_ERR for private
 * members; naming the key's index and escaped kid), never fatal to the
 * rest. A key whose use is not "sig", whose key_ops lacks "verify" or whose
 * alg is another (or unknown) algorithm is kept with algs = 0: found by its
 * kid, it fits nothing (no_key, not a kid miss). An alg of EdDSA or Ed25519
 * fits both (pj_alg_same_sig). An Ed25519 x is checked as a point only when
 * the key is built (sig.h). Errors: PJ_ERR_MALFORMED
 * when the document is not strict JSON or not an object with a "keys" array.
 * A set with no usable key is returned (n = 0); callers decide.
 * *out is NULL on entry; free with pj_jwks_free.
 */
int pj_jwks_parse(const char *buf, size_t len, const struct pj_log *lg, struct pj_jwks **out);
/* Drops a reference: the last one frees. A shared set is read-only. */
void pj_jwks_free(struct pj_jwks *set);
/* Another reference to set (atomic), returned. */
struct pj_jwks *pj_jwks_ref(struct pj_jwks *set);

/*
 * Key choice (pam_jwt(8), KEYS) for algorithm alg:
 * - kid != NULL: the usable keys whose kid equals it byte for byte. None:
 *   PJ_ERR_UNKNOWN_KID (a kid miss). More than one, or the one does not fit
 *   alg: PJ_ERR_NO_KEY.
 * - kid == NULL: exactly one usable key fits alg, else PJ_ERR_NO_KEY.
 * *out is NULL on entry; it points into set on success.
 */
int pj_jwks_choose(const struct pj_jwks *set, int alg, const char *kid, const struct pj_jwk **out);

#endif
