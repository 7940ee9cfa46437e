#!/usr/bin/python3
"""Black-box tests of pam_jwt_check (pam_jwt_check(1)), TAP output.

Every token is minted by python3-jwcrypto (tests/mint/mint.py), never by our
code.  Each case asserts the exit status and, with --json, the exact reason
code the contract implies.

Environment: PJ_TOP_SRCDIR, PJ_TOP_BUILDDIR (set by make check);
PJ_CHECK_BIN overrides the program path.
"""

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("PJ_TOP_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-check"
BIN = os.environ.get("PJ_CHECK_BIN") or os.path.join(BUILDDIR, "src", "pam_jwt_check")
sys.dont_write_bytecode = True  # the source tree may be read-only
sys.path.insert(0, os.path.join(SRCDIR, "tests", "mint"))

import mint  # noqa: E402

ISS = "https://issuer.test"
AUD = "ssh://host1"
LEEWAY = 60
NOUSER = "nosuchuser_pj"
OTHER_USER = "daemon"
ALL_ALGS = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA,Ed25519"

# ---------------------------------------------------------------- TAP


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = []

    def comment(self, text):
        for line in str(text).splitlines() or [""]:
            print("# " + line)
        sys.stdout.flush()

    def result(self, ok, name, diag=None):
        self.n += 1
        name = name.replace("#", "\\#")
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, name))
        if not ok:
            self.failed.append(name)
            if diag:
                self.comment(diag)
        sys.stdout.flush()
        return ok

    def plan(self):
        print("1..%d" % self.n)
        sys.stdout.flush()


T = Tap()

# ---------------------------------------------------------------- fixture


class Fixture:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pj-check-")
        os.chmod(self.dir, 0o700)
        self.k = {}
        for kind, kid in (("RSA2048", "r2048"), ("RSA3072", "r3072"),
                          ("P-256", "p256"), ("P-384", "p384"),
                          ("P-521", "p521"), ("Ed25519", "ed25519")):
            self.k[kid] = mint.gen_key(kind, kid=kid)
        self.k["r2048b"] = mint.gen_key("RSA2048", kid="r2048b")
        self.k["small"] = mint.gen_key("RSA1024", kid="small")
        self.k["ed448"] = mint.gen_key("Ed448", kid="ed448")
        try:
            self.k["k1"] = mint.gen_key("secp256k1", kid="k1")
        except Exception:  # jwcrypto/cryptography without secp256k1
            self.k["k1"] = None
        self.main = self.write("main.jwks", [mint.public_jwk(self.k[kid]) for kid in
                               ("r2048", "r3072", "p256", "p384", "p521", "ed25519")])
        self.nfile = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, keys, mode=0o644):
        p = self.path(name)
        mint.write_jwks(p, keys, mode)
        return p

    def jwks(self, *jwk_dicts):
        """A fresh JWKS file holding the given public JWK dicts."""
        self.nfile += 1
        return self.write("set%03d.jwks" % self.nfile, list(jwk_dicts))

    def pub(self, name, **override):
        return mint.public_jwk(self.k[name], **override)

    def file(self, name, text, mode=0o600):
        p = self.path(name)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


F = None

ALG_KEY = {"RS256": "r2048", "PS256": "r2048", "RS384": "r3072",
           "RS512": "r3072", "PS384": "r3072", "PS512": "r3072",
           "ES256": "p256", "ES384": "p384", "ES512": "p521",
           "EdDSA": "ed25519", "Ed25519": "ed25519"}


def now():
    return int(time.time())


def C(**extra):
    return mint.claims(now(), **extra)


def tok(alg="RS256", claims=None, header=None, kid=None, key=None):
    """A valid token: alg, the key of ALG_KEY (or kid/key given), kid in the
    header unless header says otherwise."""
    if kid is None:
        kid = ALG_KEY[alg]
    if key is None:
        key = F.k[kid]
    hdr = {"kid": kid}
    if header is not None:
        hdr.update(header)
    hdr = {k: v for k, v in hdr.items() if v is not None}
    return mint.sign(key, alg, C() if claims is None else claims, hdr)


def raw_payload(c, extra=None, subs=None):
    """JSON text of claims c with raw text members appended (extra: text
    put before the closing brace) or substituted (subs: name -> JSON text)."""
    c = dict(c)
    subs = subs or {}
    for name in subs:
        c[name] = "@@%s@@" % name
    text = json.dumps(c, separators=(",", ":"))
    for name, val in subs.items():
        text = text.replace('"@@%s@@"' % name, val)
    if extra:
        text = text[:-1] + "," + extra + "}"
    return text.encode("utf-8")


def raw_tok(payload_bytes, header=None, alg="RS256", kid=None):
    """Sign arbitrary payload bytes (and header dict or bytes) properly."""
    if kid is None:
        kid = ALG_KEY[alg]
    if header is None:
        header = {"alg": alg, "kid": kid}
    return mint.sign_raw(F.k[kid], alg, header, payload_bytes)

# ---------------------------------------------------------------- running


def base_args(jwks=None, issuer=True, audience=True):
    a = ["jwks_file=%s" % (jwks or F.main)]
    if issuer:
        a.append("issuer=%s" % ISS)
    if audience:
        a.append("audience=%s" % AUD)
    return a


def run(args, stdin, user="bin", use_json=True, config=None):
    cmd = [BIN]
    if config:
        cmd += ["--config", config]
    cmd += list(args)
    if user is not None:
        cmd += ["--user", user]
    if use_json:
        cmd.append("--json")
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    try:
        p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
    except subprocess.TimeoutExpired:
        return {"rc": None, "obj": None, "out": "", "err": "timeout",
                "jerr": "timeout"}
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    obj, jerr = None, None
    if use_json:
        try:
            obj = json.loads(out)
            if not isinstance(obj, dict):
                jerr = "stdout is JSON but not an object"
                obj = None
        except ValueError as e:
            jerr = "stdout is not JSON (%s): %r" % (e, out[:200])
    return {"rc": p.returncode, "obj": obj, "out": out, "err": err,
            "jerr": jerr}


def verdict(r, rc, reason):
    """(ok, diag) for a run result against the expected exit and reason."""
    got_reason = r["obj"].get("reason") if r["obj"] else None
    problems = []
    if r["rc"] is not None and r["rc"] < 0:
        problems.append("exit: expected %s, killed by signal %d" % (rc, -r["rc"]))
    elif r["rc"] != rc:
        problems.append("exit: expected %s, got %s" % (rc, r["rc"]))
    if reason is not None:
        if r["obj"] is None:
            problems.append("reason: expected %s, %s" % (reason, r["jerr"]))
        elif got_reason != reason:
            problems.append("reason: expected %s, got %r" % (reason, got_reason))
    if rc == 0 and r["obj"] is not None and r["obj"].get("ok") is not True:
        problems.append("json ok is %r on exit 0" % r["obj"].get("ok"))
    if rc in (1, 3) and r["obj"] is not None and r["obj"].get("ok") is not False:
        problems.append("json ok is %r on exit %d" % (r["obj"].get("ok"), rc))
    if not problems:
        return True, None
    diag = "; ".join(problems)
    if r["err"].strip():
        diag += "\nstderr: " + r["err"].strip()[:400]
    return False, diag


def expect(name, token, rc, reason, opts=(), user="bin", jwks=None,
           base=True, use_json=True, config=None, stdin=None):
    args = (base_args(jwks) if base else []) + list(opts)
    r = run(args, stdin if stdin is not None else token, user=user,
            use_json=use_json, config=config)
    ok, diag = verdict(r, rc, reason)
    return T.result(ok, name, diag)


def accept(name, token, **kw):
    return expect(name, token, 0, None, **kw)


def reject(name, token, reason, **kw):
    return expect(name, token, 1, reason, **kw)


