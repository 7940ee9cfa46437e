/*
 * main() for a fuzz target in a build without libFuzzer (gcc, the base and
 * the sanitizer builds): runs each input file, or each file of each folder
 * given, once through LLVMFuzzerTestOneInput, so that every committed
 * corpus input is a regression test of every build. An invariant that
 * fails aborts (fuzz_fail), as under libFuzzer.
 *
 *   fuzz_TARGET FILE|DIR ...
 *
 * Prints "replay: N inputs" and exits 0; 2 on an unreadable input.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* The largest input any target takes (fuzz/test_fuzz.sh, maxlen). */
#define REPLAY_MAX (64 * 1024)

static int
run_file(const char *path, unsigned long *n)
{
	static uint8_t buf[REPLAY_MAX + 1];
	uint8_t *copy;
	FILE *f;
	size_t len;
	int r = 0;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: cannot open\n", path);
		return 2;
	}
	len = fread(buf, 1, sizeof(buf), f);
	if (ferror(f) || len > REPLAY_MAX) {
		fprintf(stderr, "replay: %s: unreadable or over %d bytes\n", path, REPLAY_MAX);
		r = 2;
	}
	fclose(f);
	if (r != 0)
		return r;
	/* An exact-size copy, as libFuzzer gives: ASan sees a read past it. */
	if ((copy = malloc(len > 0 ? len : 1)) == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		return 2;
	}
	memcpy(copy, buf, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	(*n)++;
	return 0;
}

static int
run_dir(const char *dir, unsigned long *n)
{
	struct dirent **names = NULL;
	int k, r = 0;

	/* Sorted: the same order on every machine. */
	if ((k = scandir(dir, &names, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: cannot list\n", dir);
		return 2;
	}
	for (int i = 0; i < k; i++) {
		char path[4096];
		struct stat st;

		if (names[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path, n) != 0)
			r = 2;
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	unsigned long n = 0;
	int r = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	/* libFuzzer starts with the empty input too. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			r |= run_dir(argv[i], &n);
		else
			r |= run_file(argv[i], &n);
	}
	printf("replay: %lu inputs\n", n);
	return r;
}
