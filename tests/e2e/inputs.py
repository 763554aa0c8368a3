#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end test of the inputs people upload (issue 3).

Makes one short clip per kind of input with `tests/media/generate.sh DIR inputs`
(rotated phone video, non-square and odd sizes, 10-bit 4:2:2, variable and high
frame rates, interlaced, assorted audio layouts, several audio tracks,
audio-only files with and without cover art, broken and hostile files),
uploads them all to one real `kino serve` (with `repeats = once`) and checks what
a player gets over HTTP with ffprobe: every rung upright, progressive, square-pixel,
8-bit 4:2:0 H.264 High on a constant frame-rate grid with stereo 48 kHz AAC; the broken files
fail with their own readable error and leave nothing behind. Helpers come from
tests/e2e/run.py.

    KINO_BIN=./build/kino python3 tests/e2e/inputs.py

Prints one line per check (and the ffprobe facts of each output) and ends with
`N passed, N failed`; exits non-zero when any check failed. KINO_E2E_KEEP=1
keeps the temporary directory.
"""

import math
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as e2e  # noqa: E402  (the main e2e test's helpers)

R = e2e.R
MAX_PIXELS = 1000000  # the server's max-pixels here: every clip is smaller, big.y4m is not
MAX_DURATION = 60     # the server's max-duration: longdur.mp4 claims 90 s
SKIPPED_BYTES = 16    # at most, a skipped picture of these sizes with its length field

# name -> what a user of kino expects from it. repeats: the source shows a picture unchanged
# for three output frames or more (a hole filled, a slide, a still): stored once for the run.
VIDEOS = {
    "rotated.mp4": dict(sizes=[(360, 640)], fps=30, audio=True, display=(360, 640)),
    # A display matrix that mirrors: shown mirrored, as players show the file. Taken as a turn
    # alone, the left-right flip came out upside down (15.8 dB against the mirrored picture)
    # and the diagonal one turned the wrong way.
    "mirrored.mp4": dict(sizes=[(320, 180)], fps=30, audio=False, display=(320, 180),
                         length=2, looks_like=("mirror_ref.mp4", 35.0, "hflip")),
    "transposed.mp4": dict(sizes=[(180, 320)], fps=30, audio=False, display=(180, 320),
                           length=2, looks_like=("mirror_ref.mp4", 35.0, "transpose=cclock_flip")),
    "anamorphic.mp4": dict(sizes=[(640, 480), (480, 360)], fps=25, audio=True,
                           display=(768, 576)),
    "odd.mkv": dict(sizes=[(640, 360)], fps=30, audio=True, display=(641, 361)),
    # Pixels claimed 1000 times wider than tall are taken as square: the rung was 320000x180
    # before, and x264 refused it.
    "absurd_sar.mkv": dict(sizes=[(320, 180)], fps=30, audio=False, display=(320, 180)),
    "tenbit.mov": dict(sizes=[(320, 240)], fps=25, audio=False, display=(320, 240)),
    "vfr.mp4": dict(sizes=[(480, 270)], fps=30, audio=True, display=(480, 270)),
    # Frames only when the screen changes (11 fps on average, 30 fps base): its first second
    # of motion plays at 30 fps, frame for frame (it came out at 11 fps before).
    "screen.mp4": dict(sizes=[(320, 180)], fps=30, audio=False, display=(320, 180),
                       parts=[(0, 30, "parts_ref.mp4", 32.0, 0)]),
    "fps120.mp4": dict(sizes=[(320, 180)], fps=60, audio=False, display=(320, 180), length=2),
    "fps100.mkv": dict(sizes=[(320, 180)], fps=50, audio=False, display=(320, 180), length=2),
    "fps50.mp4": dict(sizes=[(320, 180)], fps=50, audio=False, display=(320, 180), length=2),
    "interlaced.mp4": dict(sizes=[(640, 360)], fps=30000 / 1001, audio=True,
                           display=(640, 360)),
    # The default track's "fra" (ISO 639-2) is "fr" in the manifests (BCP 47's shortest
    # code, which players match against the viewer's languages) and stays "fra" in the MP4.
    "twotracks.mp4": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180),
                          language="fr", mp4_language="fra"),
    # GIF makers time pictures in hundredths of a second: 7/100 s is kept as 14.29 fps, and
    # every picture of the palette image is there in order.
    "anim.gif": dict(sizes=[(320, 240)], fps=100 / 7, audio=False, display=(320, 240),
                     length=2, looks_like=("anim.gif", 35.0), bt709=True),
    # Lossless RGB H.264 (a screen capture): its pictures become YUV, tagged BT.709 with
    # colours to match. Before, the rung kept the source's "RGB" matrix tag, which players
    # that honour it show green and purple; GIFs were converted with BT.601's matrix and
    # left untagged, which players read as BT.709 from 720 lines up (a 720p GIF's top rung
    # showed its green bar at 0,190,5 in Chromium instead of 14,222,4; its lower rungs right).
    "rgb.mkv": dict(sizes=[(320, 240)], fps=30, audio=False, display=(320, 240), length=2,
                    looks_like=("rgb.mkv", 35.0), bt709=True),
    # BT.709 video, as phones record: its poster and storyboard tiles are JPEGs, which are
    # read as BT.601, so their colours are converted (30 dB against the bars before, cyan
    # greener; 44-53 dB now).
    "bars709.mp4": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                        length=2, bt709=True, thumb_colours=38.0),
    # Untagged HD: players (Chromium) take BT.709 from 720 lines up and BT.601 below, so
    # left untagged its 480p and 360p rungs showed other colours than its 720p one (the
    # green bar at 255 instead of 222). Every rung now says BT.709, as the source is shown.
    "untagged720.mp4": dict(sizes=[(1280, 720), (854, 480), (640, 360)], fps=30, audio=False,
                            display=(1280, 720), length=2, bt709=True, thumb_colours=38.0),
    # The same bars with the "RGB" matrix tag on YUV samples: taken as BT.709, rungs and
    # thumbnails alike. The rung was tagged RGB before (green and purple where honoured), and
    # the first thumbnail colour conversion took FFmpeg's weights for "RGB" (12.7 dB).
    "rgbtag.mp4": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                       length=2, bt709=True, thumb_colours=38.0),
    # Transparency shows as black, as on video platforms: before, the colours hidden under the
    # transparent left half showed (ProRes 4444 with alpha; an animated PNG sticker).
    "alpha.mov": dict(sizes=[(320, 240)], fps=30, audio=False, display=(320, 240), length=2,
                      transparent_left=True),
    "sticker.png": dict(sizes=[(320, 240)], fps=30, audio=False, display=(320, 240),
                        length=2, transparent_left=True),
    # The default audio track cannot be decoded: the other one is used.
    "undecodable_track.mov": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180),
                                  language="fr", mp4_language="fra"),
    # An HDR rung tone-mapped to SDR comes back near its SDR original (26.2 dB measured for
    # both clips); kept as PQ or HLG code values it shows washed out (14.5 and 17.3 dB).
    "hdr_pq.mp4": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                       looks_like=("sdr_chart.mp4", 22.0), bt709=True),
    "hdr_hlg.mov": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                        looks_like=("sdr_chart.mp4", 22.0), bt709=True),
    "hdr_anamorphic.mp4": dict(sizes=[(640, 480), (480, 360)], fps=25, audio=False,
                               display=(768, 576), looks_like=("sdr_chart576.mp4", 22.0),
                               bt709=True),
    # HDR10 claiming its brightest pixel is 1 nit: not believed (1000 nits taken instead), so
    # its highlights are not clipped (17.9 dB against the chart when believed).
    "bogus_cll.mp4": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                          looks_like=("sdr_chart.mp4", 22.0), bt709=True),
    # Dolby Vision 8.4 plays from its HLG base layer, tone-mapped like hdr_hlg.mov, and
    # turned upright after (an iPhone held upright).
    "dovi_hlg.mp4": dict(sizes=[(360, 640)], fps=30, audio=False, display=(360, 640),
                         looks_like=("sdr_chart.mp4", 22.0, "transpose=cclock"), bt709=True),
    # HDR and then SDR in one stream: each part looks like the chart (SDR frames tone-mapped
    # as if HDR came out dark: 23.1 dB).
    "hdr_then_sdr.ts": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                            length=6, bt709=True,
                            parts=[(0, 90, "sdr_chart.mp4", 22.0),
                                   (90, 90, "sdr_chart.mp4", 35.0)]),
    # Landscape and then portrait in one stream: the portrait part is centred on black at
    # the rungs' 16:9 (stretched to 16:9 it measured 8.3 dB against that).
    "shape_change.ts": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                            length=6, parts=[(0, 90, "sdr_chart.mp4", 35.0),
                                             (90, 90, "portrait_boxed.mp4", 35.0)]),
    # Three 2 s clips whose timestamps start again each time, with their sound: all three
    # play in turn, each picture one frame later than in the 6 s picture they were cut from
    # (the sound starts a frame before the pictures). Before, the second and third clips
    # were dropped as late frames while their sound played on (17 dB against their
    # pictures); one frame early or late measures 24 dB.
    "short_parts.ts": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180),
                           length=6, beep=True,
                           parts=[(1, 60, "parts_ref.mp4", 32.0, 0),
                                  (61, 60, "parts_ref.mp4", 32.0, 60),
                                  (121, 59, "parts_ref.mp4", 32.0, 120)]),
    # Ten 1 s clips spliced, the last with a clap (a white picture and a beep together): heard
    # when seen. Each splice moved the sound 24 ms later before (0.22 s after nine).
    "claps.ts": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180), length=10,
                     clap=True),
    # MPEG-TS whose sound drops out for 11.5 s: silence fills the hole and the 13 s beep stays
    # at 13 s (FFmpeg's CLI and kino before took the hole for a splice: beep at 2.5 s).
    "sound_hole.ts": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180),
                          length=14, beep_at=13.0),
    # The same in Matroska, with a white picture at 13 s: the hole is filled, so the beep is
    # heard when the picture is seen (before, a hole over 10 s outside MPEG-TS was closed in
    # the sound alone: the beep came at 1.6 s, 11.5 s before its picture).
    "sound_hole.mkv": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180),
                           length=14, beep_at=13.0, clap=True),
    # Pictures missing from 2 s to 17 s while the sound goes on: the last picture is held
    # through the hole and the clap at 18 s is heard when seen (before, the pictures jumped
    # ahead alone: the white picture at 3.1 s, its beep at 18.1 s).
    "picture_hole.mkv": dict(repeats=True, sizes=[(320, 180)], fps=30, audio=True,
                             display=(320, 180), length=20, beep_at=18.0, clap=True),
    # Sound that starts 11 s in: its beep stays at 12 s (it came at 1.1 s before: a lead over
    # 10 s was dropped).
    "late_sound.mkv": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180),
                           length=14, beep=True),
    # Pictures that start 11 s in (11.023 s: frame 331): the first is held until then, and
    # they play from there, with the sound (they played from 0 before: 17 dB).
    "late_picture.mkv": dict(repeats=True, sizes=[(320, 180)], fps=30, audio=True,
                             display=(320, 180), length=14, beep=True,
                             parts=[(331, 89, "parts_ref.mp4", 32.0, 0)]),
    # Sound that runs 2 s past the pictures (music over a clip's end): the last picture is
    # held until the sound ends, which keeps its place (beep at 4.5 s).
    "long_sound.mp4": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180),
                           length=5, beep_at=4.5, parts=[(0, 90, "parts_ref.mp4", 32.0, 0)],
                           held=[(90, 60, "parts_ref.mp4", 32.0, 89)]),
    # A slideshow (one picture every 11 s, as slideshow makers and "still image + music"
    # exports write it): each picture stays on screen until the next, the last one to the
    # end. Before, without sound the 11 s between pictures were taken for broken timestamps
    # and closed (33 s came out as 0.12 s); with sound every picture showed from the end of
    # the one before it, 11 s early.
    "slides.mp4": dict(repeats=True, sizes=[(320, 180)], fps=25, audio=False,
                       display=(320, 180), length=33,
                       held=[(0, 275, "slides.mp4", 35.0, 0), (275, 275, "slides.mp4", 35.0, 1),
                             (550, 275, "slides.mp4", 35.0, 2)]),
    "slides_music.mp4": dict(repeats=True, sizes=[(320, 180)], fps=25, audio=True,
                             display=(320, 180), length=33,
                             held=[(0, 275, "slides.mp4", 35.0, 0),
                                   (275, 275, "slides.mp4", 35.0, 1),
                                   (550, 275, "slides.mp4", 35.0, 2)]),
    # One picture lasting 30 s beside 10 s of sound: the picture is held 30 s and silence
    # follows the sound, as players play it. Refused before ("it should last 30.0 s but only
    # 10.0 s could be decoded"): the picture counted as one frame.
    "one_picture.mp4": dict(repeats=True, sizes=[(320, 180)], fps=25, audio=True,
                            display=(320, 180), length=30,
                            held=[(0, 750, "one_picture.mp4", 35.0, 0)]),
    # A still image as a video, every frame coded (a podcast episode with its cover): the
    # picture is stored once per keyframe interval after the first two, and shows throughout;
    # the sound stays with it (x264 encoded all 300 frames before, 5 times the CPU on 1080p).
    "still.mp4": dict(repeats=True, sizes=[(320, 180)], fps=25, audio=True, display=(320, 180),
                      length=12, beep_at=10.0, held=[(0, 300, "still.mp4", 35.0, 0)]),
    # Motion, then the last picture held from frame 138 (within the third GOP) to the end: the
    # frames after it are skipped pictures copying the last one the encoder gave, which must
    # be that picture, not a B frame decoded after it.
    "motion_still.mp4": dict(repeats=True, sizes=[(320, 180)], fps=25, audio=False,
                             display=(320, 180), length=10,
                             parts=[(0, 138, "motion_still.mp4", 32.0, 0)],
                             held=[(137, 113, "motion_still.mp4", 32.0, 137)]),
    # Pictures and sound jumping 20 s ahead 2 s in (a paused recording, a camera that records
    # on motion): the jump is closed, the clap after it is heard when it is seen. It was
    # refused before as "incomplete: it should last 24.0 s but only 4.0 s could be decoded".
    # Each picture lands one frame late, before the jump and after it (the pictures start
    # 21 ms in).
    "paused.mkv": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180), length=4,
                       clap=True, beep_at=3.0,
                       parts=[(1, 59, "parts_ref.mp4", 32.0, 0),
                              (61, 28, "parts_ref.mp4", 32.0, 60)]),
    # No sound from 2 s to 3 s (a microphone that dropped out), a beep at 4 s: the gap is
    # filled with silence and the beep stays at 4 s (it came 1 s early without). Its
    # language, German as Matroska writes it ("ger"), is "de" in the manifests and "deu"
    # in the MP4 (it was "ger" in both before).
    "audiogap.mkv": dict(sizes=[(320, 180)], fps=30, audio=True, display=(320, 180), length=6,
                         beep=True, language="de", mp4_language="deu"),
    # A full-range source made limited range comes back at 42 dB; read as if it were
    # limited, black is crushed and white clipped (28 dB).
    "fullrange.webm": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                           looks_like=("sdr_chart.mp4", 35.0)),
    "fullrange.mp4": dict(sizes=[(640, 360)], fps=30, audio=False, display=(640, 360),
                          looks_like=("sdr_chart.mp4", 35.0)),
}
AUDIO = {
    "song.mp3": dict(cover=(300, 300)),
    # Its cover's transparent half is black in the poster, as in the video's (the colours
    # hidden under it showed before).
    "cover_alpha.mp3": dict(cover=(300, 300), cover_left_black=True),
    "song.flac": dict(cover=None),
    # Mono (a 600 Hz sine at -21.1 dB RMS) plays on both sides at its own level, as players
    # play the file; it came out at -24.1 dB a side before (libswresample's -3 dB).
    "song.wav": dict(cover=None, levels=(-21.1, -21.1)),
    "song.m4a": dict(cover=None),
    "song.ogg": dict(cover=None),
    "song.opus": dict(cover=None),
    # Opus in WebM (a browser's recording) with no sound from 2 s to 5 s, a beep at 8 s: the
    # hole is kept as silence, so the beep stays at 8 s and the length at 10 s (captions and
    # chapters timed on the original stay right). It was closed before: beep at 5.0 s, 7 s.
    "gap.webm": dict(cover=None, length=10, beep_at=8.0),
    # 12 tracks with no layout (a multitrack recorder): track 1 goes left and track 2 right,
    # the other ten (loud noise) are left out. Refused before ("cannot be converted").
    "multitrack.wav": dict(cover=None, levels=(-15.1, -27.1)),
}
# name -> a pattern the error must match (what is wrong)
BROKEN = {
    "truncated.mp4": r"incomplete|moov",
    "random.mp4": r"not a video or audio file",
    "empty.mp4": r"empty|0 bytes",
    # A damaged file of a kind FFmpeg knows is said to be one (before: "not a video or audio
    # file that kino can read").
    "channels65.wav": r"65 channels, more than the 64 kino can mix",
    "cut.ogg": r"in the Ogg format but damaged or incomplete",
    "cut.wav": r"in the WAV / WAVE \(Waveform Audio\) format but damaged or incomplete",
    # Cut inside its ID3 tag, nothing for FFmpeg's probe to score: it said "not a video or
    # audio file that kino can read ... upload ... an MP3".
    "cut.mp3": r"in the MP2/3 \(MPEG audio layer 2/3\) format but damaged or incomplete",
    # Named as sound, with FFmpeg's codec name (it said "the aac stream" before), and without
    # FFmpeg's "(Function not implemented)", which read as if kino were unfinished.
    "bad_config.m4a": r"the file's sound \(aac\) cannot be decoded: its settings are damaged "
                      r"or not supported; re-export",
    "image.png": r"image",
    # FFmpeg 5.1 cannot decode it ("no audio or video stream found" before).
    "anim.webp": r"animated WebP image, which kino cannot read",
    "huge.y4m": r"12000x12000",
    "absurd.y4m": r"100000x100000",
    "big.y4m": r"1280x1024.*%d" % MAX_PIXELS,
    # x264 refused it: "cannot start the H.264 encoder for 12000x64 ... Generic error".
    "thin.y4m": r"12000x64 pixels, too long and thin a shape.*8192",
    "longdur.mp4": r"90 s.*60 s",
    "nodecode.mp4": r"no video frame",
    # FFmpeg refuses its index with "Not yet implemented in FFmpeg, patches welcome", which
    # the message carried before ("incomplete or damaged (Not yet implemented ...; its index").
    "mdhd_v2.mp4": r"the file is an MP4/MOV but incomplete or damaged \(its index, the moov box",
    "dovi5.mp4": r"Dolby Vision profile 5",
    "tiny.mp4": r"only 8x8 pixels.*at least 16",
    "undecodable_sound.mov": r"sound is in the qqqa codec, which kino cannot decode",
    "undecodable_video.mov": r"video is in the qqqv codec, which kino cannot decode",
    # No codec name and no four-character code ("is in the unknown codec" before).
    "unknown_codec.mkv": r"video is in a codec kino does not know; re-export it",
}
# ... and one saying what to do
WHAT_TO_DO = r"upload|re-export|scale it down|cut it|crop it"


def sh(args, timeout=180):
    p = subprocess.run(args, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def download_rendition(label, playlist_url, dest):
    """init + every segment of one media playlist into `dest`; the playlist or None."""
    r = e2e.get_url(playlist_url)
    if not R.check("%s: GET %s -> 200" % (label, urllib.parse.urlsplit(playlist_url).path),
                   r.status == 200, r.describe()):
        return None
    pl = e2e.parse_media_playlist(r.body.decode("utf-8", "replace"))
    urls = [pl["map"]] + [u for _, u in pl["segments"]]
    bad, data = [], []
    for u in urls:
        if not u:
            bad.append("no EXT-X-MAP")
            continue
        g = e2e.get_url(urllib.parse.urljoin(playlist_url, u))
        if g.status != 200 or not g.body:
            bad.append("%s -> %s" % (u, g.describe()))
        data.append(g.body)
    R.check("%s: init and %d segments -> 200" % (label, len(urls) - 1), not bad and
            len(urls) > 1 and pl["endlist"], "; ".join(bad[:3]) or short_pl(pl))
    with open(dest, "wb") as f:
        f.write(b"".join(data))
    return pl


def playlist_span(pl):
    """Seconds a media playlist lasts: the sum of its EXTINF (an unreadable one, NaN, left
    out; the segment checks report it)."""
    return sum(d for d, _ in pl["segments"] if d is not None and not math.isnan(d))


def short_pl(pl):
    return e2e.short("\n".join(pl["lines"]), 400)


def probe(path):
    j, err = e2e.ffprobe_json(["-show_streams", "-show_format", path])
    if j is None or not j.get("streams"):
        return None, err or "no streams"
    return j, ""


def video_facts(path):
    """The facts a player sees: size, SAR, pixel format, profile, fields, rate, side data."""
    j, err = probe(path)
    if j is None:
        return None, err
    st = j["streams"][0]
    facts = {k: st.get(k) for k in ("codec_name", "profile", "width", "height", "pix_fmt",
                                    "sample_aspect_ratio", "field_order", "avg_frame_rate",
                                    "r_frame_rate", "color_transfer", "color_primaries",
                                    "color_space", "color_range")}
    facts["side_data"] = [sd.get("side_data_type") for sd in st.get("side_data_list", [])]
    # How long each picture is on screen, in ticks of the time base: the steps between
    # consecutive presentation times (a picture repeated unchanged is stored once and lasts
    # several frames).
    pk, perr = e2e.ffprobe_json(["-select_streams", "v:0", "-show_entries",
                                 "packet=pts:stream=time_base", path])
    pts = sorted(int(p["pts"]) for p in (pk or {}).get("packets", [])
                 if p.get("pts") is not None)
    facts["pts_steps"] = sorted(set(b - a for a, b in zip(pts, pts[1:])))
    tb = ((pk or {}).get("streams") or [{}])[0].get("time_base", "0/1")
    facts["time_base_den"] = int(tb.split("/")[1])
    return facts, ""


def audio_facts(path):
    j, err = probe(path)
    if j is None:
        return None, err
    st = j["streams"][0]
    f = {k: st.get(k) for k in ("codec_name", "profile", "channels", "sample_rate")}
    f["duration"] = float(j.get("format", {}).get("duration") or 0)
    return f, ""


def channel_levels(path):
    """The RMS level of each channel of `path`'s sound, in dB, as ffmpeg's astats says."""
    rc, _, err = sh(["ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-af",
                     "astats=measure_overall=none:measure_perchannel=RMS_level", "-f", "null",
                     "-"])
    levels = re.findall(r"RMS level dB: (-?[0-9.]+|-inf)", err)
    return [float(x) for x in levels] if rc == 0 else None


def idet(path):
    """ffmpeg's interlace detector over the whole file: (tff, bff, progressive)."""
    rc, _, err = sh(["ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-vf", "idet",
                     "-f", "null", "-"])
    m = re.search(r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)", err)
    return tuple(int(x) for x in m.groups()) if m else None


