/* SPDX-License-Identifier: MIT */
/*
 * media_prep against the libavfilter chains it stands for. The tone mapping
 * runs in kino's own loop between two graphs; the pictures must match what
 * one libavfilter graph with the tonemap filter gives (>= 50 dB per plane),
 * on a PQ picture with SDR-range detail and a patch at the format's 10000-nit
 * top, also turned and also shrunk. Every frame sent comes out, in the time
 * base the prep reports (bwdif halves it).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "media/prep.h"
#include "pictures.h"

static const AVRational tb = { 1, 30 };

/* Run `in` through a libavfilter chain `desc`; the one frame it gives. */
static AVFrame *filter_one(const AVFrame *in, const char *desc)
{
    char args[200];
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/30:pixel_aspect=1/1",
             in->width, in->height, in->format);
    AVFilterGraph *g = avfilter_graph_alloc();
    AVFilterContext *src = NULL, *sink = NULL;
    cr_assert_not_null(g);
    cr_assert_geq(avfilter_graph_create_filter(&src, avfilter_get_by_name("buffer"), "in", args,
                                               NULL, g), 0);
    cr_assert_geq(avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "out",
                                               NULL, NULL, g), 0);
    AVFilterInOut *outs = avfilter_inout_alloc(), *ins = avfilter_inout_alloc();
    outs->name = av_strdup("in");
    outs->filter_ctx = src;
    ins->name = av_strdup("out");
    ins->filter_ctx = sink;
    cr_assert_geq(avfilter_graph_parse_ptr(g, desc, &ins, &outs, NULL), 0, "%s", desc);
    cr_assert_geq(avfilter_graph_config(g, NULL), 0, "%s", desc);
    avfilter_inout_free(&outs);
    avfilter_inout_free(&ins);
    AVFrame *copy = av_frame_clone(in), *out = av_frame_alloc();
    cr_assert_geq(av_buffersrc_add_frame(src, copy), 0);
    cr_assert_geq(av_buffersrc_add_frame(src, NULL), 0);
    cr_assert_geq(av_buffersink_get_frame(sink, out), 0, "%s gave no frame", desc);
    av_frame_free(&copy);
    avfilter_graph_free(&g);
    return out;
}

/*
 * A width x height BT.2020 PQ picture: gradients and colour bars in SDR range (white at 203
 * nits, as HDR masters put it), and in its top left corner a patch at 10000 nits.
 */
static AVFrame *pq_picture(int width, int height)
{
    AVFrame *sdr = picture_new(width, height, AV_PIX_FMT_YUV420P);
    for (int p = 0; p < 3; p++) {
        int w = p ? width / 2 : width, h = p ? height / 2 : height;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = p == 0 ? 16 + (x * 219 / w + (y / 16 % 2) * 30) % 220
                               : 128 + ((x / 20 + y / 15) % 5 - 2) * 25 * (p == 1 ? 1 : -1);
                sdr->data[p][y * sdr->linesize[p] + x] = (uint8_t)v;
            }
    }
    AVFrame *pq = filter_one(sdr, "zscale=tin=bt709:pin=bt709:min=bt709:rin=tv:t=smpte2084:"
                                  "p=bt2020:m=bt2020nc:r=tv:npl=203,format=yuv420p10le");
    av_frame_free(&sdr);
    for (int y = 0; y < height / 8; y++)
        for (int x = 0; x < width / 8; x++) {
            ((uint16_t *)(pq->data[0] + y * pq->linesize[0]))[x] = 940;
            ((uint16_t *)(pq->data[1] + y / 2 * pq->linesize[1]))[x / 2] = 512;
            ((uint16_t *)(pq->data[2] + y / 2 * pq->linesize[2]))[x / 2] = 512;
        }
    cr_assert_eq(pq->color_trc, AVCOL_TRC_SMPTE2084);
    pq->pts = 0;
    return pq;
}

