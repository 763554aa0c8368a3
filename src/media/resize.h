/* SPDX-License-Identifier: MIT */
/*
 * Scaling pictures. Two tools:
 *
 * - media_resizer: a planar YUV picture of 8 to 16 bits, 4:2:0, 4:2:2 or
 *   4:4:4 (limited or full range), to a rung's size, 8-bit 4:2:0 limited
 *   range, with zimg: the same bicubic kernel as swscale's SWS_BICUBIC
 *   (B = 0, C = 0.6, chroma sited at the centre, as swscale takes it), so the
 *   pictures match swscale's to about 58 dB (53 dB from 10 or 12 bits, which
 *   the two round to 8 a little differently), in roughly half its CPU time —
 *   scaling is a tenth of a transcode (bench/README.md, "Where the time
 *   goes"). Other pixel formats and misaligned buffers are not handled: the
 *   caller falls back to swscale (media_resizer_takes, media_resizer_can).
 * - media_sws: a swscale context kept for one kind of source (size, pixel
 *   format, range), for everything else. Unlike sws_getCachedContext(), it
 *   is not rebuilt for every yuvj* frame, and a yuv* frame that says it is
 *   full range (color_range) is converted as full range.
 *
 * A frame is full range when its format is a yuvj* one or its color_range
 * says AVCOL_RANGE_JPEG (media_frame_is_full_range): decoders use either.
 *
 * Threading: one resizer or media_sws per thread at a time; different ones may run at once.
 */
#ifndef KINO_MEDIA_RESIZE_H
#define KINO_MEDIA_RESIZE_H

#include <libavutil/frame.h>
#include <libswscale/swscale.h>

#include "core/err.h"

struct media_resizer;

/* 1 when `f`'s samples use the full 0-255 range (yuvj* formats, or color_range JPEG). */
int media_frame_is_full_range(const AVFrame *f);

/* 1 when `format` codes pictures as RGB or as a palette of RGB colours (GIF, PNG, RGB H.264 or
 * VP9): they become YUV through a colour matrix kino picks (media_sws_get), not the source's. */
int media_format_is_rgb(enum AVPixelFormat format);

/* 1 when pictures of `format` can go through a media_resizer (yuvj* count as yuv*). */
int media_resizer_takes(enum AVPixelFormat format);

/*
 * A resizer from src_w x src_h `src_format` (full range when src_full_range, else limited) to
 * dst_w x dst_h limited-range AV_PIX_FMT_YUV420P; the same size only converts depth,
 * subsampling and range. KINO_EINVAL (with the reason) when the format is not taken or zimg
 * refuses the sizes; -ENOMEM. Caller frees with media_resizer_free (accepts NULL).
 */
int media_resizer_new(int src_w, int src_h, enum AVPixelFormat src_format, int src_full_range,
                      int dst_w, int dst_h, struct media_resizer **ret, struct kino_err *err);
void media_resizer_free(struct media_resizer *r);

/* 1 when `src` -> `dst` can go through `r`: the sizes, pixel format and source range it was
 * made for (yuvj* accepted as the yuv* format, full range), 8-bit 4:2:0 out, and every plane
 * address and stride aligned as zimg requires (32 bytes; frames aligned to 64 take zimg's
 * faster 512-bit code where the CPU has it). */
int media_resizer_can(const struct media_resizer *r, const AVFrame *src, const AVFrame *dst);

/*
 * Allocate `f` (fresh from av_frame_alloc or unreferenced) as a width x height YUV420P frame
 * whose planes and strides are on 64 bytes, so that scaling into it can take zimg's 512-bit
 * code. 0, or -ENOMEM with `f` left empty.
 */
int media_resizer_frame_alloc(AVFrame *f, int width, int height);

/* Scale `src` into `dst` (allocated, writable, checked with media_resizer_can). KINO_EINTERNAL
 * with zimg's reason if it fails. */
int media_resizer_run(struct media_resizer *r, const AVFrame *src, AVFrame *dst,
                      struct kino_err *err);

/*
 * 1 when `a` and `b` hold the same picture sample for sample: same size, pixel format, range,
 * colour tags and sample aspect ratio, and every row of every plane equal (padding ignored). A still image exported as a video, a
 * slideshow or a screen recording decodes to long runs of such frames; the pipeline stores a
 * run once (docs/internals/media.md, "Repeated pictures"). Stops at the first difference, so a
 * moving picture costs about one row; a repeat costs one read of both frames. Hardware frames
 * (no data in memory) are never the same.
 */
int media_frame_same_picture(const AVFrame *a, const AVFrame *b);

/* 1 when `f` is planar YUV of 8 to 16 bits with an alpha plane (ProRes 4444, VP9 with alpha):
 * swscale cannot lay it on black, media_frame_flatten_alpha() does. */
int media_frame_has_yuv_alpha(const AVFrame *f);

/*
 * Lay the picture `f` (writable; media_frame_has_yuv_alpha) on black in place: each sample
 * moves towards black (or neutral chroma) as its alpha falls, and the alpha plane becomes
 * opaque. Video platforms show transparency as black; dropping the alpha plane instead shows
 * whatever colours hide under the transparent pixels.
 */
void media_frame_flatten_alpha(AVFrame *f);

/* A swscale context and the kind of source and destination it was made for. Zero it first. */
struct media_sws {
    struct SwsContext *sws;
    int src_w, src_h, src_format, src_full;
    int dst_w, dst_h, dst_format, flags;
};

/*
 * The context that scales `src` to dst_w x dst_h `dst_format` with `flags` (SWS_BICUBIC...),
 * made again only when one of them or the source's size, format or range changed. A
 * full-range source is read as full range; the destination's range is its format's (yuvj*:
 * full, else limited). Pictures with alpha are laid on black. An RGB source
 * (media_format_is_rgb) becomes limited-range YUV with
 * BT.709's matrix, which the rungs are tagged with, and full-range YUV with BT.601's, which
 * JPEG (JFIF) decoders assume. NULL when swscale cannot do the conversion.
 */
struct SwsContext *media_sws_get(struct media_sws *s, const AVFrame *src, int dst_w, int dst_h,
                                 enum AVPixelFormat dst_format, int flags);

/*
 * The YUV matrix of what media_sws_get() makes from `src` into YUV `dst_format`: BT.709 or
 * BT.601 for an RGB source, as above; for a YUV source its own (src->colorspace: the pipeline
 * names one for untagged frames), since swscale converts range, depth and size but never the
 * matrix, except that YUV tagged RGB (a damaged stream) counts as BT.709.
 */
enum AVColorSpace media_sws_matrix(const AVFrame *src, enum AVPixelFormat dst_format);
void media_sws_release(struct media_sws *s);

#endif
