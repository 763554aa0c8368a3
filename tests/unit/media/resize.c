/* SPDX-License-Identifier: MIT */
/*
 * The zimg resizer against swscale's SWS_BICUBIC, which it stands in for: on
 * a picture with detail in both luma and chroma the two must agree to well
 * above what an encoder keeps (>= 50 dB per plane), and what the resizer does
 * not handle (other formats, other sizes, misaligned buffers, odd 4:2:0
 * sizes) must be refused so the pipeline falls back to swscale. Frames on
 * 64 bytes take zimg's 512-bit code where the CPU has it, others its 256-bit
 * code: both must give the same picture.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#include "media/resize.h"
#include "pictures.h"

/* Gradients, edges and a fixed pseudo-random grain, different in each plane. */
static void paint(AVFrame *f)
{
    uint32_t seed = 12345;
    for (int p = 0; p < 3; p++) {
        int w = p ? f->width / 2 : f->width, h = p ? f->height / 2 : f->height;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                seed = seed * 1664525u + 1013904223u;
                int v = (x * (p + 1) + y * (3 - p)) % 200 + 16 + (int)(seed >> 28) +
                        ((x / 37 + y / 23) % 2) * 20;
                f->data[p][y * f->linesize[p] + x] = (uint8_t)(v > 235 ? 235 : v);
            }
    }
}

Test(resize, matches_swscale_bicubic_on_every_plane)
{
    const int sizes[][2] = { { 1280, 720 }, { 854, 480 }, { 640, 360 } };
    AVFrame *src = picture_new(1920, 1080, AV_PIX_FMT_YUV420P);
    paint(src);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int w = sizes[i][0], h = sizes[i][1];
        AVFrame *z = picture_new(w, h, AV_PIX_FMT_YUV420P);
        AVFrame *s = picture_new(w, h, AV_PIX_FMT_YUV420P);
        struct media_resizer *r = NULL;
        struct kino_err err = { 0 };
        cr_assert_eq(media_resizer_new(1920, 1080, AV_PIX_FMT_YUV420P, 0, w, h, &r, &err), 0,
                     "%s", err.msg);
        cr_assert(media_resizer_can(r, src, z));
        cr_assert_eq(media_resizer_run(r, src, z, &err), 0, "%s", err.msg);
        struct SwsContext *sws = sws_getContext(1920, 1080, AV_PIX_FMT_YUV420P, w, h,
                                                AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
        cr_assert_not_null(sws);
        sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, 1080, s->data,
                  s->linesize);
        for (int p = 0; p < 3; p++)
            cr_expect_geq(plane_psnr(z, s, p), 50.0, "%dx%d plane %d: %.2f dB", w, h, p,
                          plane_psnr(z, s, p));
        sws_freeContext(sws);
        media_resizer_free(r);
        av_frame_free(&z);
        av_frame_free(&s);
    }
    av_frame_free(&src);
}

/* A width x height YUV420P frame whose planes start 32 bytes past a 64-byte boundary, with
 * 64-byte strides: aligned for zimg's 256-bit code, never for its 512-bit code. */
static AVFrame *frame_on_32_only(int width, int height, uint8_t *mem[3])
{
    AVFrame *f = av_frame_alloc();
    cr_assert_not_null(f);
    f->format = AV_PIX_FMT_YUV420P;
    f->width = width;
    f->height = height;
    for (int p = 0; p < 3; p++) {
        int w = p ? width / 2 : width, h = p ? height / 2 : height;
        f->linesize[p] = (w + 63) / 64 * 64;
        mem[p] = av_malloc((size_t)f->linesize[p] * (size_t)h + 32);
        cr_assert_not_null(mem[p]);
        cr_assert_eq((uintptr_t)mem[p] % 64, 0);
        f->data[p] = mem[p] + 32;
    }
    return f;
}

