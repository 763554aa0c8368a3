/* SPDX-License-Identifier: MIT */
/*
 * Poster and storyboard from the decoded frames (see thumbs.h): the pipeline
 * offers every output frame once; this file keeps the best poster candidate
 * and fills one sprite sheet at a time, then writes the JPEGs and the WebVTT.
 */
#include "media/thumbs.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/csp.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>

#include "core/mem.h"
#include "core/util.h"
#include "core/banned.h"

#define VTT_MAX (16u << 20)
#define POSTER_QSCALE 3 /* mjpeg qscale 2..31, lower is better: a poster is looked at */
#define SHEET_QSCALE 6  /* tiles are small and many: smaller files matter more */

/* ---- poster scoring ---------------------------------------------------- */

void thumbs_luma_measure(const uint8_t *y, ptrdiff_t stride, int w, int h,
                         struct thumbs_luma *ret)
{
    uint64_t sum = 0, sum2 = 0, diff = 0, ndiff = 0;
    for (int r = 0; r < h; r++) {
        const uint8_t *p = y + r * stride;
        const uint8_t *below = r + 1 < h ? p + stride : NULL;
        for (int c = 0; c < w; c++) {
            unsigned v = p[c];
            sum += v;
            sum2 += v * v;
            if (c + 1 < w) {
                diff += (unsigned)abs((int)p[c + 1] - (int)v);
                ndiff++;
            }
            if (below) {
                diff += (unsigned)abs((int)below[c] - (int)v);
                ndiff++;
            }
        }
    }
    double n = (double)w * h;
    double mean = sum / n;
    double var = sum2 / n - mean * mean;
    ret->mean = mean;
    ret->stddev = var > 0 ? sqrt(var) : 0;
    ret->detail = ndiff ? (double)diff / ndiff : 0;
}

double thumbs_poster_score(const struct thumbs_luma *s)
{
    /* Limited range: black is 16, white 235; a margin of 8 catches near-black fades. */
    int usable = s->mean >= 16 + 8 && s->mean <= 235 - 8 && s->stddev >= 8;
    double d = (s->mean - 125.5) / 109.5;
    if (d > 1)
        d = 1;
    if (d < -1)
        d = -1;
    double value = (s->stddev + s->detail) * (1 - 0.5 * d * d);
    /* value is at most a few hundred, so the offset puts every unusable frame last. */
    return usable ? value : value - 1e6;
}

int thumbs_poster_candidate(int64_t idx, int64_t total_frames, double fps)
{
    if (idx == 0)
        return 1;
    if (!(fps > 0))
        fps = 25;
    /* Every half second of the first 2 s too: the first poster, published when the media
     * becomes playable (thumbs_write_poster), is chosen among these, and frame 0 is often
     * black (a fade in). */
    int64_t half = llround(fps / 2) > 0 ? llround(fps / 2) : 1;
    if (idx < 4 * half && idx % half == 0)
        return 1;
    if (total_frames <= 0) {
        int64_t step = llround(fps) > 0 ? llround(fps) : 1;
        return idx < 20 * step && idx % step == step / 2;
    }
    /* Not past 40 %: the end of a video gives its story away, and credits are dull. */
    double span = 0.4 * (double)total_frames;
    double short_span = fmin((double)total_frames, 10 * fps);
    if (span < short_span)
        span = short_span;
    for (int k = 0; k < THUMBS_POSTER_CANDIDATES; k++)
        if ((int64_t)(span * (k + 0.5) / THUMBS_POSTER_CANDIDATES) == idx)
            return 1;
    return 0;
}

/* ---- colours for JPEG -------------------------------------------------- */

/* R, G, B of full-range Y, Cb, Cr (chroma centred on 0) under luma weights kr, kb. */
static void ycbcr_to_rgb(double y, double cb, double cr, double kr, double kb, double rgb[3])
{
    double kg = 1 - kr - kb;
    rgb[0] = y + 2 * (1 - kr) * cr;
    rgb[2] = y + 2 * (1 - kb) * cb;
    rgb[1] = (y - kr * rgb[0] - kb * rgb[2]) / kg;
}

