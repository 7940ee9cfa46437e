#!/usr/bin/python3
"""Regression: the fetch helper never keeps an id 0 or a capability.

The module used to decide on the effective uid alone: a caller with real
uid 0 and another effective uid (a setuid-style daemon, one that dropped
only its effective id) ran the helper with real uid 0, group 0 and a full
permitted capability set. Now fetch_user is used when any uid is 0, else
the effective ids fill all three slots; the child empties every capability
set and refuses to run the helper while an id 0 or a capability remains.

src/pam_jwt_check runs under several identities, made by a python preexec
(setgroups, setresgid, setresuid, the bounding set, capset); fetch_helper
is tests/regress/pj_idhelper, a stand-in that writes its ids, groups,
capability sets and descriptors to a report and answers "200 -" with a
JWKS. Each accepted run has a twin in which the drop cannot succeed and
the fetch fails closed (exit 3, the helper never started). Root only.
TAP output.
"""
import ctypes
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-regress"
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib")]
import mint  # noqa: E402
from files import slurp, write  # noqa: E402
from tap import Tap  # noqa: E402

CHECK_BUILT = os.path.join(BUILD, "src", "pam_jwt_check")
IDHELPER_BUILT = os.path.join(BUILD, "tests", "regress", "pj_idhelper")
ISS = "https://issuer.fetch-privs.test"
AUD = "ssh://host1"
PR_CAPBSET_DROP = 24
CAP_SETUID = 7

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-fetchprivs-")
os.chmod(tmp, 0o755)        # nobody walks through it to the tool, the helper and its files
KEY = mint.gen_key("P-256", kid="fp1")
NOBODY = None
OTHER = None                # a fetch_user that is none of the caller's ids (daemon)
CHECK = os.path.join(tmp, "pam_jwt_check")
HELPER = os.path.join(tmp, "helper")
_n = [0]

