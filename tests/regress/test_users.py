#!/usr/bin/python3
"""Regressions of the user step (issue 11, points 7 and 9).

Point 7: an account whose uid is 0 (root, or any alias of it) is reached
only through a user_map rule whose USER names it literally. Taken as the
claim is (no map), by "=", or by a \\N template, it is bad_user_name,
judged after the lookup: the PAM_USER check (wrong_user) comes first.
Before the fix a token whose sub was root logged in as root.

Point 9: the account lookup grows its buffer, so an entry larger than
4096 bytes (a long gecos) is found. Before the fix it was
user_lookup_failed.

Every case runs through src/pam_jwt_check --json and through pam_jwt.so in
the real libpam (tests/pam/pjdrive, with tests/pam/logshim.so catching the
verdict line for its reason). Tokens are minted by python3-jwcrypto
(tests/mint). The accounts made here (a uid-0 alias, a long gecos) need
root; they are removed at the end. TAP output.
"""
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-regress"
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib")]
import mint  # noqa: E402
from files import write  # noqa: E402
from tap import Tap  # noqa: E402

CHECK = os.path.join(BUILD, "src", "pam_jwt_check")
MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
SHIM = os.path.join(BUILD, "tests", "pam", ".libs", "logshim.so")
ISS = "https://issuer.users.test"
AUD = "ssh://host1"
ROOT = os.geteuid() == 0
ALIAS = "pjtoor0"          # a second name for uid 0
BIG = "pjbiggecos"         # an entry of about 8 KiB
GECOS = "x" * 8000
# What a verdict reason is through libpam.
PAM = {"ok": "PAM_SUCCESS", "bad_user_name": "PAM_AUTH_ERR", "wrong_user": "PAM_AUTH_ERR",
       "user_unknown": "PAM_USER_UNKNOWN", "user_lookup_failed": "PAM_AUTHINFO_UNAVAIL"}

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-users-")
os.chmod(tmp, 0o755)
KEY = mint.gen_key("P-256", kid="e1")
JWKS = os.path.join(tmp, "jwks.json")


def tok(sub):
    return mint.sign(KEY, "ES256", mint.claims(iss=ISS, aud=AUD, sub=sub), {"kid": "e1"})


def opts(rules):
    a = ["issuer=" + ISS, "audience=" + AUD, "jwks_file=" + JWKS, "algorithms=ES256"]
    if rules is not None:
        a.append("user_map=" + write(os.path.join(tempfile.mkdtemp(dir=tmp), "map"), rules, 0o644))
    return a


def check(token, user, rules=None):
    """pam_jwt_check --json: (reason, detail)."""
    p = subprocess.run([CHECK, "--json", "--user", user] + opts(rules), input=token.encode(),
                       capture_output=True, timeout=60)
    try:
        out = json.loads(p.stdout)
        return out.get("reason"), out.get("detail")
    except ValueError:
        return None, "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[:300])


def login(token, user, rules=None):
    """One login through libpam: (PAM result name, reason of the verdict line)."""
    d = tempfile.mkdtemp(dir=tmp)
    write(os.path.join(d, "pjusers"), "auth required %s %s\n" % (MODULE, " ".join(opts(rules))))
    log = os.path.join(d, "log")
    ans = write(os.path.join(d, "answers"), token + "\n")
    env = dict(os.environ, LD_PRELOAD=SHIM, PJ_LOG_FILE=log)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    p = subprocess.run([DRIVE, "--confdir", d, "--service", "pjusers", "--user", user, "--answers", ans],
                       capture_output=True, text=True, timeout=120, env=env)
    res = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    why = None
    if os.path.exists(log):
        with open(log, "rb") as f:
            for rec in f.read().decode("ascii", "replace").splitlines():
                m = re.search(r"pam_jwt\([^)]*\): result=\S+ reason=([a-z_]+)", rec)
                if m:
                    why = m.group(1)
    shutil.rmtree(d, ignore_errors=True)
    return (res[-1] if res else "NO_RESULT: " + p.stderr.strip()[:300]), why


def both(sub, user, rules, want, name):
    """The same verdict from pam_jwt_check and from the module in libpam."""
    token = tok(sub)
    got = check(token, user, rules)
    t.eq(got[0], want, name + " [pam_jwt_check]")
    t.eq(login(token, user, rules), (PAM[want], want), name + " [libpam]")
    return got


# ---------------------------------------------------------------- point 7

def t_root():
    # uid 0 without a map: sub root is refused; the control sub bin logs in.
    r = both("root", "root", None, "bad_user_name", "uid 0: sub root, no user_map -> bad_user_name")
    # The detail names the account and its uid.
    t.ok(r[1] is not None and "root" in r[1] and "uid 0" in r[1],
         "uid 0: the refusal's detail names root and says uid 0", r[1])
    both("bin", "bin", None, "ok", "uid 0 twin: sub bin, no user_map -> ok")
    # A rule whose USER is root written out reaches root: exact, glob, and a regex.
    both("ops@corp.example", "root", "ops@corp.example root\n", "ok",
         "uid 0: rule 'ops@corp.example root' (literal USER) -> ok as root")
    both("svc-deploy@corp.example", "root", "svc-*@corp.example root\n", "ok",
         "uid 0: glob rule 'svc-*@corp.example root' -> ok as root")
    both("admin-root", "root", "~admin-([a-z]+) root\n", "ok",
         "uid 0: regex rule '~admin-([a-z]+) root' (literal USER) -> ok as root")
    both("root", "root", "root root\n", "ok", "uid 0: rule 'root root' -> ok as root")
    # '=' and a \N template are not a literal USER, even when they give root.
    both("root", "root", "root =\n", "bad_user_name", "uid 0: rule 'root =' -> bad_user_name")
    both("admin-root", "root", "~admin-([a-z]+) \\1\n", "bad_user_name",
         "uid 0: rule '~admin-([a-z]+) \\1' with sub admin-root -> bad_user_name")
    both("admin-bin", "bin", "~admin-([a-z]+) \\1\n", "ok",
         "uid 0 twin: rule '~admin-([a-z]+) \\1' with sub admin-bin -> ok")
    # The first matching rule decides: a literal root rule after it is not consulted.
    both("root", "root", "root =\nroot root\n", "bad_user_name",
         "uid 0: 'root =' before 'root root' -> bad_user_name (first match wins)")
    # PAM_USER is compared before the lookup and the uid check: wrong_user.
    r = both("root", "bin", None, "wrong_user", "uid 0: sub root for PAM_USER bin -> wrong_user")
    t.ok(r[1] is not None and "uid 0" not in r[1], "uid 0: the wrong_user detail does not speak of uid 0", r[1])
    both("root", "bin", "root =\n", "wrong_user", "uid 0: rule 'root =' for PAM_USER bin -> wrong_user")


