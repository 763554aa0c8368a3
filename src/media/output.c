/* SPDX-License-Identifier: MIT */
/*
 * What the pipeline writes besides the media segments: HLS playlists (growing
 * and final), I-frame playlists and the DASH MPD, written atomically into the
 * output folder, and the publishing of segments and playlists in an order a
 * player can follow while the transcode runs. Private to the media module.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/dash.h"
#include "media/job.h"
#include "core/mem.h"
#include "core/banned.h"

#define PLAYLIST_MAX (16u << 20)

/* Hand one output file to the publish hook; a non-zero answer cancels like progress. */
static int publish_file(struct job *j, const char *rel)
{
    if (j->publish(j->progress_ctx, rel) != 0) {
        j->canceled = 1;
        return kino_err_set(j->err, KINO_ECANCELED, "the transcode was canceled");
    }
    return 0;
}

/*
 * Viewers may start before the ladder is done: once every rendition has closed
 * segment k, publish segment k of each, then the growing playlists that list
 * it, then (the first time) the master — from then on the media is playable.
 * The master's bandwidths are measured over the segments so far; the final
 * master replaces it at the end.
 */
int media_publish_progress(struct job *j)
{
    if (!j->publish)
        return 0;
    size_t ready = j->aenc ? j->aw.n_segs : SIZE_MAX;
    for (size_t i = 0; i < j->n_rungs; i++)
        ready = j->rungs[i].w.n_segs < ready ? j->rungs[i].w.n_segs : ready;
    if (ready == SIZE_MAX || ready <= j->published)
        return 0;
    const char *names[MEDIA_MAX_RENDITIONS];
    size_t n = 0;
    for (size_t i = 0; i < j->n_rungs; i++)
        names[n++] = j->rungs[i].le.name;
    if (j->aenc)
        names[n++] = "audio";
    char rel[96];
    int rc = 0;
    for (size_t k = j->published; k < ready && rc == 0; k++) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (k == 0) {
                snprintf(rel, sizeof(rel), "%s/init.mp4", names[i]);
                rc = publish_file(j, rel);
            }
            snprintf(rel, sizeof(rel), "%s/%zu.m4s", names[i], k + 1);
            if (rc == 0)
                rc = publish_file(j, rel);
        }
    }
    int first = j->published == 0;
    j->published = ready;
    struct media_result scratch;
    memset(&scratch, 0, sizeof(scratch));
    if (rc == 0)
        rc = media_write_playlists(j, &scratch, ready, 1);
    for (size_t i = 0; i < n && rc == 0; i++) {
        snprintf(rel, sizeof(rel), "%s/index.m3u8", names[i]);
        rc = publish_file(j, rel);
    }
    /*
     * A poster before the media is playable, so that a page showing it has a picture long
     * before the final one (chosen over the first 40 % of the video) is written at the end;
     * an audio file's cover art is final from the start.
     */
    if (rc == 0 && first && (j->vidx >= 0 || j->has_cover)) {
        rc = j->vidx >= 0 ? thumbs_write_poster(&j->thumbs, j->err) : 0;
        if (rc == 0)
            rc = publish_file(j, "poster.jpg");
        rc = rc > 0 ? 0 : rc;
    }
    /* Republished each time too: its bandwidths improve as segments come in. */
    if (rc == 0 && (first || j->published % 4 == 0))
        rc = publish_file(j, "master.m3u8");
    return rc;
}

/* ---- playlists -------------------------------------------------------- */