Test(resize, frames_on_64_or_32_bytes_get_the_same_picture)
{
    AVFrame *src = picture_new(1920, 1080, AV_PIX_FMT_YUV420P);
    paint(src);
    const int sizes[][2] = { { 1280, 720 }, { 854, 480 }, { 640, 360 } };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int w = sizes[i][0], h = sizes[i][1];
        struct kino_err err = { 0 };
        struct media_resizer *r = NULL;
        cr_assert_eq(media_resizer_new(1920, 1080, AV_PIX_FMT_YUV420P, 0, w, h, &r, &err), 0,
                     "%s", err.msg);
        AVFrame *on64 = av_frame_alloc();
        cr_assert_not_null(on64);
        cr_assert_eq(media_resizer_frame_alloc(on64, w, h), 0);
        for (int p = 0; p < 3; p++) {
            cr_expect_eq((uintptr_t)on64->data[p] % 64, 0, "%dx%d plane %d starts on 64", w, h, p);
            cr_expect_eq(on64->linesize[p] % 64, 0, "%dx%d plane %d stride", w, h, p);
        }
        uint8_t *mem[3];
        AVFrame *on32 = frame_on_32_only(w, h, mem);
        cr_assert(media_resizer_can(r, src, on64));
        cr_assert(media_resizer_can(r, src, on32), "32-byte planes are still zimg's");
        cr_assert_eq(media_resizer_run(r, src, on64, &err), 0, "%s", err.msg);
        cr_assert_eq(media_resizer_run(r, src, on32, &err), 0, "%s", err.msg);
        for (int p = 0; p < 3; p++)
            cr_expect_geq(plane_psnr(on64, on32, p), 50.0, "%dx%d plane %d: %.2f dB", w, h, p,
                          plane_psnr(on64, on32, p));
        for (int p = 0; p < 3; p++)
            av_free(mem[p]);
        av_frame_free(&on32);
        av_frame_free(&on64);
        media_resizer_free(r);
    }
    av_frame_free(&src);
}

Test(resize, refuses_what_it_does_not_handle)
{
    struct media_resizer *r = NULL;
    cr_assert_eq(media_resizer_new(1920, 1080, AV_PIX_FMT_YUV420P, 0, 640, 360, &r, NULL), 0);
    AVFrame *src = picture_new(1920, 1080, AV_PIX_FMT_YUV420P);
    AVFrame *dst = picture_new(640, 360, AV_PIX_FMT_YUV420P);
    AVFrame *ten = picture_new(1920, 1080, AV_PIX_FMT_YUV420P10LE);
    AVFrame *other = picture_new(1280, 720, AV_PIX_FMT_YUV420P);
    cr_expect(media_resizer_can(r, src, dst));
    cr_expect_not(media_resizer_can(r, ten, dst), "a 10-bit source");
    cr_expect_not(media_resizer_can(r, other, dst), "a source of another size");
    cr_expect_not(media_resizer_can(r, src, other), "a destination of another size");
    /* A plane that does not start on zimg's alignment. */
    uint8_t *saved = src->data[1];
    src->data[1] += 1;
    cr_expect_not(media_resizer_can(r, src, dst), "a misaligned plane");
    src->data[1] = saved;
    cr_expect_not(media_resizer_can(NULL, src, dst), "no resizer");
    av_frame_free(&src);
    av_frame_free(&dst);
    av_frame_free(&ten);
    av_frame_free(&other);
    media_resizer_free(r);

    /* Odd 4:2:0 sizes have no whole chroma sample: refused, so swscale takes them. */
    struct kino_err err = { 0 };
    r = NULL;
    cr_expect_neq(media_resizer_new(855, 481, AV_PIX_FMT_YUV420P, 0, 640, 360, &r, &err), 0);
    cr_expect_null(r);
    cr_expect(err.msg[0] != '\0', "the refusal says why");
}

/* Every sample of plane p of `f` set to v. */
static void flat(AVFrame *f, int p, uint8_t v)
{
    int w = p ? f->width / 2 : f->width, h = p ? f->height / 2 : f->height;
    for (int y = 0; y < h; y++)
        memset(f->data[p] + (ptrdiff_t)y * f->linesize[p], v, (size_t)w);
}

static int sample(const AVFrame *f, int p, int x, int y)
{
    return f->data[p][(ptrdiff_t)y * f->linesize[p] + x];
}

/*
 * Phones and screen recorders write full-range video (0-255), flagged either by a yuvj*
 * format or only by color_range; the rungs are limited range (16-235, chroma 16-240), as
 * players take H.264. Full black and white must land on 16 and 235 whichever way the source
 * says it, in zimg and in swscale, or the picture shows with crushed blacks and clipped
 * whites.
 */
