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

static const struct pj_log lg = {NULL, 0, 0};

/* The per-run scratch folder (made by the group setup). */
static char tmpdir[64];

#define ISS "issuer=https://idp.example"
#define AUD "audience=ssh://host1"

static int
parse_n(int mode, int argc, const char **argv, struct pj_config **cfg)
{
	int r;

	*cfg = (struct pj_config *)(uintptr_t)1;	/* must be NULLed on entry */
	r = pj_config_parse(argc, argv, mode, &lg, cfg);
	if (r != 0)
		assert_null(*cfg);
	else
		assert_non_null(*cfg);
	return r;
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

	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
		pj_config_free(cfg);
		snprintf(a, sizeof(a), "%s=%ld", nums[i].key, nums[i].max);
		assert_int_equal(parse2(a, NULL, &cfg), 0);
		assert_int_equal(num_field(cfg, nums[i].off), nums[i].max);
		pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
	assert_int_equal(rc1("jwks_uri=http://idp.example/keys"), PJ_ERR_CONFIG);
	assert_int_equal(rc1("jwks_uri=file:///etc/keys"), PJ_ERR_CONFIG);
	/* A jwks_file that does not exist (yet) is no configuration error. */
	assert_int_equal(parse2("jwks_file=/nonexistent/pam_jwt/keys.json", NULL, &cfg), 0);
	assert_string_equal(cfg->jwks_file, "/nonexistent/pam_jwt/keys.json");
	pj_config_free(cfg);
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
	/* A directory cannot be read as keys: judged when used (keys_unavailable),
	 * like a missing file, not a configuration error. */
	assert_int_equal(rc1(kv(a, sizeof(a), "jwks_file", tmpdir)), 0);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
	assert_int_equal(parse2("algorithms=RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA",
	    NULL, &cfg), 0);
	assert_int_equal(cfg->algs, (1u << PJ_ALG_COUNT) - 1);
	pj_config_free(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rc1(bad[i]), PJ_ERR_CONFIG);
}

static void
test_user_claim(void **state)
{
	struct pj_config *cfg;

	assert_int_equal(parse2("user_claim=/kubernetes.io/serviceaccount/name", NULL, &cfg), 0);
	assert_string_equal(cfg->user_claim, "/kubernetes.io/serviceaccount/name");
	pj_config_free(cfg);
	assert_int_equal(parse2("user_claim=/a~1b~0c", NULL, &cfg), 0);
	pj_config_free(cfg);
	assert_int_equal(parse2("user_claim=preferred_username", NULL, &cfg), 0);
	assert_string_equal(cfg->user_claim, "preferred_username");
	pj_config_free(cfg);
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
	pj_config_free(cfg);
	/* Spaces are kept: the value is the rest of the argument. */
	assert_int_equal(parse2("require_claim=scope=read write", NULL, &cfg), 0);
	assert_string_equal(cfg->reqs[0].value, "read write");
	pj_config_free(cfg);
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
		pj_config_free(cfg);
		snprintf(a, sizeof(a), "%s=yes", f);
		assert_int_equal(parse2(a, NULL, &cfg), 0);
		assert_int_equal(*(int *)(void *)((char *)cfg + off), 1);
		pj_config_free(cfg);
		snprintf(a, sizeof(a), "%s=no", f);
		assert_int_equal(parse2(a, NULL, &cfg), 0);
		assert_int_equal(*(int *)(void *)((char *)cfg + off), 0);
		pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	pj_config_free(cfg);

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
	pj_config_free(cfg);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 2, (const char *[]){kv(a, sizeof(a), "config", path),
	    "audience=ssh://other"}, &cfg), 0);
	assert_int_equal(cfg->n_audiences, 1);
	assert_string_equal(cfg->audiences[0], "ssh://other");
	pj_config_free(cfg);

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
	pj_config_free(cfg);
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
	pj_config_free(cfg);
	assert_int_equal(chmod(path, 0664), 0);	/* group-writable */
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), PJ_ERR_CONFIG);
	assert_int_equal(chmod(path, 0646), 0);	/* world-writable */
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), PJ_ERR_CONFIG);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(parse_n(PJ_CONF_MODULE, 1, argv, &cfg), 0);
	pj_config_free(cfg);
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
		pj_config_free(cfg);
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
	assert_int_equal(pj_usermap_map(cfg->user_map, "bob@corp.example", 16, out, sizeof(out)), 0);
	assert_string_equal(out, "staff");
	pj_config_free(cfg);
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
	pj_config_free(cfg);
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
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
