/* SPDX-License-Identifier: MIT */
/*
 * media_transcode(): probe (probe.c), decode once, scale and encode every
 * rung, encode the audio once and hand packets to the CMAF segmenters;
 * output.c writes the playlists and the MPD from what was measured and
 * publishes as segments close. Single-threaded orchestration; libx264 and
 * the decoder run their own threads. The state of a call is struct job
 * (job.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "media/media.h"
#include "media/job.h"
#include "media/cmaf.h"
#include "media/hls.h"
#include "media/ladder.h"
#include "media/prep.h"
#include "media/resize.h"
#include "media/thumbs.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/banned.h"

void media_options_init(struct media_options *opt)
{
    static const struct media_rung defaults[] = {
        { 1080, 5000 }, { 720, 2800 }, { 480, 1400 }, { 360, 800 },
    };
    memset(opt, 0, sizeof(*opt));
    memcpy(opt->ladder, defaults, sizeof(defaults));
    opt->n_rungs = sizeof(defaults) / sizeof(defaults[0]);
    opt->segment_seconds = 4;
    opt->gop_seconds = 2;
    snprintf(opt->x264_preset, sizeof(opt->x264_preset), "%s", "veryfast");
    opt->crf = 23;
    opt->rate_control = MEDIA_RC_CAPPED_CRF;
    opt->audio_bitrate = 128000;
    opt->threads = 0;
    opt->encode_repeats = 1;
    /* 8K UHD (7680x4320) with room to spare; beyond that a header is lying or abusive. */
    opt->max_pixels = 8192LL * 4608;
    opt->max_duration_s = 24 * 3600.0;
}

