/* SPDX-License-Identifier: MIT */
/*
 * The state of one media_transcode() call, shared by the pipeline's files
 * (probe.c: what the file is; pipeline.c: decode, encode; output.c: playlists,
 * MPD, publishing).
 * Private to the media module; FFmpeg types allowed here.
 */
#ifndef KINO_MEDIA_JOB_H
#define KINO_MEDIA_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "media/cmaf.h"
#include "media/h264skip.h"
#include "media/hls.h"
#include "media/ladder.h"
#include "media/media.h"
#include "media/prep.h"
#include "media/resize.h"
#include "media/lang.h"
#include "media/thumbs.h"

#define AUDIO_RATE 48000

/* An output frame given to a rung: to its encoder, or as a skipped picture (h264skip.h). */
struct sent_frame {
    int64_t idx;
    int skipped;
};

struct rung_out {
    struct ladder_entry le;
    AVCodecContext *enc;
    struct media_sws sws;          /* any size, pixel format and range to the rung's */
    struct media_resizer *resizer; /* planar YUV to 4:2:0, faster (resize.h) */
    int resizer_src_w, resizer_src_h, resizer_src_format, resizer_src_full; /* the source it
                                                           was made for (also if that failed) */
    AVFrame *frame; /* scaled picture, reused; the encoder copies it (libx264) */
    int64_t frame_picture; /* job.picture of the picture `frame` holds scaled, 0 for none */
    AVFrame *pass;  /* reference to the decoded frame when no scaling is needed */
    /* The output frames given to the rung whose packets have not come out yet, in the order
     * given (a ring): the k-th packet out decodes at the k-th of them less the reorder delay,
     * and lasts until the next (drain_video() in pipeline.c). A skipped picture's packet is
     * made when it reaches the front, after the encoder's packets before it. */
    struct sent_frame *sent;
    size_t sent_head, sent_len, sent_cap;
    struct h264_skip skip; /* skipped pictures after the encoder's (repeats = once) */
    AVPacket *waiting; /* a packet out before the frame after it was sent (no encoder delay) */
    struct cmaf_writer w;
    char codecs[64];
};

struct job {
    const struct media_options *opt;
    const char *src_path, *out_dir;
    media_progress_fn progress;
    media_publish_fn publish;
    void *progress_ctx; /* the hooks' ctx, for progress and publish */
    struct kino_err *err;

    AVFormatContext *ic;
    int vidx, aidx;
    AVCodecContext *vdec, *adec;
    AVFrame *dframe;
    AVFrame *last;     /* reference to the last video frame, to extend the video */
    int64_t picture;   /* numbers the distinct pictures sent to the rungs, from 1: a picture
                          held over several output frames, or decoded again unchanged, is
                          scaled once */
    int64_t sent_picture; /* the picture the encoders were last given */
    int repeats_sent;  /* its repeats given to the encoders as P frames since (emit_video()) */
    int64_t held_from, held; /* repeats of it not given to the rungs yet: output frames
                                held_from .. held_from + held - 1, all in one GOP */
    AVFrame *held_src;       /* the picture they show */
    int64_t video_end; /* output frame number where the video ends, once every frame is sent */
    AVPacket *pkt, *opkt;
    double duration;   /* seconds, from the container (estimate) */
    int64_t t0;        /* start of the presentation, AV_TIME_BASE units */
    int64_t reached;   /* how far into the file decoding got: the end of the latest frame
                          by its timestamp, from t0, AV_TIME_BASE units (the check for a cut
                          file in run(): a gap the timelines closed is not missing media) */
    /* Formats whose timestamps may start again mid-file (splice_timestamps in pipeline.c). */
    int ts_discont;
    int64_t ts_offset;      /* added to every packet's time since the last splice, AV_TIME_BASE */
    int64_t next_dts[2];    /* where video [0] and audio [1] were going, AV_TIME_BASE */

