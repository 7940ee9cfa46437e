#include "config.h"

#include <locale.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "usermap.h"
#include "util.h"

#define MAP_FILE_MAX (1024 * 1024)
#define MAP_LINE_MAX 4096
#define MAP_RULES_MAX 1024
#define MAP_LITERAL_MIN 4	/* bytes a pattern must pin down: no catch-alls */
#define MAP_GROUPS_MAX 9	/* \1..\9 */
#define MAP_BOUND_MAX 32	/* largest count in a {m,n} bound */
#define MAP_BOUNDS_SUM 64	/* their sum over one pattern */
#define MAP_QUANT_MAX 16	/* quantifiers in one pattern */
#define MAP_GROUPS_TOTAL 32	/* groups in one pattern */
#define MAP_ALTS_MAX 64		/* '|' in one pattern */
#define MAP_ANCHORS_MAX 2	/* ^ $ \b \B \< \> \` \' in one pattern */

enum { R_EXACT, R_GLOB, R_REGEX };
enum { U_NAME, U_SELF, U_TEMPLATE };

struct rule {
	int kind;
	char *pat;		/* exact bytes, the glob, or the regex's literal prefix */
	size_t patlen;
	regex_t re;		/* R_REGEX: "^(" REST ")$", matched against the remainder */
	size_t nsub;		/* the user's own groups */
	int ukind;
	char *user;
};

struct pj_usermap {
	struct rule *rules;
	size_t n, cap;
	locale_t c_loc;		/* regcomp/regexec run in it, whatever the host's locale */
};

