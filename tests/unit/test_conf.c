/* Options: module arguments and the config= file (pam_jwt(8), OPTIONS). */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alg.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "usermap.h"

static const struct pj_log lg = {NULL, 0, 0, NULL};

/* The per-run scratch folder (made by the group setup). */
static char tmpdir[64];

#define ISS "issuer=https://idp.example"
#define AUD "audience=ssh://host1"

/* The tests below look at one issuer's settings: keep the set each came
 * from, to free it with conf_free. */
static struct pj_configs *live[8];

static int
parse_set(int mode, int argc, const char **argv, struct pj_configs **set)
{
	int r;

	*set = (struct pj_configs *)(uintptr_t)1;	/* must be NULLed on entry */
	r = pj_configs_load(argc, argv, mode, &lg, set);
	if (r != 0)
		assert_null(*set);
	else
		assert_true(*set != NULL && (*set)->n >= 1);
	return r;
}

static int
parse_n(int mode, int argc, const char **argv, struct pj_config **cfg)
{
	struct pj_configs *set = NULL;
	int r = parse_set(mode, argc, argv, &set);

	*cfg = NULL;
	if (r != 0)
		return r;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (live[i] == NULL) {
			live[i] = set;
			*cfg = set->v[0];
			return 0;
		}
	}
	fail_msg("more than 8 configurations alive");
	return r;
}

static void
conf_free(struct pj_config *cfg)
{
	for (size_t i = 0; cfg != NULL && i < sizeof(live) / sizeof(live[0]); i++) {
		if (live[i] != NULL && live[i]->v[0] == cfg) {
			pj_configs_free(live[i]);
			live[i] = NULL;
			return;
		}
	}
}

/* issuer, audience, and up to two more arguments. */
static int
parse2(const char *a, const char *b, struct pj_config **cfg)
{
	const char *argv[4] = {ISS, AUD, a, b};
	int n = 2 + (a != NULL) + (b != NULL);

	return parse_n(PJ_CONF_MODULE, n, argv, cfg);
}

static int
rc2(const char *a, const char *b)
{
	struct pj_config *cfg = NULL;
	int r = parse2(a, b, &cfg);

	conf_free(cfg);
	return r;
}

/* Three arguments (NULL: fewer), not the usual issuer and audience. */
static int
rc3(const char *a, const char *b, const char *c)
{
	struct pj_config *cfg = NULL;
	const char *argv[3] = {a, b, c};
	int r = parse_n(PJ_CONF_MODULE, 2 + (c != NULL), argv, &cfg);

	conf_free(cfg);
	return r;
}

static int
rc1(const char *a)
{
	return rc2(a, NULL);
}

/* Write a file under tmpdir with that mode; path out. */
static void
put_file(const char *name, const char *text, mode_t mode, char *path, size_t cap)
{
	int fd;
	size_t n = strlen(text);

	snprintf(path, cap, "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* "key=PATH" into buf. */
static const char *
kv(char *buf, size_t cap, const char *key, const char *path)
{
	snprintf(buf, cap, "%s=%s", key, path);
	return buf;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int
group_setup(void **state)
{
	char t[] = "/tmp/pj_conf.XXXXXX";

	if (mkdtemp(t) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", t);
	return 0;
}

static int
group_teardown(void **state)
{
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
test_defaults(void **state)
{
	struct pj_config *cfg;

	assert_int_equal(parse2(NULL, NULL, &cfg), 0);
	assert_string_equal(cfg->issuer, "https://idp.example");
	assert_int_equal(cfg->n_audiences, 1);
	assert_string_equal(cfg->audiences[0], "ssh://host1");
	assert_null(cfg->config_path);
	assert_null(cfg->jwks_uri);
	assert_null(cfg->jwks_file);
	assert_int_equal(cfg->algs, PJ_ALG_DEFAULT);
	assert_string_equal(cfg->user_claim, "sub");
	assert_null(cfg->user_map_path);
	assert_null(cfg->user_map);
	assert_int_equal(cfg->n_reqs, 0);
	assert_int_equal(cfg->leeway, 60);
	assert_int_equal(cfg->max_lifetime, 0);
	assert_int_equal(cfg->cache_ttl, 0);
	assert_int_equal(cfg->refresh_cooldown, 60);
	assert_int_equal(cfg->stale_max, 3600);
	assert_int_equal(cfg->http_timeout, 5);
	assert_int_equal(cfg->jti_replay, 0);
	assert_int_equal(cfg->use_first_pass, 0);
	assert_int_equal(cfg->try_first_pass, 0);
	assert_int_equal(cfg->debug, 0);
	assert_string_equal(cfg->state_dir, "/var/lib/pam_jwt");
	assert_string_equal(cfg->cache_dir, "/var/cache/pam_jwt");
	assert_null(cfg->ca_file);
	assert_null(cfg->fetch_user);
	assert_string_equal(cfg->fetch_helper, PJ_FETCH_HELPER);
	assert_string_equal(cfg->prompt, "JWT: ");
	assert_string_equal(cfg->prompt_more, "JWT part %d: ");
	conf_free(cfg);
}

static void
test_required(void **state)
{
	struct pj_config *cfg;
	const char *only_iss[] = {ISS}, *only_aud[] = {AUD};

	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, only_iss, &cfg), PJ_ERR_CONFIG);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, only_aud, &cfg), PJ_ERR_CONFIG);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 0, NULL, &cfg), PJ_ERR_CONFIG);
	assert_int_equal(parse2(NULL, NULL, &cfg), 0);	/* twin */
	conf_free(cfg);
}

static const struct {
	const char *key;
	size_t off;
	long min, max;
} nums[] = {
	{"leeway", offsetof(struct pj_config, leeway), 0, 600},
	{"max_lifetime", offsetof(struct pj_config, max_lifetime), 1, 2592000},
	{"cache_ttl", offsetof(struct pj_config, cache_ttl), 1, 604800},
	{"refresh_cooldown", offsetof(struct pj_config, refresh_cooldown), 1, 86400},
	{"stale_max", offsetof(struct pj_config, stale_max), 0, 604800},
	{"http_timeout", offsetof(struct pj_config, http_timeout), 1, 60},
};

static long
num_field(const struct pj_config *cfg, size_t off)
{
	return *(const long *)(const void *)((const char *)cfg + off);
}

static void
test_numbers(void **state)
{
	static const char *const bad[] = {"+5", "-5", " 5", "5 ", "0x1", "1.0", "1e2", "5s",
	    "99999999999999999999999999999", "18446744073709551617"};
	struct pj_config *cfg;
	char a[128];

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		/* boundaries in range */
		snprintf(a, sizeof(a), "%s=%ld", nums[i].key, nums[i].min);
		assert_int_equal(parse2(a, NULL, &cfg), 0);
		assert_int_equal(num_field(cfg, nums[i].off), nums[i].min);
		conf_free(cfg);
		snprintf(a, sizeof(a), "%s=%ld", nums[i].key, nums[i].max);
		assert_int_equal(parse2(a, NULL, &cfg), 0);
		assert_int_equal(num_field(cfg, nums[i].off), nums[i].max);
		conf_free(cfg);
		/* and just outside */
		snprintf(a, sizeof(a), "%s=%ld", nums[i].key, nums[i].max + 1);
		assert_int_equal(rc1(a), PJ_ERR_CONFIG);
		snprintf(a, sizeof(a), "%s=%ld", nums[i].key, nums[i].min - 1);
		assert_int_equal(rc1(a), PJ_ERR_CONFIG);
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			snprintf(a, sizeof(a), "%s=%s", nums[i].key, bad[j]);
			assert_int_equal(rc1(a), PJ_ERR_CONFIG);
		}
		snprintf(a, sizeof(a), "%s=", nums[i].key);
		assert_int_equal(rc1(a), PJ_ERR_CONFIG);
		snprintf(a, sizeof(a), "%s", nums[i].key);
		assert_int_equal(rc1(a), PJ_ERR_CONFIG);
	}
	/* Leading zeros are still decimal digits. */
	assert_int_equal(parse2("leeway=007", NULL, &cfg), 0);
	assert_int_equal(cfg->leeway, 7);
	conf_free(cfg);
}