    /* video */
    AVRational fps;
    int gop_frames, seg_frames;
    struct rung_out rungs[MEDIA_MAX_RUNGS];
    size_t n_rungs;
    int64_t next_idx;  /* next output frame number (constant frame rate) */
    int reorder_delay; /* frames the muxed video timeline is shifted by (B-frames) */
    int64_t idx_offset;
    int64_t last_end_idx; /* the output frame where the last picture ends by its own duration:
                             one frame on, or 15 s on for a slide meant to last 15 s */
    int64_t max_frames;
    int64_t total_frames;
    struct thumbs thumbs; /* poster and storyboard (thumbs.c) */
    int src_w, src_h;
    int rotation;              /* degrees clockwise to turn the coded picture upright */
    int mirror;                /* then mirror it left to right (rotation_of in pipeline.c) */
    double display_aspect;     /* width over height of the upright picture: the rungs' shape */
    int deint;                 /* the source is interlaced: deinterlace before scaling */
    int hdr;                   /* the stream says PQ or HLG: rungs tagged BT.709, and frames
                                  that say nothing are tone-mapped (video_in) */
    enum AVColorSpace untagged_matrix; /* the YUV matrix of pictures that name none: BT.709
                                  from 720 lines up, else BT.601 (open_video_rung) */
    struct media_prep *prep;   /* bwdif, tone mapping, turning; NULL when none is needed */
    AVFrame *pframe;           /* a frame out of the prep */

    /* audio */
    AVCodecContext *aenc;
    SwrContext *swr;
    int swr_rate, swr_fmt;
    AVChannelLayout swr_layout;
    AVAudioFifo *fifo;
    AVFrame *aframe, *rframe;
    int64_t samples_in;  /* samples pushed into the fifo */
    int64_t samples_out; /* samples sent to the encoder */
    int64_t max_samples;
    int audio_started;
    int64_t a_next_seg, a_next_frag; /* next boundary numbers */
    int64_t audio_shift;             /* samples of silence ahead of the audio */
    int64_t audio_zero;              /* fifo position of the file's time 0 (fill_audio_gap) */
    int64_t audio_drop;              /* resampled samples still to drop: an overlap */
    struct cmaf_writer aw;
    struct media_lang lang; /* of the audio track (probe) */
    int has_cover; /* audio only: poster.jpg is the file's cover art, written before the sound */

    /* trick play: filled by write_iframes() at the end, listed by the final master */
    struct hls_iframe_variant iframes[MEDIA_MAX_RUNGS];
    char iframe_uris[MEDIA_MAX_RUNGS][64];
    size_t n_iframes;
    /* seek previews: the storyboard's sheets (none: n_sheets 0), by media_write_storyboard() */
    struct hls_images images;
    struct hls_segment *sheets; /* owns images.sheets: each sheet's bytes and time */

    double last_progress;
    int canceled;
    size_t published; /* segments per rendition handed to j->publish */
    int64_t last_report_ms;
};

/* ---- probe.c ----------------------------------------------------------- */

/*
 * Open j->src_path and decide what kino makes of it: j->ic, j->vidx and j->aidx (-1 for
 * none), their decoders j->vdec and j->adec, j->t0, j->duration, j->src_w and j->src_h,
 * j->lang. KINO_EMEDIA, with what is wrong and what to do in j->err, for a file kino
 * cannot use; -errno when it cannot be read; KINO_ECANCELED.
 */
int media_probe(struct job *j);

/* ---- pipeline.c: shared with probe.c and audio.c ------------------------ */

/* KINO_EMEDIA: the file lasts `s` seconds (0: unknown, found out while decoding), more than
 * the max-duration setting. */
int media_too_long(struct job *j, double s);

/* `code` with the message "<what>: <FFmpeg's reason for averr>". */
int media_ff_error(struct job *j, int code, const char *what, int averr);

/* FFmpeg's interrupt callback (`opaque` is the job): 1 once the job is canceled, which
 * reporting progress finds out. */
