#!/usr/bin/python3
"""pam_jwt_check's modes (pam_jwt_check(1)): --json on every exit, --decode,
--now, --version and --help. TAP output.

Tokens are minted by python3-jwcrypto (tests/mint/mint.py), never by our
code. Environment: PJ_TOP_SRCDIR, PJ_TOP_BUILDDIR (set by make check);
PJ_CHECK_BIN overrides the program path.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-check"
BIN = os.environ.get("PJ_CHECK_BIN") or os.path.join(BUILD, "src", "pam_jwt_check")
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib")]
import mint  # noqa: E402
from files import write  # noqa: E402
from tap import Tap  # noqa: E402

ISS = "https://issuer.tool.test"
AUD = "ssh://host1"
# An account that exists and is not uid 0 (root only by a literal map rule).
USER = "bin"
FIELDS = {"ok", "reason", "detail", "user", "issuer_name", "iss", "sub", "kid",
          "jti", "exp"}
OPTIONS = ["--config", "--user", "--now", "--json", "--decode", "--refresh",
           "--check-config", "--version", "--help", "-h"]
HOSTILE = "a\u202eb\u0007c\u2028d\U0001F600e\u007f\"\\\n\u0080\u200f"

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-tool-")
K = {}
JWKS = None


def now():
    return int(time.time())


def tok(ttl=300, kid="d1", header=None, at=None, **extra):
    base = {"iss": ISS, "aud": AUD, "sub": USER}
    base.update(extra)
    c = mint.claims(now() if at is None else at, ttl=ttl, **base)
    h = {"kid": kid}
    h.update(header or {})
    return mint.sign(K[kid], "EdDSA", c, h)


def raw(payload, header=None):
    """A token over arbitrary payload bytes (and header dict or bytes)."""
    return mint.sign_raw(K["d1"], "EdDSA", header or {"alg": "EdDSA", "kid": "d1"}, payload)


def opts(*extra, jwks=None):
    return ["issuer=" + ISS, "audience=" + AUD, "jwks_file=" + (jwks or JWKS)] + list(extra)


def run(args, stdin=b""):
    """(exit status, stdout bytes, stderr text)."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    p = subprocess.run([BIN] + list(args), input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def one_object(out):
    """The one JSON object stdout holds, or an error string."""
    try:
        text = out.decode("ascii")
    except UnicodeDecodeError:
        return None, "stdout is not ASCII: %r" % out[:200]
    if text.count("\n") != 1 or not text.endswith("\n"):
        return None, "stdout is not exactly one line: %r" % text[:300]
    try:
        o = json.loads(text)
    except ValueError as e:
        return None, "stdout is not JSON (%s): %r" % (e, text[:300])
    if not isinstance(o, dict):
        return None, "stdout is JSON but not an object: %r" % text[:300]
    return o, None


def json_case(name, args, stdin, rc, reason, want=None, detail_has=None, json_last=False):
    """--json (first, or last): exit rc, one object with every field, the
    reason, and the values of want."""
    args = list(args) + ["--json"] if json_last else ["--json"] + list(args)
    got_rc, out, err = run(args, stdin)
    o, why = one_object(out)
    problems = [] if why is None else [why]
    if got_rc != rc:
        problems.append("exit %s, want %s" % (got_rc, rc))
    if o is not None:
        if set(o) != FIELDS:
            problems.append("fields %s, want %s" % (sorted(o), sorted(FIELDS)))
        if o.get("ok") is not (rc == 0):
            problems.append("ok is %r on exit %d" % (o.get("ok"), rc))
        if o.get("reason") != reason:
            problems.append("reason %r, want %r" % (o.get("reason"), reason))
        if not isinstance(o.get("detail"), str) or not o.get("detail"):
            problems.append("detail %r is not a non-empty string" % o.get("detail"))
        elif detail_has is not None and detail_has not in o["detail"]:
            problems.append("detail %r does not name %r" % (o["detail"], detail_has))
        for k, v in (want or {}).items():
            if o.get(k) != v:
                problems.append("%s: %r, want %r" % (k, o.get(k), v))
    t.ok(not problems, name, "; ".join(problems) + "\nstderr: " + err[:300])
    return o


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def py_decode(token):
    """Python's own reading of the header and the payload."""
    h, p, _ = token.split(".")
    return json.loads(b64d(h)), json.loads(b64d(p))


