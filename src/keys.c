#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "keys.h"
#include "util.h"

#define JWKS_MAX (1024 * 1024)

struct pj_keys {
	const struct pj_config *cfg;
	const struct pj_log *lg;
	int64_t now;
	unsigned flags;
	struct pj_jwks *set;
};

int
pj_keys_open(const struct pj_config *cfg, const struct pj_log *lg, int64_t now, unsigned flags,
    struct pj_keys **out)
{
	struct pj_keys *k;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return PJ_ERR_NOMEM;
	k->cfg = cfg;
	k->lg = lg;
	k->now = now;
	k->flags = flags;
	*out = k;
	return 0;
}

/* A static jwks_file: missing or unreadable is keys_unavailable (a sync job
 * may provision it later); unsafe ownership or mode is a configuration error. */
static int
load_file(struct pj_keys *k)
{
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, r = PJ_ERR_INTERNAL;

	if (pj_open_safely(k->cfg->jwks_file, 0, &fd, &why) != 0) {
		pj_log(k->lg, LOG_ERR, "jwks_file %s: %s", k->cfg->jwks_file, why);
		return (errno == EPERM || errno == ELOOP) ? PJ_ERR_CONFIG : PJ_ERR_KEYS_UNAVAILABLE;
	}
	if ((r = pj_read_all(fd, JWKS_MAX, &buf, &len)) != 0) {
		pj_log(k->lg, LOG_ERR, "jwks_file %s: %s", k->cfg->jwks_file,
		    r == PJ_ERR_TOO_LARGE ? "larger than 1 MiB" : "cannot read");
		r = r == PJ_ERR_NOMEM ? r : PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	if ((r = pj_jwks_parse(buf, len, k->lg, &k->set)) != 0) {
		pj_log(k->lg, LOG_ERR, "jwks_file %s: not a JWKS document", k->cfg->jwks_file);
		r = r == PJ_ERR_NOMEM ? r : PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	if (k->set->n == 0) {
		pj_log(k->lg, LOG_ERR, "jwks_file %s: no usable key", k->cfg->jwks_file);
		r = PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	r = 0;
out:
	if (r != 0) {
		pj_jwks_free(k->set);
		k->set = NULL;
	}
	free(buf);
	close(fd);
	return r;
}

int
pj_keys_get(struct pj_keys *k, const struct pj_jwks **set)
{
	int r;

	*set = NULL;
	if (k->set == NULL) {
		if (k->cfg->jwks_file == NULL) {
			pj_log(k->lg, LOG_ERR, "fetching keys from the issuer is not supported yet");
			return PJ_ERR_KEYS_UNAVAILABLE;
		}
		if ((r = load_file(k)) != 0)
			return r;
	}
	*set = k->set;
	return 0;
}

int
pj_keys_kid_miss(struct pj_keys *k, const struct pj_jwks **set)
{
	/* A static file has nothing newer to offer. */
	*set = k->set;
	return 0;
}

void
pj_keys_close(struct pj_keys *k)
{
	if (k == NULL)
		return;
	pj_jwks_free(k->set);
	free(k);
}
