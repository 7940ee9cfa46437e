#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alg.h"
#include "conf.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "num.h"
#include "trust.h"
#include "user.h"
#include "usermap.h"
#include "util.h"

#ifndef PJ_FETCH_HELPER
#define PJ_FETCH_HELPER "/usr/libexec/pam_jwt/pam_jwt_fetch"
#endif

#define CONF_FILE_MAX (64 * 1024)
#define CONF_LINE_MAX 4096	/* also the longest module argument */
#define CONF_REQS_MAX 64
#define CONF_AUD_MAX 32
#define CONF_SECTIONS_MAX 32
#define CONF_NAME_MAX 32	/* a section NAME */
#define CONF_SCOPE_MAX 128	/* a require_scope WORD */

enum kind {
	K_CONFIG, K_FLAG, K_NUM, K_STR, K_URL, K_ISSUER, K_FILE, K_DIR, K_MAP, K_AUD, K_ALGS,
	K_CLAIM, K_REQ, K_USER, K_PROMPT, K_MORE, K_TYP, K_SCOPE, K_LOGFMT, K_ISSUERS
};

/* Where a key may stand (pam_jwt.conf(5), "Sections"). */
enum { SC_ISSUER = 0, SC_GLOBAL, SC_ARG };

enum {
	KEY_CONFIG, KEY_ISSUER, KEY_AUDIENCE, KEY_JWKS_URI, KEY_JWKS_FILE, KEY_ALGORITHMS,
	KEY_USER_CLAIM, KEY_USER_MAP, KEY_REQUIRE_CLAIM, KEY_LEEWAY, KEY_MAX_LIFETIME,
	KEY_JTI_REPLAY, KEY_STATE_DIR, KEY_CACHE_DIR, KEY_CACHE_TTL, KEY_REFRESH_COOLDOWN,
	KEY_STALE_MAX, KEY_HTTP_TIMEOUT, KEY_CA_FILE, KEY_FETCH_USER, KEY_FETCH_HELPER,
	KEY_PROMPT, KEY_PROMPT_MORE, KEY_USE_FIRST_PASS, KEY_TRY_FIRST_PASS, KEY_DEBUG,
	KEY_TYP, KEY_DENY_CLAIM, KEY_REQUIRE_SCOPE, KEY_LOG_FORMAT, KEY_ISSUERS,
	KEY_COUNT
};

_Static_assert(KEY_COUNT <= PJ_CONF_KEYS, "PJ_CONF_KEYS too small");

#define F(m) offsetof(struct pj_config, m)
static const struct conf_key {
	const char *name;
	int kind;
	size_t off;
	long min, max;
	int scope;
} keys[KEY_COUNT] = {
	[KEY_CONFIG] = {"config", K_CONFIG, F(config_path), 0, 0, SC_ARG},
	[KEY_ISSUER] = {"issuer", K_ISSUER, F(issuer), 0, 0, SC_ISSUER},
	[KEY_AUDIENCE] = {"audience", K_AUD, 0, 0, 0, SC_ISSUER},
	[KEY_JWKS_URI] = {"jwks_uri", K_URL, F(jwks_uri), 0, 0, SC_ISSUER},
	[KEY_JWKS_FILE] = {"jwks_file", K_FILE, F(jwks_file), 0, 0, SC_ISSUER},
	[KEY_ALGORITHMS] = {"algorithms", K_ALGS, 0, 0, 0, SC_ISSUER},
	[KEY_USER_CLAIM] = {"user_claim", K_CLAIM, F(user_claim), 0, 0, SC_ISSUER},
	[KEY_USER_MAP] = {"user_map", K_MAP, F(user_map_path), 0, 0, SC_ISSUER},
	[KEY_REQUIRE_CLAIM] = {"require_claim", K_REQ, 0, 0, 0, SC_ISSUER},
	[KEY_LEEWAY] = {"leeway", K_NUM, F(leeway), 0, PJ_LEEWAY_MAX, SC_ISSUER},
	[KEY_MAX_LIFETIME] = {"max_lifetime", K_NUM, F(max_lifetime), 1, 2592000, SC_ISSUER},
	[KEY_JTI_REPLAY] = {"jti_replay", K_FLAG, F(jti_replay), 0, 0, SC_ISSUER},
	[KEY_STATE_DIR] = {"state_dir", K_DIR, F(state_dir), 0, 0, SC_GLOBAL},
	[KEY_CACHE_DIR] = {"cache_dir", K_DIR, F(cache_dir), 0, 0, SC_GLOBAL},
	[KEY_CACHE_TTL] = {"cache_ttl", K_NUM, F(cache_ttl), 1, 604800, SC_ISSUER},
	[KEY_REFRESH_COOLDOWN] = {"refresh_cooldown", K_NUM, F(refresh_cooldown), 1, 86400, SC_ISSUER},
	[KEY_STALE_MAX] = {"stale_max", K_NUM, F(stale_max), 0, 604800, SC_ISSUER},
	[KEY_HTTP_TIMEOUT] = {"http_timeout", K_NUM, F(http_timeout), 1, 60, SC_GLOBAL},
	[KEY_CA_FILE] = {"ca_file", K_FILE, F(ca_file), 0, 0, SC_ISSUER},
	[KEY_FETCH_USER] = {"fetch_user", K_USER, F(fetch_user), 0, 0, SC_GLOBAL},
	[KEY_FETCH_HELPER] = {"fetch_helper", K_FILE, F(fetch_helper), 0, 0, SC_GLOBAL},
	[KEY_PROMPT] = {"prompt", K_PROMPT, F(prompt), 0, 0, SC_GLOBAL},
	[KEY_PROMPT_MORE] = {"prompt_more", K_MORE, F(prompt_more), 0, 0, SC_GLOBAL},
	[KEY_USE_FIRST_PASS] = {"use_first_pass", K_FLAG, F(use_first_pass), 0, 0, SC_GLOBAL},
	[KEY_TRY_FIRST_PASS] = {"try_first_pass", K_FLAG, F(try_first_pass), 0, 0, SC_GLOBAL},
	[KEY_DEBUG] = {"debug", K_FLAG, F(debug), 0, 0, SC_GLOBAL},
	[KEY_TYP] = {"typ", K_TYP, F(typ), 0, 0, SC_ISSUER},
	[KEY_DENY_CLAIM] = {"deny_claim", K_REQ, 0, 0, 0, SC_ISSUER},
	[KEY_REQUIRE_SCOPE] = {"require_scope", K_SCOPE, 0, 0, 0, SC_ISSUER},
	[KEY_LOG_FORMAT] = {"log_format", K_LOGFMT, F(log_format), 0, 0, SC_GLOBAL},
	[KEY_ISSUERS] = {"issuers", K_ISSUERS, 0, 0, 0, SC_ARG},
};
#undef F

/* Where the final value of each key came from, for messages. */
#define FROM_NOWHERE (-2)	/* a missing key */
#define FROM_DEFAULT (-1)
#define FROM_ARGS 0

/* The [issuer NAME] sections of the config file, found by the first pass
 * over it; the text is kept to read each section again over the defaults. */