Test(resize, full_range_sources_become_limited_range)
{
    const int sizes[][2] = { { 640, 360 }, { 320, 180 } }; /* the same size converts only */
    for (size_t i = 0; i < 2; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        AVFrame *src = picture_new(640, 360, AV_PIX_FMT_YUV420P);
        src->color_range = AVCOL_RANGE_JPEG;
        flat(src, 0, 0);
        flat(src, 1, 0);
        flat(src, 2, 255);
        for (int y = 0; y < 180; y++) /* the lower half of the luma plane full white */
            memset(src->data[0] + (ptrdiff_t)(180 + y) * src->linesize[0], 255, 640);
        struct kino_err err = { 0 };
        struct media_resizer *r = NULL;
        cr_assert_eq(media_resizer_new(640, 360, AV_PIX_FMT_YUV420P, 1, w, h, &r, &err), 0,
                     "%s", err.msg);
        AVFrame *z = picture_new(w, h, AV_PIX_FMT_YUV420P);
        AVFrame *s = picture_new(w, h, AV_PIX_FMT_YUV420P);
        cr_assert(media_resizer_can(r, src, z));
        cr_assert_eq(media_resizer_run(r, src, z, &err), 0, "%s", err.msg);
        struct media_sws ms = { 0 };
        struct SwsContext *sws = media_sws_get(&ms, src, w, h, AV_PIX_FMT_YUV420P, SWS_BICUBIC);
        cr_assert_not_null(sws);
        sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, 360, s->data,
                  s->linesize);
        const AVFrame *outs[] = { z, s };
        const char *who[] = { "zimg", "swscale" };
        for (int k = 0; k < 2; k++) {
            const AVFrame *o = outs[k];
            int tol = k; /* swscale's fixed-point range conversion may be one off */
            int got[4] = { sample(o, 0, w / 2, h / 8), sample(o, 0, w / 2, h - h / 8),
                           sample(o, 1, w / 4, h / 4), sample(o, 2, w / 4, h / 4) };
            const int want[4] = { 16, 235, 16, 240 };
            const char *what[4] = { "black Y", "white Y", "U", "V" };
            for (int q = 0; q < 4; q++)
                cr_expect(abs(got[q] - want[q]) <= tol, "%s %dx%d: %s %d, not %d", who[k], w, h,
                          what[q], got[q], want[q]);
        }
        /* The same picture flagged the other way, as yuvj420p, is the same source. */
        src->format = AV_PIX_FMT_YUVJ420P;
        src->color_range = AVCOL_RANGE_UNSPECIFIED;
        cr_assert(media_resizer_can(r, src, z), "yuvj420p is full range too");
        media_sws_release(&ms);
        media_resizer_free(r);
        av_frame_free(&src);
        av_frame_free(&z);
        av_frame_free(&s);
    }
}

Test(resize, a_resizer_takes_only_the_range_it_was_made_for)
{
    struct media_resizer *limited = NULL, *full = NULL;
    cr_assert_eq(media_resizer_new(640, 360, AV_PIX_FMT_YUV420P, 0, 320, 180, &limited, NULL), 0);
    cr_assert_eq(media_resizer_new(640, 360, AV_PIX_FMT_YUV420P, 1, 320, 180, &full, NULL), 0);
    AVFrame *src = picture_new(640, 360, AV_PIX_FMT_YUV420P);
    AVFrame *dst = picture_new(320, 180, AV_PIX_FMT_YUV420P);
    cr_expect(media_resizer_can(limited, src, dst));
    cr_expect_not(media_resizer_can(full, src, dst));
    src->color_range = AVCOL_RANGE_JPEG;
    cr_expect_not(media_resizer_can(limited, src, dst), "full range flagged by color_range");
    cr_expect(media_resizer_can(full, src, dst));
    src->color_range = AVCOL_RANGE_MPEG;
    src->format = AV_PIX_FMT_YUVJ420P;
    cr_expect_not(media_resizer_can(limited, src, dst), "full range flagged by yuvj420p");
    cr_expect(media_resizer_can(full, src, dst));
    src->format = AV_PIX_FMT_YUV420P;
    media_resizer_free(limited);
    media_resizer_free(full);
    av_frame_free(&src);
    av_frame_free(&dst);
}

/* sws_getCachedContext() made a new context for every yuvj420p frame; media_sws keeps one
 * while the source stays the same, and makes another when its range or size changes. */
