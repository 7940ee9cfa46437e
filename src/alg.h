/* JWS signature algorithms we know; the set is closed (no none, no HS*). */
#ifndef PJ_ALG_H
#define PJ_ALG_H

enum pj_alg {
	PJ_ALG_RS256,
	PJ_ALG_RS384,
	PJ_ALG_RS512,
	PJ_ALG_PS256,
	PJ_ALG_PS384,
	PJ_ALG_PS512,
	PJ_ALG_ES256,
	PJ_ALG_ES384,
	PJ_ALG_ES512,
	PJ_ALG_EDDSA,
	PJ_ALG_ED25519,	/* RFC 9864's fully-specified name: the same signature as EdDSA */
	PJ_ALG_COUNT
};

#define PJ_ALG_BIT(a) (1u << (a))
#define PJ_ALG_ALL ((1u << PJ_ALG_COUNT) - 1)
#define PJ_ALG_DEFAULT \
	(PJ_ALG_BIT(PJ_ALG_RS256) | PJ_ALG_BIT(PJ_ALG_PS256) | PJ_ALG_BIT(PJ_ALG_ES256) | \
	PJ_ALG_BIT(PJ_ALG_EDDSA) | PJ_ALG_BIT(PJ_ALG_ED25519))

/* "RS256" -> PJ_ALG_RS256; -1 for anything else ("none", "HS256", ...). */
int pj_alg_from_name(const char *name);
const char *pj_alg_name(int alg);

/*
 * The PJ_ALG_BIT set of the algorithms whose signature is alg's: a key
 * whose alg member names alg fits them all. EdDSA and Ed25519 are one
 * signature (Ed25519), so a key for either fits both; any other known alg
 * is itself alone; 0 for an unknown one. (The allowed set, algorithms=,
 * keeps the two names apart.)
 */
unsigned pj_alg_same_sig(int alg);

#endif
