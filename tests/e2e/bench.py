#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The benchmark scripts a user runs (bench/README.md) run end to end.

bench/transcode and bench/playable are what issue 3's speed figures come from,
and a user is told to run them on their own machine. Nothing else exercises
them, so a change to one (bench/transcode's --still source) broke the other
unseen (bench/playable stopped with "'Namespace' object has no attribute
'still'"). Here each runs once on a 4 s source, with the kino under test
instead of a release build, and must exit 0 with the figures it promises:

- bench/transcode, every way (kino, the ffmpeg CLI per rendition in sequence
  and in parallel, the split filter): a wall and a CPU time for each, the
  ratio lines, and for every rung of each a PSNR against the source that says
  the same pictures came out (kino within 0.5 dB of the best ffmpeg way: a 4 s
  clip varies a little more from run to run than the 60 s source's 0.01 dB);
- bench/playable, with the moving source and with --still: a number of
  seconds to "playable".

No timing is asserted: these machines are shared and the kino under test is a
sanitizer build.

    KINO_BIN=./build/kino python3 tests/e2e/bench.py

Prints one line per check, ends with `N passed, N failed`, exits non-zero when
a check failed. KINO_E2E_KEEP=1 keeps the temporary directory.
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as e2e  # noqa: E402  (the main e2e test's helpers)

R = e2e.R
REPO = os.path.dirname(os.path.dirname(HERE))
SECONDS = "4"
RUNGS = ["1080p", "720p", "480p", "360p"]
WAYS = ["kino", "seq", "par", "split"]  # bench/transcode's, kino first


def bench(name, *args, timeout=600):
    return subprocess.run([sys.executable, os.path.join(REPO, "bench", name), *args],
                          capture_output=True, text=True, timeout=timeout)


def tail(p, n=3000):
    return ("exit %d\n" % p.returncode) + (p.stdout + p.stderr)[-n:]


def check_transcode(kino_bin, tmp):
    R.section("bench/transcode")
    figures = os.path.join(tmp, "transcode.json")
    p = bench("transcode", "--kino", kino_bin, "--seconds", SECONDS, "--runs", "1",
              "--cache", os.path.join(tmp, "cache"), "--json", figures)
    if not R.check("bench/transcode exits 0", p.returncode == 0, tail(p)):
        return
    for way in WAYS[1:]:
        R.check("it prints the ratios of kino to %s" % way,
                re.search(r"kino / %s *: wall [0-9.]+x, CPU [0-9.]+x" % way, p.stdout) is not None,
                tail(p))
    with open(figures) as f:
        runs = json.load(f).get("runs", {})
    for way in WAYS:
        run = (runs.get(way) or [{}])[0]
        R.check("%s: a wall and a CPU time (%r s, %r s)" % (way, run.get("wall"), run.get("cpu")),
                (run.get("wall") or 0) > 0 and (run.get("cpu") or 0) > 0, json.dumps(run)[:2000])
        quality = run.get("quality") or {}
        R.check("%s: a PSNR and a bitrate for every rung (%s)" % (
                    way, ", ".join("%s %s dB" % (r, (quality.get(r) or {}).get("psnr"))
                                   for r in RUNGS)),
                all((quality.get(r) or {}).get("psnr", 0) > 30 and
                    (quality.get(r) or {}).get("kbps", 0) > 0 for r in RUNGS),
                json.dumps(quality))
    def psnr(way, rung):
        return (((runs.get(way) or [{}])[0].get("quality") or {}).get(rung) or {}).get("psnr", 0)
    worst = min(psnr("kino", r) - max(psnr(w, r) for w in WAYS[1:]) for r in RUNGS)
    R.check("kino's rungs are the ffmpeg ways' pictures (worst %+.2f dB)" % worst,
            worst > -0.5, json.dumps(runs)[:4000])


def check_playable(kino_bin, tmp, still):
    source = "the still source" if still else "the moving source"
    R.section("bench/playable, %s" % source)
    p = bench("playable", "--kino", kino_bin, "--seconds", SECONDS, "--runs", "1", "--no-wait",
              "--cache", os.path.join(tmp, "cache"), *(["--still"] if still else []))
    if not R.check("bench/playable%s exits 0" % (" --still" if still else ""), p.returncode == 0,
                   tail(p)):
        return
    m = re.search(r"median: playable ([0-9.]+) s", p.stdout)
    R.check("it says how soon %s was playable (%s s)" % (source, m.group(1) if m else "-"),
            m is not None, tail(p))


def main():
    def body(tmp):
        kino_bin = e2e.prerequisites()
        if kino_bin:
            check_transcode(kino_bin, tmp)
            check_playable(kino_bin, tmp, still=False)
            check_playable(kino_bin, tmp, still=True)

    return e2e.run_in_tmp("kino-bench-", body)


if __name__ == "__main__":
    sys.exit(main())
