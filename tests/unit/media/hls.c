/* SPDX-License-Identifier: MIT */
/* HLS text: exact media and multivariant playlists, measured rates, CODECS from SPS bytes. */
#include <criterion/criterion.h>
#include <string.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "media/hls.h"

static const struct hls_segment video[] = {
    { 4.0, 1000000 }, /* 2.0 Mb/s */
    { 4.0, 1500000 }, /* 3.0 Mb/s */
    { 2.0, 400000 },  /* 1.6 Mb/s */
};
static const struct hls_segment audio[] = {
    { 4.074667, 65000 },
    { 4.010667, 64000 },
    { 1.989146, 32000 },
};

Test(hls, media_playlist_is_exact)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_target_duration(video, 3), 4);
    cr_assert_eq(hls_write_media(&b, video, 3, 4), 0);
    cr_assert_str_eq(b.ptr, "#EXTM3U\n"
                            "#EXT-X-VERSION:7\n"
                            "#EXT-X-TARGETDURATION:4\n"
                            "#EXT-X-MEDIA-SEQUENCE:1\n"
                            "#EXT-X-PLAYLIST-TYPE:VOD\n"
                            "#EXT-X-INDEPENDENT-SEGMENTS\n"
                            "#EXT-X-START:TIME-OFFSET=0\n"
                            "#EXT-X-MAP:URI=\"init.mp4\"\n"
                            "#EXTINF:4.000000,\n1.m4s\n"
                            "#EXTINF:4.000000,\n2.m4s\n"
                            "#EXTINF:2.000000,\n3.m4s\n"
                            "#EXT-X-ENDLIST\n");
    buf_release(&b);
}

Test(hls, growing_playlist_is_an_event_without_end)
{
    struct buf b = BUF_INIT(4096);
    cr_assert_eq(hls_write_media_event(&b, video, 2, 5), 0);
    cr_assert_str_eq(b.ptr, "#EXTM3U\n"
                            "#EXT-X-VERSION:7\n"
                            "#EXT-X-TARGETDURATION:5\n"
                            "#EXT-X-MEDIA-SEQUENCE:1\n"
                            "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                            "#EXT-X-INDEPENDENT-SEGMENTS\n"
                            "#EXT-X-START:TIME-OFFSET=0\n"
                            "#EXT-X-MAP:URI=\"init.mp4\"\n"
                            "#EXTINF:4.000000,\n1.m4s\n"
                            "#EXTINF:4.000000,\n2.m4s\n");
    buf_release(&b);
}

Test(hls, target_duration_rounds_to_nearest)
{
    const struct hls_segment s[] = { { 4.004, 1 }, { 4.49, 1 }, { 0.2, 1 } };
    cr_assert_eq(hls_target_duration(s, 3), 4);
    const struct hls_segment t[] = { { 4.5, 1 } };
    cr_assert_eq(hls_target_duration(t, 1), 5);
    cr_assert_eq(hls_target_duration(NULL, 0), 1);
}

Test(hls, master_playlist_with_shared_audio_is_exact)
{
    struct hls_variant v[] = {
        { .uri = "720p/index.m3u8", .bandwidth = 3128000, .average_bandwidth = 2600000,
          .codecs = "avc1.64001f,mp4a.40.2", .width = 1280, .height = 720, .frame_rate = 30,
          .has_audio_group = 1 },
        { .uri = "360p/index.m3u8", .bandwidth = 928000, .average_bandwidth = 800000,
          .codecs = "avc1.64001e,mp4a.40.2", .width = 640, .height = 360,
          .frame_rate = 30000.0 / 1001, .has_audio_group = 1 },
    };
    struct hls_audio a = { .uri = "audio/index.m3u8", .language = "eng", .channels = 2 };
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_write_master(&b, v, 2, &a), 0);
    cr_assert_str_eq(
        b.ptr,
        "#EXTM3U\n"
        "#EXT-X-VERSION:7\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Default\",LANGUAGE=\"eng\","
        "DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio/index.m3u8\"\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=3128000,AVERAGE-BANDWIDTH=2600000,"
        "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO=\"audio\"\n"
        "720p/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=928000,AVERAGE-BANDWIDTH=800000,"
        "CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=29.970,AUDIO=\"audio\"\n"
        "360p/index.m3u8\n");
    buf_release(&b);
}

/* Players start with the first variant listed: the rung nearest 2 Mbit/s on average goes
 * first, the others keep their order. */
