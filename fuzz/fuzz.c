#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

static char dir[256];
static double slowest_ms, slowest_wall_ms;
static long slow_ms = -1;
static unsigned long runs, slow_units;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static void
cleanup(void)
{
	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
report(void)
{
	fprintf(stderr, "fuzz: %lu runs, slowest unit %.1f ms CPU (%.1f ms wall), %lu over %ld ms CPU\n",
	    runs, slowest_ms, slowest_wall_ms, slow_units, slow_ms);
}

static double
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * The time of one input is the CPU time of this thread: on a shared,
 * loaded machine (niced fuzzers) the wall time mostly measures waiting.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct timespec a, b, wa, wb;
	double ms, wall;

	if (slow_ms < 0) {
		const char *e = getenv("PJ_FUZZ_SLOW_MS");

		slow_ms = e != NULL && atol(e) > 0 ? atol(e) : 100;
		atexit(report);
	}
	clock_gettime(CLOCK_MONOTONIC, &wa);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	fuzz_one(data, size);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	clock_gettime(CLOCK_MONOTONIC, &wb);
	ms = ms_between(&a, &b);
	wall = ms_between(&wa, &wb);
	/* The first run is libFuzzer's empty input, with every lazy init. */
	if (runs++ == 0)
		return 0;
	if (wall > slowest_wall_ms)
		slowest_wall_ms = wall;
	if (ms > slowest_ms)
		slowest_ms = ms;
	if (ms > (double)slow_ms) {
		char name[64];
		FILE *f;

		snprintf(name, sizeof(name), "slow-unit-%.0fms-%lu", ms, ++slow_units);
		fprintf(stderr, "fuzz: slow unit: %.1f ms CPU, saved as %s\n", ms, name);
		if ((f = fopen(name, "wb")) != NULL) {
			fwrite(data, 1, size, f);
			fclose(f);
		}
	}
	return 0;
}

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz: invariant failed: %s\n", what);
	abort();
}

const char *
fuzz_dir(void)
{
	if (dir[0] == '\0') {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/pj-fuzz-XXXXXX", t != NULL && t[0] == '/' ? t : "/tmp");
		if (mkdtemp(dir) == NULL)
			fuzz_fail("mkdtemp");
		atexit(cleanup);
	}
	return dir;
}

char *
fuzz_path(const char *name)
{
	size_t n = strlen(fuzz_dir()) + strlen(name) + 2;
	char *p = malloc(n);

	if (p == NULL)
		fuzz_fail("malloc");
	snprintf(p, n, "%s/%s", fuzz_dir(), name);
	return p;
}

void
fuzz_write(const char *path, const void *buf, size_t len, unsigned mode)
{
	size_t n = strlen(path) + 8, off = 0;
	char *tmp = malloc(n);
	ssize_t w;
	int fd;

	if (tmp == NULL)
		fuzz_fail("malloc");
	snprintf(tmp, n, "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		fuzz_fail("open for writing");
	while (off < len) {
		if ((w = write(fd, (const char *)buf + off, len - off)) <= 0)
			fuzz_fail("write");
		off += (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || close(fd) != 0 || rename(tmp, path) != 0)
		fuzz_fail("fchmod, close or rename");
	free(tmp);
}

char *
fuzz_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "fuzz: cannot read %s\n", path);
		abort();
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void
add_part(const uint8_t *data, size_t start, size_t end, char **parts, size_t *lens, size_t n)
{
	lens[n] = end - start;
	if ((parts[n] = malloc(lens[n] + 1)) == NULL)
		fuzz_fail("malloc");
	if (lens[n] > 0)
		memcpy(parts[n], data + start, lens[n]);
	parts[n][lens[n]] = '\0';
}

size_t
fuzz_split(const uint8_t *data, size_t size, char sep, char **parts, size_t *lens, size_t max)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i < size && n + 1 < max; i++) {
		if (data[i] != (uint8_t)sep)
			continue;
		add_part(data, start, i, parts, lens, n++);
		start = i + 1;
	}
	add_part(data, start, size, parts, lens, n++);
	return n;
}

void
fuzz_free_parts(char **parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
}

/*
 * The fixed user database: root, alice, bob, daemon and the 32-byte name
 * exist; "nsslost" fails as an unreachable NSS source would; the rest do
 * not exist.
 */
int __real_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
    struct passwd **result);
int __wrap_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
    struct passwd **result);

int
__wrap_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
    struct passwd **result)
{
	static const struct {
		const char *name;
		uid_t uid;
	} users[] = {
		{"root", 0}, {"daemon", 1}, {"alice", 1000}, {"bob", 1001},
		{"abcdefghijklmnopqrstuvwxyz_01234", 1002},
	};
	size_t n;

	*result = NULL;
	if (strcmp(name, "nsslost") == 0)
		return EIO;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (strcmp(name, users[i].name) != 0)
			continue;
		if ((n = strlen(name) + 1) + 2 > buflen)
			return ERANGE;
		memset(pw, 0, sizeof(*pw));
		memcpy(buf, name, n);
		buf[n] = '\0';	/* "" serves as password, gecos, dir and shell */
		pw->pw_name = buf;
		pw->pw_passwd = pw->pw_gecos = pw->pw_dir = pw->pw_shell = buf + n;
		pw->pw_uid = users[i].uid;
		pw->pw_gid = users[i].uid;
		*result = pw;
		return 0;
	}
	return 0;
}
