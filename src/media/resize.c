/* SPDX-License-Identifier: MIT */
/* Scaling pictures: zimg for 8-bit 4:2:0, a cached swscale context for the rest (resize.h). */
#include "media/resize.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zimg.h>

#include <libavutil/buffer.h>
#include <libavutil/cpu.h>
#include <libavutil/imgutils.h>
#include <libavutil/macros.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/pixfmt.h>

#include "core/banned.h"

/*
 * zimg's buffer alignment on x86 (zimg.h, zimg_image_buffer_const): 32 bytes for its 256-bit
 * code, 64 for its 512-bit code (ZIMG_CPU_AUTO_64B).
 */
#define ZIMG_ALIGN 32
#define ZIMG_ALIGN_64B 64

struct media_resizer {
    int src_w, src_h, dst_w, dst_h;
    enum AVPixelFormat src_format; /* yuvj420p is taken as yuv420p (its range is src_full) */
    zimg_filter_graph *graph;     /* 256-bit code: planes on 32 bytes */
    zimg_filter_graph *graph_64b; /* 512-bit code, NULL where the CPU has none */
    int src_full;                 /* the source is full range (the destination never is) */
    void *tmp;                    /* scratch memory for either graph, ZIMG_ALIGN_64B-aligned */
};

static enum AVPixelFormat plain_format(enum AVPixelFormat f)
{
    switch (f) {
    case AV_PIX_FMT_YUVJ420P:
        return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
        return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
        return AV_PIX_FMT_YUV444P;
    default:
        return f;
    }
}

int media_format_is_rgb(enum AVPixelFormat format)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(format);
    return d && (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL));
}

int media_resizer_takes(enum AVPixelFormat format)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(plain_format(format));
    /* zimg reads YUV in three planes, 8 to 16 bits in native byte order, one sample per 1 or 2
     * bytes. */
    return d && d->nb_components == 3 && (d->flags & AV_PIX_FMT_FLAG_PLANAR) &&
           d->comp[1].plane == 1 && d->comp[2].plane == 2 && /* not NV12, P010... */
           !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_FLOAT | AV_PIX_FMT_FLAG_BE |
                         AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL)) &&
           d->comp[0].depth >= 8 && d->comp[0].depth <= 16 && d->comp[0].shift == 0 &&
           d->comp[0].step == (d->comp[0].depth > 8 ? 2 : 1) && d->log2_chroma_w <= 1 &&
           d->log2_chroma_h <= 1;
}

static void describe(zimg_image_format *f, int w, int h, enum AVPixelFormat format,
                     int full_range)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(format);
    zimg_image_format_default(f, ZIMG_API_VERSION);
    f->width = (unsigned)w;
    f->height = (unsigned)h;
    f->pixel_type = d->comp[0].depth > 8 ? ZIMG_PIXEL_WORD : ZIMG_PIXEL_BYTE;
    f->depth = (unsigned)d->comp[0].depth;
    f->subsample_w = d->log2_chroma_w;
    f->subsample_h = d->log2_chroma_h;
    f->color_family = ZIMG_COLOR_YUV;
    f->pixel_range = full_range ? ZIMG_RANGE_FULL : ZIMG_RANGE_LIMITED;
    /* swscale (and so the ffmpeg CLI's scale filter) takes 4:2:0 chroma as centred; doing the
     * same keeps the pictures identical to theirs up to rounding. */
    f->chroma_location = ZIMG_CHROMA_CENTER;
}

static int zimg_failure(struct kino_err *err, int code, const char *what)
{
    char msg[200];
    zimg_get_last_error(msg, sizeof(msg));
    zimg_clear_last_error();
    return kino_err_set(err, code, "%s: %s", what, msg);
}

static zimg_filter_graph *build(const struct media_resizer *r, zimg_cpu_type_e cpu,
                                size_t *tmp_size)
{
    zimg_image_format in, out;
    describe(&in, r->src_w, r->src_h, r->src_format, r->src_full);
    describe(&out, r->dst_w, r->dst_h, AV_PIX_FMT_YUV420P, 0);
    zimg_graph_builder_params params;
    zimg_graph_builder_params_default(&params, ZIMG_API_VERSION);
    params.resample_filter = ZIMG_RESIZE_BICUBIC;
    params.filter_param_a = 0.0; /* B and C of swscale's SWS_BICUBIC */
    params.filter_param_b = 0.6;
    params.resample_filter_uv = ZIMG_RESIZE_BICUBIC; /* swscale scales chroma alike */
    params.filter_param_a_uv = 0.0;
    params.filter_param_b_uv = 0.6;
    params.cpu_type = cpu;
    zimg_filter_graph *g = zimg_filter_graph_build(&in, &out, &params);
    size_t size = 0;
    if (g && zimg_filter_graph_get_tmp_size(g, &size) != ZIMG_ERROR_SUCCESS) {
        zimg_filter_graph_free(g);
        return NULL;
    }
    if (size > *tmp_size)
        *tmp_size = size;
    return g;
}

