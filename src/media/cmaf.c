/* SPDX-License-Identifier: MIT */
/*
 * The CMAF segmenter. libavformat's mp4 muxer does the box writing in
 * fragmented mode (frag_custom: a fragment ends only when we flush it); its
 * bytes go through our own AVIOContext, whose target file we switch at every
 * segment boundary, so segments are byte-exact moof+mdat runs and the bytes
 * before the first fragment form init.mp4.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/opt.h>

#include "media/cmaf.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/banned.h"

#define IO_BUF_SIZE (64 * 1024)
/*
 * Bytes kept from the start of each fragment to read its moof: at most 16
 * bytes per sample, so this covers GOPs of about 4000 frames.
 */
#define HEAD_MAX (64 * 1024)

static int write_cb(void *opaque, uint8_t *data, int size)
{
    struct cmaf_writer *w = opaque;
    if (w->holding) {
        /* init.mp4 is written once the muxer is done with it (write_init). */
        if ((size_t)size > HEAD_MAX - w->head_len) {
            w->io_errno = w->io_errno ? w->io_errno : EFBIG;
            return AVERROR(EFBIG);
        }
        memcpy(w->head + w->head_len, data, (size_t)size);
        w->head_len += (size_t)size;
        return 0;
    }
    if (w->fd < 0) {
        /* Bytes with no file open would be lost silently; treat as a bug. */
        w->io_errno = w->io_errno ? w->io_errno : EBADF;
        return AVERROR(EBADF);
    }
    if (w->capturing && w->head_len < HEAD_MAX) {
        size_t n = HEAD_MAX - w->head_len < (size_t)size ? HEAD_MAX - w->head_len : (size_t)size;
        memcpy(w->head + w->head_len, data, n);
        w->head_len += n;
    }
    while (size > 0) {
        ssize_t n = write(w->fd, data, (size_t)size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (!w->io_errno)
                w->io_errno = errno;
            return AVERROR(errno);
        }
        data += n;
        size -= (int)n;
        w->file_bytes += n;
    }
    return 0;
}

static int open_file(struct cmaf_writer *w, const char *name, struct kino_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", w->dir, name) >= (int)sizeof(path))
        return kino_err_set(err, KINO_EINVAL, "output path too long: %s/%s", w->dir, name);
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return kino_err_set(err, -errno, "cannot create %s: %s", path, strerror(errno));
    w->file_bytes = 0;
    return 0;
}