/* Everything `p` gives for the frames sent so far and the end. */
static int drain(struct media_prep *p, AVFrame **last)
{
    struct kino_err err = { 0 };
    int n = 0;
    cr_assert_eq(media_prep_send(p, NULL, &err), 0, "%s", err.msg);
    for (;;) {
        AVFrame *f = av_frame_alloc();
        int rc = media_prep_receive(p, f, &err);
        if (rc == AVERROR_EOF) {
            av_frame_free(&f);
            return n;
        }
        cr_assert_eq(rc, 0, "%s", err.msg);
        n++;
        if (last) {
            av_frame_free(last);
            *last = f;
        } else {
            av_frame_free(&f);
        }
    }
}

/* The picture through media_prep with `spec`, against `reference` through libavfilter. */
static void expect_like(const struct media_prep_spec *spec, AVFrame *in, const char *reference,
                        int out_w, int out_h)
{
    struct media_prep *p = NULL;
    struct kino_err err = { 0 };
    cr_assert_eq(media_prep_new(spec, in, &p, &err), 0, "%s", err.msg);
    cr_assert_eq(media_prep_send(p, in, &err), 0, "%s", err.msg);
    AVFrame *got = NULL;
    cr_assert_eq(drain(p, &got), 1);
    cr_expect_eq(got->format, AV_PIX_FMT_YUV420P);
    cr_expect_eq(got->width, out_w);
    cr_expect_eq(got->height, out_h);
    cr_expect_eq(got->color_trc, AVCOL_TRC_BT709);
    cr_expect_eq(got->color_primaries, AVCOL_PRI_BT709);
    AVFrame *want = filter_one(in, reference);
    for (int pl = 0; pl < 3; pl++)
        cr_expect_geq(plane_psnr(got, want, pl), 50.0, "%s, plane %d: %.2f dB", reference, pl,
                      plane_psnr(got, want, pl));
    av_frame_free(&want);
    av_frame_free(&got);
    media_prep_free(p);
}

#define TONEMAP_FILTER                                                                             \
    "zscale=t=linear:npl=100:p=bt709,format=gbrpf32le,tonemap=tonemap=mobius:desat=0,"            \
    "zscale=t=bt709:m=bt709:r=tv,format=yuv420p"

Test(prep, tone_mapping_matches_libavfilters_tonemap_filter)
{
    AVFrame *in = pq_picture(640, 360);
    struct media_prep_spec spec = { .hdr = 1, .max_w = 640, .max_h = 360, .time_base = tb };
    expect_like(&spec, in, TONEMAP_FILTER, 640, 360);
    in->color_trc = AVCOL_TRC_ARIB_STD_B67; /* the same code values read as HLG */
    expect_like(&spec, in, TONEMAP_FILTER, 640, 360);
    av_frame_free(&in);
}

Test(prep, tone_mapped_pictures_are_turned_after)
{
    AVFrame *in = pq_picture(640, 360);
    struct media_prep_spec spec = {
        .hdr = 1, .rotation = 90, .max_w = 360, .max_h = 640, .time_base = tb
    };
    expect_like(&spec, in, TONEMAP_FILTER ",transpose=clock", 360, 640);
    spec.rotation = 180;
    spec.max_w = 640;
    spec.max_h = 360;
    expect_like(&spec, in, TONEMAP_FILTER ",hflip,vflip", 640, 360);
    av_frame_free(&in);
}

Test(prep, larger_hdr_pictures_are_shrunk_to_the_top_rung_first)
{
    AVFrame *in = pq_picture(1280, 720);
    struct media_prep_spec spec = { .hdr = 1, .max_w = 640, .max_h = 360, .time_base = tb };
    expect_like(&spec, in, "zscale=w=640:h=360:f=bicubic:param_a=0:param_b=0.6," TONEMAP_FILTER,
                640, 360);
    /* Turned: the top rung is upright (360x640), the source is shrunk before turning. */
    spec.rotation = 270;
    spec.max_w = 360;
    spec.max_h = 640;
    expect_like(&spec, in,
                "zscale=w=640:h=360:f=bicubic:param_a=0:param_b=0.6," TONEMAP_FILTER
                ",transpose=cclock",
                360, 640);
    av_frame_free(&in);
}