def config_error(name, args, token=None, user="bin", config=None,
                 use_json=True):
    """Exit 2; args are the whole argument list (no defaults added)."""
    if token is None:
        token = tok()
    r = run(args, token, user=user, use_json=use_json, config=config)
    ok = r["rc"] == 2
    diag = None if ok else "exit: expected 2, got %s; stdout %r; stderr %r" % (
        r["rc"], r["out"][:200], r["err"][:300])
    return T.result(ok, name, diag)


def wait_mid_second():
    # time() (coarse) and time.time() may disagree by a tick right after a
    # second boundary: stay well inside one second.
    frac = time.time() % 1
    if frac > 0.6 or frac < 0.05:
        time.sleep((1.1 - frac) % 1 or 0.1)


def timed(name, make_claims, rc, reason, opts=(), alg="EdDSA", tries=6):
    """A boundary case: minted with `now`, run, and retried when the second
    changed in between (the boundary is exact only within one second)."""
    r = None
    for _ in range(tries):
        wait_mid_second()
        t0 = now()
        c = make_claims(t0)
        token = raw_tok(c, alg=alg) if isinstance(c, bytes) else tok(alg, c)
        r = run(base_args() + list(opts), token)
        if now() == t0:
            break
    ok, diag = verdict(r, rc, reason)
    return T.result(ok, name, diag)

# ---------------------------------------------------------------- tests


def test_algorithms():
    T.comment("per-algorithm: valid token, and tampered twins")
    opts = ["algorithms=" + ALL_ALGS]
    # header alg change: the contract's outcome.  Same key fits both (RSA,
    # no "alg" in the JWK): bad_signature.  Key's kty/crv does not fit the
    # new alg (kid names the key): no_key.
    changed = {"RS256": ("PS256", "bad_signature"),
               "RS384": ("RS512", "bad_signature"),
               "RS512": ("PS512", "bad_signature"),
               "PS256": ("RS256", "bad_signature"),
               "PS384": ("PS256", "bad_signature"),
               "PS512": ("RS512", "bad_signature"),
               "ES256": ("ES384", "no_key"),
               "ES384": ("ES512", "no_key"),
               "ES512": ("ES256", "no_key"),
               "EdDSA": ("ES256", "no_key"),
               # the header is signed: the other name of the same signature fails
               "Ed25519": ("EdDSA", "bad_signature")}
    for alg in ALL_ALGS.split(","):
        t = tok(alg)
        accept("%s: valid token accepted" % alg, t, opts=opts)
        reject("%s: signature bit flipped" % alg, mint.flip_sig_bit(t, 0),
               "bad_signature", opts=opts)
        last = len(mint.b64url_decode(t.split(".")[2])) * 8 - 1
        reject("%s: last signature bit flipped" % alg,
               mint.flip_sig_bit(t, last), "bad_signature", opts=opts)
        new, why = changed[alg]
        reject("%s: header alg changed to %s" % (alg, new),
               mint.change_alg(t, new), why, opts=opts)
        c = mint.payload_of(t)
        c["exp"] += 1
        reject("%s: claims changed after signing (exp + 1)" % alg,
               mint.replace_payload(t, c), "bad_signature", opts=opts)
        c = mint.payload_of(t)
        c["sub"] = OTHER_USER
        reject("%s: claims changed after signing (sub)" % alg,
               mint.replace_payload(t, c), "bad_signature", opts=opts,
               user=OTHER_USER)
    reject("RS256: header alg changed to ES256 (RSA key named by kid)",
           mint.change_alg(tok("RS256"), "ES256"), "no_key", opts=opts)
    # the default list RS256,PS256,ES256,EdDSA,Ed25519
    for alg in ("RS256", "PS256", "ES256", "EdDSA", "Ed25519"):
        accept("default algorithms: %s accepted" % alg, tok(alg))
    for alg in ("RS384", "RS512", "PS384", "PS512", "ES384", "ES512"):
        reject("default algorithms: %s not allowed" % alg, tok(alg),
               "alg_not_allowed")
    reject("algorithms=ES256 only: RS256 not allowed", tok("RS256"),
           "alg_not_allowed", opts=["algorithms=ES256"])
    accept("algorithms=ES256 only: ES256 accepted", tok("ES256"),
           opts=["algorithms=ES256"])
    reject("RS256 header changed to RS384, not allowed by default",
           mint.change_alg(tok("RS256"), "RS384"), "alg_not_allowed")
    test_ed25519_name()


def test_ed25519_name():
    T.comment("Ed25519 (RFC 9864) beside EdDSA: two names in algorithms=, "
              "one signature for keys")
    # algorithms= keeps the names apart
    accept("algorithms=EdDSA: EdDSA header accepted", tok("EdDSA"),
           opts=["algorithms=EdDSA"])
    reject("algorithms=EdDSA: Ed25519 header not allowed", tok("Ed25519"),
           "alg_not_allowed", opts=["algorithms=EdDSA"])
    accept("algorithms=Ed25519: Ed25519 header accepted", tok("Ed25519"),
           opts=["algorithms=Ed25519"])
    reject("algorithms=Ed25519: EdDSA header not allowed", tok("EdDSA"),
           "alg_not_allowed", opts=["algorithms=Ed25519"])
    reject("algorithms=Ed25519: RS256 header not allowed", tok("RS256"),
           "alg_not_allowed", opts=["algorithms=Ed25519"])
    config_error("algorithms=ED25519 (wrong case) is a configuration error",
                 base_args() + ["algorithms=ED25519"], tok("Ed25519"))
    # a key whose alg is either name fits both
    for key_alg in ("EdDSA", "Ed25519"):
        jw = F.jwks(F.pub("ed25519", alg=key_alg))
        for hdr_alg in ("EdDSA", "Ed25519"):
            accept("key alg %s fits a %s token (kid)" % (key_alg, hdr_alg),
                   tok(hdr_alg), jwks=jw)
            accept("key alg %s fits a %s token (no kid)" % (key_alg, hdr_alg),
                   tok(hdr_alg, header={"kid": None}), jwks=jw)
    # twins: a key for another algorithm, or a name in the wrong case, fits neither
    for key_alg in ("ES256", "ED25519", "Ed448"):
        jw = F.jwks(F.pub("ed25519", alg=key_alg))
        for hdr_alg in ("EdDSA", "Ed25519"):
            reject("key alg %s does not fit a %s token" % (key_alg, hdr_alg),
                   tok(hdr_alg), "no_key", jwks=jw)
    # the names are of the Ed25519 key only
    reject("Ed25519 token naming the P-256 key's kid: no_key",
           tok("Ed25519", kid="p256", key=F.k["ed25519"]), "no_key")
    reject("Ed25519 token naming the RSA key's kid: no_key",
           tok("Ed25519", kid="r2048", key=F.k["ed25519"]), "no_key")


