/* SPDX-License-Identifier: MIT */
/*
 * Thumbnails: poster scoring on synthetic luma planes (black, fades, flat grey,
 * detail), candidate frames, storyboard geometry, the exact WebVTT text, and
 * the frame sink writing sheets (full, then the last cropped to its rows).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavutil/frame.h>

#include "core/buf.h"
#include "core/util.h"
#include "media/thumbs.h"

#define W 64
#define H 36

static uint8_t plane[W * H];

/* A detailed picture in limited range: bars, a gradient and a checkerboard. */
static void detailed(void)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int v = 16 + (x * 219) / (W - 1);
            if (((x / 4) + (y / 4)) % 2)
                v = 235 - (v - 16);
            plane[y * W + x] = (uint8_t)v;
        }
}

static void flat(int v)
{
    memset(plane, v, sizeof(plane));
}

/* The detailed picture faded in from black by `f` (0 black .. 1 full), as fade=in does. */
static void faded(double f)
{
    detailed();
    for (int i = 0; i < W * H; i++)
        plane[i] = (uint8_t)(16 + (plane[i] - 16) * f + 0.5);
}

static double score(void)
{
    struct thumbs_luma s;
    thumbs_luma_measure(plane, W, W, H, &s);
    return thumbs_poster_score(&s);
}

Test(thumbs, luma_measure_known_values)
{
    struct thumbs_luma s;
    uint8_t grey[4] = { 100, 100, 100, 100 };
    thumbs_luma_measure(grey, 2, 2, 2, &s);
    cr_expect_float_eq(s.mean, 100, 1e-9);
    cr_expect_float_eq(s.stddev, 0, 1e-9);
    cr_expect_float_eq(s.detail, 0, 1e-9);
    /* 2x2 checkerboard of 16 and 216: every neighbour differs by 200. */
    uint8_t check[4] = { 16, 216, 216, 16 };
    thumbs_luma_measure(check, 2, 2, 2, &s);
    cr_expect_float_eq(s.mean, 116, 1e-9);
    cr_expect_float_eq(s.stddev, 100, 1e-9);
    cr_expect_float_eq(s.detail, 200, 1e-9);
    /* The stride is honoured: padding bytes after each row are not read as pixels. */
    uint8_t padded[8] = { 50, 50, 255, 255, 50, 50, 255, 255 };
    thumbs_luma_measure(padded, 4, 2, 2, &s);
    cr_expect_float_eq(s.mean, 50, 1e-9);
    cr_expect_float_eq(s.detail, 0, 1e-9);
}

Test(thumbs, black_white_and_flat_frames_are_unusable)
{
    flat(16);
    double black = score();
    flat(235);
    double white = score();
    flat(128);
    double grey = score();
    detailed();
    double good = score();
    cr_expect_gt(good, 0, "a detailed frame is usable: %f", good);
    cr_expect_lt(black, 0, "black scores %f", black);
    cr_expect_lt(white, 0, "white scores %f", white);
    cr_expect_lt(grey, 0, "flat grey scores %f", grey);
}

Test(thumbs, detailed_frame_beats_black_and_every_step_of_a_fade)
{
    flat(16);
    double best = score();
    int best_i = -1;
    /* Offered in the order a fade-in plays: black, 10 %, 30 %, 60 %, 90 %, then the picture. */
    const double steps[] = { 0.1, 0.3, 0.6, 0.9, 1.0 };
    for (int i = 0; i < 5; i++) {
        faded(steps[i]);
        double s = score();
        if (s > best) {
            best = s;
            best_i = i;
        }
    }
    cr_expect_eq(best_i, 4, "the full picture wins, not fade step %d", best_i);
    faded(0.1);
    cr_expect_lt(score(), 0, "a frame 10 %% into a fade from black is near black");
}

Test(thumbs, a_dark_video_still_gets_its_most_detailed_frame)
{
    /* Every frame is too dark to be usable; detail still ranks them. */
    faded(0.05);
    double dim_detail = score();
    flat(17);
    double dim_flat = score();
    cr_expect_lt(dim_detail, 0);
    cr_expect_gt(dim_detail, dim_flat);
}

