#!/usr/bin/python3
"""Keys from the issuer (pam_jwt(8), KEYS) and the jti replay store
(section 3, step 9), through the real libpam (tests/pam/pjdrive) and
src/pam_jwt_check, against the HTTPS test issuer (tests/issuer), asserted
with the issuer's request counts.  Tokens by python3-jwcrypto (tests/mint).
TAP output.  Environment: PJ_TOP_SRCDIR, PJ_TOP_BUILDDIR (set by make check).
"""
import collections
import concurrent.futures
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-keys"
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib", "issuer")]
import control  # noqa: E402
import mint  # noqa: E402
from files import slurp, write, trusted_copy  # noqa: E402
from tap import Tap  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
CHECK = os.path.join(BUILD, "src", "pam_jwt_check")
FETCH = trusted_copy(os.path.join(BUILD, "src", "pam_jwt_fetch"))
AUD = "ssh://host1"
DISC = "/.well-known/openid-configuration"
NOBODY = 65534
ROOT = os.geteuid() == 0
TIMEOUT = 2                 # http_timeout= where a login has to wait

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-keys-")
os.chmod(tmp, 0o755)        # fetch_user and the non-root reader walk through it
H = None                    # the issuer
KEYS = {}
FETCH_USER = None
_n = [0]


# ---------------------------------------------------------------- helpers

def newdir(name):
    _n[0] += 1
    return os.path.join(tmp, "%s-%d" % (name, _n[0]))


def args(cache, source="uri", state=None, **over):
    """Module arguments / pam_jwt_check options."""
    d = {"issuer": H.url, "audience": AUD, "ca_file": H.ca, "cache_dir": cache,
         "state_dir": state or os.path.join(tmp, "state-unused"), "fetch_helper": FETCH,
         "http_timeout": TIMEOUT}
    if source == "uri":
        d["jwks_uri"] = H.url + "/jwks"
    elif source != "disc":
        d["jwks_uri"] = source
    if FETCH_USER:
        d["fetch_user"] = FETCH_USER
    d.update(over)
    return ["%s=%s" % (k, v) if v is not True else k for k, v in d.items() if v is not None]


def token(kid="ec-p256", iss=None, key=None, **claims):
    alg = {"ec-p256": "ES256", "rsa-2048": "RS256"}.get(kid, "ES256")
    k = key or KEYS.get(kid) or KEYS["ec-p256"]
    return mint.sign(k, alg, mint.claims(iss=iss or H.url, aud=AUD, sub="bin", **claims), {"kid": kid})


def drive(a, tok, rounds=1, parallel=0, user="bin", timeout=300):
    """Logins through libpam; returns (Counter of PAM results, seconds)."""
    confdir = tempfile.mkdtemp(dir=tmp)
    write(os.path.join(confdir, "pjtest"), "auth required %s %s\n" % (MODULE, " ".join(a)))
    ans = write(os.path.join(confdir, "answers"), tok + "\n")
    cmd = [DRIVE, "--confdir", confdir, "--service", "pjtest", "--user", user, "--answers", ans]
    if rounds > 1:
        cmd += ["--rounds", str(rounds)]
    if parallel:
        cmd += ["--parallel", str(parallel)]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    dt = time.monotonic() - t0
    c = collections.Counter()
    for line in p.stdout.splitlines():
        w = line.split()
        if w and w[0] == "RESULT":
            c[w[1]] += 1
        elif w and w[0] == "COUNT":
            c[w[1]] += int(w[2])
    shutil.rmtree(confdir, ignore_errors=True)
    return c, dt


def login(a, tok):
    """One login: (PAM result, seconds)."""
    c, dt = drive(a, tok)
    return (list(c)[0] if len(c) == 1 else repr(c)), dt


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def check(a, tok="", extra=(), nobody=False, timeout=60):
    """pam_jwt_check --json: (exit, reason, stderr)."""
    p = subprocess.run([CHECK] + list(extra) + a + ["--json"], input=tok, capture_output=True,
                       text=True, timeout=timeout, preexec_fn=as_nobody if nobody else None)
    try:
        reason = json.loads(p.stdout)["reason"]
    except ValueError:
        reason = None
    return p.returncode, reason, p.stderr


def refresh(a, nobody=False):
    p = subprocess.run([CHECK, "--refresh"] + a, capture_output=True, text=True, timeout=60,
                       preexec_fn=as_nobody if nobody else None)
    return p.returncode, p.stderr


def files(cache, source="uri", issuer=None):
    """The cache files: BLAKE2b-256 of the source, a newline, the CA path."""
    if source == "uri":
        s = "jwks_uri=" + H.url + "/jwks"
    elif source == "disc":
        s = "issuer=" + (issuer or H.url)
    else:
        s = "jwks_uri=" + source
    h = hashlib.blake2b((s + "\n" + H.ca).encode(), digest_size=32).hexdigest()
    return {e: os.path.join(cache, h + "." + e) for e in ("jwks", "meta", "lock")}