def psnr(a, b, renumber=False, size=None, turn=None, frames=None, ref_first=0, matrix=None,
         hold=False, worst=False):
    """Average PSNR of `a` against `b`, as ffmpeg's psnr filter says; renumber=True pairs
    the n-th pictures of both whatever their timestamps; size=(w, h) scales `b` to it
    (bicubic, square pixels) first, else both must be the same size; turn is a filter that
    turns `b` first (transpose=cclock); frames=(first, count) takes only those of `a`, and
    as many of `b`'s from its frame ref_first on (hold=True: `b`'s frame ref_first alone,
    repeated); matrix (bt709) is the YUV matrix an RGB `b` becomes YUV with (ffmpeg's
    default is BT.601's); worst=True: the lowest PSNR of a picture instead of the average."""
    scale = "scale=%d:%d:flags=bicubic,setsar=1," % size if size else ""
    if matrix:
        scale += "scale=out_color_matrix=%s:out_range=tv,format=yuv420p," % matrix
    scale = (turn + "," if turn else "") + scale
    cut = "trim=start_frame=%d:end_frame=%d," % (frames[0], frames[0] + frames[1]) \
        if frames else ""
    ref_cut = "trim=start_frame=%d:end_frame=%d," % (ref_first, ref_first + frames[1]) \
        if frames else ""
    if frames and hold:
        ref_cut = "trim=start_frame=%d:end_frame=%d,loop=loop=%d:size=1:start=0," % (
            ref_first, ref_first + 1, frames[1] - 1)
    graph = ("[0:v]%ssetpts=N/(30*TB)[a];[1:v]%s%ssetpts=N/(30*TB)[b];[a][b]psnr" %
             (cut, ref_cut, scale) if renumber else "[0:v][1:v]psnr")
    rc, _, err = sh(["ffmpeg", "-hide_banner", "-nostdin", "-i", a, "-i", b, "-lavfi",
                     graph, "-f", "null", "-"])
    m = re.search(r"%s:([0-9.]+|inf)" % ("min" if worst else "average"), err)
    return float(m.group(1)) if m else None


