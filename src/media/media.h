/* SPDX-License-Identifier: MIT */
/*
 * The media pipeline: probe a source file, decode it once, scale and encode an
 * H.264 ladder plus one shared AAC rendition, package everything as CMAF
 * (init.mp4 + numbered .m4s per rendition), write HLS playlists with measured
 * bandwidths, and a poster JPEG. The only module that includes the FFmpeg
 * libraries; none of their types appear here.
 *
 * Output layout under `out_dir` (created if missing):
 *   master.m3u8                 multivariant playlist (EXT-X-VERSION:7)
 *   poster.jpg                  one representative frame; for audio, the cover art if any
 *   <rendition>/init.mp4        CMAF header: ftyp + moov
 *   <rendition>/<n>.m4s         media segments, n = 1, 2, ...
 *   <rendition>/index.m3u8      VOD media playlist
 * Rendition names: "1080p", "720p", "480p", "360p" (or "<h>p" for a
 * source smaller than the lowest rung) and "audio".
 */
#ifndef KINO_MEDIA_MEDIA_H
#define KINO_MEDIA_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MEDIA_MAX_RUNGS 8
#define MEDIA_MAX_RENDITIONS (MEDIA_MAX_RUNGS + 1)

/* One rung of the ladder: its height in lines and target bitrate. */
struct media_rung {
    int height;       /* e.g. 720; the width follows the display aspect ratio */
    int bitrate_kbps; /* the cap (VBV maxrate) for capped CRF, the rate for CBR */
};

/*
 * How x264 spends bits on every rung (the `rate-control` setting). All three keep the
 * ladder's closed 2 s GOPs; HLS and DASH declare the measured bitrates whichever is used.
 */
enum media_rate_control {
    /* Quality `crf`, never above the rung's bitrate (VBV maxrate = rung, buffer = 2 x rung):
     * easy scenes take less than the rung, hard ones the rung. The default. */
    MEDIA_RC_CAPPED_CRF,
    /* Quality `crf` alone: bitrates follow the content, rung bitrates are not used. */
    MEDIA_RC_CRF,
    /* The rung's bitrate, on average and as the cap (the same VBV; x264 calls it CBR, without
     * filler, so easy scenes may come in a little under): predictable sizes and delivery
     * cost, quality varies with the content; `crf` is not used. */
    MEDIA_RC_CBR,
};

/* "capped-crf", "crf", "cbr" -> the mode; 0, or -1 for another name. */
int media_rate_control_parse(const char *name, enum media_rate_control *out);

/* Settings for media_transcode(). media_options_init() fills the defaults of DESIGN.md. */
struct media_options {
    struct media_rung ladder[MEDIA_MAX_RUNGS]; /* highest first */
    size_t n_rungs;
    int segment_seconds;  /* 4 */
    int gop_seconds;      /* 2: closed GOP, IDR every gop_seconds on every rung */
    char x264_preset[16]; /* "veryfast" */
    int crf;              /* 23 (for the CRF modes) */
    enum media_rate_control rate_control; /* MEDIA_RC_CAPPED_CRF */
    int audio_bitrate;    /* 128000 */
    int threads;          /* encoder threads per job; 0 = automatic */
    int encode_repeats;   /* 1: every frame of the grid is encoded; 0: a picture that stays
                             to the end of its GOP is encoded once there, the rest written as
                             skipped pictures (h264skip.h); a sample per frame either way */
    int64_t max_pixels;   /* refuse sources with width*height above this (absurd headers) */
    double max_duration_s; /* refuse sources longer than this */
};

void media_options_init(struct media_options *opt);

/* What was produced for one rendition. */
struct media_rendition {
    char name[16];          /* "720p", "audio" */
    int is_audio;           /* 1 for the shared audio rendition */
    int width, height;      /* 0 for audio */
    double frame_rate;      /* 0 for audio */
    int64_t bandwidth;         /* peak segment bit rate (video + audio for video rungs), bit/s */
    int64_t average_bandwidth; /* mean bit rate (video + audio for video rungs), bit/s */
    char codecs[64];        /* RFC 6381, e.g. "avc1.64001f,mp4a.40.2" (video rungs list both) */
    int n_segments;
};

/* Summary of a finished transcode. */
struct media_result {
    int is_audio_only;      /* the source had no video stream */
    double duration_s;
    int width, height;      /* display size of the source (after rotation), 0 for audio */
    struct media_rendition renditions[MEDIA_MAX_RENDITIONS]; /* video rungs high→low, then audio */
    size_t n_renditions;
    int has_poster;         /* poster.jpg was written: always for video, for audio when the
                               file has cover art */
};

/*
 * Called as the job advances with the fraction done (0..1). Return 0 to go on,
 * non-zero to cancel: media_transcode() then stops promptly and returns
 * KINO_ECANCELED. Called on the transcoding thread.
 */
typedef int (*media_progress_fn)(void *ctx, double fraction);

/*
 * Called on the transcoding thread when the file `relpath` (relative to
 * out_dir, e.g. "720p/3.m4s" or "720p/index.m3u8") is complete and will not
 * change again, except playlists, which are published again each time they
 * grow. The callee may move the file away (publishing it). Files are
 * published in an order a player can follow: segments before the playlists
 * that list them, and "master.m3u8" first only once every rendition has its
 * first segment — from then on the media is playable. Return 0 to go on,
 * non-zero to cancel (as for progress).
 */
typedef int (*media_publish_fn)(void *ctx, const char *relpath);

/* Callbacks of one transcode; each may be NULL. */
struct media_hooks {
    media_progress_fn progress;
    media_publish_fn publish; /* NULL: everything stays in out_dir until the end */
    void *ctx;                /* handed to both */
};

/*
 * Transcode `src_path` into `out_dir` (layout above). Blocking; runs on the
 * caller's thread (encoders may use their own threads). On failure returns a
 * negative code — KINO_EMEDIA for input that is not usable media, with a
 * message in `err` saying what is wrong with the file — and `out_dir` may hold
 * partial output that the caller removes. `hooks` may be NULL. Files not
 * published through hooks->publish are in out_dir when it returns.
 * Thread-safe: independent calls may run concurrently.
 */
int media_transcode(const struct media_options *opt, const char *src_path, const char *out_dir,
                    const struct media_hooks *hooks, struct media_result *ret,
                    struct kino_err *err);

#endif