/* 1 when the CPU runs 512-bit vector code (AVX-512), as FFmpeg sees it. */
static int cpu_has_64b(void)
{
    return av_cpu_max_align() >= ZIMG_ALIGN_64B;
}

static int is_full_range_format(int format)
{
    switch (format) {
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
    case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUVJ411P:
        return 1;
    default:
        return 0;
    }
}

int media_frame_is_full_range(const AVFrame *f)
{
    return is_full_range_format(f->format) || f->color_range == AVCOL_RANGE_JPEG;
}

int media_resizer_new(int src_w, int src_h, enum AVPixelFormat src_format, int src_full_range,
                      int dst_w, int dst_h, struct media_resizer **ret, struct kino_err *err)
{
    if (!media_resizer_takes(src_format))
        return kino_err_set(err, KINO_EINVAL, "cannot set up the scaler: %s pictures are not "
                                              "planar YUV of 8 to 16 bits",
                            av_get_pix_fmt_name(src_format) ? av_get_pix_fmt_name(src_format)
                                                            : "unknown");
    struct media_resizer *r = calloc(1, sizeof(*r));
    if (!r)
        return kino_err_set(err, -ENOMEM, "out of memory");
    *r = (struct media_resizer){ .src_w = src_w, .src_h = src_h, .dst_w = dst_w, .dst_h = dst_h,
                                  .src_format = plain_format(src_format),
                                  .src_full = !!src_full_range };
    size_t tmp_size = 0;
    r->graph = build(r, ZIMG_CPU_AUTO, &tmp_size);
    if (!r->graph) {
        int rc = zimg_failure(err, KINO_EINVAL, "cannot set up the scaler");
        media_resizer_free(r);
        return rc;
    }
    /*
     * zimg's 512-bit code scales a 1080p picture to the three lower rungs in about 11 % less
     * time than its 256-bit code (docs/internals/media.md, "Scaling"), on planes aligned to
     * 64 bytes. Decoded frames and media_resizer_frame_alloc()'s are; a frame that is not
     * (a filter's output, say) takes the 256-bit graph.
     */
    if (cpu_has_64b() &&
        !(r->graph_64b = build(r, ZIMG_CPU_AUTO_64B, &tmp_size)))
        zimg_clear_last_error(); /* the 256-bit graph does the work */
    if (posix_memalign(&r->tmp, ZIMG_ALIGN_64B, tmp_size ? tmp_size : ZIMG_ALIGN_64B) != 0) {
        media_resizer_free(r);
        return kino_err_set(err, -ENOMEM, "out of memory");
    }
    *ret = r;
    return 0;
}

void media_resizer_free(struct media_resizer *r)
{
    if (!r)
        return;
    zimg_filter_graph_free(r->graph);
    zimg_filter_graph_free(r->graph_64b);
    free(r->tmp);
    free(r);
}

static int aligned(const AVFrame *f, size_t align)
{
    for (int p = 0; p < 3; p++)
        if ((uintptr_t)f->data[p] % align || (size_t)f->linesize[p] % align)
            return 0;
    return 1;
}

int media_resizer_can(const struct media_resizer *r, const AVFrame *src, const AVFrame *dst)
{
    return r && plain_format(src->format) == r->src_format &&
           media_frame_is_full_range(src) == r->src_full && dst->format == AV_PIX_FMT_YUV420P &&
           src->width == r->src_w && src->height == r->src_h && dst->width == r->dst_w &&
           dst->height == r->dst_h && aligned(src, ZIMG_ALIGN) && aligned(dst, ZIMG_ALIGN);
}

int media_resizer_frame_alloc(AVFrame *f, int width, int height)
{
    /* One buffer per plane, each from av_malloc(), which starts it on FFmpeg's widest SIMD
     * alignment (64 bytes in builds with AVX-512, such as Debian's); av_frame_get_buffer()
     * packs the planes into one buffer and starts the second on 32 only. */
    f->format = AV_PIX_FMT_YUV420P;
    f->width = width;
    f->height = height;
    for (int p = 0; p < 3; p++) {
        int w = p ? (width + 1) / 2 : width, h = p ? (height + 1) / 2 : height;
        f->linesize[p] = FFALIGN(w, ZIMG_ALIGN_64B);
        f->buf[p] = av_buffer_alloc((size_t)f->linesize[p] * (size_t)h);
        if (!f->buf[p]) {
            av_frame_unref(f);
            return -ENOMEM;
        }
        f->data[p] = f->buf[p]->data;
    }
    f->extended_data = f->data;
    return 0;
}

