#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end test of `kino transcode IN OUTDIR`, the offline pipeline a user
runs to try encoder settings (and that bench/transcode times).

Makes one grainy 640x360 clip with sound (hard to compress, so the rate-control
modes differ visibly), transcodes it with each `--rate-control` mode and checks
what a user would see: the JSON summary on stdout, the files of the ladder, the
encoder settings x264 records in the stream, and the bitrate the 360p rung
really carries (capped CRF stays within what the rung's 800 kbit/s cap and its
buffer allow, CRF alone goes far above it, CBR lands on it). A still picture
as a video is encoded on every frame by default (`--repeats every-frame`) and stored
once per GOP with `--repeats once`, no bigger, without a hole in either. Bad options
exit 1 and say what is accepted. Then `kino serve --rate-control crf --crf 35
--repeats once` transcodes uploads of the same clips with those settings.

    KINO_BIN=./build/kino python3 tests/e2e/transcode.py

Prints one line per check, ends with `N passed, N failed`, exits non-zero when
a check failed. KINO_E2E_KEEP=1 keeps the temporary directory.
"""

import json
import os
import re
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as e2e  # noqa: E402  (the main e2e test's helpers)

R = e2e.R
SECONDS = 8
RUNG_KBPS = 800  # the ladder's 360p rung (media_options_init)


def kino(kino_bin, *args, timeout=300):
    return subprocess.run([kino_bin, "transcode", *args], capture_output=True, text=True,
                          timeout=timeout)


def make_clip(path):
    """640x360 30 fps with moving patterns and strong grain that changes every frame
    (CRF 23 wants well above 800 kbit/s for it), stereo tones; stored near-losslessly so
    the source is not the limit."""
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=%d" % SECONDS,
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=%d" % SECONDS,
         "-vf", "noise=alls=30:allf=t+u", "-c:v", "libx264", "-preset", "ultrafast",
         "-crf", "12", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-shortest", path],
        capture_output=True, text=True, timeout=300)


STILL_SECONDS = 30
SKIPPED_BYTES = 16  # at most, a skipped 640x360 picture with its length field
SKIPPED = (STILL_SECONDS // 2 - 2) * 49  # GOPs 3-15: an IDR and 49 skipped pictures each


def make_still(path):
    """A grainy still image as a 30 s 25 fps 640x360 video with sound, every frame coded, as
    "still image + audio" exports make them (a podcast episode with its cover)."""
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=%d" % STILL_SECONDS,
         "-f", "lavfi", "-i",
         "sine=frequency=440:sample_rate=48000:duration=%d" % STILL_SECONDS,
         "-vf", "noise=alls=30:allf=t+u,select='eq(n,0)',loop=loop=%d:size=1,setpts=N/25/TB"
         % (25 * STILL_SECONDS - 1),
         "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-ac", "2", path], capture_output=True, text=True, timeout=300)


def rung_file(rung_dir):
    """A rung folder (init.mp4 + N.m4s) as one file beside it, as a player reads it."""
    segs = sorted((f for f in os.listdir(rung_dir) if f.endswith(".m4s")),
                  key=lambda f: int(f.split(".")[0]))
    path = rung_dir + ".mp4"
    with open(path, "wb") as out:
        for f in ["init.mp4"] + segs:
            with open(os.path.join(rung_dir, f), "rb") as part:
                out.write(part.read())
    return path


def rung_samples(rung_dir):
    """[(start, end)] of each video sample of a rung folder."""
    return e2e.sample_spans(rung_file(rung_dir))


def rung_tiny_samples(rung_dir):
    """How many video samples of a rung folder take SKIPPED_BYTES or less."""
    return sum(1 for _, _, size in e2e.mp4_samples(rung_file(rung_dir)) if size <= SKIPPED_BYTES)


def check_repeats(kino_bin, tmp):
    """By default (every-frame) all 750 frames of a still are encoded; --repeats once
    stores the picture once per run; both cover the 30 s without a hole, and the second is
    no bigger."""
    still = os.path.join(tmp, "still.mp4")
    p = make_still(still)
    if not R.check("ffmpeg makes the still test clip", p.returncode == 0, p.stderr):
        return
    frames = 25 * STILL_SECONDS
    size = {}
    for args, label in [([], "default (every-frame)"), (["--repeats", "once"], "once")]:
        out = os.path.join(tmp, "still-" + label.split()[0])
        p = kino(kino_bin, *args, still, out)
        if not R.check("--repeats %s: exit 0" % label, p.returncode == 0, p.stderr[-2000:]):
            continue
        rung = os.path.join(out, "360p")
        samples = rung_samples(rung)
        size[label] = sum(os.path.getsize(os.path.join(rung, f)) for f in os.listdir(rung)
                          if f.endswith(".m4s"))
        holes = e2e.span_holes(samples)
        # The track's timescale is 512 ticks a frame at 25 fps (12800).
        span = (max(e for _, e in samples) - min(s for s, _ in samples)) / 512 if samples else 0
        R.check("--repeats %s: the 360p rung covers %d frames (%.0f) without a hole %s" %
                (label, frames, span, holes[:3]), samples and not holes and span == frames, "")
        R.check("--repeats %s: one sample per frame (%d of %d)" %
                (label, len(samples), frames), len(samples) == frames, "")
        if label == "once":
            # The first two GOPs whole (100 frames), then an IDR per 2 s GOP and 49 skipped
            # pictures of a few bytes after it, written without the encoder.
            tiny = rung_tiny_samples(rung)
            R.check("--repeats once: after the first two GOPs the still is encoded once per GOP "
                    "(%d samples of %d bytes or less, %d expected)" %
                    (tiny, SKIPPED_BYTES, SKIPPED), SKIPPED <= tiny <= frames, "")
    # x264 gives a picture more bits the longer it stays on screen: without the QP offset on
    # the IDRs of a run (pipeline.c, REPEAT_IDR_QP_OFFSET) this still came out 1.17 times
    # the size of every frame encoded.
    if len(size) == 2:
        once, every = size["once"], size["default (every-frame)"]
        R.check("the still stored once is no bigger than every frame encoded, within 5 %% "
                "(%d against %d bytes)" % (once, every), 0 < once <= 1.05 * every, "")


def x264_options(segment_path):
    """The settings string x264 writes into the stream (an SEI in the first segment)."""
    with open(segment_path, "rb") as f:
        return x264_options_in(f.read())


def x264_options_in(data):
    m = re.search(rb"x264 - core \d+.*? options: ([^\x00\x80]*)", data, re.S)
    return m.group(1).decode("ascii", "replace").split() if m else []


def video_kbps(rung_dir):
    """What the rung's segments carry, kbit/s, measured with ffprobe over the whole stream."""
    names = sorted((n for n in os.listdir(rung_dir) if n.endswith(".m4s")),
                   key=lambda n: int(n.split(".")[0]))
    joined = os.path.join(rung_dir, "joined.mp4")
    with open(joined, "wb") as out:
        for n in ["init.mp4"] + names:
            with open(os.path.join(rung_dir, n), "rb") as f:
                out.write(f.read())
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "packet=size,duration_time", "-of", "json", joined],
                       capture_output=True, text=True, timeout=120)
    packets = json.loads(p.stdout or "{}").get("packets", [])
    size = sum(int(pk["size"]) for pk in packets)
    duration = sum(float(pk.get("duration_time", 0)) for pk in packets)
    return size * 8 / 1000 / duration if duration > 0 else 0


