#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "util.h"

int
pj_read_all(int fd, size_t max, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = NULL, *nb;
	ssize_t got;

	*buf = NULL;
	*len = 0;
	if ((b = malloc(cap + 1)) == NULL)
		return PJ_ERR_NOMEM;
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(b);
				return PJ_ERR_TOO_LARGE;
			}
			cap *= 2;
			if ((nb = realloc(b, cap + 1)) == NULL) {
				free(b);
				return PJ_ERR_NOMEM;
			}
			b = nb;
		}
		got = read(fd, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(b);
			return PJ_ERR_INTERNAL;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			free(b);
			return PJ_ERR_TOO_LARGE;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

void
pj_trim(const char **p, size_t *len)
{
	const char *s = *p;
	size_t n = *len;

	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == '\v' || s[n - 1] == '\f'))
		n--;
	*p = s;
	*len = n;
}

void
pj_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}

void
pj_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}
