/* SPDX-License-Identifier: MIT */
/*
 * DASH manifest text from plain structs: a static isoff-live MPD whose
 * SegmentTemplate + SegmentTimeline address the same CMAF files as the HLS
 * playlists (<rendition>/init.mp4, <rendition>/<n>.m4s). No FFmpeg types, so
 * it is unit-tested on its own. Private to the media module.
 */
#ifndef KINO_MEDIA_DASH_H
#define KINO_MEDIA_DASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* One media segment on the MPD timeline, in the Representation's timescale. */
struct dash_segment {
    int64_t start; /* earliest presentation time of the segment */
    int64_t duration;
};

/*
 * One Representation. `id` is also the folder of its files, so it must be a
 * rendition name ("720p", "audio"). Borrowed pointers, valid during the call.
 */
struct dash_representation {
    const char *id;
    int64_t bandwidth;    /* bit/s: peak segment rate of this track alone */
    const char *codecs;   /* "avc1.64001f", "mp4a.40.2" */
    int width, height;    /* video only */
    int fps_num, fps_den; /* video only: frame rate as a fraction */
    uint32_t timescale;   /* the track timescale of the CMAF files */
    const struct dash_segment *segs;
    size_t n_segs;
};

/*
 * The storyboard as a DASH-IF thumbnail track (IOP 4.3, 6.2.6: an image
 * AdaptationSet whose EssentialProperty "http://dashif.org/thumbnail_tile"
 * gives the grid): sprite sheets numbered from 1, each `cols`x`rows` tiles,
 * each lasting `sheet_duration` with its tiles spread evenly over it, left to
 * right, then top to bottom.
 */
struct dash_thumbnails {
    const char *media;      /* SegmentTemplate@media: "storyboard/sheet-$Number$.jpg" */
    int tile_w, tile_h;     /* one tile; a sheet is cols*tile_w x rows*tile_h */
    int cols, rows;
    uint32_t timescale;
    int64_t sheet_duration; /* in timescale units */
    int64_t bandwidth;      /* bit/s: the largest sheet over its duration */
};

/* A whole presentation: the video rungs (highest first) and the shared audio. */
struct dash_mpd {
    const struct dash_representation *video;
    size_t n_video;                          /* 0: audio only */
    const struct dash_representation *audio; /* NULL: no audio */
    const char *language;                    /* of the audio: RFC 5646 tag or "und" */
    int channels;                            /* of the audio */
    int sample_rate;                         /* of the audio, Hz */
    const struct dash_thumbnails *thumbnails; /* NULL: none */
};

/*
 * Append the MPD to `out`. mediaPresentationDuration is the end of the
 * longest Representation, minBufferTime its longest segment. Segments are
 * written as a SegmentTimeline (runs of equal, contiguous durations folded
 * into S@r), shared by the AdaptationSet when every Representation has the
 * same timeline, else one per Representation. The thumbnails, when given,
 * come last, in their own AdaptationSet. Returns 0, KINO_EINVAL when there is
 * nothing to describe or a timescale, size or duration is 0, or KINO_ETOOBIG
 * when `out` is full.
 */
int dash_write_mpd(struct buf *out, const struct dash_mpd *m);

#endif
