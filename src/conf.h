/* Options: module arguments and a config= file, parsed and checked once,
 * shared by the module and pam_jwt_check. (Named conf.h: config.h is
 * autoconf's.) */
#ifndef PJ_CONF_H
#define PJ_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "log.h"
#include "reuse.h"

/* The largest leeway= a line may set: a one-time record blocks every line
 * sharing the store until exp plus this, whatever their leeway. */
#define PJ_LEEWAY_MAX 600

struct pj_usermap;

struct pj_claim_req {
	char *name;	/* member name, or a JSON Pointer when it starts with '/' */
	char *value;
	int origin;	/* where it was written: see origin below */
};

/* Where a setting came from: a built-in default, a module argument (or tool
 * option), or the line of the config= file (> 0). */
enum { PJ_CONF_FROM_DEFAULT = -1, PJ_CONF_FROM_ARGS = 0 };
#define PJ_CONF_KEYS 40	/* room for every key of pj_config */

/* One issuer's effective settings: the global keys (the same in every
 * section) and that issuer's policy. A file without sections gives one. */
struct pj_config {
	char *config_path;
	char *name;		/* the [issuer NAME]; NULL without sections */
	char *issuer;
	char **audiences;	/* n_audiences >= 1 */
	size_t n_audiences;
	char *jwks_uri;		/* NULL: discovery (unless jwks_file) */
	char *jwks_file;
	unsigned algs;		/* PJ_ALG_BIT set; default PJ_ALG_DEFAULT */
	char *user_claim;	/* default "sub" */
	char *user_map_path;
	struct pj_usermap *user_map;	/* loaded from user_map_path, or NULL */
	struct pj_file_id user_map_id;	/* the file it was loaded from */
	int user_map_keep;		/* unchanged for a second: may be reused */
	struct pj_claim_req *reqs;
	size_t n_reqs;
	struct pj_claim_req *denies;	/* deny_claim */
	size_t n_denies;
	char **scopes;		/* require_scope words */
	size_t n_scopes;
	char *typ;		/* NULL: typ is not looked at */
	long leeway;		/* default 60 */
	long max_lifetime;	/* 0: none */
	long cache_ttl;		/* 0: unset */
	long refresh_cooldown;	/* default 60 */
	long stale_max;		/* default 3600 */
	long http_timeout;	/* default 5 */
	int jti_replay, use_first_pass, try_first_pass, debug;
	char *state_dir;	/* default /var/lib/pam_jwt */
	char *cache_dir;	/* default /var/cache/pam_jwt */
	char *ca_file;
	char *fetch_user;	/* NULL: _pam_jwt if it exists, else nobody */
	char *fetch_helper;	/* default PJ_FETCH_HELPER */
	char *prompt;		/* default "JWT: " */
	char *prompt_more;	/* default "JWT part %d: " */
	int log_format;		/* PJ_LOG_FORMAT_TEXT or PJ_LOG_FORMAT_JSON */
	int header_line;	/* the [issuer NAME] line; 0 without sections */
	int origin[PJ_CONF_KEYS];	/* per key, in conf.c's key order */
	int *scope_origins;	/* per require_scope word */
};

enum { PJ_LOG_FORMAT_TEXT = 0, PJ_LOG_FORMAT_JSON = 1 };

/* What one PAM line loaded: the issuers it accepts, in file order (n >= 1).
 * The global keys are the same in each; v[0] serves for them. */
struct pj_configs {
	int sectioned;		/* the file has [issuer NAME] sections */
	size_t n;
	struct pj_config **v;
	/* Sections this line does not accept: checked like the others when
	 * the set is reused (their paths must still pass). */
	size_t n_unused;
	struct pj_config **unused;
	long refs;		/* references besides the first (reuse.c) */
};

/* Keys that make no sense outside PAM are accepted by the tool and ignored.
 * PJ_CONF_REFRESH (the tool's --refresh) judges no token, so it takes every
 * section, two of one issuer too: no "which one would judge" question. */
enum { PJ_CONF_MODULE = 0, PJ_CONF_TOOL = 1, PJ_CONF_REFRESH = 2 };
/* Or'ed into mode: parse afresh and keep nothing (the fuzzers). */
#define PJ_CONF_NO_REUSE 0x100

/*
 * Parse argv (module arguments, "key=value" or bare flags; PAM's
 * "[key=value with spaces]" arrives already unbracketed by libpam) and the
 * config= file they name, if any. Module arguments override the file but
 * require_claim, deny_claim and require_scope add up. A file with
 * [issuer NAME] sections gives one pj_config per section the issuers=
 * argument names (every section without it): the defaults before the first
 * section, then the section's own keys (pam_jwt.conf(5)). Every error (unknown key, repeated key, empty
 * value, number out of range, bad algorithm name, non-https issuer or
 * jwks_uri, jwks_file with jwks_uri, missing issuer or audience, a file that
 * fails the owner/mode rule, a bad user_map) is logged through lg naming the
 * key and, for the file, the line, and returns PJ_ERR_CONFIG.
 * A section-level error (no issuer, an issuer accepted twice) names the
 * section's header line. *out is NULL on entry; free with pj_configs_free.
 * The set may be one an earlier login of this process parsed from the same
 * files and arguments (reuse.h), checked again as a parse would check it;
 * mode | PJ_CONF_NO_REUSE parses afresh and keeps nothing.
 */
int pj_configs_load(int argc, const char **argv, int mode, const struct pj_log *lg,
    struct pj_configs **out);
/* Drops a reference: the last one frees. A loaded set may be shared with
 * other logins (reuse.h): read-only. */
void pj_configs_free(struct pj_configs *set);
struct pj_configs *pj_configs_ref(struct pj_configs *set);

/* --check-config: every loaded issuer's effective settings, each with its
 * origin ("default", "FILE:LINE" or "argument"), as text or as one JSON
 * object {"ok": true, "sections": [...]}. 0, or PJ_ERR_NOMEM. */
int pj_configs_dump(const struct pj_configs *set, int json, FILE *out);

/* Step 3: the one accepted issuer whose `issuer` equals iss byte for byte;
 * NULL when none (iss NULL: none). */
const struct pj_config *pj_configs_pick(const struct pj_configs *set, const char *iss);

#endif
