#!/usr/bin/python3
"""make bench's self-check (bench/pj_bench, issues 12 and 15). TAP output.

bench/pj_bench --selftest checks the judged figure and the verdicts on known
numbers; a --quick run (3 rounds, tiny counts) must print every row, compute
(module - floor) / raw from its own medians, agree with its JSON line, and
never say "met" for a part that did not run (--only raw). The figures of a
quick run mean nothing: nothing here judges the targets themselves.
Environment: PJ_TOP_BUILDDIR (set by make check); PJ_BENCH_BIN overrides
the program.
"""

import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PJ_TOP_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("PJ_TOP_BUILDDIR") or "/tmp/build-check"
BIN = os.environ.get("PJ_BENCH_BIN") or os.path.join(BUILD, "bench", "pj_bench")
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from tap import Tap  # noqa: E402

ALGS = ["RS256", "PS256", "ES256", "EdDSA"]
VERDICT = r"(met|not met|not measured)$"
TARGETS = [r"RS256 +\(module - floor\) / raw <= 2\.0", r"PS256 +\(module - floor\) / raw <= 2\.0",
           r"ES256 +\(module - floor\) / raw <= 1\.5", r"EdDSA +module - floor below OpenSSL's bare verify",
           r"cache path within 10 % of jwks_file", r"8 sections within 5 % of one",
           r"per process, OpenSSL host, <= 1\.5x pam_permit",
           r"per process, OpenSSL host, peak RSS <= \+2048 KiB", r"libcurl never mapped by a login"]

t = Tap()


