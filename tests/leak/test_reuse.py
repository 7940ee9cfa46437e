#!/usr/bin/python3
"""Reuse across logins is invisible (issue 15): one process
(tests/leak/pjloop --stdin) logs in again and again while this test changes
its files in between; every change is seen at the next login. The files
are left a second old first, so that the process keeps what it parsed (a
file changed within the last second is never kept), and key sets are
swapped by exchanging folders, so the file inside keeps its times and
only its identity changes. Tokens by python3-jwcrypto. TAP output.
"""
import hashlib
import os
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
ISS = "https://issuer.reuse.test"
AUD = "ssh://host1"
DOWN = "https://127.0.0.1:1/jwks"

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-reuse-")
os.chmod(tmp, 0o755)
K = {"k1": mint.gen_key("P-256", kid="k1"), "k2": mint.gen_key("RSA2048", kid="k2"),
     "k3": mint.gen_key("Ed25519", kid="k3")}
ALG = {"k1": "ES256", "k2": "RS256", "k3": "EdDSA"}


def P(*parts):
    return os.path.join(tmp, *parts)


def tok(kid, sub="bin", aud=AUD, **kw):
    return mint.sign(K[kid], ALG[kid], mint.claims(iss=ISS, aud=aud, sub=sub, ttl=3600, **kw), {"kid": kid})


def jwks_text(kids, rename=None):
    keys = [mint.public_jwk(K[k]) for k in kids]
    if rename:
        for k in keys:
            if k["kid"] == rename[0]:
                k["kid"] = rename[1]
    return mint.json_bytes(mint.jwks(*keys))


def exchange(a, b):
    """Swap two folders by three renames: the files inside keep their
    inode times (a rename changes the folder's, not theirs)."""
    os.rename(a, a + ".x")
    os.rename(b, a)
    os.rename(a + ".x", b)


def rewrite_in_place(path, data):
    """Same inode; the caller keeps the size."""
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()


