#!/usr/bin/env bash
# kino's real-browser test (Meson suite 'browser'): installs the pinned npm
# packages (hls.js, dashjs, shaka-player, playwright-core) into
# tests/browser/node_modules when they are missing or package-lock.json
# changed, then runs play.mjs, which plays kino's HLS with hls.js, its DASH
# with dash.js and both with Shaka Player in Debian's Chromium and Firefox
# (players.mjs), and in WebKitGTK the HLS with hls.js and the DASH with Shaka
# Player (webkit.mjs), from a page on another origin.
#
# Needs the Debian packages chromium, firefox-esr, webkit2gtk-driver, the GStreamer plugins
# (good, bad, libav), xvfb, xauth, nodejs, npm and ffmpeg
# (scripts/install-deps.sh --test installs them) and the npm registry for the
# first run.
# KINO_BIN: the kino binary (Meson passes it; default ./build/kino).
# CHROMIUM, FIREFOX: the browsers (default /usr/bin/chromium, /usr/bin/firefox-esr).
# Never downloads a browser. WEBKIT_PLAYERS: what WebKit plays (webkit.mjs).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

fail() {
    echo "browser: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export FIREFOX="${FIREFOX:-/usr/bin/firefox-esr}"
export KINO_BIN="${KINO_BIN:-$repo/build/kino}"
for cmd in node npm ffmpeg; do
    command -v "$cmd" >/dev/null 2>&1 ||
        fail "'$cmd' is not installed; run scripts/install-deps.sh as root (Debian: nodejs, npm, ffmpeg)"
done
[ -x "$CHROMIUM" ] ||
    fail "no browser at $CHROMIUM; run scripts/install-deps.sh as root (Debian package chromium)"
[ -x "$FIREFOX" ] ||
    fail "no browser at $FIREFOX; run scripts/install-deps.sh --test as root (Debian package firefox-esr)"
[ -x "$KINO_BIN" ] || fail "no kino binary at $KINO_BIN (build it with ninja -C build, or set KINO_BIN)"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || fail "node $(node --version) is too old; the npm packages here need node >= 18 to install"

# npm ci when node_modules is missing or was installed from another lock file.
# One install at a time (two build dirs may run this test at once).
stamp="$here/node_modules/.kino-lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
exec 9>"$here/.npm-install.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] ||
   [ ! -f "$here/node_modules/hls.js/dist/hls.min.js" ] ||
   [ ! -f "$here/node_modules/dashjs/dist/modern/umd/dash.all.min.js" ] ||
   [ ! -f "$here/node_modules/shaka-player/dist/shaka-player.compiled.js" ] ||
   [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
    echo "browser: npm ci (hls.js, dashjs, shaka-player, playwright-core) into $here/node_modules"
    # playwright-core downloads nothing on install; this keeps it that way.
    # Trust the system's CA store (Debian's node uses its own bundled list), so a
    # registry reached through a proxy with a locally installed CA works too.
    cafile=""
    [ -r /etc/ssl/certs/ca-certificates.crt ] && cafile="--cafile=/etc/ssl/certs/ca-certificates.crt"
    (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci $cafile --no-audit --no-fund --loglevel=error) ||
        fail "npm ci failed in $here (the npm registry must be reachable for the first run)"
    echo "$want" >"$stamp"
fi
flock -u 9
exec 9>&-

cd "$repo"
exec node "$here/play.mjs"
