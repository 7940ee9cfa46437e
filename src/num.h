/* The one decimal parser: config values, .meta and one-time records, the
 * fetch helper's arguments and status line, Cache-Control max-age. Also
 * compiled into pam_jwt_fetch, which does not link libpj. */
#ifndef PJ_NUM_H
#define PJ_NUM_H

#include <stddef.h>

/* No leading zero ("0" itself is fine): for numbers we write ourselves. */
#define PJ_NUM_CANONICAL 1U

/*
 * [s, s + len) as a decimal number: ASCII digits only (no sign, no space,
 * nothing after them), within min..max (min >= 0). 0 and *out on success;
 * PJ_ERR_MALFORMED for anything but digits (or a leading zero with
 * PJ_NUM_CANONICAL); PJ_ERR_TOO_LARGE for digits outside min..max, below
 * min too. *out is 0 unless it succeeds.
 */
int pj_num_parse(const char *s, size_t len, long long min, long long max, unsigned flags,
    long long *out);

#endif