int
pj_user_name_safe(const char *name, size_t len)
{
	if (name == NULL || len < 1 || len > 32)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'a' && c <= 'z') || c == '_')
			continue;
		if (i > 0 && ((c >= '0' && c <= '9') || c == '.' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

static void
rule_free(struct rule *r)
{
	if (r->kind == R_REGEX)
		regfree(&r->re);
	free(r->pat);
	free(r->user);
}

void
pj_usermap_free(struct pj_usermap *map)
{
	if (map == NULL)
		return;
	for (size_t i = 0; i < map->n; i++)
		rule_free(&map->rules[i]);
	free(map->rules);
	if (map->c_loc != (locale_t)0)
		freelocale(map->c_loc);
	free(map);
}

static int
is_user_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Regex characters that end the literal prefix (pam_jwt.conf(5), PATTERN). */
static int
is_re_special(char c)
{
	return c != '\0' && strchr("\\.[]()*+?{}|^$", c) != NULL;
}

/* Compile in the C locale: bytes are characters, whatever the host uses. */
static int
c_regcomp(locale_t loc, regex_t *re, const char *s)
{
	locale_t old = uselocale(loc);
	int rc = regcomp(re, s, REG_EXTENDED);

	uselocale(old);
	return rc;
}

/*
 * Parse the USER column against rule r (its kind and groups known).
 * Returns a short reason on error, NULL when fine.
 */
static const char *
parse_user(struct rule *r, const char *u, size_t ulen)
{
	if (ulen == 1 && u[0] == '=') {
		r->ukind = U_SELF;
		return NULL;
	}
	if (memchr(u, '\\', ulen) == NULL) {
		if (!pj_user_name_safe(u, ulen))
			return "USER is not a safe user name ([a-z_][a-z0-9_.-]*, at most 32 bytes)";
		r->ukind = U_NAME;
		return NULL;
	}
	if (r->kind != R_REGEX)
		return "\\1..\\9 in USER need a regex (~) pattern";
	for (size_t i = 0; i < ulen; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c == '\\') {
			if (i + 1 >= ulen || u[i + 1] < '1' || u[i + 1] > '9')
				return "in USER, '\\' must be followed by a digit 1..9";
			if ((size_t)(u[i + 1] - '0') > r->nsub)
				return "USER refers to a group the regex does not have";
			i++;
		} else if (!is_user_byte(c) || (i == 0 && ((c >= '0' && c <= '9') || c == '.' || c == '-'))) {
			return "USER holds a byte no user name may hold here";
		}
	}
	r->ukind = U_TEMPLATE;
	return NULL;
}

/*
 * Patterns whose cost explodes in glibc's matcher are refused at load: a
 * claim value (up to 256 attacker-chosen bytes in a validly signed token)
 * against "((a{1,100}){1,100})" takes seconds, "a+++..." takes regcomp
 * minutes, and so do a few hundred anchors ("$$$...") or empty groups (and
 * each login compiles the map). So: no quantifier on a quantified atom,
 * none but '?' (or a bound of at most 1) on a group that holds one, bounds
 * {m,n} of at most 32 and at most 64 in sum, at most 16 quantifiers, 32
 * groups, 64 '|' and 2 anchors, and no unmatched ')'. Returns a reason,
 * or NULL when fine (or when the text is not a regex at all: regcomp says
 * so then).
 */
static const char *
regex_too_costly(const char *p, size_t n)
{
	enum { NONE, ATOM, QUANTIFIED, GROUP_Q };
	unsigned char holds[MAP_GROUPS_TOTAL + 1];	/* a group (0: the whole) holds a quantifier */
	size_t depth = 0, i = 0, sum = 0, quants = 0, groups = 0, alts = 0, anchors = 0;
	int prev = NONE;

	holds[0] = 0;
	while (i < n) {
		char c = p[i];
		unsigned long lo = 0, hi = 0;
		int unbounded = 0;

		if (c == '\\') {
			/* GNU's zero-width operators count as anchors. */
			if (i + 1 < n && strchr("bB<>`'", p[i + 1]) != NULL && ++anchors > MAP_ANCHORS_MAX)
				return "more than 2 anchors (^ $ \\b \\B \\< \\>): the whole value is matched already";
			i += 2;
			prev = ATOM;
		} else if (c == '^' || c == '$') {
			if (++anchors > MAP_ANCHORS_MAX)
				return "more than 2 anchors (^ $ \\b \\B \\< \\>): the whole value is matched already";
			i++;
			prev = ATOM;
		} else if (c == '[') {
			/* A bracket expression is one atom: "[]x]", "[^]x]", "[[:alpha:]]". */
			i++;
			if (i < n && p[i] == '^')
				i++;
			if (i < n && p[i] == ']')
				i++;
			while (i < n && p[i] != ']') {
				if (p[i] == '[' && i + 1 < n && strchr(":.=", p[i + 1]) != NULL) {
					char d = p[i + 1];

					for (i += 2; i + 1 < n && !(p[i] == d && p[i + 1] == ']'); i++)
						;
					i += 2;
				} else
					i++;
			}
			i++;
			prev = ATOM;
		} else if (c == '(') {
			if (++groups > MAP_GROUPS_TOTAL)	/* and so depth <= 32 */
				return "more than 32 groups";
			holds[++depth] = 0;
			i++;
			prev = NONE;
		} else if (c == ')') {
			/* Ordinary alone, it would close our "^(" wrapper early and
			 * change what the pattern means (and costs). */
			if (depth == 0)
				return "an unmatched ')' (write \\) for the character)";
			i++;
			prev = holds[depth] ? GROUP_Q : ATOM;
			holds[depth - 1] |= holds[depth];
			depth--;
		} else if (c == '|') {
			if (++alts > MAP_ALTS_MAX)
				return "more than 64 alternatives ('|')";
			i++;
			prev = NONE;
		} else if (c == '*' || c == '+' || c == '?' || c == '{') {
			if (++quants > MAP_QUANT_MAX)
				return "more than 16 quantifiers";
			if (c == '{') {
				size_t j = i + 1;

				/* Saturating: only "above 32" matters. */
				for (; j < n && p[j] >= '0' && p[j] <= '9'; j++)
					lo = lo > MAP_BOUND_MAX ? lo : lo * 10 + (unsigned long)(p[j] - '0');
				if (j == i + 1)
					return "a '{' that does not start a bound {m}, {m,} or {m,n}";
				hi = lo;
				if (j < n && p[j] == ',') {
					size_t k = ++j;

					for (hi = 0; j < n && p[j] >= '0' && p[j] <= '9'; j++)
						hi = hi > MAP_BOUND_MAX ? hi : hi * 10 + (unsigned long)(p[j] - '0');
					if (j == k)
						unbounded = 1;	/* {m,} */
				}
				if (j >= n || p[j] != '}')
					return "a '{' that does not start a bound {m}, {m,} or {m,n}";
				if (lo > MAP_BOUND_MAX || hi > MAP_BOUND_MAX)
					return "a bound {m,n} above 32";
				if ((sum += unbounded ? lo : hi) > MAP_BOUNDS_SUM)
					return "bounds {m,n} adding up to more than 64";
				if (unbounded)
					hi = 2;	/* repeats: as '*' or '+' for nesting */
				i = j + 1;
			} else {
				hi = c == '?' ? 1 : 2;
				i++;
			}
			if (prev == QUANTIFIED)
				return "a quantifier on a quantified atom (such as a** or a+{2})";
			if (prev == GROUP_Q && hi > 1)
				return "nested repetition (a group that holds a quantifier, repeated: (a+)+)";
			holds[depth] = 1;
			prev = QUANTIFIED;
		} else {
			i++;
			prev = ATOM;
		}
	}
	return NULL;
}

/*
 * A regex rule: literal prefix of at least 4 bytes, then REST compiled as
 * "^(" REST ")$". PJ_ERR_CONFIG with *why set, or PJ_ERR_NOMEM.
 */
static int
parse_regex(struct pj_usermap *map, struct rule *r, const char *p, size_t plen, const char **why)
{
	regex_t alone;
	char *re = NULL;
	size_t pre = 0, restlen;
	const char *rest;
	int rc;

	*why = NULL;
	for (size_t i = 0; i + 1 < plen; i++) {
		if (p[i] == '\\' && p[i + 1] >= '0' && p[i + 1] <= '9') {
			*why = "back-references are not allowed";
			return PJ_ERR_CONFIG;
		}
	}
	if ((*why = regex_too_costly(p, plen)) != NULL)
		return PJ_ERR_CONFIG;
	while (pre < plen && !is_re_special(p[pre]))
		pre++;
	/* A quantifier binds the last literal byte: that byte is not fixed. */
	if (pre > 0 && pre < plen && strchr("*+?{", p[pre]) != NULL)
		pre--;
	if (pre < MAP_LITERAL_MIN) {
		*why = plen > 0 && p[0] == '^' ?
		    "catch-all refused: the regex needs a literal prefix of at least 4 bytes "
		    "(it is anchored already: drop the leading '^')" :
		    "catch-all refused: the regex needs a literal prefix of at least 4 bytes";
		return PJ_ERR_CONFIG;
	}
	rest = p + pre;
	restlen = plen - pre;
	if ((re = malloc(restlen + 5)) == NULL)
		return PJ_ERR_NOMEM;
	/* REST alone first: it must be a regex by itself (no ')' closing our
	 * wrapper early), and it tells how many groups the user wrote. */
	memcpy(re, rest, restlen);
	re[restlen] = '\0';
	if (c_regcomp(map->c_loc, &alone, re) != 0) {
		free(re);
		*why = "not a valid POSIX extended regex";
		return PJ_ERR_CONFIG;
	}
	r->nsub = alone.re_nsub;
	regfree(&alone);
	memcpy(re, "^(", 2);
	memcpy(re + 2, rest, restlen);
	memcpy(re + 2 + restlen, ")$", 3);
	rc = c_regcomp(map->c_loc, &r->re, re);
	free(re);
	if (rc != 0) {
		*why = "not a valid POSIX extended regex";
		return PJ_ERR_CONFIG;
	}
	if (r->re.re_nsub != r->nsub + 1) {
		regfree(&r->re);
		*why = "not a valid POSIX extended regex";
		return PJ_ERR_CONFIG;
	}
	if (r->nsub > MAP_GROUPS_MAX)
		r->nsub = MAP_GROUPS_MAX;	/* only \1..\9 can be named */
	if ((r->pat = malloc(pre + 1)) == NULL) {
		regfree(&r->re);
		return PJ_ERR_NOMEM;
	}
	memcpy(r->pat, p, pre);
	r->pat[pre] = '\0';
	r->patlen = pre;
	r->kind = R_REGEX;
	return 0;
}

static const char *
parse_glob(const char *p, size_t plen)
{
	const char *first = memchr(p, '*', plen);
	size_t head = (size_t)(first - p), tail = 0;

	while (tail < plen && p[plen - 1 - tail] != '*')
		tail++;
	if (head < MAP_LITERAL_MIN && tail < MAP_LITERAL_MIN)
		return "catch-all refused: a glob needs at least 4 bytes other than '*' at its start or end";
	return NULL;
}

static void
map_err(const struct pj_log *lg, const char *path, unsigned line, const char *why)
{
	if (line == 0)
		pj_log(lg, LOG_ERR, "configuration error: user_map %s: %s", path ? path : "-", why);
	else
		pj_log(lg, LOG_ERR, "configuration error: user_map %s:%u: %s", path ? path : "-", line, why);
}

static int
add_rule(struct pj_usermap *map, const char *path, unsigned line, const char *p, size_t plen,
    const char *u, size_t ulen, const struct pj_log *lg)
{
	struct rule r;
	const char *why = NULL;

	memset(&r, 0, sizeof(r));
	if (map->n >= MAP_RULES_MAX) {
		map_err(lg, path, line, "more than 1024 rules");
		return PJ_ERR_CONFIG;
	}
	if (map->n == map->cap) {
		size_t ncap = map->cap ? map->cap * 2 : 16;
		struct rule *nr;

		if ((nr = realloc(map->rules, ncap * sizeof(*nr))) == NULL)
			return PJ_ERR_NOMEM;
		map->rules = nr;
		map->cap = ncap;
	}
	if (p[0] == '~') {
		int rc = parse_regex(map, &r, p + 1, plen - 1, &why);

		if (rc == PJ_ERR_NOMEM)
			return rc;
	} else if (memchr(p, '*', plen) != NULL) {
		why = parse_glob(p, plen);
		r.kind = R_GLOB;
	} else {
		r.kind = R_EXACT;
	}
	if (why != NULL) {
		map_err(lg, path, line, why);
		return PJ_ERR_CONFIG;
	}
	if (r.kind != R_REGEX) {
		if ((r.pat = malloc(plen + 1)) == NULL)
			return PJ_ERR_NOMEM;
		memcpy(r.pat, p, plen);
		r.pat[plen] = '\0';
		r.patlen = plen;
	}
	if ((why = parse_user(&r, u, ulen)) != NULL) {
		rule_free(&r);
		map_err(lg, path, line, why);
		return PJ_ERR_CONFIG;
	}
	if ((r.user = malloc(ulen + 1)) == NULL) {
		rule_free(&r);
		return PJ_ERR_NOMEM;
	}
	memcpy(r.user, u, ulen);
	r.user[ulen] = '\0';
	map->rules[map->n++] = r;
	return 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
pj_usermap_load_buf(const char *buf, size_t len, const char *path, const struct pj_log *lg,
    struct pj_usermap **out)
{
	struct pj_usermap *map = NULL;
	size_t off = 0;
	unsigned line = 0;
	int r = PJ_ERR_INTERNAL;

	*out = NULL;
	if (len > MAP_FILE_MAX) {
		map_err(lg, path, 0, "larger than 1 MiB");
		return PJ_ERR_CONFIG;
	}
	if ((map = calloc(1, sizeof(*map))) == NULL)
		return PJ_ERR_NOMEM;
	if ((map->c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0)) == (locale_t)0) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	while (off < len) {
		const char *l = buf + off, *nl = memchr(l, '\n', len - off);
		size_t llen = nl ? (size_t)(nl - l) : len - off;
		const char *p, *u;
		size_t plen, ulen, i;

		off += llen + (nl ? 1 : 0);
		line++;
		if (llen > MAP_LINE_MAX) {
			map_err(lg, path, line, "line longer than 4096 bytes");
			r = PJ_ERR_CONFIG;
			goto out;
		}
		if (memchr(l, '\0', llen) != NULL) {
			map_err(lg, path, line, "NUL byte");
			r = PJ_ERR_CONFIG;
			goto out;
		}
		pj_trim(&l, &llen);
		if (llen == 0 || l[0] == '#')
			continue;
		/* PATTERN, spaces or tabs, USER; nothing after. */
		for (i = 0; i < llen && !is_blank(l[i]); i++)
			;
		p = l;
		plen = i;
		while (i < llen && is_blank(l[i]))
			i++;
		u = l + i;
		for (ulen = 0; i < llen && !is_blank(l[i]); i++)
			ulen++;
		if (ulen == 0 || i != llen) {
			map_err(lg, path, line, "expected PATTERN USER");
			r = PJ_ERR_CONFIG;
			goto out;
		}
		if ((r = add_rule(map, path, line, p, plen, u, ulen, lg)) != 0)
			goto out;
	}
	*out = map;
	map = NULL;
	r = 0;
out:
	pj_usermap_free(map);
	return r;
}

int
pj_usermap_load_fd(int fd, const char *path, const struct pj_log *lg, struct pj_usermap **out)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = pj_read_all(fd, MAP_FILE_MAX, &buf, &len)) != 0) {
		if (r == PJ_ERR_TOO_LARGE) {
			map_err(lg, path, 0, "larger than 1 MiB");
			return PJ_ERR_CONFIG;
		}
		if (r != PJ_ERR_NOMEM) {
			map_err(lg, path, 0, "cannot read");
			return PJ_ERR_CONFIG;
		}
		return r;
	}
	r = pj_usermap_load_buf(buf, len, path, lg, out);
	free(buf);
	return r;
}

