/* The verdict's detail and its one log line, formatted once for the text
 * log, the JSON log and pam_jwt_check. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "verdict.h"
#include "verify.h"

static const char *
reason_words(int err)
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
	case PJ_ERR_BAD_ISSUER: return "iss is not an accepted issuer";
	case PJ_ERR_BAD_AUDIENCE: return "aud holds none of the configured audiences";
	case PJ_ERR_CLAIM_DENIED: return "a deny_claim holds";
	case PJ_ERR_CLAIM_MISMATCH: return "a require_claim or require_scope does not hold";
	case PJ_ERR_WRONG_USER: return "token is for another user";
	case PJ_ERR_NO_USER_MAPPING: return "no user mapping for this token";
	case PJ_ERR_BAD_USER_NAME: return "mapped user name is not a safe name";
	case PJ_ERR_USER_UNKNOWN: return "mapped user does not exist";
	case PJ_ERR_USER_LOOKUP_FAILED: return "user lookup failed (name service unreachable?)";
	case PJ_ERR_REPLAYED: return "jti already used, or missing with jti_replay";
	case PJ_ERR_REPLAY_STORE_UNAVAILABLE: return "cannot record the jti";
	case PJ_ERR_CONFIG: return "configuration error";
	case PJ_ERR_CONV: return "the conversation failed";
	case PJ_ERR_ANSWER_REPLACED:
		return "sshd replaced the answer: the user does not exist, or is root and "
		       "PermitRootLogin is not yes";
	case PJ_ERR_NOMEM: return "out of memory";
	default: return "internal error";
	}
}

/* Whole seconds, without printf's %f (its decimal point follows the
 * locale, and sudo sets one). */
static long long
secs(double d)
{
	return (long long)d;
}

static void
format_time(const struct pj_why *w, char *out, size_t cap)
{
	const char *c = w->rule;

	if (strcmp(c, "max_lifetime") == 0) {
		if (w->iat < 0)
			snprintf(out, cap, "iat absent, now %" PRId64 ", leeway %ld: max_lifetime %ld needs iat",
			    w->now, w->leeway, w->limit);
		else
			snprintf(out, cap, "iat %lld, exp %lld, now %" PRId64 ", leeway %ld: lifetime %lld s is "
			    "%lld s over max_lifetime %ld", secs(w->iat), secs(w->exp), w->now, w->leeway,
			    secs(w->exp - w->iat), secs(w->exp - w->iat) - w->limit, w->limit);
		return;
	}
	if (strcmp(w->value, "absent") == 0) {
		snprintf(out, cap, "%s absent: nothing proves the token is not expired", c);
		return;
	}
	if (strcmp(c, "exp") == 0)
		snprintf(out, cap, "exp %s, now %" PRId64 ", leeway %ld: now is %lld s past exp", w->value,
		    w->now, w->leeway, secs((double)w->now - w->t));
	else
		snprintf(out, cap, "%s %s, now %" PRId64 ", leeway %ld: %s is %lld s ahead of now", c,
		    w->value, w->now, w->leeway, c, secs(w->t - (double)w->now));
}

void
pj_why_format(const struct pj_why *w, int err, char *out, size_t cap)
{
	const char *c = w != NULL ? w->rule : NULL;

	if (c == NULL) {
		snprintf(out, cap, "%s", reason_words(err));
	} else if (w->times) {
		format_time(w, out, cap);
	} else if (strcmp(c, "require_claim") == 0) {
		snprintf(out, cap, "require_claim %s does not hold: token has %s", w->name, w->value);
	} else if (strcmp(c, "deny_claim") == 0) {
		snprintf(out, cap, "deny_claim %s holds: token has %s", w->name, w->value);
	} else if (strcmp(c, "require_scope") == 0) {
		snprintf(out, cap, "require_scope %s missing: token has %s", w->name, w->value);
	} else if (strcmp(c, "typ") == 0) {
		snprintf(out, cap, "typ %s is not %s", w->value, w->name);
	} else if (strcmp(c, "user") == 0) {
		snprintf(out, cap, "token maps to %s, PAM_USER is %s", w->value, w->name);
	} else if (strcmp(c, "uid0") == 0) {
		snprintf(out, cap, "%s has uid 0: only a user_map rule naming it literally reaches it",
		    w->value);
	} else {
		/* iss, aud, alg: the token's value. */
		snprintf(out, cap, "%s %s: %s", c, w->value, reason_words(err));
	}
}

static void
append(char *out, size_t cap, size_t *o, const char *s, int json_escape)
{
	for (; *s != '\0' && *o + 2 < cap; s++) {
		/* Escaped text is printable ASCII without '"'; JSON doubles '\'. */
		if (json_escape && *s == '\\')
			out[(*o)++] = '\\';
		out[(*o)++] = *s;
	}
	out[*o] = '\0';
}

/* One field; v NULL or "" is missing: "-", bare in the text form. */
static void
field(char *out, size_t cap, size_t *o, const char *key, const char *v, int bare, int json)
{
	int missing = v == NULL || v[0] == '\0';
	const char *q = json || (!bare && !missing) ? "\"" : "";

	append(out, cap, o, json ? (*o > 1 ? ",\"" : "\"") : (*o > 0 ? " " : ""), 0);
	append(out, cap, o, key, 0);
	append(out, cap, o, json ? "\":" : "=", 0);
	append(out, cap, o, q, 0);
	append(out, cap, o, missing ? "-" : v, json);
	append(out, cap, o, q, 0);
}

char *
pj_verdict_line(const struct pj_result *res, const struct pj_verdict_ctx *ctx, char *out, size_t cap)
{
	char service[PJ_ESC_MAX], pam_user[PJ_ESC_MAX], rhost[PJ_ESC_MAX];
	const char *raw[] = {ctx->service, ctx->pam_user, ctx->rhost};
	char *esc[] = {service, pam_user, rhost};
	int j = ctx->json;
	size_t o = 0;

	if (cap < 4)
		return NULL;
	out[0] = '\0';
	/* The PAM items are the client's bytes too (sshd passes an invalid
	 * user's name as sent): escaped like token fields. */
	for (size_t i = 0; i < 3; i++)
		pj_escape(esc[i], raw[i] != NULL ? raw[i] : "", raw[i] != NULL ? strlen(raw[i]) : 0);
	if (j)
		append(out, cap, &o, "{", 0);
	field(out, cap, &o, "result", res->err == 0 ? "accept" : "reject", 1, j);
	field(out, cap, &o, "reason", pj_err_reason(res->err), 1, j);
	field(out, cap, &o, "service", service, 0, j);
	field(out, cap, &o, "pam_user", pam_user, 0, j);
	field(out, cap, &o, "rhost", rhost, 0, j);
	field(out, cap, &o, "issuer_name", res->issuer_name, 0, j);
	field(out, cap, &o, "user", res->user, 0, j);
	field(out, cap, &o, "fields", res->verified ? "verified" : "unverified", 1, j);
	field(out, cap, &o, "iss", res->iss, 0, j);
	field(out, cap, &o, "sub", res->sub, 0, j);
	field(out, cap, &o, "kid", res->kid, 0, j);
	field(out, cap, &o, "jti", res->jti, 0, j);
	field(out, cap, &o, "detail", res->detail, 0, j);
	if (j)
		append(out, cap, &o, "}", 0);
	return out;
}
