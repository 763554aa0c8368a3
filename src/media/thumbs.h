/* SPDX-License-Identifier: MIT */
/*
 * Thumbnails made from the frames the pipeline already decodes: the poster (the
 * most representative of a few candidate frames, scored on luma) and the
 * storyboard for seek previews (sprite sheets of 10x10 tiles plus a WebVTT
 * track of #xywh= cues). Private to the media module; the scoring, the change of
 * colour matrix for JPEG, planning and WebVTT text are pure functions (no FFmpeg
 * types) and unit-tested.
 */
#ifndef KINO_MEDIA_THUMBS_H
#define KINO_MEDIA_THUMBS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "media/resize.h"

struct AVFrame;
struct SwsContext;

#define THUMBS_POSTER_MAX_WIDTH 1280
#define THUMBS_POSTER_CANDIDATES 10
#define THUMBS_TILE_WIDTH 160      /* storyboard tile width */
#define THUMBS_TILE_MAX_HEIGHT 320 /* very tall video: tile height capped, width follows */
#define THUMBS_SHEET_COLS 10
#define THUMBS_SHEET_ROWS 10
#define THUMBS_MAX_TILES 200 /* interval grows so that a video gets at most this many */
#define THUMBS_DIR "storyboard"
#define THUMBS_VTT_NAME "storyboard.vtt"

/* ---- poster scoring (pure) --------------------------------------------- */

/* Cheap statistics of an 8-bit luma plane in limited range (16..235). */
struct thumbs_luma {
    double mean;   /* average luma */
    double stddev; /* contrast: standard deviation of luma */
    double detail; /* mean absolute difference between horizontal and vertical neighbours */
};

/* Measure the `w`x`h` luma plane at `y` (rows `stride` bytes apart). w, h >= 1. */
void thumbs_luma_measure(const uint8_t *y, ptrdiff_t stride, int w, int h,
                         struct thumbs_luma *ret);

/*
 * A frame's worth as a poster; higher is better. A frame near black or white
 * (mean below 16+8 or above 235-8) or nearly flat (stddev below 8) is
 * unusable: it scores below every usable frame, yet unusable frames still rank
 * among themselves so a video that is dark throughout gets its best frame.
 * Usable frames score by contrast plus detail, weighted towards mid brightness,
 * so a fade loses to the full picture it fades into.
 */
double thumbs_poster_score(const struct thumbs_luma *s);

/*
 * Whether output frame `idx` is a poster candidate: frame 0 (a fallback), every
 * half second of the first 2 s (for the first poster, when the media becomes
 * playable), and THUMBS_POSTER_CANDIDATES frames spread evenly over the first 40 % of the
 * video (over its first 10 s, or all of it when shorter, for short videos, so
 * a 3 s black intro in an 8 s clip cannot take every candidate). With no
 * known length (`total_frames` <= 0), one frame a second for the first 20 s.
 */
int thumbs_poster_candidate(int64_t idx, int64_t total_frames, double fps);

/* ---- colours for JPEG (pure) ------------------------------------------- */

/*
 * JPEG (JFIF) decoders, browsers' among them, read YCbCr with BT.601's matrix, but most video
 * is BT.709: copied as it is, a poster's colours would not be the video's (cyan bars turned
 * greener). Convert a full-range 4:2:0 `w`x`h` picture in place from the YCbCr matrix with
 * luma weights `kr` and `kb` (BT.709: 0.2126 and 0.0722) to BT.601's (0.299, 0.114). Chroma
 * converts exactly; each luma sample takes the chroma of its 2x2 block.
 */
void thumbs_to_jpeg_matrix(uint8_t *y, ptrdiff_t y_stride, uint8_t *cb, ptrdiff_t cb_stride,
                           uint8_t *cr, ptrdiff_t cr_stride, int w, int h, double kr, double kb);

/* ---- storyboard planning and WebVTT (pure) ----------------------------- */

/* The storyboard's geometry and timing, fixed before the first frame. */
struct thumbs_grid {
    int tile_w, tile_h;      /* even; one thumbnail */
    int cols, rows;          /* tiles per sheet: THUMBS_SHEET_COLS x THUMBS_SHEET_ROWS */
    int64_t interval_frames; /* one thumbnail every this many output frames (>= 1) */
    double interval_s;       /* interval_frames / fps */
};

/*
 * Plan the storyboard of a video shown at `display_w`x`display_h` (> 0), about
 * `duration_s` long (0 when unknown) at `fps` output frames a second. One
 * thumbnail every max(1 s, duration / THUMBS_MAX_TILES), rounded to whole
 * frames (a 10 s clip gets 10 tiles, an hour 200: at most two sheets). Tiles
 * are THUMBS_TILE_WIDTH wide with the height by aspect (even), or, for video
 * taller than 1:2, THUMBS_TILE_MAX_HEIGHT high with the width by aspect.
 */
