/* SPDX-License-Identifier: MIT */
/* Serving media files to players (see stream.h). */
#include "stream/stream.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "blob/blob.h"
#include "core/util.h"
#include "db/db.h"
#include "kino.h"
#include "model/model.h"
#include "core/banned.h"

struct file_type {
    const char *ext;
    const char *content_type;
    const char *cache_control;
};

/*
 * Segments and init segments never change once written, so caches may keep
 * them forever. Playlists of a finished media do not change either, but a
 * media can be deleted or (later) re-processed, so they get a bounded life.
 */
static const struct file_type file_types[] = {
    { ".m4s", "video/iso.segment", "public, max-age=31536000, immutable" },
    { ".mp4", "video/mp4", "public, max-age=31536000, immutable" },
    { ".m3u8", "application/vnd.apple.mpegurl", "public, max-age=60" },
    { ".mpd", "application/dash+xml", "public, max-age=60" },
    { ".jpg", "image/jpeg", "public, max-age=3600" },
    /* The storyboard track: written once at the end, lives like a playlist. */
    { ".vtt", "text/vtt; charset=utf-8", "public, max-age=60" },
};

static const struct file_type *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof(file_types) / sizeof(file_types[0]); i++)
        if (strcmp(dot, file_types[i].ext) == 0)
            return &file_types[i];
    return NULL;
}

static int is_playlist(const struct file_type *t)
{
    return strcmp(t->ext, ".m3u8") == 0 || strcmp(t->ext, ".mpd") == 0;
}

const char *stream_content_type(const char *name)
{
    const struct file_type *t = type_of(name);
    return t ? t->content_type : NULL;
}

const char *stream_cache_control(const char *name)
{
    const struct file_type *t = type_of(name);
    return t ? t->cache_control : NULL;
}

/*
 * Serve media/<id>/<rest> from storage, with the file's type and cache
 * headers. `id` must already be a valid media id; the path is checked here.
 */
static void serve_file(struct http_request *req, struct kino *k, const char *id, const char *rest)
{
    const struct file_type *type = rest ? type_of(rest) : NULL;
    char key[512];
    int n = snprintf(key, sizeof(key), "media/%s/%s", id, rest ? rest : "");

    /* blob_key_valid refuses "..", "." and empty segments, so nothing outside media/<id>/. */
    if (!type || n < 0 || (size_t)n >= sizeof(key) || !blob_key_valid(key)) {
        http_respond_problem(req, 404, "no such media file");
        return;
    }
    struct http_file f = { .content_type = type->content_type,
                           .cache_control = type->cache_control };
    struct kino_err err = { 0 };
    if (is_playlist(type) || strcmp(rest, "poster.jpg") == 0) {
        /* While the media is processing its playlists grow (and the master's bandwidths are
         * rewritten at the end), and its first poster is replaced by the final one at the
         * end: caches must ask again each time. */
        char marker[64];
        snprintf(marker, sizeof(marker), "media/%s/processing", id);
        if (blob_exists(k->blob, marker, NULL) != 0)
            f.cache_control = "no-cache";
    }
    int rc = blob_open_read(k->blob, key, &f.fd, &f.size, &f.mtime, &err);
    if (rc == KINO_ENOTFOUND) {
        http_respond_problem(req, 404, "no such media file; it may not be ready yet, or deleted");
        return;
    }
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }
    http_respond_file(req, &f);
}

void stream_serve(struct http_request *req)
{
    struct kino *k = http_request_app(req);
    const char *id = http_request_param(req, "id");
    const char *rest = http_request_param(req, "rest");
    if (!id_valid(id) || !rest || !type_of(rest)) {
        http_respond_problem(req, 404, "no such media file");
        return;
    }
    char visibility[16];
    struct kino_err err = { 0 };
    struct db_conn *c = db_acquire(k->db);
    int rc = model_media_visibility(c, id, visibility, &err);
    db_release(c);
    if (rc == KINO_ENOTFOUND || (rc == 0 && strcmp(visibility, MEDIA_PUBLIC) != 0 &&
                                 strcmp(visibility, MEDIA_UNLISTED) != 0)) {
        /* Private media answer like absent ones: their ids do not leak. */
        http_respond_problem(req, 404, "no such media file");
        return;
    }
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }
    if (strcmp(visibility, MEDIA_UNLISTED) == 0) {
        http_respond_problem(req, 403, "this media is not public; play it through the URLs from "
                                       "GET /api/v1/media/{id}/playback");
        return;
    }
    serve_file(req, k, id, rest);
}

void stream_play(struct http_request *req)
{
    struct kino *k = http_request_app(req);
    char id[AUTH_MEDIA_ID_MAX + 1];
    struct kino_err err = { 0 };
    int rc = auth_play_verify(k->keys, http_request_param(req, "token"), NULL,
                              time_now_ms() / 1000, id, &err);
    if (rc < 0) {
        char detail[300];
        snprintf(detail, sizeof(detail),
                 "%s; get a new URL from GET /api/v1/media/{id}/playback",
                 kino_err_message(&err, rc));
        http_respond_problem(req, 403, detail);
        return;
    }
    /* The token's media id is signed by us, but it becomes a storage key: check its form too. */
    if (!id_valid(id)) {
        http_respond_problem(req, 404, "no such media file");
        return;
    }
    serve_file(req, k, id, http_request_param(req, "rest"));
}
