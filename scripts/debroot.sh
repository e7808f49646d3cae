#!/bin/sh
# debroot.sh — the Debian mail servers that conflict with postfix as
# packages (Exim 4, OpenSMTPD), for tests/net/exim.sh and opensmtpd.sh:
# their .deb files are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` under build/debroot/ (DEBROOT overrides), never installed;
# their system users and groups are created as their postinst scripts do,
# when missing. Their shared libraries are ordinary packages
# (scripts/packages.txt). Quick when everything is already there.
#   scripts/debroot.sh          fetch, unpack, add users (as needed)
#   scripts/debroot.sh --check  exit 1 and say what is missing, change nothing
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
root=${DEBROOT:-$here/build/debroot}
pkgs="exim4-base exim4-config exim4-daemon-light opensmtpd"
bins="usr/sbin/exim4 usr/sbin/smtpd"
check=no
[ "${1:-}" = --check ] && check=yes
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# unpacked: the stamp names this package set and every binary is there
unpacked() {
    [ -f "$root/.packages" ] && [ "$(head -n1 "$root/.packages")" = "$pkgs" ] || return 1
    for b in $bins; do [ -x "$root/$b" ] || return 1; done
}

# users_missing: the postinst users and groups that do not exist yet
users_missing() {
    for u in Debian-exim opensmtpd opensmtpq; do
        getent passwd "$u" > /dev/null || printf ' user %s' "$u"
    done
    for g in Debian-exim opensmtpd opensmtpq; do
        getent group "$g" > /dev/null || printf ' group %s' "$g"
    done
}

if [ "$check" = yes ]; then
    bad=""
    unpacked || bad=" $pkgs unpacked under $root"
    bad="$bad$(users_missing)"
    [ -z "$bad" ] && exit 0
    echo "debroot: missing:$bad (run make deps or scripts/debroot.sh)" >&2
    exit 1
fi

if ! unpacked; then
    stage=$root.tmp-$$
    rm -rf "$stage"
    mkdir -p "$stage/debs"
    trap 'rm -rf "$stage"' EXIT
    # as root, apt's _apt sandbox user could not write into the stage
    sandbox=""
    [ "$(id -u)" -eq 0 ] && sandbox="-o APT::Sandbox::User=root"
    echo "debroot: downloading $pkgs" >&2
    # shellcheck disable=SC2086
    (cd "$stage/debs" && apt-get download -qq $sandbox $pkgs) || {
        echo "debroot: apt-get download failed (try: apt-get update)" >&2
        exit 1
    }
    echo "$pkgs" > "$stage/.packages"
    for d in "$stage"/debs/*.deb; do
        dpkg-deb -x "$d" "$stage"
        dpkg-deb -W --showformat='${Package} ${Version}\n' "$d" >> "$stage/.packages"
    done
    rm -rf "$stage/debs" "$root"
    mkdir -p "$(dirname "$root")"
    mv "$stage" "$root"
    trap - EXIT
fi

# the users, exactly as exim4-base's and opensmtpd's postinst add them
if ! getent passwd Debian-exim > /dev/null; then
    $SUDO adduser --system --group --quiet --home /var/spool/exim4 \
        --no-create-home --disabled-login --force-badname Debian-exim
fi
for g in opensmtpd opensmtpq; do
    getent group "$g" > /dev/null || $SUDO addgroup --system --quiet "$g"
done
getent passwd opensmtpd > /dev/null || $SUDO adduser --system --quiet --home /var/lib/opensmtpd/empty \
    --no-create-home --disabled-password --gecos "OpenSMTPD Daemon" --ingroup opensmtpd opensmtpd
getent passwd opensmtpq > /dev/null || $SUDO adduser --system --quiet --home /var/lib/opensmtpd/empty \
    --no-create-home --disabled-password --gecos "OpenSMTPD queue user" --ingroup opensmtpq opensmtpq

# the shared libraries come from scripts/packages.txt; say which are absent
for b in $bins; do
    if ldd "$root/$b" 2>/dev/null | grep -q 'not found'; then
        echo "debroot: $b lacks $(ldd "$root/$b" | sed -n 's/^[[:space:]]*\([^ ]*\) => not found/\1/p' | tr '\n' ' ')(run scripts/deps.sh)" >&2
        exit 1
    fi
done
exit 0
