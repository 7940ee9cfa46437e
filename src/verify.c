#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alg.h"
#include "claims.h"
#include "err.h"
#include "json.h"
#include "jws.h"
#include "keys.h"
#include "replay.h"
#include "sig.h"
#include "usermap.h"
#include "verify.h"

#define CLAIM_USER_MAX 256

static const char *
default_detail(int err)
{
	switch (err) {
	case 0: return "accepted";
	case PJ_ERR_MALFORMED: return "not a well-formed compact JWS with JSON header and payload";
	case PJ_ERR_TOO_LARGE: return "token larger than 16384 bytes";
	case PJ_ERR_BAD_HEADER: return "header refused (alg missing, crit, jku, x5u, jwk, or a bad kid)";
	case PJ_ERR_ALG_NOT_ALLOWED: return "algorithm not allowed";
	case PJ_ERR_UNKNOWN_KID: return "no key with this kid in the issuer's key set";
	case PJ_ERR_NO_KEY: return "no single usable key fits this token";
	case PJ_ERR_KEYS_UNAVAILABLE: return "no usable key set (nothing cached, and no fetch succeeded)";
	case PJ_ERR_BAD_SIGNATURE: return "signature does not verify";
	case PJ_ERR_EXPIRED: return "token expired (or has no exp)";
	case PJ_ERR_NOT_YET_VALID: return "token not valid yet (nbf)";
	case PJ_ERR_ISSUED_IN_FUTURE: return "token issued in the future (iat)";
	case PJ_ERR_LIFETIME_TOO_LONG: return "token lifetime above max_lifetime (or no iat)";
	case PJ_ERR_BAD_ISSUER: return "iss is not the configured issuer";
	case PJ_ERR_BAD_AUDIENCE: return "aud holds none of the configured audiences";
	case PJ_ERR_CLAIM_MISMATCH: return "a require_claim does not hold";
	case PJ_ERR_NO_USER_MAPPING: return "no user mapping for this token";
	case PJ_ERR_BAD_USER_NAME: return "mapped user name is not a safe name";
	case PJ_ERR_WRONG_USER: return "token is for another user";
	case PJ_ERR_USER_UNKNOWN: return "mapped user does not exist";
	case PJ_ERR_USER_LOOKUP_FAILED: return "user lookup failed";
	case PJ_ERR_REPLAYED: return "jti already used, or missing with jti_replay";
	case PJ_ERR_REPLAY_STORE_UNAVAILABLE: return "cannot record the jti";
	case PJ_ERR_CONFIG: return "configuration error";
	case PJ_ERR_NOMEM: return "out of memory";
	default: return "internal error";
	}
}

static void
copy_field(char dst[PJ_ESC_MAX], const cJSON *obj, const char *name)
{
	const char *s = pj_json_get_string(obj, name);

	if (s != NULL)
		pj_escape(dst, s, strlen(s));
}

/* Step 3 and 4: choose the key (one kid-miss refresh at most), verify. */
static int
check_signature(struct pj_keys *keys, const struct pj_jws *jws)
{
	const struct pj_jwks *set = NULL;
	const struct pj_jwk *key = NULL;
	int r;

	if ((r = pj_keys_get(keys, &set)) != 0)
		return r;
	r = pj_jwks_choose(set, jws->alg, jws->kid, &key);
	if (r == PJ_ERR_UNKNOWN_KID) {
		if ((r = pj_keys_kid_miss(keys, &set)) != 0)
			return r;
		/* Still missing after the refresh (or its cooldown): unknown_kid. */
		r = pj_jwks_choose(set, jws->alg, jws->kid, &key);
	}
	if (r != 0)
		return r;
	return pj_sig_verify(jws->alg, key, (const uint8_t *)jws->signing_input,
	    jws->signing_input_len, jws->sig, jws->siglen);
}

/* Step 8: claim -> local name -> PAM_USER -> exists. */
static int
check_user(const struct pj_config *cfg, const cJSON *payload, const char *user, struct pj_result *res)
{
	const cJSON *claim = pj_claim_get(payload, cfg->user_claim);
	char name[PJ_USER_MAX + 1];
	char pwbuf[4096];
	struct passwd pw, *pwp = NULL;
	size_t len;
	int r;

	if (!cJSON_IsString(claim) || (len = strlen(claim->valuestring)) > CLAIM_USER_MAX)
		return PJ_ERR_NO_USER_MAPPING;
	if (cfg->user_map != NULL) {
		if ((r = pj_usermap_map(cfg->user_map, claim->valuestring, len, name, sizeof(name))) != 0)
			return r;
	} else {
		if (len >= sizeof(name) || !pj_user_name_safe(claim->valuestring, len))
			return PJ_ERR_BAD_USER_NAME;
		memcpy(name, claim->valuestring, len + 1);
	}
	if (!pj_user_name_safe(name, strlen(name)))
		return PJ_ERR_BAD_USER_NAME;
	memcpy(res->user, name, strlen(name) + 1);
	/* Byte for byte: a token for alice never logs in bob. */
	if (user != NULL && strcmp(name, user) != 0)
		return PJ_ERR_WRONG_USER;
	r = getpwnam_r(name, &pw, pwbuf, sizeof(pwbuf), &pwp);
	if (pwp != NULL)
		return 0;
	if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		return PJ_ERR_USER_UNKNOWN;
	return PJ_ERR_USER_LOOKUP_FAILED;
}