Test(thumbs, poster_candidates_spread_over_the_start)
{
    /* 20 min at 30 fps: ten candidates inside the first 40 %, plus frame 0 and every half
     * second of the first 2 s (for the first poster). */
    int64_t total = 36000, n = 0, last = -1;
    for (int64_t i = 0; i < total; i++)
        if (thumbs_poster_candidate(i, total, 30)) {
            n++;
            last = i;
        }
    cr_expect_eq(n, 14);
    cr_expect(thumbs_poster_candidate(15, total, 30) && thumbs_poster_candidate(30, total, 30) &&
              thumbs_poster_candidate(45, total, 30));
    cr_expect(!thumbs_poster_candidate(60, total, 30));
    cr_expect_lt(last, total * 4 / 10);
    cr_expect_gt(last, total * 3 / 10, "candidates reach well into the video: %lld",
                 (long long)last);

    /* 8 s clip: its first 10 s (all of it) are searched, so a 3 s black intro is passed. */
    total = 240;
    n = 0;
    int64_t after_intro = 0;
    for (int64_t i = 0; i < total; i++)
        if (thumbs_poster_candidate(i, total, 30)) {
            n++;
            after_intro += i >= 120;
        }
    cr_expect_eq(n, 14);
    cr_expect_geq(after_intro, 5);

    /* Unknown length: one a second, mid-second, for 20 s (and the first 2 s's half seconds,
     * frames 13, 26 and 39). */
    n = 0;
    for (int64_t i = 0; i < 3000; i++)
        n += thumbs_poster_candidate(i, 0, 25);
    cr_expect_eq(n, 24);
    cr_expect(thumbs_poster_candidate(12, 0, 25));
    cr_expect(!thumbs_poster_candidate(25, 0, 25));

    /* A one-frame video: frame 0. */
    cr_expect(thumbs_poster_candidate(0, 1, 30));
}

/*
 * JPEG decoders read BT.601: a BT.709 picture's samples are converted, so that red stays red.
 * Full-range values of one colour in a 4x2 picture (two chroma blocks, one odd-sized row
 * of chroma left out), from the standards' formulas: BT.709 red is Y 54, Cb 99, Cr 255, and
 * BT.601 red Y 76, Cb 85, Cr 255; green 182/30/12 and 150/44/21; grey is grey in both.
 */
Test(thumbs, bt709_samples_become_what_jpeg_decoders_read_as_the_same_colours)
{
    static const struct {
        uint8_t bt709[3], bt601[3];
    } colour[] = {
        { { 54, 99, 255 }, { 76, 85, 255 } },   /* red */
        { { 182, 30, 12 }, { 150, 44, 21 } },   /* green */
        { { 18, 255, 116 }, { 29, 255, 107 } }, /* blue */
        { { 128, 128, 128 }, { 128, 128, 128 } },
    };
    for (size_t i = 0; i < sizeof(colour) / sizeof(colour[0]); i++) {
        uint8_t y[2][5], cb[1][3], cr[1][3]; /* a column more than the picture: untouched */
        memset(y, colour[i].bt709[0], sizeof(y));
        memset(cb, colour[i].bt709[1], sizeof(cb));
        memset(cr, colour[i].bt709[2], sizeof(cr));
        y[0][4] = y[1][4] = cb[0][2] = cr[0][2] = 7;
        thumbs_to_jpeg_matrix(&y[0][0], 5, &cb[0][0], 3, &cr[0][0], 3, 4, 2, 0.2126, 0.0722);
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 4; c++)
                cr_expect(abs(y[r][c] - colour[i].bt601[0]) <= 1, "colour %zu: Y %d, want %d", i,
                          y[r][c], colour[i].bt601[0]);
        for (int c = 0; c < 2; c++) {
            cr_expect(abs(cb[0][c] - colour[i].bt601[1]) <= 1, "colour %zu: Cb %d, want %d", i,
                      cb[0][c], colour[i].bt601[1]);
            cr_expect(abs(cr[0][c] - colour[i].bt601[2]) <= 1, "colour %zu: Cr %d, want %d", i,
                      cr[0][c], colour[i].bt601[2]);
        }
        cr_expect(y[0][4] == 7 && y[1][4] == 7 && cb[0][2] == 7 && cr[0][2] == 7,
                  "colour %zu: past the picture's width", i);
    }
}

