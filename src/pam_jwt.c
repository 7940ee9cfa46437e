/* PAM entry points only: options, token, pj_verify, one log line. */
#include "config.h"

#include <time.h>

#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "conf.h"
#include "entry.h"
#include "err.h"
#include "util.h"
#include "verify.h"

static void
log_verdict(const struct pj_log *lg, const struct pj_result *res)
{
	pj_log(lg, res->err == 0 ? LOG_NOTICE : LOG_WARNING,
	    "result=%s reason=%s user=\"%s\" fields=%s iss=\"%s\" sub=\"%s\" kid=\"%s\" jti=\"%s\" (%s)",
	    res->err == 0 ? "accept" : "reject", pj_err_reason(res->err), res->user,
	    res->verified ? "verified" : "unverified", res->iss, res->sub, res->kid, res->jti,
	    res->detail);
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
		ret = pj_err_pam(r);
		goto out;
	}
	lg.debug = cfg->v[0]->debug;
	if ((pr = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS || user == NULL || user[0] == '\0') {
		pj_log(&lg, LOG_ERR, "cannot determine the user");
		ret = (pr == PAM_CONV_ERR || pr == PAM_BUF_ERR) ? pr : PAM_AUTH_ERR;
		goto out;
	}
	if ((r = pj_entry_get_token(pamh, cfg->v[0], &lg, &tok, &len)) != 0) {
		pj_log(&lg, LOG_WARNING, "result=reject reason=%s (no token)", pj_err_reason(r));
		ret = pj_err_pam(r);
		goto out;
	}
	pj_verify(cfg, &lg, tok, len, user, (int64_t)time(NULL), 0, &res);
	log_verdict(&lg, &res);
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
