#!/usr/bin/python3
"""The quick-start demo: a local HTTPS demo issuer with its own test CA, a
token minted by python3-jwcrypto with the issuer's key, and real logins
through pam_jwt.so and libpam (pam_start_confdir): one accepted, one
refused, with the module's log lines (read from /dev/log when no syslog
daemon holds it)."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1]
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(SRC, "tests", "mint"), os.path.join(SRC, "tests", "issuer")]
import control  # noqa: E402
import mint  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
logs = []


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


def main():
    work = tempfile.mkdtemp(prefix="pam_jwt-demo-")
    os.chmod(work, 0o755)
    sock = listen_devlog() if os.geteuid() == 0 else None
    iss = control.start(os.path.join(work, "issuer"))
    try:
        print("demo issuer: %s (test CA %s, pid %d)" % (iss.url, iss.ca, iss.pid))
        key = mint.load_key(control.key_file(iss, "ec-p256"))
        now = int(time.time())
        claims = {"iss": iss.url, "aud": "ssh://demo-host", "sub": "root", "iat": now, "nbf": now,
                  "exp": now + 300, "jti": mint.b64url(os.urandom(9))}
        token = mint.sign(key, "ES256", claims, {"kid": "ec-p256"})
        print("token (ES256, %d bytes) for sub=root, aud=ssh://demo-host, valid 300 s" % len(token))
        keys = os.path.join(work, "jwks.json")
        with open(keys, "w") as f:
            f.write(open(os.path.join(iss.dir, "jwks.json")).read())
        confdir = os.path.join(work, "pam.d")
        os.mkdir(confdir)
        with open(os.path.join(confdir, "demo"), "w") as f:
            f.write("auth required %s issuer=%s audience=ssh://demo-host jwks_file=%s\n" % (MODULE, iss.url, keys))
        print("\n/etc/pam.d-style service 'demo':\n  " + open(os.path.join(confdir, "demo")).read())
        print("login as root with the token:")
        for l in login(confdir, "root", token):
            print("  " + l)
        print("login as daemon with root's token:")
        for l in login(confdir, "daemon", token):
            print("  " + l)
        time.sleep(0.2)
        if sock is not None:
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
    return 0


sys.exit(main())
