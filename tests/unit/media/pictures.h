/* SPDX-License-Identifier: MIT */
/* Test helpers for pictures: a new frame, and how alike two 8-bit 4:2:0 pictures are. */
#ifndef KINO_TESTS_MEDIA_PICTURES_H
#define KINO_TESTS_MEDIA_PICTURES_H

#include <criterion/criterion.h>
#include <math.h>

#include <libavutil/frame.h>

/* A w x h frame of `format` with its buffers (contents undefined). */
static inline AVFrame *picture_new(int w, int h, enum AVPixelFormat format)
{
    AVFrame *f = av_frame_alloc();
    cr_assert_not_null(f);
    f->width = w;
    f->height = h;
    f->format = format;
    cr_assert_eq(av_frame_get_buffer(f, 0), 0);
    return f;
}

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
