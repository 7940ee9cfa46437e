/*
 * libpam helpers shared by the test and benchmark drivers (pjdrive,
 * pjloop, bench/pj_loop): one login through pam_start_confdir, a
 * conversation that answers every prompt with one token, result names.
 * static inline: each driver uses only some of them.
 */
#ifndef PJ_TEST_PAM_H
#define PJ_TEST_PAM_H

#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

/* pam_start_confdir, PAM_RHOST (unless NULL), pam_authenticate, pam_end:
 * the PAM result. */
static inline int
pj_pam_login(const char *confdir, const char *service, const char *user, const char *rhost,
    const struct pam_conv *pc)
{
	pam_handle_t *pamh = NULL;
	int r;

	if ((r = pam_start_confdir(service, user, pc, confdir, &pamh)) != PAM_SUCCESS)
		return r;
	if (rhost != NULL && (r = pam_set_item(pamh, PAM_RHOST, rhost)) != PAM_SUCCESS) {
		pam_end(pamh, r);
		return r;
	}
	r = pam_authenticate(pamh, 0);
	pam_end(pamh, r);
	return r;
}

/* Answers every prompt with the token (appdata, a string); none: an error. */
static inline int
pj_pam_conv_token(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const char *tok = data;
	struct pam_response *r;

	if (num <= 0 || (r = calloc((size_t)num, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (tok == NULL || (r[i].resp = strdup(tok)) == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static inline const char *
pj_pam_name(int r)
{
	switch (r) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	case PAM_CONV_ERR: return "PAM_CONV_ERR";
	case PAM_BUF_ERR: return "PAM_BUF_ERR";
	case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
	case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
	case PAM_ABORT: return "PAM_ABORT";
	default: return "PAM_OTHER";
	}
}

#endif