int media_rate_control_parse(const char *name, enum media_rate_control *out)
{
    static const struct {
        const char *name;
        enum media_rate_control mode;
    } modes[] = {
        { "capped-crf", MEDIA_RC_CAPPED_CRF },
        { "crf", MEDIA_RC_CRF },
        { "cbr", MEDIA_RC_CBR },
    };
    for (size_t i = 0; name && i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(name, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    return -1;
}

/* "95 s", "12 min", "3.5 h": a length a person reads in an error message. */
static const char *fmt_duration(char *out, size_t cap, double s)
{
    if (s < 120)
        snprintf(out, cap, "%.0f s", s);
    else if (s < 3 * 3600)
        snprintf(out, cap, "%.0f min", s / 60);
    else
        snprintf(out, cap, "%.1f h", s / 3600);
    return out;
}

int media_too_long(struct job *j, double s)
{
    char a[32], b[32];
    if (s > 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is %s long, more than the %s kino accepts; cut it into "
                            "parts and upload them separately",
                            fmt_duration(a, sizeof(a), s),
                            fmt_duration(b, sizeof(b), j->opt->max_duration_s));
    return kino_err_set(j->err, KINO_EMEDIA,
                        "the file runs longer than the %s kino accepts; cut it into parts and "
                        "upload them separately",
                        fmt_duration(b, sizeof(b), j->opt->max_duration_s));
}

int media_ff_error(struct job *j, int code, const char *what, int averr)
{
    return kino_err_set(j->err, code, "%s: %s", what, av_err2str(averr));
}

/* Even without headway the caller hears from us this often, so it can cut off a stuck job. */
#define REPORT_EVERY_MS 500

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int report(struct job *j, double fraction)
{
    if (!j->progress)
        return 0;
    if (fraction > 1)
        fraction = 1;
    int64_t now = mono_ms();
    if (fraction < j->last_progress + 0.002 && fraction < 1 &&
        now - j->last_report_ms < REPORT_EVERY_MS)
        return 0;
    j->last_report_ms = now;
    if (fraction > j->last_progress)
        j->last_progress = fraction;
    if (j->progress(j->progress_ctx, j->last_progress) != 0) {
        j->canceled = 1;
        return kino_err_set(j->err, KINO_ECANCELED, "the transcode was canceled");
    }
    return 0;
}

/*
 * How far the job is, 0..1, once `done_s` seconds of output exist: against the declared
 * duration, or when the file declares none (a WebM recorded live in a browser), by how much
 * of the file has been read, so that progress does not sit at 0 until the end.
 */
static double fraction_done(const struct job *j, double done_s)
{
    if (j->duration > 0)
        return done_s / j->duration;
    AVIOContext *pb = j->ic->pb;
    int64_t size = pb ? avio_size(pb) : -1, pos = pb ? avio_tell(pb) : -1;
    return size > 0 && pos > 0 ? (double)pos / size : 0;
}

int media_report_done(struct job *j, double done_s)
{
    return report(j, fraction_done(j, done_s));
}

int media_interrupted(void *opaque)
{
    struct job *j = opaque;
    return j->canceled || report(j, j->last_progress) < 0;
}

/* The constant output frame rate: the source's, halved while above 60 (ladder.c). */
static AVRational pick_fps(const AVStream *st)
{
    AVRational fps;
    ladder_frame_rate(st->avg_frame_rate.num, st->avg_frame_rate.den, st->r_frame_rate.num,
                      st->r_frame_rate.den, &fps.num, &fps.den);
    return fps;
}

/* ---- encoders --------------------------------------------------------- */

/*
 * How to show the coded picture, from the stream's display matrix: turned `rotation` degrees
 * clockwise (0, 90, 180, 270), then mirrored left to right when *ret_mirror is set. Phones
 * only turn; a mirrored matrix (QuickTime's Flip Horizontal, a selfie app's) has a negative
 * determinant. Taken as a turn alone, a plain left-right flip read as 180 degrees and showed
 * the picture upside down. Mirroring the matrix back first leaves the turn.
 */
static int rotation_of(const AVStream *st, int *ret_mirror)
{
    const int32_t *m = (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX,
                                                                NULL);
    *ret_mirror = 0;
    if (!m)
        return 0;
    int32_t turn[9];
    memcpy(turn, m, sizeof(turn));
    /* a, b, c, d of x' = a x + c y, y' = b x + d y are m[0], m[1], m[3], m[4] (16.16). */
    if ((double)m[0] * m[4] - (double)m[1] * m[3] < 0) {
        *ret_mirror = 1;
        turn[0] = -m[0]; /* x' = -x' undone: the turn before the mirror */
        turn[3] = -m[3];
    }
    double r = -av_display_rotation_get(turn);
    if (isnan(r)) {
        *ret_mirror = 0;
        return 0;
    }
    long deg = lround(r / 90.0) * 90 % 360;
    return (int)(deg < 0 ? deg + 360 : deg);
}

/*
 * The colour tags of every rung: what the pictures are, so that every player shows every
 * rung alike. Tone-mapped HDR and RGB sources are BT.709 (prep.c, media_sws_get()); tags the
 * source gives are kept; untagged video gets the matrix players take the source to be.
 */
static void tag_colours(const struct job *j, AVCodecContext *c)
{
    if (j->hdr) {
        c->color_primaries = AVCOL_PRI_BT709;
        c->color_trc = AVCOL_TRC_BT709;
        c->colorspace = AVCOL_SPC_BT709;
    } else if (media_format_is_rgb(j->vdec->pix_fmt) || j->vdec->colorspace == AVCOL_SPC_RGB) {
        /* RGB pictures (GIF, PNG, lossless screen captures) become YUV with BT.709's matrix
         * (media_sws_get()). Copying the source's "RGB" matrix tag onto YUV made players that
         * honour it show green and purple pictures. YUV tagged RGB (a damaged stream) is
         * taken as BT.709 too, thumbnails alike (media_sws_matrix()). */
        c->color_primaries = j->vdec->color_primaries != AVCOL_PRI_UNSPECIFIED
                                 ? j->vdec->color_primaries : AVCOL_PRI_BT709;
        c->color_trc = j->vdec->color_trc != AVCOL_TRC_UNSPECIFIED ? j->vdec->color_trc
                                                                   : AVCOL_TRC_BT709;
        c->colorspace = AVCOL_SPC_BT709;
    } else if (j->vdec->colorspace == AVCOL_SPC_UNSPECIFIED) {
        /*
         * Untagged: players guess by each picture's height, and Chromium takes BT.709 from 720
         * lines up and BT.601 below. Left untagged, a 1080p source's 480p and 360p rungs were
         * shown with the other matrix than its 1080p and 720p ones, so colours jumped at every
         * switch. Every rung says what the source itself is shown as.
         */
        enum AVColorSpace m = j->untagged_matrix;
        c->colorspace = m;
        c->color_primaries = j->vdec->color_primaries != AVCOL_PRI_UNSPECIFIED
                                 ? j->vdec->color_primaries
                             : m == AVCOL_SPC_BT709 ? AVCOL_PRI_BT709
                                                    : AVCOL_PRI_SMPTE170M;
        c->color_trc = j->vdec->color_trc != AVCOL_TRC_UNSPECIFIED ? j->vdec->color_trc
                       : m == AVCOL_SPC_BT709                      ? AVCOL_TRC_BT709
                                                                   : AVCOL_TRC_SMPTE170M;
    } else {
        c->color_primaries = j->vdec->color_primaries;
        c->color_trc = j->vdec->color_trc;
        c->colorspace = j->vdec->colorspace;
    }
}

static int open_video_rung(struct job *j, struct rung_out *r)
{
    char params[128];
    int rc;
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        return kino_err_set(j->err, KINO_EINTERNAL, "FFmpeg was built without libx264");
    AVCodecContext *c = r->enc = avcodec_alloc_context3(codec);
    if (!c)
        return kino_err_set(j->err, -ENOMEM, "out of memory");
    c->width = r->le.width;
    c->height = r->le.height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->sample_aspect_ratio = (AVRational){ 1, 1 };
    c->time_base = av_inv_q(j->fps);
    c->framerate = j->fps;
    c->gop_size = j->gop_frames;
    c->keyint_min = j->gop_frames;
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    c->thread_count = j->opt->threads;
    if (j->opt->rate_control != MEDIA_RC_CRF) {
        /* Two rung-seconds of buffer: a hard second may briefly go above the rung, the
         * segments never do by much (BANDWIDTH is measured in any case). */
        c->rc_max_rate = (int64_t)r->le.bitrate_kbps * 1000;
        c->rc_buffer_size = (int)(2 * c->rc_max_rate);
    }
    if (j->opt->rate_control == MEDIA_RC_CBR)
        c->bit_rate = (int64_t)r->le.bitrate_kbps * 1000;
    tag_colours(j, c);
    c->color_range = AVCOL_RANGE_MPEG;
    av_opt_set(c->priv_data, "preset", j->opt->x264_preset, 0);
    av_opt_set(c->priv_data, "profile", "high", 0);
    if (j->opt->rate_control != MEDIA_RC_CBR)
        av_opt_set_double(c->priv_data, "crf", j->opt->crf, 0);
    /* forced-idr: our I requests must become IDRs (closed GOP), not open-GOP I frames. */
    av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
    /*
     * scenecut=0: no extra IDRs, which would split fragments differently per
     * rung. keyint equals our forced interval, so x264 never inserts its own.
     */
    snprintf(params, sizeof(params), "scenecut=0:open-gop=0:keyint=%d:min-keyint=%d",
             j->gop_frames, j->gop_frames);
    av_opt_set(c->priv_data, "x264-params", params, 0);
    rc = avcodec_open2(c, codec, NULL);
    if (rc < 0)
        return kino_err_set(j->err, KINO_EINTERNAL,
                            "cannot start the H.264 encoder for %dx%d (preset \"%s\"): %s",
                            c->width, c->height, j->opt->x264_preset, av_err2str(rc));
    if (hls_codec_avc(c->extradata, (size_t)c->extradata_size, r->codecs, sizeof(r->codecs)) < 0)
        return kino_err_set(j->err, KINO_EINTERNAL, "the H.264 encoder gave no SPS");
    /* Our picture parameter set goes with the encoder's into init.mp4 (cmaf_open below). */
    if (!j->opt->encode_repeats &&
        (rc = h264_skip_init(&r->skip, &c->extradata, &c->extradata_size, j->err)) < 0)
        return rc;
    r->frame = av_frame_alloc();
    r->pass = av_frame_alloc();
    r->waiting = av_packet_alloc();
    if (!r->frame || !r->pass || !r->waiting)
        return kino_err_set(j->err, -ENOMEM, "out of memory");
    rc = media_resizer_frame_alloc(r->frame, c->width, c->height);
    if (rc < 0)
        return media_ff_error(j, -ENOMEM, "out of memory", rc);

    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/%s", j->out_dir, r->le.name);
    /*
     * No display matrix: the pixels are already turned upright (prep.c),
     * and not every player honours a matrix; carrying it would turn them twice.
     */
    return cmaf_open(&r->w, dir, c, NULL, NULL, j->err);
}

/* ---- video path ------------------------------------------------------- */

/* The segment grid (job.h): frame numbers alone decide it, so video and audio agree. */
int64_t media_segment_boundary(const struct job *j, int64_t k)
{
    return k == 0 ? 0 : j->gop_frames + (k - 1) * j->seg_frames;
}

int media_is_segment_start(const struct job *j, int64_t frame)
{
    if (frame != 0 && (frame < j->gop_frames || (frame - j->gop_frames) % j->seg_frames != 0))
        return 0;
    int64_t tail = j->gop_frames / 2;
    return frame == 0 || j->total_frames <= 0 || frame > j->total_frames ||
           frame < j->total_frames - tail;
}

/* Note that output frame `idx` went to the rung (r->sent): to its encoder, or `skipped`. */
static void sent_push(struct rung_out *r, int64_t idx, int skipped)
{
    if (r->sent_len == r->sent_cap) {
        size_t cap = r->sent_cap ? 2 * r->sent_cap : 64;
        struct sent_frame *grown = xmalloc(cap * sizeof(*grown));
        for (size_t i = 0; i < r->sent_len; i++)
            grown[i] = r->sent[(r->sent_head + i) % r->sent_cap];
        free(r->sent);
        r->sent = grown;
        r->sent_head = 0;
        r->sent_cap = cap;
    }
    r->sent[(r->sent_head + r->sent_len++) % r->sent_cap] =
        (struct sent_frame){ .idx = idx, .skipped = skipped };
}

/*
 * Time and write the oldest packet out of the encoder, or the skipped picture at the front of
 * r->sent (write_skipped()). Its decode time is the k-th frame given to the rung less the
 * reorder delay, and it lasts until the frame given after that one: with every frame sent
 * that is x264's own timing, and skipped pictures (flush_held()) take their turn in r->sent
 * like the encoder's frames, so every sample lasts one frame. Players take a sample's
 * duration as the time it covers, so the timeline has no hole. When that next frame is not
 * given yet (an encoder without delay), the packet waits in r->waiting.
 */
static int write_video_packet(struct job *j, struct rung_out *r, AVPacket *pkt)
{
    if (r->sent_len == 0)
        return kino_err_set(j->err, KINO_EINTERNAL,
                            "the H.264 encoder gave more pictures than it was given; this is a "
                            "bug in kino");
    int64_t at = r->sent[r->sent_head].idx, next;
    int skipped = r->sent[r->sent_head].skipped;
    if (r->sent_len >= 2) {
        next = r->sent[(r->sent_head + 1) % r->sent_cap].idx;
    } else if (j->video_end > at) {
        next = j->video_end; /* the last frame sent: it lasts to the end */
    } else {
        av_packet_move_ref(r->waiting, pkt);
        return 0;
    }
    r->sent_head = (r->sent_head + 1) % r->sent_cap;
    r->sent_len--;
    pkt->dts = at - j->reorder_delay;
    pkt->duration = next - at;
    if (pkt->dts > pkt->pts)
        return kino_err_set(j->err, KINO_EINTERNAL,
                            "the H.264 encoder put a picture after its presentation time (frame "
                            "%" PRId64 "); this is a bug in kino",
                            pkt->pts);
    if (!skipped) /* the encoder's: what a skipped picture after it must follow */
        h264_skip_note(&r->skip, pkt->data, (size_t)pkt->size);
    int64_t pts = pkt->pts;
    int key = (pkt->flags & AV_PKT_FLAG_KEY) && pts % j->gop_frames == 0;
    int seg = key && media_is_segment_start(j, pts);
    /*
     * The track starts at the reorder delay: the first packet decodes at 0 and every
     * composition offset is >= 0 (see setup_video()).
     */
    pkt->pts += j->reorder_delay;
    pkt->dts += j->reorder_delay;
    int rc = cmaf_write(&r->w, pkt, key, seg, j->err);
    if (rc == 0 && seg)
        rc = media_publish_progress(j);
    return rc;
}

/*
 * Write the skipped pictures at the front of r->sent: every packet of the encoder before them
 * is out. Each shows the frame its number says, decoding in turn after the encoder's.
 */
static int write_skipped(struct job *j, struct rung_out *r)
{
    int rc;
    while (r->sent_len > 0 && r->sent[r->sent_head].skipped && !r->waiting->data) {
        if ((rc = h264_skip_picture(&r->skip, j->opkt, j->err)) < 0)
            return rc;
        j->opkt->pts = r->sent[r->sent_head].idx;
        if ((rc = write_video_packet(j, r, j->opkt)) < 0)
            return rc;
    }
    return 0;
}

/* Move every packet the encoder has ready into the rung's segmenter. */
static int drain_video(struct job *j, struct rung_out *r)
{
    int rc;
    if ((rc = write_skipped(j, r)) < 0)
        return rc;
    if (r->waiting->data) {
        av_packet_move_ref(j->opkt, r->waiting);
        if ((rc = write_video_packet(j, r, j->opkt)) < 0 || (rc = write_skipped(j, r)) < 0)
            return rc;
    }
    /* While a packet waits, the encoder keeps the ones after it. */
    while (!r->waiting->data) {
        rc = avcodec_receive_packet(r->enc, j->opkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return media_ff_error(j, KINO_EINTERNAL, "the H.264 encoder failed", rc);
        if ((rc = write_video_packet(j, r, j->opkt)) < 0 || (rc = write_skipped(j, r)) < 0)
            return rc;
    }
    return 0;
}

/*
 * Make the rung's zimg resizer for `src`'s size (again if the size changed).
 * When zimg refuses, the rung keeps scaling with swscale: < 0, nothing lost.
 */
static int prepare_resizer(struct rung_out *r, const AVFrame *src)
{
    int full = media_frame_is_full_range(src);
    if (r->resizer_src_w != src->width || r->resizer_src_h != src->height ||
        r->resizer_src_format != src->format || r->resizer_src_full != full) {
        media_resizer_free(r->resizer);
        r->resizer = NULL;
        r->resizer_src_w = src->width;
        r->resizer_src_h = src->height;
        r->resizer_src_format = src->format;
        r->resizer_src_full = full;
        struct kino_err ignored = { 0 };
        (void)media_resizer_new(src->width, src->height, src->format, full, r->le.width,
                                r->le.height, &r->resizer, &ignored);
    }
    return r->resizer ? 0 : -1;
}

/*
 * Scale `src` to the rung (zimg for planar YUV, swscale for the rest) and encode it. The rungs are
 * limited range, as players expect H.264 to be: full-range sources (phones, screen
 * recorders) are converted on the way.
 */
static int encode_rung(struct job *j, struct rung_out *r, const AVFrame *src, int64_t idx,
                       enum AVPictureType type, int qp_offset)
{
    AVFrame *f;
    int rc;
    if (r->frame_picture > 0 && r->frame_picture == j->picture) {
        /* The picture again (a gap in a variable-rate source, or the last one held to the
         * end of the sound): already scaled. A screen recording repeats most of its frames. */
        f = r->frame;
    } else if (src->format == AV_PIX_FMT_YUV420P && !media_frame_is_full_range(src) &&
        src->width == r->le.width && src->height == r->le.height) {
        /* Same size, format and range: no copy, the encoder reads the decoded picture. */
        av_frame_unref(r->pass);
        if ((rc = av_frame_ref(r->pass, src)) < 0)
            return media_ff_error(j, -ENOMEM, "out of memory", rc);
        f = r->pass;
    } else if ((rc = av_frame_make_writable(r->frame)) < 0) {
        return media_ff_error(j, -ENOMEM, "out of memory", rc);
    } else if (media_resizer_takes(src->format) && prepare_resizer(r, src) == 0 &&
               media_resizer_can(r->resizer, src, r->frame)) {
        if ((rc = media_resizer_run(r->resizer, src, r->frame, j->err)) < 0)
            return rc;
        f = r->frame;
        r->frame_picture = j->picture;
    } else {
        struct SwsContext *sws = media_sws_get(&r->sws, src, r->le.width, r->le.height,
                                               AV_PIX_FMT_YUV420P, SWS_BICUBIC);
        if (!sws)
            return kino_err_set(j->err, KINO_EMEDIA,
                                "cannot convert the video's pixel format (%s)",
                                av_get_pix_fmt_name(src->format));
        sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
                  r->frame->data, r->frame->linesize);
        f = r->frame;
        r->frame_picture = j->picture;
    }
    f->pts = idx;
    f->pkt_duration = 1;
    f->sample_aspect_ratio = (AVRational){ 1, 1 };
    f->pict_type = type;
    f->key_frame = type == AV_PICTURE_TYPE_I;
    if (qp_offset) { /* the whole picture: libx264 turns it into x264's quant offsets */
        AVFrameSideData *sd = av_frame_new_side_data(f, AV_FRAME_DATA_REGIONS_OF_INTEREST,
                                                     sizeof(AVRegionOfInterest));
        if (!sd)
            return kino_err_set(j->err, -ENOMEM, "out of memory");
        AVRegionOfInterest *roi = (AVRegionOfInterest *)sd->data;
        *roi = (AVRegionOfInterest){ .self_size = sizeof(*roi), .top = 0, .bottom = f->height,
                                     .left = 0, .right = f->width,
                                     .qoffset = (AVRational){ qp_offset, 51 } };
    }
    sent_push(r, idx, 0);
    rc = avcodec_send_frame(r->enc, f);
    av_frame_remove_side_data(f, AV_FRAME_DATA_REGIONS_OF_INTEREST);
    if (f == r->pass)
        av_frame_unref(r->pass);
    if (rc < 0)
        return media_ff_error(j, KINO_EINTERNAL, "the H.264 encoder refused a frame", rc);
    return drain_video(j, r);
}

/*
 * QP added to an IDR that repeats the picture before it and stays to the end of its GOP
 * (flush_held(): the rest of the GOP is skipped pictures, which x264 never sees, so to x264
 * the IDR lasts the whole GOP). x264 weighs a picture by how long it stays on screen (its
 * complexity divided by its duration, up to 1 s), so such an IDR came out about 11 QP finer
 * than one frame of 1/30 s, which with every frame encoded is followed by repeats that
 * reference it. Without the offset a grainy still cost 1.25-2.6 times the bits of every frame encoded
 * (bench/transcode --still); with +6 at veryfast, 1.01-1.37 times, at -1.2 to +1.1 dB; a
 * clean one about the same bits and PSNR (docs/internals/media.md, "Repeated pictures").
 */
#define REPEAT_IDR_QP_OFFSET 6

/* Give output frame `idx`, showing `src`, to every rung's encoder (an IDR on the GOP grid). */
static int encode_all(struct job *j, const AVFrame *src, int64_t idx, enum AVPictureType type,
                      int qp_offset)
{
    int rc;
    if (idx % j->gop_frames == 0)
        type = AV_PICTURE_TYPE_I;
    /*
     * Every rung is scaled from the full decoded frame. Scaling each from the
     * rung above (a cascade) halves the scaling cost but measured 0.2 dB (480p)
     * and 0.5 dB (360p) worse PSNR on bench/transcode's source: not worth it.
     */
    for (size_t i = 0; i < j->n_rungs; i++)
        if ((rc = encode_rung(j, &j->rungs[i], src, idx, type, qp_offset)) < 0)
            return rc;
    return 0;
}

/*
 * Give the held repeats (emit_video()) to the rungs. `to_gop_end`: the picture stays to the
 * end of the GOP (or of the video), so they become skipped pictures after the encoder's last
 * one (h264skip.h), a held IDR with REPEAT_IDR_QP_OFFSET; otherwise (the picture changes
 * within the GOP, or a rung cannot skip) the encoders get them all.
 */
static int flush_held(struct job *j, int to_gop_end)
{
    int rc = 0;
    if (j->held == 0)
        return 0;
    int skip = to_gop_end;
    for (size_t i = 0; i < j->n_rungs; i++)
        skip = skip && j->rungs[i].skip.ok;
    int64_t idx = j->held_from, end = j->held_from + j->held;
    /* The picture the held frames show is scaled already (encode_rung() reuses it). */
    int64_t current = j->picture;
    j->picture = j->sent_picture;
    if (idx % j->gop_frames == 0) /* the GOP's IDR, repeating the picture before it */
        rc = encode_all(j, j->held_src, idx++, AV_PICTURE_TYPE_I,
                        skip ? REPEAT_IDR_QP_OFFSET : 0);
    for (; rc == 0 && idx < end; idx++) {
        if (!skip) {
            rc = encode_all(j, j->held_src, idx, AV_PICTURE_TYPE_NONE, 0);
            continue;
        }
        for (size_t i = 0; i < j->n_rungs; i++)
            sent_push(&j->rungs[i], idx, 1);
    }
    j->picture = current;
    j->held = 0;
    av_frame_unref(j->held_src);
    return rc;
}

/*
 * Output frame `idx` shows `src`, picture number j->picture. The IDR grid: same frame numbers,
 * hence same timestamps, on every rung.
 *
 * A picture repeated unchanged (a still image exported as a video, a slideshow, a screen
 * recording, a hole filled) costs an encoder nearly as long per frame as a new one. With
 * repeats = once, its repeats are held (and a GOP's IDR that repeats the picture before it)
 * until it is known whether the picture stays to the end of the GOP: then the encoders get
 * the IDR, if held, and the rest of the GOP becomes skipped pictures, a few bytes each,
 * written without the encoder (flush_held()); if it changes within the GOP, the encoders get
 * every held frame before the new picture. Every frame of the grid keeps its own sample,
 * which players that take a sample's duration from the frame rate need (WebKit on
 * GStreamer).
 *
 * A skipped picture copies the last reference picture decoded, which must be the picture
 * held. So the first two repeats of a run within a GOP go to the encoders as P frames, and
 * only the later ones are held: x264 decodes B frames after the P frame that follows them,
 * one of them a reference (B-pyramid), and the second P has none before it. A held IDR is
 * alone in its GOP. Without the two P frames, a run after motion showed a B frame from
 * before it (motion_still.mp4 in tests/e2e/inputs.py: 20.1 dB against the held picture).
 *
 * The first two GOPs are sent whole: x264 gives a picture out only after about a dozen more
 * went in (lookahead, frame threads, B frames), and the first segment, which makes the media
 * playable, closes when the IDR after it comes out: with a still held from the second GOP
 * on, that would take a GOP more of the source to decode.
 */
static int emit_video(struct job *j, const AVFrame *src, int64_t idx)
{
    int rc;
    if (idx >= j->max_frames)
        return media_too_long(j, 0);
    int repeat = j->picture == j->sent_picture && idx > 0;
    int once = repeat && !j->opt->encode_repeats && idx >= 2 * j->gop_frames;
    if (idx % j->gop_frames == 0) {
        if ((rc = flush_held(j, 1)) < 0)
            return rc;
        j->repeats_sent = 2; /* an IDR has no B frame before it */
    } else if (!repeat) {
        j->repeats_sent = 0;
    }
    if (once && j->repeats_sent < 2) {
        j->repeats_sent++;
        if ((rc = encode_all(j, src, idx, AV_PICTURE_TYPE_P, 0)) < 0)
            return rc;
    } else if (once) {
        if (j->held == 0) {
            j->held_from = idx;
            if ((rc = av_frame_ref(j->held_src, src)) < 0)
                return media_ff_error(j, -ENOMEM, "out of memory", rc);
        }
        j->held++;
    } else {
        if (!repeat && (rc = flush_held(j, 0)) < 0)
            return rc;
        if ((rc = encode_all(j, src, idx, AV_PICTURE_TYPE_NONE, 0)) < 0)
            return rc;
    }
    j->sent_picture = j->picture;
    if ((rc = thumbs_frame(&j->thumbs, src, idx, j->err)) < 0)
        return rc;
    return report(j, fraction_done(j, idx / av_q2d(j->fps)));
}

/*
 * Whether a stream whose first picture or sound comes `us` after the start of the file
 * really begins that late (sound that starts when the speaker does, pictures after an
 * audio-only intro), as opposed to broken timestamps: up to the file's declared duration,
 * and up to 10 s in a file that declares none. Honoured, the lead is filled (silence, or
 * the first picture held) so the two stay in sync; before, a lead of over 10 s was dropped
 * and the stream played that much early.
 */
int media_late_start(const struct job *j, int64_t us)
{
    double limit = j->duration > 10 ? j->duration : 10;
    return us > 0 && us < limit * AV_TIME_BASE;
}

void media_reach(struct job *j, int64_t us)
{
    if (us > j->reached)
        j->reached = us;
}

int media_hole_in_one_stream(const struct job *j, int video, double landing_s)
{
    double other;
    if (video) {
        if (!j->aenc || !j->audio_started)
            return 0;
        other = (double)(j->samples_in + j->aenc->initial_padding - j->audio_shift) / AUDIO_RATE;
    } else {
        if (j->vidx < 0 || j->next_idx == 0)
            return 0;
        other = j->next_idx / av_q2d(j->fps);
    }
    return landing_s - other <= HOLE_NEAR_OTHER_S;
}

/*
 * Constant frame rate: each decoded frame lands on the output frame number
 * nearest its timestamp; frames that land on a taken number are dropped and
 * holes are filled by repeating the frame. A jump ahead by over 10 s is
 * closed instead when the sound jumps too (a paused recording) or there is no
 * sound (broken timestamps would make minutes of repeated frames); filled
 * when the sound plays on through it (media_hole_in_one_stream()).
 */
static int video_frame(struct job *j, const AVFrame *f)
{
    AVStream *st = j->ic->streams[j->vidx];
    int64_t ts = f->best_effort_timestamp;
    /* How many output frames this picture lasts by its own duration: one, or many for a
     * picture of a slideshow or of a screen recording that only sends changes. */
    int64_t span = f->pkt_duration > 0
                       ? av_rescale_q(f->pkt_duration, st->time_base, av_inv_q(j->fps))
                       : 1;
    if (span < 1)
        span = 1;
    if (span > j->max_frames) /* a damaged duration: nothing lasts longer than the limit */
        span = j->max_frames;
    int64_t idx, us = 0;
    if (ts == AV_NOPTS_VALUE) {
        idx = j->next_idx;
    } else {
        us = av_rescale_q(ts, st->time_base, AV_TIME_BASE_Q) - j->t0;
        idx = av_rescale_q(us, AV_TIME_BASE_Q, av_inv_q(j->fps)) + j->idx_offset;
        media_reach(j, us + av_rescale_q(span, av_inv_q(j->fps), AV_TIME_BASE_Q));
    }
    int64_t second = j->fps.num / j->fps.den + 1;
    /* A hole is what lies beyond the end of the picture before it. */
    int64_t expected = j->next_idx > j->last_end_idx ? j->next_idx : j->last_end_idx;
    if (idx < j->next_idx) {
        if (j->next_idx - idx < 2 * second)
            return 0;
        j->idx_offset += j->next_idx - idx;
        idx = j->next_idx;
    } else if (idx - expected > 10 * second && !(j->next_idx == 0 && media_late_start(j, us)) &&
               !j->ts_discont && !media_hole_in_one_stream(j, 1, idx / av_q2d(j->fps))) {
        j->idx_offset -= idx - j->next_idx;
        idx = j->next_idx;
    }
    j->last_end_idx = idx + span;
    /* Up to this picture's time the one before it stays on screen, as players show it (a
     * slide until the next one); before the first picture, the first one. j->picture numbers
     * the picture being sent, so that a rung scales each picture once (encode_rung()). */
    const AVFrame *before = j->last->buf[0] ? j->last : f;
    /* Decoded again unchanged (a still image encoded as a video): the same picture. */
    int same = before != f && media_frame_same_picture(j->last, f);
    if (before == f)
        j->picture++;
    while (j->next_idx < idx) {
        int rc = emit_video(j, before, j->next_idx);
        if (rc < 0)
            return rc;
        j->next_idx++;
    }
    if (before != f && !same)
        j->picture++;
    if (j->next_idx == idx) {
        int rc = emit_video(j, f, j->next_idx);
        if (rc < 0)
            return rc;
        j->next_idx++;
    }
    av_frame_unref(j->last);
    return av_frame_ref(j->last, f) < 0 ? kino_err_set(j->err, -ENOMEM, "out of memory") : 0;
}

/* ---- upright, progressive, SDR pictures (prep.h) --------------------- */

static int is_hdr_transfer(enum AVColorTransferCharacteristic trc)
{
    return trc == AVCOL_TRC_SMPTE2084 || trc == AVCOL_TRC_ARIB_STD_B67;
}

/* The sample aspect ratio of `f` (NULL: of the stream) as kino honours it (ladder.h). */
static AVRational source_sar(const struct job *j, AVFrame *f)
{
    AVRational sar = av_guess_sample_aspect_ratio(j->ic, j->ic->streams[j->vidx], f);
    return ladder_sar_usable(sar.num, sar.den) ? sar : (AVRational){ 1, 1 };
}

/* Width over height of a w x h picture with sample aspect `sar`, as shown once turned. */
static double upright_aspect(int w, int h, AVRational sar, int rotation)
{
    double dw = sar.num > 0 && sar.den > 0 ? (double)w * sar.num / sar.den : w;
    return rotation == 90 || rotation == 270 ? h / dw : dw / h;
}

/*
 * The rungs have the shape of the first pictures. A stream whose pictures later change shape
 * (a call recording that goes from a camera to a portrait screen share) would be stretched to
 * it; instead such a picture is centred on black of the rungs' shape, as players letterbox.
 * Sets pad_w, pad_h (upright samples, even) when `f` differs by more than 1 %, and not beyond
 * max-pixels.
 */
static void letterbox(const struct job *j, AVFrame *f, struct media_prep_spec *spec)
{
    AVRational sar = source_sar(j, f);
    double a = upright_aspect(f->width, f->height, sar, j->rotation);
    if (fabs(a / j->display_aspect - 1) <= 0.01)
        return;
    int turned = j->rotation == 90 || j->rotation == 270;
    int w = turned ? f->height : f->width, h = turned ? f->width : f->height;
    double s = sar.num > 0 && sar.den > 0 ? av_q2d(sar) : 1; /* width of a sample, upright: */
    if (turned)
        s = 1 / s;
    double pw = w, ph = h;
    if (a < j->display_aspect)
        pw = h * j->display_aspect / s; /* narrower: bars left and right */
    else
        ph = w * s / j->display_aspect; /* wider: bars above and below */
    /* In floating point first: a hostile sample aspect could make the product overflow. */
    if (!((pw + 2) * (ph + 2) <= (double)j->opt->max_pixels))
        return;
    spec->pad_w = ((int)ceil(pw) + 1) / 2 * 2;
    spec->pad_h = ((int)ceil(ph) + 1) / 2 * 2;
}

static struct media_prep_spec prep_spec(const struct job *j, int hdr)
{
    return (struct media_prep_spec){ .deinterlace = j->deint,
                                     .rotation = j->rotation,
                                     .mirror = j->mirror,
                                     .hdr = hdr,
                                     .max_w = j->rungs[0].le.width,
                                     .max_h = j->rungs[0].le.height,
                                     .time_base = j->ic->streams[j->vidx]->time_base };
}

/* Hand every frame the prep has ready to the frame-rate stage, in source time. */
static int prep_drain(struct job *j)
{
    AVRational in_tb = j->ic->streams[j->vidx]->time_base;
    AVRational out_tb = media_prep_time_base(j->prep); /* bwdif halves it */
    for (;;) {
        int rc = media_prep_receive(j->prep, j->pframe, j->err);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return rc;
        int64_t pts = j->pframe->pts;
        j->pframe->best_effort_timestamp =
            pts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : av_rescale_q(pts, out_tb, in_tb);
        rc = video_frame(j, j->pframe);
        av_frame_unref(j->pframe);
        if (rc < 0)
            return rc;
    }
}

/* End of the video, or frames of another kind: let the prep give up what it holds. */
static int prep_flush(struct job *j)
{
    if (!j->prep)
        return 0;
    int rc = media_prep_send(j->prep, NULL, j->err);
    if (rc >= 0)
        rc = prep_drain(j);
    media_prep_free(j->prep);
    j->prep = NULL;
    return rc;
}

/* A decoded video frame: upright, progressive and SDR first when it needs to be. */
static int video_in(struct job *j, AVFrame *f)
{
    int rc;
    /* Some files only say so in the frames; once seen, every later frame is checked (bwdif
     * leaves progressive frames as they are). */
    if (f->interlaced_frame)
        j->deint = 1;
    /* Untagged pictures are in the matrix the rungs say (open_video_rung()); the thumbnails
     * read it here (media_sws_matrix()). */
    if (f->colorspace == AVCOL_SPC_UNSPECIFIED && !media_format_is_rgb(f->format))
        f->colorspace = j->untagged_matrix;
    /* Transparency shows as black; swscale does that for RGB, not for YUV with alpha. */
    if (media_frame_has_yuv_alpha(f)) {
        if ((rc = av_frame_make_writable(f)) < 0)
            return media_ff_error(j, -ENOMEM, "out of memory", rc);
        media_frame_flatten_alpha(f);
    }
    /* HDR is each frame's own: a file spliced from an HDR and an SDR clip has both kinds, and
     * SDR frames tone-mapped as if HDR come out dark. Untagged frames follow the stream. */
    int hdr = f->color_trc == AVCOL_TRC_UNSPECIFIED ? j->hdr : is_hdr_transfer(f->color_trc);
    struct media_prep_spec spec = prep_spec(j, hdr);
    letterbox(j, f, &spec);
    if (!media_prep_needed(&spec)) {
        /* The frames still in a prep come first. */
        if ((rc = prep_flush(j)) < 0)
            return rc;
        return video_frame(j, f);
    }
    if (!j->pframe && !(j->pframe = av_frame_alloc()))
        return kino_err_set(j->err, -ENOMEM, "out of memory");
    if (j->prep && !media_prep_fits(j->prep, &spec, f) && (rc = prep_flush(j)) < 0)
        return rc;
    if (!j->prep && (rc = media_prep_new(&spec, f, &j->prep, j->err)) < 0)
        return rc;
    f->pts = f->best_effort_timestamp;
    if ((rc = media_prep_send(j->prep, f, j->err)) < 0)
        return rc;
    return prep_drain(j);
}

/* Repeat the last picture up to output frame `end`. */
static int hold_last_picture(struct job *j, int64_t end)
{
    while (j->next_idx < end) {
        int rc = emit_video(j, j->last, j->next_idx);
        if (rc < 0)
            return rc;
        j->next_idx++;
    }
    return 0;
}

/*
 * At the end of the file. The last picture lasts as long as it says (a slideshow's last
 * slide), not one frame, but not past the file's declared end: a damaged last duration would
 * hold it for hours. Then sound and pictures are made the same length (HLS wants every
 * playlist to cover the same time range): the last picture held while the sound goes on, or
 * silence after the sound up to the end of the pictures.
 */
static int equalize(struct job *j)
{
    if (j->vidx < 0 || !j->last->buf[0])
        return 0;
    int64_t declared_end = j->total_frames > 0 ? j->total_frames + 1
                                               : j->next_idx + 10 * (int64_t)ceil(av_q2d(j->fps));
    int rc = hold_last_picture(j, j->last_end_idx < declared_end ? j->last_end_idx
                                                                 : declared_end);
    if (rc < 0 || !j->aenc)
        return rc;
    /* Both in muxed time: the audio carries the encoder's priming, the video its delay. */
    int64_t audio = j->samples_in + j->aenc->initial_padding - j->audio_shift;
    int64_t video = av_rescale_q(j->next_idx, av_inv_q(j->fps), (AVRational){ 1, AUDIO_RATE });
    if (audio > video)
        return hold_last_picture(j, av_rescale_q(audio, (AVRational){ 1, AUDIO_RATE },
                                                 av_inv_q(j->fps)));
    if (video > audio)
        return media_audio_silence(j, video - audio);
    return 0;
}

/* ---- decode loop ------------------------------------------------------ */

static int decode(struct job *j, AVCodecContext *dec, const AVPacket *pkt, int *ret_frames)
{
    int rc = avcodec_send_packet(dec, pkt);
    /* A damaged packet is skipped, as players do; the rest may decode fine. */
    if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF && pkt)
        return 0;
    for (;;) {
        rc = avcodec_receive_frame(dec, j->dframe);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return 0; /* decoder error on this frame: skip it */
        if (dec == j->vdec)
            rc = video_in(j, j->dframe);
        else
            rc = media_audio_frame(j, j->dframe);
        av_frame_unref(j->dframe);
        if (rc < 0)
            return rc;
        if (ret_frames)
            (*ret_frames)++;
    }
}

/*
 * MPEG-TS, MPEG-PS and FLV may start their timestamps again mid-file: clips joined end to
 * end with cat, an encoder restarted mid-broadcast. A packet of the video or the sound that
 * jumps back by more than 0.1 s, or forward by more than 10 s, from where its stream was
 * going marks such a splice, and the jump is undone for the whole file at once: every later
 * packet of every stream moves by the same amount, as FFmpeg's CLI does, so each clip keeps
 * its own pictures and sound together. Undoing each stream's own jump instead lets them
 * drift apart by the difference at every splice (a clip's AAC sound runs 27 ms past its
 * pictures: 0.8 s after 30 clips of 2 s). The files are read in order, so every packet of a
 * clip comes before the next clip's.
 */
static void splice_timestamps(struct job *j, AVPacket *pkt)
{
    int s = pkt->stream_index == j->vidx ? 0 : 1;
    AVStream *st = j->ic->streams[pkt->stream_index];
    int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    if (ts == AV_NOPTS_VALUE)
        return;
    int64_t us = av_rescale_q(ts, st->time_base, AV_TIME_BASE_Q) + j->ts_offset;
    if (j->next_dts[s] != AV_NOPTS_VALUE) {
        int64_t jump = us - j->next_dts[s];
        /* Forward, where the other stream already is: a hole in this one (sound that drops
         * out for a while), filled later, not a splice. Taken for one, the other stream's
         * next packet would jump back and undo it, and so on at every packet. */
        int64_t other = j->next_dts[1 - s];
        int hole = jump > 0 && other != AV_NOPTS_VALUE && llabs(us - other) <= 10 * AV_TIME_BASE;
        if ((jump < -AV_TIME_BASE / 10 || jump > 10 * (int64_t)AV_TIME_BASE) && !hole) {
            j->ts_offset -= jump;
            us -= jump;
        }
    }
    j->next_dts[s] =
        us + (pkt->duration > 0 ? av_rescale_q(pkt->duration, st->time_base, AV_TIME_BASE_Q) : 0);
    int64_t shift = av_rescale_q(j->ts_offset, AV_TIME_BASE_Q, st->time_base);
    if (pkt->pts != AV_NOPTS_VALUE)
        pkt->pts += shift;
    if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts += shift;
}

static int run(struct job *j)
{
    int rc, vframes = 0, aframes = 0;
    for (;;) {
        rc = av_read_frame(j->ic, j->pkt);
        if (j->canceled)
            return KINO_ECANCELED; /* stopped from the interrupt callback */
        if (rc < 0)
            break; /* end of file, or damage: keep what decoded so far */
        if (j->ts_discont && (j->pkt->stream_index == j->vidx || j->pkt->stream_index == j->aidx))
            splice_timestamps(j, j->pkt);
        if (j->pkt->stream_index == j->vidx)
            rc = decode(j, j->vdec, j->pkt, &vframes);
        else if (j->pkt->stream_index == j->aidx)
            rc = decode(j, j->adec, j->pkt, &aframes);
        else
            rc = 0;
        av_packet_unref(j->pkt);
        if (rc < 0)
            return rc;
    }
    if (j->vdec && (rc = decode(j, j->vdec, NULL, &vframes)) < 0)
        return rc;
    if ((rc = prep_flush(j)) < 0)
        return rc;
    if (j->adec && (rc = decode(j, j->adec, NULL, &aframes)) < 0)
        return rc;
    if (j->vidx >= 0 && vframes == 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "no video frame in the file could be decoded; the file is damaged or "
                            "incomplete, upload it again");
    if (j->vidx < 0 && aframes == 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "no audio in the file could be decoded; the file is damaged or "
                            "incomplete, upload it again");
    /*
     * A file cut short (an interrupted upload with its index at the front) decodes up to the
     * cut without an error; compare with what it claims. How far is the furthest of: the
     * timestamps reached (a gap the timelines closed is not missing), the sound and the
     * pictures made (timestamps that start again, or none at all).
     */
    double got = (double)j->reached / AV_TIME_BASE;
    if ((double)(j->samples_in - j->audio_shift) / AUDIO_RATE > got)
        got = (double)(j->samples_in - j->audio_shift) / AUDIO_RATE;
    if (j->vidx >= 0 && j->next_idx / av_q2d(j->fps) > got)
        got = j->next_idx / av_q2d(j->fps);
    if (j->duration > 0 && got < j->duration * 0.5 && j->duration - got > 2)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is incomplete: it should last %.1f s but only %.1f s could "
                            "be decoded; upload the whole file again",
                            j->duration, got);
    if ((rc = media_audio_flush_resampler(j)) < 0)
        return rc;
    if ((rc = equalize(j)) < 0)
        return rc;
    if ((rc = flush_held(j, 1)) < 0) /* a picture held to the end */
        return rc;
    j->video_end = j->next_idx;
    for (size_t i = 0; i < j->n_rungs; i++) {
        struct rung_out *r = &j->rungs[i];
        if ((rc = avcodec_send_frame(r->enc, NULL)) < 0)
            return media_ff_error(j, KINO_EINTERNAL, "cannot flush the H.264 encoder", rc);
        if ((rc = drain_video(j, r)) < 0 || (rc = cmaf_finish(&r->w, j->err)) < 0)
            return rc;
    }
    return j->aenc ? media_audio_finish(j) : 0;
}

