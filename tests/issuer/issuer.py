#!/usr/bin/python3
"""HTTPS test issuer for the pam_jwt tests.

OIDC discovery and a JWKS over TLS, under a test CA made here, with failure
modes set through a control interface on the same server (loopback only).
Stdlib plus python3-jwcrypto (keys) and python3-cryptography (CA).  See
README.md in this folder.

    issuer.py --dir DIR [--port 0] [--port-wrongcert 0] [--issuer URL]
              [--max-age N] [--exit-with-parent]
"""

import argparse
import datetime
import ipaddress
import json
import os
import re
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jwcrypto import jwk

HOST = "127.0.0.1"
DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/jwks"
OTHER_JWKS = "/other/jwks"          # the redirect target: a different set
OVERSIZED = 2 * 1024 * 1024
HANG_MAX = 120
KID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Key types by short name: jwcrypto generate() arguments.
KEY_TYPES = {
    "rsa": dict(kty="RSA", size=2048),                       # RS256, PS256
    "p256": dict(kty="EC", crv="P-256", alg="ES256"),
    "p384": dict(kty="EC", crv="P-384", alg="ES384"),
    "p521": dict(kty="EC", crv="P-521", alg="ES512"),
    "ed25519": dict(kty="OKP", crv="Ed25519", alg="EdDSA"),
}
DEFAULT_KEYS = [("rsa-2048", "rsa"), ("ec-p256", "p256"), ("ec-p384", "p384"),
                ("ec-p521", "p521"), ("ed25519", "ed25519")]
MODES = {"normal", "status", "hang", "trickle", "oversized", "oversized_stream",
         "malformed", "redirect", "issuer_mismatch", "http_jwks_uri", "body"}


# ------------------------------------------------------------------ files

