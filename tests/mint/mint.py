#!/usr/bin/python3
"""Token minting for the pam_jwt tests: the independent side.

Every token the tests feed to pam_jwt is made here, with python3-jwcrypto
(Debian's, run by /usr/bin/python3) and the standard library, never with our
own code.  Signatures are always computed by jwcrypto; the hostile variants
only re-assemble, re-encode or edit the segments of tokens jwcrypto signed, or
have jwcrypto sign a signing input built from arbitrary bytes (duplicate
members, a byte-order mark, ...), which its JSON-level API refuses to make.

As a module:
    import mint
    k = mint.gen_key("RSA2048", kid="r1")
    tok = mint.sign(k, "RS256", {"sub": "alice", "exp": ...}, {"kid": "r1"})
    mint.write_jwks("/tmp/x/jwks.json", [mint.public_jwk(k)])

As a command:
    mint.py gen --type RSA2048|RSA3072|RSA1024|P-256|P-384|P-521|secp256k1|Ed25519|Ed448
                [--kid KID] --out key.jwk [--jwks jwks.json]
    mint.py jwks key.jwk [key2.jwk ...] [--out jwks.json]
    mint.py sign --key key.jwk --alg RS256 --claims '{"sub":"alice"}'
                 [--header '{"kid":"x"}'] [--raw-payload TEXT] [--raw-header TEXT]
                 [--now-relative]   (exp/nbf/iat given as "+300"/"-60" strings)
    mint.py none --claims JSON
    mint.py hs256-pubkey --key key.jwk --claims JSON
    mint.py tamper {flip-sig,alg,payload,der,zero-sig} ...  (see --help)
"""

import argparse
import base64
import json
import os
import sys
import time

import jwcrypto
from jwcrypto import jwk, jws, jwe
from jwcrypto.jwa import JWA
from jwcrypto.common import json_encode

# cryptography is jwcrypto's own dependency; used only to re-encode ECDSA
# signatures (raw r||s <-> DER) and to check whether a point is on its curve.
from cryptography.hazmat.primitives.asymmetric import utils as ec_utils
from cryptography.hazmat.primitives.asymmetric import ec

JWCRYPTO_VERSION = getattr(jwcrypto, "__version__", None)
if JWCRYPTO_VERSION is None:
    try:
        from importlib.metadata import version as _v
        JWCRYPTO_VERSION = _v("jwcrypto")
    except Exception:  # pragma: no cover
        JWCRYPTO_VERSION = "unknown"

IMPLEMENTATION = "python3-jwcrypto %s (%s)" % (JWCRYPTO_VERSION,
                                                os.path.dirname(jwcrypto.__file__))

ALL_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
            "ES256", "ES384", "ES512", "EdDSA", "ES256K",
            "HS256", "HS384", "HS512"]

# Names jwcrypto does not know, and its algorithm that makes the same
# signature: RFC 9864's fully-specified "Ed25519" is its EdDSA on an
# Ed25519 key (only the header's name differs).
SAME_SIG = {"Ed25519": "EdDSA"}

# ECDSA: curve per algorithm, raw signature half-length in bytes
EC_SIZES = {"ES256": 32, "ES384": 48, "ES512": 66, "ES256K": 32}
EC_ORDERS = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "P-384": int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                 "581A0DB248B0A77AECEC196ACCC52973", 16),
    "P-521": int("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                 "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC"
                 "0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16),
}

# ---------------------------------------------------------------- encoding