def test_time():
    T.comment("time: leeway %d (default), boundaries" % LEEWAY)
    L = LEEWAY
    base = dict(iat=None, nbf=None)

    def cl(t, **kw):
        c = mint.claims(t, **base)
        c.update(kw)
        return {k: v for k, v in c.items() if v is not None}

    timed("exp = now - leeway + 1 accepted",
          lambda t: cl(t, exp=t - L + 1), 0, None)
    timed("exp = now - leeway refused (expired)",
          lambda t: cl(t, exp=t - L), 1, "expired")
    timed("exp absent refused (expired)",
          lambda t: cl(t, exp=None, iat=t, nbf=t), 1, "expired")
    timed("exp = 0 refused (expired)", lambda t: cl(t, exp=0), 1, "expired")
    timed("leeway=0: exp = now + 1 accepted",
          lambda t: cl(t, exp=t + 1), 0, None, opts=["leeway=0"])
    timed("leeway=0: exp = now refused (expired)",
          lambda t: cl(t, exp=t), 1, "expired", opts=["leeway=0"])
    timed("leeway=600: exp = now - 599 accepted",
          lambda t: cl(t, exp=t - 599), 0, None, opts=["leeway=600"])
    timed("nbf = now + leeway accepted",
          lambda t: cl(t, nbf=t + L), 0, None)
    timed("nbf = now + leeway + 1 refused (not_yet_valid)",
          lambda t: cl(t, nbf=t + L + 1), 1, "not_yet_valid")
    timed("iat = now + leeway accepted",
          lambda t: cl(t, iat=t + L), 0, None)
    timed("iat = now + leeway + 1 refused (issued_in_future)",
          lambda t: cl(t, iat=t + L + 1), 1, "issued_in_future")
    timed("order: expired before not_yet_valid",
          lambda t: cl(t, exp=t - 3600, nbf=t + 3600), 1, "expired")
    timed("order: not_yet_valid before issued_in_future",
          lambda t: cl(t, nbf=t + 3600, iat=t + 3600, exp=t + 7200), 1,
          "not_yet_valid")
    ml = ["max_lifetime=600"]
    timed("max_lifetime: exp - iat = max accepted",
          lambda t: cl(t, iat=t, exp=t + 600), 0, None, opts=ml)
    timed("max_lifetime: exp - iat = max + 1 refused (lifetime_too_long)",
          lambda t: cl(t, iat=t, exp=t + 601), 1, "lifetime_too_long", opts=ml)
    timed("max_lifetime: iat absent refused (lifetime_too_long)",
          lambda t: cl(t, iat=None, exp=t + 300), 1, "lifetime_too_long",
          opts=ml)
    timed("max_lifetime absent: 30-day token accepted",
          lambda t: cl(t, iat=t, exp=t + 30 * 86400), 0, None)

    # NumericDate forms
    def rp(t, name, text, **kw):
        c = cl(t, exp=t + 300, **kw)
        return raw_payload(c, subs={name: text})

    timed("exp as a string refused (malformed)",
          lambda t: rp(t, "exp", '"%d"' % (t + 300)), 1, "malformed")
    timed("exp = 2^53 refused (malformed)",
          lambda t: rp(t, "exp", str(2 ** 53)), 1, "malformed")
    timed("exp = 2^53 - 1 accepted",
          lambda t: rp(t, "exp", str(2 ** 53 - 1)), 0, None)
    timed("exp negative (-1) refused (malformed)",
          lambda t: rp(t, "exp", "-1"), 1, "malformed")
    timed("exp null refused (malformed)",
          lambda t: rp(t, "exp", "null"), 1, "malformed")
    timed("exp true refused (malformed)",
          lambda t: rp(t, "exp", "true"), 1, "malformed")
    timed("exp 1.5e9 well-formed (a past date: expired, not malformed)",
          lambda t: rp(t, "exp", "1.5e9"), 1, "expired")
    timed("exp non-integer in the future (now + 300.5) accepted",
          lambda t: rp(t, "exp", "%d.5" % (t + 300)), 0, None)
    timed("exp in exponent form in the future (4e9) accepted",
          lambda t: rp(t, "exp", "4e9"), 0, None)
    timed("exp as 4.0E9 accepted",
          lambda t: rp(t, "exp", "4.0E9"), 0, None)
    timed("nbf as a string refused (malformed)",
          lambda t: rp(t, "nbf", '"%d"' % t), 1, "malformed")
    timed("iat negative refused (malformed)",
          lambda t: rp(t, "iat", "-5"), 1, "malformed")
    timed("iat = 2^53 refused (malformed)",
          lambda t: rp(t, "iat", str(2 ** 53)), 1, "malformed")


def test_issuer_audience():
    T.comment("issuer and audience")
    accept("iss equal accepted", tok(claims=C()))
    reject("iss other refused", tok(claims=C(iss="https://evil.test")),
           "bad_issuer")
    reject("iss with trailing slash refused (byte for byte)",
           tok(claims=C(iss=ISS + "/")), "bad_issuer")
    reject("iss upper-case host refused", tok(claims=C(iss="https://ISSUER.test")),
           "bad_issuer")
    reject("iss absent refused", tok(claims=C(iss=None)), "bad_issuer")
    reject("iss not a string (number) refused", tok(claims=C(iss=42)),
           "bad_issuer")
    reject("iss not a string (array) refused", tok(claims=C(iss=[ISS])),
           "bad_issuer")
    accept("aud string equal accepted", tok(claims=C(aud=AUD)))
    reject("aud string other refused", tok(claims=C(aud="ssh://host2")),
           "bad_audience")
    accept("aud array containing accepted",
           tok(claims=C(aud=["ssh://other", AUD])))
    reject("aud array not containing refused",
           tok(claims=C(aud=["ssh://other", "ssh://host2"])), "bad_audience")
    reject("aud array with a non-string member refused",
           tok(claims=C(aud=[AUD, 5])), "bad_audience")
    reject("aud array with a null member refused",
           tok(claims=C(aud=[AUD, None])), "bad_audience")
    reject("aud empty array refused", tok(claims=C(aud=[])), "bad_audience")
    reject("aud absent refused", tok(claims=C(aud=None)), "bad_audience")
    reject("aud object refused", tok(claims=C(aud={"a": AUD})), "bad_audience")
    reject("aud prefix of audience refused", tok(claims=C(aud="ssh://host")),
           "bad_audience")
    two = ["audience=ssh://host0,ssh://host2"]
    a = base_args(audience=False) + two
    accept("audience list: aud = second value accepted",
           tok(claims=C(aud="ssh://host2")), base=False, opts=a)
    reject("audience list: aud none of them refused",
           tok(claims=C(aud=AUD)), "bad_audience", base=False, opts=a)


def test_require_claim():
    T.comment("require_claim")
    rc = "require_claim="
    cases = [
        # (name, option, accepted claim value(s), rejected)
        ("string", "team=ops", {"team": "ops"}, {"team": "opsx"}),
        ("string is case-sensitive", "team=ops", {"team": "ops"}, {"team": "Ops"}),
        ("array member", "groups=ops", {"groups": ["dev", "ops"]},
         {"groups": ["dev", "qa"]}),
        ("array: non-string members ignored", "groups=1", {"groups": ["1"]},
         {"groups": [1]}),
        ("boolean true", "admin=true", {"admin": True}, {"admin": False}),
        ("boolean false", "admin=false", {"admin": False}, {"admin": True}),
        ("integer 42 vs number 42", "level=42", {"level": 42}, {"level": 43}),
        ("integer 42 vs string \"42\"", "level=42", {"level": "42"},
         {"level": "042"}),
        ("negative integer", "level=-5", {"level": -5}, {"level": 5}),
        ("zero", "level=0", {"level": 0}, {"level": 1}),
        ("15 digits", "n=123456789012345", {"n": 123456789012345},
         {"n": 123456789012346}),
        ("absent claim never matches", "team=ops", {"team": "ops"}, {}),
        ("null never matches", "team=null", {"team": "null"}, {"team": None}),
        ("value holding =", "k=a=b", {"k": "a=b"}, {"k": "a"}),
        ("space-separated string is not split", "scope=ssh",
         {"scope": "ssh"}, {"scope": "openid ssh"}),
        ("JSON pointer /kubernetes.io/namespace", "/kubernetes.io/namespace=prod",
         {"kubernetes.io": {"namespace": "prod"}},
         {"kubernetes.io": {"namespace": "dev"}}),
        ("JSON pointer is not a dotted name", "/kubernetes.io/namespace=prod",
         {"kubernetes.io": {"namespace": "prod"}},
         {"kubernetes.io/namespace": "prod"}),
        ("JSON pointer ~1 escape", "/a~1b=x", {"a/b": "x"}, {"a": {"b": "x"}}),
        ("JSON pointer into an array", "/groups/1=ops", {"groups": ["dev", "ops"]},
         {"groups": ["ops", "dev"]}),
        ("top-level name with a dot", "kubernetes.io=x", {"kubernetes.io": "x"},
         {"kubernetes": {"io": "x"}}),
    ]
    for name, opt, good, bad in cases:
        accept("require_claim %s: match accepted" % name,
               tok(claims={**C(), **good}), opts=[rc + opt])
        reject("require_claim %s: mismatch refused" % name,
               tok(claims={**C(), **bad}), "claim_mismatch", opts=[rc + opt])
    # numbers whose text is not a plain integer never match
    never = [("n=1", "1.0"), ("n=100", "1e2"), ("n=0", "-0"), ("n=007", "7"),
             ("n=1.0", "1.0"), ("n=-0", "-0"), ("n=+5", "5"),
             ("n=1e2", "1e2"), ("n=1234567890123456", "1234567890123456"),
             ("n=1", "1.5")]
    for opt, text in never:
        t = raw_tok(raw_payload(C(), extra='"n":%s' % text))
        reject("require_claim %s vs number %s never matches" % (opt, text), t,
               "claim_mismatch", opts=[rc + opt])
    # repeated require_claims all hold
    two = [rc + "team=ops", rc + "level=42"]
    accept("require_claim twice: both hold accepted",
           tok(claims=dict(C(), team="ops", level=42)), opts=two)
    reject("require_claim twice: one fails refused",
           tok(claims=dict(C(), team="ops", level=41)), "claim_mismatch",
           opts=two)


