/*
 * Options: the input up to its first NUL is a config= file, the rest are
 * module arguments separated by NULs (at most 32). Parsed as the module
 * does (pj_configs_load); an accepted configuration must hold the
 * contract's invariants (issuer and jwks_uri https, at least one audience,
 * algorithms within the ten, numbers in range, one key source, fetch_user
 * not root).
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
	r = pj_configs_load(argc, argv, PJ_CONF_MODULE, NULL, &cfg);
	for (size_t i = 0; r == 0 && i < cfg->n; i++)
		check(cfg->v[i]);
	if (r != 0 && (r != PJ_ERR_CONFIG || cfg != NULL))
		fuzz_fail("refused for another reason than a configuration error");
	pj_configs_free(cfg);
	if (lens[0] > 0)
		unlink(conf_path);
	fuzz_free_parts(parts, n);
	return 0;
}
