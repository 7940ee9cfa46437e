/* Local accounts: one lookup for every caller. */
#ifndef PJ_USER_H
#define PJ_USER_H

#include <pwd.h>

/*
 * getpwnam_r with a buffer grown on ERANGE (a large LDAP entry is not a
 * failed lookup), up to 1 MiB. 0 and *pw, whose strings live in *buf
 * (free() it; *buf is NULL on entry and on error); PJ_ERR_USER_UNKNOWN when
 * the name does not exist; PJ_ERR_USER_LOOKUP_FAILED when the name service
 * fails otherwise; PJ_ERR_NOMEM.
 */
int pj_user_lookup(const char *name, struct passwd *pw, char **buf);

#endif