static int write_text(struct job *j, const char *rel, const struct buf *b)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", j->out_dir, rel) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return kino_err_set(j->err, KINO_EINVAL, "output path too long: %s", j->out_dir);
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return kino_err_set(j->err, -errno, "cannot create %s: %s", tmp, strerror(errno));
    size_t n = fwrite(b->ptr, 1, b->len, fp);
    int bad = n != b->len;
    if (fclose(fp) != 0 || bad) {
        unlink(tmp);
        return kino_err_set(j->err, -EIO, "cannot write %s", tmp);
    }
    /* Rename: a reader never sees a half-written playlist. */
    if (rename(tmp, path) < 0)
        return kino_err_set(j->err, -errno, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

/*
 * The target duration of playlists that are published while they grow: it may
 * not change over a playlist's life, so it is the bound known in advance — a
 * segment, plus the tail shorter than half a GOP that the last one may absorb.
 */
static int growing_target(const struct job *j)
{
    return j->opt->segment_seconds + (j->opt->gop_seconds + 1) / 2;
}

/*
 * Write the playlists (and fill `res`) from the first `upto` segments of every
 * rendition (SIZE_MAX: all). `growing` writes EVENT media playlists for
 * publishing while the transcode runs.
 */
int media_write_playlists(struct job *j, struct media_result *res, size_t upto, int growing)
{
    struct buf b;
    struct hls_variant v[MEDIA_MAX_RUNGS + 1];
    char uris[MEDIA_MAX_RUNGS][64], codecs[MEDIA_MAX_RUNGS][64];
    int rc = 0, target = 1;
    const struct hls_segment *aseg = j->aenc ? j->aw.segs : NULL;
    size_t na = j->aenc ? (j->aw.n_segs < upto ? j->aw.n_segs : upto) : 0;

    for (size_t i = 0; i < j->n_rungs; i++) {
        int t = hls_target_duration(j->rungs[i].w.segs, j->rungs[i].w.n_segs);
        target = t > target ? t : target;
    }
    if (aseg) {
        int t = hls_target_duration(aseg, na);
        target = t > target ? t : target;
    }
    if (j->publish && growing_target(j) > target)
        target = growing_target(j); /* the growing versions already announced it */

    buf_init(&b, PLAYLIST_MAX);
    for (size_t i = 0; i < j->n_rungs && rc == 0; i++) {
        struct rung_out *r = &j->rungs[i];
        struct media_rendition *mr = &res->renditions[res->n_renditions++];
        buf_reset(&b);
        char rel[64];
        snprintf(rel, sizeof(rel), "%s/index.m3u8", r->le.name);
        size_t nv = r->w.n_segs < upto ? r->w.n_segs : upto;
        rc = growing ? hls_write_media_event(&b, r->w.segs, nv, target)
                     : hls_write_media(&b, r->w.segs, nv, target);
        if (rc < 0 || (rc = write_text(j, rel, &b)) < 0)
            break;
        snprintf(uris[i], sizeof(uris[i]), "%s", rel);
        snprintf(codecs[i], sizeof(codecs[i]), "%s%s", r->codecs, aseg ? ",mp4a.40.2" : "");
        v[i] = (struct hls_variant){ .uri = uris[i], .codecs = codecs[i], .width = r->le.width,
                                     .height = r->le.height, .frame_rate = av_q2d(j->fps),
                                     .has_audio_group = aseg != NULL };
        hls_measure(r->w.segs, nv, aseg, na, target, &v[i].bandwidth, &v[i].average_bandwidth);
        snprintf(mr->name, sizeof(mr->name), "%s", r->le.name);
        mr->width = r->le.width;
        mr->height = r->le.height;
        mr->frame_rate = av_q2d(j->fps);
        mr->bandwidth = v[i].bandwidth;
        mr->average_bandwidth = v[i].average_bandwidth;
        snprintf(mr->codecs, sizeof(mr->codecs), "%s", codecs[i]);
        mr->n_segments = (int)nv;
    }
    if (rc == 0 && aseg) {
        struct media_rendition *mr = &res->renditions[res->n_renditions++];
        buf_reset(&b);
        rc = growing ? hls_write_media_event(&b, aseg, na, target)
                     : hls_write_media(&b, aseg, na, target);
        if (rc == 0)
            rc = write_text(j, "audio/index.m3u8", &b);
        snprintf(mr->name, sizeof(mr->name), "audio");
        mr->is_audio = 1;
        hls_measure(aseg, na, NULL, 0, target, &mr->bandwidth, &mr->average_bandwidth);
        snprintf(mr->codecs, sizeof(mr->codecs), "mp4a.40.2");
        mr->n_segments = (int)na;
    }
    if (rc == 0) {
        buf_reset(&b);
        if (j->n_rungs > 0) {
            struct hls_audio a = { .uri = "audio/index.m3u8", .language = j->lang.bcp47,
                                   .channels = 2 };
            rc = hls_write_master(&b, v, j->n_rungs, aseg ? &a : NULL);
            if (rc == 0)
                rc = hls_write_iframe_variants(&b, j->iframes, j->n_iframes);
            if (rc == 0 && j->images.n_sheets > 0)
                rc = hls_write_image_variant(&b, &j->images);
        } else {
            struct media_rendition *mr = &res->renditions[res->n_renditions - 1];
            struct hls_variant av = { .uri = "audio/index.m3u8", .codecs = "mp4a.40.2",
                                      .bandwidth = mr->bandwidth,
                                      .average_bandwidth = mr->average_bandwidth };
            rc = hls_write_master(&b, &av, 1, NULL);
        }
        if (rc == 0)
            rc = write_text(j, "master.m3u8", &b);
    }
    if (rc == KINO_ETOOBIG)
        rc = kino_err_set(j->err, rc, "the playlist is too large");
    buf_release(&b);
    return rc;
}

/*
 * Trick play: per rung an I-frame playlist whose byte ranges are each GOP's
 * moof + IDR (fragments are per GOP, so every IDR has its own moof), and the
 * master entries for them (j->iframes), measured over those ranges.
 */
int media_write_iframes(struct job *j)
{
    struct buf b;
    int rc = 0;
    buf_init(&b, PLAYLIST_MAX);
    for (size_t i = 0; i < j->n_rungs && rc == 0; i++) {
        struct rung_out *r = &j->rungs[i];
        const struct cmaf_writer *w = &r->w;
        struct hls_iframe *f = xcalloc(w->n_frags ? w->n_frags : 1, sizeof(*f));
        int64_t *start = xcalloc(w->n_frags ? w->n_frags : 1, sizeof(*start));
        int64_t end = 0;
        size_t n = 0;
        for (size_t k = 0; k < w->n_frags; k++) {
            const struct cmaf_fragment *fr = &w->frags[k];
            if (fr->start + fr->duration > end)
                end = fr->start + fr->duration;
            /* A fragment not starting with an IDR only lengthens the I-frame before it. */
            if (!fr->sync)
                continue;
            f[n] = (struct hls_iframe){ .segment = fr->segment + 1, .offset = fr->offset,
                                        .length = fr->key_bytes };
            start[n++] = fr->start;
        }
        for (size_t k = 0; k < n; k++)
            f[k].duration = (double)((k + 1 < n ? start[k + 1] : end) - start[k]) / w->timescale;
        struct hls_iframe_variant *v = &j->iframes[j->n_iframes];
        snprintf(j->iframe_uris[i], sizeof(j->iframe_uris[i]), "%s/iframes.m3u8", r->le.name);
        *v = (struct hls_iframe_variant){ .uri = j->iframe_uris[i], .codecs = r->codecs,
                                          .width = r->le.width, .height = r->le.height };
        hls_measure_iframes(f, n, &v->bandwidth, &v->average_bandwidth);
        buf_reset(&b);
        if (n == 0)
            rc = kino_err_set(j->err, KINO_EINTERNAL, "no IDR frame in %s", r->le.name);
        if (rc == 0 && (rc = hls_write_iframes(&b, f, n)) == 0 &&
            (rc = write_text(j, j->iframe_uris[i], &b)) == 0)
            j->n_iframes++;
        free(f);
        free(start);
    }
    if (rc == KINO_ETOOBIG)
        rc = kino_err_set(j->err, rc, "the I-frame playlist is too large");
    buf_release(&b);
    return rc;
}

/* One tile's duration in seconds: whole output frames. */
static double tile_seconds(const struct job *j)
{
    return (double)j->thumbs.grid.interval_frames * j->fps.den / j->fps.num;
}

/*
 * The sheets as HLS segments: each covers its cols x rows tiles, the last one
 * up to the presentation's end (thumbs_finish() made the tiles reach it).
 */
int media_write_storyboard(struct job *j)
{
    const struct thumbs *t = &j->thumbs;
    if (j->vidx < 0 || t->n_sheets == 0)
        return 0;
    int rows = thumbs_sheet_rows(&t->grid, t->n_tiles);
    double tile = tile_seconds(j), sheet = tile * t->grid.cols * rows;
    double end = media_presentation_end(j);
    if (!(end > 0))
        end = tile * (double)t->n_tiles;
    j->sheets = xcalloc(t->n_sheets, sizeof(*j->sheets));
    for (size_t k = 0; k < t->n_sheets; k++) {
        double left = end - sheet * (double)k;
        j->sheets[k] = (struct hls_segment){ .bytes = (int64_t)t->sheet_bytes[k],
                                             .duration = left < sheet ? left : sheet };
        if (!(j->sheets[k].duration > 0))
            j->sheets[k].duration = tile; /* never: the tiles reach the end */
    }
    j->images = (struct hls_images){ .uri = THUMBS_DIR "/images.m3u8", .tile_w = t->grid.tile_w,
                                     .tile_h = t->grid.tile_h, .cols = t->grid.cols,
                                     .rows = rows, .tile_duration = tile, .sheets = j->sheets,
                                     .n_sheets = t->n_sheets };
    struct buf b;
    buf_init(&b, PLAYLIST_MAX);
    int rc = hls_write_images(&b, &j->images);
    if (rc == 0)
        rc = write_text(j, j->images.uri, &b);
    else
        rc = kino_err_set(j->err, rc, "cannot describe the storyboard's %zu sheets",
                          t->n_sheets);
    buf_release(&b);
    return rc;
}

static double track_end(const struct cmaf_writer *w)
{
    if (w->n_segs == 0 || w->timescale == 0)
        return 0;
    const struct dash_segment *last = &w->times[w->n_segs - 1];
    return (double)(last->start + last->duration) / w->timescale;
}

double media_presentation_end(const struct job *j)
{
    double end = j->aenc ? track_end(&j->aw) : 0;
    for (size_t i = 0; i < j->n_rungs; i++)
        end = track_end(&j->rungs[i].w) > end ? track_end(&j->rungs[i].w) : end;
    return end;
}

/*
 * manifest.mpd: the same CMAF files as HLS, with the timeline read from the
 * fragments themselves; each track's bandwidth is its own peak segment rate.
 */
int media_write_dash(struct job *j)
{
    struct dash_representation v[MEDIA_MAX_RUNGS], a;
    int64_t avg;
    int target = j->aenc ? hls_target_duration(j->aw.segs, j->aw.n_segs) : 1;
    for (size_t i = 0; i < j->n_rungs; i++) {
        int t = hls_target_duration(j->rungs[i].w.segs, j->rungs[i].w.n_segs);
        target = t > target ? t : target;
    }
    for (size_t i = 0; i < j->n_rungs; i++) {
        struct rung_out *r = &j->rungs[i];
        v[i] = (struct dash_representation){ .id = r->le.name, .codecs = r->codecs,
                                             .width = r->le.width, .height = r->le.height,
                                             .fps_num = j->fps.num, .fps_den = j->fps.den,
                                             .timescale = r->w.timescale, .segs = r->w.times,
                                             .n_segs = r->w.n_segs };
        hls_measure(r->w.segs, r->w.n_segs, NULL, 0, target, &v[i].bandwidth, &avg);
    }
    if (j->aenc) {
        a = (struct dash_representation){ .id = "audio", .codecs = "mp4a.40.2",
                                          .timescale = j->aw.timescale, .segs = j->aw.times,
                                          .n_segs = j->aw.n_segs };
        hls_measure(j->aw.segs, j->aw.n_segs, NULL, 0, target, &a.bandwidth, &avg);
    }
    struct dash_mpd m = { .video = v, .n_video = j->n_rungs, .audio = j->aenc ? &a : NULL,
                          .language = j->lang.bcp47, .channels = 2, .sample_rate = AUDIO_RATE };
    struct dash_thumbnails th;
    if (j->images.n_sheets > 0) {
        const struct hls_images *im = &j->images;
        /* Timescale: the frame rate's numerator, so that a tile's whole frames are exact. */
        int64_t frames = (int64_t)im->cols * im->rows * j->thumbs.grid.interval_frames;
        th = (struct dash_thumbnails){ .media = THUMBS_DIR "/sheet-$Number$.jpg",
                                       .tile_w = im->tile_w, .tile_h = im->tile_h,
                                       .cols = im->cols, .rows = im->rows,
                                       .timescale = (uint32_t)j->fps.num,
                                       .sheet_duration = frames * j->fps.den };
        /* Each sheet is addressed for its whole duration, the last one too. */
        int64_t largest = 0;
        for (size_t k = 0; k < im->n_sheets; k++)
            largest = im->sheets[k].bytes > largest ? im->sheets[k].bytes : largest;
        th.bandwidth = (int64_t)ceil((double)largest * 8 * j->fps.num /
                                     (double)th.sheet_duration);
        m.thumbnails = &th;
    }
    struct buf b;
    buf_init(&b, PLAYLIST_MAX);
    int rc = dash_write_mpd(&b, &m);
    if (rc == 0)
        rc = write_text(j, "manifest.mpd", &b);
    else if (rc == KINO_ETOOBIG)
        rc = kino_err_set(j->err, rc, "the DASH manifest is too large");
    else if (rc < 0)
        rc = kino_err_set(j->err, rc, "no segments to describe in the DASH manifest");
    buf_release(&b);
    return rc;
}