def is_rgb(path):
    """True when the first picture stream of `path` is coded as RGB or a palette (GIF)."""
    rc, out, _ = sh(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                     "stream=pix_fmt", "-of", "csv=p=0", path])
    return rc == 0 and out.strip().startswith(("rgb", "bgr", "gbr", "argb", "abgr", "pal"))


def half_averages(path, left):
    """(Y, U, V) averages of the left or right half of `path`'s first picture, or None."""
    crop = "crop=iw/2:ih:0:0" if left else "crop=iw/2:ih:iw/2:0"
    rc, _, err = sh(["ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-frames:v", "1", "-vf",
                     crop + ",signalstats,metadata=print", "-f", "null", "-"])
    got = [re.search(r"lavfi\.signalstats\.%sAVG=([0-9.]+)" % k, err) for k in "YUV"]
    return tuple(float(m.group(1)) for m in got) if rc == 0 and all(got) else None


def colour_psnr(jpeg, source, crop=None):
    """PSNR of the colours of `jpeg` (a poster, or the tile `crop` = (x, y, w, h) of a
    storyboard sheet) against `source`'s first picture, both as a viewer sees them: the JPEG
    as JFIF says (BT.601), the source by its BT.709 tag; each is averaged down to 16x9 first,
    so that scaling and JPEG artefacts weigh little beside the colours."""
    cut = "crop=%d:%d:%d:%d," % (crop[2], crop[3], crop[0], crop[1]) if crop else ""
    graph = ("[0:v]%sscale=16:9:flags=area,format=gbrp[a];[1:v]trim=end_frame=1,"
             "scale=16:9:flags=area:in_color_matrix=bt709:in_range=tv,format=gbrp[b];"
             "[a][b]psnr" % cut)
    rc, _, err = sh(["ffmpeg", "-hide_banner", "-nostdin", "-i", jpeg, "-i", source, "-lavfi",
                     graph, "-f", "null", "-"])
    m = re.search(r"average:([0-9.]+|inf)", err)
    return float(m.group(1)) if rc == 0 and m else None