def run(*args):
    p = subprocess.run([BIN, "--srcdir", SRC, "--builddir", BUILD] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def target_lines(out):
    """{target pattern: its verdict} from the Targets block."""
    block = out.split("\nTargets\n", 1)[1] if "\nTargets\n" in out else ""
    got = {}
    for pat in TARGETS:
        m = re.search(r"^  " + pat + r" +" + VERDICT, block, re.M)
        got[pat] = m.group(1) if m else None
    return got


def json_line(out):
    lines = [l for l in out.splitlines() if l.startswith('{"pam_jwt_bench"')]
    return json.loads(lines[-1]) if len(lines) == 1 else None


# --selftest: known numbers in, known rows and verdicts out.
rc, out, err = run("--selftest")
t.ok(rc == 0 and "selftest: passed" in out and "FAIL" not in out, "--selftest: the arithmetic and the verdicts",
     out + err)
t.ok("2.50x" in out and re.search(r"2\.50x.*not met$", out, re.M) is not None,
     "--selftest: (150 - 100) / 20 printed as 2.50x, not met", out)

# A quick full run.
rc, out, err = run("--quick")
t.ok(rc == 0, "--quick runs to its end", err[-800:])
doc = json_line(out)
t.ok(doc is not None, "--quick: one JSON line", out[-400:])
doc = doc or {}
for alg in ALGS:
    m = re.search(r"^  %s +([\d.]+) +([\d.]+) +([\d.]+) +(-?[\d.]+)x +IQR +\S+ +<=? [\d.]+x +%s" % (alg, VERDICT), out, re.M)
    a = doc.get("algs", {}).get(alg, {})
    ok = m is not None and a.get("raw") and a.get("module_file") and doc.get("floor")
    t.ok(ok, "%s: a per-login row raw / floor / module / ratio / verdict" % alg, out[:3000])
    if not ok:
        continue
    raw, fl, mod = a["raw"]["med"], doc["floor"]["med"], a["module_file"]["med"]
    want = (mod - fl) / raw
    t.ok(abs(a["ratio"] - want) <= 1e-3 * max(1.0, abs(want)),
         "%s: JSON ratio is (module - floor) / raw" % alg, "%r vs %r" % (a["ratio"], want))
    t.ok(abs(float(m.group(4)) - want) <= 0.006 + 1e-3 * abs(want),
         "%s: the table's ratio is (module - floor) / raw" % alg, "%s vs %.4f" % (m.group(4), want))
    t.ok(abs(float(m.group(1)) - raw) <= 0.06 and abs(float(m.group(2)) - fl) <= 0.06 and
         abs(float(m.group(3)) - mod) <= 0.06, "%s: the table's raw / floor / module are the JSON's" % alg,
         m.group(0))
    lim = 1.0 if alg == "EdDSA" else a.get("target")
    met = a["ratio"] < lim if alg == "EdDSA" else a["ratio"] <= lim
    t.ok(a.get("met") is met and m.group(5) == ("met" if met else "not met"),
         "%s: the verdict follows the ratio and the target" % alg, "%r %r %r" % (a.get("met"), m.group(5), met))
for name in ["sect1", "sect8.last", "sect8.middle"]:
    t.ok(isinstance(doc.get("sections", {}).get(name), dict), "sections: %s measured" % name)
PCT = r" +([-+][\d.]+) % +([-+][\d.]+) %$"
sec = doc.get("sections", {})
for name, what in [("sect8.last", "last"), ("sect8.middle", "middle")]:
    m = re.search(r"^  8 sections, the token's %s +[\d.]+%s" % (what, PCT), out, re.M)
    t.ok(m is not None and abs(float(m.group(1)) - 100 * sec.get(name + "_over_sect1", 1e9)) <= 0.06 and
         abs(float(m.group(2)) - 100 * sec.get(name + "_over_sect1_share", 1e9)) <= 0.06,
         "sections: the %s row, on the login and on the share, as in the JSON" % what)
cache_worst = -1e9
for alg in ALGS:
    a = doc.get("algs", {}).get(alg, {})
    m = re.search(r"^  %s +[\d.]+ +[\d.]+%s" % (alg, PCT), out, re.M)
    t.ok(m is not None and abs(float(m.group(1)) - 100 * a.get("cache_over_file", 1e9)) <= 0.06 and
         abs(float(m.group(2)) - 100 * a.get("cache_over_file_share", 1e9)) <= 0.06,
         "cache path: the %s row, on the login and on the share, as in the JSON" % alg)
    cache_worst = max(cache_worst, a.get("cache_over_file", 1e9))
t.ok(doc.get("cache_met") is (cache_worst <= 0.10), "cache path: the verdict judges the login's worst")
t.ok(sec.get("met") is (max(sec.get("sect8.last_over_sect1", 1e9), sec.get("sect8.middle_over_sect1", 1e9)) <= 0.05),
     "sections: the verdict judges the login's worst")
for host in ["bare", "openssl"]:
    p = doc.get("process", {}).get(host, {})
    ok = isinstance(p.get("permit_us"), dict) and isinstance(p.get("jwt_hwm_kb"), dict)
    t.ok(ok and abs(p["ratio"] - p["jwt_us"]["med"] / p["permit_us"]["med"]) <= 1e-3 * p["ratio"] and
         abs(p["rss_delta_kb"] - (p["jwt_hwm_kb"]["med"] - p["permit_hwm_kb"]["med"])) < 0.5,
         "per process, %s host: time ratio and RSS delta from its medians" % host, json.dumps(p)[:400])
t.ok(re.search(r"^  bare host \(libpam only\) .*KiB +\(reported, not judged\)$", out, re.M) is not None and
     re.search(r"^  OpenSSL host \(as sshd\) .*KiB", out, re.M) is not None, "per process: both hosts' rows")
v = target_lines(out)
missing = [p for p, g in v.items() if g is None]
t.ok(not missing, "every target has a verdict line", "missing: %r" % missing)
t.ok(all(g != "not measured" for g in v.values()), "a full run measures every target", repr(v))
t.ok(doc.get("targets_met") is (all(g == "met" for g in v.values())) and
     ("=> all met" in out) == (doc.get("targets_met") is True),
     "the summary agrees with the target lines")

# A part that did not run is never "met".
rc, out, err = run("--quick", "--only", "raw")
t.ok(rc == 0, "--only raw runs", err[-800:])
v = target_lines(out)
t.ok(all(g == "not measured" for g in v.values()), "--only raw: every target 'not measured', none 'met'",
     repr(v))
doc = json_line(out) or {}
t.ok("targets_met" in doc and doc["targets_met"] is None and "=> not all measured" in out,
     "--only raw: targets_met null")
t.ok(all(doc.get("algs", {}).get(a, {}).get("ratio", 0) is None for a in ALGS),
     "--only raw: no ratio without a floor and a module")
t.done()
