#!/usr/bin/python3
"""End-to-end, as TAP: the real programs with pam_jwt.so, as root.

A real sshd (started through a link with its own name, so its PAM service is
a new /etc/pam.d/sshd-pjtest-* file), stock OpenSSH ssh with pam_jwt_askpass,
paramiko, and sudo -A / -S, with the shipped pam.d-examples/ files (only the
module path, the config folder, the issuer URL, the key source options and
the map paths substituted). Keys come from the HTTPS test issuer
(tests/issuer) by OIDC discovery; tokens are minted by python3-jwcrypto
(tests/mint). Verdicts are read from the module's syslog lines.

    test_e2e.py [--keys=discovery|file]     (or PJ_E2E_KEYS=...)

--keys=file gives the module a copy of the issuer's JWKS (jwks_file=)
instead. Without root it reports one skipped test; so it does when one of
its users exists already. Everything it makes is undone at exit, even on
failure (sshlab.py).
"""
import importlib.util
import json
import os
import secrets
import socket
import sys
import time

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.path.abspath(os.environ.get("PJ_TOP_BUILDDIR", os.path.join(SRC, "build")))
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("lib", "mint", "issuer", "e2e")]
import sshlab  # noqa: E402
from tap import Tap  # noqa: E402

KEYS = os.environ.get("PJ_E2E_KEYS", "discovery")
for _a in sys.argv[1:]:
    if _a.startswith("--keys="):
        KEYS = _a.split("=", 1)[1]
if KEYS not in ("discovery", "file"):
    sys.exit("test_e2e.py: --keys=discovery|file")

ALICE, BOB = "pjt-alice", "pjt-bob"
HOST_AUD = "ssh://host1.example"       # multi-issuer.conf's default audience
SUDO_AUD = "sudo://host1.example"      # its corp-sudo section's
K8S_ISS = "https://kubernetes.default.svc.cluster.local"   # its k8s section's (jwks_file)
# Named exactly as the shipped maps name them.
USERS = (ALICE, BOB, "deploy", "k8s-prod-builder", "svc-builder")


def preflight():
    why = sshlab.missing(sshlab.PROGRAMS + ("sudo", "visudo", "runuser"), USERS)
    if os.environ.get("PJ_SANITIZED"):
        why = "sanitizer build: a real sshd or sudo cannot load an ASan-built module"
    for f in ("src/.libs/pam_jwt.so", "src/pam_jwt_askpass", "src/pam_jwt_fetch"):
        if why is None and not os.path.exists(os.path.join(BUILD, f)):
            why = "no %s in %s" % (f, BUILD)
    for mod in ("paramiko", "jwcrypto"):
        if why is None and importlib.util.find_spec(mod) is None:
            why = "no python3 module %s (python3-%s)" % (mod, mod)
    if why is not None:
        print("1..1\nok 1 - e2e # SKIP %s" % why)
        sys.exit(0)


preflight()
import control  # noqa: E402
import mint  # noqa: E402
import paramiko  # noqa: E402

t = Tap()
TOKENS = []     # every token the suite sent: none may reach a log line


class Env:
    pass


E = Env()


# ---------------------------------------------------------------- setup