def check_thumb_colours(c, name, pb, least):
    """The poster and the first storyboard tile of the still `name` have its colours."""
    label, src = name, os.path.join(c.media_dir, name)
    r = e2e.get_url(pb.get("thumbnail") or "")
    poster = os.path.join(c.tmp, "%s-poster.jpg" % name)
    with open(poster, "wb") as fp:
        fp.write(r.body)
    q = colour_psnr(poster, src) if r.status == 200 else None
    R.check("%s: the poster has the video's colours (PSNR %s dB > %.0f)" % (label, q, least),
            q is not None and q > least, r.describe())
    r = e2e.get_url(pb.get("storyboard") or "")
    m = re.search(r"^(sheet-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)$",
                  r.body.decode("utf-8", "replace"), re.M)
    q = None
    if r.status == 200 and m:
        rs = e2e.get_url(urllib.parse.urljoin(pb["storyboard"], m.group(1)))
        sheet = os.path.join(c.tmp, "%s-%s" % (name, m.group(1)))
        with open(sheet, "wb") as fp:
            fp.write(rs.body)
        q = colour_psnr(sheet, src, tuple(int(x) for x in m.groups()[1:]))
    R.check("%s: the first storyboard tile has the video's colours (PSNR %s dB > %.0f)" %
            (label, q, least), q is not None and q > least, r.describe())


