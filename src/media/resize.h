/* SPDX-License-Identifier: MIT */
/*
 * Downscaling an 8-bit 4:2:0 picture to a rung's size with zimg: the same
 * bicubic kernel as swscale's SWS_BICUBIC (B = 0, C = 0.6, chroma sited at
 * the centre, as swscale takes it), so the pictures match swscale's to
 * about 58 dB, in roughly 60 % of its CPU time — scaling is a tenth of a
 * transcode (bench/README.md, "Where the time goes"). Other pixel formats
 * and misaligned buffers are not handled here: the caller falls back to
 * swscale for those (media_resizer_can).
 *
 * Threading: one resizer per thread at a time; different resizers may run at once.
 */
#ifndef KINO_MEDIA_RESIZE_H
#define KINO_MEDIA_RESIZE_H

#include <libavutil/frame.h>

#include "core/err.h"

struct media_resizer;

/*
 * A resizer from src_w x src_h to dst_w x dst_h, both AV_PIX_FMT_YUV420P.
 * KINO_EINVAL (with zimg's reason) when zimg refuses the sizes; -ENOMEM.
 * Caller frees with media_resizer_free (accepts NULL).
 */
int media_resizer_new(int src_w, int src_h, int dst_w, int dst_h, struct media_resizer **ret,
                      struct kino_err *err);
void media_resizer_free(struct media_resizer *r);

/* 1 when `src` -> `dst` can go through `r`: the sizes it was made for, YUV420P on both sides,
 * and every plane address and stride aligned as zimg requires (32 bytes; frames aligned to 64
 * take zimg's faster 512-bit code where the CPU has it). */
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

#endif
