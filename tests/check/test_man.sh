#!/bin/sh
# The man pages render without a single groff warning, and pam_jwt(8)
# names every option and reason code. TAP.

top=${PJ_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pages="pam_jwt.8 pam_jwt.conf.5 pam_jwt_check.1 pam_jwt_askpass.1"
options="config issuer audience jwks_uri jwks_file algorithms user_claim
user_map require_claim leeway max_lifetime jti_replay state_dir cache_dir
cache_ttl refresh_cooldown stale_max http_timeout ca_file fetch_user
fetch_helper prompt prompt_more use_first_pass try_first_pass debug
typ deny_claim require_scope log_format issuers"
reasons="malformed too_large bad_header alg_not_allowed unknown_kid no_key
keys_unavailable bad_signature expired not_yet_valid issued_in_future
lifetime_too_long bad_issuer bad_audience claim_mismatch no_user_mapping
bad_user_name wrong_user user_unknown user_lookup_failed replayed
replay_store_unavailable config_error conversation claim_denied
answer_replaced"

n=0
echo "1..10"
for p in $pages; do
	n=$((n + 1))
	f="$top/man/$p"
	if ! command -v groff >/dev/null 2>&1; then
		echo "ok $n # SKIP groff not installed"
		continue
	fi
	if out=$(groff -ww -z -man "$f" 2>&1) && [ -z "$out" ]; then
		echo "ok $n - $p: groff -ww -z -man prints nothing"
	else
		echo "not ok $n - $p: groff -ww -z -man prints nothing"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
for p in $pages; do
	n=$((n + 1))
	f="$top/man/$p"
	if ! command -v groff >/dev/null 2>&1; then
		echo "ok $n # SKIP groff not installed"
		continue
	fi
	# Text pages: NAME, SYNOPSIS, DESCRIPTION and SEE ALSO, with text.
	txt=$(groff -man -Tascii -P-cbou "$f" 2>/dev/null)
	ok=1
	for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
		printf '%s\n' "$txt" | grep -q "^$s\$" || ok=0
	done
	[ "$(printf '%s\n' "$txt" | wc -l)" -gt 30 ] || ok=0
	if [ $ok = 1 ]; then
		echo "ok $n - $p: renders with NAME, SYNOPSIS, DESCRIPTION, SEE ALSO"
	else
		echo "not ok $n - $p: renders with NAME, SYNOPSIS, DESCRIPTION, SEE ALSO"
	fi
done

n=$((n + 1))
missing=""
for o in $options; do
	# An entry: a .TP tag naming the key.
	awk -v o="$o" 'p == ".TP" && ($1 == ".B" || $1 == ".BI") &&
	    ($2 == o || index($2, o "=") == 1) { f = 1 } { p = $0 }
	    END { exit !f }' "$top/man/pam_jwt.8" || missing="$missing $o"
done
if [ -z "$missing" ]; then
	echo "ok $n - pam_jwt.8 has an entry for every option"
else
	echo "not ok $n - pam_jwt.8 has an entry for every option"
	echo "# missing:$missing"
fi

n=$((n + 1))
missing=""
for r in $reasons; do
	grep -Eq "(^|[ (])$r([ ,;:.)]|$)" "$top/man/pam_jwt.8" || missing="$missing $r"
done
if [ -z "$missing" ]; then
	echo "ok $n - pam_jwt.8 names every reason code"
else
	echo "not ok $n - pam_jwt.8 names every reason code"
	echo "# missing:$missing"
fi
exit 0
