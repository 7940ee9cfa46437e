#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <security/pam_ext.h>

#include "log.h"

void
pj_log(const struct pj_log *lg, int prio, const char *fmt, ...)
{
	va_list ap;

	if (lg == NULL)
		return;
	if (prio == LOG_DEBUG && !lg->debug)
		return;
	if (lg->last != NULL && prio <= LOG_ERR) {
		va_start(ap, fmt);
		vsnprintf(lg->last, PJ_LOG_LAST_MAX, fmt, ap);
		va_end(ap);
	}
	va_start(ap, fmt);
	if (lg->pamh != NULL) {
		pam_vsyslog(lg->pamh, prio, fmt, ap);
	} else if (!lg->quiet || prio <= LOG_ERR) {
		fputs("pam_jwt: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

char *
pj_escape(char out[PJ_ESC_MAX], const char *in, size_t inlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			if (o + 1 > PJ_ESC_MAX - 1)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 > PJ_ESC_MAX - 1)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
