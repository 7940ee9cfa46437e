/*
 * pj_bench: what pam_jwt costs per login, against the signature it must
 * verify and against a PAM stack that does nothing (the issue 7 benchmark).
 *
 *   make bench                   (builds this, bench/pj_loop, the module; runs)
 *   bench/pj_bench [--rounds N] [--scale X] [--user NAME] [--no-pamtester]
 *                  [--keep] [--only raw,steps,pam,process] [--srcdir DIR] [--builddir DIR]
 *
 * In one run, for RS256, PS256, ES256 and EdDSA, with a 5-key JWKS read
 * from jwks_file= and from a warm on-disk cache (jwks_uri= that is never
 * fetched: the cache is fresh):
 *   raw     a bare EVP_DigestVerify of the same token with a ready key
 *           (and libsodium's Ed25519 verify);
 *   floor   pam_start_confdir + pam_authenticate + pam_end with
 *           pam_permit.so, loaded per handle as libpam does; and with
 *           pam_permit.so kept resident (the strict floor: libpam alone);
 *   module  the same with pam_jwt.so;
 *   ratio   (module - floor) / raw, and the strict one;
 * then the steps of pj_verify on their own (where the time goes), and per
 * process: pamtester with pam_jwt against pamtester with pam_permit (wall
 * time and peak RSS), the module's load time, its first login, and whether
 * libcurl got mapped. Every figure is the median of the round means, with
 * [min..max] of those means. Tokens and keys come from python3-jwcrypto
 * (bench/setup.py), never from our code. A table for people, then one
 * line of JSON (starting with {"pam_jwt_bench") for scripts.
 *
 * The PAM loops run in bench/pj_loop, which links libpam and libc only: a
 * host without OpenSSL (sudo, su), so that whatever the module loads is
 * paid where it is paid. pamtester reads /etc/pam.d only: it runs in a
 * private mount namespace where the bench's service folder is bound over
 * /etc/pam.d (root, or an unprivileged user namespace); nothing on the
 * host is changed.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <cjson/cJSON.h>

#include "alg.h"
#include "claims.h"
#include "conf.h"
#include "err.h"
#include "jwk.h"
#include "jws.h"
#include "keys.h"
#include "log.h"
#include "sig.h"
#include "verify.h"

#ifndef PJ_BENCH_SRCDIR
#define PJ_BENCH_SRCDIR "."
#endif
#ifndef PJ_BENCH_BUILDDIR
#define PJ_BENCH_BUILDDIR "."
#endif
#ifndef PJ_BENCH_PAMMODDIR
#define PJ_BENCH_PAMMODDIR "/lib/x86_64-linux-gnu/security"
#endif

#define ISS "https://issuer.test"
#define AUD "ssh://host1"
#define NEVER_URI "https://127.0.0.1:1/never"
#define NALG 4
#define MAXR 64

static const char *const alg_names[NALG] = {"RS256", "PS256", "ES256", "EdDSA"};
static const int alg_ids[NALG] = {PJ_ALG_RS256, PJ_ALG_PS256, PJ_ALG_ES256, PJ_ALG_EDDSA};
/* Targets (issue 7), on the median: (module - floor) / raw. EdDSA: below
 * the raw OpenSSL verify. */
static const double alg_target[NALG] = {2.0, 2.0, 1.5, 1.0};
#define TARGET_PROCESS 1.5
#define TARGET_RSS_KB 2048

struct stat3 {
	double med, min, max;
	int n;
};

struct opts {
	int rounds;
	double scale;
	int pamtester;
	int keep;
	const char *srcdir, *builddir, *user;
	const char *only;	/* NULL: everything; else a list of raw,steps,pam,process */
};

/* Everything the run learns, for the table and the JSON line. */
struct results {
	struct stat3 raw[NALG], raw_sodium;
	struct stat3 floor, floor_res;
	struct stat3 mod_file[NALG], mod_cache[NALG];
	int have_cache;
	/* pj_verify's steps */
	struct stat3 st_conf_file, st_conf_cache, st_keys_file, st_keys_cache, st_pw;
	struct stat3 st_jws[NALG], st_sig[NALG], st_claims[NALG];
	struct stat3 st_verify_file[NALG], st_verify_cache[NALG], st_lib_cache[NALG];
	/* per process */
	int have_pt;
	const char *pt_why;
	struct stat3 pt_permit, pt_jwt, pt_jwt_file, pt_rss_permit, pt_rss_jwt;
	struct stat3 load_mod, load_permit, first_mod, first_mod_ed, second_mod, first_permit, hwm_mod, hwm_permit;
	/* dlopen, one library after the other: time and peak RSS added */
	struct stat3 ld_t[4], ld_kb[4];
	int curl, resident;
};

/* ---------------------------------------------------------------- helpers */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static char *tmpdir;
static int keep_tmp;

static void
rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char p[4096];

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			rm_rf(p);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static void
cleanup(void)
{
	if (tmpdir != NULL && !keep_tmp)
		rm_rf(tmpdir);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pj_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	cleanup();
	exit(1);
}

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct stat3
summarize(const double *v, int n)
{
	struct stat3 s = {NAN, NAN, NAN, n};
	double w[MAXR * 4];

	if (n <= 0)
		return s;
	if (n > MAXR * 4)
		n = MAXR * 4;
	memcpy(w, v, (size_t)n * sizeof(*v));
	qsort(w, (size_t)n, sizeof(*w), cmp_double);
	s.min = w[0];
	s.max = w[n - 1];
	s.med = n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
	return s;
}

static char *
path2(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p == NULL)
		die("out of memory");
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		die("%s: %s", path, strerror(errno));
	if ((buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("%s: cannot read", path);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static void
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) != 0 || close(fd) != 0)
		die("%s: cannot write: %s", path, strerror(errno));
}

/* An argv of owned copies (execv wants char *const[]). */
struct av {
	char *v[64];
	int n;
};

static void
av_add(struct av *a, const char *s)
{
	if (a->n >= 63 || (a->v[a->n] = strdup(s)) == NULL)
		die("argv too long");
	a->v[++a->n] = NULL;
}

