/*
 * pjloop: many authentications in one process through the real libpam, for
 * valgrind and the sanitizers: each round takes the next line of a plan
 * (cycling), runs pam_start_confdir / pam_authenticate / pam_end and
 * compares the result.
 *
 *   pjloop --confdir DIR --plan FILE --rounds N [--threads T]
 *          [--swap DIR_A DIR_B --swap-ms MS]
 *   pjloop --confdir DIR --stdin
 *
 * Plan lines: "SERVICE USER EXPECTED TOKEN", EXPECTED a PAM result name,
 * or ONCE (PAM_SUCCESS the first time, PAM_AUTH_ERR after: a one-time jti;
 * one thread only). Prints "ROUNDS n MISMATCHES m" and each mismatch; exits
 * 1 on any. With one thread it also prints "MEM AT n HEAP h RSS r" after
 * login 100 and after the last (bytes in use by malloc, resident KiB).
 *
 * --threads: T threads share the rounds. --swap: meanwhile a thread
 * exchanges the two folders (renameat2 RENAME_EXCHANGE) every MS ms, so
 * the files inside change identity but keep their times; prints "SWAPS k".
 *
 * --stdin: one plan line at a time from stdin, answered "OK" or "GOT NAME"
 * on stdout at once, so that a test changes files between two logins of
 * one process. "fork LINE": a child forked now runs that login ("OK", or
 * "GOT CHILD").
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "../pam/pjpam.h"

struct line {
	char *service, *user, *expect, *token;
	int seen;
};

struct run {
	const char *confdir;
	struct line *lines;
	size_t n;
	long rounds;
	long next, bad;		/* shared by the threads (atomic) */
	int done;
	const char *swap_a, *swap_b;
	long swap_ms, swaps;
	pthread_mutex_t out;
};

static int
parse_line(char *buf, struct line *l)
{
	buf[strcspn(buf, "\n")] = '\0';
	if ((l->service = strtok(buf, " ")) == NULL || (l->user = strtok(NULL, " ")) == NULL ||
	    (l->expect = strtok(NULL, " ")) == NULL || (l->token = strtok(NULL, "")) == NULL)
		return -1;
	l->seen = 0;
	return 0;
}

static int
login(const char *confdir, struct line *l)
{
	struct pam_conv pc = {pj_pam_conv_token, l->token};

	return pj_pam_login(confdir, l->service, l->user, NULL, &pc);
}

static void
mem(long at)
{
	struct mallinfo2 mi = mallinfo2();
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	printf("MEM AT %ld HEAP %zu RSS %ld\n", at, mi.uordblks, rss * (sysconf(_SC_PAGESIZE) / 1024));
}

static void *
worker(void *arg)
{
	struct run *run = arg;
	long i;

	while ((i = __atomic_fetch_add(&run->next, 1, __ATOMIC_RELAXED)) < run->rounds) {
		struct line *l = &run->lines[i % (long)run->n];
		int r = login(run->confdir, l);

		if (strcmp(pj_pam_name(r), l->expect) != 0 &&
		    __atomic_fetch_add(&run->bad, 1, __ATOMIC_RELAXED) < 20) {
			pthread_mutex_lock(&run->out);
			printf("MISMATCH round %ld: %s %s: %s, want %s\n", i, l->service, l->user,
			    pj_pam_name(r), l->expect);
			pthread_mutex_unlock(&run->out);
		}
	}
	return NULL;
}

static void *
swapper(void *arg)
{
	struct run *run = arg;
	struct timespec ts = {run->swap_ms / 1000, (run->swap_ms % 1000) * 1000000};

	while (!__atomic_load_n(&run->done, __ATOMIC_ACQUIRE)) {
		nanosleep(&ts, NULL);
		if (renameat2(AT_FDCWD, run->swap_a, AT_FDCWD, run->swap_b, RENAME_EXCHANGE) != 0) {
			perror("renameat2");
			exit(2);
		}
		run->swaps++;
	}
	return NULL;
}

/* Several threads (and the swapper): a plan without ONCE lines. */
static int
threaded(struct run *run, int nthreads)
{
	pthread_t th[64], sw;

	for (size_t i = 0; i < run->n; i++)
		if (strcmp(run->lines[i].expect, "ONCE") == 0)
			return 2;
	if (run->swap_a != NULL && pthread_create(&sw, NULL, swapper, run) != 0)
		return 2;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, run) != 0)
			return 2;
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&run->done, 1, __ATOMIC_RELEASE);
	if (run->swap_a != NULL) {
		pthread_join(sw, NULL);
		printf("SWAPS %ld\n", run->swaps);
	}
	printf("ROUNDS %ld MISMATCHES %ld\n", run->rounds, run->bad);
	return run->bad != 0;
}