/* What one load (or one check of a kept set) has judged already: the
 * global keys every section carries, and a file several sections name, are
 * checked once per login, not once per section. */
struct judged {
	const char *path[CONF_SECTIONS_MAX * 5];	/* into configurations alive for the pass */
	size_t n;
	int fetch_user;
};

static int
judged_before(struct judged *j, const char *path)
{
	if (j == NULL)
		return 0;
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->path[i], path) == 0)
			return 1;
	if (j->n < sizeof(j->path) / sizeof(j->path[0]))
		j->path[j->n++] = path;
	return 0;
}

struct sects {
	struct judged judged;
	size_t n;
	char name[CONF_SECTIONS_MAX][CONF_NAME_MAX + 1];
	int line[CONF_SECTIONS_MAX];
	unsigned char accept[CONF_SECTIONS_MAX];	/* named by issuers= */
	int have_issuers;
	char *text;
	size_t len;
};

struct ps {
	const struct pj_log *lg;
	struct pj_config *cfg;
	int line;			/* FROM_ARGS, or the config file's line */
	unsigned char seen[KEY_COUNT];	/* in the current source */
	int from[KEY_COUNT];
	struct sects *sects;
	int want;	/* the section read over the defaults; -1: the first pass */
	int header;	/* in that section: its header line; else 0 */
	struct judged *judged;	/* NULL: judge everything */
};

