#!/usr/bin/python3
"""The quick-start demo.

As root: the real thing. A local HTTPS demo issuer with its own test CA, a
token minted by python3-jwcrypto with the issuer's key, a throw-away sshd on
127.0.0.1 whose PAM service is the shipped pam.d-examples/sshd (keys by OIDC
discovery at the issuer), and a login with the stock ssh client and
pam_jwt_askpass: the command's output and the module's log line, then a
refused twin. Everything is removed at the end (tests/e2e/sshlab.py).

Otherwise (not root, or no sshd): real logins through pam_jwt.so and libpam
(pam_start_confdir), one accepted, one refused, with the module's log lines
(read from /dev/log when no syslog daemon holds it)."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
BUILD = os.path.abspath(sys.argv[1])
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "issuer", "e2e", "lib")]
import control  # noqa: E402
import mint  # noqa: E402
import sshlab  # noqa: E402
from files import install  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
DEMO_USER = "pjt-demo"
logs = []


def indent(text, by="  "):
    return "\n".join(by + l for l in text.rstrip("\n").splitlines())


# ---------------------------------------------------------------- as root: sshd + ssh

def ssh_demo():
    """The real login; None when it cannot run here (and why is printed)."""
    why = sshlab.missing(users=(DEMO_USER,))
    if why is not None:
        print("(the ssh demo needs root, sshd and a free user name: %s;\n"
              " showing the logins through libpam instead)\n" % why)
        return None
    lab = sshlab.Lab(BUILD, "discovery", prefix="pam_jwt-demo-")
    try:
        lab.add_user(DEMO_USER)
        iss = lab.start_issuer()
        print("demo issuer: %s (test CA %s, pid %d)" % (iss.url, iss.ca, iss.pid))
        site = lab.site("demo", "sshd", [DEMO_USER])
        print("sshd on 127.0.0.1:%d (pid %d), PAM service %s:" % (site.port, site.proc.pid, site.pamd))
        print(indent("".join(l for l in open(site.pamd) if not l.startswith("#"))))
        print("with %s (pam.d-examples/sshd.conf, issuer and key source set):" % site.conf)
        print(indent("".join(l for l in open(site.conf) if not l.startswith("#"))))

        key = mint.load_key(control.key_file(iss, "rsa-2048"))
        now = int(time.time())
        claims = {"iss": iss.url, "aud": site.aud, "sub": DEMO_USER, "iat": now, "nbf": now,
                  "exp": now + 300, "jti": mint.b64url(os.urandom(9)),
                  "name": "Demo User", "groups": ["ci", "deploy"], "amr": ["hwk", "mfa"]}
        token = mint.sign(key, "RS256", claims, {"kid": "rsa-2048", "typ": "JWT"})
        print("\ntoken: RS256, %d bytes, sub=%s aud=%s, valid 300 s (python3-jwcrypto)"
              % (len(token), DEMO_USER, site.aud))
        cmd = 'echo "logged in as $(id -un) on $(uname -n) with a JWT"'
        print("\n$ SSH_ASKPASS=%s SSH_ASKPASS_REQUIRE=force PAM_JWT_TOKEN_FILE=token \\\n"
              "  ssh -o PreferredAuthentications=keyboard-interactive -p %d %s@127.0.0.1 '%s'"
              % (lab.askpass, site.port, DEMO_USER, cmd))
        rc, out, err, v = lab.ssh(site, DEMO_USER, token, cmd=cmd)
        print(indent(out or err or "(nothing)") + "\n  (exit status %d)" % rc)
        show_log(lab, v)

        bad = mint.flip_sig_bit(token, 40)
        print("\nthe same token with one signature bit flipped:")
        rc2, out2, err2, v2 = lab.ssh(site, DEMO_USER, bad, cmd=cmd)
        print(indent(out2 or err2 or "(nothing)") + "\n  (exit status %d)" % rc2)
        show_log(lab, v2)
        c = control.counts(iss)
        print("\nrequests the issuer saw: discovery %d, JWKS %d (the keys are cached in %s)"
              % (c.get("/.well-known/openid-configuration", 0), c.get("/jwks", 0),
                 os.path.join(site.folder, "cache")))
        print("\ncleaning up: sshd, issuer, user %s, %s" % (DEMO_USER, site.pamd))
        return 0 if rc == 0 and rc2 != 0 else 1
    finally:
        lab.close()


def show_log(lab, verdicts):
    if verdicts:
        print("the module's log line:")
        for x in verdicts:
            line = x["line"]
            print(indent(line[line.find("pam_jwt("):]))
    elif lab.log.how is None:
        print("(the module's log line went to the system log)")


# ---------------------------------------------------------------- otherwise: libpam

def listen_devlog():
    """Collect syslog lines on /dev/log if nothing else serves it."""
    path = "/dev/log"
    try:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        probe.connect(path)
        probe.close()
        return None  # a syslog daemon has it: see the system log
    except OSError:
        pass
    try:
        if os.path.exists(path) or os.path.islink(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        os.chmod(path, 0o666)
    except OSError:
        return None

    def run():
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                return
            logs.append(data.decode("utf-8", "replace"))
    threading.Thread(target=run, daemon=True).start()
    return s


def login(confdir, user, token):
    ans = os.path.join(confdir, "answers")
    with open(ans, "w") as f:
        f.write(token + "\n")
    p = subprocess.run([DRIVE, "--confdir", confdir, "--service", "demo", "--user", user, "--answers", ans],
                       capture_output=True, text=True, timeout=60)
    os.unlink(ans)
    return [l for l in p.stdout.splitlines() if l.startswith(("PROMPT", "RESULT"))]


def libpam_demo():
    work = tempfile.mkdtemp(prefix="pam_jwt-demo-")
    os.chmod(work, 0o755)
    sock = listen_devlog() if os.geteuid() == 0 else None
    iss = control.start(os.path.join(work, "issuer"))
    try:
        print("demo issuer: %s (test CA %s, pid %d)" % (iss.url, iss.ca, iss.pid))
        key = mint.load_key(control.key_file(iss, "ec-p256"))
        now = int(time.time())
        claims = {"iss": iss.url, "aud": "ssh://demo-host", "sub": "bin", "iat": now, "nbf": now,
                  "exp": now + 300, "jti": mint.b64url(os.urandom(9))}
        token = mint.sign(key, "ES256", claims, {"kid": "ec-p256"})
        print("token (ES256, %d bytes) for sub=bin, aud=ssh://demo-host, valid 300 s" % len(token))
        keys = os.path.join(work, "jwks.json")
        install(os.path.join(iss.dir, "jwks.json"), keys, 0o644)
        confdir = os.path.join(work, "pam.d")
        os.mkdir(confdir)
        with open(os.path.join(confdir, "demo"), "w") as f:
            f.write("auth required %s issuer=%s audience=ssh://demo-host jwks_file=%s\n" % (MODULE, iss.url, keys))
        print("\n/etc/pam.d-style service 'demo':\n  " + open(os.path.join(confdir, "demo")).read())
        print("login as bin with the token:")
        for l in login(confdir, "bin", token):
            print("  " + l)
        print("login as daemon with bin's token:")
        for l in login(confdir, "daemon", token):
            print("  " + l)
        if sock is not None:
            sshlab.wait_until(lambda: sum("pam_jwt" in l for l in logs) >= 2, 2)
            print("\nthe module's log lines (/dev/log):")
            for l in logs:
                if "pam_jwt" in l:
                    print("  " + l)
        else:
            print("\n(the module's log lines went to the system log: journalctl -t pjdrive, or /var/log/auth.log)")
    finally:
        control.stop(iss)
        if sock is not None:
            sock.close()
            os.unlink("/dev/log")
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main():
    r = ssh_demo()
    if r is None:
        r = libpam_demo()
    return r


sys.exit(main())
