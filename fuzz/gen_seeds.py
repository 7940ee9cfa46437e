#!/usr/bin/python3
"""Seed corpora of the fuzz targets (fuzz/corpus/TARGET) and the fixed JWKS
of fuzz_verify (fuzz/keys.jwks).

    /usr/bin/python3 fuzz/gen_seeds.py

Every signed token here is minted by python3-jwcrypto (tests/mint/mint.py)
with fresh keys whose public halves go to fuzz/keys.jwks, so the two are
regenerated together. The targets' clock is fixed (FUZZ_NOW in fuzz/fuzz.h):
the seeds stay valid. Existing seeds are replaced; minimized corpora merged
in later (libFuzzer -merge=1) are kept unless --clean.
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "tests", "mint"))
import mint  # noqa: E402

NOW = 1760000000
ISS = "https://issuer.fuzz.test"
CORPUS = os.path.join(HERE, "corpus")
ALGS = {"RS256": "rsa", "RS384": "rsa", "RS512": "rsa", "PS256": "rsa", "PS384": "rsa",
        "PS512": "rsa", "ES256": "p256", "ES384": "p384", "ES512": "p521", "EdDSA": "ed"}


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def claims(**kw):
    c = {"iss": ISS, "aud": "ssh://host1", "sub": "alice", "iat": NOW - 60, "nbf": NOW - 60,
         "exp": NOW + 3600, "jti": "j-" + os.urandom(6).hex(), "ext": {"login": "login-bob-7"},
         "groups": ["ops", "dev"], "amr": ["pwd", "mfa"], "level": 3, "a/b": {"~c": True}}
    for k, v in kw.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def keys():
    k = {
        "rsa": mint.gen_key("RSA2048", kid="rsa"),
        "p256": mint.gen_key("P-256", kid="p256"),
        "p384": mint.gen_key("P-384", kid="p384"),
        "p521": mint.gen_key("P-521", kid="p521"),
        "ed": mint.gen_key("Ed25519", kid="ed"),
        "enc": mint.gen_key("RSA2048", kid="enc"),  # published with use=enc
        "dup1": mint.gen_key("P-256", kid="dup"),
        "dup2": mint.gen_key("P-256", kid="dup"),
        "ps": mint.gen_key("RSA3072", kid="ps384", alg="PS384"),
    }
    doc = mint.jwks(*[mint.public_jwk(v, use="enc" if n == "enc" else None)
                      for n, v in k.items()])
    with open(os.path.join(HERE, "keys.jwks"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    return k, doc


def verify_seeds(k):
    def tok(alg="ES256", key="p256", header=None, **kw):
        h = {"kid": k[key]["kid"]}
        h.update(header or {})
        h = {a: b for a, b in h.items() if b is not None}
        return mint.sign(k[key], alg, claims(**kw), h)

    s = {}
    for alg, key in ALGS.items():
        s["ok-" + alg] = tok(alg, key)
    s["ok-PS384-key-alg"] = tok("PS384", "ps")
    s["ok-nokid-EdDSA"] = tok("EdDSA", "ed", {"kid": None})
    s["ok-aud-array"] = tok(aud=["x", "ssh://host2"])
    s["ok-sub-bob"] = tok(sub="bob")
    s["ok-nofrac-dates"] = tok(exp=NOW + 3600.5, iat=NOW - 0.25, nbf=None)
    s["ok-typ-cty"] = tok(header={"typ": "JWT", "cty": "JWT", "x5t": "abc"})
    s["unknown-kid"] = tok(header={"kid": "nope"})
    s["dup-kid"] = mint.sign(k["dup1"], "ES256", claims(), {"kid": "dup"})
    s["enc-key"] = mint.sign(k["enc"], "RS256", claims(), {"kid": "enc"})
    s["nokid-ambiguous"] = tok("RS256", "rsa", {"kid": None})
    s["kid-wrong-type"] = tok("ES384", "p384", {"kid": "p256"})
    s["expired"] = tok(exp=NOW - 3600, iat=NOW - 7200, nbf=None)
    s["no-exp"] = tok(exp=None)
    s["nbf-future"] = tok(nbf=NOW + 600)
    s["iat-future"] = tok(iat=NOW + 600)
    s["lifetime-long"] = tok(exp=NOW + 20000)
    s["exp-string"] = tok(exp=str(NOW + 3600))
    s["exp-2-53"] = tok(exp=2 ** 53)
    s["iss-wrong"] = tok(iss=ISS + "/")
    s["aud-wrong"] = tok(aud="ssh://host3")
    s["aud-mixed"] = tok(aud=["ssh://host1", 5])
    s["sub-root"] = tok(sub="root")
    s["sub-Alice"] = tok(sub="Alice")
    s["sub-33"] = tok(sub="a" * 33)
    s["sub-slash"] = tok(sub="../alice")
    s["sub-nsslost"] = tok(sub="nsslost")
    s["sub-nosuch"] = tok(sub="nosuchuser")
    s["sub-number"] = tok(sub=1000)
    s["login-map-sa"] = tok(ext={"login": "system:serviceaccount:bob:x"})
    s["login-map-glob"] = tok(ext={"login": "repo:acme/api:ref:main"})
    s["groups-no-ops"] = tok(groups=["dev"])
    s["level-3.0"] = mint.sign_raw(k["p256"], "ES256", {"alg": "ES256", "kid": "p256"},
                                   mint.json_bytes(claims())[:-1] + b',"zz":1}')
    s["jti-missing"] = tok(jti=None)
    # hostile headers
    s["alg-none"] = mint.alg_none(claims())
    s["alg-none-kid"] = mint.alg_none(claims(), {"kid": "rsa"})
    s["hs256-pubkey"] = mint.hs256_with_pubkey(k["rsa"], mint.json_bytes(claims()), {"kid": "rsa"})
    s["crit"] = tok(header={"crit": ["exp"], "exp": 1})
    s["jku"] = tok(header={"jku": "https://evil.test/jwks"})
    s["jwk-header"] = tok(header={"jwk": mint.public_jwk(k["p256"])})
    s["x5u"] = tok(header={"x5u": "https://evil.test/x"})
    s["kid-empty"] = tok(header={"kid": ""})
    s["kid-number"] = tok(header={"kid": 5})
    s["kid-path"] = tok(header={"kid": "../../etc/passwd"})
    s["alg-missing"] = mint.sign_raw(k["p256"], "ES256", {"kid": "p256"}, claims())
    s["alg-ES256K"] = tok(header={"alg": "ES256K"})
    # signatures
    good = tok()
    s["sig-flipped"] = mint.flip_sig_bit(good)
    s["sig-der"] = mint.ecdsa_raw_to_der(good)
    s["sig-zero"] = mint.ecdsa_zero(good)
    s["sig-r-is-n"] = mint.ecdsa_with_rs(good, mint.EC_ORDERS["P-256"], 1)
    s["sig-empty"] = good.rsplit(".", 1)[0] + "."
    s["alg-swap-RS-to-PS"] = mint.change_alg(tok("RS256", "rsa"), "PS256")
    # format
    h, p, g = good.split(".")
    s["jwe"] = mint.jwe_compact(k["rsa"], claims())
    s["four-segments"] = good + ".x"
    s["padding"] = h + "==." + p + "." + g
    s["plus-slash"] = h.replace("-", "+") + "." + p + "." + g
    s["bom"] = mint.sign_raw(k["p256"], "ES256", {"alg": "ES256", "kid": "p256"},
                             b"\xef\xbb\xbf" + mint.json_bytes(claims()))
    s["dup-member"] = mint.sign_raw(k["p256"], "ES256", {"alg": "ES256", "kid": "p256"},
                                    mint.json_bytes(claims())[:-1] + b',"sub":"root"}')
    s["dup-escaped"] = mint.sign_raw(k["p256"], "ES256", {"alg": "ES256", "kid": "p256"},
                                     mint.json_bytes(claims(sub=None))[:-1] +
                                     b',"sub":"alice","\\u0073ub":"root"}')
    s["nul-escape"] = mint.sign_raw(k["p256"], "ES256", {"alg": "ES256", "kid": "p256"},
                                    mint.json_bytes(claims(sub=None))[:-1] + b',"sub":"alice\\u0000x"}')
    s["exp-1e400"] = mint.sign_raw(k["p256"], "ES256", {"alg": "ES256", "kid": "p256"},
                                   mint.json_bytes(claims(exp=None))[:-1] + b',"exp":1e400}')
    deep = "[" * 31 + "1" + "]" * 31
    s["deep-32"] = tok(deep=json.loads(deep))
    s["deep-33"] = mint.sign_raw(k["p256"], "ES256", {"alg": "ES256", "kid": "p256"},
                                 mint.json_bytes(claims())[:-1] + b',"d":' + ("[" * 32 + "]" * 32).encode() + b"}")
    s["big-8k"] = tok(pad="x" * 6000)
    s["utf8"] = tok(name="Zo\u00eb \u2603 \U0001f600")
    return s


def claims_seeds():
    hdr = {"alg": "EdDSA", "kid": "fz"}
    s = {}

    def put2(name, c, h=hdr):
        hb = h if isinstance(h, bytes) else mint.json_bytes(h)
        cb = c if isinstance(c, bytes) else mint.json_bytes(c)
        s[name] = hb + b"\n" + cb

    put2("ok", claims())
    s["ok-default-header"] = mint.json_bytes(claims())
    put2("ok-nokid", claims(), {"alg": "EdDSA"})
    put2("sub-bob", claims(sub="bob"))
    put2("expired", claims(exp=NOW - 61))
    put2("exp-edge", claims(exp=NOW - 60))
    put2("nbf-edge", claims(nbf=NOW + 60))
    put2("iat-edge", claims(iat=NOW + 61))
    put2("lifetime", claims(exp=NOW + 7140))
    put2("no-iat", claims(iat=None))
    put2("aud-list", claims(aud=["a", "ssh://host1"]))
    put2("aud-bad", claims(aud=["ssh://host1", None]))
    put2("iss-nul", claims(iss=ISS + "\u0001"))
    put2("map-sa", claims(ext={"login": "system:serviceaccount:alice:web-1"}))
    put2("map-glob", claims(ext={"login": "repo:acme/api:ref:refs/heads/main"}))
    put2("map-self", claims(ext={"login": "bob@example.test"}))
    put2("map-exact", claims(ext={"login": "alice@example.test"}))
    put2("map-regex", claims(ext={"login": "login-alice-42"}))
    put2("level-str", claims(level="3"))
    put2("level-float", b'{"iss":"%s","aud":"ssh://host1","sub":"alice","exp":%d,"level":3.0}' % (ISS.encode(), NOW + 100))
    put2("level-big", b'{"iss":"%s","aud":"ssh://host1","sub":"alice","exp":%d,"level":1000000000000000}' % (ISS.encode(), NOW + 100))
    put2("groups-obj", claims(groups={"0": "ops"}))
    put2("sub-nsslost", claims(sub="nsslost"))
    put2("sub-dots", claims(sub="a.b-c_d"))
    put2("sub-digit", claims(sub="1abc"))
    put2("sub-long", claims(sub="x" * 257))
    put2("crit", claims(), {"alg": "EdDSA", "kid": "fz", "crit": ["b64"], "b64": False})
    put2("kid-enc", claims(), {"alg": "EdDSA", "kid": "fz-enc"})
    put2("alg-RS256", claims(), {"alg": "RS256", "kid": "fz"})
    put2("jti-empty", claims(jti=""))
    put2("dates-neg", claims(nbf=-1))
    put2("dates-float", claims(exp=NOW + 0.5, iat=1.5e9))
    put2("pointer-array", claims(ext=[{"login": "x"}]))
    return s


def jwks_seeds(k, doc):
    s = {"keys": json.dumps(doc).encode()}
    for name, key in k.items():
        s["one-" + name] = json.dumps(mint.jwks(mint.public_jwk(key))).encode()
    fx = json.load(open(os.path.join(HERE, "..", "tests", "jwk", "fixtures.json")))
    for name, j in fx["jwk"].items():
        s["fixture-" + name] = json.dumps({"keys": [j]}).encode()
    pub = mint.public_jwk(k["p256"])
    variants = {
        "private-d": dict(pub, d="AAAA"),
        "sym-k": {"kty": "oct", "k": "c2VjcmV0"},
        "use-enc": dict(pub, use="enc"),
        "key_ops-sign": dict(pub, key_ops=["sign"]),
        "key_ops-verify": dict(pub, key_ops=["verify", "sign"]),
        "key_ops-bad": dict(pub, key_ops="verify"),
        "alg-ES384": dict(pub, alg="ES384"),
        "alg-HS256": dict(pub, alg="HS256"),
        "kid-empty": dict(pub, kid=""),
        "kid-int": dict(pub, kid=1),
        "crv-bad": dict(pub, crv="P-257"),
        "x-padded": dict(pub, x=pub["x"] + "="),
        "kty-missing": {a: b for a, b in pub.items() if a != "kty"},
    }
    for name, j in variants.items():
        s["var-" + name] = json.dumps({"keys": [j]}).encode()
    s["empty"] = b'{"keys":[]}'
    s["not-array"] = b'{"keys":{}}'
    s["array"] = b"[]"
    s["many"] = json.dumps({"keys": [dict(pub, kid="k%d" % i) for i in range(50)]}).encode()
    s["junk-members"] = json.dumps({"keys": [pub, 1, "x", None, [pub]], "other": {"a": [1, 2.5e3]}}).encode()
    return s


def config_seeds():
    base = "issuer = https://i.test\naudience = ssh://a, ssh://b\njwks_file = /nonexistent/jwks.json\n"
    s = {
        "file": base,
        "file-all": base + "# comment\nalgorithms = RS256, ES512,EdDSA\nuser_claim = /a~1b/c\n"
                    "require_claim = groups=ops\nrequire_claim = /x/0=a=b\nleeway = 600\n"
                    "max_lifetime = 2592000\njti_replay = yes\nstate_dir = /nonexistent/s\n"
                    "cache_ttl = 1\nrefresh_cooldown = 86400\nstale_max = 0\nhttp_timeout = 60\n"
                    "fetch_user = nobody\nprompt = \"Token: \"\nprompt_more = \"Part %d: \"\n"
                    "debug\ntry_first_pass = no\n",
        "file-uri": "issuer = https://i.test/\naudience = x\njwks_uri = https://i.test/jwks?x=1\n"
                    "ca_file = /nonexistent/ca.pem\ncache_dir = /nonexistent/c\n",
        "file-bad-num": base + "leeway = 601\n",
        "file-quote": base + "prompt = \"unterminated\n",
        "file-dup": base + "leeway = 1\nleeway = 2\n",
        "file-unknown": base + "bogus = 1\n",
        "file-config": base + "config = /etc/passwd\n",
        "file-http": "issuer = http://i.test\naudience = a\n",
        "file-userinfo": "issuer = https://u@i.test\naudience = a\n",
        "file-fetch-root": base + "fetch_user = root\n",
        "file-nul": base.encode() + b"x = \x01\n",
    }
    s = {k: (v.encode() if isinstance(v, str) else v) for k, v in s.items()}
    s["args"] = b"\0issuer=https://i.test\0audience=a\0jwks_file=/nonexistent\0use_first_pass"
    s["args-override"] = s["file"] + b"\0audience=ssh://c\0require_claim=a=b\0leeway=0"
    s["args-both-sources"] = s["file"] + b"\0jwks_uri=https://i.test/jwks"
    s["args-algs-none"] = s["file"] + b"\0algorithms=none"
    s["args-flag-value"] = s["file"] + b"\0debug=maybe"
    s["args-empty"] = s["file"] + b"\0\0leeway="
    s["args-prompt"] = s["file"] + b"\0prompt=Code 1:\0prompt_more=%s %d:"
    sec = ("audience = ssh://a\nmax_lifetime = 3600\nrequire_claim = env=prod\ndebug\nlog_format = json\n"
           "jwks_file = /nonexistent/jwks.json\n"
           "[issuer github]\nissuer = https://token.actions.githubusercontent.com\n"
           "require_claim = repository_owner_id=1234567\n"
           "[issuer corp]  # comment\nissuer = https://i.test\ntyp = at+jwt\nrequire_scope = ssh\n"
           "deny_claim = /groups=contractors\njwks_uri = https://i.test/jwks\n"
           "[issuer corp-sudo]\nissuer = https://i.test\naudience = sudo://a\nmax_lifetime = 300\n"
           "require_scope = sudo\n")
    s["sec"] = sec.encode() + b"\0issuers=github,corp\0http_timeout=9"
    s["sec-sudo"] = sec.encode() + b"\0issuers=corp-sudo"
    s["sec-dup-issuer"] = sec.encode()
    s["sec-arg-per-issuer"] = sec.encode() + b"\0issuers=corp\0leeway=1"
    s["sec-unknown-name"] = sec.encode() + b"\0issuers=nope"
    s["sec-global-inside"] = b"audience = a\n[issuer x]\nissuer = https://i.test\ncache_dir = /c\n"
    s["sec-bad-names"] = b"audience = a\n[issuer Up]\nissuer = https://i.test\n[issuer -x]\n[issuer x]\n[issuer x]\n"
    s["sec-missing"] = b"audience = a\n[issuer a]\n[issuer b]\nissuer = https://i.test\n"
    s["sec-unpinned"] = (b"audience = a\n[issuer gl]\nissuer = https://gitlab.com\nrequire_claim = /project_id=7\n"
                         b"[issuer tf]\nissuer = https://app.terraform.io\nrequire_claim = x=1\n")
    s["single-issuers"] = s["file"] + b"\0issuers=a"
    return s


def usermap_seeds():
    m = ("# comment\nalice@example.test alice\nrepo:acme/api:* bob\n*@ops.example.test =\n"
         "~system:serviceaccount:([a-z]+):([a-z-]+) \\1\n~login-(bob|alice)-[0-9]+ \\1\n"
         "~abcd|.* root\n")
    vals = ["alice@example.test", "repo:acme/api:x", "carol@ops.example.test", "Carol@ops.example.test",
            "system:serviceaccount:ops:web", "login-bob-1", "abcd", "abcdX", "zzz"]
    s = {"map": m.encode() + b"\0" + b"\0".join(v.encode() for v in vals), "map-only": m.encode()}
    bad = {
        "catch-all-glob": "* root\n", "catch-all-short": "ab* root\n", "catch-all-regex": "~.* root\n",
        "anchored": "~^abcd.* root\n", "backref": "~abcd(x)\\1 root\n", "group-missing": "~abcd(x) \\2\n",
        "user-unsafe": "abcd Root\n", "template-glob": "abcd* \\1\n", "three-cols": "abcd x y\n",
        "bad-regex": "~abcd( x\n", "tabs": "\tabcd\t\tx\t\n", "nul": "abcd x\n\0\0abcd",
        "paren-escape": "~abcdx)|(y) bob\n", "bounds": "~abcd(a{1,3}){2} bob\n",
        "self-long": "abcd* =\n\0abcd" + "e" * 40,
    }
    for name, v in bad.items():
        s[name] = v.encode()
    return s


def pieces_seeds():
    return {
        "one": b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
        "three": b"eyJhbGci\\\n  OiJFUzI1NiJ9.eyJz \\\ndWIiOiJhIn0.c2ln\n",
        "spaces": b" \t a \\ \n\\\n\\\nb\r\n",
        "64": b"A\\\n" * 63 + b"B\n",
        "65": b"A\\\n" * 65,
        "big": (b"x" * 500 + b"\\\n") * 33 + b"y\n",
        "empty": b"\n",
        "nul": b"ab\0cd\\\nef",
    }


def cache_seeds(doc):
    j = json.dumps(doc).encode()
    good = b"attempt_at=%d\nattempt_cause=empty\nfetched=%d\nfresh_until=%d\n" % (NOW - 100, NOW - 100, NOW + 3500)
    new = b"attempt_at=%d\nattempt_cause=empty\nfetched=%d\nmax_age=3600\njitter=99999\nfresh_until=%d\n" % (
        NOW - 100, NOW - 100, NOW + 3141)
    s = {
        "fresh": b"\x00" + good + b"\0" + j,
        "stale": b"\x60" + good + b"\0" + j,         # clock +3600: past fresh_until, within stale_max
        "dead": b"\xa0" + good + b"\0" + j,          # clock +86400: past stale_max
        "no-meta": b"\x01" + b"\0" + j,
        "no-jwks": b"\x02" + good + b"\0",
        "jwks-mode": b"\x04" + good + b"\0" + j,
        "meta-mode": b"\x08" + good + b"\0" + j,
        "jwks-link": b"\x10" + good + b"\0" + j,
        "no-fetched": b"\x00attempt_at=%d\nattempt_cause=kid_miss\nkid_miss_at=%d\nfailed_at=%d\n\0" % (NOW, NOW, NOW) + j,
        "full-meta": b"\x00" + good + b"kid_miss_at=1\nfailed_at=2\njwks_uri=https://i.test/jwks\n\0" + j,
        "truncated": b"\x00" + good[:-1] + b"\0" + j,
        "repeated": b"\x00" + good + b"fetched=1\n\0" + j,
        "leading-zero": b"\x00fetched=0%d\nfresh_until=%d\n\0" % (NOW, NOW + 10) + j,
        "bad-uri": b"\x00" + good + b"jwks_uri=http://x\n\0" + j,
        "bad-cause": b"\x00attempt_at=1\nattempt_cause=other\n\0" + j,
        "jwks-garbage": b"\x00" + good + b"\0{\"keys\":[",
        "jwks-empty-set": b"\x00" + good + b"\0{\"keys\":[]}",
        "clock-back": b"\xc0" + good + b"\0" + j,
        # This release's .meta: each reader judges by fetched, max_age, jitter.
        "new": b"\x00" + new + b"\0" + j,
        "new-stale": b"\x60" + new + b"\0" + j,    # clock +3600: past 0.9 * 3600, within stale_max
        "new-dead": b"\xa0" + new + b"\0" + j,
        "new-no-max-age": b"\x00attempt_at=%d\nattempt_cause=empty\nfetched=%d\nmax_age=-\njitter=0\n\0" % (NOW - 100, NOW - 100) + j,
        "new-unknown-key": b"\x00" + new + b"some_later_key=1\n\0" + j,
        "jitter-over": b"\x00fetched=%d\nmax_age=300\njitter=100000\n\0" % (NOW - 100) + j,
        "jitter-alone": b"\x00fetched=%d\njitter=5\n\0" % (NOW - 100) + j,
        "max-age-bad": b"\x00fetched=%d\nmax_age=-1\njitter=5\n\0" % (NOW - 100) + j,
    }
    return s


def main():
    if "--clean" in sys.argv and os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    k, doc = keys()
    for name, v in verify_seeds(k).items():
        put("fuzz_verify", name, v)
    for name, v in claims_seeds().items():
        put("fuzz_claims", name, v)
    for name, v in jwks_seeds(k, doc).items():
        put("fuzz_jwks", name, v)
    for name, v in config_seeds().items():
        put("fuzz_config", name, v)
    for name, v in usermap_seeds().items():
        put("fuzz_usermap", name, v)
    for name, v in pieces_seeds().items():
        put("fuzz_pieces", name, v)
    for name, v in cache_seeds(doc).items():
        put("fuzz_cache", name, v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
