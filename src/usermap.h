/* The user_map file (pam_jwt.conf(5), USER MAP) and the safe-name rule. */
#ifndef PJ_USERMAP_H
#define PJ_USERMAP_H

#include <stddef.h>

#include "log.h"

struct pj_usermap;

/*
 * Load a map file (already opened safely by the caller: fd, read here to
 * EOF, at most 1 MiB). Rules: "PATTERN USER" per line separated by spaces or
 * tabs; '#' comment lines, blank lines ignored. PATTERN: exact; glob (has
 * '*', which alone is special); or '~' + POSIX ERE, whole-value match,
 * no back-references. USER: a name, "=" (the value itself), or with \1..\9
 * from a regex. Catch-alls refused (glob: >= 4 bytes other than '*' at its
 * start or end; regex: literal prefix of >= 4 bytes). Errors are logged
 * with path and line number: PJ_ERR_CONFIG. *out is NULL on entry.
 */
int pj_usermap_load_fd(int fd, const char *path, const struct pj_log *lg, struct pj_usermap **out);
/* Same from a buffer (tests, fuzzers). */
int pj_usermap_load_buf(const char *buf, size_t len, const char *path, const struct pj_log *lg,
    struct pj_usermap **out);
void pj_usermap_free(struct pj_usermap *map);

/*
 * Map value (len bytes, may hold any byte) through the rules: first match
 * wins, matched bytewise in the C locale; the result is written to out
 * (NUL-terminated, cap bytes). PJ_ERR_NO_USER_MAPPING when nothing matches;
 * PJ_ERR_BAD_USER_NAME when the result is longer than cap-1 or not safe.
 * *literal (may be NULL) tells whether the rule's USER is a name written
 * out, not "=" or a template: only such a rule may reach a uid-0 account.
 */
int pj_usermap_map(const struct pj_usermap *map, const char *value, size_t len, char *out, size_t cap,
    int *literal);

/* [a-z_][a-z0-9_.-]*, 1..32 bytes. Returns 1 when safe. */
int pj_user_name_safe(const char *name, size_t len);

#endif
