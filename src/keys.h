/* Where keys come from: jwks_file, or the cache (fetching when needed). */
#ifndef PJ_KEYS_H
#define PJ_KEYS_H

#include <stdint.h>

#include "conf.h"
#include "jwk.h"
#include "log.h"

struct pj_keys;

/* Per-login context. *out is NULL on entry. */
int pj_keys_open(const struct pj_config *cfg, const struct pj_log *lg, int64_t now, unsigned flags,
    struct pj_keys **out);
/* The usable key set: PJ_ERR_KEYS_UNAVAILABLE when there is none at all. */
int pj_keys_get(struct pj_keys *k, const struct pj_jwks **set);
/* A kid miss: may refresh once (cooldown rules); *set is the set to retry
 * with (possibly the same). */
int pj_keys_kid_miss(struct pj_keys *k, const struct pj_jwks **set);
void pj_keys_close(struct pj_keys *k);

/*
 * pam_jwt_check --refresh: fetch and cache the keys now, fresh or not
 * (still never within refresh_cooldown of a failed attempt). 0 when keys
 * were fetched (or, for jwks_file, the file holds a usable key);
 * PJ_ERR_KEYS_UNAVAILABLE; PJ_ERR_CONFIG. The reason is logged through lg.
 */
int pj_keys_refresh(const struct pj_config *cfg, const struct pj_log *lg, int64_t now);

#endif
