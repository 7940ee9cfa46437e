#!/usr/bin/python3
"""pam_jwt.so through the real libpam (pam_start_confdir, tests/pam/pjdrive):
token entry, options, user mapping, return codes. Tokens by python3-jwcrypto."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("PJ_TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PJ_TOP_BUILDDIR", os.path.join(SRC, "build"))
sys.path[:0] = [os.path.join(SRC, "tests", "mint"), os.path.join(SRC, "tests", "lib")]
import mint  # noqa: E402
from files import write  # noqa: E402
from tap import Tap  # noqa: E402

MODULE = os.path.join(BUILD, "src", ".libs", "pam_jwt.so")
SETTOK = os.path.join(BUILD, "tests", "pam", ".libs", "pam_settok.so")
DRIVE = os.path.join(BUILD, "tests", "pam", "pjdrive")
ISS = "https://issuer.test"
AUD = "ssh://host1"

t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-pam-")
os.chmod(tmp, 0o700)
key = mint.gen_key("RSA2048", kid="r1")
eckey = mint.gen_key("P-256", kid="e1")
JWKS = os.path.join(tmp, "jwks.json")
mint.write_jwks(JWKS, [key, eckey])
BASE = "issuer=%s audience=%s jwks_file=%s" % (ISS, AUD, JWKS)


def token(sub="bin", key_=None, alg="RS256", **extra):
    c = mint.claims(iss=ISS, aud=AUD, sub=sub, **extra)
    k = key_ or key
    return mint.sign(k, alg, c, {"kid": k["kid"]})


def login(args, user="bin", answers=(), authtok=None, stack=None, max_answer=None):
    """One login; returns (PAM result name, list of prompts)."""
    confdir = tempfile.mkdtemp(dir=tmp)
    lines = stack or ["auth required %s %s %s" % (MODULE, BASE, args)]
    if authtok is not None:
        lines = ["auth optional %s %s" % (SETTOK, write(os.path.join(confdir, "authtok"), authtok + "\n"))] + lines
    write(os.path.join(confdir, "pjtest"), "\n".join(lines) + "\n")
    cmd = [DRIVE, "--confdir", confdir, "--service", "pjtest", "--user", user]
    if answers is not None:
        cmd += ["--answers", write(os.path.join(confdir, "answers"), "".join(a + "\n" for a in answers))]
    if max_answer is not None:
        cmd += ["--max-answer", str(max_answer)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    prompts = [l[7:] for l in p.stdout.splitlines() if l.startswith("PROMPT ")]
    res = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    return (res[-1] if res else "NO_RESULT:" + p.stderr.strip()), prompts


def pieces(tok, size):
    """Split as pam_jwt_askpass does: each piece but the last ends in '\\'."""
    chunks = [tok[i:i + size] for i in range(0, len(tok), size)]
    return [c + "\\" for c in chunks[:-1]] + [chunks[-1]]


def big_token(total):
    """A token of exactly `total` bytes (a padding claim, a header member)."""
    return mint.sized_token(lambda pad, hp: mint.sign(
        key, "RS256", mint.claims(iss=ISS, aud=AUD, sub="bin", pad="x" * pad, jti="j"),
        {"kid": key["kid"], "x": "y" * hp}), total)


def check(name, got, want):
    t.eq(got, want, name)


def main():
    tok = token()
    # ---- plain conversation
    r, pr = login("", answers=[tok])
    check("conversation: valid token accepted", r, "PAM_SUCCESS")
    check("conversation: default prompt 'JWT: '", pr, ["JWT: "])
    r, pr = login("", answers=["  \t" + tok + " \n"])
    check("conversation: surrounding whitespace trimmed", r, "PAM_SUCCESS")
    r, pr = login("", answers=[mint.flip_sig_bit(tok)])
    check("conversation: flipped signature refused", r, "PAM_AUTH_ERR")
    r, pr = login("[prompt=Token please: ]", answers=[tok])
    check("prompt= option shown", pr, ["Token please: "])
    check("prompt= option: accepted", r, "PAM_SUCCESS")
    r, _ = login("", answers=[])
    check("conversation failure -> PAM_CONV_ERR", r, "PAM_CONV_ERR")

    # ---- use_first_pass / try_first_pass
    r, pr = login("use_first_pass", authtok=tok)
    check("use_first_pass: token from PAM_AUTHTOK", (r, pr), ("PAM_SUCCESS", []))
    r, pr = login("use_first_pass", answers=[tok])
    check("use_first_pass: no PAM_AUTHTOK -> AUTH_ERR, no prompt", (r, pr), ("PAM_AUTH_ERR", []))
    r, pr = login("try_first_pass", authtok=tok)
    check("try_first_pass: stored JWS used, no prompt", (r, pr), ("PAM_SUCCESS", []))
    r, pr = login("try_first_pass", authtok="hunter2", answers=[tok])
    check("try_first_pass: a password is not a JWS -> one prompt", (r, len(pr)), ("PAM_SUCCESS", 1))
    expired = token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200, nbf=None)
    r, pr = login("try_first_pass", authtok=expired, answers=[tok])
    check("try_first_pass: well-formed failing token is final, no prompt", (r, pr), ("PAM_AUTH_ERR", []))
    # One line per issuer: the second uses the first line's token, one prompt in all.
    other = os.path.join(tmp, "other.json")
    mint.write_jwks(other, [mint.gen_key("P-256", kid="o1")])
    stack = ["auth sufficient %s issuer=https://other.test audience=%s jwks_file=%s" % (MODULE, AUD, other),
             "auth required %s %s use_first_pass" % (MODULE, BASE)]
    r, pr = login("", answers=[tok], stack=stack)
    check("stack of two issuers: second line uses PAM_AUTHTOK, one prompt", (r, len(pr)), ("PAM_SUCCESS", 1))

    # ---- long tokens
    tok9k = big_token(9000)
    ps = pieces(tok9k, 499)
    check("9000-byte token makes 19 pieces", len(ps), 19)
    r, pr = login("", answers=ps)
    check("9000-byte token in 19 pieces accepted", r, "PAM_SUCCESS")
    check("piece prompts: JWT part 2..19", pr[1:3] + pr[-1:], ["JWT part 2: ", "JWT part 3: ", "JWT part 19: "])
    r, _ = login("[prompt_more=More %d: ]", answers=ps)
    check("prompt_more= option accepted", r, "PAM_SUCCESS")
    tok9k_bad = mint.flip_sig_bit(tok9k)
    r, _ = login("", answers=pieces(tok9k_bad, 499))
    check("9000-byte token in pieces with flipped signature refused", r, "PAM_AUTH_ERR")
    small = pieces(tok, 8)[:64]
    many = ["A\\"] * 64 + [tok]
    r, pr = login("", answers=many)
    check("a 65th piece refused (too_large), asked 64 times", (r, len(pr)), ("PAM_AUTH_ERR", 64))
    tok64 = big_token(64 * 100)
    r, _ = login("", answers=pieces(tok64, 100))
    check("exactly 64 pieces accepted", r, "PAM_SUCCESS")
    del small
    t16k = big_token(16384)
    r, _ = login("", answers=pieces(t16k, 500))
    check("16384-byte token accepted", r, "PAM_SUCCESS")
    t16k1 = big_token(16385)
    r, _ = login("", answers=pieces(t16k1, 500))
    check("16385-byte token refused", r, "PAM_AUTH_ERR")
    estok = token(key_=eckey, alg="ES256")
    check("ES256 token fits sudo's 511 bytes", len(estok) < 512, True)
    r, _ = login("", answers=[estok], max_answer=511)
    check("short token through a 511-byte client", r, "PAM_SUCCESS")
    r, _ = login("", answers=[tok9k], max_answer=511)
    check("long token unsplit through sudo's 511 limit -> PAM_CONV_ERR", r, "PAM_CONV_ERR")
    r, _ = login("", answers=pieces(tok9k, 500), max_answer=511)
    check("long token in pieces through sudo's 511 limit", r, "PAM_SUCCESS")

    # ---- options
    for args, name in [("bogus=1", "unknown option"), ("leeway=601", "leeway out of range"),
                       ("leeway=-1", "negative number"), ("algorithms=none", "alg none"),
                       ("algorithms=HS256", "HS256"), ("max_lifetime=0", "max_lifetime 0"),
                       ("leeway=", "empty value"), ("leeway=5 leeway=6", "repeated key")]:
        r, pr = login(args, answers=[tok])
        check("config error: %s -> PAM_SERVICE_ERR, no prompt" % name, (r, pr), ("PAM_SERVICE_ERR", []))
    r, _ = login("leeway=600", answers=[tok])
    check("leeway=600 in range", r, "PAM_SUCCESS")
    r, _ = login("", stack=["auth required %s audience=%s jwks_file=%s" % (MODULE, AUD, JWKS)], answers=[tok])
    check("missing issuer -> PAM_SERVICE_ERR", r, "PAM_SERVICE_ERR")
    r, _ = login("", stack=["auth required %s issuer=http://issuer.test audience=%s jwks_file=%s" % (MODULE, AUD, JWKS)], answers=[tok])
    check("http issuer -> PAM_SERVICE_ERR", r, "PAM_SERVICE_ERR")
    cfgf = write(os.path.join(tmp, "good.conf"), "# comment\nissuer = %s\naudience = %s\njwks_file = %s\nprompt = \"Token: \"\n" % (ISS, AUD, JWKS))
    stack = ["auth required %s config=%s" % (MODULE, cfgf)]
    r, pr = login("", stack=stack, answers=[tok])
    check("config= file: accepted with its prompt", (r, pr), ("PAM_SUCCESS", ["Token: "]))
    badmode = write(os.path.join(tmp, "badmode.conf"), open(cfgf).read(), 0o664)
    r, _ = login("", stack=["auth required %s config=%s" % (MODULE, badmode)], answers=[tok])
    check("config= file group-writable -> PAM_SERVICE_ERR", r, "PAM_SERVICE_ERR")
    if os.geteuid() == 0:
        badowner = write(os.path.join(tmp, "badowner.conf"), open(cfgf).read())
        os.chown(badowner, 65534, 65534)
        r, _ = login("", stack=["auth required %s config=%s" % (MODULE, badowner)], answers=[tok])
        check("config= file owned by another user -> PAM_SERVICE_ERR", r, "PAM_SERVICE_ERR")
    else:
        t.skip("config= file owned by another user", "needs root")
    link = os.path.join(tmp, "link.conf")
    os.symlink(cfgf, link)
    r, _ = login("", stack=["auth required %s config=%s" % (MODULE, link)], answers=[tok])
    check("config= file that is a symlink -> PAM_SERVICE_ERR", r, "PAM_SERVICE_ERR")
    r, _ = login("", stack=["auth required %s config=%s audience=ssh://other" % (MODULE, cfgf)], answers=[tok])
    check("module argument overrides the file (audience)", r, "PAM_AUTH_ERR")
    reqf = write(os.path.join(tmp, "req.conf"), "issuer = %s\naudience = %s\njwks_file = %s\nrequire_claim = team=ops\n" % (ISS, AUD, JWKS))
    both = token(team="ops", env="prod")
    stack = ["auth required %s config=%s require_claim=env=prod" % (MODULE, reqf)]
    r, _ = login("", stack=stack, answers=[both])
    check("require_claim from file and arguments add up: both hold", r, "PAM_SUCCESS")
    r, _ = login("", stack=stack, answers=[token(team="ops", env="dev")])
    check("require_claim from file and arguments add up: one fails", r, "PAM_AUTH_ERR")
    r, _ = login("max_lifetime=300", answers=[token(exp=int(time.time()) + 3600)])
    check("max_lifetime: lifetime above it refused", r, "PAM_AUTH_ERR")
    r, _ = login("algorithms=ES256", answers=[token(key_=eckey, alg="ES256")])
    check("algorithms=ES256 accepts ES256", r, "PAM_SUCCESS")
    r, _ = login("algorithms=ES256", answers=[tok])
    check("algorithms=ES256 refuses RS256", r, "PAM_AUTH_ERR")
    r, _ = login("debug", answers=[tok])
    check("debug flag accepted", r, "PAM_SUCCESS")
    r, _ = login("debug=no", answers=[tok])
    check("flag=no form accepted", r, "PAM_SUCCESS")

    # ---- return codes
    r, _ = login("", user="daemon", answers=[tok])
    check("alice's token with PAM_USER bob (root's token, daemon) -> AUTH_ERR", r, "PAM_AUTH_ERR")
    r, _ = login("", user="nosuchuser_pj", answers=[token(sub="nosuchuser_pj")])
    check("valid token for a user that does not exist -> PAM_USER_UNKNOWN", r, "PAM_USER_UNKNOWN")
    r, _ = login("", user="nosuchuser_pj", answers=[mint.flip_sig_bit(token(sub="nosuchuser_pj"))])
    check("bad token for a user that does not exist -> AUTH_ERR (nothing revealed)", r, "PAM_AUTH_ERR")
    r, _ = login("", stack=["auth required %s issuer=%s audience=%s jwks_file=%s/missing.json" % (MODULE, ISS, AUD, tmp)], answers=[tok])
    check("jwks_file missing -> PAM_AUTHINFO_UNAVAIL", r, "PAM_AUTHINFO_UNAVAIL")
    r, _ = login("", stack=["auth required %s issuer=%s audience=%s jwks_file=%s/missing.json" % (MODULE, ISS, AUD, tmp)], answers=["garbage"])
    check("malformed token with no keys -> AUTH_ERR", r, "PAM_AUTH_ERR")

    # ---- user mapping through the module
    def mapped(rules, sub, user, extra_args=""):
        mf = write(os.path.join(tempfile.mkdtemp(dir=tmp), "map"), rules)
        return login("user_map=%s %s" % (mf, extra_args), user=user, answers=[token(sub=sub)])[0]

    check("user_map exact", mapped("ci-runner@example daemon\n", "ci-runner@example", "daemon"), "PAM_SUCCESS")
    check("user_map exact: other value -> AUTH_ERR", mapped("ci-runner@example daemon\n", "ci-runner@example2", "daemon"), "PAM_AUTH_ERR")
    check("user_map glob", mapped("repo:acme/api:* daemon\n", "repo:acme/api:ref:refs/heads/main", "daemon"), "PAM_SUCCESS")
    check("user_map glob: other repo -> AUTH_ERR", mapped("repo:acme/api:* daemon\n", "repo:evil/api:ref:refs/heads/main", "daemon"), "PAM_AUTH_ERR")
    check("user_map regex capture", mapped("~system:serviceaccount:([a-z]+):([a-z]+) \\1\n", "system:serviceaccount:daemon:x", "daemon"), "PAM_SUCCESS")
    check("user_map regex: no match -> AUTH_ERR", mapped("~system:serviceaccount:([a-z]+):([a-z]+) \\1\n", "system:serviceaccount:Daemon:x", "daemon"), "PAM_AUTH_ERR")
    check("user_map '=' keeps the value", mapped("daem* =\n", "daemon", "daemon"), "PAM_SUCCESS")
    check("user_map catch-all '*' -> PAM_SERVICE_ERR", mapped("* daemon\n", "anything", "daemon"), "PAM_SERVICE_ERR")
    check("user_map catch-all '~.*' -> PAM_SERVICE_ERR", mapped("~.* daemon\n", "anything", "daemon"), "PAM_SERVICE_ERR")
    for bad, label in [("a/b", "'/'"), ("a:b", "':'"), ("a\nb", "newline"), ("a" * 33, "33 bytes"), ("Root", "uppercase")]:
        r, _ = login("", user="bin", answers=[token(sub=bad)])
        check("mapped name with %s refused" % label, r, "PAM_AUTH_ERR")
    r, _ = login("", user="a" * 32, answers=[token(sub="a" * 32)])
    check("32-byte name is safe (unknown user)", r, "PAM_USER_UNKNOWN")
    r, _ = login("user_claim=/kubernetes.io/serviceaccount/name", user="daemon",
                 answers=[token(sub="x", **{"kubernetes.io": {"serviceaccount": {"name": "daemon"}}})])
    check("user_claim as a JSON Pointer", r, "PAM_SUCCESS")
    r, _ = login("user_claim=email", user="bin", answers=[tok])
    check("user_claim absent -> AUTH_ERR", r, "PAM_AUTH_ERR")

    # ---- exported symbols
    out = subprocess.run(["nm", "-D", "--defined-only", MODULE], capture_output=True, text=True).stdout
    syms = sorted(l.split()[-1] for l in out.splitlines() if l.split() and l.split()[1] in "TtDdBbWwVv")
    check("pam_jwt.so exports only pam_sm_*", [s for s in syms if not s.startswith("pam_sm_") and not s.startswith("_")], [])
    check("pam_jwt.so exports pam_sm_authenticate and pam_sm_setcred",
          [s for s in syms if s.startswith("pam_sm_")], ["pam_sm_authenticate", "pam_sm_setcred"])
    ldd = subprocess.run(["ldd", MODULE], capture_output=True, text=True).stdout
    check("pam_jwt.so does not link libcurl", "libcurl" in ldd, False)


t.run(main, "test_pam main")
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