def read_meta(path):
    m = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            m[k] = int(v) if v.isdigit() else v
    return m


def write_meta(path, m):
    write(path, "".join("%s=%s\n" % kv for kv in m.items()))


def age(f, fresh_until_ago=100, keep=("kid_miss_at", "jwks_uri")):
    """Make the cached set expired fresh_until_ago seconds ago (as if
    fetched then: an attempt with its outcome, so no failure cooldown)."""
    now = int(time.time())
    old = read_meta(f["meta"]) if os.path.exists(f["meta"]) else {}
    m = {"attempt_at": now - fresh_until_ago - 300, "attempt_cause": "empty",
         "fetched": now - fresh_until_ago - 300, "max_age": 300, "jitter": 0,
         "fresh_until": now - fresh_until_ago}
    for k in keep:
        if k in old:
            m[k] = old[k]
    write_meta(f["meta"], m)


def seed(f, fresh_until_ago=100):
    """A good cache written from outside: the issuer's document, 0644."""
    os.makedirs(os.path.dirname(f["jwks"]), exist_ok=True)
    write(f["jwks"], control.jwks(H))
    age(f, fresh_until_ago)


def counts():
    c = control.counts(H)
    return c["/jwks"], c[DISC]


def reset():
    control.reset_counts(H)


def mode(m, target="jwks", **kw):
    control.set_mode(H, m, target=target, **kw)


def normal():
    control.set_mode(H, "normal", target="all")


