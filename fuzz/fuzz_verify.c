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

static struct pj_config *plain, *mapped;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *jwks = fuzz_path("keys.jwks"), *map = fuzz_path("map");
	char *buf;
	size_t len;

	(void)argc;
	(void)argv;
	buf = fuzz_read(PJ_FUZZ_DATA "/keys.jwks", &len);
	fuzz_write(jwks, buf, len, 0644);
	free(buf);
	fuzz_write(map, FUZZ_MAP, strlen(FUZZ_MAP), 0644);
	plain = fuzz_config(jwks, NULL);
	mapped = fuzz_config(jwks, map);
	free(jwks);
	free(map);
	return 0;
}

int
fuzz_one(const uint8_t *data, size_t size)
{
	struct pj_result res;

	pj_verify(plain, NULL, (const char *)data, size, "alice", FUZZ_NOW, PJ_VERIFY_NO_FETCH, &res);
	fuzz_check_result(&res, "alice");
	pj_verify(plain, NULL, (const char *)data, size, NULL, FUZZ_NOW, PJ_VERIFY_NO_FETCH, &res);
	fuzz_check_result(&res, NULL);
	pj_verify(mapped, NULL, (const char *)data, size, "bob", FUZZ_NOW, PJ_VERIFY_NO_FETCH, &res);
	fuzz_check_result(&res, "bob");
	return 0;
}