Test(prep, a_large_hdr_picture_of_another_shape_is_letterboxed_whole)
{
    /* Portrait 360x640 in a 320x180 video: not shrunk to the top rung's shape first (that
     * squashed it into a 320x180 box in the middle), tone-mapped at its size, then boxed. */
    AVFrame *in = pq_picture(360, 640);
    struct media_prep_spec spec = {
        .hdr = 1, .max_w = 320, .max_h = 180, .pad_w = 1138, .pad_h = 640, .time_base = tb
    };
    expect_like(&spec, in, TONEMAP_FILTER ",pad=1138:640:-1:-1:black", 1138, 640);
    av_frame_free(&in);
}

Test(prep, every_frame_comes_out_in_the_reported_time_base)
{
    AVFrame *in = pq_picture(320, 180);
    struct kino_err err = { 0 };
    const struct media_prep_spec specs[] = {
        { .hdr = 1, .max_w = 320, .max_h = 180, .time_base = tb },
        { .rotation = 90, .time_base = tb },
        { .deinterlace = 1, .time_base = tb },
    };
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        struct media_prep *p = NULL;
        cr_assert_eq(media_prep_new(&specs[s], in, &p, &err), 0, "%s", err.msg);
        int got = 0;
        for (int i = 0; i < 10; i++) {
            in->pts = i;
            in->interlaced_frame = specs[s].deinterlace;
            in->top_field_first = 1;
            cr_assert_eq(media_prep_send(p, in, &err), 0, "%s", err.msg);
            AVFrame *f = av_frame_alloc();
            while (media_prep_receive(p, f, &err) == 0) {
                AVRational out_tb = media_prep_time_base(p);
                cr_expect_eq(av_rescale_q(f->pts, out_tb, tb), got, "spec %zu frame %d", s, got);
                got++;
                av_frame_unref(f);
            }
            av_frame_free(&f);
        }
        got += drain(p, NULL);
        cr_expect_eq(got, 10, "spec %zu: %d frames out of 10", s, got);
        if (specs[s].deinterlace)
            cr_expect_eq(av_cmp_q(media_prep_time_base(p), (AVRational){ 1, 60 }), 0);
        media_prep_free(p);
    }
    av_frame_free(&in);
}

Test(prep, says_when_it_is_needed_and_when_frames_changed)
{
    struct media_prep_spec none = { .time_base = tb }, turn = { .rotation = 180, .time_base = tb };
    cr_expect_not(media_prep_needed(&none));
    cr_expect(media_prep_needed(&turn));
    AVFrame *in = pq_picture(320, 180);
    struct media_prep *p = NULL;
    struct kino_err err = { 0 };
    cr_assert_eq(media_prep_new(&turn, in, &p, &err), 0, "%s", err.msg);
    cr_expect(media_prep_fits(p, &turn, in));
    struct media_prep_spec hdr = turn;
    hdr.hdr = 1;
    cr_expect_not(media_prep_fits(p, &hdr, in), "tone mapping switched on");
    in->width = 160;
    cr_expect_not(media_prep_fits(p, &turn, in), "another size");
    in->width = 320;
    in->format = AV_PIX_FMT_YUV420P12LE;
    cr_expect_not(media_prep_fits(p, &turn, in), "another pixel format");
    in->format = AV_PIX_FMT_YUV420P10LE;
    media_prep_free(p);
    media_prep_free(NULL);
    av_frame_free(&in);
}