def text_docs(out):
    """--decode's text: the UNVERIFIED line, then two JSON documents."""
    text = out.decode("ascii")
    first, _, rest = text.partition("\n")
    if first != "UNVERIFIED":
        raise ValueError("first line %r" % first)
    dec = json.JSONDecoder()
    docs, i = [], 0
    while True:
        while i < len(rest) and rest[i] in " \n":
            i += 1
        if i == len(rest):
            break
        d, i = dec.raw_decode(rest, i)
        docs.append(d)
    return docs


def ascii_only(out, newlines=True):
    """Every byte printable ASCII (and newline for the text form)."""
    return all(0x20 <= b < 0x7f or (newlines and b == 0x0a) for b in out)


def sized(target):
    """A valid token of exactly target bytes: a padding claim and a kid of
    1 to 4 characters adjusted (base64url never makes a length 1 mod 4)."""
    base = mint.claims(now(), iss=ISS, aud=AUD, sub=USER)

    def make(pad, kl):
        return mint.sign(K["d1"], "EdDSA", dict(base, pad="x" * pad), {"kid": "d1", "x": "k" * (kl + 1)})

    return mint.sized_token(make, target)

# ---------------------------------------------------------------- --json


def t_json():
    t.comment("--json: one object on every exit")
    good = tok(jti="j-1")
    exp = mint.payload_of(good)["exp"]
    json_case("--json, exit 0: accepted, every field", opts("--user", USER), good, 0, "ok",
              {"user": USER, "iss": ISS, "sub": USER, "kid": "d1", "jti": "j-1", "exp": exp,
               "issuer_name": None})
    sec = write(os.path.join(tmp, "sections.conf"), "audience = %s\n\n[issuer other]\nissuer = "
                "https://other.tool.test\njwks_file = %s\n\n[issuer gh]\nissuer = %s\njwks_file = %s\n"
                % (AUD, JWKS, ISS, JWKS), 0o600)
    json_case("--json, exit 0: issuer_name names the section", ["--config", sec, "--user", USER], good, 0,
              "ok", {"issuer_name": "gh", "user": USER})
    json_case("--json, exit 1: issuer_name of a rejected token", ["--config", sec],
              mint.flip_sig_bit(good), 1, "bad_signature", {"issuer_name": "gh"})
    json_case("--json, exit 1: no section takes the iss: issuer_name null", ["--config", sec],
              tok(iss="https://third.tool.test"), 1, "bad_issuer", {"issuer_name": None})
    json_case("--json, exit 2: an error in a section is config_error, FILE:LINE named",
              ["--config", write(os.path.join(tmp, "bad.conf"), "audience = %s\n[issuer gh]\nissuer = %s\n"
                                 "leeway = 9999\n" % (AUD, ISS), 0o600)], good, 2, "config_error",
              detail_has="bad.conf:4: leeway")
    json_case("--json, exit 0: a missing jti is null", opts(), tok(jti=None), 0, "ok", {"jti": None})
    json_case("--json, exit 1: bad_signature, fields unverified", opts(), mint.flip_sig_bit(good), 1,
              "bad_signature", {"user": None, "sub": USER})
    json_case("--json, exit 1: expired", opts(), tok(ttl=-100), 1, "expired")
    json_case("--json, exit 1: malformed, token fields null", opts(), "not a token", 1, "malformed",
              {"iss": None, "sub": None, "kid": None, "jti": None, "exp": None})
    json_case("--json, exit 1: too_large (past the read limit)", opts(), "a" * 70000, 1, "too_large")
    json_case("--json, exit 2: unknown key is config_error, the key named",
              opts("frobnicate=1"), good, 2, "config_error",
              {"iss": None, "sub": None, "exp": None}, detail_has="frobnicate")
    json_case("--json, exit 2: missing audience is config_error", ["issuer=" + ISS, "jwks_file=" + JWKS],
              good, 2, "config_error", detail_has="audience")
    json_case("--json, exit 2: --config of a missing file is config_error",
              ["--config", os.path.join(tmp, "nope.conf")], good, 2, "config_error", detail_has="nope.conf")
    long_path = os.path.join(tmp, "n" * 200 + ".conf")
    json_case("--json, exit 2: the detail of a configuration error is not cut",
              ["--config", long_path], good, 2, "config_error", detail_has=long_path)
    lax = write(os.path.join(tmp, "lax.jwks"), mint.json_bytes(mint.jwks(mint.public_jwk(K["d1"]))), 0o666)
    json_case("--json, exit 2: a jwks_file others may write is config_error", opts(jwks=lax), good, 2,
              "config_error")
    json_case("--json, exit 3: keys_unavailable", opts(jwks=os.path.join(tmp, "none.jwks")), good, 3,
              "keys_unavailable", {"sub": USER})
    json_case("--json, exit 2: unknown option is usage, named", opts("--frobnicate"), good, 2, "usage",
              detail_has="--frobnicate")
    json_case("--json, exit 2: usage error told even when --json comes last",
              ["--bogus"] + opts(), good, 2, "usage", detail_has="--bogus", json_last=True)
    json_case("--json, exit 2: --user without a name is usage", opts() + ["--user"], good, 2,
              "usage", detail_has="--user")
    json_case("--json, exit 2: --user with an empty name is usage", opts("--user", ""), good, 2, "usage")
    json_case("--json, exit 2: --decode with options is usage", ["--decode"] + opts(), good, 2, "usage")
    json_case("--json, exit 2: --refresh with --decode is usage", ["--refresh", "--decode"], good, 2,
              "usage")
    json_case("--json, exit 2: --check-config with --decode is usage", ["--check-config", "--decode"], good,
              2, "usage", detail_has="--check-config")
    json_case("--json, exit 2: --check-config with --user is usage", ["--check-config", "--user", USER] +
              opts(), good, 2, "usage")
    json_case("--json, exit 2: --config twice is usage",
              ["--config", "/nonexistent/a", "--config", "/nonexistent/b"], good, 2, "usage",
              detail_has="--config")
    json_case("--json, exit 2: a non-UTF-8 option stays valid JSON", [b"--\xff\xfe".decode(
        "utf-8", "surrogateescape")], good, 2, "usage")
    json_case("--json --refresh, exit 0: one object", ["--refresh"] + opts(), b"", 0, "ok")
    json_case("--json --refresh, exit 3: keys_unavailable, the file named",
              ["--refresh"] + opts(jwks=os.path.join(tmp, "none.jwks")), b"", 3, "keys_unavailable",
              detail_has="none.jwks")
    o = json_case("--json: a hostile sub stays one valid object", opts(), raw(json.dumps(
        mint.claims(now(), iss=ISS, aud=AUD, sub=HOSTILE)).encode()), 1, "bad_user_name")
    if o is not None:
        t.ok(isinstance(o.get("sub"), str) and o["sub"].isascii() and "\n" not in o["sub"] and
             "\u202e" not in o["sub"], "--json: the hostile sub is escaped text", repr(o.get("sub")))