/* Push buffered bytes to the current file and close it. */
static int close_file(struct cmaf_writer *w, struct kino_err *err)
{
    avio_flush(w->pb);
    int rc = 0;
    if (w->io_errno)
        rc = kino_err_set(err, -w->io_errno, "cannot write to %s: %s", w->dir,
                          strerror(w->io_errno));
    if (w->fd >= 0 && close(w->fd) < 0 && rc == 0)
        rc = kino_err_set(err, -errno, "cannot write to %s: %s", w->dir, strerror(errno));
    w->fd = -1;
    return rc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/*
 * Find the box `type` among the boxes in p[0..n): its payload (after the
 * 8-byte header) in *ret and *ret_len. 0, or -1 when absent or cut short.
 */
static int find_box(const uint8_t *p, size_t n, const char *type, const uint8_t **ret,
                    size_t *ret_len)
{
    size_t off = 0;
    while (off + 8 <= n) {
        uint64_t size = be32(p + off);
        if (size < 8 || size > n - off)
            return -1;
        if (memcmp(p + off + 4, type, 4) == 0) {
            *ret = p + off + 8;
            *ret_len = (size_t)size - 8;
            return 0;
        }
        off += (size_t)size;
    }
    return -1;
}

/* Read tfhd, tfdt and trun of one traf: the fields a fragment record needs. */
static int read_traf(const uint8_t *p, size_t n, struct cmaf_fragment *f, int64_t *ret_data_off,
                     int64_t *ret_first_size)
{
    const uint8_t *b;
    size_t len;
    uint32_t def[3] = { 0 }; /* default sample duration, size, flags */
    int has_def[3] = { 0 };

    if (find_box(p, n, "tfhd", &b, &len) < 0 || len < 8)
        return -1;
    uint32_t hfl = be32(b) & 0xffffff;
    size_t o = 8;            /* version/flags, track_ID */
    o += hfl & 0x01 ? 8 : 0; /* base_data_offset */
    o += hfl & 0x02 ? 4 : 0; /* sample_description_index */
    for (int k = 0; k < 3; k++) {
        if (!(hfl & (0x08u << k)))
            continue;
        if (o + 4 > len)
            return -1;
        def[k] = be32(b + o);
        has_def[k] = 1;
        o += 4;
    }

    if (find_box(p, n, "tfdt", &b, &len) < 0 || len < 8 || (b[0] == 1 && len < 12))
        return -1;
    int64_t dts = b[0] == 1 ? (int64_t)be64(b + 4) : (int64_t)be32(b + 4);
    if (dts < 0)
        return -1;

    if (find_box(p, n, "trun", &b, &len) < 0 || len < 8)
        return -1;
    int version = b[0];
    uint32_t fl = be32(b) & 0xffffff;
    uint32_t count = be32(b + 4);
    int64_t data_off = -1;
    int first_set = 0;
    uint32_t first_flags = 0;
    o = 8;
    if (fl & 0x01) {
        if (o + 4 > len)
            return -1;
        data_off = (int32_t)be32(b + o);
        o += 4;
    }
    if (fl & 0x04) {
        if (o + 4 > len)
            return -1;
        first_flags = be32(b + o);
        first_set = 1;
        o += 4;
    }
    /* Per sample: duration, size, flags, composition offset, each when its flag is set. */
    size_t entry = 4 * (size_t)(!!(fl & 0x100) + !!(fl & 0x200) + !!(fl & 0x400) + !!(fl & 0x800));
    if (count == 0 || (entry && (len - o) / entry < count))
        return -1;
    if ((!(fl & 0x100) && !has_def[0]) || (!(fl & 0x200) && !has_def[1]))
        return -1; /* defaults only in the init's trex: not what this muxer writes */
    f->duration = 0;
    f->start = INT64_MAX;
    for (uint32_t i = 0; i < count; i++, o += entry) {
        const uint8_t *e = b + o;
        int64_t dur = def[0], size = def[1], cto = 0;
        uint32_t flags = def[2];
        int known_flags = has_def[2];
        if (fl & 0x100)
            dur = be32(e), e += 4;
        if (fl & 0x200)
            size = be32(e), e += 4;
        if (fl & 0x400)
            flags = be32(e), e += 4, known_flags = 1;
        if (fl & 0x800)
            cto = version ? (int64_t)(int32_t)be32(e) : (int64_t)be32(e);
        if (i == 0) {
            if (first_set)
                flags = first_flags, known_flags = 1;
            *ret_first_size = size;
            /* sample_is_non_sync_sample is bit 16 of the sample flags. */
            f->sync = !known_flags || !(flags & 0x10000);
        }
        /* Presentation time: decode time plus the (signed, in version 1) offset. */
        if (dts + f->duration + cto < f->start)
            f->start = dts + f->duration + cto;
        f->duration += dur;
    }
    /* An explicit base_data_offset is not relative to the moof: find the mdat instead. */
    *ret_data_off = hfl & 0x01 ? -1 : data_off;
    return 0;
}

/*
 * Record the fragment the muxer just wrote at `offset` of the current file,
 * from the bytes captured in w->head: a moof (possibly after other boxes),
 * then the mdat whose first sample ends the I-frame byte range.
 */
static int note_fragment(struct cmaf_writer *w, int64_t offset, struct kino_err *err)
{
    const uint8_t *p = w->head;
    size_t n = w->head_len, off = 0;
    while (off + 8 <= n && memcmp(p + off + 4, "moof", 4) != 0) {
        uint32_t size = be32(p + off);
        if (size < 8 || size > n - off)
            break;
        off += size;
    }
    const uint8_t *moof, *traf;
    size_t moof_len, traf_len;
    struct cmaf_fragment f = { .segment = w->n_segs, .offset = offset + (int64_t)off };
    int64_t data_off = -1, first_size = 0;
    if (off + 8 > n || find_box(p + off, n - off, "moof", &moof, &moof_len) < 0 ||
        find_box(moof, moof_len, "traf", &traf, &traf_len) < 0 ||
        read_traf(traf, traf_len, &f, &data_off, &first_size) < 0)
        return kino_err_set(err, KINO_EINTERNAL,
                            "cannot read back the fragment written in %s; this is a bug in kino",
                            w->dir);
    if (data_off < 0) {
        /* No data offset: the samples start right after the mdat header that follows. */
        size_t mdat = off + 8 + moof_len;
        if (mdat + 16 > n || memcmp(p + mdat + 4, "mdat", 4) != 0)
            return kino_err_set(err, KINO_EINTERNAL, "no mdat after the moof in %s", w->dir);
        data_off = (int64_t)(8 + moof_len) + (be32(p + mdat) == 1 ? 16 : 8);
    }
    f.key_bytes = data_off + first_size;
    if (w->n_frags == w->cap_frags) {
        w->cap_frags = w->cap_frags ? 2 * w->cap_frags : 64;
        w->frags = xrealloc(w->frags, w->cap_frags * sizeof(*w->frags));
    }
    w->frags[w->n_frags++] = f;
    return 0;
}

/*
 * Make the muxer write the buffered fragment (or, with `trailer`, the last
 * one) and keep its first bytes: flushing the AVIO buffer on both sides puts
 * exactly that fragment's bytes through write_cb while capturing.
 */
static int flush_fragment(struct cmaf_writer *w, int trailer, struct kino_err *err)
{
    avio_flush(w->pb);
    int64_t offset = w->file_bytes;
    w->head_len = 0;
    w->capturing = 1;
    int rc = trailer ? av_write_trailer(w->fmt) : av_write_frame(w->fmt, NULL);
    avio_flush(w->pb);
    w->capturing = 0;
    if (rc < 0)
        return kino_err_set(err, w->io_errno ? -w->io_errno : KINO_EINTERNAL,
                            "cannot write a fragment in %s: %s", w->dir, av_err2str(rc));
    if (w->file_bytes == offset)
        return 0; /* nothing was buffered */
    return note_fragment(w, offset, err);
}

static int end_segment(struct cmaf_writer *w, struct kino_err *err)
{
    int rc = close_file(w, err);
    if (rc < 0)
        return rc;
    if (w->n_segs == w->cap_segs) {
        w->cap_segs = w->cap_segs ? 2 * w->cap_segs : 64;
        w->segs = xrealloc(w->segs, w->cap_segs * sizeof(*w->segs));
        w->times = xrealloc(w->times, w->cap_segs * sizeof(*w->times));
    }
    w->segs[w->n_segs].bytes = w->file_bytes;
    w->segs[w->n_segs].duration = (double)(w->end_pts - w->seg_start) * av_q2d(w->enc_tb);
    /* The segment's place on the DASH timeline, from its fragments' own boxes. */
    struct dash_segment t = { 0 };
    int any = 0;
    for (size_t i = w->n_frags; i-- > 0 && w->frags[i].segment == w->n_segs;) {
        if (!any || w->frags[i].start < t.start)
            t.start = w->frags[i].start;
        t.duration += w->frags[i].duration;
        any = 1;
    }
    if (!any && w->n_segs > 0)
        t.start = w->times[w->n_segs - 1].start + w->times[w->n_segs - 1].duration;
    w->times[w->n_segs] = t;
    w->n_segs++;
    return 0;
}

/*
 * Write init.mp4 from the muxer's bytes held in w->head, with "cmfc" (a CMAF
 * track) added to the compatible brands of its ftyp. The muxer adds that brand
 * only with its "cmaf" flag, which also brings negative composition offsets
 * (cmaf_open says why not). The ftyp comes first and nothing after it is
 * located by absolute offset (the moov is empty, the fragments are relative to
 * their moof), so it may grow by the four bytes.
 */
static int write_init(struct cmaf_writer *w, struct kino_err *err)
{
    static const uint8_t cmaf_brand[4] = { 'c', 'm', 'f', 'c' };
    const uint8_t *p = w->head;
    size_t n = w->head_len;
    size_t ftyp_len = n >= 16 ? be32(p) : 0;
    if (ftyp_len < 16 || ftyp_len > n || memcmp(p + 4, "ftyp", 4) != 0 || ftyp_len % 4)
        return kino_err_set(err, KINO_EINTERNAL,
                            "the mp4 muxer did not start %s/init.mp4 with a file type box; "
                            "this is a bug in kino", w->dir);
    int has_brand = 0;
    for (size_t at = 16; at < ftyp_len; at += 4)
        has_brand |= memcmp(p + at, cmaf_brand, 4) == 0;
    /* The ftyp's header with its size grown by the brand (big-endian). */
    uint8_t head[8];
    uint32_t len = (uint32_t)ftyp_len + (has_brand ? 0 : 4);
    for (int i = 0; i < 4; i++)
        head[i] = (uint8_t)(len >> (24 - 8 * i));
    memcpy(head + 4, "ftyp", 4);
    int rc = open_file(w, "init.mp4", err);
    if (rc < 0)
        return rc;
    if (write_cb(w, head, 8) == 0 && write_cb(w, (uint8_t *)p + 8, (int)ftyp_len - 8) == 0 &&
        (has_brand || write_cb(w, (uint8_t *)cmaf_brand, 4) == 0))
        write_cb(w, (uint8_t *)p + ftyp_len, (int)(n - ftyp_len));
    return close_file(w, err);
}

int cmaf_open(struct cmaf_writer *w, const char *dir, const AVCodecContext *enc,
              const char *language, const uint8_t *display_matrix, struct kino_err *err)
{
    AVDictionary *opts = NULL;
    int rc;
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->enc_tb = enc->time_base;
    if (snprintf(w->dir, sizeof(w->dir), "%s", dir) >= (int)sizeof(w->dir))
        return kino_err_set(err, KINO_EINVAL, "output path too long: %s", dir);
    rc = fs_mkdirs(dir);
    if (rc < 0)
        return kino_err_set(err, rc, "cannot create directory %s: %s", dir, strerror(-rc));

    if (avformat_alloc_output_context2(&w->fmt, NULL, "mp4", NULL) < 0 || !w->fmt)
        return kino_err_set(err, KINO_EINTERNAL, "the mp4 muxer is not available");
    uint8_t *iobuf = av_malloc(IO_BUF_SIZE);
    if (!iobuf)
        return kino_err_set(err, -ENOMEM, "out of memory");
    w->pb = avio_alloc_context(iobuf, IO_BUF_SIZE, 1, w, NULL, write_cb, NULL);
    if (!w->pb) {
        av_free(iobuf);
        return kino_err_set(err, -ENOMEM, "out of memory");
    }
    w->fmt->pb = w->pb;
    w->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;

    AVStream *st = avformat_new_stream(w->fmt, NULL);
    if (!st)
        return kino_err_set(err, -ENOMEM, "out of memory");
    if (avcodec_parameters_from_context(st->codecpar, enc) < 0)
        return kino_err_set(err, -ENOMEM, "out of memory");
    st->time_base = enc->time_base;
    /*
     * What the encoder knows of its rate (x264: the VBV cap and buffer) goes with the
     * stream, so the sample entry gets a bit rate box (btrt), as CMAF validators expect.
     */
    for (int i = 0; i < enc->nb_coded_side_data; i++) {
        const AVPacketSideData *sd = &enc->coded_side_data[i];
        uint8_t *copy = av_stream_new_side_data(st, sd->type, sd->size);
        if (!copy)
            return kino_err_set(err, -ENOMEM, "out of memory");
        memcpy(copy, sd->data, sd->size);
    }
    if (language)
        av_dict_set(&st->metadata, "language", language, 0);
    if (display_matrix) {
        uint8_t *sd = av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, 36);
        if (!sd)
            return kino_err_set(err, -ENOMEM, "out of memory");
        memcpy(sd, display_matrix, 36);
    }

    /*
     * empty_moov: the moov is written by write_header, so init.mp4 is exactly
     * what comes out before the first flush. default_base_moof and no edit list
     * give self-contained fragments with a tfdt each; skip_trailer keeps the
     * mfra index out of the last segment. Not "cmaf": it would make the muxer
     * write negative composition offsets (version 1 trun), which players read
     * in three different ways; pipeline.c starts the video track at its reorder
     * delay instead, so every offset is >= 0.
     */
    av_dict_set(&opts, "movflags", "+frag_custom+empty_moov+default_base_moof+skip_trailer",
                0);
    av_dict_set(&opts, "use_editlist", "0", 0);
    w->head = xmalloc(HEAD_MAX);
    w->holding = 1;
    rc = avformat_write_header(w->fmt, &opts);
    avio_flush(w->pb);
    w->holding = 0;
    if (rc < 0) {
        rc = kino_err_set(err, KINO_EINTERNAL, "cannot start the mp4 muxer: %s",
                          av_err2str(rc));
        goto out;
    }
    rc = write_init(w, err);
    w->init_bytes = w->file_bytes;
    /* write_header set the stream's time base to the track timescale it wrote in mdhd. */
    if (rc == 0 && st->time_base.num != 1)
        rc = kino_err_set(err, KINO_EINTERNAL, "unexpected mp4 time base %d/%d in %s",
                          st->time_base.num, st->time_base.den, dir);
    w->timescale = (uint32_t)st->time_base.den;
out:
    av_dict_free(&opts);
    return rc;
}

