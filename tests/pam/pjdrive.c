/*
 * pjdrive: one (or N concurrent) real libpam authentications against a
 * service file in a test folder, through pam_start_confdir (no pam_wrapper:
 * its temporary folders collide under concurrency).
 *
 *   pjdrive --confdir DIR --service NAME --user USER [--answers FILE]
 *           [--max-answer N] [--parallel N] [--rounds N] [--rhost HOST]
 *
 * Each PAM_PROMPT_ECHO_OFF prompt is printed as "PROMPT <text>" and answered
 * with the next line of FILE; none left, or an answer longer than
 * --max-answer (a client that refuses long answers, as sudo does at 512),
 * is a conversation error. An answer line "HEX:..." is those bytes. Prints "RESULT <name> <code>" per login and
 * exits with the last code; with --parallel, one "RESULT" line per login
 * and "COUNT <name> <n>" lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "pjpam.h"

struct convdata {
	char **answers;
	size_t n, next;
	size_t max_answer;
	int quiet;
};

static int
conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct convdata *cd = data;
	struct pam_response *r = calloc((size_t)num, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			if (!cd->quiet)
				printf("PROMPT %s\n", msg[i]->msg);
			if (cd->next >= cd->n || strlen(cd->answers[cd->next]) > cd->max_answer) {
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_CONV_ERR;
			}
			r[i].resp = strdup(cd->answers[cd->next++]);
			break;
		default:
			if (!cd->quiet)
				printf("MSG %s\n", msg[i]->msg);
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static char **
read_lines(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char **v = NULL, *line = NULL;
	size_t cap = 0;
	ssize_t got;

	*n = 0;
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	while ((got = getline(&line, &cap, f)) >= 0) {
		if (got > 0 && line[got - 1] == '\n')
			line[got - 1] = '\0';
		v = realloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = strdup(line);
	}
	free(line);
	fclose(f);
	return v;
}

static void
free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const char *rhost;

static int
login(const char *confdir, const char *service, const char *user, struct convdata *cd)
{
	struct pam_conv pc = {conv, cd};

	cd->next = 0;
	return pj_pam_login(confdir, service, user, rhost, &pc);
}

/* An answer "HEX:..." is those bytes (a line cannot hold a newline). */
static void
unhex_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *s = v[i], *o = v[i];

		if (strncmp(s, "HEX:", 4) != 0)
			continue;
		for (s += 4; s[0] != '\0' && s[1] != '\0'; s += 2) {
			unsigned int b;

			if (sscanf(s, "%2x", &b) != 1 || b == 0)
				break;
			*o++ = (char)b;
		}
		*o = '\0';
	}
}

int
main(int argc, char **argv)
{
	const char *confdir = NULL, *service = NULL, *user = NULL;
	struct convdata cd = {NULL, 0, 0, (size_t)-1, 0};
	int parallel = 0, rounds = 1, r = PAM_ABORT;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--confdir") == 0)
			confdir = argv[i + 1];
		else if (strcmp(argv[i], "--service") == 0)
			service = argv[i + 1];
		else if (strcmp(argv[i], "--user") == 0)
			user = argv[i + 1];
		else if (strcmp(argv[i], "--answers") == 0)
			cd.answers = read_lines(argv[i + 1], &cd.n);
		else if (strcmp(argv[i], "--rhost") == 0)
			rhost = argv[i + 1];
		else if (strcmp(argv[i], "--max-answer") == 0)
			cd.max_answer = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--parallel") == 0)
			parallel = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
		else {
			fprintf(stderr, "pjdrive: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	unhex_lines(cd.answers, cd.n);
	if (confdir == NULL || service == NULL || user == NULL) {
		fprintf(stderr, "usage: pjdrive --confdir DIR --service NAME --user USER [...]\n");
		return 2;
	}
	if (parallel <= 0) {
		for (int i = 0; i < rounds; i++) {
			r = login(confdir, service, user, &cd);
			printf("RESULT %s %d\n", pj_pam_name(r), r);
		}
		fflush(stdout);
		free_lines(cd.answers, cd.n);	/* a sanitizer build checks for leaks */
		return r;
	}
	/* N processes at once, as N sshd children would be. */
	{
		int fds[2], counts[64] = {0};
		pid_t pid;

		cd.quiet = 1;
		if (pipe(fds) != 0)
			return PAM_ABORT;
		fflush(stdout);
		for (int i = 0; i < parallel; i++) {
			if ((pid = fork()) == 0) {
				unsigned char c;

				close(fds[0]);
				for (int j = 0; j < rounds; j++) {
					c = (unsigned char)login(confdir, service, user, &cd);
					if (write(fds[1], &c, 1) != 1)
						_exit(1);
				}
				_exit(0);
			}
		}
		close(fds[1]);
		{
			unsigned char c;

			while (read(fds[0], &c, 1) == 1)
				if (c < 64)
					counts[c]++;
		}
		while (wait(NULL) > 0 || errno == EINTR)
			;
		for (int c = 0; c < 64; c++)
			if (counts[c] > 0)
				printf("COUNT %s %d\n", pj_pam_name(c), counts[c]);
		/* Flushed before exit: a sanitizer's exit does not flush stdio. */
		fflush(stdout);
		free_lines(cd.answers, cd.n);
		return 0;
	}
}
