#!/usr/bin/python3
"""Regression: an Ed25519 JWK whose x is no usable point (issue 11, point 8).

An OKP key's x of the right size (32 octets) passes the JSON checks; the key
is built only when chosen, and building it refuses an x that is of small
order, off the curve or not canonical: the verdict is no_key, as for an EC
point off its curve. Before the fix such a key reached the signature check
and the verdict was bad_signature.

Tokens are minted by python3-jwcrypto (tests/mint); verdicts come from
src/pam_jwt_check --json. TAP output.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-regress"
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib")]
import mint  # noqa: E402
from tap import Tap  # noqa: E402

CHECK = os.path.join(BUILD, "src", "pam_jwt_check")
ISS = "https://issuer.regress.test"
AUD = "ssh://host1"
P = 2 ** 255 - 19

# x values (RFC 8032 5.1.2: y little-endian, the top bit the sign of x)
BAD_X = {
    "all zero bytes (y = 0, order 4)": bytes(32),
    "the identity (y = 1)": b"\x01" + bytes(31),
    "y = p - 1 (order 2)": (P - 1).to_bytes(32, "little"),
    "y = 2 (not on the curve)": b"\x02" + bytes(31),
    "y = p + 1 (the identity, not canonical)": (P + 1).to_bytes(32, "little"),
}

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-ed25519-")
os.chmod(tmp, 0o755)


def check(token, jwks):
    """(exit status, reason) of pam_jwt_check --json."""
    cmd = [CHECK, "--json", "--user", "bin", "issuer=" + ISS, "audience=" + AUD,
           "jwks_file=" + jwks, "algorithms=EdDSA"]
    p = subprocess.run(cmd, input=token.encode(), capture_output=True, timeout=30)
    try:
        return p.returncode, json.loads(p.stdout)["reason"]
    except ValueError:
        return p.returncode, None


def main():
    if not os.path.exists(CHECK):
        t.skip("ed25519 key", "%s not built" % CHECK)
        return
    key = mint.gen_key("Ed25519", kid="d1")
    good = os.path.join(tmp, "good.jwks")
    mint.write_jwks(good, [mint.public_jwk(key)], 0o644)
    tok = mint.sign(key, "EdDSA", mint.claims(iss=ISS, aud=AUD, sub="bin"), {"kid": "d1"})
    bare = mint.sign(key, "EdDSA", mint.claims(iss=ISS, aud=AUD, sub="bin"))
    # Control: the same token against the real key is accepted.
    t.eq(check(tok, good), (0, "ok"), "Ed25519 control: the key's own x -> ok")
    for i, (what, x) in enumerate(sorted(BAD_X.items())):
        path = os.path.join(tmp, "bad%d.jwks" % i)
        mint.write_jwks(path, [mint.public_jwk(key, x=mint.b64url(x))], 0o644)
        # Ed25519 x of small order, off the curve or not canonical: no_key (PAM_AUTH_ERR), not bad_signature.
        t.eq(check(tok, path), (1, "no_key"), "Ed25519 x %s, token with its kid -> no_key" % what)
        t.eq(check(bare, path), (1, "no_key"), "Ed25519 x %s, token without kid -> no_key" % what)


t.run(main, "test_ed25519_key main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
