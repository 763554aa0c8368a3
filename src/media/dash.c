/* SPDX-License-Identifier: MIT */
/*
 * The DASH MPD, written by hand rather than by FFmpeg's dash muxer: that one
 * would write its own copy of the media and declares nominal bit rates. Here
 * every number comes from the segments already on disk for HLS.
 */
#include <stdio.h>
#include <string.h>

#include "media/dash.h"
#include "core/err.h"
#include "core/banned.h"

#define MPD_NS         "urn:mpeg:dash:schema:mpd:2011"
#define PROFILE_LIVE   "urn:mpeg:dash:profile:isoff-live:2011"
#define CHANNEL_SCHEME "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
#define TILE_SCHEME    "http://dashif.org/thumbnail_tile"

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a < 0 ? -a : a;
}

/* Attribute values are ours (rendition names, codec strings), but one stray '"' breaks XML. */
static int add_attr(struct buf *out, const char *name, const char *value)
{
    int rc = buf_addf(out, " %s=\"", name);
    for (const char *p = value; rc == 0 && *p; p++) {
        switch (*p) {
        case '&': rc = buf_adds(out, "&amp;"); break;
        case '<': rc = buf_adds(out, "&lt;"); break;
        case '>': rc = buf_adds(out, "&gt;"); break;
        case '"': rc = buf_adds(out, "&quot;"); break;
        default: rc = buf_add(out, p, 1); break;
        }
    }
    return rc ? rc : buf_adds(out, "\"");
}

/* xs:duration with millisecond precision: "PT10.000S". */
static int add_duration(struct buf *out, const char *name, double seconds)
{
    return buf_addf(out, " %s=\"PT%.3fS\"", name, seconds);
}

/* "30" or "30000/1001": DASH's FrameRateType. */
static int add_rate(struct buf *out, const char *name, int num, int den)
{
    int64_t g = gcd64(num, den);
    if (g > 1) {
        num = (int)(num / g);
        den = (int)(den / g);
    }
    if (den == 1)
        return buf_addf(out, " %s=\"%d\"", name, num);
    return buf_addf(out, " %s=\"%d/%d\"", name, num, den);
}

static double rep_end(const struct dash_representation *r)
{
    const struct dash_segment *last = &r->segs[r->n_segs - 1];
    return (double)(last->start + last->duration) / r->timescale;
}

static double rep_longest(const struct dash_representation *r)
{
    int64_t d = 0;
    for (size_t i = 0; i < r->n_segs; i++)
        d = r->segs[i].duration > d ? r->segs[i].duration : d;
    return (double)d / r->timescale;
}

static int same_timeline(const struct dash_representation *a, const struct dash_representation *b)
{
    return a->timescale == b->timescale && a->n_segs == b->n_segs &&
           memcmp(a->segs, b->segs, a->n_segs * sizeof(*a->segs)) == 0;
}

/*
 * One S per run of equal durations; t only where a segment does not start
 * where the previous one ended (never, for what the muxer writes, but a gap
 * must not shift every later segment).
 */
static int write_template(struct buf *out, const struct dash_representation *r, const char *indent)
{
    int rc = buf_addf(out,
                      "%s<SegmentTemplate timescale=\"%u\" "
                      "initialization=\"$RepresentationID$/init.mp4\" "
                      "media=\"$RepresentationID$/$Number$.m4s\" startNumber=\"1\">\n"
                      "%s  <SegmentTimeline>\n",
                      indent, (unsigned)r->timescale, indent);
    int64_t next = 0;
    for (size_t i = 0; i < r->n_segs && rc == 0;) {
        const struct dash_segment *s = &r->segs[i];
        size_t k = i + 1;
        while (k < r->n_segs && r->segs[k].duration == s->duration &&
               r->segs[k].start == r->segs[k - 1].start + r->segs[k - 1].duration)
            k++;
        rc = buf_addf(out, "%s    <S", indent);
        if (rc == 0 && (i == 0 || s->start != next))
            rc = buf_addf(out, " t=\"%lld\"", (long long)s->start);
        if (rc == 0)
            rc = buf_addf(out, " d=\"%lld\"", (long long)s->duration);
        if (rc == 0 && k - i > 1)
            rc = buf_addf(out, " r=\"%zu\"", k - i - 1);
        if (rc == 0)
            rc = buf_adds(out, "/>\n");
        next = r->segs[k - 1].start + r->segs[k - 1].duration;
        i = k;
    }
    if (rc == 0)
        rc = buf_addf(out, "%s  </SegmentTimeline>\n%s</SegmentTemplate>\n", indent, indent);
    return rc;
}

