/*
 * The cache file reader: the input is a flags byte, then the .meta text,
 * a NUL, and the .jwks document, written under a private cache_dir at the
 * names the configuration gives; then a login's key acquisition without
 * fetching (pj_keys_open with PJ_VERIFY_NO_FETCH, pj_keys_get, a kid miss)
 * and the cache API's own readers. Flags: bit 0 no .meta, bit 1 no .jwks,
 * bit 2 .jwks group-writable, bit 3 .meta group-writable, bit 4 .jwks a
 * symbolic link, bits 5-7 the clock (FUZZ_NOW plus 0, 59, 3600, 3601,
 * 7200, 86400, -3600, 10^9 s). Invariants: keys come back only from a
 * trusted, well-formed .meta with a fetch time, within the freshness
 * deadline (never past fetched + T) + stale_max, and a set with at least one usable key; reading never
 * changes a file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alg.h"
#include "cache.h"
#include "conf.h"
#include "err.h"
#include "fuzz.h"
#include "jwk.h"
#include "keys.h"
#include "verify.h"

static struct pj_configs *cfg;
static char *meta_path, *jwks_path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = fuzz_path("cache"), a_dir[512];
	const char *args[] = {
		"issuer=https://issuer.fuzz.test", "audience=ssh://host1",
		"jwks_uri=https://issuer.fuzz.test/jwks", a_dir, "stale_max=3600",
		"fetch_helper=/nonexistent/pam_jwt_fetch",
	};
	struct pj_cache *c = NULL;
	size_t n;

	(void)argc;
	(void)argv;
	if (mkdir(dir, 0755) != 0)
		fuzz_fail("mkdir cache_dir");
	snprintf(a_dir, sizeof(a_dir), "cache_dir=%s", dir);
	if (pj_configs_load(6, args, PJ_CONF_MODULE | PJ_CONF_NO_REUSE, NULL, &cfg) != 0 ||
	    pj_cache_open(cfg->v[0], NULL, 0, &c) != 0)
		fuzz_fail("the configuration or the cache does not open");
	if ((jwks_path = strdup(pj_cache_jwks_path(c))) == NULL)
		fuzz_fail("paths");
	n = strlen(jwks_path) + 1;
	if (n < 6 || (meta_path = strdup(jwks_path)) == NULL)
		fuzz_fail("paths");
	memcpy(meta_path + n - 6, ".meta", 6);	/* <hex>.jwks -> <hex>.meta */
	pj_cache_close(c);
	free(dir);
	return 0;
}

/* A file's bytes (a symbolic link's target's), or NULL. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	FILE *f;
	char *buf;

	*len = 0;
	if (stat(path, &st) != 0 || (f = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		fuzz_fail("malloc");
	*len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	return buf;
}

int
fuzz_one(const uint8_t *data, size_t size)
{
	static const int64_t offsets[8] = {0, 59, 3600, 3601, 7200, 86400, -3600, 1000000000};
	const struct pj_jwks *set = NULL;
	struct pj_keys *k = NULL;
	struct pj_cache *c = NULL;
	struct pj_meta m;
	char *parts[2], *before[2], *after[2];
	size_t lens[2], blen[2], alen[2];
	unsigned flags;
	int64_t now, deadline;
	int r, bad = 0;

	if (size == 0)
		return 0;
	flags = data[0];
	now = FUZZ_NOW + offsets[flags >> 5];
	if (fuzz_split(data + 1, size - 1, '\0', parts, lens, 2) < 2) {
		if ((parts[1] = strdup("")) == NULL)
			fuzz_fail("strdup");
		lens[1] = 0;
	}
	unlink(meta_path);
	unlink(jwks_path);
	if (!(flags & 1))
		fuzz_write(meta_path, parts[0], lens[0], flags & 8 ? 0664 : 0644);
	if (!(flags & 2)) {
		if (flags & 16) {
			char *target = fuzz_path("jwks.target");

			fuzz_write(target, parts[1], lens[1], 0644);
			if (symlink(target, jwks_path) != 0)
				fuzz_fail("symlink");
			free(target);
		} else
			fuzz_write(jwks_path, parts[1], lens[1], flags & 4 ? 0664 : 0644);
	}
	before[0] = slurp(meta_path, &blen[0]);
	before[1] = slurp(jwks_path, &blen[1]);

	/* A login's key acquisition, never fetching. */
	if (pj_keys_open(cfg->v[0], NULL, now, PJ_VERIFY_NO_FETCH | PJ_VERIFY_NO_REUSE, &k) != 0)
		fuzz_fail("pj_keys_open");
	r = pj_keys_get(k, &set);
	if (r != 0 && r != PJ_ERR_KEYS_UNAVAILABLE)
		fuzz_fail("key acquisition ended in neither keys nor keys_unavailable");
	/* What the cache API reads, for the invariants. */
	if (pj_cache_open(cfg->v[0], NULL, 0, &c) != 0)
		fuzz_fail("pj_cache_open");
	if (pj_cache_read_meta(c, NULL, &m, &bad) != 0)
		fuzz_fail("pj_cache_read_meta");
	if (!bad && (m.fetched >= 0) != (m.fresh_until >= 0 || m.jitter >= 0))
		fuzz_fail("a .meta with fetched but no deadline, or the reverse, was taken");
	deadline = pj_meta_fresh_deadline(&m, cfg->v[0]->cache_ttl);
	if (!bad && (m.jitter > PJ_JITTER_MAX ||
	    (m.jitter >= 0 && deadline > m.fetched + pj_meta_lifetime(&m, cfg->v[0]->cache_ttl))))
		fuzz_fail("a jitter out of range, or a deadline past fetched + T");
	if (r == 0) {
		if (set == NULL || set->n == 0)
			fuzz_fail("keys without a usable key");
		if ((flags & 0x1f) != 0 || bad)
			fuzz_fail("keys from a missing or untrusted cache file");
		if (m.fetched < 0 || !(now < deadline + cfg->v[0]->stale_max))
			fuzz_fail("keys without a fetch time, or past stale_max");
		for (int a = 0; a < PJ_ALG_COUNT; a++) {
			const struct pj_jwk *key = NULL;

			(void)pj_jwks_choose(set, a, NULL, &key);
			for (size_t i = 0; i < set->n; i++)
				(void)pj_jwks_choose(set, a, set->keys[i].kid, &key);
		}
		if (pj_keys_kid_miss(k, &set) != 0 || set == NULL)
			fuzz_fail("a kid miss without fetching lost the set");
	}
	{
		char *buf = NULL;
		size_t len = 0;

		if (pj_cache_read_jwks(c, NULL, &buf, &len) == 0 && (flags & (2 | 4 | 16)))
			fuzz_fail("an untrusted or missing .jwks was read");
		free(buf);
	}
	pj_meta_clear(&m);
	pj_cache_close(c);
	pj_keys_close(k);

	/* Reading never changes a file. */
	after[0] = slurp(meta_path, &alen[0]);
	after[1] = slurp(jwks_path, &alen[1]);
	for (int i = 0; i < 2; i++) {
		if ((before[i] == NULL) != (after[i] == NULL) || blen[i] != alen[i] ||
		    (blen[i] > 0 && memcmp(before[i], after[i], blen[i]) != 0))
			fuzz_fail("a cache file changed while only reading");
		free(before[i]);
		free(after[i]);
	}
	fuzz_free_parts(parts, 2);
	return 0;
}
