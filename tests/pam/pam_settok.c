/* Test-only module: sets PAM_AUTHTOK from the first line of the file named
 * by its argument, as an earlier line of a real stack would (libpam lets
 * only modules set it). */
#include <stdio.h>
#include <string.h>

#define PAM_SM_AUTH
#include <security/pam_modules.h>

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	char line[20000];
	FILE *f;

	(void)flags;
	if (argc != 1 || (f = fopen(argv[0], "r")) == NULL)
		return PAM_SERVICE_ERR;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return pam_set_item(pamh, PAM_AUTHTOK, line);
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
