/* SPDX-License-Identifier: MIT */
/*
 * The sound path of media_transcode(): every decoded audio frame is resampled
 * to stereo 48 kHz float (libswresample), kept where its timestamps put it
 * (gaps filled with silence, overlaps at splices left out), queued in a fifo
 * and encoded as AAC-LC frames of 1024 samples, which go to the audio CMAF
 * segmenter on the video's segment grid (or a grid in seconds when there is
 * no video). The state is struct job's audio part (job.h); pipeline.c calls
 * in from its decode loop and at the end.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>

#include "media/media.h"
#include "media/job.h"
#include "media/cmaf.h"
#include "core/banned.h"

#define AAC_FRAME 1024
/* Sound timestamps may wander this far (samples: 0.1 s) from the samples before it counts as
 * a gap; FFmpeg's aresample takes the same default (min_hard_comp). */
#define AUDIO_GAP_MIN (AUDIO_RATE / 10)
/* An overlap of sound at a splice left out beyond this (10 ms): lips and sound stay within it. */
#define AUDIO_OVERLAP_MIN (AUDIO_RATE / 100)
/* The most channels libswresample mixes (its SWR_CH_MAX, which it does not export). */
#define MIX_CHANNELS_MAX 64

static int encode_audio_frames(struct job *j, int flush);

int media_audio_open(struct job *j)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec)
        return kino_err_set(j->err, KINO_EINTERNAL, "FFmpeg was built without the aac encoder");
    AVCodecContext *c = j->aenc = avcodec_alloc_context3(codec);
    if (!c)
        return kino_err_set(j->err, -ENOMEM, "out of memory");
    av_channel_layout_default(&c->ch_layout, 2);
    c->sample_rate = AUDIO_RATE;
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->bit_rate = j->opt->audio_bitrate;
    c->time_base = (AVRational){ 1, AUDIO_RATE };
    c->profile = FF_PROFILE_AAC_LOW;
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int rc = avcodec_open2(c, codec, NULL);
    if (rc < 0)
        return media_ff_error(j, KINO_EINTERNAL, "cannot start the AAC encoder", rc);
    j->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, AAC_FRAME * 4);
    j->aframe = av_frame_alloc();
    j->rframe = av_frame_alloc();
    if (!j->fifo || !j->aframe || !j->rframe)
        return kino_err_set(j->err, -ENOMEM, "out of memory");
    j->aframe->format = AV_SAMPLE_FMT_FLTP;
    j->aframe->sample_rate = AUDIO_RATE;
    j->aframe->nb_samples = AAC_FRAME;
    av_channel_layout_copy(&j->aframe->ch_layout, &c->ch_layout);
    rc = av_frame_get_buffer(j->aframe, 0);
    if (rc < 0)
        return media_ff_error(j, -ENOMEM, "out of memory", rc);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/audio", j->out_dir);
    return cmaf_open(&j->aw, dir, c, j->lang.mp4, NULL, j->err);
}

