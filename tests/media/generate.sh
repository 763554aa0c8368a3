#!/bin/sh
# Generate the test media used by the end-to-end tests and the benchmarks.
#
#   tests/media/generate.sh OUTDIR            the clips of tests/e2e/run.py
#   tests/media/generate.sh OUTDIR inputs     the inputs people upload (tests/e2e/inputs.py)
#
# Writes into OUTDIR (created if missing):
#   clip720.mp4     1280x720, 10 s, 30 fps, motion + temporal noise, stereo 48 kHz sine
#   portrait.mp4    360x640, 4 s, 30 fps, motion + noise, stereo sound
#   notvideo.mp4    a text file with a video name (must be refused by the pipeline)
# The `inputs` set is listed where it is made, below. Every clip is made by the
# ffmpeg CLI from lavfi sources (a few broken files are then cut or patched with
# python3), so nothing is downloaded and runs are reproducible. Clips are short to stay fast on small
# machines. Existing files are regenerated.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ] || { [ $# -eq 2 ] && [ "$2" != inputs ]; }; then
    echo "usage: $0 OUTDIR [inputs]" >&2
    exit 2
fi
out=$1
mkdir -p "$out"

FFMPEG=${FFMPEG:-ffmpeg}
common="-hide_banner -loglevel error -nostdin -y"