static int write_rep(struct buf *out, const struct dash_representation *r, int shared,
                     const struct dash_mpd *m)
{
    int rc = buf_adds(out, "      <Representation");
    if (rc == 0)
        rc = add_attr(out, "id", r->id);
    if (rc == 0)
        rc = buf_addf(out, " bandwidth=\"%lld\"", (long long)r->bandwidth);
    if (rc == 0)
        rc = add_attr(out, "codecs", r->codecs);
    if (rc == 0 && r->width > 0) {
        rc = buf_addf(out, " width=\"%d\" height=\"%d\"", r->width, r->height);
        if (rc == 0)
            rc = add_rate(out, "frameRate", r->fps_num, r->fps_den);
        if (rc == 0)
            rc = buf_adds(out, " sar=\"1:1\"");
    } else if (rc == 0) {
        rc = buf_addf(out, " audioSamplingRate=\"%d\"", m->sample_rate);
    }
    if (rc == 0 && shared)
        return buf_adds(out, "/>\n");
    if (rc == 0)
        rc = buf_adds(out, ">\n");
    if (rc == 0)
        rc = write_template(out, r, "        ");
    if (rc == 0)
        rc = buf_adds(out, "      </Representation>\n");
    return rc;
}

static int write_reps(struct buf *out, const struct dash_representation *r, size_t n,
                      const struct dash_mpd *m)
{
    int shared = 1, rc = 0;
    for (size_t i = 1; i < n; i++)
        shared = shared && same_timeline(&r[0], &r[i]);
    if (shared)
        rc = write_template(out, &r[0], "      ");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = write_rep(out, &r[i], shared, m);
    return rc;
}

static int write_video_set(struct buf *out, const struct dash_mpd *m, int id)
{
    const struct dash_representation *v = m->video;
    int max_w = 0, max_h = 0, fn = v[0].fps_num, fd = v[0].fps_den;
    for (size_t i = 0; i < m->n_video; i++) {
        max_w = v[i].width > max_w ? v[i].width : max_w;
        max_h = v[i].height > max_h ? v[i].height : max_h;
        if ((int64_t)v[i].fps_num * fd > (int64_t)fn * v[i].fps_den) {
            fn = v[i].fps_num;
            fd = v[i].fps_den;
        }
    }
    /* The picture aspect ratio of the top rung; lower rungs round to even sizes near it. */
    int64_t g = gcd64(v[0].width, v[0].height);
    int rc = buf_addf(out,
                      "    <AdaptationSet id=\"%d\" contentType=\"video\" mimeType=\"video/mp4\" "
                      "segmentAlignment=\"true\" startWithSAP=\"1\" maxWidth=\"%d\" "
                      "maxHeight=\"%d\"",
                      id, max_w, max_h);
    if (rc == 0)
        rc = add_rate(out, "maxFrameRate", fn, fd);
    if (rc == 0)
        rc = buf_addf(out, " par=\"%lld:%lld\">\n", (long long)(v[0].width / g),
                      (long long)(v[0].height / g));
    if (rc == 0)
        rc = write_reps(out, v, m->n_video, m);
    if (rc == 0)
        rc = buf_adds(out, "    </AdaptationSet>\n");
    return rc;
}