def check_mode(kino_bin, tmp, clip, mode, extra=()):
    out = os.path.join(tmp, "-".join(["out", mode] + [x.strip("-") for x in extra]))
    args = ([] if mode == "default" else ["--rate-control", mode]) + list(extra)
    p = kino(kino_bin, *args, clip, out)
    label = "kino transcode %s" % (" ".join(args) or "(defaults)")
    if not R.check("%s exits 0" % label, p.returncode == 0, p.stderr[-2000:]):
        return None
    try:
        summary = json.loads(p.stdout)
    except ValueError as e:
        R.check("%s prints a JSON summary" % label, False, "%s: %s" % (e, p.stdout[-500:]))
        return None
    names = [r["name"] for r in summary.get("renditions", [])]
    R.check("%s: the summary lists the 360p rung and the audio" % label,
            summary.get("type") == "video" and names == ["360p", "audio"] and
            summary.get("width") == 640 and summary.get("height") == 360, summary)
    files = ["master.m3u8", "manifest.mpd", "poster.jpg", "360p/init.mp4", "360p/1.m4s",
             "360p/index.m3u8", "audio/init.mp4"]
    missing = [f for f in files if not os.path.exists(os.path.join(out, f))]
    R.check("%s writes the ladder, HLS, DASH and the poster" % label, not missing,
            "missing: %s" % missing)
    opts = x264_options(os.path.join(out, "360p", "1.m4s"))
    R.check("%s: x264's settings are in the stream" % label, opts, "no x264 SEI in 360p/1.m4s")
    kbps = video_kbps(os.path.join(out, "360p"))
    R.note("%s: 360p carries %.0f kbit/s; x264: %s" %
           (label, kbps, " ".join(o for o in opts if re.match(r"(rc|crf|bitrate|vbv_\w+)=", o))))
    return opts, kbps


