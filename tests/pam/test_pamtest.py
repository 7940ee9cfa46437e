#!/usr/bin/python3
"""Runs tests/pam/test_pamtest (cmocka + libpamtest) under pam_wrapper:
mints its tokens with python3-jwcrypto, writes its PAM services into a
private PAM_WRAPPER_SERVICE_DIR, and passes its TAP output through."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PJ_TOP_BUILDDIR", os.path.join(SRC, "build"))
sys.path[:0] = [os.path.join(SRC, "tests", "mint")]
import mint  # noqa: E402

WRAPPER = "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"
for cand in ("/usr/lib/x86_64-linux-gnu/libpam_wrapper.so", "/usr/lib64/libpam_wrapper.so", "/usr/lib/libpam_wrapper.so"):
    if os.path.exists(cand):
        WRAPPER = cand
if not os.path.exists(WRAPPER):
    print("1..0 # SKIP pam_wrapper not installed")
    sys.exit(0)
if os.environ.get("PJ_SANITIZED"):
    # pam_wrapper loads modules with RTLD_DEEPBIND, which ASan refuses.
    print("1..0 # SKIP sanitizer build")
    sys.exit(0)

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
tmp = tempfile.mkdtemp(prefix="pj-pamtest-")
try:
    key = mint.gen_key("P-256", kid="e1")
    jwks = os.path.join(tmp, "jwks.json")
    mint.write_jwks(jwks, [key])
    iss, aud, now = "https://issuer.test", "ssh://host1", int(time.time())

    def tok(**kw):
        c = mint.claims(iss=iss, aud=aud, **kw)
        return mint.sign(key, "ES256", c, {"kid": "e1"})

    good = tok(sub="bin")
    env = dict(os.environ, LD_PRELOAD=WRAPPER, PAM_WRAPPER="1", PAM_WRAPPER_SERVICE_DIR=tmp,
               CMOCKA_MESSAGE_OUTPUT="TAP",
               PJ_TOK_GOOD=good, PJ_TOK_FLIPPED=mint.flip_sig_bit(good),
               PJ_TOK_EXPIRED=tok(sub="bin", exp=now - 3600, iat=now - 7200, nbf=None),
               PJ_TOK_NOUSER=tok(sub="nosuchuser_pj"))
    base = "issuer=%s audience=%s" % (iss, aud)
    services = {"pj": "%s jwks_file=%s" % (base, jwks),
                "pj_badconf": "%s jwks_file=%s leeway=601" % (base, jwks),
                "pj_nokeys": "%s jwks_file=%s/missing.json" % (base, tmp)}
    for name, args in services.items():
        with open(os.path.join(tmp, name), "w") as f:
            f.write("auth required %s %s\n" % (MODULE, args))
    p = subprocess.run([os.path.join(BUILD, "tests", "pam", "test_pamtest")], env=env,
                       capture_output=True, text=True, timeout=120)
    sys.stdout.write(p.stdout)
    for line in p.stderr.splitlines():
        print("# " + line)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0)
