#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alg.h"
#include "b64.h"
#include "err.h"
#include "json.h"
#include "jws.h"
#include "verify.h"

/* The largest decoded segment a PJ_TOKEN_MAX token can hold. */
#define SEG_MAX (PJ_TOKEN_MAX / 4 * 3 + 3)

static int
decode_json_segment(const char *seg, size_t len, cJSON **out)
{
	uint8_t buf[SEG_MAX + 1];
	size_t n = 0;
	int r;

	*out = NULL;
	if ((r = pj_b64url_decode_into(seg, len, buf, sizeof(buf), &n)) != 0)
		return r;
	return pj_json_parse((const char *)buf, n, 1, out);
}

int
pj_jws_parse(const char *token, size_t len, struct pj_jws *jws)
{
	const char *d1, *d2;
	int r = PJ_ERR_INTERNAL;

	memset(jws, 0, sizeof(*jws));
	jws->alg = -1;
	if (len > PJ_TOKEN_MAX)
		return PJ_ERR_TOO_LARGE;
	/* Exactly three segments: a JWE's five, or any stray '.', is refused. */
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return PJ_ERR_MALFORMED;
	if (memchr(token, '\0', len) != NULL)
		return PJ_ERR_MALFORMED;
	if ((r = decode_json_segment(token, (size_t)(d1 - token), &jws->header)) != 0 ||
	    (r = decode_json_segment(d1 + 1, (size_t)(d2 - d1 - 1), &jws->payload)) != 0 ||
	    (r = pj_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), SEG_MAX, &jws->sig,
	    &jws->siglen)) != 0) {
		pj_jws_clear(jws);
		return r == PJ_ERR_NOMEM ? r : PJ_ERR_MALFORMED;
	}
	jws->signing_input = token;
	jws->signing_input_len = (size_t)(d2 - token);
	return 0;
}

int
pj_jws_check_header(struct pj_jws *jws, unsigned algs)
{
	static const char *const refused[] = {"crit", "jku", "x5u", "jwk"};
	const cJSON *alg, *kid;
	int a;

	alg = pj_json_get(jws->header, "alg");
	if (!cJSON_IsString(alg))
		return PJ_ERR_BAD_HEADER;
	/* none and HS* have no entry in the table, so they never pass. */
	if ((a = pj_alg_from_name(alg->valuestring)) < 0 || !(algs & PJ_ALG_BIT(a)))
		return PJ_ERR_ALG_NOT_ALLOWED;
	/* A token that asks for a trust model we do not offer is refused. */
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (pj_json_get(jws->header, refused[i]) != NULL)
			return PJ_ERR_BAD_HEADER;
	if ((kid = pj_json_get(jws->header, "kid")) != NULL) {
		if (!cJSON_IsString(kid) || kid->valuestring[0] == '\0')
			return PJ_ERR_BAD_HEADER;
		jws->kid = kid->valuestring;
	}
	jws->alg = a;
	return 0;
}

void
pj_jws_clear(struct pj_jws *jws)
{
	cJSON_Delete(jws->header);
	cJSON_Delete(jws->payload);
	free(jws->sig);
	memset(jws, 0, sizeof(*jws));
	jws->alg = -1;
}
