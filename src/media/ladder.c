/* SPDX-License-Identifier: MIT */
/*
 * The ladder: from a source's coded size, sample aspect ratio and rotation to
 * the list of output sizes, and from its claimed frame rates to the constant
 * output rate. Every rendition keeps the display aspect ratio with square
 * pixels, so players never see a stray SAR (641:640 and the like).
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

int ladder_sar_usable(int num, int den)
{
    if (num <= 0 || den <= 0)
        return 0;
    double sar = (double)num / den;
    return sar >= 0.25 && sar <= 4.0;
}

size_t ladder_compute(const struct media_rung *rungs, size_t n_rungs, int w, int h, int sar_num,
                      int sar_den, int rotation, struct ladder_entry *out)
{
    if (w <= 0 || h <= 0)
        return 0;
    double sar = ladder_sar_usable(sar_num, sar_den) ? (double)sar_num / sar_den : 1.0;
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
        /* In floating point first: the long side of an extreme shape overflows an int. */
        double longside = portrait ? rh / dar : rh * dar;
        if (longside > LADDER_MAX_SIDE)
            continue;
        struct ladder_entry *e = &out[n++];
        if (portrait) {
            e->width = rh & ~1;
            e->height = round_even(longside);
        } else {
            e->height = rh & ~1;
            e->width = round_even(longside);
        }
        e->bitrate_kbps = rungs[i].bitrate_kbps;
        snprintf(e->name, sizeof(e->name), "%dp", rh);
    }
    if (n > 0 || n_rungs == 0 || floor(portrait ? dh : dw) > LADDER_MAX_SIDE)
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

static const struct {
    int num, den;
} common_rates[] = {
    { 24000, 1001 }, { 24, 1 },  { 25, 1 },  { 30000, 1001 }, { 30, 1 },  { 48, 1 },
    { 50, 1 },       { 60000, 1001 }, { 60, 1 }, { 72, 1 },   { 90, 1 },  { 100, 1 },
    { 120000, 1001 }, { 120, 1 }, { 144, 1 }, { 240, 1 },
};

/* Whether num/den is one of common_rates exactly (as a fraction). */
static int is_common_rate(int num, int den)
{
    for (size_t i = 0; num > 0 && den > 0 && i < sizeof(common_rates) / sizeof(common_rates[0]);
         i++)
        if ((long)num * common_rates[i].den == (long)common_rates[i].num * den)
            return 1;
    return 0;
}

static long gcd(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void ladder_frame_rate(int avg_num, int avg_den, int r_num, int r_den, int *ret_num,
                       int *ret_den)
{
    double a = (avg_num > 0 && avg_den > 0) ? (double)avg_num / avg_den : 0;
    double r = (r_num > 0 && r_den > 0) ? (double)r_num / r_den : 0;
    long num = 25, den = 1;
    size_t best = 0;
    double best_diff = 1e9;
    for (size_t i = 0; a > 0 && i < sizeof(common_rates) / sizeof(common_rates[0]); i++) {
        double c = (double)common_rates[i].num / common_rates[i].den;
        if (fabs(a - c) / c < best_diff) {
            best_diff = fabs(a - c) / c;
            best = i;
        }
    }
    if (a > 0 && r >= 1 && r_den <= 1001 && fabs(a - r) / r < 0.01) {
        num = r_num; /* constant rate, or variable close around the base rate */
        den = r_den;
    } else if (a > 0 && best_diff < 0.01) {
        num = common_rates[best].num;
        den = common_rates[best].den;
    } else if (is_common_rate(r_num, r_den)) {
        num = r_num; /* a capture rate, however few frames came: a screen recording */
        den = r_den;
    } else if (r >= 1 && r <= 1000 && r_den <= 1001 && (a <= 0 || r <= 2 * a)) {
        num = r_num;
        den = r_den;
    } else if (a >= 1 && a <= 1000) {
        num = lround(a);
        den = 1;
    }
    /* Halve, not cap: every other frame of 100 fps is an even 50, a cap of 60 judders. */
    while ((double)num / den > LADDER_MAX_FPS + 1e-9) {
        if (num % 2 == 0)
            num /= 2;
        else
            den *= 2;
    }
    long g = gcd(num, den);
    *ret_num = (int)(num / g);
    *ret_den = (int)(den / g);
}
