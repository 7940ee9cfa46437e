#!/usr/bin/python3
"""The trust rule for files and folders (pam_jwt.conf(5), FILES): one named
regression test per way a configured path could hang a login, open a device,
or be swapped by another user.

- A FIFO or a device at a configured path is refused by its type before any
  open (the tool returns at once: a hang fails the test by its timeout).
- Every folder on the resolved path from "/" is checked: a group- or
  other-writable one is refused unless sticky with the entry below it ours.
- A symlink as the final component is refused.
- jwks_file: missing is keys_unavailable (exit 3), present but refused by
  the rule is a configuration error (exit 2).
- The cache folder is used through the descriptor that was checked: a
  folder renamed away mid-fetch and replaced by another gets nothing, and
  no temporary file is left behind. A FIFO at a cache file is ignored.
Verdicts from src/pam_jwt_check --json; tokens minted by python3-jwcrypto.
Runs as root (mknod, chown); TAP output.
"""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-trust"
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib", "issuer")]
import control  # noqa: E402
import mint  # noqa: E402
from files import write, trusted_copy  # noqa: E402
from tap import Tap  # noqa: E402

CHECK = os.path.join(BUILD, "src", "pam_jwt_check")
FETCH = trusted_copy(os.path.join(BUILD, "src", "pam_jwt_fetch"))
ISS = "https://issuer.trust.test"
AUD = "ssh://host1"
ROOT = os.geteuid() == 0
NOBODY = 65534
USER = "bin"      # the login user: any but uid 0, which only a literal map rule reaches
QUICK = 10      # seconds: far more than any refusal takes; a FIFO opened for reading blocks forever

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-trust-")
os.chmod(tmp, 0o755)
KEY = None
JWKS = None
_n = [0]


def newdir(name, mode=0o755, parent=None):
    _n[0] += 1
    d = os.path.join(parent or tmp, "%s-%d" % (name, _n[0]))
    os.mkdir(d)
    os.chmod(d, mode)
    return d


def token(**kw):
    return mint.sign(KEY, "ES256", mint.claims(iss=ISS, aud=AUD, sub=USER, **kw), {"kid": "e1"})