Test(thumbs, grid_plan_sizes_and_intervals)
{
    struct thumbs_grid g;
    thumbs_grid_plan(1280, 720, 10, 30, &g);
    cr_expect_eq(g.tile_w, 160);
    cr_expect_eq(g.tile_h, 90);
    cr_expect_eq(g.cols, 10);
    cr_expect_eq(g.rows, 10);
    cr_expect_eq(g.interval_frames, 30);
    cr_expect_float_eq(g.interval_s, 1.0, 1e-9);

    thumbs_grid_plan(1280, 720, 3600, 30, &g); /* an hour: 18 s, 200 tiles */
    cr_expect_eq(g.interval_frames, 540);

    thumbs_grid_plan(854, 480, 10, 30000.0 / 1001, &g); /* whole frames: 30 at 29.97 fps */
    cr_expect_eq(g.tile_h, 90);
    cr_expect_eq(g.interval_frames, 30);
    cr_expect_float_eq(g.interval_s, 1.001, 1e-9);

    thumbs_grid_plan(360, 640, 4, 30, &g); /* portrait: 160 wide, height by aspect, even */
    cr_expect_eq(g.tile_w, 160);
    cr_expect_eq(g.tile_h, 284);

    thumbs_grid_plan(100, 1000, 4, 30, &g); /* very tall: height capped, width follows */
    cr_expect_eq(g.tile_h, THUMBS_TILE_MAX_HEIGHT);
    cr_expect_eq(g.tile_w, 32);

    thumbs_grid_plan(1280, 720, 0, 24, &g); /* unknown length: one a second */
    cr_expect_eq(g.interval_frames, 24);

    /* Never more than THUMBS_MAX_TILES tiles, whatever the length. */
    const double lengths[] = { 0.5, 199, 201, 333.3, 7200, 86400 };
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        thumbs_grid_plan(1920, 1080, lengths[i], 30000.0 / 1001, &g);
        int64_t frames = (int64_t)(lengths[i] * 30000.0 / 1001);
        int64_t tiles = (frames + g.interval_frames - 1) / g.interval_frames;
        cr_expect_leq(tiles, THUMBS_MAX_TILES, "%g s: %lld tiles", lengths[i], (long long)tiles);
        cr_expect_geq(g.interval_s, 1.0);
    }
}

Test(thumbs, vtt_exact_text)
{
    struct thumbs_grid g;
    thumbs_grid_plan(1280, 720, 5.5, 25, &g);
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(thumbs_vtt_write(&b, &g, 6, 5.5), 0);
    cr_expect_str_eq(b.ptr, "WEBVTT\n"
                            "\n"
                            "00:00:00.000 --> 00:00:01.000\n"
                            "sheet-1.jpg#xywh=0,0,160,90\n"
                            "\n"
                            "00:00:01.000 --> 00:00:02.000\n"
                            "sheet-1.jpg#xywh=160,0,160,90\n"
                            "\n"
                            "00:00:02.000 --> 00:00:03.000\n"
                            "sheet-1.jpg#xywh=320,0,160,90\n"
                            "\n"
                            "00:00:03.000 --> 00:00:04.000\n"
                            "sheet-1.jpg#xywh=480,0,160,90\n"
                            "\n"
                            "00:00:04.000 --> 00:00:05.000\n"
                            "sheet-1.jpg#xywh=640,0,160,90\n"
                            "\n"
                            "00:00:05.000 --> 00:00:05.500\n"
                            "sheet-1.jpg#xywh=800,0,160,90\n");
    buf_release(&b);
}

