#include "config.h"

#include <stdlib.h>

#include <sodium.h>

#include "b64.h"
#include "err.h"

/* The base64url alphabet, checked here: libsodium 1.0.18 decodes every
 * byte >= 0x80 as '_' (so "...\xff..." would verify as "..._..."). */
static int
b64url_alphabet_only(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int
pj_b64url_decode_into(const char *in, size_t len, uint8_t *buf, size_t cap, size_t *outlen)
{
	const char *end = NULL;
	size_t n = 0;

	*outlen = 0;
	if (len == 0)
		return 0;
	if (!b64url_alphabet_only(in, len))
		return PJ_ERR_MALFORMED;
	/* libsodium rejects padding, foreign characters and non-zero unused
	 * bits in this variant; it must also consume everything. */
	if (sodium_base642bin(buf, cap, in, len, NULL, &n, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != in + len)
		return PJ_ERR_MALFORMED;
	*outlen = n;
	return 0;
}

int
pj_b64url_decode(const char *in, size_t len, size_t maxlen, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = NULL;
	size_t cap = len / 4 * 3 + 3, n = 0;
	int r = PJ_ERR_INTERNAL;

	*out = NULL;
	*outlen = 0;
	if (len > maxlen)
		return PJ_ERR_TOO_LARGE;
	if ((buf = malloc(cap + 1)) == NULL)
		return PJ_ERR_NOMEM;
	if ((r = pj_b64url_decode_into(in, len, buf, cap, &n)) != 0)
		goto out;
	buf[n] = 0;
	*out = buf;
	*outlen = n;
	buf = NULL;
	r = 0;
out:
	free(buf);
	return r;
}