def _write(path, data, mode=0o644):
    """Atomic write: readers never see half a file."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject_key, cn, issuer_cert, issuer_key, sans=None, ca=False):
    now = datetime.datetime.utcnow()
    pub = subject_key.public_key()
    b = (x509.CertificateBuilder()
         .subject_name(_name(cn))
         .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
         .public_key(pub)
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                          False, False), critical=True)
    else:
        b = (b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                           False, False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
             .add_extension(x509.SubjectAlternativeName(sans), critical=False))
    return b.sign(issuer_key, hashes.SHA256())


def make_pki(d):
    """ca.pem, server.pem/.key (127.0.0.1, localhost), wrong.pem/.key
    (wrong.example), all under one test CA; kept if already there."""
    if all(os.path.exists(os.path.join(d, f)) for f in
           ("ca.pem", "server.pem", "server.key", "wrong.pem", "wrong.key")):
        return
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(ca_key, "pam_jwt test CA", None, ca_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv = _cert(srv_key, "127.0.0.1", ca, ca_key, [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    bad_key = ec.generate_private_key(ec.SECP256R1())
    bad = _cert(bad_key, "wrong.example", ca, ca_key, [x509.DNSName("wrong.example")])
    pem = serialization.Encoding.PEM
    _write(os.path.join(d, "ca.key"), _pem_key(ca_key), 0o600)
    _write(os.path.join(d, "server.key"), _pem_key(srv_key), 0o600)
    _write(os.path.join(d, "server.pem"), srv.public_bytes(pem))
    _write(os.path.join(d, "wrong.key"), _pem_key(bad_key), 0o600)
    _write(os.path.join(d, "wrong.pem"), bad.public_bytes(pem))
    _write(os.path.join(d, "ca.pem"), ca.public_bytes(pem))


def new_key(d, kid, ktype):
    """Generate a signing key; its private JWK goes to DIR/keys/<kid>.jwk."""
    if not KID_RE.match(kid) or ktype not in KEY_TYPES:
        raise ValueError("bad kid or key type: %r %r" % (kid, ktype))
    k = jwk.JWK.generate(kid=kid, use="sig", **KEY_TYPES[ktype])
    os.makedirs(os.path.join(d, "keys"), mode=0o700, exist_ok=True)
    _write(os.path.join(d, "keys", kid + ".jwk"), k.export_private() + "\n", 0o600)
    return k


def load_key(d, kid):
    with open(os.path.join(d, "keys", kid + ".jwk")) as f:
        return jwk.JWK.from_json(f.read())


def jwks_doc(keys):
    return json.dumps({"keys": [k.export_public(as_dict=True) for k in keys]},
                      indent=1).encode() + b"\n"


def load_or_make_set(d, name, defaults):
    """The current key set, as listed by DIR/<name> (kept across restarts)."""
    path = os.path.join(d, name)
    try:
        with open(path) as f:
            kids = [k["kid"] for k in json.load(f)["keys"]]
        keys = [load_key(d, kid) for kid in kids]
    except (OSError, ValueError, KeyError):
        keys = [new_key(d, kid, t) for kid, t in defaults]
    _write(path, jwks_doc(keys))
    return keys


# ------------------------------------------------------------------ state

class State:
    def __init__(self, d, issuer=None, max_age=300):
        self.dir = d
        self.lock = threading.Lock()
        self.port = 0
        self.issuer = issuer            # None: https://127.0.0.1:PORT
        self.jwks_uri = None            # None: https://127.0.0.1:PORT/jwks
        self.max_age = max_age          # None: no Cache-Control
        self.cache_control = None       # a raw header value overrides max_age
        self.modes = {"jwks": {"mode": "normal"}, "discovery": {"mode": "normal"}}
        self.counts = {}
        self.release = threading.Event()
        self.stopping = threading.Event()
        self.keys = load_or_make_set(d, "jwks.json", DEFAULT_KEYS)
        self.other = load_or_make_set(d, "other_jwks.json", [("other-p256", "p256")])

    def base(self):
        return "https://%s:%d" % (HOST, self.port)

    def take_mode(self, target):
        """The mode for this request; a mode with "times" runs out."""
        with self.lock:
            m = self.modes.get(target, {"mode": "normal"})
            if "times" in m:
                m["times"] -= 1
                if m["times"] <= 0:
                    self.modes[target] = {"mode": "normal"}
            return dict(m)

    def set_mode(self, target, m):
        if m.get("mode") not in MODES:
            raise ValueError("unknown mode %r" % m.get("mode"))
        targets = ["jwks", "discovery"] if target == "all" else [target]
        if any(t not in self.modes for t in targets):
            raise ValueError("unknown target %r" % target)
        with self.lock:
            for t in targets:
                self.modes[t] = dict(m)
            self.do_release()

    def do_release(self):
        self.release.set()
        self.release = threading.Event()

    def rotate(self, add, drop):
        with self.lock:
            keys = [k for k in self.keys if k.get("kid") not in set(drop)]
            have = {k.get("kid") for k in keys}
            for i, spec in enumerate(add):
                t = spec.get("type", "p256")
                kid = spec.get("kid") or "%s-%d-%d" % (t, int(time.time()), i)
                if kid in have:
                    raise ValueError("kid %r already there" % kid)
                keys.append(new_key(self.dir, kid, t))
                have.add(kid)
            self.keys = keys
            _write(os.path.join(self.dir, "jwks.json"), jwks_doc(keys))
            return [k.get("kid") for k in keys]

    def cache_header(self):
        if self.cache_control is not None:
            return self.cache_control or None
        return None if self.max_age is None else "public, max-age=%d" % self.max_age


# ------------------------------------------------------------------ HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pj-test-issuer"
    sys_version = ""
    timeout = 30

    @property
    def st(self):
        return self.server.state

    def log_message(self, fmt, *args):
        sys.stderr.write("issuer %d: %s\n" % (self.server.server_port, fmt % args))

    def send(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        if u.path.startswith("/control/"):
            return self.control("GET", u.path, parse_qs(u.query))
        st = self.st
        with st.lock:
            st.counts[u.path] = st.counts.get(u.path, 0) + 1
            cc = st.cache_header()
            disc = {"issuer": st.issuer or st.base(),
                    "jwks_uri": st.jwks_uri or st.base() + JWKS}
            jwks, other = jwks_doc(st.keys), jwks_doc(st.other)
        extra = [("Cache-Control", cc)] if cc else []
        if u.path == DISCOVERY:
            target = "discovery"
        elif u.path == JWKS:
            target = "jwks"
        elif u.path == OTHER_JWKS:
            return self.send(200, other, extra=extra)
        else:
            return self.send(404, b'{"error": "not found"}\n')
        m = st.take_mode(target)
        mode = m["mode"]
        if mode == "issuer_mismatch":
            disc["issuer"] = m.get("issuer", "https://wrong-issuer.example")
        elif mode == "http_jwks_uri":
            disc["jwks_uri"] = "http://%s:%d%s" % (HOST, st.port, JWKS)
        body = jwks if target == "jwks" else json.dumps(disc).encode() + b"\n"
        if mode == "status":
            self.send(int(m.get("status", 500)), b'{"error": "test"}\n', extra=extra)
        elif mode == "hang":
            # No answer until released (or a mode change), then just close.
            ev = st.release
            ev.wait(min(float(m.get("seconds", HANG_MAX)), HANG_MAX))
            self.close_connection = True
        elif mode == "trickle":
            self.trickle(body, extra)
        elif mode == "oversized":
            n = int(m.get("bytes", OVERSIZED))
            self.send(200, b'{"keys": [], "pad": "' + b"a" * n + b'"}', extra=extra)
        elif mode == "oversized_stream":
            self.stream(int(m.get("bytes", OVERSIZED)), extra)
        elif mode == "malformed":
            self.send(200, b'{"keys": [', extra=extra)
        elif mode == "redirect":
            self.send(302, b"{}", extra=extra + [("Location", st.base() + OTHER_JWKS)])
        elif mode == "body":
            self.send(int(m.get("status", 200)), m.get("body", "").encode(),
                      ctype=m.get("content_type", "application/json"), extra=extra)
        else:
            self.send(200, body, extra=extra)

    def trickle(self, body, extra):
        """One byte a second: slower than any sane client timeout."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True
        for i in range(len(body)):
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()
            if self.st.stopping.wait(1):
                return

    def stream(self, n, extra):
        """A body of n bytes, chunked: no Content-Length to judge it by."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True
        chunk = b"a" * 65536
        for off in range(0, n, len(chunk)):
            c = chunk[:min(len(chunk), n - off)]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self):
        u = urlsplit(self.path)
        if not u.path.startswith("/control/"):
            return self.send(405, b'{"error": "method"}\n')
        n = int(self.headers.get("Content-Length") or 0)
        if n > 65536:
            return self.send(413, b'{"error": "too large"}\n')
        try:
            arg = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.send(400, b'{"error": "json"}\n')
        return self.control("POST", u.path, arg)

    def control(self, method, path, arg):
        if self.client_address[0] not in ("127.0.0.1", "::1"):
            return self.send(403, b'{"error": "loopback only"}\n')
        st = self.st
        try:
            if method == "GET" and path == "/control/counts":
                with st.lock:
                    res = dict({DISCOVERY: 0, JWKS: 0, OTHER_JWKS: 0}, **st.counts)
                    if arg.get("reset"):
                        st.counts = {}
            elif method == "GET" and path == "/control/state":
                with st.lock:
                    res = {"issuer": st.issuer or st.base(), "port": st.port,
                           "jwks_uri": st.jwks_uri or st.base() + JWKS,
                           "max_age": st.max_age, "cache_control": st.cache_control,
                           "modes": st.modes, "kids": [k.get("kid") for k in st.keys]}
            elif method != "POST":
                return self.send(404, b'{"error": "not found"}\n')
            elif path == "/control/reset":
                with st.lock:
                    st.counts = {}
                res = {"ok": True}
            elif path == "/control/mode":
                m = dict(arg)
                st.set_mode(m.pop("target", "jwks"), m)
                res = {"ok": True}
            elif path == "/control/release":
                with st.lock:
                    st.do_release()
                res = {"ok": True}
            elif path == "/control/rotate":
                res = {"kids": st.rotate(arg.get("add", []), arg.get("drop", []))}
            elif path == "/control/config":
                with st.lock:
                    for k in ("issuer", "jwks_uri", "max_age", "cache_control"):
                        if k in arg:
                            setattr(st, k, arg[k])
                res = {"ok": True}
            else:
                return self.send(404, b'{"error": "not found"}\n')
        except (ValueError, TypeError, KeyError) as e:
            return self.send(400, json.dumps({"error": str(e)}).encode())
        self.send(200, json.dumps(res).encode() + b"\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, port, state, cert, key):
        super().__init__((HOST, port), Handler)
        self.state = state
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        # Handshake in the request thread: a stuck client stalls only itself.
        self.socket = ctx.wrap_socket(self.socket, server_side=True,
                                      do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        sys.stderr.write("issuer %d: %s: %s\n" % (self.server_port, type(e).__name__, e))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-wrongcert", type=int, default=0)
    ap.add_argument("--issuer", default=None)
    ap.add_argument("--max-age", type=int, default=300)
    ap.add_argument("--exit-with-parent", action="store_true")
    a = ap.parse_args(argv)
    d = os.path.abspath(a.dir)
    os.makedirs(d, exist_ok=True)
    parent = os.getppid()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    make_pki(d)
    st = State(d, a.issuer, a.max_age)
    good = Server(a.port, st, os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    bad = Server(a.port_wrongcert, st, os.path.join(d, "wrong.pem"),
                 os.path.join(d, "wrong.key"))
    st.port = good.server_port
    for s in (good, bad):
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    # DIR/port last: once it is there, everything is.
    _write(os.path.join(d, "pid"), "%d\n" % os.getpid())
    _write(os.path.join(d, "port_wrongcert"), "%d\n" % bad.server_port)
    _write(os.path.join(d, "port"), "%d\n" % good.server_port)
    while not stop.wait(0.5):
        if a.exit_with_parent and os.getppid() != parent:
            break
    st.stopping.set()
    with st.lock:
        st.do_release()
    for s in (good, bad):
        s.shutdown()
        s.server_close()
    for f in ("port", "port_wrongcert", "pid"):
        try:
            os.unlink(os.path.join(d, f))
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
