/*
 * pam_jwt_fetch: one HTTPS GET for the module (pam_jwt(8), section KEYS).
 * A response received in full: "STATUS MAX_AGE\n" and the body on stdout,
 * exit 0 (the module judges the status).  Transport failure: one line on
 * stderr, exit 1.  Usage error: exit 2.  libcurl lives only in this program.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <curl/curl.h>

#include "err.h"
#include "num.h"

#define EXIT_TRANSPORT	1
#define EXIT_USAGE	2
#define CA_MAX		((size_t)1024 * 1024)
#define BYTES_MAX	(16L * 1024 * 1024)
#define URL_MAX		8192
#define AGE_MAX		2147483647L

struct fetch {
	char	*buf;
	size_t	 len, cap, max;
	int	 too_large, nomem, age_bad;
	long	 age;		/* smallest max-age seen, -1 for none */
};

static int
usage(void)
{
	fputs("pam_jwt_fetch: usage: pam_jwt_fetch https://URL --timeout 1-60 "
	    "--max-bytes 1-16777216 [--ca-stdin]\n", stderr);
	return EXIT_USAGE;
}

static int
fail(const char *why)
{
	char line[CURL_ERROR_SIZE];
	size_t n;

	/* One line, whatever curl put in its buffer. */
	snprintf(line, sizeof(line), "%s", why);
	for (n = 0; line[n] != '\0'; n++)
		if ((unsigned char)line[n] < 0x20 || line[n] == 0x7f)
			line[n] = ' ';
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	fprintf(stderr, "pam_jwt_fetch: %s\n", n > 0 ? line : "transfer failed");
	return EXIT_TRANSPORT;
}

/* An argument: digits only, lo..hi. */
static int
parse_arg(const char *s, long lo, long hi, long *out)
{
	long long v;

	if (pj_num_parse(s, strlen(s), lo, hi, 0, &v) != 0)
		return -1;
	*out = (long)v;
	return 0;
}

/* One Cache-Control directive [s, e): max-age=DIGITS, case-insensitive name. */
static void
directive(struct fetch *f, const char *s, const char *e)
{
	const char *eq;
	long long v;
	int r;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL)
		eq = e;
	if (eq - s != 7 || strncasecmp(s, "max-age", 7) != 0)
		return;
	if (eq == e || eq + 1 == e) {
		f->age_bad = 1;
		return;
	}
	/* Too large saturates rather than fails (RFC 9111 1.2.2). */
	if ((r = pj_num_parse(eq + 1, (size_t)(e - eq - 1), 0, AGE_MAX, 0, &v)) == PJ_ERR_TOO_LARGE)
		v = AGE_MAX;
	else if (r != 0) {
		f->age_bad = 1;
		return;
	}
	if (f->age < 0 || v < f->age)
		f->age = (long)v;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char name[] = "cache-control:";
	struct fetch *f = arg;
	size_t len = size * n, nl = sizeof(name) - 1;
	const char *s, *e, *c;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx): forget what came before. */
		f->age = -1;
		f->age_bad = 0;
	} else if (len >= nl && strncasecmp(p, name, nl) == 0) {
		for (s = p + nl, e = p + len; s < e; s = c + 1) {
			if ((c = memchr(s, ',', (size_t)(e - s))) == NULL)
				c = e;
			directive(f, s, c);
		}
	}
	return len;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n, cap;
	char *nb;

	if (len > f->max - f->len) {
		f->too_large = 1;
		return 0;	/* not len: curl aborts the transfer */
	}
	if (f->len + len > f->cap) {
		for (cap = f->cap ? f->cap : 16384; cap < f->len + len; cap *= 2)
			;
		if (cap > f->max)
			cap = f->max;
		if ((nb = realloc(f->buf, cap)) == NULL) {
			f->nomem = 1;
			return 0;
		}
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, len);
	f->len += len;
	return len;
}