def first_sound(path):
    """When the sound of `path` first rises out of silence, in seconds, or None."""
    rc, _, err = sh(["ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-vn", "-af",
                     "silencedetect=n=-30dB:d=0.05", "-f", "null", "-"])
    m = re.search(r"silence_end: ([0-9.]+)", err)
    return float(m.group(1)) if rc == 0 and m else None


def first_flash(path):
    """When the pictures of the fragmented MP4 `path` first turn (nearly) white, in seconds,
    or None: the time the boxes give that picture (decode time plus composition offset, as
    ISO 14496-12 has it and Chromium and Safari play it), not FFmpeg's, whose MP4 reader shifts
    pictures by the largest negative composition offset it has seen."""
    p = subprocess.run(["ffprobe", "-v", "error", "-f", "lavfi", "-i",
                        "movie=%s,signalstats" % path, "-show_entries",
                        "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"],
                       capture_output=True, text=True, timeout=180)
    starts = sorted(start for start, _ in e2e.sample_spans(path))
    scale = e2e.track_timescale(path)
    for n, line in enumerate(p.stdout.split()):
        t, y = (line.split(",") + ["", ""])[:2]
        if y and float(y) > 200:
            return starts[n] / scale if scale and n < len(starts) else None
    return None


def plays(label, master_url):
    """A player's view: ffmpeg reads the master over HTTP and decodes every stream."""
    rc, _, err = sh(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", master_url,
                     "-map", "0", "-f", "null", "-"])
    R.check("%s: ffmpeg decodes the whole master over HTTP without an error" % label,
            rc == 0 and not err.strip(), e2e.short(err, 600))


def get_playback(label, base, mid):
    r = e2e.request(base, "GET", "/api/v1/media/%s/playback" % mid)
    pb = r.json() if r.status == 200 else None
    R.check("%s: GET playback -> 200" % label, isinstance(pb, dict), r.describe())
    return pb or {}


def read_master(label, url):
    r = e2e.get_url(url)
    if not R.check("%s: GET master.m3u8 -> 200" % label, r.status == 200, r.describe()):
        return None
    lines, tags, media, variants = e2e.parse_master(r.body.decode("utf-8", "replace"))
    R.note("%s master:\n        %s" % (label, "\n        ".join(
        l for l in lines if l.startswith("#EXT-X-MEDIA") or l.startswith("#EXT-X-STREAM-INF"))))
    return media, variants


def check_mp4_language(label, playlist_url, want):
    """The language in the audio track's init.mp4 (its mdhd: an ISO 639-2/T code)."""
    r = e2e.get_url(urllib.parse.urljoin(playlist_url, "init.mp4"))
    path = os.path.join(tempfile.gettempdir(), "kino-inputs-init-%d.mp4" % os.getpid())
    with open(path, "wb") as f:
        f.write(r.body)
    j, err = e2e.ffprobe_json(["-show_streams", path])
    os.unlink(path)
    got = (((j or {}).get("streams") or [{}])[0].get("tags") or {}).get("language")
    R.check("%s: the audio's init.mp4 says language %s" % (label, want), got == want,
            err or "ffprobe says %r" % got)


