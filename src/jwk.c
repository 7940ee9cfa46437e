#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alg.h"
#include "b64.h"
#include "err.h"
#include "json.h"
#include "jwk.h"
#include "log.h"
#include "sig.h"

#define RSA_MIN_BITS 2048
#define B64_LEN(n) (((n) * 4 + 2) / 3)	/* unpadded base64url of n octets */

#define ALGS_RSA (PJ_ALG_BIT(PJ_ALG_RS256) | PJ_ALG_BIT(PJ_ALG_RS384) | \
	PJ_ALG_BIT(PJ_ALG_RS512) | PJ_ALG_BIT(PJ_ALG_PS256) | PJ_ALG_BIT(PJ_ALG_PS384) | \
	PJ_ALG_BIT(PJ_ALG_PS512))

static const struct {
	const char *name;
	int crv;
	size_t size;
	unsigned algs;
} ec_crvs[] = {
	{"P-256", PJ_CRV_P256, 32, PJ_ALG_BIT(PJ_ALG_ES256)},
	{"P-384", PJ_CRV_P384, 48, PJ_ALG_BIT(PJ_ALG_ES384)},
	{"P-521", PJ_CRV_P521, 66, PJ_ALG_BIT(PJ_ALG_ES512)},
};

/*
 * The members of one JWK that matter, found in one pass over it (member
 * names are unique: the strict JSON pass refuses duplicates). secret: a
 * private or symmetric member (d p q dp dq qi oth k) is there; a JWKS that
 * publishes one is an incident.
 */
struct members {
	const cJSON *kty, *kid, *use, *ops, *alg, *n, *e, *crv, *x, *y;
	int secret;
};

