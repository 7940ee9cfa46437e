#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "num.h"

int
pj_num_parse(const char *s, size_t len, long long min, long long max, unsigned flags,
    long long *out)
{
	char buf[24];	/* 19 digits of LLONG_MAX, with room to see a 20th */
	long long v;
	char *end;

	*out = 0;
	if (len == 0)
		return PJ_ERR_MALFORMED;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return PJ_ERR_MALFORMED;
	if ((flags & PJ_NUM_CANONICAL) && len > 1 && s[0] == '0')
		return PJ_ERR_MALFORMED;
	/* strtoll wants a terminated string: copy the significant digits. */
	while (len > 1 && s[0] == '0') {
		s++;
		len--;
	}
	if (len >= sizeof(buf))
		return PJ_ERR_TOO_LARGE;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end != '\0')
		return PJ_ERR_MALFORMED;
	if (errno == ERANGE || v < min || v > max)
		return PJ_ERR_TOO_LARGE;
	*out = v;
	return 0;
}
