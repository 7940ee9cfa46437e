#!/usr/bin/python3
"""The Debian package (debian/): built from a copy of the tree with
DEB_BUILD_OPTIONS=nocheck, checked with lintian and dpkg-deb (file list,
modes, maintainer scripts), its units with systemd-analyze, its sysusers.d
and tmpfiles.d files with systemd-sysusers/systemd-tmpfiles --root, the
postinst's user creation with a PATH of recording shims, then installed with
apt-get into a throwaway Debian chroot (debootstrap minbase, cached under
the build tree): the user and folders there, a login through the installed
module and fetch helper against the local HTTPS test issuer, the refresh
script, and apt-get purge leaving nothing but the user.

Root and dpkg-buildpackage (debhelper) needed, else skipped. Never installs
anything on this machine's own root. PJ_IN_DEB_TEST guards against the
package build running this test again."""
import atexit
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
SRC = os.path.abspath(os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("PJ_TOP_BUILDDIR") or os.path.join(SRC, "build"))
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("lib", "mint", "issuer")]
from tap import Tap  # noqa: E402
import control  # noqa: E402
try:
    import mint  # noqa: E402  (python3-jwcrypto)
except ImportError:
    mint = None

t = Tap()
T0 = time.monotonic()
PKG = "libpam-jwt"
SUITE = "bookworm"
BASE_CACHE = os.path.join(BUILD, "pkg-cache", "%s-minbase.tar" % SUITE)
CHROOT_DEPS = "libssl3,libcurl4,libsodium23,libcjson1"


def run(cmd, timeout=900, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, timeout=timeout, **kw)


def tail(text, n=25):
    return "\n".join((text or "").splitlines()[-n:])


def version():
    with open(os.path.join(SRC, "configure.ac")) as f:
        m = re.search(r"AC_INIT\(\[pam_jwt\],\s*\[([^\]]+)\]", f.read())
    return m.group(1)


def copy_tree(dst):
    """The tree to build: git archive HEAD, or (a release tarball) the
    distributed files."""
    top = run(["git", "-C", SRC, "rev-parse", "--show-toplevel"])
    # Only when SRC is the checkout itself, not a tarball unpacked inside one.
    if top.returncode == 0 and os.path.realpath(top.stdout.strip()) == os.path.realpath(SRC):
        git = subprocess.Popen(["git", "-C", SRC, "archive", "--format=tar", "HEAD"], stdout=subprocess.PIPE)
        x = run(["tar", "-x", "-C", dst], stdin=git.stdout)
        git.stdout.close()
        if git.wait() != 0 or x.returncode != 0:
            raise RuntimeError("git archive: " + x.stderr)
        return "git archive HEAD"
    p = run(["make", "-C", BUILD, "distdir", "distdir=" + dst])
    if p.returncode != 0:
        raise RuntimeError("make distdir: " + tail(p.stdout + p.stderr))
    return "make distdir"


def tmp_root_walk(root):
    """Every path under root (relative, '/'-led), without following links."""
    out = set()
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add("/" + os.path.relpath(os.path.join(d, n), root))
    return out


# ---------------------------------------------------------------- skips
if os.environ.get("PJ_IN_DEB_TEST"):
    t.skip("package test", "running inside the package build")
    sys.exit(t.done())
if os.environ.get("PJ_SANITIZED"):
    # The package is built from the sources, not from this build: the plain
    # stage already judged it.
    t.skip("package test", "sanitizer build: the plain build's run covers it")
    sys.exit(t.done())
if os.geteuid() != 0:
    t.skip("package test", "needs root (dpkg-buildpackage, chroot)")
    sys.exit(t.done())
missing = [p for p in ("dpkg-buildpackage", "dh", "dpkg-deb", "fakeroot") if shutil.which(p) is None]
if missing:
    t.skip("package test", "not installed: " + " ".join(missing) + " (apt-get install dpkg-dev debhelper fakeroot)")
    sys.exit(t.done())

