/* SPDX-License-Identifier: MIT */
/*
 * media_probe(): what an uploaded file is and whether kino can use it. Opens
 * the container, picks the picture and sound streams, opens their decoders,
 * and refuses what cannot be used with a message saying what is wrong and
 * what to do (docs/internals/media.md, "Inputs"). FFmpeg's own error lines
 * are kept for those messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dovi_meta.h>

#include "media/job.h"
#include "core/banned.h"

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

/*
 * FFmpeg's last error message on this thread. Demuxers often say why they give
 * up only through av_log ("Picture size 100000x100000 is invalid") and return
 * a bare AVERROR_INVALIDDATA; keeping the line lets an error say what is wrong.
 */
static _Thread_local char ff_last_error[200];

static void remember_ffmpeg_error(void *avcl, int level, const char *fmt, va_list ap)
{
    (void)avcl;
    if (level > AV_LOG_ERROR)
        return;
    char line[sizeof(ff_last_error)];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ' || line[n - 1] == '.'))
        line[--n] = '\0';
    if (n > 0) /* FFmpeg sometimes ends a message with a call of its own that holds only "\n" */
        memcpy(ff_last_error, line, n + 1);
}

/* The message remembered since the last call ("" when none), then forgotten. */
static const char *take_ffmpeg_error(char *out, size_t cap)
{
    snprintf(out, cap, "%s", ff_last_error);
    ff_last_error[0] = '\0';
    return out;
}

static void quiet_ffmpeg(void)
{
    /* The media module returns errors, it does not log: FFmpeg's errors are kept (above) for
     * the messages, the rest of its chatter would be noise. */
    av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(remember_ffmpeg_error);
}


static const char *upload_hint =
    "upload an MP4, MOV, MKV or WebM video, or an MP3, M4A, WAV or FLAC audio file";

static int is_image_format(const AVFormatContext *ic, const AVStream *st)
{
    const char *name = ic->iformat->name;
    size_t n = strlen(name);
    if (strcmp(name, "image2") == 0 || (n > 5 && strcmp(name + n - 5, "_pipe") == 0))
        return 1;
    switch (st->codecpar->codec_id) {
    case AV_CODEC_ID_PNG:
    case AV_CODEC_ID_MJPEG:
    case AV_CODEC_ID_BMP:
    case AV_CODEC_ID_TIFF:
    case AV_CODEC_ID_WEBP:
    case AV_CODEC_ID_GIF:
        /* A still picture in a container: one frame or no timing at all. */
        return st->nb_frames <= 1 && (ic->duration == AV_NOPTS_VALUE || ic->duration <= 0 ||
                                      st->nb_frames == 1);
    default:
        return 0;
    }
}

/*
 * FFmpeg's words for `averr` between `open` and `close`, written into buf, to
 * say why in a message to a user; "" for the codes whose words would mislead
 * there: "Function not implemented" and "Not yet implemented in FFmpeg,
 * patches welcome" read as if kino were unfinished and say nothing about the
 * file that the user could act on.
 */
static const char *ffmpeg_words(int averr, const char *open, const char *close, char *buf,
                                size_t cap)
{
    if (averr == AVERROR(ENOSYS) || averr == AVERROR_PATCHWELCOME)
        return "";
    snprintf(buf, cap, "%s%s%s", open, av_err2str(averr), close);
    return buf;
}

/*
 * A stream kino has no decoder for. The message names the codec by FFmpeg's name, or when
 * FFmpeg does not know the codec at all, by the four characters the file gives it (an MP4
 * sample entry); a Matroska codec id FFmpeg has never heard of leaves neither.
 */
static int cannot_decode(struct job *j, const AVStream *st)
{
    char tag[AV_FOURCC_MAX_STRING_SIZE], codec[64];
    int video = st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO;
    if (st->codecpar->codec_id != AV_CODEC_ID_NONE)
        snprintf(codec, sizeof(codec), "the %s codec, which kino cannot decode",
                 avcodec_get_name(st->codecpar->codec_id));
    else if (st->codecpar->codec_tag)
        snprintf(codec, sizeof(codec), "the %s codec, which kino cannot decode",
                 av_fourcc_make_string(tag, st->codecpar->codec_tag));
    else
        snprintf(codec, sizeof(codec), "a codec kino does not know");
    return kino_err_set(j->err, KINO_EMEDIA,
                        "the file's %s is in %s; re-export it with %s and upload it again",
                        video ? "video" : "sound", codec,
                        video ? "H.264, HEVC, VP9 or AV1 video" : "AAC, MP3, Opus or FLAC sound");
}

