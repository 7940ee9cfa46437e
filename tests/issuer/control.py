"""Client side of the HTTPS test issuer: start it, steer it, stop it.

    import control
    h = control.start("/tmp/x")          # spawns issuer.py, waits for DIR/port
    try:
        control.set_mode(h, "status", status=500)
        control.counts(h)                 # {"/jwks": n, ...}
    finally:
        control.stop(h)                   # SIGTERM by pid, then SIGKILL
"""

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


class Issuer:
    """A running issuer: port, wrong-certificate port, CA file, pid."""

    def __init__(self, d, proc, port, port_wrongcert):
        self.dir = d
        self.proc = proc
        self.pid = proc.pid
        self.port = port
        self.port_wrongcert = port_wrongcert
        self.ca = os.path.join(d, "ca.pem")
        self.url = "https://127.0.0.1:%d" % port
        self.url_wrongcert = "https://127.0.0.1:%d" % port_wrongcert
        self.keys_dir = os.path.join(d, "keys")


def _read_int(path):
    with open(path) as f:
        return int(f.read().strip())


def start(d, issuer=None, max_age=None, timeout=60):
    """Spawn issuer.py on DIR and return its handle once it listens."""
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    for f in ("port", "port_wrongcert", "pid"):
        try:
            os.unlink(os.path.join(d, f))
        except FileNotFoundError:
            pass
    cmd = [PYTHON, os.path.join(HERE, "issuer.py"), "--dir", d, "--port", "0",
           "--exit-with-parent"]
    if issuer is not None:
        cmd += ["--issuer", issuer]
    if max_age is not None:
        cmd += ["--max-age", str(max_age)]
    with open(os.path.join(d, "issuer.log"), "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                close_fds=True)
    deadline = time.monotonic() + timeout
    port_file = os.path.join(d, "port")
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            _kill(proc)
            with open(os.path.join(d, "issuer.log"), errors="replace") as f:
                raise RuntimeError("issuer did not start:\n" + f.read()[-2000:])
        time.sleep(0.05)
    return Issuer(d, proc, _read_int(port_file),
                  _read_int(os.path.join(d, "port_wrongcert")))


def _kill(proc):
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def stop(h):
    """SIGTERM by pid, wait; SIGKILL if it does not go within 10 s."""
    if h.proc.poll() is not None:
        return
    try:
        os.kill(h.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        h.proc.wait(10)
    except subprocess.TimeoutExpired:
        _kill(h.proc)


def _request(h, method, path, arg=None):
    ctx = ssl.create_default_context(cafile=h.ca)
    # No proxy from the environment: traffic stays on 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx))
    data = None if arg is None else json.dumps(arg).encode()
    req = urllib.request.Request(h.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with opener.open(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError("issuer control %s: %d %s" % (path, e.code, e.read()[:200]))


def set_mode(h, mode, target="jwks", **params):
    """target: jwks, discovery or all; params: status=, seconds=, bytes=,
    issuer=, body=, content_type=, times= (see README.md)."""
    return _request(h, "POST", "/control/mode", dict(params, mode=mode, target=target))


def release(h):
    return _request(h, "POST", "/control/release", {})


def rotate(h, add=(), drop=()):
    """add: [{"type": "p256", "kid": "new"}, ...]; drop: [kid, ...].
    Returns the kids now served."""
    return _request(h, "POST", "/control/rotate",
                    {"add": list(add), "drop": list(drop)})["kids"]


def configure(h, **kw):
    """issuer=, jwks_uri=, max_age= (None: no header), cache_control= (raw)."""
    return _request(h, "POST", "/control/config", kw)


def set_max_age(h, n):
    return configure(h, max_age=n)


def counts(h):
    return _request(h, "GET", "/control/counts")


def reset_counts(h):
    return _request(h, "POST", "/control/reset", {})


def state(h):
    return _request(h, "GET", "/control/state")


def jwks(h):
    """The public JWKS now served, as bytes (what /jwks returns)."""
    with open(os.path.join(h.dir, "jwks.json"), "rb") as f:
        return f.read()


def key_file(h, kid):
    """The private JWK file of a key, for tests/mint."""
    return os.path.join(h.keys_dir, kid + ".jwk")
