/* The user_map file (pam_jwt.conf(5), USER MAP) and the safe-name rule. */
#include "config.h"

#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "log.h"
#include "usermap.h"

static const struct pj_log lg = {NULL, 0, 0, NULL};

static struct pj_usermap *
load(const char *text)
{
	struct pj_usermap *m = NULL;

	assert_int_equal(pj_usermap_load_buf(text, strlen(text), "test.map", &lg, &m), 0);
	assert_non_null(m);
	return m;
}

static int
load_rc(const char *text)
{
	struct pj_usermap *m = NULL;
	int r = pj_usermap_load_buf(text, strlen(text), "test.map", &lg, &m);

	if (r != 0)
		assert_null(m);
	pj_usermap_free(m);
	return r;
}

/* Map a NUL-terminated value; the result in out. */
static int
map_s(const struct pj_usermap *m, const char *v, char out[33])
{
	return pj_usermap_map(m, v, strlen(v), out, 33, NULL);
}

static void
assert_maps(const struct pj_usermap *m, const char *v, const char *want)
{
	char out[33];

	assert_int_equal(map_s(m, v, out), 0);
	assert_string_equal(out, want);
}

static void
assert_no_map(const struct pj_usermap *m, const char *v)
{
	char out[33];

	assert_int_equal(map_s(m, v, out), PJ_ERR_NO_USER_MAPPING);
}

static void
test_exact(void **state)
{
	struct pj_usermap *m = load("alice@example.com alice\n");

	assert_maps(m, "alice@example.com", "alice");
	assert_no_map(m, "alice@example.co");
	assert_no_map(m, "alice@example.comm");
	assert_no_map(m, "Alice@example.com");	/* case-sensitive */
	assert_no_map(m, "");
	pj_usermap_free(m);
}

static void
test_glob_prefix(void **state)
{
	struct pj_usermap *m = load("repo:acme/api:* deploy\n");

	assert_maps(m, "repo:acme/api:ref:refs/heads/main", "deploy");
	assert_maps(m, "repo:acme/api:", "deploy");	/* '*' matches the empty run */
	assert_no_map(m, "repo:acme/apx:ref:refs/heads/main");
	assert_no_map(m, "repo:acme/api");
	assert_no_map(m, "REPO:acme/api:x");
	pj_usermap_free(m);
}

static void
test_glob_suffix(void **state)
{
	struct pj_usermap *m = load("*@ops.example ops\n");

	assert_maps(m, "bob@ops.example", "ops");
	assert_maps(m, "@ops.example", "ops");
	assert_no_map(m, "bob@ops.example.evil");
	assert_no_map(m, "bob@xops.example2");
	pj_usermap_free(m);
}

static void
test_glob_only_star_special(void **state)
{
	/* '?', '[' and '.' are plain bytes; several stars backtrack. */
	struct pj_usermap *m = load("ab?[d*x*wxyz g\n");

	assert_maps(m, "ab?[dQQxRRwxyz", "g");
	assert_maps(m, "ab?[dxwxyz", "g");
	assert_maps(m, "ab?[dxxwxyzwxyz", "g");
	assert_no_map(m, "abc[dQQxRRwxyz");
	assert_no_map(m, "ab?[dQQRRwxyz");
	assert_no_map(m, "ab?[dQQxRRwxy");
	pj_usermap_free(m);
}

static void
test_regex_captures(void **state)
{
	struct pj_usermap *m = load("~system:serviceaccount:([a-z0-9-]+):([a-z0-9-]+) k8s-\\1-\\2\n");

	assert_maps(m, "system:serviceaccount:prod:deployer", "k8s-prod-deployer");
	/* Whole-value match: nothing before, nothing after. */
	assert_no_map(m, "system:serviceaccount:prod:deployer:x");
	assert_no_map(m, "xsystem:serviceaccount:prod:deployer");
	assert_no_map(m, "system:serviceaccount:Prod:deployer");
	pj_usermap_free(m);
}

static void
test_regex_group_numbers(void **state)
{
	/* The user's groups keep their numbers; one that took no part is empty. */
	struct pj_usermap *m = load("~abcd-(x)?-([a-z]+) u\\1\\2\n");

	assert_maps(m, "abcd-x-foo", "uxfoo");
	assert_maps(m, "abcd--foo", "ufoo");
	assert_no_map(m, "abcd-y-foo");
	pj_usermap_free(m);
}

static void
test_user_self(void **state)
{
	struct pj_usermap *m = load("~user-[a-z]+ =\nsvc-* =\n");
	char out[33];

	assert_maps(m, "user-bob", "user-bob");
	assert_no_map(m, "user-Bob");
	assert_maps(m, "svc-a", "svc-a");
	assert_int_equal(map_s(m, "svc-A", out), PJ_ERR_BAD_USER_NAME);
	pj_usermap_free(m);
}

