/* Claims: time, issuer, audience, require_claim (pam_jwt(8), VALIDATION). */
#ifndef PJ_CLAIMS_H
#define PJ_CLAIMS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "conf.h"

/* A claim by NAME: a top-level member, or a JSON Pointer (RFC 6901) when
 * NAME starts with '/'. NULL when absent. */
const cJSON *pj_claim_get(const cJSON *payload, const char *name);

/* Step 5. */
int pj_claims_check_time(const cJSON *payload, int64_t now, long leeway, long max_lifetime);
/* Step 6. */
int pj_claims_check_iss_aud(const cJSON *payload, const struct pj_config *cfg);
/* Step 7: every require_claim holds, else PJ_ERR_CLAIM_MISMATCH. */
int pj_claims_check_required(const cJSON *payload, const struct pj_config *cfg);
/* One require_claim VALUE against a claim (section 5 rules). Returns 1 on match. */
int pj_claim_matches(const cJSON *claim, const char *value);

#endif
