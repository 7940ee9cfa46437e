#!/usr/bin/python3
"""The shipped pam.d-examples/ configurations, installed as an admin would
(only the issuer's URL, the key source and file paths substituted), with
workload-shaped tokens minted by python3-jwcrypto: each accept has its
reject twin. A valid token mapped to a user that does not exist here ends
in PAM_USER_UNKNOWN: the mapping reached PAM_USER (issue 5's end-to-end
suite logs in as real users)."""
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("PJ_TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PJ_TOP_BUILDDIR", os.path.join(SRC, "build"))
sys.path[:0] = [os.path.join(SRC, "tests", "mint"), os.path.join(SRC, "tests", "lib")]
import mint  # noqa: E402
from files import install  # noqa: E402
from tap import Tap  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
EX = os.path.join(SRC, "pam.d-examples")
t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-ex-")
os.chmod(tmp, 0o755)
key = mint.gen_key("RSA2048", kid="k1")
eck = mint.gen_key("P-256", kid="e1")
JWKS = os.path.join(tmp, "jwks.json")
mint.write_jwks(JWKS, [key, eck])


def substitute(text):
    """An example's text as installed here: the map folder and the key source."""
    text = re.sub(r"^user_map = /etc/security/pam_jwt/", "user_map = %s/" % tmp, text, flags=re.M)
    return text + "jwks_file = %s\n" % JWKS


def install_example(name):
    """pam.d-examples/NAME.conf and its map into tmp, 0644 whatever the
    checkout's modes; returns (path, issuer, audience)."""
    path = install(os.path.join(EX, name + ".conf"), os.path.join(tmp, name + ".conf"), 0o644, substitute)
    text = open(path).read()
    iss = re.search(r"^issuer = (\S+)", text, re.M).group(1)
    aud = re.search(r"^audience = (\S+)", text, re.M).group(1)
    if os.path.exists(os.path.join(EX, name + ".map")):
        install(os.path.join(EX, name + ".map"), os.path.join(tmp, name + ".map"), 0o644)
    return path, iss, aud


def login(conf, user, tok, args=""):
    d = tempfile.mkdtemp(dir=tmp)
    with open(os.path.join(d, "svc"), "w") as f:
        f.write("auth required %s config=%s%s\n" % (MODULE, conf, args))
    with open(os.path.join(d, "ans"), "w") as f:
        f.write(tok + "\n")
    p = subprocess.run([DRIVE, "--confdir", d, "--service", "svc", "--user", user,
                        "--answers", os.path.join(d, "ans")], capture_output=True, text=True, timeout=30)
    res = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    return res[-1] if res else "NO_RESULT"


def tok(iss, aud, k=None, alg="RS256", typ=None, **claims):
    k = k or key
    now = int(time.time())
    c = {"iss": iss, "aud": aud, "iat": now, "nbf": now, "exp": now + 300, "jti": "j%d" % now}
    c.update(claims)
    hdr = {"kid": k["kid"], "typ": typ} if typ else {"kid": k["kid"]}
    return mint.sign(k, alg, {n: v for n, v in c.items() if v is not None}, hdr)


def install_multi():
    """multi-issuer.conf and its maps into tmp, every section's keys from
    our JWKS; returns the path and the issuers= of the sshd and sudo lines."""
    text = open(os.path.join(EX, "multi-issuer.conf")).read()
    text = re.sub(r"^jwks_file = .*\n", "", text, flags=re.M)
    text = re.sub(r"^(issuer = \S+)$", r"\1\njwks_file = %s" % JWKS, text, flags=re.M)
    text = re.sub(r"^user_map = /etc/security/pam_jwt/", "user_map = %s/" % tmp, text, flags=re.M)
    path = install(os.path.join(EX, "multi-issuer.conf"), os.path.join(tmp, "multi-issuer.conf"), 0o644,
                   lambda _: text)
    for m in ("github-actions.map", "kubernetes.map"):
        install(os.path.join(EX, m), os.path.join(tmp, m), 0o644)
    lines = {}
    for svc in ("sshd", "sudo"):
        m = re.search(r"multi-issuer\.conf( issuers=\S+)", open(os.path.join(EX, svc)).read())
        lines[svc] = m.group(1) if m else ""
    return path, lines["sshd"], lines["sudo"]