# ---------------------------------------------------------------- --decode


def decode_case(name, token, header_want=None, payload_want=None):
    """--decode text and JSON forms agree with python's own decode."""
    want_h, want_p = py_decode(token)
    rc, out, err = run(["--decode"], token + "\n")
    problems = []
    if rc != 0:
        problems.append("exit %s" % rc)
    if not ascii_only(out):
        problems.append("text form is not printable ASCII: %r" % out[:300])
    try:
        docs = text_docs(out)
        if docs != [want_h, want_p]:
            problems.append("text form reads %r" % docs)
    except (ValueError, UnicodeDecodeError) as e:
        problems.append("text form: %s: %r" % (e, out[:300]))
    t.ok(not problems, name + ": text, UNVERIFIED then header and payload", "; ".join(problems) + err)
    text_out = out
    rc, out, err = run(["--decode", "--json"], token)
    o, why = one_object(out)
    problems = [] if why is None else [why]
    if rc != 0:
        problems.append("exit %s" % rc)
    if o is not None:
        if set(o) != {"ok", "reason", "header", "payload"}:
            problems.append("fields %s" % sorted(o))
        if o.get("ok") is not True or o.get("reason") != "ok":
            problems.append("ok %r reason %r" % (o.get("ok"), o.get("reason")))
        if o.get("header") != want_h or o.get("payload") != want_p:
            problems.append("round trip: %r" % o)
        for k, v in (header_want or {}).items():
            if o.get("header", {}).get(k) != v:
                problems.append("header %s: %r" % (k, o.get("header", {}).get(k)))
        for k, v in (payload_want or {}).items():
            if o.get("payload", {}).get(k) != v:
                problems.append("payload %s: %r" % (k, o.get("payload", {}).get(k)))
    t.ok(not problems, name + ": --json round-trips", "; ".join(problems) + err)
    return text_out


