/* The configurations and the result invariants shared by fuzz_verify and
 * fuzz_claims (header-only: each target is one program). */
#ifndef PJ_FUZZ_VERDICT_H
#define PJ_FUZZ_VERDICT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/_pam_types.h>

#include "conf.h"
#include "err.h"
#include "fuzz.h"
#include "json.h"
#include "usermap.h"
#include "verify.h"

#define FUZZ_ISS "https://issuer.fuzz.test"
#define FUZZ_MAP \
	"# user map of the fuzz targets\n" \
	"alice@example.test alice\n" \
	"repo:acme/api:* bob\n" \
	"~system:serviceaccount:([a-z]+):([a-z-]+) \\1\n" \
	"~login-(bob|alice)-[0-9]+ \\1\n" \
	"bob@* =\n"

/* The plain configuration (map NULL), or the one with every user and claim
 * option; aborts when it does not parse (the harness is broken then). */
static inline struct pj_configs *
fuzz_config(const char *jwks, const char *map)
{
	char a_jwks[512], a_map[512];
	const char *plain[] = {
		"issuer=" FUZZ_ISS, "audience=ssh://host1,ssh://host2", a_jwks,
		"algorithms=RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA",
	};
	const char *mapped[] = {
		"issuer=" FUZZ_ISS, "audience=ssh://host1", a_jwks, a_map,
		"algorithms=RS256,PS512,ES256,ES384,ES512,EdDSA", "user_claim=/ext/login",
		"require_claim=/groups/0=ops", "require_claim=amr=mfa", "require_claim=level=3",
		"require_claim=/a~1b/~0c=true", "max_lifetime=7200", "leeway=0",
	};
	struct pj_configs *cfg = NULL;

	snprintf(a_jwks, sizeof(a_jwks), "jwks_file=%s", jwks);
	snprintf(a_map, sizeof(a_map), "user_map=%s", map != NULL ? map : "");
	if (map == NULL) {
		if (pj_configs_load(4, plain, PJ_CONF_MODULE | PJ_CONF_NO_REUSE, NULL, &cfg) != 0)
			fuzz_fail("the plain configuration does not parse");
	} else if (pj_configs_load(12, mapped, PJ_CONF_MODULE | PJ_CONF_NO_REUSE, NULL, &cfg) != 0)
		fuzz_fail("the mapped configuration does not parse");
	return cfg;
}

static inline void
fuzz_check_field(const char *f)
{
	size_t n = strnlen(f, PJ_ESC_MAX);

	if (n >= PJ_ESC_MAX)
		fuzz_fail("a result field is not terminated within PJ_ESC_MAX");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f[i] < 0x20 || (unsigned char)f[i] > 0x7e)
			fuzz_fail("a result field holds an unescaped byte");
}

/* Both log forms of a verdict: the JSON one parses (strict pass) into the
 * 13 fields in order, all strings; the text one reads back as exactly the
 * 13 key=value pairs, printable ASCII only. Hostile PAM items included. */