Test(thumbs, vtt_rows_sheets_and_hours)
{
    struct thumbs_grid g = { .tile_w = 160, .tile_h = 90, .cols = 10, .rows = 10,
                             .interval_frames = 500, .interval_s = 20 };
    struct buf b;
    buf_init(&b, 1 << 20);
    cr_assert_eq(thumbs_vtt_write(&b, &g, 201, 4010.25), 0);
    /* Tile 11 (from 0): second row, second column. */
    cr_expect(strstr(b.ptr, "\n00:03:40.000 --> 00:04:00.000\nsheet-1.jpg#xywh=160,90,160,90\n"));
    /* Tile 100 is the last of sheet 1, tile 101 the first of sheet 2. */
    cr_expect(strstr(b.ptr, "\n00:33:00.000 --> 00:33:20.000\nsheet-1.jpg#xywh=1440,810,160,90\n"));
    cr_expect(strstr(b.ptr, "\n00:33:20.000 --> 00:33:40.000\nsheet-2.jpg#xywh=0,0,160,90\n"));
    /* The last cue ends at the duration, past an hour. */
    cr_expect(strstr(b.ptr, "\n01:06:40.000 --> 01:06:50.250\nsheet-3.jpg#xywh=0,0,160,90\n"));
    size_t len = strlen(b.ptr);
    cr_expect(len > 0 && b.ptr[len - 1] == '\n');
    buf_release(&b);

    /* Past the cap: KINO_ETOOBIG, not a cut-off track. */
    buf_init(&b, 100);
    cr_expect_eq(thumbs_vtt_write(&b, &g, 201, 4010.25), KINO_ETOOBIG);
    buf_release(&b);
}

/* Width and height from a baseline JPEG's SOF0 marker. */
static int jpeg_size(const char *path, int *w, int *h)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    static unsigned char d[1 << 20];
    size_t n = fread(d, 1, sizeof(d), fp);
    fclose(fp);
    for (size_t i = 2; i + 9 < n;) {
        if (d[i] != 0xFF)
            return -1;
        unsigned m = d[i + 1], len = (unsigned)(d[i + 2] << 8 | d[i + 3]);
        if (m == 0xC0) {
            *h = d[i + 5] << 8 | d[i + 6];
            *w = d[i + 7] << 8 | d[i + 8];
            return 0;
        }
        i += 2 + len;
    }
    return -1;
}

/*
 * Offer `n` frames at 1 fps (one tile each, unknown length) to a sink writing into `dir`,
 * then finish it with a presentation ending at `end_s`. Returns the tiles on the sheets;
 * `sheet_bytes_max` and `n_sheets` get what the sink says it wrote.
 */
static size_t run_sink(const char *dir, int64_t n, double end_s, size_t *sheet_bytes_max,
                       size_t *n_sheets)
{
    struct thumbs t;
    memset(&t, 0, sizeof(t));
    struct kino_err err = { 0 };
    cr_assert_eq(thumbs_open(&t, dir, 64, 36, 0, 1, &err), 0, "%s", err.msg);
    AVFrame *f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = W;
    f->height = H;
    cr_assert_eq(av_frame_get_buffer(f, 0), 0);
    for (int64_t i = 0; i < n; i++) {
        faded(i % 2 ? 1.0 : 0.5);
        for (int y = 0; y < H; y++)
            memcpy(f->data[0] + y * f->linesize[0], plane + y * W, W);
        for (int p = 1; p < 3; p++)
            for (int y = 0; y < H / 2; y++)
                memset(f->data[p] + y * f->linesize[p], 128, W / 2);
        cr_assert_eq(thumbs_frame(&t, f, i, &err), 0, "%s", err.msg);
    }
    cr_expect_eq(t.n_tiles, (size_t)n);
    cr_assert_eq(thumbs_finish(&t, n, f, end_s, &err), 0, "%s", err.msg);
    size_t tiles = t.n_tiles;
    /* What the sink says it wrote: the largest of its sheets (compared with the files). */
    *sheet_bytes_max = 0;
    for (size_t k = 0; k < t.n_sheets; k++)
        *sheet_bytes_max = t.sheet_bytes[k] > *sheet_bytes_max ? t.sheet_bytes[k] : *sheet_bytes_max;
    *n_sheets = t.n_sheets;
    thumbs_release(&t);
    thumbs_release(&t); /* twice is harmless */
    av_frame_free(&f);
    return tiles;
}

