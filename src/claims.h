/* Claims: time, audience, typ, policy (pam_jwt.conf(5), steps 6 to 8). */
#ifndef PJ_CLAIMS_H
#define PJ_CLAIMS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "verdict.h"

/* A claim by NAME: a top-level member, or a JSON Pointer (RFC 6901) when
 * NAME starts with '/'. NULL when absent. */
const cJSON *pj_claim_get(const cJSON *payload, const char *name);

/* node as JSON text (numbers in their own text, arrays cut after 3
 * members), at most cap - 1 bytes; "absent" for NULL. */
void pj_json_text(const cJSON *node, char *out, size_t cap);

/* Step 6: exp, nbf, iat, max_lifetime (why may be NULL). */
int pj_claims_check_time(const cJSON *payload, int64_t now, long leeway, long max_lifetime,
    struct pj_why *why);
/* Step 7: aud holds one of the audiences, then typ= when set. */
int pj_claims_check_aud(const cJSON *payload, const struct pj_config *cfg, struct pj_why *why);
int pj_claims_check_typ(const cJSON *header, const struct pj_config *cfg, struct pj_why *why);
/* Step 8: no deny_claim holds (PJ_ERR_CLAIM_DENIED), then every
 * require_claim and require_scope holds (PJ_ERR_CLAIM_MISMATCH). */
int pj_claims_check_policy(const cJSON *payload, const struct pj_config *cfg, struct pj_why *why);
/* One NAME=VALUE VALUE against a claim (section 5 rules). Returns 1 on match. */
int pj_claim_matches(const cJSON *claim, const char *value);
/* WORD among scope's (or scp's) space-separated words or array members. */
int pj_scope_has(const cJSON *payload, const char *word);

#endif