def helpers(marker):
    """pids of running pam_jwt_fetch processes whose URL holds marker."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = slurp("/proc/%s/cmdline" % pid).split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"pam_jwt_fetch") and any(marker.encode() in c for c in cmd):
            out.append(int(pid))
    return out


def wait_for_helper(marker, secs=5):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        h = helpers(marker)
        if h:
            return h[0]
        time.sleep(0.01)
    return None


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def reachable_by_nobody(path):
    """Every folder on the way searchable by others, the file executable."""
    p = os.path.abspath(path)
    while True:
        st = os.stat(p)
        if not st.st_mode & stat.S_IXOTH:
            return False
        if p == "/":
            return True
        p = os.path.dirname(p)


def proc_status(pid):
    d = {}
    for line in slurp("/proc/%d/status" % pid).decode().splitlines():
        k, _, v = line.partition(":")
        d[k] = v.split()
    return d


# ---------------------------------------------------------------- tests

def t_link():
    for path in (MODULE, CHECK):
        out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        t.eq("libcurl" in out, False, "ldd %s: no libcurl" % os.path.basename(path))
    und = subprocess.run(["nm", "-D", "--undefined-only", MODULE], capture_output=True, text=True).stdout
    t.eq([l for l in und.splitlines() if "curl" in l], [], "pam_jwt.so: no curl symbol")


def t_first_fetch_and_fresh():
    cache = newdir("cache")
    a = args(cache)
    f = files(cache)
    reset()
    r, _ = login(a, token())
    t.eq(r, "PAM_SUCCESS", "empty cache: login fetches and succeeds")
    t.eq(counts(), (1, 0), "empty cache: exactly 1 JWKS request")
    t.eq(stat.S_IMODE(os.stat(cache).st_mode), 0o755, "cache_dir created 0755")
    t.eq([stat.S_IMODE(os.lstat(f[e]).st_mode) for e in ("jwks", "meta", "lock")], [0o644, 0o644, 0o600],
         ".jwks 0644, .meta 0644, .lock 0600, named by BLAKE2b-256 of jwks_uri= and the CA path")
    t.eq(slurp(f["jwks"]), control.jwks(H), ".jwks holds the document exactly as fetched")
    m = read_meta(f["meta"])
    t.ok(m.get("attempt_cause") == "empty" and m.get("fetched") == m.get("attempt_at")
         and m.get("max_age") == 300 and 0 <= m.get("jitter", -1) <= 99999
         and m.get("fresh_until") == m.get("fetched") + 300 - 300 * m.get("jitter", 0) // 10**6
         and "failed_at" not in m,
         ".meta: attempt_at, attempt_cause=empty, fetched, max_age=300, jitter, "
         "fresh_until = fetched + 300 - 300 * jitter / 10^6", m)
    reset()
    c, dt = drive(a, token(), rounds=1000)
    t.eq(dict(c), {"PAM_SUCCESS": 1000}, "1000 logins with a fresh cache succeed")
    t.eq(counts(), (0, 0), "1000 logins with a fresh cache: 0 requests")
    t.comment("1000 logins in one pjdrive: %.2f s" % dt)
    age(f)
    reset()
    c, dt = drive(a, token(), parallel=50)
    t.eq(dict(c), {"PAM_SUCCESS": 50}, "50 concurrent logins with an expired cache succeed")
    t.eq(counts(), (1, 0), "50 concurrent logins with an expired cache: exactly 1 JWKS request")
    t.eq(read_meta(f["meta"]).get("attempt_cause"), "expired", ".meta: attempt_cause=expired")
    t.comment("50 concurrent logins: %.2f s" % dt)
    return cache


def t_kid_miss(cache):
    # One cooldown must span the whole storm, however slow the build (a
    # sanitizer build takes about a minute for 500 checks).
    a = args(cache, refresh_cooldown=3600)
    reset()
    toks = [token(kid="forged-%s" % mint.b64url(os.urandom(9))) for _ in range(500)]
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        res = list(ex.map(lambda tk: check(a, tk)[:2], toks))
    dt = time.monotonic() - t0
    t.eq(collections.Counter(res), collections.Counter({(1, "unknown_kid"): 500}),
         "500 tokens with random unknown kids: unknown_kid")
    n = counts()
    t.ok(n[0] <= 1 and n[1] == 0, "500 unknown kids inside one cooldown: at most 1 request", n)
    t.comment("500 forged kids: %d request(s), %.2f s" % (n[0], dt))
    r, _ = login(a, token())
    t.eq(r, "PAM_SUCCESS", "known kid still accepted after the forged ones")

    # A kid miss right after filling an empty cache does not fetch again.
    c2 = newdir("cache")
    reset()
    r, _ = login(args(c2), token(kid="nosuchkid"))
    t.eq((r, counts()), ("PAM_AUTH_ERR", (1, 0)), "unknown kid on an empty cache: one fetch, no second")

    # The kid-miss cooldown runs out.
    c3 = newdir("cache")
    a3 = args(c3, refresh_cooldown=2)
    login(a3, token())
    reset()
    rc1 = check(a3, token(kid="miss-1"))[:2]
    n1 = counts()[0]
    rc2 = check(a3, token(kid="miss-2"))[:2]
    n2 = counts()[0]
    time.sleep(2.2)
    rc3 = check(a3, token(kid="miss-3"))[:2]
    n3 = counts()[0]
    t.eq((rc1, rc2, rc3), ((1, "unknown_kid"),) * 3, "kid misses: unknown_kid")
    t.eq((n1, n2, n3), (1, 1, 2), "kid miss fetches once, not again within refresh_cooldown, again after it")
    t.eq(read_meta(files(c3)["meta"]).get("attempt_cause"), "kid_miss", ".meta: attempt_cause=kid_miss, kid_miss_at")


def t_rotation():
    cache = newdir("cache")
    a = args(cache)
    control.rotate(H, add=[{"type": "p256", "kid": "rot-a"}])
    KEYS["rot-a"] = mint.load_key(control.key_file(H, "rot-a"))
    reset()
    r, _ = login(a, token("rot-a"))
    t.eq((r, counts()[0]), ("PAM_SUCCESS", 1), "rotation: key A accepted (cache filled)")
    control.rotate(H, add=[{"type": "p256", "kid": "rot-b"}])
    KEYS["rot-b"] = mint.load_key(control.key_file(H, "rot-b"))
    reset()
    r, _ = login(a, token("rot-a"))
    t.eq((r, counts()[0]), ("PAM_SUCCESS", 0), "rotation: B added, A still accepted, no request")
    r, _ = login(a, token("rot-b"))
    t.eq((r, counts()[0]), ("PAM_SUCCESS", 1), "rotation: B accepted after exactly one request")
    r, _ = login(a, token("rot-b"))
    t.eq((r, counts()[0]), ("PAM_SUCCESS", 1), "rotation: B accepted again, no new request")
    control.rotate(H, drop=["rot-a"])
    reset()
    r, _ = login(a, token("rot-a"))
    t.eq((r, counts()[0]), ("PAM_SUCCESS", 0), "rotation: A dropped, still cached and fresh: accepted")
    age(files(cache))
    r, _ = login(a, token("rot-a"))
    t.eq((r, counts()[0]), ("PAM_AUTH_ERR", 1), "rotation: A refused once dropped and the cache refreshed (one request)")
    rc = check(a, token("rot-a"))[:2]
    t.eq((rc, counts()[0]), ((1, "unknown_kid"), 1), "rotation: A is unknown_kid, no further request")
    r, _ = login(a, token("rot-b"))
    t.eq(r, "PAM_SUCCESS", "rotation: B still accepted")
    control.rotate(H, drop=["rot-b"])


def failure_cases():
    """(name, source for args(), set-up, expected JWKS and discovery requests)."""
    down = "https://127.0.0.1:%d/jwks" % closed_port()
    wrong = H.url_wrongcert + "/jwks"
    return [
        ("issuer down", down, normal, (0, 0)),
        ("HTTP 500", "uri", lambda: mode("status", status=500), (1, 0)),
        ("hanging", "uri", lambda: mode("hang"), (1, 0)),
        ("trickling", "uri", lambda: mode("trickle"), (1, 0)),
        ("oversized (Content-Length)", "uri", lambda: mode("oversized"), (1, 0)),
        ("oversized (chunked)", "uri", lambda: mode("oversized_stream"), (1, 0)),
        ("malformed JSON", "uri", lambda: mode("malformed"), (1, 0)),
        ("HTML page", "uri", lambda: mode("body", body="<html>hi</html>", content_type="text/html"), (1, 0)),
        ("JWKS without a usable key", "uri",
         lambda: mode("body", body='{"keys": [{"kty": "oct", "k": "AAAA"}]}'), (1, 0)),
        ("duplicate member names", "uri",
         lambda: mode("body", body='{"keys": [], "keys": []}'), (1, 0)),
        ("redirect (never followed)", "uri", lambda: mode("redirect"), (1, 0)),
        ("wrong certificate", wrong, normal, (0, 0)),
        ("discovery issuer mismatch", "disc", lambda: mode("issuer_mismatch", target="discovery"), (0, 1)),
        ("discovery http jwks_uri", "disc", lambda: mode("http_jwks_uri", target="discovery"), (0, 1)),
        ("discovery 404", "disc", lambda: mode("status", target="discovery", status=404), (0, 1)),
    ]


def t_failures():
    for name, src, setup, want in failure_cases():
        # An old cache keeps serving within stale_max.
        cache = newdir("cache")
        f = files(cache, src)
        a = args(cache, src)
        normal()
        seed(f)
        before = slurp(f["jwks"])
        setup()
        reset()
        r, dt = login(a, token())
        n = counts()
        normal()
        t.eq(r, "PAM_SUCCESS", "%s: stale cache serves within stale_max" % name)
        t.eq(n, want, "%s: one attempt (requests %r)" % (name, want))
        t.ok(dt <= TIMEOUT + 1, "%s: login took %.2f s <= http_timeout + 1" % (name, dt))
        t.ok(slurp(f["jwks"]) == before, "%s: .jwks byte-identical afterwards" % name)
        m = read_meta(f["meta"])
        t.ok("failed_at" in m and m["fresh_until"] < time.time(), "%s: .meta records failed_at" % name, m)
        # No cache at all.
        cache = newdir("cache")
        f = files(cache, src)
        a = args(cache, src)
        setup()
        reset()
        r, dt = login(a, token())
        normal()
        t.eq(r, "PAM_AUTHINFO_UNAVAIL", "%s: no cache -> PAM_AUTHINFO_UNAVAIL" % name)
        t.ok(dt <= TIMEOUT + 1, "%s: no cache: login took %.2f s <= http_timeout + 1" % (name, dt))
        t.eq(os.path.exists(f["jwks"]), False, "%s: no .jwks written" % name)
    # Past stale_max, the old cache is not used.
    cache = newdir("cache")
    f = files(cache)
    seed(f, fresh_until_ago=1000)
    mode("status", status=500)
    r, _ = login(args(cache, stale_max=500), token())
    normal()
    t.eq(r, "PAM_AUTHINFO_UNAVAIL", "cache past stale_max and the fetch fails -> PAM_AUTHINFO_UNAVAIL")
    t.eq(check(args(cache, stale_max=500), token())[:2], (3, "keys_unavailable"),
         "pam_jwt_check: keys_unavailable, exit 3")
    t.eq(counts()[0], 1, "... and the second try is within the cooldown: no request")


def t_down_many():
    cache = newdir("cache")
    a = args(cache, refresh_cooldown=4)
    mode("status", status=500)
    reset()
    c, dt = drive(a, token(), parallel=10, rounds=10)
    t.eq(dict(c), {"PAM_AUTHINFO_UNAVAIL": 100}, "100 logins against a failing issuer: PAM_AUTHINFO_UNAVAIL")
    # Times are whole seconds: a 4 s cooldown lasts at least 3.
    t.ok(counts()[0] == 1 or dt > 3, "100 logins against a failing issuer: 1 request in the cooldown (%.2f s)" % dt,
         counts())
    time.sleep(4.2)
    reset()
    c, dt = drive(a, token(), parallel=10, rounds=10)
    t.eq((dict(c), counts()[0]), ({"PAM_AUTHINFO_UNAVAIL": 100}, 1), "after the cooldown: 100 more, exactly 1 more request")
    # Hanging: one fetch, the others wait for the lock until their own deadline.
    cache = newdir("cache")
    mode("hang")
    reset()
    c, dt = drive(args(cache), token(), parallel=20)
    normal()
    t.eq(dict(c), {"PAM_AUTHINFO_UNAVAIL": 20}, "20 concurrent logins, issuer hanging: PAM_AUTHINFO_UNAVAIL")
    t.eq(counts()[0], 1, "20 concurrent logins, issuer hanging: 1 request")
    t.ok(dt <= TIMEOUT + 1.5, "20 concurrent logins, issuer hanging: all done in %.2f s" % dt)
    m = read_meta(files(cache)["meta"])
    t.ok("failed_at" in m and "fetched" not in m, "only the fetching login recorded an outcome", m)


def t_killed_login():
    """A login killed mid-fetch: its helper dies with it, its attempt counts as failed."""
    cache = newdir("cache")
    src = H.url + "/jwks?killed"
    a = args(cache, src, http_timeout=10)
    mode("hang")
    reset()
    p = subprocess.Popen([CHECK] + a, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.stdin.write(token().encode())
    p.stdin.close()
    pid = wait_for_helper("?killed")
    t.ok(pid is not None, "killed login: helper running")
    p.kill()
    p.wait()
    gone = False
    end = time.monotonic() + 3
    while time.monotonic() < end:
        if pid is None or not os.path.exists("/proc/%d" % pid) or \
                proc_status(pid).get("State", ["?"])[0] == "Z":
            gone = True
            break
        time.sleep(0.02)
    t.ok(gone, "killed login: the helper died with it (PR_SET_PDEATHSIG)")
    normal()
    m = read_meta(files(cache, src)["meta"])
    t.ok("attempt_at" in m and "failed_at" not in m and "fetched" not in m,
         "killed login: .meta holds the attempt, no outcome", m)
    reset()
    r, _ = login(a, token())
    t.eq((r, counts()[0]), ("PAM_AUTHINFO_UNAVAIL", 0), "an attempt with no outcome counts as failed: no fetch in the cooldown")
    # .meta that cannot be written: no fetch at all.
    cache = newdir("cache")
    f = files(cache)
    os.makedirs(f["meta"])
    reset()
    r, _ = login(args(cache), token())
    t.eq((r, counts()[0]), ("PAM_AUTHINFO_UNAVAIL", 0), ".meta cannot be written: no fetch (the rate bound never fails open)")


def t_helper_identity():
    if ROOT and FETCH_USER is None:
        t.skip("helper identity", "no fetch_user")
        return
    cache = newdir("cache")
    src = H.url + "/jwks?ident"
    a = args(cache, src, http_timeout=10)
    mode("hang")
    # A descriptor the host leaves open without O_CLOEXEC: it must not reach the helper.
    marker = os.path.join(tmp, "host-fd-marker")
    mfd = os.open(write(marker, "x"), os.O_RDONLY)
    p = subprocess.Popen([CHECK] + a, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={"PJ_SECRET_ENV": "x", "PATH": "/usr/bin"}, pass_fds=(mfd,))
    os.close(mfd)
    p.stdin.write(token().encode())
    p.stdin.close()
    pid = wait_for_helper("?ident")
    try:
        t.ok(pid is not None, "helper running during a hanging fetch")
        if pid is None:
            return
        want = NOBODY if ROOT else os.geteuid()
        st = None
        end = time.monotonic() + 3
        while time.monotonic() < end:
            st = proc_status(pid)
            if st["Uid"] == [str(want)] * 4 and os.stat("/proc/%d/status" % pid).st_uid == 0:
                break
            time.sleep(0.02)
        t.eq(st["Uid"], [str(want)] * 4, "helper runs as fetch_user (%s): real, effective, saved, fs uid" %
             ("nobody" if ROOT else "the current user"))
        if ROOT:
            t.eq((st["Gid"], st["Groups"]), ([str(NOBODY)] * 4, [str(NOBODY)]),
                 "helper: fetch_user's group only, no supplementary group of the host")
        # /proc/PID/* of a non-dumpable process belong to root, whoever runs it.
        t.eq(os.stat("/proc/%d/status" % pid).st_uid, 0, "helper is non-dumpable (/proc/PID/status owned by root)")
        t.eq(st.get("NoNewPrivs"), ["1"], "helper runs with no_new_privs")
        t.eq(int(st["PPid"][0]), p.pid, "helper is a child of the login process")
        try:
            fds = {fd: os.readlink("/proc/%d/fd/%s" % (pid, fd)) for fd in os.listdir("/proc/%d/fd" % pid)}
            t.eq([fds.get(str(i), "").split(":")[0] for i in range(3)], ["pipe"] * 3,
                 "helper: stdin, stdout, stderr are pipes")
            # Beyond 0-2, only what the helper opened itself: libcurl's
            # sockets and eventfds, and OpenSSL reading its own config file.
            own = ("socket:", "anon_inode:", "/etc/ssl/", "/usr/lib/ssl/")
            host = [v for k, v in fds.items() if int(k) > 2 and not v.startswith(own)]
            t.eq(host, [], "helper: no descriptor of the host crossed (the marker fd was closed)")
            t.eq(slurp("/proc/%d/environ" % pid), b"", "helper: empty environment")
        except PermissionError:
            t.skip("helper descriptors and environment", "no CAP_SYS_PTRACE to look into a non-dumpable process")
    finally:
        normal()
        p.wait(30)


def t_untrusted():
    cache = newdir("cache")
    a = args(cache)
    f = files(cache)
    login(a, token())
    good = control.jwks(H)
    elsewhere = write(os.path.join(tmp, "copy.jwks"), good)
    meta_ok = slurp(f["meta"])

    def symlink(p):
        os.unlink(p)
        os.symlink(elsewhere if p.endswith(".jwks") else write(os.path.join(tmp, "copy.meta"), meta_ok), p)

    cases = [
        ("jwks", "group-writable", lambda p: os.chmod(p, 0o664), False),
        ("jwks", "owned by another user", lambda p: os.chown(p, NOBODY, NOBODY), True),
        ("jwks", "a symlink", symlink, False),
        ("jwks", "truncated", lambda p: write(p, good[:len(good) // 2]), False),
        ("jwks", "garbage", lambda p: write(p, os.urandom(300)), False),
        ("jwks", "a JWKS with no usable key", lambda p: write(p, '{"keys": []}'), False),
        ("meta", "group-writable", lambda p: os.chmod(p, 0o664), False),
        ("meta", "owned by another user", lambda p: os.chown(p, NOBODY, NOBODY), True),
        ("meta", "a symlink", symlink, False),
        ("meta", "truncated", lambda p: write(p, meta_ok[:len(meta_ok) - 3]), False),
        ("meta", "garbage", lambda p: write(p, os.urandom(200)), False),
        ("meta", "empty", lambda p: write(p, b""), False),
        ("lock", "readable by others", lambda p: os.chmod(p, 0o644), False),
        ("lock", "owned by another user", lambda p: os.chown(p, NOBODY, NOBODY), True),
        ("lock", "a symlink", lambda p: (os.unlink(p), os.symlink(elsewhere, p)), False),
    ]
    for which, how, tamper, needs_root in cases:
        if needs_root and not ROOT:
            t.skip(".%s %s" % (which, how), "needs root")
            continue
        if which == "lock":
            age(f)      # a fetch is needed for the lock to be taken
        tamper(f[which])
        reset()
        rc, reason, err = check(a, token())
        t.eq((rc, reason), (0, "ok"), ".%s %s: accepted with keys from a good fetch" % (which, how))
        t.eq(counts()[0], 1, ".%s %s: exactly 1 request (the file was not trusted)" % (which, how))
        t.ok(("not trusted" in err) and (f[which] in err), ".%s %s: reported" % (which, how), err)
        st = os.lstat(f[which])
        t.ok(stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and
             stat.S_IMODE(st.st_mode) == (0o600 if which == "lock" else 0o644),
             ".%s %s: replaced by a good file" % (which, how), oct(st.st_mode))
        t.eq((slurp(f["jwks"]), read_meta(f["meta"]).get("attempt_cause") in ("empty", "expired")),
             (good, True), ".%s %s: the cache is good again" % (which, how))


def t_reader():
    """Who cannot write cache_dir reads the cache and never fetches."""
    if not ROOT:
        t.skip("non-root reader", "needs root to switch to nobody")
        return
    cache = newdir("cache")
    a = args(cache)
    f = files(cache)
    login(a, token())
    reset()
    t.eq(check(a, token(), nobody=True)[:2], (0, "ok"), "non-root pam_jwt_check reads a fresh root cache")
    age(f)
    t.eq(check(a, token(), nobody=True)[:2], (0, "ok"), "non-root pam_jwt_check serves an expired cache within stale_max")
    t.eq(check(a, token(kid="nope"), nobody=True)[:2], (1, "unknown_kid"), "non-root: kid miss, no fetch")
    t.eq(refresh(a, nobody=True)[0], 3, "non-root pam_jwt_check --refresh on a root cache: exit 3")
    other = newdir("cache")
    os.makedirs(other, 0o755)
    t.eq(check(args(other), token(), nobody=True)[:2], (3, "keys_unavailable"), "non-root with an empty root cache_dir: exit 3")
    t.eq(counts()[0], 0, "non-root pam_jwt_check never fetched")


def t_discovery():
    cache = newdir("cache")
    a = args(cache, "disc")
    f = files(cache, "disc")
    reset()
    r, _ = login(a, token())
    t.eq((r, counts()), ("PAM_SUCCESS", (1, 1)), "discovery: one discovery request, one JWKS request")
    m = read_meta(f["meta"])
    t.eq(m.get("jwks_uri"), H.url + "/jwks", "discovery: .meta remembers jwks_uri (file named by issuer=)")
    reset()
    r, _ = login(a, token(kid="unknown"))
    t.eq((r, counts()), ("PAM_AUTH_ERR", (1, 0)), "discovery: a kid miss fetches the remembered jwks_uri")
    age(f)
    reset()
    r, _ = login(a, token())
    t.eq((r, counts()), ("PAM_SUCCESS", (1, 1)), "discovery is redone when the cache expires")
    # issuer= with a trailing slash: exactly one is dropped for the URL.
    control.configure(H, issuer=H.url + "/")
    try:
        cache = newdir("cache")
        reset()
        r, _ = login(args(cache, "disc", issuer=H.url + "/"), token(iss=H.url + "/"))
        t.eq((r, counts()), ("PAM_SUCCESS", (1, 1)), "discovery: issuer with a trailing '/' (one '/' dropped)")
        reset()
        r, _ = login(args(newdir("cache"), "disc"), token())
        t.eq((r, counts()), ("PAM_AUTHINFO_UNAVAIL", (0, 1)), "discovery: issuer must match exactly (no '/' fixing)")
    finally:
        control.configure(H, issuer=None)


def t_freshness():
    cache = newdir("cache")
    a = args(cache)
    f = files(cache)

    def lifetime(T):
        """The filling line's deadline is fetched + T - T * jitter / 10^6: (T or the meta, max_age)."""
        m = read_meta(f["meta"])
        ok = m["fresh_until"] - m["fetched"] == T - T * m["jitter"] // 10**6
        return (T if ok else m), m["max_age"]

    login(a, token())
    reset()
    rc, err = refresh(a)
    t.eq((rc, counts()[0]), (0, 1), "pam_jwt_check --refresh: exit 0, fetches even when fresh")
    t.eq(read_meta(f["meta"]).get("attempt_cause"), "refresh", "--refresh: attempt_cause=refresh")
    for ma, want in ((300, 300), (10, 60), (999999, 86400), (None, 3600)):
        control.configure(H, max_age=ma)
        refresh(a)
        t.eq(lifetime(want), (want, "-" if ma is None else ma),
             "freshness: max-age %s -> %d s (.meta keeps max_age as sent)" % (ma, want))
    control.configure(H, max_age=300)
    refresh(args(cache, cache_ttl=77))
    t.eq(lifetime(77), (77, 300), "freshness: cache_ttl=77 wins over max-age (for the line that sets it)")
    before = slurp(f["jwks"])
    mode("status", status=503)
    reset()
    rc1, _ = refresh(a)
    rc2, err2 = refresh(a)
    normal()
    t.eq((rc1, rc2, counts()[0]), (3, 3, 1), "--refresh against a failing issuer: exit 3; again: no request (cooldown)")
    t.ok("refresh_cooldown" in err2, "--refresh in the cooldown says so", err2)
    t.ok(slurp(f["jwks"]) == before, "--refresh failing: .jwks unchanged")
    jf = write(os.path.join(tmp, "static.json"), control.jwks(H))
    t.eq(refresh(args(cache, None, jwks_file=jf))[0], 0, "--refresh with jwks_file: exit 0")
    t.eq(refresh(args(cache, leeway=9999))[0], 2, "--refresh with a bad option: exit 2")