def main():
    def body(tmp):
        kino_bin = e2e.prerequisites()
        if kino_bin:
            scenario(kino_bin, tmp)

    return e2e.run_in_tmp("kino-transcode-", body)


def tree(path):
    """Every file and folder under `path`, relative to it; None when it does not exist."""
    if not os.path.isdir(path):
        return None
    return sorted(os.path.relpath(os.path.join(d, n), path)
                  for d, dirs, files in os.walk(path) for n in dirs + files)


def check_out_dir(kino_bin, tmp, clip):
    """OUTDIR holds a whole ladder or nothing: failures and Ctrl-C leave nothing behind."""
    R.section("OUTDIR: a whole ladder or nothing")
    # Cut in half with its index in front: kino writes segments for 4 s before it finds out.
    whole = os.path.join(tmp, "faststart.mp4")
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", clip,
                        "-c", "copy", "-movflags", "+faststart", whole],
                       capture_output=True, text=True, timeout=120)
    if not R.check("ffmpeg remuxes the clip with its index first", p.returncode == 0, p.stderr):
        return
    half = os.path.join(tmp, "half.mp4")
    with open(whole, "rb") as f, open(half, "wb") as g:
        g.write(f.read()[:os.path.getsize(whole) // 2])

    out = os.path.join(tmp, "out-half")
    p = kino(kino_bin, half, out)
    R.check("a file cut in half fails, saying it is incomplete (exit %d)" % p.returncode,
            p.returncode == 1 and "incomplete" in p.stderr, p.stderr[-1000:])
    R.check("... and the OUTDIR it created is gone", tree(out) is None, tree(out))

    os.makedirs(out)
    p = kino(kino_bin, half, out)
    R.check("into an empty OUTDIR: it fails (exit %d) and leaves it empty" % p.returncode,
            p.returncode == 1 and tree(out) == [], tree(out))

    mine = os.path.join(out, "notes.txt")
    with open(mine, "w") as f:
        f.write("mine\n")
    p = kino(kino_bin, whole, out)
    R.check("a non-empty OUTDIR is refused, saying so (exit %d)" % p.returncode,
            p.returncode == 1 and "is not empty" in p.stderr and "OUTDIR" in p.stderr,
            p.stderr[-1000:])
    with open(mine) as f:
        kept = f.read()
    R.check("... and what was in it is untouched, nothing added",
            tree(out) == ["notes.txt"] and kept == "mine\n", tree(out))

    not_a_dir = os.path.join(tmp, "a-file")
    with open(not_a_dir, "w") as f:
        f.write("not a folder\n")
    p = kino(kino_bin, whole, not_a_dir)
    R.check("an OUTDIR that is a file is refused, saying why (exit %d)" % p.returncode,
            p.returncode == 1 and "cannot use %s as OUTDIR: Not a directory" % not_a_dir
            in p.stderr, p.stderr[-1000:])

    # Ctrl-C once the transcode is under way (its first progress line).
    out = os.path.join(tmp, "out-interrupted")
    proc = subprocess.Popen([kino_bin, "transcode", whole, out], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    err = first + proc.stderr.read()
    proc.stdout.read()
    rc = proc.wait(timeout=120)
    R.check("Ctrl-C during a transcode exits 130 and says nothing was kept (exit %d)" % rc,
            rc == 130 and "interrupted; nothing was kept" in err, err[-1000:])
    R.check("... and leaves no OUTDIR", tree(out) is None, tree(out))


def check_progress_without_duration(kino_bin, tmp):
    """A WebM recorded live in a browser declares no duration: progress still moves."""
    R.section("progress of a file that declares no duration")
    live = os.path.join(tmp, "live.webm")
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=4",
                        "-f", "lavfi", "-i", "sine=duration=4", "-c:v", "libvpx",
                        "-deadline", "realtime", "-b:v", "500k", "-c:a", "libopus",
                        "-f", "webm", "-live", "1", live],
                       capture_output=True, text=True, timeout=120)
    if not R.check("ffmpeg records a live WebM (no duration in it)", p.returncode == 0, p.stderr):
        return
    p = kino(kino_bin, live, os.path.join(tmp, "out-live"))
    steps = re.findall(r"transcode: (\d+)%", p.stderr)
    # It went from 0 % straight to 100 % at the end before.
    R.check("kino transcode reports progress between 0 and 100 %% (%s)" % ", ".join(steps),
            p.returncode == 0 and len([s for s in steps if 0 < int(s) < 100]) >= 5,
            p.stderr[-1000:])


def scenario(kino_bin, tmp):
    R.section("help and bad options")
    p = kino(kino_bin, "--help")
    R.check("--help exits 0 and lists --preset, --crf, --rate-control and --repeats with "
            "their modes",
            p.returncode == 0 and all(s in p.stdout for s in
                                      ("--preset", "--crf", "--rate-control", "capped-crf",
                                       "cbr", "--repeats", "every-frame")), p.stdout)
    clip = os.path.join(tmp, "grain.mp4")
    p = make_clip(clip)
    if not R.check("ffmpeg makes the grainy test clip", p.returncode == 0, p.stderr):
        return
    for args, pattern, what in [
        (["--rate-control", "abr", clip, tmp + "/x"], r"capped-crf, crf or cbr",
         "an unknown --rate-control names the modes"),
        (["--rate-control"], r"capped-crf, crf or cbr", "--rate-control without a value"),
        (["--crf", "60", clip, tmp + "/x"], r"--crf needs a number from 0 to 51",
         "--crf out of range"),
        (["--preset", "veryfats", clip, tmp + "/x"], r'preset "veryfats"',
         "an unknown --preset is named in the error"),
        (["--repeats", "never", clip, tmp + "/x"], r"--repeats needs once or every-frame",
         "an unknown --repeats names the modes"),
        (["--bogus", clip, tmp + "/x"], r"unknown option '--bogus'", "an unknown option"),
    ]:
        p = kino(kino_bin, *args)
        R.check("%s (exit %d)" % (what, p.returncode),
                p.returncode != 0 and re.search(pattern, p.stderr), p.stderr[-1000:])

    check_out_dir(kino_bin, tmp, clip)
    check_progress_without_duration(kino_bin, tmp)

    R.section("rate control")
    default = check_mode(kino_bin, tmp, clip, "default")
    capped = check_mode(kino_bin, tmp, clip, "capped-crf")
    crf = check_mode(kino_bin, tmp, clip, "crf")
    cbr = check_mode(kino_bin, tmp, clip, "cbr")
    low = check_mode(kino_bin, tmp, clip, "crf", ["--crf", "35"])
    if not all((default, capped, crf, cbr, low)):
        return
    cap = ["vbv_maxrate=%d" % RUNG_KBPS, "vbv_bufsize=%d" % (2 * RUNG_KBPS)]
    R.check("the default is capped CRF 23 at the rung's bitrate",
            all(o in default[0] for o in ["rc=crf", "crf=23.0"] + cap), default[0])
    R.check("capped-crf: CRF 23, VBV maxrate = the rung's 800k, buffer 2x",
            all(o in capped[0] for o in ["rc=crf", "crf=23.0"] + cap), capped[0])
    R.check("crf: CRF 23 and no VBV cap",
            "rc=crf" in crf[0] and "crf=23.0" in crf[0] and
            not any(o.startswith("vbv_maxrate") for o in crf[0]), crf[0])
    # x264 names a bitrate equal to its VBV maxrate "cbr".
    R.check("cbr: bitrate = VBV maxrate = the rung's 800k, no CRF",
            all(o in cbr[0] for o in ["rc=cbr", "bitrate=%d" % RUNG_KBPS] + cap) and
            not any(o.startswith("crf=") for o in cbr[0]), cbr[0])
    R.check("--crf 35 reaches x264", "crf=35.0" in low[0], low[0])
    # What the modes are for, in the bitrate a viewer downloads. The grain makes CRF 23 want
    # several times 800 kbit/s. VBV lets a capped stream spend, over its whole length, at most
    # the cap's rate plus the buffer it starts with (x264 starts it 90 % full): on 8 s,
    # 800 + 0.9 x 1600 / 8 = 980 kbit/s.
    vbv_bound = RUNG_KBPS + 0.9 * 2 * RUNG_KBPS / SECONDS
    R.check("crf alone goes far above the rung on grain (%.0f kbit/s > 2 x 800)" % crf[1],
            crf[1] > 2 * RUNG_KBPS, crf[1])
    R.check("capped-crf stays within the cap and its buffer (%.0f <= %.0f kbit/s)" %
            (capped[1], vbv_bound), 0 < capped[1] <= vbv_bound, capped[1])
    R.check("cbr lands on the rung (%.0f kbit/s within 10 %% of 800)" % cbr[1],
            abs(cbr[1] - RUNG_KBPS) <= 0.1 * RUNG_KBPS, cbr[1])
    R.check("a higher --crf makes a smaller stream (%.0f < %.0f kbit/s)" % (low[1], crf[1]),
            0 < low[1] < crf[1], (low[1], crf[1]))

    R.section("repeated pictures")
    check_repeats(kino_bin, tmp)

    R.section("kino serve --rate-control crf --crf 35 --repeats once")
    srv = e2e.Server(kino_bin, os.path.join(tmp, "data"), os.path.join(tmp, "server.log"),
                     workers=1, extra_args=["--rate-control", "crf", "--crf", "35",
                                            "--repeats", "once"])
    if not srv.start("server"):
        srv.kill()
        return
    try:
        r = e2e.upload(srv.base, clip, "grain")
        m = r.json() if r.status == 201 else None
        if not R.check("upload -> 201", isinstance(m, dict) and m.get("id"), r.describe()):
            return
        poller = e2e.Poller(srv.base, "grain", m["id"])
        e2e.wait_all([poller])
        r = e2e.get_url(srv.base + "/media/%s/360p/1.m4s" % m["id"])
        opts = x264_options_in(r.body) if r.status == 200 else []
        R.check("the server's 360p segment was encoded with CRF 35 and no cap",
                "rc=crf" in opts and "crf=35.0" in opts and
                not any(o.startswith("vbv_maxrate") for o in opts), r.describe())
        r = e2e.upload(srv.base, os.path.join(tmp, "still.mp4"), "still")
        m = r.json() if r.status == 201 else None
        if not R.check("upload of the still -> 201", isinstance(m, dict) and m.get("id"),
                       r.describe()):
            return
        e2e.wait_all([e2e.Poller(srv.base, "still", m["id"])])
        base = srv.base + "/media/%s/360p/" % m["id"]
        r = e2e.get_url(base + "index.m3u8")
        pl = e2e.parse_media_playlist(r.body.decode()) if r.status == 200 else None
        parts = [e2e.get_url(base + u) for u in ([pl["map"]] + [u for _, u in pl["segments"]]
                                                 if pl else [])]
        path = os.path.join(tmp, "served-still.mp4")
        with open(path, "wb") as f:
            f.write(b"".join(x.body for x in parts if x.status == 200))
        samples = e2e.mp4_samples(path) if parts else []
        tiny = sum(1 for _, _, size in samples if size <= SKIPPED_BYTES)
        R.check("the server encoded the still once per GOP (%d samples for %d frames, %d of "
                "them skipped pictures)" % (len(samples), 25 * STILL_SECONDS, tiny),
                len(samples) == 25 * STILL_SECONDS and tiny >= SKIPPED, r.describe())
    finally:
        srv.stop("server")
        e2e.check_log(srv, "server")


if __name__ == "__main__":
    sys.exit(main())