def check_video(c, name, exp):
    label = name
    mid, m = c.ids[name], c.done[name]
    if not R.check("%s: status ready" % label, m.get("status") == "ready",
                   "status %r, error %r" % (m.get("status"), m.get("error"))):
        return
    length = exp.get("length", 3)
    R.check("%s: type video, width x height %s, duration ~ %d s" % (label, exp["display"], length),
            m.get("type") == "video" and (m.get("width"), m.get("height")) == exp["display"] and
            abs((m.get("duration_s") or 0) - length) <= 0.5,
            "%r %rx%r %r s" % (m.get("type"), m.get("width"), m.get("height"),
                               m.get("duration_s")))
    rend = sorted((r.get("width"), r.get("height")) for r in m.get("renditions") or [])
    R.check("%s: renditions %s" % (label, exp["sizes"]), rend == sorted(exp["sizes"]), repr(rend))
    pb = get_playback(label, c.base, mid)
    if exp.get("thumb_colours"):
        check_thumb_colours(c, name, pb, exp["thumb_colours"])
    master = pb.get("hls") or ""
    got = read_master(label, master)
    if not got:
        return
    media, variants = got
    audio = [x for x in media if x.get("TYPE") == "AUDIO"]
    if exp["audio"]:
        R.check("%s: one audio rendition, stereo, language %s" %
                (label, exp.get("language", "und")),
                len(audio) == 1 and audio[0].get("CHANNELS") == "2" and
                audio[0].get("LANGUAGE") == exp.get("language", "und"), repr(audio))
        if audio and audio[0].get("URI"):
            check_mp4_language(label, urllib.parse.urljoin(master, audio[0]["URI"]),
                               exp.get("mp4_language", "und"))
    else:
        R.check("%s: no audio track -> no EXT-X-MEDIA, CODECS video only, no AUDIO group" % label,
                not audio and variants and all(
                    re.match(r"^avc1\.[0-9a-fA-F]{6}$", a.get("CODECS", "")) and
                    "AUDIO" not in a for a, _ in variants), repr(media) + repr(variants))
    sizes, spans = [], []
    for i, (a, uri) in enumerate(variants):
        vlabel = "%s %s" % (label, uri)
        path = os.path.join(c.tmp, "%s-v%d.mp4" % (name, i))
        pl = download_rendition(vlabel, urllib.parse.urljoin(master, uri), path)
        if not pl:
            continue
        spans.append(playlist_span(pl))
        f, err = video_facts(path)
        if not R.check("%s: ffprobe reads the rendition" % vlabel, f is not None, err):
            continue
        R.note("%s: %s" % (vlabel, f))
        size = (f["width"], f["height"])
        sizes.append(size)
        R.check("%s: coded size %dx%d matches RESOLUTION %s, even" %
                (vlabel, size[0], size[1], a.get("RESOLUTION")),
                a.get("RESOLUTION") == "%dx%d" % size and size[0] % 2 == 0 and size[1] % 2 == 0,
                "")
        R.check("%s: H.264 High, yuv420p (8-bit 4:2:0)" % vlabel,
                f["codec_name"] == "h264" and f["profile"] == "High" and f["pix_fmt"] == "yuv420p",
                repr(f))
        R.check("%s: square pixels" % vlabel, f["sample_aspect_ratio"] in (None, "1:1", "0:1"),
                repr(f["sample_aspect_ratio"]))
        R.check("%s: progressive (field_order %s)" % (vlabel, f["field_order"]),
                f["field_order"] in (None, "progressive", "unknown"), repr(f["field_order"]))
        R.check("%s: no display matrix (pixels are upright)" % vlabel,
                not any("Display Matrix" in (s or "") for s in f["side_data"]), repr(f))
        fr = f["r_frame_rate"] or "0/1"
        n, d = (int(x) for x in fr.split("/"))
        # Every picture starts and ends on the output's frame grid and lasts one frame, also
        # where a picture repeats unchanged (exp "repeats"; the server has repeats = once).
        frames = [x * exp["fps"] / f["time_base_den"] for x in f["pts_steps"]]
        on_grid = bool(frames) and all(abs(x - round(x)) < 0.01 and round(x) >= 1
                                       for x in frames)
        runs = [round(x) for x in frames if on_grid]
        R.check("%s: %.3f fps (r_frame_rate %s, FRAME-RATE %s); each picture lasts %s frames" %
                (vlabel, exp["fps"], fr, a.get("FRAME-RATE"), runs),
                d and abs(n / d - exp["fps"]) < 0.01 and on_grid and
                abs(float(a.get("FRAME-RATE") or 0) - exp["fps"]) < 0.01 and runs == [1], repr(f))
        if exp.get("repeats"):
            # From the third GOP on, a picture held to the end of its GOP is not encoded again:
            # skipped pictures of a few bytes (docs/internals/media.md, "Repeated pictures").
            tiny = sum(1 for _, _, size in e2e.mp4_samples(path) if size <= SKIPPED_BYTES)
            R.check("%s: the repeats are skipped pictures (%d samples of %d bytes or less)" %
                    (vlabel, tiny, SKIPPED_BYTES), tiny >= exp["fps"], "")
        # A browser's Media Source buffer holds each sample from its presentation time for
        # its duration: a hole stalls the playback there (a picture stored once for a run must
        # last the run, not one frame).
        samples = e2e.sample_spans(path)
        holes = e2e.span_holes(samples)
        R.check("%s: the %d samples cover their time without a hole %s" %
                (vlabel, len(samples), holes[:3]), samples and not holes, "")
        if name == "interlaced.mp4":
            det = idet(path)
            R.note("%s: idet TFF/BFF/progressive %s" % (vlabel, det))
            R.check("%s: ffmpeg idet sees progressive frames, not woven fields" % vlabel,
                    det is not None and det[2] > 4 * (det[0] + det[1]), repr(det))
        R.check("%s: names its colour matrix (%s); players guess by the rung's height "
                "otherwise" % (vlabel, f["color_space"]),
                f["color_space"] not in (None, "unknown", "reserved"), repr(f))
        if exp.get("transparent_left"):
            left, right = half_averages(path, True), half_averages(path, False)
            R.check("%s: the transparent left half is black (Y, U, V averages %s), the right "
                    "half has its picture (%s)" % (vlabel, left, right),
                    left is not None and right is not None and left[0] < 20 and
                    abs(left[1] - 128) < 3 and abs(left[2] - 128) < 3 and right[0] > 40, "")
        if exp.get("bt709"):
            R.check("%s: tagged SDR BT.709 (transfer %s, primaries %s, matrix %s)" %
                    (vlabel, f["color_transfer"], f["color_primaries"], f["color_space"]),
                    (f["color_transfer"], f["color_primaries"], f["color_space"]) ==
                    ("bt709", "bt709", "bt709"), repr(f))
        if exp.get("looks_like"):
            ref, least, turn = (exp["looks_like"] + (None,))[:3]
            # An RGB original is compared as a player shows the rung: made YUV with the matrix
            # the rung is tagged with.
            matrix = "bt709" if f["color_space"] == "bt709" and \
                is_rgb(os.path.join(c.media_dir, ref)) else None
            q = psnr(path, os.path.join(c.media_dir, ref), renumber=True, size=size, turn=turn,
                     matrix=matrix)
            R.check("%s: looks like its limited-range SDR original %s (PSNR %s dB > %.0f)" %
                    (vlabel, ref, q, least), q is not None and q > least, "")
            R.check("%s: limited range (color_range %s)" % (vlabel, f["color_range"]),
                    f["color_range"] in (None, "tv", "unknown"), repr(f))
        for part in exp.get("parts", []):
            first, count, ref, least, ref_first = (part + (0,))[:5]
            q = psnr(path, os.path.join(c.media_dir, ref), renumber=True, size=size,
                     frames=(first, count), ref_first=ref_first)
            R.check("%s: frames %d-%d look like %s's %d-%d (PSNR %s dB > %.0f)" %
                    (vlabel, first, first + count - 1, ref, ref_first, ref_first + count - 1,
                     q, least), q is not None and q > least, "")
        for first, count, ref, least, ref_frame in exp.get("held", []):
            q = psnr(path, os.path.join(c.media_dir, ref), renumber=True, size=size,
                     frames=(first, count), ref_first=ref_frame, hold=True, worst=True)
            R.check("%s: frames %d-%d hold %s's frame %d (worst PSNR %s dB > %.0f)" %
                    (vlabel, first, first + count - 1, ref, ref_frame, q, least),
                    q is not None and q > least, "")
        if name == "rotated.mp4":
            # ffmpeg turns the source upright by its display matrix: the same picture.
            q = psnr(path, os.path.join(c.media_dir, name))
            R.note("%s: PSNR against the source turned upright by ffmpeg: %s dB" % (vlabel, q))
            R.check("%s: upright like the source shows (PSNR %s dB > 30)" % (vlabel, q),
                    q is not None and q > 30, "")
    R.check("%s: rungs %s" % (label, exp["sizes"]), sorted(sizes) == sorted(exp["sizes"]),
            repr(sizes))
    if audio:
        path = os.path.join(c.tmp, "%s-a.mp4" % name)
        pl = download_rendition(label + " audio", urllib.parse.urljoin(master, audio[0]["URI"]),
                                path)
        if pl:
            # A player's timeline is the playlists': one stopping early stalls or ends the
            # playback there. The sound may run on by its two-frame lead and the rest of an
            # AAC frame (about 0.09 s at 30 fps).
            span = playlist_span(pl)
            R.check("%s: the sound's playlist (%.3f s) and every rung's (%s) cover the same "
                    "time" % (label, span, ", ".join("%.3f" % x for x in spans)),
                    spans and all(abs(span - x) < 0.15 for x in spans), "")
            f, err = audio_facts(path)
            R.note("%s audio: %s" % (label, f))
            R.check("%s audio: AAC-LC stereo 48000 Hz" % label, f is not None and
                    (f["codec_name"], f["profile"], f["channels"], f["sample_rate"]) ==
                    ("aac", "LC", 2, "48000"), err or repr(f))
            if exp.get("clap"):
                seen = first_flash(os.path.join(c.tmp, "%s-v0.mp4" % name))
                heard = first_sound(path)
                R.check("%s: the clap is heard when it is seen (beep at %s s, white picture at "
                        "%s s)" % (label, heard, seen),
                        seen is not None and heard is not None and abs(heard - seen) < 0.05, "")
            if exp.get("beep_at") is not None:
                # Plus the two-frame shift of both tracks, 0.07 s.
                got = first_sound(path)
                R.check("%s audio: the beep starts at %s s, where the source has it (%s s)" %
                        (label, got, exp["beep_at"]),
                        got is not None and abs(got - exp["beep_at"] - 0.067) < 0.08, "")
            if exp.get("beep"):
                # The beep plays when the source plays it (plus the two-frame shift of both
                # tracks, 0.07 s), not earlier by the gap before it.
                want, got = first_sound(os.path.join(c.media_dir, name)), first_sound(path)
                R.check("%s audio: the beep starts at %s s as in the source (%s s)" %
                        (label, got, want), want is not None and got is not None and
                        abs(got - want) < 0.15, "")
    plays(label, master)