def multi_issuer():
    """One file, four sections: each token is judged by its iss's section,
    among those the line accepts."""
    conf, sshd, sudo = install_multi()
    t.eq(sshd, " issuers=github,corp,k8s", "pam.d-examples/sshd: the multi-issuer line accepts github,corp,k8s")
    t.eq(sudo, " issuers=corp-sudo", "pam.d-examples/sudo: the multi-issuer line accepts corp-sudo")
    gh_iss = "https://token.actions.githubusercontent.com"
    corp = "https://login.corp.example"
    k8s_iss = "https://kubernetes.default.svc.cluster.local"
    gh = dict(sub="repo:acme/api:ref:refs/heads/main", repository_owner_id="1234567", event_name="push",
              ref="refs/heads/main")
    t.eq(login(conf, "deploy", tok(gh_iss, "ssh://host1.example", **gh), sshd), mapped_to("deploy"),
         "multi-issuer: a github token on sshd's line")
    t.eq(login(conf, "deploy", tok(gh_iss, "ssh://host1.example", **dict(gh, repository_owner_id="9")), sshd),
         "PAM_AUTH_ERR", "multi-issuer: github token of another owner refused")
    t.eq(login(conf, "deploy", tok(gh_iss, "ssh://host1.example", **gh), sudo), "PAM_AUTH_ERR",
         "multi-issuer: a github token on sudo's line refused (issuer not accepted)")
    user = "daemon"
    ssh_tok = tok(corp, "ssh://host1.example", typ="at+jwt", preferred_username=user, scope="openid ssh")
    sudo_tok = tok(corp, "sudo://host1.example", typ="at+jwt", preferred_username=user, scope="sudo")
    t.eq(login(conf, user, ssh_tok, sshd), mapped_to(user), "multi-issuer: a corp login token on sshd's line")
    t.eq(login(conf, user, ssh_tok, sudo), "PAM_AUTH_ERR",
         "multi-issuer: the same login token on sudo's line refused (audience of corp-sudo)")
    t.eq(login(conf, user, sudo_tok, sudo), mapped_to(user), "multi-issuer: a corp sudo token on sudo's line")
    t.eq(login(conf, user, sudo_tok, sshd), "PAM_AUTH_ERR",
         "multi-issuer: the sudo token on sshd's line refused (audience of corp)")
    now = int(time.time())
    t.eq(login(conf, user, tok(corp, "sudo://host1.example", typ="at+jwt", preferred_username=user,
                               scope="sudo", iat=now, exp=now + 301), sudo),
         "PAM_AUTH_ERR", "multi-issuer: corp-sudo's max_lifetime 300 refuses 301")
    k8s = dict(sub="system:serviceaccount:prod:builder",
               **{"kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "builder", "uid": "u"}}})
    t.eq(login(conf, "k8s-prod-builder", tok(k8s_iss, "ssh://node-access.example", k=eck, alg="ES256", **k8s),
               sshd), mapped_to("k8s-prod-builder"), "multi-issuer: a k8s token on sshd's line")
    t.eq(login(conf, "k8s-prod-builder", tok(k8s_iss, "ssh://host1.example", k=eck, alg="ES256", **k8s), sshd),
         "PAM_AUTH_ERR", "multi-issuer: a k8s token for the default audience refused (k8s has its own)")
    t.eq(login(conf, user, ssh_tok, ""), "PAM_SERVICE_ERR",
         "multi-issuer: a line without issuers= accepts corp and corp-sudo: configuration error")


def mapped_to(user):
    """A valid token mapped to PAM_USER: accepted when the user exists here,
    else PAM_USER_UNKNOWN (the mapping still reached PAM_USER)."""
    try:
        pwd.getpwnam(user)
        return "PAM_SUCCESS"
    except KeyError:
        return "PAM_USER_UNKNOWN"


def main():
    # GitHub Actions: glob on acme/api's branches, owner id, push, main.
    conf, iss, aud = install_example("github-actions")
    gh = dict(sub="repo:acme/api:ref:refs/heads/main", repository="acme/api", repository_owner="acme",
              repository_owner_id="1234567", event_name="push", ref="refs/heads/main")
    t.eq(login(conf, "deploy", tok(iss, aud, **gh)), mapped_to("deploy"),
         "github-actions: acme/api main push maps to deploy")
    t.eq(login(conf, "bin", tok(iss, aud, **gh)), "PAM_AUTH_ERR",
         "github-actions: the same token for another user refused")
    pr = dict(gh, sub="repo:acme/api:pull_request", event_name="pull_request", ref="refs/pull/7/merge")
    t.eq(login(conf, "deploy", tok(iss, aud, **pr)), "PAM_AUTH_ERR", "github-actions: pull-request token refused")
    other = dict(gh, sub="repo:evil/api:ref:refs/heads/main", repository_owner="evil", repository_owner_id="999")
    t.eq(login(conf, "deploy", tok(iss, aud, **other)), "PAM_AUTH_ERR", "github-actions: another owner refused")
    renamed = dict(gh, repository_owner_id="7654321")
    t.eq(login(conf, "deploy", tok(iss, aud, **renamed)), "PAM_AUTH_ERR",
         "github-actions: same name, other owner id refused")
    branch = dict(gh, sub="repo:acme/api:ref:refs/heads/dev", ref="refs/heads/dev")
    t.eq(login(conf, "deploy", tok(iss, aud, **branch)), "PAM_AUTH_ERR", "github-actions: other branch refused")
    t.eq(login(conf, "deploy", tok(iss, aud, **dict(gh, repository_owner_id=1234567))), mapped_to("deploy"),
         "github-actions: owner id as the JSON number 1234567 matches too")
    t.eq(login(conf, "deploy", tok(iss, aud, **dict(gh, repository_owner_id=1234567.0))), "PAM_AUTH_ERR",
         "github-actions: owner id 1234567.0 never matches")
    # Kubernetes: regex capture to k8s-<ns>-<sa>, namespace prod.
    conf, iss, aud = install_example("kubernetes")
    k8s = dict(sub="system:serviceaccount:prod:builder",
               **{"kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "builder", "uid": "u"}}})
    t.eq(login(conf, "k8s-prod-builder", tok(iss, aud, k=eck, alg="ES256", **k8s)), mapped_to("k8s-prod-builder"),
         "kubernetes: prod:builder maps to k8s-prod-builder")
    t.eq(login(conf, "k8s-prod-other", tok(iss, aud, **k8s)), "PAM_AUTH_ERR",
         "kubernetes: the token for another account refused")
    dev = dict(sub="system:serviceaccount:dev:builder",
               **{"kubernetes.io": {"namespace": "dev", "serviceaccount": {"name": "builder", "uid": "u"}}})
    t.eq(login(conf, "k8s-dev-builder", tok(iss, aud, **dev)), "PAM_AUTH_ERR", "kubernetes: namespace dev refused")
    mixed = dict(k8s, **{"kubernetes.io": {"namespace": "dev"}})
    t.eq(login(conf, "k8s-prod-builder", tok(iss, aud, **mixed)), "PAM_AUTH_ERR",
         "kubernetes: sub says prod but kubernetes.io/namespace says dev: refused")
    # SPIFFE: trust-domain prefix.
    conf, iss, aud = install_example("spiffe")
    t.eq(login(conf, "svc-builder", tok(iss, aud, k=eck, alg="ES256", sub="spiffe://example.org/ns/prod/sa/builder")),
         mapped_to("svc-builder"), "spiffe: example.org prod builder maps to svc-builder")
    t.eq(login(conf, "svc-builder", tok(iss, aud, sub="spiffe://evil.org/ns/prod/sa/builder")), "PAM_AUTH_ERR",
         "spiffe: other trust domain refused")
    t.eq(login(conf, "svc-builder", tok(iss, aud, sub="spiffe://exampleXorg/ns/prod/sa/builder")), "PAM_AUTH_ERR",
         "spiffe: the dot is literal")
    # sshd and sudo option files.
    for name, user in (("sshd", "bin"), ("sudo", "bin")):
        conf, iss, aud = install_example(name)
        t.eq(login(conf, user, tok(iss, aud, sub=user)), "PAM_SUCCESS", "%s.conf: a valid token accepted" % name)
        t.eq(login(conf, user, tok(iss, aud + "x", sub=user)), "PAM_AUTH_ERR", "%s.conf: wrong audience refused" % name)
    conf, iss, aud = install_example("sudo")
    now = int(time.time())
    t.eq(login(conf, "bin", tok(iss, aud, sub="bin", iat=now, exp=now + 601)), "PAM_AUTH_ERR",
         "sudo.conf: a lifetime over 600 s refused")
    multi_issuer()
    # pam.d files: their module lines parse with our module (paths substituted).
    for svc in ("sshd", "sudo"):
        text = open(os.path.join(EX, svc)).read()
        line = [l for l in text.splitlines() if "pam_jwt.so" in l][0]
        ok = "pam_jwt.so config=/etc/security/pam_jwt/%s.conf" % svc in line
        t.ok(ok, "pam.d-examples/%s names its config file" % svc, line)
    t.ok("[success=done authinfo_unavail=ignore default=die]" in open(os.path.join(EX, "sshd")).read(),
         "pam.d-examples/sshd: fallback only when keys are unavailable")
    vis = shutil.which("visudo") or "/usr/sbin/visudo"
    if os.path.exists(vis):
        p = subprocess.run([vis, "-c", "-f", os.path.join(EX, "sudoers.snippet")], capture_output=True, text=True)
        t.eq(p.returncode, 0, "sudoers.snippet passes visudo -c")
    else:
        t.skip("sudoers.snippet passes visudo -c", "no visudo")


t.run(main, "test_examples main")
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