/* `n` samples of silence into the fifo, encoded as they fill AAC frames. */
int media_audio_silence(struct job *j, int64_t n)
{
    static float zero[AAC_FRAME]; /* only ever read */
    void *planes[2] = { zero, zero };
    while (n > 0) {
        int k = n > AAC_FRAME ? AAC_FRAME : (int)n;
        if (av_audio_fifo_write(j->fifo, planes, k) < k)
            return kino_err_set(j->err, -ENOMEM, "out of memory");
        j->samples_in += k;
        n -= k;
        int rc = encode_audio_frames(j, 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * Where fragment k (segment 0) or segment k (segment 1) of the sound starts, in samples: at
 * the video's boundary k, in the video's muxed time (shifted by its reorder delay), so that
 * each audio segment covers the same pictures as the video segments beside it.
 */
static int64_t audio_boundary(const struct job *j, int64_t k, int segment)
{
    if (j->vidx >= 0) {
        int64_t frames =
            (segment ? media_segment_boundary(j, k) : k * j->gop_frames) + j->reorder_delay;
        return av_rescale_q(frames, av_inv_q(j->fps), (AVRational){ 1, AUDIO_RATE });
    }
    /* Audio only: the same grid in seconds. */
    int64_t secs = !segment ? k * j->opt->gop_seconds
                   : k == 0 ? 0
                            : j->opt->gop_seconds + (k - 1) * j->opt->segment_seconds;
    return secs * (int64_t)AUDIO_RATE;
}

static int drain_audio(struct job *j)
{
    for (;;) {
        int rc = avcodec_receive_packet(j->aenc, j->opkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return media_ff_error(j, KINO_EINTERNAL, "the AAC encoder failed", rc);
        /*
         * The encoder's packets start at -initial_padding (priming); the muxer
         * rebases the track to its first dts anyway, so count from 0 here too.
         */
        j->opkt->pts += j->aenc->initial_padding;
        j->opkt->dts += j->aenc->initial_padding;
        int64_t pts = j->opkt->pts;
        int seg = 0, frag = 0;
        while (pts >= audio_boundary(j, j->a_next_seg, 1)) {
            seg = seg || j->vidx < 0 ||
                  media_is_segment_start(j, media_segment_boundary(j, j->a_next_seg));
            j->a_next_seg++;
        }
        while (pts >= audio_boundary(j, j->a_next_frag, 0)) {
            frag = 1;
            j->a_next_frag++;
        }
        if ((rc = cmaf_write(&j->aw, j->opkt, frag, seg, j->err)) < 0)
            return rc;
        if (seg && (rc = media_publish_progress(j)) < 0)
            return rc;
    }
}

static int encode_audio_frames(struct job *j, int flush)
{
    while (av_audio_fifo_size(j->fifo) >= AAC_FRAME ||
           (flush && av_audio_fifo_size(j->fifo) > 0)) {
        int n = av_audio_fifo_size(j->fifo);
        if (n > AAC_FRAME)
            n = AAC_FRAME;
        int rc = av_frame_make_writable(j->aframe);
        if (rc < 0)
            return media_ff_error(j, -ENOMEM, "out of memory", rc);
        j->aframe->nb_samples = n;
        if (av_audio_fifo_read(j->fifo, (void **)j->aframe->data, n) != n)
            return kino_err_set(j->err, KINO_EINTERNAL, "audio buffer underrun");
        j->aframe->pts = j->samples_out;
        j->samples_out += n;
        if ((rc = avcodec_send_frame(j->aenc, j->aframe)) < 0)
            return media_ff_error(j, KINO_EINTERNAL, "the AAC encoder refused a frame", rc);
        if ((rc = drain_audio(j)) < 0)
            return rc;
        if (j->vidx < 0 &&
            (rc = media_report_done(j, (double)j->samples_out / AUDIO_RATE)) < 0)
            return rc;
    }
    return 0;
}

/* Convert `in` (or flush the resampler when NULL) into the fifo. */
static int resample(struct job *j, const AVFrame *in)
{
    int max_out = swr_get_out_samples(j->swr, in ? in->nb_samples : 0);
    if (max_out < 0)
        return kino_err_set(j->err, KINO_EMEDIA, "the audio cannot be resampled");
    if (max_out == 0)
        return 0;
    if (j->rframe->nb_samples < max_out) {
        av_frame_unref(j->rframe);
        j->rframe->format = AV_SAMPLE_FMT_FLTP;
        j->rframe->sample_rate = AUDIO_RATE;
        j->rframe->nb_samples = max_out;
        av_channel_layout_default(&j->rframe->ch_layout, 2);
        int rc = av_frame_get_buffer(j->rframe, 0);
        if (rc < 0)
            return media_ff_error(j, -ENOMEM, "out of memory", rc);
    }
    int n = swr_convert(j->swr, j->rframe->data, max_out,
                        in ? (const uint8_t **)in->extended_data : NULL, in ? in->nb_samples : 0);
    if (n < 0)
        return kino_err_set(j->err, KINO_EMEDIA, "the audio cannot be resampled");
    /* Sound that overlaps what was already played (fill_audio_gap) is left out. */
    int skip = j->audio_drop < n ? (int)j->audio_drop : n;
    j->audio_drop -= skip;
    n -= skip;
    float *planes[2] = { (float *)j->rframe->data[0] + skip, (float *)j->rframe->data[1] + skip };
    if (n > 0 && av_audio_fifo_write(j->fifo, (void **)planes, n) < n)
        return kino_err_set(j->err, -ENOMEM, "out of memory");
    j->samples_in += n;
    return 0;
}

static int setup_swr(struct job *j, const AVFrame *f)
{
    AVChannelLayout in = { 0 };
    int rc;
    rc = 0;
    if (f->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC && f->ch_layout.nb_channels > 0)
        rc = av_channel_layout_copy(&in, &f->ch_layout);
    else
        av_channel_layout_default(&in, f->ch_layout.nb_channels > 0 ? f->ch_layout.nb_channels
                                                                       : 2);
    if (rc < 0)
        return media_ff_error(j, -ENOMEM, "out of memory", rc);
    if (j->swr && j->swr_rate == f->sample_rate && j->swr_fmt == f->format &&
        av_channel_layout_compare(&j->swr_layout, &in) == 0) {
        av_channel_layout_uninit(&in);
        return 0;
    }
    /* Format change mid-stream: drain what the old resampler holds, then start over. */
    if (j->swr && (rc = resample(j, NULL)) < 0) {
        av_channel_layout_uninit(&in);
        return rc;
    }
    swr_free(&j->swr);
    if (in.nb_channels > MIX_CHANNELS_MAX) {
        av_channel_layout_uninit(&in);
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the sound has %d channels, more than the %d kino can mix; export "
                            "it as stereo or 5.1 and upload it again",
                            f->ch_layout.nb_channels, MIX_CHANNELS_MAX);
    }
    AVChannelLayout out = AV_CHANNEL_LAYOUT_STEREO;
    rc = swr_alloc_set_opts2(&j->swr, &out, AV_SAMPLE_FMT_FLTP, AUDIO_RATE, &in, f->format,
                             f->sample_rate, 0, NULL);
    if (rc >= 0 && in.nb_channels == 1) {
        /*
         * Mono goes to both sides at full level, as players play a mono file (browsers copy
         * it to left and right) and as mono is mixed for them (podcasts: -19 LUFS mono for
         * -16 stereo). libswresample's own matrix puts it at -3 dB a side: a voice memo came
         * out 3 dB quieter than the upload played.
         */
        double both[2] = { 1, 1 }; /* left <- channel 1, right <- channel 1 */
        rc = swr_set_matrix(j->swr, both, 1);
    }
    if (rc >= 0)
        rc = swr_init(j->swr);
    if (rc < 0 && in.nb_channels > 2) {
        /*
         * No way to stereo that libswresample knows: the channels have no names (a WAV of
         * 9 to 15 or 17+ tracks from a multitrack recorder) or names it cannot place. The
         * first two become left and right and the rest is left out, the usual recipe for an
         * unknown layout (FFmpeg's "pan=stereo|c0=c0|c1=c1"); refusing the file would lose
         * all of its sound.
         */
        swr_free(&j->swr);
        rc = swr_alloc_set_opts2(&j->swr, &out, AV_SAMPLE_FMT_FLTP, AUDIO_RATE, &in, f->format,
                                 f->sample_rate, 0, NULL);
        double matrix[2 * MIX_CHANNELS_MAX] = { 0 };
        matrix[0] = 1;                  /* left <- channel 1 */
        matrix[in.nb_channels + 1] = 1; /* right <- channel 2 */
        if (rc >= 0)
            rc = swr_set_matrix(j->swr, matrix, in.nb_channels);
        if (rc >= 0)
            rc = swr_init(j->swr);
    }
    av_channel_layout_uninit(&j->swr_layout);
    j->swr_layout = in;
    j->swr_rate = f->sample_rate;
    j->swr_fmt = f->format;
    if (rc < 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the sound (%d Hz, %d channels) cannot be converted to stereo "
                            "48 kHz (%s); export it as stereo or 5.1 and upload it again",
                            f->sample_rate, in.nb_channels, av_err2str(rc));
    return 0;
}

/*
 * Keep the sound where its timestamps put it. A gap in them (a microphone that dropped out,
 * clips spliced without sound) is filled with silence, as the video timeline fills holes by
 * repeating pictures; without it every later sound plays early by the gap's length. Up to
 * AUDIO_GAP_MIN either way is timestamp jitter and left alone; a jump back, or forward by more
 * than 10 s while the pictures jump too (a paused recording: media_hole_in_one_stream()) or
 * in a file without pictures (broken timestamps), is a discontinuity: the sound goes on from
 * where it is.
 * In formats whose timestamps may start again, splice_timestamps() has already undone the
 * splices, so what is left are holes, filled whatever their length, and overlaps: sound that
 * overlaps what was played by more than AUDIO_OVERLAP_MIN is left out. At a splice a clip's
 * sound runs on a little past its pictures (AAC pads its last frame); kept, each splice
 * would move all later sound that much late.
 * `us`: the frame's time from the start of the file.
 */
static int fill_audio_gap(struct job *j, int64_t us)
{
    int64_t have = j->samples_in + swr_get_delay(j->swr, AUDIO_RATE) - j->audio_drop;
    int64_t want = j->audio_zero + av_rescale(us, AUDIO_RATE, AV_TIME_BASE);
    int64_t gap = want - have;
    double landing_s = (double)(want + j->aenc->initial_padding - j->audio_shift) / AUDIO_RATE;
    if (gap > AUDIO_GAP_MIN && (gap <= 10 * (int64_t)AUDIO_RATE || j->ts_discont ||
                                media_hole_in_one_stream(j, 0, landing_s))) {
        if (j->samples_in + gap > j->max_samples)
            return media_too_long(j, 0);
        return media_audio_silence(j, gap);
    }
    if (j->ts_discont && gap < -AUDIO_OVERLAP_MIN && gap >= -AUDIO_GAP_MIN) {
        j->audio_drop -= gap;
        return 0;
    }
    if (gap > AUDIO_GAP_MIN || gap < -AUDIO_GAP_MIN)
        j->audio_zero -= gap;
    return 0;
}

int media_audio_frame(struct job *j, const AVFrame *f)
{
    int rc;
    if (f->nb_samples <= 0 || f->sample_rate <= 0)
        return 0;
    if ((rc = setup_swr(j, f)) < 0)
        return rc;
    AVStream *st = j->ic->streams[j->aidx];
    int64_t us = f->best_effort_timestamp == AV_NOPTS_VALUE
                     ? AV_NOPTS_VALUE
                     : av_rescale_q(f->best_effort_timestamp, st->time_base, AV_TIME_BASE_Q) -
                           j->t0;
    if (us != AV_NOPTS_VALUE)
        media_reach(j, us + av_rescale(f->nb_samples, AV_TIME_BASE, f->sample_rate));
    if (!j->audio_started) {
        j->audio_started = 1;
        /*
         * Silence ahead of the audio so its first real sample lands where the
         * first video frame does: at the video's reorder delay, minus the AAC
         * priming the encoder adds itself, plus any late start of the audio.
         */
        int64_t pad = j->audio_shift - j->aenc->initial_padding;
        if (us != AV_NOPTS_VALUE && media_late_start(j, us) && j->vidx >= 0)
            pad += av_rescale(us, AUDIO_RATE, AV_TIME_BASE);
        if (pad > 0 && (rc = media_audio_silence(j, pad)) < 0)
            return rc;
        if (us != AV_NOPTS_VALUE)
            j->audio_zero = j->samples_in - av_rescale(us, AUDIO_RATE, AV_TIME_BASE);
    } else if (us != AV_NOPTS_VALUE && (rc = fill_audio_gap(j, us)) < 0) {
        return rc;
    }
    if (j->samples_in > j->max_samples)
        return media_too_long(j, 0);
    if ((rc = resample(j, f)) < 0)
        return rc;
    return encode_audio_frames(j, 0);
}

int media_audio_flush_resampler(struct job *j)
{
    return j->swr ? resample(j, NULL) : 0;
}

int media_audio_finish(struct job *j)
{
    int rc;
    if ((rc = encode_audio_frames(j, 1)) < 0)
        return rc;
    if ((rc = avcodec_send_frame(j->aenc, NULL)) < 0)
        return media_ff_error(j, KINO_EINTERNAL, "cannot flush the AAC encoder", rc);
    if ((rc = drain_audio(j)) < 0)
        return rc;
    return cmaf_finish(&j->aw, j->err);
}
