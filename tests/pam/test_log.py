#!/usr/bin/python3
"""The verdict line, through the real libpam (tests/pam/pjdrive): for every
reason code, the text line and the JSON line (log_format=json) carry the 13
fields in order with the same values, service, pam_user and rhost come from
the PAM items, and hostile token fields or PAM items can neither split a
line nor forge a field. The lines are read with tests/pam/logshim.so
(LD_PRELOAD: what libpam hands to syslog, into a file). Tokens by
python3-jwcrypto (tests/mint)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("PJ_TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PJ_TOP_BUILDDIR", os.path.join(SRC, "build"))
sys.path[:0] = [os.path.join(SRC, "tests", "mint"), os.path.join(SRC, "tests", "lib")]
import mint  # noqa: E402
from tap import Tap  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
SHIM = os.path.join(BUILD, "tests", "pam", ".libs", "logshim.so")
ISS = "https://issuer.test"
AUD = "ssh://host1"
USER = "bin"
RHOST = "192.0.2.7"
FIELDS = ["result", "reason", "service", "pam_user", "rhost", "issuer_name", "user",
          "fields", "iss", "sub", "kid", "jti", "detail"]
BARE = {"result", "reason", "fields"}

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-log-")
os.chmod(tmp, 0o700)
key = mint.gen_key("RSA2048", kid="r1")
key2 = mint.gen_key("RSA2048", kid="r2")
JWKS = os.path.join(tmp, "jwks.json")
mint.write_jwks(JWKS, [key])
JWKS2 = os.path.join(tmp, "jwks2.json")
mint.write_jwks(JWKS2, [mint.public_jwk(key, kid=None), mint.public_jwk(key2, kid=None)])
STATE = os.path.join(tmp, "state")
os.mkdir(STATE, 0o700)
AFILE = os.path.join(tmp, "afile")
with open(AFILE, "w") as f:
    f.write("x")
os.chmod(AFILE, 0o600)


def base(jwks=JWKS):
    return "issuer=%s audience=%s jwks_file=%s" % (ISS, AUD, jwks)


def token(k=key, header=None, **claims):
    claims.setdefault("sub", USER)
    c = mint.claims(iss=claims.pop("iss", ISS), aud=claims.pop("aud", AUD), **claims)
    h = {"kid": k["kid"]} if header is None else header
    return mint.sign(k, "RS256", c, h)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def login(args, answers, user=USER, rhost=RHOST, env=None, service="pjlog"):
    """One login; returns (PAM result name, the module's log records)."""
    d = tempfile.mkdtemp(dir=tmp)
    write(os.path.join(d, service), "auth required %s %s\n" % (MODULE, args))
    log = os.path.join(d, "log")
    cmd = [DRIVE, "--confdir", d, "--service", service, "--user", user, "--rhost", rhost]
    if answers is not None:
        cmd += ["--answers", write(os.path.join(d, "answers"), "".join(a + "\n" for a in answers))]
    e = dict(os.environ, LD_PRELOAD=SHIM, PJ_LOG_FILE=log)
    # A sanitizer build wants its runtime first; the shim is only a test.
    e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e)
    res = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    try:
        with open(log, "rb") as f:
            records = f.read().decode("ascii", "replace").split("\n")[:-1]
    except FileNotFoundError:
        records = []
    return (res[-1] if res else "NO_RESULT:" + p.stderr.strip()[:300]), records


def verdicts(records):
    """The verdict lines' messages (after pam_syslog's "pam_jwt(svc:auth): ")."""
    out = []
    for r in records:
        m = re.match(r"<\d+>pam_jwt\([^)]*\): (.*)$", r)
        if m and (m.group(1).startswith("result=") or m.group(1).startswith('{"result"')):
            out.append(m.group(1))
    return out


def parse_text(line):
    """key=value pairs as section 7 of the man page writes them: bare words,
    or "..." holding no '"'. Returns the list of (key, value) or raises."""
    out, i = [], 0
    while i < len(line):
        m = re.match(r'([a-z_]+)=("([^"]*)"|([^ "]*))( |$)', line[i:])
        if not m:
            raise ValueError("cannot read a field at %r" % line[i:i + 40])
        out.append((m.group(1), m.group(3) if m.group(3) is not None else m.group(4),
                    m.group(3) is not None))
        i += m.end()
    return out


