/* Shared pieces of the libFuzzer targets: a private scratch folder, file
 * writes, input splitting, and a fixed user database (getpwnam_r is
 * wrapped at link time: -Wl,--wrap=getpwnam_r), so that every target runs
 * without root and gives the same verdicts on every machine. */
#ifndef PJ_FUZZ_H
#define PJ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The fixed clock of every target: 2025-10-09T08:53:20Z. */
#define FUZZ_NOW INT64_C(1760000000)

/* Optional, as for libFuzzer: only targets with set-up define it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Each target's body: LLVMFuzzerTestOneInput (fuzz.c) times it in CPU
 * time. An input slower than PJ_FUZZ_SLOW_MS (default 100) ms is saved as
 * slow-unit-MSms-N and reported; the slowest time is printed at exit. */
int fuzz_one(const uint8_t *data, size_t size);

/* A private folder (mode 0700) made once, removed at exit. */
const char *fuzz_dir(void);
/* fuzz_dir()/name, malloc()ed. */
char *fuzz_path(const char *name);
/* Write len bytes to path (replacing it atomically), mode as given; aborts
 * on failure: the harness, not the target, is broken then. */
void fuzz_write(const char *path, const void *buf, size_t len, unsigned mode);
/* Read a whole file (aborts on failure); NUL-terminated. */
char *fuzz_read(const char *path, size_t *len);

/*
 * Split [data, data + size) at each sep into at most max parts, each a
 * fresh NUL-terminated copy (free with fuzz_free_parts). The last part
 * holds the rest, separators included. Returns the count (>= 1).
 */
size_t fuzz_split(const uint8_t *data, size_t size, char sep, char **parts, size_t *lens,
    size_t max);
void fuzz_free_parts(char **parts, size_t n);

/* Abort with a message: an invariant of the code under test failed. */
void fuzz_fail(const char *what) __attribute__((noreturn));

#endif
