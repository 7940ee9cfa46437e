#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alg.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "num.h"
#include "usermap.h"
#include "util.h"

#ifndef PJ_FETCH_HELPER
#define PJ_FETCH_HELPER "/usr/libexec/pam_jwt/pam_jwt_fetch"
#endif

#define CONF_FILE_MAX (64 * 1024)
#define CONF_LINE_MAX 4096	/* also the longest module argument */
#define CONF_REQS_MAX 64
#define CONF_AUD_MAX 32

enum kind {
	K_CONFIG, K_FLAG, K_NUM, K_STR, K_URL, K_ISSUER, K_FILE, K_DIR, K_MAP, K_AUD, K_ALGS,
	K_CLAIM, K_REQ, K_USER, K_PROMPT, K_MORE
};

enum {
	KEY_CONFIG, KEY_ISSUER, KEY_AUDIENCE, KEY_JWKS_URI, KEY_JWKS_FILE, KEY_ALGORITHMS,
	KEY_USER_CLAIM, KEY_USER_MAP, KEY_REQUIRE_CLAIM, KEY_LEEWAY, KEY_MAX_LIFETIME,
	KEY_JTI_REPLAY, KEY_STATE_DIR, KEY_CACHE_DIR, KEY_CACHE_TTL, KEY_REFRESH_COOLDOWN,
	KEY_STALE_MAX, KEY_HTTP_TIMEOUT, KEY_CA_FILE, KEY_FETCH_USER, KEY_FETCH_HELPER,
	KEY_PROMPT, KEY_PROMPT_MORE, KEY_USE_FIRST_PASS, KEY_TRY_FIRST_PASS, KEY_DEBUG,
	KEY_COUNT
};

#define F(m) offsetof(struct pj_config, m)
static const struct conf_key {
	const char *name;
	int kind;
	size_t off;
	long min, max;
} keys[KEY_COUNT] = {
	[KEY_CONFIG] = {"config", K_CONFIG, F(config_path), 0, 0},
	[KEY_ISSUER] = {"issuer", K_ISSUER, F(issuer), 0, 0},
	[KEY_AUDIENCE] = {"audience", K_AUD, 0, 0, 0},
	[KEY_JWKS_URI] = {"jwks_uri", K_URL, F(jwks_uri), 0, 0},
	[KEY_JWKS_FILE] = {"jwks_file", K_FILE, F(jwks_file), 0, 0},
	[KEY_ALGORITHMS] = {"algorithms", K_ALGS, 0, 0, 0},
	[KEY_USER_CLAIM] = {"user_claim", K_CLAIM, F(user_claim), 0, 0},
	[KEY_USER_MAP] = {"user_map", K_MAP, F(user_map_path), 0, 0},
	[KEY_REQUIRE_CLAIM] = {"require_claim", K_REQ, 0, 0, 0},
	[KEY_LEEWAY] = {"leeway", K_NUM, F(leeway), 0, 600},
	[KEY_MAX_LIFETIME] = {"max_lifetime", K_NUM, F(max_lifetime), 1, 2592000},
	[KEY_JTI_REPLAY] = {"jti_replay", K_FLAG, F(jti_replay), 0, 0},
	[KEY_STATE_DIR] = {"state_dir", K_DIR, F(state_dir), 0, 0},
	[KEY_CACHE_DIR] = {"cache_dir", K_DIR, F(cache_dir), 0, 0},
	[KEY_CACHE_TTL] = {"cache_ttl", K_NUM, F(cache_ttl), 1, 604800},
	[KEY_REFRESH_COOLDOWN] = {"refresh_cooldown", K_NUM, F(refresh_cooldown), 1, 86400},
	[KEY_STALE_MAX] = {"stale_max", K_NUM, F(stale_max), 0, 604800},
	[KEY_HTTP_TIMEOUT] = {"http_timeout", K_NUM, F(http_timeout), 1, 60},
	[KEY_CA_FILE] = {"ca_file", K_FILE, F(ca_file), 0, 0},
	[KEY_FETCH_USER] = {"fetch_user", K_USER, F(fetch_user), 0, 0},
	[KEY_FETCH_HELPER] = {"fetch_helper", K_FILE, F(fetch_helper), 0, 0},
	[KEY_PROMPT] = {"prompt", K_PROMPT, F(prompt), 0, 0},
	[KEY_PROMPT_MORE] = {"prompt_more", K_MORE, F(prompt_more), 0, 0},
	[KEY_USE_FIRST_PASS] = {"use_first_pass", K_FLAG, F(use_first_pass), 0, 0},
	[KEY_TRY_FIRST_PASS] = {"try_first_pass", K_FLAG, F(try_first_pass), 0, 0},
	[KEY_DEBUG] = {"debug", K_FLAG, F(debug), 0, 0},
};
#undef F