# The `inputs` set: one clip per kind of file people upload, each 2-4 s and
# small so that tests/e2e/inputs.py stays quick under AddressSanitizer.
#   rotated.mp4      640x360 coded, display matrix 90 deg (a phone held upright), stereo
#   mirrored.mp4     mirror_ref.mp4 (320x180, 2 s) with a display matrix that mirrors it left to
#                    right (QuickTime's Flip Horizontal); transposed.mp4 with one that mirrors
#                    it along its diagonal (turned 90 deg and mirrored: 180x320 shown)
#   anamorphic.mp4   720x576 with SAR 16:15 (PAL 4:3), 25 fps, 5.1 AAC at 44.1 kHz
#   odd.mkv          641x361 H.264 4:4:4, mono PCM at 22.05 kHz
#   absurd_sar.mkv   320x180 whose H.264 claims 1000:1 pixels (a broken stream), no audio
#   tenbit.mov       320x240 H.264 High 4:2:2 10-bit, 25 fps, no audio track
#   vfr.mp4          480x270, variable frame rate (30 fps with gaps: 20 fps on average), stereo
#   fps120.mp4       320x180 at 120 fps; fps100.mkv at 100 fps; fps50.mp4 at 50 fps (no audio)
#   interlaced.mp4   640x360 interlaced H.264 (PAFF, top field first), 29.97 fps, stereo
#   twotracks.mp4    320x180, audio 1 mono "eng", audio 2 stereo "fra" marked default
#   audiogap.mkv     320x180, 6 s; its sound (stereo AAC, language "ger": Matroska's
#                    bibliographic code for German) has no packets from 2 s to 3 s and
#                    beeps at 4 s
#   screen.mp4       a screen recording that only sends frames when the screen changes:
#                    parts_ref.mp4's first second at 30 fps, then one frame a second to 3 s
#                    (33 frames: 11 fps on average, 30 fps base)
#   anim.gif         an animated GIF (a palette, no sound), 320x240, 2 s, each picture shown
#                    7/100 s (14.29 fps), as GIF makers write them
#   rgb.mkv          320x240 lossless RGB H.264 (libx264rgb, as screen capture tools write),
#                    2 s, whose stream says its matrix is RGB
#   bars709.mp4      640x360 HD colour bars (smptehdbars), still, 2 s, made YUV with BT.709's
#                    matrix and tagged so, as phones and cameras do
#   untagged720.mp4  1280x720 HD colour bars, still, 2 s, made YUV with BT.709's matrix but
#                    not tagged (as many encoders leave it)
#   rgbtag.mp4       bars709.mp4 whose H.264 says its YUV samples have the RGB matrix (a
#                    damaged stream: matrix_coefficients 0)
#   alpha.mov        320x240 ProRes 4444 with an alpha plane, 2 s: its left half transparent
#                    over testsrc2's colours (a motion graphics export)
#   sticker.png      the same as an animated PNG (RGBA), as sticker and GIF makers write
#   claps.ts         ten 1 s clips with sound spliced in MPEG-TS, the last with a clap: a white
#                    picture and a beep together, 0.5 s in
#   sound_hole.ts    320x180, 14 s, in MPEG-TS; its sound has no packets from 1 s to 12.5 s
#                    (over 10 s) and beeps at 13 s
#   sound_hole.mkv   the same in Matroska, with a white picture at 13 s (a microphone that
#                    dropped out in a call recording)
#   slides.mp4       a slideshow: three pictures of 11 s each (1/11 fps), no sound
#   slides_music.mp4 the same with 33 s of sound
#   one_picture.mp4  one picture lasting 30 s (a cover made into a video) beside 10 s of sound
#   still.mp4        a still image as a 12 s video, every frame coded (a podcast episode with
#                    its cover: ffmpeg -loop 1 -i cover.png -i sound), sound beeping at 10 s
#   motion_still.mp4 320x180 25 fps, moving for 138 frames (5.52 s), then its last picture
#                    held to 10 s, every frame coded, lossless (a talk that ends on its
#                    last slide)
#   gap.webm         10 s of Opus (a browser's recording) with no packets from 2 s to 5 s, a
#                    beep at 8 s
#   picture_hole.mkv 320x180, 20 s; its pictures have no frames from 2 s to 17 s (a camera
#                    that froze) while the sound goes on, and a clap at 18 s
#   late_sound.mkv   320x180, 14 s; its sound starts 11 s in and beeps at 12 s
#   late_picture.mkv 14 s of sound beeping at 12 s; its pictures (parts_ref.mp4's first 3 s)
#                    start 11 s in
#   long_sound.mp4   parts_ref.mp4's first 3 s of pictures and 5 s of sound beeping at 4.5 s
#                    (a clip whose music runs on after the pictures end)
#   paused.mkv       parts_ref.mp4's first 4 s, pictures and sound jumping 20 s ahead 2 s in
#                    (a recording paused, a camera that records on motion), with a clap 3 s
#                    in (by the pictures: 23 s): a white picture and a beep together
#   undecodable_track.mov  320x180, audio 1 "eng" (default) in a codec FFmpeg does not know
#                    (qqqa), audio 2 stereo AAC "fra"
#   undecodable_sound.mov  its only audio track in that unknown codec (refused)
#   undecodable_video.mov  its video track in an unknown codec (qqqv), AAC beside it (refused,
#                    not made an audio-only media)
#   unknown_codec.mkv  its video's Matroska codec id renamed to one nobody knows (refused)
#   hdr_pq.mp4       640x360 HDR10: 10-bit BT.2020, PQ, the chart of sdr_chart.mp4 with
#                    its white at 203 nits (ITU-R BT.2408), no audio
#   hdr_hlg.mov      the same as HLG (what phones record)
#   hdr_then_sdr.ts  hdr_hlg.mov's 3 s and then the chart as SDR BT.709, spliced in MPEG-TS
#   shape_change.ts  the chart (640x360) and then a 360x640 picture, spliced in MPEG-TS;
#                    portrait_boxed.mp4 is that picture on black at 16:9 (a reference)
#   short_parts.ts   three 2 s clips with sound spliced in MPEG-TS, each one's timestamps
#                    starting again, a beep 0.5 s into the third; parts_ref.mp4 is the 6 s
#                    picture they were cut from, lossless (a reference)
#   fullrange.webm   the same chart as VP9 in full range flagged only by color_range (as
#                    screen recorders write it); fullrange.mp4 as H.264 yuvj420p (as
#                    Android phones write it)
#   sdr_chart.mp4    the limited-range SDR original of all four, lossless (a reference,
#                    not an upload)
#   hdr_anamorphic.mp4  HLG 720x576 with SAR 16:15 (more pixels than its top rung, 640x480:
#                    shrunk before tone mapping), from sdr_chart576.mp4 (a reference)
#   dovi_hlg.mp4     Dolby Vision profile 8.4 as iPhones record it: HEVC with an HLG base layer
#                    (the chart again), its DOVI record in the sample entry, display matrix 90 deg
#   dovi5.mp4        the same marked profile 5, which has no standard base layer (refused)
#   bogus_cll.mp4    hdr_pq.mp4's chart as HEVC whose content light level claims MaxCLL = 1 nit
#   song.mp3         stereo MP3 with a cover picture (ID3 APIC)
#   cover_alpha.mp3  the same with a PNG cover whose left half is transparent
#   song.flac song.wav song.m4a song.ogg song.opus   audio only, assorted rates/layouts
#   channels65.wav   0.5 s of 65 channels, more than FFmpeg's resampler mixes (refused)
#   multitrack.wav   12 channels with no layout (a multitrack recorder), 48 kHz, 3 s: a 1 kHz
#                    tone at -15 dB RMS on track 1, at -27 dB on track 2, loud noise on the rest
#   truncated.mp4    an MP4 cut in half with its index (moov) at the end: no moov
#   random.mp4       64 KiB of pseudo-random bytes
#   cut.ogg cut.wav  song.ogg's first 100 bytes, song.wav's first 40 (its header without the
#                    data chunk): files of a known kind, damaged
#   cut.mp3          song.mp3's first 1000 bytes: cut inside its ID3 tag (the cover art)
#   bad_config.m4a   song.m4a with the first byte of its AAC decoder configuration (esds)
#                    zeroed: audio object type 0, which the decoder refuses
#   empty.mp4        0 bytes
#   image.png        a still picture
#   anim.webp        an animated WebP, which FFmpeg 5.1 cannot decode
#   huge.y4m         a YUV4MPEG header declaring 12000x12000 pixels (144 Mpx: over the default)
#   absurd.y4m       a YUV4MPEG header declaring 100000x100000 (FFmpeg itself refuses to open it)
#   big.y4m          a YUV4MPEG header declaring 1280x1024 (over a max-pixels of 1000000 only)
#   thin.y4m         one 12000x64 frame: under that max-pixels, but too long a side for players
#   longdur.mp4      a 3 s MP4 whose header (mvhd) claims 90 s (over a max-duration of 60)
#   tiny.mp4         an 8x8 video (under the 16x16 kino needs)
#   nodecode.mp4     a video-only MP4 whose sample data are overwritten with zeros
#   mdhd_v2.mp4      a video-only MP4 whose media header (mdhd) says version 2, which no
#                    one has defined (FFmpeg: "Not yet implemented in FFmpeg, patches welcome")
gen_inputs() {
    v="testsrc2=rate=30:duration=3"
    a2="sine=frequency=440:sample_rate=48000:duration=3"

    # FFmpeg 5.1 writes the display matrix from the rotate tag only when copying.
    $FFMPEG $common -f lavfi -i "$v:size=640x360" -f lavfi -i "$a2" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 30 -c:a aac -ac 2 \
        "$out/unrotated.mp4"
    $FFMPEG $common -i "$out/unrotated.mp4" -c copy -metadata:s:v:0 rotate=90 \
        "$out/rotated.mp4"
    rm -f "$out/unrotated.mp4"

    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=2:size=320x180" -c:v libx264 \
        -preset ultrafast -crf 12 -pix_fmt yuv420p "$out/mirror_ref.mp4"
    # tkhd's matrix {a b u, c d v, x y w} (16.16; u v w 2.30): x' = a x + c y + x.
    python3 - "$out/mirror_ref.mp4" "$out/mirrored.mp4" "$out/transposed.mp4" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
i = data.find(b"tkhd")
assert i > 0 and data[i + 4] == 0, "tkhd version 0 expected"
at = i + 4 + 4 + 5 * 4 + 8 + 4 * 2  # version+flags, times, id, reserved, duration, ...
one, w = 1 << 16, 1 << 30
for path, m in ((sys.argv[2], (-one, 0, 0, 0, one, 0, 320 * one, 0, w)),
                (sys.argv[3], (0, one, 0, one, 0, 0, 0, 0, w))):
    data[at:at + 36] = struct.pack(">9i", *m)
    open(path, "wb").write(data)
PY

    $FFMPEG $common -f lavfi -i "testsrc2=rate=25:duration=3:size=720x576,setsar=16/15" \
        -f lavfi -i "sine=frequency=330:sample_rate=44100:duration=3" \
        -filter_complex "[1:a]asplit=6[c0][c1][c2][c3][c4][c5];[c0][c1][c2][c3][c4][c5]join=inputs=6:channel_layout=5.1[a]" \
        -map 0:v -map "[a]" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 \
        -c:a aac -ar 44100 "$out/anamorphic.mp4"

    $FFMPEG $common -f lavfi -i "$v:size=642x362,format=yuv444p,crop=641:361:0:0" \
        -f lavfi -i "sine=frequency=550:sample_rate=22050:duration=3" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv444p -g 30 -c:a pcm_s16le -ac 1 \
        "$out/odd.mkv"

    $FFMPEG $common -f lavfi -i "testsrc2=rate=25:duration=3:size=320x240" \
        -c:v libx264 -preset ultrafast -profile:v high422 -pix_fmt yuv422p10le -g 25 \
        "$out/tenbit.mov"

    # Frames 10-19 of every second are missing: timestamps keep the gaps.
    $FFMPEG $common -f lavfi -i "$v:size=480x270" -f lavfi -i "$a2" \
        -vf "select='not(between(mod(n\,30)\,10\,19))'" -fps_mode passthrough \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 "$out/vfr.mp4"

    $FFMPEG $common -f lavfi -i "$v:size=320x180" -vf "setsar=r=1000/1:max=1000" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$out/absurd_sar.mkv"

    $FFMPEG $common -f lavfi -i "testsrc2=rate=120:duration=2:size=320x180" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$out/fps120.mp4"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=100:duration=2:size=320x180" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$out/fps100.mkv"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=50:duration=2:size=320x180" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$out/fps50.mp4"

    # Two 59.94 fps pictures woven into one 29.97 fps frame of two fields.
    $FFMPEG $common -f lavfi -i "testsrc2=rate=60000/1001:duration=3:size=640x360" \
        -f lavfi -i "$a2" -vf "interlace=scan=tff,setfield=tff" \
        -c:v libx264 -preset ultrafast -flags +ilme+ildct -x264-params tff=1 \
        -pix_fmt yuv420p -c:a aac -ac 2 "$out/interlaced.mp4"

    $FFMPEG $common -f lavfi -i "$v:size=320x180" -f lavfi -i "$a2" \
        -f lavfi -i "sine=frequency=880:sample_rate=48000:duration=3" \
        -map 0:v -map 1:a -map 2:a -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
        -c:a aac -ac:a:0 1 -ac:a:1 2 \
        -metadata:s:a:0 language=eng -metadata:s:a:1 language=fra \
        -disposition:a:0 0 -disposition:a:1 default "$out/twotracks.mp4"

    # Sound with a hole in its timestamps from 2 s to 3 s and a beep at 4 s, in Matroska (which
    # keeps each block's time).
    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=6:size=320x180" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=6" \
        -filter_complex "[1:a]volume='if(between(t,4,4.1),1,0)':eval=frame,aselect='not(between(t,2,3))'[a]" \
        -map 0:v -map "[a]" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 \
        -metadata:s:a:0 language=ger "$out/audiogap.mkv"
    # Tracks in codecs FFmpeg does not know (as phones add spatial audio beside stereo AAC):
    # the sample entry's type and its decoder configuration box renamed to unknown ones.
    $FFMPEG $common -f lavfi -i "$v:size=320x180" -f lavfi -i "$a2" \
        -f lavfi -i "sine=frequency=880:sample_rate=48000:duration=3" \
        -map 0:v -map 1:a -map 2:a -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
        -c:a aac -ac 2 -metadata:s:a:0 language=eng -metadata:s:a:1 language=fra \
        -disposition:a:0 default -disposition:a:1 0 "$out/two_sounds.mov"
    $FFMPEG $common -f lavfi -i "$v:size=320x180" -f lavfi -i "$a2" -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 "$out/one_sound.mov"
    python3 - "$out" <<'PY'
import sys
out = sys.argv[1]

def rename(data, entry, config, new_entry, new_config):
    """The first `entry` sample entry and the `config` box after it, renamed."""
    data = bytearray(data)
    i = data.find(entry)
    j = data.find(config, i)
    assert i > 0 and j > i, (entry, config)
    data[i:i + 4], data[j:j + 4] = new_entry, new_config
    return data

two = open(out + "/two_sounds.mov", "rb").read()
one = open(out + "/one_sound.mov", "rb").read()
open(out + "/undecodable_track.mov", "wb").write(rename(two, b"mp4a", b"esds", b"qqqa", b"qqqe"))
open(out + "/undecodable_sound.mov", "wb").write(rename(one, b"mp4a", b"esds", b"qqqa", b"qqqe"))
open(out + "/undecodable_video.mov", "wb").write(rename(one, b"avc1", b"avcC", b"qqqv", b"qqqC"))
PY
    rm -f "$out/two_sounds.mov" "$out/one_sound.mov"

    $FFMPEG $common -f lavfi -i "$v:size=640x360" -c:v libx264 -preset ultrafast -qp 0 \
        -pix_fmt yuv420p "$out/sdr_chart.mp4"
    for hdr in smpte2084:hdr_pq.mp4 arib-std-b67:hdr_hlg.mov; do
        trc=${hdr%%:*}
        $FFMPEG $common -i "$out/sdr_chart.mp4" \
            -vf "zscale=tin=bt709:pin=bt709:min=bt709:rin=tv:t=$trc:p=bt2020:m=bt2020nc:r=tv:npl=203,format=yuv420p10le" \
            -c:v libx264 -preset ultrafast -crf 12 -color_primaries bt2020 -color_trc "$trc" \
            -colorspace bt2020nc "$out/${hdr#*:}"
    done
    # Streams spliced from different clips (MPEG-TS: each part's timestamps start again): an
    # HLG clip and then an SDR one, as from different phones; a landscape clip and then a
    # portrait one, as a call recording that switches to a phone's screen share.
    $FFMPEG $common -i "$out/hdr_hlg.mov" -c copy -bsf:v h264_mp4toannexb -f mpegts \
        "$out/part_hlg.ts"
    $FFMPEG $common -i "$out/sdr_chart.mp4" -c:v libx264 -preset ultrafast -crf 12 \
        -pix_fmt yuv420p -color_primaries bt709 -color_trc bt709 -colorspace bt709 \
        -f mpegts "$out/part_sdr.ts"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=3:size=360x640" -c:v libx264 \
        -preset ultrafast -qp 0 -pix_fmt yuv420p "$out/portrait_chart.mp4"
    $FFMPEG $common -i "$out/portrait_chart.mp4" -c:v libx264 -preset ultrafast -crf 12 \
        -pix_fmt yuv420p -f mpegts "$out/part_portrait.ts"
    cat "$out/part_hlg.ts" "$out/part_sdr.ts" > "$out/hdr_then_sdr.ts"
    cat "$out/part_sdr.ts" "$out/part_portrait.ts" > "$out/shape_change.ts"
    $FFMPEG $common -i "$out/portrait_chart.mp4" -vf "pad=1138:640:-1:-1:black" -c:v libx264 \
        -preset ultrafast -qp 0 -pix_fmt yuv420p "$out/portrait_boxed.mp4"
    rm -f "$out/part_hlg.ts" "$out/part_sdr.ts" "$out/part_portrait.ts" "$out/portrait_chart.mp4"
    # Clips of 2 s spliced the same way, each with its sound (the third beeps 0.5 s in), as
    # when short recordings or HLS segments of separate encodes are joined with cat.
    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=6:size=320x180" -c:v libx264 \
        -preset ultrafast -qp 0 -pix_fmt yuv420p "$out/parts_ref.mp4"
    for i in 0 1 2; do
        beep=0; [ $i -eq 2 ] && beep="between(t,0.5,0.6)"
        $FFMPEG $common -ss $((2 * i)) -t 2 -i "$out/parts_ref.mp4" \
            -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=2" \
            -af "volume='if($beep,1,0)':eval=frame" -c:v libx264 -preset ultrafast -crf 12 \
            -pix_fmt yuv420p -c:a aac -ac 2 -f mpegts "$out/part$i.ts"
    done
    cat "$out/part0.ts" "$out/part1.ts" "$out/part2.ts" > "$out/short_parts.ts"
    rm -f "$out/part0.ts" "$out/part1.ts" "$out/part2.ts"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=14:size=320x180" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=14" \
        -filter_complex "[1:a]volume='between(t,13,13.1)':eval=frame,aselect='not(between(t,1,12.5))'[a]" \
        -map 0:v -map "[a]" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 \
        -f mpegts "$out/sound_hole.ts"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=14:size=320x180" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=14" \
        -filter_complex "[0:v]drawbox=enable='between(n,390,392)':x=0:y=0:w=iw:h=ih:color=white:t=fill[v];[1:a]volume='between(t,13,13.1)':eval=frame,aselect='not(between(t,1,12.5))'[a]" \
        -map "[v]" -map "[a]" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 \
        "$out/sound_hole.mkv"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=1/11:duration=33:size=320x180" -c:v libx264 \
        -preset ultrafast -qp 0 -pix_fmt yuv420p "$out/slides.mp4"
    $FFMPEG $common -i "$out/slides.mp4" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=33" -c:v copy -c:a aac \
        -ac 2 "$out/slides_music.mp4"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=1/30:duration=30:size=320x180" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=10" -c:v libx264 \
        -preset ultrafast -qp 0 -pix_fmt yuv420p -c:a aac -ac 2 "$out/one_picture.mp4"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=25:duration=12:size=320x180" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=12" \
        -filter_complex "[0:v]select='eq(n,0)',loop=loop=299:size=1,setpts=N/25/TB[v];[1:a]volume='between(t,10,10.1)':eval=frame[a]" \
        -map "[v]" -map "[a]" -c:v libx264 -preset veryfast -tune stillimage -pix_fmt yuv420p \
        -c:a aac -ac 2 "$out/still.mp4"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=25:size=320x180,trim=end_frame=138,tpad=stop_mode=clone:stop=112" \
        -c:v libx264 -preset ultrafast -qp 0 -pix_fmt yuv420p "$out/motion_still.mp4"
    $FFMPEG $common -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=10" \
        -af "volume='between(t,8,8.1)':eval=frame,aselect='not(between(t,2,5))'" -c:a libopus \
        "$out/gap.webm"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=20:size=320x180" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=20" \
        -filter_complex "[0:v]drawbox=enable='between(n,540,542)':x=0:y=0:w=iw:h=ih:color=white:t=fill,select='not(between(t,2,17))'[v];[1:a]volume='between(t,18,18.1)':eval=frame[a]" \
        -map "[v]" -map "[a]" -fps_mode passthrough -c:v libx264 -preset ultrafast \
        -pix_fmt yuv420p -c:a aac -ac 2 "$out/picture_hole.mkv"
    : > "$out/claps.ts"
    for i in 0 1 2 3 4 5 6 7 8 9; do
        clap=0; [ $i -eq 9 ] && clap=1
        $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=1:size=320x180" \
            -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=1,volume='$clap*between(t,0.5,0.6)':eval=frame" \
            -vf "drawbox=enable='$clap*between(n,15,17)':x=0:y=0:w=iw:h=ih:color=white:t=fill" \
            -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 -f mpegts \
            "$out/clip.ts"
        cat "$out/clip.ts" >> "$out/claps.ts"
    done
    rm -f "$out/clip.ts"
    $FFMPEG $common -i "$out/parts_ref.mp4" -vf "select='lt(n\,30)+eq(mod(n\,30)\,0)'" -t 3.02 \
        -fps_mode vfr -c:v libx264 -preset ultrafast -crf 12 -pix_fmt yuv420p "$out/screen.mp4"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=100/7:duration=2:size=320x240" \
        -vf "split[a][b];[a]palettegen[p];[b][p]paletteuse" "$out/anim.gif"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=2:size=320x240" -c:v libx264rgb \
        -preset ultrafast "$out/rgb.mkv"
    $FFMPEG $common -f lavfi -i "smptehdbars=rate=30:duration=2:size=640x360" \
        -vf "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" -c:v libx264 \
        -preset ultrafast -crf 12 -colorspace bt709 -color_primaries bt709 -color_trc bt709 \
        "$out/bars709.mp4"
    $FFMPEG $common -f lavfi -i "smptehdbars=rate=30:duration=2:size=1280x720" \
        -vf "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" -c:v libx264 \
        -preset ultrafast -crf 12 "$out/untagged720.mp4"
    $FFMPEG $common -i "$out/bars709.mp4" -c copy -bsf:v h264_metadata=matrix_coefficients=0 \
        "$out/rgbtag.mp4"
    half="testsrc2=rate=30:duration=2:size=320x240,format=rgba,geq=r='r(X,Y)':g='g(X,Y)'"
    half="$half:b='b(X,Y)':a='if(lt(X,160),0,255)'"
    $FFMPEG $common -f lavfi -i "$half" -c:v prores_ks -profile:v 4444 \
        -pix_fmt yuva444p10le "$out/alpha.mov"
    $FFMPEG $common -f lavfi -i "$half" -plays 0 -f apng "$out/sticker.png"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=10:duration=1:size=160x120" -c:v libwebp \
        -loop 0 "$out/anim.webp"
    # A stream that starts well after the other (over 10 s): sound that starts when the
    # speaker does, pictures after a sound-only intro.
    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=14:size=320x180" -itsoffset 11 \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=3,volume='if(between(t,1,1.1),1,0)':eval=frame" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 "$out/late_sound.mkv"
    $FFMPEG $common -itsoffset 11 -t 3 -i "$out/parts_ref.mp4" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=14" \
        -af "volume='if(between(t,12,12.1),1,0)':eval=frame" -c:v libx264 -preset ultrafast \
        -crf 12 -pix_fmt yuv420p -c:a aac -ac 2 "$out/late_picture.mkv"
    $FFMPEG $common -t 3 -i "$out/parts_ref.mp4" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=5" \
        -af "volume='if(between(t,4.5,4.6),1,0)':eval=frame" -c:v libx264 -preset ultrafast \
        -crf 12 -pix_fmt yuv420p -c:a aac -ac 2 "$out/long_sound.mp4"
    $FFMPEG $common -t 4 -i "$out/parts_ref.mp4" \
        -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=4" \
        -filter_complex "[0:v]drawbox=enable='between(n,90,92)':x=0:y=0:w=iw:h=ih:color=white:t=fill,setpts='PTS+if(gte(N,60),20/TB,0)'[v];[1:a]volume='between(t,3,3.1)':eval=frame,asetpts='PTS+if(gte(T,2),20/TB,0)'[a]" \
        -map "[v]" -map "[a]" -c:v libx264 -preset ultrafast -crf 12 -pix_fmt yuv420p \
        -c:a aac -ac 2 "$out/paused.mkv"
    $FFMPEG $common -f lavfi -i "testsrc2=rate=25:duration=3:size=720x576" -c:v libx264 \
        -preset ultrafast -qp 0 -pix_fmt yuv420p "$out/sdr_chart576.mp4"
    $FFMPEG $common -i "$out/sdr_chart576.mp4" \
        -vf "zscale=tin=bt709:pin=bt709:min=bt709:rin=tv:t=arib-std-b67:p=bt2020:m=bt2020nc:r=tv:npl=203,format=yuv420p10le,setsar=16/15" \
        -c:v libx264 -preset ultrafast -crf 12 -color_primaries bt2020 -color_trc arib-std-b67 \
        -colorspace bt2020nc "$out/hdr_anamorphic.mp4"
    $FFMPEG $common -i "$out/sdr_chart.mp4" \
        -vf "zscale=tin=bt709:pin=bt709:min=bt709:rin=tv:t=smpte2084:p=bt2020:m=bt2020nc:r=tv:npl=203,format=yuv420p10le" \
        -c:v libx265 -preset ultrafast -crf 12 -x265-params log-level=error:hdr10=1:max-cll=1,1 \
        -tag:v hvc1 -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc \
        "$out/bogus_cll.mp4"
    # Dolby Vision as files carry it: a DOVI configuration box in the HEVC sample entry
    # (dvvC for profiles 8-10, dvcC below), patched into an HLG encode of the chart.
    $FFMPEG $common -i "$out/sdr_chart.mp4" \
        -vf "zscale=tin=bt709:pin=bt709:min=bt709:rin=tv:t=arib-std-b67:p=bt2020:m=bt2020nc:r=tv:npl=203,format=yuv420p10le" \
        -c:v libx265 -preset ultrafast -crf 12 -x265-params log-level=error -tag:v hvc1 \
        -color_primaries bt2020 -color_trc arib-std-b67 -colorspace bt2020nc "$out/hevc_flat.mp4"
    $FFMPEG $common -i "$out/hevc_flat.mp4" -c copy -metadata:s:v:0 rotate=90 "$out/hevc_hlg.mp4"
    python3 - "$out/hevc_hlg.mp4" "$out" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()

def with_dovi(profile, compat):
    """The file with a DOVI record (level 5, RPU and base layer present) in its sample entry;
    every box around it grows by the record's size. The index (moov) is after the samples, so
    no chunk offset moves."""
    out = bytearray(data)
    starts, off, end = [], 0, len(out)
    for kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"):
        while off + 8 <= end:
            size, k = struct.unpack(">I4s", out[off:off + 8])
            if k == kind:
                break
            off += size
        else:
            raise SystemExit("no %s box" % kind.decode())
        starts.append(off)
        end = off + size
        off += 16 if kind == b"stsd" else 8  # stsd: version, flags and entry count first
    size, kind = struct.unpack(">I4s", out[off:off + 8])
    assert kind == b"hvc1", kind
    starts.append(off)
    bits = profile << 9 | 5 << 3 | 1 << 2 | 1  # profile(7) level(6) rpu el bl
    record = bytes([1, 0]) + struct.pack(">H", bits) + bytes([compat << 4]) + bytes(19)
    box = struct.pack(">I4s", 8 + len(record), b"dvvC" if profile >= 8 else b"dvcC") + record
    out[off + size:off + size] = box
    for s in starts:
        out[s:s + 4] = struct.pack(">I", struct.unpack(">I", out[s:s + 4])[0] + len(box))
    return out

open(sys.argv[2] + "/dovi_hlg.mp4", "wb").write(with_dovi(8, 4))
open(sys.argv[2] + "/dovi5.mp4", "wb").write(with_dovi(5, 0))
PY
    rm -f "$out/hevc_flat.mp4" "$out/hevc_hlg.mp4"
    $FFMPEG $common -i "$out/sdr_chart.mp4" -vf "scale=out_range=full,format=yuv420p" \
        -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -crf 10 -b:v 0 -color_range pc \
        "$out/fullrange.webm"
    $FFMPEG $common -i "$out/sdr_chart.mp4" -vf "scale=out_range=full,format=yuvj420p" \
        -c:v libx264 -preset ultrafast -crf 12 -color_range pc "$out/fullrange.mp4"

    $FFMPEG $common -f lavfi -i "testsrc2=size=300x300:duration=1,trim=end_frame=1" \
        -frames:v 1 "$out/cover.png"
    $FFMPEG $common -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=3" \
        -i "$out/cover.png" -map 0 -map 1 -c:a libmp3lame -ac 2 -c:v copy \
        -id3v2_version 3 -metadata:s:v comment="Cover (front)" -metadata title=Song \
        "$out/song.mp3"
    clear="format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,150),0,255)'"
    $FFMPEG $common -f lavfi -i "testsrc2=size=300x300:duration=1,trim=end_frame=1,$clear" \
        -frames:v 1 "$out/cover_alpha.png"
    $FFMPEG $common -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=3" \
        -i "$out/cover_alpha.png" -map 0 -map 1 -c:a libmp3lame -ac 2 -c:v copy \
        -id3v2_version 3 -metadata:s:v comment="Cover (front)" "$out/cover_alpha.mp3"
    $FFMPEG $common -f lavfi -i "sine=frequency=500:sample_rate=96000:duration=3" \
        -ac 2 "$out/song.flac"
    $FFMPEG $common -f lavfi -i "sine=frequency=600:sample_rate=44100:duration=3" \
        -ac 1 -c:a pcm_s16le "$out/song.wav"
    $FFMPEG $common -f lavfi -i "sine=frequency=700:sample_rate=32000:duration=3" \
        -ac 2 -c:a aac "$out/song.m4a"
    $FFMPEG $common -f lavfi -i "sine=frequency=800:sample_rate=44100:duration=3" \
        -ac 2 -c:a libvorbis "$out/song.ogg"
    $FFMPEG $common -f lavfi -i "sine=frequency=900:sample_rate=48000:duration=3" \
        -ac 2 -c:a libopus "$out/song.opus"

    $FFMPEG $common -f lavfi -i "testsrc2=rate=30:duration=1:size=8x8" -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p "$out/tiny.mp4"
    # The index at the end (no faststart), then cut in half: no moov.
    $FFMPEG $common -f lavfi -i "$v:size=320x180" -c:v libx264 -preset ultrafast \
        -pix_fmt yuv420p "$out/whole.mp4"
    size=$(wc -c < "$out/whole.mp4")
    head -c $((size / 2)) "$out/whole.mp4" > "$out/truncated.mp4"
    python3 -c 'import random, sys; random.seed(3); sys.stdout.buffer.write(random.randbytes(65536))' \
        > "$out/random.mp4"
    : > "$out/empty.mp4"
    $FFMPEG $common -f lavfi -i "$v:size=320x180" -f lavfi -i "$a2" -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 "$out/known_codec.mkv"
    python3 - "$out/known_codec.mkv" "$out/unknown_codec.mkv" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
i = data.find(b"V_MPEG4/ISO/AVC")
assert i > 0, "no H.264 codec id"
open(sys.argv[2], "wb").write(data[:i] + b"V_MPEG4/ISO/ZZZ" + data[i + 15:])
PY
    rm -f "$out/known_codec.mkv"
    head -c 100 "$out/song.ogg" > "$out/cut.ogg"
    # A plain PCM header (no channel mask) over 12 interleaved 16-bit channels; and 65 silent.
    python3 - "$out/multitrack.wav" "$out/channels65.wav" <<'PY'
import array, math, random, struct, sys

def wav(path, rate, channels, data):
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" +
                struct.pack("<I", len(data)))
        f.write(data)

