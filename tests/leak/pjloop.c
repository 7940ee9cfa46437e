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

#include "../pam/pjpam.h"

struct line {
	char *service, *user, *expect, *token;
	int seen;
};

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
		struct pam_conv pc = {pj_pam_conv_token, l->token};
		const char *want = l->expect;
		int r = pj_pam_login(confdir, l->service, l->user, NULL, &pc);

		if (strcmp(want, "ONCE") == 0)
			want = l->seen ? "PAM_AUTH_ERR" : "PAM_SUCCESS";
		l->seen = 1;
		if (strcmp(pj_pam_name(r), want) != 0) {
			if (bad++ < 20)
				printf("MISMATCH round %ld: %s %s: %s, want %s\n", i, l->service, l->user, pj_pam_name(r), want);
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
