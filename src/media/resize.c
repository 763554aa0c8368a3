/* SPDX-License-Identifier: MIT */
/* Bicubic 4:2:0 downscaling with zimg (see resize.h). */
#include "media/resize.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zimg.h>

#include <libavutil/pixfmt.h>

#include "core/banned.h"

/* zimg's buffer alignment on x86 with ZIMG_CPU_AUTO (zimg.h, zimg_image_buffer_const). */
#define ZIMG_ALIGN 32

struct media_resizer {
    int src_w, src_h, dst_w, dst_h;
    zimg_filter_graph *graph;
    void *tmp; /* zimg's scratch memory, ZIMG_ALIGN-aligned */
};

static void describe(zimg_image_format *f, int w, int h)
{
    zimg_image_format_default(f, ZIMG_API_VERSION);
    f->width = (unsigned)w;
    f->height = (unsigned)h;
    f->pixel_type = ZIMG_PIXEL_BYTE;
    f->subsample_w = 1;
    f->subsample_h = 1;
    f->color_family = ZIMG_COLOR_YUV;
    f->pixel_range = ZIMG_RANGE_LIMITED; /* the same on both sides: nothing is converted */
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

int media_resizer_new(int src_w, int src_h, int dst_w, int dst_h, struct media_resizer **ret,
                      struct kino_err *err)
{
    zimg_image_format in, out;
    describe(&in, src_w, src_h);
    describe(&out, dst_w, dst_h);
    zimg_graph_builder_params params;
    zimg_graph_builder_params_default(&params, ZIMG_API_VERSION);
    params.resample_filter = ZIMG_RESIZE_BICUBIC;
    params.filter_param_a = 0.0; /* B and C of swscale's SWS_BICUBIC */
    params.filter_param_b = 0.6;
    params.resample_filter_uv = ZIMG_RESIZE_BICUBIC; /* swscale scales chroma alike */
    params.filter_param_a_uv = 0.0;
    params.filter_param_b_uv = 0.6;

    struct media_resizer *r = calloc(1, sizeof(*r));
    if (!r)
        return kino_err_set(err, -ENOMEM, "out of memory");
    *r = (struct media_resizer){ .src_w = src_w, .src_h = src_h, .dst_w = dst_w, .dst_h = dst_h };
    r->graph = zimg_filter_graph_build(&in, &out, &params);
    if (!r->graph) {
        free(r);
        return zimg_failure(err, KINO_EINVAL, "cannot set up the scaler");
    }
    size_t tmp_size = 0;
    if (zimg_filter_graph_get_tmp_size(r->graph, &tmp_size) != ZIMG_ERROR_SUCCESS) {
        media_resizer_free(r);
        return zimg_failure(err, KINO_EINTERNAL, "cannot size the scaler's memory");
    }
    if (posix_memalign(&r->tmp, ZIMG_ALIGN, tmp_size ? tmp_size : ZIMG_ALIGN) != 0) {
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
    free(r->tmp);
    free(r);
}

static int aligned(const AVFrame *f)
{
    for (int p = 0; p < 3; p++)
        if ((uintptr_t)f->data[p] % ZIMG_ALIGN || f->linesize[p] % ZIMG_ALIGN)
            return 0;
    return 1;
}

int media_resizer_can(const struct media_resizer *r, const AVFrame *src, const AVFrame *dst)
{
    return r && src->format == AV_PIX_FMT_YUV420P && dst->format == AV_PIX_FMT_YUV420P &&
           src->width == r->src_w && src->height == r->src_h && dst->width == r->dst_w &&
           dst->height == r->dst_h && aligned(src) && aligned(dst);
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
    if (zimg_filter_graph_process(r->graph, &in, &out, r->tmp, NULL, NULL, NULL, NULL) !=
        ZIMG_ERROR_SUCCESS)
        return zimg_failure(err, KINO_EINTERNAL, "scaling a picture failed");
    return 0;
}
