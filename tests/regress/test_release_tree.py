#!/usr/bin/python3
"""Issue 11: a fresh install from a release tarball passes its own tests.

A GitHub tarball gives its files 0664 and folders 0775, and a tree may
have been configured in place before scripts/quickstart runs. Fast stand-ins
for the slow real thing (a release tree built and tested from scratch):

- tests/lib/files.py install() gives the mode asked for, never the source's;
- tests/pam/test_examples.py passes from a copy of its sources in the
  tarball's modes (it failed all 15 cases: the maps kept 0664 and the module
  refused them);
- scripts/quickstart, in a stand-in tree whose configure, autoreconf and
  dpkg-query are small fakes (configure refuses a source folder already
  configured, as autoconf's does), builds in ./build whatever the tree has
  seen: configured in place, an earlier quick start, make distclean, no
  configure at all, a configure older than configure.ac. TAP output."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or os.path.join(SRC, "build")
sys.path[:0] = [os.path.join(SRC, "tests", "lib")]
from files import install, slurp, write  # noqa: E402
from tap import Tap  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-release-")
os.chmod(tmp, 0o755)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def tarball_copy(rel, dst):
    """SRC/rel (file or folder) into dst with a release tarball's modes:
    folders and executables 0775, other files 0664."""
    s = os.path.join(SRC, rel)
    d = os.path.join(dst, rel)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    if os.path.isdir(s):
        shutil.copytree(s, d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copy2(s, d)
    for root, dirs, files in os.walk(os.path.dirname(d)):
        os.chmod(root, 0o775)
        for f in files:
            p = os.path.join(root, f)
            os.chmod(p, 0o775 if mode(p) & 0o111 else 0o664)


def test_install():
    src = write(os.path.join(tmp, "src.map"), "root* =\n", 0o664)
    old = os.umask(0)
    try:
        got = install(src, os.path.join(tmp, "dst.map"))
        t.eq(mode(got), 0o644, "install: a 0664 source installed 0644 (umask 0)")
        t.eq(slurp(got), b"root* =\n", "install: the content copied")
        got = install(src, os.path.join(tmp, "dst.600"), 0o600, lambda s: s + "x =\n")
        t.eq(mode(got), 0o600, "install: the mode asked for, 0600")
        t.eq(slurp(got), b"root* =\nx =\n", "install: edit maps the text")
    finally:
        os.umask(old)
    t.eq(mode(src), 0o664, "install: the source left as it was")


def test_examples():
    drive = os.path.join(BUILD, "tests", "pam", "pjdrive")
    if not os.path.exists(drive):
        t.skip("test_examples.py from a tarball-mode tree", "no %s" % drive)
        return
    top = os.path.join(tmp, "tree")
    for rel in ("pam.d-examples", "tests/lib", "tests/mint", "tests/pam/test_examples.py"):
        tarball_copy(rel, top)
    t.eq(mode(os.path.join(top, "pam.d-examples", "github-actions.map")), 0o664,
         "the stand-in tree has the tarball's modes (control)")
    env = dict(os.environ, PJ_TOP_SRCDIR=top, PJ_TOP_BUILDDIR=BUILD)
    p = subprocess.run([sys.executable, os.path.join(top, "tests", "pam", "test_examples.py")],
                       env=env, capture_output=True, text=True, timeout=300)
    lines = p.stdout.splitlines()
    bad = [l for l in lines if l.startswith("not ok")]
    good = [l for l in lines if l.startswith("ok")]
    t.ok(p.returncode == 0 and not bad and len(good) >= 15,
         "test_examples.py passes from a tree of 0664 files and 0775 folders",
         "rc %d, %d ok, failed: %s %s" % (p.returncode, len(good), bad[:3], p.stderr[-500:]))


# -- scripts/quickstart in a stand-in tree

CONFIGURE = r'''#!/bin/sh
# autoconf's rule: a source folder configured in place cannot serve another.
srcdir=$(cd "$(dirname "$0")" && pwd)
if [ "$srcdir" != "$(pwd)" ] && [ -f "$srcdir/config.status" ]; then
	echo 'configure: error: source directory already configured; run "make distclean" there first' >&2
	exit 1
fi
echo "$(pwd)" >>"$srcdir/../configure.calls"
echo configured >config.status
printf 'all:\n\t@:\ndistclean:\n\t%s\n' "${PJ_FAKE_DISTCLEAN:-rm -f config.status Makefile}" >Makefile
'''

AUTORECONF = r'''#!/bin/sh
echo autoreconf >>../autoreconf.calls
[ -z "${PJ_FAKE_AUTORECONF_FAILS:-}" ] || { echo "autoreconf: fake failure" >&2; exit 1; }
cp "$PJ_FAKE_CONFIGURE" configure && chmod 0755 configure
: >Makefile.in
mkdir -p build-aux && : >build-aux/install-sh
'''


class Tree:
    """A stand-in source tree under tmp/qs/top with the real quickstart."""

    def __init__(self):
        self.base = os.path.join(tmp, "qs")
        shutil.rmtree(self.base, ignore_errors=True)
        self.top = os.path.join(self.base, "top")
        self.bin = os.path.join(self.base, "bin")
        for d in (self.top, self.bin, os.path.join(self.top, "scripts"), os.path.join(self.top, "tests", "demo"),
                  os.path.join(self.top, "build-aux")):
            os.makedirs(d, 0o755, exist_ok=True)
        install(os.path.join(SRC, "scripts", "quickstart"), os.path.join(self.top, "scripts", "quickstart"), 0o755)
        write(os.path.join(self.top, "tests", "demo", "demo.sh"), 'echo "demo ran in $1"\n')
        self.fake_configure = write(os.path.join(self.base, "configure.fake"), CONFIGURE, 0o755)
        write(os.path.join(self.bin, "dpkg-query"), "#!/bin/sh\necho 'install ok installed'\n", 0o755)
        write(os.path.join(self.bin, "apt-get"), "#!/bin/sh\necho apt-get must not run >&2\nexit 1\n", 0o755)
        write(os.path.join(self.bin, "autoreconf"), AUTORECONF, 0o755)
        old = time.time() - 3600
        for f in ("configure.ac", "Makefile.am"):
            os.utime(write(os.path.join(self.top, f), ""), (old, old))
        install(self.fake_configure, os.path.join(self.top, "configure"), 0o755)
        write(os.path.join(self.top, "Makefile.in"), "")
        write(os.path.join(self.top, "build-aux", "install-sh"), "")

    def calls(self, what):
        p = os.path.join(self.base, what + ".calls")
        return open(p).read().splitlines() if os.path.exists(p) else []

    def run(self, args, cwd=None, **env):
        e = dict(os.environ, PATH=self.bin + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                 PJ_FAKE_CONFIGURE=self.fake_configure, **env)
        e.pop("MAKEFLAGS", None)
        e.pop("MFLAGS", None)
        return subprocess.run(args, cwd=cwd or self.top, env=e, capture_output=True, text=True, timeout=60)

    def quickstart(self, **env):
        return self.run(["sh", os.path.join(self.top, "scripts", "quickstart"), "demo"], **env)

    def exists(self, rel):
        return os.path.exists(os.path.join(self.top, rel))


def demo_ran(tree, p):
    return p.returncode == 0 and ("demo ran in %s/build" % tree.top) in p.stdout


def test_quickstart():
    build = lambda tr: os.path.join(tr.top, "build")  # noqa: E731
    tr = Tree()
    p = tr.run(["./configure"])
    t.ok(p.returncode == 0 and tr.exists("config.status"), "quickstart: the stand-in configures in place (control)",
         p.stderr)
    p = tr.run([os.path.join(tr.top, "configure")], cwd=tr.bin)
    t.ok(p.returncode != 0 and "already configured" in p.stderr,
         "quickstart: the stand-in then refuses another folder, as autoconf's (control)", p.stderr)
    p = tr.quickstart()
    t.ok(demo_ran(tr, p), "quickstart: demo after an in-place ./configure", p.stdout + p.stderr)
    t.ok(not tr.exists("config.status") and tr.exists("build/config.status"),
         "quickstart: the in-place configuration cleaned, ./build configured")
    t.eq(tr.calls("autoreconf"), [], "quickstart: configure up to date: no autoreconf")
    n = len(tr.calls("configure"))
    p = tr.quickstart()
    t.ok(demo_ran(tr, p) and len(tr.calls("configure")) == n,
         "quickstart: demo after an earlier quick start, ./build kept", p.stdout + p.stderr)
    p = tr.run(["make", "-C", build(tr), "distclean"])
    t.ok(p.returncode == 0 and not tr.exists("build/Makefile"), "quickstart: make distclean in ./build (control)",
         p.stderr)
    p = tr.quickstart()
    t.ok(demo_ran(tr, p) and tr.exists("build/Makefile") and len(tr.calls("configure")) == n + 1,
         "quickstart: demo after make distclean, ./build configured again", p.stdout + p.stderr)

    # Reject twin: a distclean that fails stops the quick start, said so.
    tr = Tree()
    tr.run(["./configure"], PJ_FAKE_DISTCLEAN="false")
    p = tr.quickstart()
    t.ok(p.returncode != 0 and "make distclean failed" in p.stderr and not tr.exists("build/Makefile"),
         "quickstart: a failing make distclean in place stops it, with a message", p.stdout + p.stderr)

    # A tarball (no configure) and a git tree after a pull (configure.ac newer).
    tr = Tree()
    for f in ("configure", "Makefile.in", "build-aux/install-sh"):
        os.unlink(os.path.join(tr.top, f))
    p = tr.quickstart()
    t.ok(demo_ran(tr, p) and tr.calls("autoreconf") == ["autoreconf"],
         "quickstart: a tree without configure: autoreconf, then the demo", p.stdout + p.stderr)
    os.utime(os.path.join(tr.top, "configure.ac"), (time.time() + 60,) * 2)
    p = tr.quickstart()
    t.ok(demo_ran(tr, p) and len(tr.calls("autoreconf")) == 2,
         "quickstart: configure older than configure.ac: autoreconf again", p.stdout + p.stderr)
    tr = Tree()
    os.unlink(os.path.join(tr.top, "configure"))
    p = tr.quickstart(PJ_FAKE_AUTORECONF_FAILS="1")
    t.ok(p.returncode != 0 and "autoreconf failed" in p.stderr and "fake failure" in p.stderr,
         "quickstart: a failing autoreconf stops it, with its output", p.stdout + p.stderr)


def main():
    test_install()
    test_quickstart()
    test_examples()


t.run(main, "test_release_tree main")
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