static void
test_issuer(void **state)
{
	struct pj_config *cfg;
	const char *good[] = {"issuer=https://idp.example/realms/x", AUD};
	static const char *const bad[] = {"issuer=http://idp.example", "issuer=https://",
	    "issuer=HTTPS://idp.example", "issuer=https:/idp.example", "issuer=idp.example",
	    "issuer=https://idp.example/a b", "issuer=https://idp.example/?x=1",
	    "issuer=https://idp.example/#f", "issuer=https://u:p@idp.example", "issuer=https:///x",
	    "issuer=", "issuer"};

	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, good, &cfg), 0);
	assert_string_equal(cfg->issuer, "https://idp.example/realms/x");
	conf_free(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {bad[i], AUD};

		assert_int_equal(parse_n(PJ_CONF_MODULE, 2, argv, &cfg), PJ_ERR_CONFIG);
	}
}

static void
test_jwks_uri_and_file(void **state)
{
	struct pj_config *cfg;
	char path[256], a[300];

	assert_int_equal(parse2("jwks_uri=https://idp.example/keys?v=1", NULL, &cfg), 0);
	assert_string_equal(cfg->jwks_uri, "https://idp.example/keys?v=1");
	conf_free(cfg);
	assert_int_equal(rc1("jwks_uri=http://idp.example/keys"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("jwks_uri=file:///etc/keys"), PJ_ERR_CONFIG);
	/* A jwks_file that does not exist (yet) is no configuration error. */
	assert_int_equal(parse2("jwks_file=/nonexistent/pam_jwt/keys.json", NULL, &cfg), 0);
	assert_string_equal(cfg->jwks_file, "/nonexistent/pam_jwt/keys.json");
	conf_free(cfg);
	/* One key source only. */
	assert_int_equal(rc2("jwks_file=/nonexistent/keys.json", "jwks_uri=https://idp.example/k"),
	    PJ_ERR_CONFIG);
	/* An existing one must pass the owner/mode rule. */
	put_file("jwks.json", "{\"keys\":[]}", 0644, path, sizeof(path));
	assert_int_equal(rc1(kv(a, sizeof(a), "jwks_file", path)), 0);
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "jwks_file", path)), PJ_ERR_CONFIG);
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "jwks_file", path)), PJ_ERR_CONFIG);
	/* One that exists with the wrong type is a configuration error (only a
	 * missing or unreadable one is left to keys_unavailable). */
	assert_int_equal(rc1(kv(a, sizeof(a), "jwks_file", tmpdir)), PJ_ERR_CONFIG);
}

static void
test_audience(void **state)
{
	struct pj_config *cfg;

	assert_int_equal(parse_n(PJ_CONF_MODULE, 2,
	    (const char *[]){ISS, "audience=ssh://host1, sudo://host1 ,x"}, &cfg), 0);
	assert_int_equal(cfg->n_audiences, 3);
	assert_string_equal(cfg->audiences[0], "ssh://host1");
	assert_string_equal(cfg->audiences[1], "sudo://host1");
	assert_string_equal(cfg->audiences[2], "x");
	conf_free(cfg);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, (const char *[]){ISS, "audience=a,,b"}, &cfg),
	    PJ_ERR_CONFIG);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, (const char *[]){ISS, "audience=a,"}, &cfg),
	    PJ_ERR_CONFIG);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, (const char *[]){ISS, "audience=,a"}, &cfg),
	    PJ_ERR_CONFIG);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, (const char *[]){ISS, "audience= "}, &cfg),
	    PJ_ERR_CONFIG);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, (const char *[]){ISS, "audience="}, &cfg),
	    PJ_ERR_CONFIG);
}

static void
test_algorithms(void **state)
{
	static const char *const bad[] = {"algorithms=none", "algorithms=HS256",
	    "algorithms=RS256,none", "algorithms=RS256,HS512", "algorithms=rs256",
	    "algorithms=RS256,", "algorithms=EDDSA", "algorithms=RS1", "algorithms="};
	struct pj_config *cfg;

	assert_int_equal(parse2("algorithms=RS384,ES512, EdDSA", NULL, &cfg), 0);
	assert_int_equal(cfg->algs,
	    PJ_ALG_BIT(PJ_ALG_RS384) | PJ_ALG_BIT(PJ_ALG_ES512) | PJ_ALG_BIT(PJ_ALG_EDDSA));
	conf_free(cfg);
	assert_int_equal(parse2("algorithms=RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA,"
	    "Ed25519", NULL, &cfg), 0);
	assert_int_equal(cfg->algs, (1u << PJ_ALG_COUNT) - 1);
	conf_free(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rc1(bad[i]), PJ_ERR_CONFIG);
}

static void
test_user_claim(void **state)
{
	struct pj_config *cfg;

	assert_int_equal(parse2("user_claim=/kubernetes.io/serviceaccount/name", NULL, &cfg), 0);
	assert_string_equal(cfg->user_claim, "/kubernetes.io/serviceaccount/name");
	conf_free(cfg);
	assert_int_equal(parse2("user_claim=/a~1b~0c", NULL, &cfg), 0);
	conf_free(cfg);
	assert_int_equal(parse2("user_claim=preferred_username", NULL, &cfg), 0);
	assert_string_equal(cfg->user_claim, "preferred_username");
	conf_free(cfg);
	assert_int_equal(rc1("user_claim=/a~2"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("user_claim=/a~"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("user_claim="), PJ_ERR_CONFIG);
}

static void
test_require_claim(void **state)
{
	struct pj_config *cfg;

	assert_int_equal(parse2("require_claim=/kubernetes.io/namespace=prod",
	    "require_claim=token=a=b==", &cfg), 0);
	assert_int_equal(cfg->n_reqs, 2);
	assert_string_equal(cfg->reqs[0].name, "/kubernetes.io/namespace");
	assert_string_equal(cfg->reqs[0].value, "prod");
	assert_string_equal(cfg->reqs[1].name, "token");
	assert_string_equal(cfg->reqs[1].value, "a=b==");
	conf_free(cfg);
	/* Spaces are kept: the value is the rest of the argument. */
	assert_int_equal(parse2("require_claim=scope=read write", NULL, &cfg), 0);
	assert_string_equal(cfg->reqs[0].value, "read write");
	conf_free(cfg);
	assert_int_equal(rc1("require_claim==x"), PJ_ERR_CONFIG);	/* empty NAME */
	assert_int_equal(rc1("require_claim=x="), PJ_ERR_CONFIG);	/* empty VALUE */
	assert_int_equal(rc1("require_claim=x"), PJ_ERR_CONFIG);	/* no '=' */
	assert_int_equal(rc1("require_claim="), PJ_ERR_CONFIG);
	assert_int_equal(rc1("require_claim"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("require_claim=/a~9=x"), PJ_ERR_CONFIG);
}

static void
test_flags(void **state)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
		{"debug", offsetof(struct pj_config, debug)},
		{"use_first_pass", offsetof(struct pj_config, use_first_pass)},
		{"try_first_pass", offsetof(struct pj_config, try_first_pass)},
		{"jti_replay", offsetof(struct pj_config, jti_replay)},
	};
	struct pj_config *cfg;
	char a[64], b[64];

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const char *f = flags[i].name;
		size_t off = flags[i].off;

		assert_int_equal(parse2(f, NULL, &cfg), 0);
		assert_int_equal(*(int *)(void *)((char *)cfg + off), 1);
		conf_free(cfg);
		snprintf(a, sizeof(a), "%s=yes", f);
		assert_int_equal(parse2(a, NULL, &cfg), 0);
		assert_int_equal(*(int *)(void *)((char *)cfg + off), 1);
		conf_free(cfg);
		snprintf(a, sizeof(a), "%s=no", f);
		assert_int_equal(parse2(a, NULL, &cfg), 0);
		assert_int_equal(*(int *)(void *)((char *)cfg + off), 0);
		conf_free(cfg);
		snprintf(a, sizeof(a), "%s=true", f);
		assert_int_equal(rc1(a), PJ_ERR_CONFIG);
		snprintf(a, sizeof(a), "%s=YES", f);
		assert_int_equal(rc1(a), PJ_ERR_CONFIG);
		snprintf(a, sizeof(a), "%s=", f);
		assert_int_equal(rc1(a), PJ_ERR_CONFIG);
		/* once only, whatever the spelling */
		snprintf(b, sizeof(b), "%s=no", f);
		assert_int_equal(rc2(f, b), PJ_ERR_CONFIG);
	}
}

