/* SPDX-License-Identifier: MIT */
/*
 * kino transcode IN OUTDIR: run the media pipeline on one file offline, with a
 * progress bar on stderr and a JSON summary of the renditions on stdout. Handy
 * for trying settings and for benchmarks; the server runs the same pipeline.
 *
 * OUTDIR is new or empty, and holds a whole ladder or nothing: a file that
 * cannot be used, or Ctrl-C, leaves no partial output behind (the server's job
 * does the same with its work directory).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/util.h"
#include "media/media.h"
#include "core/banned.h"

struct progress_state {
    int tty;
    int last; /* last printed step: per mille on a TTY, per ten percent otherwise */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kino transcode [options] IN OUTDIR\n"
            "\n"
            "Transcode the video or audio file IN into an adaptive ladder under OUTDIR, the\n"
            "same pipeline as kino serve: H.264 renditions (1080p/720p/480p/360p, never above\n"
            "the source), one shared AAC rendition (stereo 48 kHz; mono is put on both sides\n"
            "at its own level), CMAF segments (init.mp4 + 1.m4s, 2.m4s...), HLS (master.m3u8,\n"
            "I-frame playlists), DASH (manifest.mpd), a poster.jpg and a storyboard for seek\n"
            "previews (sprite sheets, listed by storyboard.vtt, manifest.mpd and master.m3u8).\n"
            "Every rung is upright, progressive, square-pixel 8-bit SDR on a constant frame\n"
            "grid: phone video is turned (and mirrored) as its display matrix says,\n"
            "interlaced video deinterlaced, HDR (HDR10, HLG, Dolby Vision with an HDR10 or HLG\n"
            "base layer) tone-mapped to BT.709, animated GIFs and other RGB pictures made\n"
            "BT.709. With --repeats once, a picture that stays unchanged for a while (a still\n"
            "image, a slide) is encoded once per keyframe interval. Progress goes to\n"
            "stderr, a JSON summary to stdout; a file kino cannot use exits 1 with the\n"
            "reason. OUTDIR must be new or empty; when the file cannot be used, or on Ctrl-C,\n"
            "nothing is left in it.\n"
            "\n"
            "options:\n"
            "  --preset NAME   x264 preset, ultrafast..veryslow (default veryfast)\n"
            "  --crf N         quality, 0..51, lower is better (default 23)\n"
            "  --rate-control MODE\n"
            "                  capped-crf: quality --crf, never above each rung's bitrate\n"
            "                  (1080p 5000k, 720p 2800k, 480p 1400k, 360p 800k); crf:\n"
            "                  quality --crf alone; cbr: each rung at its bitrate, on\n"
            "                  average and as the cap (default capped-crf)\n"
            "  --repeats MODE  every-frame: every frame is encoded; once: a picture that\n"
            "                  stays to the end of its GOP is encoded once there and the\n"
            "                  rest written as skipped pictures (much faster on stills and\n"
            "                  slides; untested on hardware decoders) (default every-frame)\n"
            "  --threads N     encoder threads per rendition, 0 = automatic (default 0)\n"
            "  -h, --help      show this help\n");
}

/* Set by SIGINT/SIGTERM; the next progress call cancels the transcode, which then cleans up. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static int progress_cb(void *ctx, double fraction)
{
    struct progress_state *ps = ctx;
    if (interrupted)
        return 1;
    if (ps->tty) {
        int step = (int)(fraction * 1000);
        if (step == ps->last)
            return 0;
        ps->last = step;
        char bar[41];
        int fill = (int)(fraction * 40);
        for (int i = 0; i < 40; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[40] = 0;
        fprintf(stderr, "\r[%s] %5.1f%%", bar, fraction * 100);
        fflush(stderr);
    } else {
        int step = (int)(fraction * 10);
        if (step <= ps->last)
            return 0;
        ps->last = step;
        fprintf(stderr, "transcode: %d%%\n", step * 10);
    }
    return 0;
}

/* Parse an integer option value in [lo, hi]; 0 on success. */
static int parse_int(const char *name, const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "kino transcode: %s needs a number from %ld to %ld\n", name, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* 1 if `dir` is missing, 0 if it is an empty directory, else -1 with the reason on stderr. */
static int check_out_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 1;
        fprintf(stderr, "kino transcode: cannot use %s as OUTDIR: %s\n", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty) {
        fprintf(stderr,
                "kino transcode: %s is not empty; give a new or empty folder as OUTDIR "
                "(a ladder is written there whole or not at all)\n",
                dir);
        return -1;
    }
    return 0;
}