/* The trust anchors, from the module (it opened ca_file, not us). */
static int
read_ca(char **out, size_t *outlen)
{
	size_t len = 0;
	ssize_t n;
	char *buf;

	if ((buf = malloc(CA_MAX + 1)) == NULL)
		return fail("out of memory");
	while (len <= CA_MAX && (n = read(STDIN_FILENO, buf + len, CA_MAX + 1 - len)) != 0) {
		if (n < 0 && errno != EINTR) {
			free(buf);
			return fail("cannot read the CA bundle");
		}
		if (n > 0)
			len += (size_t)n;
	}
	if (len == 0 || len > CA_MAX) {
		free(buf);
		fputs("pam_jwt_fetch: CA bundle on stdin empty or over 1 MiB\n", stderr);
		return EXIT_USAGE;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int
main(int argc, char **argv)
{
	pid_t parent = getppid();
	struct fetch f = {NULL, 0, 0, 0, 0, 0, 0, -1};
	struct curl_blob blob;
	char errbuf[CURL_ERROR_SIZE] = "", *ca = NULL;
	const char *url = NULL, *p;
	long timeout = 0, maxb = 0, status = 0;
	size_t calen = 0;
	int ca_stdin = 0, ok = 1, ret, i;
	sigset_t none;
	CURL *c = NULL;
	CURLcode rc;

	/* Non-dumpable and bound to the parent before anything else. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		return fail("prctl failed");
	if (parent == 1 || getppid() != parent)
		return fail("parent gone");

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ca-stdin") == 0 && !ca_stdin)
			ca_stdin = 1;
		else if (strcmp(argv[i], "--timeout") == 0 && timeout == 0 && i + 1 < argc) {
			if (parse_arg(argv[++i], 1, 60, &timeout) != 0)
				return usage();
		} else if (strcmp(argv[i], "--max-bytes") == 0 && maxb == 0 && i + 1 < argc) {
			if (parse_arg(argv[++i], 1, BYTES_MAX, &maxb) != 0)
				return usage();
		} else if (url == NULL && strncmp(argv[i], "https://", 8) == 0 &&
		    strlen(argv[i]) > 8 && strlen(argv[i]) < URL_MAX) {
			for (p = argv[i]; *p != '\0'; p++)
				if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
					return usage();
			url = argv[i];
		} else
			return usage();
	}
	if (url == NULL || timeout == 0 || maxb == 0)
		return usage();
	f.max = (size_t)maxb;

	/* A backstop to curl's own timeout, whatever the parent left us. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGALRM, SIG_DFL);
	alarm((unsigned)timeout + 2);

	if (ca_stdin && (ret = read_ca(&ca, &calen)) != 0)
		return ret;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(ca);
		return fail("cannot initialise libcurl");
	}
	ret = EXIT_TRANSPORT;
	if ((c = curl_easy_init()) == NULL) {
		ret = fail("cannot initialise libcurl");
		goto out;
	}
	ok &= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	ok &= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK;
#else
	ok &= curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS) == CURLE_OK;
#endif
	ok &= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)maxb) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_WRITEDATA, &f) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_HEADERDATA, &f) == CURLE_OK;
	/* No proxy from the environment, no netrc, no cookies, no decoding. */
	ok &= curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_USERAGENT, "pam_jwt/" PACKAGE_VERSION) == CURLE_OK;
	if (ca != NULL) {
		/* Only the given anchors: no CA file or folder of the system. */
		blob.data = ca;
		blob.len = calen;
		blob.flags = CURL_BLOB_NOCOPY;
		ok &= curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_CAINFO, NULL) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_CAPATH, NULL) == CURLE_OK;
	}
	if (!ok) {
		ret = fail("cannot set libcurl options");
		goto out;
	}

	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		if (f.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
			snprintf(errbuf, sizeof(errbuf), "response too large (over %ld bytes)", maxb);
			ret = fail(errbuf);
		} else
			ret = fail(f.nomem ? "out of memory" : errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status < 100 || status > 999) {
		ret = fail("no HTTP status");
		goto out;
	}
	if (f.age >= 0 && !f.age_bad)
		printf("%ld %ld\n", status, f.age);
	else
		printf("%ld -\n", status);
	if (fwrite(f.buf != NULL ? f.buf : "", 1, f.len, stdout) != f.len || fflush(stdout) != 0) {
		ret = fail("cannot write the response");
		goto out;
	}
	ret = 0;
out:
	curl_easy_cleanup(c);
	curl_global_cleanup();
	free(f.buf);
	free(ca);
	return ret;
}