def check_audio(c, name, exp):
    label = name
    mid, m = c.ids[name], c.done[name]
    if not R.check("%s: status ready" % label, m.get("status") == "ready",
                   "status %r, error %r" % (m.get("status"), m.get("error"))):
        return
    length = exp.get("length", 3)
    R.check("%s: type audio, duration ~ %d s" % (label, length), m.get("type") == "audio" and
            abs((m.get("duration_s") or 0) - length) <= 0.5, "%r %r" % (m.get("type"),
                                                                        m.get("duration_s")))
    pb = get_playback(label, c.base, mid)
    master = pb.get("hls") or ""
    got = read_master(label, master)
    if not got:
        return
    media, variants = got
    R.check("%s: one variant, CODECS mp4a.40.2, no RESOLUTION" % label,
            len(variants) == 1 and variants[0][0].get("CODECS") == "mp4a.40.2" and
            "RESOLUTION" not in variants[0][0], repr(variants))
    if variants:
        path = os.path.join(c.tmp, "%s-a.mp4" % name)
        pl = download_rendition(label, urllib.parse.urljoin(master, variants[0][1]), path)
        if pl:
            # The tag makes players start a growing stream at its beginning, not three
            # segments before its end.
            R.check("%s: the playlist starts players at 0 (#EXT-X-START:TIME-OFFSET=0)" % label,
                    "#EXT-X-START:TIME-OFFSET=0" in pl["lines"],
                    "\n".join(l for l in pl["lines"] if l.startswith("#EXT-X-START")) or
                    "no EXT-X-START")
            f, err = audio_facts(path)
            R.note("%s: %s" % (label, f))
            R.check("%s: AAC-LC stereo 48000 Hz, ~ %d s" % (label, length), f is not None and
                    (f["codec_name"], f["profile"], f["channels"], f["sample_rate"]) ==
                    ("aac", "LC", 2, "48000") and abs(f["duration"] - length) < 0.3,
                    err or repr(f))
            if exp.get("beep_at") is not None:
                got = first_sound(path)
                R.check("%s: the beep starts at %s s, where the source has it (%s s)" %
                        (label, got, exp["beep_at"]),
                        got is not None and abs(got - exp["beep_at"]) < 0.08, "")
            if exp.get("levels"):
                got = channel_levels(path)
                R.check("%s: left and right at %s dB RMS (%s)" %
                        (label, exp["levels"], got), got is not None and len(got) == 2 and
                        all(abs(g - w) < 1 for g, w in zip(got, exp["levels"])), "")
    thumb = pb.get("thumbnail")
    if exp["cover"]:
        ok = R.check("%s: playback thumbnail is a URL (the cover art)" % label,
                     isinstance(thumb, str) and thumb.endswith("/poster.jpg"), repr(thumb))
        if ok:
            r = e2e.get_url(thumb)
            path = os.path.join(c.tmp, "%s-poster.jpg" % name)
            with open(path, "wb") as fp:
                fp.write(r.body)
            j, err = probe(path)
            st = (j or {}).get("streams", [{}])[0]
            R.note("%s poster: %s" % (label, {k: st.get(k) for k in ("codec_name", "width",
                                                                      "height")}))
            R.check("%s: GET thumbnail -> 200, a %dx%d JPEG" % ((label,) + exp["cover"]),
                    r.status == 200 and st.get("codec_name") == "mjpeg" and
                    (st.get("width"), st.get("height")) == exp["cover"], err or repr(st))
            if exp.get("cover_left_black"):
                left = half_averages(path, True)
                R.check("%s: the cover's transparent left half is black in the poster (Y, U, V "
                        "averages %s)" % (label, left), left is not None and left[0] < 8 and
                        abs(left[1] - 128) < 3 and abs(left[2] - 128) < 3, "")
    else:
        R.check("%s: no cover art -> playback thumbnail null" % label, thumb is None, repr(thumb))
    plays(label, master)


