/* SPDX-License-Identifier: MIT */
/*
 * Ladder computation: which renditions a source gets, at what size and frame
 * rate. Pure arithmetic with no FFmpeg types, so it is unit-tested on its own.
 * Private to the media module.
 */
#ifndef KINO_MEDIA_LADDER_H
#define KINO_MEDIA_LADDER_H

#include <stddef.h>

#include "media/media.h"

/* One rendition to produce: even dimensions in output pixels (square pixels). */
struct ladder_entry {
    char name[16];    /* "720p": named by the short side */
    int width, height;
    int bitrate_kbps; /* VBV maxrate */
};

/*
 * The longest side a rendition may have. x264 stops at 16384; decoders and
 * players at less: H.264 levels 5.1 and 5.2, the highest most devices decode,
 * allow 8688 pixels on a side, and 8192 is what browsers' and phones' decoders
 * are built for. It only binds for pictures more than 7.6 times wider than tall.
 */
#define LADDER_MAX_SIDE 8192

/*
 * Whether a sample aspect ratio num:den is honoured: given (both positive) and
 * within 1:4 to 4:1. Real pixel shapes lie well inside (PAL widescreen 64:45,
 * HDV 4:3, anamorphic lenses 2:1); a stream claiming 1000:1 is broken, and
 * honouring it would make rungs a thousand times wider than the source (a
 * 320000x180 rung from 320x180) or, rounded, zero pixels wide. Any other is
 * taken as square.
 */
int ladder_sar_usable(int num, int den);

/*
 * Fill `out` (room for MEDIA_MAX_RUNGS) with the renditions for a source of
 * coded size `w`x`h` and sample aspect ratio `sar_num`:`sar_den` (square when
 * not ladder_sar_usable()), rotated by `rotation` degrees (0, 90, 180, 270) for display.
 * `rungs` is highest first. A rung is kept when its height is not above the
 * source's display short side (never upscale) and its long side is at most
 * LADDER_MAX_SIDE; a portrait source gets portrait renditions. A source smaller
 * than every rung gets one rendition at its own display size, rounded down to
 * even. Returns the number of entries; 0 when the size is not positive, or when
 * no rendition fits LADDER_MAX_SIDE (a picture of too extreme a shape).
 */
size_t ladder_compute(const struct media_rung *rungs, size_t n_rungs, int w, int h, int sar_num,
                      int sar_den, int rotation, struct ladder_entry *out);

#define LADDER_MAX_FPS 60

/*
 * The constant output frame rate for a source whose container claims an
 * average rate `avg_num`/`avg_den` and a base rate `r_num`/`r_den` (FFmpeg's
 * avg_frame_rate and r_frame_rate; 0 or negative parts mean unknown). The
 * source rate is the base rate when the average is within 1 % of it, else the
 * average snapped to a common rate when within 1 % (phone video is
 * variable-rate around 30 or 29.97), else the base rate when it is a common
 * capture rate (24 ... 240, 29.97 ...: a screen recording that sends frames
 * only when the screen changes averages 8 fps at a base of 30 and still
 * scrolls at 30), else the base rate when plausible (at most twice the average:
 * a finer value is a timestamp grid, not a capture rate), else the rounded
 * average, else 25. That rate is kept up to
 * LADDER_MAX_FPS and halved while above it: 120 -> 60, 100 -> 50, 50 -> 50,
 * 119.88 -> 59.94. The result is written reduced to `ret_num`/`ret_den`.
 */
void ladder_frame_rate(int avg_num, int avg_den, int r_num, int r_den, int *ret_num,
                       int *ret_den);

#endif