static void
test_first_match_wins(void **state)
{
	struct pj_usermap *m = load("alice@corp.example alice\n*@corp.example staff\nbob@corp.example bob\n");

	assert_maps(m, "alice@corp.example", "alice");
	assert_maps(m, "bob@corp.example", "staff");	/* never reaches rule 3 */
	assert_maps(m, "carol@corp.example", "staff");
	assert_no_map(m, "carol@corp.example.org");
	pj_usermap_free(m);
}

static void
test_no_match(void **state)
{
	struct pj_usermap *m = load("# nothing matches\nabcdef user\n");
	struct pj_usermap *empty = load("");
	char out[33];

	assert_int_equal(map_s(m, "abcde", out), PJ_ERR_NO_USER_MAPPING);
	assert_string_equal(out, "");
	assert_int_equal(map_s(empty, "abcdef", out), PJ_ERR_NO_USER_MAPPING);
	pj_usermap_free(m);
	pj_usermap_free(empty);
}

static void
test_catch_all_refused(void **state)
{
	assert_int_equal(load_rc("* u\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("** u\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("a* u\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("*abc u\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("abc*def u\n"), PJ_ERR_CONFIG);	/* 3 + 3: neither end has 4 */
	assert_int_equal(load_rc("abcd**x*abc u\n"), 0);
	assert_int_equal(load_rc("~.* u\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("~abc.* u\n"), PJ_ERR_CONFIG);
	/* The literal prefix ends at '(': it is empty here. */
	assert_int_equal(load_rc("~(abcd) u\n"), PJ_ERR_CONFIG);
	/* '^' ends it too (the match is anchored anyway). */
	assert_int_equal(load_rc("~^abcd.* u\n"), PJ_ERR_CONFIG);
	/* A quantifier takes the byte before it out of the prefix: "abcd*"
	 * matches "abc", so it pins only 3 bytes. */
	assert_int_equal(load_rc("~abcd* u\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("~abcd? u\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("~ u\n"), PJ_ERR_CONFIG);
}

static void
test_narrow_accepted(void **state)
{
	struct pj_usermap *m = load("abcd* u\n*abcd v\n~abcd.* w\n~abcde* x\n");

	/* Twins of the refusals: 4 literal bytes are enough. */
	assert_maps(m, "abcdzz", "u");
	assert_maps(m, "zzabcd", "v");
	pj_usermap_free(m);
	m = load("~abcde* x\n");
	assert_maps(m, "abcd", "x");	/* "e*" matches the empty remainder */
	assert_maps(m, "abcdeee", "x");
	assert_no_map(m, "abcdf");
	pj_usermap_free(m);
}

static void
test_regex_prefix_alternation(void **state)
{
	/* Prefix "abcd", rest "|.*" matched against the remainder: only
	 * values starting with abcd, whatever the alternation says. */
	struct pj_usermap *m = load("~abcd|.* alice\n");

	assert_no_map(m, "zzz");
	assert_no_map(m, "abc");
	assert_no_map(m, "xabcd");
	assert_maps(m, "abcdx", "alice");
	assert_maps(m, "abcd", "alice");
	pj_usermap_free(m);
}

static void
test_backref_refused(void **state)
{
	assert_int_equal(load_rc("~abcd(x)\\1 u\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("~abcd(x)(y)\\2 u\n"), PJ_ERR_CONFIG);
	/* twin: an escaped dot is fine */
	assert_int_equal(load_rc("~abcd\\.(x) u\n"), 0);
}

static void
test_bad_user_column(void **state)
{
	/* \N names a group of a regex rule that exists. */
	assert_int_equal(load_rc("~abcd(x) u\\2\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("~abcd(x) u\\1\n"), 0);
	assert_int_equal(load_rc("abcd* u\\1\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("abcdef u\\1\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("~abcd(x) u\\0\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("~abcd(x) u\\\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("~abcd(x) U\\1\n"), PJ_ERR_CONFIG);
	/* A static USER must itself be safe. */
	assert_int_equal(load_rc("abcdef Alice\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("abcdef a/b\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("abcdef 1abc\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("abcdef aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("abcdef aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), 0);
	assert_int_equal(load_rc("~abcd( u\n"), PJ_ERR_CONFIG);	/* bad regex */
	/* A ')' that would close our wrapper early is no regex of its own. */
	assert_int_equal(load_rc("~abcdx)|(.* u\n"), PJ_ERR_CONFIG);
}

static void
test_bad_mapped_names(void **state)
{
	struct pj_usermap *m = load("~mapx:(.*) \\1\n");
	char out[33], big[64];

	assert_maps(m, "mapx:alice", "alice");
	assert_int_equal(map_s(m, "mapx:a/b", out), PJ_ERR_BAD_USER_NAME);
	assert_string_equal(out, "");	/* nothing half-written on failure */
	assert_int_equal(map_s(m, "mapx:a:b", out), PJ_ERR_BAD_USER_NAME);
	assert_int_equal(map_s(m, "mapx:a\nb", out), PJ_ERR_BAD_USER_NAME);
	assert_int_equal(map_s(m, "mapx:Alice", out), PJ_ERR_BAD_USER_NAME);
	assert_int_equal(map_s(m, "mapx:", out), PJ_ERR_BAD_USER_NAME);
	assert_int_equal(map_s(m, "mapx:-x", out), PJ_ERR_BAD_USER_NAME);
	snprintf(big, sizeof(big), "mapx:%s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");	/* 33 */
	assert_int_equal(map_s(m, big, out), PJ_ERR_BAD_USER_NAME);
	snprintf(big, sizeof(big), "mapx:%s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");	/* 32 */
	assert_int_equal(map_s(m, big, out), 0);
	assert_int_equal(strlen(out), 32);
	/* A result longer than the caller's buffer. */
	assert_int_equal(pj_usermap_map(m, "mapx:abcdefgh", 13, out, 8, NULL), PJ_ERR_BAD_USER_NAME);
	assert_int_equal(pj_usermap_map(m, "mapx:abcdefg", 12, out, 8, NULL), 0);
	assert_string_equal(out, "abcdefg");
	pj_usermap_free(m);
}

static void
test_user_name_safe(void **state)
{
	assert_true(pj_user_name_safe("alice", 5));
	assert_true(pj_user_name_safe("_svc.a-1", 8));
	assert_true(pj_user_name_safe("a", 1));
	assert_false(pj_user_name_safe("", 0));
	assert_false(pj_user_name_safe("1a", 2));
	assert_false(pj_user_name_safe("-a", 2));
	assert_false(pj_user_name_safe(".a", 2));
	assert_false(pj_user_name_safe("aB", 2));
	assert_false(pj_user_name_safe("a b", 3));
	assert_false(pj_user_name_safe("a\0b", 3));
	assert_false(pj_user_name_safe("a$", 2));
	assert_true(pj_user_name_safe("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32));
	assert_false(pj_user_name_safe("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 33));
}

static void
test_utf8_host_locale(void **state)
{
	struct pj_usermap *m;

	if (setlocale(LC_ALL, "C.UTF-8") == NULL) {
		skip();
		return;
	}
	/* Compiled and matched under a UTF-8 host locale, still bytewise: a
	 * lone 0xE9 (invalid UTF-8) is one byte for '.', and "\xC3\xA9" (é)
	 * is two bytes, so ".x" cannot match it but "..x" does. */
	m = load("~abcd.x one\n~abcd..x two\n~abcd[^a]x three\n");
	assert_maps(m, "abcd\xe9x", "one");
	assert_maps(m, "abcd\xc3\xa9x", "two");
	assert_no_map(m, "abcd\xc3\xa9\xa9\xa9x");
	pj_usermap_free(m);
	/* Also when loaded in C and used under UTF-8. */
	setlocale(LC_ALL, "C");
	m = load("~abcd.x one\n~abcd..x two\n");
	setlocale(LC_ALL, "C.UTF-8");
	assert_maps(m, "abcd\xc3\xa9x", "two");
	pj_usermap_free(m);
	setlocale(LC_ALL, "C");
}

static void
test_comments_blank_lines(void **state)
{
	struct pj_usermap *m = load("# a comment\n\n   \n\t# indented comment\n  abcdef \t alice  \r\n"
	    "#abcdef bob\nxyzw* carol");	/* no final newline */

	assert_maps(m, "abcdef", "alice");
	assert_maps(m, "xyzw1", "carol");
	assert_no_map(m, "#abcdef");
	pj_usermap_free(m);
	/* twins: malformed lines */
	assert_int_equal(load_rc("abcdef\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("abcdef alice bob\n"), PJ_ERR_CONFIG);
	assert_int_equal(load_rc("abcdef alice # trailing comment\n"), PJ_ERR_CONFIG);
}

static void
test_embedded_nul(void **state)
{
	struct pj_usermap *m = load("abcd exact\nabcd* glob\n~abcd.* re\n");
	char out[33];

	/* "abcd\0x" is not "abcd", and a NUL never matches a glob or regex. */
	assert_int_equal(pj_usermap_map(m, "abcd\0x", 6, out, sizeof(out), NULL), PJ_ERR_NO_USER_MAPPING);
	assert_int_equal(pj_usermap_map(m, "abcd\0", 5, out, sizeof(out), NULL), PJ_ERR_NO_USER_MAPPING);
	assert_int_equal(pj_usermap_map(m, "abcd", 4, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "exact");
	assert_int_equal(pj_usermap_map(m, "abcdx", 5, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "glob");
	pj_usermap_free(m);
	/* A value is len bytes, not up to a NUL: no over-read past len. */
	m = load("~abcd(x*) u\\1\n");
	assert_int_equal(pj_usermap_map(m, "abcdxxyyy", 6, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "uxx");
	pj_usermap_free(m);
	/* A NUL in the file is refused. */
	{
		struct pj_usermap *bad = NULL;

		assert_int_equal(pj_usermap_load_buf("abcd\0 u\n", 8, "t", &lg, &bad), PJ_ERR_CONFIG);
		assert_null(bad);
	}
}

static void
test_limits(void **state)
{
	size_t cap = 1100 * 16 + 8192, n = 0;
	char *buf = malloc(cap);
	struct pj_usermap *m = NULL;

	assert_non_null(buf);
	for (int i = 0; i < 1024; i++)
		n += (size_t)snprintf(buf + n, cap - n, "rule%04d u\n", i);
	assert_int_equal(pj_usermap_load_buf(buf, n, "t", &lg, &m), 0);
	assert_maps(m, "rule1023", "u");
	pj_usermap_free(m);
	m = NULL;
	n += (size_t)snprintf(buf + n, cap - n, "rule1024 u\n");
	assert_int_equal(pj_usermap_load_buf(buf, n, "t", &lg, &m), PJ_ERR_CONFIG);
	assert_null(m);
	/* Lines: 4096 bytes fine, 4097 not. */
	memset(buf, 'a', 4096);
	memcpy(buf + 4096 - 2, " u", 2);
	assert_int_equal(pj_usermap_load_buf(buf, 4096, "t", &lg, &m), 0);
	pj_usermap_free(m);
	m = NULL;
	memset(buf, 'a', 4097);
	memcpy(buf + 4097 - 2, " u", 2);
	assert_int_equal(pj_usermap_load_buf(buf, 4097, "t", &lg, &m), PJ_ERR_CONFIG);
	free(buf);
	/* A file over 1 MiB. */
	buf = malloc(1024 * 1024 + 2);
	assert_non_null(buf);
	memset(buf, '\n', 1024 * 1024 + 1);
	assert_int_equal(pj_usermap_load_buf(buf, 1024 * 1024 + 1, "t", &lg, &m), PJ_ERR_CONFIG);
	assert_int_equal(pj_usermap_load_buf(buf, 1024 * 1024, "t", &lg, &m), 0);
	pj_usermap_free(m);
	free(buf);
}

static void
test_load_fd_and_message(void **state)
{
	char dir[] = "/tmp/pj_usermap.XXXXXX", path[128], errpath[128], msg[1024];
	struct pj_usermap *m = NULL;
	int fd, saved, efd;
	ssize_t got;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users.map", dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "# map\nabcdef alice\n", 19), 19);
	close(fd);
	fd = open(path, O_RDONLY);
	assert_int_equal(pj_usermap_load_fd(fd, path, &lg, &m), 0);
	close(fd);
	assert_maps(m, "abcdef", "alice");
	pj_usermap_free(m);
	m = NULL;

	/* A load error names the file and the line. */
	fflush(stderr);
	saved = dup(2);
	efd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && efd >= 0);
	dup2(efd, 2);
	assert_int_equal(pj_usermap_load_buf("# one\n\nab* u\n", 13, path, &lg, &m), PJ_ERR_CONFIG);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	got = pread(efd, msg, sizeof(msg) - 1, 0);
	close(efd);
	assert_true(got > 0);
	msg[got] = '\0';
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ":3:");
	assert_non_null(strstr(msg, path));
	assert_non_null(strstr(msg, "catch-all"));
	unlink(errpath);
	path[strlen(path) - 3] = '\0';
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_glob_prefix),
		cmocka_unit_test(test_glob_suffix),
		cmocka_unit_test(test_glob_only_star_special),
		cmocka_unit_test(test_regex_captures),
		cmocka_unit_test(test_regex_group_numbers),
		cmocka_unit_test(test_user_self),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_catch_all_refused),
		cmocka_unit_test(test_narrow_accepted),
		cmocka_unit_test(test_regex_prefix_alternation),
		cmocka_unit_test(test_backref_refused),
		cmocka_unit_test(test_bad_user_column),
		cmocka_unit_test(test_bad_mapped_names),
		cmocka_unit_test(test_user_name_safe),
		cmocka_unit_test(test_utf8_host_locale),
		cmocka_unit_test(test_comments_blank_lines),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load_fd_and_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
