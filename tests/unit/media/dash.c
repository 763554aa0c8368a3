/* SPDX-License-Identifier: MIT */
/* DASH MPD text: exact output, SegmentTimeline folding and gaps, audio only, refusals. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "media/dash.h"

/* 30 fps video at timescale 15360: two 4 s segments and a 2 s tail. */
static const struct dash_segment vsegs[] = {
    { 0, 61440 }, { 61440, 61440 }, { 122880, 30720 }
};
/* AAC at 48 kHz: segments end on 1024-sample frames, so durations differ. */
static const struct dash_segment asegs[] = {
    { 0, 195584 }, { 195584, 192512 }, { 388096, 95360 }
};

static const struct dash_representation video[] = {
    { .id = "720p", .bandwidth = 3265780, .codecs = "avc1.64001f", .width = 1280,
      .height = 720, .fps_num = 30, .fps_den = 1, .timescale = 15360, .segs = vsegs,
      .n_segs = 3 },
    { .id = "360p", .bandwidth = 512862, .codecs = "avc1.64001e", .width = 640, .height = 360,
      .fps_num = 30, .fps_den = 1, .timescale = 15360, .segs = vsegs, .n_segs = 3 },
};
static const struct dash_representation audio = {
    .id = "audio", .bandwidth = 131832, .codecs = "mp4a.40.2", .timescale = 48000,
    .segs = asegs, .n_segs = 3
};

static const char *write(const struct dash_mpd *m, struct buf *b)
{
    buf_init(b, 1 << 16);
    cr_assert_eq(dash_write_mpd(b, m), 0);
    return b->ptr;
}

Test(dash, mpd_with_video_and_audio_is_exact)
{
    struct dash_mpd m = { .video = video, .n_video = 2, .audio = &audio, .language = "eng",
                          .channels = 2, .sample_rate = 48000 };
    struct buf b;
    cr_assert_str_eq(
        write(&m, &b),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
        "profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"static\" "
        "mediaPresentationDuration=\"PT10.072S\" minBufferTime=\"PT4.075S\">\n"
        "  <Period id=\"0\" start=\"PT0S\">\n"
        "    <AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\" "
        "segmentAlignment=\"true\" startWithSAP=\"1\" maxWidth=\"1280\" maxHeight=\"720\" "
        "maxFrameRate=\"30\" par=\"16:9\">\n"
        "      <SegmentTemplate timescale=\"15360\" "
        "initialization=\"$RepresentationID$/init.mp4\" "
        "media=\"$RepresentationID$/$Number$.m4s\" startNumber=\"1\">\n"
        "        <SegmentTimeline>\n"
        "          <S t=\"0\" d=\"61440\" r=\"1\"/>\n"
        "          <S d=\"30720\"/>\n"
        "        </SegmentTimeline>\n"
        "      </SegmentTemplate>\n"
        "      <Representation id=\"720p\" bandwidth=\"3265780\" codecs=\"avc1.64001f\" "
        "width=\"1280\" height=\"720\" frameRate=\"30\" sar=\"1:1\"/>\n"
        "      <Representation id=\"360p\" bandwidth=\"512862\" codecs=\"avc1.64001e\" "
        "width=\"640\" height=\"360\" frameRate=\"30\" sar=\"1:1\"/>\n"
        "    </AdaptationSet>\n"
        "    <AdaptationSet id=\"1\" contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"eng\" "
        "segmentAlignment=\"true\" startWithSAP=\"1\">\n"
        "      <AudioChannelConfiguration "
        "schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"2\"/>\n"
        "      <SegmentTemplate timescale=\"48000\" "
        "initialization=\"$RepresentationID$/init.mp4\" "
        "media=\"$RepresentationID$/$Number$.m4s\" startNumber=\"1\">\n"
        "        <SegmentTimeline>\n"
        "          <S t=\"0\" d=\"195584\"/>\n"
        "          <S d=\"192512\"/>\n"
        "          <S d=\"95360\"/>\n"
        "        </SegmentTimeline>\n"
        "      </SegmentTemplate>\n"
        "      <Representation id=\"audio\" bandwidth=\"131832\" codecs=\"mp4a.40.2\" "
        "audioSamplingRate=\"48000\"/>\n"
        "    </AdaptationSet>\n"
        "  </Period>\n"
        "</MPD>\n");
    buf_release(&b);
}