/* ---- cover art ------------------------------------------------------- */

/* Decode the one picture of an attached-picture stream; NULL when it cannot be read. */
static AVFrame *decode_cover(struct job *j, const AVStream *st)
{
    const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *c = dec ? avcodec_alloc_context3(dec) : NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_clone(&st->attached_pic);
    int ok = c && f && pkt && avcodec_parameters_to_context(c, st->codecpar) >= 0 &&
             avcodec_open2(c, dec, NULL) >= 0 && avcodec_send_packet(c, pkt) >= 0;
    if (ok && avcodec_receive_frame(c, f) < 0)
        ok = avcodec_send_packet(c, NULL) >= 0 && avcodec_receive_frame(c, f) >= 0;
    ok = ok && f->width >= 2 && f->height >= 2 &&
         (int64_t)f->width * f->height <= j->opt->max_pixels;
    avcodec_free_context(&c);
    av_packet_free(&pkt);
    if (!ok)
        av_frame_free(&f);
    return f;
}

/*
 * Audio files often carry their cover (an ID3 APIC frame, a FLAC PICTURE
 * block, an MP4 covr atom), which FFmpeg shows as a one-packet video stream
 * with the attached-picture disposition; it is never the video (media_probe()), but
 * it is the poster. Returns 1 when poster.jpg was written, 0 when the file has
 * no cover kino can read (not an error: the audio is fine), or a negative code.
 */
