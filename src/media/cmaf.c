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

static int write_cb(void *opaque, uint8_t *data, int size)
{
    struct cmaf_writer *w = opaque;
    if (w->fd < 0) {
        /* Bytes with no file open would be lost silently; treat as a bug. */
        w->io_errno = w->io_errno ? w->io_errno : EBADF;
        return AVERROR(EBADF);
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

static int end_segment(struct cmaf_writer *w, struct kino_err *err)
{
    int rc = close_file(w, err);
    if (rc < 0)
        return rc;
    if (w->n_segs == w->cap_segs) {
        w->cap_segs = w->cap_segs ? 2 * w->cap_segs : 64;
        w->segs = xrealloc(w->segs, w->cap_segs * sizeof(*w->segs));
    }
    w->segs[w->n_segs].bytes = w->file_bytes;
    w->segs[w->n_segs].duration = (double)(w->end_pts - w->seg_start) * av_q2d(w->enc_tb);
    w->n_segs++;
    return 0;
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
     * what comes out before the first flush. default_base_moof + no edit list
     * (cmaf) give self-contained fragments with a tfdt each; skip_trailer keeps
     * the mfra index out of the last segment.
     */
    av_dict_set(&opts, "movflags",
                "+frag_custom+empty_moov+default_base_moof+cmaf+skip_trailer",
                0);
    rc = open_file(w, "init.mp4", err);
    if (rc < 0)
        goto out;
    rc = avformat_write_header(w->fmt, &opts);
    if (rc < 0) {
        rc = kino_err_set(err, KINO_EINTERNAL, "cannot start the mp4 muxer: %s",
                          av_err2str(rc));
        goto out;
    }
    rc = close_file(w, err);
    w->init_bytes = w->file_bytes;
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
        if (w->fd >= 0 && av_write_frame(w->fmt, NULL) < 0)
            return kino_err_set(err, KINO_EINTERNAL, "cannot write a fragment in %s", w->dir);
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
    if (av_write_trailer(w->fmt) < 0)
        return kino_err_set(err, KINO_EINTERNAL, "cannot finish the segments in %s", w->dir);
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
}
