/* SPDX-License-Identifier: MIT */
/* Test helper: how alike two 8-bit 4:2:0 pictures of one size are, plane by plane. */
#ifndef KINO_TESTS_MEDIA_PSNR_H
#define KINO_TESTS_MEDIA_PSNR_H

#include <math.h>

#include <libavutil/frame.h>

/* PSNR in dB of plane `p` (0 luma, 1 and 2 chroma at half size) of `a` against `b`;
 * INFINITY when identical. */
static inline double plane_psnr(const AVFrame *a, const AVFrame *b, int p)
{
    int w = p ? a->width / 2 : a->width, h = p ? a->height / 2 : a->height;
    double se = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int d = a->data[p][y * a->linesize[p] + x] - b->data[p][y * b->linesize[p] + x];
            se += d * d;
        }
    return se == 0 ? INFINITY : 10 * log10(255.0 * 255.0 / (se / (w * h)));
}

#endif