static int
sequential(struct run *run)
{
	for (long i = 0; i < run->rounds; i++) {
		struct line *l = &run->lines[i % (long)run->n];
		const char *want = l->expect;
		int r = login(run->confdir, l);

		if (strcmp(want, "ONCE") == 0)
			want = l->seen ? "PAM_AUTH_ERR" : "PAM_SUCCESS";
		l->seen = 1;
		if (strcmp(pj_pam_name(r), want) != 0) {
			if (run->bad++ < 20)
				printf("MISMATCH round %ld: %s %s: %s, want %s\n", i, l->service, l->user, pj_pam_name(r), want);
		}
		if (i + 1 == 100 || i + 1 == run->rounds)
			mem(i + 1);
	}
	printf("ROUNDS %ld MISMATCHES %ld\n", run->rounds, run->bad);
	return run->bad != 0;
}

/* Driven line by line by a test that changes files in between. */
static int
interactive(const char *confdir)
{
	char *buf = NULL;
	size_t cap = 0;

	while (getline(&buf, &cap, stdin) > 0) {
		int child = strncmp(buf, "fork ", 5) == 0, status = 0, r;
		struct line l;
		pid_t pid;

		if (parse_line(buf + (child ? 5 : 0), &l) != 0) {
			printf("BAD LINE\n");
			fflush(stdout);
			continue;
		}
		if (child) {
			fflush(stdout);
			if ((pid = fork()) == 0)
				_exit(strcmp(pj_pam_name(login(confdir, &l)), l.expect) == 0 ? 0 : 1);
			if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
			    WEXITSTATUS(status) != 0)
				printf("GOT CHILD\n");
			else
				printf("OK\n");
			fflush(stdout);
			continue;
		}
		r = login(confdir, &l);
		if (strcmp(pj_pam_name(r), l.expect) == 0)
			printf("OK\n");
		else
			printf("GOT %s\n", pj_pam_name(r));
		fflush(stdout);
	}
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct run run;
	const char *plan = NULL;
	size_t cap = 0, lcap = 0;
	int nthreads = 1, use_stdin = 0, rc;
	char *buf = NULL;
	FILE *f;

	memset(&run, 0, sizeof(run));
	pthread_mutex_init(&run.out, NULL);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stdin") == 0)
			use_stdin = 1;
		else if (i + 1 >= argc)
			break;
		else if (strcmp(argv[i], "--confdir") == 0)
			run.confdir = argv[++i];
		else if (strcmp(argv[i], "--plan") == 0)
			plan = argv[++i];
		else if (strcmp(argv[i], "--rounds") == 0)
			run.rounds = atol(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--swap-ms") == 0)
			run.swap_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--swap") == 0 && i + 2 < argc) {
			run.swap_a = argv[++i];
			run.swap_b = argv[++i];
		}
	}
	if (run.confdir != NULL && use_stdin)
		return interactive(run.confdir);
	if (run.confdir == NULL || plan == NULL || run.rounds <= 0 || nthreads < 1 || nthreads > 64 ||
	    (f = fopen(plan, "r")) == NULL) {
		fprintf(stderr, "usage: pjloop --confdir DIR --plan FILE --rounds N [--threads T] "
		    "[--swap DIR_A DIR_B --swap-ms MS] | --confdir DIR --stdin\n");
		return 2;
	}
	while (getline(&buf, &lcap, f) > 0) {
		struct line l;

		if (parse_line(buf, &l) != 0)
			continue;
		if (run.n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((run.lines = realloc(run.lines, cap * sizeof(*run.lines))) == NULL)
				return 2;
		}
		l.service = strdup(l.service);
		l.user = strdup(l.user);
		l.expect = strdup(l.expect);
		l.token = strdup(l.token);
		run.lines[run.n++] = l;
	}
	free(buf);
	fclose(f);
	if (run.n == 0)
		return 2;
	rc = nthreads > 1 || run.swap_a != NULL ? threaded(&run, nthreads) : sequential(&run);
	for (size_t i = 0; i < run.n; i++) {
		free(run.lines[i].service);
		free(run.lines[i].user);
		free(run.lines[i].expect);
		free(run.lines[i].token);
	}
	free(run.lines);
	return rc;
}