def test_users():
    T.comment("user mapping")
    reject("sub with ':' refused (bad_user_name)",
           tok(claims=C(sub="repo:acme")), "bad_user_name")
    reject("sub upper-case refused (bad_user_name)", tok(claims=C(sub="Root")),
           "bad_user_name")
    reject("sub empty refused (bad_user_name)", tok(claims=C(sub="")),
           "bad_user_name")
    reject("sub starting with '-' refused (bad_user_name)",
           tok(claims=C(sub="-root")), "bad_user_name")
    reject("sub with a newline refused (bad_user_name)",
           tok(claims=C(sub="root\n")), "bad_user_name")
    reject("sub of 33 bytes refused (bad_user_name)",
           tok(claims=C(sub="a" * 33)), "bad_user_name", user="a" * 33)
    reject("sub of 32 bytes is a valid name (user_unknown)",
           tok(claims=C(sub="a" * 32)), "user_unknown", user="a" * 32)
    reject("sub absent refused (no_user_mapping)", tok(claims=C(sub=None)),
           "no_user_mapping")
    reject("sub not a string refused (no_user_mapping)",
           tok(claims=C(sub=0)), "no_user_mapping")
    reject("sub of 257 bytes refused (no_user_mapping)",
           tok(claims=C(sub="a" * 257)), "no_user_mapping")
    reject("token for root with --user daemon refused (wrong_user)",
           tok(claims=C(sub="bin")), "wrong_user", user=OTHER_USER)
    reject("token for root with --user nosuchuser_pj refused (wrong_user)",
           tok(claims=C(sub="bin")), "wrong_user", user=NOUSER)
    reject("token for nosuchuser_pj with --user nosuchuser_pj: user_unknown",
           tok(claims=C(sub=NOUSER)), "user_unknown", user=NOUSER)
    reject("expired token for nosuchuser_pj: expired, not user_unknown",
           tok(claims=C(sub=NOUSER, exp=now() - 3600, iat=None, nbf=None)),
           "expired", user=NOUSER)
    accept("token for daemon with --user daemon accepted",
           tok(claims=C(sub=OTHER_USER)), user=OTHER_USER)
    # user_claim
    accept("user_claim=email accepted", tok(claims=C(sub="x:y", email="bin")),
           opts=["user_claim=email"])
    reject("user_claim=email absent refused (no_user_mapping)",
           tok(claims=C(sub="bin")), "no_user_mapping",
           opts=["user_claim=email"])
    accept("user_claim JSON pointer accepted",
           tok(claims=C(sub="x", ext={"login": "bin"})),
           opts=["user_claim=/ext/login"])
    reject("user_claim JSON pointer, other user refused (wrong_user)",
           tok(claims=C(sub="bin", ext={"login": OTHER_USER})), "wrong_user",
           opts=["user_claim=/ext/login"])
    # user_map
    umap = F.file("users.map",
                  "# test map\n\nalice@corp.example bin\n"
                  "*@ops.example\tdaemon\n"
                  "~dev-([a-z]+) \\1\n", 0o600)
    o = ["user_map=" + umap]
    accept("user_map exact rule accepted",
           tok(claims=C(sub="alice@corp.example")), opts=o)
    accept("user_map glob rule accepted",
           tok(claims=C(sub="bob@ops.example")), opts=o, user=OTHER_USER)
    reject("user_map glob rule is case-sensitive (no_user_mapping)",
           tok(claims=C(sub="bob@OPS.example")), "no_user_mapping", opts=o,
           user=OTHER_USER)
    accept("user_map regex rule with \\1 accepted",
           tok(claims=C(sub="dev-bin")), opts=o)
    reject("uid 0: a \\1 template that makes root is bad_user_name",
           tok(claims=C(sub="dev-root")), "bad_user_name", opts=o, user="root")
    reject("user_map regex must match the whole value (no_user_mapping)",
           tok(claims=C(sub="dev-bin!")), "no_user_mapping", opts=o)
    reject("user_map no match is no_user_mapping (no fallback)",
           tok(claims=C(sub="bin")), "no_user_mapping", opts=o)
    catch = F.file("catchall.map", "* bin\n", 0o600)
    config_error("user_map with a catch-all glob: configuration error",
                 base_args() + ["user_map=" + catch])
    loose = F.file("loose.map", "alice@corp.example bin\n", 0o666)
    os.chmod(loose, 0o666)
    config_error("user_map writable by others: configuration error",
                 base_args() + ["user_map=" + loose])
    # without --user
    expect("no --user: sub bin accepted", tok(claims=C(sub="bin")), 0, None,
           user=None)
    # uid 0 only through a map rule that names the account literally
    reject("uid 0: sub root without a map is bad_user_name",
           tok(claims=C(sub="root")), "bad_user_name", user="root")
    reject("uid 0: sub root without a map, no --user: bad_user_name",
           tok(claims=C(sub="root")), "bad_user_name", user=None)
    lit = F.file("literal-root.map", "ops@corp.example root\nroot* =\n", 0o600)
    accept("uid 0: a map rule naming root literally reaches it",
           tok(claims=C(sub="ops@corp.example")), opts=["user_map=" + lit],
           user="root")
    reject("uid 0: the '=' rule giving root is bad_user_name",
           tok(claims=C(sub="root")), "bad_user_name",
           opts=["user_map=" + lit], user="root")
    reject("uid 0: a token for root with --user bin is wrong_user (before lookup)",
           tok(claims=C(sub="root")), "wrong_user", user="bin")
    expect("no --user: sub nosuchuser_pj refused (user_unknown)",
           tok(claims=C(sub=NOUSER)), 1, "user_unknown", user=None)
    expect("no --user: sub with ':' refused (bad_user_name)",
           tok(claims=C(sub="a:b")), 1, "bad_user_name", user=None)