tmp = tempfile.mkdtemp(prefix="pj-deb-")
os.chmod(tmp, 0o755)
work = os.path.join(tmp, "src")
os.mkdir(work)
VER = version()
ARCH = run(["dpkg", "--print-architecture"]).stdout.strip()
MA = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()
DEB = os.path.join(tmp, "%s_%s_%s.deb" % (PKG, VER, ARCH))


H = None  # the HTTPS test issuer, once started


def cleanup():
    """Also on an exception: stop the issuer, drop the temp tree (no
    mounts in the chroot, so removing it touches nothing else)."""
    if H is not None:
        control.stop(H)
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)


def finish():
    t.comment("total %.0f s" % (time.monotonic() - T0))
    sys.exit(t.done())


# ---------------------------------------------------------------- build
try:
    how = copy_tree(work)
except Exception as e:  # noqa: BLE001
    t.ok(False, "copy of the source tree", e)
    finish()
# Release tarballs may not keep modes: debian/rules runs as a program.
os.chmod(os.path.join(work, "debian", "rules"), 0o755)
env = dict(os.environ, PJ_IN_DEB_TEST="1",
           DEB_BUILD_OPTIONS="nocheck parallel=%d" % (os.cpu_count() or 1))
t0 = time.monotonic()
p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=work, env=env, timeout=1800)
t.comment("dpkg-buildpackage from %s: %.0f s" % (how, time.monotonic() - t0))
if not t.ok(p.returncode == 0 and os.path.exists(DEB),
            "dpkg-buildpackage -us -uc -b builds %s" % os.path.basename(DEB),
            "exit %d; debs: %s\n%s" % (p.returncode, glob.glob(tmp + "/*.deb"), tail(p.stdout + p.stderr, 40))):
    finish()

# ---------------------------------------------------------------- lintian
if shutil.which("lintian"):
    t0 = time.monotonic()
    changes = glob.glob(os.path.join(tmp, "%s_%s_%s.changes" % (PKG, VER, ARCH)))
    p = run(["lintian", "--pedantic"] + (changes or [DEB]), timeout=600)
    t.comment("lintian: %.0f s" % (time.monotonic() - t0))
    lines = (p.stdout + p.stderr).splitlines()
    errs = [ln for ln in lines if ln.startswith("E:")]
    warns = [ln for ln in lines if ln.startswith("W:")]
    t.ok(not errs, "lintian: no error", "\n".join(errs))
    t.ok(not warns, "lintian: no warning (the justified ones are in debian/*.lintian-overrides)",
         "\n".join(warns))
    t.ok(not [ln for ln in lines if ln.startswith("P:")], "lintian --pedantic: nothing pedantic",
         "\n".join(ln for ln in lines if ln.startswith("P:")))
else:
    t.skip("lintian", "lintian not installed")

# ---------------------------------------------------------------- contents
p = run(["dpkg-deb", "-c", DEB])
entries = {}
for ln in p.stdout.splitlines():
    w = ln.split(None, 5)
    path = w[5].split(" -> ")[0]
    path = "/" + path[2:].rstrip("/") if path.startswith("./") else path
    entries[path] = (w[0], w[1])

# Where libpam keeps its modules here: the folder of pam_unix.so.
unix = [ln for ln in run(["dpkg", "-L", "libpam-modules"]).stdout.splitlines() if ln.endswith("/pam_unix.so")]
pamdir = os.path.dirname(unix[0]) if unix else "/lib/%s/security" % MA
want = {
    pamdir + "/pam_jwt.so": "-rw-r--r--",
    "/usr/bin/pam_jwt_check": "-rwxr-xr-x",
    "/usr/bin/pam_jwt_askpass": "-rwxr-xr-x",
    "/usr/libexec/pam_jwt/pam_jwt_fetch": "-rwx--x--x",
    "/usr/libexec/pam_jwt/pam-jwt-refresh": "-rwxr-xr-x",
    "/var/cache/pam_jwt": "drwxr-xr-x",
    "/var/lib/pam_jwt": "drwx------",
    "/lib/systemd/system/pam-jwt-refresh.service": "-rw-r--r--",
    "/lib/systemd/system/pam-jwt-refresh.timer": "-rw-r--r--",
    "/usr/lib/sysusers.d/pam_jwt.conf": "-rw-r--r--",
    "/usr/lib/tmpfiles.d/pam_jwt.conf": "-rw-r--r--",
    "/usr/share/man/man8/pam_jwt.8.gz": "-rw-r--r--",
    "/usr/share/man/man5/pam_jwt.conf.5.gz": "-rw-r--r--",
    "/usr/share/man/man1/pam_jwt_check.1.gz": "-rw-r--r--",
    "/usr/share/man/man1/pam_jwt_askpass.1.gz": "-rw-r--r--",
    "/usr/share/doc/%s/copyright" % PKG: "-rw-r--r--",
    "/usr/share/doc/%s/pam.d-examples/sshd" % PKG: "-rw-r--r--",
    "/usr/share/doc/%s/pam.d-examples/sudoers.snippet" % PKG: "-rw-r--r--",
}
bad = ["%s: %s" % (k, entries.get(k, ("missing",))) for k, m in want.items()
       if entries.get(k) != (m, "root/root")]