static int open_decoder(struct job *j, int idx, AVCodecContext **ret)
{
    AVStream *st = j->ic->streams[idx];
    const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!dec)
        return cannot_decode(j, st);
    AVCodecContext *c = avcodec_alloc_context3(dec);
    if (!c)
        return kino_err_set(j->err, -ENOMEM, "out of memory");
    *ret = c;
    int rc = avcodec_parameters_to_context(c, st->codecpar);
    if (rc < 0)
        return media_ff_error(j, KINO_EMEDIA, "the file's stream parameters are invalid", rc);
    c->pkt_timebase = st->time_base;
    c->thread_count = 0;
    rc = avcodec_open2(c, dec, NULL);
    char words[AV_ERROR_MAX_STRING_SIZE + 8];
    if (rc < 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file's %s (%s) cannot be decoded: its settings are damaged or "
                            "not supported%s; re-export it and upload it again",
                            st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO ? "video" : "sound",
                            avcodec_get_name(st->codecpar->codec_id),
                            ffmpeg_words(rc, " (", ")", words, sizeof(words)));
    return 0;
}

/* The first `cap` bytes of `path` into `buf`; how many were read (0 when it cannot be read). */
static size_t read_head(const char *path, unsigned char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return n > 0 ? (size_t)n : 0;
}

/* An ISO BMFF file starts with a box whose type is ftyp (or moov/mdat/free/wide). */
static int looks_like_mp4(const char *path)
{
    unsigned char h[8];
    if (read_head(path, h, sizeof(h)) < sizeof(h))
        return 0;
    return memcmp(h + 4, "ftyp", 4) == 0 || memcmp(h + 4, "mdat", 4) == 0 ||
           memcmp(h + 4, "moov", 4) == 0 || memcmp(h + 4, "wide", 4) == 0 ||
           memcmp(h + 4, "free", 4) == 0;
}

/*
 * An animated WebP: a RIFF/WEBP file whose first chunk is VP8X with the animation flag
 * (bit 1 of the flags byte). FFmpeg 5.1 decodes only still WebP, and shows an animated
 * one as a picture stream of unknown size, so it is told apart here to say so.
 */
static int is_animated_webp(const char *path)
{
    unsigned char h[21];
    if (read_head(path, h, sizeof(h)) < sizeof(h))
        return 0;
    return memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBPVP8X", 8) == 0 && (h[20] & 0x02);
}

/*
 * The container FFmpeg recognises by the first bytes of `path` (not by its name), or NULL.
 * Used once opening has failed, to tell a damaged file of a known kind ("the file is in the
 * Ogg format but …") from one that is no media at all.
 */
static const AVInputFormat *recognised_format(const char *path)
{
    enum { HEAD = 64 * 1024 };
    unsigned char *buf = av_mallocz(HEAD + AVPROBE_PADDING_SIZE);
    size_t n = buf ? read_head(path, buf, HEAD) : 0;
    int score = 0;
    AVProbeData pd = { .filename = "", .buf = buf, .buf_size = (int)n };
    const AVInputFormat *fmt = n > 0 ? av_probe_input_format3(&pd, 1, &score) : NULL;
    /*
     * An MP3 cut inside its ID3v2 tag (which holds the cover art, often the first 100 KB)
     * has no sound for the probe to score. The tag's header ("ID3", version 2 to 4) still
     * says what the file is.
     */
    int id3 = n >= 4 && memcmp(buf, "ID3", 3) == 0 && buf[3] >= 2 && buf[3] <= 4;
    av_free(buf);
    /* Above what a file name alone earns, and well above what random bytes happen to score. */
    if (fmt && score > AVPROBE_SCORE_EXTENSION)
        return fmt;
    return id3 ? av_find_input_format("mp3") : NULL;
}

static int too_many_pixels(struct job *j, int w, int h)
{
    return kino_err_set(j->err, KINO_EMEDIA,
                        "the video is %dx%d pixels, more than the %lld pixels kino accepts; "
                        "scale it down and upload it again",
                        w, h, (long long)j->opt->max_pixels);
}

