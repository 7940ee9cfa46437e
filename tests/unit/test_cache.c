/* The key cache's .meta: freshness as each reader judges it (its own
 * cache_ttl, the response's max-age, the jitter drawn at each fetch), the
 * spread of the jitter, and the file format (this release's keys, an older
 * writer's, unknown keys skipped, bad values refused). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cache.h"
#include "conf.h"
#include "err.h"

#define FETCHED INT64_C(1700000000)
#define FILLS 1000

static struct pj_meta
meta(int64_t max_age, long jitter)
{
	struct pj_meta m;

	pj_meta_init(&m);
	m.fetched = FETCHED;
	m.max_age = max_age;
	m.jitter = jitter;
	return m;
}

/* T: this line's cache_ttl; else max-age clamped to [60, 86400]; else 3600. */
static void
test_lifetime(void **state)
{
	struct pj_meta m = meta(300, 0);

	(void)state;
	assert_int_equal(pj_meta_lifetime(&m, 0), 300);
	assert_int_equal(pj_meta_lifetime(&m, 77), 77);
	assert_int_equal(pj_meta_lifetime(&m, 604800), 604800);
	m.max_age = 10;
	assert_int_equal(pj_meta_lifetime(&m, 0), 60);
	m.max_age = 999999;
	assert_int_equal(pj_meta_lifetime(&m, 0), 86400);
	m.max_age = -1;
	assert_int_equal(pj_meta_lifetime(&m, 0), 3600);
	assert_int_equal(pj_meta_lifetime(&m, 60), 60);
}

/* One .meta, two readers: each judges with its own cache_ttl, whoever filled it. */
static void
test_reader_settings(void **state)
{
	struct pj_meta m = meta(300, 0);

	(void)state;
	assert_int_equal(pj_meta_fresh_deadline(&m, 60), FETCHED + 60);
	assert_int_equal(pj_meta_fresh_deadline(&m, 604800), FETCHED + 604800);
	assert_int_equal(pj_meta_fresh_deadline(&m, 0), FETCHED + 300);
	/* A writer's fresh_until is not what this release reads. */
	m.fresh_until = FETCHED + 604800;
	assert_int_equal(pj_meta_fresh_deadline(&m, 60), FETCHED + 60);
	/* Never fetched: no deadline. */
	m.fetched = -1;
	assert_int_equal(pj_meta_fresh_deadline(&m, 60), -1);
}

/* An older writer's .meta (no jitter): its fresh_until. */
static void
test_old_format_deadline(void **state)
{
	struct pj_meta m = meta(-1, -1);

	(void)state;
	m.fresh_until = FETCHED + 123;
	assert_int_equal(pj_meta_fresh_deadline(&m, 0), FETCHED + 123);
	assert_int_equal(pj_meta_fresh_deadline(&m, 60), FETCHED + 123);
}

/* now < fetched + T - T*j/10^6, exactly, for a whole now. */
static void
test_deadline_rounding(void **state)
{
	struct pj_meta m = meta(-1, 1500);	/* T = 1000: 1.5 s earlier */

	(void)state;
	/* now = fetched + 998 is fresh (998 < 998.5), fetched + 999 is not. */
	assert_int_equal(pj_meta_fresh_deadline(&m, 1000), FETCHED + 999);
	m.jitter = 2000;	/* exactly 2 s earlier: fetched + 997 fresh, 998 not */
	assert_int_equal(pj_meta_fresh_deadline(&m, 1000), FETCHED + 998);
	m.jitter = PJ_JITTER_MAX;	/* 604800 * 99999 / 10^6 = 60479.3952 */
	assert_int_equal(pj_meta_fresh_deadline(&m, 604800), FETCHED + 604800 - 60479);
	m.jitter = 0;
	assert_int_equal(pj_meta_fresh_deadline(&m, 604800), FETCHED + 604800);
}

/* 1000 fills of one cache spread their deadlines over the whole
 * [0.9 T, T] range, never past T. */
static void
test_jitter_spread(void **state)
{
	static const long ttls[] = {60, 3600, 86400, 604800};

	(void)state;
	for (size_t t = 0; t < sizeof(ttls) / sizeof(ttls[0]); t++) {
		int64_t T = ttls[t], lo = INT64_MAX, hi = INT64_MIN;
		/* The lowest and highest 2% of [0.9 T, T], at least a second each. */
		int64_t edge = T / 500 > 0 ? T / 500 : 1;
		int low = 0, high = 0;

		for (int i = 0; i < FILLS; i++) {
			struct pj_meta m = meta(-1, pj_meta_jitter_draw());
			int64_t d;

			assert_in_range(m.jitter, 0, PJ_JITTER_MAX);
			d = pj_meta_fresh_deadline(&m, (long)T) - FETCHED;
			assert_true(10 * d >= 9 * T);	/* at least 0.9 T */
			assert_true(d <= T);		/* never past T */
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
			low += d <= T - T / 10 + edge;
			high += d >= T - edge;
		}
		print_message("# T=%lld: deadlines in [%lld, %lld]; %d in the lowest 2%%, %d in the highest\n",
		    (long long)T, (long long)lo, (long long)hi, low, high);
		assert_true(low > 0);
		assert_true(high > 0);
	}
}

/* ---------------------------------------------------------------- files */

static char dir[] = "/tmp/pj-test-cache-XXXXXX";
static char meta_path[sizeof(dir) + 80];
static struct pj_configs *set;
static const struct pj_config *cfg;