t.ok(not bad, "dpkg-deb -c: %d paths with their modes, root-owned (module in %s)" % (len(want), pamdir),
     "\n".join(bad))
# dh_compress gzips the larger ones.
docs = [d for d in ("README.md", "NEWS", "github-actions.md", "kubernetes.md")
        if not ({"/usr/share/doc/%s/%s" % (PKG, d), "/usr/share/doc/%s/%s.gz" % (PKG, d)} & set(entries))]
t.ok(not docs, "README.md, NEWS and the guides in /usr/share/doc/%s" % PKG, "missing: %s" % docs)
examples = sorted(os.listdir(os.path.join(SRC, "pam.d-examples")))
gone = [e for e in examples if "/usr/share/doc/%s/pam.d-examples/%s" % (PKG, e) not in entries]
t.ok(not gone, "every file of pam.d-examples/ shipped (%d)" % len(examples), "missing: %s" % gone)
t.ok(not [k for k in entries if k.endswith(".la") or k.endswith(".a")], "no .la or .a in the package",
     [k for k in entries if k.endswith(".la")])
t.ok(not [k for k in entries if k.startswith(("/etc/pam.d", "/etc/ssh", "/etc/sudoers"))],
     "no file under /etc/pam.d, /etc/ssh or /etc/sudoers*")
ctl = os.path.join(tmp, "control")
run(["dpkg-deb", "-e", DEB, ctl])
with open(os.path.join(ctl, "control")) as f:
    ctl_text = f.read()
deps = re.search(r"^Depends: (.*)$", ctl_text, re.M).group(1)
t.ok("systemd" not in deps and "adduser" not in deps, "Depends names neither systemd nor adduser",
     "Depends: " + deps)
scripts = ""
for s in ("preinst", "postinst", "prerm", "postrm"):
    if os.path.exists(os.path.join(ctl, s)):
        with open(os.path.join(ctl, s)) as f:
            scripts += f.read()
code = "\n".join(ln for ln in scripts.splitlines() if not ln.lstrip().startswith("#"))
t.ok(not re.search(r"pam\.d|pam-auth-update|sshd_config|sudoers|adduser", code),
     "maintainer scripts touch no PAM stack, sshd_config or sudoers, and call no adduser")

# ---------------------------------------------------------------- the unpacked files
x = os.path.join(tmp, "x")
run(["dpkg-deb", "-x", DEB, x])
p = run([os.path.join(x, "usr/bin/pam_jwt_check"), "--version"])
t.eq((p.returncode, p.stdout.strip()), (0, "pam_jwt " + VER), "the packaged pam_jwt_check --version")
with open(os.path.join(x, "lib/systemd/system/pam-jwt-refresh.service")) as f:
    unit = "\n".join(ln for ln in f.read().splitlines() if not ln.startswith("#"))