Test(resize, media_sws_keeps_its_context_while_the_source_is_the_same)
{
    struct media_sws ms = { 0 };
    AVFrame *j = picture_new(640, 360, AV_PIX_FMT_YUVJ420P);
    struct SwsContext *first = media_sws_get(&ms, j, 320, 180, AV_PIX_FMT_YUV420P, SWS_BICUBIC);
    cr_assert_not_null(first);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(media_sws_get(&ms, j, 320, 180, AV_PIX_FMT_YUV420P, SWS_BICUBIC), first,
                     "yuvj420p frame %d", i);
    cr_expect_eq(ms.src_full, 1);
    AVFrame *y = picture_new(640, 360, AV_PIX_FMT_YUV420P);
    cr_expect_not_null(media_sws_get(&ms, y, 320, 180, AV_PIX_FMT_YUV420P, SWS_BICUBIC));
    cr_expect_eq(ms.src_full, 0, "a limited-range source gets its own context");
    y->color_range = AVCOL_RANGE_JPEG;
    cr_expect_not_null(media_sws_get(&ms, y, 320, 180, AV_PIX_FMT_YUV420P, SWS_BICUBIC));
    cr_expect_eq(ms.src_full, 1, "so does a yuv420p source flagged full range");
    AVFrame *big = picture_new(1280, 720, AV_PIX_FMT_YUV420P);
    cr_expect_not_null(media_sws_get(&ms, big, 320, 180, AV_PIX_FMT_YUV420P, SWS_BICUBIC));
    cr_expect_eq(ms.src_w, 1280);
    media_sws_release(&ms);
    cr_expect_null(ms.sws);
    media_sws_release(&ms); /* twice is harmless */
    av_frame_free(&j);
    av_frame_free(&y);
    av_frame_free(&big);
}

/* A copy of `src` (8-bit 4:2:0) in `format`, made by swscale at the same size. */
static AVFrame *converted(const AVFrame *src, enum AVPixelFormat format)
{
    AVFrame *f = picture_new(src->width, src->height, format);
    struct SwsContext *sws = sws_getContext(src->width, src->height, src->format, f->width,
                                            f->height, format, SWS_POINT, NULL, NULL, NULL);
    cr_assert_not_null(sws);
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, f->data,
              f->linesize);
    sws_freeContext(sws);
    return f;
}

Test(resize, deeper_and_fuller_chroma_sources_match_swscale_too)
{
    /* Cameras write 10-bit 4:2:2, ProRes 4:4:4, phones 10-bit 4:2:0. The two round to 8 bits
     * a little differently: 53 dB apart where 8-bit sources are 55-58, still far above what an
     * encoder keeps. */
    const enum AVPixelFormat formats[] = { AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUV422P10LE,
                                           AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUV444P12LE,
                                           AV_PIX_FMT_YUV422P };
    AVFrame *base = picture_new(1920, 1080, AV_PIX_FMT_YUV420P);
    paint(base);
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        AVFrame *src = converted(base, formats[i]);
        const char *name = av_get_pix_fmt_name(formats[i]);
        cr_assert(media_resizer_takes(formats[i]), "%s", name);
        const int sizes[][2] = { { 1920, 1080 }, { 640, 360 } };
        for (size_t k = 0; k < 2; k++) {
            int w = sizes[k][0], h = sizes[k][1];
            AVFrame *z = picture_new(w, h, AV_PIX_FMT_YUV420P);
            AVFrame *s = picture_new(w, h, AV_PIX_FMT_YUV420P);
            struct media_resizer *r = NULL;
            struct kino_err err = { 0 };
            cr_assert_eq(media_resizer_new(1920, 1080, formats[i], 0, w, h, &r, &err), 0,
                         "%s: %s", name, err.msg);
            cr_assert(media_resizer_can(r, src, z), "%s", name);
            cr_assert_eq(media_resizer_run(r, src, z, &err), 0, "%s", err.msg);
            struct SwsContext *sws = sws_getContext(1920, 1080, formats[i], w, h,
                                                    AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL,
                                                    NULL);
            cr_assert_not_null(sws);
            sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, 1080, s->data,
                      s->linesize);
            for (int p = 0; p < 3; p++)
                cr_expect_geq(plane_psnr(z, s, p), 50.0, "%s to %dx%d, plane %d: %.2f dB", name,
                              w, h, p, plane_psnr(z, s, p));
            sws_freeContext(sws);
            media_resizer_free(r);
            av_frame_free(&z);
            av_frame_free(&s);
        }
        av_frame_free(&src);
    }
    av_frame_free(&base);
}

