#!/usr/bin/python3
"""Fixtures for tests/unit/test_jwk.c, minted by an independent implementation
(python3-jwcrypto and python3-cryptography), never by pam_jwt.

    /usr/bin/python3 tests/jwk/gen_fixtures.py > tests/jwk/fixtures.json

Keys are fresh on every run; the test reads everything it needs from the
output (public JWKs, base64url variants of key members, compact tokens).
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwcrypto import jwk, jws
from jwcrypto.jwa import JWA


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def pub(key, **extra):
    d = json.loads(key.export_public())
    d.update(extra)
    return d


def mint(key, alg, payload, kid=None):
    hdr = {"alg": alg}
    if kid is not None:
        hdr["kid"] = kid
    s = jws.JWS(payload.encode())
    s.add_signature(key, None, json.dumps(hdr, separators=(",", ":")))
    return s.serialize(compact=True)


def signing_input(alg, payload, kid=None):
    hdr = {"alg": alg}
    if kid is not None:
        hdr["kid"] = kid
    return (b64u(json.dumps(hdr, separators=(",", ":")).encode()) + "." +
            b64u(payload.encode()))


PAYLOAD = json.dumps({"sub": "alice", "iss": "https://issuer.example"}, separators=(",", ":"))

# n must hold a '-' or '_' so that its standard-alphabet form differs.
while True:
    rsa2048 = jwk.JWK.generate(kty="RSA", size=2048)
    if "-" in json.loads(rsa2048.export_public())["n"] or "_" in json.loads(rsa2048.export_public())["n"]:
        break
rsa1024 = jwk.JWK.generate(kty="RSA", size=1024)
rsa2047 = jwk.JWK.from_pyca(rsa.generate_private_key(65537, 2047))
rsa_e3 = jwk.JWK.from_pyca(rsa.generate_private_key(3, 2048))
ec256 = jwk.JWK.generate(kty="EC", crv="P-256")
ec384 = jwk.JWK.generate(kty="EC", crv="P-384")
ec521 = jwk.JWK.generate(kty="EC", crv="P-521")
k1 = jwk.JWK.generate(kty="EC", crv="secp256k1")
ed = jwk.JWK.generate(kty="OKP", crv="Ed25519")
ed448 = jwk.JWK.generate(kty="OKP", crv="Ed448")

out = {"payload": PAYLOAD, "jwk": {}, "b64": {}, "jws": {}}
J, B, T = out["jwk"], out["b64"], out["jws"]

J["rsa2048"] = pub(rsa2048)
J["rsa2048_private"] = json.loads(rsa2048.export_private())
J["rsa1024"] = pub(rsa1024)
J["rsa2047"] = pub(rsa2047)
J["rsa_e3"] = pub(rsa_e3)
J["ec256"] = pub(ec256)
J["ec384"] = pub(ec384)
J["ec521"] = pub(ec521)
J["secp256k1"] = pub(k1)
J["ed25519"] = pub(ed)
J["ed448"] = pub(ed448)

# A P-256 "key" whose point is off the curve: y + 1 (checked with pyca).
x = unb64u(J["ec256"]["x"])
y = int.from_bytes(unb64u(J["ec256"]["y"]), "big")
p256 = 2**256 - 2**224 + 2**192 + 2**96 - 1
bad_y = ((y + 1) % p256).to_bytes(32, "big")
try:
    ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(bad_y, "big"),
                                  ec.SECP256R1()).public_key()
    sys.exit("off-curve point unexpectedly accepted")
except ValueError:
    pass
J["ec256_offcurve"] = dict(J["ec256"], y=b64u(bad_y))

# Member variants, as base64url strings.
n = unb64u(J["rsa2048"]["n"])
B["n2048"] = J["rsa2048"]["n"]
B["n2048_lead0"] = b64u(b"\0" + n)
B["n2048_padded"] = J["rsa2048"]["n"] + "=" * (-len(J["rsa2048"]["n"]) % 4)
B["n2048_std"] = base64.b64encode(n).rstrip(b"=").decode()
assert B["n2048_std"] != B["n2048"]
B["e_65537"] = "AQAB"
B["e_65537_lead0"] = b64u(b"\0\1\0\1")
B["e_3"] = "Aw"
B["e_1"] = "AQ"
B["e_2"] = "Ag"
B["e_65536"] = b64u((65536).to_bytes(3, "big"))
B["e_empty"] = ""
ex, ey = unb64u(J["ec256"]["x"]), unb64u(J["ec256"]["y"])
B["ec256_x"], B["ec256_y"] = J["ec256"]["x"], J["ec256"]["y"]
B["ec256_x31"] = b64u(ex[1:])
B["ec256_x33"] = b64u(b"\0" + ex)
# 32 octets are 43 characters whose last one carries 2 unused bits: set them.
alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
last = alpha.index(B["ec256_x"][-1])
B["ec256_x_badbits"] = B["ec256_x"][:-1] + alpha[last | 1]
B["ec384_x"], B["ec384_y"] = J["ec384"]["x"], J["ec384"]["y"]
ox = unb64u(J["ed25519"]["x"])
B["ed_x"] = J["ed25519"]["x"]
B["ed_x31"] = b64u(ox[:31])
B["ed_x33"] = b64u(ox + b"\0")

# Tokens, one per algorithm, without kid; and a few with one.
for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
    T[alg] = mint(rsa2048, alg, PAYLOAD)
T["ES256"] = mint(ec256, "ES256", PAYLOAD)
T["ES384"] = mint(ec384, "ES384", PAYLOAD)
T["ES512"] = mint(ec521, "ES512", PAYLOAD)
T["EdDSA"] = mint(ed, "EdDSA", PAYLOAD)
# RFC 9864's "Ed25519": the same signature over a header that names it.
# jwcrypto does not know the name; its EdDSA signs the signing input.
si_ed = signing_input("Ed25519", PAYLOAD)
T["Ed25519"] = si_ed + "." + b64u(JWA.signing_alg("EdDSA").sign(ed, si_ed.encode()))
T["RS256_kid_k1"] = mint(rsa2048, "RS256", PAYLOAD, kid="k1")
T["ES256_kid_k1"] = mint(ec256, "ES256", PAYLOAD, kid="k1")
T["RS256_rsa1024"] = mint(rsa1024, "RS256", PAYLOAD)
T["RS256_rsa_e3"] = mint(rsa_e3, "RS256", PAYLOAD)

# ES256 with a DER signature (what pyca gives), and the psychic r = s = 0.
si = signing_input("ES256", PAYLOAD)
der = ec256.get_op_key("sign").sign(si.encode(), ec.ECDSA(hashes.SHA256()))
r, s = decode_dss_signature(der)
T["ES256_der"] = si + "." + b64u(der)
T["ES256_raw_from_der"] = si + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
T["ES256_psychic"] = si + "." + b64u(bytes(64))
# r = n, s from the good signature: out of range.
n256 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
T["ES256_r_is_n"] = si + "." + b64u(n256.to_bytes(32, "big") + s.to_bytes(32, "big"))
# A P-384 signature presented as ES256 (wrong curve for the alg).
der384 = ec384.get_op_key("sign").sign(si.encode(), ec.ECDSA(hashes.SHA256()))
r3, s3 = decode_dss_signature(der384)
T["ES384_as_ES256"] = si + "." + b64u(r3.to_bytes(48, "big") + s3.to_bytes(48, "big"))

# PS256 with other salt lengths: only 32 (the hash length) is JWA.
priv = rsa2048.get_op_key("sign")
si_ps = signing_input("PS256", PAYLOAD)
for name, salt in (("PS256_salt32", 32), ("PS256_salt0", 0), ("PS256_salt64", 64),
                   ("PS256_saltmax", padding.PSS.MAX_LENGTH)):
    sig = priv.sign(si_ps.encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                salt_length=salt), hashes.SHA256())
    T[name] = si_ps + "." + b64u(sig)
# PS256 with MGF1-SHA1 (salt 32): not JWA.
sig = priv.sign(si_ps.encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA1()), salt_length=32),
                hashes.SHA256())
T["PS256_mgf1_sha1"] = si_ps + "." + b64u(sig)

# Sanity: every JWA token verifies with jwcrypto.
for alg, key in (("RS256", rsa2048), ("PS256", rsa2048), ("ES256", ec256), ("EdDSA", ed),
                 ("PS256_salt32", rsa2048), ("ES256_raw_from_der", ec256)):
    v = jws.JWS()
    v.deserialize(T[alg])
    v.verify(key)
ed.get_op_key("verify").verify(unb64u(T["Ed25519"].split(".")[2]), si_ed.encode())

json.dump(out, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