def decode_reject(name, token, reason):
    rc, out, err = run(["--decode"], token)
    t.ok(rc == 1 and ascii_only(out) and b"UNVERIFIED" not in out and reason.encode() in out,
         name + ": exit 1, " + reason, "exit %s stdout %r" % (rc, out[:200]))
    rc, out, err = run(["--decode", "--json"], token)
    o, why = one_object(out)
    t.ok(rc == 1 and o == {"ok": False, "reason": reason, "header": None, "payload": None},
         name + ": --json, exit 1, " + reason, "exit %s %s %r" % (rc, why, out[:200]))


def t_decode():
    t.comment("--decode: the format step only, ASCII only")
    good = tok(jti="j-2")
    decode_case("--decode of a valid token", good, {"kid": "d1", "alg": "EdDSA"}, {"jti": "j-2"})
    old = tok(at=now() - 86400)
    decode_case("--decode of an expired token (no time check)", old,
                payload_want={"exp": mint.payload_of(old)["exp"]})
    decode_case("--decode of a token signed by an unknown key (no key read)",
                mint.sign(mint.gen_key("Ed25519", kid="zz"), "EdDSA", mint.claims(now()), {"kid": "zz"}))
    decode_reject("--decode of a malformed token", "abc.def", "malformed")
    decode_reject("--decode of a token with a bad signature segment",
                  good.rsplit(".", 1)[0] + ".***", "malformed")
    decode_reject("--decode of an empty input", "", "malformed")
    fake = "\b\n\r\x7fINCORRECT" * 3 + "\b\n"
    decode_reject("--decode of sshd's made-up answer", fake, "answer_replaced")
    decode_reject("--decode twin: the made-up pattern with one byte changed", fake[:-1] + "x", "malformed")
    big = sized(16385)
    decode_reject("--decode of a 16385-byte token", big, "too_large")
    decode_reject("--decode of a 70000-byte input", "a" * 70000, "too_large")
    decode_case("--decode twin: a token of exactly 16384 bytes", sized(16384))

    hostile = {"iss": ISS, "x": HOSTILE, HOSTILE: [HOSTILE, {"y": "\u2066\u202d"}], "z": "\x01\x1f"}
    ht = raw(json.dumps(hostile).encode(), {"alg": "EdDSA", "kid": "k\u202e\u0007"})
    out = decode_case("--decode of bidi, control and emoji characters", ht, {"kid": "k\u202e\u0007"},
                      {"x": HOSTILE})
    low = out.lower()
    t.ok(b"\\u202e" in low and b"\\u0007" in low and b"\\u2028" in low and b"\\ud83d\\ude00" in low and
         b"\\u007f" in low and b"\\u0001" in low, "--decode: U+202E, U+0007, U+2028, U+007F as \\uXXXX, "
         "an emoji as a surrogate pair", out[:400])
    ut = raw(json.dumps({"iss": ISS, "name": "J\u00f6rg \u65e5\u672c"}, ensure_ascii=False).encode())
    out = decode_case("--decode of raw UTF-8 in the payload", ut, payload_want={"name": "J\u00f6rg \u65e5\u672c"})
    t.ok(b"\\u00f6" in out.lower() and b"\\u65e5" in out.lower(), "--decode: raw UTF-8 printed as \\uXXXX",
         out[:300])

    nums = raw(b'{"a":1.0,"b":1e2,"c":-0,"d":12345678901234567890,"e":0.1,"f":[1E-7]}')
    out = decode_case("--decode of numbers", nums)
    text = out.decode()
    t.ok(all(s in text for s in ('"a": 1.0', '"b": 1e2', '"c": -0', '"d": 12345678901234567890',
                                 '"e": 0.1', "1E-7")),
         "--decode: every number as the token wrote it", text)
    deep = raw(b'{"a":' + b"[" * 31 + b"]" * 31 + b"}")
    decode_case("--decode of 32 levels of nesting", deep)
    decode_reject("--decode of 33 levels of nesting", raw(b'{"a":' + b"[" * 32 + b"]" * 32 + b"}"),
                  "malformed")
    decode_reject("--decode of a duplicate member", raw(b'{"a":1,"a":2}'), "malformed")
    rc, out, err = run(["--decode", "--bogus"], good)
    t.ok(rc == 2 and out == b"", "--decode with an unknown option: usage error", "exit %s %r" % (rc, out))

# ---------------------------------------------------------------- --now


def check_rc(token, *args):
    rc, out, err = run(opts(*args) + ["--json"], token)
    o, _ = one_object(out)
    return rc, (o or {}).get("reason")


