/* PAM entry points only: options, token, pj_verify, one log line. */
#include "config.h"

#include <string.h>
#include <time.h>

#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "conf.h"
#include "entry.h"
#include "err.h"
#include "util.h"
#include "verdict.h"
#include "verify.h"

static const char *
item_str(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	return pam_get_item(pamh, type, &v) == PAM_SUCCESS ? v : NULL;
}

/* One line per verdict, in the admin's chosen format (pam_jwt(8)). */
static void
log_verdict(pam_handle_t *pamh, const struct pj_log *lg, int json, const struct pj_result *res)
{
	struct pj_verdict_ctx ctx = {
		item_str(pamh, PAM_SERVICE), item_str(pamh, PAM_USER), item_str(pamh, PAM_RHOST), json
	};
	char line[PJ_VERDICT_LINE_MAX];

	pj_log(lg, res->err == 0 ? LOG_NOTICE : LOG_WARNING, "%s",
	    pj_verdict_line(res, &ctx, line, sizeof(line)));
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pj_log lg = {pamh, 0, 0, NULL};
	struct pj_configs *cfg = NULL;
	struct pj_result res;
	const char *user = NULL;
	char *tok = NULL;
	size_t len = 0;
	int ret = PAM_AUTH_ERR, r, pr;

	(void)flags;
	if ((r = pj_configs_load(argc, argv, PJ_CONF_MODULE, &lg, &cfg)) != 0) {
		/* The message above names the key and line; the verdict line
		 * follows in the format the arguments ask for, if they say. */
		int json = 0;

		for (int i = 0; i < argc; i++)
			json |= argv[i] != NULL && strcmp(argv[i], "log_format=json") == 0;
		pj_result_fail(&res, r);
		log_verdict(pamh, &lg, json, &res);
		ret = pj_err_pam(r);
		goto out;
	}
	lg.debug = cfg->v[0]->debug;
	if ((pr = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS || user == NULL || user[0] == '\0') {
		pj_log(&lg, LOG_ERR, "cannot determine the user");
		ret = (pr == PAM_CONV_ERR || pr == PAM_BUF_ERR) ? pr : PAM_AUTH_ERR;
		goto out;
	}
	if ((r = pj_entry_get_token(pamh, cfg->v[0], &lg, &tok, &len)) != 0)
		pj_result_fail(&res, r);
	else
		pj_verify(cfg, &lg, tok, len, user, (int64_t)time(NULL), 0, &res);
	log_verdict(pamh, &lg, cfg->v[0]->log_format == PJ_LOG_FORMAT_JSON, &res);
	ret = pj_err_pam(res.err);
out:
	pj_freezero(tok, PJ_ENTRY_BUF);
	pj_configs_free(cfg);
	return ret;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