def t_replay():
    cache = newdir("cache")
    state = newdir("state")
    a = args(cache, state=state, jti_replay="yes")
    tok = token(jti="once-1")
    r1, _ = login(a, tok)
    r2, _ = login(a, tok)
    t.eq((r1, r2), ("PAM_SUCCESS", "PAM_AUTH_ERR"), "jti_replay: first use accepted, second refused")
    t.eq(stat.S_IMODE(os.stat(state).st_mode), 0o700, "state_dir created 0700")
    rec = os.path.join(state, hashlib.blake2b((H.url + "\nonce-1").encode(), digest_size=32).hexdigest())
    t.ok(os.path.isfile(rec) and stat.S_IMODE(os.stat(rec).st_mode) == 0o600,
         "record named by BLAKE2b-256 of iss, newline, jti; mode 0600")
    t.eq(check(a, tok)[:2], (1, "replayed"), "pam_jwt_check reports replayed")
    tok2 = token(jti="tool-first")
    t.eq(check(a, tok2)[:2], (0, "ok"), "pam_jwt_check accepts an unused jti...")
    r, _ = login(a, tok2)
    t.eq(r, "PAM_SUCCESS", "... and never records it (a login still succeeds)")
    r, _ = login(a, token(jti=None))
    t.eq(r, "PAM_AUTH_ERR", "jti_replay: a token without jti is refused")
    c, _ = drive(a, token(jti="race-1"), parallel=20)
    t.eq(dict(c), {"PAM_SUCCESS": 1, "PAM_AUTH_ERR": 19}, "20 concurrent uses of one token: exactly one success")

    # A record past exp + 600 (the largest leeway: no line can accept its token) gives way, to exactly one login.
    a0 = args(cache, state=state, jti_replay="yes", leeway=0)
    now = int(time.time())
    r, _ = login(a0, token(jti="reuse", exp=now + 300))
    t.eq(r, "PAM_SUCCESS", "a token with jti=reuse accepted")
    later = token(jti="reuse", exp=now + 900)
    r, _ = login(a0, later)
    t.eq(r, "PAM_AUTH_ERR", "same jti while the first could still be valid: replayed")
    reuse = os.path.join(state, hashlib.blake2b((H.url + "\nreuse").encode(), digest_size=32).hexdigest())
    t.eq(slurp(reuse), b"%d\n" % (now + 300), "the record holds the token's exp (not exp + leeway)")
    write(reuse, "%d\n" % (now - 601), 0o600)      # as if written more than exp + 600 ago
    c, _ = drive(a0, later, parallel=20)
    t.eq(dict(c), {"PAM_SUCCESS": 1, "PAM_AUTH_ERR": 19}, "stale record replaced: exactly one of 20 concurrent logins wins")
    r, _ = login(a0, later)
    t.eq(r, "PAM_AUTH_ERR", "and the new record holds")

    # Pruning: plant expired records (as the store writes them), log in a few times.
    def expired_records():
        n = 0
        for name in os.listdir(state):
            if len(name) == 64:
                with open(os.path.join(state, name)) as fh:
                    n += int(fh.read()) + 600 <= time.time()
        return n

    for _ in range(30):
        write(os.path.join(state, hashlib.blake2b(os.urandom(16), digest_size=32).hexdigest()), "1000\n", 0o600)
    before = expired_records()
    for i in range(6):
        login(a0, token(jti="prune-%d" % i))
    after = expired_records()
    t.ok(before >= 30 and after < before, "expired records are pruned a few per call (%d -> %d)" % (before, after))
    t.ok(before - after <= 6 * 8, "pruning is bounded (at most 8 records looked at per call)")
    # A store that cannot be written refuses the login.
    afile = write(os.path.join(tmp, "afile"), "x")
    bad = args(cache, state=os.path.join(afile, "state"), jti_replay="yes")
    r, _ = login(bad, token(jti="nostore"))
    t.eq(r, "PAM_AUTHINFO_UNAVAIL", "replay store unwritable -> PAM_AUTHINFO_UNAVAIL")
    t.eq(check(bad, token(jti="nostore"))[:2], (1, "replay_store_unavailable"), "pam_jwt_check: replay_store_unavailable")
    if not ROOT:
        ro = newdir("state")
        os.makedirs(ro, 0o500)
        r, _ = login(args(cache, state=ro, jti_replay="yes"), token(jti="ro"))
        t.eq(r, "PAM_AUTHINFO_UNAVAIL", "replay store read-only (0500) -> PAM_AUTHINFO_UNAVAIL")


