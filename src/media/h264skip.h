/* SPDX-License-Identifier: MIT */
/*
 * Pictures that repeat the one before, written without the encoder: an H.264
 * P picture whose macroblocks are all skipped is a copy of the last reference
 * picture, and takes a few bytes and no encoding time. kino uses them for a
 * picture held unchanged to the end of a GOP (a still, a slide), so that every
 * frame of the grid still has its own sample: players that take a sample's
 * duration from the stream's frame rate rather than from the container
 * (WebKit on GStreamer) would skip a sample lasting the whole run
 * (docs/internals/media.md, "Repeated pictures").
 *
 * Each skipped picture is a reference picture in turn, numbered after the one
 * before (frame_num + 1, picture order count + 2): a decoder infers the high
 * bits of a picture order count from the last reference picture, and x264's
 * counts wrap every 32 frames, so a run of non-reference pictures longer than
 * that would come out in the wrong order. They use a picture parameter set of
 * their own (CAVLC, no weighted prediction, deblocking off, one reference),
 * whose id is one above the encoder's: with CAVLC, "every macroblock skipped"
 * is one number (mb_skip_run), where the encoder's CABAC would need an
 * arithmetic coder.
 *
 * Only after the last picture the encoder gives for a GOP: the encoder
 * numbers pictures in the order it received them, and a skipped picture
 * between two of its own would need a picture order count that is not free.
 * Private to the media module (FFmpeg types allowed here).
 */
#ifndef KINO_MEDIA_H264SKIP_H
#define KINO_MEDIA_H264SKIP_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "core/err.h"

struct h264_skip {
    int ok;                 /* the stream allows skipped pictures (h264_skip_init() said so) */
    int log2_max_frame_num; /* from the sequence parameter set */
    int log2_max_poc_lsb;
    int mbs;                /* macroblocks in a picture */
    int pps_id;             /* ours */
    /* What the encoder's pictures so far say, in decoding order. */
    int ref_frame_num;      /* frame_num of the last reference picture */
    int64_t max_poc;        /* highest picture order count since the last IDR */
    int64_t ref_poc;        /* picture order count of the last reference picture */
};

/*
 * Read the encoder's parameter sets (Annex B, as libx264 gives them in
 * `extradata`) and append our picture parameter set to them, reallocating
 * `*extradata` (with AV_INPUT_BUFFER_PADDING_SIZE) and updating `*size`.
 * When the stream cannot take skipped pictures (picture order counts from
 * frame numbers, which x264 writes without B-frames; interlaced coding), s->ok
 * is 0, nothing changes and 0 is returned. < 0 on a malformed or missing
 * sequence parameter set, or out of memory.
 */
int h264_skip_init(struct h264_skip *s, uint8_t **extradata, int *size, struct kino_err *err);

/* Read the slice header of each picture of an encoder's packet (Annex B), in decoding order. */
void h264_skip_note(struct h264_skip *s, const uint8_t *data, size_t size);

/*
 * The next skipped picture after the encoder's pictures so far, as an Annex B
 * packet in `pkt` (its data and size; timing and flags are the caller's).
 * s->ok must be set. < 0 only when out of memory.
 */
int h264_skip_picture(struct h264_skip *s, AVPacket *pkt, struct kino_err *err);

#endif
