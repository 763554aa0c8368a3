/* SPDX-License-Identifier: MIT */
/*
 * Skipped H.264 pictures against real encoders and FFmpeg's H.264 decoder:
 * libx264 (veryfast, B-frames, CABAC) encodes a few moving pictures, then
 * forced P repeats as kino sends them; h264_skip_picture() adds skipped
 * pictures after them. The decoder must take the stream with the extra
 * picture parameter set without an error, give every picture in the order
 * sent, and each skipped one must be the last encoded picture sample for
 * sample. 40 of them run past x264's picture order count range (64), which a
 * decoder only follows when each skipped picture is a reference.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>

#include "media/h264skip.h"
#include "pictures.h"

#define W 96
#define H 64

static void paint(AVFrame *f, int n)
{
    for (int p = 0; p < 3; p++) {
        int w = p ? W / 2 : W, h = p ? H / 2 : H;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                f->data[p][y * f->linesize[p] + x] = (uint8_t)(40 + ((x + 3 * n) * (p + 1) + y * 2) % 160);
    }
}

/*
 * The picture order count of each picture of an Annex B stream as ISO/IEC 14496-10, 8.2.1.1
 * has a decoder infer it (type 0: the high bits from the last reference picture), written
 * here from the standard rather than taken from h264skip.c. FFmpeg's decoder gives pictures
 * out in decoding order when the counts go backwards, so it alone would not notice.
 */
struct poc_reader {
    int log2_fn, log2_poc;
    int64_t prev_ref;
};

static unsigned bits(const uint8_t *b, size_t n, size_t *at, int count)
{
    unsigned v = 0;
    for (int i = 0; i < count; i++, (*at)++)
        v = (v << 1) | (*at < n * 8 ? (b[*at >> 3] >> (7 - (*at & 7))) & 1 : 0);
    return v;
}

static unsigned golomb(const uint8_t *b, size_t n, size_t *at)
{
    int z = 0;
    while (bits(b, n, at, 1) == 0 && z < 32)
        z++;
    return (1u << z) - 1 + bits(b, n, at, z);
}

/* Pictures order counts of the slices in `pkt` appended to poc[*count]. */
static void picture_orders(struct poc_reader *r, const AVPacket *pkt, int64_t *poc, int *count)
{
    const uint8_t *d = pkt->data;
    size_t n = (size_t)pkt->size;
    for (size_t i = 0; i + 3 < n; i++) {
        if (!(d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1))
            continue;
        int type = d[i + 3] & 0x1f, ref = (d[i + 3] >> 5) & 3;
        if (type != 1 && type != 5)
            continue;
        uint8_t b[64];
        size_t len = 0;
        int zeros = 0;
        for (size_t k = i + 4; k < n && len < sizeof(b); k++) {
            if (zeros >= 2 && d[k] == 3) {
                zeros = 0;
                continue;
            }
            b[len++] = d[k];
            zeros = d[k] == 0 ? zeros + 1 : 0;
        }
        size_t at = 0;
        if (golomb(b, len, &at) != 0)
            continue;
        golomb(b, len, &at);
        golomb(b, len, &at);
        bits(b, len, &at, r->log2_fn);
        if (type == 5)
            golomb(b, len, &at);
        int64_t lsb = bits(b, len, &at, r->log2_poc), max = (int64_t)1 << r->log2_poc;
        int64_t prev_lsb = type == 5 ? 0 : r->prev_ref % max, msb = type == 5 ? 0 : r->prev_ref - prev_lsb;
        if (lsb < prev_lsb && prev_lsb - lsb >= max / 2)
            msb += max;
        else if (lsb > prev_lsb && lsb - prev_lsb > max / 2)
            msb -= max;
        poc[(*count)++] = msb + lsb;
        if (ref)
            r->prev_ref = msb + lsb;
    }
}

struct stream {
    AVPacket *pkts[256];
    int n;
};

static void drain(AVCodecContext *enc, struct stream *st, struct h264_skip *s)
{
    for (;;) {
        AVPacket *pkt = av_packet_alloc();
        int rc = avcodec_receive_packet(enc, pkt);
        if (rc < 0) {
            av_packet_free(&pkt);
            return;
        }
        h264_skip_note(s, pkt->data, (size_t)pkt->size);
        cr_assert_lt(st->n, 256);
        st->pkts[st->n++] = pkt;
    }
}

