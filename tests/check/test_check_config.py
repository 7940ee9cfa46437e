#!/usr/bin/python3
"""pam_jwt_check --check-config: the effective settings of every section with
their origins (exit 0), or the first configuration error as FILE:LINE: key:
why (exit 2); --json prints exactly one object either way."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("PJ_TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PJ_TOP_BUILDDIR", os.path.join(SRC, "build"))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from tap import Tap  # noqa: E402

BIN = os.environ.get("PJ_CHECK_BIN") or os.path.join(BUILD, "src", "pam_jwt_check")
GH = "https://token.actions.githubusercontent.com"
CORP = "https://login.corp.example"
t = Tap()
tmp = tempfile.mkdtemp(prefix="pj-cc-")
os.chmod(tmp, 0o700)

EXAMPLE = """audience = ssh://host1.example
max_lifetime = 3600

[issuer github]
issuer = %s
require_claim = repository_owner_id=1234567
user_map = %s/github.map

[issuer corp]
issuer = %s
typ = at+jwt
require_scope = ssh
deny_claim = /groups=contractors

[issuer corp-sudo]
issuer = %s
audience = sudo://host1.example
max_lifetime = 300
require_scope = sudo
""" % (GH, tmp, CORP, CORP)


def put(name, text, mode=0o600):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def run(*args):
    p = subprocess.run([BIN, "--check-config"] + list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def run_json(*args):
    rc, out, err = run(*(list(args) + ["--json"]))
    lines = out.splitlines()
    if len(lines) != 1:
        return rc, {"unparsed": out, "stderr": err}
    return rc, json.loads(lines[0])


def main():
    put("github.map", "repo:acme/api:ref:refs/heads/main deploy\n")
    conf = put("multi.conf", EXAMPLE)

    # sshd's line: two sections, in file order, each setting with its origin.
    rc, o = run_json("--config", conf, "issuers=github,corp", "http_timeout=7")
    t.eq(rc, 0, "sections: exit 0")
    t.eq(o.get("ok"), True, "sections: ok true")
    secs = o.get("sections", [])
    t.eq([s["name"] for s in secs], ["github", "corp"], "sections: the accepted ones, in file order")
    if len(secs) == 2:
        g, c = secs[0]["settings"], secs[1]["settings"]
        t.eq(g["issuer"], {"value": GH, "from": conf + ":5"}, "issuer from its section's line")
        t.eq(g["audience"], {"value": ["ssh://host1.example"], "from": conf + ":1"},
             "audience from the defaults' line")
        t.eq(g["leeway"], {"value": 60, "from": "default"}, "leeway: the built-in default")
        t.eq(g["http_timeout"], {"value": 7, "from": "argument"}, "http_timeout from the argument")
        t.eq(g["require_claim"], {"value": ["repository_owner_id=1234567"], "from": [conf + ":6"]},
             "require_claim with one origin per item")
        t.eq(g["user_map"]["value"], tmp + "/github.map", "user_map loaded")
        t.eq(c["typ"], {"value": "at+jwt", "from": conf + ":11"}, "typ")
        t.eq(c["require_scope"], {"value": ["ssh"], "from": [conf + ":12"]}, "require_scope")
        t.eq(c["deny_claim"]["value"], ["/groups=contractors"], "deny_claim")
        t.eq(c["max_lifetime"], {"value": 3600, "from": conf + ":2"}, "max_lifetime from the defaults")
        t.eq(c["log_format"], {"value": "text", "from": "default"}, "log_format default")

    rc, o = run_json("--config", conf, "issuers=corp-sudo")
    t.eq((rc, [s["name"] for s in o.get("sections", [])]), (0, ["corp-sudo"]), "sudo's line: corp-sudo")
    if rc == 0:
        s = o["sections"][0]["settings"]
        t.eq(s["max_lifetime"], {"value": 300, "from": conf + ":18"}, "corp-sudo: max_lifetime replaced")

    rc, out, err = run("--config", conf, "issuers=github,corp")
    t.eq(rc, 0, "text: exit 0")
    t.ok("[issuer github]" in out and "issuer = %s  (%s:5)" % (GH, conf) in out, "text: section and origin",
         out)

    # The reject twins: corp and corp-sudo share an issuer.
    rc, o = run_json("--config", conf)
    t.eq((rc, o.get("ok"), o.get("reason")), (2, False, "config_error"),
         "no issuers=: every section, two with one issuer: config_error")
    t.ok(str(o.get("detail", "")).startswith(conf + ":15: issuer: "), "detail names the section's header line",
         o)
    t.ok("sections" not in o, "no sections on error")
    rc, out, err = run("--config", conf, "issuers=corp,corp-sudo")
    t.eq(rc, 2, "text: issuers= naming both: exit 2")
    t.ok("%s:15: issuer:" % conf in err, "text: the error names FILE:LINE: key", err)

    rc, o = run_json("--config", conf, "issuers=github", "leeway=5")
    t.eq((rc, o.get("reason")), (2, "config_error"), "a per-issuer key in the arguments: config_error")
    t.ok("leeway" in str(o.get("detail")), "detail names the key", o)
    rc, o = run_json("--config", conf, "issuers=nosuch")
    t.eq((rc, o.get("reason")), (2, "config_error"), "issuers= naming no section: config_error")

    # Every user_map is loaded, that of a section the line does not accept too.
    put("github.map", "* root\n")
    rc, o = run_json("--config", conf, "issuers=corp")
    t.eq((rc, o.get("reason")), (2, "config_error"), "a bad user_map of another section: config_error")
    put("github.map", "repo:acme/api:ref:refs/heads/main deploy\n")

    bad = put("bad.conf", EXAMPLE.replace("leeway", "x").replace("typ = at+jwt", "typ = at+jwt\ndebug"))
    rc, o = run_json("--config", bad, "issuers=github,corp")
    t.eq((rc, o.get("detail", "")[:len(bad) + 12]), (2, bad + ":12: debug: "),
         "a global key in a section: FILE:LINE: key")

    unpinned = put("gh.conf", "issuer = %s\naudience = a\nrequire_claim = repository=acme/api\n" % GH)
    rc, o = run_json("--config", unpinned)
    t.eq(rc, 2, "GitHub Actions without an owner pin: exit 2")
    t.ok("repository_owner_id" in str(o.get("detail")), "the detail names the claims to pin", o)
    pinned = put("gh2.conf", "issuer = %s\naudience = a\nrequire_claim = /repository_id=42\n" % GH)
    rc, o = run_json("--config", pinned)
    t.eq((rc, [s["name"] for s in o.get("sections", [])]), (0, [None]),
         "pinned by JSON Pointer: the single-issuer form, name null")

    # No file at all: the arguments alone.
    rc, o = run_json("issuer=%s" % CORP, "audience=a")
    t.eq((rc, o["sections"][0]["settings"]["issuer"]["from"] if rc == 0 else None), (0, "argument"),
         "arguments only: from argument")
    rc, o = run_json("audience=a")
    t.eq((rc, o.get("detail")), (2, "issuer: required"), "no issuer: config_error")


t.run(main, "test_check_config main")
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
