/* SPDX-License-Identifier: MIT */
/* The ladder: which rungs a source gets, their sizes, and the small-source case. */
#include <criterion/criterion.h>
#include <string.h>

#include "media/ladder.h"
#include "media/media.h"

static struct ladder_entry out[MEDIA_MAX_RUNGS];

static size_t compute(int w, int h, int sn, int sd, int rot)
{
    struct media_options opt;
    media_options_init(&opt);
    memset(out, 0, sizeof(out));
    return ladder_compute(opt.ladder, opt.n_rungs, w, h, sn, sd, rot, out);
}

static void expect(size_t i, const char *name, int w, int h, int kbps)
{
    cr_expect_str_eq(out[i].name, name, "entry %zu", i);
    cr_expect_eq(out[i].width, w, "entry %zu width %d != %d", i, out[i].width, w);
    cr_expect_eq(out[i].height, h, "entry %zu height %d != %d", i, out[i].height, h);
    if (kbps)
        cr_expect_eq(out[i].bitrate_kbps, kbps, "entry %zu kbps %d", i, out[i].bitrate_kbps);
}

Test(ladder, hd720_never_upscales)
{
    cr_assert_eq(compute(1280, 720, 1, 1, 0), 3);
    expect(0, "720p", 1280, 720, 2800);
    expect(1, "480p", 854, 480, 1400);
    expect(2, "360p", 640, 360, 800);
}

Test(ladder, full_hd_gets_every_rung)
{
    cr_assert_eq(compute(1920, 1080, 0, 0, 0), 4);
    expect(0, "1080p", 1920, 1080, 5000);
    expect(1, "720p", 1280, 720, 2800);
    expect(2, "480p", 854, 480, 1400);
    expect(3, "360p", 640, 360, 800);
}

Test(ladder, portrait_compares_the_short_side)
{
    cr_assert_eq(compute(360, 640, 1, 1, 0), 1);
    expect(0, "360p", 360, 640, 800);
    cr_assert_eq(compute(1080, 1920, 1, 1, 0), 4);
    expect(0, "1080p", 1080, 1920, 5000);
    expect(1, "720p", 720, 1280, 0);
    expect(2, "480p", 480, 854, 0);
    expect(3, "360p", 360, 640, 0);
}

Test(ladder, absurd_sar_is_taken_as_square)
{
    /* A broken stream's 1000:1 made a 320000x180 rung (x264 refused it); 1:1000 a 2x180
     * one named "2p"; 65535:1 overflowed to 0x0. Anything beyond 1:4..4:1 is square. */
    int absurd[][2] = { { 1000, 1 }, { 1, 1000 }, { 65535, 1 }, { 1, 65535 }, { 40, 1 } };
    for (size_t i = 0; i < sizeof(absurd) / sizeof(absurd[0]); i++) {
        cr_expect_not(ladder_sar_usable(absurd[i][0], absurd[i][1]), "%d:%d", absurd[i][0],
                      absurd[i][1]);
        cr_assert_eq(compute(320, 180, absurd[i][0], absurd[i][1], 0), 1);
        expect(0, "180p", 320, 180, 0);
    }
    /* The edges and real shapes are honoured. */
    cr_expect(ladder_sar_usable(4, 1));
    cr_expect(ladder_sar_usable(1, 4));
    cr_expect(ladder_sar_usable(64, 45));
    cr_expect_not(ladder_sar_usable(0, 1));
    cr_expect_not(ladder_sar_usable(1, 0));
    cr_assert_eq(compute(320, 180, 4, 1, 0), 1);
    expect(0, "180p", 1280, 180, 0);
}

Test(ladder, no_rung_longer_than_the_max_side)
{
    /* A 10000x1080 panorama: its 1080p rung would be 10000 wide; 720p and below fit. */
    cr_assert_eq(compute(10000, 1080, 1, 1, 0), 3);
    expect(0, "720p", 6666, 720, 2800);
    /* The same upright. */
    cr_assert_eq(compute(1080, 10000, 1, 1, 0), 3);
    expect(0, "720p", 720, 6666, 2800);
    /* Too long and thin for any rung, or for its own size (x264 refused 100000x100). */
    cr_expect_eq(compute(40000, 400, 1, 1, 0), 0);
    cr_expect_eq(compute(100000, 100, 1, 1, 0), 0);
    cr_expect_eq(compute(100, 100000, 1, 1, 0), 0);
    /* A small source at the limit keeps its own size. */
    cr_assert_eq(compute(8192, 200, 1, 1, 0), 1);
    expect(0, "200p", 8192, 200, 0);
}

Test(ladder, anamorphic_sar_keeps_display_aspect)
{
    /* 640x480 with 4:3 pixels displays as 853x480 (16:9). */
    cr_assert_eq(compute(640, 480, 4, 3, 0), 2);
    expect(0, "480p", 854, 480, 1400);
    expect(1, "360p", 640, 360, 800);
}