/* moving pictures, then `repeats` forced P copies of the last, then `skips` skipped pictures. */
static void run(const char *preset, int moving, int repeats, int skips, int expect_ok)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    cr_assert_not_null(codec, "FFmpeg without libx264");
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    enc->width = W;
    enc->height = H;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = (AVRational){ 1, 30 };
    enc->framerate = (AVRational){ 30, 1 };
    enc->gop_size = 120;
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    enc->thread_count = 1;
    av_opt_set(enc->priv_data, "preset", preset, 0);
    av_opt_set(enc->priv_data, "profile", "high", 0);
    av_opt_set(enc->priv_data, "x264-params", "scenecut=0:keyint=120:min-keyint=120", 0);
    cr_assert_eq(avcodec_open2(enc, codec, NULL), 0);

    struct h264_skip s;
    struct kino_err err = { 0 };
    int size = enc->extradata_size;
    cr_assert_eq(h264_skip_init(&s, &enc->extradata, &size, &err), 0, "%s", err.msg);
    enc->extradata_size = size;
    cr_assert_eq(s.ok, expect_ok, "preset %s", preset);
    if (!expect_ok) {
        avcodec_free_context(&enc);
        return;
    }

    struct stream st = { .n = 0 };
    AVFrame *f = picture_new(W, H, AV_PIX_FMT_YUV420P);
    int total = moving + repeats;
    for (int i = 0; i < total; i++) {
        cr_assert_eq(av_frame_make_writable(f), 0);
        paint(f, i < moving ? i : moving - 1);
        f->pts = i;
        f->pict_type = i == 0 ? AV_PICTURE_TYPE_I : i >= moving ? AV_PICTURE_TYPE_P
                                                                : AV_PICTURE_TYPE_NONE;
        cr_assert_eq(avcodec_send_frame(enc, f), 0);
        drain(enc, &st, &s);
    }
    cr_assert_eq(avcodec_send_frame(enc, NULL), 0);
    drain(enc, &st, &s);
    cr_assert_eq(st.n, total);
    for (int k = 0; k < skips; k++) {
        AVPacket *pkt = av_packet_alloc();
        cr_assert_eq(h264_skip_picture(&s, pkt, &err), 0, "%s", err.msg);
        cr_assert_lt(pkt->size, 40, "a skipped picture takes a few bytes (%d)", pkt->size);
        pkt->pts = total + k;
        st.pkts[st.n++] = pkt;
    }

    /* Every picture's order count, in decoding order, against the order it is shown in. */
    struct poc_reader pr = { .log2_fn = s.log2_max_frame_num, .log2_poc = s.log2_max_poc_lsb };
    static int64_t poc[256], pts[256];
    int npoc = 0;
    for (int i = 0; i < st.n; i++) {
        int before = npoc;
        picture_orders(&pr, st.pkts[i], poc, &npoc);
        cr_assert_eq(npoc, before + 1, "packet %d: one picture", i);
        pts[before] = st.pkts[i]->pts;
    }
    for (int i = 0; i < npoc; i++)
        for (int k = 0; k < npoc; k++)
            cr_assert(pts[i] < pts[k] ? poc[i] < poc[k] : pts[i] == pts[k] || poc[i] > poc[k],
                      "pictures shown at %lld and %lld have order counts %lld and %lld",
                      (long long)pts[i], (long long)pts[k], (long long)poc[i], (long long)poc[k]);

    /* Decode it all, as a player would, with the encoder's parameter sets plus ours. */
    const AVCodec *h264 = avcodec_find_decoder(AV_CODEC_ID_H264);
    AVCodecContext *dec = avcodec_alloc_context3(h264);
    dec->extradata = av_mallocz((size_t)size + AV_INPUT_BUFFER_PADDING_SIZE);
    memcpy(dec->extradata, enc->extradata, (size_t)size);
    dec->extradata_size = size;
    dec->thread_count = 1;
    dec->err_recognition = AV_EF_EXPLODE | AV_EF_BITSTREAM | AV_EF_BUFFER;
    cr_assert_eq(avcodec_open2(dec, h264, NULL), 0);
    AVFrame *out = av_frame_alloc(), *last = NULL;
    int got = 0;
    int64_t prev = -1;
    for (int i = 0; i <= st.n; i++) {
        cr_assert_eq(avcodec_send_packet(dec, i < st.n ? st.pkts[i] : NULL), 0,
                     "the decoder refused packet %d", i);
        while (avcodec_receive_frame(dec, out) == 0) {
            cr_assert_eq(out->decode_error_flags, 0, "picture %d decoded with errors", got);
            cr_assert_gt(out->pts, prev, "picture %d out of order (%lld after %lld)", got,
                         (long long)out->pts, (long long)prev);
            prev = out->pts;
            if (out->pts == total - 1) {
                last = av_frame_clone(out);
            } else if (out->pts >= total) {
                cr_assert_not_null(last);
                for (int p = 0; p < 3; p++)
                    cr_assert(isinf(plane_psnr(out, last, p)),
                              "skipped picture %lld differs from the last encoded one (plane %d)",
                              (long long)out->pts, p);
            }
            got++;
            av_frame_unref(out);
        }
    }
    cr_assert_eq(got, total + skips, "the decoder gave %d pictures of %d", got, total + skips);

    av_frame_free(&last);
    av_frame_free(&out);
    av_frame_free(&f);
    for (int i = 0; i < st.n; i++)
        av_packet_free(&st.pkts[i]);
    avcodec_free_context(&dec);
    avcodec_free_context(&enc);
}

Test(h264skip, a_gop_tail_of_skipped_pictures_decodes_to_the_last_picture)
{
    run("veryfast", 20, 2, 40, 1);
}

Test(h264skip, right_after_the_idr)
{
    run("veryfast", 1, 0, 59, 1);
}

Test(h264skip, slower_presets_with_more_references)
{
    run("medium", 12, 2, 30, 1);
}

Test(h264skip, not_without_b_frames)
{
    /* ultrafast: no B-frames, so x264 counts pictures from frame numbers (type 2). */
    run("ultrafast", 4, 2, 0, 0);
}
