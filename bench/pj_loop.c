/*
 * pj_loop: the PAM side of the benchmark, run by pj_bench as a child. Built
 * twice: bench/pj_loop links libpam and libc only, as a PAM host without
 * OpenSSL (sudo, su, login) is: whatever pam_jwt.so loads, it loads itself,
 * per handle unless it stays resident. bench/pj_loop_ssl also links
 * libcrypto and uses it before its logins, as sshd does (PJ_LOOP_OPENSSL).
 *
 *   pj_loop loop CONFDIR USER WARMUP ROUNDS ITERS [pin=PATH]... LABEL:SERVICE:TOKENFILE...
 *	Each round runs ITERS logins (pam_start_confdir, pam_authenticate,
 *	pam_end) of each case in turn, each login timed; prints "ROUND
 *	LABEL R MEDIAN_NS MEAN_NS" (per login), in the order run (a label may
 *	come more than once). TOKENFILE: tokens one a line, answered in turn,
 *	so that each login sees the next one; "-": no conversation expected.
 *	pin=PATH keeps that module resident (dlopen RTLD_NODELETE first).
 *	pj_loop_ssl only: the case LABEL:@raw.ALG:FIXDIR times a bare
 *	EVP_DigestVerify with a ready key instead (ALG: RS256, PS256, ES256,
 *	EdDSA; FIXDIR holds bench/setup.py's files), so that the raw verify
 *	is interleaved with the logins in one process.
 *   pj_loop once CONFDIR USER SERVICE TOKENFILE
 *	This process's one login (the first token); prints "ONCE HWM_KB".
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
#ifdef PJ_LOOP_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#endif

#include "../tests/pam/pjpam.h"

#define MAXTOK 256

/* Tokens answered in turn; none: no conversation expected. */
struct toks {
	char *v[MAXTOK];
	int n, next;
};

struct raw;

struct tcase {
	char *label, *service;
	struct toks *tokens;
	struct raw *raw;	/* a raw verify, not a login */
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

/* TOKENFILE: one token a line; "-": none. */
static struct toks *
read_tokens(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct toks *t;
	FILE *f;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		exit(2);
	if (strcmp(path, "-") == 0)
		return t;
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(2);
	}
	while (t->n < MAXTOK && (n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (n > 0 && (t->v[t->n++] = strdup(line)) == NULL)
			exit(2);
	}
	free(line);
	fclose(f);
	if (t->n == 0) {
		fprintf(stderr, "pj_loop: %s: no token\n", path);
		exit(2);
	}
	return t;
}

static void
toks_free(struct toks *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t);
}

/* The next token in turn, or NULL when there are none. */
static const char *
next_token(struct toks *t)
{
	const char *s;

	if (t->n == 0)
		return NULL;
	s = t->v[t->next];
	t->next = (t->next + 1) % t->n;
	return s;
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

#ifdef PJ_LOOP_OPENSSL
/* A bare verify of the first token's signature with a ready key. */
struct raw {
	EVP_PKEY *pkey;
	int pss, ed;
	unsigned char *msg, *sig;
	size_t msglen, siglen;
};

static unsigned char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	unsigned char *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "pj_loop: %s: cannot read\n", path);
		exit(2);
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static struct raw *
raw_load(const char *alg, const char *dir)
{
	struct raw *w = calloc(1, sizeof(*w));
	unsigned char *pem, *dot;
	char name[64];
	size_t len;
	BIO *bio;

	if (w == NULL)
		exit(2);
	w->pss = strcmp(alg, "PS256") == 0;
	w->ed = strcmp(alg, "EdDSA") == 0;
	snprintf(name, sizeof(name), "pub.%s.pem", alg);
	pem = slurp(dir, name, &len);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (w->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "pj_loop: pub.%s: not a public key\n", alg);
		exit(2);
	}
	BIO_free(bio);
	free(pem);
	snprintf(name, sizeof(name), "sig.%s.bin", alg);
	w->sig = slurp(dir, name, &w->siglen);
	/* The signing input: the first token up to its last '.'. */
	snprintf(name, sizeof(name), "tok.%s", alg);
	w->msg = slurp(dir, name, &len);
	w->msg[strcspn((char *)w->msg, "\n")] = '\0';
	if ((dot = (unsigned char *)strrchr((char *)w->msg, '.')) == NULL) {
		fprintf(stderr, "pj_loop: tok.%s: not a token\n", alg);
		exit(2);
	}
	w->msglen = (size_t)(dot - w->msg);
	return w;
}