int media_interrupted(void *opaque);

/* Report progress once `done_s` seconds of output exist (a fraction of the declared duration,
 * or of the file read when it declares none). KINO_ECANCELED when the hook cancels the job. */
int media_report_done(struct job *j, double done_s);

/*
 * The segment grid, in output frame numbers: the first segment is one GOP long so that a
 * viewer can start as soon as possible (the media is playable once every rendition has its
 * first segment); the others are segment_seconds. Boundary k (k >= 1) starts segment k + 1.
 */
int64_t media_segment_boundary(const struct job *j, int64_t k);

/* Whether a segment starts at `frame`: a boundary, unless it is so close before the expected
 * end that it would leave a tiny last segment (players stall on those); the tail then stays in
 * the segment before. */
int media_is_segment_start(const struct job *j, int64_t frame);

/* Whether a stream whose first frame is `us` after the start is a real late start (sound that
 * starts when the speaker does), to be kept, rather than broken timestamps. */
int media_late_start(const struct job *j, int64_t us);

/* A decoded frame ends `us` into the file (by its timestamp and its own duration, from t0):
 * j->reached keeps the furthest, for the check for a cut file. */
void media_reach(struct job *j, int64_t us);

/*
 * One stream jumps ahead by over 10 s outside MPEG-TS: a pause in the whole recording (both
 * streams jump; closed) or a hole in this stream alone (a microphone that dropped out, a
 * camera that froze; the other stream plays on through it, so it is filled, or everything
 * after it would play out of sync by the hole's length). 1 for a hole: the other stream
 * (`video`: the sound; else the pictures) has already been made up to within
 * HOLE_NEAR_OTHER_S of `landing_s`, the output time this stream's frame would play at were
 * the hole filled. 0 when there is no other stream, or it has not started.
 */
#define HOLE_NEAR_OTHER_S 5.0
int media_hole_in_one_stream(const struct job *j, int video, double landing_s);

/* ---- audio.c ------------------------------------------------------------ */

/* Start the AAC encoder, its fifo and the audio segmenter (out_dir/audio). */
int media_audio_open(struct job *j);

/* One decoded audio frame: resampled to stereo 48 kHz where its timestamp puts it, encoded as
 * AAC frames fill. */
int media_audio_frame(struct job *j, const AVFrame *f);

/* `n` samples of silence, encoded as they fill AAC frames. */
int media_audio_silence(struct job *j, int64_t n);

/* At the end of the file: what the resampler still holds into the fifo. */
int media_audio_flush_resampler(struct job *j);

/* Encode what is left in the fifo, drain the encoder and close the audio segmenter. */
int media_audio_finish(struct job *j);

/* ---- output.c ----------------------------------------------------------- */

/*
 * Publish, through j->publish, the segments every rendition has closed since
 * the last call, then the growing playlists that list them and (the first
 * time) the master. No-op without a publish hook. 0 or a negative code.
 */
int media_publish_progress(struct job *j);

/*
 * Write the media playlists and the master (filling `res`) from the first
 * `upto` segments of every rendition (SIZE_MAX: all); `growing` writes EVENT
 * playlists for publishing while the transcode runs.
 */
int media_write_playlists(struct job *j, struct media_result *res, size_t upto, int growing);

/* Write each video rung's iframes.m3u8 (call before the final master, which lists them). */
int media_write_iframes(struct job *j);

/*
 * Write storyboard/images.m3u8, the storyboard as an HLS image playlist, when
 * the video has one (after thumbs_finish(); before the final master and the
 * MPD, which list it).
 */
int media_write_storyboard(struct job *j);

/* Write manifest.mpd from the segment timelines of every rendition. */
int media_write_dash(struct job *j);

/* Where the presentation ends, in seconds: the end of its longest track, as the MPD says. */
double media_presentation_end(const struct job *j);

#endif
