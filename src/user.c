#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "err.h"
#include "user.h"

#define PW_BUF_START 4096
#define PW_BUF_MAX (1024 * 1024)

int
pj_user_lookup(const char *name, struct passwd *pw, char **buf)
{
	struct passwd *res = NULL;
	size_t cap = PW_BUF_START;
	char *b = NULL, *nb;
	int e;

	*buf = NULL;
	for (;;) {
		if ((nb = realloc(b, cap)) == NULL) {
			free(b);
			return PJ_ERR_NOMEM;
		}
		b = nb;
		res = NULL;
		e = getpwnam_r(name, pw, b, cap, &res);
		if (e != ERANGE || cap >= PW_BUF_MAX)
			break;
		cap *= 4;
	}
	if (res != NULL) {
		*buf = b;
		return 0;
	}
	free(b);
	/* Not found reads as 0 or, depending on the NSS module, one of these. */
	if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		return PJ_ERR_USER_UNKNOWN;
	return PJ_ERR_USER_LOOKUP_FAILED;
}
