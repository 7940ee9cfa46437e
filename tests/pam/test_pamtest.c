/*
 * Single runs through libpamtest and pam_wrapper (LD_PRELOAD'ed by
 * test_pamtest.py, which mints the tokens with python3-jwcrypto and writes
 * the services into PAM_WRAPPER_SERVICE_DIR): pam_sm_authenticate and
 * pam_sm_setcred as an application calls them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

static void
auth(const char *service, const char *user, const char *token_env, int want)
{
	const char *tok = getenv(token_env);
	const char *answers[] = {tok, NULL};
	struct pamtest_conv_data conv = {.in_echo_off = answers};
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, want),
		pam_test(PAMTEST_SETCRED, PAM_SUCCESS),
	};
	/* setcred follows a successful authentication only. */
	size_t n = want == PAM_SUCCESS ? 2 : 1;
	enum pamtest_err perr;

	assert_non_null(tok);
	perr = _pamtest(service, user, &conv, tests, n, NULL);
	if (perr == PAMTEST_ERR_CASE) {
		const struct pam_testcase *f = _pamtest_failed_case(tests, n);

		print_error("case %d returned %d, expected %d\n", (int)(f - tests), f->op_rv, f->expected_rv);
	}
	assert_int_equal(perr, PAMTEST_ERR_OK);
}

static void
test_valid_token_accepted(void **state)
{
	auth("pj", "bin", "PJ_TOK_GOOD", PAM_SUCCESS);
}

static void
test_flipped_signature_refused(void **state)
{
	auth("pj", "bin", "PJ_TOK_FLIPPED", PAM_AUTH_ERR);
}

static void
test_token_for_another_user_refused(void **state)
{
	auth("pj", "daemon", "PJ_TOK_GOOD", PAM_AUTH_ERR);
}

static void
test_expired_token_refused(void **state)
{
	auth("pj", "bin", "PJ_TOK_EXPIRED", PAM_AUTH_ERR);
}

static void
test_unknown_user_with_valid_token(void **state)
{
	auth("pj", "nosuchuser_pj", "PJ_TOK_NOUSER", PAM_USER_UNKNOWN);
}

static void
test_config_error_is_service_err(void **state)
{
	auth("pj_badconf", "bin", "PJ_TOK_GOOD", PAM_SERVICE_ERR);
}

static void
test_no_keys_is_authinfo_unavail(void **state)
{
	auth("pj_nokeys", "bin", "PJ_TOK_GOOD", PAM_AUTHINFO_UNAVAIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_token_accepted),
		cmocka_unit_test(test_flipped_signature_refused),
		cmocka_unit_test(test_token_for_another_user_refused),
		cmocka_unit_test(test_expired_token_refused),
		cmocka_unit_test(test_unknown_user_with_valid_token),
		cmocka_unit_test(test_config_error_is_service_err),
		cmocka_unit_test(test_no_keys_is_authinfo_unavail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