caps = re.search(r"^CapabilityBoundingSet=(.*)$", unit, re.M)
caps = caps.group(1).split() if caps else []
# The same bounding set for the refresh script below, through setpriv.
BSET = "-all" + "".join(",+" + c[4:].lower() for c in caps)
t.ok({"CAP_SETUID", "CAP_SETGID", "CAP_KILL"} <= set(caps) and "PrivateUsers" not in unit
     and re.search(r"^ProtectSystem=(full|yes|false|no)?$", unit, re.M) is not None
     and "ExecStart=/usr/libexec/pam_jwt/pam-jwt-refresh" in unit,
     "service: CAP_SETUID, CAP_SETGID and CAP_KILL kept, no PrivateUsers=, /var writable, runs the refresh script")
with open(os.path.join(x, "lib/systemd/system/pam-jwt-refresh.timer")) as f:
    timer = f.read()
t.ok(re.search(r"^RandomizedDelaySec=\S+", timer, re.M) and "WantedBy=timers.target" in timer,
     "timer: RandomizedDelaySec, enabled by timers.target")
enable = re.search(r"deb-systemd-helper enable 'pam-jwt-refresh\.timer'", scripts)
t.ok(enable is not None and "enable 'pam-jwt-refresh.service'" not in scripts,
     "postinst enables the timer, not the service")

if shutil.which("systemd-analyze"):
    # --root: ExecStart= is looked up in the unpacked tree, which also needs
    # systemd's own targets and slices.
    for u in glob.glob("/lib/systemd/system/*.target") + glob.glob("/lib/systemd/system/*.slice"):
        dst = os.path.join(x, "lib/systemd/system", os.path.basename(u))
        if not os.path.lexists(dst):
            shutil.copy(u, dst, follow_symlinks=False)
    p = run(["systemd-analyze", "verify", "--root=" + x, "--man=no",
             "/lib/systemd/system/pam-jwt-refresh.service", "/lib/systemd/system/pam-jwt-refresh.timer"])
    msgs = [ln for ln in (p.stdout + p.stderr).splitlines() if "pam-jwt" in ln or "pam_jwt" in ln]
    t.ok(p.returncode == 0 and not msgs, "systemd-analyze verify accepts both units", p.stdout + p.stderr)
else:
    t.skip("systemd-analyze verify", "systemd-analyze not installed")

if shutil.which("systemd-sysusers"):
    r = os.path.join(tmp, "sysusers-root")
    os.makedirs(r + "/etc")
    p = run(["systemd-sysusers", "--root=" + r, os.path.join(x, "usr/lib/sysusers.d/pam_jwt.conf")])
    ent = {}
    if os.path.exists(r + "/etc/passwd"):
        ent = {ln.split(":")[0]: ln.split(":") for ln in open(r + "/etc/passwd").read().splitlines()}
    u = ent.get("_pam_jwt", [])
    t.ok(p.returncode == 0 and len(u) == 7 and u[5:] == ["/nonexistent", "/usr/sbin/nologin"]
         and 0 < int(u[2]) < 1000, "sysusers.d: a system user _pam_jwt, home /nonexistent, nologin",
         "%s %s" % (p.stderr, u))
    r = os.path.join(tmp, "tmpfiles-root")
    os.makedirs(r)
    p = run(["systemd-tmpfiles", "--root=" + r, "--create", os.path.join(x, "usr/lib/tmpfiles.d/pam_jwt.conf")])
    modes = [stat.S_IMODE(os.stat(r + d).st_mode) if os.path.isdir(r + d) else None
             for d in ("/var/cache/pam_jwt", "/var/lib/pam_jwt")]
    t.eq((p.returncode, modes), (0, [0o755, 0o700]), "tmpfiles.d: /var/cache/pam_jwt 0755, /var/lib/pam_jwt 0700")
else:
    t.skip("sysusers.d and tmpfiles.d files", "systemd-sysusers not installed")

# postinst under a PATH of shims: which of the two ways it takes, with what.
shims = os.path.join(tmp, "shims")
os.mkdir(shims)
log = os.path.join(tmp, "shims.log")
for name, rc in (("getent", 2), ("useradd", 0), ("systemd-sysusers", 0)):
    with open(os.path.join(shims, name), "w") as f:
        f.write("#!/bin/sh\necho \"%s $*\" >> %s\nexit %d\n" % (name, log, rc))
    os.chmod(os.path.join(shims, name), 0o755)