def test_attacks():
    T.comment("named attack classes")
    k = F.k
    c = C()
    reject("attack: alg none", mint.alg_none(mint.json_bytes(c),
           {"kid": "r2048"}), "alg_not_allowed")
    reject("attack: alg none without kid", mint.alg_none(mint.json_bytes(c)),
           "alg_not_allowed")
    reject("attack: alg None (case variant)", mint.alg_none(
           mint.json_bytes(c), {"alg": "None"}), "alg_not_allowed")
    reject("attack: alg none with all algorithms enabled",
           mint.alg_none(mint.json_bytes(c)), "alg_not_allowed",
           opts=["algorithms=" + ALL_ALGS])
    reject("attack: alg none with a real RS256 signature appended",
           mint.change_alg(tok("RS256"), "none"), "alg_not_allowed")
    reject("attack: HS256 keyed with the RSA public key PEM",
           mint.hs256_with_pubkey(k["r2048"], c, {"kid": "r2048"}),
           "alg_not_allowed")
    reject("attack: HS256 keyed with the RSA public key PEM, no kid",
           mint.hs256_with_pubkey(k["r2048"], c), "alg_not_allowed")
    reject("attack: HS512 keyed with the RSA public key PEM",
           mint.hs256_with_pubkey(k["r2048"], c, {"kid": "r2048"}, alg="HS512"),
           "alg_not_allowed", opts=["algorithms=" + ALL_ALGS])
    rsa_only = F.jwks(F.pub("r2048"))
    reject("attack: key/alg mismatch (ES256 token, only an RSA key)",
           tok("ES256", kid=None, header={"kid": None}), "no_key",
           jwks=rsa_only)
    reject("attack: key/alg mismatch (ES256 token, kid names the RSA key)",
           tok("ES256", header={"kid": "r2048"}), "no_key", jwks=rsa_only)
    reject("attack: key/alg mismatch (EdDSA token, kid names the RSA key)",
           tok("EdDSA", header={"kid": "r2048"}), "no_key", jwks=rsa_only)
    small = F.jwks(F.pub("p256"), F.pub("small"))
    reject("attack: RSA under 2048 dropped, token without kid (no_key)",
           tok("RS256", kid="small", header={"kid": None}), "no_key",
           jwks=small)
    reject("attack: RSA under 2048 dropped, token with its kid (unknown_kid)",
           tok("RS256", kid="small"), "unknown_kid", jwks=small)
    off = F.jwks(mint.off_curve_jwk(k["p256"]), F.pub("r2048"))
    reject("attack: EC point not on curve (kid)", tok("ES256"), "no_key",
           jwks=off)
    reject("attack: EC point not on curve (no kid)",
           tok("ES256", header={"kid": None}), "no_key", jwks=off)
    accept("attack twin: EC point on curve accepted", tok("ES256"),
           jwks=F.jwks(F.pub("p256"), F.pub("r2048")))
    t384 = mint.change_alg(tok("ES384"), "ES256")
    reject("attack: wrong curve (P-384 key named for ES256)", t384, "no_key")
    reject("attack: wrong curve (only a P-384 key, ES256 without kid)",
           mint.replace_header(t384, {"alg": "ES256"}), "no_key",
           jwks=F.jwks(F.pub("p384"), F.pub("r2048")))
    if k["k1"] is not None:
        k1 = F.jwks(F.pub("k1"), F.pub("r2048"))
        tk1 = mint.sign(k["k1"], "ES256K", C(), {"kid": "k1", "alg": "ES256"})
        reject("attack: secp256k1 key dropped (ES256 token with its kid)", tk1,
               "unknown_kid", jwks=k1)
        reject("attack: secp256k1 key dropped (ES256 token without kid)",
               mint.replace_header(tk1, {"alg": "ES256"}), "no_key", jwks=k1)
        reject("attack: ES256K token not allowed",
               mint.sign(k["k1"], "ES256K", C(), {"kid": "k1"}),
               "alg_not_allowed", jwks=k1)
    else:
        T.comment("secp256k1 unsupported by this jwcrypto: skipped")
    ed448 = F.jwks(F.pub("ed448"), F.pub("r2048"))
    t448 = mint.sign(k["ed448"], "EdDSA", C(), {"kid": "ed448"})
    reject("attack: Ed448 key dropped (EdDSA token with its kid)", t448,
           "unknown_kid", jwks=ed448)
    reject("attack: Ed448 key dropped (EdDSA token without kid)",
           mint.replace_header(t448, {"alg": "EdDSA"}), "no_key", jwks=ed448)
    te = tok("ES256")
    reject("attack: psychic ECDSA r = s = 0", mint.ecdsa_zero(te),
           "bad_signature")
    n256 = mint.EC_ORDERS["P-256"]
    reject("attack: ECDSA r = s = n", mint.ecdsa_with_rs(te, n256, n256),
           "bad_signature")
    reject("attack: ECDSA r = 0, s kept",
           mint.ecdsa_with_rs(te, 0, int.from_bytes(
               mint.b64url_decode(te.split(".")[2])[32:], "big")),
           "bad_signature")
    reject("attack: ES256 signature as DER", mint.ecdsa_raw_to_der(te),
           "bad_signature")
    reject("attack: ES384 signature as DER", mint.ecdsa_raw_to_der(tok("ES384")),
           "bad_signature", opts=["algorithms=ES384"])
    h, p, s = te.split(".")
    reject("attack: ES256 signature one byte short",
           ".".join([h, p, mint.b64url(mint.b64url_decode(s)[:-1])]),
           "bad_signature")
    reject("attack: ES256 signature with a zero byte prepended",
           ".".join([h, p, mint.b64url(b"\0" + mint.b64url_decode(s))]),
           "bad_signature")
    reject("attack: empty signature", ".".join([h, p, ""]), "bad_signature")
    reject("attack: JWE compact (5 segments)",
           mint.jwe_compact(k["r2048"], c), "malformed")
    hp = tok().split(".")
    reject("attack: 5 segments made of a JWS plus two",
           ".".join(hp + [hp[2], hp[2]]), "malformed")
    good = mint.json_bytes(c)
    reject("attack: duplicate alg in header",
           raw_tok(good, header=b'{"alg":"RS256","kid":"r2048","alg":"RS256"}'),
           "malformed")
    reject("attack: duplicate kid in header",
           raw_tok(good, header=b'{"alg":"RS256","kid":"r2048","kid":"p256"}'),
           "malformed")
    reject("attack: duplicate sub in payload",
           raw_tok(raw_payload(c, extra='"sub":"daemon"')), "malformed")
    reject("attack: duplicate via escape (\\u0073ub) in payload",
           raw_tok(raw_payload(c, extra='"\\u0073ub":"daemon"')), "malformed")
    reject("attack: duplicate member in a nested object",
           raw_tok(raw_payload(c, extra='"o":{"a":1,"b":{"x":1,"x":2}}')),
           "malformed")
    accept("attack twin: \"sub\" and \"Sub\" are not duplicates",
           raw_tok(raw_payload(c, extra='"Sub":"daemon"')))
    reject("attack: \\u0000 inside sub",
           raw_tok(raw_payload(c, subs={"sub": '"root\\u0000daemon"'})),
           "malformed")
    reject("attack: \\u0000 inside a member name",
           raw_tok(raw_payload(c, extra='"su\\u0000b":"x"')), "malformed")
    reject("attack: \\u0000 inside the header kid",
           raw_tok(good, header=b'{"alg":"RS256","kid":"r2048\\u0000x"}'),
           "malformed")
    reject("attack: crit present", tok(header={"crit": ["exp"]}), "bad_header")
    reject("attack: crit empty array", tok(header={"crit": []}), "bad_header")
    reject("attack: embedded jwk",
           tok(header={"jwk": F.pub("r2048")}), "bad_header")
    reject("attack: jku", tok(header={"jku": "https://evil.test/jwks"}),
           "bad_header")
    reject("attack: x5u", tok(header={"x5u": "https://evil.test/cert"}),
           "bad_header")
    reject("attack: kid \"\"", tok(header={"kid": ""}), "bad_header")
    reject("attack: kid not a string (number)", tok(header={"kid": 5}),
           "bad_header")
    reject("attack: kid not a string (null)",
           raw_tok(good, header=b'{"alg":"RS256","kid":null}'),
           "bad_header")
    reject("attack: alg absent", raw_tok(good, header=b'{"kid":"r2048"}'),
           "bad_header")
    reject("attack: alg not a string",
           raw_tok(good, header=b'{"alg":["RS256"],"kid":"r2048"}'), "bad_header")
    reject("attack: unknown kid", tok(header={"kid": "nope"}), "unknown_kid")
    reject("attack: kid compared byte for byte (R2048)",
           tok(header={"kid": "R2048"}), "unknown_kid")
    dup = F.jwks(F.pub("r2048", kid="dup"), F.pub("r2048b", kid="dup"))
    reject("attack: two usable keys with the same kid",
           tok("RS256", kid="r2048", header={"kid": "dup"}), "no_key", jwks=dup)
    dup2 = F.jwks(F.pub("r2048", kid="dup"), F.pub("p256", kid="dup"))
    reject("attack: two usable keys (RSA, EC) with the same kid",
           tok("RS256", kid="r2048", header={"kid": "dup"}), "no_key", jwks=dup2)
    accept("attack twin: x5c, x5t, x5t-S256, typ, cty never used for trust",
           tok(header={"x5c": ["AAAA"], "x5t": "AAAA", "x5t#S256": "AAAA",
                       "typ": "JWT", "cty": "foo"}))
    # private key published
    priv = F.jwks(mint.private_jwk(k["r2048"]), F.pub("p256"))
    reject("attack: JWKS publishes a private RSA key: dropped (unknown_kid)",
           tok("RS256"), "unknown_kid", jwks=priv)
    priv_ec = F.jwks(mint.private_jwk(k["p256"]), F.pub("r2048"))
    reject("attack: JWKS publishes a private EC key: dropped (unknown_kid)",
           tok("ES256"), "unknown_kid", jwks=priv_ec)
    octk = F.jwks({"kty": "oct", "kid": "r2048", "k": mint.b64url(b"x" * 32)},
                  F.pub("p256"))
    reject("attack: symmetric JWK under the token's kid: dropped (unknown_kid)",
           tok("RS256"), "unknown_kid", jwks=octk)
    e1 = F.jwks(F.pub("r2048", e="AQ"), F.pub("p256"))
    reject("attack: RSA key with e = 1 dropped (unknown_kid)", tok("RS256"),
           "unknown_kid", jwks=e1)
    ev = F.jwks(F.pub("r2048", e="AQAA"), F.pub("p256"))
    reject("attack: RSA key with an even e dropped (unknown_kid)", tok("RS256"),
           "unknown_kid", jwks=ev)
    nz = F.pub("r2048")
    nz["n"] = mint.b64url(b"\0" + mint.b64url_decode(nz["n"]))
    reject("attack: RSA n with a leading zero octet dropped (unknown_kid)",
           tok("RS256"), "unknown_kid", jwks=F.jwks(nz, F.pub("p256")))
    # key fit rules
    fit = [("alg member RS256, token PS256", {"alg": "RS256"}, "PS256", "no_key"),
           ("alg member RS256, token RS256", {"alg": "RS256"}, "RS256", None),
           ("use enc", {"use": "enc"}, "RS256", "no_key"),
           ("use sig", {"use": "sig"}, "RS256", None),
           ("key_ops [encrypt]", {"key_ops": ["encrypt"]}, "RS256", "no_key"),
           ("key_ops [verify]", {"key_ops": ["verify"]}, "RS256", None)]
    for name, members, alg, why in fit:
        js = F.jwks(F.pub("r2048", **members), F.pub("p256"))
        t = tok(alg, kid="r2048")
        if why:
            reject("key fit: %s refused" % name, t, why, jwks=js)
        else:
            accept("key fit: %s accepted" % name, t, jwks=js)
    reject("kid-less token, two RSA keys fit: no_key",
           tok("RS256", header={"kid": None}), "no_key")
    accept("kid-less token, exactly one key fits: accepted",
           tok("RS256", header={"kid": None}),
           jwks=F.jwks(F.pub("r2048"), F.pub("p256")))
    reject("kid-less EdDSA token, no OKP key: no_key",
           tok("EdDSA", header={"kid": None}), "no_key",
           jwks=F.jwks(F.pub("r2048"), F.pub("p256")))


