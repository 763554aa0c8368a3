/* SPDX-License-Identifier: MIT */
/*
 * The Möbius curve: SDR light (up to the knee) passes unchanged, the peak
 * lands on SDR white, the arc joins the line without a step and never turns
 * down, and the vector loop scales each pixel's three components by the
 * curve's factor for its brightest one (the hue stays). The peak comes from
 * the frame's HDR metadata as libavfilter's tonemap filter reads it.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include <libavutil/frame.h>
#include <libavutil/mastering_display_metadata.h>

#include "media/tonemap.h"

Test(tonemap, sdr_light_passes_and_the_peak_lands_on_white)
{
    const float peaks[] = { 2.0f, 10.0f, 40.0f, 100.0f };
    for (size_t i = 0; i < sizeof(peaks) / sizeof(peaks[0]); i++) {
        float peak = peaks[i];
        for (float m = 0.0f; m <= MEDIA_TONEMAP_KNEE; m += 0.01f)
            cr_expect_float_eq(media_tonemap_curve(m, peak), m, 1e-7, "peak %g, m %g", peak, m);
        cr_expect_float_eq(media_tonemap_curve(peak, peak), 1.0f, 1e-4, "peak %g", peak);
        /* No step at the knee, and the slope there is about 1. */
        float above = MEDIA_TONEMAP_KNEE + 1e-3f;
        cr_expect_float_eq(media_tonemap_curve(above, peak), above, 1e-5, "peak %g", peak);
        float prev = 0.0f;
        for (float m = 0.0f; m <= peak * 1.5f; m += peak / 1000.0f) {
            float v = media_tonemap_curve(m, peak);
            cr_assert_geq(v, prev, "peak %g: falls at %g", peak, m);
            prev = v;
        }
        cr_expect_lt(media_tonemap_curve(peak / 2, peak), 1.0f, "peak %g", peak);
    }
    /* A peak at or under SDR white: nothing to roll off. */
    cr_expect_float_eq(media_tonemap_curve(0.9f, 1.0f), 0.9f, 1e-7);
    cr_expect_float_eq(media_tonemap_curve(0.9f, 0.5f), 0.9f, 1e-7);
}

Test(tonemap, each_pixel_is_scaled_by_its_brightest_component)
{
    enum { N = 1031 }; /* not a multiple of any vector width: the loop's tail too */
    static float r[N], g[N], b[N], r0[N], g0[N], b0[N];
    uint32_t seed = 7;
    for (int i = 0; i < N; i++) {
        seed = seed * 1664525u + 1013904223u;
        float scale = (float)(seed >> 8) / (float)(1u << 24) * 12.0f; /* 0 to 12: both sides */
        r0[i] = r[i] = scale * (float)((seed >> 3) % 100) / 100.0f;
        g0[i] = g[i] = scale * (float)((seed >> 11) % 100) / 100.0f;
        b0[i] = b[i] = scale * (float)((seed >> 19) % 100) / 100.0f - (i % 17 == 0 ? 0.05f : 0);
    }
    r0[0] = r[0] = g0[0] = g[0] = b0[0] = b[0] = 0.0f; /* black stays black, not NaN */
    media_tonemap_rgb(r, g, b, N, 10.0f);
    for (int i = 0; i < N; i++) {
        float m = fmaxf(fmaxf(r0[i], g0[i]), b0[i]);
        float s = m > 0 ? media_tonemap_curve(m, 10.0f) / m : 1.0f;
        cr_assert(isfinite(r[i]) && isfinite(g[i]) && isfinite(b[i]), "pixel %d", i);
        cr_expect_float_eq(r[i], r0[i] * s, 1e-5f * (1 + r0[i]), "pixel %d red", i);
        cr_expect_float_eq(g[i], g0[i] * s, 1e-5f * (1 + g0[i]), "pixel %d green", i);
        cr_expect_float_eq(b[i], b0[i] * s, 1e-5f * (1 + fabsf(b0[i])), "pixel %d blue", i);
        if (m <= 10.0f)
            cr_expect_leq(fmaxf(fmaxf(r[i], g[i]), b[i]), 1.0f + 1e-5f, "pixel %d above white", i);
    }
}

Test(tonemap, the_peak_comes_from_the_frames_metadata)
{
    AVFrame *f = av_frame_alloc();
    cr_assert_not_null(f);
    cr_expect_float_eq(media_tonemap_peak(f), 10.0, 1e-9, "no metadata: 1000 nits");

    AVMasteringDisplayMetadata *md = av_mastering_display_metadata_create_side_data(f);
    cr_assert_not_null(md);
    md->has_luminance = 1;
    md->max_luminance = av_make_q(4000, 1);
    md->min_luminance = av_make_q(5, 10000);
    cr_expect_float_eq(media_tonemap_peak(f), 40.0, 1e-9, "the mastering display's peak");

    size_t size;
    AVContentLightMetadata *cll = av_content_light_metadata_alloc(&size);
    cr_assert_not_null(cll);
    AVFrameSideData *sd =
        av_frame_new_side_data_from_buf(f, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL,
                                        av_buffer_create((uint8_t *)cll, size, NULL, NULL, 0));
    cr_assert_not_null(sd);
    cll->MaxCLL = 0; /* unknown: the mastering display still counts */
    cr_expect_float_eq(media_tonemap_peak(f), 40.0, 1e-9);
    cll->MaxCLL = 1200;
    cr_expect_float_eq(media_tonemap_peak(f), 12.0, 1e-9, "MaxCLL before the display");

    /* Nonsense is not believed: under SDR white, the next source; over PQ's top, its top. */
    cll->MaxCLL = 1;
    cr_expect_float_eq(media_tonemap_peak(f), 40.0, 1e-9, "MaxCLL 1 nit: the display's peak");
    md->max_luminance = av_make_q(1, 2);
    cr_expect_float_eq(media_tonemap_peak(f), 10.0, 1e-9, "both under 100 nits: 1000 nits");
    cll->MaxCLL = 65535;
    cr_expect_float_eq(media_tonemap_peak(f), 100.0, 1e-9, "MaxCLL 65535: 10000 nits");
    av_frame_free(&f);
}