int cmaf_write(struct cmaf_writer *w, AVPacket *pkt, int new_fragment, int new_segment,
               struct kino_err *err)
{
    int rc;
    if (w->fd < 0)
        new_segment = 1;
    if (new_segment || new_fragment) {
        /* A NULL packet flushes the fragment with frag_custom. */
        if (w->fd >= 0 && (rc = flush_fragment(w, 0, err)) < 0)
            return rc;
    }
    if (new_segment) {
        if (w->fd >= 0 && (rc = end_segment(w, err)) < 0)
            return rc;
        char name[32];
        snprintf(name, sizeof(name), "%zu.m4s", w->n_segs + 1);
        if ((rc = open_file(w, name, err)) < 0)
            return rc;
        w->seg_start = pkt->pts;
    }
    int64_t end = pkt->pts + pkt->duration;
    if (end > w->end_pts)
        w->end_pts = end;
    pkt->stream_index = 0;
    av_packet_rescale_ts(pkt, w->enc_tb, w->fmt->streams[0]->time_base);
    rc = av_write_frame(w->fmt, pkt);
    av_packet_unref(pkt);
    if (rc < 0)
        return kino_err_set(err, w->io_errno ? -w->io_errno : KINO_EINTERNAL,
                            "cannot write to %s: %s", w->dir, av_err2str(rc));
    return 0;
}

int cmaf_finish(struct cmaf_writer *w, struct kino_err *err)
{
    if (!w->fmt)
        return 0;
    if (w->fd < 0) {
        if (av_write_trailer(w->fmt) < 0)
            return kino_err_set(err, KINO_EINTERNAL, "cannot finish the segments in %s", w->dir);
        return 0;
    }
    int rc = flush_fragment(w, 1, err);
    if (rc < 0)
        return rc;
    if (w->fd >= 0)
        return end_segment(w, err);
    return 0;
}

void cmaf_release(struct cmaf_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    avformat_free_context(w->fmt);
    w->fmt = NULL;
    if (w->pb) {
        av_freep(&w->pb->buffer);
        avio_context_free(&w->pb);
    }
    free(w->segs);
    w->segs = NULL;
    free(w->times);
    w->times = NULL;
    free(w->frags);
    w->frags = NULL;
    free(w->head);
    w->head = NULL;
}