static int write_cover(struct job *j)
{
    const AVStream *st = NULL;
    for (unsigned i = 0; i < j->ic->nb_streams && !st; i++) {
        const AVStream *s = j->ic->streams[i];
        if ((s->disposition & AV_DISPOSITION_ATTACHED_PIC) && s->attached_pic.size > 0 &&
            s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            (int64_t)s->codecpar->width * s->codecpar->height <= j->opt->max_pixels)
            st = s;
    }
    AVFrame *src = st ? decode_cover(j, st) : NULL;
    if (!src)
        return 0;
    int w = src->width, h = src->height;
    if (w > THUMBS_POSTER_MAX_WIDTH) {
        h = (int)lround((double)h * THUMBS_POSTER_MAX_WIDTH / w);
        w = THUMBS_POSTER_MAX_WIDTH;
    }
    w &= ~1; /* 4:2:0 JPEG */
    h &= ~1;
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *c = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct media_sws cover_sws = { 0 }; /* transparency on black, like the video's */
    struct SwsContext *sws = NULL;
    char path[PATH_MAX];
    FILE *fp = NULL;
    int rc = KINO_EINTERNAL;
    if (!c || !f || !pkt || w < 2 || h < 2)
        goto out;
    c->width = f->width = w;
    c->height = f->height = h;
    c->pix_fmt = f->format = AV_PIX_FMT_YUVJ420P;
    c->time_base = (AVRational){ 1, 25 };
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * 3;
    sws = media_sws_get(&cover_sws, src, w, h, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC);
    if (!sws || avcodec_open2(c, codec, NULL) < 0 || av_frame_get_buffer(f, 0) < 0)
        goto out;
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, f->data,
              f->linesize);
    f->pts = 0;
    if (avcodec_send_frame(c, f) < 0 || avcodec_receive_packet(c, pkt) < 0)
        goto out;
    snprintf(path, sizeof(path), "%s/poster.jpg", j->out_dir);
    fp = fopen(path, "wb");
    if (!fp || fwrite(pkt->data, 1, (size_t)pkt->size, fp) != (size_t)pkt->size) {
        rc = kino_err_set(j->err, -errno, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 1;
out:
    if (rc == KINO_EINTERNAL)
        kino_err_set(j->err, rc, "cannot make the poster from the cover art");
    if (fp && fclose(fp) != 0 && rc == 1)
        rc = kino_err_set(j->err, -errno, "cannot write %s: %s", path, strerror(errno));
    media_sws_release(&cover_sws);
    avcodec_free_context(&c);
    av_frame_free(&f);
    av_frame_free(&src);
    av_packet_free(&pkt);
    return rc;
}

/* ---- entry point ------------------------------------------------------ */

static int setup_video(struct job *j)
{
    AVStream *st = j->ic->streams[j->vidx];
    AVRational sar = source_sar(j, NULL);
    j->fps = pick_fps(st);
    j->gop_frames = (int)lround(j->opt->gop_seconds * av_q2d(j->fps));
    if (j->gop_frames < 1)
        j->gop_frames = 1;
    int gops = (int)lround((double)j->opt->segment_seconds / j->opt->gop_seconds);
    j->seg_frames = j->gop_frames * (gops < 1 ? 1 : gops);
    j->max_frames = (int64_t)(j->opt->max_duration_s * av_q2d(j->fps)) + 1;
    j->total_frames = (int64_t)(j->duration * av_q2d(j->fps));

    struct ladder_entry le[MEDIA_MAX_RUNGS];
    enum AVFieldOrder fo = st->codecpar->field_order;
    j->rotation = rotation_of(st, &j->mirror);
    j->deint = fo == AV_FIELD_TT || fo == AV_FIELD_BB || fo == AV_FIELD_TB || fo == AV_FIELD_BT;
    j->hdr = is_hdr_transfer(st->codecpar->color_trc);
    /* What players take an untagged picture of the source's height to be (open_video_rung()). */
    j->untagged_matrix = j->src_h >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
    j->n_rungs = ladder_compute(j->opt->ladder, j->opt->n_rungs, j->src_w, j->src_h, sar.num,
                                sar.den, j->rotation, le);
    j->display_aspect = upright_aspect(j->src_w, j->src_h, sar, j->rotation);
    if (j->n_rungs == 0 && j->opt->n_rungs > 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the video is %dx%d pixels, too long and thin a shape: no rendition "
                            "of it fits the %d pixels on a side that players take; crop it "
                            "and upload it again",
                            j->src_w, j->src_h, LADDER_MAX_SIDE);
    if (j->n_rungs == 0)
        return kino_err_set(j->err, KINO_EINVAL, "the ladder is empty");
    for (size_t i = 0; i < j->n_rungs; i++) {
        j->rungs[i].le = le[i];
        int rc = open_video_rung(j, &j->rungs[i]);
        if (rc < 0)
            return rc;
    }
    int trc = thumbs_open(&j->thumbs, j->out_dir, j->rungs[0].le.width, j->rungs[0].le.height,
                          j->duration, av_q2d(j->fps), j->err);
    if (trc < 0)
        return trc;
    /*
     * With B-frames a picture decodes up to the reorder delay (2 frames for x264's
     * B-pyramid) before it is shown, and the first one decodes at 0, so the video
     * track starts at that delay, on every rung alike; the audio gets the same delay
     * as leading silence (see media_audio_frame() in audio.c).
     *
     * Every composition offset stays >= 0 (cmaf.c writes version 0 trun boxes). The
     * other way, negative offsets with the first picture at 0, is read three ways:
     * Chromium and Safari take decode time plus offset, as ISO 14496-12 says, and
     * showed the pictures two frames ahead of their sound; FFmpeg shifts every
     * picture by the largest negative offset it has seen; GStreamer (WebKitGTK, WPE
     * on TVs) by the most negative one of each trun, so a fragment without B-frames
     * (a still's IDR alone, a short last GOP) lands two frames early, over the end of
     * the GOP before it.
     */
    j->reorder_delay = j->rungs[0].enc->has_b_frames;
    j->audio_shift =
        av_rescale_q(j->reorder_delay, av_inv_q(j->fps), (AVRational){ 1, AUDIO_RATE });
    return 0;
}

static void job_release(struct job *j)
{
    for (size_t i = 0; i < MEDIA_MAX_RUNGS; i++) {
        struct rung_out *r = &j->rungs[i];
        avcodec_free_context(&r->enc);
        media_sws_release(&r->sws);
        media_resizer_free(r->resizer);
        av_frame_free(&r->frame);
        av_frame_free(&r->pass);
        av_packet_free(&r->waiting);
        free(r->sent);
        cmaf_release(&r->w);
    }
    avcodec_free_context(&j->aenc);
    swr_free(&j->swr);
    av_channel_layout_uninit(&j->swr_layout);
    if (j->fifo)
        av_audio_fifo_free(j->fifo);
    av_frame_free(&j->aframe);
    av_frame_free(&j->rframe);
    cmaf_release(&j->aw);
    avcodec_free_context(&j->vdec);
    avcodec_free_context(&j->adec);
    av_frame_free(&j->dframe);
    av_frame_free(&j->last);
    av_frame_free(&j->held_src);
    media_prep_free(j->prep);
    av_frame_free(&j->pframe);
    av_packet_free(&j->pkt);
    av_packet_free(&j->opkt);
    avformat_close_input(&j->ic);
    thumbs_release(&j->thumbs);
    free(j->sheets);
}

int media_transcode(const struct media_options *opt, const char *src_path, const char *out_dir,
                    const struct media_hooks *hooks, struct media_result *ret,
                    struct kino_err *err)
{
    struct job j;
    int rc;
    memset(&j, 0, sizeof(j));
    memset(ret, 0, sizeof(*ret));
    for (size_t i = 0; i < MEDIA_MAX_RUNGS; i++)
        j.rungs[i].w.fd = -1;
    j.aw.fd = -1;
    j.opt = opt;
    j.src_path = src_path;
    j.out_dir = out_dir;
    j.progress = hooks ? hooks->progress : NULL;
    j.publish = hooks ? hooks->publish : NULL;
    j.progress_ctx = hooks ? hooks->ctx : NULL;
    j.err = err;
    j.vidx = j.aidx = -1;

    if (!opt || opt->n_rungs == 0 || opt->n_rungs > MEDIA_MAX_RUNGS || opt->gop_seconds <= 0 ||
        opt->segment_seconds < opt->gop_seconds) {
        rc = kino_err_set(err, KINO_EINVAL, "invalid media options");
        goto out;
    }
    j.dframe = av_frame_alloc();
    j.last = av_frame_alloc();
    j.held_src = av_frame_alloc();
    j.pkt = av_packet_alloc();
    j.opkt = av_packet_alloc();
    if (!j.dframe || !j.last || !j.held_src || !j.pkt || !j.opkt) {
        rc = kino_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = media_probe(&j)) < 0)
        goto out;
    if (mkdir(out_dir, 0755) < 0 && errno != EEXIST) {
        rc = kino_err_set(err, -errno, "cannot create %s: %s", out_dir, strerror(errno));
        goto out;
    }
    j.max_samples = (int64_t)(opt->max_duration_s * AUDIO_RATE) + AUDIO_RATE;
    j.a_next_seg = j.a_next_frag = 1; /* boundary 0 is the start of segment 1 */
    if (j.vidx >= 0 && (rc = setup_video(&j)) < 0)
        goto out;
    if (j.aidx >= 0 && (rc = media_audio_open(&j)) < 0)
        goto out;
    /* An audio file's cover first, so that it is published with the first segments. */
    if (j.vidx < 0 && (rc = write_cover(&j)) < 0)
        goto out;
    j.has_cover = rc == 1;
    if ((rc = run(&j)) < 0)
        goto out;
    if (j.vidx >= 0 && (rc = thumbs_finish(&j.thumbs, j.next_idx, j.last->buf[0] ? j.last : NULL,
                                           media_presentation_end(&j), err)) < 0)
        goto out;
    ret->has_poster = j.vidx >= 0 || j.has_cover;

    ret->is_audio_only = j.vidx < 0;
    if (j.vidx >= 0) {
        ret->duration_s = (double)j.next_idx / av_q2d(j.fps);
        int rot = j.rotation;
        AVRational sar = source_sar(&j, NULL);
        int dw = (int)lround((double)j.src_w * sar.num / sar.den);
        ret->width = rot % 180 ? j.src_h : dw;
        ret->height = rot % 180 ? dw : j.src_h;
    } else {
        ret->duration_s = (double)j.samples_out / AUDIO_RATE;
    }
    if ((rc = media_write_iframes(&j)) < 0 || (rc = media_write_storyboard(&j)) < 0)
        goto out;
    rc = media_write_playlists(&j, ret, SIZE_MAX, 0);
    if (rc == 0)
        rc = media_write_dash(&j);
    if (rc == 0)
        report(&j, 1.0);
out:
    job_release(&j);
    return rc < 0 ? rc : 0;
}
