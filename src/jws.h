/* Compact JWS: the format and header steps (pam_jwt(8), VALIDATION, 1 and 2). */
#ifndef PJ_JWS_H
#define PJ_JWS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct pj_jws {
	cJSON *header, *payload;
	const char *signing_input;	/* points into the token: header '.' payload */
	size_t signing_input_len;
	uint8_t *sig;
	size_t siglen;
	int alg;		/* enum pj_alg, after pj_jws_check_header */
	const char *kid;	/* into header, NULL when absent */
};

/* Step 1: three canonical base64url segments, header and payload strict JSON
 * objects. PJ_ERR_TOO_LARGE past PJ_TOKEN_MAX, else PJ_ERR_MALFORMED.
 * jws is zeroed on entry; release with pj_jws_clear. */
int pj_jws_parse(const char *token, size_t len, struct pj_jws *jws);
/* Step 2: alg in algs (never none or HS*), no crit/jku/x5u/jwk, kid a
 * non-empty string when present. PJ_ERR_BAD_HEADER or PJ_ERR_ALG_NOT_ALLOWED. */
int pj_jws_check_header(struct pj_jws *jws, unsigned algs);
void pj_jws_clear(struct pj_jws *jws);

#endif
