/* SPDX-License-Identifier: MIT */
/* HLS trick play: exact I-frame and storyboard image playlists, master entries, bit rates. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "media/hls.h"

/* Two 4 s segments of two 2 s GOPs each, then a 1 s tail; each range = moof + mdat hdr + IDR. */
static const struct hls_iframe frames[] = {
    { 2.0, 1, 0, 92319 },      { 2.0, 1, 920636, 67971 }, { 2.0, 2, 0, 60366 },
    { 2.0, 2, 713682, 64470 }, { 1.0, 3, 0, 71857 },
};

Test(hls_iframes, playlist_is_exact)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_write_iframes(&b, frames, 5), 0);
    cr_assert_str_eq(b.ptr, "#EXTM3U\n"
                            "#EXT-X-VERSION:7\n"
                            "#EXT-X-TARGETDURATION:2\n"
                            "#EXT-X-MEDIA-SEQUENCE:1\n"
                            "#EXT-X-PLAYLIST-TYPE:VOD\n"
                            "#EXT-X-I-FRAMES-ONLY\n"
                            "#EXT-X-INDEPENDENT-SEGMENTS\n"
                            "#EXT-X-MAP:URI=\"init.mp4\"\n"
                            "#EXTINF:2.000000,\n"
                            "#EXT-X-BYTERANGE:92319@0\n"
                            "1.m4s\n"
                            "#EXTINF:2.000000,\n"
                            "#EXT-X-BYTERANGE:67971@920636\n"
                            "1.m4s\n"
                            "#EXTINF:2.000000,\n"
                            "#EXT-X-BYTERANGE:60366@0\n"
                            "2.m4s\n"
                            "#EXTINF:2.000000,\n"
                            "#EXT-X-BYTERANGE:64470@713682\n"
                            "2.m4s\n"
                            "#EXTINF:1.000000,\n"
                            "#EXT-X-BYTERANGE:71857@0\n"
                            "3.m4s\n"
                            "#EXT-X-ENDLIST\n");
    buf_release(&b);
}

Test(hls_iframes, byte_ranges_always_carry_their_offset)
{
    /* A range right after another in the same file still says where it starts. */
    const struct hls_iframe f[] = { { 2.5, 7, 0, 10 }, { 2.5, 7, 10, 20 }, { 0.4, 8, 33, 1 } };
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_write_iframes(&b, f, 3), 0);
    cr_assert(strstr(b.ptr, "#EXT-X-TARGETDURATION:3\n"), "%s", b.ptr);
    cr_assert(strstr(b.ptr, "#EXTINF:2.500000,\n#EXT-X-BYTERANGE:10@0\n7.m4s\n"
                            "#EXTINF:2.500000,\n#EXT-X-BYTERANGE:20@10\n7.m4s\n"
                            "#EXTINF:0.400000,\n#EXT-X-BYTERANGE:1@33\n8.m4s\n"
                            "#EXT-X-ENDLIST\n"),
              "%s", b.ptr);
    buf_release(&b);
}

Test(hls_iframes, master_entries_are_exact)
{
    const struct hls_iframe_variant v[] = {
        { .uri = "720p/iframes.m3u8", .bandwidth = 369276, .average_bandwidth = 285587,
          .codecs = "avc1.64001f", .width = 1280, .height = 720 },
        { .uri = "360p/iframes.m3u8", .bandwidth = 68696, .average_bandwidth = 59208,
          .codecs = "avc1.64001e", .width = 640, .height = 360 },
    };
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_write_iframe_variants(&b, v, 2), 0);
    cr_assert_str_eq(b.ptr, "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=369276,AVERAGE-BANDWIDTH=285587,"
                            "CODECS=\"avc1.64001f\",RESOLUTION=1280x720,"
                            "URI=\"720p/iframes.m3u8\"\n"
                            "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=68696,AVERAGE-BANDWIDTH=59208,"
                            "CODECS=\"avc1.64001e\",RESOLUTION=640x360,"
                            "URI=\"360p/iframes.m3u8\"\n");
    cr_assert_eq(hls_write_iframe_variants(&b, v, 0), 0);
    buf_release(&b);
}

