/*
 * Options: the input up to its first NUL is a config= file, the rest are
 * module arguments separated by NULs (at most 32). Parsed as the module
 * does (pj_configs_load); an accepted configuration must hold the
 * invariants of pam_jwt.conf(5) (issuer and jwks_uri https, at least one
 * audience, algorithms within the ten, numbers in range, one key source,
 * fetch_user not root, typ and require_scope words well formed, a shared
 * issuer pinned), and with [issuer NAME] sections, per set: named sections
 * of well-formed NAMEs, no two accepted ones with one issuer, the global
 * keys the same in each.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alg.h"
#include "conf.h"
#include "err.h"
#include "fuzz.h"

#define ARGS_MAX 32

static char *conf_path, *conf_arg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t n;

	(void)argc;
	(void)argv;
	conf_path = fuzz_path("pam_jwt.conf");
	n = strlen(conf_path) + 8;
	if ((conf_arg = malloc(n)) == NULL)
		fuzz_fail("malloc");
	memcpy(conf_arg, "config=", 7);
	memcpy(conf_arg + 7, conf_path, n - 7);
	return 0;
}

/* The shared issuers and the claims that pin them (the oracle: written
 * apart from conf.c's table on purpose). */
static int
pinned(const struct pj_config *c)
{
	static const char *const t[][3] = {
		{"https://token.actions.githubusercontent.com", "repository_owner_id", "repository_id"},
		{"https://gitlab.com", "namespace_id", "project_id"},
		{"https://app.terraform.io", "terraform_organization_id", "terraform_organization_id"},
	};

	for (size_t i = 0; i < 3; i++) {
		if (strcmp(c->issuer, t[i][0]) != 0)
			continue;
		for (size_t j = 0; j < c->n_reqs; j++) {
			const char *n = c->reqs[j].name + (c->reqs[j].name[0] == '/');

			if (strcmp(n, t[i][1]) == 0 || strcmp(n, t[i][2]) == 0)
				return 1;
		}
		return 0;
	}
	return 1;
}