Test(resize, takes_planar_yuv_only)
{
    const enum AVPixelFormat yes[] = { AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P,
                                       AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUV422P10LE,
                                       AV_PIX_FMT_YUV444P16LE, AV_PIX_FMT_YUVJ444P,
                                       AV_PIX_FMT_YUV440P };
    const enum AVPixelFormat no[] = { AV_PIX_FMT_NV12, AV_PIX_FMT_P010LE, AV_PIX_FMT_YUYV422,
                                      AV_PIX_FMT_YUVA420P, AV_PIX_FMT_GBRP, AV_PIX_FMT_RGB24,
                                      AV_PIX_FMT_GRAY8, AV_PIX_FMT_YUV411P,
                                      AV_PIX_FMT_YUV420P10BE, AV_PIX_FMT_GBRPF32LE,
                                      AV_PIX_FMT_NONE };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        cr_expect(media_resizer_takes(yes[i]), "%s", av_get_pix_fmt_name(yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        cr_expect_not(media_resizer_takes(no[i]), "%s", av_get_pix_fmt_name(no[i]) ?
                      av_get_pix_fmt_name(no[i]) : "none");
    struct media_resizer *r = NULL;
    struct kino_err err = { 0 };
    cr_expect_eq(media_resizer_new(640, 360, AV_PIX_FMT_NV12, 0, 320, 180, &r, &err), KINO_EINVAL);
    cr_expect_null(r);
    cr_expect(strstr(err.msg, "nv12") != NULL, "%s", err.msg);
}

/* One colour `rgb` all over a w x h RGB24 picture through media_sws_get() into `format`: the
 * luma it gets. */
static int luma_of(const uint8_t rgb[3], enum AVPixelFormat format)
{
    AVFrame *src = picture_new(64, 64, AV_PIX_FMT_RGB24);
    for (int y = 0; y < src->height; y++)
        for (int x = 0; x < src->width; x++)
            memcpy(src->data[0] + y * src->linesize[0] + 3 * x, rgb, 3);
    AVFrame *dst = picture_new(32, 32, format);
    struct media_sws ms = { 0 };
    struct SwsContext *sws = media_sws_get(&ms, src, dst->width, dst->height, format,
                                           SWS_BICUBIC);
    cr_assert_not_null(sws);
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data,
              dst->linesize);
    int y = dst->data[0][16 * dst->linesize[0] + 16];
    media_sws_release(&ms);
    av_frame_free(&src);
    av_frame_free(&dst);
    return y;
}

/*
 * RGB pictures (GIF, PNG, RGB H.264) become the rungs' limited-range YUV with BT.709's
 * matrix, which the rungs are tagged with, and JPEG's full-range YUV with BT.601's, which its
 * decoders assume. swscale alone uses BT.601's for both: red came out at 82, which a player
 * reading the BT.709 tag shows as a lighter, orange red.
 */
Test(resize, rgb_sources_become_yuv_with_the_matrix_their_destination_is_read_with)
{
    const uint8_t red[3] = { 255, 0, 0 }, green[3] = { 0, 255, 0 };
    cr_expect(media_format_is_rgb(AV_PIX_FMT_RGB24) && media_format_is_rgb(AV_PIX_FMT_BGRA) &&
              media_format_is_rgb(AV_PIX_FMT_GBRP) && media_format_is_rgb(AV_PIX_FMT_PAL8));
    cr_expect(!media_format_is_rgb(AV_PIX_FMT_YUV420P) && !media_format_is_rgb(AV_PIX_FMT_GRAY8));
    /* Within 1 of the formulas (swscale rounds in fixed point). BT.709, limited range:
     * Y = 16 + 219 (0.2126 R + 0.7152 G + 0.0722 B); BT.601's would give red 82, green 145. */
    int y = luma_of(red, AV_PIX_FMT_YUV420P);
    cr_expect(abs(y - 63) <= 1, "red: Y %d, BT.709's 63", y);
    y = luma_of(green, AV_PIX_FMT_YUV420P);
    cr_expect(abs(y - 173) <= 1, "green: Y %d, BT.709's 173", y);
    /* BT.601, full range: Y = 0.299 R + 0.587 G + 0.114 B. */
    y = luma_of(red, AV_PIX_FMT_YUVJ420P);
    cr_expect(abs(y - 76) <= 1, "red: Y %d, JPEG's 76", y);
    y = luma_of(green, AV_PIX_FMT_YUVJ420P);
    cr_expect(abs(y - 150) <= 1, "green: Y %d, JPEG's 150", y);
}

/*
 * Transparency is laid on black: planar YUV with alpha (ProRes 4444) moves each sample towards
 * black luma and neutral chroma as its alpha falls, and comes out opaque; swscale would drop
 * the alpha plane and show the colours under it. 8-bit 4:2:0 and 10-bit 4:4:4, limited range.
 */
Test(resize, yuv_with_alpha_is_laid_on_black)
{
    const enum AVPixelFormat formats[] = { AV_PIX_FMT_YUVA420P, AV_PIX_FMT_YUVA444P10 };
    for (size_t i = 0; i < 2; i++) {
        AVFrame *f = picture_new(8, 4, formats[i]);
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(formats[i]);
        int wide = d->comp[0].depth > 8, shift = d->comp[0].depth - 8;
        unsigned top = (1u << d->comp[0].depth) - 1;
        cr_assert(media_frame_has_yuv_alpha(f));
        for (int p = 0; p < 4; p++) {
            int w = p == 1 || p == 2 ? AV_CEIL_RSHIFT(8, d->log2_chroma_w) : 8;
            int h = p == 1 || p == 2 ? AV_CEIL_RSHIFT(4, d->log2_chroma_h) : 4;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    /* Columns 0-1 transparent, 2-3 half, the rest opaque. */
                    int cx = p == 1 || p == 2 ? x << d->log2_chroma_w : x;
                    unsigned v = p == 3 ? (cx < 2 ? 0 : cx < 4 ? (top + 1) / 2 : top)
                                        : (unsigned)(200 - 40 * p) << shift;
                    uint8_t *row = f->data[p] + y * f->linesize[p];
                    if (wide)
                        ((uint16_t *)row)[x] = (uint16_t)v;
                    else
                        row[x] = (uint8_t)v;
                }
        }
        media_frame_flatten_alpha(f);
        for (int p = 0; p < 4; p++) {
            int w = p == 1 || p == 2 ? AV_CEIL_RSHIFT(8, d->log2_chroma_w) : 8;
            for (int x = 0; x < w; x++) {
                const uint8_t *row = f->data[p] + f->linesize[p]; /* row 1 */
                unsigned got = wide ? ((const uint16_t *)row)[x] : row[x];
                int cx = p == 1 || p == 2 ? x << d->log2_chroma_w : x;
                double under = p == 0 ? 16 << shift : 128 << shift, v = (200 - 40 * p) << shift;
                double a = cx < 2 ? 0 : cx < 4 ? (double)((top + 1) / 2) / top : 1;
                double want = p == 3 ? top : under + (v - under) * a;
                cr_expect(fabs(got - want) <= 1, "%s plane %d x %d: %u, want %.1f",
                          av_get_pix_fmt_name(formats[i]), p, x, got, want);
            }
        }
        av_frame_free(&f);
    }
    AVFrame *plain = picture_new(8, 4, AV_PIX_FMT_YUV420P), *rgba = picture_new(8, 4,
                                                                                AV_PIX_FMT_RGBA);
    cr_expect(!media_frame_has_yuv_alpha(plain), "no alpha plane");
    cr_expect(!media_frame_has_yuv_alpha(rgba), "RGB: swscale lays it on black");
    av_frame_free(&plain);
    av_frame_free(&rgba);
}

