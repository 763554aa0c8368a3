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

/* A whole presentation: the video rungs (highest first) and the shared audio. */
struct dash_mpd {
    const struct dash_representation *video;
    size_t n_video;                          /* 0: audio only */
    const struct dash_representation *audio; /* NULL: no audio */
    const char *language;                    /* of the audio: RFC 5646 tag or "und" */
    int channels;                            /* of the audio */
    int sample_rate;                         /* of the audio, Hz */
};

/*
 * Append the MPD to `out`. mediaPresentationDuration is the end of the
 * longest Representation, minBufferTime its longest segment. Segments are
 * written as a SegmentTimeline (runs of equal, contiguous durations folded
 * into S@r), shared by the AdaptationSet when every Representation has the
 * same timeline, else one per Representation. Returns 0, KINO_EINVAL when
 * there is nothing to describe or a timescale is 0, or KINO_ETOOBIG when
 * `out` is full.
 */
int dash_write_mpd(struct buf *out, const struct dash_mpd *m);

#endif