def postinst_calls(with_sysusers):
    if not with_sysusers:
        os.unlink(os.path.join(shims, "systemd-sysusers"))
    if os.path.exists(log):
        os.unlink(log)
    p = run(["/bin/sh", os.path.join(ctl, "postinst"), "configure"], env={"PATH": shims})
    calls = open(log).read().splitlines() if os.path.exists(log) else []
    return p.returncode, [c for c in calls if not c.startswith("getent")]


t.eq(postinst_calls(True), (0, ["systemd-sysusers /usr/lib/sysusers.d/pam_jwt.conf"]),
     "postinst with systemd-sysusers: the sysusers.d file, no useradd")
t.eq(postinst_calls(False),
     (0, ["useradd --system --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "
          "--comment pam_jwt fetch helper _pam_jwt"]),
     "postinst without systemd-sysusers: useradd --system, home /nonexistent, nologin")

# ---------------------------------------------------------------- a throwaway Debian
root = os.path.join(tmp, "chroot")


def chroot(*cmd, timeout=300, **kw):
    e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    e.update(kw.pop("env", {}))
    return run(["chroot", root] + list(cmd), timeout=timeout, env=e, **kw)


def make_chroot():
    """A minbase Debian with the package's libraries, from the cache when
    there is one. Returns None or why not."""
    if os.path.exists(BASE_CACHE):
        os.mkdir(root)
        p = run(["tar", "-C", root, "--numeric-owner", "-xpf", BASE_CACHE])
        return None if p.returncode == 0 else "cannot unpack %s: %s" % (BASE_CACHE, p.stderr)
    if shutil.which("debootstrap") is None:
        return "debootstrap not installed"
    t0 = time.monotonic()
    p = run(["debootstrap", "--variant=minbase", "--include=" + CHROOT_DEPS, SUITE, root], timeout=900)
    t.comment("debootstrap: %.0f s" % (time.monotonic() - t0))
    if p.returncode != 0:
        return "debootstrap failed (mirror unreachable?): " + tail(p.stdout + p.stderr, 1)
    os.makedirs(os.path.dirname(BASE_CACHE), exist_ok=True)
    if run(["tar", "-C", root, "--numeric-owner", "-cf", BASE_CACHE + ".t", "."]).returncode == 0:
        os.replace(BASE_CACHE + ".t", BASE_CACHE)
    return None


t0 = time.monotonic()
why = make_chroot()
t.comment("chroot ready: %.0f s" % (time.monotonic() - t0))
if why:
    t.skip("install into a throwaway Debian", why)
    finish()

shutil.copy(DEB, os.path.join(root, "tmp"))
before = tmp_root_walk(root)
p = chroot("apt-get", "install", "-y", "--no-install-recommends", "/tmp/" + os.path.basename(DEB))
if not t.ok(p.returncode == 0, "apt-get install ./%s in the chroot" % os.path.basename(DEB), tail(p.stdout + p.stderr)):
    finish()
pw = chroot("getent", "passwd", "_pam_jwt").stdout.strip().split(":")
t.ok(len(pw) == 7 and pw[5] == "/nonexistent" and pw[6] == "/usr/sbin/nologin" and 0 < int(pw[2]) < 1000
     and not os.path.exists(root + "/nonexistent"),
     "installed: _pam_jwt is a system user, home /nonexistent (not made), shell nologin", pw)
st = {d: os.stat(root + d) for d in ("/var/cache/pam_jwt", "/var/lib/pam_jwt", "/usr/libexec/pam_jwt/pam_jwt_fetch")}
t.eq({d: (stat.S_IMODE(s.st_mode), s.st_uid) for d, s in st.items()},
     {"/var/cache/pam_jwt": (0o755, 0), "/var/lib/pam_jwt": (0o700, 0),
      "/usr/libexec/pam_jwt/pam_jwt_fetch": (0o711, 0)},
     "installed: cache 0755, state 0700, helper 0711, all root's")
t.ok(os.path.islink(root + "/etc/systemd/system/timers.target.wants/pam-jwt-refresh.timer"),
     "installed: the timer is enabled")
