/* SPDX-License-Identifier: MIT */
/*
 * The ladder: from a source's coded size, sample aspect ratio and rotation to
 * the list of output sizes. Every rendition keeps the display aspect ratio with
 * square pixels, so players never see a stray SAR (641:640 and the like).
 */
#include <math.h>
#include <stdio.h>

#include "media/ladder.h"
#include "core/banned.h"

/* Nearest even integer, at least 2: H.264 4:2:0 needs even dimensions. */
static int round_even(double x)
{
    long v = 2 * lround(x / 2.0);
    return v < 2 ? 2 : (int)v;
}

static int floor_even(double x)
{
    long v = (long)floor(x) & ~1L;
    return v < 2 ? 2 : (int)v;
}

size_t ladder_compute(const struct media_rung *rungs, size_t n_rungs, int w, int h, int sar_num,
                      int sar_den, int rotation, struct ladder_entry *out)
{
    if (w <= 0 || h <= 0)
        return 0;
    double sar = (sar_num > 0 && sar_den > 0) ? (double)sar_num / sar_den : 1.0;
    /* Display size: stretch the width by the SAR (FFmpeg's convention). */
    double dw = w * sar, dh = h;
    if (rotation == 90 || rotation == 270) {
        double t = dw;
        dw = dh;
        dh = t;
    }
    int portrait = dh > dw;
    double shortside = portrait ? dw : dh;
    double dar = dw / dh;
    size_t n = 0;

    for (size_t i = 0; i < n_rungs && n < MEDIA_MAX_RUNGS; i++) {
        int rh = rungs[i].height;
        /* Small tolerance for rounding of anamorphic sizes (e.g. 479.99). */
        if (rh <= 0 || rh > shortside + 0.5)
            continue;
        struct ladder_entry *e = &out[n++];
        if (portrait) {
            e->width = rh & ~1;
            e->height = round_even(rh / dar);
        } else {
            e->height = rh & ~1;
            e->width = round_even(rh * dar);
        }
        e->bitrate_kbps = rungs[i].bitrate_kbps;
        snprintf(e->name, sizeof(e->name), "%dp", rh);
    }
    if (n > 0 || n_rungs == 0)
        return n;

    /* Smaller than the lowest rung: one rendition at its own size, bitrate by area. */
    const struct media_rung *low = &rungs[n_rungs - 1];
    struct ladder_entry *e = &out[n++];
    e->width = floor_even(dw);
    e->height = floor_even(dh);
    int s = portrait ? e->width : e->height;
    double area = (double)e->width * e->height;
    double low_area = (double)low->height * low->height * 16.0 / 9.0;
    long kbps = lround(low->bitrate_kbps * (area / low_area));
    e->bitrate_kbps = kbps < 100 ? 100 : (int)kbps;
    snprintf(e->name, sizeof(e->name), "%dp", s);
    return n;
}
