#include "config.h"

#include <string.h>

#include "alg.h"

static const char *const names[PJ_ALG_COUNT] = {
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
	"Ed25519",
};

int
pj_alg_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < PJ_ALG_COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *
pj_alg_name(int alg)
{
	return (alg >= 0 && alg < PJ_ALG_COUNT) ? names[alg] : "?";
}

unsigned
pj_alg_same_sig(int alg)
{
	if (alg == PJ_ALG_EDDSA || alg == PJ_ALG_ED25519)
		return PJ_ALG_BIT(PJ_ALG_EDDSA) | PJ_ALG_BIT(PJ_ALG_ED25519);
	return (alg >= 0 && alg < PJ_ALG_COUNT) ? PJ_ALG_BIT(alg) : 0;
}