int media_resizer_run(struct media_resizer *r, const AVFrame *src, AVFrame *dst,
                      struct kino_err *err)
{
    zimg_image_buffer_const in = { .version = ZIMG_API_VERSION };
    zimg_image_buffer out = { .version = ZIMG_API_VERSION };
    for (int p = 0; p < 3; p++) {
        in.plane[p].data = src->data[p];
        in.plane[p].stride = src->linesize[p];
        in.plane[p].mask = ZIMG_BUFFER_MAX;
        out.plane[p].data = dst->data[p];
        out.plane[p].stride = dst->linesize[p];
        out.plane[p].mask = ZIMG_BUFFER_MAX;
    }
    zimg_filter_graph *g = r->graph_64b && aligned(src, ZIMG_ALIGN_64B) &&
                                   aligned(dst, ZIMG_ALIGN_64B)
                               ? r->graph_64b
                               : r->graph;
    if (zimg_filter_graph_process(g, &in, &out, r->tmp, NULL, NULL, NULL, NULL) !=
        ZIMG_ERROR_SUCCESS)
        return zimg_failure(err, KINO_EINTERNAL, "scaling a picture failed");
    return 0;
}

struct SwsContext *media_sws_get(struct media_sws *s, const AVFrame *src, int dst_w, int dst_h,
                                 enum AVPixelFormat dst_format, int flags)
{
    int full = media_frame_is_full_range(src);
    if (s->sws && s->src_w == src->width && s->src_h == src->height &&
        s->src_format == src->format && s->src_full == full && s->dst_w == dst_w &&
        s->dst_h == dst_h && s->dst_format == (int)dst_format && s->flags == flags)
        return s->sws;
    media_sws_release(s);
    /*
     * Pictures with an alpha channel (GIF and PNG stickers, QuickTime Animation) are laid on
     * black, as video platforms show transparency: without it the colours hidden under the
     * transparent pixels showed. swscale blends from RGB and grey; planar YUV with alpha is
     * flattened before (media_frame_flatten_alpha()).
     *
     * The ranges are set before the context is initialised: set afterwards
     * (sws_setColorspaceDetails), they are ignored where no scaling is needed and swscale
     * only copies the planes.
     */
    struct SwsContext *sws = sws_alloc_context();
    if (!sws || av_opt_set_int(sws, "srcw", src->width, 0) < 0 ||
        av_opt_set_int(sws, "srch", src->height, 0) < 0 ||
        av_opt_set_pixel_fmt(sws, "src_format", src->format, 0) < 0 ||
        av_opt_set_int(sws, "src_range", full, 0) < 0 ||
        av_opt_set_int(sws, "dstw", dst_w, 0) < 0 || av_opt_set_int(sws, "dsth", dst_h, 0) < 0 ||
        av_opt_set_pixel_fmt(sws, "dst_format", dst_format, 0) < 0 ||
        av_opt_set_int(sws, "dst_range", is_full_range_format(dst_format), 0) < 0 ||
        av_opt_set_int(sws, "sws_flags", flags, 0) < 0 ||
        av_opt_set(sws, "alphablend", "uniform_color", 0) < 0 ||
        sws_init_context(sws, NULL, NULL) < 0) {
        sws_freeContext(sws);
        return NULL;
    }
    /*
     * swscale turns RGB into YUV with BT.601's matrix unless told otherwise. The rungs say
     * BT.709 (open_video_rung()), as players assume for HD; only after initialisation does
     * swscale take the matrix, and RGB to YUV is never a plain copy, so it is not ignored.
     */
    if (media_format_is_rgb(src->format) && media_sws_matrix(src, dst_format) == AVCOL_SPC_BT709) {
        const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
        if (sws_setColorspaceDetails(sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16) < 0) {
            sws_freeContext(sws);
            return NULL;
        }
    }
    *s = (struct media_sws){ .sws = sws, .src_w = src->width, .src_h = src->height,
                             .src_format = src->format, .src_full = full, .dst_w = dst_w,
                             .dst_h = dst_h, .dst_format = dst_format, .flags = flags };
    return s->sws;
}

