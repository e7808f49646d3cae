#!/bin/sh
# deps.sh — install the Debian packages mailvet needs to build and test.
#   scripts/deps.sh          install whatever is missing (apt-get)
#   scripts/deps.sh --check  exit 1 and name the missing packages, install nothing
#   scripts/deps.sh --fuzz   also what `make fuzz` needs (scripts/packages-fuzz.txt)
# The package list lives in scripts/packages.txt (plus tests/mailsim/deps.txt
# when present), so the Makefile, .ci/run and people all install the same set.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
check=no
lists="$here/scripts/packages.txt $here/tests/mailsim/deps.txt"
for a in "$@"; do
    case $a in
        --check) check=yes ;;
        --fuzz) lists="$lists $here/scripts/packages-fuzz.txt" ;;
    esac
done
# shellcheck disable=SC2086
pkgs=$(cat $lists 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
missing=""
for p in $pkgs; do
    s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$s" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$check" = yes ]; then
    echo "missing Debian packages:$missing" >&2
    exit 1
fi
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Postfix asks a question at install time unless told the answer first.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections 2>/dev/null || true
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
