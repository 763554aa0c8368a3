#!/usr/bin/env python3
"""Mutation fuzzing of the media pipeline: damaged copies of real inputs through `kino transcode`.

The libFuzzer targets beside this file cover kino's own parsers; the files people upload are
parsed by FFmpeg and then by kino's pipeline (probe, decode, timelines, prep, thumbnails,
CMAF). This runner takes the clips of the inputs test (tests/media/generate.sh DIR inputs:
rotated, HDR, spliced, holes, RGB, alpha, audio-only...), damages one at a time (bit flips,
random regions, duplicated or cut ranges, truncation, extreme 32-bit values in the headers)
and runs `kino transcode` on it, best on the sanitizer build (build-test). What kino promises
for any file: it exits 0 with a whole ladder, or 1 with a message saying what is wrong and
nothing left in OUTDIR; no sanitizer report, no hang.

    tests/fuzz/media.py --kino build-test/kino --seconds 600 --seed 1
    tests/fuzz/media.py --kino build-test/kino --replay FINDS_DIR   # run the finds again

Finds (anything else) are kept in FINDS_DIR (default /tmp/kino-media-finds) with their
output; the summary lists how often each refusal message came, to read them for clarity.
Not part of `make test`: the outcome depends on the time given and on thread timing.
"""
import argparse
import collections
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Files the inputs test expects to be refused before they are parsed much, and the
# references that are not uploads: little for mutations to reach.
SKIP = {"empty.mp4", "random.mp4", "image.png", "cover.png", "cover_alpha.png"}
MAX_SEED_BYTES = 1500000
SANITIZERS = {"ASAN_OPTIONS": "exitcode=99:detect_leaks=1:abort_on_error=0",
              "UBSAN_OPTIONS": "halt_on_error=1:exitcode=98:print_stacktrace=1"}


def mutate(data, rnd):
    """A damaged copy of `data` and the name of the damage."""
    b = bytearray(data)
    n = len(b)
    kind = rnd.choice(["flip", "flip", "region", "duplicate", "cut", "truncate", "extreme"])
    if kind == "flip":
        for _ in range(rnd.randint(1, 60)):
            b[rnd.randrange(n)] ^= 1 << rnd.randrange(8)
    elif kind == "region":
        i = rnd.randrange(n)
        k = min(rnd.randint(1, 4096), n - i)
        b[i:i + k] = bytes(rnd.randrange(256) for _ in range(k))
    elif kind == "duplicate":
        i, j = rnd.randrange(n), rnd.randrange(n)
        b[j:j] = b[i:i + rnd.randint(1, 65536)]
    elif kind == "cut":
        i = rnd.randrange(n)
        del b[i:i + rnd.randint(1, 65536)]
    elif kind == "truncate":
        b = b[:rnd.randrange(n)]
    else:
        # Box sizes, counts and dimensions live in the first kilobytes.
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(max(1, min(n - 4, 8192)))
            v = rnd.choice([0, 1, 0x7fffffff, 0xffffffff, 0x80000000, 0xffff, 0x10000])
            b[i:i + 4] = v.to_bytes(4, "big")
    return bytes(b), kind


def run_kino(kino, path, out, timeout, repeats="every-frame"):
    """(outcome, message, output): outcome is ok, refused or a find's reason."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, **SANITIZERS)
    try:
        p = subprocess.run([kino, "transcode", "--repeats", repeats, path, out],
                           capture_output=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang (over %d s)" % timeout, "", ""
    err = p.stderr.decode("utf-8", "replace")
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if x264_leak_only(err):
        return "leak inside libx264", last, err
    if "Sanitizer" in err or "runtime error" in err:
        return "sanitizer report", last, err
    if p.returncode == 0:
        if not os.path.exists(os.path.join(out, "master.m3u8")):
            return "exit 0 without master.m3u8", last, err
        return "ok", "", err
    if p.returncode != 1:
        return "exit %d" % p.returncode, last, err
    if not last.startswith("kino transcode: ") or len(last) < len("kino transcode: ") + 10:
        return "exit 1 without a message", last, err
    if os.path.isdir(out) and os.listdir(out):
        return "failed, OUTDIR not empty", last, err
    return "refused", last[len("kino transcode: "):], err


def x264_leak_only(err):
    """Whether the sanitizers' only complaint is leaks whose every stack frame past the
    allocator is inside libx264: a frame that libx264 (core 164, Debian 12) now and then
    loses when its threads are closed, not reproducible with the same file (see
    docs/internals/testing.md). Anything else in kino's own code is a find."""
    if "LeakSanitizer" not in err or "runtime error" in err or \
            re.search(r"ERROR: AddressSanitizer: (?!.*leak)", err):
        return False
    blocks = re.split(r"\n(?=(?:Direct|Indirect) leak of )", err)[1:]
    for block in blocks:
        stack = [l for l in block.split("\n\n")[0].splitlines() if re.match(r"\s+#[0-9]+ ", l)]
        past_allocator = stack[1:]
        if not past_allocator or any("libx264.so" not in l for l in past_allocator):
            return False
    return bool(blocks)


