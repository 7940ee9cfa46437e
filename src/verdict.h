/* The verdict: what a failing check saw, its detail text, and the one log
 * line (text or JSON) built from it (pam_jwt(8) lists the fields). */
#ifndef PJ_VERDICT_H
#define PJ_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#define PJ_WHY_MAX 192

/* What a failing check saw, filled where it fails and formatted once
 * (pj_why_format). Token values are JSON text, cut at PJ_WHY_MAX. */
struct pj_why {
	const char *rule;	/* "require_claim", "exp", "typ", ...; NULL: none */
	char name[PJ_WHY_MAX];	/* the rule's own words: NAME=VALUE, a scope word, ... */
	char value[PJ_WHY_MAX];	/* the token's value as JSON text, or "absent" */
	int times;		/* the time fields below are set */
	int64_t now;
	long leeway, limit;	/* limit: max_lifetime */
	double t;		/* the time claim's value */
	double iat, exp;	/* lifetime_too_long (iat -1: absent) */
};

struct pj_result;

/* The detail of err from why (why->rule NULL: the reason's own words), as
 * raw text into out (cap bytes); the caller escapes it. */
void pj_why_format(const struct pj_why *why, int err, char *out, size_t cap);

/* The PAM items a verdict line names; NULL when unset. */
struct pj_verdict_ctx {
	const char *service, *pam_user, *rhost;
	int json;
};

/*
 * One verdict line, without the syslog prefix: text ("result=reject
 * reason=expired service=\"sshd\" ..."), or one JSON object. Every value
 * but result, reason and fields is escaped (printable ASCII, '"' and '\'
 * as \xHH) and cut at 128 bytes, so no value can end its quotes, start a
 * field or start a line. Returns out.
 */
char *pj_verdict_line(const struct pj_result *res, const struct pj_verdict_ctx *ctx, char *out,
    size_t cap);
#define PJ_VERDICT_LINE_MAX 4096

#endif