/* The number of cues in `dir`'s storyboard.vtt, and the end of the last one in `last_end`. */
static int vtt_cues(const char *dir, char *last_end, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/storyboard/storyboard.vtt", dir);
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    char line[256];
    int n = 0;
    while (fgets(line, sizeof(line), fp)) {
        const char *arrow = strstr(line, " --> ");
        if (!arrow)
            continue;
        n++;
        snprintf(last_end, cap, "%.12s", arrow + 5);
    }
    fclose(fp);
    return n;
}

/* Check sheets 1..n_sheets are 1600 x heights[k] and none follows; returns the largest's size. */
static off_t expect_sheets(const char *dir, int n_sheets, const int *heights)
{
    char path[512];
    struct stat st;
    off_t largest = 0;
    for (int k = 1; k <= n_sheets; k++) {
        int w = 0, h = 0;
        snprintf(path, sizeof(path), "%s/storyboard/sheet-%d.jpg", dir, k);
        cr_expect_eq(jpeg_size(path, &w, &h), 0, "%s", path);
        cr_expect_eq(w, 1600, "%s width %d", path, w);
        cr_expect_eq(h, heights[k - 1], "%s height %d", path, h);
        cr_assert_eq(stat(path, &st), 0);
        largest = st.st_size > largest ? st.st_size : largest;
    }
    snprintf(path, sizeof(path), "%s/storyboard/sheet-%d.jpg", dir, n_sheets + 1);
    cr_expect_neq(stat(path, &st), 0, "no sheet %d", n_sheets + 1);
    return largest;
}

Test(thumbs, sheet_rows_one_cropped_sheet_or_all_full)
{
    struct thumbs_grid g = { .tile_w = 160, .tile_h = 90, .cols = 10, .rows = 10,
                             .interval_frames = 30, .interval_s = 1 };
    cr_expect_eq(thumbs_sheet_rows(&g, 1), 1);
    cr_expect_eq(thumbs_sheet_rows(&g, 10), 1);
    cr_expect_eq(thumbs_sheet_rows(&g, 11), 2);
    cr_expect_eq(thumbs_sheet_rows(&g, 100), 10);
    /* A second sheet, however short, makes every sheet full height. */
    cr_expect_eq(thumbs_sheet_rows(&g, 101), 10);
    cr_expect_eq(thumbs_sheet_rows(&g, 250), 10);
}

Test(thumbs, sink_writes_full_height_sheets_or_one_cropped_sheet)
{
    char dir[] = "/tmp/kino-thumbs-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    size_t bytes_max = 0, n_sheets = 0;
    /* 250 tiles: 100 + 100 + 50, the last as high as the others (half of it black). */
    cr_expect_eq(run_sink(dir, 250, 250, &bytes_max, &n_sheets), 250);
    cr_expect_eq(n_sheets, 3);
    const int three[] = { 900, 900, 900 };
    cr_expect_eq((off_t)bytes_max, expect_sheets(dir, 3, three));

    char path[512];
    int w = 0, h = 0;
    snprintf(path, sizeof(path), "%s/poster.jpg", dir);
    cr_expect_eq(jpeg_size(path, &w, &h), 0);
    cr_expect_eq(w, 64);
    cr_expect_eq(h, 36);
    snprintf(path, sizeof(path), "%s/storyboard/storyboard.vtt", dir);
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    char text[32];
    size_t n = fread(text, 1, 7, fp);
    fclose(fp);
    text[n] = 0;
    cr_expect_str_eq(text, "WEBVTT\n");
    fs_remove_tree(dir);

    /* 25 tiles: one sheet, cropped to its three rows. */
    char one[] = "/tmp/kino-thumbs-XXXXXX";
    cr_assert_not_null(mkdtemp(one));
    cr_expect_eq(run_sink(one, 25, 25.0, &bytes_max, &n_sheets), 25);
    cr_expect_eq(n_sheets, 1);
    const int cropped[] = { 270 };
    cr_expect_eq((off_t)bytes_max, expect_sheets(one, 1, cropped));
    fs_remove_tree(one);
}