static void
test_unknown_repeated_empty(void **state)
{
	struct pj_config *cfg;

	assert_int_equal(rc1("leway=5"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("Debug"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("nullok"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("=5"), PJ_ERR_CONFIG);
	assert_int_equal(rc1(""), PJ_ERR_CONFIG);
	assert_int_equal(rc2("leeway=5", "leeway=5"), PJ_ERR_CONFIG);
	assert_int_equal(rc1(ISS), PJ_ERR_CONFIG);	/* issuer twice */
	assert_int_equal(rc1("prompt="), PJ_ERR_CONFIG);
	assert_int_equal(rc1("state_dir="), PJ_ERR_CONFIG);
	assert_int_equal(rc1("issuer"), PJ_ERR_CONFIG);	/* not a flag */
	/* twin: each once is fine */
	assert_int_equal(parse2("leeway=5", "debug", &cfg), 0);
	conf_free(cfg);
	/* An over-long argument. */
	{
		char *big = malloc(5000);

		assert_non_null(big);
		memcpy(big, "prompt=", 7);
		memset(big + 7, 'x', 4999 - 7);
		big[4999] = '\0';
		assert_int_equal(rc1(big), PJ_ERR_CONFIG);
		big[4096] = '\0';
		assert_int_equal(rc1(big), 0);
		free(big);
	}
}

static void
test_prompts(void **state)
{
	struct pj_config *cfg;

	assert_int_equal(parse2("prompt=Token: ", "prompt_more=Part %d:  ", &cfg), 0);
	assert_string_equal(cfg->prompt, "Token: ");
	assert_string_equal(cfg->prompt_more, "Part %d:  ");
	conf_free(cfg);
	assert_int_equal(rc1("prompt=Token"), 0);
	assert_int_equal(rc1("prompt=Token 2: "), PJ_ERR_CONFIG);
	assert_int_equal(rc1("prompt=Token2:"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("prompt=JWT 2b: "), 0);
	assert_int_equal(rc1("prompt_more=JWT part %d:"), 0);
	assert_int_equal(rc1("prompt_more=JWT part %d"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("prompt_more=JWT part %d: x"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("prompt_more=%s part %d:"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("prompt_more=100% part %d:"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("prompt_more=part %n:"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("prompt_more=part %d:\t"), PJ_ERR_CONFIG);
}

static void
test_fetch_user(void **state)
{
	struct pj_config *cfg;

	assert_int_equal(parse2("fetch_user=nobody", NULL, &cfg), 0);
	assert_string_equal(cfg->fetch_user, "nobody");
	conf_free(cfg);
	assert_int_equal(rc1("fetch_user=root"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("fetch_user=Bad/Name"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("fetch_user="), PJ_ERR_CONFIG);
	/* A missing user is judged when the helper is started. */
	assert_int_equal(rc1("fetch_user=pj_no_such_user_x"), 0);
}

static void
test_dirs_and_files(void **state)
{
	char d[256], l[256], f[256], a[300];
	struct pj_config *cfg;

	snprintf(d, sizeof(d), "%s/state", tmpdir);
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(parse2(kv(a, sizeof(a), "state_dir", d), NULL, &cfg), 0);
	assert_string_equal(cfg->state_dir, d);
	conf_free(cfg);
	assert_int_equal(rc1(kv(a, sizeof(a), "cache_dir", d)), 0);
	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "state_dir", d)), PJ_ERR_CONFIG);
	assert_int_equal(rc1(kv(a, sizeof(a), "cache_dir", d)), PJ_ERR_CONFIG);
	assert_int_equal(chmod(d, 0755), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "cache_dir", d)), 0);
	/* A symlink as the final component, even to a good directory. */
	snprintf(l, sizeof(l), "%s/state-link", tmpdir);
	assert_int_equal(symlink(d, l), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "state_dir", l)), PJ_ERR_CONFIG);
	assert_int_equal(rc1(kv(a, sizeof(a), "cache_dir", l)), PJ_ERR_CONFIG);
	/* Missing: created later. */
	snprintf(l, sizeof(l), "%s/not-yet", tmpdir);
	assert_int_equal(rc1(kv(a, sizeof(a), "cache_dir", l)), 0);
	/* A file is no directory, and the other way round. */
	put_file("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644, f, sizeof(f));
	assert_int_equal(rc1(kv(a, sizeof(a), "cache_dir", f)), PJ_ERR_CONFIG);
	assert_int_equal(rc1(kv(a, sizeof(a), "ca_file", d)), PJ_ERR_CONFIG);
	/* ca_file and fetch_helper: the same rule. */
	assert_int_equal(parse2(kv(a, sizeof(a), "ca_file", f), NULL, &cfg), 0);
	assert_string_equal(cfg->ca_file, f);
	conf_free(cfg);
	assert_int_equal(chmod(f, 0620), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "ca_file", f)), PJ_ERR_CONFIG);
	put_file("helper", "#!/bin/sh\n", 0711, f, sizeof(f));
	assert_int_equal(rc1(kv(a, sizeof(a), "fetch_helper", f)), 0);
	snprintf(l, sizeof(l), "%s/helper-link", tmpdir);
	assert_int_equal(symlink(f, l), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "fetch_helper", l)), PJ_ERR_CONFIG);
	assert_int_equal(chmod(f, 0731), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "fetch_helper", f)), PJ_ERR_CONFIG);
	/* Owned by someone else (root can set that up). */
	if (geteuid() == 0) {
		assert_int_equal(chmod(f, 0711), 0);
		assert_int_equal(chown(f, 65534, 65534), 0);
		assert_int_equal(rc1(kv(a, sizeof(a), "fetch_helper", f)), PJ_ERR_CONFIG);
	} else {
		print_message("# not root: another owner's fetch_helper not tried\n");
	}
}

static void
test_tool_mode(void **state)
{
	const char *argv[] = {ISS, AUD, "use_first_pass", "prompt=X: ", "debug"};
	const char *bad[] = {ISS, AUD, "algorithms=none"};
	struct pj_config *cfg;

	assert_int_equal(parse_n(PJ_CONF_TOOL, 5, argv, &cfg), 0);
	assert_int_equal(cfg->use_first_pass, 1);
	assert_int_equal(cfg->debug, 1);
	conf_free(cfg);
	assert_int_equal(parse_n(PJ_CONF_TOOL, 3, bad, &cfg), PJ_ERR_CONFIG);
}