/*
 * The Dolby Vision profile of a stream whose base layer is no standard picture, else 0.
 * Profiles 1, 3 and 5 and 10.0 code IPTPQc2, which only Dolby's reshaping (the RPU metadata)
 * turns into colours; decoded as plain YUV it shows green and purple. The others have an
 * HDR10 (7, 8.1), SDR (8.2, 9, 10.2...) or HLG (8.4: iPhones) base layer, which kino uses and
 * which plays as such.
 */
static int dolby_vision_without_base(const AVStream *st)
{
    size_t size = 0;
    const AVDOVIDecoderConfigurationRecord *dv = (const AVDOVIDecoderConfigurationRecord *)
        av_stream_get_side_data(st, AV_PKT_DATA_DOVI_CONF, &size);
    if (!dv || size < sizeof(*dv))
        return 0;
    int p = dv->dv_profile;
    if (p == 1 || p == 3 || p == 5 || (p == 10 && dv->dv_bl_signal_compatibility_id == 0))
        return p;
    return 0;
}

/* 0 for a picture stream (not cover art), 1 for a sound stream, each with its sizes or rates
 * known; -1 for anything else. */
static int usable_stream(const AVStream *st)
{
    const AVCodecParameters *par = st->codecpar;
    if (par->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC) &&
        par->width > 0)
        return 0;
    if (par->codec_type == AVMEDIA_TYPE_AUDIO && par->sample_rate > 0 &&
        par->ch_layout.nb_channels > 0)
        return 1;
    return -1;
}