/* A copy of `src` in a frame of its own whose strides are rounded up to `align` bytes. */
static AVFrame *copy_with_padding(const AVFrame *src, int align)
{
    AVFrame *f = av_frame_alloc();
    cr_assert_not_null(f);
    f->width = src->width;
    f->height = src->height;
    f->format = src->format;
    cr_assert_eq(av_frame_get_buffer(f, align), 0);
    cr_assert_eq(av_frame_copy(f, src), 0);
    return f;
}

/* The pipeline stores a picture decoded again unchanged once (a still image as a video):
 * equal samples are the same picture whatever the padding; one sample off anywhere is not. */
Test(resize, same_picture_means_every_sample_equal)
{
    const int sizes[][2] = { { 330, 180 }, { 321, 181 } }; /* odd: chroma rounds up */
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        AVFrame *a = picture_new(sizes[i][0], sizes[i][1], AV_PIX_FMT_YUV420P);
        for (int p = 0; p < 3; p++)
            memset(a->data[p], 0, (size_t)a->linesize[p] * (size_t)(p ? (a->height + 1) / 2
                                                                       : a->height));
        paint(a);
        AVFrame *b = copy_with_padding(a, 1);
        cr_assert_neq(a->linesize[0], b->linesize[0], "the strides should differ");
        /* Padding is not the picture. */
        a->data[0][a->linesize[0] - 1] ^= 0xff;
        cr_assert(media_frame_same_picture(a, b));
        cr_assert(media_frame_same_picture(b, a));
        /* The last sample of each plane: bottom right. */
        for (int p = 0; p < 3; p++) {
            int w = p ? (a->width + 1) / 2 : a->width, h = p ? (a->height + 1) / 2 : a->height;
            uint8_t *last = &b->data[p][(h - 1) * b->linesize[p] + w - 1];
            *last ^= 1;
            cr_assert_not(media_frame_same_picture(a, b), "plane %d, %dx%d", p, a->width,
                          a->height);
            *last ^= 1;
        }
        cr_assert(media_frame_same_picture(a, b));
        av_frame_free(&a);
        av_frame_free(&b);
    }
}

