/* SPDX-License-Identifier: MIT */
/*
 * HLS playlists written by hand rather than by FFmpeg's hls muxer, whose 5.1
 * version guesses BANDWIDTH from nominal rates and omits AVERAGE-BANDWIDTH and
 * FRAME-RATE. Everything here is measured from the segments actually written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "media/hls.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

int hls_target_duration(const struct hls_segment *segs, size_t n)
{
    long target = 1;
    for (size_t i = 0; i < n; i++) {
        /* RFC 8216 §4.3.3.1: each EXTINF rounded to nearest must be <= target. */
        long r = lround(segs[i].duration);
        if (r > target)
            target = r;
    }
    return (int)target;
}

/* The tags every media playlist here begins with; `type` is "VOD" or "EVENT". */
static int write_head(struct buf *out, int target, const char *type)
{
    return buf_addf(out,
                    "#EXTM3U\n"
                    "#EXT-X-VERSION:7\n"
                    "#EXT-X-TARGETDURATION:%d\n"
                    "#EXT-X-MEDIA-SEQUENCE:1\n"
                    "#EXT-X-PLAYLIST-TYPE:%s\n",
                    target, type);
}

static int write_media(struct buf *out, const struct hls_segment *segs, size_t n, int target,
                       int ended)
{
    int rc = write_head(out, target, ended ? "VOD" : "EVENT");
    if (rc == 0)
        rc = buf_adds(out, "#EXT-X-INDEPENDENT-SEGMENTS\n"
                           "#EXT-X-START:TIME-OFFSET=0\n"
                           "#EXT-X-MAP:URI=\"init.mp4\"\n");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = buf_addf(out, "#EXTINF:%.6f,\n%zu.m4s\n", segs[i].duration, i + 1);
    if (rc == 0 && ended)
        rc = buf_adds(out, "#EXT-X-ENDLIST\n");
    return rc;
}

int hls_write_media(struct buf *out, const struct hls_segment *segs, size_t n, int target)
{
    return write_media(out, segs, n, target, 1);
}

int hls_write_media_event(struct buf *out, const struct hls_segment *segs, size_t n, int target)
{
    return write_media(out, segs, n, target, 0);
}

size_t hls_start_variant(const struct hls_variant *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (llabs(v[i].average_bandwidth - HLS_START_AVERAGE_BPS) <
            llabs(v[best].average_bandwidth - HLS_START_AVERAGE_BPS))
            best = i;
    return best;
}

static int write_variant(struct buf *out, const struct hls_variant *v)
{
    int rc = buf_addf(out, "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,CODECS=\"%s\"",
                      (long long)v->bandwidth, (long long)v->average_bandwidth, v->codecs);
    if (rc == 0 && v->width > 0)
        rc = buf_addf(out, ",RESOLUTION=%dx%d,FRAME-RATE=%.3f", v->width, v->height,
                      v->frame_rate);
    if (rc == 0 && v->has_audio_group)
        rc = buf_adds(out, ",AUDIO=\"audio\"");
    if (rc == 0)
        rc = buf_addf(out, "\n%s\n", v->uri);
    return rc;
}