static void
check(const struct pj_config *c)
{
	if (c->issuer == NULL || strncmp(c->issuer, "https://", 8) != 0)
		fuzz_fail("accepted without an https issuer");
	if (c->jwks_uri != NULL && strncmp(c->jwks_uri, "https://", 8) != 0)
		fuzz_fail("accepted a jwks_uri that is not https");
	if (c->jwks_uri != NULL && c->jwks_file != NULL)
		fuzz_fail("accepted two key sources");
	if (c->n_audiences == 0 || c->audiences == NULL)
		fuzz_fail("accepted without an audience");
	for (size_t i = 0; i < c->n_audiences; i++)
		if (c->audiences[i] == NULL || c->audiences[i][0] == '\0')
			fuzz_fail("accepted an empty audience");
	if (c->algs == 0 || (c->algs & ~((1u << PJ_ALG_COUNT) - 1)) != 0)
		fuzz_fail("algorithms outside the ten");
	if (c->leeway < 0 || c->leeway > 600 || c->max_lifetime < 0 || c->max_lifetime > 2592000 ||
	    c->cache_ttl < 0 || c->cache_ttl > 604800 || c->refresh_cooldown < 1 ||
	    c->refresh_cooldown > 86400 || c->stale_max < 0 || c->stale_max > 604800 ||
	    c->http_timeout < 1 || c->http_timeout > 60)
		fuzz_fail("a number out of range");
	if (c->fetch_user != NULL && strcmp(c->fetch_user, "root") == 0)
		fuzz_fail("fetch_user root");
	if (c->user_claim == NULL || c->user_claim[0] == '\0' || c->prompt == NULL ||
	    c->prompt_more == NULL || c->state_dir == NULL || c->cache_dir == NULL ||
	    c->fetch_helper == NULL)
		fuzz_fail("a default is missing");
	for (size_t i = 0; i < c->n_reqs; i++)
		if (c->reqs[i].name[0] == '\0' || c->reqs[i].value[0] == '\0')
			fuzz_fail("an empty require_claim part");
	for (size_t i = 0; i < c->n_denies; i++)
		if (c->denies[i].name[0] == '\0' || c->denies[i].value[0] == '\0')
			fuzz_fail("an empty deny_claim part");
	for (size_t i = 0; i < c->n_scopes; i++) {
		size_t n = strlen(c->scopes[i]);

		if (n == 0 || n > 128 || strspn(c->scopes[i], "!#$%&'()*+,-./0123456789:;<=>?@"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~") != n)
			fuzz_fail("a require_scope word out of its alphabet");
	}
	if (c->typ != NULL) {
		if (c->typ[0] == '\0')
			fuzz_fail("an empty typ");
		for (const char *p = c->typ; *p != '\0'; p++)
			if (*p < 0x20 || *p > 0x7e)
				fuzz_fail("a typ outside printable ASCII");
	}
	if (c->log_format != PJ_LOG_FORMAT_TEXT && c->log_format != PJ_LOG_FORMAT_JSON)
		fuzz_fail("a log_format of neither kind");
	if (!pinned(c))
		fuzz_fail("a shared issuer accepted without its pin");
}

/* What holds across the set of issuers one PAM line accepts. */
static void
check_set(const struct pj_configs *set)
{
	const struct pj_config *a = set->v[0];

	if (set->n == 0 || set->n > 32 || (!set->sectioned && set->n != 1))
		fuzz_fail("a set of the wrong size");
	for (size_t i = 0; i < set->n; i++) {
		const struct pj_config *c = set->v[i];

		check(c);
		if (!set->sectioned) {
			if (c->name != NULL)
				fuzz_fail("a name without sections");
			continue;
		}
		if (c->name == NULL || c->name[0] == '\0' || strlen(c->name) > 32 ||
		    strspn(c->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(c->name) ||
		    c->name[0] == '_' || c->name[0] == '-')
			fuzz_fail("a section NAME out of its alphabet");
		for (size_t j = 0; j < i; j++) {
			if (strcmp(c->issuer, set->v[j]->issuer) == 0)
				fuzz_fail("two accepted sections with one issuer");
			if (strcmp(c->name, set->v[j]->name) == 0)
				fuzz_fail("two sections with one NAME");
		}
		if (c->http_timeout != a->http_timeout || c->debug != a->debug ||
		    c->use_first_pass != a->use_first_pass || c->try_first_pass != a->try_first_pass ||
		    c->log_format != a->log_format || strcmp(c->prompt, a->prompt) != 0 ||
		    strcmp(c->prompt_more, a->prompt_more) != 0 || strcmp(c->cache_dir, a->cache_dir) != 0 ||
		    strcmp(c->state_dir, a->state_dir) != 0 || strcmp(c->fetch_helper, a->fetch_helper) != 0 ||
		    (c->fetch_user == NULL) != (a->fetch_user == NULL) ||
		    (c->fetch_user != NULL && strcmp(c->fetch_user, a->fetch_user) != 0))
			fuzz_fail("a global key differs between sections");
	}
}

int
fuzz_one(const uint8_t *data, size_t size)
{
	char *parts[ARGS_MAX + 1];
	size_t lens[ARGS_MAX + 1], n;
	const char *argv[ARGS_MAX + 1];
	struct pj_configs *cfg = NULL;
	int argc = 0, r;

	n = fuzz_split(data, size, '\0', parts, lens, ARGS_MAX + 1);
	if (lens[0] > 0) {
		fuzz_write(conf_path, parts[0], lens[0], 0600);
		argv[argc++] = conf_arg;
	}
	for (size_t i = 1; i < n; i++) {
		/* Other files are other targets' business: only ours is read. */
		if (strncmp(parts[i], "config=", 7) == 0 || strncmp(parts[i], "user_map=", 9) == 0)
			continue;
		argv[argc++] = parts[i];
	}
	r = pj_configs_load(argc, argv, PJ_CONF_MODULE | PJ_CONF_NO_REUSE, NULL, &cfg);
	if (r == 0)
		check_set(cfg);
	if (r != 0 && (r != PJ_ERR_CONFIG || cfg != NULL))
		fuzz_fail("refused for another reason than a configuration error");
	pj_configs_free(cfg);
	if (lens[0] > 0)
		unlink(conf_path);
	fuzz_free_parts(parts, n);
	return 0;
}
