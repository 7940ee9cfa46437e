#!/usr/bin/python3
"""Fixtures for bench/pj_bench: the independent side (python3-jwcrypto via
tests/mint/mint.py), never our own code.

    setup.py DIR USER

writes into DIR a 5-key public JWKS (jwks.json: two RSA keys for RS256,
one for PS256, one P-256, one Ed25519, each with kid, use and alg as issuers
publish them) and, for each of RS256 PS256 ES256 EdDSA:
  tok.ALG      NTOK distinct tokens, one a line (header: alg, kid, typ;
               usual claims, sub USER, each its own jti and iat): a host
               sees a fresh token at every login
  pub.ALG.pem  the public key as SubjectPublicKeyInfo PEM (the raw verify)
  sig.ALG.bin  the signature as OpenSSL verifies it (ES256: DER)
  pub.EdDSA.raw  the 32-octet Ed25519 public key (libsodium)
The signature files are the first token's.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "mint"))
import mint  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import utils as ec_utils  # noqa: E402

ISS = "https://issuer.test"
AUD = "ssh://host1"

# (kid, key type, alg): the order they appear in the JWKS.
KEYS = [
    ("rsa-2024", "RSA2048", "RS256"),	# the previous key, kept during rotation
    ("rsa-2025", "RSA2048", "RS256"),
    ("pss-2025", "RSA2048", "PS256"),
    ("ec-2025", "P-256", "ES256"),
    ("ed-2025", "Ed25519", "EdDSA"),
]
NTOK = 64
USED = {"RS256": "rsa-2025", "PS256": "pss-2025", "ES256": "ec-2025", "EdDSA": "ed-2025"}


def write(path, data, mode=0o644):
    mint._write(path, data if isinstance(data, bytes) else data.encode(), mode)


def main():
    out, user = sys.argv[1], sys.argv[2]
    keys = {}
    pubs = []
    for kid, kind, alg in KEYS:
        k = mint.gen_key(kind, kid=kid, use="sig", alg=alg)
        keys[kid] = k
        pubs.append(mint.public_jwk(k))
    mint.write_jwks(os.path.join(out, "jwks.json"), pubs)
    now = int(time.time())
    for alg, kid in USED.items():
        k = keys[kid]
        toks = []
        for i in range(NTOK):
            c = mint.claims(now=now - i, ttl=6 * 3600, iss=ISS, aud=AUD, sub=user,
                            email=user + "@example.org", name="Bench User",
                            groups=["ops", "dev"], azp="bench-client")
            toks.append(mint.sign(k, alg, c, {"kid": kid, "typ": "JWT"}))
            assert mint.verify(k, toks[-1], alg)
        assert len(set(toks)) == NTOK
        tok = toks[0]
        sig = mint.b64url_decode(tok.rsplit(".", 1)[1])
        if alg == "ES256":
            sig = ec_utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                                int.from_bytes(sig[32:], "big"))
        write(os.path.join(out, "tok." + alg), "\n".join(toks) + "\n")
        write(os.path.join(out, "sig.%s.bin" % alg), sig)
        write(os.path.join(out, "pub.%s.pem" % alg), k.export_to_pem(private_key=False, password=None))
        if alg == "EdDSA":
            write(os.path.join(out, "pub.EdDSA.raw"), mint.b64url_decode(mint.public_jwk(k)["x"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
