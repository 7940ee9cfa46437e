/*
 * A stand-in fetch_helper for test_fetch_privs.py: writes what it runs
 * with (its Uid, Gid, Groups, Cap* and NoNewPrivs lines of
 * /proc/self/status, and its open descriptors) to ARGV0.report, then
 * answers as pam_jwt_fetch does: "200 -" and ARGV0.jwks as the body.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
copy_status(FILE *out)
{
	static const char *const keep[] = {"Uid:", "Gid:", "Groups:", "Cap", "NoNewPrivs:"};
	char line[4096];
	FILE *in;

	if ((in = fopen("/proc/self/status", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), in) != NULL)
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (strncmp(line, keep[i], strlen(keep[i])) == 0)
				fputs(line, out);
	fclose(in);
}

static void
list_fds(FILE *out)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	ssize_t n;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		/* Not counted: the two this program opened itself. */
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d) ||
		    atoi(e->d_name) == fileno(out))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		fprintf(out, "Fd:\t%s\t%s\n", e->d_name, target);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	char path[PATH_MAX], buf[4096];
	size_t n;
	FILE *f;

	(void)argc;
	snprintf(path, sizeof(path), "%s.report", argv[0]);
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "pj_idhelper: cannot write %s\n", path);
		return 1;
	}
	copy_status(f);
	list_fds(f);
	if (fclose(f) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s.jwks", argv[0]);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "pj_idhelper: cannot read %s\n", path);
		return 1;
	}
	fputs("200 -\n", stdout);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return fflush(stdout) == 0 ? 0 : 1;
}
