#include "config.h"

#include <math.h>
#include <stdio.h>
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

/* Copy at most cap - 1 bytes of src, never more than it has. */
static void
put(char *out, size_t cap, size_t *o, const char *src)
{
	size_t n = strlen(src);

	if (*o >= cap - 1)
		return;
	if (n > cap - 1 - *o)
		n = cap - 1 - *o;
	memcpy(out + *o, src, n);
	*o += n;
	out[*o] = '\0';
}

/* One scalar (or a whole nested value) as JSON text. */
static void
put_value(const cJSON *node, char *out, size_t cap, size_t *o)
{
	char *txt;

	/* json.c keeps a number's own text: 1.0 stays 1.0. */
	if (cJSON_IsNumber(node) && node->valuestring != NULL) {
		put(out, cap, o, node->valuestring);
		return;
	}
	if ((txt = cJSON_PrintUnformatted(node)) == NULL) {
		put(out, cap, o, "?");
		return;
	}
	put(out, cap, o, txt);
	free(txt);
}

void
pj_json_text(const cJSON *node, char *out, size_t cap)
{
	const cJSON *it;
	size_t o = 0;
	int i = 0;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (node == NULL) {
		put(out, cap, &o, "absent");
		return;
	}
	if (!cJSON_IsArray(node)) {
		put_value(node, out, cap, &o);
		return;
	}
	put(out, cap, &o, "[");
	cJSON_ArrayForEach(it, node) {
		if (i > 0)
			put(out, cap, &o, ",");
		if (i++ == 3) {
			put(out, cap, &o, "...");
			break;
		}
		put_value(it, out, cap, &o);
	}
	put(out, cap, &o, "]");
}

static int
time_fail(struct pj_why *why, const char *rule, const cJSON *claim, int64_t now, long leeway, int err)
{
	if (why != NULL) {
		why->rule = rule;
		pj_json_text(claim, why->value, sizeof(why->value));
		why->times = 1;
		why->t = cJSON_IsNumber(claim) ? claim->valuedouble : 0;
		why->now = now;
		why->leeway = leeway;
	}
	return err;
}

int
pj_claims_check_time(const cJSON *payload, int64_t now, long leeway, long max_lifetime,
    struct pj_why *why)
{
	double exp = 0, nbf = 0, iat = 0, t = (double)now, L = (double)leeway;
	int r;

	/* exp is required: nothing proves the token is not expired. */
	if ((r = numeric_date(payload, "exp", &exp)) < 0)
		return r;
	if (r == 0 || !(t < exp + L))
		return time_fail(why, "exp", pj_json_get(payload, "exp"), now, leeway, PJ_ERR_EXPIRED);
	if ((r = numeric_date(payload, "nbf", &nbf)) < 0)
		return r;
	if (r == 1 && !(nbf - L <= t))
		return time_fail(why, "nbf", pj_json_get(payload, "nbf"), now, leeway,
		    PJ_ERR_NOT_YET_VALID);
	if ((r = numeric_date(payload, "iat", &iat)) < 0)
		return r;
	if (r == 1 && !(iat - L <= t))
		return time_fail(why, "iat", pj_json_get(payload, "iat"), now, leeway,
		    PJ_ERR_ISSUED_IN_FUTURE);
	if (max_lifetime > 0 && (r == 0 || !(exp - iat <= (double)max_lifetime))) {
		time_fail(why, "max_lifetime", pj_json_get(payload, "iat"), now, leeway, 0);
		if (why != NULL) {
			why->limit = max_lifetime;
			why->iat = r == 1 ? iat : -1;
			why->exp = exp;
		}
		return PJ_ERR_LIFETIME_TOO_LONG;
	}
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

static int
aud_holds(const cJSON *aud, const struct pj_config *cfg)
{
	const cJSON *it;
	int found = 0;

	if (cJSON_IsString(aud))
		return audience_ok(cfg, aud->valuestring);
	if (!cJSON_IsArray(aud))
		return 0;
	/* An array of strings only: one odd member spoils it. */
	cJSON_ArrayForEach(it, aud) {
		if (!cJSON_IsString(it))
			return 0;
		found |= audience_ok(cfg, it->valuestring);
	}
	return found;
}

int
pj_claims_check_aud(const cJSON *payload, const struct pj_config *cfg, struct pj_why *why)
{
	const cJSON *aud = pj_json_get(payload, "aud");

	if (aud_holds(aud, cfg))
		return 0;
	if (why != NULL) {
		why->rule = "aud";
		pj_json_text(aud, why->value, sizeof(why->value));
	}
	return PJ_ERR_BAD_AUDIENCE;
}

/* ASCII case folding only, whatever the host's locale (sudo sets one). */
static int
ascii_eq_fold(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		x = (x >= 'A' && x <= 'Z') ? (unsigned char)(x + 32) : x;
		y = (y >= 'A' && y <= 'Z') ? (unsigned char)(y + 32) : y;
		if (x != y)
			return 0;
	}
	return 1;
}

