#!/usr/bin/python3
"""Regression tests: state that several PAM lines share (the one-time jti
store, the key cache) is judged by each line with its own settings, so no
line's leeway or cache_ttl shortens or stretches another's.

- One-time use across lines: a token used on a leeway=0 line was accepted
  again on a leeway=60 line between exp and exp + 60, because a record held
  exp + its writer's leeway. A record now blocks every line until exp + 600
  (the largest leeway), and pruning keeps it that long.
- Cache freshness across lines: a line with cache_ttl=604800 that filled
  the cache made a line with cache_ttl=60 use its keys for a week (and a
  cache_ttl=60 filler made a cache_ttl=604800 line refetch every minute),
  because every reader trusted the writer's fresh_until. .meta now keeps
  fetched, max_age and jitter, and each reader computes its own deadline;
  an older writer's .meta (fresh_until only) is still read.

Logins go through the real libpam (tests/pam/pjdrive) and pam_jwt.so;
tokens are minted by python3-jwcrypto (tests/mint); the key source is the
HTTPS test issuer (tests/issuer), which counts requests. TAP output.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import json

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-regress"
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib", "issuer")]
import control  # noqa: E402
import mint  # noqa: E402
from files import slurp, write, trusted_copy  # noqa: E402
from tap import Tap  # noqa: E402

CHECK = os.path.join(BUILD, "src", "pam_jwt_check")
FETCH = trusted_copy(os.path.join(BUILD, "src", "pam_jwt_fetch"))
MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
AUD = "ssh://host1"
LEEWAY_MAX = 600
ROOT = os.geteuid() == 0

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-shared-")
os.chmod(tmp, 0o755)       # fetch_user (nobody) walks through to the CA and helper
H = None
KEY = None
_n = [0]


def newdir(name):
    _n[0] += 1
    return os.path.join(tmp, "%s-%d" % (name, _n[0]))


def args(cache, state=None, **over):
    d = {"issuer": H.url, "audience": AUD, "jwks_uri": H.url + "/jwks", "ca_file": H.ca, "cache_dir": cache,
         "state_dir": state or os.path.join(tmp, "state-unused"), "fetch_helper": FETCH, "http_timeout": "3"}
    if ROOT:
        d["fetch_user"] = "nobody"
    d.update(over)
    return ["%s=%s" % kv for kv in d.items() if kv[1] is not None]


def token(**claims):
    return mint.sign(KEY, "ES256", mint.claims(iss=H.url, aud=AUD, sub="bin", **claims), {"kid": "ec-p256"})


def login(a, tok):
    """One login through libpam: the PAM result name."""
    confdir = tempfile.mkdtemp(dir=tmp)
    write(os.path.join(confdir, "pjtest"), "auth required %s %s\n" % (MODULE, " ".join(a)))
    ans = write(os.path.join(confdir, "answers"), tok + "\n")
    p = subprocess.run([DRIVE, "--confdir", confdir, "--service", "pjtest", "--user", "bin", "--answers", ans],
                       capture_output=True, text=True, timeout=120)
    shutil.rmtree(confdir, ignore_errors=True)
    res = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    return res[-1] if res else "NO_RESULT: " + p.stderr.strip()


def check(a, tok):
    """pam_jwt_check --json: the reason."""
    p = subprocess.run([CHECK, "--json", "--user", "bin"] + a, input=tok.encode(), capture_output=True, timeout=60)
    try:
        return json.loads(p.stdout)["reason"]
    except ValueError:
        return None


def record(state, jti):
    return os.path.join(state, hashlib.blake2b((H.url + "\n" + jti).encode(), digest_size=32).hexdigest())


def meta_path(cache):
    src = "jwks_uri=%s/jwks\n%s" % (H.url, H.ca)
    return os.path.join(cache, hashlib.blake2b(src.encode(), digest_size=32).hexdigest() + ".meta")


def read_meta(path):
    m = {}
    for line in slurp(path).decode().splitlines():
        k, _, v = line.partition("=")
        m[k] = int(v) if v.isdigit() else v
    return m


def write_meta(path, m):
    write(path, "".join("%s=%s\n" % kv for kv in m.items()))


def requests():
    return control.counts(H).get("/jwks", 0)


def fill_and_age(a, cache, ago):
    """A login on line a fills the cache; then .meta says it was fetched ago
    seconds earlier (everything else as that line wrote it)."""
    control.reset_counts(H)
    r = login(a, token())
    m = read_meta(meta_path(cache))
    t.eq((r, requests(), sorted(k for k in ("fetched", "max_age", "jitter", "fresh_until") if k in m)),
         ("PAM_SUCCESS", 1, ["fetched", "fresh_until", "jitter", "max_age"]),
         "setup: a login fills the cache; .meta has fetched, max_age, jitter and the writer's fresh_until")
    for k in ("fetched", "attempt_at", "fresh_until"):
        m[k] -= ago
    write_meta(meta_path(cache), m)
    control.reset_counts(H)


# ---------------------------------------------------------------- one-time use

def t_replay_across_leeways():
    state = newdir("state")
    cache = newdir("cache")
    strict = args(cache, state, jti_replay="yes", leeway="0")
    loose = args(cache, state, jti_replay="yes", leeway="60")
    exp = int(time.time()) + 2
    used, unused = token(jti="cross-used", exp=exp), token(jti="cross-unused", exp=exp)
    t.eq(login(strict, used), "PAM_SUCCESS", "replay across lines: the token is accepted on the leeway=0 line")
    t.eq(slurp(record(state, "cross-used")), b"%d\n" % exp, "replay across lines: the record holds the token's exp")
    time.sleep(max(0.0, exp + 1.2 - time.time()))   # now past exp, within exp + 60
    t.eq(login(strict, unused), "PAM_AUTH_ERR", "replay across lines: past exp, the leeway=0 line refuses (expired)")
    t.eq(check(loose, used), "replayed", "replay across lines: pam_jwt_check with leeway=60 reports replayed")
    t.eq(login(loose, used), "PAM_AUTH_ERR",
         "replay across lines: used on the leeway=0 line, refused on the leeway=60 line between exp and exp + 60")
    t.eq(login(loose, unused), "PAM_SUCCESS",
         "replay across lines: an unused token with the same exp is accepted on the leeway=60 line (twin)")
    t.eq(login(loose, unused), "PAM_AUTH_ERR", "replay across lines: ... once")


def t_replay_pruning():
    state = newdir("state")
    cache = newdir("cache")
    a = args(cache, state, jti_replay="yes", leeway="0")
    t.eq(login(a, token(jti="prune-first")), "PAM_SUCCESS", "pruning: setup, the store exists")
    now = int(time.time())
    gone, kept = record(state, "prune-gone"), record(state, "prune-kept")
    write(gone, "%d\n" % (now - LEEWAY_MAX - 5), 0o600)     # past exp + 600: no line accepts it any more
    write(kept, "%d\n" % (now - LEEWAY_MAX + 60), 0o600)    # exp + 600 is a minute away
    late = token(jti="prune-kept", exp=now + 300)
    t.eq(check(a, late), "replayed", "pruning: a record of exp = now - 540 still blocks its jti (on every line)")
    t.eq(login(a, token(jti="prune-trigger")), "PAM_SUCCESS", "pruning: a login records a new jti (and prunes)")
    t.eq((os.path.exists(gone), os.path.exists(kept)), (False, True),
         "pruning: a record past exp + 600 is pruned, one before exp + 600 is kept")
    t.eq(login(a, late), "PAM_AUTH_ERR", "pruning: the kept record still blocks its jti")


# ---------------------------------------------------------------- cache freshness

def t_cache_ttl_not_stretched():
    cache = newdir("cache")
    week, minute = args(cache, cache_ttl="604800"), args(cache, cache_ttl="60")
    fill_and_age(week, cache, 61)
    t.eq((login(week, token()), requests()), ("PAM_SUCCESS", 0),
         "cache freshness: filled by cache_ttl=604800 61 s ago: that line does not refetch")
    t.eq((login(minute, token()), requests()), ("PAM_SUCCESS", 1),
         "cache freshness: a cache_ttl=604800 filler does not stretch a cache_ttl=60 line: it refetches after 60 s")
    control.reset_counts(H)
    t.eq((login(minute, token()), requests()), ("PAM_SUCCESS", 0),
         "cache freshness: ... and its fill is fresh for it again")


def t_cache_ttl_not_shortened():
    cache = newdir("cache")
    week, minute = args(cache, cache_ttl="604800"), args(cache, cache_ttl="60")
    fill_and_age(minute, cache, 61)
    t.eq((login(week, token()), requests()), ("PAM_SUCCESS", 0),
         "cache freshness: a cache_ttl=60 filler does not shorten a cache_ttl=604800 line: no refetch after 61 s")
    t.eq((login(minute, token()), requests()), ("PAM_SUCCESS", 1),
         "cache freshness: the cache_ttl=60 line itself refetches after 61 s (twin)")


def t_cache_old_meta():
    cache = newdir("cache")
    minute = args(cache, cache_ttl="60")
    fill_and_age(minute, cache, 0)
    m = meta_path(cache)
    now = int(time.time())
    # .meta as the previous version wrote it: fetched and fresh_until only.
    write_meta(m, {"attempt_at": now - 100, "attempt_cause": "empty", "fetched": now - 100, "fresh_until": now + 100})
    t.eq((login(minute, token()), requests()), ("PAM_SUCCESS", 0),
         "cache freshness: an older version's .meta (fresh_until in the future) is read: no fetch")
    write_meta(m, {"attempt_at": now - 100, "attempt_cause": "empty", "fetched": now - 100, "fresh_until": now - 1})
    t.eq((login(minute, token()), requests()), ("PAM_SUCCESS", 1),
         "cache freshness: an older version's .meta past its fresh_until: one fetch")
    # A newer version's key this release does not know is skipped, not a reason to distrust .meta.
    mm = read_meta(m)
    mm["some_future_key"] = "x"
    write_meta(m, mm)
    control.reset_counts(H)
    t.eq((login(minute, token()), requests()), ("PAM_SUCCESS", 0),
         "cache freshness: an unknown key in .meta is skipped: the fresh cache serves, no fetch")


def main():
    global H, KEY
    for p in (CHECK, MODULE, DRIVE, FETCH):
        if not os.path.exists(p):
            t.skip("shared state", "%s not built" % p)
            return
    H = control.start(os.path.join(tmp, "issuer"))
    os.chmod(os.path.join(tmp, "issuer"), 0o755)
    try:
        KEY = mint.load_key(control.key_file(H, "ec-p256"))
        for fn in (t_replay_across_leeways, t_replay_pruning, t_cache_ttl_not_stretched, t_cache_ttl_not_shortened,
                   t_cache_old_meta):
            t0 = time.monotonic()
            t.run(fn, fn.__name__)
            t.comment("%s: %.1f s" % (fn.__name__, time.monotonic() - t0))
    finally:
        control.stop(H)


t.run(main, "test_shared_state main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