def t_now():
    t.comment("--now: judge at another time")
    t0 = now()
    old = tok(at=t0 - 86400)           # iat t0-86400, exp t0-86100
    exp = mint.payload_of(old)["exp"]
    t.eq(check_rc(old), (1, "expired"), "--now: a day-old token is expired now")
    rc, reason = check_rc(old, "--now", str(exp - 200))
    t.eq((rc, reason), (0, "ok"), "--now: the same token accepted as at a time it was valid")
    rc, reason = check_rc(old, "--now", str(exp - 1), "leeway=0")
    t.eq((rc, reason), (0, "ok"), "--now: accepted one second before exp (leeway 0)")
    rc, reason = check_rc(old, "--now", str(exp), "leeway=0")
    t.eq((rc, reason), (1, "expired"), "--now: expired at exp (leeway 0)")
    rc, reason = check_rc(old, "--now", str(exp + 59))
    t.eq((rc, reason), (0, "ok"), "--now: accepted within the default leeway of 60")
    fresh = tok()
    fexp = mint.payload_of(fresh)["exp"]
    t.eq(check_rc(fresh), (0, "ok"), "--now twin: a fresh token is accepted now")
    t.eq(check_rc(fresh, "--now", str(fexp + 60)), (1, "expired"),
         "--now: the fresh token is expired as at exp + leeway")
    later = fexp + 7200
    json_case("--now: the expired detail gives the --now time", opts("--now", str(later)), fresh, 1,
              "expired", detail_has=str(later))
    t.eq(check_rc(fresh, "--now", str(t0 - 3600)), (1, "not_yet_valid"),
         "--now: the fresh token is not yet valid an hour ago")
    t.eq(check_rc(fresh, "--now", "0"), (1, "not_yet_valid"), "--now 0 is a time")
    t.eq(check_rc(fresh, "--now", "253402300799"), (1, "expired"), "--now 253402300799 is a time")
    for bad in ("-1", "+5", "1.5", "1e3", " 5", "5 ", "", "0x10", "253402300800",
                "99999999999999999999999999", "\u0665"):
        json_case("--now %r: usage error" % bad, opts("--now", bad), fresh, 2, "usage", detail_has="--now")

# ---------------------------------------------------------------- --version, --help


def t_version_help():
    t.comment("--version and --help")
    with open(os.path.join(SRC, "configure.ac"), encoding="utf-8") as f:
        m = re.search(r"AC_INIT\(\[[^]]*\],\s*\[([^]]+)\]", f.read())
    version = m.group(1) if m else None
    rc, out, err = run(["--version"])
    t.ok(version is not None and rc == 0 and out == ("pam_jwt %s\n" % version).encode(),
         "--version prints pam_jwt %s (configure.ac)" % version, "exit %s %r" % (rc, out))
    for h in ("--help", "-h"):
        rc, out, err = run([h])
        text = out.decode()
        missing = [o for o in OPTIONS if not re.search(r"(^|[\s\[|])%s\b" % re.escape(o), text)]
        t.ok(rc == 0 and not missing, "%s: exit 0, names every option" % h,
             "exit %s missing %s\n%s" % (rc, missing, text))
    rc, out, err = run(["--bogus"])
    t.ok(rc == 2 and out == b"" and "--bogus" in err and "--decode" in err,
         "without --json a usage error goes to stderr with the usage", "exit %s %r %r" % (rc, out, err))
    with open(os.path.join(SRC, "man", "pam_jwt_check.1"), encoding="utf-8") as f:
        man = f.read().replace("\\-", "-")
    missing = [o for o in OPTIONS if o not in man]
    t.ok(not missing, "pam_jwt_check(1) names every option", "missing %s" % missing)
    missing = [r for r in ("usage", "config_error", "keys_unavailable", "UNVERIFIED") if r not in man]
    t.ok(not missing, "pam_jwt_check(1) names usage, config_error, keys_unavailable, UNVERIFIED",
         "missing %s" % missing)


def main():
    global JWKS
    t.comment("token issuer: " + mint.IMPLEMENTATION)
    if not os.access(BIN, os.X_OK):
        print("Bail out! %s is not built" % BIN)
        return 1
    os.chmod(tmp, 0o700)
    K["d1"] = mint.gen_key("Ed25519", kid="d1")
    JWKS = write(os.path.join(tmp, "keys.jwks"), mint.json_bytes(mint.jwks(mint.public_jwk(K["d1"]))), 0o644)
    try:
        for fn in (t_json, t_decode, t_now, t_version_help):
            t.run(fn, fn.__name__)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