def main():
    global H, FETCH_USER
    for p in (MODULE, DRIVE, CHECK, FETCH):
        if not os.path.exists(p):
            t.skip("keys", "%s not built" % p)
            return
    if ROOT:
        if not reachable_by_nobody(FETCH):
            t.skip("keys", "%s is not reachable by nobody (fetch_user): build in a world-readable tree" % FETCH)
            return
        FETCH_USER = "nobody"
    H = control.start(os.path.join(tmp, "issuer"))
    os.chmod(os.path.join(tmp, "issuer"), 0o755)
    for kid in ("ec-p256", "rsa-2048"):
        KEYS[kid] = mint.load_key(control.key_file(H, kid))
    try:
        for fn in (t_link, t_first_fetch_and_fresh):
            t0 = time.monotonic()
            cache = fn()
            t.comment("%s: %.1f s" % (fn.__name__, time.monotonic() - t0))
        for fn in (lambda: t_kid_miss(cache), t_rotation, t_failures, t_down_many, t_killed_login,
                   t_helper_identity, t_untrusted, t_reader, t_discovery, t_freshness, t_replay):
            t0 = time.monotonic()
            t.run(fn, getattr(fn, "__name__", "test"))
            normal()
            t.comment("%s: %.1f s" % (getattr(fn, "__name__", "kid_miss"), time.monotonic() - t0))
    finally:
        control.stop(H)


t.run(main, "test_keys main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