static void conf_err(const struct ps *ps, const char *key, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "configuration error: PATH:LINE: key: message" (file) or without PATH:LINE. */
static void
conf_err(const struct ps *ps, const char *key, int line, const char *fmt, ...)
{
	char msg[512], k[PJ_ESC_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pj_escape(k, key, strlen(key));
	if (line > 0)
		pj_log(ps->lg, LOG_ERR, "configuration error: %s:%d: %s%s%s",
		    ps->cfg->config_path ? ps->cfg->config_path : "-", line, k, k[0] ? ": " : "", msg);
	else if (line == FROM_ARGS)
		pj_log(ps->lg, LOG_ERR, "configuration error: argument%s%s: %s", k[0] ? " " : "", k, msg);
	else if (line == FROM_DEFAULT)
		pj_log(ps->lg, LOG_ERR, "configuration error: %s (default): %s", k, msg);
	else
		pj_log(ps->lg, LOG_ERR, "configuration error: %s: %s", k, msg);
}

static char **
str_slot(struct pj_config *cfg, const struct conf_key *k)
{
	return (char **)(void *)((char *)cfg + k->off);
}

static int
set_str(struct pj_config *cfg, const struct conf_key *k, const char *v)
{
	char **slot = str_slot(cfg, k), *d;

	if ((d = strdup(v)) == NULL)
		return PJ_ERR_NOMEM;
	free(*slot);
	*slot = d;
	return 0;
}

/* https://AUTHORITY[/...], printable ASCII only, no userinfo; the issuer,
 * an OIDC identifier, takes no query or fragment either. */
static int
url_ok(const char *s, int issuer)
{
	size_t n;

	if (strncmp(s, "https://", 8) != 0)
		return 0;
	for (const char *p = s; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 0;
	s += 8;
	n = strcspn(s, "/?#");
	if (n == 0 || memchr(s, '@', n) != NULL)
		return 0;
	if (issuer && strpbrk(s, "?#") != NULL)
		return 0;
	return 1;
}

/* A member name, or a JSON Pointer (RFC 6901: '~' only as ~0 or ~1). */
static int
claim_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	if (*s != '/')
		return 1;
	for (; *s != '\0'; s++)
		if (*s == '~' && s[1] != '0' && s[1] != '1')
			return 0;
	return 1;
}

static void
trim_str(char **s)
{
	const char *p = *s;
	size_t n = strlen(p);

	pj_trim(&p, &n);
	(*s)[(p - *s) + n] = '\0';
	*s += p - *s;
}

static void
free_auds(char **a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	free(a);
}

/* Comma-separated, each trimmed and non-empty. v is modified. */
static int
set_audience(struct ps *ps, const struct conf_key *k, char *v)
{
	char **a = NULL, *item, *next;
	size_t n = 0;
	int r = PJ_ERR_CONFIG;

	if ((a = calloc(CONF_AUD_MAX, sizeof(*a))) == NULL)
		return PJ_ERR_NOMEM;
	for (item = v; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		trim_str(&item);
		if (*item == '\0') {
			conf_err(ps, k->name, ps->line, "empty audience in the list");
			goto out;
		}
		if (n == CONF_AUD_MAX) {
			conf_err(ps, k->name, ps->line, "more than %d audiences", CONF_AUD_MAX);
			goto out;
		}
		if ((a[n++] = strdup(item)) == NULL) {
			r = PJ_ERR_NOMEM;
			goto out;
		}
	}
	free_auds(ps->cfg->audiences, ps->cfg->n_audiences);
	ps->cfg->audiences = a;
	ps->cfg->n_audiences = n;
	a = NULL;
	r = 0;
out:
	free_auds(a, n);
	return r;
}

static int
set_algs(struct ps *ps, const struct conf_key *k, char *v)
{
	char *item, *next, e[PJ_ESC_MAX];
	unsigned bits = 0;
	int a;

	for (item = v; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		trim_str(&item);
		if ((a = pj_alg_from_name(item)) < 0) {
			conf_err(ps, k->name, ps->line,
			    "\"%s\" is not one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 "
			    "EdDSA Ed25519",
			    pj_escape(e, item, strlen(item)));
			return PJ_ERR_CONFIG;
		}
		bits |= PJ_ALG_BIT(a);
	}
	ps->cfg->algs = bits;
	return 0;
}

/* require_claim or deny_claim: NAME=VALUE, written the same way. */
static int
add_req(struct ps *ps, const struct conf_key *k, const char *v)
{
	struct pj_config *cfg = ps->cfg;
	int deny = k == &keys[KEY_DENY_CLAIM];
	struct pj_claim_req **arr = deny ? &cfg->denies : &cfg->reqs;
	size_t *cnt = deny ? &cfg->n_denies : &cfg->n_reqs;
	const char *eq = strchr(v, '=');
	struct pj_claim_req *nr;
	char *name = NULL, *val = NULL;

	if (eq == NULL) {
		conf_err(ps, k->name, ps->line, "expected NAME=VALUE");
		return PJ_ERR_CONFIG;
	}
	if (eq == v || eq[1] == '\0') {
		conf_err(ps, k->name, ps->line, "empty %s in NAME=VALUE", eq == v ? "NAME" : "VALUE");
		return PJ_ERR_CONFIG;
	}
	if (*cnt == CONF_REQS_MAX) {
		conf_err(ps, k->name, ps->line, "more than %d", CONF_REQS_MAX);
		return PJ_ERR_CONFIG;
	}
	if ((name = strndup(v, (size_t)(eq - v))) == NULL || (val = strdup(eq + 1)) == NULL)
		goto nomem;
	if (!claim_name_ok(name)) {
		conf_err(ps, k->name, ps->line, "bad JSON Pointer in NAME ('~' must be ~0 or ~1)");
		free(name);
		free(val);
		return PJ_ERR_CONFIG;
	}
	if ((nr = realloc(*arr, (*cnt + 1) * sizeof(*nr))) == NULL)
		goto nomem;
	*arr = nr;
	nr[*cnt].name = name;
	nr[*cnt].value = val;
	nr[*cnt].origin = ps->line;
	(*cnt)++;
	return 0;
nomem:
	free(name);
	free(val);
	return PJ_ERR_NOMEM;
}

/* A scope WORD: 1 to 128 printable ASCII bytes other than space, '"', '\'. */
static int
add_scope(struct ps *ps, const struct conf_key *k, const char *v)
{
	struct pj_config *cfg = ps->cfg;
	size_t n = strlen(v);
	char **ns, *w;
	int *no;

	for (const char *p = v; *p != '\0'; p++) {
		if (*p <= 0x20 || *p > 0x7e || *p == '"' || *p == '\\') {
			conf_err(ps, k->name, ps->line,
			    "one word of printable ASCII without space, '\"' or '\\'");
			return PJ_ERR_CONFIG;
		}
	}
	if (n > CONF_SCOPE_MAX) {
		conf_err(ps, k->name, ps->line, "longer than %d bytes", CONF_SCOPE_MAX);
		return PJ_ERR_CONFIG;
	}
	if (cfg->n_scopes == CONF_REQS_MAX) {
		conf_err(ps, k->name, ps->line, "more than %d", CONF_REQS_MAX);
		return PJ_ERR_CONFIG;
	}
	if ((ns = realloc(cfg->scopes, (cfg->n_scopes + 1) * sizeof(*ns))) == NULL)
		return PJ_ERR_NOMEM;
	cfg->scopes = ns;
	if ((no = realloc(cfg->scope_origins, (cfg->n_scopes + 1) * sizeof(*no))) == NULL)
		return PJ_ERR_NOMEM;
	cfg->scope_origins = no;
	if ((w = strdup(v)) == NULL)
		return PJ_ERR_NOMEM;
	ns[cfg->n_scopes] = w;
	no[cfg->n_scopes] = ps->line;
	cfg->n_scopes++;
	return 0;
}

static int
sect_find(const struct sects *sc, const char *name)
{
	for (size_t i = 0; i < sc->n; i++)
		if (strcmp(sc->name[i], name) == 0)
			return (int)i;
	return -1;
}

/* issuers=NAME[,NAME...]: the sections this PAM line accepts. v is modified. */
static int
set_issuers(struct ps *ps, const struct conf_key *k, char *v)
{
	struct sects *sc = ps->sects;
	char *item, *next, e[PJ_ESC_MAX];
	int j;

	if (sc == NULL || sc->n == 0) {
		conf_err(ps, k->name, ps->line,
		    "needs a config file with [issuer NAME] sections");
		return PJ_ERR_CONFIG;
	}
	memset(sc->accept, 0, sizeof(sc->accept));
	for (item = v; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		trim_str(&item);
		if (*item == '\0') {
			conf_err(ps, k->name, ps->line, "empty NAME in the list");
			return PJ_ERR_CONFIG;
		}
		if ((j = sect_find(sc, item)) < 0 || sc->accept[j]) {
			conf_err(ps, k->name, ps->line, "\"%s\": %s",
			    pj_escape(e, item, strlen(item)),
			    j < 0 ? "no such [issuer NAME] section" : "named twice");
			return PJ_ERR_CONFIG;
		}
		sc->accept[j] = 1;
	}
	sc->have_issuers = 1;
	return 0;
}

/* Not to be read as a numbered prompt_more prompt by pam_jwt_askpass. */
static int
prompt_ok(const char *s)
{
	const char *c = strrchr(s, ':');

	return c == NULL || c == s || c[-1] < '0' || c[-1] > '9';
}

/* Ends in "%d:" and optional spaces; no other '%' (it is a format). */
static int
prompt_more_ok(const char *s)
{
	size_t n = strlen(s);
	const char *p = strchr(s, '%');

	if (p == NULL || strchr(p + 1, '%') != NULL)
		return 0;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	return n >= 3 && memcmp(s + n - 3, "%d:", 3) == 0;
}

/* Apply one key; val NULL for a bare word. key and val may be modified. */
static int
conf_set(struct ps *ps, char *key, char *val)
{
	struct pj_config *cfg = ps->cfg;
	const struct conf_key *k = NULL;
	char e[PJ_ESC_MAX];
	long long num;
	int i, rc;

	for (i = 0; i < KEY_COUNT; i++) {
		if (strcmp(key, keys[i].name) == 0) {
			k = &keys[i];
			break;
		}
	}
	if (k == NULL) {
		conf_err(ps, key, ps->line, "unknown option");
		return PJ_ERR_CONFIG;
	}
	if (k->kind == K_CONFIG && ps->line > 0) {
		conf_err(ps, key, ps->line, "not allowed in a config file");
		return PJ_ERR_CONFIG;
	}
	if (k->scope == SC_ARG && k->kind != K_CONFIG && ps->line > 0) {
		conf_err(ps, key, ps->line, "a module argument (or tool option) only");
		return PJ_ERR_CONFIG;
	}
	if (k->scope == SC_GLOBAL && ps->header > 0) {
		conf_err(ps, key, ps->line,
		    "a global key: only before the first [issuer NAME] section");
		return PJ_ERR_CONFIG;
	}
	if (k->scope == SC_ISSUER && ps->line == FROM_ARGS && ps->sects != NULL &&
	    ps->sects->n > 0) {
		conf_err(ps, key, ps->line,
		    "a per-issuer key: with [issuer NAME] sections it belongs in the file");
		return PJ_ERR_CONFIG;
	}
	if (ps->seen[i] && k->kind != K_REQ && k->kind != K_SCOPE) {
		conf_err(ps, key, ps->line, "given more than once");
		return PJ_ERR_CONFIG;
	}
	if ((i == KEY_JWKS_FILE || i == KEY_JWKS_URI) && ps->header > 0 &&
	    !ps->seen[KEY_JWKS_FILE] && !ps->seen[KEY_JWKS_URI]) {
		/* One setting: the section's key source replaces the defaults'. */
		free(cfg->jwks_file);
		free(cfg->jwks_uri);
		cfg->jwks_file = cfg->jwks_uri = NULL;
		ps->from[KEY_JWKS_FILE] = ps->from[KEY_JWKS_URI] = FROM_DEFAULT;
	}
	ps->seen[i] = 1;
	ps->from[i] = ps->line;
	if (k->kind == K_FLAG) {
		int *slot = (int *)(void *)((char *)cfg + k->off);

		if (val == NULL || strcmp(val, "yes") == 0) {
			*slot = 1;
		} else if (strcmp(val, "no") == 0) {
			*slot = 0;
		} else {
			conf_err(ps, key, ps->line, "a flag: bare, =yes or =no");
			return PJ_ERR_CONFIG;
		}
		return 0;
	}
	if (val == NULL) {
		conf_err(ps, key, ps->line, "needs a value (%s=...)", key);
		return PJ_ERR_CONFIG;
	}
	if (*val == '\0') {
		conf_err(ps, key, ps->line, "empty value");
		return PJ_ERR_CONFIG;
	}
	switch (k->kind) {
	case K_CONFIG:
		return 0;	/* read before the arguments are applied */
	case K_NUM:
		if ((rc = pj_num_parse(val, strlen(val), k->min, k->max, 0, &num)) != 0) {
			conf_err(ps, key, ps->line, "\"%s\": %s %ld to %ld", pj_escape(e, val, strlen(val)),
			    rc == PJ_ERR_MALFORMED ? "not a plain decimal number; expected" : "out of range",
			    k->min, k->max);
			return PJ_ERR_CONFIG;
		}
		*(long *)(void *)((char *)cfg + k->off) = (long)num;
		return 0;
	case K_ISSUER:
	case K_URL:
		if (!url_ok(val, k->kind == K_ISSUER)) {
			conf_err(ps, key, ps->line, "\"%s\" is not an https:// URL%s",
			    pj_escape(e, val, strlen(val)),
			    k->kind == K_ISSUER ? " (without query or fragment)" : "");
			return PJ_ERR_CONFIG;
		}
		return set_str(cfg, k, val);
	case K_AUD:
		return set_audience(ps, k, val);
	case K_ALGS:
		return set_algs(ps, k, val);
	case K_CLAIM:
		if (!claim_name_ok(val)) {
			conf_err(ps, key, ps->line, "bad JSON Pointer ('~' must be ~0 or ~1)");
			return PJ_ERR_CONFIG;
		}
		return set_str(cfg, k, val);
	case K_REQ:
		return add_req(ps, k, val);
	case K_SCOPE:
		return add_scope(ps, k, val);
	case K_TYP:
		for (const char *p = val; *p != '\0'; p++) {
			if (*p < 0x20 || *p > 0x7e) {
				conf_err(ps, key, ps->line, "printable ASCII only");
				return PJ_ERR_CONFIG;
			}
		}
		return set_str(cfg, k, val);
	case K_LOGFMT:
		if (strcmp(val, "text") != 0 && strcmp(val, "json") != 0) {
			conf_err(ps, key, ps->line, "\"%s\": expected text or json",
			    pj_escape(e, val, strlen(val)));
			return PJ_ERR_CONFIG;
		}
		cfg->log_format =
		    strcmp(val, "json") == 0 ? PJ_LOG_FORMAT_JSON : PJ_LOG_FORMAT_TEXT;
		return 0;
	case K_ISSUERS:
		return set_issuers(ps, k, val);
	case K_USER:
		if (strcmp(val, "root") == 0 || !pj_user_name_safe(val, strlen(val))) {
			conf_err(ps, key, ps->line, "\"%s\": %s", pj_escape(e, val, strlen(val)),
			    strcmp(val, "root") == 0 ? "never root" : "not a safe user name");
			return PJ_ERR_CONFIG;
		}
		return set_str(cfg, k, val);
	case K_PROMPT:
		if (!prompt_ok(val)) {
			conf_err(ps, key, ps->line, "must not end in a digit before its final ':'");
			return PJ_ERR_CONFIG;
		}
		return set_str(cfg, k, val);
	case K_MORE:
		if (!prompt_more_ok(val)) {
			conf_err(ps, key, ps->line,
			    "must end in \"%%d:\" (spaces may follow) and hold no other '%%'");
			return PJ_ERR_CONFIG;
		}
		return set_str(cfg, k, val);
	case K_STR:
	case K_FILE:
	case K_DIR:
	case K_MAP:
	default:
		return set_str(cfg, k, val);
	}
}

/* One module argument: "key=value" or a bare flag. */
static int
conf_arg(struct ps *ps, const char *arg)
{
	char buf[CONF_LINE_MAX + 1], *eq;
	size_t n;

	if (arg == NULL || (n = strlen(arg)) == 0) {
		conf_err(ps, "", FROM_ARGS, "empty argument");
		return PJ_ERR_CONFIG;
	}
	if (n > CONF_LINE_MAX) {
		conf_err(ps, "", FROM_ARGS, "argument longer than %d bytes", CONF_LINE_MAX);
		return PJ_ERR_CONFIG;
	}
	memcpy(buf, arg, n + 1);
	if ((eq = strchr(buf, '=')) != NULL)
		*eq++ = '\0';
	if (buf[0] == '\0') {
		conf_err(ps, "", FROM_ARGS, "argument without a key");
		return PJ_ERR_CONFIG;
	}
	return conf_set(ps, buf, eq);
}

/* One config file line, trimmed, not blank, not a comment. */
static int
conf_line(struct ps *ps, char *l)
{
	char *eq = strchr(l, '='), *key = l, *val = NULL;
	size_t vlen;

	if (eq != NULL) {
		*eq = '\0';
		val = eq + 1;
		trim_str(&key);
		trim_str(&val);
		vlen = strlen(val);
		if (val[0] == '"') {
			if (vlen < 2 || val[vlen - 1] != '"') {
				conf_err(ps, key, ps->line, "unterminated \"");
				return PJ_ERR_CONFIG;
			}
			val[vlen - 1] = '\0';
			val++;
		}
	}
	if (key[0] == '\0' || strpbrk(key, " \t\v\f\r") != NULL) {
		conf_err(ps, key, ps->line, "expected \"key = value\" or a flag");
		return PJ_ERR_CONFIG;
	}
	return conf_set(ps, key, val);
}

/* "[issuer NAME]", trimmed; a comment may follow. The first pass records
 * each section; later passes only count them. */
static int
conf_header(struct ps *ps, char *l, int *cur)
{
	struct sects *sc = ps->sects;
	char *end = strchr(l, ']'), *name, *rest, e[PJ_ESC_MAX];
	size_t n;
	int j;

	if (ps->want >= 0) {
		if (++*cur == ps->want) {
			memset(ps->seen, 0, sizeof(ps->seen));
			ps->header = ps->line;
		} else {
			ps->header = 0;
		}
		return 0;
	}
	rest = end != NULL ? end + 1 : NULL;
	if (rest != NULL)
		trim_str(&rest);
	if (end == NULL || (rest[0] != '\0' && rest[0] != '#') || strncmp(l, "[issuer", 7) != 0 ||
	    (l[7] != ' ' && l[7] != '\t')) {
		conf_err(ps, "[issuer]", ps->line, "expected a section header \"[issuer NAME]\"");
		return PJ_ERR_CONFIG;
	}
	*end = '\0';
	name = l + 8;
	trim_str(&name);
	n = strlen(name);
	if (n == 0 || n > CONF_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n || name[0] == '_' ||
	    name[0] == '-') {
		conf_err(ps, "[issuer]", ps->line,
		    "section name \"%s\": 1 to %d bytes of a-z, 0-9, '_' and '-', "
		    "starting with a letter or digit", pj_escape(e, name, n), CONF_NAME_MAX);
		return PJ_ERR_CONFIG;
	}
	if ((j = sect_find(sc, name)) >= 0) {
		conf_err(ps, "[issuer]", ps->line, "section \"%s\" already at line %d", name,
		    sc->line[j]);
		return PJ_ERR_CONFIG;
	}
	if (sc->n == CONF_SECTIONS_MAX) {
		conf_err(ps, "[issuer]", ps->line, "more than %d sections", CONF_SECTIONS_MAX);
		return PJ_ERR_CONFIG;
	}
	memcpy(sc->name[sc->n], name, n + 1);
	sc->line[sc->n++] = ps->line;
	++*cur;
	ps->header = ps->line;
	return 0;
}

/* The file's lines: the defaults, then in the first pass (want -1) the
 * section headers only, else the lines of section want. */
static int
conf_text(struct ps *ps, const char *buf, size_t len)
{
	char lb[CONF_LINE_MAX + 1];
	size_t off = 0;
	int cur = -1, r = 0;

	ps->line = 0;
	ps->header = 0;
	while (off < len && r == 0) {
		const char *l = buf + off, *nl = memchr(l, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - l) : len - off;

		off += n + (nl != NULL ? 1 : 0);
		ps->line++;
		if (n > CONF_LINE_MAX || memchr(l, '\0', n) != NULL) {
			conf_err(ps, "", ps->line, n > CONF_LINE_MAX ?
			    "line longer than 4096 bytes" : "NUL byte");
			r = PJ_ERR_CONFIG;
			break;
		}
		pj_trim(&l, &n);
		if (n == 0 || l[0] == '#')
			continue;
		memcpy(lb, l, n);
		lb[n] = '\0';
		if (lb[0] == '[')
			r = conf_header(ps, lb, &cur);
		else if (cur < 0 || cur == ps->want)
			r = conf_line(ps, lb);
	}
	ps->header = 0;
	return r;
}

/* The config file, opened and checked by the caller (fd). */
static int
conf_file(struct ps *ps, int fd, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int r = PJ_ERR_CONFIG;

	r = pj_read_all(fd, CONF_FILE_MAX, &buf, &len);
	if (r != 0) {
		if (r == PJ_ERR_NOMEM)
			return r;
		conf_err(ps, "config", FROM_ARGS, "%s: %s", path,
		    r == PJ_ERR_TOO_LARGE ? "larger than 64 KiB" : "cannot read");
		return PJ_ERR_CONFIG;
	}
	/* Kept: each section is read again over the defaults. */
	ps->sects->text = buf;
	ps->sects->len = len;
	return conf_text(ps, buf, len);
}

/* The trust rule (trust.h) for a path option that exists, checked without
 * reading it (O_PATH: a non-root pam_jwt_check need not read a root-only
 * file it never opens). NULL when it passes or does not exist: a missing
 * folder is created when used, a missing jwks_file is keys_unavailable, and
 * a missing ca_file or fetch_helper is judged when the keys are wanted. */
static const char *
path_check(const char *path, int type)
{
	const char *why = NULL;
	int fd = -1;

	if (pj_trust_open(path, type, PJ_TRUST_PATH, &fd, &why) == 0) {
		close(fd);
		return NULL;
	}
	return pj_trust_refused(errno) ? why : NULL;
}

/* fetch_user is never uid 0, whatever its name. A failed lookup is not an
 * error here: the helper is started as that user or not at all. */
static int
fetch_user_is_root(const char *name)
{
	struct passwd pw;
	char *buf = NULL;
	int root = pj_user_lookup(name, &pw, &buf) == 0 && pw.pw_uid == 0;

	free(buf);
	return root;
}

/* Issuers that sign for every customer of a public service, whatever
 * audience they ask for: a configuration for one must require one of these
 * claims (by name or as the JSON Pointer "/name"). Compared byte for byte. */
static const struct {
	const char *issuer;
	const char *claims[2];	/* NULL-padded */
} shared_issuers[] = {
	{"https://token.actions.githubusercontent.com", {"repository_owner_id", "repository_id"}},
	{"https://gitlab.com", {"namespace_id", "project_id"}},
	{"https://app.terraform.io", {"terraform_organization_id", NULL}},
};

/* The shared issuer cfg names but does not pin, or -1. */
static int
shared_unpinned(const struct pj_config *cfg)
{
	for (size_t i = 0; i < sizeof(shared_issuers) / sizeof(shared_issuers[0]); i++) {
		if (strcmp(cfg->issuer, shared_issuers[i].issuer) != 0)
			continue;
		for (size_t j = 0; j < cfg->n_reqs; j++) {
			const char *n = cfg->reqs[j].name;

			n += n[0] == '/';
			for (size_t c = 0; c < 2; c++)
				if (shared_issuers[i].claims[c] != NULL &&
				    strcmp(n, shared_issuers[i].claims[c]) == 0)
					return -1;
		}
		return (int)i;
	}
	return -1;
}

static int conf_env(struct ps *ps, int reused);

static int
conf_finish(struct ps *ps)
{
	static const struct {
		int key;
		const char *def;
	} defs[] = {
		{KEY_USER_CLAIM, "sub"},
		{KEY_STATE_DIR, "/var/lib/pam_jwt"},
		{KEY_CACHE_DIR, "/var/cache/pam_jwt"},
		{KEY_FETCH_HELPER, PJ_FETCH_HELPER},
		{KEY_PROMPT, "JWT: "},
		{KEY_PROMPT_MORE, "JWT part %d: "},
	};
	struct pj_config *cfg = ps->cfg;
	int r;

	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		if (*str_slot(cfg, &keys[defs[i].key]) == NULL &&
		    (r = set_str(cfg, &keys[defs[i].key], defs[i].def)) != 0)
			return r;
	}
	if (cfg->issuer == NULL || cfg->n_audiences == 0) {
		conf_err(ps, cfg->issuer == NULL ? "issuer" : "audience",
		    ps->header > 0 ? ps->header : FROM_NOWHERE,
		    ps->header > 0 ? "required in every section (or among the defaults)" :
				     "required");
		return PJ_ERR_CONFIG;
	}
	if ((r = shared_unpinned(cfg)) >= 0) {
		const char *const *c = shared_issuers[r].claims;

		conf_err(ps, "issuer", ps->from[KEY_ISSUER],
		    "%s signs for every customer of its service: "
		    "pin the owner with require_claim = %s=ID%s%s%s", cfg->issuer, c[0],
		    c[1] != NULL ? " (or " : "", c[1] != NULL ? c[1] : "",
		    c[1] != NULL ? "=ID)" : "");
		return PJ_ERR_CONFIG;
	}
	if (cfg->jwks_file != NULL && cfg->jwks_uri != NULL) {
		conf_err(ps, "jwks_file", ps->from[KEY_JWKS_FILE], "excludes jwks_uri (one key source)");
		return PJ_ERR_CONFIG;
	}
	if ((r = conf_env(ps, 0)) != 0)
		return r;
	for (int i = 0; i < KEY_COUNT; i++)
		cfg->origin[i] = ps->from[i];
	cfg->header_line = ps->header;
	return 0;
}

/*
 * What the system decides, checked at every login, also when the parsed set
 * is reused: fetch_user's uid, the paths' owner and mode, the user_map
 * file's trust at open. A parse (reused 0) loads the map and records its
 * file's identity; a reused set (reused 1) compares it. Returns 0,
 * PJ_ERR_CONFIG (logged), PJ_ERR_NOMEM, or 1: the map is another file now.
 */
static int
conf_env(struct ps *ps, int reused)
{
	static const int paths[] = {
		KEY_JWKS_FILE, KEY_CA_FILE, KEY_FETCH_HELPER, KEY_CACHE_DIR, KEY_STATE_DIR
	};
	struct pj_config *cfg = ps->cfg;
	struct pj_file_id id;
	const char *why;
	int fd = -1, keep, r;

	if (cfg->fetch_user != NULL && (ps->judged == NULL || !ps->judged->fetch_user) &&
	    fetch_user_is_root(cfg->fetch_user)) {
		conf_err(ps, "fetch_user", ps->from[KEY_FETCH_USER], "never a user with uid 0");
		return PJ_ERR_CONFIG;
	}
	if (ps->judged != NULL)
		ps->judged->fetch_user = 1;	/* a global key: the same in every section */
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct conf_key *k = &keys[paths[i]];
		const char *p = *str_slot(cfg, k);
		int type = k->kind == K_DIR ? PJ_TRUST_DIR : PJ_TRUST_FILE;

		if (p != NULL && !judged_before(ps->judged, p) && (why = path_check(p, type)) != NULL) {
			conf_err(ps, k->name, ps->from[paths[i]], "%s: %s", p, why);
			return PJ_ERR_CONFIG;
		}
	}
	if (cfg->user_map_path == NULL)
		return 0;
	if (pj_trust_open(cfg->user_map_path, PJ_TRUST_FILE, PJ_TRUST_RDONLY, &fd, &why) != 0) {
		conf_err(ps, "user_map", ps->from[KEY_USER_MAP], "%s: %s", cfg->user_map_path, why);
		return PJ_ERR_CONFIG;
	}
	keep = pj_file_id_get(fd, &id) == 1;
	if (reused)
		r = keep && cfg->user_map_keep && pj_file_id_same(&id, &cfg->user_map_id) ? 0 : 1;
	else {
		r = pj_usermap_load_fd(fd, cfg->user_map_path, ps->lg, &cfg->user_map);
		cfg->user_map_id = id;
		cfg->user_map_keep = keep;
	}
	close(fd);
	return r;
}