def sized_token(target):
    """A valid RS256 token of exactly `target` bytes (a padding claim and
    the typ length adjusted)."""
    base = C()

    def make(pad, tl):
        return tok(claims=dict(base, pad="x" * pad), header={"typ": "J" * (tl + 1)})

    return mint.sized_token(make, target)


def test_format():
    T.comment("format")
    good = tok()
    h, p, s = good.split(".")
    accept("format twin: the baseline token accepted", good)
    reject("format: two segments", h + "." + p, "malformed")
    reject("format: four segments", good + "." + s, "malformed")
    reject("format: empty input", "", "malformed", stdin=b"")
    reject("format: only dots", "..", "malformed")
    t16 = sized_token(16384)
    accept("format: token of exactly 16384 bytes accepted", t16)
    accept("format: 16384-byte token with a trailing newline accepted", t16,
           stdin=t16 + "\n")
    t17 = sized_token(16385)
    reject("format: token of 16385 bytes (too_large)", t17, "too_large")
    reject("format: token of 100000 bytes (too_large)",
           tok(claims=dict(C(), pad="x" * 75000)), "too_large")
    # padding
    sig_len = len(mint.b64url_decode(s))
    assert (len(s) % 4) in (2, 3), "signature segment needs padding"
    reject("format: '=' padding on the signature",
           ".".join([h, p, s + "=" * (-len(s) % 4)]), "malformed")
    ph = mint.b64url(b'{"alg":"RS256","kid":"r2048"}')
    assert len(ph) % 4
    raw_h = mint.sign_raw(F.k["r2048"], "RS256", b'{"alg":"RS256","kid":"r2048"}',
                          mint.json_bytes(C()))
    hh, pp, ss = raw_h.split(".")
    accept("format twin: header needing padding, unpadded, accepted", raw_h)
    reject("format: '=' padding on the header",
           ".".join([hh + "=" * (-len(hh) % 4), pp, ss]), "malformed")
    # non-zero unused trailing bits (a lenient decoder gets the same bytes)
    alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alpha.index(s[-1])
    assert sig_len % 3 == 1 and last & 0xF == 0
    reject("format: signature with non-zero trailing bits",
           ".".join([h, p, s[:-1] + alpha[last | 1]]), "malformed")
    lh = alpha.index(hh[-1])
    unused = 4 if len(hh) % 4 == 2 else 2
    assert lh & ((1 << unused) - 1) == 0
    reject("format: header with non-zero trailing bits",
           ".".join([hh[:-1] + alpha[lh | 1], pp, ss]), "malformed")
    # standard alphabet
    t = good
    for _ in range(20):
        if "-" in t.split(".")[2] or "_" in t.split(".")[2]:
            break
        t = tok()
    th, tp, ts = t.split(".")
    reject("format: '+' and '/' (standard base64 alphabet)",
           ".".join([th, tp, ts.replace("-", "+").replace("_", "/")]),
           "malformed")
    reject("format: a space inside the token",
           ".".join([h, p[:10] + " " + p[10:], s]), "malformed")
    reject("format: a newline inside the token",
           ".".join([h, p[:10] + "\n" + p[10:], s]), "malformed")
    reject("format: a non-ASCII byte inside the token", None, "malformed",
           stdin=(h + "." + p + "." + s[:5]).encode() + b"\xff" +
           s[5:].encode())
    # A byte >= 0x80 in place of '_' (some base64 decoders read any such
    # byte as '_', which would make the token decode to the signed bytes).
    t = good
    for _ in range(50):
        if "_" in t.split(".")[2]:
            break
        t = tok()
    th, tp, ts = t.split(".")
    i = ts.index("_")
    for b in (b"\xff", b"\x80"):
        reject("format: byte 0x%02x in place of '_' in the signature" % b[0], t,
               "malformed", stdin=(th + "." + tp + "." + ts[:i]).encode() + b +
               ts[i + 1:].encode())
    c = C(sub="bin", note="?" * 6)
    tq = tok(claims=c)
    th, tp, ts = tq.split(".")
    assert "_" in tp
    i = tp.index("_")
    reject("format: byte 0xff in place of '_' in the payload", tq, "malformed",
           stdin=(th + "." + tp[:i]).encode() + b"\xff" +
           (tp[i + 1:] + "." + ts).encode())
    c = C()
    reject("format: byte-order mark before the header JSON",
           raw_tok(mint.json_bytes(c),
                   header=b'\xef\xbb\xbf{"alg":"RS256","kid":"r2048"}'),
           "malformed")
    reject("format: byte-order mark before the payload JSON",
           raw_tok(b"\xef\xbb\xbf" + mint.json_bytes(c)), "malformed")
    reject("format: header is a JSON array",
           raw_tok(mint.json_bytes(c), header=b'["RS256"]'), "malformed")
    reject("format: payload is a JSON array", raw_tok(b'[1]'), "malformed")
    reject("format: payload is a JSON string", raw_tok(b'"bin"'), "malformed")
    reject("format: payload empty", raw_tok(b""), "malformed")
    reject("format: payload not JSON", raw_tok(b"sub=root"), "malformed")
    reject("format: trailing garbage after the payload object",
           raw_tok(mint.json_bytes(c) + b"x"), "malformed")
    reject("format: two payload objects",
           raw_tok(mint.json_bytes(c) + mint.json_bytes(c)), "malformed")
    accept("format twin: whitespace around the payload JSON accepted",
           raw_tok(b" \n" + mint.json_bytes(c) + b"\r\n\t "))
    reject("format: invalid UTF-8 in sub",
           raw_tok(raw_payload(c, subs={"sub": '"ro@@ot"'})
                   .replace(b"@@", b"\xff")), "malformed")
    reject("format: overlong UTF-8 in a string",
           raw_tok(raw_payload(c, extra='"x":"@@"').replace(b"@@", b"\xc0\xaf")),
           "malformed")
    reject("format: UTF-8 encoded surrogate in a string",
           raw_tok(raw_payload(c, extra='"x":"@@"')
                   .replace(b"@@", b"\xed\xa0\x80")), "malformed")
    accept("format twin: valid multi-byte UTF-8 in a claim",
           raw_tok(raw_payload(c, extra='"name":"R\u00e9my \u20ac \U0001f511"')))
    reject("format: single quotes (not JSON)",
           raw_tok(b"{'sub':'root'}"), "malformed")
    reject("format: trailing comma in the payload",
           raw_tok(mint.json_bytes(c)[:-1] + b",}"), "malformed")
    reject("format: raw control character in a string",
           raw_tok(raw_payload(c, extra='"x":"a\tb"')), "malformed")
    reject("format: leading zero number (007)",
           raw_tok(raw_payload(c, extra='"n":007')), "malformed")
    reject("format: 1e400 in the payload",
           raw_tok(raw_payload(c, extra='"n":1e400')), "malformed")
    reject("format: -1e400 in the payload",
           raw_tok(raw_payload(c, extra='"n":-1e400')), "malformed")
    reject("format: NaN in the payload",
           raw_tok(raw_payload(c, extra='"n":NaN')), "malformed")
    reject("format: Infinity in the payload",
           raw_tok(raw_payload(c, extra='"n":Infinity')), "malformed")
    accept("format twin: 1e300 in the payload accepted",
           raw_tok(raw_payload(c, extra='"n":1e300')))
    # nesting: the outermost object is level 1
    n32 = '"n":' + "[" * 31 + "0" + "]" * 31
    n33 = '"n":' + "[" * 32 + "0" + "]" * 32
    accept("format: nesting 32 levels accepted", raw_tok(raw_payload(c, extra=n32)))
    reject("format: nesting 33 levels", raw_tok(raw_payload(c, extra=n33)),
           "malformed")
    o33 = '"n":' + '{"a":' * 32 + "0" + "}" * 32
    reject("format: nesting 33 levels of objects",
           raw_tok(raw_payload(c, extra=o33)), "malformed")
    reject("format: nesting 33 levels in the header",
           raw_tok(mint.json_bytes(c), header=('{"alg":"RS256","kid":"r2048","x":'
                   + "[" * 32 + "]" * 32 + "}").encode()), "malformed")
    reject("format: nesting 4000 levels (still under 16384 bytes)",
           raw_tok(raw_payload(c, extra='"n":' + "[" * 4000 + "]" * 4000)),
           "malformed")