p = chroot("pam_jwt_check", "--version")
t.eq((p.returncode, p.stdout.strip()), (0, "pam_jwt " + VER), "installed: pam_jwt_check --version")

# A login through the installed module and fetch helper (as _pam_jwt),
# against the HTTPS test issuer on 127.0.0.1 (a chroot shares the network).
drive = os.path.join(BUILD, "tests", "pam", "pjdrive")
have_login = os.path.exists(drive) and mint is not None
if have_login:
    H = control.start(os.path.join(tmp, "issuer"))
    key = mint.load_key(control.key_file(H, "ec-p256"))
    etc = root + "/etc/security/pam_jwt"
    os.makedirs(etc, exist_ok=True)
    shutil.copy(H.ca, etc + "/ca.pem")
    with open(etc + "/login.conf", "w") as f:
        f.write("issuer = %s\naudience = ssh://chroot\nca_file = /etc/security/pam_jwt/ca.pem\n" % H.url)
    os.chmod(etc + "/login.conf", 0o644)
    chroot("useradd", "--no-create-home", "deploy")
    shutil.copy(drive, root + "/tmp/pjdrive")
    svc = root + "/tmp/svc"
    os.makedirs(svc, exist_ok=True)
    with open(svc + "/pjtest", "w") as f:
        f.write("auth required pam_jwt.so config=/etc/security/pam_jwt/login.conf\n")

    def login(sub):
        tok = mint.sign(key, "ES256", mint.claims(iss=H.url, aud="ssh://chroot", sub=sub), {"kid": "ec-p256"})
        with open(root + "/tmp/ans", "w") as f:
            f.write(tok + "\n")
        p = chroot("/tmp/pjdrive", "--confdir", "/tmp/svc", "--service", "pjtest", "--user", "deploy",
                   "--answers", "/tmp/ans", timeout=60)
        res = [ln.split()[1] for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
        return (res[-1] if res else "none"), p

    res, p = login("deploy")
    cached = os.listdir(root + "/var/cache/pam_jwt")
    t.ok(res == "PAM_SUCCESS" and cached, "installed: a login through pam_jwt.so and the helper as _pam_jwt, "
         "keys cached in /var/cache/pam_jwt", "%s %s\n%s" % (res, cached, p.stdout + p.stderr))
    res, p = login("someone-else")
    t.ok(res not in ("PAM_SUCCESS", "none"), "installed: the same login as another sub is refused",
         res + "\n" + p.stdout + p.stderr)
else:
    t.skip("installed: login through the module", "no pjdrive or python3-jwcrypto")

# The refresh script, as the service runs it; under the service's capability
# bounding set (setpriv): the helper's user switch still works, and a hung
# helper (another user's process) is still killed at http_timeout.
refresh = "/usr/libexec/pam_jwt/pam-jwt-refresh"
if H is not None:
    etc = root + "/etc/security/pam_jwt"
    with open(etc + "/from-pam-line.conf", "w") as f:
        f.write("audience = ssh://chroot\n")  # its issuer would come from the PAM line
    # Sections, two of one issuer (sshd's and sudo's), as multi-issuer.conf has.
    with open(etc + "/sections.conf", "w") as f:
        f.write("audience = ssh://chroot\nca_file = /etc/security/pam_jwt/ca.pem\n[issuer ssh]\nissuer = %s\n"
                "[issuer sudo]\nissuer = %s\naudience = sudo://chroot\n" % (H.url, H.url))
    for c in glob.glob(root + "/var/cache/pam_jwt/*"):
        os.unlink(c)
    p = chroot("setpriv", "--bounding-set=" + BSET, "--no-new-privs", refresh)
    out = p.stdout + p.stderr
    t.ok(p.returncode == 0 and "login.conf: refreshed" in out and "from-pam-line.conf: skipped" in out
         and "sections.conf: refreshed" in out and os.listdir(root + "/var/cache/pam_jwt"),
         "pam-jwt-refresh under the unit's bounding set: refreshes login.conf and a file with sections, "
         "skips a file that cannot stand alone, exit 0", "exit %d\n%s" % (p.returncode, out))
    with open(root + "/usr/local/sbin/pj-sleeper", "w") as f:
        f.write("#!/bin/sh\nexec sleep 30\n")
    os.chmod(root + "/usr/local/sbin/pj-sleeper", 0o755)
    with open(root + "/tmp/hung.conf", "w") as f:
        f.write("issuer = %s\naudience = x\njwks_uri = %s/jwks\nfetch_helper = /usr/local/sbin/pj-sleeper\n"
                "http_timeout = 2\ncache_dir = /var/cache/pj-hung\n" % (H.url, H.url))
    os.chmod(root + "/tmp/hung.conf", 0o644)
    t0 = time.monotonic()
    p = chroot("setpriv", "--bounding-set=" + BSET, "--no-new-privs", "pam_jwt_check", "--refresh",
               "--config", "/tmp/hung.conf", timeout=120)
    dt = time.monotonic() - t0
    t.ok(p.returncode == 3 and dt < 15, "under the unit's bounding set a hung helper is killed at http_timeout "
         "(2 s; it would sleep 30)", "exit %d after %.1f s\n%s" % (p.returncode, dt, p.stderr))
    for junk in ("/usr/local/sbin/pj-sleeper", "/tmp/hung.conf"):
        os.unlink(root + junk)
    shutil.rmtree(root + "/var/cache/pj-hung", ignore_errors=True)
    with open(etc + "/broken.conf", "w") as f:
        f.write("issuer = %s\naudience = x\njwks_uri = https://127.0.0.1:1/none\nca_file = /etc/security/pam_jwt/ca.pem\n"
                % H.url)
    # The twin of the skipped file: another configuration error is a failure.
    with open(etc + "/badopt.conf", "w") as f:
        f.write("issuer = %s\naudience = x\nleeway = -5\n" % H.url)
    p = chroot(refresh)
    t.ok(p.returncode != 0 and "broken.conf: refresh failed" in p.stderr and "login.conf: refreshed" in p.stdout
         and "badopt.conf: refresh failed (exit 2)" in p.stderr and "from-pam-line.conf: skipped" in p.stdout,
         "pam-jwt-refresh: a file that fails to fetch, or has another configuration error, makes the run fail; "
         "the others still refreshed", "exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    control.stop(H)
    H = None
    for c in glob.glob(etc + "/*"):
        os.unlink(c)
p = chroot(refresh)
t.ok(p.returncode == 0 and p.stdout == "" and p.stderr == "",
     "pam-jwt-refresh with no file in /etc/security/pam_jwt: does nothing, exit 0", p.stdout + p.stderr)

# Purge: only the user stays.
for junk in ("/tmp/pjdrive", "/tmp/ans", "/tmp/svc/pjtest", "/tmp/svc"):
    if os.path.isdir(root + junk):
        os.rmdir(root + junk)
    elif os.path.exists(root + junk):
        os.unlink(root + junk)
chroot("userdel", "deploy")
if os.path.isdir(root + "/etc/security/pam_jwt"):
    os.rmdir(root + "/etc/security/pam_jwt")
p = chroot("apt-get", "purge", "-y", PKG)
t.ok(p.returncode == 0 and chroot("dpkg-query", "-W", PKG).returncode != 0, "apt-get purge %s" % PKG,
     tail(p.stdout + p.stderr))
after = tmp_root_walk(root)
# The package system's own records, logs and the user database change.
noise = re.compile(r"^/(var/lib/dpkg|var/lib/apt|var/cache/apt|var/cache/debconf|var/log|etc/ld\.so\.cache"
                   r"|etc/(passwd|group|shadow|gshadow|subuid|subgid)-$|etc/\.pwd\.lock$|tmp/%s)" % re.escape(os.path.basename(DEB)))
left = sorted(pth for pth in after - before if not noise.match(pth))
t.ok(not left, "after purge nothing of the package is left", "\n".join(left[:30]))
t.ok(chroot("getent", "passwd", "_pam_jwt").returncode == 0, "after purge the user _pam_jwt stays")
finish()
