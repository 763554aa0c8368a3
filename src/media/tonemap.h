/* SPDX-License-Identifier: MIT */
/*
 * HDR to SDR tone mapping of linear-light RGB: the curve step between the two
 * zscale conversions of prep.c (PQ or HLG to linear BT.709, then to 8-bit BT.709).
 *
 * The curve is Möbius, as libavfilter's tonemap filter computes it with
 * param 0.3 and desat 0 (the settings kino used through that filter): a
 * pixel's brightest component m is left as it is up to 0.3 (30 nits) and
 * rolled off above, so that the signal's peak lands on 1.0 (SDR white); the
 * three components are scaled by the same factor, which keeps the hue. Möbius
 * keeps the SDR range nearly as it was: a chart mastered at 203 nits comes
 * back at 26.5 dB against its SDR original, 24.7 with Reinhard, 19.4 with
 * Hable, 14.5 without tone mapping.
 *
 * The filter works one pixel at a time in scalar code: 20 ms for a 1080p frame
 * here, more than decoding it. The loop below is written so that the compiler
 * makes vector code of it (no branch, no call): about 1 ms.
 *
 * Light is in units of 100 nits (zscale's npl=100): 1.0 is SDR white.
 */
#ifndef KINO_MEDIA_TONEMAP_H
#define KINO_MEDIA_TONEMAP_H

#include <stddef.h>

#include <libavutil/frame.h>

/* Where the curve starts bending (tonemap's param for Möbius). */
#define MEDIA_TONEMAP_KNEE 0.3f

/*
 * The brightest light `f` carries, in units of 100 nits, as libavfilter decides it: the
 * content light level's MaxCLL, else the mastering display's peak, else 10 (1000 nits: the
 * usual HDR10 mastering peak and HLG's reference display). Unlike libavfilter, a value under
 * SDR white (100 nits) is not believed and the next one is used, and one over PQ's 10000 nits
 * counts as 10000: a file claiming MaxCLL = 1 nit had every highlight above SDR white
 * clipped.
 */
double media_tonemap_peak(const AVFrame *f);

/* The curve's value for brightest component `m` (>= 0): `m` up to the knee, then a Möbius
 * arc that reaches 1.0 at `peak`. For tests and reference; the loop below inlines it. */
float media_tonemap_curve(float m, float peak);

/* Tone-map `n` pixels in place: r[i], g[i] and b[i] scaled by curve(m) / m, m their maximum.
 * Negative components (out of the BT.709 gamut) pass through the same factor. */
void media_tonemap_rgb(float *r, float *g, float *b, size_t n, float peak);

/* Tone-map a writable AV_PIX_FMT_GBRPF32 frame in place, with media_tonemap_peak(f). */
void media_tonemap_frame(AVFrame *f);

#endif
