#!/bin/sh
# Measure what docs/performance.md records for the foundation:
#   1. wall time, CPU time and peak memory of `kino transcode` on the 10 s
#      1280x720 test clip (the same clip the end-to-end test makes);
#   2. the server's memory while a 2 GiB upload streams in.
# Usage: bench/foundation.sh [KINO_BIN]   (default: build/kino; build it with `make build`)
# Needs ffmpeg (for the clip) and GNU time (/usr/bin/time, Debian package `time`).
set -eu

KINO=${1:-build/kino}
WORK=$(mktemp -d /tmp/kino-bench-XXXXXX)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT INT TERM
SERVER=

command -v /usr/bin/time >/dev/null || { echo "install GNU time: apt-get install time" >&2; exit 1; }

echo "== transcode: 10 s 1280x720 30 fps clip with noise and stereo sound"
sh tests/media/generate.sh "$WORK/media" >/dev/null
/usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KiB" \
    "$KINO" transcode "$WORK/media/clip720.mp4" "$WORK/out" >/dev/null 2>"$WORK/time.txt" || {
    cat "$WORK/time.txt" >&2
    exit 1
}
tail -n 1 "$WORK/time.txt"

echo "== upload: 2 GiB file streamed to kino serve (no transcoding workers)"
truncate -s 2G "$WORK/big.bin"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Uploads need an account: an admin made from the command line, logged in for an access token.
PW="bench password $$"
printf '%s\n' "$PW" | "$KINO" user add --email bench@example.com --role admin --data "$WORK/data" >/dev/null
"$KINO" serve --listen "127.0.0.1:$PORT" --data "$WORK/data" --workers 0 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf -H 'Content-Type: application/json' \
    -d "{\"email\": \"bench@example.com\", \"password\": \"$PW\"}" \
    "http://127.0.0.1:$PORT/api/v1/auth/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
before=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
curl -sf -o /dev/null -w "uploaded %{size_upload} bytes in %{time_total} s (%{speed_upload} B/s), HTTP %{http_code}\n" \
    -H "Authorization: Bearer $TOKEN" -F "file=@$WORK/big.bin" "http://127.0.0.1:$PORT/api/v1/upload"
peak=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
echo "server RSS before the upload: $before KiB; peak RSS over its whole life (VmHWM): $peak KiB"