/* Where the final value of each key came from, for messages. */
#define FROM_NOWHERE (-2)	/* a missing key */
#define FROM_DEFAULT (-1)
#define FROM_ARGS 0

struct ps {
	const struct pj_log *lg;
	struct pj_config *cfg;
	int line;			/* FROM_ARGS, or the config file's line */
	unsigned char seen[KEY_COUNT];	/* in the current source */
	int from[KEY_COUNT];
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
			    "\"%s\" is not one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA",
			    pj_escape(e, item, strlen(item)));
			return PJ_ERR_CONFIG;
		}
		bits |= PJ_ALG_BIT(a);
	}
	ps->cfg->algs = bits;
	return 0;
}

static int
add_req(struct ps *ps, const struct conf_key *k, const char *v)
{
	struct pj_config *cfg = ps->cfg;
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
	if (cfg->n_reqs == CONF_REQS_MAX) {
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
	if ((nr = realloc(cfg->reqs, (cfg->n_reqs + 1) * sizeof(*nr))) == NULL)
		goto nomem;
	cfg->reqs = nr;
	cfg->reqs[cfg->n_reqs].name = name;
	cfg->reqs[cfg->n_reqs].value = val;
	cfg->n_reqs++;
	return 0;
nomem:
	free(name);
	free(val);
	return PJ_ERR_NOMEM;
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
	if (ps->seen[i] && k->kind != K_REQ) {
		conf_err(ps, key, ps->line, "given more than once");
		return PJ_ERR_CONFIG;
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

static int
conf_file(struct ps *ps, const char *path)
{
	char *buf = NULL, lb[CONF_LINE_MAX + 1];
	const char *why;
	size_t len = 0, off = 0;
	int fd = -1, r = PJ_ERR_CONFIG;

	if (pj_open_safely(path, 0, &fd, &why) != 0) {
		conf_err(ps, "config", FROM_ARGS, "%s: %s", path, why);
		return PJ_ERR_CONFIG;
	}
	r = pj_read_all(fd, CONF_FILE_MAX, &buf, &len);
	close(fd);
	if (r != 0) {
		if (r == PJ_ERR_NOMEM)
			return r;
		conf_err(ps, "config", FROM_ARGS, "%s: %s", path,
		    r == PJ_ERR_TOO_LARGE ? "larger than 64 KiB" : "cannot read");
		return PJ_ERR_CONFIG;
	}
	r = 0;
	ps->line = 0;
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
		r = conf_line(ps, lb);
	}
	free(buf);
	return r;
}

/* Where it exists: not a symlink, the right type, owner root or us, not
 * writable by group or other (the rule pj_open_safely applies on open).
 * A jwks_file of the wrong type is judged when used: it cannot be read, so
 * keys_unavailable (a sync job may still be putting it in place). */
static const char *
path_check(const char *path, int want_dir, int type_is_error)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return NULL;	/* missing or unreachable: judged when used */
	if (S_ISLNK(st.st_mode))
		return "is a symbolic link";
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return !type_is_error ? NULL : want_dir ? "not a directory" : "not a regular file";
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return "not owned by root or the current user";
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or other";
	return NULL;
}

/* fetch_user is never uid 0, whatever its name. A failed lookup is not an
 * error here: the helper is started as that user or not at all. */
static int
fetch_user_is_root(const char *name)
{
	struct passwd pw, *res = NULL;
	size_t cap = 16384;
	char *buf = NULL;
	int e, root = 0;

	for (;;) {
		if ((buf = malloc(cap)) == NULL)
			return 0;
		e = getpwnam_r(name, &pw, buf, cap, &res);
		if (e != ERANGE || cap >= 1024 * 1024)
			break;
		free(buf);
		cap *= 4;
	}
	if (e == 0 && res != NULL && res->pw_uid == 0)
		root = 1;
	free(buf);
	return root;
}

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
	static const int paths[] = {
		KEY_JWKS_FILE, KEY_CA_FILE, KEY_FETCH_HELPER, KEY_CACHE_DIR, KEY_STATE_DIR
	};
	struct pj_config *cfg = ps->cfg;
	const char *why;
	int fd = -1, r;

	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		if (*str_slot(cfg, &keys[defs[i].key]) == NULL &&
		    (r = set_str(cfg, &keys[defs[i].key], defs[i].def)) != 0)
			return r;
	}
	if (cfg->issuer == NULL) {
		conf_err(ps, "issuer", FROM_NOWHERE, "required");
		return PJ_ERR_CONFIG;
	}
	if (cfg->n_audiences == 0) {
		conf_err(ps, "audience", FROM_NOWHERE, "required");
		return PJ_ERR_CONFIG;
	}
	if (cfg->jwks_file != NULL && cfg->jwks_uri != NULL) {
		conf_err(ps, "jwks_file", ps->from[KEY_JWKS_FILE], "excludes jwks_uri (one key source)");
		return PJ_ERR_CONFIG;
	}
	if (cfg->fetch_user != NULL && fetch_user_is_root(cfg->fetch_user)) {
		conf_err(ps, "fetch_user", ps->from[KEY_FETCH_USER], "never a user with uid 0");
		return PJ_ERR_CONFIG;
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct conf_key *k = &keys[paths[i]];
		const char *p = *str_slot(cfg, k);

		if (p != NULL && (why = path_check(p, k->kind == K_DIR, paths[i] != KEY_JWKS_FILE)) != NULL) {
			conf_err(ps, k->name, ps->from[paths[i]], "%s: %s", p, why);
			return PJ_ERR_CONFIG;
		}
	}
	if (cfg->user_map_path != NULL) {
		if (pj_open_safely(cfg->user_map_path, 0, &fd, &why) != 0) {
			conf_err(ps, "user_map", ps->from[KEY_USER_MAP], "%s: %s", cfg->user_map_path, why);
			return PJ_ERR_CONFIG;
		}
		r = pj_usermap_load_fd(fd, cfg->user_map_path, ps->lg, &cfg->user_map);
		close(fd);
		if (r != 0)
			return r;
	}
	return 0;
}

