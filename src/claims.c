#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claims.h"
#include "err.h"
#include "json.h"

#define NUMERIC_DATE_MAX 9007199254740992.0 /* 2^53 */

/* RFC 6901: "/a~1b/c~0d" -> members "a/b", then "c~d"; array indices too. */
static const cJSON *
pointer_get(const cJSON *node, const char *ptr)
{
	char tok[256];

	while (*ptr == '/') {
		size_t n = 0;

		ptr++;
		while (*ptr != '\0' && *ptr != '/') {
			char c = *ptr++;

			if (c == '~') {
				if (*ptr == '0')
					c = '~';
				else if (*ptr == '1')
					c = '/';
				else
					return NULL;
				ptr++;
			}
			if (n + 1 >= sizeof(tok))
				return NULL;
			tok[n++] = c;
		}
		tok[n] = '\0';
		if (cJSON_IsObject(node)) {
			node = pj_json_get(node, tok);
		} else if (cJSON_IsArray(node)) {
			char *end = NULL;
			unsigned long i;

			/* Indices are 0 or [1-9][0-9]*; "-" names nothing. */
			if (n == 0 || (tok[0] == '0' && n > 1) || tok[0] < '0' || tok[0] > '9')
				return NULL;
			i = strtoul(tok, &end, 10);
			if (*end != '\0' || i > 65535)
				return NULL;
			node = cJSON_GetArrayItem(node, (int)i);
		} else {
			return NULL;
		}
		if (node == NULL)
			return NULL;
	}
	return *ptr == '\0' ? node : NULL;
}

const cJSON *
pj_claim_get(const cJSON *payload, const char *name)
{
	if (name[0] == '/')
		return pointer_get(payload, name);
	return pj_json_get(payload, name);
}

/* A NumericDate: 0 absent, 1 present (*v set), or PJ_ERR_MALFORMED. */
static int
numeric_date(const cJSON *payload, const char *name, double *v)
{
	const cJSON *it = pj_json_get(payload, name);

	if (it == NULL)
		return 0;
	if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0.0) || !(it->valuedouble < NUMERIC_DATE_MAX))
		return PJ_ERR_MALFORMED;
	*v = it->valuedouble;
	return 1;
}

int
pj_claims_check_time(const cJSON *payload, int64_t now, long leeway, long max_lifetime)
{
	double exp = 0, nbf = 0, iat = 0, t = (double)now, L = (double)leeway;
	int r;

	/* exp is required: nothing proves the token is not expired. */
	if ((r = numeric_date(payload, "exp", &exp)) < 0)
		return r;
	if (r == 0 || !(t < exp + L))
		return PJ_ERR_EXPIRED;
	if ((r = numeric_date(payload, "nbf", &nbf)) < 0)
		return r;
	if (r == 1 && !(nbf - L <= t))
		return PJ_ERR_NOT_YET_VALID;
	if ((r = numeric_date(payload, "iat", &iat)) < 0)
		return r;
	if (r == 1 && !(iat - L <= t))
		return PJ_ERR_ISSUED_IN_FUTURE;
	if (max_lifetime > 0 && (r == 0 || !(exp - iat <= (double)max_lifetime)))
		return PJ_ERR_LIFETIME_TOO_LONG;
	return 0;
}

static int
audience_ok(const struct pj_config *cfg, const char *aud)
{
	for (size_t i = 0; i < cfg->n_audiences; i++)
		if (strcmp(aud, cfg->audiences[i]) == 0)
			return 1;
	return 0;
}

int
pj_claims_check_iss_aud(const cJSON *payload, const struct pj_config *cfg)
{
	const cJSON *iss, *aud, *it;
	int found = 0;

	iss = pj_json_get(payload, "iss");
	if (!cJSON_IsString(iss) || strcmp(iss->valuestring, cfg->issuer) != 0)
		return PJ_ERR_BAD_ISSUER;
	aud = pj_json_get(payload, "aud");
	if (cJSON_IsString(aud))
		return audience_ok(cfg, aud->valuestring) ? 0 : PJ_ERR_BAD_AUDIENCE;
	if (!cJSON_IsArray(aud))
		return PJ_ERR_BAD_AUDIENCE;
	/* An array of strings only: one odd member spoils it. */
	cJSON_ArrayForEach(it, aud) {
		if (!cJSON_IsString(it))
			return PJ_ERR_BAD_AUDIENCE;
		found |= audience_ok(cfg, it->valuestring);
	}
	return found ? 0 : PJ_ERR_BAD_AUDIENCE;
}

/* 0 or -?[1-9][0-9]{0,14}: integers every double holds exactly. */
static int
canonical_integer(const char *s)
{
	size_t n;

	if (strcmp(s, "0") == 0)
		return 1;
	if (*s == '-')
		s++;
	if (*s < '1' || *s > '9')
		return 0;
	n = strspn(s, "0123456789");
	return s[n] == '\0' && n <= 15;
}

int
pj_claim_matches(const cJSON *claim, const char *value)
{
	const cJSON *it;

	if (claim == NULL)
		return 0;
	if (cJSON_IsString(claim))
		return strcmp(claim->valuestring, value) == 0;
	if (cJSON_IsArray(claim)) {
		cJSON_ArrayForEach(it, claim)
			if (cJSON_IsString(it) && strcmp(it->valuestring, value) == 0)
				return 1;
		return 0;
	}
	if (cJSON_IsTrue(claim))
		return strcmp(value, "true") == 0;
	if (cJSON_IsFalse(claim))
		return strcmp(value, "false") == 0;
	if (cJSON_IsNumber(claim))
		return claim->valuestring != NULL && canonical_integer(claim->valuestring) &&
		    strcmp(claim->valuestring, value) == 0;
	return 0;
}

int
pj_claims_check_required(const cJSON *payload, const struct pj_config *cfg)
{
	for (size_t i = 0; i < cfg->n_reqs; i++)
		if (!pj_claim_matches(pj_claim_get(payload, cfg->reqs[i].name), cfg->reqs[i].value))
			return PJ_ERR_CLAIM_MISMATCH;
	return 0;
}