static inline void
fuzz_check_lines(const struct pj_result *res)
{
	static const char *const keys[] = {"result", "reason", "service", "pam_user", "rhost",
		"issuer_name", "user", "fields", "iss", "sub", "kid", "jti", "detail"};
	struct pj_verdict_ctx ctx = {"sshd", "x\" reason=ok\nuser=\"root", "\\\x7f", 1};
	char line[PJ_VERDICT_LINE_MAX];
	const char *p = line;
	const cJSON *it;
	cJSON *o = NULL;
	size_t i = 0;

	pj_verdict_line(res, &ctx, line, sizeof(line));
	if (pj_json_parse(line, strlen(line), 1, &o) != 0)
		fuzz_fail("the JSON verdict line does not parse");
	cJSON_ArrayForEach(it, o) {
		if (i >= 13 || strcmp(it->string, keys[i]) != 0 || !cJSON_IsString(it))
			fuzz_fail("the JSON verdict line's fields are not the 13, in order, strings");
		i++;
	}
	cJSON_Delete(o);
	if (i != 13)
		fuzz_fail("the JSON verdict line lacks a field");
	ctx.json = 0;
	pj_verdict_line(res, &ctx, line, sizeof(line));
	for (i = 0; i < 13; i++) {
		size_t k = strlen(keys[i]);

		if (strncmp(p, keys[i], k) != 0 || p[k] != '=')
			fuzz_fail("the text verdict line's fields are not the 13, in order");
		p += k + 1;
		if (*p == '"') {
			const char *q = strchr(p + 1, '"');

			if (q == NULL)
				fuzz_fail("an unterminated quoted value");
			p = q + 1;
		} else {
			p += strcspn(p, " \"");
		}
		if (*p != (i == 12 ? '\0' : ' '))
			fuzz_fail("a value runs into the next field");
		p += i < 12;
	}
	for (p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			fuzz_fail("a byte outside printable ASCII in the text verdict line");
}

static inline void
fuzz_check_result(const struct pj_result *res, const char *user, long leeway)
{
	static int verbose = -1;
	int e = res->err;

	/* PJ_FUZZ_VERBOSE=1: each verdict on stderr, to check seeds by hand. */
	if (verbose < 0)
		verbose = getenv("PJ_FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "verdict for %s: %s (user \"%s\")\n", user != NULL ? user : "-",
		    pj_err_reason(e), res->user);

	if (e > 0 || e <= PJ_ERR_MIN_)
		fuzz_fail("verdict out of the error space");
	if (e == PJ_ERR_INTERNAL || e == PJ_ERR_CONFIG || e == PJ_ERR_CONV)
		fuzz_fail("internal, config or conversation error from a token");
	fuzz_check_field(res->iss);
	fuzz_check_field(res->sub);
	fuzz_check_field(res->kid);
	fuzz_check_field(res->jti);
	if (memchr(res->detail, '\0', sizeof(res->detail)) == NULL ||
	    memchr(res->alg, '\0', sizeof(res->alg)) == NULL ||
	    memchr(res->user, '\0', sizeof(res->user)) == NULL)
		fuzz_fail("a result string is not terminated");
	if (e == 0) {
		if (!res->verified)
			fuzz_fail("accepted without a verified signature");
		if (!pj_user_name_safe(res->user, strlen(res->user)))
			fuzz_fail("accepted with an unsafe user name");
		if (user != NULL && strcmp(res->user, user) != 0)
			fuzz_fail("accepted for another user");
		if (!res->has_exp || !(res->exp + (double)leeway > (double)FUZZ_NOW))
			fuzz_fail("accepted without a live exp");
	}
	switch (e) {
	case PJ_ERR_MALFORMED:
	case PJ_ERR_TOO_LARGE:
	case PJ_ERR_BAD_HEADER:
	case PJ_ERR_ALG_NOT_ALLOWED:
	case PJ_ERR_UNKNOWN_KID:
	case PJ_ERR_NO_KEY:
	case PJ_ERR_BAD_SIGNATURE:
	case PJ_ERR_KEYS_UNAVAILABLE:
	case PJ_ERR_BAD_ISSUER:
		/* Claims are looked at only after the signature (iss only
		 * chooses the issuer, before it). A malformed
		 * claim (1e400, a bad NumericDate) may still fail later. */
		if (e != PJ_ERR_MALFORMED && res->verified)
			fuzz_fail("verified, yet refused before the claims");
		if (!res->verified && res->user[0] != '\0')
			fuzz_fail("a user mapped from an unverified token");
		break;
	default:
		if (!res->verified)
			fuzz_fail("a claim verdict on an unverified token");
		break;
	}
	fuzz_check_lines(res);
	/* A verdict without its row in err.c's table would map to 0: success. */
	if ((e == 0) != (pj_err_pam(e) == PAM_SUCCESS))
		fuzz_fail("a refusal that maps to PAM_SUCCESS, or the reverse");
}

/* The plain settings again, as the section "plain" of a file whose other
 * section trusts another issuer over the same keys with other claims. */
#define FUZZ_OTHER_ISS "https://other.fuzz.test"
static inline struct pj_configs *
fuzz_config_sectioned(const char *jwks)
{
	char text[2048], a_conf[512], *path = fuzz_path("sectioned.conf");
	const char *argv[2] = {a_conf, "issuers=other,plain"};
	struct pj_configs *cfg = NULL;
	int n;

	n = snprintf(text, sizeof(text),
	    "algorithms = RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA\n"
	    "jwks_file = %s\n"
	    "[issuer other]\n"
	    "issuer = " FUZZ_OTHER_ISS "\n"
	    "audience = ssh://host1\n"
	    "require_claim = /groups/0=ops\n"
	    "deny_claim = amr=pwd\n"
	    "leeway = 0\n"
	    "[issuer plain]\n"
	    "issuer = " FUZZ_ISS "\n"
	    "audience = ssh://host1,ssh://host2\n", jwks);
	if (n < 0 || (size_t)n >= sizeof(text))
		fuzz_fail("the sectioned configuration does not fit");
	fuzz_write(path, text, (size_t)n, 0600);
	snprintf(a_conf, sizeof(a_conf), "config=%s", path);
	if (pj_configs_load(2, argv, PJ_CONF_MODULE | PJ_CONF_NO_REUSE, NULL, &cfg) != 0 || cfg->n != 2)
		fuzz_fail("the sectioned configuration does not parse");
	free(path);
	return cfg;
}

/* The configurations of fuzz_verify and fuzz_claims, over one JWKS. */
static struct pj_configs *fuzz_plain, *fuzz_mapped, *fuzz_sectioned;

static inline void
fuzz_verdict_init(const void *jwks, size_t len)
{
	char *jp = fuzz_path("keys.jwks"), *map = fuzz_path("map");

	fuzz_write(jp, jwks, len, 0644);
	fuzz_write(map, FUZZ_MAP, strlen(FUZZ_MAP), 0644);
	fuzz_plain = fuzz_config(jp, NULL);
	fuzz_mapped = fuzz_config(jp, map);
	fuzz_sectioned = fuzz_config_sectioned(jp);
	free(jp);
	free(map);
}

/* One token through the configurations, as alice, anyone and bob. The
 * sectioned one judges as the plain one every token but the other issuer's. */
static inline void
fuzz_verdicts(const char *tok, size_t len)
{
	struct pj_result res, sec;

	pj_verify(fuzz_plain, NULL, tok, len, "alice", FUZZ_NOW, PJ_VERIFY_NO_FETCH | PJ_VERIFY_NO_REUSE, &res);
	fuzz_check_result(&res, "alice", fuzz_plain->v[0]->leeway);
	pj_verify(fuzz_sectioned, NULL, tok, len, "alice", FUZZ_NOW, PJ_VERIFY_NO_FETCH | PJ_VERIFY_NO_REUSE, &sec);
	fuzz_check_result(&sec, "alice", fuzz_plain->v[0]->leeway);
	if (sec.err != res.err && strcmp(sec.iss, FUZZ_OTHER_ISS) != 0)
		fuzz_fail("the plain section judges otherwise than the plain configuration");
	pj_verify(fuzz_plain, NULL, tok, len, NULL, FUZZ_NOW, PJ_VERIFY_NO_FETCH | PJ_VERIFY_NO_REUSE, &res);
	fuzz_check_result(&res, NULL, fuzz_plain->v[0]->leeway);
	pj_verify(fuzz_mapped, NULL, tok, len, "bob", FUZZ_NOW, PJ_VERIFY_NO_FETCH | PJ_VERIFY_NO_REUSE, &res);
	fuzz_check_result(&res, "bob", fuzz_mapped->v[0]->leeway);
}

#endif