static void
av_free(struct av *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

/* Run argv; its stdout into *out (NUL-terminated, malloc'ed). Exit status. */
static int
run_capture(struct av *a, char **out)
{
	int p[2], st = 0;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	pid_t pid;
	ssize_t got;

	if (buf == NULL || pipe(p) != 0)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(a->v[0], a->v);
		fprintf(stderr, "pj_bench: %s: %s\n", a->v[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		if (n + 4096 > cap) {
			cap *= 2;
			if ((buf = realloc(buf, cap)) == NULL)
				die("out of memory");
		}
		got = read(p[0], buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int
want(const struct opts *o, const char *part)
{
	const char *p = o->only;
	size_t n = strlen(part);

	if (p == NULL)
		return 1;
	for (; (p = strstr(p, part)) != NULL; p += n)
		if ((p == o->only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

static int
iters(const struct opts *o, int base)
{
	int n = (int)(base * o->scale + 0.5);

	return n < 1 ? 1 : n;
}

/* ---------------------------------------------------------------- timing */

typedef int (*op_fn)(void *arg);

/* rounds x n calls of op; the mean per call of each round, in microseconds. */
static struct stat3
measure(const char *what, op_fn op, void *arg, int rounds, int n)
{
	double v[MAXR];

	for (int w = 0; w < n / 10 + 1; w++)
		if (op(arg) != 0)
			die("%s: the operation failed (warm-up)", what);
	for (int r = 0; r < rounds; r++) {
		long long t0 = now_ns();

		for (int i = 0; i < n; i++)
			if (op(arg) != 0)
				die("%s: the operation failed", what);
		v[r] = (double)(now_ns() - t0) / n / 1000.0;
	}
	return summarize(v, rounds);
}

/* ---------------------------------------------------------------- fixtures */

struct fixture {
	char *token[NALG];
	size_t toklen[NALG];
	size_t siglen_raw[NALG];	/* signing input length: up to the last '.' */
	uint8_t *sig[NALG];		/* as OpenSSL verifies it (ES256: DER) */
	size_t siglen[NALG];
	EVP_PKEY *pkey[NALG];
	uint8_t ed_pk[32];
	char *jwks;
	size_t jwkslen;
};

static void
load_fixture(const char *fix, struct fixture *f)
{
	char name[64], *p, *pem;
	size_t len;
	BIO *bio;

	for (int a = 0; a < NALG; a++) {
		snprintf(name, sizeof(name), "tok.%s", alg_names[a]);
		p = path2(fix, name);
		f->token[a] = read_file(p, &len);
		free(p);
		while (len > 0 && (f->token[a][len - 1] == '\n' || f->token[a][len - 1] == ' '))
			f->token[a][--len] = '\0';
		f->toklen[a] = len;
		f->siglen_raw[a] = (size_t)(strrchr(f->token[a], '.') - f->token[a]);
		snprintf(name, sizeof(name), "sig.%s.bin", alg_names[a]);
		p = path2(fix, name);
		f->sig[a] = (uint8_t *)read_file(p, &f->siglen[a]);
		free(p);
		snprintf(name, sizeof(name), "pub.%s.pem", alg_names[a]);
		p = path2(fix, name);
		pem = read_file(p, &len);
		free(p);
		if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
		    (f->pkey[a] = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL)
			die("%s: cannot read the public key", name);
		BIO_free(bio);
		free(pem);
	}
	p = path2(fix, "pub.EdDSA.raw");
	pem = read_file(p, &len);
	free(p);
	if (len != 32)
		die("pub.EdDSA.raw: not 32 octets");
	memcpy(f->ed_pk, pem, 32);
	free(pem);
	p = path2(fix, "jwks.json");
	f->jwks = read_file(p, &f->jwkslen);
	free(p);
}

/* ---------------------------------------------------------------- raw */

struct raw_arg {
	EVP_PKEY *pkey;
	int kind;	/* 0 RSA PKCS#1, 1 RSA-PSS, 2 ECDSA, 3 Ed25519 */
	const uint8_t *msg, *sig, *pk;
	size_t msglen, siglen;
};

static int
op_raw_evp(void *p)
{
	struct raw_arg *a = p;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestVerifyInit(ctx, &pctx, a->kind == 3 ? NULL : EVP_sha256(), NULL, a->pkey) == 1;
	if (ok && a->kind == 1)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
	ok = ok && EVP_DigestVerify(ctx, a->sig, a->siglen, a->msg, a->msglen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
op_raw_sodium(void *p)
{
	struct raw_arg *a = p;

	return crypto_sign_verify_detached(a->sig, a->msg, a->msglen, a->pk);
}

/* ---------------------------------------------------------------- library steps */

static const struct pj_log quiet_log = {NULL, 0, 1, NULL};

struct lib_arg {
	int argc;
	const char **argv;
	const struct pj_config *cfg;
	const struct pj_configs *set;
	const char *token, *user;
	size_t toklen;
	int alg;
	const struct pj_jwk *key;
	const uint8_t *msg, *sig;
	size_t msglen, siglen;
	const struct pj_jws *jws;
};

static int
op_conf(void *p)
{
	struct lib_arg *a = p;
	struct pj_configs *cfg = NULL;
	int r = pj_configs_load(a->argc, a->argv, PJ_CONF_MODULE, &quiet_log, &cfg);

	pj_configs_free(cfg);
	return r;
}

static int
op_verify(void *p)
{
	struct lib_arg *a = p;
	struct pj_result res;

	return pj_verify(a->set, &quiet_log, a->token, a->toklen, a->user, (int64_t)time(NULL), 0, &res);
}

/* What the module does per login, PAM aside: the options, then pj_verify. */
static int
op_lib(void *p)
{
	struct lib_arg *a = p;
	struct pj_configs *cfg = NULL;
	struct pj_result res;
	int r;

	if ((r = pj_configs_load(a->argc, a->argv, PJ_CONF_MODULE, &quiet_log, &cfg)) == 0)
		r = pj_verify(cfg, &quiet_log, a->token, a->toklen, a->user, (int64_t)time(NULL), 0, &res);
	pj_configs_free(cfg);
	return r;
}

static int
op_jws(void *p)
{
	struct lib_arg *a = p;
	struct pj_jws jws;
	int r;

	if ((r = pj_jws_parse(a->token, a->toklen, &jws)) == 0)
		r = pj_jws_check_header(&jws, PJ_ALG_DEFAULT);
	pj_jws_clear(&jws);
	return r;
}

static int
op_keys(void *p)
{
	struct lib_arg *a = p;
	struct pj_keys *k = NULL;
	const struct pj_jwks *set = NULL;
	int r;

	if ((r = pj_keys_open(a->cfg, &quiet_log, (int64_t)time(NULL), PJ_VERIFY_NO_FETCH, &k)) == 0)
		r = pj_keys_get(k, &set);
	pj_keys_close(k);
	return r;
}

static int
op_sig(void *p)
{
	struct lib_arg *a = p;

	return pj_sig_verify(a->alg, a->key, a->msg, a->msglen, a->sig, a->siglen);
}

static int
op_claims(void *p)
{
	struct lib_arg *a = p;
	int r;

	if ((r = pj_claims_check_time(a->jws->payload, (int64_t)time(NULL), a->cfg->leeway,
	    a->cfg->max_lifetime, NULL)) == 0 && (r = pj_claims_check_aud(a->jws->payload, a->cfg, NULL)) == 0 &&
	    (r = pj_claims_check_typ(a->jws->header, a->cfg, NULL)) == 0)
		r = pj_claims_check_policy(a->jws->payload, a->cfg, NULL);
	return r;
}

static int
op_pw(void *p)
{
	struct lib_arg *a = p;
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	return getpwnam_r(a->user, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL ? 0 : -1;
}

/* ---------------------------------------------------------------- setup */

/* The module arguments of a service line, split as libpam splits them. */
struct modargs {
	char *line;		/* "issuer=... audience=... ..." */
	const char *argv[16];
	int argc;
};

static void
modargs_init(struct modargs *m, const char *fmt, ...)
{
	va_list ap;
	char *s, *save = NULL;

	va_start(ap, fmt);
	if (vasprintf(&m->line, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	if ((s = strdup(m->line)) == NULL)
		die("out of memory");
	m->argc = 0;
	for (char *t = strtok_r(s, " ", &save); t != NULL && m->argc < 15; t = strtok_r(NULL, " ", &save))
		m->argv[m->argc++] = t;
	m->argv[m->argc] = NULL;
}

static const char *
find_pam_permit(void)
{
	static const char *const dirs[] = {
		PJ_BENCH_PAMMODDIR, "/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
		"/lib/security", "/usr/lib/security", "/lib64/security", "/usr/lib64/security",
	};
	static char path[4096];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/pam_permit.so", dirs[i]);
		if (access(path, R_OK) == 0)
			return path;
	}
	die("pam_permit.so not found");
}

static const char *
find_exe(const char *name)
{
	static char path[4096];
	const char *env = getenv("PATH");
	char *dup, *save = NULL;

	if ((dup = strdup(env != NULL ? env : "/usr/bin:/bin")) == NULL)
		return NULL;
	for (char *d = strtok_r(dup, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", d, name);
		if (access(path, X_OK) == 0) {
			free(dup);
			return path;
		}
	}
	free(dup);
	snprintf(path, sizeof(path), "/usr/bin/%s", name);
	return access(path, X_OK) == 0 ? path : NULL;
}

/* The warm cache of NEVER_URI (pam_jwt(8), The cache): <hash>.jwks and a .meta
 * fresh for a day, so no login fetches. */
static void
fill_cache(const char *cachedir, const struct fixture *f)
{
	static const char src[] = "jwks_uri=" NEVER_URI "\n-";
	unsigned char h[32];
	char hex[65], name[128], meta[256], *p;
	long long now = (long long)time(NULL);

	crypto_generichash(h, sizeof(h), (const unsigned char *)src, sizeof(src) - 1, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(name, sizeof(name), "%s.jwks", hex);
	p = path2(cachedir, name);
	write_file(p, f->jwks, f->jwkslen, 0644);
	free(p);
	snprintf(meta, sizeof(meta), "attempt_at=%lld\nattempt_cause=empty\nfetched=%lld\nfresh_until=%lld\n",
	    now, now, now + 86400);
	snprintf(name, sizeof(name), "%s.meta", hex);
	p = path2(cachedir, name);
	write_file(p, meta, strlen(meta), 0644);
	free(p);
}

static void
write_service(const char *confdir, const char *name, const char *line)
{
	char *p = path2(confdir, name), *text;

	if (asprintf(&text, "%s\n", line) < 0)
		die("out of memory");
	write_file(p, text, strlen(text), 0644);
	free(text);
	free(p);
}

/* ---------------------------------------------------------------- PAM loops */

struct env {
	const struct opts *o;
	char *fix, *confdir, *cachedir;
	char *module, *loop;
	const char *permit;
	struct modargs file_args, cache_args;
};

static int
find_label(char labels[][32], int nl, const char *l)
{
	for (int i = 0; i < nl; i++)
		if (strcmp(labels[i], l) == 0)
			return i;
	return -1;
}

/* One pj_loop process; its per-round means into v[label][round]. */
static void
loop_once(const struct env *e, int iters_n, int pin, char labels[][32], int nl, double v[][MAXR],
    int *count)
{
	struct av a = {{NULL}, 0};
	char buf[64], *out = NULL, *line, *save = NULL, *tok;
	int rc;

	av_add(&a, e->loop);
	av_add(&a, "loop");
	av_add(&a, e->confdir);
	av_add(&a, e->o->user);
	av_add(&a, "20");
	av_add(&a, "1");
	snprintf(buf, sizeof(buf), "%d", iters_n);
	av_add(&a, buf);
	if (pin) {
		char *pp;

		if (asprintf(&pp, "pin=%s", e->permit) < 0)
			die("out of memory");
		av_add(&a, pp);
		free(pp);
		av_add(&a, "floor_res:permit:-");
	} else {
		av_add(&a, "floor:permit:-");
		for (int i = 0; i < NALG; i++) {
			char *c;

			if (asprintf(&c, "file.%s:jwt-file:%s/tok.%s", alg_names[i], e->fix, alg_names[i]) < 0)
				die("out of memory");
			av_add(&a, c);
			free(c);
			if (asprintf(&c, "cache.%s:jwt-cache:%s/tok.%s", alg_names[i], e->fix, alg_names[i]) < 0)
				die("out of memory");
			av_add(&a, c);
			free(c);
		}
	}
	rc = run_capture(&a, &out);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *s2 = NULL;

		if (strncmp(line, "FAIL ", 5) == 0)
			die("pj_loop: a login failed: %s (PAM code; see the journal or run with debug)", line + 5);
		if (strncmp(line, "ROUND ", 6) != 0)
			continue;
		tok = strtok_r(line + 6, " ", &s2);
		if (tok == NULL)
			continue;
		{
			int li = find_label(labels, nl, tok);
			char *num;

			(void)strtok_r(NULL, " ", &s2);
			num = strtok_r(NULL, " ", &s2);
			if (li >= 0 && num != NULL && count[li] < MAXR)
				v[li][count[li]++] = strtod(num, NULL) / 1000.0;
		}
	}
	if (rc != 0)
		die("pj_loop exited with %d", rc);
	free(out);
	av_free(&a);
}

static void
pam_loops(const struct env *e, struct results *res)
{
	char labels[2 + 2 * NALG][32];
	double (*v)[MAXR] = calloc(2 + 2 * NALG, sizeof(*v));
	int count[2 + 2 * NALG] = {0}, nl = 0, n = iters(e->o, 400);

	if (v == NULL)
		die("out of memory");
	snprintf(labels[nl++], 32, "floor");
	snprintf(labels[nl++], 32, "floor_res");
	for (int i = 0; i < NALG; i++) {
		snprintf(labels[nl++], 32, "file.%s", alg_names[i]);
		snprintf(labels[nl++], 32, "cache.%s", alg_names[i]);
	}
	/* One process per round and kind, alternating, so that drift and
	 * process-level noise fall on both sides alike. */
	for (int r = 0; r < e->o->rounds; r++) {
		fprintf(stderr, "\rpj_bench: PAM loops, round %d/%d ", r + 1, e->o->rounds);
		loop_once(e, n, 0, labels, nl, v, count);
		loop_once(e, n, 1, labels, nl, v, count);
	}
	fputc('\n', stderr);
	res->floor = summarize(v[0], count[0]);
	res->floor_res = summarize(v[1], count[1]);
	for (int i = 0; i < NALG; i++) {
		res->mod_file[i] = summarize(v[2 + 2 * i], count[2 + 2 * i]);
		res->mod_cache[i] = summarize(v[3 + 2 * i], count[3 + 2 * i]);
	}
	free(v);
}

/* ---------------------------------------------------------------- per process */

/* The file a symbol was loaded from. */
static const char *
lib_of(const void *sym)
{
	Dl_info di;

	return dladdr(sym, &di) != 0 && di.dli_fname != NULL ? di.dli_fname : NULL;
}

static const char *const ld_names[4] = {"libcrypto", "libsodium", "libcjson", "pam_jwt.so itself"};

/* Fresh pj_loop processes: the module's load and first logins (RS256,
 * which calls OpenSSL, and EdDSA, which does not), pam_permit's, and the
 * load of each library on its own. */
static void
cold_runs(const struct env *e, struct results *res)
{
	enum { M_RS, M_ED, M_PERMIT, M_LOAD, M_N };
	int k = e->o->rounds * 3;
	double load[M_N][MAXR * 4], first[M_N][MAXR * 4], second[MAXR * 4], hwm[M_N][MAXR * 4];
	double ldt[4][MAXR * 4], ldk[4][MAXR * 4];
	const char *libs[4] = {lib_of((const void *)EVP_DigestVerify), lib_of((const void *)sodium_init),
		lib_of((const void *)cJSON_Parse), e->module};
	int n = 0;

	if (k > MAXR * 4)
		k = MAXR * 4;
	res->curl = 0;
	res->resident = 1;
	for (int i = 0; i < k; i++, n++) {
		for (int m = 0; m < M_N; m++) {
			struct av a = {{NULL}, 0};
			char *out = NULL, *tp;
			long long l = 0, f1 = 0, f2 = 0;
			int curl = 0, resident = 0;
			long kb = 0;

			av_add(&a, e->loop);
			if (m == M_LOAD) {
				av_add(&a, "load");
				for (int j = 0; j < 4; j++)
					av_add(&a, libs[j] != NULL ? libs[j] : "libc.so.6");
			} else {
				av_add(&a, "cold");
				av_add(&a, e->confdir);
				av_add(&a, e->o->user);
				av_add(&a, m == M_PERMIT ? "permit" : "jwt-cache");
				if (asprintf(&tp, "%s/tok.%s", e->fix, m == M_ED ? "EdDSA" : "RS256") < 0)
					die("out of memory");
				av_add(&a, m == M_PERMIT ? "-" : tp);
				free(tp);
				av_add(&a, m == M_PERMIT ? e->permit : e->module);
			}
			if (run_capture(&a, &out) != 0)
				die("pj_loop %s: %s", a.v[1], out != NULL ? out : "no output");
			if (m == M_LOAD) {
				char *line, *save = NULL;
				long base = 0;
				int j = 0;

				for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
					char path[4096];

					if (sscanf(line, "BASE %ld", &base) == 1)
						continue;
					if (j < 4 && sscanf(line, "LOAD %4095s %lld %ld", path, &l, &kb) == 3) {
						ldt[j][n] = l / 1000.0;
						/* a running total: each share is taken below */
						ldk[j][n] = (double)(kb - base);
						j++;
					}
				}
				if (j != 4)
					die("pj_loop load: %s", out);
			} else {
				if ((tp = strstr(out, "COLD ")) == NULL ||
				    sscanf(tp, "COLD %lld %lld %lld %d %ld %d", &l, &f1, &f2, &curl, &kb, &resident) != 6)
					die("pj_loop cold: %s", out);
				load[m][n] = l / 1000.0;
				first[m][n] = f1 / 1000.0;
				hwm[m][n] = (double)kb;
				if (m == M_RS) {
					second[n] = f2 / 1000.0;
					res->curl |= curl != 0;
					res->resident &= resident != 0;
				}
			}
			free(out);
			av_free(&a);
		}
	}
	res->load_mod = summarize(load[M_RS], n);
	res->first_mod = summarize(first[M_RS], n);
	res->first_mod_ed = summarize(first[M_ED], n);
	res->second_mod = summarize(second, n);
	res->hwm_mod = summarize(hwm[M_RS], n);
	res->load_permit = summarize(load[M_PERMIT], n);
	res->first_permit = summarize(first[M_PERMIT], n);
	res->hwm_permit = summarize(hwm[M_PERMIT], n);
	for (int j = 0; j < 4; j++) {
		/* From running totals to each library's own share. */
		double d[MAXR * 4];

		for (int i = 0; i < n; i++)
			d[i] = ldk[j][i] - (j > 0 ? ldk[j - 1][i] : 0);
		res->ld_t[j] = summarize(ldt[j], n);
		res->ld_kb[j] = summarize(d, n);
	}
}

/* A private mount namespace with confdir over /etc/pam.d: pamtester reads
 * no other folder, and the host's stays untouched. */
static const char *
enter_pam_namespace(const char *confdir)
{
	if (unshare(CLONE_NEWNS) != 0) {
		uid_t uid = geteuid();
		gid_t gid = getegid();
		char m[64];
		int fd;

		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
			return "cannot make a private mount namespace (needs root or user namespaces)";
		if ((fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
			(void)!write(fd, "deny", 4);
			close(fd);
		}
		snprintf(m, sizeof(m), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		if ((fd = open("/proc/self/uid_map", O_WRONLY)) < 0 || write(fd, m, strlen(m)) < 0)
			return "cannot map the user in a user namespace";
		close(fd);
		snprintf(m, sizeof(m), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		if ((fd = open("/proc/self/gid_map", O_WRONLY)) < 0 || write(fd, m, strlen(m)) < 0)
			return "cannot map the group in a user namespace";
		close(fd);
	}
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return "cannot make / private in the mount namespace";
	if (mount(confdir, "/etc/pam.d", NULL, MS_BIND, NULL) != 0)
		return "cannot bind the service folder over /etc/pam.d";
	return NULL;
}

/* One pamtester run: wall nanoseconds and peak RSS (KiB); 0 on success. */
static int
pamtester_once(const char *pt, const char *service, const char *user, const char *token,
    double *us, double *rss_kb)
{
	struct av a = {{NULL}, 0};
	struct rusage ru;
	long long t0, t1;
	int in[2], st = 0, devnull;
	pid_t pid;

	av_add(&a, pt);
	av_add(&a, service);
	av_add(&a, user);
	av_add(&a, "authenticate");
	if (pipe(in) != 0)
		return -1;
	t0 = now_ns();
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(in[0], 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(in[0]);
		close(in[1]);
		execv(a.v[0], a.v);
		_exit(127);
	}
	close(in[0]);
	if (token != NULL) {
		(void)!write(in[1], token, strlen(token));
		(void)!write(in[1], "\n", 1);
	}
	close(in[1]);
	while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	t1 = now_ns();
	av_free(&a);
	*us = (double)(t1 - t0) / 1000.0;
	*rss_kb = (double)ru.ru_maxrss;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* In a child (the namespace is its own): N runs of each, alternating;
 * lines "PT kind us rss" back through a pipe. */
static void
pamtester_runs(const struct env *e, const struct fixture *f, struct results *res)
{
	const char *pt = find_exe("pamtester"), *why;
	int n = e->o->rounds * 5, p[2], st = 0;
	double v[3][MAXR * 4], rss[3][MAXR * 4];
	int cnt[3] = {0, 0, 0};
	char *out = NULL, *line, *save = NULL;
	size_t cap = 1 << 20, len = 0;
	pid_t pid;
	ssize_t got;

	res->have_pt = 0;
	if (!e->o->pamtester) {
		res->pt_why = "skipped (--no-pamtester)";
		return;
	}
	if (pt == NULL) {
		res->pt_why = "pamtester not installed (Debian package pamtester)";
		return;
	}
	if (n > MAXR * 4)
		n = MAXR * 4;
	if (pipe(p) != 0 || (out = malloc(cap)) == NULL)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		FILE *w;

		close(p[0]);
		w = fdopen(p[1], "w");
		if ((why = enter_pam_namespace(e->confdir)) != NULL) {
			fprintf(w, "SKIP %s\n", why);
			fclose(w);
			_exit(0);
		}
		for (int i = 0; i < n + 2; i++) {
			static const char *const svc[3] = {"permit", "jwt-cache", "jwt-file"};

			for (int k = 0; k < 3; k++) {
				double us, kb;

				if (pamtester_once(pt, svc[k], e->o->user, k == 0 ? NULL : f->token[0], &us, &kb) != 0) {
					fprintf(w, "FAIL %s\n", svc[k]);
					fclose(w);
					_exit(1);
				}
				if (i >= 2)	/* two warm-up runs: the page cache */
					fprintf(w, "PT %d %.1f %.0f\n", k, us, kb);
			}
		}
		fclose(w);
		_exit(0);
	}
	close(p[1]);
	while ((got = read(p[0], out + len, cap - len - 1)) > 0 || (got < 0 && errno == EINTR))
		if (got > 0)
			len += (size_t)got;
	out[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		int k;
		double us, kb;

		if (strncmp(line, "SKIP ", 5) == 0) {
			res->pt_why = strdup(line + 5);
			free(out);
			return;
		}
		if (strncmp(line, "FAIL ", 5) == 0)
			die("pamtester failed for service %s", line + 5);
		if (sscanf(line, "PT %d %lf %lf", &k, &us, &kb) == 3 && k >= 0 && k < 3 && cnt[k] < MAXR * 4) {
			v[k][cnt[k]] = us;
			rss[k][cnt[k]++] = kb;
		}
	}
	/* No SKIP: the runner must have run to its end, or the figures are partial. */
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the pamtester runner died before its end");
	free(out);
	res->pt_permit = summarize(v[0], cnt[0]);
	res->pt_jwt = summarize(v[1], cnt[1]);
	res->pt_jwt_file = summarize(v[2], cnt[2]);
	res->pt_rss_permit = summarize(rss[0], cnt[0]);
	res->pt_rss_jwt = summarize(rss[1], cnt[1]);
	res->have_pt = cnt[0] > 0 && cnt[1] > 0;
	if (!res->have_pt)
		res->pt_why = "no pamtester result";
}

/* ---------------------------------------------------------------- report */

static double
ratio(struct stat3 m, struct stat3 fl, struct stat3 raw)
{
	return (m.med - fl.med) / raw.med;
}

/* A ratio is judged only when all its parts ran (--only skips some). */
static int
measured(struct stat3 m, struct stat3 fl, struct stat3 raw)
{
	return m.n > 0 && fl.n > 0 && raw.n > 0;
}

static void
json_ratio(FILE *o, const char *name, struct stat3 m, struct stat3 fl, struct stat3 raw)
{
	if (measured(m, fl, raw))
		fprintf(o, "\"%s\":%.3f,", name, ratio(m, fl, raw));
	else
		fprintf(o, "\"%s\":null,", name);
}

static const char *
fmt3(char *buf, size_t cap, struct stat3 s)
{
	snprintf(buf, cap, "%7.1f [%.1f..%.1f]", s.med, s.min, s.max);
	return buf;
}

static void
json_stat(FILE *o, const char *name, struct stat3 s, int comma)
{
	if (s.n == 0)	/* not measured (--only) */
		fprintf(o, "\"%s\":null%s", name, comma ? "," : "");
	else
		fprintf(o, "\"%s\":{\"med\":%.2f,\"min\":%.2f,\"max\":%.2f}%s", name, s.med, s.min,
		    s.max, comma ? "," : "");
}

/* EdDSA: below the raw verify; the others: at most the target. */
static int
target_met(int alg, double ratio_v)
{
	return alg == 3 ? ratio_v < alg_target[alg] : ratio_v <= alg_target[alg];
}

static void
report(const struct opts *o, const struct results *r)
{
	char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64], when[64];
	struct utsname un;
	time_t t = time(NULL);
	int met_all = 1, strict_all = 1, partial = 0;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&t));
	uname(&un);
	printf("\npam_jwt benchmark, %s, %s %s, %s, libsodium %s; %d rounds\n", when, un.sysname, un.release,
	    OpenSSL_version(OPENSSL_VERSION), sodium_version_string(), o->rounds);
	printf("Figures: median of the round means [min..max of them], microseconds per operation.\n");
	printf("Keys: a 5-key JWKS (3 RSA-2048, P-256, Ed25519) from jwks_file=, and from a warm cache\n"
	    "(jwks_uri=, .jwks + a fresh .meta under cache_dir: no fetch). User %s.\n\n", o->user);

	printf("Per login, in one long-lived process (pj_loop: libpam only; pam_start_confdir,\n"
	    "pam_authenticate, pam_end each time)\n");
	printf("  floor   pam_permit.so, loaded per handle (libpam's way)  %s\n", fmt3(b1, sizeof(b1), r->floor));
	printf("  floor'  pam_permit.so kept resident (libpam alone)       %s\n\n", fmt3(b1, sizeof(b1), r->floor_res));
	printf("  alg     raw verify               module, jwks_file        module, cache            "
	    "ratio file  cache  target         strict file  cache\n");
	for (int i = 0; i < NALG; i++) {
		double rf = ratio(r->mod_file[i], r->floor, r->raw[i]), rc = ratio(r->mod_cache[i], r->floor, r->raw[i]);
		double sf = ratio(r->mod_file[i], r->floor_res, r->raw[i]), sc = ratio(r->mod_cache[i], r->floor_res, r->raw[i]);
		int met = target_met(i, fmax(rf, rc)), smet = target_met(i, fmax(sf, sc));

		if (!measured(r->mod_file[i], r->floor, r->raw[i]) ||
		    !measured(r->mod_cache[i], r->floor_res, r->raw[i])) {
			printf("  %-6s  not measured in full (--only)\n", alg_names[i]);
			partial = 1;
			continue;
		}
		printf("  %-6s  %-23s  %-23s  %-23s  %5.2f  %5.2f   %-2s %.1f %-6s  %5.2f  %5.2f  %s\n", alg_names[i],
		    fmt3(b1, sizeof(b1), r->raw[i]), fmt3(b2, sizeof(b2), r->mod_file[i]),
		    fmt3(b3, sizeof(b3), r->mod_cache[i]), rf, rc, i == 3 ? "<" : "<=", alg_target[i],
		    met ? "met" : "MISSED", sf, sc, smet ? "met" : "missed");
		met_all &= met;
		strict_all &= smet;
	}
	printf("  (EdDSA raw is OpenSSL's; libsodium's, which the module uses: %s)\n",
	    fmt3(b1, sizeof(b1), r->raw_sodium));
	printf("  ratio = (module - floor) / raw, the targets' definition; strict = (module - floor') / raw,\n"
	    "  what the module costs over libpam alone. Worse of jwks_file and cache judged.\n\n");

	printf("Where the time goes: pj_verify's steps on their own, in this process\n");
	printf("  options (parse + checks), jwks_file config  %s\n", fmt3(b1, sizeof(b1), r->st_conf_file));
	printf("  options (parse + checks), cache config      %s\n", fmt3(b1, sizeof(b1), r->st_conf_cache));
	printf("  keys: jwks_file read + JWKS parse           %s\n", fmt3(b1, sizeof(b1), r->st_keys_file));
	printf("  keys: cache .meta + .jwks read + parse      %s\n", fmt3(b1, sizeof(b1), r->st_keys_cache));
	printf("  getpwnam_r (%s)                           %s\n", o->user, fmt3(b1, sizeof(b1), r->st_pw));
	printf("  alg     token parse           signature (import+verify)  claims             pj_verify file          pj_verify cache         options+pj_verify cache\n");
	for (int i = 0; i < NALG; i++)
		printf("  %-6s  %-20s  %-25s  %-17s  %-22s  %-22s  %s\n", alg_names[i],
		    fmt3(b1, sizeof(b1), r->st_jws[i]), fmt3(b2, sizeof(b2), r->st_sig[i]),
		    fmt3(b3, sizeof(b3), r->st_claims[i]), fmt3(b4, sizeof(b4), r->st_verify_file[i]),
		    fmt3(b5, sizeof(b5), r->st_verify_cache[i]), fmt3(b6, sizeof(b6), r->st_lib_cache[i]));
	printf("  PAM side of the module (module cache - floor' - options+pj_verify cache):");
	for (int i = 0; i < NALG; i++)
		printf(" %s %.1f", alg_names[i], r->mod_cache[i].med - r->floor_res.med - r->st_lib_cache[i].med);
	printf("\n\n");

	printf("Per process\n");
	printf("  module load, dlopen in a fresh process: pam_jwt.so %.2f ms [%.2f..%.2f], pam_permit.so %.2f ms\n",
	    r->load_mod.med / 1000, r->load_mod.min / 1000, r->load_mod.max / 1000, r->load_permit.med / 1000);
	printf("    of which, one library after the other:");
	for (int j = 0; j < 4; j++)
		printf("%s %s %.2f ms +%.0f KiB", j ? "," : "", ld_names[j], r->ld_t[j].med / 1000, r->ld_kb[j].med);
	printf("\n");
	printf("  first login after the load: pam_jwt RS256 %.2f ms, EdDSA %.2f ms (no OpenSSL call: the\n"
	    "    difference is OpenSSL's first use), second login %.3f ms; pam_permit %.3f ms\n",
	    r->first_mod.med / 1000, r->first_mod_ed.med / 1000, r->second_mod.med / 1000, r->first_permit.med / 1000);
	printf("  peak RSS of that process: pam_jwt %.0f KiB, pam_permit %.0f KiB\n", r->hwm_mod.med, r->hwm_permit.med);
	if (r->load_mod.n > 0) {
		printf("  resident after dlclose (-z nodelete): %s; libcurl mapped: %s (target: no)\n",
		    r->resident ? "yes" : "no", r->curl ? "YES" : "no");
		met_all &= !r->curl;
	} else
		partial = 1;
	if (r->have_pt) {
		double pr = r->pt_jwt.med / r->pt_permit.med, dr = r->pt_rss_jwt.med - r->pt_rss_permit.med;

		printf("  pamtester SERVICE %s authenticate, whole run (ms) and peak RSS (KiB), %d runs each:\n",
		    o->user, r->pt_permit.n);
		printf("    pam_permit              %.2f [%.2f..%.2f]   %6.0f\n", r->pt_permit.med / 1000,
		    r->pt_permit.min / 1000, r->pt_permit.max / 1000, r->pt_rss_permit.med);
		printf("    pam_jwt, cache, RS256   %.2f [%.2f..%.2f]   %6.0f\n", r->pt_jwt.med / 1000,
		    r->pt_jwt.min / 1000, r->pt_jwt.max / 1000, r->pt_rss_jwt.med);
		printf("    pam_jwt, jwks_file      %.2f [%.2f..%.2f]\n", r->pt_jwt_file.med / 1000,
		    r->pt_jwt_file.min / 1000, r->pt_jwt_file.max / 1000);
		printf("    ratio %.2f (target <= %.1f: %s); RSS +%.0f KiB (target <= %d: %s)\n", pr, TARGET_PROCESS,
		    pr <= TARGET_PROCESS ? "met" : "MISSED", dr, TARGET_RSS_KB, dr <= TARGET_RSS_KB ? "met" : "MISSED");
		met_all &= pr <= TARGET_PROCESS && dr <= TARGET_RSS_KB;
	} else {
		printf("  pamtester: %s\n", r->pt_why != NULL ? r->pt_why : "not run");
		partial = 1;
	}
	if (partial)
		printf("\nTargets: not judged: part of the benchmark did not run\n");
	else
		printf("\nTargets: %s; per login against the strict floor: %s\n",
		    met_all ? "all met" : "some MISSED (see above)", strict_all ? "all met" : "some missed");

	/* One line for scripts. */
	printf("{\"pam_jwt_bench\":1,\"time\":%lld,\"rounds\":%d,\"openssl\":\"%s\",\"sodium\":\"%s\",",
	    (long long)t, o->rounds, OpenSSL_version(OPENSSL_VERSION), sodium_version_string());
	printf("\"unit\":\"us\",");
	json_stat(stdout, "floor", r->floor, 1);
	json_stat(stdout, "floor_resident", r->floor_res, 1);
	printf("\"algs\":{");
	for (int i = 0; i < NALG; i++) {
		printf("\"%s\":{", alg_names[i]);
		json_stat(stdout, "raw", r->raw[i], 1);
		if (i == 3)
			json_stat(stdout, "raw_sodium", r->raw_sodium, 1);
		json_stat(stdout, "module_file", r->mod_file[i], 1);
		json_stat(stdout, "module_cache", r->mod_cache[i], 1);
		json_stat(stdout, "step_token", r->st_jws[i], 1);
		json_stat(stdout, "step_signature", r->st_sig[i], 1);
		json_stat(stdout, "step_claims", r->st_claims[i], 1);
		json_stat(stdout, "pj_verify_file", r->st_verify_file[i], 1);
		json_stat(stdout, "pj_verify_cache", r->st_verify_cache[i], 1);
		json_stat(stdout, "options_and_pj_verify_cache", r->st_lib_cache[i], 1);
		json_ratio(stdout, "ratio_file", r->mod_file[i], r->floor, r->raw[i]);
		json_ratio(stdout, "ratio_cache", r->mod_cache[i], r->floor, r->raw[i]);
		json_ratio(stdout, "strict_ratio_file", r->mod_file[i], r->floor_res, r->raw[i]);
		json_ratio(stdout, "strict_ratio_cache", r->mod_cache[i], r->floor_res, r->raw[i]);
		printf("\"target\":%.1f}%s", alg_target[i], i + 1 < NALG ? "," : "},");
	}
	json_stat(stdout, "step_options_file", r->st_conf_file, 1);
	json_stat(stdout, "step_options_cache", r->st_conf_cache, 1);
	json_stat(stdout, "step_keys_file", r->st_keys_file, 1);
	json_stat(stdout, "step_keys_cache", r->st_keys_cache, 1);
	json_stat(stdout, "step_getpwnam", r->st_pw, 1);
	printf("\"process\":{");
	json_stat(stdout, "load_module", r->load_mod, 1);
	json_stat(stdout, "load_permit", r->load_permit, 1);
	json_stat(stdout, "first_login_module", r->first_mod, 1);
	json_stat(stdout, "first_login_module_eddsa", r->first_mod_ed, 1);
	json_stat(stdout, "load_libcrypto", r->ld_t[0], 1);
	json_stat(stdout, "load_libsodium", r->ld_t[1], 1);
	json_stat(stdout, "load_libcjson", r->ld_t[2], 1);
	json_stat(stdout, "load_module_itself", r->ld_t[3], 1);
	json_stat(stdout, "rss_kb_libcrypto", r->ld_kb[0], 1);
	json_stat(stdout, "rss_kb_libsodium", r->ld_kb[1], 1);
	json_stat(stdout, "rss_kb_libcjson", r->ld_kb[2], 1);
	json_stat(stdout, "rss_kb_module_itself", r->ld_kb[3], 1);
	json_stat(stdout, "hwm_kb_cold_module", r->hwm_mod, 1);
	json_stat(stdout, "hwm_kb_cold_permit", r->hwm_permit, 1);
	json_stat(stdout, "second_login_module", r->second_mod, 1);
	json_stat(stdout, "first_login_permit", r->first_permit, 1);
	printf("\"resident\":%s,\"libcurl\":%s", r->resident ? "true" : "false", r->curl ? "true" : "false");
	if (r->have_pt) {
		printf(",");
		json_stat(stdout, "pamtester_permit", r->pt_permit, 1);
		json_stat(stdout, "pamtester_jwt_cache", r->pt_jwt, 1);
		json_stat(stdout, "pamtester_jwt_file", r->pt_jwt_file, 1);
		json_stat(stdout, "maxrss_kb_permit", r->pt_rss_permit, 1);
		json_stat(stdout, "maxrss_kb_jwt", r->pt_rss_jwt, 1);
		printf("\"ratio\":%.3f,\"rss_delta_kb\":%.0f", r->pt_jwt.med / r->pt_permit.med,
		    r->pt_rss_jwt.med - r->pt_rss_permit.med);
	} else
		printf(",\"pamtester\":\"%s\"", r->pt_why != NULL ? r->pt_why : "not run");
	printf("},\"targets_met\":%s,\"strict_login_targets_met\":%s}\n",
	    partial ? "null" : met_all ? "true" : "false", partial ? "null" : strict_all ? "true" : "false");
}

/* ---------------------------------------------------------------- main */

static void
usage(void)
{
	fprintf(stderr, "usage: pj_bench [--rounds N] [--scale X] [--user NAME] [--no-pamtester] [--keep]\n"
	    "                [--only raw,steps,pam,process] [--srcdir DIR] [--builddir DIR]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct opts o = {7, 1.0, 1, 0, PJ_BENCH_SRCDIR, PJ_BENCH_BUILDDIR, NULL, NULL};
	struct fixture f;
	struct results res;
	struct env e;
	struct av a = {{NULL}, 0};
	char *out = NULL, *setup;
	struct passwd *pw;
	int n;

	memset(&f, 0, sizeof(f));
	memset(&res, 0, sizeof(res));
	memset(&e, 0, sizeof(e));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			o.rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
			o.scale = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			o.user = argv[++i];
		else if (strcmp(argv[i], "--srcdir") == 0 && i + 1 < argc)
			o.srcdir = argv[++i];
		else if (strcmp(argv[i], "--builddir") == 0 && i + 1 < argc)
			o.builddir = argv[++i];
		else if (strcmp(argv[i], "--no-pamtester") == 0)
			o.pamtester = 0;
		else if (strcmp(argv[i], "--keep") == 0)
			o.keep = 1;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			o.only = argv[++i];
		else
			usage();
	}
	if (o.rounds < 3 || o.rounds > MAXR || !(o.scale > 0))
		usage();
	if (o.user == NULL) {
		/* uid 0 is reached only by a literal map rule: as root, log in
		 * as bin, an account every Debian has. */
		if ((pw = getpwuid(geteuid() == 0 ? 2 : geteuid())) == NULL)
			die("who am I?");
		o.user = strdup(pw->pw_name);
	}
	if (sodium_init() < 0)
		die("sodium_init failed");
	keep_tmp = o.keep;
	e.o = &o;

	/* A private folder: 0700, owned by us, as the module's file rule wants. */
	{
		char tmpl[] = "/tmp/pj-bench-XXXXXX";

		if (mkdtemp(tmpl) == NULL)
			die("mkdtemp: %s", strerror(errno));
		tmpdir = strdup(tmpl);
	}
	e.fix = path2(tmpdir, "fix");
	e.confdir = path2(tmpdir, "pam.d");
	e.cachedir = path2(tmpdir, "cache");
	if (mkdir(e.fix, 0755) != 0 || mkdir(e.confdir, 0755) != 0 || mkdir(e.cachedir, 0755) != 0 ||
	    chmod(e.cachedir, 0755) != 0 || chmod(e.confdir, 0755) != 0)
		die("mkdir: %s", strerror(errno));
	e.module = path2(o.builddir, "src/.libs/pam_jwt.so");
	e.loop = path2(o.builddir, "bench/pj_loop");
	e.permit = find_pam_permit();
	if (access(e.module, R_OK) != 0 || access(e.loop, X_OK) != 0)
		die("build first: %s and %s (make bench)", e.module, e.loop);

	fprintf(stderr, "pj_bench: keys and tokens (python3-jwcrypto) in %s\n", tmpdir);
	setup = path2(o.srcdir, "bench/setup.py");
	av_add(&a, "/usr/bin/python3");
	av_add(&a, setup);
	av_add(&a, e.fix);
	av_add(&a, o.user);
	if (run_capture(&a, &out) != 0)
		die("bench/setup.py failed (needs /usr/bin/python3 with python3-jwcrypto)");
	free(out);
	av_free(&a);
	free(setup);
	load_fixture(e.fix, &f);
	fill_cache(e.cachedir, &f);
	{
		char *jwks = path2(e.fix, "jwks.json");
		char *helper = path2(o.builddir, "src/pam_jwt_fetch");

		/* A login that may fetch needs a trusted fetch_helper (never run:
		 * the cache is fresh). */
		modargs_init(&e.file_args, "issuer=%s audience=%s jwks_file=%s", ISS, AUD, jwks);
		modargs_init(&e.cache_args, "issuer=%s audience=%s jwks_uri=%s cache_dir=%s fetch_helper=%s", ISS,
		    AUD, NEVER_URI, e.cachedir, helper);
		free(helper);
		free(jwks);
	}
	{
		char *line;

		write_service(e.confdir, "permit", "auth required pam_permit.so");
		if (asprintf(&line, "auth required %s %s", e.module, e.file_args.line) < 0)
			die("out of memory");
		write_service(e.confdir, "jwt-file", line);
		free(line);
		if (asprintf(&line, "auth required %s %s", e.module, e.cache_args.line) < 0)
			die("out of memory");
		write_service(e.confdir, "jwt-cache", line);
		free(line);
	}

	/* Raw: a bare verify with a ready key. */
	fprintf(stderr, "pj_bench: raw verify\n");
	n = iters(&o, 2000);
	for (int i = 0; i < NALG && want(&o, "raw"); i++) {
		struct raw_arg ra = {f.pkey[i], i,
			(const uint8_t *)f.token[i], f.sig[i], NULL, f.siglen_raw[i], f.siglen[i]};

		res.raw[i] = measure(alg_names[i], op_raw_evp, &ra, o.rounds, n);
		if (i == 3) {
			ra.pk = f.ed_pk;
			res.raw_sodium = measure("EdDSA (libsodium)", op_raw_sodium, &ra, o.rounds, n);
		}
	}

	/* pj_verify's steps. */
	fprintf(stderr, "pj_bench: pj_verify's steps\n");
	if (want(&o, "steps")) {
		struct pj_configs *cf = NULL, *cc = NULL;
		struct lib_arg la;
		const struct pj_jwks *set = NULL;
		struct pj_keys *k = NULL;
		int nn = iters(&o, 1000);

		if (pj_configs_load(e.file_args.argc, e.file_args.argv, PJ_CONF_MODULE, &quiet_log, &cf) != 0 ||
		    pj_configs_load(e.cache_args.argc, e.cache_args.argv, PJ_CONF_MODULE, &quiet_log, &cc) != 0)
			die("the bench's module options do not parse");
		memset(&la, 0, sizeof(la));
		la.user = o.user;
		la.argc = e.file_args.argc;
		la.argv = e.file_args.argv;
		res.st_conf_file = measure("options (file)", op_conf, &la, o.rounds, nn);
		la.argc = e.cache_args.argc;
		la.argv = e.cache_args.argv;
		res.st_conf_cache = measure("options (cache)", op_conf, &la, o.rounds, nn);
		la.cfg = cf->v[0];
		la.set = cf;
		res.st_keys_file = measure("keys (file)", op_keys, &la, o.rounds, nn);
		la.cfg = cc->v[0];
		la.set = cc;
		res.have_cache = op_keys(&la) == 0;
		if (!res.have_cache)
			die("the warm cache is not read (src/cache.c and src/keys.c as pam_jwt(8) describes the cache?)");
		res.st_keys_cache = measure("keys (cache)", op_keys, &la, o.rounds, nn);
		res.st_pw = measure("getpwnam_r", op_pw, &la, o.rounds, nn);
		if (pj_keys_open(cf->v[0], &quiet_log, (int64_t)time(NULL), PJ_VERIFY_NO_FETCH, &k) != 0 ||
		    pj_keys_get(k, &set) != 0)
			die("keys");
		for (int i = 0; i < NALG; i++) {
			struct pj_jws jws;

			la.token = f.token[i];
			la.toklen = f.toklen[i];
			res.st_jws[i] = measure("token parse", op_jws, &la, o.rounds, nn);
			if (pj_jws_parse(f.token[i], f.toklen[i], &jws) != 0 || pj_jws_check_header(&jws, PJ_ALG_DEFAULT) != 0 ||
			    pj_jwks_choose(set, jws.alg, jws.kid, &la.key) != 0)
				die("%s: the token or its key", alg_names[i]);
			la.alg = alg_ids[i];
			la.msg = (const uint8_t *)jws.signing_input;
			la.msglen = jws.signing_input_len;
			la.sig = jws.sig;
			la.siglen = jws.siglen;
			la.jws = &jws;
			res.st_sig[i] = measure("signature", op_sig, &la, o.rounds, nn);
			la.cfg = cf->v[0];
		la.set = cf;
			res.st_claims[i] = measure("claims", op_claims, &la, o.rounds, nn);
			res.st_verify_file[i] = measure("pj_verify (file)", op_verify, &la, o.rounds, nn);
			la.cfg = cc->v[0];
		la.set = cc;
			res.st_verify_cache[i] = measure("pj_verify (cache)", op_verify, &la, o.rounds, nn);
			la.argc = e.cache_args.argc;
			la.argv = e.cache_args.argv;
			res.st_lib_cache[i] = measure("options + pj_verify (cache)", op_lib, &la, o.rounds, nn);
			pj_jws_clear(&jws);
		}
		pj_keys_close(k);
		pj_configs_free(cf);
		pj_configs_free(cc);
	}

	if (want(&o, "pam")) {
		fprintf(stderr, "pj_bench: PAM loops (pj_loop)\n");
		pam_loops(&e, &res);
	}
	if (want(&o, "process")) {
		fprintf(stderr, "pj_bench: per process (fresh pj_loop: load and first login)\n");
		cold_runs(&e, &res);
		fprintf(stderr, "pj_bench: per process (pamtester)\n");
		pamtester_runs(&e, &f, &res);
	}

	report(&o, &res);
	cleanup();
	return 0;
}
