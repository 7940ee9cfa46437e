/*
 * pam_jwt_askpass: answers pam_jwt's prompts for SSH_ASKPASS / SUDO_ASKPASS.
 *
 * Stateless: every call reads the token again and prints the one piece its
 * prompt asks for.  Pieces are at most 500 bytes so that neither ssh's 1023
 * nor sudo's 511 byte cut can bite; each but the last ends in '\', which
 * tells the module that more follows (pam_jwt_askpass(1), pam_jwt(8)).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE		500
#define MAX_TOKEN	16384
#define MAX_READ	(MAX_TOKEN + 4096)	/* room for whitespace around it */
#define MAX_DIGITS	3		/* a piece number is at most 33 */

/* Length of s without trailing whitespace. */
static size_t
rtrim_len(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return n;
}

/* Does s[0..n) end with the n2 bytes of t? */
static int
ends_with(const char *s, size_t n, const char *t, size_t n2)
{
	return n >= n2 && memcmp(s + n - n2, t, n2) == 0;
}

/*
 * The piece number the prompt asks for: 1 for `prompt`, N for `more` with
 * its %d written as N (decimal, no sign, no leading zero); 0 for anything
 * else; -1 when `prompt` or `more` is unusable.
 */
static int
piece_asked(const char *p, const char *prompt, const char *more)
{
	size_t n = rtrim_len(p, strlen(p)), mn = rtrim_len(more, strlen(more));
	size_t pn = rtrim_len(prompt, strlen(prompt)), pre, suf, d, i;
	const char *pct = strstr(more, "%d");
	int v = 0;

	/* An empty text would match every prompt; a digit before %d, or no text
	 * after it, would make "part 12" ambiguous. */
	if (pn == 0 || pct == NULL || (size_t)(pct - more) + 2 >= mn ||
	    strchr(pct + 2, '%') != NULL || memchr(more, '%', pct - more) != NULL ||
	    (pct > more && isdigit((unsigned char)pct[-1])) ||
	    isdigit((unsigned char)pct[2]))
		return -1;
	pre = pct - more;
	suf = mn - pre - 2;
	if (ends_with(p, n, pct + 2, suf)) {
		n -= suf;
		for (d = 0; d < n && d <= MAX_DIGITS &&
		    isdigit((unsigned char)p[n - 1 - d]); d++)
			;
		if (d >= 1 && d <= MAX_DIGITS && p[n - d] != '0' &&
		    ends_with(p, n - d, more, pre)) {
			for (i = n - d; i < n; i++)
				v = v * 10 + (p[i] - '0');
			return v;
		}
		n += suf;
	}
	return ends_with(p, n, prompt, pn) ? 1 : 0;
}

static int
write_all(const char *b, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(STDOUT_FILENO, b, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Piece k (1-based) of tok[0..n), with its '\' when more follows. */
static int
print_piece(const char *tok, size_t n, size_t k)
{
	size_t off = (k - 1) * PIECE;
	size_t len = n - off < PIECE ? n - off : PIECE;
	int more = off + len < n;

	if (write_all(tok + off, len) != 0)
		return -1;
	return write_all(more ? "\\\n" : "\n", more ? 2 : 1);
}

/* Reads the file into buf; more than MAX_READ bytes is EFBIG. */
static int
read_file(const char *path, char *buf, size_t *len)
{
	ssize_t r = 0;
	int fd, e;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	while (*len <= MAX_READ &&
	    ((r = read(fd, buf + *len, MAX_READ + 1 - *len)) > 0 ||
	    (r < 0 && errno == EINTR)))
		*len += r > 0 ? (size_t)r : 0;
	e = r < 0 ? errno : *len > MAX_READ ? EFBIG : 0;
	close(fd);
	errno = e;
	return e == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char buf[MAX_READ + 1];
	const char *prompt = getenv("PAM_JWT_PROMPT");
	const char *more = getenv("PAM_JWT_PROMPT_MORE");
	char *env = getenv("PAM_JWT_TOKEN"), *file = getenv("PAM_JWT_TOKEN_FILE");
	const char *why = NULL, *big = "token longer than 16384 bytes";
	size_t len = 0, start = 0, n, npieces, k;
	int lines, asked = 0, rc = 1;

	if (argc != 2) {
		why = "usage: pam_jwt_askpass PROMPT | --lines";
		goto out;
	}
	lines = strcmp(argv[1], "--lines") == 0;
	if (!lines) {
		asked = piece_asked(argv[1],
		    prompt != NULL && *prompt != '\0' ? prompt : "JWT:",
		    more != NULL && *more != '\0' ? more : "JWT part %d:");
		if (asked < 0)
			why = "bad PAM_JWT_PROMPT or PAM_JWT_PROMPT_MORE";
		if (asked <= 0)	/* not our question: never answer it */
			goto out;
	}

	if (env != NULL && *env != '\0') {
		if ((len = strlen(env)) > MAX_READ) {
			why = big;
			goto out;
		}
		memcpy(buf, env, len);
		explicit_bzero(env, len);	/* hides it from /proc/PID/environ */
	} else if (file != NULL && *file != '\0') {
		if (read_file(file, buf, &len) != 0) {
			why = errno == EFBIG ? big : "cannot read PAM_JWT_TOKEN_FILE";
			goto out;
		}
	}
	while (start < len && isspace((unsigned char)buf[start]))
		start++;
	if ((n = rtrim_len(buf + start, len - start)) == 0 || n > MAX_TOKEN) {
		why = n == 0 ? "no token: set PAM_JWT_TOKEN or PAM_JWT_TOKEN_FILE" : big;
		goto out;
	}
	npieces = (n + PIECE - 1) / PIECE;
	if (lines) {
		for (k = 1; k <= npieces; k++)
			if (print_piece(buf + start, n, k) != 0)
				goto out;
	} else if ((size_t)asked > npieces ||
	    print_piece(buf + start, n, (size_t)asked) != 0)
		goto out;
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	if (why != NULL)	/* fixed text only, never the token */
		fprintf(stderr, "pam_jwt_askpass: %s\n", why);
	return rc;
}