Test(thumbs, a_presentation_past_the_last_tile_gets_the_last_picture_on_the_sheets)
{
    size_t bytes_max = 0, n_sheets = 0;
    char last_end[16];
    /* 100 s of pictures fill sheet 1 exactly; the sound ends 0.07 s later. */
    char dir[] = "/tmp/kino-thumbs-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_expect_eq(run_sink(dir, 100, 100.07, &bytes_max, &n_sheets), 101);
    cr_expect_eq(n_sheets, 2);
    const int two[] = { 900, 900 };
    expect_sheets(dir, 2, two);
    /* The WebVTT still ends with the pictures. */
    cr_expect_eq(vtt_cues(dir, last_end, sizeof(last_end)), 100);
    cr_expect_str_eq(last_end, "00:01:40.000");
    fs_remove_tree(dir);

    /* Ending inside the last tile (10.3 s of pictures, 11 tiles): nothing added. */
    char mid[] = "/tmp/kino-thumbs-XXXXXX";
    cr_assert_not_null(mkdtemp(mid));
    cr_expect_eq(run_sink(mid, 11, 11.0, &bytes_max, &n_sheets), 11);
    cr_expect_eq(vtt_cues(mid, last_end, sizeof(last_end)), 11);
    fs_remove_tree(mid);

    /* On a partial sheet the added tile takes the next place: 10 s + 0.07 s, two rows. */
    char row[] = "/tmp/kino-thumbs-XXXXXX";
    cr_assert_not_null(mkdtemp(row));
    cr_expect_eq(run_sink(row, 10, 10.07, &bytes_max, &n_sheets), 11);
    cr_expect_eq(n_sheets, 1);
    const int two_rows[] = { 180 };
    expect_sheets(row, 1, two_rows);
    cr_expect_eq(vtt_cues(row, last_end, sizeof(last_end)), 10);
    fs_remove_tree(row);
}

Test(thumbs, poster_is_the_detailed_frame)
{
    char dir[] = "/tmp/kino-thumbs-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct thumbs t;
    memset(&t, 0, sizeof(t));
    struct kino_err err = { 0 };
    /* 10 s at 10 fps: candidates at frames 0, 5, 15, ...; black until frame 60. */
    cr_assert_eq(thumbs_open(&t, dir, 64, 36, 10, 10, &err), 0, "%s", err.msg);
    AVFrame *f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = W;
    f->height = H;
    cr_assert_eq(av_frame_get_buffer(f, 0), 0);
    for (int64_t i = 0; i < 100; i++) {
        faded(i < 60 ? 0.0 : i < 70 ? (i - 60) / 10.0 : 1.0);
        for (int y = 0; y < H; y++)
            memcpy(f->data[0] + y * f->linesize[0], plane + y * W, W);
        for (int p = 1; p < 3; p++)
            for (int y = 0; y < H / 2; y++)
                memset(f->data[p] + y * f->linesize[p], 128, W / 2);
        cr_assert_eq(thumbs_frame(&t, f, i, &err), 0, "%s", err.msg);
    }
    cr_expect_gt(t.best_score, 0, "a usable frame was kept (score %f)", t.best_score);
    /* The kept picture is the full one: its luma spans the whole range, not a dim fade. */
    struct thumbs_luma s;
    thumbs_luma_measure(t.best->data[0], t.best->linesize[0], t.poster_w, t.poster_h, &s);
    detailed();
    struct thumbs_luma full;
    thumbs_luma_measure(plane, W, W, H, &full);
    cr_expect_float_eq(s.stddev, full.stddev, 2.0, "kept stddev %f, full %f", s.stddev,
                       full.stddev);
    cr_assert_eq(thumbs_finish(&t, 100, NULL, 0, &err), 0, "%s", err.msg);
    thumbs_release(&t);
    av_frame_free(&f);
    fs_remove_tree(dir);
}
