#!/bin/sh
# No file of the project cites a document its users do not have: the
# design notes kept outside the tree (by name, or by their folder).
# Rules are stated in the files themselves or in the man pages.
# The tracked files when the source is a git tree, else every file of the
# source tree but build output; debian/changelog is history and may. TAP.

top=${PJ_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# Split, so that this file does not cite them itself.
name="CONTR""ACT"
folder="../sha""red"

# scan DIR: "path:line:text" for every citation under DIR.
scan() {
	if command -v git >/dev/null 2>&1 &&
		[ "$(git -C "$1" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$1" && pwd -P)" ]; then
		git -C "$1" grep -n -I -F -e "$name" -e "$folder" -- . ':!debian/changelog'
	else
		(cd "$1" && find . \( -name .git -o -path './build*' -o -name autom4te.cache \
			-o -name '*.log' -o -name '*.trs' -o -path ./debian/changelog \) -prune -o \
			-type f -print | sort | sed 's|^\./||' | while IFS= read -r f; do
				grep -n -I -F -e "$name" -e "$folder" -- "$f" | sed "s|^|$f:|"
			done)
	fi
	return 0
}

n=0
result() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$2" | head -50 | sed 's/^/# /'
	fi
}

# Control: the scan finds a citation, and skips debian/changelog.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/plain/src" "$tmp/plain/debian"
printf '/* see %s section 4 */\n' "$name" >"$tmp/plain/src/a.c"
printf 'see %s/x\n' "$folder" >"$tmp/plain/README"
printf 'the %s now\n' "$name" >"$tmp/plain/debian/changelog"
found=$(scan "$tmp/plain")
want=$(printf 'README:1:see %s/x\nsrc/a.c:1:/* see %s section 4 */' "$folder" "$name")
[ "$found" = "$want" ] && bad= || bad="found: $found"
result "control: the scan of a tree finds both citations and skips debian/changelog" "$bad"
if command -v git >/dev/null 2>&1; then
	cp -r "$tmp/plain" "$tmp/git"
	printf 'untracked %s\n' "$name" >"$tmp/git/untracked"
	if git -C "$tmp/git" init -q && git -C "$tmp/git" add src README debian; then
		found=$(scan "$tmp/git")
		[ "$found" = "$want" ] && bad= || bad="found: $found"
	else
		bad="git init failed"
	fi
	result "control: the scan of a git tree reads its tracked files" "$bad"
else
	n=$((n + 1))
	echo "ok $n - control: the scan of a git tree # SKIP no git"
fi

result "no file of the source tree cites $name or $folder" "$(scan "$top")"
echo "1..$n"
