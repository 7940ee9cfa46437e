#!/usr/bin/python3
"""Policy and sections through pam_jwt_check --json, TAP output.

deny_claim (it beats everything; strings, arrays, numbers, booleans,
matched as require_claim matches; an absent claim never holds),
require_scope (scope and scp, string and array forms), typ= (normalised
comparison), the claim and time details (pam_jwt(8) LOGGING: token values
as JSON text, escaped with \\xHH), and the isolation of [issuer NAME]
sections (pam_jwt.conf(5)): keys, require_claim, user_map, leeway,
max_lifetime, algorithms and typ each apply only to their own section's
tokens, and issuers= hides a section from one invocation only.

Every token is minted by python3-jwcrypto (tests/mint). Environment:
PJ_TOP_SRCDIR, PJ_TOP_BUILDDIR (set by make check).
"""
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
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or os.path.join(SRC, "build")
BIN = os.path.join(BUILD, "src", "pam_jwt_check")
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("lib", "mint")]
import mint  # noqa: E402
from tap import Tap  # noqa: E402

T = Tap()
ISS = "https://a.issuer.test"
ISS_B = "https://b.issuer.test"
AUD = "ssh://host1"
USER = "bin"          # a non-root account every Debian system has


class Fix:
    pass


F = Fix()


def setup():
    F.dir = tempfile.mkdtemp(prefix="pj-policy-")
    os.chmod(F.dir, 0o700)
    # Issuer A and issuer B each have a P-256 key with the same kid.
    F.a = mint.gen_key("P-256", kid="k1")
    F.b = mint.gen_key("P-256", kid="k1")
    F.b_rsa = mint.gen_key("RSA2048", kid="r1")
    F.jwks_a = path("a.jwks")
    mint.write_jwks(F.jwks_a, [mint.public_jwk(F.a)], 0o644)
    F.jwks_b = path("b.jwks")
    mint.write_jwks(F.jwks_b, [mint.public_jwk(F.b), mint.public_jwk(F.b_rsa)], 0o644)
    F.base = ["jwks_file=" + F.jwks_a, "issuer=" + ISS, "audience=" + AUD, "algorithms=ES256"]


def path(name):
    return os.path.join(F.dir, name)


def write(name, text, mode=0o600):
    p = path(name)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, mode)
    return p


def now():
    return int(time.time())


def claims(**extra):
    """Issuer A's usual claims for USER; extra overrides (None removes)."""
    base = {"iss": ISS, "aud": AUD, "sub": USER}
    base.update(extra)
    return mint.claims(now=now(), **base)


def tok(c=None, key=None, alg="ES256", typ=None, raw=None, hdr=None):
    """Signed by jwcrypto; raw: JSON text appended inside the payload
    object (numbers such as 1.0 or 1e0 written as they are)."""
    key = key or F.a
    h = {"alg": alg, "kid": key["kid"]}
    if typ is not None:
        h["typ"] = typ
    h.update(hdr or {})
    payload = mint.json_bytes(claims() if c is None else c)
    if raw:
        payload = payload[:-1] + b"," + raw.encode() + b"}"
    return mint.sign_raw(key, alg, h, payload)


def run(token, opts=(), config=None, user=USER, base=True, extra=()):
    """pam_jwt_check --json: (exit status, object or None, stderr)."""
    cmd = [BIN] + list(extra)
    if config:
        cmd += ["--config", config]
    cmd += (F.base if base and not config else []) + list(opts)
    if user:
        cmd += ["--user", user]
    cmd.append("--json")
    p = subprocess.run(cmd, input=token.encode(), capture_output=True, timeout=60)
    try:
        obj = json.loads(p.stdout.decode())
    except ValueError:
        obj = None
    return p.returncode, obj, p.stderr.decode(errors="replace")


ISSUER_NAME_SEEN = []


