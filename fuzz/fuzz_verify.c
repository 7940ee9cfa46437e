/*
 * The whole verdict path: token bytes in, pj_verify out, against a fixed
 * JWKS (every key type, fuzz/keys.jwks), a fixed clock and a fixed user
 * database; no network, no state written. Two configurations: the plain one,
 * and one with a user_map, require_claims, a JSON Pointer user_claim and
 * max_lifetime. Invariants: an accepted token verified and maps to a safe
 * name equal to PAM_USER; a format or header failure never verified; token
 * fields in the result are escaped printable ASCII.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "fuzz_verdict.h"
#include "verify.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t len;
	char *buf = fuzz_read(PJ_FUZZ_DATA "/keys.jwks", &len);

	(void)argc;
	(void)argv;
	fuzz_verdict_init(buf, len);
	free(buf);
	return 0;
}

int
fuzz_one(const uint8_t *data, size_t size)
{
	fuzz_verdicts((const char *)data, size);
	return 0;
}