def b64url(data):
    """Canonical base64url without padding of bytes (or str, as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    if isinstance(s, bytes):
        s = s.decode("ascii")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def json_bytes(obj):
    """Compact JSON, UTF-8, non-ASCII kept as is."""
    return json.dumps(obj, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _as_bytes(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    return json_bytes(x)


def split(token):
    return token.split(".")


def assemble(header, payload, signature):
    """Raw assembly: each part is bytes (encoded here) or a str taken as the
    already-encoded segment; dicts are JSON-encoded first."""
    parts = []
    for p in (header, payload, signature):
        if isinstance(p, str):
            parts.append(p)
        else:
            parts.append(b64url(_as_bytes(p)))
    return ".".join(parts)


def segments(*raw_segments):
    """Join arbitrary already-encoded segments (e.g. five for a JWE shape)."""
    return ".".join(raw_segments)

# ---------------------------------------------------------------- keys


KEY_TYPES = {
    "RSA1024": dict(kty="RSA", size=1024),
    "RSA2048": dict(kty="RSA", size=2048),
    "RSA3072": dict(kty="RSA", size=3072),
    "RSA4096": dict(kty="RSA", size=4096),
    "P-256": dict(kty="EC", crv="P-256"),
    "P-384": dict(kty="EC", crv="P-384"),
    "P-521": dict(kty="EC", crv="P-521"),
    "secp256k1": dict(kty="EC", crv="secp256k1"),
    "Ed25519": dict(kty="OKP", crv="Ed25519"),
    "Ed448": dict(kty="OKP", crv="Ed448"),
}

# the algorithm a key type signs with by default
DEFAULT_ALG = {"RSA1024": "RS256", "RSA2048": "RS256", "RSA3072": "RS256",
               "RSA4096": "RS256", "P-256": "ES256", "P-384": "ES384",
               "P-521": "ES512", "secp256k1": "ES256K", "Ed25519": "EdDSA",
               "Ed448": "EdDSA"}


def gen_key(kind, kid=None, **members):
    """A fresh private jwk.JWK of the named type; kid and other public
    members (use, alg, key_ops) are set when given."""
    params = dict(KEY_TYPES[kind])
    if kid is not None:
        params["kid"] = kid
    k = jwk.JWK.generate(**params)
    for name, val in members.items():
        k[name] = val
    return k


def load_key(path):
    with open(path, "r", encoding="utf-8") as f:
        return jwk.JWK.from_json(f.read())


def public_jwk(key, **override):
    """The public JWK as a dict; override adds, changes or (value None)
    removes members."""
    d = json.loads(key.export_public())
    for name in ("kid", "use", "alg", "key_ops"):
        if name in key and name not in d:
            d[name] = key[name]
    for name, val in override.items():
        if val is None:
            d.pop(name, None)
        else:
            d[name] = val
    return d


def private_jwk(key):
    return json.loads(key.export_private())


def jwks(*jwk_dicts):
    return {"keys": list(jwk_dicts)}


def _write(path, data, mode):
    tmp = path + ".tmp%d" % os.getpid()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def write_jwks(path, keys, mode=0o644):
    """keys: list of public JWK dicts (or jwk.JWK, exported public), or a
    whole document as dict/bytes/str."""
    if isinstance(keys, (bytes, str)):
        data = _as_bytes(keys)
    elif isinstance(keys, dict):
        data = json_bytes(keys)
    else:
        ks = [public_jwk(k) if isinstance(k, jwk.JWK) else k for k in keys]
        data = json_bytes(jwks(*ks))
    _write(path, data, mode)


def write_private_jwk(path, key):
    _write(path, key.export_private().encode("utf-8"), 0o600)


def ec_point_on_curve(jwk_dict):
    """True when the EC public JWK's point is on its curve (cryptography)."""
    curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(),
              "P-521": ec.SECP521R1(), "secp256k1": ec.SECP256K1()}
    x = int.from_bytes(b64url_decode(jwk_dict["x"]), "big")
    y = int.from_bytes(b64url_decode(jwk_dict["y"]), "big")
    try:
        ec.EllipticCurvePublicNumbers(x, y, curves[jwk_dict["crv"]]).public_key()
        return True
    except ValueError:
        return False


def off_curve_jwk(key):
    """The public JWK with y changed (same length) so the point is off the
    curve."""
    d = public_jwk(key)
    y = bytearray(b64url_decode(d["y"]))
    for i in range(256):
        y2 = bytearray(y)
        y2[-1] ^= (i + 1) & 0xFF
        d["y"] = b64url(bytes(y2))
        if not ec_point_on_curve(d):
            return d
    raise RuntimeError("could not move the point off the curve")

# ---------------------------------------------------------------- signing


def sign_raw(key, alg, header, payload):
    """Sign the signing input made of arbitrary header and payload bytes
    (dicts are JSON-encoded compactly) with jwcrypto's algorithm `alg`,
    whatever the header says.  The signature is jwcrypto's."""
    h = _as_bytes(header)
    p = _as_bytes(payload)
    sigin = (b64url(h) + "." + b64url(p)).encode("ascii")
    sig = JWA.signing_alg(SAME_SIG.get(alg, alg)).sign(key, sigin)
    if isinstance(sig, str):
        sig = sig.encode("ascii")
    return assemble(h, p, sig)