int
pj_config_parse(int argc, const char **argv, int mode, const struct pj_log *lg,
    struct pj_config **out)
{
	struct pj_config *cfg = NULL;
	struct ps ps;
	const char *file = NULL;
	int r = PJ_ERR_INTERNAL;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.lg = lg;
	for (int i = 0; i < KEY_COUNT; i++)
		ps.from[i] = FROM_DEFAULT;
	if (argc < 0 || (argc > 0 && argv == NULL) || (mode != PJ_CONF_MODULE && mode != PJ_CONF_TOOL))
		return PJ_ERR_INTERNAL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return PJ_ERR_NOMEM;
	ps.cfg = cfg;
	cfg->algs = PJ_ALG_DEFAULT;
	cfg->leeway = 60;
	cfg->refresh_cooldown = 60;
	cfg->stale_max = 3600;
	cfg->http_timeout = 5;

	/* The file first, so that the arguments override it. A repeated or
	 * empty config= is reported by the argument pass. */
	for (int i = 0; i < argc; i++) {
		if (argv[i] != NULL && strncmp(argv[i], "config=", 7) == 0) {
			if (file != NULL || argv[i][7] == '\0') {
				file = NULL;
				break;
			}
			file = argv[i] + 7;
		}
	}
	if (file != NULL) {
		if ((cfg->config_path = strdup(file)) == NULL) {
			r = PJ_ERR_NOMEM;
			goto out;
		}
		if ((r = conf_file(&ps, file)) != 0)
			goto out;
	}
	memset(ps.seen, 0, sizeof(ps.seen));
	ps.line = FROM_ARGS;
	for (int i = 0; i < argc; i++)
		if ((r = conf_arg(&ps, argv[i])) != 0)
			goto out;
	if ((r = conf_finish(&ps)) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
	r = 0;
out:
	pj_config_free(cfg);
	return r;
}

void
pj_config_free(struct pj_config *cfg)
{
	if (cfg == NULL)
		return;
	for (int i = 0; i < KEY_COUNT; i++) {
		int kd = keys[i].kind;

		if (kd != K_FLAG && kd != K_NUM && kd != K_AUD && kd != K_ALGS && kd != K_REQ)
			free(*str_slot(cfg, &keys[i]));
	}
	free_auds(cfg->audiences, cfg->n_audiences);
	for (size_t i = 0; i < cfg->n_reqs; i++) {
		free(cfg->reqs[i].name);
		free(cfg->reqs[i].value);
	}
	free(cfg->reqs);
	pj_usermap_free(cfg->user_map);
	free(cfg);
}
