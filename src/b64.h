#ifndef PJ_B64_H
#define PJ_B64_H

#include <stddef.h>
#include <stdint.h>

/*
 * Canonical base64url (RFC 7515 section 2: no padding, unused trailing bits
 * zero, nothing but the alphabet) of len bytes into a new buffer; *out is
 * NULL on entry, set on success (free with free(); one spare NUL byte is
 * appended for convenience, not counted in *outlen). PJ_ERR_MALFORMED
 * when not canonical; PJ_ERR_TOO_LARGE when len > maxlen.
 */
int pj_b64url_decode(const char *in, size_t len, size_t maxlen, uint8_t **out, size_t *outlen);

/* The same into a caller's buffer of cap bytes. */
int pj_b64url_decode_into(const char *in, size_t len, uint8_t *buf, size_t cap, size_t *outlen);

#endif
