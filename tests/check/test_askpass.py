#!/usr/bin/python3
"""pam_jwt_askpass (pam_jwt_askpass(1)), as TAP.

Each call is its own process, as with ssh and sudo; pieces are joined the
way the module joins them (trim, drop the trailing backslash, concatenate).
The tokens are opaque here (the helper never parses them): random
base64url text in three segments, made by this script.
"""
import os
import secrets
import subprocess
import sys
import tempfile

TOP = os.environ.get("PJ_TOP_BUILDDIR", "/tmp/build-askpass")
ASKPASS = os.path.join(TOP, "src", "pam_jwt_askpass")
HOSTKEY = ("Are you sure you want to continue connecting "
           "(yes/no/[fingerprint])? ")

results = []


def check(name, cond, diag=""):
    results.append((bool(cond), name, diag))


def b64url(n):
    alpha = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
             "0123456789-_")
    return "".join(secrets.choice(alpha) for _ in range(n))


def token(n):
    """A token-shaped string of exactly n bytes."""
    return b64url(36) + "." + b64url(n - 36 - 1 - 86 - 1) + "." + b64url(86)


def run(args, token_env=None, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAM_JWT_")}
    if token_env is not None:
        env["PAM_JWT_TOKEN"] = token_env
    env.update(extra or {})
    p = subprocess.run([ASKPASS] + args, env=env, capture_output=True,
                       timeout=10)
    return p.returncode, p.stdout.decode("latin-1"), p.stderr.decode("latin-1")


def join(answers):
    out = ""
    for a in answers:
        a = a.strip()
        if a.endswith("\\"):
            a = a[:-1]
        out += a
    return out


def ask_piece(k, tok, extra=None):
    prompt = "JWT: " if k == 1 else "JWT part %d: " % k
    return run(["(user@host1) " + prompt], tok, extra)


def nothing(rc, out):
    return rc == 1 and out == ""


def main():
    if not os.access(ASKPASS, os.X_OK):
        print("1..0 # SKIP %s not built" % ASKPASS)
        return 0

    tok = token(3000)
    assert len(tok) == 3000

    # Every order, each piece from a fresh process.
    for order in ([1, 2, 3, 4, 5, 6], [3, 1, 6, 2, 5, 4], [6, 5, 4, 3, 2, 1],
                  [2, 4, 6, 1, 3, 5]):
        got = {}
        ok = True
        for k in order:
            rc, out, _ = ask_piece(k, tok)
            ok = ok and rc == 0
            got[k] = out
        check("3000-byte token, pieces asked in order %s, join back exactly"
              % ",".join(map(str, order)),
              ok and join(got[k] for k in range(1, 7)) == tok)

    pieces = [ask_piece(k, tok)[1] for k in range(1, 7)]
    check("pieces hold at most 500 token bytes; each but the last ends in '\\'",
          all(p.endswith("\\\n") and len(p) == 502 for p in pieces[:5])
          and pieces[5] == tok[2500:] + "\n")

    rc, out, _ = run(["(user@host7) JWT: "], tok)
    check("'(user@host7) JWT: ' asks piece 1", rc == 0 and out == tok[:500] + "\\\n")
    rc, out, _ = run(["JWT part 2: "], tok)
    check("'JWT part 2: ' asks piece 2", rc == 0 and out == tok[500:1000] + "\\\n")
    rc, out, _ = run(["JWT part 6:"], tok)
    check("'JWT part 6:' (no trailing space) asks the last piece",
          rc == 0 and out == tok[2500:] + "\n")
    rc, out, _ = run(["(ci@host) JWT part 12:   "], token(6200))
    check("two-digit piece number", rc == 0 and len(out) == 502)

    for prompt in ["Password: ", "[sudo] password for ci2: ", HOSTKEY,
                   "(user@host1) Password: ", "JWT part 0: ", "JWT part 7: ",
                   "JWT part 07: ", "JWT part -2: ", "JWT part +2: ",
                   "JWT part 2a: ", "JWT part : ", "JWT part 1000: ",
                   "JWT part 99999999999999999999: ", "JWT", "JWT: x", "",
                   "jwt: ", "JWT part 2: yes"]:
        rc, out, err = run([prompt], tok)
        check("prompt %r: nothing, exit 1" % prompt,
              nothing(rc, out) and tok[:40] not in err, "rc=%d" % rc)

    extra = {"PAM_JWT_PROMPT": "Token for CI: ",
             "PAM_JWT_PROMPT_MORE": "Token for CI, part %d of it: "}
    rc, out, _ = run(["(user@host1) Token for CI: "], tok, extra)
    check("PAM_JWT_PROMPT customised: its prompt asks piece 1",
          rc == 0 and out == tok[:500] + "\\\n")
    rc, out, _ = run(["Token for CI, part 4 of it:"], tok, extra)
    check("PAM_JWT_PROMPT_MORE customised: its prompt asks piece 4",
          rc == 0 and out == tok[1500:2000] + "\\\n")
    rc, out, _ = run(["JWT: "], tok, extra)
    check("PAM_JWT_PROMPT customised: the default prompt gets nothing",
          nothing(rc, out))
    rc, out, _ = run(["JWT part 2: "], tok, extra)
    check("PAM_JWT_PROMPT_MORE customised: the default prompt gets nothing",
          nothing(rc, out))
    for bad in ["JWT part:", "JWT part %d %d:", "JWT %s part %d:",
                "JWT part 1%d:", "JWT part %d", "   "]:
        rc, out, err = run(["JWT part 2: "], tok,
                           {"PAM_JWT_PROMPT_MORE": bad, "PAM_JWT_PROMPT": bad})
        check("unusable PAM_JWT_PROMPT(_MORE) %r: nothing, exit 1, a message"
              % bad, nothing(rc, out) and err.count("\n") == 1)

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tok")
        with open(path, "w") as f:
            f.write("\n  " + tok + "\n\n")
        got = [run(["JWT: " if k == 1 else "JWT part %d: " % k], None,
                   {"PAM_JWT_TOKEN_FILE": path})[1] for k in [2, 1, 3, 6, 5, 4]]
        check("PAM_JWT_TOKEN_FILE: pieces join back to the trimmed token",
              join([got[1], got[0], got[2], got[5], got[4], got[3]]) == tok)
        other = token(700)
        rc, out, _ = run(["JWT: "], other, {"PAM_JWT_TOKEN_FILE": path})
        check("PAM_JWT_TOKEN wins over PAM_JWT_TOKEN_FILE",
              rc == 0 and out == other[:500] + "\\\n")
        rc, out, err = run(["JWT: "], None,
                           {"PAM_JWT_TOKEN_FILE": os.path.join(d, "none")})
        check("PAM_JWT_TOKEN_FILE missing: nothing, exit 1, one line on stderr",
              nothing(rc, out) and err.count("\n") == 1)
        exact = token(16384)
        with open(path, "w") as f:
            f.write(" " * 1000 + exact + "\n" * 1000)
        rc, out, _ = run(["--lines"], None, {"PAM_JWT_TOKEN_FILE": path})
        check("PAM_JWT_TOKEN_FILE: 16384-byte token amid 2000 bytes of space",
              rc == 0 and join(out.split("\n")) == exact)
        with open(path, "w") as f:
            f.write(exact + " " * 20000)
        rc, out, err = run(["JWT: "], None, {"PAM_JWT_TOKEN_FILE": path})
        check("PAM_JWT_TOKEN_FILE of 36384 bytes: nothing, exit 1",
              nothing(rc, out) and err.count("\n") == 1)

    rc, out, _ = run(["--lines"], tok)
    lines = out.split("\n")
    check("--lines: 6 lines, each but the last ending in '\\', joined = token",
          rc == 0 and lines[-1] == "" and len(lines) == 7
          and all(l.endswith("\\") for l in lines[:5])
          and not lines[5].endswith("\\") and join(lines) == tok)

    short = token(300)
    rc, out, _ = run(["JWT: "], short)
    check("short token: answered whole, no backslash", rc == 0 and out == short + "\n")
    rc, out, _ = run(["JWT part 2: "], short)
    check("short token: piece 2 gets nothing", nothing(rc, out))
    rc, out, _ = run(["--lines"], short)
    check("short token --lines: one line", rc == 0 and out == short + "\n")
    rc, out, _ = run(["JWT: "], token(500))
    check("500-byte token: one piece, no backslash", rc == 0 and len(out) == 501
          and not out.endswith("\\\n"))

    rc, out, _ = run(["JWT: "], " \t\n" + short + "\r\n  ")
    check("surrounding whitespace trimmed", rc == 0 and out == short + "\n")

    rc, out, err = run(["JWT: "])
    check("no token: exit 1, nothing on stdout, one line on stderr",
          nothing(rc, out) and err.count("\n") == 1)
    rc, out, err = run(["JWT: "], "  \n ")
    check("blank token: exit 1, nothing on stdout", nothing(rc, out))
    rc, out, err = run(["--lines"])
    check("no token --lines: exit 1, nothing on stdout", nothing(rc, out))
    rc, out, err = run([])
    check("no argument: exit 1, nothing on stdout", nothing(rc, out))

    exact = token(16384)
    rc, out, _ = run(["JWT part 33: "], exact)
    rc2, out2, _ = run(["JWT part 34: "], exact)
    check("16384-byte token: piece 33 is the last, 34 gets nothing",
          rc == 0 and out == exact[16000:] + "\n" and nothing(rc2, out2))
    rc, out, _ = run(["--lines"], exact)
    check("16384-byte token --lines joins back", rc == 0 and join(out.split("\n")) == exact)
    big = token(16385)
    for args in (["JWT: "], ["--lines"]):
        rc, out, err = run(args, big)
        check("16385-byte token %s: exit 1, nothing on stdout, no token on stderr"
              % args[0].strip(), nothing(rc, out) and err.count("\n") == 1
              and big[:40] not in err and big[-40:] not in err)

    print("1..%d" % len(results))
    for i, (ok, name, diag) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok and diag:
            print("# " + diag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