static void rgb_to_ycbcr(const double rgb[3], double kr, double kb, double ycc[3])
{
    ycc[0] = kr * rgb[0] + (1 - kr - kb) * rgb[1] + kb * rgb[2];
    ycc[1] = (rgb[2] - ycc[0]) / (2 * (1 - kb));
    ycc[2] = (rgb[0] - ycc[0]) / (2 * (1 - kr));
}

static uint8_t clamp_u8(double v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrint(v);
}

void thumbs_to_jpeg_matrix(uint8_t *y, ptrdiff_t y_stride, uint8_t *cb, ptrdiff_t cb_stride,
                           uint8_t *cr, ptrdiff_t cr_stride, int w, int h, double kr, double kb)
{
    const double jpeg_kr = 0.299, jpeg_kb = 0.114;
    /*
     * The change of matrix is linear: decode with one, encode with the other, applied to a
     * unit Cb and a unit Cr gives its columns (a unit Y maps to itself: grey stays grey).
     */
    double rgb[3], from_cb[3], from_cr[3];
    ycbcr_to_rgb(0, 1, 0, kr, kb, rgb);
    rgb_to_ycbcr(rgb, jpeg_kr, jpeg_kb, from_cb);
    ycbcr_to_rgb(0, 0, 1, kr, kb, rgb);
    rgb_to_ycbcr(rgb, jpeg_kr, jpeg_kb, from_cr);
    for (int r = 0; r < (h + 1) / 2; r++) {
        uint8_t *pb = cb + r * cb_stride, *pr = cr + r * cr_stride;
        for (int c = 0; c < (w + 1) / 2; c++) {
            double u = pb[c] - 128.0, v = pr[c] - 128.0;
            double dy = from_cb[0] * u + from_cr[0] * v;
            for (int k = 0; k < 4; k++) {
                int yr = 2 * r + k / 2, yc = 2 * c + k % 2;
                if (yr < h && yc < w)
                    y[yr * y_stride + yc] = clamp_u8(y[yr * y_stride + yc] + dy);
            }
            pb[c] = clamp_u8(128 + from_cb[1] * u + from_cr[1] * v);
            pr[c] = clamp_u8(128 + from_cb[2] * u + from_cr[2] * v);
        }
    }
}

/* ---- storyboard planning and WebVTT ------------------------------------ */

static int even(double v)
{
    int e = 2 * (int)lround(v / 2);
    return e < 2 ? 2 : e;
}

void thumbs_grid_plan(int display_w, int display_h, double duration_s, double fps,
                      struct thumbs_grid *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (display_w <= 0 || display_h <= 0)
        display_w = display_h = 1;
    if (!(fps > 0))
        fps = 25;
    ret->tile_w = THUMBS_TILE_WIDTH;
    ret->tile_h = even((double)THUMBS_TILE_WIDTH * display_h / display_w);
    if (ret->tile_h > THUMBS_TILE_MAX_HEIGHT) {
        ret->tile_h = THUMBS_TILE_MAX_HEIGHT;
        ret->tile_w = even((double)THUMBS_TILE_MAX_HEIGHT * display_w / display_h);
    }
    ret->cols = THUMBS_SHEET_COLS;
    ret->rows = THUMBS_SHEET_ROWS;
    double interval = duration_s > 0 ? duration_s / THUMBS_MAX_TILES : 0;
    if (interval < 1)
        interval = 1;
    /* Whole frames, rounded up so the tile count stays within THUMBS_MAX_TILES. */
    ret->interval_frames = (int64_t)ceil(interval * fps - 1e-6);
    if (ret->interval_frames < 1)
        ret->interval_frames = 1;
    ret->interval_s = (double)ret->interval_frames / fps;
}