def sign(key, alg, claims, header=None):
    """A compact JWS by jwcrypto's JWS API: protected header {"alg": alg}
    plus `header` members (a header "alg" member different from `alg` goes
    through sign_raw: the signature is made with `alg`).  claims: dict, or
    bytes/str taken as the raw payload."""
    hdr = {"alg": alg}
    if header:
        hdr.update(header)
    payload = _as_bytes(claims)
    if hdr.get("alg") != alg or "crit" in hdr or alg in SAME_SIG:
        # jwcrypto refuses these (the first two on purpose); it signs the
        # bytes we assemble
        return sign_raw(key, alg, hdr, payload)
    s = jws.JWS(payload=payload)
    s.allowed_algs = ALL_ALGS
    s.add_signature(key, alg=alg, protected=json_encode(hdr))
    return s.serialize(compact=True)


def verify(key, token, alg):
    """jwcrypto's own verdict on a token (used to sanity-check fixtures)."""
    s = jws.JWS()
    s.allowed_algs = ALL_ALGS
    try:
        s.deserialize(token)
        s.verify(key, alg=alg)
        return True
    except Exception:
        return False

# ---------------------------------------------------------------- hostile


def alg_none(claims, header=None):
    """{"alg":"none"} (plus members) and an empty signature."""
    hdr = {"alg": "none"}
    if header:
        hdr.update(header)
    return assemble(hdr, _as_bytes(claims), b"")


def hs256_with_pubkey(rsa_key, claims, header=None, alg="HS256"):
    """HS256 keyed with the PEM of the RSA public key: the classic
    RS/HS confusion.  jwcrypto computes the HMAC with an oct key."""
    pem = rsa_key.export_to_pem(private_key=False, password=None)
    okey = jwk.JWK(kty="oct", k=b64url(pem))
    hdr = {"alg": alg}
    if header:
        hdr.update(header)
    return sign_raw(okey, alg, hdr, _as_bytes(claims))


