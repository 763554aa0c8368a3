/* SPDX-License-Identifier: MIT */
/*
 * Ladder computation: which renditions a source gets and at what size. Pure
 * arithmetic with no FFmpeg types, so it is unit-tested on its own. Private to
 * the media module.
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
 * Fill `out` (room for MEDIA_MAX_RUNGS) with the renditions for a source of
 * coded size `w`x`h` and sample aspect ratio `sar_num`:`sar_den` (0:x or x:0
 * means square), rotated by `rotation` degrees (0, 90, 180, 270) for display.
 * `rungs` is highest first. A rung is kept when its height is not above the
 * source's display short side (never upscale); a portrait source gets portrait
 * renditions. A source smaller than every rung gets one rendition at its own
 * display size, rounded down to even. Returns the number of entries; 0 when
 * the size is not positive.
 */
size_t ladder_compute(const struct media_rung *rungs, size_t n_rungs, int w, int h, int sar_num,
                      int sar_den, int rotation, struct ladder_entry *out);

#endif