Test(dash, timeline_folds_equal_runs_and_marks_gaps)
{
    /* 4 equal segments, a gap before the fifth, then two more equal ones. */
    const struct dash_segment s[] = {
        { 1024, 100 }, { 1124, 100 }, { 1224, 100 }, { 1324, 100 },
        { 1500, 50 },  { 1550, 50 },  { 1600, 30 },
    };
    struct dash_representation r = { .id = "480p", .bandwidth = 1, .codecs = "avc1.64001f",
                                     .width = 854, .height = 480, .fps_num = 30000,
                                     .fps_den = 1001, .timescale = 1000, .segs = s,
                                     .n_segs = 7 };
    struct dash_mpd m = { .video = &r, .n_video = 1 };
    struct buf b;
    const char *t = write(&m, &b);
    cr_assert(strstr(t, "        <SegmentTimeline>\n"
                        "          <S t=\"1024\" d=\"100\" r=\"3\"/>\n"
                        "          <S t=\"1500\" d=\"50\" r=\"1\"/>\n"
                        "          <S d=\"30\"/>\n"
                        "        </SegmentTimeline>\n"),
              "%s", t);
    /* End of the last segment; frame rate as a fraction; 854x480 is its own aspect ratio. */
    cr_assert(strstr(t, "mediaPresentationDuration=\"PT1.630S\" minBufferTime=\"PT0.100S\""),
              "%s", t);
    cr_assert(strstr(t, "maxFrameRate=\"30000/1001\" par=\"427:240\""), "%s", t);
    cr_assert(strstr(t, "frameRate=\"30000/1001\" sar=\"1:1\""), "%s", t);
    cr_assert_null(strstr(t, "audio"), "%s", t);
    buf_release(&b);
}

Test(dash, different_timelines_get_one_template_per_representation)
{
    const struct dash_segment other[] = { { 0, 61440 }, { 61440, 92160 } };
    struct dash_representation v[2] = { video[0], video[1] };
    v[1].segs = other;
    v[1].n_segs = 2;
    struct dash_mpd m = { .video = v, .n_video = 2 };
    struct buf b;
    const char *t = write(&m, &b);
    cr_assert(strstr(t, "      <Representation id=\"720p\" bandwidth=\"3265780\" "
                        "codecs=\"avc1.64001f\" width=\"1280\" height=\"720\" frameRate=\"30\" "
                        "sar=\"1:1\">\n"
                        "        <SegmentTemplate timescale=\"15360\""),
              "%s", t);
    cr_assert(strstr(t, "            <S t=\"0\" d=\"61440\"/>\n"
                        "            <S d=\"92160\"/>\n"
                        "          </SegmentTimeline>\n"
                        "        </SegmentTemplate>\n"
                        "      </Representation>\n"),
              "%s", t);
    /* No template at the AdaptationSet level. */
    cr_assert_null(strstr(t, "\">\n      <SegmentTemplate"), "%s", t);
    buf_release(&b);
}

Test(dash, audio_only_has_just_the_audio_set)
{
    struct dash_mpd m = { .audio = &audio, .language = "und", .channels = 2,
                          .sample_rate = 48000 };
    struct buf b;
    const char *t = write(&m, &b);
    cr_assert_null(strstr(t, "video"), "%s", t);
    cr_assert(strstr(t, "  <Period id=\"0\" start=\"PT0S\">\n"
                        "    <AdaptationSet id=\"0\" contentType=\"audio\" "
                        "mimeType=\"audio/mp4\" lang=\"und\""),
              "%s", t);
    cr_assert(strstr(t, "<Representation id=\"audio\" bandwidth=\"131832\" "
                        "codecs=\"mp4a.40.2\" audioSamplingRate=\"48000\"/>\n"
                        "    </AdaptationSet>\n"
                        "  </Period>\n"
                        "</MPD>\n"),
              "%s", t);
    cr_assert(strstr(t, "mediaPresentationDuration=\"PT10.072S\""), "%s", t);
    buf_release(&b);
}