static int add_time(struct buf *b, int64_t ms)
{
    return buf_addf(b, "%02lld:%02d:%02d.%03d", (long long)(ms / 3600000),
                    (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
}

int thumbs_vtt_write(struct buf *b, const struct thumbs_grid *g, size_t n_tiles,
                     double duration_s)
{
    size_t per_sheet = (size_t)g->cols * (size_t)g->rows;
    int64_t end_ms = llround(duration_s * 1000);
    int rc = buf_adds(b, "WEBVTT\n");
    for (size_t i = 0; i < n_tiles && rc == 0; i++) {
        int64_t start = llround((double)i * g->interval_s * 1000);
        int64_t end = i + 1 < n_tiles ? llround((double)(i + 1) * g->interval_s * 1000) : end_ms;
        if (end <= start)
            end = start + 1; /* a cue must not be empty */
        size_t k = i % per_sheet;
        if ((rc = buf_adds(b, "\n")) < 0 || (rc = add_time(b, start)) < 0 ||
            (rc = buf_adds(b, " --> ")) < 0 || (rc = add_time(b, end)) < 0)
            break;
        rc = buf_addf(b, "\nsheet-%zu.jpg#xywh=%d,%d,%d,%d\n", i / per_sheet + 1,
                      (int)(k % (size_t)g->cols) * g->tile_w,
                      (int)(k / (size_t)g->cols) * g->tile_h, g->tile_w, g->tile_h);
    }
    return rc;
}

int thumbs_sheet_rows(const struct thumbs_grid *g, size_t n_tiles)
{
    size_t per_sheet = (size_t)g->cols * (size_t)g->rows;
    if (n_tiles > per_sheet)
        return g->rows;
    return (int)((n_tiles + (size_t)g->cols - 1) / (size_t)g->cols);
}

/* ---- files ------------------------------------------------------------- */

/* Write through a temporary name: a reader of the output folder never sees half a file. */
static int write_file(const char *path, const void *data, size_t len, struct kino_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return kino_err_set(err, KINO_EINVAL, "output path too long: %s", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return kino_err_set(err, -errno, "cannot create %s: %s", tmp, strerror(errno));
    int bad = fwrite(data, 1, len, fp) != len;
    if (fclose(fp) != 0 || bad) {
        unlink(tmp);
        return kino_err_set(err, -EIO, "cannot write %s; is the disk full?", tmp);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return kino_err_set(err, -e, "cannot create %s: %s", path, strerror(e));
    }
    return 0;
}

/*
 * Encode the top `w`x`h` of `src` (yuvj420p, at least that large) as the JPEG file `path`;
 * `bytes` (may be NULL) gets its size.
 */
static int write_jpeg(const AVFrame *src, int w, int h, int qscale, const char *path,
                      size_t *bytes, struct kino_err *err)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *c = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int rc;
    if (!codec || !c || !f || !pkt) {
        rc = kino_err_set(err, KINO_EINTERNAL, "cannot start the JPEG encoder");
        goto out;
    }
    c->width = w;
    c->height = h;
    c->pix_fmt = AV_PIX_FMT_YUVJ420P;
    c->color_range = AVCOL_RANGE_JPEG;
    c->time_base = (AVRational){ 1, 25 };
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * qscale;
    if ((rc = avcodec_open2(c, codec, NULL)) < 0) {
        rc = kino_err_set(err, KINO_EINTERNAL, "cannot start the JPEG encoder: %s",
                          av_err2str(rc));
        goto out;
    }
    /* A view of the top rows: the cropped last sheet shares the full sheet's buffer. */
    if ((rc = av_frame_ref(f, src)) < 0) {
        rc = kino_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    f->width = w;
    f->height = h;
    f->pts = 0;
    f->quality = c->global_quality;
    if ((rc = avcodec_send_frame(c, f)) < 0 || (rc = avcodec_receive_packet(c, pkt)) < 0) {
        rc = kino_err_set(err, KINO_EINTERNAL, "cannot encode %s: %s", path, av_err2str(rc));
        goto out;
    }
    rc = write_file(path, pkt->data, (size_t)pkt->size, err);
    if (rc == 0 && bytes)
        *bytes = (size_t)pkt->size;
out:
    avcodec_free_context(&c);
    av_frame_free(&f);
    av_packet_free(&pkt);
    return rc;
}

static AVFrame *new_picture(int format, int w, int h)
{
    AVFrame *f = av_frame_alloc();
    if (!f)
        return NULL;
    f->format = format;
    f->width = w;
    f->height = h;
    if (av_frame_get_buffer(f, 0) < 0)
        av_frame_free(&f);
    return f;
}

/* Full-range black: the unused tiles of the last sheet's last row stay black. */
static void clear_sheet(AVFrame *s)
{
    for (int y = 0; y < s->height; y++)
        memset(s->data[0] + (ptrdiff_t)y * s->linesize[0], 0, (size_t)s->width);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < s->height / 2; y++)
            memset(s->data[p] + (ptrdiff_t)y * s->linesize[p], 128, (size_t)s->width / 2);
}

static int write_sheet(struct thumbs *t, struct kino_err *err)
{
    size_t per_sheet = (size_t)t->grid.cols * (size_t)t->grid.rows;
    size_t number = (t->n_tiles - 1) / per_sheet + 1, bytes = 0;
    /* Called for a full sheet, or at the end: n_tiles is then the storyboard's own count. */
    int rows = thumbs_sheet_rows(&t->grid, t->n_tiles);
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/" THUMBS_DIR "/sheet-%zu.jpg", t->dir, number) >=
        (int)sizeof(path))
        return kino_err_set(err, KINO_EINVAL, "output path too long: %s", t->dir);
    int rc = write_jpeg(t->sheet, t->sheet->width, rows * t->grid.tile_h, SHEET_QSCALE, path,
                        &bytes, err);
    t->sheet_used = 0;
    if (rc < 0)
        return rc;
    if (t->n_sheets == t->cap_sheets) {
        t->cap_sheets = t->cap_sheets ? 2 * t->cap_sheets : 4;
        t->sheet_bytes = xrealloc(t->sheet_bytes, t->cap_sheets * sizeof(*t->sheet_bytes));
    }
    t->sheet_bytes[t->n_sheets++] = bytes;
    clear_sheet(t->sheet);
    return 0;
}

/* ---- the frame sink (scaling contexts: media_sws_get, resize.h) ------------ */

/*
 * Make the full-range picture `f`, whose samples are in `matrix`, BT.601 for JPEG. Only the
 * matrices defined by two luma weights are converted; BT.601's is left as it is, and so are
 * unknown ones (FFmpeg takes BT.601's then too) and those that are not such a matrix: YCgCo,
 * and "RGB" on YUV samples (a damaged stream), for which FFmpeg gives weights of 1 and 1.
 */
static void to_jpeg_matrix(AVFrame *f, enum AVColorSpace matrix)
{
    switch (matrix) {
    case AVCOL_SPC_BT709:
    case AVCOL_SPC_FCC:
    case AVCOL_SPC_SMPTE240M:
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: /* not a matrix, but near BT.2020's */
        break;
    default:
        return;
    }
    const AVLumaCoefficients *k = av_csp_luma_coeffs_from_avcsp(matrix);
    if (k)
        thumbs_to_jpeg_matrix(f->data[0], f->linesize[0], f->data[1], f->linesize[1],
                              f->data[2], f->linesize[2], f->width, f->height, av_q2d(k->cr),
                              av_q2d(k->cb));
}

int thumbs_open(struct thumbs *t, const char *out_dir, int display_w, int display_h,
                double duration_s, double fps, struct kino_err *err)
{
    char path[PATH_MAX];
    if (snprintf(t->dir, sizeof(t->dir), "%s", out_dir) >= (int)sizeof(t->dir) ||
        snprintf(path, sizeof(path), "%s/" THUMBS_DIR, out_dir) >= (int)sizeof(path))
        return kino_err_set(err, KINO_EINVAL, "output path too long: %s", out_dir);
    if (!avcodec_find_encoder(AV_CODEC_ID_MJPEG))
        return kino_err_set(err, KINO_EINTERNAL, "FFmpeg was built without the JPEG encoder");
    int rc = fs_mkdirs(path);
    if (rc < 0)
        return kino_err_set(err, rc, "cannot create %s: %s", path, strerror(-rc));
    t->fps = fps > 0 ? fps : 25;
    t->total_frames = duration_s > 0 ? (int64_t)(duration_s * t->fps) : 0;

    t->poster_w = display_w;
    t->poster_h = display_h;
    if (t->poster_w > THUMBS_POSTER_MAX_WIDTH) {
        t->poster_h = even((double)display_h * THUMBS_POSTER_MAX_WIDTH / display_w);
        t->poster_w = THUMBS_POSTER_MAX_WIDTH;
    }
    t->poster_w = even(t->poster_w);
    t->poster_h = even(t->poster_h);
    thumbs_grid_plan(display_w, display_h, duration_s, t->fps, &t->grid);

    t->best = new_picture(AV_PIX_FMT_YUV420P, t->poster_w, t->poster_h);
    t->scratch = new_picture(AV_PIX_FMT_YUV420P, t->poster_w, t->poster_h);
    t->tile = new_picture(AV_PIX_FMT_YUVJ420P, t->grid.tile_w, t->grid.tile_h);
    t->sheet = new_picture(AV_PIX_FMT_YUVJ420P, t->grid.cols * t->grid.tile_w,
                           t->grid.rows * t->grid.tile_h);
    if (!t->best || !t->scratch || !t->tile || !t->sheet)
        return kino_err_set(err, -ENOMEM, "out of memory");
    clear_sheet(t->sheet);
    return 0;
}

static int offer_poster(struct thumbs *t, const AVFrame *src, struct kino_err *err)
{
    /*
     * Scored at poster size in limited-range yuv420p, whatever the source's
     * format: the luma plane is then 8-bit with black at 16 for every input.
     */
    struct SwsContext *sws = media_sws_get(&t->poster_sws, src, t->poster_w, t->poster_h,
                                           AV_PIX_FMT_YUV420P, SWS_BICUBIC);
    if (!sws)
        return kino_err_set(err, KINO_EMEDIA, "cannot convert the video for the poster");
    if (av_frame_make_writable(t->scratch) < 0)
        return kino_err_set(err, -ENOMEM, "out of memory");
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
              t->scratch->data, t->scratch->linesize);
    t->scratch->colorspace = media_sws_matrix(src, AV_PIX_FMT_YUV420P);
    struct thumbs_luma s;
    thumbs_luma_measure(t->scratch->data[0], t->scratch->linesize[0], t->poster_w, t->poster_h,
                        &s);
    double score = thumbs_poster_score(&s);
    if (!t->have_best || score > t->best_score) {
        /* Keep the winner by swapping pictures: no copy, two pictures at most. */
        AVFrame *tmp = t->best;
        t->best = t->scratch;
        t->scratch = tmp;
        t->best_score = score;
        t->have_best = 1;
    }
    return 0;
}

