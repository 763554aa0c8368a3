/* SPDX-License-Identifier: MIT */
/* Möbius tone mapping of linear-light RGB, in vector-friendly form (tonemap.h). */
#include "media/tonemap.h"

#include <libavutil/mastering_display_metadata.h>
#include <libavutil/pixfmt.h>
#include <libavutil/rational.h>

#include "core/banned.h"

/* zscale's npl=100: 1.0 is 100 nits. */
#define NITS_PER_UNIT 100.0

/* A claimed peak in nits as believed: at most PQ's 10000; under SDR white (100) none. */
static double believed_nits(double nits)
{
    if (!(nits >= 100.0))
        return 0;
    return nits > 10000.0 ? 10000.0 : nits;
}

double media_tonemap_peak(const AVFrame *f)
{
    const AVFrameSideData *sd = av_frame_get_side_data(f, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL);
    if (sd && sd->size >= sizeof(AVContentLightMetadata)) {
        const AVContentLightMetadata *cll = (const AVContentLightMetadata *)sd->data;
        double nits = believed_nits(cll->MaxCLL);
        if (nits > 0)
            return nits / NITS_PER_UNIT;
    }
    sd = av_frame_get_side_data(f, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA);
    if (sd && sd->size >= sizeof(AVMasteringDisplayMetadata)) {
        const AVMasteringDisplayMetadata *md = (const AVMasteringDisplayMetadata *)sd->data;
        double nits = md->has_luminance && md->max_luminance.den > 0
                          ? believed_nits(av_q2d(md->max_luminance))
                          : 0;
        if (nits > 0)
            return nits / NITS_PER_UNIT;
    }
    return 1000.0 / NITS_PER_UNIT;
}

/*
 * The arc's constants for `peak` (> 1): out = k (m + a) / (m + b) above the knee j, chosen so
 * that it meets y = m at j with slope 1 and reaches 1.0 at the peak.
 */
struct arc {
    float a, b, k;
};

static struct arc arc_for(float peak)
{
    const float j = MEDIA_TONEMAP_KNEE;
    struct arc c;
    c.a = -j * j * (peak - 1.0f) / (j * j - 2.0f * j + peak);
    c.b = (j * j - 2.0f * j * peak + peak) / (peak - 1.0f);
    c.k = (c.b * c.b + 2.0f * c.b * j + j * j) / (c.b - c.a);
    return c;
}

float media_tonemap_curve(float m, float peak)
{
    if (!(peak > 1.0f) || m <= MEDIA_TONEMAP_KNEE)
        return m; /* a peak at or under SDR white needs no roll-off */
    struct arc c = arc_for(peak);
    return c.k * (m + c.a) / (m + c.b);
}

void media_tonemap_rgb(float *restrict r, float *restrict g, float *restrict b, size_t n,
                       float peak)
{
    if (!(peak > 1.0f))
        return;
    const struct arc c = arc_for(peak);
    /*
     * No branch, no call: the compiler makes vector code of this loop. The factor is
     * curve(m) / m on m raised to the knee, where the arc meets the line y = m, so pixels
     * under the knee get 1 (to a rounding) without a select after the division, which GCC
     * refuses to vectorise (a division might trap), and black gives no 0 / 0.
     */
    for (size_t i = 0; i < n; i++) {
        float m = r[i] > g[i] ? r[i] : g[i];
        m = m > b[i] ? m : b[i];
        m = m > MEDIA_TONEMAP_KNEE ? m : MEDIA_TONEMAP_KNEE;
        float s = c.k * (m + c.a) / ((m + c.b) * m);
        r[i] *= s;
        g[i] *= s;
        b[i] *= s;
    }
}

void media_tonemap_frame(AVFrame *f)
{
    float peak = (float)media_tonemap_peak(f);
    /* GBRP plane order: G, B, R. */
    for (int y = 0; y < f->height; y++)
        media_tonemap_rgb((float *)(f->data[2] + (ptrdiff_t)y * f->linesize[2]),
                          (float *)(f->data[0] + (ptrdiff_t)y * f->linesize[0]),
                          (float *)(f->data[1] + (ptrdiff_t)y * f->linesize[1]),
                          (size_t)f->width, peak);
}
