#!/bin/sh
# The README's demo: run by scripts/quickstart demo after the build.
set -eu
build=$1
make -C "$build" -s tests/pam/pjdrive >/dev/null
exec /usr/bin/python3 "$(dirname "$0")/demo.py" "$build"