Test(prep, pictures_of_another_shape_are_centred_on_black)
{
    AVFrame *in = picture_new(180, 320, AV_PIX_FMT_YUV420P);
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < (p ? 160 : 320); y++)
            for (int x = 0; x < (p ? 90 : 180); x++)
                in->data[p][y * in->linesize[p] + x] = (uint8_t)(60 + (x + 3 * y + 50 * p) % 120);
    /* A portrait picture in a 16:9 video: 320 high, 570 wide, the picture from x = 194. */
    struct media_prep_spec spec = { .pad_w = 570, .pad_h = 320, .time_base = tb };
    cr_expect(media_prep_needed(&spec));
    struct media_prep *p = NULL;
    struct kino_err err = { 0 };
    cr_assert_eq(media_prep_new(&spec, in, &p, &err), 0, "%s", err.msg);
    cr_assert_eq(media_prep_send(p, in, &err), 0, "%s", err.msg);
    AVFrame *got = NULL;
    cr_assert_eq(drain(p, &got), 1);
    cr_assert_eq(got->width, 570);
    cr_assert_eq(got->height, 320);
    int bad_bar = 0, bad_picture = 0;
    for (int pl = 0; pl < 3; pl++) {
        int sub = pl ? 1 : 0, left = 194 >> sub, black = pl ? 128 : 16;
        for (int y = 0; y < 320 >> sub; y++)
            for (int x = 0; x < 570 >> sub; x++) {
                int v = got->data[pl][y * got->linesize[pl] + x];
                if (x < left || x >= left + (180 >> sub))
                    bad_bar += v != black;
                else
                    bad_picture += v != in->data[pl][y * in->linesize[pl] + x - left];
            }
    }
    cr_expect_eq(bad_bar, 0, "%d samples of the bars are not black", bad_bar);
    cr_expect_eq(bad_picture, 0, "%d samples of the picture changed", bad_picture);
    av_frame_free(&got);
    media_prep_free(p);
    av_frame_free(&in);
}

/*
 * A display matrix may mirror as well as turn (QuickTime's Flip Horizontal). The picture is
 * turned clockwise, then mirrored left to right: every luma sample of a 16x8 picture must
 * land where that puts it, in each of the eight ways.
 */
Test(prep, turned_and_mirrored_pictures_land_where_the_display_matrix_puts_them)
{
    enum { W = 16, H = 8 };
    AVFrame *in = picture_new(W, H, AV_PIX_FMT_YUV420P);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            in->data[0][y * in->linesize[0] + x] = (uint8_t)(16 + x + W * y); /* all differ */
    for (int rotation = 0; rotation < 360; rotation += 90) {
        for (int mirror = 0; mirror < 2; mirror++) {
            struct media_prep_spec spec = { .rotation = rotation, .mirror = mirror,
                                            .time_base = tb };
            if (!media_prep_needed(&spec))
                continue;
            struct media_prep *p = NULL;
            struct kino_err err = { 0 };
            cr_assert_eq(media_prep_new(&spec, in, &p, &err), 0, "%s", err.msg);
            in->pts = 0;
            cr_assert_eq(media_prep_send(p, in, &err), 0, "%s", err.msg);
            AVFrame *out = NULL;
            cr_assert_eq(drain(p, &out), 1);
            int turned = rotation % 180 != 0;
            cr_assert_eq(out->width, turned ? H : W);
            cr_assert_eq(out->height, turned ? W : H);
            int wrong = 0;
            for (int y = 0; y < out->height; y++)
                for (int x = 0; x < out->width; x++) {
                    /* Undo the mirror, then the clockwise turn. */
                    int ux = mirror ? out->width - 1 - x : x, sx, sy;
                    if (rotation == 0)
                        sx = ux, sy = y;
                    else if (rotation == 90)
                        sx = y, sy = H - 1 - ux;
                    else if (rotation == 180)
                        sx = W - 1 - ux, sy = H - 1 - y;
                    else
                        sx = W - 1 - y, sy = ux;
                    wrong += out->data[0][y * out->linesize[0] + x] !=
                             in->data[0][sy * in->linesize[0] + sx];
                }
            cr_expect_eq(wrong, 0, "turned %d, mirrored %d: %d samples misplaced", rotation,
                         mirror, wrong);
            av_frame_free(&out);
            media_prep_free(p);
        }
    }
    av_frame_free(&in);
}
