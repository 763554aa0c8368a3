/* SPDX-License-Identifier: MIT */
/*
 * CMAF segmenter: one fragmented-MP4 muxer per rendition whose output is
 * redirected file by file, giving <dir>/init.mp4 and <dir>/1.m4s, 2.m4s...
 * The caller decides where fragments and segments begin. Private to the media
 * module (FFmpeg types allowed here).
 */
#ifndef KINO_MEDIA_CMAF_H
#define KINO_MEDIA_CMAF_H

#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "core/err.h"
#include "media/dash.h"
#include "media/hls.h"

/*
 * One fragment (moof + mdat) as the muxer wrote it, read back from its own
 * moof: where it lies, and the byte range an I-frame playlist points at.
 */
struct cmaf_fragment {
    size_t segment;     /* 0-based index into segs of the file holding it */
    int64_t offset;     /* of the moof within that file */
    int64_t key_bytes;  /* moof up to the end of the first sample (moof + mdat header + sample) */
    int64_t start;      /* earliest presentation time (tfdt + composition offsets), timescale */
    int64_t duration;   /* sum of its sample durations, timescale */
    int sync;           /* its first sample is a sync sample (an IDR for video) */
};

struct cmaf_writer {
    char dir[4096];
    AVFormatContext *fmt;
    AVIOContext *pb;
    AVRational enc_tb;      /* time base of the packets given to cmaf_write */
    int fd;                 /* current output file, -1 when none */
    int io_errno;           /* first write error, reported by the next call */
    int64_t file_bytes;     /* bytes written to the current file */
    int64_t seg_start;      /* pts (enc_tb) of the current segment's first sample */
    int64_t end_pts;        /* max pts + duration seen (enc_tb) */
    struct hls_segment *segs;
    struct dash_segment *times; /* parallel to segs: start and duration in `timescale` */
    size_t n_segs, cap_segs;
    int64_t init_bytes;
    uint32_t timescale;         /* the track timescale written in init.mp4 (mdhd) */
    struct cmaf_fragment *frags;
    size_t n_frags, cap_frags;
    uint8_t *head;              /* first bytes of the fragment being flushed, or init.mp4 */
    size_t head_len;
    int capturing;              /* write_cb copies the start of what it writes into head */
    int holding;                /* write_cb puts everything into head, nothing in a file */
};

/*
 * Create `dir` and write dir/init.mp4 (ftyp, with the CMAF brand "cmfc", and
 * moov) for one stream encoded by `enc` (opened, with global header).
 * `language` and `display_matrix` (9 int32, for a rotated source) may be
 * NULL. On failure the writer still needs cmaf_release().
 */
int cmaf_open(struct cmaf_writer *w, const char *dir, const AVCodecContext *enc,
              const char *language, const uint8_t *display_matrix, struct kino_err *err);

/*
 * Write one encoded packet (timestamps in the encoder time base; the packet is
 * consumed). `new_segment` starts a new .m4s file with this packet;
 * `new_fragment` closes the current moof/mdat first (implied by a segment).
 */
int cmaf_write(struct cmaf_writer *w, AVPacket *pkt, int new_fragment, int new_segment,
               struct kino_err *err);

/* Flush the last fragment and close the last segment. */
int cmaf_finish(struct cmaf_writer *w, struct kino_err *err);

/* Free everything; accepts a zeroed, half-built or finished writer. */
void cmaf_release(struct cmaf_writer *w);

#endif