libc = ctypes.CDLL(None, use_errno=True)


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def full_inheritable():
    """preexec: the inheritable set made equal to the permitted one (a
    host started under capsh --inh=...): a change of uid keeps it."""
    h = CapHeader(0x20080522, 0)
    d = (CapData * 2)()
    if libc.capget(ctypes.byref(h), d) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    for i in range(2):
        d[i].inheritable = d[i].permitted
    if libc.capset(ctypes.byref(h), d) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def no_setuid_after_exec():
    """preexec: CAP_SETUID out of the bounding set: after exec, real uid 0
    no longer brings it into the permitted set."""
    if libc.prctl(PR_CAPBSET_DROP, CAP_SETUID, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP")


def ident(groups, gids, uids, before=None):
    """A preexec_fn: groups first (needs CAP_SETGID), then gids, then uids."""
    def fn():
        if before is not None:
            before()
        os.setgroups(groups)
        os.setresgid(*gids)
        os.setresuid(*uids)
    return fn


def run(name, preexec, owner, user="nobody"):
    """pam_jwt_check with a fresh cache (owned by owner) and fetch_user=user:
    (exit status, reason, report dict or None, stderr)."""
    _n[0] += 1
    cache = os.path.join(tmp, "cache-%d" % _n[0])
    os.mkdir(cache, 0o700)
    os.chown(cache, owner, -1)
    report = HELPER + ".report"
    write(report, "", 0o666)
    os.chmod(report, 0o666)      # the helper, as nobody, writes into it (the folder is root's)
    os.truncate(report, 0)
    tok = mint.sign(KEY, "ES256", mint.claims(iss=ISS, aud=AUD, sub="nobody"), {"kid": "fp1"})
    cmd = [CHECK, "--json", "issuer=" + ISS, "audience=" + AUD, "algorithms=ES256",
           "jwks_uri=https://127.0.0.1:9/jwks", "cache_dir=" + cache, "fetch_helper=" + HELPER,
           "fetch_user=" + user, "http_timeout=10"]
    p = subprocess.run(cmd, input=tok.encode(), capture_output=True, timeout=60, preexec_fn=preexec,
                       env={"PATH": "/usr/bin:/bin"})
    try:
        reason = json.loads(p.stdout)["reason"]
    except ValueError:
        reason = None
    rep = None
    text = slurp(report).decode(errors="replace")
    if text:
        rep = {}
        for line in text.splitlines():
            k, _, v = line.partition(":")
            if k == "Fd":
                rep.setdefault("Fd", []).append(v.split()[0])
            else:
                rep[k] = v.split()
    if p.returncode not in (0, 3):
        t.comment("%s: exit %d, stderr: %s" % (name, p.returncode, p.stderr.decode(errors="replace")))
    return p.returncode, reason, rep, p.stderr.decode(errors="replace")


def dropped(name, rep, want_uid, want_gid, want_groups):
    """The helper saw only the wanted ids, no id 0, no capability, no extra descriptor."""
    if not t.ok(rep is not None, "%s: the helper ran and reported" % name):
        return
    ids = rep["Uid"] + rep["Gid"] + rep["Groups"]
    t.eq(rep["Uid"], [str(want_uid)] * 4, "%s: helper uids (real, effective, saved, fs) all %d" % (name, want_uid))
    t.eq(rep["Gid"], [str(want_gid)] * 4, "%s: helper gids all %d" % (name, want_gid))
    t.eq(sorted(rep["Groups"]), sorted(str(g) for g in want_groups), "%s: helper groups %s" % (name, want_groups))
    t.ok("0" not in ids, "%s: no id 0 anywhere in the helper" % name, ids)
    caps = {k: int(rep[k][0], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")}
    t.eq(caps, {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapAmb": 0}, "%s: helper capability sets all empty" % name)
    t.eq(rep.get("NoNewPrivs"), ["1"], "%s: helper runs with no_new_privs" % name)
    t.eq(sorted(rep.get("Fd", [])), ["0", "1", "2"], "%s: helper holds stdin, stdout, stderr only" % name)


def refused(name, res, why):
    """The drop could not succeed: the helper never ran, the fetch failed."""
    code, reason, rep, err = res
    t.eq((code, reason), (3, "keys_unavailable"), "%s: fetch fails closed (exit 3, keys_unavailable)" % name)
    t.eq(rep, None, "%s: the helper never ran" % name)
    t.ok(why in err, "%s: the failure is logged (%r)" % (name, why), err)


def t_root():
    # Plain root (sshd): fetch_user's ids and groups, nothing of root's.
    code, reason, rep, _ = run("root", None, 0)
    t.eq((code, reason), (0, "ok"), "root: the fetch works, the token is accepted")
    dropped("root", rep, NOBODY.pw_uid, NOBODY.pw_gid, [NOBODY.pw_gid])


def t_root_inheritable():
    # Root with an inheritable set: leaving uid 0 keeps it unless the child empties it.
    code, reason, rep, _ = run("root, inheritable set", full_inheritable, 0)
    t.eq((code, reason), (0, "ok"), "root with an inheritable set: accepted")
    dropped("root with an inheritable set", rep, NOBODY.pw_uid, NOBODY.pw_gid, [NOBODY.pw_gid])


def sanitized_mixed(name):
    """A sanitizer build cannot run with real uid 0 and another effective
    uid: exec makes such a process non-dumpable, so LeakSanitizer cannot
    stop it to scan, and it cannot read its own ASAN_OPTIONS to be told not
    to. The plain build runs these cases."""
    if os.environ.get("PJ_SANITIZED"):
        t.skip(name, "sanitizer build: LeakSanitizer fails in a process whose real and effective uid differ")
        return True
    return False


def t_ruid0():
    if sanitized_mixed("ruid 0, euid nobody"):
        return
    # The reported case: real and saved uid 0, effective 65534, group 0 among the groups.
    # fetch_user (daemon) is none of those ids: the helper gets its ids, not the effective ones.
    pre = ident([0], (0, 0, 0), (0, NOBODY.pw_uid, 0))
    code, reason, rep, _ = run("ruid 0, euid nobody", pre, NOBODY.pw_uid, OTHER.pw_name)
    t.eq((code, reason), (0, "ok"), "ruid 0, euid nobody, groups [0]: the fetch works, the token is accepted")
    dropped("ruid 0, euid nobody, groups [0]", rep, OTHER.pw_uid, OTHER.pw_gid, [OTHER.pw_gid])
    # Its twin: without CAP_SETUID after exec the switch to fetch_user cannot happen.
    pre = ident([0], (0, 0, 0), (0, NOBODY.pw_uid, 0), before=no_setuid_after_exec)
    refused("ruid 0, euid nobody, no CAP_SETUID",
            run("ruid 0, no CAP_SETUID", pre, NOBODY.pw_uid, OTHER.pw_name),
            "fetch_helper not run: cannot set its user and group ids")


def t_helper_0711():
    # A 0711 helper (as installed): a non-root caller cannot read it, only run it (O_PATH, execveat).
    if sanitized_mixed("helper mode 0711"):
        return
    os.chmod(HELPER, 0o711)
    try:
        pre = ident([0], (0, 0, 0), (0, NOBODY.pw_uid, 0))
        code, reason, rep, _ = run("0711 helper", pre, NOBODY.pw_uid, OTHER.pw_name)
        t.eq((code, reason), (0, "ok"), "ruid 0, euid nobody, helper mode 0711: accepted")
        dropped("helper mode 0711", rep, OTHER.pw_uid, OTHER.pw_gid, [OTHER.pw_gid])
    finally:
        os.chmod(HELPER, 0o755)


def t_not_root():
    # No uid 0: the effective ids in all three slots, the groups as they are.
    n = NOBODY.pw_uid
    g = NOBODY.pw_gid
    code, reason, rep, _ = run("nobody", ident([g], (g, g, g), (n, n, n)), n)
    t.eq((code, reason), (0, "ok"), "nobody: the fetch works, the token is accepted")
    dropped("nobody", rep, n, g, [g])
    # Its twins: a group 0 that a non-root caller cannot shed refuses the helper.
    refused("nobody with supplementary group 0", run("nobody, groups [0]", ident([0, g], (g, g, g), (n, n, n)), n),
            "fetch_helper not run: group 0 among its groups")
    refused("nobody with gid 0", run("nobody, gid 0", ident([g], (0, 0, 0), (n, n, n)), n),
            "fetch_helper not run: a group id would be 0")


def main():
    global NOBODY, OTHER
    if os.geteuid() != 0:
        t.skip("fetch privileges", "needs root (setresuid, setgroups, capabilities)")
        return
    for p in (CHECK_BUILT, IDHELPER_BUILT):
        if not os.path.exists(p):
            t.skip("fetch privileges", "%s not built" % p)
            return
    try:
        NOBODY = pwd.getpwnam("nobody")
        OTHER = pwd.getpwnam("daemon")
    except KeyError:
        t.skip("fetch privileges", "needs the users nobody and daemon")
        return
    if 0 in (OTHER.pw_uid, OTHER.pw_gid) or OTHER.pw_uid == NOBODY.pw_uid:
        t.skip("fetch privileges", "daemon is not an ordinary unprivileged user here")
        return
    # Copies with explicit modes: the checkout's or build tree's modes do not matter,
    # and nobody can reach them. The helper must be root's and not group/other writable.
    shutil.copyfile(CHECK_BUILT, CHECK)
    os.chmod(CHECK, 0o755)
    shutil.copyfile(IDHELPER_BUILT, HELPER)
    os.chmod(HELPER, 0o755)
    mint.write_jwks(HELPER + ".jwks", [KEY], 0o644)
    for fn in (t_root, t_root_inheritable, t_ruid0, t_helper_0711, t_not_root):
        t.run(fn, fn.__name__)


t.run(main, "test_fetch_privs main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
