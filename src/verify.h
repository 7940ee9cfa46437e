/* pj_verify: the one pipeline (pam_jwt(8), VALIDATION), for the module, the
 * tool, the fuzzers and the benchmark. */
#ifndef PJ_VERIFY_H
#define PJ_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "log.h"
#include "verdict.h"

#define PJ_TOKEN_MAX 16384
#define PJ_USER_MAX 32

struct pj_result {
	int err;		/* 0 or PJ_ERR_* */
	/* What an admin needs to act (which claim, the token's value, the
	 * times), escaped and cut like the token fields: the log lines and the
	 * tool print this same text. */
	char detail[PJ_ESC_MAX];
	struct pj_why why;	/* the data detail is formatted from */
	int verified;		/* the signature verified: fields below are not "unverified" */
	/* Token fields, escaped and cut for logs (pj_escape); "" when absent. */
	char iss[PJ_ESC_MAX], sub[PJ_ESC_MAX], kid[PJ_ESC_MAX], jti[PJ_ESC_MAX];
	char alg[16];
	char user[PJ_USER_MAX + 1];	/* the mapped local user, "" until mapped */
	char issuer_name[PJ_ESC_MAX];	/* the chosen section, "" without sections */
	int has_exp;
	double exp;
};

enum {
	PJ_VERIFY_NO_REPLAY_WRITE = 1 << 0,	/* the tool: read the jti store, never write */
	PJ_VERIFY_NO_FETCH = 1 << 1,		/* never start the fetch helper */
	PJ_VERIFY_NO_REUSE = 1 << 2,		/* parse and import afresh, keep nothing (the fuzzers) */
};

/*
 * Run every check on token (len bytes) for user (PAM_USER; NULL for the
 * tool without --user: then the mapped user must only exist) at time now.
 * Returns res->err, which is also filled with the reason and the fields.
 */
/* A verdict reached outside pj_verify (no token, a replaced answer, a
 * conversation failure): res is reset, err set, detail formatted. */
void pj_result_fail(struct pj_result *res, int err);

int pj_verify(const struct pj_configs *set, const struct pj_log *lg, const char *token, size_t len,
    const char *user, int64_t now, unsigned flags, struct pj_result *res);

#endif
