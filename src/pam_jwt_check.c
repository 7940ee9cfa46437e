/* pam_jwt_check: the module's own pipeline (pj_verify) from a shell. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "entry.h"
#include "err.h"
#include "json.h"
#include "jws.h"
#include "keys.h"
#include "log.h"
#include "num.h"
#include "util.h"
#include "verify.h"

#define EXIT_ACCEPTED 0
#define EXIT_REJECTED 1
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 3
#define MAX_ARGS 256
/* Read a little past the limit so that too_large is told apart. */
#define STDIN_MAX (PJ_TOKEN_MAX * 4)
/* --now: at most 9999-12-31T23:59:59Z. */
#define NOW_MAX 253402300799L
#define WHY_MAX 192

static void
usage(FILE *f)
{
	fputs("usage: pam_jwt_check [--config PATH] [key=value ...] [--user NAME] [--now SECONDS]\n"
	      "                     [--json] < token\n"
	      "       pam_jwt_check --decode [--json] < token\n"
	      "       pam_jwt_check --refresh [--config PATH] [key=value ...] [--json]\n"
	      "       pam_jwt_check --check-config [--config PATH] [key=value ...] [--json]\n"
	      "       pam_jwt_check --version | --help | -h\n"
	      "options:\n"
	      "  --config PATH   read options from PATH, as config=PATH does\n"
	      "  key=value       an option of pam_jwt(8)\n"
	      "  --user NAME     the user logging in: the token must map to NAME\n"
	      "  --now SECONDS   judge the token as at this time (seconds since 1970)\n"
	      "  --json          print one JSON object, whatever the outcome\n"
	      "  --decode        print the token's header and payload, UNVERIFIED\n"
	      "  --refresh       fetch and cache every issuer's keys now\n"
	      "  --check-config  print the effective settings, or the error\n"
	      "  --version       print the version\n"
	      "  -h, --help      print this help\n"
	      "exit status: 0 accepted, 1 rejected, 2 configuration or usage error,\n"
	      "3 keys_unavailable\n", f);
}