def test_ordering():
    T.comment("order of checks against key availability")
    missing = F.path("does-not-exist.jwks")
    h, p, s = tok().split(".")
    reject("ordering: malformed token with no keys: exit 1 malformed",
           h + "." + p, "malformed", jwks=missing)
    reject("ordering: bad_header token with no keys: exit 1",
           tok(header={"jku": "https://evil.test/"}), "bad_header", jwks=missing)
    reject("ordering: alg none with no keys: exit 1 alg_not_allowed",
           mint.alg_none(mint.json_bytes(C())), "alg_not_allowed", jwks=missing)
    expect("ordering: well-formed token, jwks_file missing: exit 3",
           tok(), 3, "keys_unavailable", jwks=missing)
    expect("ordering: expired token, jwks_file missing: exit 3 (keys first)",
           tok(claims=C(exp=now() - 3600, iat=None, nbf=None)), 3,
           "keys_unavailable", jwks=missing)
    unreadable = F.path("unreadable-dir")
    os.mkdir(unreadable, 0o700)
    # A jwks_file of the wrong type (here a directory) is a configuration
    # error, not a missing file (pam_jwt.conf(5), FILES).
    config_error("ordering: jwks_file is a directory: exit 2 (configuration error)",
                 base_args(unreadable))
    # iss chooses the issuer before any key work; other claims only after
    # the signature
    t = tok(claims=C(iss="https://evil.test"))
    reject("ordering: bad issuer before bad signature (iss picks the keys)",
           mint.flip_sig_bit(t), "bad_issuer")
    reject("ordering: bad signature wins over bad audience",
           mint.flip_sig_bit(tok(claims=C(aud="y"))), "bad_signature")
    reject("ordering: foreign iss with no keys: exit 1 bad_issuer, not 3",
           tok(claims=C(iss="https://evil.test")), "bad_issuer", jwks=missing)
    reject("ordering: unknown kid wins over expired",
           tok(claims=C(exp=1, iat=None, nbf=None), header={"kid": "nope"}),
           "unknown_kid")
    reject("ordering: bad issuer before expired",
           tok(claims=C(exp=now() - 3600, iat=None, nbf=None, iss="x")),
           "bad_issuer")
    reject("ordering: expired before bad audience",
           tok(claims=C(exp=now() - 3600, iat=None, nbf=None, aud="y")),
           "expired")
    reject("ordering: bad issuer before bad audience",
           tok(claims=C(iss="x", aud="y")), "bad_issuer")
    reject("ordering: bad audience before claim mismatch",
           tok(claims=C(aud="y")), "bad_audience", opts=["require_claim=team=ops"])
    reject("ordering: claim mismatch before user mapping",
           tok(claims=C(sub="a:b")), "claim_mismatch",
           opts=["require_claim=team=ops"])


