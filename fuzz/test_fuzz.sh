#!/bin/sh
# Every libFuzzer target (fuzz/fuzz_*) from its seed corpus for
# PJ_FUZZ_SECONDS seconds each (default 10), PJ_FUZZ_JOBS at a time
# (default 2), niced. TAP, one test per target: a crash, a leak, running
# out of memory, or an input that stays slower than PJ_FUZZ_SLOW_MS
# (default 100) when timed again (a slow unit, or a 1 s timeout) fails
# it. New inputs go to a scratch folder (PJ_FUZZ_WORK, else a temporary
# one, removed): the committed corpus is only read. Run by `make check` in
# a build configured with CC=clang --enable-fuzzing.
set -u
# Reports go to the log here, not to files (see Makefile.am). ASan never
# hands freed memory back to the OS: its madvise and munmap calls stalled a
# loaded machine past -timeout=1 on inputs that take milliseconds.
unset UBSAN_OPTIONS
ASAN_OPTIONS=allocator_release_to_os_interval_ms=-1
export ASAN_OPTIONS
src=${PJ_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${PJ_TOP_BUILDDIR:-$(pwd)}
secs=${PJ_FUZZ_SECONDS:-10}
jobs=${PJ_FUZZ_JOBS:-2}
slow=${PJ_FUZZ_SLOW_MS:-100}
targets=${PJ_FUZZ_TARGETS:-"verify claims jwks config usermap pieces cache"}

if [ -n "${PJ_FUZZ_WORK:-}" ]; then
	work=$PJ_FUZZ_WORK
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/pj-fuzz-run.XXXXXX")
	# Kept when a target fails: its crash, leak or timeout inputs are there.
	keep=""
	trap '[ -n "$keep" ] || rm -rf "$work"' EXIT
fi

# The largest input each target gets: a little past each limit it guards.
maxlen() {
	case $1 in
	verify) echo 16500 ;;
	claims) echo 12500 ;;
	pieces) echo 20000 ;;
	usermap) echo 4096 ;;
	config) echo 8192 ;;
	*) echo 16384 ;;
	esac
}

run() {
	d=$work/$1
	rm -rf "$d"
	mkdir -p "$d/new"
	(cd "$d" && PJ_FUZZ_SLOW_MS=$slow nice -n 10 "$build/fuzz/fuzz_$1" -max_total_time="$secs" \
		-timeout=1 -max_len="$(maxlen "$1")" -print_final_stats=1 \
		new "$src/fuzz/corpus/fuzz_$1" >log 2>&1
	echo $? >rc)
}

# One saved input of target $1, file $2, timed alone: best of 3, in ms of
# CPU (99999 when it does not finish within -timeout).
time_alone() {
	d=$work/$1
	best=
	for i in 1 2 3; do
		rm -rf "$d/retime" && mkdir -p "$d/retime" && : >"$d/retime/0" && cp "$d/$2" "$d/retime/1"
		ms=$(cd "$d" && PJ_FUZZ_SLOW_MS=3600000 "$build/fuzz/fuzz_$1" -runs=0 -timeout=1 retime 2>&1 |
			sed -n 's/^fuzz: .* slowest unit \([0-9.]*\) ms.*/\1/p')
		[ -n "$ms" ] || ms=99999
		best=$(awk -v a="${best:-$ms}" -v b="$ms" 'BEGIN { print (b < a ? b : a) }')
	done
	echo "$best"
}

# The ten slowest saved slow inputs, timed again alone (best of 3, CPU
# time): a slow unit that was only a busy machine does not count.
retime() {
	d=$work/$1
	worst=0
	for u in $(cd "$d" && ls slow-unit-* 2>/dev/null |
		sed 's/^slow-unit-\([0-9]*\)ms-.*/\1 &/' | sort -rn | head -10 | cut -d' ' -f2); do
		best=$(time_alone "$1" "$u")
		worst=$(awk -v a="$worst" -v b="$best" 'BEGIN { print (b > a ? b : a) }')
	done
	echo "$worst"
}

n=0
for t in $targets; do n=$((n + 1)); done
echo "1..$n"
set -- $targets
i=0
while [ $# -gt 0 ]; do
	batch=""
	k=0
	while [ $# -gt 0 ] && [ $k -lt "$jobs" ]; do
		run "$1" &
		batch="$batch $1"
		k=$((k + 1))
		shift
	done
	wait
	for t in $batch; do
		i=$((i + 1))
		d=$work/$t
		rc=$(cat "$d/rc" 2>/dev/null || echo 99)
		stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$d/log" | tail -1)
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log")
		rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$d/log")
		cov=$(echo "$stats" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
		ft=$(echo "$stats" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
		corp=$(echo "$stats" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
		slowest=$(sed -n 's/^fuzz: .* slowest unit \([0-9.]*\) ms CPU (\([0-9.]*\) ms wall).*/\1 ms CPU, \2 ms wall/p' "$d/log" | tail -1)
		reslow=$(retime "$t")
		artifacts=$(cd "$d" && ls crash-* leak-* oom-* 2>/dev/null | tr '\n' ' ')
		# A timeout is libFuzzer's wall clock: a starved process (niced,
		# a loaded machine, an ASan quarantine sweep) trips it too. The
		# input itself is timed again alone; one that stays slow fails.
		stalls=""
		for u in $(cd "$d" && ls timeout-* 2>/dev/null); do
			ms=$(time_alone "$t" "$u")
			if awk -v a="$ms" -v b="$slow" 'BEGIN { exit !(a <= b) }'; then
				stalls="$stalls $u ($ms ms CPU alone)"
			else
				artifacts="$artifacts$u "
			fi
		done
		line="fuzz_$t: ${secs} s, ${execs:-?} execs, cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?}, peak rss ${rss:-?} MB, slowest unit ${slowest:-?} (the slow ones timed again: ${reslow} ms CPU)"
		# libFuzzer exits 70 on a timeout: fine when each was a stall.
		if { [ "$rc" = 0 ] || { [ "$rc" = 70 ] && [ -n "$stalls" ]; }; } && [ -z "$artifacts" ] &&
			awk -v a="$reslow" -v b="$slow" 'BEGIN { exit !(a <= b) }'; then
			echo "ok $i - $line"
			[ -z "$stalls" ] || echo "# stopped early by a wall-clock stall, not the input:$stalls"
		else
			echo "not ok $i - $line"
			keep=1
			echo "# exit $rc; artifacts in $d (kept): ${artifacts:-none}"
			grep -E 'ERROR|SUMMARY|invariant|==[0-9]+==' "$d/log" | head -20 | sed 's/^/# /'
		fi
	done
done
exit 0