int media_probe(struct job *j)
{
    struct stat sb;
    int rc;
    pthread_once(&log_once, quiet_ffmpeg);
    if (stat(j->src_path, &sb) < 0)
        return kino_err_set(j->err, -errno, "cannot read %s: %s", j->src_path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return kino_err_set(j->err, KINO_EMEDIA, "%s is not a regular file", j->src_path);
    if (sb.st_size == 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is empty (0 bytes); the upload probably failed, "
                            "upload it again");

    /* Demuxers can spend a long time resyncing through a damaged file inside one call;
     * FFmpeg polls this callback there, so the caller can still stop us. */
    j->ic = avformat_alloc_context();
    if (!j->ic)
        return kino_err_set(j->err, -ENOMEM, "out of memory");
    j->ic->interrupt_callback = (AVIOInterruptCB){ .callback = media_interrupted, .opaque = j };
    char why[sizeof(ff_last_error)];
    take_ffmpeg_error(why, sizeof(why));
    rc = avformat_open_input(&j->ic, j->src_path, NULL, NULL);
    take_ffmpeg_error(why, sizeof(why));
    if (j->canceled)
        return KINO_ECANCELED;
    if (rc == AVERROR(ENOENT) || rc == AVERROR(EACCES))
        return media_ff_error(j, rc, "cannot open the source file", rc);
    char words[AV_ERROR_MAX_STRING_SIZE + 8];
    if (rc < 0 && looks_like_mp4(j->src_path))
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is an MP4/MOV but incomplete or damaged (%sits index, "
                            "the moov box, is missing or broken); upload the whole file again, "
                            "or re-export it",
                            ffmpeg_words(rc, "", "; ", words, sizeof(words)));
    const AVInputFormat *known = rc < 0 ? recognised_format(j->src_path) : NULL;
    if (known)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is in the %s format but damaged or incomplete (%s); "
                            "upload the whole file again, or re-export it",
                            known->long_name ? known->long_name : known->name,
                            why[0] ? why : av_err2str(rc));
    if (rc < 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is not a video or audio file that kino can read (%s); %s",
                            why[0] ? why : av_err2str(rc), upload_hint);
    /* An absurd header is refused before avformat_find_stream_info() decodes a frame of it. */
    for (unsigned i = 0; i < j->ic->nb_streams; i++) {
        const AVStream *st = j->ic->streams[i];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(st->disposition & AV_DISPOSITION_ATTACHED_PIC) &&
            (int64_t)st->codecpar->width * st->codecpar->height > j->opt->max_pixels)
            return too_many_pixels(j, st->codecpar->width, st->codecpar->height);
    }
    rc = avformat_find_stream_info(j->ic, NULL);
    if (rc < 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is damaged or incomplete (%s); upload the whole file again",
                            av_err2str(rc));

    /*
     * The first picture and sound streams kino can decode, then the ones FFmpeg would pick
     * when there are several (the default track first); passing a decoder pointer makes
     * av_find_best_stream skip streams without a decoder. A stream kino cannot decode is never
     * picked while another can be: phones add tracks in new codecs (spatial audio) beside a
     * stereo AAC one. When none can be decoded, the first is kept for the error message.
     */
    j->vidx = j->aidx = -1;
    int undecodable[2] = { -1, -1 }; /* video, audio */
    for (unsigned i = 0; i < j->ic->nb_streams; i++) {
        const AVStream *st = j->ic->streams[i];
        int kind = usable_stream(st);
        if (kind < 0)
            continue;
        int *pick = kind == 0 ? &j->vidx : &j->aidx;
        if (!avcodec_find_decoder(st->codecpar->codec_id)) {
            if (undecodable[kind] < 0)
                undecodable[kind] = (int)i;
        } else if (*pick < 0) {
            *pick = (int)i;
        }
    }
    const AVCodec *dec;
    int best = av_find_best_stream(j->ic, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0);
    if (best >= 0 && usable_stream(j->ic->streams[best]) == 0)
        j->vidx = best;
    best = av_find_best_stream(j->ic, AVMEDIA_TYPE_AUDIO, -1, j->vidx, &dec, 0);
    if (best >= 0 && usable_stream(j->ic->streams[best]) == 1)
        j->aidx = best;
    if (j->vidx < 0 && undecodable[0] >= 0)
        return cannot_decode(j, j->ic->streams[undecodable[0]]);
    if (j->aidx < 0 && undecodable[1] >= 0)
        return cannot_decode(j, j->ic->streams[undecodable[1]]);

    if (j->vidx < 0 && j->aidx < 0 && is_animated_webp(j->src_path))
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is an animated WebP image, which kino cannot read; "
                            "upload the animation as an MP4, WebM or GIF instead");
    if (j->vidx < 0 && j->aidx < 0)
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is not a video or audio file that kino can read "
                            "(no audio or video stream found); %s",
                            upload_hint);
    if (j->vidx >= 0 && is_image_format(j->ic, j->ic->streams[j->vidx]))
        return kino_err_set(j->err, KINO_EMEDIA,
                            "the file is an image, not a video; %s", upload_hint);

    j->t0 = j->ic->start_time != AV_NOPTS_VALUE ? j->ic->start_time : 0;
    j->ts_discont = (j->ic->iformat->flags & AVFMT_TS_DISCONT) != 0;
    j->next_dts[0] = j->next_dts[1] = AV_NOPTS_VALUE;
    j->duration = j->ic->duration > 0 ? j->ic->duration / (double)AV_TIME_BASE : 0;
    if (j->duration > j->opt->max_duration_s)
        return media_too_long(j, j->duration);

    if (j->vidx >= 0) {
        AVCodecParameters *par = j->ic->streams[j->vidx]->codecpar;
        if ((int64_t)par->width * par->height > j->opt->max_pixels)
            return too_many_pixels(j, par->width, par->height);
        if (par->width < 16 || par->height < 16)
            return kino_err_set(j->err, KINO_EMEDIA,
                                "the video is only %dx%d pixels; kino needs at least 16 on each "
                                "side, upload a larger video",
                                par->width, par->height);
        int dv_profile = dolby_vision_without_base(j->ic->streams[j->vidx]);
        if (dv_profile)
            return kino_err_set(j->err, KINO_EMEDIA,
                                "the video is Dolby Vision profile %d, whose pictures need Dolby's "
                                "own processing to show right (kino would make them green and "
                                "purple); export it as HDR10, HLG or SDR and upload it again",
                                dv_profile);
        if ((rc = open_decoder(j, j->vidx, &j->vdec)) < 0)
            return rc;
        j->src_w = par->width;
        j->src_h = par->height;
    }
    if (j->aidx >= 0) {
        if ((rc = open_decoder(j, j->aidx, &j->adec)) < 0)
            return rc;
        AVDictionaryEntry *lang = av_dict_get(j->ic->streams[j->aidx]->metadata, "language",
                                              NULL, 0);
        media_lang_from_code(lang ? lang->value : NULL, &j->lang);
    }
    return 0;
}