def check(name, token, reason, opts=(), detail=(), section=None, **kw):
    """reason "ok": exit 0; else exit 1 with that reason. detail: strings
    the detail must hold. section: the issuer_name (when --json has it)."""
    rc, obj, err = run(token, opts, **kw)
    want_rc = 0 if reason == "ok" else 1
    got = obj.get("reason") if obj else None
    good = rc == want_rc and obj is not None and got == reason
    d = obj.get("detail") or "" if obj else ""
    missing = [x for x in detail if x not in d]
    good = good and not missing
    if section is not None and obj is not None and "issuer_name" in obj:
        ISSUER_NAME_SEEN.append(1)
        good = good and obj["issuer_name"] == section
    return T.ok(good, name, "exit %s reason %r (want %s)\ndetail %r\nmissing %r\nissuer_name %r\nstderr %s"
                % (rc, got, reason, d, missing, obj and obj.get("issuer_name"), err.strip()[:300]))


def q(s):
    """A token value as the detail writes it: JSON text, " and \\ as \\xHH."""
    return s.replace("\\", "\\x5c").replace('"', "\\x22")


# ---------------------------------------------------------------- deny_claim

def test_deny():
    req = ["require_claim=ref=refs/heads/main", "require_claim=repository=acme/api"]
    c = claims(ref="refs/heads/main", repository="acme/api", env="prod", groups=["dev", "contractors"])
    check("require_claim: a token that satisfies every require_claim is accepted", tok(c), "ok", req)
    check("deny_claim beats every satisfied require_claim: claim_denied", tok(c), "claim_denied",
          req + ["deny_claim=env=prod"], [q('"prod"'), "env"])
    check("deny_claim beats a failing require_claim too: claim_denied, not claim_mismatch",
          tok(dict(c, ref="refs/heads/dev")), "claim_denied", req + ["deny_claim=env=prod"])
    check("deny_claim beats a missing require_scope: claim_denied", tok(c), "claim_denied",
          ["require_scope=ssh", "deny_claim=env=prod"])
    check("deny_claim that does not hold: accepted", tok(c), "ok", req + ["deny_claim=env=dev"])
    check("deny_claim, one of several holds: claim_denied", tok(c), "claim_denied",
          ["deny_claim=env=dev", "deny_claim=env=prod"])

    def case(name, value, rule, denied, raw=None):
        c = claims() if raw else claims(x=value)
        t = tok(c, raw=raw)
        check("deny_claim %s: %s" % (rule, name), t, "claim_denied" if denied else "ok",
              ["deny_claim=" + rule])
        # require_claim matches the same values: the exact twin.
        check("require_claim %s: %s" % (rule, name), t, "ok" if denied else "claim_mismatch",
              ["require_claim=" + rule])

    case("string equal holds", "prod", "x=prod", True)
    case("string differing in case does not hold", "Prod", "x=prod", False)
    case("a longer string does not hold", "production", "x=prod", False)
    case("a space-separated string is not split", "dev prod", "x=prod", False)
    case("array with the member holds", ["dev", "prod"], "x=prod", True)
    case("array without the member does not hold", ["dev", "prod-x"], "x=prod", False)
    case("array holding the value only nested does not hold", [["prod"]], "x=prod", False)
    case("number 1 holds for 1", 1, "x=1", True)
    case("number 1.0 never holds for 1", None, "x=1", False, raw='"x":1.0')
    case("number 1e0 never holds for 1", None, "x=1", False, raw='"x":1e0')
    case("number -0 never holds for 0", None, "x=0", False, raw='"x":-0')
    case("number 0 holds for 0", 0, "x=0", True)
    case("number -42 holds for -42", -42, "x=-42", True)
    case("number 10 does not hold for 1", 10, "x=1", False)
    case("15-digit number holds", 123456789012345, "x=123456789012345", True)
    case("16-digit number never holds", 1234567890123456, "x=1234567890123456", False)
    case("number 7 does not hold for 007", 7, "x=007", False)
    case("number 5 does not hold for +5", 5, "x=+5", False)
    case("string \"1\" holds for 1", "1", "x=1", True)
    case("boolean true holds for true", True, "x=true", True)
    case("boolean false does not hold for true", False, "x=true", False)
    case("boolean true does not hold for True", True, "x=True", False)
    case("boolean false holds for false", False, "x=false", True)
    case("null does not hold for null", None, "x=null", False, raw='"x":null')
    case("object does not hold", {"prod": True}, "x=prod", False)
    case("JSON Pointer into an object holds", None, "/k/ns=prod", True, raw='"k":{"ns":"prod"}')
    case("JSON Pointer into an array member holds", None, "/k/0=prod", True, raw='"k":["prod","dev"]')
    case("JSON Pointer ~1 names a/b", None, "/a~1b=prod", True, raw='"a/b":"prod"')
    case("a name with / written plainly is a member name", None, "k8s.io/ns=prod", True,
         raw='"k8s.io/ns":"prod"')
    # An absent claim never holds (twin above: require_claim says absent).
    for rule in ("x=prod", "/k/ns=prod", "x=absent"):
        check("deny_claim %s: absent claim never holds" % rule, tok(claims()), "ok", ["deny_claim=" + rule])
    check("deny_claim /k/ns=prod: k not an object, never holds", tok(claims(k="prod")), "ok",
          ["deny_claim=/k/ns=prod"])