void thumbs_grid_plan(int display_w, int display_h, double duration_s, double fps,
                      struct thumbs_grid *ret);

/*
 * Append the WebVTT track for `n_tiles` thumbnails (tile i shows the frame at
 * i * interval) of a video `duration_s` long: "WEBVTT", then one cue per
 * tile from its time to the next tile's (the last ends at `duration_s`), each
 * with the payload "sheet-<k>.jpg#xywh=x,y,w,h" (a URL relative to the track).
 * Returns 0, or KINO_ETOOBIG past the buffer's cap.
 */
int thumbs_vtt_write(struct buf *b, const struct thumbs_grid *g, size_t n_tiles,
                     double duration_s);

/*
 * How many rows of tiles each sheet of a storyboard of `n_tiles` (> 0) tiles
 * has. A storyboard of one sheet is cropped to the rows it uses; with more,
 * every sheet, the last too, is `g->rows` rows high (the unused tiles black),
 * so that one layout addresses them all: DASH's thumbnail tiles declare a
 * single COLSxROWS grid and a single image size for every sheet, and players
 * size the sprite by it.
 */
int thumbs_sheet_rows(const struct thumbs_grid *g, size_t n_tiles);

/* ---- the frame sink (FFmpeg) ------------------------------------------- */

/*
 * Thumbnail state of one transcode. Zero it (or let thumbs_release() see it
 * zeroed) before thumbs_open(). Memory stays bounded whatever the length: the
 * best poster candidate so far plus one scratch picture, and one sheet.
 */
struct thumbs {
    char dir[4096]; /* the output directory */
    double fps;
    int64_t total_frames;
    /* poster */
    int poster_w, poster_h;
    struct AVFrame *best, *scratch; /* yuv420p at poster size, each with its colorspace */
    double best_score;
    int have_best;
    struct media_sws poster_sws;
    /* storyboard */
    struct thumbs_grid grid;
    struct AVFrame *tile, *sheet; /* yuvj420p for the JPEG encoder, BT.601 on the sheet */
    struct media_sws tile_sws;
    size_t n_tiles;  /* tiles taken so far */
    int sheet_used;  /* tiles on the sheet in memory, not written yet */
    size_t *sheet_bytes; /* the size of each sheet written, in order: n_sheets of them */
    size_t n_sheets, cap_sheets;
};

/*
 * Start thumbnails for a video shown at `display_w`x`display_h` (the top
 * rung's size), `duration_s` long by the container (0 if unknown), at `fps`
 * output frames a second. Creates `<out_dir>/storyboard/`. Errors: -errno,
 * -ENOMEM, KINO_EINTERNAL (no JPEG encoder), with a message in `err`.
 */
int thumbs_open(struct thumbs *t, const char *out_dir, int display_w, int display_h,
                double duration_s, double fps, struct kino_err *err);

/*
 * Offer output frame number `idx` (borrowed; any pixel format libswscale
 * reads, upright). Scores poster candidates, copies a storyboard tile every
 * interval and writes a sheet when it is full. Frames must come in order, each
 * number once. Call on the transcoding thread.
 */
int thumbs_frame(struct thumbs *t, const struct AVFrame *src, int64_t idx,
                 struct kino_err *err);

/*
 * Write poster.jpg from the best candidate offered so far: early, while the
 * transcode runs, for a media that is already playable, and again by
 * thumbs_finish() with the final choice. Returns 0, 1 when no frame was
 * offered yet (nothing written), or an error with a message in `err`.
 */
int thumbs_write_poster(struct thumbs *t, struct kino_err *err);

/*
 * After the last frame: write poster.jpg, the last sheet (as high as
 * thumbs_sheet_rows() says) and storyboard/storyboard.vtt for a video
 * `n_frames` frames long. `end_s` is where the presentation ends (its longest
 * track, as the DASH manifest says); while the tiles end before it, `last`
 * (the last picture; NULL: none) is added as one more tile, on the sheets
 * only: the WebVTT's cues end with the video. Returns 0 or a negative code
 * with a message in `err`.
 */
int thumbs_finish(struct thumbs *t, int64_t n_frames, const struct AVFrame *last, double end_s,
                  struct kino_err *err);

/* Free everything; accepts NULL, a zeroed and a half-opened struct. */
void thumbs_release(struct thumbs *t);

#endif
