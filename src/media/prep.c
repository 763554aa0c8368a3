/* SPDX-License-Identifier: MIT */
/* Upright, progressive, SDR pictures: libavfilter graphs around kino's tone mapping (prep.h). */
#include "media/prep.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/error.h>
#include <libavutil/pixdesc.h>

#include "core/banned.h"
#include "media/tonemap.h"

/* One libavfilter chain between a buffer source and a buffer sink. */
struct graph {
    AVFilterGraph *g;
    AVFilterContext *src, *sink;
};

struct media_prep {
    struct media_prep_spec spec;
    int w, h, format;    /* the frames it was made for */
    struct graph first;  /* bwdif, then (HDR) shrink and linearise, else turn */
    struct graph second; /* HDR only: back to 8-bit BT.709, then turn */
    AVFrame *linear;     /* HDR: a float frame on its way from `first` to `second` */
    int first_ended;     /* HDR: `first` gave its last frame, `second` was told */
};

/*
 * Light in units of 100 nits (tonemap.h), BT.2020 primaries brought to BT.709 in the same
 * float pass (two zscales gave the same picture for 4 % more CPU), then after the curve back
 * to what every player takes H.264 to be.
 */
static const char to_linear[] = "zscale=t=linear:npl=100:p=bt709,format=gbrpf32le";
static const char to_sdr[] = "zscale=t=bt709:m=bt709:r=tv,format=yuv420p";

int media_prep_needed(const struct media_prep_spec *s)
{
    return s->deinterlace || s->rotation || s->mirror || s->hdr || s->pad_w;
}

/* Turned clockwise, then mirrored left to right: FFmpeg's transpose names each of the eight. */
static const char *turn_filter(int rotation, int mirror)
{
    if (mirror)
        return rotation == 90    ? "transpose=cclock_flip" /* the main diagonal */
               : rotation == 180 ? "vflip"
               : rotation == 270 ? "transpose=clock_flip" /* the other diagonal */
                                 : "hflip";
    return rotation == 90    ? "transpose=clock"
           : rotation == 180 ? "hflip,vflip"
           : rotation == 270 ? "transpose=cclock"
                             : NULL;
}

/* `n` filter descriptions (NULL ones skipped) joined by commas into buf. */
static void join(char *buf, size_t size, const char *const *steps, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++)
        if (steps[i])
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", steps[i]);
}

static int graph_open(struct graph *gr, const char *desc, int w, int h, int format,
                      AVRational time_base, AVRational sar)
{
    char args[256];
    if (sar.num <= 0 || sar.den <= 0)
        sar = (AVRational){ 1, 1 };
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d",
             w, h, format, time_base.num, time_base.den, sar.num, sar.den);
    AVFilterInOut *outs = avfilter_inout_alloc(), *ins = avfilter_inout_alloc();
    int rc = AVERROR(ENOMEM);
    gr->g = avfilter_graph_alloc();
    if (!gr->g || !outs || !ins)
        goto out;
    rc = avfilter_graph_create_filter(&gr->src, avfilter_get_by_name("buffer"), "in", args, NULL,
                                      gr->g);
    if (rc >= 0)
        rc = avfilter_graph_create_filter(&gr->sink, avfilter_get_by_name("buffersink"), "out",
                                          NULL, NULL, gr->g);
    if (rc < 0)
        goto out;
    outs->name = av_strdup("in");
    outs->filter_ctx = gr->src;
    ins->name = av_strdup("out");
    ins->filter_ctx = gr->sink;
    rc = AVERROR(ENOMEM);
    if (!outs->name || !ins->name)
        goto out;
    if ((rc = avfilter_graph_parse_ptr(gr->g, desc, &ins, &outs, NULL)) >= 0)
        rc = avfilter_graph_config(gr->g, NULL);
out:
    avfilter_inout_free(&outs);
    avfilter_inout_free(&ins);
    return rc;
}