def check_broken(c, name, pattern):
    label = name
    if name not in c.ids:
        # Refused at upload already (an empty body): that answer must say why.
        r = c.refused.get(name)
        detail = ((r.json() or {}).get("detail") if r is not None else None) or ""
        R.check("%s: refused at upload with a problem saying why (%s)" % (label, pattern),
                r is not None and 400 <= r.status < 500 and re.search(pattern, detail, re.I),
                r.describe() if r is not None else "no answer")
        return
    mid, m = c.ids[name], c.done[name]
    err = m.get("error") or ""
    R.note("%s error: %r" % (label, err))
    R.check("%s: status failed" % label, m.get("status") == "failed", repr(m.get("status")))
    R.check("%s: the error says what is wrong (/%s/)" % (label, pattern),
            re.search(pattern, err, re.I) is not None, repr(err))
    R.check("%s: the error says what to do" % label,
            re.search(WHAT_TO_DO, err, re.I) is not None, repr(err))
    R.check("%s: no renditions" % label, not m.get("renditions"), repr(m.get("renditions")))
    r = e2e.request(c.base, "GET", "/api/v1/media/%s/playback" % mid)
    R.check("%s: GET playback -> 409" % label, r.status == 409, r.describe())
    left = e2e.media_files_for(c.data, mid)
    R.check("%s: nothing of it left in the data directory" % label, not left, repr(left[:10]))


class Ctx:
    pass


def scenario(kino_bin, tmp, media_dir):
    c = Ctx()
    c.tmp, c.media_dir = tmp, media_dir
    c.data = os.path.join(tmp, "data")
    # repeats = once, the setting that changes most what players get: a picture repeated
    # unchanged is stored once (the "repeats" inputs); the default encodes every frame.
    srv = e2e.Server(kino_bin, c.data, os.path.join(tmp, "server-inputs.log"), workers=2,
                     extra_env={"KINO_MAX_PIXELS": str(MAX_PIXELS),
                                "KINO_MAX_DURATION": str(MAX_DURATION),
                                "KINO_REPEATS": "once"})
    R.section("server (max-pixels %d, max-duration %d, repeats once from the environment)" %
              (MAX_PIXELS, MAX_DURATION))
    if not srv.start("inputs server"):
        srv.kill()
        return
    c.base = srv.base
    try:
        R.section("uploads")
        c.ids, c.refused, c.done = {}, {}, {}
        names = list(VIDEOS) + list(AUDIO) + list(BROKEN)
        for name in names:
            r = e2e.upload(c.base, os.path.join(media_dir, name), name)
            m = r.json() if r.status == 201 else None
            if isinstance(m, dict) and m.get("id"):
                c.ids[name] = m["id"]
                R.check("upload %s -> 201" % name, True)
            elif name in BROKEN:
                c.refused[name] = r
                R.note("upload %s refused: %s" % (name, r.describe()))
            else:
                R.check("upload %s -> 201" % name, False, r.describe())
        R.section("transcoding")
        t0 = time.monotonic()
        pollers = {n: e2e.Poller(c.base, n, mid) for n, mid in c.ids.items()}
        e2e.wait_all(list(pollers.values()))
        R.note("all done in %.1fs" % (time.monotonic() - t0))
        c.done = {n: p.media or {} for n, p in pollers.items()}
        for name, exp in VIDEOS.items():
            if name in c.ids:
                R.section(name)
                check_video(c, name, exp)
        for name, exp in AUDIO.items():
            if name in c.ids:
                R.section(name)
                check_audio(c, name, exp)
        for name, pattern in BROKEN.items():
            R.section(name)
            check_broken(c, name, pattern)
        r = e2e.request(c.base, "GET", "/health")
        R.check("after every input: GET /health -> 200", r.status == 200, r.describe())
    except Exception:
        R.check("inputs scenario ran without a test exception", False, traceback.format_exc())
    finally:
        R.section("shutdown")
        srv.stop("inputs server")
        e2e.check_log(srv, "inputs server")


def main():
    def body(tmp):
        kino_bin = e2e.prerequisites()
        if kino_bin:
            R.section("test media")
            media_dir = os.path.join(tmp, "media")
            t0 = time.monotonic()
            rc, _, err = sh(["sh", e2e.GENERATE, media_dir, "inputs"], timeout=300)
            if R.check("tests/media/generate.sh DIR inputs makes the clips (%.1fs)" %
                       (time.monotonic() - t0), rc == 0, err):
                scenario(kino_bin, tmp, media_dir)

    return e2e.run_in_tmp("kino-inputs-", body, log_lines=150)


if __name__ == "__main__":
    sys.exit(main())