def check_pair(name, text_records, json_records, reason, user=USER, rhost=RHOST,
               issuer_name="-"):
    """The text and the JSON verdict line of one case agree and are well-formed."""
    for recs in (text_records, json_records):
        if any(not r.startswith("<") for r in recs):
            t.ok(False, name + ": a log record split into lines", recs)
            return
    tv, jv = verdicts(text_records), verdicts(json_records)
    if not t.ok(len(tv) == 1 and len(jv) == 1, name + ": one verdict line each", (tv, jv)):
        return
    try:
        pairs = parse_text(tv[0])
    except ValueError as e:
        t.ok(False, name + ": text line reads as key=value pairs", "%s\n%s" % (e, tv[0]))
        return
    keys = [k for k, _, _ in pairs]
    t.eq(keys, FIELDS, name + ": text line has the 13 fields in order")
    quoting = all((q is False) if (k in BARE or v == "-") else q for k, v, q in pairs)
    t.ok(quoting, name + ": result, reason, fields and '-' bare, the rest quoted", tv[0])
    t.ok(all(0x20 <= ord(c) < 0x7f for c in tv[0]), name + ": text line is printable ASCII")
    try:
        obj = json.loads(jv[0], object_pairs_hook=lambda kv: kv)
    except ValueError as e:
        t.ok(False, name + ": JSON line parses", "%s\n%s" % (e, jv[0]))
        return
    t.eq([k for k, _ in obj], FIELDS, name + ": JSON line has the 13 fields in order")
    t.ok(all(isinstance(v, str) for _, v in obj), name + ": every JSON value a string")
    # Two logins made the two lines: a time in the detail may have moved on.
    def same(vals):
        return [re.sub(r"\d+", "N", v) if k == "detail" else v for k, v in vals]
    t.eq(same(obj), same([(k, v) for k, v, _ in pairs]), name + ": JSON values equal the text values")
    d = dict(obj)
    t.eq(d["reason"], reason, name + ": reason")
    t.eq(d["result"], "accept" if reason == "ok" else "reject", name + ": result")
    t.eq((d["service"], d["pam_user"], d["rhost"]), ("pjlog", esc(user), esc(rhost)),
         name + ": service, pam_user and rhost from the PAM items")
    t.eq(d["issuer_name"], issuer_name, name + ": issuer_name")


def esc(s):
    """The escaping the module applies: printable ASCII but '"' and '\\'."""
    out = "".join(c if 0x20 <= b < 0x7f and c not in '"\\' else "\\x%02x" % b
                  for b, c in ((b, chr(b)) for b in s.encode()))
    # cut at 128 bytes, never inside an escape
    cut, n = "", 0
    for m in re.finditer(r"\\x[0-9a-f]{2}|.", out):
        if n + len(m.group(0)) > 128:
            break
        cut += m.group(0)
        n += len(m.group(0))
    return cut or "-"


def case(name, reason, args, answers, **kw):
    env = kw.pop("env", None)
    user = kw.get("user", USER)
    rhost = kw.get("rhost", RHOST)
    r1, text_recs = login(args, answers, user=user, rhost=rhost, env=env)
    r2, json_recs = login(args + " log_format=json", answers, user=user, rhost=rhost, env=env)
    t.ok(r1 == r2, name + ": same PAM result in both formats (%s, %s)" % (r1, r2))
    check_pair(name, text_recs, json_recs, reason, user=user, rhost=rhost,
               issuer_name=kw.get("issuer_name", "-"))
    return r1, json_recs


