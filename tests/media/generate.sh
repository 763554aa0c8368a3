#!/bin/sh
# Generate the test media used by the end-to-end tests and the benchmarks.
#
#   tests/media/generate.sh OUTDIR
#
# Writes into OUTDIR (created if missing):
#   clip720.mp4     1280x720, 10 s, 30 fps, motion + temporal noise, stereo 48 kHz sine
#   portrait.mp4    360x640, 4 s, 30 fps, motion + noise, stereo sound
#   notvideo.mp4    a text file with a video name (must be refused by the pipeline)
# Every clip is made by the ffmpeg CLI from lavfi sources, so nothing is
# downloaded and runs are reproducible. Clips are short to stay fast on small
# machines. Existing files are regenerated.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
mkdir -p "$out"

FFMPEG=${FFMPEG:-ffmpeg}
common="-hide_banner -loglevel error -nostdin -y"

# 1280x720 10 s clip: testsrc2 moves every frame; noise makes it hard to compress,
# so bitrates are realistic. Stereo sound: two sines of different pitch.
$FFMPEG $common \
    -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=10,noise=alls=20:allf=t+u" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=10" \
    -f lavfi -i "sine=frequency=660:sample_rate=48000:duration=10" \
    -filter_complex "[1:a][2:a]amerge=inputs=2[a]" \
    -map 0:v -map "[a]" \
    -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -g 60 \
    -c:a aac -b:a 128k -ac 2 -ar 48000 \
    -movflags +faststart -t 10 "$out/clip720.mp4"

# 360x640 portrait 4 s clip with sound.
$FFMPEG $common \
    -f lavfi -i "testsrc2=size=360x640:rate=30:duration=4,noise=alls=20:allf=t+u" \
    -f lavfi -i "sine=frequency=330:sample_rate=48000:duration=4" \
    -map 0:v -map 1:a \
    -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -g 60 \
    -c:a aac -b:a 128k -ac 2 -ar 48000 \
    -movflags +faststart -t 4 "$out/portrait.mp4"

# Not media at all, but named like a video.
cat > "$out/notvideo.mp4" <<'TXT'
This is a plain text file, not a video.
It is named .mp4 so that only probing the content can tell.
TXT

echo "generated in $out: clip720.mp4 portrait.mp4 notvideo.mp4"
