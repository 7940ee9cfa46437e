/*
 * pjloop: many authentications in one process through the real libpam, for
 * valgrind: each round takes the next line of a plan (cycling), runs
 * pam_start_confdir / pam_authenticate / pam_end and compares the result.
 *
 *   pjloop --confdir DIR --plan FILE --rounds N
 *
 * Plan lines: "SERVICE USER EXPECTED TOKEN", EXPECTED a PAM result name,
 * or ONCE (PAM_SUCCESS the first time, PAM_AUTH_ERR after: a one-time jti).
 * Prints "ROUNDS n MISMATCHES m" and each mismatch; exits 1 on any.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

struct line {
	char *service, *user, *expect, *token;
	int seen;
};

static int
conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const char *token = data;
	struct pam_response *r = calloc((size_t)num, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if ((r[i].resp = strdup(token)) == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static const char *
name_of(int r)
{
	switch (r) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	case PAM_CONV_ERR: return "PAM_CONV_ERR";
	case PAM_BUF_ERR: return "PAM_BUF_ERR";
	default: return "PAM_OTHER";
	}
}

int
main(int argc, char **argv)
{
	const char *confdir = NULL, *plan = NULL;
	struct line *lines = NULL;
	size_t n = 0, cap = 0, lcap = 0;
	long rounds = 0, bad = 0;
	char *buf = NULL;
	FILE *f;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--confdir") == 0)
			confdir = argv[i + 1];
		else if (strcmp(argv[i], "--plan") == 0)
			plan = argv[i + 1];
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atol(argv[i + 1]);
	}
	if (confdir == NULL || plan == NULL || rounds <= 0 || (f = fopen(plan, "r")) == NULL) {
		fprintf(stderr, "usage: pjloop --confdir DIR --plan FILE --rounds N\n");
		return 2;
	}
	while (getline(&buf, &lcap, f) > 0) {
		struct line l = {NULL, NULL, NULL, NULL, 0};

		buf[strcspn(buf, "\n")] = '\0';
		if ((l.service = strtok(buf, " ")) == NULL || (l.user = strtok(NULL, " ")) == NULL ||
		    (l.expect = strtok(NULL, " ")) == NULL || (l.token = strtok(NULL, "")) == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((lines = realloc(lines, cap * sizeof(*lines))) == NULL)
				return 2;
		}
		l.service = strdup(l.service);
		l.user = strdup(l.user);
		l.expect = strdup(l.expect);
		l.token = strdup(l.token);
		lines[n++] = l;
	}
	free(buf);
	fclose(f);
	if (n == 0)
		return 2;
	for (long i = 0; i < rounds; i++) {
		struct line *l = &lines[i % (long)n];
		struct pam_conv pc = {conv, l->token};
		pam_handle_t *pamh = NULL;
		const char *want = l->expect;
		int r;

		if ((r = pam_start_confdir(l->service, l->user, &pc, confdir, &pamh)) == PAM_SUCCESS) {
			r = pam_authenticate(pamh, 0);
			pam_end(pamh, r);
		}
		if (strcmp(want, "ONCE") == 0)
			want = l->seen ? "PAM_AUTH_ERR" : "PAM_SUCCESS";
		l->seen = 1;
		if (strcmp(name_of(r), want) != 0) {
			if (bad++ < 20)
				printf("MISMATCH round %ld: %s %s: %s, want %s\n", i, l->service, l->user, name_of(r), want);
		}
	}
	printf("ROUNDS %ld MISMATCHES %ld\n", rounds, bad);
	for (size_t i = 0; i < n; i++) {
		free(lines[i].service);
		free(lines[i].user);
		free(lines[i].expect);
		free(lines[i].token);
	}
	free(lines);
	return bad != 0;
}
