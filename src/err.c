#include "config.h"

#include <stddef.h>

#include <security/_pam_types.h>

#include "err.h"

static const struct {
	const char *reason;
	int pam;
} table[] = {
	/* indexed by -err */
	[-PJ_OK] = {"ok", PAM_SUCCESS},
	[-PJ_ERR_INTERNAL] = {"internal", PAM_AUTH_ERR},
	[-PJ_ERR_NOMEM] = {"out_of_memory", PAM_BUF_ERR},
	[-PJ_ERR_MALFORMED] = {"malformed", PAM_AUTH_ERR},
	[-PJ_ERR_TOO_LARGE] = {"too_large", PAM_AUTH_ERR},
	[-PJ_ERR_BAD_HEADER] = {"bad_header", PAM_AUTH_ERR},
	[-PJ_ERR_ALG_NOT_ALLOWED] = {"alg_not_allowed", PAM_AUTH_ERR},
	[-PJ_ERR_UNKNOWN_KID] = {"unknown_kid", PAM_AUTH_ERR},
	[-PJ_ERR_NO_KEY] = {"no_key", PAM_AUTH_ERR},
	[-PJ_ERR_KEYS_UNAVAILABLE] = {"keys_unavailable", PAM_AUTHINFO_UNAVAIL},
	[-PJ_ERR_BAD_SIGNATURE] = {"bad_signature", PAM_AUTH_ERR},
	[-PJ_ERR_EXPIRED] = {"expired", PAM_AUTH_ERR},
	[-PJ_ERR_NOT_YET_VALID] = {"not_yet_valid", PAM_AUTH_ERR},
	[-PJ_ERR_ISSUED_IN_FUTURE] = {"issued_in_future", PAM_AUTH_ERR},
	[-PJ_ERR_LIFETIME_TOO_LONG] = {"lifetime_too_long", PAM_AUTH_ERR},
	[-PJ_ERR_BAD_ISSUER] = {"bad_issuer", PAM_AUTH_ERR},
	[-PJ_ERR_BAD_AUDIENCE] = {"bad_audience", PAM_AUTH_ERR},
	[-PJ_ERR_CLAIM_MISMATCH] = {"claim_mismatch", PAM_AUTH_ERR},
	[-PJ_ERR_NO_USER_MAPPING] = {"no_user_mapping", PAM_AUTH_ERR},
	[-PJ_ERR_BAD_USER_NAME] = {"bad_user_name", PAM_AUTH_ERR},
	[-PJ_ERR_WRONG_USER] = {"wrong_user", PAM_AUTH_ERR},
	[-PJ_ERR_USER_UNKNOWN] = {"user_unknown", PAM_USER_UNKNOWN},
	[-PJ_ERR_USER_LOOKUP_FAILED] = {"user_lookup_failed", PAM_AUTHINFO_UNAVAIL},
	[-PJ_ERR_REPLAYED] = {"replayed", PAM_AUTH_ERR},
	[-PJ_ERR_REPLAY_STORE_UNAVAILABLE] = {"replay_store_unavailable", PAM_AUTHINFO_UNAVAIL},
	[-PJ_ERR_CONFIG] = {"config_error", PAM_SERVICE_ERR},
	[-PJ_ERR_CONV] = {"conversation", PAM_CONV_ERR},
	[-PJ_ERR_CLAIM_DENIED] = {"claim_denied", PAM_AUTH_ERR},
	[-PJ_ERR_ANSWER_REPLACED] = {"answer_replaced", PAM_AUTH_ERR},
};

const char *
pj_err_reason(int err)
{
	if (err > 0 || err <= PJ_ERR_MIN_ || table[-err].reason == NULL)
		return "internal";
	return table[-err].reason;
}

int
pj_err_pam(int err)
{
	/* Anything unknown fails closed, and so does a code added without its
	 * row above (a zeroed row would read as PAM_SUCCESS). */
	if (err > 0 || err <= PJ_ERR_MIN_ || (err != 0 && table[-err].pam == PAM_SUCCESS))
		return PAM_AUTH_ERR;
	return table[-err].pam;
}