int hls_write_master(struct buf *out, const struct hls_variant *v, size_t n,
                     const struct hls_audio *audio)
{
    int rc = buf_adds(out, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if (rc == 0 && audio)
        rc = buf_addf(out,
                      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Default\","
                      "LANGUAGE=\"%s\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"%d\",URI=\"%s\"\n",
                      audio->language, audio->channels, audio->uri);
    size_t first = hls_start_variant(v, n);
    if (rc == 0 && n > 0)
        rc = write_variant(out, &v[first]);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (i != first)
            rc = write_variant(out, &v[i]);
    return rc;
}

static int iframe_target(const struct hls_iframe *f, size_t n)
{
    long target = 1;
    for (size_t i = 0; i < n; i++) {
        long r = lround(f[i].duration);
        target = r > target ? r : target;
    }
    return (int)target;
}

int hls_write_iframes(struct buf *out, const struct hls_iframe *f, size_t n)
{
    /* I-frames only: each range decodes alone, so EXT-X-INDEPENDENT-SEGMENTS holds too. */
    int rc = write_head(out, iframe_target(f, n), "VOD");
    if (rc == 0)
        rc = buf_adds(out, "#EXT-X-I-FRAMES-ONLY\n"
                           "#EXT-X-INDEPENDENT-SEGMENTS\n"
                           "#EXT-X-MAP:URI=\"init.mp4\"\n");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = buf_addf(out, "#EXTINF:%.6f,\n#EXT-X-BYTERANGE:%lld@%lld\n%zu.m4s\n", f[i].duration,
                      (long long)f[i].length, (long long)f[i].offset, f[i].segment);
    if (rc == 0)
        rc = buf_adds(out, "#EXT-X-ENDLIST\n");
    return rc;
}

int hls_write_iframe_variants(struct buf *out, const struct hls_iframe_variant *v, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = buf_addf(out,
                      "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,"
                      "CODECS=\"%s\",RESOLUTION=%dx%d,URI=\"%s\"\n",
                      (long long)v[i].bandwidth, (long long)v[i].average_bandwidth, v[i].codecs,
                      v[i].width, v[i].height, v[i].uri);
    return rc;
}

int hls_write_images(struct buf *out, const struct hls_images *s)
{
    if (s->n_sheets == 0 || !s->sheets || s->tile_w <= 0 || s->tile_h <= 0 || s->cols <= 0 ||
        s->rows <= 0 || !(s->tile_duration > 0))
        return KINO_EINVAL;
    int rc = write_head(out, hls_target_duration(s->sheets, s->n_sheets), "VOD");
    if (rc == 0)
        rc = buf_adds(out, "#EXT-X-IMAGES-ONLY\n");
    /* EXT-X-TILES is a segment tag: it describes the sheet that follows it only. */
    for (size_t i = 0; i < s->n_sheets && rc == 0; i++)
        rc = buf_addf(out,
                      "#EXTINF:%.6f,\n"
                      "#EXT-X-TILES:RESOLUTION=%dx%d,LAYOUT=%dx%d,DURATION=%.6f\n"
                      "sheet-%zu.jpg\n",
                      s->sheets[i].duration, s->tile_w, s->tile_h, s->cols, s->rows,
                      s->tile_duration, i + 1);
    if (rc == 0)
        rc = buf_adds(out, "#EXT-X-ENDLIST\n");
    return rc;
}

int hls_write_image_variant(struct buf *out, const struct hls_images *s)
{
    int64_t peak = 0, average = 0;
    hls_measure(s->sheets, s->n_sheets, NULL, 0, hls_target_duration(s->sheets, s->n_sheets),
                &peak, &average);
    return buf_addf(out,
                    "#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=%lld,RESOLUTION=%dx%d,CODECS=\"jpeg\","
                    "URI=\"%s\"\n",
                    (long long)peak, s->tile_w, s->tile_h, s->uri);
}

static double seg_bits(const struct hls_segment *s, size_t n, size_t i, size_t from)
{
    double bits = 0;
    for (size_t k = from; k <= i && k < n; k++)
        bits += (double)s[k].bytes * 8.0;
    return bits;
}

static double seg_dur(const struct hls_segment *s, size_t n, size_t i, size_t from)
{
    double d = 0;
    for (size_t k = from; k <= i && k < n; k++)
        d += s[k].duration;
    return d;
}

void hls_measure(const struct hls_segment *video, size_t nv, const struct hls_segment *audio,
                 size_t na, int target, int64_t *ret_peak, int64_t *ret_average)
{
    double peak = 0, total_bits = 0, total_dur = 0;
    for (size_t i = 0; i < nv; i++) {
        total_bits += (double)video[i].bytes * 8.0;
        total_dur += video[i].duration;
        size_t from = i;
        if (i > 0 && video[i].duration < 0.5 * target)
            from = i - 1;
        double vd = seg_dur(video, nv, i, from);
        double rate = vd > 0 ? seg_bits(video, nv, i, from) / vd : 0;
        if (audio && from < na) {
            double ad = seg_dur(audio, na, i, from);
            if (ad > 0)
                rate += seg_bits(audio, na, i, from) / ad;
        }
        if (rate > peak)
            peak = rate;
    }
    for (size_t i = 0; audio && i < na; i++)
        total_bits += (double)audio[i].bytes * 8.0;
    *ret_peak = llround(ceil(peak));
    *ret_average = total_dur > 0 ? llround(ceil(total_bits / total_dur)) : 0;
    /* Audio runs a little past the video (priming): never declare AVERAGE > BANDWIDTH. */
    if (*ret_average > *ret_peak)
        *ret_peak = *ret_average;
}

int hls_codec_avc(const uint8_t *p, size_t len, char *out, size_t cap)
{
    const uint8_t *sps = NULL;
    if (len >= 4 && p[0] == 1) {
        /* avcC: configurationVersion, then profile, compatibility, level. */
        sps = p + 1;
    } else {
        /* Annex B: find a start code followed by NAL type 7 (SPS). */
        for (size_t i = 0; i + 3 < len; i++) {
            if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1 && i + 6 < len &&
                (p[i + 3] & 0x1f) == 7) {
                sps = p + i + 4;
                break;
            }
        }
    }
    if (!sps)
        return KINO_EINVAL;
    snprintf(out, cap, "avc1.%02x%02x%02x", sps[0], sps[1], sps[2]);
    return 0;
}

void hls_measure_iframes(const struct hls_iframe *f, size_t n, int64_t *ret_peak,
                         int64_t *ret_average)
{
    struct hls_segment *s = xmalloc((n ? n : 1) * sizeof(*s));
    for (size_t i = 0; i < n; i++)
        s[i] = (struct hls_segment){ .duration = f[i].duration, .bytes = f[i].length };
    hls_measure(s, n, NULL, 0, iframe_target(f, n), ret_peak, ret_average);
    free(s);
}