# ---------------------------------------------------------------- require_scope

def test_scope():
    def sc(name, rules, members, want, detail=()):
        check("require_scope %s: %s" % (",".join(rules), name), tok(claims(**members)), want,
              ["require_scope=" + r for r in rules], detail)

    sc("first word of scope", ["ssh"], {"scope": "ssh openid email"}, "ok")
    sc("middle word of scope", ["ssh"], {"scope": "openid ssh email"}, "ok")
    sc("last word of scope", ["ssh"], {"scope": "openid email ssh"}, "ok")
    sc("the only word", ["ssh"], {"scope": "ssh"}, "ok")
    sc("double spaces", ["ssh"], {"scope": "openid  ssh  email"}, "ok")
    sc("leading and trailing spaces", ["ssh"], {"scope": "  ssh "}, "ok")
    sc("a longer word (sshx) is not ssh", ["ssh"], {"scope": "openid sshx"}, "claim_mismatch",
       ["ssh", q('"openid sshx"')])
    sc("a word with a prefix (xssh) is not ssh", ["ssh"], {"scope": "xssh email"}, "claim_mismatch")
    sc("ssh-admin is not ssh", ["ssh"], {"scope": "ssh-admin"}, "claim_mismatch")
    sc("case differs", ["ssh"], {"scope": "SSH"}, "claim_mismatch")
    sc("a tab is not a separator", ["ssh"], {"scope": "openid\tssh"}, "claim_mismatch")
    sc("scope absent, scp absent", ["ssh"], {}, "claim_mismatch", ["ssh", "absent"])
    sc("scope a number", ["ssh"], {"scope": 7}, "claim_mismatch")
    sc("scp array with the word", ["ssh"], {"scp": ["openid", "ssh"]}, "ok")
    sc("scp array without the word", ["ssh"], {"scp": ["openid", "sshx"]}, "claim_mismatch",
       ["ssh", q('["openid","sshx"]')])
    sc("scp array member holding spaces is one word", ["ssh"], {"scp": ["openid ssh"]}, "claim_mismatch")
    sc("scp string (Entra ID) with the word", ["ssh"], {"scp": "openid ssh"}, "ok")
    sc("scp string without the word", ["ssh"], {"scp": "openid sshd"}, "claim_mismatch")
    sc("scope array with the word", ["ssh"], {"scope": ["ssh", "openid"]}, "ok")
    sc("all of several hold", ["ssh", "sudo"], {"scope": "sudo openid ssh"}, "ok")
    sc("one of several missing", ["ssh", "sudo"], {"scope": "openid ssh"}, "claim_mismatch",
       ["sudo", q('"openid ssh"')])
    # Several failing: the first written is named.
    rc, obj, _ = run(tok(claims(scope="openid")), ["require_scope=alpha", "require_scope=beta"])
    d = (obj or {}).get("detail") or ""
    T.ok(rc == 1 and "alpha" in d and "beta" not in d,
         "require_scope alpha,beta both missing: the detail names alpha, the first written", d)
    # require_claim is judged before require_scope.
    rc, obj, _ = run(tok(claims(scope="openid", ref="dev")), ["require_scope=ssh", "require_claim=ref=main"])
    d = (obj or {}).get("detail") or ""
    T.ok(rc == 1 and d.startswith("require_claim"),
         "require_claim and require_scope both failing: the detail is require_claim's", d)