Test(hls, master_lists_the_rung_nearest_2_mbits_first)
{
    const struct hls_variant v[] = {
        { .uri = "1080p/index.m3u8", .bandwidth = 6800000, .average_bandwidth = 5500000,
          .codecs = "avc1.640028" },
        { .uri = "720p/index.m3u8", .bandwidth = 1820000, .average_bandwidth = 1780000,
          .codecs = "avc1.64001f" },
        { .uri = "480p/index.m3u8", .bandwidth = 800000, .average_bandwidth = 780000,
          .codecs = "avc1.64001f" },
        { .uri = "360p/index.m3u8", .bandwidth = 510000, .average_bandwidth = 495000,
          .codecs = "avc1.64001e" },
    };
    cr_assert_eq(hls_start_variant(v, 4), 1);
    cr_assert_eq(hls_start_variant(v, 1), 0, "one variant: that one");
    cr_assert_eq(hls_start_variant(&v[2], 2), 0, "all below 2 Mbit/s: the highest");
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_write_master(&b, v, 4, NULL), 0);
    const char *p1080 = strstr(b.ptr, "1080p/"), *p720 = strstr(b.ptr, "720p/"),
               *p480 = strstr(b.ptr, "480p/"), *p360 = strstr(b.ptr, "360p/");
    cr_assert(p1080 && p720 && p480 && p360, "%s", b.ptr);
    cr_assert(p720 < p1080 && p1080 < p480 && p480 < p360, "%s", b.ptr);
    cr_assert_eq(strstr(b.ptr, "#EXT-X-STREAM-INF"),
                 strstr(b.ptr, "#EXT-X-STREAM-INF:BANDWIDTH=1820000"), "%s", b.ptr);
    buf_release(&b);
}

Test(hls, audio_only_master_has_no_media_tag_nor_resolution)
{
    struct hls_variant v = { .uri = "audio/index.m3u8", .bandwidth = 131000,
                             .average_bandwidth = 130000, .codecs = "mp4a.40.2" };
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(hls_write_master(&b, &v, 1, NULL), 0);
    cr_assert_str_eq(b.ptr, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                            "#EXT-X-STREAM-INF:BANDWIDTH=131000,AVERAGE-BANDWIDTH=130000,"
                            "CODECS=\"mp4a.40.2\"\naudio/index.m3u8\n");
    buf_release(&b);
}

Test(hls, playlist_respects_the_buffer_cap)
{
    struct buf b;
    buf_init(&b, 64);
    cr_assert_eq(hls_write_media(&b, video, 3, 4), KINO_ETOOBIG);
    buf_release(&b);
}

Test(hls, peak_is_video_plus_audio_of_the_same_segment)
{
    int64_t peak, avg;
    hls_measure(video, 3, audio, 3, 4, &peak, &avg);
    /* Segment 2: 3.0 Mb/s video + 64000*8/4.010667 audio. */
    int64_t want = (int64_t)(3000000.0 + 64000 * 8 / 4.010667) + 1;
    cr_assert(peak >= want - 1 && peak <= want + 1, "peak %lld want %lld", (long long)peak,
              (long long)want);
    /* All bytes over the 10 s of video. */
    cr_assert_eq(avg, (int64_t)((2900000 + 161000) * 8 / 10.0));
    cr_assert(avg <= peak);
}

Test(hls, short_last_segment_is_measured_with_the_one_before)
{
    const struct hls_segment s[] = { { 4.0, 1000000 }, { 0.5, 500000 } }; /* 8 Mb/s alone */
    int64_t peak, avg;
    hls_measure(s, 2, NULL, 0, 4, &peak, &avg);
    cr_assert_eq(peak, (int64_t)(1500000 * 8 / 4.5) + 1);
    cr_assert_eq(avg, peak);
}

Test(hls, video_only_peak)
{
    int64_t peak, avg;
    hls_measure(video, 3, NULL, 0, 4, &peak, &avg);
    cr_assert_eq(peak, 3000000);
    cr_assert_eq(avg, 2320000);
}

Test(hls, codec_string_from_avcc)
{
    /* avcC: version 1, High (0x64), constraints 0x00, level 3.1 (0x1f). */
    const uint8_t avcc[] = { 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04,
                             0x67, 0x64, 0x00, 0x1f };
    char s[32];
    cr_assert_eq(hls_codec_avc(avcc, sizeof(avcc), s, sizeof(s)), 0);
    cr_assert_str_eq(s, "avc1.64001f");
}

Test(hls, codec_string_from_annex_b)
{
    /* x264 global header: start code, SPS (type 7) High 4.0, then a PPS. */
    const uint8_t annexb[] = { 0x00, 0x00, 0x00, 0x01, 0x67, 0x64, 0x00, 0x28, 0xac,
                               0x00, 0x00, 0x00, 0x01, 0x68, 0xeb, 0xe3, 0xcb };
    char s[32];
    cr_assert_eq(hls_codec_avc(annexb, sizeof(annexb), s, sizeof(s)), 0);
    cr_assert_str_eq(s, "avc1.640028");
    const uint8_t pps_only[] = { 0x00, 0x00, 0x01, 0x68, 0xeb, 0xe3, 0xcb, 0x00 };
    cr_assert_eq(hls_codec_avc(pps_only, sizeof(pps_only), s, sizeof(s)), KINO_EINVAL);
    cr_assert_eq(hls_codec_avc(NULL, 0, s, sizeof(s)), KINO_EINVAL);
}

Test(hls, bandwidth_is_never_below_the_average)
{
    /* Audio a little longer than the video makes bytes/video-duration exceed the peak. */
    const struct hls_segment v[] = { { 1.0, 1000 } };
    const struct hls_segment a[] = { { 2.0, 100000 } };
    int64_t peak, avg;
    hls_measure(v, 1, a, 1, 4, &peak, &avg);
    cr_assert_eq(avg, (101000 * 8));
    cr_assert_eq(peak, avg);
}