def message_shape(msg):
    """A refusal message with its numbers and FFmpeg's reason blurred, to count alike ones."""
    msg = re.sub(r"\(([^()]*)\)$", "(...)", msg)
    msg = re.sub(r"(?<![\w.])[0-9]+x[0-9]+(?!\w)", "WxH", msg)
    return re.sub(r"(?<![\w.])[0-9]+(\.[0-9]+)?(?!\w)", "N", msg)


def seeds_from(media_dir):
    names = sorted(f for f in os.listdir(media_dir)
                   if f not in SKIP and os.path.getsize(os.path.join(media_dir, f)) <=
                   MAX_SEED_BYTES and not f.endswith("_ref.mp4") and "chart" not in f)
    return [os.path.join(media_dir, f) for f in names]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kino", default=os.path.join(REPO, "build-test", "kino"),
                    help="the kino binary (default build-test/kino: ASan + UBSan)")
    ap.add_argument("--seconds", type=float, default=300, help="how long to fuzz (300)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (1)")
    ap.add_argument("--media", help="seed clips (default: made with tests/media/generate.sh)")
    ap.add_argument("--finds", default="/tmp/kino-media-finds", help="where finds are kept")
    ap.add_argument("--timeout", type=int, default=180, help="seconds per file (180)")
    ap.add_argument("--replay", metavar="DIR", help="run the files in DIR again, no mutation")
    ap.add_argument("--repeats", choices=["every-frame", "once"], default="every-frame",
                    help="kino transcode --repeats (every-frame)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="kino-media-fuzz-")
    try:
        return replay(args, work) if args.replay else fuzz(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def replay(args, work):
    bad = 0
    for name in sorted(os.listdir(args.replay)):
        if name.endswith(".log"):
            continue
        outcome, msg, _ = run_kino(args.kino, os.path.join(args.replay, name),
                                   os.path.join(work, "out"), args.timeout, args.repeats)
        bad += outcome not in ("ok", "refused", "leak inside libx264")
        print("%-20s %s %s" % (outcome, name, msg))
    return 1 if bad else 0


def fuzz(args, work):
    media = args.media
    if not media:
        media = os.path.join(work, "media")
        subprocess.run(["sh", os.path.join(REPO, "tests", "media", "generate.sh"), media,
                        "inputs"], check=True, stdout=subprocess.DEVNULL)
    seeds = seeds_from(media)
    rnd = random.Random(args.seed)
    os.makedirs(args.finds, exist_ok=True)
    outcomes, messages = collections.Counter(), collections.Counter()
    examples = {}
    end, runs = time.monotonic() + args.seconds, 0
    while time.monotonic() < end:
        runs += 1
        seed = rnd.choice(seeds)
        with open(seed, "rb") as f:
            data, kind = mutate(f.read(), rnd)
        ext = os.path.splitext(seed)[1]
        path = os.path.join(work, "input" + ext)
        with open(path, "wb") as f:
            f.write(data)
        outcome, msg, err = run_kino(args.kino, path, os.path.join(work, "out"), args.timeout,
                                     args.repeats)
        outcomes[outcome] += 1
        if outcome == "refused":
            shape = message_shape(msg)
            messages[shape] += 1
            examples.setdefault(shape, "%s (%s)" % (os.path.basename(seed), kind))
        elif outcome != "ok":
            # Kept and listed like a find; the exit status counts only the others.
            name = os.path.join(args.finds, "%d-%d-%s-%s%s" % (
                args.seed, runs, os.path.basename(seed).replace(".", "_"), kind, ext))
            with open(name, "wb") as f:
                f.write(data)
            with open(name + ".log", "w") as f:
                f.write("%s\n%s" % (outcome, err[-20000:]))
            print("FIND %s: %s" % (outcome, name), flush=True)
        if runs % 100 == 0:
            print("%d files: %s" % (runs, dict(outcomes)), flush=True)
    print("\n%d damaged files from %d clips, seed %d: %s" % (runs, len(seeds), args.seed,
                                                            dict(outcomes)))
    print("refusals, by message:")
    for shape, count in messages.most_common():
        print("%6d  %s  [e.g. %s]" % (count, shape, examples[shape]))
    finds = sum(c for o, c in outcomes.items()
                if o not in ("ok", "refused", "leak inside libx264"))
    if finds:
        print("%d finds in %s" % (finds, args.finds))
    return 1 if finds else 0


if __name__ == "__main__":
    sys.exit(main())
