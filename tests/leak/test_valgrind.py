#!/usr/bin/python3
"""10,000 authentications in one process through the real libpam
(tests/leak/pjloop, pam_start_confdir) under valgrind memcheck: every
algorithm, accepted and refused, a user map, a cached key set, an
unreachable issuer, a one-time jti. No memory error, no leak (definite,
indirect or possible: what the reuse cache keeps is reachable), every
verdict as expected, and memory flat after the first hundred logins (the
reuse cache is bounded): malloc's bytes in use and the resident size at
login 100 and at the last, without valgrind. Tokens by python3-jwcrypto.
TAP output; skipped without valgrind, and in sanitizer builds (ASan and
valgrind do not mix).
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-leak"
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib")]
import mint  # noqa: E402
from files import install, write, trusted_copy  # noqa: E402
from tap import Tap  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
LOOP = os.path.join(BUILD, "tests", "leak", "pjloop")
FETCH = trusted_copy(os.path.join(BUILD, "src", "pam_jwt_fetch"))
ROUNDS = int(os.environ.get("PJ_VALGRIND_ROUNDS", "10000"))
FLAT_ROUNDS = 10000
HEAP_SLACK = 128 * 1024     # bytes in use by malloc, login 100 -> last (13 B a login)
RSS_SLACK = 1024            # KiB resident, login 100 -> last
ISS = "https://issuer.leak.test"
AUD = "ssh://host1"
ALGS = {"RS256": "r", "RS384": "r", "RS512": "r", "PS256": "r", "PS384": "r", "PS512": "r",
        "ES256": "p256", "ES384": "p384", "ES512": "p521", "EdDSA": "ed"}
DOWN = "https://127.0.0.1:1/jwks"

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-leak-")
os.chmod(tmp, 0o755)


def sanitized():
    if os.environ.get("PJ_SANITIZED"):
        return True
    for p in (LOOP, MODULE):
        out = subprocess.run(["ldd", p], capture_output=True, text=True).stdout
        syms = subprocess.run(["nm", "-D", p], capture_output=True, text=True).stdout
        if "libasan" in out or "__asan_init" in syms:
            return True
    return False


def setup():
    now = int(time.time())
    k = {"r": mint.gen_key("RSA2048", kid="r"), "p256": mint.gen_key("P-256", kid="p256"),
         "p384": mint.gen_key("P-384", kid="p384"), "p521": mint.gen_key("P-521", kid="p521"),
         "ed": mint.gen_key("Ed25519", kid="ed")}
    jwks = os.path.join(tmp, "jwks.json")
    mint.write_jwks(jwks, list(k.values()))
    # A fresh cache for an unreachable jwks_uri: keys from the cache, never fetched.
    cache = os.path.join(tmp, "cache")
    os.mkdir(cache, 0o755)
    name = hashlib.blake2b(("jwks_uri=%s\n-" % DOWN).encode(), digest_size=32).hexdigest()
    install(jwks, os.path.join(cache, name + ".jwks"), 0o644)
    write(os.path.join(cache, name + ".meta"), "fetched=%d\nfresh_until=%d\n" % (now, now + 86400))
    mapf = write(os.path.join(tmp, "map"), "~svc:([a-z]+):ci daemon\nrepo:acme/api:* daemon\nbin =\n")
    base = "issuer=%s audience=%s algorithms=%s" % (ISS, AUD, ",".join(ALGS))
    fetch = "fetch_helper=%s http_timeout=2%s" % (FETCH, " fetch_user=nobody" if os.geteuid() == 0 else "")
    confdir = os.path.join(tmp, "pam.d")
    os.mkdir(confdir)
    for svc, args in (("plain", "jwks_file=" + jwks),
                      ("map", "jwks_file=%s user_map=%s" % (jwks, mapf)),
                      ("cache", "jwks_uri=%s cache_dir=%s %s" % (DOWN, cache, fetch)),
                      ("down", "jwks_uri=%s cache_dir=%s/cache-down %s" % (DOWN, tmp, fetch)),
                      ("replay", "jwks_file=%s jti_replay state_dir=%s/state" % (jwks, tmp))):
        write(os.path.join(confdir, svc), "auth required %s %s %s\n" % (MODULE, base, args))

    def tok(alg="ES256", sub="bin", header=None, **kw):
        key = k[ALGS[alg]]
        h = {"kid": key["kid"]}
        h.update(header or {})
        kw.setdefault("aud", AUD)
        return mint.sign(key, alg, mint.claims(iss=ISS, sub=sub, **kw), h)

    plan = []
    for alg in ALGS:
        good = tok(alg)
        plan.append(("plain", "bin", "PAM_SUCCESS", good))
        plan.append(("plain", "bin", "PAM_AUTH_ERR", mint.flip_sig_bit(good, 9)))
    plan += [
        ("plain", "bin", "PAM_AUTH_ERR", tok(exp=now - 3600, iat=now - 7200, nbf=None)),
        ("plain", "daemon", "PAM_AUTH_ERR", tok()),
        ("plain", "bin", "PAM_AUTH_ERR", tok(header={"kid": "nope"})),
        ("plain", "bin", "PAM_AUTH_ERR", mint.alg_none(mint.json_bytes(mint.claims(iss=ISS, aud=AUD, sub="bin")))),
        ("plain", "bin", "PAM_AUTH_ERR", mint.hs256_with_pubkey(k["r"], mint.json_bytes(mint.claims(iss=ISS, aud=AUD, sub="bin")))),
        ("plain", "bin", "PAM_AUTH_ERR", "not.a.token"),
        ("plain", "bin", "PAM_AUTH_ERR", mint.ecdsa_zero(tok())),
        ("plain", "nosuchuser_pj", "PAM_USER_UNKNOWN", tok(sub="nosuchuser_pj")),
        ("map", "daemon", "PAM_SUCCESS", tok("EdDSA", sub="svc:deploy:ci")),
        ("map", "daemon", "PAM_SUCCESS", tok("RS256", sub="repo:acme/api:ref:main")),
        ("map", "bin", "PAM_SUCCESS", tok("PS256", sub="bin")),
        ("map", "daemon", "PAM_AUTH_ERR", tok("ES384", sub="svc:Deploy:ci")),
        ("cache", "bin", "PAM_SUCCESS", tok("ES512")),
        ("cache", "bin", "PAM_AUTH_ERR", tok("ES512", aud="ssh://other")),
        ("down", "bin", "PAM_AUTHINFO_UNAVAIL", tok()),
        ("replay", "bin", "ONCE", tok("EdDSA")),
    ]
    planf = write(os.path.join(tmp, "plan"), "".join("%s %s %s %s\n" % p for p in plan))
    return confdir, planf, len(plan)


def main():
    for p in (MODULE, LOOP, FETCH):
        if not os.path.exists(p):
            t.skip("valgrind loop", "%s not built" % p)
            return
    if shutil.which("valgrind") is None:
        t.skip("valgrind loop", "valgrind not installed")
        return
    if sanitized():
        t.skip("valgrind loop", "a sanitizer build (ASan and valgrind do not mix)")
        return
    confdir, planf, n = setup()
    # Without valgrind first: the plan itself is right.
    p = subprocess.run([LOOP, "--confdir", confdir, "--plan", planf, "--rounds", str(n)],
                       capture_output=True, text=True, timeout=300)
    t.comment("\n".join(l for l in p.stdout.splitlines() if l.startswith("MISMATCH "))[:2000])
    t.eq((p.returncode, p.stdout.strip().splitlines()[-1:]), (0, ["ROUNDS %d MISMATCHES 0" % n]),
         "plan of %d logins: every verdict as expected (no valgrind)" % n)
    # Memory flat after the first hundred logins (no valgrind: its own
    # allocator would hide malloc's figures).
    shutil.rmtree(os.path.join(tmp, "state"), ignore_errors=True)
    p = subprocess.run([LOOP, "--confdir", confdir, "--plan", planf, "--rounds", str(FLAT_ROUNDS)],
                       capture_output=True, text=True, timeout=600)
    mem = {int(m.group(1)): (int(m.group(2)), int(m.group(3)))
           for m in re.finditer(r"^MEM AT (\d+) HEAP (\d+) RSS (\d+)$", p.stdout, re.M)}
    t.eq((p.returncode, sorted(mem)), (0, [100, FLAT_ROUNDS]),
         "%d logins without valgrind: every verdict as expected, memory read at 100 and %d" % (FLAT_ROUNDS, FLAT_ROUNDS))
    if len(mem) == 2:
        (h0, r0), (h1, r1) = mem[100], mem[FLAT_ROUNDS]
        t.ok(h1 - h0 <= HEAP_SLACK, "heap in use flat: %d bytes at login 100, %d at %d (+%d, bound %d)"
             % (h0, h1, FLAT_ROUNDS, h1 - h0, HEAP_SLACK))
        t.ok(r1 - r0 <= RSS_SLACK, "resident size flat: %d KiB at login 100, %d at %d (+%d, bound %d)"
             % (r0, r1, FLAT_ROUNDS, r1 - r0, RSS_SLACK))
    shutil.rmtree(os.path.join(tmp, "state"), ignore_errors=True)
    shutil.rmtree(os.path.join(tmp, "cache-down"), ignore_errors=True)
    log = os.path.join(tmp, "valgrind.log")
    cmd = ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
           "--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99", "--num-callers=40",
           "--child-silent-after-fork=yes", "--log-file=" + log,
           LOOP, "--confdir", confdir, "--plan", planf, "--rounds", str(ROUNDS)]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    dt = time.monotonic() - t0
    text = open(log, errors="replace").read()
    t.comment("valgrind: %d logins in %.0f s" % (ROUNDS, dt))
    m = re.findall(r"still reachable: ([\d,]+) bytes in ([\d,]+) blocks", text)
    t.comment("valgrind: still reachable at exit (the reuse cache, libraries): %s" % (m[-1:] or "none"))
    t.eq(p.stdout.strip().splitlines()[-1:], ["ROUNDS %d MISMATCHES 0" % ROUNDS],
         "valgrind: %d logins in one process, every verdict as expected" % ROUNDS)
    errs = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
    t.eq(errs[-1:], ["0"], "valgrind: no memory error", )
    for kind in ("definitely lost", "indirectly lost", "possibly lost"):
        m = re.findall(kind + r": ([\d,]+) bytes", text)
        t.ok(m == [] or m[-1] == "0", "valgrind: %s: %s bytes" % (kind, m[-1] if m else "0"),
             "\n".join(text.splitlines()[-60:]))
    t.eq(p.returncode, 0, "valgrind: exit status 0 (no error, no leak)")
    if p.returncode != 0:
        t.comment(text[-6000:])


t.run(main, "test_valgrind main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
