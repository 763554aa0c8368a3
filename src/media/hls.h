/* SPDX-License-Identifier: MIT */
/*
 * HLS text and the measurements behind it: media and multivariant playlists
 * from plain structs (segment durations and sizes), bit rates measured from
 * segment sizes, and RFC 6381 CODECS strings from encoder bytes. No FFmpeg
 * types, so it is unit-tested on its own. Private to the media module.
 */
#ifndef KINO_MEDIA_HLS_H
#define KINO_MEDIA_HLS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* One media segment as written: exact duration from timestamps, size on disk. */
struct hls_segment {
    double duration; /* seconds */
    int64_t bytes;
};

/* One EXT-X-STREAM-INF entry. width == 0 means an audio-only variant. */
struct hls_variant {
    const char *uri;      /* "720p/index.m3u8" */
    int64_t bandwidth;    /* bit/s, peak */
    int64_t average_bandwidth;
    const char *codecs;   /* "avc1.64001f,mp4a.40.2" */
    int width, height;
    double frame_rate;
    int has_audio_group;  /* adds AUDIO="audio" */
};

/* The shared audio rendition (EXT-X-MEDIA). */
struct hls_audio {
    const char *uri;      /* "audio/index.m3u8" */
    const char *language; /* RFC 5646 tag or "und" */
    int channels;
};

/*
 * One entry of an I-frame playlist: the byte range of a segment file that
 * holds one IDR frame with the moof that describes it (Apple's rule for fMP4).
 */
struct hls_iframe {
    double duration;  /* seconds until the next I-frame (the GOP's length) */
    size_t segment;   /* 1-based: the range lies in "<segment>.m4s" */
    int64_t offset;   /* of the moof in that file */
    int64_t length;   /* moof + mdat header + the IDR sample */
};

/* One EXT-X-I-FRAME-STREAM-INF entry (no FRAME-RATE or AUDIO: RFC 8216 §4.3.4.3). */
struct hls_iframe_variant {
    const char *uri;      /* "720p/iframes.m3u8" */
    int64_t bandwidth;    /* bit/s, peak over the byte ranges */
    int64_t average_bandwidth;
    const char *codecs;   /* the video codec alone: "avc1.64001f" */
    int width, height;
};

/*
 * The storyboard as an image media playlist: the "Image Media Playlist"
 * specification v0.4 (github.com/image-media-playlist/spec), which Roku
 * devices and Shaka Player read for seek previews. One segment per sprite sheet ("sheet-1.jpg"..,
 * relative to the playlist), each with EXT-X-TILES giving the tile size, the
 * grid and one tile's duration; the master lists the playlist as
 * EXT-X-IMAGE-STREAM-INF, whose RESOLUTION is one tile's.
 */
struct hls_images {
    const char *uri;        /* in the master: "storyboard/images.m3u8" */
    int tile_w, tile_h;
    int cols, rows;         /* every sheet's grid */
    double tile_duration;   /* seconds */
    const struct hls_segment *sheets; /* each sheet's bytes and the time it covers */
    size_t n_sheets;
};

/* EXT-X-TARGETDURATION for a set of playlists: the largest EXTINF rounded to nearest, >= 1. */
int hls_target_duration(const struct hls_segment *segs, size_t n);

/*
 * Append a VOD media playlist to `out`: init segment "init.mp4", segments
 * "1.m4s".. with EXTINF at 6 decimals. `target` comes from
 * hls_target_duration() over every playlist of the stream so that all share it.
 *
 * Every media playlist has EXT-X-START:TIME-OFFSET=0, so that players start a
 * growing EVENT playlist at its beginning, not three segments before its end
 * as for live TV (hls.js does; Shaka Player 5.2 ignores an offset of 0). Not
 * at the first picture, which the
 * B-frame delay puts at 0.067 s: hls.js seeks there at the start, and a seek
 * at the start hangs WebKitGTK's Media Source on GStreamer in about half the
 * runs under load (docs/internals/media.md, "Timeline"). In the media
 * playlists, not the multivariant one, because ExoPlayer reads it only there
 * (RFC 8216 asks for one or the other).
 * Returns 0 or KINO_ETOOBIG when `out` is full.
 */
