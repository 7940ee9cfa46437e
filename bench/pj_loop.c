/*
 * pj_loop: the PAM side of the benchmark, run by pj_bench as a child. It
 * links libpam and libc only, as a PAM host without OpenSSL (sudo, su,
 * login) is: whatever pam_jwt.so loads, it loads itself, per handle unless
 * it stays resident.
 *
 *   pj_loop loop CONFDIR USER WARMUP ROUNDS ITERS [pin=PATH]... LABEL:SERVICE:TOKENFILE...
 *	Each round runs ITERS logins (pam_start_confdir, pam_authenticate,
 *	pam_end) of each case in turn; prints "ROUND LABEL R NS" (mean
 *	nanoseconds per login). TOKENFILE "-": no conversation expected.
 *	pin=PATH keeps that module resident (dlopen RTLD_NODELETE first).
 *   pj_loop cold CONFDIR USER SERVICE TOKENFILE MODULE
 *	In this fresh process: dlopen(MODULE) as libpam does, then two logins;
 *	prints "COLD LOAD_NS FIRST_NS SECOND_NS CURL HWM_KB RESIDENT" (CURL: 1
 *	when libcurl is mapped after the load and the logins; HWM_KB: peak
 *	RSS; RESIDENT: 1 when MODULE is still mapped after the last dlclose).
 *   pj_loop load PATH...
 *	In this fresh process: dlopen each PATH in turn; prints "BASE HWM_KB"
 *	then "LOAD PATH NS HWM_KB" for each (what each library costs to load).
 *
 * Every login must return PAM_SUCCESS; else "FAIL LABEL CODE" and exit 1.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_appl.h>

#include "../tests/pam/pjpam.h"

struct tcase {
	char *label, *service, *token;
};

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
login(const char *confdir, const char *service, const char *user, const char *tok)
{
	struct pam_conv pc = {pj_pam_conv_token, (void *)(uintptr_t)tok};

	return pj_pam_login(confdir, service, user, NULL, &pc);
}

static char *
read_token(const char *path)
{
	char buf[20000];
	size_t n;
	FILE *f;

	if (strcmp(path, "-") == 0)
		return NULL;
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(2);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return strdup(buf);
}

/* 1 when a mapping's path holds what. */
static int
mapped(const char *what)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, what) != NULL)
			found = 1;
	fclose(f);
	return found;
}

static long
rss_kb(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static int
run_loop(int argc, char **argv)
{
	const char *confdir = argv[2], *user = argv[3];
	int warmup = atoi(argv[4]), rounds = atoi(argv[5]), iters = atoi(argv[6]);
	int first = 7, n, r;
	struct tcase *tc;

	/* pin=PATH: keep that module resident, as if linked -z nodelete. */
	for (; first < argc && strncmp(argv[first], "pin=", 4) == 0; first++) {
		if (dlopen(argv[first] + 4, RTLD_NOW | RTLD_NODELETE) == NULL) {
			fprintf(stderr, "pj_loop: %s\n", dlerror());
			return 2;
		}
	}
	n = argc - first;
	if (n <= 0 || (tc = calloc((size_t)n, sizeof(*tc))) == NULL)
		return 2;
	for (int i = 0; i < n; i++) {
		char *s = strdup(argv[first + i]), *c1, *c2;

		if (s == NULL || (c1 = strchr(s, ':')) == NULL || (c2 = strchr(c1 + 1, ':')) == NULL) {
			fprintf(stderr, "pj_loop: bad case %s\n", argv[first + i]);
			return 2;
		}
		*c1 = *c2 = '\0';
		tc[i].label = s;
		tc[i].service = c1 + 1;
		tc[i].token = read_token(c2 + 1);
	}
	for (int i = 0; i < n; i++) {
		for (int w = 0; w < warmup; w++) {
			if ((r = login(confdir, tc[i].service, user, tc[i].token)) != PAM_SUCCESS) {
				printf("FAIL %s %d\n", tc[i].label, r);
				return 1;
			}
		}
	}
	for (int rd = 0; rd < rounds; rd++) {
		for (int i = 0; i < n; i++) {
			long long t0 = now_ns(), t1;

			for (int k = 0; k < iters; k++) {
				if ((r = login(confdir, tc[i].service, user, tc[i].token)) != PAM_SUCCESS) {
					printf("FAIL %s %d\n", tc[i].label, r);
					return 1;
				}
			}
			t1 = now_ns();
			printf("ROUND %s %d %.1f\n", tc[i].label, rd, (double)(t1 - t0) / iters);
			fflush(stdout);
		}
	}
	return 0;
}

static int
run_cold(char **argv)
{
	const char *confdir = argv[2], *user = argv[3], *service = argv[4], *module = argv[6];
	char *tok = read_token(argv[5]);
	const char *base;
	long long t0, t1, t2, t3;
	void *h;
	int r, curl;

	t0 = now_ns();
	/* As libpam's pam_dynamic.c does. */
	if ((h = dlopen(module, RTLD_NOW)) == NULL) {
		fprintf(stderr, "pj_loop: %s\n", dlerror());
		return 2;
	}
	t1 = now_ns();
	if ((r = login(confdir, service, user, tok)) != PAM_SUCCESS) {
		printf("FAIL %s %d\n", service, r);
		return 1;
	}
	t2 = now_ns();
	if ((r = login(confdir, service, user, tok)) != PAM_SUCCESS) {
		printf("FAIL %s %d\n", service, r);
		return 1;
	}
	t3 = now_ns();
	curl = mapped("libcurl");
	/* libpam closed its handles at pam_end; ours goes now. Still mapped:
	 * the module stays resident (-z nodelete). */
	base = strrchr(module, '/') != NULL ? strrchr(module, '/') + 1 : module;
	dlclose(h);
	printf("COLD %lld %lld %lld %d %ld %d\n", t1 - t0, t2 - t1, t3 - t2, curl, rss_kb(), mapped(base));
	return 0;
}

static int
run_load(int argc, char **argv)
{
	printf("BASE %ld\n", rss_kb());
	for (int i = 2; i < argc; i++) {
		long long t0 = now_ns(), t1;

		if (dlopen(argv[i], RTLD_NOW) == NULL) {
			fprintf(stderr, "pj_loop: %s\n", dlerror());
			return 2;
		}
		t1 = now_ns();
		printf("LOAD %s %lld %ld\n", argv[i], t1 - t0, rss_kb());
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 8 && strcmp(argv[1], "loop") == 0)
		return run_loop(argc, argv);
	if (argc == 7 && strcmp(argv[1], "cold") == 0)
		return run_cold(argv);
	if (argc >= 3 && strcmp(argv[1], "load") == 0)
		return run_load(argc, argv);
	fprintf(stderr, "usage: pj_loop loop CONFDIR USER WARMUP ROUNDS ITERS [pin=PATH]... LABEL:SERVICE:TOKEN...\n"
	    "       pj_loop cold CONFDIR USER SERVICE TOKEN MODULE\n"
	    "       pj_loop load PATH...\n");
	return 2;
}
