/* The module side of fetching: runs pam_jwt_fetch (the only place with
 * libcurl) as fetch_user, out of process, bounded in time and size. */
#ifndef PJ_FETCH_H
#define PJ_FETCH_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "log.h"

#define PJ_FETCH_MAX_BYTES ((size_t)1024 * 1024)

struct pj_fetch_out {
	int status;		/* the HTTP status, 2xx */
	long max_age;		/* Cache-Control max-age, -1 when none */
	char *body;		/* NUL-terminated (not counted); free() */
	size_t len;
};

/* ca_file's content, read by the module itself (the helper never opens
 * it): owner/mode rule, at most 1 MiB. *buf NULL when ca_file is unset.
 * PJ_ERR_KEYS_UNAVAILABLE (logged) when it cannot be read. */
int pj_fetch_read_ca(const struct pj_config *cfg, const struct pj_log *lg, char **buf, size_t *len);

/*
 * One GET of url by fetch_helper, run with no id 0 and no capability (as
 * fetch_user when any of our uids is 0, else with our effective ids; never
 * run at all when that cannot be had), from the descriptor its checks were
 * made on, with an empty environment and stdin, stdout and stderr on three
 * pipes, nothing else open; ca (calen bytes, may be NULL) goes to its stdin. Killed at deadline (CLOCK_MONOTONIC). No signal
 * disposition is touched. 0 and *out for a 2xx response received in full;
 * PJ_ERR_KEYS_UNAVAILABLE (logged) for anything else: transport failure,
 * timeout, over 1 MiB, a non-2xx status (redirects are never followed).
 */
int pj_fetch(const struct pj_config *cfg, const struct pj_log *lg, const char *url, const char *ca,
    size_t calen, const struct timespec *deadline, struct pj_fetch_out *out);
void pj_fetch_out_clear(struct pj_fetch_out *o);

#endif