int hls_write_media(struct buf *out, const struct hls_segment *segs, size_t n, int target);

/*
 * The same playlist while it still grows: EXT-X-PLAYLIST-TYPE:EVENT and no
 * EXT-X-ENDLIST. Later versions only append segments; the VOD version written
 * at the end (same `target`: it must not change) ends it.
 */
int hls_write_media_event(struct buf *out, const struct hls_segment *segs, size_t n, int target);

/*
 * The variant a player should start with: the one whose average bit rate is
 * closest to HLS_START_AVERAGE_BPS. Safari and AVPlayer start with the first
 * variant listed, and so does hls.js until it has measured the network;
 * Apple's HLS authoring spec asks for about 2 Mbit/s there: a 1080p rung
 * first makes the first seconds stall on a slow phone, a 360p rung first
 * makes them blurry on a fast one. 0 when n is 0.
 */
#define HLS_START_AVERAGE_BPS 2000000
size_t hls_start_variant(const struct hls_variant *v, size_t n);

/*
 * Append the multivariant playlist: `audio` (may be NULL) as EXT-X-MEDIA, then
 * hls_start_variant() first and the other variants in the order given.
 * Returns 0 or KINO_ETOOBIG.
 */
int hls_write_master(struct buf *out, const struct hls_variant *v, size_t n,
                     const struct hls_audio *audio);

/*
 * Measured bit rates of a variant made of `video` and, when `audio` is not
 * NULL, the audio segment of the same index (audio alone: video = the audio).
 * Peak: the largest bit rate of one segment; a segment shorter than half of
 * `target` is measured together with the one before it (RFC 8216 §4.1: runs of
 * 0.5..1.5 target durations), so a short last segment does not inflate it.
 * Average: all bytes over the video duration. The peak is never below the average.
 */
void hls_measure(const struct hls_segment *video, size_t nv, const struct hls_segment *audio,
                 size_t na, int target, int64_t *ret_peak, int64_t *ret_average);

/*
 * Append an I-frame playlist (EXT-X-I-FRAMES-ONLY, v7) to `out`: init segment
 * "init.mp4", one EXTINF + EXT-X-BYTERANGE:<length>@<offset> + "<segment>.m4s"
 * per entry. Its target duration is the largest rounded EXTINF. Returns 0 or
 * KINO_ETOOBIG when `out` is full.
 */
int hls_write_iframes(struct buf *out, const struct hls_iframe *f, size_t n);

/*
 * Bit rates of an I-frame playlist, by the same rule as hls_measure() applied
 * to the byte ranges (each range over its EXTINF; target: the playlist's).
 */
void hls_measure_iframes(const struct hls_iframe *f, size_t n, int64_t *ret_peak,
                         int64_t *ret_average);

/* Append one EXT-X-I-FRAME-STREAM-INF line per entry. Returns 0 or KINO_ETOOBIG. */
int hls_write_iframe_variants(struct buf *out, const struct hls_iframe_variant *v, size_t n);

/*
 * Append the image media playlist of `s` (VOD, EXT-X-IMAGES-ONLY). Returns 0,
 * KINO_EINVAL without sheets or with a zero size or duration, or KINO_ETOOBIG.
 */
int hls_write_images(struct buf *out, const struct hls_images *s);

/*
 * Append its EXT-X-IMAGE-STREAM-INF line: BANDWIDTH by hls_measure()'s peak
 * rule over the sheets, RESOLUTION one tile, CODECS "jpeg". Returns 0 or
 * KINO_ETOOBIG.
 */
int hls_write_image_variant(struct buf *out, const struct hls_images *s);

/*
 * RFC 6381 codec string "avc1.PPCCLL" from H.264 extradata, either avcC
 * (first byte 1) or Annex B with a start-coded SPS. Returns 0, or KINO_EINVAL
 * when no SPS is found.
 */
int hls_codec_avc(const uint8_t *extradata, size_t len, char *out, size_t cap);

#endif