static int write_audio_set(struct buf *out, const struct dash_mpd *m, int id)
{
    int rc = buf_addf(out,
                      "    <AdaptationSet id=\"%d\" contentType=\"audio\" mimeType=\"audio/mp4\"",
                      id);
    if (rc == 0)
        rc = add_attr(out, "lang", m->language ? m->language : "und");
    if (rc == 0)
        rc = buf_addf(out,
                      " segmentAlignment=\"true\" startWithSAP=\"1\">\n"
                      "      <AudioChannelConfiguration schemeIdUri=\"" CHANNEL_SCHEME "\" "
                      "value=\"%d\"/>\n",
                      m->channels);
    if (rc == 0)
        rc = write_reps(out, m->audio, 1, m);
    if (rc == 0)
        rc = buf_adds(out, "    </AdaptationSet>\n");
    return rc;
}

/*
 * Simple addressing (SegmentTemplate@duration) rather than a timeline: it is
 * what DASH-IF's examples use and what every thumbnail-aware player reads, and
 * the sheets are all equally long. The Representation's size is the whole
 * sheet's; players divide it by the grid to find a tile.
 */
static int write_thumbnail_set(struct buf *out, const struct dash_thumbnails *t, int id)
{
    int rc = buf_addf(out,
                      "    <AdaptationSet id=\"%d\" contentType=\"image\" "
                      "mimeType=\"image/jpeg\">\n"
                      "      <SegmentTemplate timescale=\"%u\" duration=\"%lld\" startNumber=\"1\"",
                      id, (unsigned)t->timescale, (long long)t->sheet_duration);
    if (rc == 0)
        rc = add_attr(out, "media", t->media);
    if (rc == 0)
        rc = buf_addf(out,
                      "/>\n"
                      "      <Representation id=\"storyboard\" bandwidth=\"%lld\" width=\"%d\" "
                      "height=\"%d\">\n"
                      "        <EssentialProperty schemeIdUri=\"" TILE_SCHEME "\" value=\"%dx%d\"/>\n"
                      "      </Representation>\n"
                      "    </AdaptationSet>\n",
                      (long long)t->bandwidth, t->cols * t->tile_w, t->rows * t->tile_h, t->cols,
                      t->rows);
    return rc;
}

static int rep_valid(const struct dash_representation *r)
{
    return r->id && r->codecs && r->timescale > 0 && r->n_segs > 0 && r->segs &&
           (r->width == 0 || (r->height > 0 && r->fps_num > 0 && r->fps_den > 0));
}

int dash_write_mpd(struct buf *out, const struct dash_mpd *m)
{
    double end = 0, longest = 0;
    if (m->n_video == 0 && !m->audio)
        return KINO_EINVAL;
    for (size_t i = 0; i <= m->n_video; i++) {
        const struct dash_representation *r = i < m->n_video ? &m->video[i] : m->audio;
        if (!r)
            continue;
        if (!rep_valid(r) || (i < m->n_video && r->width <= 0))
            return KINO_EINVAL;
        end = rep_end(r) > end ? rep_end(r) : end;
        longest = rep_longest(r) > longest ? rep_longest(r) : longest;
    }
    const struct dash_thumbnails *t = m->thumbnails;
    if (t && (!t->media || t->tile_w <= 0 || t->tile_h <= 0 || t->cols <= 0 || t->rows <= 0 ||
              t->timescale == 0 || t->sheet_duration <= 0))
        return KINO_EINVAL;
    int rc = buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<MPD xmlns=\"" MPD_NS "\" profiles=\"" PROFILE_LIVE "\" "
                           "type=\"static\"");
    if (rc == 0)
        rc = add_duration(out, "mediaPresentationDuration", end);
    /* Bandwidths are peak segment rates, so buffering one longest segment is enough. */
    if (rc == 0)
        rc = add_duration(out, "minBufferTime", longest);
    if (rc == 0)
        rc = buf_adds(out, ">\n  <Period id=\"0\" start=\"PT0S\">\n");
    int id = 0;
    if (rc == 0 && m->n_video > 0)
        rc = write_video_set(out, m, id++);
    if (rc == 0 && m->audio)
        rc = write_audio_set(out, m, id++);
    if (rc == 0 && t)
        rc = write_thumbnail_set(out, t, id++);
    if (rc == 0)
        rc = buf_adds(out, "  </Period>\n</MPD>\n");
    return rc;
}