# ---------------------------------------------------------------- typ

def test_typ():
    for typ in ("at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"):
        check("typ=at+jwt: header typ %r accepted" % typ, tok(typ=typ), "ok", ["typ=at+jwt"])
    for typ, shown in (("JWT", q('"JWT"')), (None, "absent"), (123, "123"),
                       ("application/jwt", q('"application/jwt"')), ("at+jwt ", None),
                       ("application/application/at+jwt", None), ("", None)):
        check("typ=at+jwt: header typ %s refused" % (json.dumps(typ) if typ is not None else "missing"),
              tok(typ=typ), "bad_header", ["typ=at+jwt"], [shown] if shown else ())
    check("typ=application/at+jwt: header typ at+jwt accepted", tok(typ="at+jwt"), "ok",
          ["typ=application/at+jwt"])
    check("typ=application/at+jwt: header typ JWT refused", tok(typ="JWT"), "bad_header",
          ["typ=application/at+jwt"])
    for typ in ("JWT", "at+jwt", "garbage", 123, {"a": 1}, None):
        check("without typ=: header typ %s accepted" % json.dumps(typ), tok(typ=typ), "ok")
    # Order: audience (then typ) before policy.
    check("typ wrong and audience wrong: bad_audience first", tok(claims(aud="ssh://other"), typ="JWT"),
          "bad_audience", ["typ=at+jwt"])
    check("typ wrong and a deny_claim holding: bad_header first", tok(claims(env="prod"), typ="JWT"),
          "bad_header", ["typ=at+jwt", "deny_claim=env=prod"])


# ---------------------------------------------------------------- details

