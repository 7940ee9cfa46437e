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
#include "reuse.h"
#include "sig.h"
#include "user.h"
#include "usermap.h"
#include "verify.h"

#define CLAIM_USER_MAX 256

static void
copy_field(char dst[PJ_ESC_MAX], const cJSON *obj, const char *name)
{
	const char *s = pj_json_get_string(obj, name);

	if (s != NULL)
		pj_escape(dst, s, strlen(s));
}

/* Steps 4 and 5: choose the key (one kid-miss refresh at most), verify.
 * The imported key may be an earlier login's (reuse.h); the signature is
 * verified at every login. */
static int
check_signature(struct pj_keys *keys, const struct pj_jws *jws, unsigned flags)
{
	struct pj_sig_key built = {NULL, 0};
	const struct pj_jwks *set = NULL;
	const struct pj_jwk *key = NULL;
	size_t i;
	int reuse = !(flags & PJ_VERIFY_NO_REUSE), had = 0, r;

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
	i = (size_t)(key - set->keys);
	if (reuse)
		had = pj_reuse_key_get(set, i, &built);
	r = pj_sig_verify_with(jws->alg, key, &built, (const uint8_t *)jws->signing_input,
	    jws->signing_input_len, jws->sig, jws->siglen);
	/* A kept key is the set's; a new one is handed over only once it has
	 * verified a signature (warm: reuse.c). */
	if (had)
		memset(&built, 0, sizeof(built));
	else if (r == 0 && reuse)
		(void)pj_reuse_key_put(set, i, &built);
	pj_sig_key_clear(&built);
	return r;
}

static int
why_token(struct pj_result *res, const char *rule, const cJSON *node, int err)
{
	res->why.rule = rule;
	pj_json_text(node, res->why.value, sizeof(res->why.value));
	return err;
}

/* Step 9: claim -> local name -> PAM_USER -> exists -> not uid 0 unless a
 * map rule names it literally. */
static int
check_user(const struct pj_config *cfg, const cJSON *payload, const char *user, struct pj_result *res)
{
	const cJSON *claim = pj_claim_get(payload, cfg->user_claim);
	char name[PJ_USER_MAX + 1], *pwbuf = NULL;
	struct passwd pw;
	size_t len;
	int literal = 0, r;

	if (!cJSON_IsString(claim) || (len = strlen(claim->valuestring)) > CLAIM_USER_MAX)
		return PJ_ERR_NO_USER_MAPPING;
	if (cfg->user_map != NULL) {
		r = pj_usermap_map(cfg->user_map, claim->valuestring, len, name, sizeof(name), &literal);
		if (r != 0)
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
	if (user != NULL && strcmp(name, user) != 0) {
		res->why.rule = "user";
		snprintf(res->why.value, sizeof(res->why.value), "\"%s\"", name);
		snprintf(res->why.name, sizeof(res->why.name), "\"%s\"", user);
		return PJ_ERR_WRONG_USER;
	}
	if ((r = pj_user_lookup(name, &pw, &pwbuf)) != 0)
		return r;
	/* root, or any alias of uid 0, only by a rule that names it. */
	if (pw.pw_uid == 0 && !literal) {
		res->why.rule = "uid0";
		snprintf(res->why.value, sizeof(res->why.value), "\"%s\"", name);
		r = PJ_ERR_BAD_USER_NAME;
	}
	free(pwbuf);
	return r;
}

void
pj_result_fail(struct pj_result *res, int err)
{
	char raw[PJ_WHY_MAX * 2];

	memset(res, 0, sizeof(*res));
	res->err = err;
	pj_why_format(&res->why, err, raw, sizeof(raw));
	pj_escape(res->detail, raw, strlen(raw));
}

int
pj_verify(const struct pj_configs *set, const struct pj_log *lg, const char *token, size_t len,
    const char *user, int64_t now, unsigned flags, struct pj_result *res)
{
	const struct pj_config *cfg = NULL;
	struct pj_jws jws;
	struct pj_keys *keys = NULL;
	char raw[PJ_WHY_MAX * 2];
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
	if ((r = pj_jws_check_header(&jws, PJ_ALG_ALL)) != 0) {
		if (r == PJ_ERR_ALG_NOT_ALLOWED)
			why_token(res, "alg", pj_json_get(jws.header, "alg"), r);
		goto out;
	}
	pj_log(lg, LOG_DEBUG, "step 2: header accepted (alg %s, kid \"%s\")", res->alg, res->kid);
	/* 3. Issuer: iss only chooses the settings, and so the keys; an
	 * unknown iss never causes a request. */
	if ((cfg = pj_configs_pick(set, pj_json_get_string(jws.payload, "iss"))) == NULL) {
		r = why_token(res, "iss", pj_json_get(jws.payload, "iss"), PJ_ERR_BAD_ISSUER);
		goto out;
	}
	if (cfg->name != NULL)
		pj_escape(res->issuer_name, cfg->name, strlen(cfg->name));
	if (!(cfg->algs & PJ_ALG_BIT(jws.alg))) {
		r = why_token(res, "alg", pj_json_get(jws.header, "alg"), PJ_ERR_ALG_NOT_ALLOWED);
		goto out;
	}
	pj_log(lg, LOG_DEBUG, "step 3: issuer \"%s\"", cfg->name != NULL ? res->issuer_name : "-");
	/* 4, 5. Key and signature. */
	if ((r = pj_keys_open(cfg, lg, now, flags, &keys)) != 0)
		goto out;
	if ((r = check_signature(keys, &jws, flags)) != 0)
		goto out;
	res->verified = 1;
	pj_log(lg, LOG_DEBUG, "steps 4-5: key chosen, signature verified");
	{
		const cJSON *exp = pj_json_get(jws.payload, "exp");

		if (cJSON_IsNumber(exp)) {
			res->has_exp = 1;
			res->exp = exp->valuedouble;
		}
	}
	/* 6-8. Time; audience and typ; deny, then require. */
	if ((r = pj_claims_check_time(jws.payload, now, cfg->leeway, cfg->max_lifetime, &res->why)) != 0 ||
	    (r = pj_claims_check_aud(jws.payload, cfg, &res->why)) != 0 ||
	    (r = pj_claims_check_typ(jws.header, cfg, &res->why)) != 0 ||
	    (r = pj_claims_check_policy(jws.payload, cfg, &res->why)) != 0)
		goto out;
	pj_log(lg, LOG_DEBUG, "steps 6-8: time, audience, typ and claim policy hold");
	/* 9. User. */
	if ((r = check_user(cfg, jws.payload, user, res)) != 0)
		goto out;
	pj_log(lg, LOG_DEBUG, "step 9: mapped to user \"%s\", which exists", res->user);
	/* 10. Replay. */
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
	if (r == 0)
		memset(&res->why, 0, sizeof(res->why));
	pj_why_format(&res->why, r, raw, sizeof(raw));
	pj_escape(res->detail, raw, strlen(raw));
	return r;
}