static int
setup(void **state)
{
	char a_dir[sizeof(dir) + 16];
	const char *args[] = {"issuer=https://issuer.test", "audience=ssh://host1",
		"jwks_uri=https://issuer.test/jwks", a_dir};
	struct pj_cache *c = NULL;
	const char *jp;

	(void)state;
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return -1;
	snprintf(a_dir, sizeof(a_dir), "cache_dir=%s", dir);
	if (pj_configs_load(4, args, PJ_CONF_MODULE, NULL, &set) != 0)
		return -1;
	cfg = set->v[0];
	if (pj_cache_open(cfg, NULL, 0, &c) != 0)
		return -1;
	jp = pj_cache_jwks_path(c);
	snprintf(meta_path, sizeof(meta_path), "%.*s.meta", (int)(strlen(jp) - 5), jp);
	pj_cache_close(c);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(meta_path);
	rmdir(dir);
	pj_configs_free(set);
	return 0;
}

static void
put(const char *text)
{
	FILE *f = fopen(meta_path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(meta_path, 0644), 0);
}

/* Read meta_path: 0 when trusted. */
static int
get(struct pj_meta *m)
{
	struct pj_cache *c = NULL;
	int bad = -1;

	assert_int_equal(pj_cache_open(cfg, NULL, 0, &c), 0);
	assert_int_equal(pj_cache_read_meta(c, NULL, m, &bad), 0);
	pj_cache_close(c);
	return bad;
}

static void
test_meta_round_trip(void **state)
{
	struct pj_cache *c = NULL;
	struct pj_meta m = meta(300, 4321), r;
	char buf[512];
	FILE *f;
	size_t n;

	(void)state;
	m.fresh_until = pj_meta_fresh_deadline(&m, 0);
	assert_int_equal(pj_cache_open(cfg, NULL, 0, &c), 0);
	assert_int_equal(pj_cache_write_meta(c, NULL, &m), 0);
	pj_cache_close(c);
	assert_non_null(f = fopen(meta_path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Plain integers: the previous version still finds fetched and fresh_until. */
	assert_string_equal(buf, "fetched=1700000000\nmax_age=300\njitter=4321\nfresh_until=1700000299\n");
	assert_int_equal(get(&r), 0);
	assert_int_equal(r.fetched, FETCHED);
	assert_int_equal(r.max_age, 300);
	assert_int_equal(r.jitter, 4321);
	assert_int_equal(pj_meta_fresh_deadline(&r, 60), FETCHED + 60);
	pj_meta_clear(&r);

	m.max_age = -1;
	assert_int_equal(pj_cache_open(cfg, NULL, 0, &c), 0);
	assert_int_equal(pj_cache_write_meta(c, NULL, &m), 0);
	pj_cache_close(c);
	assert_int_equal(get(&r), 0);
	assert_int_equal(r.max_age, -1);
	assert_int_equal(r.jitter, 4321);
	pj_meta_clear(&r);
}

static void
test_meta_formats(void **state)
{
	static const char *const refused[] = {
		"fetched=1700000000\nmax_age=300\njitter=100000\n",	/* jitter over its range */
		"fetched=1700000000\nmax_age=300\njitter=-1\n",
		"fetched=1700000000\nmax_age=300\njitter=01\n",
		"fetched=1700000000\nmax_age=-1\njitter=1\n",
		"fetched=1700000000\nmax_age=3.5\njitter=1\n",
		"fetched=1700000000\nmax_age=300\n",	/* max_age without jitter */
		"fetched=1700000000\njitter=5\n",	/* and the reverse */
		"fetched=1700000000\n",	/* nothing to judge by */
		"max_age=300\njitter=5\n",	/* no fetch time */
		"fetched=1700000000\nmax_age=300\njitter=5\njitter=5\n",	/* repeated */
		"fetched=1700000000\nmax_age=300\njitter=5\n=x\n",	/* no key */
		"fetched=1700000000\nmax_age=300\njitter=5",	/* truncated */
	};
	struct pj_meta r;

	(void)state;
	/* An older writer's .meta. */
	put("attempt_at=1700000000\nattempt_cause=empty\nfetched=1700000000\nfresh_until=1700000300\n");
	assert_int_equal(get(&r), 0);
	assert_int_equal(r.jitter, -1);
	assert_int_equal(pj_meta_fresh_deadline(&r, 60), FETCHED + 300);
	assert_string_equal(r.attempt_cause, "empty");
	pj_meta_clear(&r);
	/* A newer writer's: keys this release does not know are skipped. */
	put("fetched=1700000000\nmax_age=-\njitter=0\nlater_key=anything at all\nfresh_until=1700003600\n");
	assert_int_equal(get(&r), 0);
	assert_int_equal(r.max_age, -1);
	assert_int_equal(pj_meta_fresh_deadline(&r, 0), FETCHED + 3600);
	pj_meta_clear(&r);
	/* No fresh_until at all: this release needs none. */
	put("fetched=1700000000\nmax_age=100000\njitter=99999\n");
	assert_int_equal(get(&r), 0);
	assert_int_equal(pj_meta_fresh_deadline(&r, 0), FETCHED + 86400 - 8639);
	pj_meta_clear(&r);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		put(refused[i]);
		if (get(&r) != 1)
			fail_msg("taken: %s", refused[i]);
		assert_int_equal(r.fetched, -1);
		pj_meta_clear(&r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_reader_settings),
		cmocka_unit_test(test_old_format_deadline),
		cmocka_unit_test(test_deadline_rounding),
		cmocka_unit_test(test_jitter_spread),
		cmocka_unit_test(test_meta_round_trip),
		cmocka_unit_test(test_meta_formats),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