def test_details():
    rule = ["require_claim=ref=refs/heads/main"]
    check("detail: wrong value named with the token's value as JSON text",
          tok(claims(ref="refs/heads/dev")), "claim_mismatch", rule,
          ["ref=refs/heads/main", "token has " + q('"refs/heads/dev"')])
    check("detail: absent claim says absent", tok(claims()), "claim_mismatch", rule,
          ["ref=refs/heads/main", "token has absent"])
    check("detail: the string \"absent\" reads differently", tok(claims(ref="absent")), "claim_mismatch", rule,
          ["token has " + q('"absent"')])
    check("detail: array without the value", tok(claims(ref=["a", "b"])), "claim_mismatch", rule,
          ["token has " + q('["a","b"]')])
    check("detail: number written 1.0", tok(claims(), raw='"n":1.0'), "claim_mismatch", ["require_claim=n=1"],
          ["n=1", "token has 1.0"])
    check("detail: a quote and a backslash in the value are escaped", tok(claims(ref='a"b\\c')),
          "claim_mismatch", rule, ["token has " + q(json.dumps('a"b\\c'))])
    check("detail: a deny_claim hit", tok(claims(groups=["dev", "contractors"])), "claim_denied",
          ["deny_claim=/groups=contractors"], ["/groups=contractors", "token has " + q('["dev","contractors"]')])
    check("detail: a missing scope word and the token's scope", tok(claims(scope="openid email")),
          "claim_mismatch", ["require_scope=ssh"], ["ssh", q('"openid email"')])
    check("detail: a missing scope word and the token's scp", tok(claims(scp=["openid"])),
          "claim_mismatch", ["require_scope=ssh"], ["ssh", q('["openid"]')])

    # Time: the claim's value, now, the leeway and the difference.
    def timed(name, mk, reason, pat, opts=(), fn=None):
        for _ in range(5):
            t0 = now()
            c = mk(t0)
            rc, obj, _ = run(tok(c), opts)
            if now() == t0:
                break
        d = (obj or {}).get("detail") or ""
        m = re.search(pat, d)
        good = rc == 1 and obj.get("reason") == reason and m is not None and fn(c, t0, m)
        T.ok(good, "detail %s: %s" % (reason, name), "exit %s %r" % (rc, d))
        return m

    n_pat = r"now (\d+), leeway (\d+)"
    timed("exp, now, leeway 60 and 700 s past",
          lambda n: claims(iat=n - 1000, nbf=n - 1000, exp=n - 700), "expired",
          r"exp (\d+), " + n_pat + r": now is (\d+) s past exp",
          fn=lambda c, n, m: (int(m[1]), int(m[2]), int(m[3]), int(m[4])) == (c["exp"], n, 60, 700))
    timed("leeway 5 shown", lambda n: claims(iat=n - 100, nbf=n - 100, exp=n - 10), "expired",
          r"exp (\d+), " + n_pat + r": now is (\d+) s past exp", ["leeway=5"],
          fn=lambda c, n, m: (int(m[3]), int(m[4])) == (5, 10))
    timed("nbf 700 s ahead", lambda n: claims(nbf=n + 700, iat=n, exp=n + 900), "not_yet_valid",
          r"nbf (\d+), " + n_pat + r": nbf is (\d+) s ahead of now",
          fn=lambda c, n, m: (int(m[1]), int(m[2]), int(m[3]), int(m[4])) == (c["nbf"], n, 60, 700))
    timed("iat 700 s ahead", lambda n: claims(nbf=None, iat=n + 700, exp=n + 900), "issued_in_future",
          r"iat (\d+), " + n_pat + r": iat is (\d+) s ahead of now",
          fn=lambda c, n, m: (int(m[1]), int(m[2]), int(m[3]), int(m[4])) == (c["iat"], n, 60, 700))
    timed("lifetime 7200 s is 3600 s over 3600", lambda n: claims(iat=n - 100, nbf=n - 100, exp=n + 7100),
          "lifetime_too_long",
          r"iat (\d+), exp (\d+), " + n_pat + r": lifetime (\d+) s is (\d+) s over max_lifetime (\d+)",
          ["max_lifetime=3600"],
          fn=lambda c, n, m: [int(x) for x in m.groups()] == [c["iat"], c["exp"], n, 60, 7200, 3600, 3600])

    # --now: a skewed clock reads differently from an old token.
    probe = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    if "--now" not in probe.stdout + probe.stderr:
        T.skip("--now: the same token at two times gives two differences", "pam_jwt_check has no --now")
        return
    n = now()
    old = tok(claims(iat=n - 1000, nbf=n - 1000, exp=n - 700))
    seen = []
    for at in (n, n - 650, n + 5000):
        rc, obj, _ = run(old, extra=["--now", str(at)])
        seen.append(((obj or {}).get("reason"), (obj or {}).get("detail") or ""))
    T.ok(seen[0][0] == "expired" and "now %d," % n in seen[0][1] and "now is 700 s past exp" in seen[0][1]
         and seen[1][0] == "ok"
         and seen[2][0] == "expired" and "now %d," % (n + 5000) in seen[2][1]
         and "now is 5700 s past exp" in seen[2][1],
         "--now: an old token is 700 s past exp now, valid 650 s ago, 5700 s past exp at now+5000", seen)
    fresh = tok(claims(iat=n, nbf=n, exp=n + 300))
    rc, obj, _ = run(fresh, extra=["--now", str(n - 700)])
    d = (obj or {}).get("detail") or ""
    T.ok(rc == 1 and obj.get("reason") == "not_yet_valid" and "nbf is 700 s ahead of now" in d
         and "now %d," % (n - 700) in d,
         "--now: a fresh token on a clock 700 s slow: nbf is 700 s ahead (not an old token)", d)