def setup():
    E.lab = lab = sshlab.Lab(BUILD, KEYS)
    E.log = lab.log
    t.comment("keys: %s; log lines read by: %s" % (KEYS, lab.log.how or "nothing (log checks skipped)"))
    for u in USERS:
        lab.add_user(u)
    E.iss = lab.start_issuer()
    E.rsa = mint.load_key(control.key_file(E.iss, "rsa-2048"))
    E.ec = mint.load_key(control.key_file(E.iss, "ec-p256"))
    control.reset_counts(E.iss)
    E.plain = sshlab.write(os.path.join(lab.tmp, "plain-askpass"),
                           "#!/bin/sh\n# A plain askpass: the whole token, whatever the prompt.\n"
                           'exec cat "$PAM_JWT_TOKEN_FILE"\n', 0o755)
    E.main = lab.site("main", "sshd", USERS)
    E.gh = lab.site("gh", "github-actions", USERS)
    E.k8s = lab.site("k8s", "kubernetes", USERS)
    E.spiffe = lab.site("spiffe", "spiffe", USERS)
    E.sites = (E.main, E.gh, E.k8s, E.spiffe)
    t.ok(all(s.proc.poll() is None for s in E.sites),
         "4 sshd on 127.0.0.1 (ports %s) as services sshd-pjtest-%s-*"
         % (",".join(str(s.port) for s in E.sites), lab.rand))
    # sudo: its own PAM service for ALICE, from the shipped files.
    E.sudo_service = "sudo-pjtest-" + lab.rand
    E.sudo_askpass = lab.reachable(lab.askpass)   # sudo runs it as the user
    folder = os.path.join(lab.tmp, "site-sudo")
    os.mkdir(folder, 0o755)
    E.sudo_conf, E.sudo_aud = lab.install_conf("sudo", folder, "sudo.conf")
    lab.install_pamd("sudo", E.sudo_service, folder)
    # Test-only extra line: no lecture file under /var/lib/sudo.
    ok, out = lab.install_sudoers(ALICE, E.sudo_service, ["Defaults:%s lecture=never" % ALICE])
    t.ok(ok, "sudoers.snippet's lines for %s pass visudo -c -f" % ALICE, out)
    if not ok:
        raise RuntimeError("visudo refused the sudoers lines")
    E.services = [x.service for x in E.sites] + [E.sudo_service]
    setup_multi()


def setup_multi():
    """pam.d-examples/multi-issuer.conf, one file: sshd's line (the PAM
    file's commented-out one) reads it with issuers=github,corp,k8s, the
    sudo line with issuers=corp-sudo. github is the lab's issuer, corp (and
    corp-sudo) a second HTTPS issuer with its own CA and keys (the same
    kids), k8s keeps its issuer name and gets a jwks_file; a third HTTPS
    issuer is named nowhere. root may log in here (prohibit-password), so
    sshd's made-up answer for root can be seen."""
    lab = E.lab
    E.iss2 = lab.more_issuer("corp")
    E.iss3 = lab.more_issuer("stranger")
    E.rsa2 = mint.load_key(control.key_file(E.iss2, "rsa-2048"))
    E.rsa3 = mint.load_key(control.key_file(E.iss3, "rsa-2048"))
    E.k8skey = mint.gen_key("P-256", kid="pjt-k8s-" + lab.rand)
    k8s_jwks = sshlab.write(os.path.join(lab.tmp, "k8s-source.jwks"),
                            json.dumps({"keys": [mint.public_jwk(E.k8skey)]}))
    E.multi = lab.site("multi", "multi-issuer", USERS + ("root",), permit_root="prohibit-password",
                       sources={"github": E.iss, "corp": E.iss2, "corp-sudo": E.iss2, "k8s": k8s_jwks})
    line = [l for l in open(E.multi.pamd) if "pam_jwt.so" in l and not l.startswith("#")]
    t.ok(len(line) == 1 and "multi-issuer.conf issuers=github,corp,k8s" in line[0],
         "sshd on port %d: one PAM line, config=multi-issuer.conf issuers=github,corp,k8s" % E.multi.port,
         "".join(line))
    E.sudo_multi = "sudo-pjtest-%s-multi" % lab.rand
    lab.install_pamd("sudo", E.sudo_multi, E.multi.folder, pick="multi-issuer.conf")
    ok, out = lab.install_sudoers(BOB, E.sudo_multi, ["Defaults:%s lecture=never" % BOB], name="-multi")
    t.ok(ok, "sudoers.snippet's lines for %s (service %s) pass visudo -c -f" % (BOB, E.sudo_multi), out)
    E.services += [E.multi.service, E.sudo_multi]


