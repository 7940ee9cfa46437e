/* pam_jwt_check: the module's own pipeline (pj_verify) from a shell. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "entry.h"
#include "err.h"
#include "keys.h"
#include "util.h"
#include "verify.h"

#define EXIT_ACCEPTED 0
#define EXIT_REJECTED 1
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 3
#define MAX_ARGS 256
/* Read a little past the limit so that too_large is told apart. */
#define STDIN_MAX (PJ_TOKEN_MAX * 4)

static void
usage(void)
{
	fputs("usage: pam_jwt_check [--config PATH] [key=value ...] [--user NAME] [--json] < token\n"
	      "       pam_jwt_check --refresh [--config PATH] [key=value ...]\n"
	      "       pam_jwt_check --check-config [--config PATH] [key=value ...] [--json]\n", stderr);
}

static int
exit_code(int err)
{
	switch (err) {
	case 0: return EXIT_ACCEPTED;
	case PJ_ERR_CONFIG: return EXIT_USAGE;
	case PJ_ERR_KEYS_UNAVAILABLE: return EXIT_UNAVAILABLE;
	default: return EXIT_REJECTED;
	}
}

static void
print_json(const struct pj_result *res)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (o == NULL)
		return;
	cJSON_AddBoolToObject(o, "ok", res->err == 0);
	cJSON_AddStringToObject(o, "reason", pj_err_reason(res->err));
	cJSON_AddStringToObject(o, "detail", res->detail);
	cJSON_AddStringToObject(o, "user", res->user);
	cJSON_AddStringToObject(o, "iss", res->iss);
	cJSON_AddStringToObject(o, "sub", res->sub);
	cJSON_AddStringToObject(o, "kid", res->kid);
	cJSON_AddStringToObject(o, "jti", res->jti);
	if (res->has_exp)
		cJSON_AddNumberToObject(o, "exp", res->exp);
	else
		cJSON_AddNullToObject(o, "exp");
	cJSON_AddBoolToObject(o, "verified", res->verified);
	if ((s = cJSON_PrintUnformatted(o)) != NULL)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

static void
print_text(const struct pj_result *res)
{
	if (res->err == 0)
		printf("accepted: user %s\n", res->user);
	else
		printf("rejected: %s: %s\n", pj_err_reason(res->err), res->detail);
	printf("  iss %s\n  sub %s\n  kid %s\n  jti %s\n  fields %s\n", res->iss, res->sub, res->kid,
	    res->jti, res->verified ? "verified" : "unverified (signature not checked or failed)");
}

/* --check-config: every section and user_map loaded, the effective settings
 * printed with their origins; 0, or 2 with the first error. */
static int
check_config_main(int nopts, const char **opts, int json, struct pj_log *lg, char *last)
{
	static const char pfx[] = "configuration error: ";
	struct pj_configs *set = NULL;
	const char *detail = last;
	cJSON *o;
	char *s;
	int r;

	lg->last = last;
	if ((r = pj_configs_load(nopts, opts, PJ_CONF_TOOL, lg, &set)) == 0) {
		r = pj_configs_dump(set, json, stdout);
		pj_configs_free(set);
		return r == 0 ? EXIT_ACCEPTED : EXIT_USAGE;
	}
	if (!json)
		return EXIT_USAGE;	/* the error is on stderr already */
	if (strncmp(detail, pfx, sizeof(pfx) - 1) == 0)
		detail += sizeof(pfx) - 1;
	if ((o = cJSON_CreateObject()) == NULL)
		return EXIT_USAGE;
	cJSON_AddBoolToObject(o, "ok", 0);
	cJSON_AddStringToObject(o, "reason", r == PJ_ERR_CONFIG ? "config_error" : pj_err_reason(r));
	cJSON_AddStringToObject(o, "detail", detail);
	if ((s = cJSON_PrintUnformatted(o)) != NULL)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	const char *opts[MAX_ARGS], *user = NULL, *tok = NULL;
	char *cfgarg = NULL, *buf = NULL;
	struct pj_configs *cfg = NULL;
	struct pj_log lg = {NULL, 0, 0, NULL};
	struct pj_result res;
	size_t nopts = 0, len = 0, buflen = 0;
	int json = 0, refresh = 0, check_config = 0, ret = EXIT_USAGE, r;
	char last[PJ_LOG_LAST_MAX] = "";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--refresh") == 0) {
			refresh = 1;
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check_config = 1;
		} else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
			user = argv[++i];
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			free(cfgarg);
			if ((cfgarg = malloc(strlen(argv[i + 1]) + 8)) == NULL)
				goto out;
			sprintf(cfgarg, "config=%s", argv[++i]);
			if (nopts == MAX_ARGS)
				goto toomany;
			opts[nopts++] = cfgarg;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
			ret = 0;
			goto out;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "pam_jwt_check: unknown option %s\n", argv[i]);
			usage();
			goto out;
		} else {
			if (nopts == MAX_ARGS)
				goto toomany;
			opts[nopts++] = argv[i];
		}
	}
	if (check_config) {
		ret = check_config_main((int)nopts, opts, json, &lg, last);
		goto out;
	}
	if (pj_configs_load((int)nopts, opts, PJ_CONF_TOOL, &lg, &cfg) != 0)
		goto out;
	lg.debug = cfg->v[0]->debug;
	if (refresh) {
		r = 0;
		/* Every accepted issuer's keys; the worst outcome decides. */
		for (size_t i = 0; i < cfg->n; i++) {
			int ri = pj_keys_refresh(cfg->v[i], &lg, (int64_t)time(NULL));

			if (ri != 0 && (r == 0 || ri == PJ_ERR_CONFIG))
				r = ri;
		}
		ret = r == 0 ? EXIT_ACCEPTED : r == PJ_ERR_CONFIG ? EXIT_USAGE : EXIT_UNAVAILABLE;
		goto out;
	}
	if (user != NULL && user[0] == '\0') {
		fputs("pam_jwt_check: --user: empty name\n", stderr);
		goto out;
	}
	if ((r = pj_read_all(STDIN_FILENO, STDIN_MAX, &buf, &buflen)) != 0 && r != PJ_ERR_TOO_LARGE) {
		fputs("pam_jwt_check: cannot read the token from stdin\n", stderr);
		goto out;
	}
	if (r == PJ_ERR_TOO_LARGE) {
		pj_result_fail(&res, PJ_ERR_TOO_LARGE);
	} else if (pj_answer_replaced(buf, buflen)) {
		/* The module's rule, on the raw input: sshd's made-up answer. */
		pj_result_fail(&res, PJ_ERR_ANSWER_REPLACED);
	} else {
		tok = buf;
		len = buflen;
		pj_trim(&tok, &len);
		pj_verify(cfg, &lg, tok, len, user, (int64_t)time(NULL), PJ_VERIFY_NO_REPLAY_WRITE, &res);
	}
	if (json)
		print_json(&res);
	else
		print_text(&res);
	ret = exit_code(res.err);
	goto out;
toomany:
	fputs("pam_jwt_check: too many arguments\n", stderr);
out:
	pj_freezero(buf, buflen);
	pj_configs_free(cfg);
	free(cfgarg);
	return ret;
}