/* RFC 7515 4.1.9 (and RFC 8725 3.11): "application/" is added to a value
 * without '/', then the two compare without regard to ASCII case. */
static int
typ_equal(const char *a, const char *b)
{
	static const char app[] = "application/";
	const size_t an = sizeof(app) - 1;
	size_t la = strlen(a), lb = strlen(b);
	int pa = strchr(a, '/') == NULL, pb = strchr(b, '/') == NULL;

	if (pa == pb)
		return ascii_eq_fold(a, la, b, lb);
	/* One side bare: the other must be application/ and the same. */
	if (pa)
		return lb > an && ascii_eq_fold(b, an, app, an) && ascii_eq_fold(b + an, lb - an, a, la);
	return la > an && ascii_eq_fold(a, an, app, an) && ascii_eq_fold(a + an, la - an, b, lb);
}

int
pj_claims_check_typ(const cJSON *header, const struct pj_config *cfg, struct pj_why *why)
{
	const cJSON *typ;

	if (cfg->typ == NULL)
		return 0;
	typ = pj_json_get(header, "typ");
	if (cJSON_IsString(typ) && typ_equal(typ->valuestring, cfg->typ))
		return 0;
	if (why != NULL) {
		why->rule = "typ";
		snprintf(why->name, sizeof(why->name), "%s", cfg->typ);
		pj_json_text(typ, why->value, sizeof(why->value));
	}
	return PJ_ERR_BAD_HEADER;
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

/* RFC 6749 3.3: words split at spaces; empty words (double spaces) ignored. */
static int
words_have(const char *s, const char *word)
{
	size_t wn = strlen(word);

	while (*s != '\0') {
		size_t n = strcspn(s, " ");

		if (n == wn && memcmp(s, word, n) == 0)
			return 1;
		s += n;
		s += strspn(s, " ");
	}
	return 0;
}

static int
scope_claim_has(const cJSON *claim, const char *word)
{
	const cJSON *it;

	if (cJSON_IsString(claim))
		return words_have(claim->valuestring, word);
	if (cJSON_IsArray(claim))
		cJSON_ArrayForEach(it, claim)
			if (cJSON_IsString(it) && strcmp(it->valuestring, word) == 0)
				return 1;
	return 0;
}

int
pj_scope_has(const cJSON *payload, const char *word)
{
	/* Entra ID sends scp as a string, others an array or scope. */
	return scope_claim_has(pj_json_get(payload, "scope"), word) ||
	    scope_claim_has(pj_json_get(payload, "scp"), word);
}

static int
claim_fail(struct pj_why *why, const char *rule, const struct pj_claim_req *req, const cJSON *claim,
    int err)
{
	if (why != NULL) {
		why->rule = rule;
		snprintf(why->name, sizeof(why->name), "%s=%s", req->name, req->value);
		pj_json_text(claim, why->value, sizeof(why->value));
	}
	return err;
}

int
pj_claims_check_policy(const cJSON *payload, const struct pj_config *cfg, struct pj_why *why)
{
	const cJSON *c;

	/* Deny wins over everything. */
	for (size_t i = 0; i < cfg->n_denies; i++)
		if (pj_claim_matches((c = pj_claim_get(payload, cfg->denies[i].name)), cfg->denies[i].value))
			return claim_fail(why, "deny_claim", &cfg->denies[i], c, PJ_ERR_CLAIM_DENIED);
	for (size_t i = 0; i < cfg->n_reqs; i++)
		if (!pj_claim_matches((c = pj_claim_get(payload, cfg->reqs[i].name)), cfg->reqs[i].value))
			return claim_fail(why, "require_claim", &cfg->reqs[i], c, PJ_ERR_CLAIM_MISMATCH);
	for (size_t i = 0; i < cfg->n_scopes; i++) {
		if (!pj_scope_has(payload, cfg->scopes[i])) {
			if (why != NULL) {
				char sc[PJ_WHY_MAX / 2 - 8], sp[PJ_WHY_MAX / 2 - 8];

				why->rule = "require_scope";
				snprintf(why->name, sizeof(why->name), "%s", cfg->scopes[i]);
				/* Both claims, so an admin sees which one the IdP sent. */
				pj_json_text(pj_json_get(payload, "scope"), sc, sizeof(sc));
				pj_json_text(pj_json_get(payload, "scp"), sp, sizeof(sp));
				snprintf(why->value, sizeof(why->value), "scope %s, scp %s", sc, sp);
			}
			return PJ_ERR_CLAIM_MISMATCH;
		}
	}
	return 0;
}
