#!/bin/sh
# Run after the suite of a sanitizer build (--enable-sanitizers): every
# ASan, LSan or UBSan report any test process made is a file under
# $PJ_TOP_BUILDDIR/sanitizer-logs (see Makefile.am); none may exist. TAP.
dir=${PJ_TOP_BUILDDIR:-.}/sanitizer-logs
echo "1..1"
if [ -z "${PJ_SANITIZED:-}" ]; then
	echo "ok 1 - sanitizer reports # SKIP not a sanitizer build"
	exit 0
fi
n=0
for f in "$dir"/*; do
	[ -f "$f" ] && n=$((n + 1))
done
if [ "$n" = 0 ]; then
	echo "ok 1 - no ASan, LSan or UBSan report from any test process"
	exit 0
fi
echo "not ok 1 - $n sanitizer report(s) under $dir"
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	echo "# ---- $f"
	head -40 "$f" | sed 's/^/# /'
done
exit 0