static void config_free(struct pj_config *cfg);

/* A parse state over a fresh configuration with the built-in defaults. */
static int
ps_start(struct ps *ps, const struct pj_log *lg, struct sects *sc, int want, const char *file)
{
	struct pj_config *cfg;

	memset(ps, 0, sizeof(*ps));
	ps->lg = lg;
	ps->sects = sc;
	ps->judged = sc != NULL ? &sc->judged : NULL;
	ps->want = want;
	for (int i = 0; i < KEY_COUNT; i++)
		ps->from[i] = FROM_DEFAULT;
	if ((cfg = ps->cfg = calloc(1, sizeof(*cfg))) == NULL)
		return PJ_ERR_NOMEM;
	cfg->algs = PJ_ALG_DEFAULT;
	cfg->leeway = 60;
	cfg->refresh_cooldown = 60;
	cfg->stale_max = 3600;
	cfg->http_timeout = 5;
	if (file != NULL && (cfg->config_path = strdup(file)) == NULL)
		return PJ_ERR_NOMEM;
	return 0;
}

static int
conf_args(struct ps *ps, int argc, const char **argv)
{
	int r = 0;

	memset(ps->seen, 0, sizeof(ps->seen));
	ps->line = FROM_ARGS;
	ps->header = 0;
	for (int i = 0; i < argc && r == 0; i++)
		r = conf_arg(ps, argv[i]);
	return r;
}