static void
test_config_file(void **state)
{
	char path[256], a[300];
	struct pj_config *cfg;

	put_file("a.conf",
	    "# pam_jwt options\n"
	    "\n"
	    "issuer = https://idp.example\n"
	    "  audience=ssh://host1,ssh://host2  \n"
	    "\t# indented comment\n"
	    "prompt = \"Token please: \"\n"
	    "prompt_more = \"More %d: \"\n"
	    "leeway = 10\n"
	    "debug\n"
	    "jti_replay = no\n"
	    "require_claim = email_verified=true\n"
	    "require_claim = \"note= two  spaces \"\n"
	    "user_claim = #not-a-comment\r\n",
	    0644, path, sizeof(path));
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, (const char *[]){kv(a, sizeof(a), "config", path)},
	    &cfg), 0);
	assert_string_equal(cfg->config_path, path);
	assert_string_equal(cfg->issuer, "https://idp.example");
	assert_int_equal(cfg->n_audiences, 2);
	assert_string_equal(cfg->audiences[1], "ssh://host2");
	assert_string_equal(cfg->prompt, "Token please: ");
	assert_string_equal(cfg->prompt_more, "More %d: ");
	assert_int_equal(cfg->leeway, 10);
	assert_int_equal(cfg->debug, 1);
	assert_int_equal(cfg->jti_replay, 0);
	assert_int_equal(cfg->n_reqs, 2);
	assert_string_equal(cfg->reqs[0].name, "email_verified");
	assert_string_equal(cfg->reqs[0].value, "true");
	assert_string_equal(cfg->reqs[1].name, "note");
	assert_string_equal(cfg->reqs[1].value, " two  spaces ");
	assert_string_equal(cfg->user_claim, "#not-a-comment");
	conf_free(cfg);

	/* Arguments override the file; require_claim adds up; a key given in
	 * both places once each is not "repeated". */
	assert_int_equal(parse_n(PJ_CONF_MODULE, 4, (const char *[]){kv(a, sizeof(a), "config", path),
	    "leeway=20", "require_claim=groups=admins", "debug=no"}, &cfg), 0);
	assert_int_equal(cfg->leeway, 20);
	assert_int_equal(cfg->debug, 0);
	assert_int_equal(cfg->n_reqs, 3);
	assert_string_equal(cfg->reqs[2].name, "groups");
	assert_string_equal(cfg->reqs[2].value, "admins");
	assert_int_equal(cfg->n_audiences, 2);
	conf_free(cfg);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, (const char *[]){kv(a, sizeof(a), "config", path),
	    "audience=ssh://other"}, &cfg), 0);
	assert_int_equal(cfg->n_audiences, 1);
	assert_string_equal(cfg->audiences[0], "ssh://other");
	conf_free(cfg);

	/* config= once, and not empty, and not missing. */
	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, (const char *[]){kv(a, sizeof(a), "config", path),
	    a}, &cfg), PJ_ERR_CONFIG);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 3, (const char *[]){ISS, AUD, "config="}, &cfg),
	    PJ_ERR_CONFIG);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 3, (const char *[]){ISS, AUD,
	    "config=/nonexistent/pam_jwt.conf"}, &cfg), PJ_ERR_CONFIG);
}

/* Parse with config=PATH of a file holding text; the return code. */
static int
rc_file(const char *text)
{
	char path[256], a[300];
	struct pj_config *cfg = NULL;
	const char *argv[1];
	int r;

	put_file("t.conf", text, 0600, path, sizeof(path));
	argv[0] = kv(a, sizeof(a), "config", path);
	r = parse_n(PJ_CONF_MODULE, 1, argv, &cfg);
	conf_free(cfg);
	return r;
}

static void
test_config_file_errors(void **state)
{
	const char *base = ISS "\n" AUD "\n";
	char text[512], *big;

	assert_int_equal(rc_file(base), 0);
	snprintf(text, sizeof(text), "%sleeway = 1\nleeway = 2\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);	/* repeated in the file */
	snprintf(text, sizeof(text), "%sbogus = 1\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%sleeway =\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%sprompt = \"\"\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%sprompt = \"JWT: \n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);	/* unterminated quote */
	snprintf(text, sizeof(text), "%s= 5\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%sdebug yes\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%sleeway\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%sconfig = /etc/other.conf\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%salgorithms = HS256\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%sleeway = 601\n", base);
	assert_int_equal(rc_file(text), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "%sleeway = 600\n", base);
	assert_int_equal(rc_file(text), 0);

	/* Lines up to 4096 bytes, files up to 64 KiB. */
	big = malloc(70000);
	assert_non_null(big);
	snprintf(big, 70000, "%sprompt = ", base);
	memset(big + strlen(big), 'x', 4096 - 9);
	big[strlen(base) + 4096] = '\0';
	assert_int_equal(rc_file(big), 0);
	big[strlen(base) + 4096] = 'x';
	big[strlen(base) + 4097] = '\0';
	assert_int_equal(rc_file(big), PJ_ERR_CONFIG);
	snprintf(big, 70000, "%s", base);
	memset(big + strlen(base), '\n', 65536 - strlen(base));
	big[65536] = '\0';
	assert_int_equal(rc_file(big), 0);
	big[65536] = '\n';
	big[65537] = '\0';
	assert_int_equal(rc_file(big), PJ_ERR_CONFIG);
	free(big);
}

static void
test_config_file_trust(void **state)
{
	char path[256], l[256], a[300];
	const char *argv[1];
	struct pj_config *cfg;

	put_file("trust.conf", ISS "\n" AUD "\n", 0644, path, sizeof(path));
	argv[0] = kv(a, sizeof(a), "config", path);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), 0);
	conf_free(cfg);
	assert_int_equal(chmod(path, 0664), 0);	/* group-writable */
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), PJ_ERR_CONFIG);
	assert_int_equal(chmod(path, 0646), 0);	/* world-writable */
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), PJ_ERR_CONFIG);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), 0);
	conf_free(cfg);
	/* A symlink to that good file. */
	snprintf(l, sizeof(l), "%s/link.conf", tmpdir);
	assert_int_equal(symlink(path, l), 0);
	argv[0] = kv(a, sizeof(a), "config", l);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), PJ_ERR_CONFIG);
	argv[0] = kv(a, sizeof(a), "config", path);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), PJ_ERR_CONFIG);
		assert_int_equal(chown(path, 0, 0), 0);
		assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), 0);
		conf_free(cfg);
	} else {
		print_message("# not root: a config file of another owner not tried\n");
	}
}

static void
test_user_map(void **state)
{
	char path[256], l[256], a[300];
	struct pj_config *cfg;
	char out[33];

	put_file("users.map", "# map\n*@corp.example staff\n", 0644, path, sizeof(path));
	assert_int_equal(parse2(kv(a, sizeof(a), "user_map", path), NULL, &cfg), 0);
	assert_non_null(cfg->user_map);
	assert_string_equal(cfg->user_map_path, path);
	assert_int_equal(pj_usermap_map(cfg->user_map, "bob@corp.example", 16, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "staff");
	conf_free(cfg);
	/* A bad map is a configuration error. */
	put_file("bad.map", "# map\n* staff\n", 0644, path, sizeof(path));
	assert_int_equal(rc1(kv(a, sizeof(a), "user_map", path)), PJ_ERR_CONFIG);
	/* So is a missing one, a group-writable one, a symlink. */
	assert_int_equal(rc1("user_map=/nonexistent/users.map"), PJ_ERR_CONFIG);
	put_file("gw.map", "abcd u\n", 0664, path, sizeof(path));
	assert_int_equal(rc1(kv(a, sizeof(a), "user_map", path)), PJ_ERR_CONFIG);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "user_map", path)), 0);
	snprintf(l, sizeof(l), "%s/map-link", tmpdir);
	assert_int_equal(symlink(path, l), 0);
	assert_int_equal(rc1(kv(a, sizeof(a), "user_map", l)), PJ_ERR_CONFIG);
}