/* '*' matches any run of bytes, the empty one too; nothing else is special. */
static int
glob_match(const char *p, size_t plen, const char *v, size_t vlen)
{
	size_t pi = 0, vi = 0, star = (size_t)-1, mark = 0;

	while (vi < vlen) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = vi;
		} else if (pi < plen && p[pi] == v[vi]) {
			pi++;
			vi++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			vi = ++mark;
		} else {
			return 0;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/* Match the remainder after the literal prefix; m[k] for the user's group k
 * are offsets into rem. Returns 1 on a whole match. */
static int
regex_match(const struct pj_usermap *map, const struct rule *r, const char *rem, size_t remlen,
    regmatch_t m[MAP_GROUPS_MAX + 2])
{
	char *s;
	locale_t old;
	int rc;

	if ((s = malloc(remlen + 1)) == NULL)
		return -1;
	memcpy(s, rem, remlen);
	s[remlen] = '\0';
	old = uselocale(map->c_loc);
	rc = regexec(&r->re, s, MAP_GROUPS_MAX + 2, m, 0);
	uselocale(old);
	free(s);
	if (rc != 0)
		return 0;
	/* Anchored by construction; checked anyway. */
	return m[0].rm_so == 0 && (size_t)m[0].rm_eo == remlen;
}

static int
expand(const struct rule *r, const char *value, size_t len, size_t pre, const regmatch_t *m,
    char *out, size_t cap)
{
	const char *u = r->user;
	size_t o = 0;

	if (r->ukind == U_SELF) {
		if (len >= cap)
			goto bad;
		memcpy(out, value, len);
		o = len;
	} else {
		for (size_t i = 0; u[i] != '\0'; i++) {
			const char *src = u + i;
			size_t n = 1;

			if (r->ukind == U_TEMPLATE && u[i] == '\\') {
				/* m[1] is our wrapper: the user's group k is m[k + 1]. */
				const regmatch_t *g = &m[u[i + 1] - '0' + 1];

				i++;
				if (g->rm_so < 0) {
					n = 0;
				} else {
					src = value + pre + g->rm_so;
					n = (size_t)(g->rm_eo - g->rm_so);
				}
			}
			if (n >= cap - o)
				goto bad;
			memcpy(out + o, src, n);
			o += n;
		}
	}
	out[o] = '\0';
	if (pj_user_name_safe(out, o))
		return 0;
bad:
	out[0] = '\0';
	return PJ_ERR_BAD_USER_NAME;
}

int
pj_usermap_map(const struct pj_usermap *map, const char *value, size_t len, char *out, size_t cap,
    int *literal)
{
	regmatch_t m[MAP_GROUPS_MAX + 2];
	int nul;

	memset(m, 0, sizeof(m));
	if (cap > 0)
		out[0] = '\0';
	if (map == NULL || out == NULL || cap == 0)
		return PJ_ERR_INTERNAL;
	nul = memchr(value, '\0', len) != NULL;
	for (size_t i = 0; i < map->n; i++) {
		const struct rule *r = &map->rules[i];
		int hit = 0;

		switch (r->kind) {
		case R_EXACT:
			hit = len == r->patlen && memcmp(value, r->pat, len) == 0;
			break;
		case R_GLOB:
			hit = !nul && glob_match(r->pat, r->patlen, value, len);
			break;
		case R_REGEX:
			if (nul || len < r->patlen || memcmp(value, r->pat, r->patlen) != 0)
				break;
			if ((hit = regex_match(map, r, value + r->patlen, len - r->patlen, m)) < 0)
				return PJ_ERR_NOMEM;
			break;
		}
		if (hit) {
			if (literal != NULL)
				*literal = r->ukind == U_NAME;
			return expand(r, value, len, r->patlen, m, out, cap);
		}
	}
	return PJ_ERR_NO_USER_MAPPING;
}