Test(resize, same_picture_needs_the_same_size_and_format)
{
    AVFrame *a = picture_new(320, 180, AV_PIX_FMT_YUV420P);
    paint(a);
    AVFrame *smaller = picture_new(320, 178, AV_PIX_FMT_YUV420P);
    cr_assert_eq(av_frame_copy(smaller, a), AVERROR(EINVAL)); /* sizes differ: fill by hand */
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < (p ? 89 : 178); y++)
            memcpy(smaller->data[p] + y * smaller->linesize[p], a->data[p] + y * a->linesize[p],
                   p ? 160 : 320);
    cr_assert_not(media_frame_same_picture(a, smaller));
    AVFrame *full = copy_with_padding(a, 0);
    cr_assert(media_frame_same_picture(a, full));
    full->color_range = AVCOL_RANGE_JPEG; /* same bytes, read another way */
    cr_assert_not(media_frame_same_picture(a, full));
    full->color_range = a->color_range;
    full->sample_aspect_ratio = (AVRational){ 4, 3 };
    cr_assert_not(media_frame_same_picture(a, full));
    full->sample_aspect_ratio = a->sample_aspect_ratio;
    full->colorspace = AVCOL_SPC_BT2020_NCL;
    cr_assert_not(media_frame_same_picture(a, full));
    full->colorspace = a->colorspace;
    full->format = AV_PIX_FMT_YUVJ420P;
    cr_assert_not(media_frame_same_picture(a, full));
    av_frame_free(&a);
    av_frame_free(&smaller);
    av_frame_free(&full);

    /* Semi-planar: the chroma plane is half as high. A palette is part of the picture. */
    AVFrame *nv = picture_new(64, 36, AV_PIX_FMT_NV12);
    memset(nv->data[0], 16, (size_t)nv->linesize[0] * 36);
    memset(nv->data[1], 128, (size_t)nv->linesize[1] * 18);
    AVFrame *nv2 = copy_with_padding(nv, 1);
    cr_assert(media_frame_same_picture(nv, nv2));
    nv2->data[1][17 * nv2->linesize[1] + 63] = 0;
    cr_assert_not(media_frame_same_picture(nv, nv2));
    AVFrame *pal = picture_new(16, 16, AV_PIX_FMT_PAL8);
    memset(pal->data[0], 3, (size_t)pal->linesize[0] * 16);
    memset(pal->data[1], 0, 1024);
    AVFrame *pal2 = copy_with_padding(pal, 1);
    cr_assert(media_frame_same_picture(pal, pal2));
    pal2->data[1][3 * 4] = 200; /* colour 3 changes: the picture does */
    cr_assert_not(media_frame_same_picture(pal, pal2));
    av_frame_free(&nv);
    av_frame_free(&nv2);
    av_frame_free(&pal);
    av_frame_free(&pal2);
}
