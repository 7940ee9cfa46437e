/* One-time jti records under state_dir (pam_jwt(8), VALIDATION). */
#ifndef PJ_REPLAY_H
#define PJ_REPLAY_H

#include <stdint.h>

#include "conf.h"
#include "log.h"

/*
 * jti (non-empty) of iss, whose token expires at exp: PJ_ERR_REPLAYED when
 * it was accepted before and could still be valid on any line sharing the
 * store (now < that exp + PJ_LEEWAY_MAX, whatever this line's leeway);
 * else, when record is set, record it atomically (two concurrent logins
 * with one token: exactly one wins) and prune records past that time. PJ_ERR_REPLAY_STORE_UNAVAILABLE when
 * the store cannot be read or written: one-time use never fails open.
 */
int pj_replay_check(const struct pj_config *cfg, const struct pj_log *lg, const char *iss,
    const char *jti, double exp, int64_t now, int record);

#endif