/* No PAM line accepts two sections of one issuer: which would judge? */
static int
one_section_per_issuer(const struct pj_log *lg, const struct pj_configs *set)
{
	for (size_t i = 1; i < set->n; i++) {
		for (size_t j = 0; j < i; j++) {
			struct ps ep = {.lg = lg, .cfg = set->v[i]};

			if (strcmp(set->v[i]->issuer, set->v[j]->issuer) != 0)
				continue;
			conf_err(&ep, "issuer", set->v[i]->header_line,
			    "[issuer %s] has the issuer of [issuer %s] (line %d) and this PAM line "
			    "accepts both: name one of them in issuers=", set->v[i]->name,
			    set->v[j]->name, set->v[j]->header_line);
			return PJ_ERR_CONFIG;
		}
	}
	return 0;
}

/* The file first, so that the arguments override it; with sections, each
 * section is then read again over the defaults, and the arguments (global
 * keys and issuers= only) over that. */
static int
config_parse(int argc, const char **argv, int mode, const struct pj_log *lg, const char *file,
    int fd, struct pj_configs *set)
{
	struct sects *sc = NULL;
	struct ps ps, sp;
	int r = PJ_ERR_INTERNAL;

	memset(&ps, 0, sizeof(ps));
	memset(&sp, 0, sizeof(sp));
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	if ((r = ps_start(&ps, lg, sc, -1, file)) != 0)
		goto out;
	if (file != NULL && (r = conf_file(&ps, fd, file)) != 0)
		goto out;
	if ((r = conf_args(&ps, argc, argv)) != 0)
		goto out;
	if (sc->n == 0) {
		if ((r = conf_finish(&ps)) != 0)
			goto out;
		set->v[set->n++] = ps.cfg;
		ps.cfg = NULL;
		goto out;
	}
	set->sectioned = 1;
	for (size_t k = 0; k < sc->n; k++) {
		if ((r = ps_start(&sp, lg, sc, (int)k, file)) != 0)
			goto out;
		if ((sp.cfg->name = strdup(sc->name[k])) == NULL) {
			r = PJ_ERR_NOMEM;
			goto out;
		}
		if ((r = conf_text(&sp, sc->text, sc->len)) != 0 ||
		    (r = conf_args(&sp, argc, argv)) != 0)
			goto out;
		sp.header = sc->line[k];
		/* Every section is checked, also those this line does not accept. */
		if ((r = conf_finish(&sp)) != 0)
			goto out;
		if (!sc->have_issuers || sc->accept[k])
			set->v[set->n++] = sp.cfg;
		else
			set->unused[set->n_unused++] = sp.cfg;
		sp.cfg = NULL;
	}
	r = mode == PJ_CONF_REFRESH ? 0 : one_section_per_issuer(lg, set);
out:
	config_free(ps.cfg);
	config_free(sp.cfg);
	if (sc != NULL)
		free(sc->text);
	free(sc);
	return r;
}

