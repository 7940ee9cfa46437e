#!/usr/bin/python3
"""8 threads share the reuse cache (issue 15): 10,000 logins in one process
(tests/leak/pjloop --threads 8) through three configurations (arguments
with a jwks_file, a config= file with a user_map, a warm jwks_uri cache),
while a ninth thread keeps exchanging the folder that holds the key sets
(two sets, each with every key the tokens use but not the same file), so
that entries are replaced while logins use them. Every verdict as
expected. Built with --enable-sanitizers (ASan, UBSan) or
--enable-sanitizers=thread (TSan), a report fails the run; scripts/quickstart
runs this test alone in a TSan build. Tokens by python3-jwcrypto. TAP.
"""
import hashlib
import os
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
from files import trusted_copy, write  # noqa: E402
from tap import Tap  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
LOOP = os.path.join(BUILD, "tests", "leak", "pjloop")
FETCH = trusted_copy(os.path.join(BUILD, "src", "pam_jwt_fetch"))
FETCH_USER = " fetch_user=nobody" if os.geteuid() == 0 else ""
ROUNDS = int(os.environ.get("PJ_THREADS_ROUNDS", "10000"))
THREADS = 8
ISS = "https://issuer.threads.test"
AUD = "ssh://host1"
DOWN = "https://127.0.0.1:1/jwks"

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-threads-")
os.chmod(tmp, 0o755)


def P(*parts):
    return os.path.join(tmp, *parts)


def setup():
    now = int(time.time())
    k = {"r": mint.gen_key("RSA2048", kid="r"), "p": mint.gen_key("P-256", kid="p"),
         "e": mint.gen_key("Ed25519", kid="e"), "x": mint.gen_key("P-384", kid="x")}
    name = hashlib.blake2b(("jwks_uri=%s\n-" % DOWN).encode(), digest_size=32).hexdigest()
    # Two sets with the tokens' keys, in other files (other order, one more key).
    for d, kids in (("a", ["r", "p", "e", "x"]), ("b", ["e", "p", "r"])):
        os.makedirs(P(d, "cache"), 0o755)
        os.chmod(P(d), 0o755)
        mint.write_jwks(P(d, "jwks.json"), [k[i] for i in kids])
        shutil.copy(P(d, "jwks.json"), P(d, "cache", name + ".jwks"))
        os.chmod(P(d, "cache", name + ".jwks"), 0o644)
        # Fresh for a day; a kid miss within the cooldown fetches nothing.
        write(P(d, "cache", name + ".meta"), "kid_miss_at=%d\nfetched=%d\nfresh_until=%d\n" % (now, now, now + 86400))
    write(P("map"), "~svc:([a-z]+):ci daemon\nbin bin\n")
    write(P("mapped.conf"), "issuer = %s\naudience = %s\njwks_file = %s\nuser_map = %s\n"
          % (ISS, AUD, P("a", "jwks.json"), P("map")))
    base = "issuer=%s audience=%s algorithms=RS256,ES256,EdDSA" % (ISS, AUD)
    os.mkdir(P("pam.d"))
    for svc, args in (("plain", "%s jwks_file=%s" % (base, P("a", "jwks.json"))),
                      ("mapped", "config=%s algorithms=RS256,ES256,EdDSA" % P("mapped.conf")),
                      ("cache", "%s jwks_uri=%s cache_dir=%s fetch_helper=%s%s "
                                "refresh_cooldown=86400" % (base, DOWN, P("a", "cache"), FETCH, FETCH_USER))):
        write(P("pam.d", svc), "auth required %s %s\n" % (MODULE, args))

    def tok(kid, alg, sub="bin", header=None, **kw):
        h = {"kid": kid}
        h.update(header or {})
        kw.setdefault("aud", AUD)
        return mint.sign(k[kid], alg, mint.claims(iss=ISS, sub=sub, ttl=3600, **kw), h)

    plan = []
    for svc in ("plain", "mapped", "cache"):
        for kid, alg in (("r", "RS256"), ("p", "ES256"), ("e", "EdDSA")):
            good = tok(kid, alg)
            plan.append((svc, "bin", "PAM_SUCCESS", good))
            plan.append((svc, "bin", "PAM_AUTH_ERR", mint.flip_sig_bit(good, 9)))
            plan.append((svc, "daemon", "PAM_AUTH_ERR", good))
        plan.append((svc, "bin", "PAM_AUTH_ERR", tok("p", "ES256", aud="ssh://other")))
        plan.append((svc, "bin", "PAM_AUTH_ERR", tok("x", "ES384")))          # not allowed, and x only in one set
        plan.append((svc, "bin", "PAM_AUTH_ERR", tok("p", "ES256", header={"kid": "gone"})))
    plan.append(("mapped", "daemon", "PAM_SUCCESS", tok("e", "EdDSA", sub="svc:deploy:ci")))
    plan.append(("mapped", "bin", "PAM_AUTH_ERR", tok("e", "EdDSA", sub="svc:deploy:ci")))
    planf = write(P("plan"), "".join("%s %s %s %s\n" % p for p in plan))
    return planf, len(plan)


def main():
    for p in (MODULE, LOOP):
        if not os.path.exists(p):
            t.skip("threads", "%s not built" % p)
            return
    planf, n = setup()
    # Every file a second old: kept from the first logins on.
    time.sleep(1.2)
    env = dict(os.environ)
    env.setdefault("TSAN_OPTIONS", "halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions="
                   + os.path.join(SRC, "tests", "leak", "tsan.supp"))
    cmd = [LOOP, "--confdir", P("pam.d"), "--plan", planf, "--rounds", str(ROUNDS),
           "--threads", str(THREADS), "--swap", P("a"), P("b"), "--swap-ms", "5"]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    t.comment("%d logins in %d threads (%d plan lines) in %.1f s" % (ROUNDS, THREADS, n, time.monotonic() - t0))
    out = p.stdout.strip().splitlines()
    t.eq(out[-1:], ["ROUNDS %d MISMATCHES 0" % ROUNDS], "%d logins in %d threads: every verdict as expected"
         % (ROUNDS, THREADS))
    swaps = [int(line.split()[1]) for line in out if line.startswith("SWAPS ")]
    t.ok(swaps and swaps[0] >= 2, "the key set folders were exchanged while the threads ran (%s times)"
         % (swaps[0] if swaps else "no"))
    reports = [line for line in p.stderr.splitlines() if "Sanitizer" in line or "runtime error" in line]
    t.eq(reports[:5], [], "no sanitizer report")
    t.eq(p.returncode, 0, "exit status 0")
    if p.returncode != 0:
        t.comment((p.stdout + p.stderr)[-6000:])


t.run(main, "test_threads main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
