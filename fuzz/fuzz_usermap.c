/*
 * The user map: the input up to its first NUL is a map file
 * (pj_usermap_load_buf), the rest are claim values separated by NULs
 * (a few fixed values when there are none) mapped through it
 * (pj_usermap_map). Invariants: a mapped name is always a safe name of at
 * most 32 bytes, written within the caller's buffer; a value holding a NUL
 * byte matches no rule (no rule can hold one: strcmp would be a bug).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "usermap.h"

#define VALUES_MAX 16
#define CAP 33

static const char *const fixed[] = {
	"alice@example.test", "repo:acme/api:ref:refs/heads/main",
	"system:serviceaccount:ops:deployer", "login-bob-17", "", "*", "root", "ALICE",
};

static void
map_one(const struct pj_usermap *map, const char *v, size_t len)
{
	char out[CAP + 8];
	int r;

	memset(out, 0x5a, sizeof(out));
	r = pj_usermap_map(map, v, len, out, CAP, NULL);
	if (memchr(out, '\0', CAP) == NULL)
		fuzz_fail("the mapped name is not terminated within the buffer");
	for (size_t i = CAP; i < sizeof(out); i++)
		if (out[i] != 0x5a)
			fuzz_fail("written past the buffer");
	if (r == 0) {
		if (memchr(v, '\0', len) != NULL)
			fuzz_fail("a value holding a NUL was mapped");
		if (!pj_user_name_safe(out, strlen(out)) || strlen(out) > 32)
			fuzz_fail("mapped to an unsafe name");
	} else if (r != PJ_ERR_NO_USER_MAPPING && r != PJ_ERR_BAD_USER_NAME) {
		fuzz_fail("a mapping failed for another reason");
	} else if (out[0] != '\0') {
		fuzz_fail("a name left behind by a failed mapping");
	}
}

int
fuzz_one(const uint8_t *data, size_t size)
{
	char *parts[VALUES_MAX + 1];
	size_t lens[VALUES_MAX + 1], n;
	struct pj_usermap *map = NULL;
	int r;

	n = fuzz_split(data, size, '\0', parts, lens, VALUES_MAX + 1);
	r = pj_usermap_load_buf(parts[0], lens[0], "fuzz.map", NULL, &map);
	if (r != 0) {
		if (r != PJ_ERR_CONFIG || map != NULL)
			fuzz_fail("a map refused for another reason than a configuration error");
		goto out;
	}
	if (n == 1) {
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			map_one(map, fixed[i], strlen(fixed[i]));
		/* The same value with a NUL inside: never a match. */
		map_one(map, "alice@example.test\0x", 20);
	}
	for (size_t i = 1; i < n; i++)
		map_one(map, parts[i], lens[i]);
out:
	pj_usermap_free(map);
	fuzz_free_parts(parts, n);
	return 0;
}