static void
config_free(struct pj_config *cfg)
{
	if (cfg == NULL)
		return;
	for (int i = 0; i < KEY_COUNT; i++) {
		int kd = keys[i].kind;

		if (kd != K_FLAG && kd != K_NUM && kd != K_AUD && kd != K_ALGS && kd != K_REQ &&
		    kd != K_SCOPE && kd != K_LOGFMT && kd != K_ISSUERS)
			free(*str_slot(cfg, &keys[i]));
	}
	free_auds(cfg->audiences, cfg->n_audiences);
	for (size_t i = 0; i < cfg->n_reqs; i++) {
		free(cfg->reqs[i].name);
		free(cfg->reqs[i].value);
	}
	free(cfg->reqs);
	for (size_t i = 0; i < cfg->n_denies; i++) {
		free(cfg->denies[i].name);
		free(cfg->denies[i].value);
	}
	free(cfg->denies);
	for (size_t i = 0; i < cfg->n_scopes; i++)
		free(cfg->scopes[i]);
	free(cfg->scopes);
	free(cfg->scope_origins);
	free(cfg->name);
	pj_usermap_free(cfg->user_map);
	free(cfg);
}

/* The config= file, when exactly one non-empty config= is given (a
 * repeated or empty one is reported by the argument pass). */