# ---------------------------------------------------------------- sections

def sections_file():
    write("a.map", "alice-a    %s\n" % USER, 0o644)
    write("b.map", "alice-b    %s\n" % USER, 0o644)
    return write("sections.conf", """# two issuers, each with its own policy
audience = %(aud)s
deny_claim = banned=yes

[issuer a]
issuer = %(a)s
jwks_file = %(ja)s
algorithms = ES256
leeway = 0
max_lifetime = 600
typ = at+jwt
require_claim = team=a
user_map = %(ma)s

[issuer b]
issuer = %(b)s
jwks_file = %(jb)s
algorithms = ES256,RS256
leeway = 300
require_claim = team=b
user_map = %(mb)s
""" % {"aud": AUD, "a": ISS, "b": ISS_B, "ja": F.jwks_a, "jb": F.jwks_b,
       "ma": path("a.map"), "mb": path("b.map")})


def test_sections():
    cf = sections_file()

    def a(**over):
        return claims(**dict({"sub": "alice-a", "team": "a"}, **over))

    def b(**over):
        return claims(**dict({"iss": ISS_B, "sub": "alice-b", "team": "b"}, **over))

    def sec(name, token, reason, section, opts=(), detail=()):
        return check("sections: " + name, token, reason, opts, detail, section, config=cf)

    sec("issuer a's token, a's key, typ at+jwt: accepted", tok(a(), typ="at+jwt"), "ok", "a")
    sec("issuer b's token, b's key, no typ: accepted", tok(b(), key=F.b), "ok", "b")
    # Keys: same kid, the other issuer's key.
    sec("issuer a's token signed with b's key (same kid k1): refused", tok(a(), key=F.b, typ="at+jwt"),
        "bad_signature", "a")
    sec("issuer b's token signed with a's key (same kid k1): refused", tok(b(), key=F.a), "bad_signature", "b")
    # Policy: b's require_claim and map do not serve a's tokens.
    sec("issuer a's token with b's team and b's mapped sub: claim_mismatch",
        tok(a(team="b", sub="alice-b"), typ="at+jwt"), "claim_mismatch", "a", detail=["team=a"])
    sec("issuer a's token with a's team but b's mapped sub: no_user_mapping",
        tok(a(sub="alice-b"), typ="at+jwt"), "no_user_mapping", "a")
    sec("issuer b's token with a's team: claim_mismatch", tok(b(team="a"), key=F.b), "claim_mismatch", "b")
    sec("issuer b's token with a's mapped sub: no_user_mapping", tok(b(sub="alice-a"), key=F.b),
        "no_user_mapping", "b")
    # The defaults' deny_claim reaches every section.
    sec("defaults' deny_claim in section a", tok(a(banned="yes"), typ="at+jwt"), "claim_denied", "a")
    sec("defaults' deny_claim in section b", tok(b(banned="yes"), key=F.b), "claim_denied", "b")
    # leeway 0 (a) and 300 (b).
    n = now()
    sec("a (leeway 0): exp 100 s ago expired", tok(a(iat=n - 400, nbf=n - 400, exp=n - 100), typ="at+jwt"),
        "expired", "a", detail=["leeway 0"])
    sec("b (leeway 300): exp 100 s ago accepted", tok(b(iat=n - 400, nbf=n - 400, exp=n - 100), key=F.b),
        "ok", "b")
    sec("a (leeway 0): nbf 100 s ahead not yet valid", tok(a(nbf=n + 100), typ="at+jwt"), "not_yet_valid", "a")
    sec("b (leeway 300): nbf 100 s ahead accepted", tok(b(nbf=n + 100), key=F.b), "ok", "b")
    # max_lifetime 600 (a), none (b).
    sec("a (max_lifetime 600): lifetime 1000 s refused", tok(a(exp=n + 1000), typ="at+jwt"),
        "lifetime_too_long", "a")
    sec("b (no max_lifetime): lifetime 1000 s accepted", tok(b(exp=n + 1000), key=F.b), "ok", "b")
    # algorithms ES256 (a), ES256,RS256 (b).
    sec("a (algorithms ES256): an RS256 token refused", tok(a(), key=F.b_rsa, alg="RS256", typ="at+jwt"),
        "alg_not_allowed", "a")
    sec("b (algorithms ES256,RS256): an RS256 token accepted", tok(b(), key=F.b_rsa, alg="RS256"), "ok", "b")
    # typ at+jwt (a), none (b).
    sec("a (typ at+jwt): typ JWT refused", tok(a(), typ="JWT"), "bad_header", "a")
    sec("a (typ at+jwt): no typ refused", tok(a()), "bad_header", "a")
    sec("b (no typ=): typ JWT accepted", tok(b(), key=F.b, typ="JWT"), "ok", "b")
    # issuers= hides a section from one invocation only.
    sec("issuers=a: b's token refused", tok(b(), key=F.b), "bad_issuer", None, ["issuers=a"])
    sec("issuers=a: a's token accepted", tok(a(), typ="at+jwt"), "ok", "a", ["issuers=a"])
    sec("issuers=b: b's token accepted (the same file)", tok(b(), key=F.b), "ok", "b", ["issuers=b"])
    sec("issuers=b: a's token refused", tok(a(), typ="at+jwt"), "bad_issuer", None, ["issuers=b"])
    sec("issuers=a,b: both: b's token accepted", tok(b(), key=F.b), "ok", "b", ["issuers=a,b"])
    sec("an issuer no section names refused", tok(a(iss="https://c.issuer.test"), typ="at+jwt"),
        "bad_issuer", None, detail=[q('"https://c.issuer.test"')])
    for arg, key, what in (("issuers=c", "issuers", "issuers=c (no such section)"),
                           ("leeway=5", "leeway", "a per-issuer key (leeway=5) as an argument")):
        rc, obj, err = run(tok(b(), key=F.b), [arg], config=cf)
        said = err + ((obj or {}).get("detail") or "")
        T.ok(rc == 2 and key in said and (obj is None or obj.get("reason") == "config_error"),
             "sections: %s is a configuration error naming %s" % (what, key), "exit %s %r %r" % (rc, obj, err))
    # Two sections naming one issuer: no line may accept both.
    dup = write("dup.conf", open(cf).read() + "\n[issuer a2]\nissuer = %s\njwks_file = %s\n"
                "typ = at+jwt\nrequire_claim = team=a\nuser_map = %s\n"
                % (ISS, F.jwks_a, path("a.map")))
    for args, want in (((), 2), (("issuers=a,a2",), 2), (("issuers=a2",), 0), (("issuers=a",), 0)):
        rc, obj, err = run(tok(a(), typ="at+jwt"), args, config=dup)
        T.ok(rc == want, "sections a and a2 name one issuer: %s %s" % (
            " ".join(args) or "no issuers=", "accepted" if want == 0 else "configuration error"),
            "exit %s %r %r" % (rc, obj, err))
    if not ISSUER_NAME_SEEN:
        T.skip("sections: --json names the section (issuer_name)", "pam_jwt_check --json has no issuer_name")


def main():
    if not os.access(BIN, os.X_OK):
        print("Bail out! %s is not built" % BIN)
        return 1
    setup()
    try:
        for fn in (test_deny, test_scope, test_typ, test_details, test_sections):
            T.run(fn, fn.__name__ + ": harness")
    finally:
        shutil.rmtree(F.dir, ignore_errors=True)
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
