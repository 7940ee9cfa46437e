#ifndef PJ_UTIL_H
#define PJ_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Read fd to EOF, at most max bytes (PJ_ERR_TOO_LARGE past that); *buf is
 * NUL-terminated (not counted); *buf NULL on entry; free with free(). */
int pj_read_all(int fd, size_t max, char **buf, size_t *len);

/* Trim ASCII whitespace at both ends of [*p, *p + *len). */
void pj_trim(const char **p, size_t *len);

/* Wipe and free (free(NULL) is fine). */
void pj_freezero(void *p, size_t len);

/* Sleep ms milliseconds (a lock poll; a signal may cut it short). */
void pj_sleep_ms(long ms);

#endif