static const char *
config_file_arg(int argc, const char **argv)
{
	const char *file = NULL;

	for (int i = 0; i < argc; i++) {
		if (argv[i] != NULL && strncmp(argv[i], "config=", 7) == 0) {
			if (file != NULL || argv[i][7] == '\0')
				return NULL;
			file = argv[i] + 7;
		}
	}
	return file;
}

/* The reuse key: the mode and every argument, each NUL-terminated. NULL
 * when an argument is NULL (the parse judges) or on no memory. */
static char *
reuse_key(int argc, const char **argv, int mode, size_t *len)
{
	size_t n = 1, off = 1;
	char *key;

	for (int i = 0; i < argc; i++) {
		if (argv[i] == NULL)
			return NULL;
		n += strlen(argv[i]) + 1;
	}
	if ((key = malloc(n)) == NULL)
		return NULL;
	key[0] = (char)('0' + mode);
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]) + 1;

		memcpy(key + off, argv[i], l);
		off += l;
	}
	*len = n;
	return key;
}

/*
 * A reused set passes what parsing it again would check now, section by
 * section in file order: 0, PJ_ERR_CONFIG (logged), or 1 when a user_map
 * is another file (parse again).
 */
static int
reuse_check(const struct pj_log *lg, const struct pj_configs *set)
{
	struct judged j = {.n = 0};
	size_t a = 0, u = 0;
	int r = 0;

	while (r == 0 && (a < set->n || u < set->n_unused)) {
		struct pj_config *cfg = u >= set->n_unused || (a < set->n &&
		    set->v[a]->header_line < set->unused[u]->header_line) ? set->v[a++] : set->unused[u++];
		struct ps ep = {.lg = lg, .cfg = cfg, .judged = &j};

		for (int i = 0; i < KEY_COUNT; i++)
			ep.from[i] = cfg->origin[i];
		r = conf_env(&ep, 1);
	}
	return r;
}

/* Every section's user_map file may be kept. */
static int
maps_keep(const struct pj_configs *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i]->user_map_path != NULL && !set->v[i]->user_map_keep)
			return 0;
	for (size_t i = 0; i < set->n_unused; i++)
		if (set->unused[i]->user_map_path != NULL && !set->unused[i]->user_map_keep)
			return 0;
	return 1;
}

/*
 * The config file is opened (and trust-checked) here, at every login; its
 * identity, with the arguments, finds a set an earlier login of this
 * process parsed (reuse.h), which is then checked like a parse would.
 */
int
pj_configs_load(int argc, const char **argv, int mode, const struct pj_log *lg,
    struct pj_configs **out)
{
	struct pj_configs *set = NULL;
	struct pj_file_id id, *idp = NULL;
	const char *file, *why;
	char *key = NULL;
	size_t keylen = 0;
	int reuse = !(mode & PJ_CONF_NO_REUSE), fd = -1, r = PJ_ERR_INTERNAL;

	*out = NULL;
	mode &= ~PJ_CONF_NO_REUSE;
	if (argc < 0 || (argc > 0 && argv == NULL) ||
	    (mode != PJ_CONF_MODULE && mode != PJ_CONF_TOOL && mode != PJ_CONF_REFRESH))
		return PJ_ERR_INTERNAL;
	if ((file = config_file_arg(argc, argv)) != NULL) {
		if (pj_trust_open(file, PJ_TRUST_FILE, PJ_TRUST_RDONLY, &fd, &why) != 0) {
			struct ps ep = {.lg = lg};

			conf_err(&ep, "config", FROM_ARGS, "%s: %s", file, why);
			return PJ_ERR_CONFIG;
		}
		idp = &id;
		reuse = reuse && pj_file_id_get(fd, &id) == 1;
	}
	if (reuse)
		key = reuse_key(argc, argv, mode, &keylen);
	if (key != NULL && (set = pj_reuse_configs_get(key, keylen, idp)) != NULL) {
		if ((r = reuse_check(lg, set)) <= 0)
			goto out;
		pj_configs_free(set);	/* a user_map changed: parse again */
		set = NULL;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->v = calloc(CONF_SECTIONS_MAX, sizeof(*set->v))) == NULL ||
	    (set->unused = calloc(CONF_SECTIONS_MAX, sizeof(*set->unused))) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	if ((r = config_parse(argc, argv, mode, lg, file, fd, set)) != 0)
		goto out;
	if (key != NULL && maps_keep(set))
		pj_reuse_configs_put(key, keylen, idp, set);
	r = 0;
out:
	if (r == 0) {
		*out = set;
		set = NULL;
	}
	pj_configs_free(set);
	free(key);
	if (fd >= 0)
		close(fd);
	return r;
}

void
pj_configs_free(struct pj_configs *set)
{
	if (set == NULL || __atomic_fetch_sub(&set->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; set->v != NULL && i < set->n; i++)
		config_free(set->v[i]);
	for (size_t i = 0; set->unused != NULL && i < set->n_unused; i++)
		config_free(set->unused[i]);
	free(set->v);
	free(set->unused);
	free(set);
}

struct pj_configs *
pj_configs_ref(struct pj_configs *set)
{
	__atomic_fetch_add(&set->refs, 1, __ATOMIC_RELAXED);
	return set;
}

const struct pj_config *
pj_configs_pick(const struct pj_configs *set, const char *iss)
{
	if (iss == NULL)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i]->issuer, iss) == 0)
			return set->v[i];
	return NULL;
}

/* "default", "argument" or "FILE:LINE" into buf. */
static const char *
origin_str(const struct pj_config *cfg, int origin, char *buf, size_t cap)
{
	if (origin == PJ_CONF_FROM_DEFAULT)
		return "default";
	if (origin == PJ_CONF_FROM_ARGS)
		return "argument";
	snprintf(buf, cap, "%s:%d", cfg->config_path != NULL ? cfg->config_path : "-", origin);
	return buf;
}

