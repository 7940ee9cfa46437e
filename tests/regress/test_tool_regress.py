#!/usr/bin/python3
"""Named regressions of pam_jwt_check's argument handling. TAP output.

- issue 13: `--json` with a configuration error printed nothing (exit 2),
  so a script reading stdout got no verdict;
- `--config A --config B` freed the string the options still pointed at
  (a use after free; the sanitizer build shows it): a second --config is
  now a usage error;
- issue 14: `--refresh` of a file with two sections of one issuer (one for
  sshd, one for sudo, as pam.d-examples/multi-issuer.conf has) was a
  configuration error, so the hourly refresh timer failed on it; no token
  is judged there, so every section is refreshed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-regress"
CHECK = os.environ.get("PJ_CHECK_BIN") or os.path.join(BUILD, "src", "pam_jwt_check")
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "lib")]
import mint  # noqa: E402
from files import write  # noqa: E402
from tap import Tap  # noqa: E402

ISS = "https://issuer.regress.test"
AUD = "ssh://host1"

t = Tap()


def run(args, stdin):
    p = subprocess.run([CHECK] + args, input=stdin.encode(), capture_output=True, timeout=60)
    try:
        obj = json.loads(p.stdout)
    except ValueError:
        obj = None
    return p.returncode, obj, p.stdout, p.stderr.decode(errors="replace")


def main():
    tmp = tempfile.mkdtemp(prefix="pj-tool-regress-")
    try:
        os.chmod(tmp, 0o700)
        key = mint.gen_key("Ed25519", kid="d1")
        jwks = write(os.path.join(tmp, "keys.jwks"), mint.json_bytes(mint.jwks(mint.public_jwk(key))), 0o644)
        tok = mint.sign(key, "EdDSA", mint.claims(iss=ISS, aud=AUD, sub="bin"), {"kid": "d1"})
        base = ["issuer=" + ISS, "audience=" + AUD, "jwks_file=" + jwks]

        rc, obj, out, err = run(base + ["audience=" + AUD + "2", "--json"], tok)
        t.ok(rc == 2 and obj is not None and obj.get("reason") == "config_error" and
             "audience" in obj.get("detail", ""),
             "issue 13: --json with a configuration error prints one object, config_error, the key named",
             "exit %s stdout %r stderr %r" % (rc, out[:300], err[:300]))
        rc, obj, out, err = run(base + ["--json"], tok)
        t.ok(rc == 0 and obj is not None and obj.get("reason") == "ok",
             "issue 13 twin: the same options without the error accept", "exit %s %r" % (rc, out[:300]))

        cfg_a = write(os.path.join(tmp, "a.conf"), "issuer = %s\n" % ISS, 0o600)
        cfg_b = write(os.path.join(tmp, "b.conf"), "audience = %s\n" % AUD, 0o600)
        rc, obj, out, err = run(["--config", cfg_a, "--config", cfg_b, "jwks_file=" + jwks, "--json"], tok)
        t.ok(rc == 2 and obj is not None and obj.get("reason") == "usage" and
             "--config" in obj.get("detail", "") and "AddressSanitizer" not in err,
             "--config twice: a usage error, no use after free",
             "exit %s stdout %r stderr %r" % (rc, out[:300], err[:300]))
        rc, obj, out, err = run(["--config", cfg_a, "audience=" + AUD, "jwks_file=" + jwks, "--json"], tok)
        t.ok(rc == 0 and obj is not None and obj.get("reason") == "ok",
             "--config once twin: accepted", "exit %s %r %r" % (rc, out[:300], err[:300]))

        two = write(os.path.join(tmp, "two.conf"),
                    "audience = %s\njwks_file = %s\n[issuer ssh]\nissuer = %s\n"
                    "[issuer sudo]\nissuer = %s\naudience = sudo://host1\n" % (AUD, jwks, ISS, ISS), 0o600)
        rc, obj, out, err = run(["--refresh", "--config", two, "--json"], "")
        t.ok(rc == 0 and obj is not None and obj.get("ok") is True,
             "issue 14: --refresh of a file with two sections of one issuer refreshes both",
             "exit %s stdout %r stderr %r" % (rc, out[:300], err[:300]))
        rc, obj, out, err = run(["--config", two, "--json"], tok)
        t.ok(rc == 2 and obj is not None and obj.get("reason") == "config_error" and
             "issuers=" in obj.get("detail", ""),
             "issue 14 twin: judging a token with that file and no issuers= is still a configuration error",
             "exit %s stdout %r stderr %r" % (rc, out[:300], err[:300]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