def account_gone(name):
    try:
        pwd.getpwnam(name)
        return False
    except KeyError:
        pass
    with open("/etc/shadow") as f:
        return not any(l.startswith(name + ":") for l in f)


def shadow_tool(cmd):
    """useradd, usermod, userdel; retried while another suite (tests/e2e)
    holds the lock on /etc/passwd."""
    for _ in range(10):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if p.returncode == 0 or "lock" not in p.stderr:
            break
        time.sleep(0.5)
    return p


def userdel(name):
    # -f: userdel refuses a name whose uid has running processes (uid 0 has).
    shadow_tool(["userdel", "-f", name])
    return account_gone(name)


def t_alias():
    if not ROOT:
        t.skip("uid 0 alias", "not root: cannot add an account")
        return
    if not account_gone(ALIAS):
        userdel(ALIAS)          # a leftover of an interrupted run
    p = shadow_tool(["useradd", "-o", "-u", "0", "-M", "-N", "-s", "/usr/sbin/nologin", ALIAS])
    if p.returncode != 0:
        t.skip("uid 0 alias", "useradd refused: " + p.stderr.strip())
        return
    try:
        t.eq(pwd.getpwnam(ALIAS).pw_uid, 0, "uid 0 alias: %s has uid 0 (setup)" % ALIAS)
        r = both(ALIAS, ALIAS, None, "bad_user_name", "uid 0 alias: sub %s, no user_map -> bad_user_name" % ALIAS)
        t.ok(r[1] is not None and ALIAS in r[1] and "uid 0" in r[1],
             "uid 0 alias: the detail names %s and says uid 0" % ALIAS, r[1])
        both("alias-claim", ALIAS, "alias-claim %s\n" % ALIAS, "ok",
             "uid 0 alias: rule 'alias-claim %s' -> ok" % ALIAS)
        both(ALIAS, ALIAS, "%s =\n" % ALIAS, "bad_user_name", "uid 0 alias: rule '%s =' -> bad_user_name" % ALIAS)
        # An entry over 4096 bytes that is uid 0: found, then refused for its uid (not a lookup failure).
        p = shadow_tool(["usermod", "-c", GECOS, ALIAS])
        if t.ok(p.returncode == 0, "uid 0 alias: usermod gives it an 8000-byte gecos (setup)", p.stderr):
            r = both(ALIAS, ALIAS, None, "bad_user_name",
                     "uid 0 alias, 8000-byte gecos: no user_map -> bad_user_name")
            t.ok(r[1] is not None and "uid 0" in r[1], "uid 0 alias, 8000-byte gecos: the detail says uid 0", r[1])
            both("alias-claim", ALIAS, "alias-claim %s\n" % ALIAS, "ok",
                 "uid 0 alias, 8000-byte gecos: rule 'alias-claim %s' -> ok" % ALIAS)
    finally:
        t.ok(userdel(ALIAS), "uid 0 alias: %s removed (cleanup)" % ALIAS)


# ---------------------------------------------------------------- point 9

def t_big_entry():
    if not ROOT:
        t.skip("large passwd entry", "not root: cannot add an account")
        return
    if not account_gone(BIG):
        userdel(BIG)
    p = shadow_tool(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", "-c", GECOS, BIG])
    if p.returncode != 0:
        t.skip("large passwd entry", "useradd refused: " + p.stderr.strip())
        return
    try:
        e = pwd.getpwnam(BIG)
        t.ok(len(e.pw_gecos) == len(GECOS) and e.pw_uid != 0, "large entry: %s has an 8000-byte gecos (setup)" % BIG)
        both(BIG, BIG, None, "ok", "large entry: sub %s (8000-byte gecos) -> ok" % BIG)
        both("big-claim", BIG, "big-claim %s\n" % BIG, "ok", "large entry: rule 'big-claim %s' -> ok" % BIG)
        both(BIG, "bin", None, "wrong_user", "large entry twin: sub %s for PAM_USER bin -> wrong_user" % BIG)
    finally:
        t.ok(userdel(BIG), "large entry: %s removed (cleanup)" % BIG)
    # Gone again: user_unknown, not a lookup failure.
    both(BIG, BIG, None, "user_unknown", "large entry twin: after removal, sub %s -> user_unknown" % BIG)


def main():
    for p in (CHECK, MODULE, DRIVE, SHIM):
        if not os.path.exists(p):
            t.skip("users", "%s not built" % p)
            return
    mint.write_jwks(JWKS, [KEY], 0o644)
    for fn in (t_root, t_alias, t_big_entry):
        t.run(fn, fn.__name__)


t.run(main, "test_users main")
if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
else:
    t.comment("kept for inspection: " + tmp)
sys.exit(t.done())