class Loop:
    def __init__(self, confdir):
        self.p = subprocess.Popen([LOOP, "--confdir", confdir, "--stdin"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def login(self, service, user, expect, token, fork=False):
        self.p.stdin.write("%s%s %s %s %s\n" % ("fork " if fork else "", service, user, expect, token))
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def close(self):
        self.p.stdin.close()
        return self.p.wait(timeout=60)


def setup():
    for d in ("cur", "alt", "cache", "cache.alt", "pam.d"):
        os.mkdir(P(d), 0o755)
    write(P("cur", "jwks.json"), jwks_text(["k1", "k2"]))
    write(P("alt", "jwks.json"), jwks_text(["k1"]))          # k2 removed
    write(P("same.json"), jwks_text(["k1", "k2"]))
    write(P("map"), "bin bin\nalice bin\n")
    write(P("main.conf"), "issuer = %s\naudience = %s\njwks_file = %s\nuser_map = %s\n"
          % (ISS, AUD, P("cur", "jwks.json"), P("map")))
    # A warm cache for a jwks_uri that is never fetched (fresh for a day).
    now = int(time.time())
    name = hashlib.blake2b(("jwks_uri=%s\n-" % DOWN).encode(), digest_size=32).hexdigest()
    for d, kids in (("cache", ["k1"]), ("cache.alt", ["k3"])):
        write(P(d, name + ".jwks"), jwks_text(kids))
        write(P(d, name + ".meta"), "kid_miss_at=%d\nfetched=%d\nfresh_until=%d\n" % (now, now, now + 86400))
    base = "issuer=%s audience=%s" % (ISS, AUD)
    stacks = {
        "main": "config=%s" % P("main.conf"),
        "same": "%s jwks_file=%s" % (base, P("same.json")),
        "cache": "%s jwks_uri=%s cache_dir=%s fetch_helper=%s%s refresh_cooldown=3600"
                 % (base, DOWN, P("cache"), FETCH, FETCH_USER),
    }
    for svc, args in stacks.items():
        write(P("pam.d", svc), "auth required %s %s\n" % (MODULE, args))
    return name


def settle():
    """Every file at least a second old: the next login keeps what it parses."""
    time.sleep(1.2)


def main():
    for p in (MODULE, LOOP):
        if not os.path.exists(p):
            t.skip("reuse", "%s not built" % p)
            return
    name = setup()
    settle()
    lp = Loop(P("pam.d"))

    def step(what, service, user, expect, token, fork=False):
        t.eq(lp.login(service, user, expect, token, fork), "OK", "%s: %s" % (what, expect))

    # A key removed from the set is refused at the next login.
    step("key set: k2 accepted", "main", "bin", "PAM_SUCCESS", tok("k2"))
    step("key set: k2 accepted again (kept set, kept key)", "main", "bin", "PAM_SUCCESS", tok("k2"))
    step("key set: a bad signature is still refused with the kept key", "main", "bin", "PAM_AUTH_ERR",
         mint.flip_sig_bit(tok("k2"), 9))
    exchange(P("cur"), P("alt"))
    step("key set: k2 removed (another file, same times) -> refused", "main", "bin", "PAM_AUTH_ERR", tok("k2"))
    step("key set: k1 still accepted", "main", "bin", "PAM_SUCCESS", tok("k1"))
    exchange(P("cur"), P("alt"))
    settle()
    step("key set: k2 back", "main", "bin", "PAM_SUCCESS", tok("k2"))
    # A child after fork forgets what it inherited, and judges the same.
    step("fork: a child logs in with k2", "main", "bin", "PAM_SUCCESS", tok("k2"), fork=True)
    exchange(P("cur"), P("alt"))
    step("fork: k2 removed -> a child refuses it", "main", "bin", "PAM_AUTH_ERR", tok("k2"), fork=True)
    step("fork: ... and so does the parent", "main", "bin", "PAM_AUTH_ERR", tok("k2"))
    exchange(P("cur"), P("alt"))
    step("fork: k2 back, in the parent", "main", "bin", "PAM_SUCCESS", tok("k2"))

    # The configuration edited between two logins: the next one uses it.
    step("config: audience ssh://host1", "main", "bin", "PAM_SUCCESS", tok("k1"))
    conf = open(P("main.conf"), "rb").read()
    rewrite_in_place(P("main.conf"), conf.replace(b"ssh://host1", b"ssh://host2"))
    step("config: edited in place (same size) to ssh://host2 -> the old audience refused",
         "main", "bin", "PAM_AUTH_ERR", tok("k1"))
    step("config: ... and the new one accepted", "main", "bin", "PAM_SUCCESS", tok("k1", aud="ssh://host2"))
    rewrite_in_place(P("main.conf"), conf)
    settle()
    step("config: back to ssh://host1", "main", "bin", "PAM_SUCCESS", tok("k1"))

    # The user map edited between two logins.
    step("user_map: alice -> bin", "main", "bin", "PAM_SUCCESS", tok("k1", sub="alice"))
    rewrite_in_place(P("map"), b"bin bin\nalice daemon\n")
    step("user_map: edited to alice -> daemon: bin refused", "main", "bin", "PAM_AUTH_ERR", tok("k1", sub="alice"))
    step("user_map: ... daemon accepted", "main", "daemon", "PAM_SUCCESS", tok("k1", sub="alice"))
    rewrite_in_place(P("map"), b"bin bin\nalice bin\n")
    settle()

    # Trust checks run at every login, also on a kept configuration.
    for what, path, mode in (("the config file", P("main.conf"), 0o664), ("the user_map", P("map"), 0o664),
                             ("the jwks_file", P("cur", "jwks.json"), 0o664),
                             ("the jwks_file's folder", P("cur"), 0o775)):
        step("trust: control before %s changes mode" % what, "main", "bin", "PAM_SUCCESS", tok("k1", sub="alice"))
        os.chmod(path, mode)
        step("trust: %s made group-writable -> the next login fails" % what, "main", "bin",
             "PAM_SERVICE_ERR", tok("k1", sub="alice"))
        os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)
        step("trust: %s back to its mode -> accepted" % what, "main", "bin", "PAM_SUCCESS", tok("k1", sub="alice"))
        settle()

    # A same-size rewrite within one second (one timestamp tick) is seen.
    step("same second: control (a kept file)", "same", "bin", "PAM_SUCCESS", tok("k1"))
    for i in range(3):
        rewrite_in_place(P("same.json"), jwks_text(["k1", "k2"], rename=("k1", "kX")))
        step("same second %d: k1 renamed kX in place, same size -> refused" % i, "same", "bin",
             "PAM_AUTH_ERR", tok("k1"))
        rewrite_in_place(P("same.json"), jwks_text(["k1", "k2"]))
        step("same second %d: rewritten back within the second -> accepted" % i, "same", "bin",
             "PAM_SUCCESS", tok("k1"))

    # The cache replaced by a refresh (a new file renamed in) is read at the next login.
    step("cache: k1 from the warm cache", "cache", "bin", "PAM_SUCCESS", tok("k1"))
    step("cache: k1 again (kept)", "cache", "bin", "PAM_SUCCESS", tok("k1"))
    write(P("cache", name + ".jwks"), jwks_text(["k1", "k3"]))   # a new inode, as a fetch writes it
    step("cache: refreshed .jwks (new inode) -> k3 accepted at the next login", "cache", "bin",
         "PAM_SUCCESS", tok("k3"))
    settle()
    step("cache: k3 again (kept)", "cache", "bin", "PAM_SUCCESS", tok("k3"))
    exchange(P("cache"), P("cache.alt"))
    step("cache: another .jwks with the same times (k3 only) -> k1 refused", "cache", "bin",
         "PAM_AUTH_ERR", tok("k1"))
    step("cache: ... k3 accepted", "cache", "bin", "PAM_SUCCESS", tok("k3"))
    t.eq(lp.close(), 0, "pjloop --stdin exits 0")


t.run(main, "test_reuse main")
if t.failed == 0:
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
