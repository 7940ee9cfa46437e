/* Token acquisition: use_first_pass, try_first_pass, prompts, pieces. */
#ifndef PJ_ENTRY_H
#define PJ_ENTRY_H

#include <stddef.h>

#include <security/pam_modules.h>

#include "conf.h"
#include "log.h"
#include "verify.h"

#define PJ_PIECES_MAX 64
#define PJ_ENTRY_BUF (PJ_TOKEN_MAX + 1)

/*
 * Get the token per use_first_pass / try_first_pass / the conversation,
 * joining "more follows" pieces, trimmed. On success *tok (NUL-terminated,
 * *len bytes) is the caller's to wipe and free: pj_freezero(*tok, PJ_ENTRY_BUF).
 * Errors: PJ_ERR_MALFORMED (use_first_pass with no token), PJ_ERR_TOO_LARGE,
 * PJ_ERR_CONV, PJ_ERR_ANSWER_REPLACED (the first answer), PJ_ERR_NOMEM.
 */
int pj_entry_get_token(pam_handle_t *pamh, const struct pj_config *cfg, const struct pj_log *lg,
    char **tok, size_t *len);

/*
 * The piece assembly alone (for tests and fuzzers): append answer (its
 * bytes, trimmed) as piece number idx (1-based) to buf (holding *len bytes,
 * cap PJ_TOKEN_MAX + 1). *more is set when the answer ends in '\'. Returns
 * PJ_ERR_TOO_LARGE past 16384 bytes or when piece 64 still asks for more.
 */
int pj_entry_add_piece(char *buf, size_t *len, const char *answer, int idx, int *more);

/*
 * sshd hands PAM a made-up answer for an invalid user (or root without
 * PermitRootLogin yes): "\b\n\r\177INCORRECT" repeated to the real answer's
 * length. 1 when the raw answer (n > 0 bytes, before trimming) is a prefix
 * of that pattern; the module and the tool refuse it as answer_replaced.
 */
int pj_answer_replaced(const char *answer, size_t n);

#endif