static void
raw_free(struct raw *w)
{
	if (w == NULL)
		return;
	EVP_PKEY_free(w->pkey);
	free(w->msg);
	free(w->sig);
	free(w);
}

static int
raw_verify(const struct raw *w)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestVerifyInit(ctx, &pctx, w->ed ? NULL : EVP_sha256(), NULL, w->pkey) == 1;
	if (ok && w->pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
	ok = ok && EVP_DigestVerify(ctx, w->sig, w->siglen, w->msg, w->msglen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}
#endif

/* One login of the case, or its raw verify: 0 or "FAIL" printed. */
static int
run_case(const char *confdir, const char *user, struct tcase *c)
{
	int r;

#ifdef PJ_LOOP_OPENSSL
	if (c->raw != NULL) {
		if (raw_verify(c->raw) == 0)
			return 0;
		printf("FAIL %s verify\n", c->label);
		return -1;
	}
#endif
	if ((r = login(confdir, c->service, user, next_token(c->tokens))) != PAM_SUCCESS) {
		printf("FAIL %s %d\n", c->label, r);
		return -1;
	}
	return 0;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void
tcases_free(struct tcase *tc, int n)
{
	for (int i = 0; tc != NULL && i < n; i++) {
		free(tc[i].label);	/* service points into it */
		toks_free(tc[i].tokens);
#ifdef PJ_LOOP_OPENSSL
		raw_free(tc[i].raw);
#endif
	}
	free(tc);
}

static int
run_loop(int argc, char **argv)
{
	const char *confdir = argv[2], *user = argv[3];
	int warmup = atoi(argv[4]), rounds = atoi(argv[5]), iters = atoi(argv[6]);
	int first = 7, n, rc = 2;
	struct tcase *tc = NULL;
	long long *t = NULL;

	/* pin=PATH: keep that module resident, as if linked -z nodelete. */
	for (; first < argc && strncmp(argv[first], "pin=", 4) == 0; first++) {
		if (dlopen(argv[first] + 4, RTLD_NOW | RTLD_NODELETE) == NULL) {
			fprintf(stderr, "pj_loop: %s\n", dlerror());
			return 2;
		}
	}
	n = argc - first;
	if (n <= 0 || iters <= 0 || (tc = calloc((size_t)n, sizeof(*tc))) == NULL ||
	    (t = calloc((size_t)iters, sizeof(*t))) == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		char *s = strdup(argv[first + i]), *c1, *c2;

		if (s == NULL || (c1 = strchr(s, ':')) == NULL || (c2 = strchr(c1 + 1, ':')) == NULL) {
			fprintf(stderr, "pj_loop: bad case %s\n", argv[first + i]);
			free(s);
			goto out;
		}
		*c1 = *c2 = '\0';
		tc[i].label = s;
		tc[i].service = c1 + 1;
		if (strncmp(tc[i].service, "@raw.", 5) == 0) {
#ifdef PJ_LOOP_OPENSSL
			tc[i].raw = raw_load(tc[i].service + 5, c2 + 1);
			continue;
#else
			fprintf(stderr, "pj_loop: %s: raw cases need pj_loop_ssl\n", tc[i].label);
			goto out;
#endif
		}
		tc[i].tokens = read_tokens(c2 + 1);
	}
	rc = 1;
	for (int i = 0; i < n; i++) {
		for (int w = 0; w < warmup; w++)
			if (run_case(confdir, user, &tc[i]) != 0)
				goto out;
	}
	for (int rd = 0; rd < rounds; rd++) {
		for (int i = 0; i < n; i++) {
			long long sum = 0, med;

			for (int k = 0; k < iters; k++) {
				long long t0 = now_ns();

				if (run_case(confdir, user, &tc[i]) != 0)
					goto out;
				t[k] = now_ns() - t0;
				sum += t[k];
			}
			qsort(t, (size_t)iters, sizeof(*t), cmp_ll);
			med = iters % 2 ? t[iters / 2] : (t[iters / 2 - 1] + t[iters / 2]) / 2;
			printf("ROUND %s %d %lld %.1f\n", tc[i].label, rd, med, (double)sum / iters);
			fflush(stdout);
		}
	}
	rc = 0;
out:
	tcases_free(tc, n);
	free(t);
	return rc;
}

static int
run_cold(char **argv)
{
	const char *confdir = argv[2], *user = argv[3], *service = argv[4], *module = argv[6];
	struct toks *tk = read_tokens(argv[5]);
	const char *tok = next_token(tk);
	const char *base;
	long long t0, t1, t2, t3;
	void *h;
	int r, curl, rc = 1;

	t0 = now_ns();
	/* As libpam's pam_dynamic.c does. */
	if ((h = dlopen(module, RTLD_NOW)) == NULL) {
		fprintf(stderr, "pj_loop: %s\n", dlerror());
		rc = 2;
		goto out;
	}
	t1 = now_ns();
	if ((r = login(confdir, service, user, tok)) != PAM_SUCCESS) {
		printf("FAIL %s %d\n", service, r);
		goto out;
	}
	t2 = now_ns();
	if ((r = login(confdir, service, user, tok)) != PAM_SUCCESS) {
		printf("FAIL %s %d\n", service, r);
		goto out;
	}
	t3 = now_ns();
	curl = mapped("libcurl");
	/* libpam closed its handles at pam_end; ours goes now. Still mapped:
	 * the module stays resident (-z nodelete). */
	base = strrchr(module, '/') != NULL ? strrchr(module, '/') + 1 : module;
	dlclose(h);
	printf("COLD %lld %lld %lld %d %ld %d\n", t1 - t0, t2 - t1, t3 - t2, curl, rss_kb(), mapped(base));
	rc = 0;
out:
	toks_free(tk);
	return rc;
}

static int
run_once(char **argv)
{
	struct toks *tk = read_tokens(argv[5]);
	int r;

	if ((r = login(argv[2], argv[4], argv[3], next_token(tk))) != PAM_SUCCESS)
		printf("FAIL %s %d\n", argv[4], r);
	else
		printf("ONCE %ld\n", rss_kb());
	toks_free(tk);
	return r == PAM_SUCCESS ? 0 : 1;
}

#ifdef PJ_LOOP_OPENSSL
/* What a host that uses OpenSSL has done before it asks PAM: loaded the
 * configuration, hashed and drawn random bytes (sshd's key exchange). */
static int
host_openssl(void)
{
	unsigned char md[EVP_MAX_MD_SIZE], rnd[32];
	unsigned int mdlen = 0;

	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1 ||
	    EVP_Digest("pj_loop", 7, md, &mdlen, EVP_sha256(), NULL) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		fprintf(stderr, "pj_loop: OpenSSL set-up failed\n");
		return -1;
	}
	return 0;
}
#endif

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
#ifdef PJ_LOOP_OPENSSL
	if (host_openssl() != 0)
		return 2;
#endif
	if (argc >= 8 && strcmp(argv[1], "loop") == 0)
		return run_loop(argc, argv);
	if (argc == 6 && strcmp(argv[1], "once") == 0)
		return run_once(argv);
	if (argc == 7 && strcmp(argv[1], "cold") == 0)
		return run_cold(argv);
	if (argc >= 3 && strcmp(argv[1], "load") == 0)
		return run_load(argc, argv);
	fprintf(stderr, "usage: pj_loop loop CONFDIR USER WARMUP ROUNDS ITERS [pin=PATH]... LABEL:SERVICE:TOKEN...\n"
	    "       pj_loop once CONFDIR USER SERVICE TOKEN\n"
	    "       pj_loop cold CONFDIR USER SERVICE TOKEN MODULE\n"
	    "       pj_loop load PATH...\n");
	return 2;
}