static void
collect(const cJSON *j, struct members *m)
{
	static const char *const secret[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	const struct {
		const char *name;
		const cJSON **slot;
	} want[] = {
		{"kty", &m->kty}, {"kid", &m->kid}, {"use", &m->use}, {"key_ops", &m->ops},
		{"alg", &m->alg}, {"n", &m->n}, {"e", &m->e}, {"crv", &m->crv}, {"x", &m->x},
		{"y", &m->y},
	};

	memset(m, 0, sizeof(*m));
	for (const cJSON *c = j->child; c != NULL; c = c->next) {
		if (c->string == NULL)
			continue;
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (strcmp(c->string, want[i].name) == 0)
				*want[i].slot = c;
		for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
			if (strcmp(c->string, secret[i]) == 0)
				m->secret = 1;
	}
}

/* Outcome of one key: usable, or dropped for why at prio. */
struct verdict {
	const char *why;
	int prio;
};

static int
drop(struct verdict *v, int prio, const char *why)
{
	v->why = why;
	v->prio = prio;
	return PJ_ERR_NO_KEY;
}

static void
jwk_clear(struct pj_jwk *k)
{
	free(k->kid);
	free(k->a);
	free(k->b);
	memset(k, 0, sizeof(*k));
}

/*
 * Member it as canonical base64url of at most maxdec octets. 0, or
 * PJ_ERR_NO_KEY with v set (absent, not a string, not canonical, too long),
 * or PJ_ERR_NOMEM.
 */
static int
get_b64(const cJSON *it, size_t maxdec, uint8_t **out, size_t *outlen, struct verdict *v)
{
	const char *s = cJSON_GetStringValue(it);
	int r;

	if (s == NULL)
		return drop(v, LOG_WARNING, "a required member is missing or not a string");
	r = pj_b64url_decode(s, strlen(s), B64_LEN(maxdec), out, outlen);
	if (r == PJ_ERR_NOMEM)
		return r;
	if (r == PJ_ERR_TOO_LARGE)
		return drop(v, LOG_WARNING, "a key member is too long");
	if (r != 0)
		return drop(v, LOG_WARNING, "a key member is not canonical base64url");
	return 0;
}

static int
parse_rsa(const struct members *m, struct pj_jwk *k, struct verdict *v)
{
	size_t bits;
	int r;

	if ((r = get_b64(m->n, PJ_RSA_MAX_BYTES, &k->a, &k->alen, v)) != 0 ||
	    (r = get_b64(m->e, PJ_RSA_E_MAX_BYTES, &k->b, &k->blen, v)) != 0)
		return r;
	/* RFC 7518 6.3.1: unsigned big-endian, no leading zero octets. */
	if (k->alen == 0 || k->a[0] == 0 || k->blen == 0 || k->b[0] == 0)
		return drop(v, LOG_WARNING, "RSA n or e is empty or has leading zero octets");
	bits = (k->alen - 1) * 8;
	for (unsigned t = k->a[0]; t != 0; t >>= 1)
		bits++;
	if (bits < RSA_MIN_BITS)
		return drop(v, LOG_WARNING, "RSA modulus under 2048 bits");
	if ((k->b[k->blen - 1] & 1) == 0)
		return drop(v, LOG_WARNING, "RSA public exponent is even");
	if (k->blen == 1 && k->b[0] < 3)
		return drop(v, LOG_WARNING, "RSA public exponent below 3");
	k->crv = PJ_CRV_NONE;
	k->algs = ALGS_RSA;
	return 0;
}

static int
parse_ec(const struct members *m, struct pj_jwk *k, struct verdict *v)
{
	const char *crv = cJSON_GetStringValue(m->crv);
	size_t i;
	int r;

	for (i = 0; crv != NULL && i < sizeof(ec_crvs) / sizeof(ec_crvs[0]); i++)
		if (strcmp(crv, ec_crvs[i].name) == 0)
			break;
	if (crv == NULL || i == sizeof(ec_crvs) / sizeof(ec_crvs[0]))
		return drop(v, LOG_WARNING, "EC curve is not P-256, P-384 or P-521");
	if ((r = get_b64(m->x, ec_crvs[i].size, &k->a, &k->alen, v)) != 0 ||
	    (r = get_b64(m->y, ec_crvs[i].size, &k->b, &k->blen, v)) != 0)
		return r;
	/* RFC 7518 6.2.1.2: exactly the field size, leading zeros kept. */
	if (k->alen != ec_crvs[i].size || k->blen != ec_crvs[i].size)
		return drop(v, LOG_WARNING, "EC x or y is not the curve's size");
	k->crv = ec_crvs[i].crv;
	k->algs = ec_crvs[i].algs;
	return 0;
}

static int
parse_okp(const struct members *m, struct pj_jwk *k, struct verdict *v)
{
	const char *crv = cJSON_GetStringValue(m->crv);
	int r;

	if (crv == NULL || strcmp(crv, "Ed25519") != 0)
		return drop(v, LOG_WARNING, "OKP curve is not Ed25519");
	if ((r = get_b64(m->x, 32, &k->a, &k->alen, v)) != 0)
		return r;
	if (k->alen != 32)
		return drop(v, LOG_WARNING, "Ed25519 x is not 32 octets");
	k->crv = PJ_CRV_ED25519;
	k->algs = pj_alg_same_sig(PJ_ALG_EDDSA);
	return 0;
}

/*
 * One element of "keys" into k. 0 when usable (k->algs may still be 0: a
 * key for encryption, say, stays in the set and fits nothing);
 * PJ_ERR_NO_KEY when dropped (v says why); else fatal (PJ_ERR_NOMEM).
 * The caller clears k when it is not kept.
 */
static int
parse_key(const cJSON *j, struct pj_jwk *k, struct verdict *v)
{
	const cJSON *kid, *use, *ops, *alg, *op;
	struct members m;
	const char *kty;
	unsigned fit = ~0u;
	int r, verify = 0;

	if (!cJSON_IsObject(j))
		return drop(v, LOG_WARNING, "not a JSON object");
	collect(j, &m);
	if (m.secret)
		return drop(v, LOG_ERR, "it holds PRIVATE or symmetric key material "
		    "(the issuer has published a secret)");
	if ((kty = cJSON_GetStringValue(m.kty)) == NULL)
		return drop(v, LOG_WARNING, "kty is missing or not a string");
	if ((kid = m.kid) != NULL) {
		if (!cJSON_IsString(kid) || kid->valuestring[0] == '\0')
			return drop(v, LOG_WARNING, "kid is not a non-empty string");
	}
	if ((use = m.use) != NULL) {
		if (!cJSON_IsString(use))
			return drop(v, LOG_WARNING, "use is not a string");
		if (strcmp(use->valuestring, "sig") != 0)
			fit = 0;
	}
	if ((ops = m.ops) != NULL) {
		if (!cJSON_IsArray(ops))
			return drop(v, LOG_WARNING, "key_ops is not an array");
		cJSON_ArrayForEach(op, ops) {
			if (!cJSON_IsString(op))
				return drop(v, LOG_WARNING, "key_ops holds a non-string");
			if (strcmp(op->valuestring, "verify") == 0)
				verify = 1;
		}
		if (!verify)
			fit = 0;
	}
	if ((alg = m.alg) != NULL) {
		int a;

		if (!cJSON_IsString(alg))
			return drop(v, LOG_WARNING, "alg is not a string");
		/* An alg we do not verify (RSA-OAEP, ES521, HS256, ...) fits
		 * nothing; EdDSA or Ed25519 fits both. */
		a = pj_alg_from_name(alg->valuestring);
		fit &= pj_alg_same_sig(a);
	}

	if (strcmp(kty, "RSA") == 0) {
		k->kty = PJ_KTY_RSA;
		r = parse_rsa(&m, k, v);
	} else if (strcmp(kty, "EC") == 0) {
		k->kty = PJ_KTY_EC;
		r = parse_ec(&m, k, v);
	} else if (strcmp(kty, "OKP") == 0) {
		k->kty = PJ_KTY_OKP;
		r = parse_okp(&m, k, v);
	} else
		r = drop(v, LOG_WARNING, "kty is not RSA, EC or OKP");
	if (r != 0)
		return r;
	k->algs &= fit;
	if (kid != NULL && (k->kid = strdup(kid->valuestring)) == NULL)
		return PJ_ERR_NOMEM;
	return 0;
}

int
pj_jwks_parse(const char *buf, size_t len, const struct pj_log *lg, struct pj_jwks **out)
{
	cJSON *root = NULL;
	const cJSON *keys, *el;
	struct pj_jwks *set = NULL;
	struct verdict v;
	size_t count = 0, idx = 0;
	int r = PJ_ERR_INTERNAL;

	*out = NULL;
	if ((r = pj_json_parse(buf, len, 1, &root)) != 0)
		goto out;
	keys = pj_json_get(root, "keys");
	if (!cJSON_IsArray(keys)) {
		r = PJ_ERR_MALFORMED;
		goto out;
	}
	cJSON_ArrayForEach(el, keys)
		count++;
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->keys = calloc(count > 0 ? count : 1, sizeof(*set->keys))) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	cJSON_ArrayForEach(el, keys) {
		struct pj_jwk *k = &set->keys[set->n];

		v.why = NULL;
		v.prio = LOG_WARNING;
		r = parse_key(el, k, &v);
		if (r == 0) {
			if (k->algs == 0)
				pj_log(lg, LOG_DEBUG, "JWKS key %zu kept but fits no signature "
				    "algorithm (use, key_ops or alg)", idx);
			set->n++;
		} else if (r == PJ_ERR_NO_KEY) {
			const char *kid = pj_json_get_string(el, "kid");
			char esc[PJ_ESC_MAX];

			jwk_clear(k);
			set->dropped++;
			pj_log(lg, v.prio, "JWKS key %zu (kid \"%s\") dropped: %s", idx,
			    kid != NULL ? pj_escape(esc, kid, strlen(kid)) : "-", v.why);
		} else {
			jwk_clear(k);
			goto out;
		}
		idx++;
	}
	*out = set;
	set = NULL;
	r = 0;
out:
	pj_jwks_free(set);
	cJSON_Delete(root);
	return r;
}