/* Run a parse with stderr captured; msg gets what was logged. */
static int
parse_captured(int argc, const char **argv, char *msg, size_t cap)
{
	char errpath[256];
	struct pj_config *cfg = NULL;
	int saved, efd, r;
	ssize_t got;

	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	fflush(stderr);
	saved = dup(2);
	efd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && efd >= 0);
	dup2(efd, 2);
	r = parse_n(PJ_CONF_MODULE, argc, argv, &cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	got = pread(efd, msg, cap - 1, 0);
	close(efd);
	unlink(errpath);
	msg[got > 0 ? got : 0] = '\0';
	conf_free(cfg);
	return r;
}

static void
test_error_messages(void **state)
{
	char path[256], a[300], msg[2048], want[300];
	const char *argv[1];

	put_file("msg.conf", ISS "\n# two\nleeway = 601\n" AUD "\n", 0600, path, sizeof(path));
	argv[0] = kv(a, sizeof(a), "config", path);
	assert_int_equal(parse_captured(1, argv, msg, sizeof(msg)), PJ_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:3: leeway:", path);
	assert_non_null(strstr(msg, want));
	assert_non_null(strstr(msg, "configuration error"));
	/* Arguments: the key named, no line. */
	assert_int_equal(parse_captured(3, (const char *[]){ISS, AUD, "http_timeout=61"}, msg,
	    sizeof(msg)), PJ_ERR_CONFIG);
	assert_non_null(strstr(msg, "http_timeout"));
	assert_non_null(strstr(msg, "out of range"));
	assert_int_equal(parse_captured(3, (const char *[]){ISS, AUD, "frobnicate=1"}, msg,
	    sizeof(msg)), PJ_ERR_CONFIG);
	assert_non_null(strstr(msg, "frobnicate"));
	assert_non_null(strstr(msg, "unknown option"));
	/* A value's control bytes are escaped in the log. */
	assert_int_equal(parse_captured(3, (const char *[]){ISS, AUD, "algorithms=RS256,x\ny"}, msg,
	    sizeof(msg)), PJ_ERR_CONFIG);
	assert_non_null(strstr(msg, "x\\x0ay"));
	/* A success logs nothing. */
	assert_int_equal(parse_captured(2, (const char *[]){ISS, AUD}, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
}

/* [issuer NAME] sections: text into sec.conf, loaded with config= and up to
 * three more arguments (NULL: none); *set out on success (free it), the
 * logged error in msg (PJ_LOG_LAST_MAX bytes). */
static int
load_sec(const char *text, const char *a1, const char *a2, const char *a3,
    struct pj_configs **set, char *msg)
{
	char path[256], a[300];
	const char *argv[4];
	struct pj_log cl = {NULL, 0, 1, msg};
	int argc = 0, r;

	put_file("sec.conf", text, 0600, path, sizeof(path));
	argv[argc++] = kv(a, sizeof(a), "config", path);
	if (a1 != NULL)
		argv[argc++] = a1;
	if (a2 != NULL)
		argv[argc++] = a2;
	if (a3 != NULL)
		argv[argc++] = a3;
	msg[0] = '\0';
	*set = (struct pj_configs *)(uintptr_t)1;
	r = pj_configs_load(argc, argv, PJ_CONF_MODULE, &cl, set);
	if (r != 0) {
		assert_null(*set);
		assert_non_null(strstr(msg, "configuration error"));
	} else {
		assert_true(*set != NULL && (*set)->n >= 1);
		assert_string_equal(msg, "");
	}
	return r;
}

/* The return code; when want is not NULL, the error must hold it. */
static int
rc_sec(const char *text, const char *a1, const char *a2, const char *want)
{
	struct pj_configs *set = NULL;
	char msg[PJ_LOG_LAST_MAX];
	int r = load_sec(text, a1, a2, NULL, &set, msg);

	if (want != NULL && strstr(msg, want) == NULL)
		fail_msg("\"%s\" not in \"%s\"", want, msg);
	pj_configs_free(set);
	return r;
}

#define CORP "https://login.corp.example"
#define GH "https://token.actions.githubusercontent.com"
#define EXAMPLE \
	"audience = ssh://host1.example\n"		/* 1 */ \
	"max_lifetime = 3600\n"				/* 2 */ \
	"require_claim = env=prod\n"			/* 3 */ \
	"\n"						/* 4 */ \
	"[issuer github]\n"				/* 5 */ \
	"issuer = " GH "\n"				/* 6 */ \
	"require_claim = repository_owner_id=1234567\n"	/* 7 */ \
	"\n"						/* 8 */ \
	"[issuer corp]   # the company IdP\n"		/* 9 */ \
	"issuer = " CORP "\n"				/* 10 */ \
	"user_claim = preferred_username\n"		/* 11 */ \
	"typ = at+jwt\n"				/* 12 */ \
	"require_scope = ssh\n"				/* 13 */ \
	"deny_claim = /groups=contractors\n"		/* 14 */ \
	"\n"						/* 15 */ \
	"[issuer corp-sudo]\n"				/* 16 */ \
	"issuer = " CORP "\n"				/* 17 */ \
	"audience = sudo://host1.example\n"		/* 18 */ \
	"max_lifetime = 300\n"				/* 19 */ \
	"require_scope = sudo\n"			/* 20 */ \
	"require_scope = admin\n"			/* 21 */

static void
test_sections(void **state)
{
	struct pj_configs *set = NULL;
	const struct pj_config *g, *c;
	char msg[PJ_LOG_LAST_MAX];

	/* sshd's line: github and corp, in file order. */
	assert_int_equal(load_sec(EXAMPLE, "issuers=corp,github", NULL, NULL, &set, msg), 0);
	assert_int_equal(set->sectioned, 1);
	assert_int_equal(set->n, 2);
	g = set->v[0];
	c = set->v[1];
	assert_string_equal(g->name, "github");
	assert_string_equal(c->name, "corp");
	assert_int_equal(g->header_line, 5);
	assert_int_equal(c->header_line, 9);
	assert_string_equal(g->issuer, GH);
	assert_string_equal(g->audiences[0], "ssh://host1.example");
	assert_int_equal(g->max_lifetime, 3600);
	/* require_claim adds: the defaults' first, then the section's. */
	assert_int_equal(g->n_reqs, 2);
	assert_string_equal(g->reqs[0].name, "env");
	assert_int_equal(g->reqs[0].origin, 3);
	assert_string_equal(g->reqs[1].name, "repository_owner_id");
	assert_string_equal(g->reqs[1].value, "1234567");
	assert_int_equal(g->reqs[1].origin, 7);
	assert_null(g->typ);
	assert_int_equal(g->n_scopes, 0);
	assert_int_equal(g->n_denies, 0);
	assert_string_equal(g->user_claim, "sub");
	assert_string_equal(c->user_claim, "preferred_username");
	assert_string_equal(c->typ, "at+jwt");
	assert_int_equal(c->n_scopes, 1);
	assert_string_equal(c->scopes[0], "ssh");
	assert_int_equal(c->n_denies, 1);
	assert_string_equal(c->denies[0].name, "/groups");
	assert_string_equal(c->denies[0].value, "contractors");
	assert_int_equal(c->n_reqs, 1);
	/* Where each setting came from. */
	assert_int_equal(c->origin[1], 10);	/* issuer: the section's line */
	assert_int_equal(g->origin[2], 1);	/* audience: the defaults' */
	assert_int_equal(g->origin[9], PJ_CONF_FROM_DEFAULT);	/* leeway */
	assert_ptr_equal(pj_configs_pick(set, GH), g);
	assert_ptr_equal(pj_configs_pick(set, CORP), c);
	assert_null(pj_configs_pick(set, CORP "/"));
	assert_null(pj_configs_pick(set, NULL));
	pj_configs_free(set);

	/* sudo's line: corp-sudo alone; audience and max_lifetime replaced. */
	assert_int_equal(load_sec(EXAMPLE, "issuers=corp-sudo", NULL, NULL, &set, msg), 0);
	assert_int_equal(set->n, 1);
	c = set->v[0];
	assert_string_equal(c->name, "corp-sudo");
	assert_int_equal(c->n_audiences, 1);
	assert_string_equal(c->audiences[0], "sudo://host1.example");
	assert_int_equal(c->max_lifetime, 300);
	assert_int_equal(c->leeway, 60);
	assert_int_equal(c->n_scopes, 2);
	assert_string_equal(c->scopes[0], "sudo");
	assert_string_equal(c->scopes[1], "admin");
	assert_null(c->typ);
	assert_string_equal(c->user_claim, "sub");
	pj_configs_free(set);

	/* corp and corp-sudo share an issuer: a line accepting both is an
	 * error at the later section's header, with or without issuers=. */
	assert_int_equal(load_sec(EXAMPLE, NULL, NULL, NULL, &set, msg), PJ_ERR_CONFIG);
	assert_non_null(strstr(msg, "sec.conf:16: issuer:"));
	assert_non_null(strstr(msg, "[issuer corp]"));
	assert_int_equal(rc_sec(EXAMPLE, "issuers=corp,corp-sudo", NULL, "sec.conf:16: issuer:"),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(EXAMPLE, "issuers=github,corp-sudo", NULL, NULL), 0);
	/* Without the duplicate, a line without issuers= accepts every section. */
	assert_int_equal(load_sec("audience = a\n[issuer one]\nissuer = " CORP "\n"
	    "[issuer two]\nissuer = " CORP "/two\n", NULL, NULL, NULL, &set, msg), 0);
	assert_int_equal(set->n, 2);
	pj_configs_free(set);

	/* Global keys in the arguments apply to every section. */
	assert_int_equal(load_sec(EXAMPLE, "issuers=github,corp", "http_timeout=7", "debug", &set, msg), 0);
	assert_int_equal(set->v[0]->http_timeout, 7);
	assert_int_equal(set->v[1]->http_timeout, 7);
	assert_int_equal(set->v[1]->debug, 1);
	assert_int_equal(set->v[1]->origin[17], PJ_CONF_FROM_ARGS);
	pj_configs_free(set);
}

static void
test_sections_merge(void **state)
{
	struct pj_configs *set = NULL;
	char msg[PJ_LOG_LAST_MAX];
	const char *text =
	    "issuer = " CORP "\n"
	    "audience = a\n"
	    "leeway = 30\n"
	    "jwks_uri = https://keys.corp.example/jwks\n"
	    "require_claim = x=1\n"
	    "deny_claim = y=2\n"
	    "require_scope = s1\n"
	    "[issuer same]\n"
	    "[issuer file]\n"
	    "issuer = " CORP "/f\n"
	    "leeway = 0\n"
	    "jwks_file = /nonexistent/k.jwks\n"
	    "require_claim = x=3\n"
	    "deny_claim = y=4\n"
	    "require_scope = s2\n"
	    "[issuer uri]\n"
	    "issuer = " CORP "/u\n"
	    "jwks_uri = https://keys.corp.example/other\n";

	assert_int_equal(load_sec(text, NULL, NULL, NULL, &set, msg), 0);
	assert_int_equal(set->n, 3);
	/* A section with nothing of its own: the defaults. */
	assert_string_equal(set->v[0]->issuer, CORP);
	assert_int_equal(set->v[0]->leeway, 30);
	assert_string_equal(set->v[0]->jwks_uri, "https://keys.corp.example/jwks");
	assert_int_equal(set->v[0]->n_reqs, 1);
	/* leeway replaces; jwks_file replaces the default jwks_uri; the three
	 * lists add to the defaults' own, defaults first. */
	assert_int_equal(set->v[1]->leeway, 0);
	assert_null(set->v[1]->jwks_uri);
	assert_string_equal(set->v[1]->jwks_file, "/nonexistent/k.jwks");
	assert_int_equal(set->v[1]->n_reqs, 2);
	assert_string_equal(set->v[1]->reqs[0].value, "1");
	assert_string_equal(set->v[1]->reqs[1].value, "3");
	assert_int_equal(set->v[1]->n_denies, 2);
	assert_string_equal(set->v[1]->denies[0].value, "2");
	assert_string_equal(set->v[1]->denies[1].value, "4");
	assert_int_equal(set->v[1]->n_scopes, 2);
	assert_string_equal(set->v[1]->scopes[0], "s1");
	assert_string_equal(set->v[1]->scopes[1], "s2");
	assert_int_equal(set->v[1]->scope_origins[1], 15);
	assert_string_equal(set->v[2]->jwks_uri, "https://keys.corp.example/other");
	pj_configs_free(set);

	/* A default jwks_file is replaced by a section's jwks_uri, too; both in
	 * one section are still two key sources. */
	assert_int_equal(rc_sec("audience = a\njwks_file = /nonexistent/k\n[issuer u]\nissuer = " CORP
	    "\njwks_uri = https://k.example/j\n", NULL, NULL, NULL), 0);
	assert_int_equal(rc_sec("audience = a\n[issuer u]\nissuer = " CORP
	    "\njwks_uri = https://k.example/j\njwks_file = /nonexistent/k\n", NULL, NULL, "jwks_file"),
	    PJ_ERR_CONFIG);
	/* A key given twice in one section, or twice among the defaults, is
	 * repeated; once in each is not. */
	assert_int_equal(rc_sec("audience = a\n[issuer u]\nissuer = " CORP "\nleeway = 1\nleeway = 2\n",
	    NULL, NULL, "sec.conf:5: leeway: given more than once"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\nleeway = 1\n[issuer u]\nissuer = " CORP "\nleeway = 2\n",
	    NULL, NULL, NULL), 0);
}

static void
test_sections_errors(void **state)
{
	static const char *const globals[] = {
		"cache_dir = /nonexistent/c", "state_dir = /nonexistent/s", "http_timeout = 5",
		"fetch_user = nobody", "fetch_helper = /nonexistent/h", "prompt = \"T: \"",
		"prompt_more = \"P %d: \"", "use_first_pass", "try_first_pass", "debug",
		"log_format = json",
	};
	const char *one = "audience = a\n[issuer one]\nissuer = " CORP "\n";
	char text[1024], name[64], msg[PJ_LOG_LAST_MAX], *big;
	struct pj_configs *set = NULL;
	size_t o = 0;

	/* Global keys: before the first section only. */
	for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
		snprintf(text, sizeof(text), "%s\n%s", globals[i], one);
		assert_int_equal(rc_sec(text, NULL, NULL, NULL), 0);
		snprintf(text, sizeof(text), "%s%s\n", one, globals[i]);
		assert_int_equal(rc_sec(text, NULL, NULL, "sec.conf:4:"), PJ_ERR_CONFIG);
		assert_int_equal(rc_sec(text, NULL, NULL, "only before the first"), PJ_ERR_CONFIG);
	}
	/* config and issuers: arguments only. */
	snprintf(text, sizeof(text), "%sissuers = one\n", one);
	assert_int_equal(rc_sec(text, NULL, NULL, "sec.conf:4: issuers:"), PJ_ERR_CONFIG);
	snprintf(text, sizeof(text), "issuers = one\n%s", one);
	assert_int_equal(rc_sec(text, NULL, NULL, "sec.conf:1: issuers:"), PJ_ERR_CONFIG);

	/* Per-issuer keys in the arguments with a sectioned file. */
	assert_int_equal(rc_sec(one, "leeway=5", NULL, "argument leeway: a per-issuer key"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "require_claim=a=b", NULL, "require_claim"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "audience=b", NULL, "audience"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "jti_replay", NULL, "jti_replay"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "http_timeout=9", "use_first_pass", NULL), 0);

	/* Section names. */
	assert_int_equal(rc_sec("audience = a\n[issuer Corp]\nissuer = " CORP "\n", NULL, NULL,
	    "sec.conf:2: [issuer]: section name \"Corp\""), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuer -corp]\nissuer = " CORP "\n", NULL, NULL, NULL),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuer _corp]\nissuer = " CORP "\n", NULL, NULL, NULL),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuer co.rp]\nissuer = " CORP "\n", NULL, NULL, NULL),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuer a b]\nissuer = " CORP "\n", NULL, NULL, NULL),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuer ]\nissuer = " CORP "\n", NULL, NULL, NULL),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuers x]\nissuer = " CORP "\n", NULL, NULL, NULL),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuer x\nissuer = " CORP "\n", NULL, NULL, NULL),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuer x] y\nissuer = " CORP "\n", NULL, NULL, NULL),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("audience = a\n[issuer 9-a_b]\nissuer = " CORP "\n", NULL, NULL, NULL), 0);
	memset(name, 'a', 32);
	name[32] = '\0';
	snprintf(text, sizeof(text), "audience = a\n[issuer %s]\nissuer = " CORP "\n", name);
	assert_int_equal(rc_sec(text, NULL, NULL, NULL), 0);
	snprintf(text, sizeof(text), "audience = a\n[issuer %sa]\nissuer = " CORP "\n", name);
	assert_int_equal(rc_sec(text, NULL, NULL, "sec.conf:2:"), PJ_ERR_CONFIG);
	/* Each NAME once. */
	assert_int_equal(rc_sec("audience = a\n[issuer one]\nissuer = " CORP "\n[issuer one]\nissuer = "
	    CORP "/2\n", NULL, NULL, "sec.conf:4: [issuer]: section \"one\" already at line 2"), PJ_ERR_CONFIG);

	/* Every section ends up with issuer and audience: the error names its header. */
	assert_int_equal(rc_sec("audience = a\n[issuer one]\nissuer = " CORP "\n[issuer two]\nleeway = 1\n",
	    NULL, NULL, "sec.conf:4: issuer: required"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("[issuer one]\nissuer = " CORP "\n", NULL, NULL,
	    "sec.conf:1: audience: required"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec("[issuer one]\nissuer = " CORP "\naudience = a\n", NULL, NULL, NULL), 0);
	/* An error inside a section names its line, even one this line does
	 * not accept. */
	assert_int_equal(rc_sec("audience = a\n[issuer one]\nissuer = " CORP "\n[issuer two]\nissuer = "
	    CORP "/2\nleeway = 601\n", "issuers=one", NULL, "sec.conf:6: leeway:"), PJ_ERR_CONFIG);

	/* issuers=: known names, not empty, only with sections. */
	assert_int_equal(rc_sec(one, "issuers=two", NULL, "argument issuers: \"two\": no such"),
	    PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "issuers=", NULL, "issuers"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "issuers=one,", NULL, "empty NAME"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "issuers=one,one", NULL, "named twice"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "issuers=one", "issuers=one", "more than once"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(one, "issuers= one ", NULL, NULL), 0);
	assert_int_equal(rc_sec("issuer = " CORP "\naudience = a\n", "issuers=one", NULL,
	    "[issuer NAME] sections"), PJ_ERR_CONFIG);
	assert_int_equal(rc3(ISS, AUD, "issuers=one"), PJ_ERR_CONFIG);

	/* At most 32 sections. */
	big = malloc(8192);
	assert_non_null(big);
	o += (size_t)snprintf(big + o, 8192 - o, "audience = a\n");
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(big + o, 8192 - o, "[issuer s%d]\nissuer = " CORP "/%d\n", i, i);
	assert_int_equal(load_sec(big, NULL, NULL, NULL, &set, msg), 0);
	assert_int_equal(set->n, 32);
	pj_configs_free(set);
	snprintf(big + o, 8192 - o, "[issuer s32]\nissuer = " CORP "/32\n");
	assert_int_equal(rc_sec(big, NULL, NULL, "more than 32 sections"), PJ_ERR_CONFIG);
	free(big);
}

static void
test_shared_issuers(void **state)
{
	static const struct {
		const char *iss, *pin, *other;
	} t[] = {
		{GH, "repository_owner_id", "repository_id"},
		{"https://gitlab.com", "namespace_id", "project_id"},
		{"https://app.terraform.io", "terraform_organization_id", NULL},
	};
	char text[512], i1[128], r1[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* A section without a pin: the error names the claims. */
		snprintf(text, sizeof(text), "audience = a\n[issuer s]\nissuer = %s\n"
		    "require_claim = repository=acme/api\n", t[i].iss);
		assert_int_equal(rc_sec(text, NULL, NULL, "sec.conf:3: issuer:"), PJ_ERR_CONFIG);
		assert_int_equal(rc_sec(text, NULL, NULL, t[i].pin), PJ_ERR_CONFIG);
		if (t[i].other != NULL)
			assert_int_equal(rc_sec(text, NULL, NULL, t[i].other), PJ_ERR_CONFIG);
		/* Pinned by name, as a JSON Pointer, or among the defaults. */
		snprintf(text, sizeof(text), "audience = a\n[issuer s]\nissuer = %s\n"
		    "require_claim = %s=42\n", t[i].iss, t[i].pin);
		assert_int_equal(rc_sec(text, NULL, NULL, NULL), 0);
		snprintf(text, sizeof(text), "audience = a\n[issuer s]\nissuer = %s\n"
		    "require_claim = /%s=42\n", t[i].iss, t[i].pin);
		assert_int_equal(rc_sec(text, NULL, NULL, NULL), 0);
		snprintf(text, sizeof(text), "audience = a\nrequire_claim = %s=42\n[issuer s]\nissuer = %s\n",
		    t[i].pin, t[i].iss);
		assert_int_equal(rc_sec(text, NULL, NULL, NULL), 0);
		if (t[i].other != NULL) {
			snprintf(text, sizeof(text), "audience = a\n[issuer s]\nissuer = %s\n"
			    "require_claim = %s=42\n", t[i].iss, t[i].other);
			assert_int_equal(rc_sec(text, NULL, NULL, NULL), 0);
		}
		/* A deny_claim, a nested pointer or another case pins nothing. */
		snprintf(text, sizeof(text), "audience = a\n[issuer s]\nissuer = %s\n"
		    "deny_claim = %s=42\nrequire_claim = /x/%s=42\n", t[i].iss, t[i].pin, t[i].pin);
		assert_int_equal(rc_sec(text, NULL, NULL, NULL), PJ_ERR_CONFIG);
		/* The single-issuer form: the file's or the arguments' pin. */
		snprintf(i1, sizeof(i1), "issuer=%s", t[i].iss);
		snprintf(r1, sizeof(r1), "require_claim=%s=42", t[i].pin);
		assert_int_equal(rc3(i1, AUD, NULL), PJ_ERR_CONFIG);
		assert_int_equal(rc3(i1, AUD, r1), 0);
		/* Byte for byte: another spelling is another issuer. */
		snprintf(i1, sizeof(i1), "issuer=%s/", t[i].iss);
		assert_int_equal(rc3(i1, AUD, NULL), 0);
	}
}

static void
test_new_keys(void **state)
{
	struct pj_config *cfg;
	char w[200];

	/* typ: non-empty printable ASCII. */
	assert_int_equal(parse2("typ=at+jwt", NULL, &cfg), 0);
	assert_string_equal(cfg->typ, "at+jwt");
	conf_free(cfg);
	assert_int_equal(parse2(NULL, NULL, &cfg), 0);
	assert_null(cfg->typ);
	conf_free(cfg);
	assert_int_equal(rc1("typ="), PJ_ERR_CONFIG);
	assert_int_equal(rc1("typ=a\tb"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("typ=jwt\x7f"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("typ=caf\xc3\xa9"), PJ_ERR_CONFIG);
	assert_int_equal(rc2("typ=a", "typ=b"), PJ_ERR_CONFIG);

	/* deny_claim: require_claim's syntax, repeatable, in order. */
	assert_int_equal(parse2("deny_claim=/groups=contractors", "deny_claim=acr=0=x", &cfg), 0);
	assert_int_equal(cfg->n_denies, 2);
	assert_string_equal(cfg->denies[0].name, "/groups");
	assert_string_equal(cfg->denies[0].value, "contractors");
	assert_string_equal(cfg->denies[1].name, "acr");
	assert_string_equal(cfg->denies[1].value, "0=x");
	assert_int_equal(cfg->n_reqs, 0);
	conf_free(cfg);
	assert_int_equal(rc1("deny_claim=novalue"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("deny_claim==x"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("deny_claim=x="), PJ_ERR_CONFIG);
	assert_int_equal(rc1("deny_claim=/a~2=x"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("deny_claim"), PJ_ERR_CONFIG);

	/* require_scope: one word, 1 to 128 bytes, repeatable. */
	assert_int_equal(parse2("require_scope=ssh", "require_scope=https://api.example/sudo.all", &cfg), 0);
	assert_int_equal(cfg->n_scopes, 2);
	assert_string_equal(cfg->scopes[0], "ssh");
	assert_string_equal(cfg->scopes[1], "https://api.example/sudo.all");
	conf_free(cfg);
	assert_int_equal(rc1("require_scope="), PJ_ERR_CONFIG);
	assert_int_equal(rc1("require_scope=a b"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("require_scope=a\"b"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("require_scope=a\\b"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("require_scope=a\tb"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("require_scope=caf\xc3\xa9"), PJ_ERR_CONFIG);
	snprintf(w, sizeof(w), "require_scope=");
	memset(w + 14, 's', 128);
	w[14 + 128] = '\0';
	assert_int_equal(rc1(w), 0);
	w[14 + 128] = 's';
	w[14 + 129] = '\0';
	assert_int_equal(rc1(w), PJ_ERR_CONFIG);

	/* log_format: text or json. */
	assert_int_equal(parse2(NULL, NULL, &cfg), 0);
	assert_int_equal(cfg->log_format, PJ_LOG_FORMAT_TEXT);
	conf_free(cfg);
	assert_int_equal(parse2("log_format=json", NULL, &cfg), 0);
	assert_int_equal(cfg->log_format, PJ_LOG_FORMAT_JSON);
	conf_free(cfg);
	assert_int_equal(parse2("log_format=text", NULL, &cfg), 0);
	assert_int_equal(cfg->log_format, PJ_LOG_FORMAT_TEXT);
	conf_free(cfg);
	assert_int_equal(rc1("log_format=JSON"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("log_format=syslog"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("log_format"), PJ_ERR_CONFIG);
}

static void
test_new_keys_file(void **state)
{
	struct pj_configs *set = NULL;
	char msg[PJ_LOG_LAST_MAX];

	/* The single-issuer form: the file's lists first, then the arguments'. */
	assert_int_equal(load_sec(ISS "\n" AUD "\nrequire_scope = a\nrequire_claim = x=1\n"
	    "deny_claim = d=1\ntyp = JWT\nlog_format = json\n", "require_scope=b", "require_claim=x=2",
	    "deny_claim=d=2", &set, msg), 0);
	assert_int_equal(set->sectioned, 0);
	assert_null(set->v[0]->name);
	assert_int_equal(set->v[0]->n_scopes, 2);
	assert_string_equal(set->v[0]->scopes[0], "a");
	assert_string_equal(set->v[0]->scopes[1], "b");
	assert_int_equal(set->v[0]->scope_origins[0], 3);
	assert_int_equal(set->v[0]->scope_origins[1], PJ_CONF_FROM_ARGS);
	assert_string_equal(set->v[0]->reqs[1].value, "2");
	assert_string_equal(set->v[0]->denies[1].value, "2");
	assert_string_equal(set->v[0]->typ, "JWT");
	assert_int_equal(set->v[0]->log_format, PJ_LOG_FORMAT_JSON);
	pj_configs_free(set);
	assert_int_equal(rc_sec(ISS "\n" AUD "\nrequire_scope = \"a b\"\n", NULL, NULL,
	    "sec.conf:3: require_scope:"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(ISS "\n" AUD "\ndeny_claim = x\n", NULL, NULL,
	    "sec.conf:3: deny_claim: expected NAME=VALUE"), PJ_ERR_CONFIG);
	assert_int_equal(rc_sec(ISS "\n" AUD "\nlog_format = xml\n", NULL, NULL,
	    "sec.conf:3: log_format:"), PJ_ERR_CONFIG);
}

/* Issue 15: the same arguments and files give the set an earlier load kept
 * (reuse.h); PJ_CONF_NO_REUSE parses afresh; a config file changed within
 * the last second is never kept; its trust is checked at every load. */
static void
test_reuse(void **state)
{
	const char *args[] = {ISS, AUD, "leeway=17"};
	struct pj_configs *a = NULL, *b = NULL, *c = NULL;
	char path[128], arg[160];
	const char *fargs[] = {arg};
	FILE *f;

	(void)state;
	assert_int_equal(pj_configs_load(3, args, PJ_CONF_MODULE, &lg, &a), 0);
	assert_int_equal(pj_configs_load(3, args, PJ_CONF_MODULE, &lg, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(b->v[0]->leeway, 17);
	assert_int_equal(pj_configs_load(3, args, PJ_CONF_MODULE | PJ_CONF_NO_REUSE, &lg, &c), 0);
	assert_ptr_not_equal(a, c);
	pj_configs_free(a);
	pj_configs_free(b);
	pj_configs_free(c);
	a = b = c = NULL;

	snprintf(path, sizeof(path), "%s/reuse.conf", tmpdir);
	snprintf(arg, sizeof(arg), "config=%s", path);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "issuer = https://idp.example\naudience = ssh://host9\n");
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	/* Just written: parsed each time. */
	assert_int_equal(pj_configs_load(1, fargs, PJ_CONF_MODULE, &lg, &a), 0);
	assert_int_equal(pj_configs_load(1, fargs, PJ_CONF_MODULE, &lg, &b), 0);
	assert_ptr_not_equal(a, b);
	pj_configs_free(a);
	pj_configs_free(b);
	a = b = NULL;
	usleep(1200 * 1000);
	assert_int_equal(pj_configs_load(1, fargs, PJ_CONF_MODULE, &lg, &a), 0);
	assert_int_equal(pj_configs_load(1, fargs, PJ_CONF_MODULE, &lg, &b), 0);
	assert_ptr_equal(a, b);
	assert_string_equal(b->v[0]->audiences[0], "ssh://host9");
	pj_configs_free(b);
	b = NULL;
	/* Made group-writable: refused at once, the kept set notwithstanding. */
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(pj_configs_load(1, fargs, PJ_CONF_MODULE, &lg, &b), PJ_ERR_CONFIG);
	assert_null(b);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(pj_configs_load(1, fargs, PJ_CONF_MODULE, &lg, &b), 0);
	assert_ptr_not_equal(a, b);	/* another change time: parsed again */
	pj_configs_free(a);
	pj_configs_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_issuer),
		cmocka_unit_test(test_jwks_uri_and_file),
		cmocka_unit_test(test_audience),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_user_claim),
		cmocka_unit_test(test_require_claim),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_unknown_repeated_empty),
		cmocka_unit_test(test_prompts),
		cmocka_unit_test(test_fetch_user),
		cmocka_unit_test(test_dirs_and_files),
		cmocka_unit_test(test_tool_mode),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_file_errors),
		cmocka_unit_test(test_config_file_trust),
		cmocka_unit_test(test_user_map),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_sections_merge),
		cmocka_unit_test(test_sections_errors),
		cmocka_unit_test(test_shared_issuers),
		cmocka_unit_test(test_new_keys),
		cmocka_unit_test(test_new_keys_file),
		cmocka_unit_test(test_reuse),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