Test(hls_iframes, bit_rates_come_from_the_byte_ranges)
{
    int64_t peak, avg;
    hls_measure_iframes(frames, 5, &peak, &avg);
    /* The 1 s tail is not under half the 2 s target, so it counts alone: 71857 B / 1 s. */
    cr_assert_eq(peak, 71857 * 8);
    cr_assert_eq(avg, 317319); /* ceil(356983 B * 8 / 9 s) */

    /* A tail under half the target is measured with the range before it. */
    const struct hls_iframe f[] = { { 2.0, 1, 0, 1000 }, { 0.5, 1, 5000, 1000 } };
    hls_measure_iframes(f, 2, &peak, &avg);
    cr_assert_eq(peak, 2000 * 8 * 10 / 25);
    cr_assert_eq(avg, 2000 * 8 * 10 / 25);
    hls_measure_iframes(NULL, 0, &peak, &avg);
    cr_assert_eq(peak, 0);
    cr_assert_eq(avg, 0);
}

Test(hls_iframes, full_buffer_is_refused)
{
    struct buf b;
    buf_init(&b, 64);
    cr_assert_eq(hls_write_iframes(&b, frames, 5), KINO_ETOOBIG);
    buf_release(&b);
}

/* A 100 s storyboard at 1 tile/s whose presentation ends 0.077 s later: one full sheet, one short. */
static const struct hls_segment sheets[] = { { 100.0, 270354 }, { 0.077, 11921 } };
static const struct hls_images images = { .uri = "storyboard/images.m3u8", .tile_w = 160,
                                          .tile_h = 90, .cols = 10, .rows = 10,
                                          .tile_duration = 1.0, .sheets = sheets, .n_sheets = 2 };

Test(hls_iframes, image_playlist_is_exact)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_write_images(&b, &images), 0);
    cr_assert_str_eq(b.ptr, "#EXTM3U\n"
                            "#EXT-X-VERSION:7\n"
                            "#EXT-X-TARGETDURATION:100\n"
                            "#EXT-X-MEDIA-SEQUENCE:1\n"
                            "#EXT-X-PLAYLIST-TYPE:VOD\n"
                            "#EXT-X-IMAGES-ONLY\n"
                            "#EXTINF:100.000000,\n"
                            "#EXT-X-TILES:RESOLUTION=160x90,LAYOUT=10x10,DURATION=1.000000\n"
                            "sheet-1.jpg\n"
                            "#EXTINF:0.077000,\n"
                            "#EXT-X-TILES:RESOLUTION=160x90,LAYOUT=10x10,DURATION=1.000000\n"
                            "sheet-2.jpg\n"
                            "#EXT-X-ENDLIST\n");
    buf_release(&b);
}

Test(hls_iframes, image_stream_entry_measures_the_sheets_like_segments)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_write_image_variant(&b, &images), 0);
    /* The 0.077 s sheet is measured with the one before it, not as 1.2 Mbit/s on its own. */
    int64_t peak = (int64_t)((270354.0 + 11921.0) * 8 / 100.077 + 0.5);
    char want[256];
    snprintf(want, sizeof(want),
             "#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=%lld,RESOLUTION=160x90,CODECS=\"jpeg\","
             "URI=\"storyboard/images.m3u8\"\n",
             (long long)peak);
    cr_expect_str_eq(b.ptr, want);
    buf_release(&b);
}

Test(hls_iframes, image_playlist_refuses_nothing_to_list)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct hls_images none = images;
    none.n_sheets = 0;
    cr_expect_eq(hls_write_images(&b, &none), KINO_EINVAL);
    struct hls_images flat = images;
    flat.tile_duration = 0;
    cr_expect_eq(hls_write_images(&b, &flat), KINO_EINVAL);
    cr_expect_eq(b.len, 0);
    buf_release(&b);
    buf_init(&b, 64);
    cr_expect_eq(hls_write_images(&b, &images), KINO_ETOOBIG);
    buf_release(&b);
}