static int take_tile(struct thumbs *t, const AVFrame *src, struct kino_err *err)
{
    /* SWS_AREA: a 1080p frame shrinks twelvefold; area averaging avoids aliasing. */
    struct SwsContext *sws = media_sws_get(&t->tile_sws, src, t->grid.tile_w, t->grid.tile_h,
                                           AV_PIX_FMT_YUVJ420P, SWS_AREA);
    if (!sws)
        return kino_err_set(err, KINO_EMEDIA, "cannot convert the video for the storyboard");
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
              t->tile->data, t->tile->linesize);
    to_jpeg_matrix(t->tile, media_sws_matrix(src, AV_PIX_FMT_YUVJ420P));
    int k = t->sheet_used;
    int x = (k % t->grid.cols) * t->grid.tile_w, y = (k / t->grid.cols) * t->grid.tile_h;
    for (int p = 0; p < 3; p++) {
        int sh = p ? 1 : 0; /* chroma planes are half size in both directions */
        for (int r = 0; r < t->grid.tile_h >> sh; r++)
            memcpy(t->sheet->data[p] + (ptrdiff_t)((y >> sh) + r) * t->sheet->linesize[p] +
                       (x >> sh),
                   t->tile->data[p] + (ptrdiff_t)r * t->tile->linesize[p],
                   (size_t)(t->grid.tile_w >> sh));
    }
    t->n_tiles++;
    t->sheet_used++;
    if (t->sheet_used == t->grid.cols * t->grid.rows)
        return write_sheet(t, err);
    return 0;
}

