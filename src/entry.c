#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "entry.h"
#include "err.h"
#include "jws.h"
#include "util.h"
#include "verify.h"

int
pj_entry_add_piece(char *buf, size_t *len, const char *answer, int idx, int *more)
{
	const char *p = answer;
	size_t n = strlen(answer);

	*more = 0;
	pj_trim(&p, &n);
	if (n > 0 && p[n - 1] == '\\') {
		/* '\' is outside the base64url alphabet: "more follows". */
		if (idx >= PJ_PIECES_MAX)
			return PJ_ERR_TOO_LARGE;
		*more = 1;
		n--;
	}
	if (n > PJ_TOKEN_MAX - *len)
		return PJ_ERR_TOO_LARGE;
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

int
pj_answer_replaced(const char *answer, size_t n)
{
	static const char pat[] = "\b\n\r\177INCORRECT";

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (answer[i] != pat[i % (sizeof(pat) - 1)])
			return 0;
	return 1;
}

/* "JWT part %d: " with idx in place of %d (checked at parse: one %d only). */
static void
piece_prompt(char *out, size_t cap, const char *fmt, int idx)
{
	const char *d = strstr(fmt, "%d");

	if (d == NULL) {
		snprintf(out, cap, "%s", fmt);
		return;
	}
	snprintf(out, cap, "%.*s%d%s", (int)(d - fmt), fmt, idx, d + 2);
}

static int
ask(pam_handle_t *pamh, const struct pj_log *lg, const char *prompt, char **answer)
{
	char *resp = NULL;
	int pr;

	*answer = NULL;
	pr = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt);
	if (pr != PAM_SUCCESS || resp == NULL) {
		/* sudo refuses answers of 512 bytes or more this way. */
		pj_log(lg, LOG_ERR, "conversation failed (%s); a client that cuts long answers "
		    "(sudo at 511 bytes, ssh at 1023) needs pam_jwt_askpass to send the token in pieces",
		    pam_strerror(pamh, pr));
		if (resp != NULL)
			pj_freezero(resp, strlen(resp));
		return pr == PAM_BUF_ERR ? PJ_ERR_NOMEM : PJ_ERR_CONV;
	}
	*answer = resp;
	return 0;
}

static int
converse(pam_handle_t *pamh, const struct pj_config *cfg, const struct pj_log *lg, char *buf, size_t *len)
{
	char prompt[256], *answer = NULL;
	int more = 1, r = 0;

	*len = 0;
	buf[0] = '\0';
	for (int idx = 1; more; idx++) {
		if (idx == 1)
			snprintf(prompt, sizeof(prompt), "%s", cfg->prompt);
		else
			piece_prompt(prompt, sizeof(prompt), cfg->prompt_more, idx);
		if ((r = ask(pamh, lg, prompt, &answer)) != 0)
			return r;
		/* Judged raw: before trimming, pieces and the size limit. */
		if (idx == 1 && pj_answer_replaced(answer, strlen(answer)))
			r = PJ_ERR_ANSWER_REPLACED;
		else
			r = pj_entry_add_piece(buf, len, answer, idx, &more);
		pj_freezero(answer, strlen(answer));
		if (r != 0)
			return r;
	}
	return 0;
}

int
pj_entry_get_token(pam_handle_t *pamh, const struct pj_config *cfg, const struct pj_log *lg,
    char **tok, size_t *len)
{
	const void *item = NULL;
	const char *stored = NULL;
	char *buf = NULL;
	size_t n = 0;
	int r = PJ_ERR_INTERNAL;

	*tok = NULL;
	*len = 0;
	if ((buf = malloc(PJ_ENTRY_BUF)) == NULL)
		return PJ_ERR_NOMEM;
	if ((cfg->use_first_pass || cfg->try_first_pass) &&
	    pam_get_item(pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL) {
		const char *p = item;
		size_t plen = strlen(p);

		pj_trim(&p, &plen);
		if (cfg->use_first_pass) {
			stored = p;
		} else {
			/* try_first_pass: only a JWS, never someone's password. */
			struct pj_jws jws;

			if (plen <= PJ_TOKEN_MAX && pj_jws_parse(p, plen, &jws) == 0) {
				pj_jws_clear(&jws);
				stored = p;
			}
		}
		if (stored != NULL) {
			if (plen > PJ_TOKEN_MAX) {
				r = PJ_ERR_TOO_LARGE;
				goto out;
			}
			memcpy(buf, stored, plen);
			buf[plen] = '\0';
			n = plen;
			pj_log(lg, LOG_DEBUG, "token taken from PAM_AUTHTOK");
			goto done;
		}
	}
	if (cfg->use_first_pass) {
		pj_log(lg, LOG_ERR, "use_first_pass: no token in PAM_AUTHTOK");
		r = PJ_ERR_MALFORMED;
		goto out;
	}
	if ((r = converse(pamh, cfg, lg, buf, &n)) != 0)
		goto out;
	/* As modules do with passwords: a later line may use_first_pass. */
	if (pam_set_item(pamh, PAM_AUTHTOK, buf) != PAM_SUCCESS) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
done:
	*tok = buf;
	*len = n;
	buf = NULL;
	r = 0;
out:
	pj_freezero(buf, PJ_ENTRY_BUF);
	return r;
}
