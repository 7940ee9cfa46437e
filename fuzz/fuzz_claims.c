/*
 * The verdict path past the signature: the input is "HEADER\nPAYLOAD" (raw
 * JSON bytes; without a newline, all of it is the payload under the header
 * {"alg":"EdDSA","kid":"fz"}), which the harness encodes and signs with a
 * fixed Ed25519 key whose public half is the JWKS, so that mutations reach
 * the header rules, key choice, the time, issuer and audience checks,
 * require_claim, user_claim pointers and the user map. Same invariants as
 * fuzz_verify.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "fuzz_verdict.h"
#include "verify.h"

#define DEFAULT_HEADER "{\"alg\":\"EdDSA\",\"kid\":\"fz\"}"

static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned char seed[crypto_sign_SEEDBYTES] = "pam_jwt fuzz_claims fixed seed.";
	char x[64], doc[256];
	int n;

	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, sk, seed) != 0)
		fuzz_fail("libsodium");
	sodium_bin2base64(x, sizeof(x), pk, sizeof(pk), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = snprintf(doc, sizeof(doc),
	    "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"fz\",\"x\":\"%s\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"fz-enc\",\"use\":\"enc\",\"x\":\"%s\"}]}", x, x);
	fuzz_verdict_init(doc, (size_t)n);
	return 0;
}

/* b64url(h) "." b64url(p) "." b64url(sig) in a new buffer. */
static char *
sign(const char *h, size_t hlen, const char *p, size_t plen, size_t *len)
{
	size_t hb = sodium_base64_ENCODED_LEN(hlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	size_t pb = sodium_base64_ENCODED_LEN(plen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	size_t sb = sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	unsigned char sig[crypto_sign_BYTES];
	char *tok = malloc(hb + pb + sb + 2), *q;

	if (tok == NULL)
		fuzz_fail("malloc");
	sodium_bin2base64(tok, hb, (const unsigned char *)h, hlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	q = tok + strlen(tok);
	*q++ = '.';
	sodium_bin2base64(q, pb, (const unsigned char *)p, plen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	q += strlen(q);
	crypto_sign_detached(sig, NULL, (const unsigned char *)tok, (size_t)(q - tok), sk);
	*q++ = '.';
	sodium_bin2base64(q, sb, sig, sizeof(sig), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*len = strlen(tok);
	return tok;
}

int
fuzz_one(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *tok;
	size_t len;

	if (size > PJ_TOKEN_MAX)
		return 0;	/* the encoding alone would be too_large */
	if (nl != NULL)
		tok = sign((const char *)data, (size_t)(nl - data), (const char *)nl + 1,
		    size - (size_t)(nl - data) - 1, &len);
	else
		tok = sign(DEFAULT_HEADER, strlen(DEFAULT_HEADER), (const char *)data, size, &len);
	fuzz_verdicts(tok, len);
	free(tok);
	return 0;
}