void
pj_jwks_free(struct pj_jwks *set)
{
	if (set == NULL || __atomic_fetch_sub(&set->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < set->n; i++) {
		jwk_clear(&set->keys[i]);
		if (set->built != NULL)
			pj_sig_key_clear(&set->built[i]);
	}
	free(set->built);
	free(set->keys);
	free(set);
}

struct pj_jwks *
pj_jwks_ref(struct pj_jwks *set)
{
	__atomic_fetch_add(&set->refs, 1, __ATOMIC_RELAXED);
	return set;
}

int
pj_jwks_choose(const struct pj_jwks *set, int alg, const char *kid, const struct pj_jwk **out)
{
	const struct pj_jwk *found = NULL;
	size_t matches = 0;

	*out = NULL;
	if (set == NULL || alg < 0 || alg >= PJ_ALG_COUNT)
		return PJ_ERR_NO_KEY;
	for (size_t i = 0; i < set->n; i++) {
		const struct pj_jwk *k = &set->keys[i];

		if (kid != NULL) {
			/* No NUL inside either string (strict JSON): strcmp is
			 * byte for byte. */
			if (k->kid == NULL || strcmp(k->kid, kid) != 0)
				continue;
		} else if ((k->algs & PJ_ALG_BIT(alg)) == 0)
			continue;
		found = k;
		matches++;
	}
	if (matches == 0)
		return kid != NULL ? PJ_ERR_UNKNOWN_KID : PJ_ERR_NO_KEY;
	/* A shared kid, or several keys that fit without one: pick none. */
	if (matches > 1 || (found->algs & PJ_ALG_BIT(alg)) == 0)
		return PJ_ERR_NO_KEY;
	*out = found;
	return 0;
}