Test(dash, attribute_values_are_escaped)
{
    struct dash_representation a = audio;
    a.codecs = "mp4a.40.2\"<&>";
    struct dash_mpd m = { .audio = &a, .language = "en", .channels = 2, .sample_rate = 48000 };
    struct buf b;
    cr_assert(strstr(write(&m, &b), "codecs=\"mp4a.40.2&quot;&lt;&amp;&gt;\""), "%s", b.ptr);
    buf_release(&b);
}

/* A 30000/1001 fps storyboard: 10x3 tiles a sheet, a tile every 30 frames (1.001 s). */
static const struct dash_thumbnails thumbnails = {
    .media = "storyboard/sheet-$Number$.jpg", .tile_w = 160, .tile_h = 90, .cols = 10,
    .rows = 3, .timescale = 30000, .sheet_duration = 30 * 30 * 1001, .bandwidth = 9771
};

Test(dash, storyboard_is_a_dashif_thumbnail_set_after_the_media)
{
    struct dash_mpd m = { .video = video, .n_video = 2, .audio = &audio, .language = "eng",
                          .channels = 2, .sample_rate = 48000, .thumbnails = &thumbnails };
    struct buf b;
    const char *mpd = write(&m, &b);
    const char *set = strstr(mpd, "    <AdaptationSet id=\"2\" contentType=\"image\"");
    cr_assert_not_null(set, "%s", mpd);
    cr_expect_str_eq(set,
                     "    <AdaptationSet id=\"2\" contentType=\"image\" mimeType=\"image/jpeg\">\n"
                     "      <SegmentTemplate timescale=\"30000\" duration=\"900900\" "
                     "startNumber=\"1\" media=\"storyboard/sheet-$Number$.jpg\"/>\n"
                     "      <Representation id=\"storyboard\" bandwidth=\"9771\" width=\"1600\" "
                     "height=\"270\">\n"
                     "        <EssentialProperty schemeIdUri=\"http://dashif.org/thumbnail_tile\" "
                     "value=\"10x3\"/>\n"
                     "      </Representation>\n"
                     "    </AdaptationSet>\n"
                     "  </Period>\n"
                     "</MPD>\n");
    /* The media sets are as without a storyboard. */
    struct dash_mpd plain = m;
    plain.thumbnails = NULL;
    struct buf pb;
    const char *without = write(&plain, &pb);
    size_t head = strlen(without) - strlen("  </Period>\n</MPD>\n");
    cr_expect_eq(strncmp(mpd, without, head), 0);
    cr_expect_eq((size_t)(set - mpd), head);
    buf_release(&pb);
    buf_release(&b);
}

Test(dash, refuses_a_storyboard_without_size_or_duration)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct dash_thumbnails t = thumbnails;
    struct dash_mpd m = { .video = video, .n_video = 2, .thumbnails = &t };
    t.sheet_duration = 0;
    cr_expect_eq(dash_write_mpd(&b, &m), KINO_EINVAL);
    t = thumbnails;
    t.rows = 0;
    cr_expect_eq(dash_write_mpd(&b, &m), KINO_EINVAL);
    t = thumbnails;
    t.timescale = 0;
    cr_expect_eq(dash_write_mpd(&b, &m), KINO_EINVAL);
    t = thumbnails;
    t.media = NULL;
    cr_expect_eq(dash_write_mpd(&b, &m), KINO_EINVAL);
    cr_expect_eq(b.len, 0);
    buf_release(&b);
}

Test(dash, refuses_nothing_to_describe_and_a_full_buffer)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct dash_mpd none = { 0 };
    cr_assert_eq(dash_write_mpd(&b, &none), KINO_EINVAL);
    struct dash_representation r = video[0];
    r.timescale = 0;
    struct dash_mpd bad = { .video = &r, .n_video = 1 };
    cr_assert_eq(dash_write_mpd(&b, &bad), KINO_EINVAL);
    r = video[0];
    r.n_segs = 0;
    cr_assert_eq(dash_write_mpd(&b, &bad), KINO_EINVAL);
    cr_assert_eq(b.len, 0);
    buf_release(&b);

    buf_init(&b, 200);
    struct dash_mpd m = { .video = video, .n_video = 2, .audio = &audio, .language = "eng",
                          .channels = 2, .sample_rate = 48000 };
    cr_assert_eq(dash_write_mpd(&b, &m), KINO_ETOOBIG);
    buf_release(&b);
}