/* The first usage error is the one told; parsing goes on, to see --json. */
static void usage_err(char why[WHY_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
usage_err(char why[WHY_MAX], const char *fmt, ...)
{
	va_list ap;

	if (why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(why, WHY_MAX, fmt, ap);
	va_end(ap);
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

/* ,"key":"value", or ,"key":null for NULL or "" (a field the token lacks). */
static void
put_member(FILE *f, const char *key, const char *val)
{
	fprintf(f, ",\"%s\":", key);
	if (val == NULL || val[0] == '\0')
		fputs("null", f);
	else
		pj_json_print_string(f, val);
}

/* The one object of --json, for every exit of the check and refresh modes;
 * detail NULL: res->detail. */
static void
print_json(const struct pj_result *res, const char *reason, const char *detail)
{
	FILE *f = stdout;

	fprintf(f, "{\"ok\":%s,\"reason\":", res->err == 0 ? "true" : "false");
	pj_json_print_string(f, reason);
	fputs(",\"detail\":", f);
	pj_json_print_string(f, detail != NULL ? detail : res->detail);
	put_member(f, "user", res->user);
	put_member(f, "issuer_name", res->issuer_name);
	put_member(f, "iss", res->iss);
	put_member(f, "sub", res->sub);
	put_member(f, "kid", res->kid);
	put_member(f, "jti", res->jti);
	fputs(",\"exp\":", f);
	if (res->has_exp)
		pj_json_print_double(f, res->exp);
	else
		fputs("null", f);
	fputs("}\n", f);
}

static void
print_text(const struct pj_result *res)
{
	if (res->err == 0)
		printf("accepted: user %s\n", res->user);
	else
		printf("rejected: %s: %s\n", pj_err_reason(res->err), res->detail);
	if (res->issuer_name[0] != '\0')
		printf("  issuer_name %s\n", res->issuer_name);
	printf("  iss %s\n  sub %s\n  kid %s\n  jti %s\n  fields %s\n", res->iss, res->sub, res->kid,
	    res->jti, res->verified ? "verified" : "unverified (signature not checked or failed)");
}

/* The token on stdin, trimmed. PJ_ERR_TOO_LARGE when far past the limit (a
 * verdict, too_large); another error when stdin cannot be read. */
static int
read_token(char **buf, size_t *buflen, const char **tok, size_t *len)
{
	int r;

	*tok = NULL;
	*len = 0;
	if ((r = pj_read_all(STDIN_FILENO, STDIN_MAX, buf, buflen)) != 0)
		return r;
	*tok = *buf;
	*len = *buflen;
	pj_trim(tok, len);
	return 0;
}

/* --decode: the format step only (step 1); no configuration, no key. rd
 * is read_token's outcome, raw/rawlen the input before trimming. */
static int
decode(const char *raw, size_t rawlen, const char *tok, size_t len, int rd, int json)
{
	struct pj_jws jws;
	int r = rd;

	memset(&jws, 0, sizeof(jws));
	if (r == 0 && pj_answer_replaced(raw, rawlen))
		r = PJ_ERR_ANSWER_REPLACED;
	if (r == 0)
		r = pj_jws_parse(tok, len, &jws);
	if (json) {
		printf("{\"ok\":%s,\"reason\":", r == 0 ? "true" : "false");
		pj_json_print_string(stdout, pj_err_reason(r));
		fputs(",\"header\":", stdout);
		pj_json_print(stdout, r == 0 ? jws.header : NULL, 0);
		fputs(",\"payload\":", stdout);
		pj_json_print(stdout, r == 0 ? jws.payload : NULL, 0);
		fputs("}\n", stdout);
	} else if (r == 0) {
		fputs("UNVERIFIED\n", stdout);
		pj_json_print(stdout, jws.header, 1);
		fputc('\n', stdout);
		pj_json_print(stdout, jws.payload, 1);
		fputc('\n', stdout);
	} else {
		printf("rejected: %s\n", pj_err_reason(r));
	}
	pj_jws_clear(&jws);
	return r == 0 ? EXIT_ACCEPTED : EXIT_REJECTED;
}

/* The logged configuration error without its "configuration error: " (the
 * reason says so): FILE:LINE: key: why. */
static const char *
config_detail(const char *logged)
{
	static const char pfx[] = "configuration error: ";

	if (strncmp(logged, pfx, sizeof(pfx) - 1) == 0)
		return logged + sizeof(pfx) - 1;
	return logged;
}

/* --check-config: every section and user_map loaded, the effective settings
 * printed with their origins; 0, or 2 with the first error. */
static int
check_config_main(int nopts, const char **opts, int json, struct pj_log *lg, char *last)
{
	struct pj_configs *set = NULL;
	int r;

	lg->last = last;
	if ((r = pj_configs_load(nopts, opts, PJ_CONF_TOOL, lg, &set)) == 0) {
		r = pj_configs_dump(set, json, stdout);
		pj_configs_free(set);
		return r == 0 ? EXIT_ACCEPTED : EXIT_USAGE;
	}
	if (!json)
		return EXIT_USAGE;	/* the error is on stderr already */
	fputs("{\"ok\":false,\"reason\":", stdout);
	pj_json_print_string(stdout, r == PJ_ERR_CONFIG ? "config_error" : pj_err_reason(r));
	fputs(",\"detail\":", stdout);
	pj_json_print_string(stdout, config_detail(last));
	fputs("}\n", stdout);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	const char *opts[MAX_ARGS], *user = NULL, *tok = NULL;
	char *cfgarg = NULL, *buf = NULL, why[WHY_MAX] = "", logged[PJ_LOG_LAST_MAX] = "";
	struct pj_configs *cfg = NULL;
	struct pj_log lg = {NULL, 0, 0, logged};
	struct pj_result res;
	size_t nopts = 0, len = 0, buflen = 0;
	long nowarg = -1;
	int json = 0, refresh = 0, decode_only = 0, check_config = 0, help = 0, version = 0;
	int ret = EXIT_USAGE, r;

	memset(&res, 0, sizeof(res));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "--refresh") == 0) {
			refresh = 1;
		} else if (strcmp(a, "--decode") == 0) {
			decode_only = 1;
		} else if (strcmp(a, "--check-config") == 0) {
			check_config = 1;
		} else if (strcmp(a, "--version") == 0) {
			version = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			help = 1;
		} else if ((strcmp(a, "--user") == 0 || strcmp(a, "--config") == 0 ||
		    strcmp(a, "--now") == 0) && i + 1 == argc) {
			usage_err(why, "%s needs a value", a);
		} else if (strcmp(a, "--user") == 0) {
			user = argv[++i];
		} else if (strcmp(a, "--now") == 0) {
			const char *val = argv[++i];
			long long v;

			if (pj_num_parse(val, strlen(val), 0, NOW_MAX, 0, &v) != 0)
				usage_err(why, "--now: not a whole number of seconds from 0 to %ld",
				    NOW_MAX);
			else
				nowarg = (long)v;
		} else if (strcmp(a, "--config") == 0) {
			const char *path = argv[++i];

			/* Once (opts keeps cfgarg): config= twice is refused as well. */
			if (cfgarg != NULL) {
				usage_err(why, "--config given twice");
			} else if (nopts == MAX_ARGS) {
				usage_err(why, "too many arguments");
			} else if ((cfgarg = malloc(strlen(path) + 8)) == NULL) {
				usage_err(why, "out of memory");
			} else {
				sprintf(cfgarg, "config=%s", path);
				opts[nopts++] = cfgarg;
			}
		} else if (a[0] == '-') {
			usage_err(why, "unknown option %s", a);
		} else if (nopts == MAX_ARGS) {
			usage_err(why, "too many arguments");
		} else {
			opts[nopts++] = a;
		}
	}
	if (help) {
		usage(stdout);
		ret = EXIT_ACCEPTED;
		goto out;
	}
	if (version) {
		printf("pam_jwt %s\n", PACKAGE_VERSION);
		ret = EXIT_ACCEPTED;
		goto out;
	}
	if (refresh + decode_only + check_config > 1)
		usage_err(why, "--refresh, --decode and --check-config exclude each other");
	if (decode_only && (nopts > 0 || user != NULL || nowarg >= 0))
		usage_err(why, "--decode reads no configuration and takes no --user or --now");
	if ((refresh || check_config) && (user != NULL || nowarg >= 0))
		usage_err(why, "--refresh and --check-config take no --user or --now");
	if (user != NULL && user[0] == '\0')
		usage_err(why, "--user: empty name");
	if (why[0] != '\0')
		goto usage_error;
	if (check_config) {
		ret = check_config_main((int)nopts, opts, json, &lg, logged);
		goto out;
	}
	if (decode_only) {
		r = read_token(&buf, &buflen, &tok, &len);
		if (r != 0 && r != PJ_ERR_TOO_LARGE) {
			usage_err(why, "cannot read the token from stdin");
			goto usage_error;
		}
		ret = decode(buf, buflen, tok, len, r, json);
		goto out;
	}
	if ((r = pj_configs_load((int)nopts, opts, refresh ? PJ_CONF_REFRESH : PJ_CONF_TOOL, &lg, &cfg)) != 0) {
		pj_result_fail(&res, r);
		if (json)
			print_json(&res, pj_err_reason(r),
			    logged[0] ? config_detail(logged) : NULL);
		goto out;
	}
	lg.debug = cfg->v[0]->debug;
	if (refresh) {
		r = 0;
		logged[0] = '\0';
		/* Every accepted issuer's keys; the worst outcome decides. */
		for (size_t i = 0; i < cfg->n; i++) {
			int ri = pj_keys_refresh(cfg->v[i], &lg, (int64_t)time(NULL));

			if (ri != 0 && (r == 0 || ri == PJ_ERR_CONFIG))
				r = ri;
		}
		ret = r == 0 ? EXIT_ACCEPTED : r == PJ_ERR_CONFIG ? EXIT_USAGE : EXIT_UNAVAILABLE;
		if (json) {
			pj_result_fail(&res, r);
			print_json(&res, pj_err_reason(r),
			    r == 0 ? "keys refreshed" : logged[0] ? logged : NULL);
		}
		goto out;
	}
	if ((r = read_token(&buf, &buflen, &tok, &len)) != 0 && r != PJ_ERR_TOO_LARGE) {
		usage_err(why, "cannot read the token from stdin");
		goto usage_error;
	}
	if (r == PJ_ERR_TOO_LARGE) {
		pj_result_fail(&res, PJ_ERR_TOO_LARGE);
	} else if (pj_answer_replaced(buf, buflen)) {
		/* The module's rule, on the raw input: sshd's made-up answer. */
		pj_result_fail(&res, PJ_ERR_ANSWER_REPLACED);
	} else {
		int64_t now = nowarg >= 0 ? (int64_t)nowarg : (int64_t)time(NULL);

		pj_verify(cfg, &lg, tok, len, user, now, PJ_VERIFY_NO_REPLAY_WRITE, &res);
	}
	if (json)
		print_json(&res, pj_err_reason(res.err), NULL);
	else
		print_text(&res);
	ret = exit_code(res.err);
	goto out;
usage_error:
	if (json) {
		pj_result_fail(&res, PJ_ERR_CONFIG);
		print_json(&res, "usage", why);
	} else {
		fprintf(stderr, "pam_jwt_check: %s\n", why);
		usage(stderr);
	}
	ret = EXIT_USAGE;
out:
	pj_freezero(buf, buflen);
	pj_configs_free(cfg);
	free(cfgarg);
	return ret;
}