wav(sys.argv[2], 48000, 65, bytes(65 * 2 * 24000))
rate, channels, n = 48000, 12, 3 * 48000
rnd = random.Random(12)
tone = [math.sin(2 * math.pi * 1000 * i / rate) for i in range(n)]
noise = [rnd.randint(-16000, 16000) for _ in range(n)]
peak1, peak2 = 32767 * 0.25, 32767 * 0.0625  # -12 and -24 dB peak: RMS 3 dB lower
samples = array.array("h")
for i in range(n):
    samples.extend([int(peak1 * tone[i]), int(peak2 * tone[i])] + [noise[i]] * (channels - 2))
wav(sys.argv[1], rate, channels, samples.tobytes())
PY
    head -c 40 "$out/song.wav" > "$out/cut.wav"
    head -c 1000 "$out/song.mp3" > "$out/cut.mp3"
    python3 - "$out/song.m4a" "$out/bad_config.m4a" <<'PY'
import sys

data = bytearray(open(sys.argv[1], "rb").read())
esds = data.find(b"esds")
# The DecoderSpecificInfo descriptor (tag 5, FFmpeg writes its length in four bytes).
config = data.find(b"\x05\x80\x80\x80", esds) + 5
assert esds > 0 and config > esds
data[config] = 0
open(sys.argv[2], "wb").write(bytes(data))
PY
    cp "$out/cover.png" "$out/image.png"
    { printf 'YUV4MPEG2 W12000 H12000 F25:1 Ip A1:1 C420jpeg\nFRAME\n'; head -c 4096 /dev/zero; } \
        > "$out/huge.y4m"
    { printf 'YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n'; head -c 4096 /dev/zero; } \
        > "$out/absurd.y4m"
    { printf 'YUV4MPEG2 W1280 H1024 F25:1 Ip A1:1 C420jpeg\nFRAME\n'; head -c 4096 /dev/zero; } \
        > "$out/big.y4m"
    { printf 'YUV4MPEG2 W12000 H64 F25:1 Ip A1:1 C420jpeg\nFRAME\n'; head -c 1152000 /dev/zero; } \
        > "$out/thin.y4m"
    # mvhd: size, type, version+flags, creation, modification, timescale, duration (v0).
    python3 - "$out/whole.mp4" "$out/longdur.mp4" "$out/nodecode.mp4" "$out/mdhd_v2.mp4" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
i = data.find(b"mvhd")
assert i > 0 and data[i + 4] == 0, "mvhd version 0 expected"
scale = struct.unpack(">I", data[i + 16:i + 20])[0]
long_ = bytearray(data)
long_[i + 20:i + 24] = struct.pack(">I", 90 * scale)
open(sys.argv[2], "wb").write(long_)
# A media header of a version no one has defined (2): FFmpeg refuses the index with
# AVERROR_PATCHWELCOME.
j = data.find(b"mdhd")
assert j > 0, "no mdhd"
v2 = bytearray(data)
v2[j + 4] = 2
open(sys.argv[4], "wb").write(v2)
# Zero the payload of every top-level mdat box: the index stays valid, no sample decodes.
off = 0
while off + 8 <= len(data):
    size, kind = struct.unpack(">I4s", data[off:off + 8])
    if size < 8:
        break
    if kind == b"mdat":
        data[off + 8:off + size] = bytes(size - 8)
    off += size
open(sys.argv[3], "wb").write(data)
PY
    rm -f "$out/whole.mp4"
    echo "generated the inputs set in $out"
}

if [ $# -eq 2 ]; then
    gen_inputs
    exit 0
fi

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
