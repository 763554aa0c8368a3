#!/bin/sh
# Install the Debian packages kino needs to build and run it, and with
# `--test` also those its tests use (Criterion, the ffmpeg CLI, Python,
# Chromium, Firefox ESR, WebKitGTK with GStreamer's plugins, Xvfb and Node for
# the browser test). Idempotent: packages already
# present are left alone, and apt-get runs only when one is missing.
# Run as root (or with sudo available) on Debian bookworm.
#
#   scripts/install-deps.sh           what `make run` needs
#   scripts/install-deps.sh --test    plus what `make test` needs
set -eu

PACKAGES="
gcc libc6-dev make pkg-config meson ninja-build
libmicrohttpd-dev
libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libzimg-dev
libsqlite3-dev libjansson-dev libsodium-dev libjwt-dev libinih-dev
ca-certificates
"

TEST_PACKAGES="
libcriterion-dev
ffmpeg python3 curl
chromium firefox-esr nodejs npm
webkit2gtk-driver gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav xvfb xauth
"

case "${1:-}" in
    --test) PACKAGES="$PACKAGES $TEST_PACKAGES" ;;
    "") ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

# A nodejs that bundles its own npm (NodeSource's Provides and Conflicts with
# Debian's npm) is enough: Debian's npm cannot be installed beside it.
if command -v npm >/dev/null 2>&1; then
    rest=""
    for p in $missing; do [ "$p" = npm ] || rest="$rest $p"; done
    missing="$rest"
fi

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: these Debian packages are missing:$missing" >&2
        echo "install-deps: run this script as root, or install them with apt-get." >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