/* Take back what a failed transcode wrote: OUTDIR itself when it was new, else its contents. */
static void remove_output(const char *dir, int created)
{
    if (created) {
        fs_remove_tree(dir);
        return;
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
            fs_remove_tree(path);
    }
    closedir(d);
}

static void print_summary(const struct media_result *r, const char *out_dir, double secs)
{
    printf("{\n  \"out_dir\": \"%s\",\n  \"type\": \"%s\",\n  \"duration_s\": %.3f,\n", out_dir,
           r->is_audio_only ? "audio" : "video", r->duration_s);
    if (!r->is_audio_only)
        printf("  \"width\": %d,\n  \"height\": %d,\n", r->width, r->height);
    printf("  \"elapsed_s\": %.2f,\n  \"renditions\": [\n", secs);
    for (size_t i = 0; i < r->n_renditions; i++) {
        const struct media_rendition *m = &r->renditions[i];
        printf("    { \"name\": \"%s\", ", m->name);
        if (!m->is_audio)
            printf("\"width\": %d, \"height\": %d, \"frame_rate\": %.3f, ", m->width, m->height,
                   m->frame_rate);
        printf("\"bandwidth\": %lld, \"average_bandwidth\": %lld, \"codecs\": \"%s\", "
               "\"segments\": %d }%s\n",
               (long long)m->bandwidth, (long long)m->average_bandwidth, m->codecs,
               m->n_segments, i + 1 < r->n_renditions ? "," : "");
    }
    printf("  ]\n}\n");
}

int cmd_transcode(int argc, char **argv)
{
    struct media_options opt;
    const char *pos[2];
    int npos = 0;
    media_options_init(&opt);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--preset") == 0) {
            if (!val || strlen(val) >= sizeof(opt.x264_preset)) {
                fprintf(stderr, "kino transcode: --preset needs an x264 preset name\n");
                return 1;
            }
            snprintf(opt.x264_preset, sizeof(opt.x264_preset), "%s", val);
            i++;
        } else if (strcmp(a, "--crf") == 0) {
            if (parse_int("--crf", val, 0, 51, &opt.crf) < 0)
                return 1;
            i++;
        } else if (strcmp(a, "--rate-control") == 0) {
            if (media_rate_control_parse(val, &opt.rate_control) < 0) {
                fprintf(stderr,
                        "kino transcode: --rate-control needs capped-crf, crf or cbr\n");
                return 1;
            }
            i++;
        } else if (strcmp(a, "--repeats") == 0) {
            if (!val || (strcmp(val, "once") != 0 && strcmp(val, "every-frame") != 0)) {
                fprintf(stderr, "kino transcode: --repeats needs once or every-frame\n");
                return 1;
            }
            opt.encode_repeats = strcmp(val, "every-frame") == 0;
            i++;
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_int("--threads", val, 0, 64, &opt.threads) < 0)
                return 1;
            i++;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "kino transcode: unknown option '%s'; see 'kino transcode --help'\n",
                    a);
            return 1;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "kino transcode: too many arguments; see 'kino transcode --help'\n");
            return 1;
        }
    }
    if (npos != 2) {
        usage(stderr);
        return 1;
    }

    int created = check_out_dir(pos[1]);
    if (created < 0)
        return 1;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct progress_state ps = { .tty = isatty(STDERR_FILENO), .last = -1 };
    struct media_result res;
    struct kino_err err;
    struct timespec t0, t1;
    kino_err_clear(&err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct media_hooks hooks = { .progress = progress_cb, .ctx = &ps };
    int rc = media_transcode(&opt, pos[0], pos[1], &hooks, &res, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (ps.tty)
        fputc('\n', stderr);
    if (rc < 0) {
        remove_output(pos[1], created);
        if (interrupted) {
            fprintf(stderr, "kino transcode: interrupted; nothing was kept in %s\n", pos[1]);
            return 128 + interrupted;
        }
        fprintf(stderr, "kino transcode: %s\n", kino_err_message(&err, rc));
        return 1;
    }
    print_summary(&res, pos[1], (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