int media_prep_new(const struct media_prep_spec *s, const AVFrame *first, struct media_prep **ret,
                   struct kino_err *err)
{
    struct media_prep *p = calloc(1, sizeof(*p));
    if (!p)
        return kino_err_set(err, -ENOMEM, "out of memory");
    p->spec = *s;
    p->w = first->width;
    p->h = first->height;
    p->format = first->format;
    const char *deint =
        s->deinterlace ? "bwdif=mode=send_frame:parity=auto:deint=interlaced" : NULL;
    const char *turn = turn_filter(s->rotation, s->mirror);
    char pad[64] = ""; /* centred: pad takes a negative x or y as "the middle" */
    if (s->pad_w)
        snprintf(pad, sizeof(pad), "pad=w=%d:h=%d:x=-1:y=-1:color=black", s->pad_w, s->pad_h);
    char desc[320];
    int rc;
    if (s->hdr) {
        /*
         * The float pictures cost: at 4K, tone mapping took 4.5 s of CPU per second of video.
         * The rungs never exceed the top one, so a larger picture is first brought down to
         * its size (before turning: sides swapped for 90 and 270 degrees), in 10 bits, with
         * the rungs' bicubic kernel (resize.c). Not a picture to be letterboxed: it does not
         * have the top rung's shape (such pictures are rare and tone-mapped at their size).
         */
        int turned = s->rotation == 90 || s->rotation == 270;
        int max_w = turned ? s->max_h : s->max_w, max_h = turned ? s->max_w : s->max_h;
        char shrink[80] = "";
        if (!s->pad_w && (int64_t)first->width * first->height > (int64_t)max_w * max_h)
            snprintf(shrink, sizeof(shrink), "zscale=w=%d:h=%d:f=bicubic:param_a=0:param_b=0.6",
                     max_w, max_h);
        const char *steps[] = { deint, shrink[0] ? shrink : NULL, to_linear };
        join(desc, sizeof(desc), steps, 3);
        p->linear = av_frame_alloc();
        rc = p->linear ? 0 : AVERROR(ENOMEM);
    } else {
        const char *steps[] = { deint, turn, pad[0] ? pad : NULL };
        join(desc, sizeof(desc), steps, 3);
        rc = 0;
    }
    if (rc >= 0)
        rc = graph_open(&p->first, desc, first->width, first->height, first->format, s->time_base,
                        first->sample_aspect_ratio);
    if (rc >= 0 && s->hdr) {
        const char *steps[] = { to_sdr, turn, pad[0] ? pad : NULL };
        join(desc, sizeof(desc), steps, 3);
        rc = graph_open(&p->second, desc, av_buffersink_get_w(p->first.sink),
                        av_buffersink_get_h(p->first.sink), av_buffersink_get_format(p->first.sink),
                        av_buffersink_get_time_base(p->first.sink),
                        av_buffersink_get_sample_aspect_ratio(p->first.sink));
    }
    if (rc < 0) {
        media_prep_free(p);
        const char *name = av_get_pix_fmt_name(first->format);
        if (rc == AVERROR(ENOMEM))
            return kino_err_set(err, -ENOMEM, "out of memory");
        return kino_err_set(err, KINO_EMEDIA,
                            "cannot %s the %dx%d %s video (%s); re-export it as progressive SDR "
                            "H.264 and upload it again",
                            s->hdr           ? "tone-map"
                            : s->deinterlace ? "deinterlace"
                            : s->rotation || s->mirror ? "turn upright"
                                             : "letterbox",
                            first->width, first->height, name ? name : "?", av_err2str(rc));
    }
    *ret = p;
    return 0;
}

int media_prep_fits(const struct media_prep *p, const struct media_prep_spec *s, const AVFrame *f)
{
    return f->width == p->w && f->height == p->h && f->format == p->format &&
           s->deinterlace == p->spec.deinterlace && s->rotation == p->spec.rotation &&
           s->mirror == p->spec.mirror &&
           s->hdr == p->spec.hdr && s->pad_w == p->spec.pad_w && s->pad_h == p->spec.pad_h;
}

static int failed(struct kino_err *err, int rc)
{
    return kino_err_set(err, KINO_EINTERNAL,
                        "deinterlacing, tone-mapping or turning the video upright failed: %s",
                        av_err2str(rc));
}

int media_prep_send(struct media_prep *p, AVFrame *f, struct kino_err *err)
{
    int rc = av_buffersrc_add_frame_flags(p->first.src, f, f ? AV_BUFFERSRC_FLAG_KEEP_REF : 0);
    return rc < 0 ? failed(err, rc) : 0;
}

int media_prep_receive(struct media_prep *p, AVFrame *out, struct kino_err *err)
{
    if (!p->spec.hdr) {
        int rc = av_buffersink_get_frame(p->first.sink, out);
        return rc >= 0 || rc == AVERROR(EAGAIN) || rc == AVERROR_EOF ? rc : failed(err, rc);
    }
    for (;;) {
        int rc = av_buffersink_get_frame(p->second.sink, out);
        if (rc >= 0 || rc == AVERROR_EOF)
            return rc;
        if (rc != AVERROR(EAGAIN))
            return failed(err, rc);
        if (p->first_ended)
            return AVERROR(EAGAIN);
        rc = av_buffersink_get_frame(p->first.sink, p->linear);
        if (rc == AVERROR(EAGAIN))
            return rc;
        if (rc == AVERROR_EOF) {
            p->first_ended = 1;
            rc = av_buffersrc_add_frame_flags(p->second.src, NULL, 0);
        } else if (rc >= 0 && (rc = av_frame_make_writable(p->linear)) >= 0) {
            media_tonemap_frame(p->linear);
            rc = av_buffersrc_add_frame_flags(p->second.src, p->linear, 0); /* takes the frame */
        }
        av_frame_unref(p->linear);
        if (rc < 0)
            return failed(err, rc);
    }
}

AVRational media_prep_time_base(const struct media_prep *p)
{
    return av_buffersink_get_time_base(p->spec.hdr ? p->second.sink : p->first.sink);
}

void media_prep_free(struct media_prep *p)
{
    if (!p)
        return;
    avfilter_graph_free(&p->first.g);
    avfilter_graph_free(&p->second.g);
    av_frame_free(&p->linear);
    free(p);
}