int thumbs_frame(struct thumbs *t, const AVFrame *src, int64_t idx, struct kino_err *err)
{
    int rc;
    if (!t->sheet)
        return 0; /* not opened: no video */
    if (thumbs_poster_candidate(idx, t->total_frames, t->fps) &&
        (rc = offer_poster(t, src, err)) < 0)
        return rc;
    if (idx % t->grid.interval_frames == 0 && (rc = take_tile(t, src, err)) < 0)
        return rc;
    return 0;
}

int thumbs_write_poster(struct thumbs *t, struct kino_err *err)
{
    int rc = 0;
    if (!t->sheet || !t->have_best)
        return 1;
    /* The MJPEG encoder wants full range; the candidates were kept in limited range. */
    AVFrame *jp = new_picture(AV_PIX_FMT_YUVJ420P, t->poster_w, t->poster_h);
    struct SwsContext *sws = sws_getContext(t->poster_w, t->poster_h, AV_PIX_FMT_YUV420P,
                                            t->poster_w, t->poster_h, AV_PIX_FMT_YUVJ420P,
                                            SWS_POINT, NULL, NULL, NULL);
    char poster[PATH_MAX];
    if (!jp || !sws) {
        rc = kino_err_set(err, -ENOMEM, "out of memory");
    } else if (snprintf(poster, sizeof(poster), "%s/poster.jpg", t->dir) >= (int)sizeof(poster)) {
        rc = kino_err_set(err, KINO_EINVAL, "output path too long: %s", t->dir);
    } else {
        sws_scale(sws, (const uint8_t *const *)t->best->data, t->best->linesize, 0,
                  t->poster_h, jp->data, jp->linesize);
        to_jpeg_matrix(jp, t->best->colorspace);
        rc = write_jpeg(jp, t->poster_w, t->poster_h, POSTER_QSCALE, poster, NULL, err);
    }
    sws_freeContext(sws);
    av_frame_free(&jp);
    return rc;
}