int media_frame_same_picture(const AVFrame *a, const AVFrame *b)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(a->format);
    if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) || a->format != b->format ||
        a->width != b->width || a->height != b->height || a->width <= 0 || a->height <= 0)
        return 0;
    /* The same samples read another way are another picture. */
    if (a->color_range != b->color_range || a->colorspace != b->colorspace ||
        a->color_trc != b->color_trc || a->color_primaries != b->color_primaries ||
        av_cmp_q(a->sample_aspect_ratio, b->sample_aspect_ratio) != 0)
        return 0;
    /* Row by row from the top; the chroma planes are the smaller ones, so luma first. */
    for (int p = 0; p < AV_NUM_DATA_POINTERS && a->data[p]; p++) {
        if (!b->data[p])
            return 0;
        int bytes = av_image_get_linesize(a->format, a->width, p);
        int chroma = (p == 1 || p == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
        int rows = chroma ? AV_CEIL_RSHIFT(a->height, d->log2_chroma_h) : a->height;
        if (d->flags & AV_PIX_FMT_FLAG_PAL && p == 1) {
            bytes = AVPALETTE_SIZE; /* the palette: one "row" of 256 colours */
            rows = 1;
        }
        if (bytes <= 0)
            return 0;
        for (int y = 0; y < rows; y++)
            if (memcmp(a->data[p] + (ptrdiff_t)y * a->linesize[p],
                       b->data[p] + (ptrdiff_t)y * b->linesize[p], (size_t)bytes) != 0)
                return 0;
    }
    return 1;
}

int media_frame_has_yuv_alpha(const AVFrame *f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    return d && d->nb_components == 4 && (d->flags & AV_PIX_FMT_FLAG_PLANAR) &&
           (d->flags & AV_PIX_FMT_FLAG_ALPHA) &&
           !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_BE | AV_PIX_FMT_FLAG_FLOAT)) &&
           d->comp[0].depth >= 8 && d->comp[0].depth <= 16 && d->comp[3].plane == 3;
}

/* v moved towards `under` as alpha `a` falls (`per_step` = 1 / the opaque alpha), rounded. */
static inline unsigned lay_on(unsigned v, unsigned a, unsigned under, float per_step)
{
    return (unsigned)((float)under + ((float)v - (float)under) * (float)a * per_step + 0.5f);
}

/*
 * One plane of a picture 8 bits a sample (`wide` 0) or 16 (`wide` 1): w x h samples, each with
 * the alpha at (x << sx, y << sy) of the alpha plane. A row at a time with the types fixed
 * outside the loops: a 1080p ProRes 4444 frame is 8 million samples.
 */
static void flatten_plane(AVFrame *f, int p, int w, int h, int sx, int sy, int wide,
                          unsigned under, unsigned top)
{
    float per_step = 1.0f / (float)top;
    for (int y = 0; y < h; y++) {
        uint8_t *row = f->data[p] + (ptrdiff_t)y * f->linesize[p];
        const uint8_t *arow = f->data[3] + (ptrdiff_t)(y << sy) * f->linesize[3];
        if (wide) {
            uint16_t *v = (uint16_t *)row;
            const uint16_t *a = (const uint16_t *)arow;
            for (int x = 0; x < w; x++)
                if (a[x << sx] < top)
                    v[x] = (uint16_t)lay_on(v[x], a[x << sx], under, per_step);
        } else {
            for (int x = 0; x < w; x++)
                if (arow[x << sx] < top)
                    row[x] = (uint8_t)lay_on(row[x], arow[x << sx], under, per_step);
        }
    }
}

void media_frame_flatten_alpha(AVFrame *f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    int depth = d->comp[0].depth, wide = depth > 8;
    unsigned top = (1u << depth) - 1, mid = 1u << (depth - 1);
    unsigned black = media_frame_is_full_range(f) ? 0 : 16u << (depth - 8);
    /* A chroma sample takes the alpha of the top left luma sample it covers. */
    for (int p = 0; p < 3; p++) {
        int sx = p ? d->log2_chroma_w : 0, sy = p ? d->log2_chroma_h : 0;
        flatten_plane(f, p, AV_CEIL_RSHIFT(f->width, sx), AV_CEIL_RSHIFT(f->height, sy), sx, sy,
                      wide, p ? mid : black, top);
    }
    /* Opaque from now on: a later step must not blend again. */
    for (int y = 0; y < f->height; y++) {
        uint8_t *row = f->data[3] + (ptrdiff_t)y * f->linesize[3];
        if (wide)
            for (int x = 0; x < f->width; x++)
                ((uint16_t *)row)[x] = (uint16_t)top;
        else
            memset(row, (int)top, (size_t)f->width);
    }
}

enum AVColorSpace media_sws_matrix(const AVFrame *src, enum AVPixelFormat dst_format)
{
    /* YUV samples that say their matrix is RGB (a damaged stream) are taken as BT.709, as the
     * rungs made of them are tagged (open_video_rung()). */
    if (!media_format_is_rgb(src->format))
        return src->colorspace == AVCOL_SPC_RGB ? AVCOL_SPC_BT709 : src->colorspace;
    return is_full_range_format(dst_format) ? AVCOL_SPC_BT470BG : AVCOL_SPC_BT709;
}

void media_sws_release(struct media_sws *s)
{
    sws_freeContext(s->sws);
    *s = (struct media_sws){ 0 };
}