def flip_sig_bit(token, bit=0):
    """Flip one bit of the decoded signature (bit 0 = lowest bit of the
    first byte)."""
    h, p, s = split(token)
    sig = bytearray(b64url_decode(s))
    sig[bit // 8] ^= 1 << (bit % 8)
    return ".".join([h, p, b64url(bytes(sig))])


def header_of(token):
    return json.loads(b64url_decode(split(token)[0]))


def payload_of(token):
    return json.loads(b64url_decode(split(token)[1]))


def replace_header(token, header):
    """Keep payload and signature; header is a dict, or raw bytes/str."""
    _, p, s = split(token)
    return ".".join([b64url(_as_bytes(header)), p, s])


def change_alg(token, new_alg):
    hdr = header_of(token)
    hdr["alg"] = new_alg
    return replace_header(token, hdr)


def replace_payload(token, claims):
    h, _, s = split(token)
    return ".".join([h, b64url(_as_bytes(claims)), s])


def ecdsa_raw_to_der(token):
    h, p, s = split(token)
    raw = b64url_decode(s)
    n = len(raw) // 2
    r = int.from_bytes(raw[:n], "big")
    ss = int.from_bytes(raw[n:], "big")
    return ".".join([h, p, b64url(ec_utils.encode_dss_signature(r, ss))])


def ecdsa_with_rs(token, r, s, size=None):
    """Replace the ECDSA signature by r||s of the same (or given) size."""
    h, p, sig = split(token)
    if size is None:
        size = len(b64url_decode(sig)) // 2
    raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return ".".join([h, p, b64url(raw)])


def ecdsa_zero(token):
    """The "psychic signature" (CVE-2022-21449): r = s = 0."""
    return ecdsa_with_rs(token, 0, 0)


def jwe_compact(pub_key, claims, alg="RSA-OAEP-256", enc="A256GCM"):
    """A real five-segment JWE (jwcrypto) of the claims."""
    e = jwe.JWE(_as_bytes(claims), json_encode({"alg": alg, "enc": enc}))
    e.add_recipient(pub_key)
    return e.serialize(compact=True)


def raw_json(text):
    """Raw JSON text (str) as bytes: for payloads jwcrypto and json.dumps
    cannot express (duplicate members, \\u0000, 1e400, BOM...)."""
    return text.encode("utf-8") if isinstance(text, str) else text


def sized_token(make, total):
    """A token of exactly total bytes from make(pad, extra): a binary search
    on the padding length, for each of 4 header sizes (extra 0..3, since a
    base64url length is never 1 mod 4). The token length only grows with
    the padding, so the search finds the size when one exists."""
    for extra in range(4):
        lo, hi = 0, total
        while lo <= hi:
            mid = (lo + hi) // 2
            tok = make(mid, extra)
            if len(tok) == total:
                return tok
            if len(tok) < total:
                lo = mid + 1
            else:
                hi = mid - 1
    raise RuntimeError("no token of %d bytes" % total)


def claims(now=None, ttl=300, **extra):
    """A usual claim set; extra members override (value None removes)."""
    if now is None:
        now = int(time.time())
    c = {"iss": "https://issuer.test", "aud": "ssh://host1", "sub": "bin",
         "iat": now, "nbf": now, "exp": now + ttl,
         "jti": b64url(os.urandom(12))}
    for k, v in extra.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c

# ---------------------------------------------------------------- CLI


def _load_json_arg(s):
    if s is None:
        return None
    if s.startswith("@"):
        with open(s[1:], "r", encoding="utf-8") as f:
            return json.load(f)
    return json.loads(s)


def _relative_times(c):
    now = int(time.time())
    for name in ("exp", "nbf", "iat"):
        v = c.get(name)
        if isinstance(v, str) and v[:1] in "+-" and v[1:].isdigit():
            c[name] = now + int(v)
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    g = sub.add_parser("gen", help="generate a private JWK")
    g.add_argument("--type", required=True, choices=sorted(KEY_TYPES))
    g.add_argument("--kid")
    g.add_argument("--out", required=True, help="private JWK file (0600)")
    g.add_argument("--jwks", help="also write a public JWKS with this key")

    j = sub.add_parser("jwks", help="public JWKS of private JWK files")
    j.add_argument("keys", nargs="+")
    j.add_argument("--out", help="file (0644); default stdout")

    s = sub.add_parser("sign", help="mint a compact JWS")
    s.add_argument("--key", required=True)
    s.add_argument("--alg", required=True, help="signing algorithm")
    s.add_argument("--claims", help="JSON object (or @file)")
    s.add_argument("--raw-payload", help="payload bytes taken verbatim")
    s.add_argument("--header", help="extra header members, JSON (or @file)")
    s.add_argument("--raw-header", help="header bytes taken verbatim")
    s.add_argument("--now-relative", action="store_true",
                   help='exp/nbf/iat "+N"/"-N" are relative to now')

    n = sub.add_parser("none", help='an {"alg":"none"} token')
    n.add_argument("--claims", required=True)

    hs = sub.add_parser("hs256-pubkey", help="HS256 keyed with the RSA "
                        "public key PEM")
    hs.add_argument("--key", required=True)
    hs.add_argument("--claims", required=True)

    t = sub.add_parser("tamper", help="edit a token read from stdin")
    t.add_argument("how", choices=["flip-sig", "alg", "payload", "der",
                                   "zero-sig"])
    t.add_argument("--alg", help="new alg for 'alg'")
    t.add_argument("--claims", help="new claims for 'payload'")
    t.add_argument("--bit", type=int, default=0)

    a = ap.parse_args(argv)
    out = None
    if a.cmd == "gen":
        k = gen_key(a.type, kid=a.kid)
        write_private_jwk(a.out, k)
        if a.jwks:
            write_jwks(a.jwks, [public_jwk(k)])
        return 0
    if a.cmd == "jwks":
        doc = jwks(*[public_jwk(load_key(p)) for p in a.keys])
        if a.out:
            write_jwks(a.out, doc)
            return 0
        out = json.dumps(doc, indent=1)
    elif a.cmd == "sign":
        k = load_key(a.key)
        if a.raw_payload is not None:
            payload = a.raw_payload.encode("utf-8")
        else:
            c = _load_json_arg(a.claims) or {}
            if a.now_relative:
                c = _relative_times(c)
            payload = json_bytes(c)
        if a.raw_header is not None:
            out = sign_raw(k, a.alg, a.raw_header.encode("utf-8"), payload)
        else:
            out = sign(k, a.alg, payload, _load_json_arg(a.header))
    elif a.cmd == "none":
        out = alg_none(json_bytes(_load_json_arg(a.claims)))
    elif a.cmd == "hs256-pubkey":
        out = hs256_with_pubkey(load_key(a.key),
                                json_bytes(_load_json_arg(a.claims)))
    elif a.cmd == "tamper":
        tok = sys.stdin.read().strip()
        if a.how == "flip-sig":
            out = flip_sig_bit(tok, a.bit)
        elif a.how == "alg":
            out = change_alg(tok, a.alg)
        elif a.how == "payload":
            out = replace_payload(tok, json_bytes(_load_json_arg(a.claims)))
        elif a.how == "der":
            out = ecdsa_raw_to_der(tok)
        else:
            out = ecdsa_zero(tok)
    sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