/* One setting's value as JSON (NULL: unset). */
static cJSON *
dump_value(const struct pj_config *cfg, int i)
{
	const struct conf_key *k = &keys[i];
	cJSON *a = NULL;

	switch (k->kind) {
	case K_FLAG:
		return cJSON_CreateBool(*(const int *)(const void *)((const char *)cfg + k->off));
	case K_NUM: {
		long v = *(const long *)(const void *)((const char *)cfg + k->off);

		/* max_lifetime and cache_ttl: 0 is "none". */
		return v == 0 && k->min > 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)v);
	}
	case K_AUD:
		a = cJSON_CreateArray();
		for (size_t j = 0; a != NULL && j < cfg->n_audiences; j++)
			cJSON_AddItemToArray(a, cJSON_CreateString(cfg->audiences[j]));
		return a;
	case K_ALGS:
		a = cJSON_CreateArray();
		for (int j = 0; a != NULL && j < PJ_ALG_COUNT; j++)
			if (cfg->algs & PJ_ALG_BIT(j))
				cJSON_AddItemToArray(a, cJSON_CreateString(pj_alg_name(j)));
		return a;
	case K_REQ: {
		int deny = i == KEY_DENY_CLAIM;
		const struct pj_claim_req *v = deny ? cfg->denies : cfg->reqs;
		size_t n = deny ? cfg->n_denies : cfg->n_reqs;

		a = cJSON_CreateArray();
		for (size_t j = 0; a != NULL && j < n; j++) {
			size_t len = strlen(v[j].name) + strlen(v[j].value) + 2;
			char *t = malloc(len);

			if (t == NULL) {
				cJSON_Delete(a);
				return NULL;
			}
			snprintf(t, len, "%s=%s", v[j].name, v[j].value);
			cJSON_AddItemToArray(a, cJSON_CreateString(t));
			free(t);
		}
		return a;
	}
	case K_SCOPE:
		a = cJSON_CreateArray();
		for (size_t j = 0; a != NULL && j < cfg->n_scopes; j++)
			cJSON_AddItemToArray(a, cJSON_CreateString(cfg->scopes[j]));
		return a;
	case K_LOGFMT:
		return cJSON_CreateString(cfg->log_format == PJ_LOG_FORMAT_JSON ? "json" : "text");
	default: {
		const char *v = *(char *const *)(const void *)((const char *)cfg + k->off);

		return v != NULL ? cJSON_CreateString(v) : cJSON_CreateNull();
	}
	}
}

/* The origin of a setting: one string, or one per item of a repeatable key. */
static cJSON *
dump_origin(const struct pj_config *cfg, int i)
{
	char b[PATH_MAX + 16];
	cJSON *a;

	if (keys[i].kind != K_REQ && keys[i].kind != K_SCOPE)
		return cJSON_CreateString(origin_str(cfg, cfg->origin[i], b, sizeof(b)));
	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	if (i == KEY_REQUIRE_SCOPE) {
		for (size_t j = 0; j < cfg->n_scopes; j++)
			cJSON_AddItemToArray(a, cJSON_CreateString(
			    origin_str(cfg, cfg->scope_origins[j], b, sizeof(b))));
	} else {
		const struct pj_claim_req *v = i == KEY_DENY_CLAIM ? cfg->denies : cfg->reqs;
		size_t n = i == KEY_DENY_CLAIM ? cfg->n_denies : cfg->n_reqs;

		for (size_t j = 0; j < n; j++)
			cJSON_AddItemToArray(a,
			    cJSON_CreateString(origin_str(cfg, v[j].origin, b, sizeof(b))));
	}
	return a;
}

static cJSON *
dump_section(const struct pj_config *cfg)
{
	cJSON *o = cJSON_CreateObject(), *st = cJSON_CreateObject(), *e, *v, *f;

	if (o == NULL || st == NULL)
		goto nomem;
	cJSON_AddItemToObject(o, "name",
	    cfg->name != NULL ? cJSON_CreateString(cfg->name) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "settings", st);
	for (int i = 0; i < KEY_COUNT; i++) {
		if (i == KEY_ISSUERS)
			continue;
		if ((e = cJSON_CreateObject()) == NULL)
			goto nomem_o;
		cJSON_AddItemToObject(st, keys[i].name, e);
		if ((v = dump_value(cfg, i)) == NULL || (f = dump_origin(cfg, i)) == NULL) {
			cJSON_Delete(v);
			goto nomem_o;
		}
		cJSON_AddItemToObject(e, "value", v);
		cJSON_AddItemToObject(e, "from", f);
	}
	return o;
nomem:
	cJSON_Delete(st);
nomem_o:
	cJSON_Delete(o);
	return NULL;
}

/* One "key = value  (origin)" line per setting, one per item of a list. */
static void
dump_text(const struct pj_config *cfg, FILE *out)
{
	char b[PATH_MAX + 16], e[PJ_ESC_MAX];

	if (cfg->name != NULL)
		fprintf(out, "[issuer %s]  (%s)\n", cfg->name,
		    origin_str(cfg, cfg->header_line, b, sizeof(b)));
	else
		fputs("[single issuer]\n", out);
	for (int i = 0; i < KEY_COUNT; i++) {
		cJSON *v, *f;
		int n;

		if (i == KEY_ISSUERS || (v = dump_value(cfg, i)) == NULL)
			continue;
		if ((f = dump_origin(cfg, i)) == NULL) {
			cJSON_Delete(v);
			continue;
		}
		if (cJSON_IsArray(f)) {
			n = cJSON_GetArraySize(v);
			if (n == 0)
				fprintf(out, "  %s = (none)  (default)\n", keys[i].name);
			for (int j = 0; j < n; j++) {
				const char *s = cJSON_GetArrayItem(v, j)->valuestring;

				fprintf(out, "  %s = %s  (%s)\n", keys[i].name,
				    pj_escape(e, s, strlen(s)),
				    cJSON_GetArrayItem(f, j)->valuestring);
			}
		} else {
			char *s = NULL;

			fprintf(out, "  %s = ", keys[i].name);
			if (cJSON_IsString(v))
				fputs(pj_escape(e, v->valuestring, strlen(v->valuestring)), out);
			else if (cJSON_IsArray(v))
				for (int j = 0; j < cJSON_GetArraySize(v); j++)
					fprintf(out, "%s%s", j > 0 ? "," : "", pj_escape(e,
					    cJSON_GetArrayItem(v, j)->valuestring,
					    strlen(cJSON_GetArrayItem(v, j)->valuestring)));
			else if (cJSON_IsNull(v))
				fputs("(none)", out);
			else if (cJSON_IsBool(v))
				fputs(cJSON_IsTrue(v) ? "yes" : "no", out);
			else if ((s = cJSON_PrintUnformatted(v)) != NULL)
				fputs(s, out);
			free(s);
			fprintf(out, "  (%s)\n", f->valuestring);
		}
		cJSON_Delete(v);
		cJSON_Delete(f);
	}
}

int
pj_configs_dump(const struct pj_configs *set, int json, FILE *out)
{
	cJSON *o = NULL, *a, *sec;
	char *s = NULL;
	int r = PJ_ERR_NOMEM;

	if (!json) {
		for (size_t i = 0; i < set->n; i++) {
			if (i > 0)
				fputc('\n', out);
			dump_text(set->v[i], out);
		}
		return 0;
	}
	if ((o = cJSON_CreateObject()) == NULL || cJSON_AddBoolToObject(o, "ok", 1) == NULL ||
	    (a = cJSON_AddArrayToObject(o, "sections")) == NULL)
		goto out;
	for (size_t i = 0; i < set->n; i++) {
		if ((sec = dump_section(set->v[i])) == NULL)
			goto out;
		cJSON_AddItemToArray(a, sec);
	}
	/* ASCII only, as the tool's other objects: a path may hold any byte. */
	pj_json_print(out, o, 0);
	fputc('\n', out);
	r = 0;
out:
	free(s);
	cJSON_Delete(o);
	return r;
}