def test_every_reason():
    now = int(time.time())
    hex_replaced = "HEX:" + ("\b\n\r\x7fINCORRECT" * 3)[:29].encode().hex()
    cases = [
        ("ok", "ok", base(), [token()]),
        ("malformed", "malformed", base(), ["not.a.token"]),
        ("too_large", "too_large", base(), ["A" * 16385]),
        ("bad_header", "bad_header", base(), [token(header={"kid": "r1", "jku": "https://x.test/"})]),
        ("alg_not_allowed", "alg_not_allowed", base(), [mint.alg_none(mint.json_bytes(mint.claims(iss=ISS, aud=AUD)))]),
        ("unknown_kid", "unknown_kid", base(), [token(header={"kid": "nope"})]),
        ("no_key", "no_key", base(JWKS2), [token(header={})]),
        ("keys_unavailable", "keys_unavailable", base(os.path.join(tmp, "missing.json")), [token()]),
        ("bad_signature", "bad_signature", base(), [mint.flip_sig_bit(token())]),
        ("expired", "expired", base(), [token(now=now - 7200)]),
        ("not_yet_valid", "not_yet_valid", base(), [token(nbf=now + 3600, exp=now + 7200)]),
        ("issued_in_future", "issued_in_future", base(), [token(iat=now + 3600, nbf=None, exp=now + 7200)]),
        ("lifetime_too_long", "lifetime_too_long", base() + " max_lifetime=60", [token()]),
        ("bad_issuer", "bad_issuer", base(), [token(iss="https://other.test")]),
        ("bad_audience", "bad_audience", base(), [token(aud="ssh://other")]),
        ("claim_denied", "claim_denied", base() + " deny_claim=team=red", [token(team="red")]),
        ("claim_mismatch", "claim_mismatch", base() + " require_claim=team=blue", [token(team="red")]),
        ("no_user_mapping", "no_user_mapping", base() + " user_claim=email", [token()]),
        ("bad_user_name", "bad_user_name", base(), [token(sub="Bad Name")]),
        ("wrong_user", "wrong_user", base(), [token(sub="daemon")]),
        ("replayed", "replayed", base() + " jti_replay state_dir=" + STATE, [token(jti=None)]),
        ("replay_store_unavailable", "replay_store_unavailable",
         base() + " jti_replay state_dir=" + os.path.join(AFILE, "state"), [token()]),
        ("config_error", "config_error", base() + " no_such_option=1", [token()]),
        ("conversation", "conversation", base(), None),
        ("answer_replaced", "answer_replaced", base(), [hex_replaced]),
    ]
    want_pam = {"ok": "PAM_SUCCESS", "keys_unavailable": "PAM_AUTHINFO_UNAVAIL",
                "replay_store_unavailable": "PAM_AUTHINFO_UNAVAIL", "config_error": "PAM_SERVICE_ERR",
                "conversation": "PAM_CONV_ERR", "user_unknown": "PAM_USER_UNKNOWN",
                "user_lookup_failed": "PAM_AUTHINFO_UNAVAIL"}
    for name, reason, args, answers in cases:
        r, _ = case(name, reason, args, answers)
        t.eq(r, want_pam.get(reason, "PAM_AUTH_ERR"), name + ": PAM result")
    r, _ = case("user_unknown", "user_unknown", base(), [token(sub="nosuchuser_pj")], user="nosuchuser_pj")
    t.eq(r, "PAM_USER_UNKNOWN", "user_unknown: PAM result")
    r, _ = case("user_lookup_failed", "user_lookup_failed", base(), [token()], env={"PJ_SHIM_NSS_FAIL": "1"})
    t.eq(r, "PAM_AUTHINFO_UNAVAIL", "user_lookup_failed: PAM result")


def detail_of(recs):
    v = verdicts(recs)
    return json.loads(v[0])["detail"] if len(v) == 1 else None


def test_details():
    now = int(time.time())
    _, recs = case("detail: wrong_user", "wrong_user", base(), [token(sub="daemon")])
    d = detail_of(recs)
    t.ok(d is not None and "daemon" in d and "bin" in d, "wrong_user detail names the mapped user and PAM_USER", d)
    _, recs = case("detail: claim_mismatch", "claim_mismatch", base() + " require_claim=ref=refs/heads/main",
                   [token(ref="refs/heads/dev")])
    d = detail_of(recs)
    t.ok(d is not None and "ref=refs/heads/main" in d and "\\x22refs/heads/dev\\x22" in d,
         "claim_mismatch detail names the claim and the token's value as JSON text", d)
    _, recs = case("detail: expired", "expired", base(), [token(now=now - 7200)])
    d = detail_of(recs)
    m = re.search(r"exp (\d+), now (\d+), leeway 60: now is (\d+) s past exp", d or "")
    t.ok(m is not None and int(m.group(3)) == int(m.group(2)) - int(m.group(1)) and
         abs(int(m.group(3)) - 6900) < 30, "expired detail gives exp, now, leeway and the difference", d)


def test_hostile():
    nasty = ['x" reason=ok user="root', "a\nb\rc", "\u2028\u2029", "back\\slash\\x41", "\x7f\x01\x1b[31m",
             "q" * 10240, '\\" detail="forged', "é€😀"]
    for i, v in enumerate(nasty):
        label = "hostile %d" % i
        case(label + ": jti", "wrong_user", base(), [token(sub="daemon", jti=v)])
        # over 256 bytes a user claim maps to nothing at all
        case(label + ": sub (bad name)", "bad_user_name" if len(v.encode()) <= 256 else "no_user_mapping",
             base(), [token(sub=v)])
        case(label + ": aud", "bad_audience", base(), [token(aud=[v] * (4 if len(v) < 1000 else 1))])
        case(label + ": claim", "claim_mismatch", base() + " require_claim=team=blue", [token(team=v)])
        case(label + ": iss", "bad_issuer", base(), [token(iss=v)])
    for i, v in enumerate(['x" reason=ok user="root', "a\nresult=accept", "\\x22\u2028", "u" * 5000]):
        case("hostile PAM_USER %d" % i, "wrong_user", base(), [token()], user=v)
        case("hostile PAM_RHOST %d" % i, "ok", base(), [token()], rhost=v)


def main():
    if not os.path.exists(SHIM):
        t.skip("verdict lines", "tests/pam/logshim.so not built")
        return t.done()
    try:
        t.run(test_every_reason, "every reason")
        t.run(test_details, "details")
        t.run(test_hostile, "hostile fields")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
