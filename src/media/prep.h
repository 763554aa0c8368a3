/* SPDX-License-Identifier: MIT */
/*
 * Upright, progressive, SDR pictures before scaling.
 *
 * Phone video is stored sideways with a display matrix, camcorder and
 * broadcast video as interlaced fields, and more and more phone video is HDR
 * (PQ, or HLG as iPhones record it). Every rung must be upright, progressive
 * and SDR BT.709, so such frames go through a media_prep first:
 *
 *   bwdif (one frame out per frame in; only frames flagged interlaced are touched)
 *   -> HDR only: a picture larger than the top rung brought down to its size, in
 *      10 bits; zscale to linear light and BT.709 primaries (float RGB);
 *      Möbius tone mapping (tonemap.h); zscale to 8-bit BT.709 limited range
 *   -> transpose or hflip,vflip (after tone mapping: on 8-bit pictures)
 *   -> pad: black bars around a picture whose shape differs from the video's
 *      (a stream that changes from landscape to portrait: a screen share)
 *
 * The libavfilter steps run in one or two graphs; the tone mapping runs between
 * them, in kino's own vector code (libavfilter's tonemap filter took three
 * times the CPU of the two conversions together). Frames that need none of
 * this skip the prep altogether: no copy, no delay.
 *
 * Lifecycle: media_prep_new for the first frame, media_prep_send each frame
 * and then media_prep_receive until AVERROR(EAGAIN); media_prep_send(NULL)
 * at the end (or before a new prep, when media_prep_fits says the frames
 * changed) and media_prep_receive until AVERROR_EOF; media_prep_free.
 * One thread at a time.
 */
#ifndef KINO_MEDIA_PREP_H
#define KINO_MEDIA_PREP_H

#include <libavutil/frame.h>
#include <libavutil/rational.h>

#include "core/err.h"

/* What a source needs. */
struct media_prep_spec {
    int deinterlace;      /* bwdif on frames flagged interlaced */
    int rotation;         /* 0, 90, 180 or 270: degrees clockwise to turn the picture */
    int mirror;           /* then mirror it left to right */
    int hdr;              /* PQ or HLG: tone-map to SDR BT.709 */
    int max_w, max_h;     /* HDR: the largest upright picture worth tone-mapping (the top rung) */
    int pad_w, pad_h;     /* when not 0: the upright picture is centred on black this size */
    AVRational time_base; /* of the pts of the frames sent */
};

struct media_prep;

/* 1 when frames under `s` need a prep at all. */
int media_prep_needed(const struct media_prep_spec *s);

/*
 * A prep for `s` and frames like `first` (size, pixel format, aspect). KINO_EMEDIA with a
 * message that says what could not be done and what to upload instead; -ENOMEM.
 */
int media_prep_new(const struct media_prep_spec *s, const AVFrame *first, struct media_prep **ret,
                   struct kino_err *err);

/* 1 when `p` was made for `s` and frames like `f`; 0: send NULL, drain, make a new one. */
int media_prep_fits(const struct media_prep *p, const struct media_prep_spec *s, const AVFrame *f);

/* Hand `f` (pts in the spec's time base; the caller keeps its reference) or NULL for the end.
 * KINO_EINTERNAL with FFmpeg's reason. */
int media_prep_send(struct media_prep *p, AVFrame *f, struct kino_err *err);

/*
 * The next prepared frame into `out` (unreferenced by the caller), pts in
 * media_prep_time_base: 0; AVERROR(EAGAIN) when it needs more frames; AVERROR_EOF after the
 * end; KINO_EINTERNAL with FFmpeg's reason.
 */
int media_prep_receive(struct media_prep *p, AVFrame *out, struct kino_err *err);

/* The time base of the frames media_prep_receive gives (bwdif halves the spec's). */
AVRational media_prep_time_base(const struct media_prep *p);

/* Accepts NULL. */
void media_prep_free(struct media_prep *p);

#endif
