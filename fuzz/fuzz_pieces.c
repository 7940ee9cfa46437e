/*
 * The long-token piece assembly (pj_entry_add_piece): the input is the
 * answers of a conversation, one per line, fed as pieces 1, 2, ... while
 * each asks for more. Checked against a model of pam_jwt(8), Long tokens: each
 * answer trimmed of whitespace, a final '\' dropped and meaning "more",
 * at most 64 pieces, at most 16384 bytes joined; the buffer never
 * overflows and stays NUL-terminated.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "err.h"
#include "fuzz.h"

#define ANSWERS_MAX 80

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int
fuzz_one(const uint8_t *data, size_t size)
{
	char *parts[ANSWERS_MAX], *buf, *model;
	size_t lens[ANSWERS_MAX], n, len = 0, mlen = 0;
	int more = 1, r = 0, mr = 0;

	n = fuzz_split(data, size, '\n', parts, lens, ANSWERS_MAX);
	/* Exactly the module's buffer, with a guard zone ASan watches. */
	if ((buf = malloc(PJ_ENTRY_BUF)) == NULL || (model = malloc(PJ_ENTRY_BUF + 1)) == NULL)
		fuzz_fail("malloc");
	buf[0] = '\0';
	for (size_t i = 0; i < n && more && r == 0; i++) {
		const char *p = parts[i];
		size_t plen = strlen(p);	/* the conversation hands C strings */
		int mmore = 0;

		r = pj_entry_add_piece(buf, &len, parts[i], (int)i + 1, &more);
		/* The model. */
		while (plen > 0 && is_ws(*p)) {
			p++;
			plen--;
		}
		while (plen > 0 && is_ws(p[plen - 1]))
			plen--;
		if (plen > 0 && p[plen - 1] == '\\') {
			mmore = 1;
			plen--;
			if (i + 1 >= PJ_PIECES_MAX)
				mr = PJ_ERR_TOO_LARGE;
		}
		if (mr == 0 && mlen + plen > PJ_TOKEN_MAX)
			mr = PJ_ERR_TOO_LARGE;
		if (r != mr)
			fuzz_fail("verdict differs from the model");
		if (r != 0)
			break;
		if (more != mmore)
			fuzz_fail("'more' differs from the model");
		memcpy(model + mlen, p, plen);
		mlen += plen;
		if (len != mlen || memcmp(buf, model, len) != 0 || buf[len] != '\0')
			fuzz_fail("joined token differs from the model");
	}
	if (len > PJ_TOKEN_MAX)
		fuzz_fail("joined token over 16384 bytes");
	free(buf);
	free(model);
	fuzz_free_parts(parts, n);
	return 0;
}
