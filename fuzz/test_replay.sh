#!/bin/sh
# Every committed corpus input of every fuzz target, run once through the
# target in this build (built with fuzz/replay.c as main when not
# configured with --enable-fuzzing): the base build, and the ASan + UBSan
# build of the sanitizer stage. TAP, one test per target: an invariant that
# fails (abort), a crash or a sanitizer report fails it. The slowest input
# is printed, not judged: times are the benchmark's business.
set -u
src=${PJ_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${PJ_TOP_BUILDDIR:-$(pwd)}
targets="verify claims jwks config usermap pieces cache"
# Never save slow units here (fuzz.c writes them to the current folder).
PJ_FUZZ_SLOW_MS=3600000
export PJ_FUZZ_SLOW_MS

set -- $targets
echo "1..$#"
i=0
for t in $targets; do
	i=$((i + 1))
	corpus=$src/fuzz/corpus/fuzz_$t
	have=$(ls "$corpus" | wc -l)
	if out=$("$build/fuzz/fuzz_$t" "$corpus" 2>&1) &&
		echo "$out" | grep -q "^replay: $have inputs$"; then
		slowest=$(echo "$out" | sed -n 's/^fuzz: .* slowest unit \([0-9.]*\) ms CPU.*/\1/p')
		echo "ok $i - fuzz_$t: all $have corpus inputs run, no invariant failed (slowest ${slowest:-?} ms CPU)"
	else
		echo "not ok $i - fuzz_$t: replaying the $have corpus inputs failed"
		echo "$out" | tail -20 | sed 's/^/# /'
	fi
done
exit 0