int
pj_verify(const struct pj_configs *set, const struct pj_log *lg, const char *token, size_t len,
    const char *user, int64_t now, unsigned flags, struct pj_result *res)
{
	const struct pj_config *cfg = NULL;
	struct pj_jws jws;
	struct pj_keys *keys = NULL;
	int r = PJ_ERR_INTERNAL;

	memset(res, 0, sizeof(*res));
	memset(&jws, 0, sizeof(jws));
	/* Thread-safe and cheap after the first call; picks the CPU's code. */
	if (sodium_init() < 0) {
		r = PJ_ERR_INTERNAL;
		goto out;
	}
	/* 1. Format. */
	if ((r = pj_jws_parse(token, len, &jws)) != 0)
		goto out;
	copy_field(res->kid, jws.header, "kid");
	copy_field(res->iss, jws.payload, "iss");
	copy_field(res->sub, jws.payload, "sub");
	copy_field(res->jti, jws.payload, "jti");
	{
		const char *a = pj_json_get_string(jws.header, "alg");

		/* Only a name we know: the header is attacker-controlled. */
		snprintf(res->alg, sizeof(res->alg), "%s", pj_alg_from_name(a) >= 0 ? a : "");
	}
	pj_log(lg, LOG_DEBUG, "step 1: %zu bytes, three segments, header and payload strict JSON", len);
	/* 2. Header: a name we know; whether this issuer allows it is step 3's. */
	if ((r = pj_jws_check_header(&jws, PJ_ALG_ALL)) != 0)
		goto out;
	pj_log(lg, LOG_DEBUG, "step 2: header accepted (alg %s, kid \"%s\")", res->alg, res->kid);
	/* 3. Issuer: iss only chooses the settings, and so the keys; an
	 * unknown iss never causes a request. */
	if ((cfg = pj_configs_pick(set, pj_json_get_string(jws.payload, "iss"))) == NULL) {
		r = PJ_ERR_BAD_ISSUER;
		goto out;
	}
	if (!(cfg->algs & PJ_ALG_BIT(jws.alg))) {
		r = PJ_ERR_ALG_NOT_ALLOWED;
		goto out;
	}
	/* 3, 4. Key and signature. */
	if ((r = pj_keys_open(cfg, lg, now, flags, &keys)) != 0)
		goto out;
	if ((r = check_signature(keys, &jws)) != 0)
		goto out;
	res->verified = 1;
	pj_log(lg, LOG_DEBUG, "steps 3-4: key chosen, signature verified");
	{
		const cJSON *exp = pj_json_get(jws.payload, "exp");

		if (cJSON_IsNumber(exp)) {
			res->has_exp = 1;
			res->exp = exp->valuedouble;
		}
	}
	/* 5-7. Time, issuer and audience, required claims. */
	if ((r = pj_claims_check_time(jws.payload, now, cfg->leeway, cfg->max_lifetime)) != 0 ||
	    (r = pj_claims_check_iss_aud(jws.payload, cfg)) != 0 ||
	    (r = pj_claims_check_required(jws.payload, cfg)) != 0)
		goto out;
	pj_log(lg, LOG_DEBUG, "steps 5-7: time, issuer, audience and required claims hold");
	/* 8. User. */
	if ((r = check_user(cfg, jws.payload, user, res)) != 0)
		goto out;
	pj_log(lg, LOG_DEBUG, "step 8: mapped to user \"%s\", which exists", res->user);
	/* 9. Replay. */
	if (cfg->jti_replay) {
		const char *jti = pj_json_get_string(jws.payload, "jti");

		/* Without a jti, unused cannot be proven. */
		if (jti == NULL || jti[0] == '\0') {
			r = PJ_ERR_REPLAYED;
			goto out;
		}
		if ((r = pj_replay_check(cfg, lg, pj_json_get_string(jws.payload, "iss"), jti,
		    res->exp, now, !(flags & PJ_VERIFY_NO_REPLAY_WRITE))) != 0)
			goto out;
	}
	r = 0;
out:
	pj_keys_close(keys);
	pj_jws_clear(&jws);
	res->err = r;
	snprintf(res->detail, sizeof(res->detail), "%s", default_detail(r));
	return r;
}
