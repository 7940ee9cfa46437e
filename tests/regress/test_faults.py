#!/usr/bin/python3
"""Faults (ISSUE 6): the module through the real libpam (tests/pam/pjdrive)
against the HTTPS test issuer (tests/issuer), with the fetch helper wrapped
by a script that counts its starts.

- Issuer unreachable (connection refused, no such host, hanging), no cache:
  every well-formed login is PAM_AUTHINFO_UNAVAIL, never success, and the
  issuer is asked at most once per refresh_cooldown.
- Full disk (a small tmpfs as cache_dir, filled up) and read-only cache_dir
  (root only: mount): logins with a good cache, fresh or expired, keep
  working and the cache is intact; with jti_replay=yes and state_dir there,
  logins are refused (one-time use never fails open).
- The fetch helper killed mid-fetch: the cache is intact (the stale keys
  serve), and with no cache the login is PAM_AUTHINFO_UNAVAIL.
Tokens by python3-jwcrypto. TAP output.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-faults"
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib", "issuer")]
import control  # noqa: E402
import mint  # noqa: E402
from files import slurp, write, trusted_copy  # noqa: E402
from tap import Tap  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
FETCH = trusted_copy(os.path.join(BUILD, "src", "pam_jwt_fetch"))
AUD = "ssh://host1"
ROOT = os.geteuid() == 0

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-faults-")
os.chmod(tmp, 0o755)       # fetch_user (nobody) runs the wrapper and the helper from here
H = None
KEY = None
WRAP = os.path.join(tmp, "fetch-wrapper")
COUNT = os.path.join(tmp, "fetch-count")
MOUNTS = []
_n = [0]


def newdir(name):
    _n[0] += 1
    d = os.path.join(tmp, "%s-%d" % (name, _n[0]))
    os.mkdir(d, 0o755)
    return d


def starts():
    """How many times the fetch helper was started."""
    return len(slurp(COUNT).splitlines())


def args(cache, uri=None, **over):
    d = {"issuer": H.url, "audience": AUD, "jwks_uri": uri or H.url + "/jwks", "ca_file": H.ca,
         "cache_dir": cache, "fetch_helper": WRAP, "http_timeout": "2", "refresh_cooldown": "4"}
    if ROOT:
        d["fetch_user"] = "nobody"
    d.update(over)
    return ["%s=%s" % kv if kv[1] is not True else kv[0] for kv in d.items() if kv[1] is not None]


def token(**kw):
    return mint.sign(KEY, "ES256", mint.claims(iss=H.url, aud=AUD, sub="bin", **kw), {"kid": "ec-p256"})


def drive(a, tok, rounds=1, timeout=120):
    """Logins through libpam in one process: {PAM result: count}, seconds."""
    confdir = tempfile.mkdtemp(dir=tmp)
    write(os.path.join(confdir, "pjtest"), "auth required %s %s\n" % (MODULE, " ".join(a)))
    ans = write(os.path.join(confdir, "answers"), tok + "\n")
    t0 = time.monotonic()
    p = subprocess.run([DRIVE, "--confdir", confdir, "--service", "pjtest", "--user", "bin", "--answers", ans,
                        "--rounds", str(rounds)], capture_output=True, text=True, timeout=timeout)
    dt = time.monotonic() - t0
    got = {}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            got[line.split()[1]] = got.get(line.split()[1], 0) + 1
    shutil.rmtree(confdir, ignore_errors=True)
    return got, dt


def files(cache, uri=None):
    src = "jwks_uri=%s\n%s" % (uri or H.url + "/jwks", H.ca)
    h = hashlib.blake2b(src.encode(), digest_size=32).hexdigest()
    return {e: os.path.join(cache, h + "." + e) for e in ("jwks", "meta", "lock")}


def snapshot(cache, uri=None):
    f = files(cache, uri)
    return {e: slurp(f[e]) for e in ("jwks", "meta") if os.path.exists(f[e])}, sorted(os.listdir(cache))


def meta(cache, uri=None):
    d = {}
    for line in slurp(files(cache, uri)["meta"]).decode().splitlines():
        k, _, v = line.partition("=")
        d[k] = v
    return d


def normal():
    control.set_mode(H, "normal")


# ---------------------------------------------------------------- unreachable

def t_unreachable():
    cases = [("connection refused", "https://127.0.0.1:1/jwks"),
             ("no such host", "https://pj-faults.invalid/jwks"),
             ("issuer hanging", H.url + "/jwks?hang")]
    for what, uri in cases:
        if "hang" in uri:
            control.set_mode(H, "hang")
        cache = newdir("down")
        a = args(cache, uri)
        n0 = starts()
        toks = [token(), token(jti="other"), mint.sign(KEY, "ES256", mint.claims(iss=H.url, aud=AUD, sub="bin"),
                                                          {"kid": "no-such-kid"})]
        got = {}
        t0 = time.monotonic()
        for tk in toks:
            g, _ = drive(a, tk, rounds=5)
            for k, v in g.items():
                got[k] = got.get(k, 0) + v
        dt = time.monotonic() - t0
        # Unreachable issuer, no cache: every well-formed login PAM_AUTHINFO_UNAVAIL, never success.
        t.eq(got, {"PAM_AUTHINFO_UNAVAIL": 15}, "%s, no cache: 15 well-formed logins -> PAM_AUTHINFO_UNAVAIL" % what)
        # Unreachable issuer: asked at most once per refresh_cooldown (4 s here).
        t.ok(starts() - n0 <= 1 + int(dt // 4), "%s: %d fetch(es) in %.1f s of logins (cooldown 4 s)" % (what, starts() - n0, dt))
        # A malformed token is PAM_AUTH_ERR and never asks the issuer.
        n1 = starts()
        g, _ = drive(a, "not-a-token", rounds=3)
        t.eq((g, starts() - n1), ({"PAM_AUTH_ERR": 3}, 0), "%s: malformed tokens -> PAM_AUTH_ERR, no fetch" % what)
        # After the cooldown, one more attempt, still no success.
        time.sleep(4.2)
        n2 = starts()
        g, _ = drive(a, token(), rounds=5)
        t.eq((g, starts() - n2), ({"PAM_AUTHINFO_UNAVAIL": 5}, 1),
             "%s: after the cooldown, 5 logins -> PAM_AUTHINFO_UNAVAIL, exactly 1 fetch" % what)
        normal()
        t.ok(not os.path.exists(files(cache, uri)["jwks"]), "%s: no .jwks written" % what)


# ---------------------------------------------------------------- disk

def mount_tmpfs(d, size="256k"):
    os.makedirs(d, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", d],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return False
    MOUNTS.append(d)
    return True


def fill(d):
    """Fill the file system of d: a filler file until ENOSPC."""
    fd = os.open(os.path.join(d, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    # Whatever is left, byte by byte in small files, until nothing goes.
    for i in range(256):
        try:
            fd2 = os.open(os.path.join(d, "filler-%d" % i), os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError:
            break
        try:
            os.write(fd2, b"\0" * 64)
        except OSError:
            os.close(fd2)
            break
        os.close(fd2)
    os.close(fd)


def good_cache(cache, ttl="1"):
    """A login fills the cache (fresh for ttl s); returns the snapshot."""
    g, _ = drive(args(cache, cache_ttl=ttl), token())
    t.eq(g, {"PAM_SUCCESS": 1}, "setup: a login fills the cache in %s" % cache)
    return snapshot(cache)


def t_disk(kind):
    if not ROOT:
        t.skip("%s cache_dir" % kind, "needs root (mount)")
        return
    top = os.path.join(tmp, kind)
    if not mount_tmpfs(top):
        t.skip("%s cache_dir" % kind, "cannot mount a tmpfs here")
        return
    cache = os.path.join(top, "cache")
    state = os.path.join(top, "state")
    os.mkdir(cache, 0o755)
    os.mkdir(state, 0o700)
    before = good_cache(cache, ttl="1")
    if kind == "full":
        fill(top)
        probe = os.path.join(top, "probe")
        try:
            write(probe, b"x" * 8192)
            full = False
        except OSError:
            full = True
        t.ok(full, "full disk: the tmpfs is full (an 8 KiB write fails)")
    else:
        r = subprocess.run(["mount", "-o", "remount,ro", top], capture_output=True, text=True)
        t.eq(r.returncode, 0, "read-only: cache_dir's file system remounted read-only")
    what = "full disk" if kind == "full" else "read-only cache_dir"
    # Good cache, still fresh: logins keep working, the cache is intact.
    g, _ = drive(args(cache, cache_ttl="3600"), token(), rounds=3)
    t.eq(g, {"PAM_SUCCESS": 3}, "%s: good fresh cache -> 3 logins PAM_SUCCESS" % what)
    t.eq(snapshot(cache), before, "%s: cache intact after fresh-cache logins" % what)
    # Good cache, expired: no fetch can be recorded, the stale keys serve, the cache is intact.
    time.sleep(1.2)
    n0 = starts()
    g, _ = drive(args(cache, cache_ttl="1"), token(), rounds=3)
    t.eq(g, {"PAM_SUCCESS": 3}, "%s: good expired cache -> 3 logins PAM_SUCCESS (stale keys serve)" % what)
    t.eq(starts() - n0, 0, "%s: no fetch when .meta cannot be written (the rate bound never fails open)" % what)
    t.eq(snapshot(cache), before, "%s: cache intact (.jwks, .meta, no temporary file left)" % what)
    # One-time use: with jti_replay=yes and state_dir there, logins are refused.
    jti_tok = token(jti="once-" + kind)
    g, _ = drive(args(cache, cache_ttl="3600", jti_replay=True, state_dir=state), jti_tok, rounds=3)
    t.eq(g, {"PAM_AUTHINFO_UNAVAIL": 3}, "%s: jti_replay=yes -> 3 logins PAM_AUTHINFO_UNAVAIL (never success)" % what)
    t.eq(os.listdir(state), [], "%s: nothing half-written in state_dir" % what)
    # The same token is still unused once the disk is back: it was never recorded.
    if kind == "full":
        for f in os.listdir(top):
            if f.startswith("filler") or f == "probe":
                os.unlink(os.path.join(top, f))
    else:
        subprocess.run(["mount", "-o", "remount,rw", top], check=True)
    g, _ = drive(args(cache, cache_ttl="3600", jti_replay=True, state_dir=state), jti_tok, rounds=2)
    t.eq(g, {"PAM_SUCCESS": 1, "PAM_AUTH_ERR": 1}, "%s, then writable again: the token's first use succeeds, its replay fails" % what)


# ---------------------------------------------------------------- killed helper

def helper_pids(marker):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = slurp("/proc/%s/cmdline" % pid).split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0] == FETCH.encode() and any(marker.encode() in c for c in cmd):
            out.append(int(pid))
    return out


def kill_mid_fetch(cache, uri, mode):
    """Start a login whose fetch hangs (or trickles), kill its helper (by
    pid), and return the login's result. The line has cache_ttl=1, as the
    one that filled the cache: each line judges freshness by its own."""
    control.set_mode(H, mode)
    confdir = tempfile.mkdtemp(dir=tmp)
    write(os.path.join(confdir, "pjtest"), "auth required %s %s\n" % (MODULE, " ".join(args(cache, uri, http_timeout="20", cache_ttl="1"))))
    ans = write(os.path.join(confdir, "answers"), token() + "\n")
    p = subprocess.Popen([DRIVE, "--confdir", confdir, "--service", "pjtest", "--user", "bin", "--answers", ans],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    marker = uri.split("?", 1)[1]
    pid = None
    end = time.monotonic() + 10
    while pid is None and time.monotonic() < end:
        pids = helper_pids(marker)
        pid = pids[0] if pids else None
        time.sleep(0.02)
    if pid is not None:
        time.sleep(0.5)     # mid-fetch: connected, headers or a few body bytes in
        os.kill(pid, signal.SIGKILL)
    out, _ = p.communicate(timeout=60)
    normal()
    res = [l.split()[1] for l in out.splitlines() if l.startswith("RESULT ")]
    return pid, (res[-1] if res else "NO_RESULT"), time.monotonic()


def t_killed_helper():
    for mode in ("hang", "trickle"):
        uri = H.url + "/jwks?killed-" + mode
        cache = newdir("killed")
        g, _ = drive(args(cache, uri, cache_ttl="1"), token())
        t.eq(g, {"PAM_SUCCESS": 1}, "killed helper (%s): setup, a login fills the cache" % mode)
        before = snapshot(cache, uri)
        m0 = meta(cache, uri)
        time.sleep(1.2)
        pid, res, _ = kill_mid_fetch(cache, uri, mode)
        t.ok(pid is not None, "killed helper (%s): the helper was running mid-fetch and was killed" % mode)
        # The helper killed mid-fetch: the stale keys serve, .jwks is byte for byte the same.
        t.eq(res, "PAM_SUCCESS", "killed helper (%s): the login falls back to the stale cache -> PAM_SUCCESS" % mode)
        after = snapshot(cache, uri)
        t.eq(after[0].get("jwks"), before[0].get("jwks"), "killed helper (%s): .jwks intact" % mode)
        t.eq(after[1], before[1], "killed helper (%s): no temporary file left in cache_dir" % mode)
        m1 = meta(cache, uri)
        t.eq((m1.get("fetched"), m1.get("fresh_until")), (m0.get("fetched"), m0.get("fresh_until")),
             "killed helper (%s): .meta well-formed, same fetch time, the attempt recorded as failed (failed_at=%s)"
             % (mode, m1.get("failed_at")))
    # No cache at all: a killed helper leaves nothing behind and the login is PAM_AUTHINFO_UNAVAIL.
    uri = H.url + "/jwks?killed-empty"
    cache = newdir("killed")
    pid, res, _ = kill_mid_fetch(cache, uri, "trickle")
    t.eq((pid is not None, res), (True, "PAM_AUTHINFO_UNAVAIL"), "killed helper, no cache -> PAM_AUTHINFO_UNAVAIL")
    t.ok(not os.path.exists(files(cache, uri)["jwks"]), "killed helper, no cache: no .jwks written")


def main():
    global H, KEY
    for p in (MODULE, DRIVE, FETCH):
        if not os.path.exists(p):
            t.skip("faults", "%s not built" % p)
            return
    # The wrapper: counts its starts, then is the helper (run as fetch_user, empty environment).
    write(COUNT, "", 0o666)
    write(WRAP, "#!/bin/sh\necho x >>%s\nexec %s \"$@\"\n" % (COUNT, FETCH), 0o755)
    os.chmod(COUNT, 0o666)
    H = control.start(os.path.join(tmp, "issuer"))
    os.chmod(os.path.join(tmp, "issuer"), 0o755)
    KEY = mint.load_key(control.key_file(H, "ec-p256"))
    try:
        for fn in (t_unreachable, lambda: t_disk("full"), lambda: t_disk("readonly"), t_killed_helper):
            t0 = time.monotonic()
            t.run(fn, getattr(fn, "__name__", "disk"))
            normal()
            t.comment("%.1f s" % (time.monotonic() - t0))
    finally:
        control.stop(H)
        for d in reversed(MOUNTS):
            subprocess.run(["umount", d], capture_output=True)


t.run(main, "test_faults main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
