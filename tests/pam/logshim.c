/*
 * Test-only LD_PRELOAD for tests/pam/test_log.py: what libpam hands to
 * syslog (pam_syslog's lines) is appended to $PJ_LOG_FILE, one record a
 * line as "<PRIO>message", so a test reads the module's verdict lines
 * without a syslog daemon or /dev/log (which concurrent suites would
 * fight over). With PJ_SHIM_NSS_FAIL set, getpwnam_r fails with EIO: the
 * name service is "unreachable" (user_lookup_failed).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static void
record(int prio, const char *fmt, va_list ap)
{
	const char *path = getenv("PJ_LOG_FILE");
	char buf[16384];
	int n, h, fd;

	if (path == NULL)
		return;
	h = snprintf(buf, sizeof(buf), "<%d>", prio);
	n = vsnprintf(buf + h, sizeof(buf) - (size_t)h - 1, fmt, ap);
	if (n < 0)
		return;
	n += h;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	if (write(fd, buf, (size_t)n) != n)
		(void)0;
	close(fd);
}

void
vsyslog(int prio, const char *fmt, va_list ap)
{
	record(prio, fmt, ap);
}

void
syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(prio, fmt, ap);
	va_end(ap);
}

void
__vsyslog_chk(int prio, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	record(prio, fmt, ap);
}

void
__syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	record(prio, fmt, ap);
	va_end(ap);
}

int
getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	int (*real)(const char *, struct passwd *, char *, size_t, struct passwd **);

	if (getenv("PJ_SHIM_NSS_FAIL") != NULL) {
		*res = NULL;
		return EIO;
	}
	real = (int (*)(const char *, struct passwd *, char *, size_t, struct passwd **))dlsym(RTLD_NEXT,
	    "getpwnam_r");
	if (real == NULL) {
		*res = NULL;
		return ENOSYS;
	}
	return real(name, pw, buf, len, res);
}
