#!/usr/bin/python3
"""TAP: src/pam_jwt_fetch against the HTTPS test issuer (127.0.0.1 only)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import control  # noqa: E402

BUILD = os.environ.get("PJ_TOP_BUILDDIR", "/tmp/build-fetch")
FETCH = os.path.join(BUILD, "src", "pam_jwt_fetch")
MIB = 1024 * 1024
H = None        # the issuer handle
CA = b""
TESTS = []


def test(name):
    def wrap(fn):
        TESTS.append((name, fn))
        return fn
    return wrap


def run(url, ca=True, timeout=5, max_bytes=MIB, args=None, stdin=None):
    """Run the helper as the module does: empty environment, three pipes."""
    argv = [FETCH] + (args if args is not None else
                      [url, "--timeout", str(timeout), "--max-bytes", str(max_bytes)]
                      + (["--ca-stdin"] if ca else []))
    t0 = time.monotonic()
    p = subprocess.run(argv, input=stdin if stdin is not None else (CA if ca else b""),
                       capture_output=True, env={}, timeout=30)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def split(out):
    head, _, body = out.partition(b"\n")
    return head.decode(), body


def transport_failure(rc, out, err, word=None):
    assert rc == 1, "exit %d, stderr %r" % (rc, err)
    assert out == b"", "stdout not empty: %r" % out[:80]
    assert err.startswith(b"pam_jwt_fetch: ") and err.endswith(b"\n") \
        and err.count(b"\n") == 1, "not one line: %r" % err
    if word is not None:
        assert word.encode() in err.lower(), "%r not in %r" % (word, err)


# ---------------------------------------------------------------- answers

@test("200: status line with max-age, body is the issuer's JWKS")
def _():
    rc, out, err, _ = run(H.url + "/jwks")
    assert rc == 0 and err == b"", (rc, err)
    head, body = split(out)
    assert head == "200 300", head
    assert body == control.jwks(H), body[:80]
    assert len(json.loads(body)["keys"]) == 5


@test("discovery document names the issuer and its jwks_uri")
def _():
    rc, out, err, _ = run(H.url + "/.well-known/openid-configuration")
    assert rc == 0, (rc, err)
    head, body = split(out)
    assert head == "200 300", head
    assert json.loads(body) == {"issuer": H.url, "jwks_uri": H.url + "/jwks"}, body


@test("one run is exactly one GET")
def _():
    control.reset_counts(H)
    run(H.url + "/jwks")
    c = control.counts(H)
    assert c["/jwks"] == 1 and c["/.well-known/openid-configuration"] == 0, c


@test("no Cache-Control: max-age is '-'")
def _():
    control.configure(H, max_age=None)
    rc, out, err, _ = run(H.url + "/jwks")
    assert rc == 0 and split(out)[0] == "200 -", (rc, out[:40], err)


CC_CASES = [
    ("no-cache, MAX-AGE=42", "42"),
    ("Public,max-age=0", "0"),
    ("max-age=10, max-age=5", "5"),
    ("max-age=99999999999999999999", "2147483647"),
    ("s-maxage=5", "-"),
    ("max-age=", "-"),
    ("max-age=abc", "-"),
    ("max-age=-5", "-"),
    ('max-age="5"', "-"),
    ("max-age=5x, public", "-"),
]
for _cc, _want in CC_CASES:
    @test("Cache-Control %r -> max-age %s" % (_cc, _want))
    def _(cc=_cc, want=_want):
        control.configure(H, cache_control=cc)
        rc, out, err, _ = run(H.url + "/jwks")
        assert rc == 0 and split(out)[0] == "200 " + want, (rc, out[:40], err)


@test("500 is an answer: exit 0, the module judges the status")
def _():
    control.set_mode(H, "status", status=500)
    rc, out, err, _ = run(H.url + "/jwks")
    assert rc == 0, (rc, err)
    head, body = split(out)
    assert head in ("500 -", "500 300"), head
    assert body == b'{"error": "test"}\n', body


@test("302 is printed, never followed")
def _():
    control.set_mode(H, "redirect")
    control.reset_counts(H)
    rc, out, err, _ = run(H.url + "/jwks")
    assert rc == 0, (rc, err)
    assert split(out)[0].split(" ")[0] == "302", out[:40]
    c = control.counts(H)
    assert c["/jwks"] == 1 and c["/other/jwks"] == 0, c


@test("the redirect target is a different JWKS (issuer check)")
def _():
    rc, out, err, _ = run(H.url + "/other/jwks")
    assert rc == 0, (rc, err)
    body = split(out)[1]
    assert body != control.jwks(H)
    assert [k["kid"] for k in json.loads(body)["keys"]] == ["other-p256"], body


@test("malformed JSON is still an answer: exit 0 with the body")
def _():
    control.set_mode(H, "malformed")
    rc, out, err, _ = run(H.url + "/jwks")
    assert rc == 0 and out == b'200 300\n{"keys": [', (rc, out, err)


@test("discovery issuer_mismatch mode serves another issuer")
def _():
    control.set_mode(H, "issuer_mismatch", target="discovery")
    rc, out, err, _ = run(H.url + "/.well-known/openid-configuration")
    assert rc == 0, (rc, err)
    assert json.loads(split(out)[1])["issuer"] == "https://wrong-issuer.example", out


@test("discovery http_jwks_uri mode serves an http:// jwks_uri")
def _():
    control.set_mode(H, "http_jwks_uri", target="discovery")
    rc, out, err, _ = run(H.url + "/.well-known/openid-configuration")
    assert rc == 0, (rc, err)
    doc = json.loads(split(out)[1])
    assert doc["jwks_uri"] == "http://127.0.0.1:%d/jwks" % H.port and doc["issuer"] == H.url


@test("a mode with times=1 runs out after one request")
def _():
    control.set_mode(H, "status", status=503, times=1)
    assert split(run(H.url + "/jwks")[1])[0].startswith("503 ")
    assert split(run(H.url + "/jwks")[1])[0] == "200 300"


@test("rotation: new key served, dropped key gone, private JWK 0600")
def _():
    kids = control.rotate(H, add=[{"type": "p384", "kid": "rot-1"}], drop=["ec-p256"])
    assert "rot-1" in kids and "ec-p256" not in kids, kids
    rc, out, err, _ = run(H.url + "/jwks")
    served = [k["kid"] for k in json.loads(split(out)[1])["keys"]]
    assert served == kids, (served, kids)
    st = os.stat(control.key_file(H, "rot-1"))
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    with open(control.key_file(H, "rot-1")) as f:
        assert "d" in json.load(f)
    control.rotate(H, add=[{"type": "p256", "kid": "ec-p256"}], drop=["rot-1"])


# ---------------------------------------------------------------- failures

@test("oversized with Content-Length: transport failure, too large")
def _():
    control.set_mode(H, "oversized")
    transport_failure(*run(H.url + "/jwks")[:3], word="too large")


@test("oversized chunked (no length): transport failure, too large")
def _():
    control.set_mode(H, "oversized_stream")
    transport_failure(*run(H.url + "/jwks")[:3], word="too large")


@test("--max-bytes: body one byte over fails, exactly at the limit passes")
def _():
    n = len(control.jwks(H))
    transport_failure(*run(H.url + "/jwks", max_bytes=n - 1)[:3], word="too large")
    rc, out, err, _ = run(H.url + "/jwks", max_bytes=n)
    assert rc == 0 and split(out)[1] == control.jwks(H), (rc, err)


@test("hang with --timeout 2: fails in about 2 s")
def _():
    control.set_mode(H, "hang")
    rc, out, err, t = run(H.url + "/jwks", timeout=2)
    transport_failure(rc, out, err, word="timed out")
    assert 1.5 < t < 3.5, t


@test("trickle (1 byte/s) with --timeout 2: fails in about 2 s")
def _():
    control.set_mode(H, "trickle")
    rc, out, err, t = run(H.url + "/jwks", timeout=2)
    transport_failure(rc, out, err, word="timed out")
    assert 1.5 < t < 3.5, t


@test("hang on discovery with --timeout 1: fails in about 1 s")
def _():
    control.set_mode(H, "hang", target="discovery")
    rc, out, err, t = run(H.url + "/.well-known/openid-configuration", timeout=1)
    transport_failure(rc, out, err)
    assert 0.5 < t < 2.5, t


@test("certificate for another host name: TLS failure")
def _():
    transport_failure(*run(H.url_wrongcert + "/jwks")[:3])


@test("test CA not given (system store): TLS failure")
def _():
    transport_failure(*run(H.url + "/jwks", ca=False)[:3])


@test("garbage CA bundle on stdin: failure, nothing on stdout")
def _():
    rc, out, err, _ = run(H.url + "/jwks", stdin=b"not a certificate\n")
    assert rc != 0 and out == b"" and err.count(b"\n") == 1, (rc, out, err)


@test("empty CA bundle with --ca-stdin: refused")
def _():
    rc, out, err, _ = run(H.url + "/jwks", stdin=b"")
    assert rc == 2 and out == b"", (rc, out, err)


@test("nothing listening: connection failure")
def _():
    transport_failure(*run("https://127.0.0.1:1/jwks")[:3])


# ---------------------------------------------------------------- usage

USAGE_CASES = [
    ["http://127.0.0.1/jwks", "--timeout", "5", "--max-bytes", "100"],
    ["HTTPS://127.0.0.1/jwks", "--timeout", "5", "--max-bytes", "100"],
    ["https://", "--timeout", "5", "--max-bytes", "100"],
    ["https://127.0.0.1/a b", "--timeout", "5", "--max-bytes", "100"],
    ["https://127.0.0.1/jwks", "--timeout", "0", "--max-bytes", "100"],
    ["https://127.0.0.1/jwks", "--timeout", "61", "--max-bytes", "100"],
    ["https://127.0.0.1/jwks", "--timeout", "5x", "--max-bytes", "100"],
    ["https://127.0.0.1/jwks", "--timeout", "-1", "--max-bytes", "100"],
    ["https://127.0.0.1/jwks", "--timeout", " 5", "--max-bytes", "100"],
    ["https://127.0.0.1/jwks", "--timeout", "5", "--max-bytes", "0"],
    ["https://127.0.0.1/jwks", "--timeout", "5", "--max-bytes", "16777217"],
    ["https://127.0.0.1/jwks", "--timeout", "5"],
    ["https://127.0.0.1/jwks", "--max-bytes", "100"],
    ["--timeout", "5", "--max-bytes", "100"],
    ["https://127.0.0.1/jwks", "--timeout", "5", "--timeout", "5", "--max-bytes", "100"],
    ["https://127.0.0.1/a", "https://127.0.0.1/b", "--timeout", "5", "--max-bytes", "100"],
    ["https://127.0.0.1/jwks", "--timeout", "5", "--max-bytes", "100", "--insecure"],
    ["https://127.0.0.1/jwks", "--timeout", "5", "--max-bytes"],
]
for _args in USAGE_CASES:
    @test("usage error exit 2: %s" % " ".join(_args))
    def _(a=_args):
        rc, out, err, _ = run(None, args=a, stdin=b"")
        assert rc == 2 and out == b"" and err.count(b"\n") == 1, (rc, out, err)
        assert err.startswith(b"pam_jwt_fetch: usage"), err


@test("bounds accepted: --timeout 60 --max-bytes 16777216, options in any order")
def _():
    rc, out, err, _ = run(None, stdin=CA, args=["--ca-stdin", "--max-bytes", "16777216",
                                                "--timeout", "60", H.url + "/jwks"])
    assert rc == 0 and split(out)[1] == control.jwks(H), (rc, err)


# ---------------------------------------------------------------- process

def proc_state(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1]
    except FileNotFoundError:
        return None
    return None


def wait_state(pid, want_alive, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = proc_state(pid)
        if (s not in (None, "Z", "X")) == want_alive:
            return True
        time.sleep(0.05)
    return False


def kill(p):
    if p.poll() is None:
        p.kill()
    p.wait()


@test("non-dumpable: /proc/PID/status owned by root, unlike a plain process")
def _():
    kw = {"user": 65534, "group": 65534} if os.geteuid() == 0 else {}
    control.set_mode(H, "hang")
    plain = subprocess.Popen(["sleep", "20"], env={}, **kw)
    p = subprocess.Popen([FETCH, H.url + "/jwks", "--timeout", "20", "--max-bytes", "100",
                          "--ca-stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={}, **kw)
    try:
        p.stdin.write(CA)
        p.stdin.close()
        time.sleep(0.5)
        assert p.poll() is None, "helper ended early: %r" % p.stderr.read()
        owner = os.stat("/proc/%d/status" % p.pid).st_uid
        mine = os.stat("/proc/%d/status" % plain.pid).st_uid
        assert mine == (65534 if kw else os.geteuid()), mine
        assert owner == 0 and owner != mine, (owner, mine)
    finally:
        kill(p)
        kill(plain)


@test("dies with its parent (PR_SET_PDEATHSIG)")
def _():
    control.set_mode(H, "hang")
    code = ("import subprocess, sys, time\n"
            "p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, env={})\n"
            "p.stdin.write(sys.stdin.buffer.read()); p.stdin.close()\n"
            "print(p.pid, flush=True); time.sleep(1)\n")
    mid = subprocess.Popen([sys.executable, "-c", code, FETCH, H.url + "/jwks", "--timeout",
                            "30", "--max-bytes", "100", "--ca-stdin"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    pid = None
    try:
        mid.stdin.write(CA)
        mid.stdin.close()
        pid = int(mid.stdout.readline())
        assert wait_state(pid, True, 0.5), "helper not running"
        mid.wait(10)
        assert wait_state(pid, False, 3), "helper outlived its parent"
    finally:
        kill(mid)
        if pid is not None and proc_state(pid) not in (None, "Z", "X"):
            os.kill(pid, 9)


# ---------------------------------------------------------------- main

def main():
    global H, CA
    if not os.access(FETCH, os.X_OK):
        print("Bail out! %s not built" % FETCH)
        return 1
    d = tempfile.mkdtemp(prefix="pj-issuer-")
    os.chmod(d, 0o755)
    failed = 0
    print("1..%d" % len(TESTS), flush=True)
    try:
        H = control.start(d)
    except Exception as e:  # noqa: BLE001
        print("Bail out! issuer: %s" % e)
        return 1
    try:
        with open(H.ca, "rb") as f:
            CA = f.read()
        for i, (name, fn) in enumerate(TESTS, 1):
            control.set_mode(H, "normal", target="all")
            control.configure(H, max_age=300, cache_control=None)
            try:
                fn()
                print("ok %d - %s" % (i, name), flush=True)
            except Exception:  # noqa: BLE001
                failed += 1
                print("not ok %d - %s" % (i, name))
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
                sys.stdout.flush()
    finally:
        control.stop(H)
        if failed:
            print("# issuer folder kept: %s" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
