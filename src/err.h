/* One negative error space for every internal function (0 is success). */
#ifndef PJ_ERR_H
#define PJ_ERR_H

enum {
	PJ_OK = 0,
	PJ_ERR_INTERNAL = -1,
	PJ_ERR_NOMEM = -2,
	PJ_ERR_MALFORMED = -3,
	PJ_ERR_TOO_LARGE = -4,
	PJ_ERR_BAD_HEADER = -5,
	PJ_ERR_ALG_NOT_ALLOWED = -6,
	PJ_ERR_UNKNOWN_KID = -7,
	PJ_ERR_NO_KEY = -8,
	PJ_ERR_KEYS_UNAVAILABLE = -9,
	PJ_ERR_BAD_SIGNATURE = -10,
	PJ_ERR_EXPIRED = -11,
	PJ_ERR_NOT_YET_VALID = -12,
	PJ_ERR_ISSUED_IN_FUTURE = -13,
	PJ_ERR_LIFETIME_TOO_LONG = -14,
	PJ_ERR_BAD_ISSUER = -15,
	PJ_ERR_BAD_AUDIENCE = -16,
	PJ_ERR_CLAIM_MISMATCH = -17,
	PJ_ERR_NO_USER_MAPPING = -18,
	PJ_ERR_BAD_USER_NAME = -19,
	PJ_ERR_WRONG_USER = -20,
	PJ_ERR_USER_UNKNOWN = -21,
	PJ_ERR_USER_LOOKUP_FAILED = -22,
	PJ_ERR_REPLAYED = -23,
	PJ_ERR_REPLAY_STORE_UNAVAILABLE = -24,
	PJ_ERR_CONFIG = -25,
	PJ_ERR_CONV = -26,
	PJ_ERR_CLAIM_DENIED = -27,
	PJ_ERR_ANSWER_REPLACED = -28,
	PJ_ERR_MIN_ = -29
};

/* The contract's reason code ("malformed", ...); "internal" for the rest. */
const char *pj_err_reason(int err);
/* The one table from PJ_ERR_* to a PAM return code. */
int pj_err_pam(int err);

#endif