def run(args, tok=None, timeout=QUICK):
    """pam_jwt_check --json --user bin: (exit status, reason); a hang is ("hung", None)."""
    try:
        p = subprocess.run([CHECK, "--json", "--user", USER] + args, input=(tok or token()).encode(),
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hung", None
    return p.returncode, verdict(p.stdout, p.stderr)


def verdict(out, err):
    """The reason from --json; a configuration error stops before any token, on stderr."""
    try:
        return json.loads(out)["reason"]
    except ValueError:
        return "config_error" if b"configuration error" in err else None


def base(jwks=None, *extra):
    return ["issuer=" + ISS, "audience=" + AUD, "jwks_file=" + (jwks or JWKS), "algorithms=ES256"] + list(extra)


def conf_file(folder, mode=0o644):
    return write(os.path.join(folder, "pam_jwt.conf"),
                 "issuer = %s\naudience = %s\njwks_file = %s\nalgorithms = ES256\n" % (ISS, AUD, JWKS), mode)


def map_file(folder, mode=0o644):
    return write(os.path.join(folder, "users.map"), "bin bin\n", mode)


OK = (0, "ok")
CONFIG = (2, "config_error")
UNAVAIL = (3, "keys_unavailable")


# ---------------------------------------------------------------- non-regular files

def t_special_files():
    d = newdir("special")
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo, 0o644)
    os.chmod(fifo, 0o644)
    # A FIFO at jwks_file: refused by type at once (the login hung forever on the FIFO before).
    t.eq(run(base(fifo)), CONFIG, "FIFO at jwks_file -> config_error, promptly (no hang)")
    # A FIFO at config: refused by type at once.
    t.eq(run(["config=" + fifo]), CONFIG, "FIFO at config -> config_error, promptly (no hang)")
    # A FIFO at user_map: refused by type at once.
    t.eq(run(base(None, "user_map=" + fifo)), CONFIG, "FIFO at user_map -> config_error, promptly (no hang)")
    # A FIFO at ca_file and at fetch_helper (a network source): refused by type.
    net = ["issuer=" + ISS, "audience=" + AUD, "jwks_uri=" + ISS + "/jwks", "algorithms=ES256",
           "cache_dir=" + newdir("cache"), "fetch_helper=" + FETCH]
    t.eq(run(net + ["ca_file=" + fifo]), CONFIG, "FIFO at ca_file -> config_error, promptly")
    t.eq(run(net[:-1] + ["fetch_helper=" + fifo]), CONFIG, "FIFO at fetch_helper -> config_error, promptly")
    # A FIFO at cache_dir and state_dir: not a folder.
    t.eq(run(base(None, "cache_dir=" + fifo)), CONFIG, "FIFO at cache_dir -> config_error")
    t.eq(run(base(None, "state_dir=" + fifo)), CONFIG, "FIFO at state_dir -> config_error")
    # A character device (/dev/null's numbers) at jwks_file: never opened, a configuration error (was keys_unavailable after opening it).
    if ROOT:
        dev = os.path.join(d, "null")
        os.mknod(dev, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod(dev, 0o644)
        t.eq(run(base(dev)), CONFIG, "character device at jwks_file -> config_error")
        t.eq(run(base(None, "user_map=" + dev)), CONFIG, "character device at user_map -> config_error")
    else:
        t.skip("character device at jwks_file", "not root: mknod")
        t.skip("character device at user_map", "not root: mknod")
    # A socket at jwks_file: refused by type.
    import socket
    sp = os.path.join(d, "sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(sp)
    os.chmod(sp, 0o644)
    t.eq(run(base(sp)), CONFIG, "socket at jwks_file -> config_error")
    s.close()
    # A directory at jwks_file: the wrong type is a configuration error too.
    t.eq(run(base(newdir("jwks-is-a-dir"))), CONFIG, "directory at jwks_file -> config_error")
    # Control: the regular file.
    t.eq(run(base()), OK, "control: a regular jwks_file -> ok")


# ---------------------------------------------------------------- folders on the path

def t_parents():
    # A group-writable folder above the config: refused (it was accepted before).
    d = newdir("gw-conf", 0o775)
    c = conf_file(d)
    t.eq(run(["config=" + c]), CONFIG, "group-writable folder holding the config -> config_error")
    # The same folder two levels up: every folder on the path counts.
    top = newdir("gw-top", 0o775)
    c2 = conf_file(newdir("inner", 0o755, top))
    t.eq(run(["config=" + c2]), CONFIG, "group-writable folder two levels above the config -> config_error")
    # Reached through a symlink: judged on the resolved path (the link's own folder is fine, the real one is not).
    link = os.path.join(tmp, "link-to-gw-%d" % _n[0])
    os.symlink(top, link)
    t.eq(run(["config=" + os.path.join(link, os.path.basename(os.path.dirname(c2)), "pam_jwt.conf")]), CONFIG,
         "config reached through a symlink to a group-writable folder -> config_error")
    # Twin: the same layout with the folder 0755 is accepted.
    os.chmod(top, 0o755)
    t.eq(run(["config=" + c2]), OK, "twin: the same folders 0755 -> ok")
    # The same folder with the sticky bit, the entry below it ours (root): accepted, as /tmp is.
    os.chmod(d, 0o1777)
    t.eq(run(["config=" + c]), OK, "sticky world-writable folder, config owned by root -> ok")
    # Sticky folder, the folder below it owned by another user: refused.
    if ROOT:
        sub = newdir("theirs", 0o755, d)
        c3 = conf_file(sub)
        os.chown(sub, NOBODY, NOBODY)
        t.eq(run(["config=" + c3]), CONFIG, "sticky folder, folder below it owned by another user -> config_error")
        # The config itself owned by another user, in the sticky folder: refused.
        c4 = write(os.path.join(d, "other.conf"), open(c).read())
        os.chown(c4, NOBODY, NOBODY)
        t.eq(run(["config=" + c4]), CONFIG, "sticky folder, config owned by another user -> config_error")
    else:
        t.skip("sticky folder, folder below owned by another user", "not root: chown")
        t.skip("sticky folder, config owned by another user", "not root: chown")
    # Other-writable without the sticky bit: refused.
    os.chmod(d, 0o777)
    t.eq(run(["config=" + c]), CONFIG, "other-writable folder without the sticky bit -> config_error")

    # The map: a group-writable folder above it is refused (accepted before); 0755 and sticky are fine.
    m = newdir("gw-map", 0o775)
    mp = map_file(m)
    t.eq(run(base(None, "user_map=" + mp)), CONFIG, "group-writable folder holding the user_map -> config_error")
    os.chmod(m, 0o755)
    t.eq(run(base(None, "user_map=" + mp)), OK, "twin: the user_map folder 0755 -> ok")
    os.chmod(m, 0o1777)
    t.eq(run(base(None, "user_map=" + mp)), OK, "sticky world-writable folder, user_map owned by root -> ok")

    # jwks_file: a group-writable folder above it is a configuration error (keys were read before).
    j = newdir("gw-jwks", 0o775)
    jf = os.path.join(j, "jwks.json")
    shutil.copyfile(JWKS, jf)
    os.chmod(jf, 0o644)
    t.eq(run(base(jf)), CONFIG, "group-writable folder holding jwks_file -> config_error")
    os.chmod(j, 0o755)
    t.eq(run(base(jf)), OK, "twin: the jwks_file folder 0755 -> ok")

    # state_dir and cache_dir: a group-writable folder above them is refused.
    s = newdir("gw-state", 0o775)
    st = newdir("state", 0o700, s)
    t.eq(run(base(None, "state_dir=" + st)), CONFIG, "group-writable folder above state_dir -> config_error")
    os.chmod(s, 0o755)
    t.eq(run(base(None, "state_dir=" + st)), OK, "twin: the state_dir folder 0755 -> ok")


# ---------------------------------------------------------------- symlinks and jwks_file verdicts

def t_final_symlink():
    d = newdir("links")
    c = conf_file(d)
    for what, target, args in (("config", c, lambda p: ["config=" + p]),
                               ("jwks_file", JWKS, lambda p: base(p)),
                               ("user_map", map_file(d), lambda p: base(None, "user_map=" + p))):
        link = os.path.join(d, what + ".link")
        os.symlink(target, link)
        # A symlink as the final component is never followed, even to a good file.
        t.eq(run(args(link)), CONFIG, "symlink as the final component of %s -> config_error" % what)
        t.eq(run(args(target)), OK, "twin: %s itself -> ok" % what)
    # A folder option written with a trailing '/' does not follow a symlink either ("link/" resolves it).
    real = newdir("cache-real")
    link = os.path.join(d, "cache.link")
    os.symlink(real, link)
    t.eq(run(base(None, "cache_dir=" + link + "/")), CONFIG, "symlink as cache_dir, written with a trailing '/' -> config_error")
    t.eq(run(base(None, "cache_dir=" + real + "/")), OK, "twin: the folder itself with a trailing '/' -> ok")


def t_jwks_verdicts():
    d = newdir("jwks")
    # Missing jwks_file (a sync job may provision it): keys_unavailable, exit 3.
    t.eq(run(base(os.path.join(d, "absent.json"))), UNAVAIL, "missing jwks_file -> keys_unavailable (exit 3)")
    # A folder on its path missing: keys_unavailable too.
    t.eq(run(base(os.path.join(d, "absent", "jwks.json"))), UNAVAIL,
         "missing folder above jwks_file -> keys_unavailable (exit 3)")
    # Present and group-writable: a configuration error, exit 2.
    jf = os.path.join(d, "jwks.json")
    shutil.copyfile(JWKS, jf)
    os.chmod(jf, 0o664)
    t.eq(run(base(jf)), CONFIG, "group-writable jwks_file -> config_error (exit 2)")
    if ROOT:
        os.chmod(jf, 0o644)
        os.chown(jf, NOBODY, NOBODY)
        t.eq(run(base(jf)), CONFIG, "jwks_file owned by another user -> config_error (exit 2)")
        os.chown(jf, 0, 0)
    else:
        t.skip("jwks_file owned by another user", "not root: chown")
    os.chmod(jf, 0o644)
    t.eq(run(base(jf)), OK, "twin: the same jwks_file 0644 -> ok")


# ---------------------------------------------------------------- the cache through its descriptor

def cache_hash(h, uri):
    return hashlib.blake2b(("jwks_uri=%s\n%s" % (uri, h.ca)).encode(), digest_size=32).hexdigest()


def net_tok(h):
    k = mint.load_key(control.key_file(h, "ec-p256"))
    return mint.sign(k, "ES256", mint.claims(iss=h.url, aud=AUD, sub=USER), {"kid": "ec-p256"})


def net_args(h, cache, helper=FETCH):
    a = ["issuer=" + h.url, "audience=" + AUD, "jwks_uri=" + h.url + "/jwks", "ca_file=" + h.ca,
         "cache_dir=" + cache, "fetch_helper=" + helper, "http_timeout=10", "algorithms=ES256"]
    return a + (["fetch_user=nobody"] if ROOT else [])


def t_cache(h):
    uri = h.url + "/jwks"
    hx = cache_hash(h, uri)
    # A FIFO at <hash>.jwks: ignored and reported, the fetch replaces it (a read of it hung the login before).
    c = newdir("cache-fifo")
    os.mkfifo(os.path.join(c, hx + ".jwks"), 0o644)
    t.eq(run(net_args(h, c), net_tok(h), timeout=30), OK, "FIFO at the cache's .jwks -> ignored, fetched, ok (no hang)")
    t.ok(stat.S_ISREG(os.lstat(os.path.join(c, hx + ".jwks")).st_mode), "FIFO at the cache's .jwks -> replaced by the fetched file")
    c = newdir("cache-fifo-meta")
    os.mkfifo(os.path.join(c, hx + ".meta"), 0o644)
    t.eq(run(net_args(h, c), net_tok(h), timeout=30), OK, "FIFO at the cache's .meta -> ignored, fetched, ok (no hang)")

    # The cache folder renamed away mid-fetch and another put at its name: the files go to the folder
    # that was checked (its descriptor), never to the newcomer; no temporary file remains.
    sig = newdir("signal", 0o1777)
    wrap = write(os.path.join(tmp, "wrap-hold"),
                 "#!/bin/sh\n: >%s/started\ni=0\nwhile [ ! -e %s/go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\n"
                 "exec %s \"$@\"\n" % (sig, sig, FETCH), 0o755)
    c = newdir("cache-moved")
    p = subprocess.Popen([CHECK, "--json", "--user", USER] + net_args(h, c, wrap), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(net_tok(h).encode())
    p.stdin.close()
    t0 = time.monotonic()
    while not os.path.exists(os.path.join(sig, "started")) and time.monotonic() - t0 < 20:
        time.sleep(0.02)
    moved = c + ".moved"
    os.rename(c, moved)
    os.mkdir(c)
    os.chmod(c, 0o755)
    write(os.path.join(sig, "go"), "")
    p.stdin = None
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    t.eq((p.returncode, verdict(out, err)), OK, "cache folder swapped mid-fetch: the login still succeeds")
    t.eq(sorted(os.listdir(c)), [], "cache folder swapped mid-fetch: nothing written into the newcomer at its name")
    t.eq(sorted(os.listdir(moved)), sorted(hx + e for e in (".jwks", ".lock", ".meta")),
         "cache folder swapped mid-fetch: .jwks and .meta land in the folder that was checked, no temporary file")


def t_network():
    h = control.start(os.path.join(tmp, "issuer"))
    os.chmod(os.path.join(tmp, "issuer"), 0o755)
    try:
        t_cache(h)
    finally:
        control.stop(h)


def main():
    global KEY, JWKS
    for p in (CHECK, FETCH):
        if not os.path.exists(p):
            t.skip("trust", "%s not built" % p)
            return
    KEY = mint.gen_key("P-256", kid="e1")
    JWKS = os.path.join(tmp, "jwks.json")
    mint.write_jwks(JWKS, [KEY])
    os.chmod(JWKS, 0o644)
    for fn in (t_special_files, t_parents, t_final_symlink, t_jwks_verdicts, t_network):
        t0 = time.monotonic()
        t.run(fn, fn.__name__)
        t.comment("%s: %.1f s" % (fn.__name__, time.monotonic() - t0))


t.run(main, "test_trust main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