# ---------------------------------------------------------------- tokens

def now():
    return int(time.time())


def claims(iss=None, aud=None, sub=ALICE, ttl=300, iat=None, **extra):
    iat = now() if iat is None else iat
    c = {"iss": iss or E.iss.url, "aud": aud, "sub": sub, "iat": iat, "nbf": iat,
         "exp": iat + ttl, "jti": "pjt-" + secrets.token_hex(8)}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def sign(c, key=None, alg="RS256", size=None, kid=None, typ=None):
    """jwcrypto signs; size pads a claim until the token has at least that
    many bytes (a few more at most)."""
    key = key or (E.ec if alg.startswith("ES") else E.rsa)
    hdr = {"kid": kid or key["kid"]}
    if typ:
        hdr["typ"] = typ
    tok = mint.sign(key, alg, c, hdr)
    if size:
        pad = ""
        while len(tok) < size:
            pad += "x" * max(1, (size - len(tok)) * 3 // 4)
            tok = mint.sign(key, alg, dict(c, pad=pad), hdr)
    TOKENS.append(tok)
    return tok


def keep(tok):
    TOKENS.append(tok)
    return tok


# ---------------------------------------------------------------- clients

def ssh(site, user, tok, askpass=None):
    return E.lab.ssh(site, user, tok, askpass)


def para(site, user, tok, cmd="id -un"):
    """paramiko keyboard-interactive: the whole token in one answer.
    Returns (ok, out, prompts, verdicts)."""
    prompts = []

    def handler(title, instructions, plist):
        prompts.extend(p for p, _ in plist)
        return [tok for _ in plist]

    m = E.log.mark()
    tr = paramiko.Transport(socket.create_connection(("127.0.0.1", site.port), timeout=10))
    out, ok = "", False
    try:
        tr.banner_timeout = tr.auth_timeout = 20
        tr.start_client(timeout=20)
        try:
            tr.auth_interactive(user, handler)
            ok = tr.is_authenticated()
        except paramiko.AuthenticationException:
            ok = False
        if ok:
            ch = tr.open_session(timeout=20)
            ch.settimeout(20)
            ch.exec_command(cmd)
            buf = b""
            while True:
                d = ch.recv(4096)
                if not d:
                    break
                buf += d
            ch.recv_exit_status()
            out = buf.decode().strip()
    finally:
        tr.close()
    return ok, out, prompts, E.log.verdicts(m, site.service)


def sudo(tok, mode="A", cmd=("id", "-un"), user=ALICE, service=None):
    """sudo as user (ALICE) through runuser, no tty: -A with pam_jwt_askpass,
    or -S fed by pam_jwt_askpass --lines. Returns (rc, out, err, verdicts)."""
    service = service or E.sudo_service
    tf = E.lab.tokfile(tok, user)
    env = ["env", "-i", "PATH=/usr/bin:/bin", "LANG=C", "PAM_JWT_TOKEN_FILE=" + tf]
    if mode == "A":
        args = env + ["SUDO_ASKPASS=" + E.sudo_askpass, "sudo", "-A", "-k", "--"] + list(cmd)
    else:
        args = env + ["sh", "-c", '"$0" --lines | sudo -S -k -- "$@"', E.sudo_askpass] + list(cmd)
    m = E.log.mark()
    try:
        p = sshlab.run(["runuser", "-u", user, "--"] + args, start_new_session=True)
    finally:
        os.unlink(tf)
    return p.returncode, p.stdout.strip(), p.stderr.strip(), E.log.verdicts(m, service)


# ---------------------------------------------------------------- checks

def log_ok(v, reason, name, user=None, **fields):
    """The attempt's verdict lines: at least one, each with the reason (and
    user, and the other fields given, None for a bare -); a client's retry
    that sent nothing (sudo -S at end of input) is logged as
    reason=conversation and only may come after."""
    if E.log.how is None:
        t.skip(name + ": log line", "no readable system log (nothing we may listen on)")
        return
    first = next((i for i, x in enumerate(v) if x["reason"] == "conversation"), len(v))
    seen, rest = v[:first], v[first:]
    good = bool(seen) and all(x["reason"] == reason for x in seen)
    good = good and all(x["reason"] == "conversation" for x in rest)
    if user is not None:
        fields["user"] = user
    good = good and all(x.get(k) == want for x in seen for k, want in fields.items())
    what = "".join(" %s=%s" % (k, "-" if w is None else w) for k, w in sorted(fields.items()) if k != "user")
    t.ok(good, name + ": log says reason=%s%s" % (reason, what), "\n".join(x["line"] for x in v) or "no verdict line")


def accepted(res, out, name, user=None, **fields):
    """Logged in: the command printed out; the log names user (default out)."""
    rc, got, err, v = res
    t.ok(rc == 0 and got == out, name, "rc=%s out=%r err=%r" % (rc, got, err[-600:]))
    log_ok(v, "ok", name, user or out, **fields)


def refused(res, reason, name, **fields):
    rc, out, err, v = res
    t.ok(rc != 0 and out == "", name, "rc=%s out=%r err=%r" % (rc, out, err[-600:]))
    log_ok(v, reason, name, **fields)


def counts():
    c = control.counts(E.iss)
    return c.get("/jwks", 0), c.get("/.well-known/openid-configuration", 0)


# ---------------------------------------------------------------- tests

def test_ssh():
    s = E.main
    aud = s.aud
    # The first login fills the cache by discovery.
    control.reset_counts(E.iss)
    tok = sign(claims(aud=aud), size=2500)
    t.ok(len(tok) >= 2500 and len(tok) > 1023, "RS256 token of %d bytes (over ssh's 1023-byte cut)" % len(tok))
    accepted(ssh(s, ALICE, tok), ALICE, "ssh + pam_jwt_askpass: %d-byte RS256 token logs in, id -un" % len(tok))
    if KEYS == "discovery":
        j, d = counts()
        t.ok(j == 1 and d == 1, "keys by OIDC discovery: one discovery and one JWKS request",
             "jwks=%d discovery=%d" % (j, d))
    refused(ssh(s, ALICE, tok, askpass=E.plain), "malformed",
            "ssh + plain askpass: the same token sent whole is cut at 1023 and refused")
    tok = sign(claims(aud=aud), alg="ES256")
    t.ok(len(tok) < 1023, "ES256 token of %d bytes" % len(tok))
    accepted(ssh(s, ALICE, tok, askpass=E.plain), ALICE, "ssh + plain askpass: ES256 token sent whole logs in")
    if KEYS == "discovery":
        j, d = counts()
        t.ok(j == 1 and d == 1, "later logins use the cache: no new request", "jwks=%d discovery=%d" % (j, d))

    # paramiko: no length limit in the client.
    tok = sign(claims(aud=aud), size=6000)
    ok, out, prompts, v = para(s, ALICE, tok)
    t.ok(ok and out == ALICE, "paramiko: %d-byte token in one answer logs in, id -un" % len(tok),
         "ok=%s out=%r" % (ok, out))
    log_ok(v, "ok", "paramiko 6000", ALICE)
    t.eq(prompts, ["JWT: "], "paramiko: one prompt, the module's")
    ok, out, prompts, v = para(s, ALICE, keep(mint.flip_sig_bit(tok, 9)))
    t.ok(not ok and out == "", "paramiko: the same token with one signature bit flipped is refused")
    log_ok(v, "bad_signature", "paramiko flipped")

    # Refused over ssh, each with its reason.
    n = now()
    refused(ssh(s, ALICE, sign(claims(aud=aud, iat=n - 900, ttl=600))), "expired",
            "ssh: expired token refused")
    refused(ssh(s, ALICE, sign(claims(aud="ssh://other-host.example"))), "bad_audience",
            "ssh: wrong audience refused")
    refused(ssh(s, ALICE, sign(claims(aud=aud, iss="https://idp.example"))), "bad_issuer",
            "ssh: wrong issuer refused")
    bad = keep(mint.flip_sig_bit(sign(claims(aud=aud)), 17))
    refused(ssh(s, ALICE, bad), "bad_signature", "ssh: bad signature refused")
    bobs = sign(claims(aud=aud, sub=BOB))
    refused(ssh(s, ALICE, bobs), "wrong_user", "ssh: %s's token refused for %s" % (BOB, ALICE))
    accepted(ssh(s, BOB, bobs), BOB, "ssh: the same token logs in as %s" % BOB)
    none = keep(mint.alg_none(claims(aud=aud), {"kid": "rsa-2048"}))
    refused(ssh(s, ALICE, none), "alg_not_allowed", "ssh: alg none refused")
    forged = mint.gen_key("P-256", kid="pjt-forged-" + E.lab.rand)
    ftok = sign(claims(aud=aud), key=forged, alg="ES256")
    if KEYS == "file":
        t.skip("ssh: unknown kid refused after at most one issuer request",
               "TODO: needs the fetching module (run with --keys discovery)")
        return
    control.reset_counts(E.iss)
    refused(ssh(s, ALICE, ftok), "unknown_kid", "ssh: unknown kid refused")
    j, d = counts()
    t.ok(j <= 1 and d <= 1, "ssh: unknown kid cost at most one issuer request (jwks %d, discovery %d)" % (j, d))
    ftok2 = sign(claims(aud=aud), key=forged, alg="ES256", kid="pjt-forged2-" + E.lab.rand)
    refused(ssh(s, ALICE, ftok2), "unknown_kid", "ssh: a second unknown kid refused")
    j2, d2 = counts()
    t.ok((j2, d2) == (j, d), "ssh: a second unknown kid within the cooldown: no request",
         "jwks=%d discovery=%d" % (j2 - j, d2 - d))


def test_sudo():
    aud = E.sudo_aud
    tok = sign(claims(aud=aud), size=1500)
    accepted(sudo(tok, "A"), "root", "sudo -A + pam_jwt_askpass: %d-byte token runs id -un as root" % len(tok),
             ALICE)
    accepted(sudo(tok, "S"), "root", "sudo -S fed by pam_jwt_askpass --lines: runs id -un as root", ALICE)
    n = now()
    refused(sudo(sign(claims(aud=aud, iat=n - 700, ttl=600)), "A"), "expired", "sudo -A: expired token refused")
    refused(sudo(sign(claims(aud=aud, ttl=900)), "A"), "lifetime_too_long",
            "sudo -A: lifetime 900 s over max_lifetime 600 refused")
    refused(sudo(sign(claims(aud=aud, sub=BOB)), "S"), "wrong_user", "sudo -S: %s's token refused" % BOB)


def gh_claims(aud, **over):
    c = claims(aud=aud, ttl=300, sub="repo:acme/api:ref:refs/heads/main", ref="refs/heads/main",
               sha=secrets.token_hex(20), repository="acme/api", repository_owner="acme",
               repository_owner_id="1234567", repository_id="98765432", repository_visibility="private",
               run_id="7300000001", run_number="42", run_attempt="1", actor="octocat", actor_id="583231",
               workflow="deploy", event_name="push", ref_type="branch", head_ref="", base_ref="",
               workflow_ref="acme/api/.github/workflows/deploy.yml@refs/heads/main",
               job_workflow_ref="acme/api/.github/workflows/deploy.yml@refs/heads/main",
               runner_environment="github-hosted")
    c.update(over)
    return c


def k8s_claims(aud, ns="prod", sa="builder"):
    return claims(aud=[aud], ttl=3600, sub="system:serviceaccount:%s:%s" % (ns, sa), jti=None,
                  **{"kubernetes.io": {"namespace": ns,
                                       "pod": {"name": sa + "-7d9f8b6c5-x2x9q", "uid": secrets.token_hex(8)},
                                       "serviceaccount": {"name": sa, "uid": secrets.token_hex(8)},
                                       "node": {"name": "node-1", "uid": secrets.token_hex(8)}}})


def test_workloads():
    s = E.gh
    accepted(ssh(s, "deploy", sign(gh_claims(s.aud), typ="JWT")), "deploy",
             "github-actions: acme/api push on main logs in as deploy (map glob)")
    pr = gh_claims(s.aud, sub="repo:acme/api:pull_request", event_name="pull_request",
                   ref="refs/pull/7/merge", head_ref="feature", base_ref="main")
    refused(ssh(s, "deploy", sign(pr, typ="JWT")), "claim_mismatch", "github-actions: pull-request token refused")
    other = gh_claims(s.aud, sub="repo:evil/api:ref:refs/heads/main", repository="evil/api",
                      repository_owner="evil", repository_owner_id="6666666")
    refused(ssh(s, "deploy", sign(other, typ="JWT")), "claim_mismatch",
            "github-actions: token from another owner refused")

    s = E.k8s
    accepted(ssh(s, "k8s-prod-builder", sign(k8s_claims(s.aud))), "k8s-prod-builder",
             "kubernetes: prod builder service account logs in as k8s-prod-builder (map regex)")
    refused(ssh(s, "k8s-prod-builder", sign(k8s_claims(s.aud, ns="dev"))), "claim_mismatch",
            "kubernetes: dev namespace token refused")

    s = E.spiffe
    svid = claims(aud=[s.aud], sub="spiffe://example.org/ns/prod/sa/builder", jti=None, nbf=None)
    accepted(ssh(s, "svc-builder", sign(svid, alg="ES256", typ="JWT")), "svc-builder",
             "spiffe: JWT-SVID of example.org prod builder logs in as svc-builder")
    evil = dict(svid, sub="spiffe://evil.org/ns/prod/sa/builder")
    refused(ssh(s, "svc-builder", sign(evil, alg="ES256", typ="JWT")), "no_user_mapping",
            "spiffe: JWT-SVID of another trust domain refused")
    if KEYS == "file":
        t.skip("spiffe: a key rotated in at the issuer is picked up", "needs --keys discovery")
        return
    kid = "pjt-rot-" + E.lab.rand
    control.rotate(E.iss, add=[{"type": "p256", "kid": kid}])
    control.reset_counts(E.iss)
    newkey = mint.load_key(control.key_file(E.iss, kid))
    accepted(ssh(s, "svc-builder", sign(dict(svid, iat=now()), key=newkey, alg="ES256")), "svc-builder",
             "spiffe: a key rotated in at the issuer is picked up at once")
    j, d = counts()
    t.ok(j == 1, "spiffe: the rotation cost one JWKS request", "jwks=%d discovery=%d" % (j, d))


def corp_claims(user=ALICE, aud=HOST_AUD, scope="openid ssh", ttl=300, **over):
    """An access token of the corp issuer (the second HTTPS issuer)."""
    c = claims(iss=E.iss2.url, aud=aud, sub="corp-" + secrets.token_hex(4), ttl=ttl,
               preferred_username=user, scope=scope, client_id="pjt-cli")
    c.update(over)
    return c


def corp(c, typ="at+jwt", key=None):
    return sign(c, key=key or E.rsa2, typ=typ)


def all_counts():
    """(jwks, discovery) requests at each of the three HTTPS issuers."""
    return [(c.get("/jwks", 0), c.get("/.well-known/openid-configuration", 0))
            for c in (control.counts(h) for h in (E.iss, E.iss2, E.iss3))]


def test_multi():
    s = E.multi
    for h in (E.iss, E.iss2, E.iss3):
        control.reset_counts(h)
    gh = gh_claims(HOST_AUD)
    accepted(ssh(s, "deploy", sign(gh, typ="JWT")), "deploy",
             "one PAM line, one file: a github-section token (HTTPS issuer 1) logs in as deploy",
             issuer_name="github")
    refused(ssh(s, "deploy", sign(dict(gh, repository_owner_id="6666666"), typ="JWT")), "claim_mismatch",
            "sections: github token with another repository_owner_id refused", issuer_name="github")
    accepted(ssh(s, ALICE, corp(corp_claims())), ALICE,
             "one PAM line, one file: a corp-section token (HTTPS issuer 2, typ at+jwt, scope ssh) logs in",
             issuer_name="corp")
    refused(ssh(s, ALICE, corp(corp_claims(), typ="JWT")), "bad_header",
            "sections: corp token with typ JWT refused (corp's typ=at+jwt)", issuer_name="corp")
    refused(ssh(s, ALICE, corp(corp_claims(groups=["dev", "contractors"]))), "claim_denied",
            "sections: corp token of a contractor refused (corp's deny_claim)", issuer_name="corp")
    if KEYS == "discovery":
        got = all_counts()
        t.ok(got[0] == (1, 1) and got[1] == (1, 1) and got[2] == (0, 0),
             "sections: each HTTPS issuer's keys by its own discovery (one + one request each)",
             "(jwks, discovery) per issuer: %s" % got)
    kc = dict(k8s_claims("ssh://node-access.example"), iss=K8S_ISS)
    accepted(ssh(s, "k8s-prod-builder", sign(kc, key=E.k8skey, alg="ES256")), "k8s-prod-builder",
             "one PAM line, one file: a k8s-section token (jwks_file) logs in as k8s-prod-builder",
             issuer_name="k8s")
    kd = dict(k8s_claims("ssh://node-access.example", ns="dev"), iss=K8S_ISS)
    refused(ssh(s, "k8s-prod-builder", sign(kd, key=E.k8skey, alg="ES256")), "claim_mismatch",
            "sections: k8s token of namespace dev refused", issuer_name="k8s")
    # Issuer 1's rsa-2048 signs a token naming issuer 2, whose key has the
    # same kid: the corp section uses only issuer 2's keys.
    refused(ssh(s, ALICE, corp(corp_claims(), key=E.rsa)), "bad_signature",
            "sections: a corp token signed with issuer 1's key of the same kid refused", issuer_name="corp")
    # A token of the third HTTPS issuer, which the file does not name.
    for h in (E.iss, E.iss2, E.iss3):
        control.reset_counts(h)
    stranger = corp_claims(iss=E.iss3.url)
    refused(ssh(s, ALICE, corp(stranger, key=E.rsa3)), "bad_issuer",
            "sections: a token of a third HTTPS issuer that the file does not name refused", issuer_name=None)
    got = all_counts()
    t.ok(got == [(0, 0)] * 3, "sections: the third issuer's token caused no request (to it or any issuer)",
         "(jwks, discovery) per issuer: %s" % got)
    # corp-sudo names the same issuer as corp but is not on sshd's line.
    refused(ssh(s, ALICE, corp(corp_claims(aud=SUDO_AUD, scope="sudo"))), "bad_audience",
            "sections: a corp-sudo token over sshd refused (judged by corp, not on the line)",
            issuer_name="corp")


def test_answer_replaced():
    """sshd answers PAM itself for a user that does not exist, and for root
    without PermitRootLogin yes: the module says so."""
    s = E.multi
    ghost = "pjt-ghost-" + E.lab.rand
    refused(ssh(s, ghost, corp(corp_claims(user=ghost))), "answer_replaced",
            "ssh to a user that does not exist: refused", pam_user=ghost)
    refused(ssh(s, "root", corp(corp_claims(user="root"))), "answer_replaced",
            "ssh to root with PermitRootLogin prohibit-password: refused", pam_user="root")
    big = corp(dict(corp_claims(user="root"), pad="x" * 3000))
    ok, out, prompts, v = para(s, "root", big)
    t.ok(not ok and out == "", "paramiko: a %d-byte token for root refused" % len(big))
    log_ok(v, "answer_replaced", "paramiko root", pam_user="root")
    ok, out, prompts, v = para(s, ghost, corp(corp_claims(user=ghost)))
    t.ok(not ok and out == "", "paramiko: a token for a user that does not exist refused")
    log_ok(v, "answer_replaced", "paramiko ghost", pam_user=ghost)
    # The same sshd passes a real token for an existing user through.
    accepted(ssh(s, ALICE, corp(corp_claims())), ALICE,
             "the same sshd: a token for an existing user still logs in", issuer_name="corp")
    ok, out, prompts, v = para(s, BOB, corp(dict(corp_claims(user=BOB), pad="x" * 3000)))
    t.ok(ok and out == BOB, "the same sshd, paramiko: a token padded by 3000 bytes for %s logs in" % BOB,
         "ok=%s out=%r" % (ok, out))
    log_ok(v, "ok", "paramiko bob", BOB)


def test_sudo_multi():
    """sudo's line reads the same file with issuers=corp-sudo."""
    svc = E.sudo_multi
    good = corp(corp_claims(user=BOB, aud=SUDO_AUD, scope="openid sudo"))
    accepted(sudo(good, "A", user=BOB, service=svc), "root",
             "sudo issuers=corp-sudo: a sudo token (audience %s, scope sudo) runs id -un as root" % SUDO_AUD,
             BOB, issuer_name="corp-sudo")
    refused(sudo(corp(corp_claims(user=BOB)), "A", user=BOB, service=svc), "bad_audience",
            "sudo issuers=corp-sudo: %s's ssh token (audience %s) refused" % (BOB, HOST_AUD),
            issuer_name="corp-sudo")
    refused(sudo(sign(gh_claims(HOST_AUD, sub=BOB)), "A", user=BOB, service=svc), "bad_issuer",
            "sudo issuers=corp-sudo: a github-section token refused (section not on the line)",
            issuer_name=None)


def test_hygiene():
    lines = E.log.all()
    for s in (E.main, E.gh, E.k8s, E.spiffe, E.multi):
        lines += open(s.log, errors="replace").read().splitlines()
    leaks = []
    for tok in TOKENS:
        sig = tok.split(".")[2]
        for l in lines:
            if tok in l or (len(sig) >= 16 and sig[:16] in l):
                leaks.append(l)
    t.ok(not leaks, "no log line holds a token or its signature (%d tokens, %d lines)" % (len(TOKENS), len(lines)),
         "\n".join(leaks[:5]))
    if E.log.how is not None:
        ours = set(E.services)
        mine = [l for l in lines if any("pam_jwt(%s:auth): result=" % x in l for x in ours)]
        odd = [l for l in mine
               if not sshlab.parse_verdict(sshlab.VERDICT.search(l).group("rest"))["well_formed"]]
        t.ok(len(mine) >= 20 and not odd,
             "every verdict line (%d) has the documented fields" % len(mine), "\n".join(odd[:5]))


def main():
    t0 = time.monotonic()
    setup()
    t.comment("setup: %.1f s" % (time.monotonic() - t0))
    for name, fn in (("ssh", test_ssh), ("sudo", test_sudo), ("workloads", test_workloads),
                     ("sections", test_multi), ("answer_replaced", test_answer_replaced),
                     ("sudo sections", test_sudo_multi)):
        t1 = time.monotonic()
        t.run(fn, "e2e " + name)
        t.comment("%s: %.1f s" % (name, time.monotonic() - t1))
    t.run(test_hygiene, "e2e log hygiene")
    t.comment("total %.1f s" % (time.monotonic() - t0))


try:
    t.run(main, "e2e setup")
finally:
    if "lab" in E.__dict__:
        E.lab.close()
sys.exit(t.done())