int thumbs_finish(struct thumbs *t, int64_t n_frames, const AVFrame *last, double end_s,
                  struct kino_err *err)
{
    char path[PATH_MAX];
    int rc = 0;
    if (!t->sheet || !t->have_best)
        return 0;
    if (snprintf(path, sizeof(path), "%s/" THUMBS_DIR "/" THUMBS_VTT_NAME, t->dir) >=
        (int)sizeof(path))
        return kino_err_set(err, KINO_EINVAL, "output path too long: %s", t->dir);
    if ((rc = thumbs_write_poster(t, err)) < 0)
        return rc;
    /*
     * A player asks the sheets for any time up to the presentation's end, which comes a
     * little after the last picture's (the B-frame delay, the sound's last frame). When the
     * pictures end on a tile's boundary, as round durations do, no tile would cover that
     * last moment; the tile added there shows the last picture, as the player does then.
     */
    size_t video_tiles = t->n_tiles;
    while (last && (double)t->n_tiles * t->grid.interval_s < end_s - 0.001)
        if ((rc = take_tile(t, last, err)) < 0)
            return rc;
    if (t->sheet_used > 0 && (rc = write_sheet(t, err)) < 0)
        return rc;
    struct buf b;
    buf_init(&b, VTT_MAX);
    rc = thumbs_vtt_write(&b, &t->grid, video_tiles, (double)n_frames / t->fps);
    if (rc == 0)
        rc = write_file(path, b.ptr, b.len, err);
    else
        rc = kino_err_set(err, rc, "the storyboard track is too large");
    buf_release(&b);
    return rc;
}

void thumbs_release(struct thumbs *t)
{
    if (!t)
        return;
    av_frame_free(&t->best);
    av_frame_free(&t->scratch);
    av_frame_free(&t->tile);
    av_frame_free(&t->sheet);
    media_sws_release(&t->poster_sws);
    media_sws_release(&t->tile_sws);
    t->have_best = 0;
    t->n_tiles = 0;
    t->sheet_used = 0;
    free(t->sheet_bytes);
    t->sheet_bytes = NULL;
    t->n_sheets = t->cap_sheets = 0;
}