Test(ladder, rotation_swaps_orientation)
{
    cr_assert_eq(compute(1920, 1080, 1, 1, 90), 4);
    expect(0, "1080p", 1080, 1920, 0);
    expect(3, "360p", 360, 640, 0);
}

Test(ladder, tiny_source_gets_one_rendition_at_its_own_size)
{
    cr_assert_eq(compute(200, 100, 1, 1, 0), 1);
    expect(0, "100p", 200, 100, 100);
    cr_assert(out[0].bitrate_kbps <= 800);
}

Test(ladder, odd_sizes_are_rounded_to_even)
{
    cr_assert_eq(compute(201, 101, 1, 1, 0), 1);
    expect(0, "100p", 200, 100, 0);
    cr_assert_eq(compute(1278, 718, 1, 1, 0), 2);
    expect(0, "480p", 854, 480, 0);
    expect(1, "360p", 640, 360, 0);
    for (size_t i = 0; i < 2; i++)
        cr_expect(out[i].width % 2 == 0 && out[i].height % 2 == 0);
}

Test(ladder, refuses_empty_sizes)
{
    cr_assert_eq(compute(0, 720, 1, 1, 0), 0);
    cr_assert_eq(compute(1280, -1, 1, 1, 0), 0);
}

static void expect_fps(int an, int ad, int rn, int rd, int num, int den)
{
    int n = 0, d = 0;
    ladder_frame_rate(an, ad, rn, rd, &n, &d);
    cr_expect(n == num && d == den, "avg %d/%d r %d/%d -> %d/%d, expected %d/%d", an, ad, rn, rd,
              n, d, num, den);
}

Test(ladder, frame_rate_kept_up_to_60)
{
    expect_fps(25, 1, 25, 1, 25, 1);
    expect_fps(30000, 1001, 30000, 1001, 30000, 1001);
    expect_fps(50, 1, 50, 1, 50, 1);
    expect_fps(60, 1, 60, 1, 60, 1);
    expect_fps(60000, 1001, 60000, 1001, 60000, 1001);
}

Test(ladder, frame_rate_above_60_is_halved)
{
    expect_fps(120, 1, 120, 1, 60, 1);
    expect_fps(100, 1, 100, 1, 50, 1);
    expect_fps(120000, 1001, 120000, 1001, 60000, 1001);
    expect_fps(240, 1, 240, 1, 60, 1);
    expect_fps(90, 1, 90, 1, 45, 1);
    expect_fps(72, 1, 72, 1, 36, 1);
}

Test(ladder, variable_frame_rate_gets_a_constant_rate)
{
    /* A phone's 30 fps that wanders: the average is near 30, snapped. */
    expect_fps(2983, 100, 30, 1, 30, 1);
    /* Frames missing: average 20, base rate 30 -> 30. */
    expect_fps(20, 1, 30, 1, 30, 1);
    /* A screen recording that only sends frames when the screen changes: its capture rate,
     * not its average (it came out at 8 and 12 fps, scrolling in jerks). */
    expect_fps(775, 100, 30, 1, 30, 1);
    expect_fps(12, 1, 60, 1, 60, 1);
    expect_fps(5, 1, 30000, 1001, 30000, 1001);
    /* A 1/1000 timestamp grid is not a capture rate: the average, rounded. */
    expect_fps(2743, 100, 1000, 1, 27, 1);
    /* A high-rate phone clip with drops: base 120 -> 60. */
    expect_fps(11000, 100, 120, 1, 60, 1);
    /* Nothing known. */
    expect_fps(0, 0, 0, 0, 25, 1);
    expect_fps(0, 1, 24000, 1001, 24000, 1001);
}

Test(ladder, pal_sar_gives_square_pixels_at_display_aspect)
{
    /* 720x576 with 16:15 pixels shows as 768x576 (4:3). */
    cr_assert_eq(compute(720, 576, 16, 15, 0), 2);
    expect(0, "480p", 640, 480, 1400);
    expect(1, "360p", 480, 360, 800);
    /* 720x576 with 64:45 pixels shows as 1024x576 (16:9). */
    cr_assert_eq(compute(720, 576, 64, 45, 0), 2);
    expect(0, "480p", 854, 480, 0);
    expect(1, "360p", 640, 360, 0);
}

Test(ladder, odd_source_gets_even_rungs)
{
    cr_assert_eq(compute(641, 361, 1, 1, 0), 1);
    expect(0, "360p", 640, 360, 800);
}

Test(ladder, phone_video_rotated_90_gets_portrait_rungs)
{
    /* Coded 640x360, shown turned a quarter: a portrait 360x640 rung. */
    cr_assert_eq(compute(640, 360, 1, 1, 90), 1);
    expect(0, "360p", 360, 640, 800);
    cr_assert_eq(compute(640, 360, 1, 1, 270), 1);
    expect(0, "360p", 360, 640, 800);
    cr_assert_eq(compute(640, 360, 1, 1, 180), 1);
    expect(0, "360p", 640, 360, 800);
}
