/* Logging: pam_syslog with a handle, stderr without (as pam_faillock). */
#ifndef PJ_LOG_H
#define PJ_LOG_H

#include <stddef.h>
#include <syslog.h>

struct pj_log {
	void *pamh;	/* pam_handle_t *, or NULL for stderr */
	int debug;	/* LOG_DEBUG lines are dropped unless set */
	int quiet;	/* stderr only: drop everything below LOG_ERR */
	char *last;	/* when set: the last LOG_ERR line, PJ_LOG_LAST_MAX bytes */
};

#define PJ_LOG_LAST_MAX 1024

void pj_log(const struct pj_log *lg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Escape bytes from a token for a log line: printable ASCII kept, backslash, double quote and
 * the rest as \xHH; the output is cut (never mid-escape) so that it holds at
 * most 128 bytes; out must hold PJ_ESC_MAX bytes. Returns out. */
#define PJ_ESC_MAX 129
char *pj_escape(char out[PJ_ESC_MAX], const char *in, size_t inlen);

#endif