def test_tool():
    T.comment("tool behaviour")
    t = tok()
    config_error("usage: unknown option --frobnicate", ["--frobnicate"] + base_args())
    config_error("config: unknown key frobnicate=1", base_args() + ["frobnicate=1"])
    config_error("config: algorithms=none", base_args() + ["algorithms=none"])
    config_error("config: algorithms=HS256", base_args() + ["algorithms=HS256"])
    config_error("config: algorithms=RS256,none",
                 base_args() + ["algorithms=RS256,none"])
    config_error("config: missing issuer", base_args(issuer=False))
    config_error("config: missing audience", base_args(audience=False))
    config_error("config: issuer not https", base_args(issuer=False) +
                 ["issuer=http://issuer.test"])
    config_error("config: empty audience", base_args(audience=False) +
                 ["audience="])
    config_error("config: issuer twice", base_args() + ["issuer=" + ISS])
    config_error("config: leeway=601", base_args() + ["leeway=601"])
    config_error("config: leeway=-1", base_args() + ["leeway=-1"])
    config_error("config: max_lifetime=0", base_args() + ["max_lifetime=0"])
    config_error("config: max_lifetime=2592001",
                 base_args() + ["max_lifetime=2592001"])
    config_error("config: jwks_file and jwks_uri together",
                 base_args() + ["jwks_uri=https://issuer.test/jwks"])
    config_error("usage: --user without a name", base_args() + ["--user"],
                 user=None, use_json=False)
    lax = F.write("lax.jwks", [F.pub("r2048")], mode=0o664)
    os.chmod(lax, 0o664)
    config_error("config: jwks_file writable by group", base_args(lax))
    lax2 = F.write("lax2.jwks", [F.pub("r2048")], mode=0o646)
    os.chmod(lax2, 0o646)
    config_error("config: jwks_file writable by others", base_args(lax2))
    link = F.path("link.jwks")
    os.symlink(F.main, link)
    config_error("config: jwks_file is a symlink", base_args(link))
    if os.geteuid() == 0:
        other = F.write("other.jwks", [F.pub("r2048")])
        pw = pwd.getpwnam(OTHER_USER)
        os.chown(other, pw.pw_uid, pw.pw_gid)
        config_error("config: jwks_file owned by another user", base_args(other))
    else:
        T.comment("not root: owner test skipped")
    accept("config twin: jwks_file mode 0600 accepted", t,
           jwks=F.write("strict.jwks", [F.pub("r2048")], mode=0o600))

    # --json
    c = C(jti="jti-42")
    t = tok(claims=c)
    r = run(base_args(), t)
    o = r["obj"] or {}
    problems = []
    if r["rc"] != 0:
        problems.append("exit %s" % r["rc"])
    if r["jerr"]:
        problems.append(r["jerr"])
    for field in ("ok", "reason", "user", "iss", "sub", "kid", "jti", "exp"):
        if field not in o:
            problems.append("field %s missing" % field)
    want = {"ok": True, "user": "bin", "iss": ISS, "sub": "bin",
            "kid": "r2048", "jti": "jti-42", "exp": c["exp"]}
    for field, val in want.items():
        if field in o and o[field] != val:
            problems.append("%s: expected %r, got %r" % (field, val, o[field]))
    if r["out"].strip().count("\n") > 0 and not r["jerr"]:
        # one object; pretty-printing is fine as long as it is one document
        pass
    T.result(not problems, "--json: one object with ok, reason, user, iss, sub, "
             "kid, jti, exp", "; ".join(problems) + "\nstdout: " + r["out"][:400])
    r = run(base_args(), mint.flip_sig_bit(t))
    o = r["obj"] or {}
    missing = [f for f in ("ok", "reason", "user", "iss", "sub", "kid", "jti",
                           "exp") if f not in o]
    T.result(r["rc"] == 1 and o.get("ok") is False and
             o.get("reason") == "bad_signature" and not missing,
             "--json on a rejection: ok false, reason, all fields",
             "exit %s, stdout %r, missing %s" % (r["rc"], r["out"][:300], missing))
    r = run(base_args(), t, use_json=False)
    T.result(r["rc"] == 0, "without --json: accepted exits 0",
             "exit %s stderr %r" % (r["rc"], r["err"][:300]))
    r = run(base_args(), mint.flip_sig_bit(t), use_json=False)
    T.result(r["rc"] == 1, "without --json: rejected exits 1",
             "exit %s stderr %r" % (r["rc"], r["err"][:300]))
    r = run(base_args(F.path("nope.jwks")), t, use_json=False)
    T.result(r["rc"] == 3, "without --json: keys_unavailable exits 3",
             "exit %s stderr %r" % (r["rc"], r["err"][:300]))

    # whitespace
    accept("stdin: token followed by a newline accepted", t, stdin=t + "\n")
    accept("stdin: token with surrounding spaces, tabs, CRLF accepted", t,
           stdin=" \t\r\n" + t + " \r\n\n")
    reject("stdin: two tokens on two lines refused (malformed)", t,
           "malformed", stdin=t + "\n" + t + "\n")

    # config file
    cfg = F.file("pam_jwt.conf",
                 "# test\nissuer = %s\naudience = %s\n\njwks_file = %s\n"
                 "require_claim = team=ops\n" % (ISS, AUD, F.main), 0o600)
    ct = tok(claims=C(team="ops", level=42))
    expect("--config: options from a file accepted", ct, 0, None, base=False,
           config=cfg)
    expect("--config: require_claim from the file applies", tok(), 1,
           "claim_mismatch", base=False, config=cfg)
    expect("--config: require_claim of file and arguments add up",
           tok(claims=C(team="ops", level=41)), 1, "claim_mismatch", base=False,
           config=cfg, opts=["require_claim=level=42"])
    expect("--config: require_claim of file and arguments, both hold", ct, 0,
           None, base=False, config=cfg, opts=["require_claim=level=42"])
    cfg2 = F.file("pam_jwt2.conf", "issuer = %s\naudience = ssh://elsewhere\n"
                  "jwks_file = %s\n" % (ISS, F.main), 0o600)
    expect("--config: module arguments override the file", tok(), 0, None,
           base=False, config=cfg2, opts=["audience=" + AUD])
    expect("--config twin: the file's audience applies without override",
           tok(), 1, "bad_audience", base=False, config=cfg2)
    cfg3 = F.file("pam_jwt3.conf", "issuer = %s\n" % ISS, 0o666)
    os.chmod(cfg3, 0o666)
    config_error("--config: file writable by others",
                 ["audience=" + AUD, "jwks_file=" + F.main], config=cfg3)
    config_error("--config: missing file", ["audience=" + AUD],
                 config=F.path("nope.conf"))

    # replay: the tool reads the store, never writes it
    state = F.path("state")
    os.mkdir(state, 0o700)
    rop = ["jti_replay=yes", "state_dir=" + state]
    ro = base_args() + rop
    reject("jti_replay: token without jti refused (replayed)",
           tok(claims=C(jti=None)), "replayed", opts=rop)
    reject("jti_replay: empty jti refused (replayed)",
           tok(claims=C(jti="")), "replayed", opts=rop)
    reject("jti_replay: jti not a string refused (replayed)",
           tok(claims=C(jti=7)), "replayed", opts=rop)
    tj = tok(claims=C(jti="once-%d" % os.getpid()))
    before = sorted(os.listdir(state))
    r1 = run(ro, tj)
    r2 = run(ro, tj)
    after = sorted(os.listdir(state))
    ok1, d1 = verdict(r1, 0, None)
    ok2, d2 = verdict(r2, 0, None)
    T.result(ok1 and ok2, "jti_replay: the tool never records (accepted twice)",
             "%s / %s" % (d1, d2))
    T.result(before == after, "jti_replay: the tool wrote nothing in state_dir",
             "before %r after %r" % (before, after))


def main():
    global F
    T.comment("token issuer: " + mint.IMPLEMENTATION)
    T.comment("program: " + BIN)
    if not os.access(BIN, os.X_OK):
        print("Bail out! %s is not built" % BIN)
        return 1
    try:
        pwd.getpwnam(NOUSER)
        print("Bail out! user %s exists on this host" % NOUSER)
        return 1
    except KeyError:
        pass
    pwd.getpwnam(OTHER_USER)
    grp.getgrgid(os.getgid())
    F = Fixture()
    try:
        for fn in (test_algorithms, test_time, test_issuer_audience,
                   test_require_claim, test_users, test_attacks, test_format,
                   test_ordering, test_tool):
            try:
                fn()
            except Exception:  # a harness bug must show, not hide
                import traceback
                T.result(False, "%s: harness crashed" % fn.__name__,
                         traceback.format_exc())
    finally:
        F.cleanup()
    T.plan()
    if T.failed:
        T.comment("%d of %d failed" % (len(T.failed), T.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
