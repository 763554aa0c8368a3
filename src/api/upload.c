/* SPDX-License-Identifier: MIT */
/*
 * POST /api/v1/upload: a multipart/form-data body whose `file` part streams
 * straight to a temporary file (memory stays flat whatever the size), then
 * moves into storage and queues a transcode job. An upload cut off half-way
 * leaves nothing behind: the request's cleanup removes the temporary file.
 * Creators and admins may upload; the caller owns the new media, whose
 * visibility is the optional `visibility` field (public by default).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "blob/blob.h"
#include "core/mem.h"
#include "core/util.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "core/banned.h"

enum part { PART_NONE, PART_FILE, PART_TITLE, PART_DESCRIPTION, PART_TAGS, PART_VISIBILITY };

struct upload {
    struct http_request *req;
    struct kino *k;
    char id[KINO_ID_LEN + 1];
    struct multipart *mp;
    int fd;
    char tmp_path[PATH_MAX];
    char *filename;      /* as the client named it */
    uint64_t file_bytes;
    int have_file;
    enum part part;
    struct buf title, description, tags, visibility;
    char owner_id[KINO_ID_LEN + 1]; /* the caller: the new media's owner */
    unsigned status;     /* HTTP status of an error found while parsing */
    struct kino_err err;
};

static void upload_free(void *state)
{
    struct upload *up = state;
    if (!up)
        return;
    if (up->fd >= 0)
        close(up->fd);
    if (up->tmp_path[0])
        unlink(up->tmp_path); /* still here only if the upload did not complete */
    multipart_free(up->mp);
    free(up->filename);
    buf_release(&up->title);
    buf_release(&up->description);
    buf_release(&up->tags);
    buf_release(&up->visibility);
    free(up);
}

static int fail(struct upload *up, unsigned status, int code, const char *fmt, const char *arg)
{
    if (!up->status) {
        up->status = status;
        kino_err_set(&up->err, code, fmt, arg);
    }
    return code;
}

static int on_part_begin(void *ctx, const char *name, const char *filename,
                         const char *content_type)
{
    struct upload *up = ctx;
    (void)content_type;
    up->part = PART_NONE;
    if (strcmp(name, "file") == 0) {
        if (up->have_file)
            return fail(up, 400, KINO_EPROTO, "%s",
                        "the form has more than one 'file' part; send one file per upload");
        up->have_file = 1;
        up->part = PART_FILE;
        up->filename = xstrdup(filename ? filename : "");
        snprintf(up->tmp_path, sizeof(up->tmp_path), "%s/tmp/upload-%s", up->k->cfg.data_dir,
                 up->id);
        up->fd = open(up->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (up->fd < 0) {
            up->tmp_path[0] = '\0';
            return fail(up, 500, -errno, "cannot store the upload: %s", strerror(errno));
        }
    } else if (strcmp(name, "title") == 0) {
        up->part = PART_TITLE;
    } else if (strcmp(name, "description") == 0) {
        up->part = PART_DESCRIPTION;
    } else if (strcmp(name, "tags") == 0) {
        up->part = PART_TAGS;
    } else if (strcmp(name, "visibility") == 0) {
        up->part = PART_VISIBILITY;
    }
    return 0; /* other fields are ignored */
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int on_part_data(void *ctx, const char *data, size_t len)
{
    struct upload *up = ctx;
    struct buf *field = NULL;
    const char *field_name = "";
    switch (up->part) {
    case PART_NONE:
        return 0;
    case PART_FILE: {
        up->file_bytes += len;
        if (up->file_bytes > up->k->cfg.max_upload_bytes)
            return fail(up, 413, KINO_ETOOBIG, "%s",
                        "the file is larger than this server accepts (the max-upload setting); "
                        "send a smaller file or raise KINO_MAX_UPLOAD");
        int rc = write_all(up->fd, data, len);
        if (rc < 0)
            return fail(up, rc == -ENOSPC ? 507 : 500, rc,
                        "cannot store the upload: %s; try again later", strerror(-rc));
        return 0;
    }
    case PART_TITLE: field = &up->title; field_name = "title"; break;
    case PART_DESCRIPTION: field = &up->description; field_name = "description"; break;
    case PART_TAGS: field = &up->tags; field_name = "tags"; break;
    case PART_VISIBILITY: field = &up->visibility; field_name = "visibility"; break;
    }
    if (buf_add(field, data, len) < 0)
        return fail(up, 400, KINO_EINVAL, "the '%s' field is too long", field_name);
    return 0;
}

static int on_part_end(void *ctx)
{
    struct upload *up = ctx;
    up->part = PART_NONE;
    return 0;
}

static const struct multipart_callbacks callbacks = {
    .part_begin = on_part_begin,
    .part_data = on_part_data,
    .part_end = on_part_end,
};

static void respond_failure(struct upload *up)
{
    http_respond_problem(up->req, up->status ? up->status : http_status_for_error(up->err.code),
                         kino_err_message(&up->err, up->err.code));
}

/*
 * Who may upload is settled from the headers alone, before a byte of the body
 * is read: anonymous callers get 401, viewers 403, and nothing reaches the
 * disk for them. Answers itself and returns < 0 when the caller may not.
 */
static int check_uploader(struct http_request *req, char owner_id[KINO_ID_LEN + 1])
{
    struct api_caller caller;
    if (api_caller_get(req, &caller) < 0)
        return KINO_EINVAL;
    unsigned status = access_upload_status(&caller);
    if (status == 401) {
        http_add_header(req, "WWW-Authenticate", "Bearer realm=\"kino\"");
        http_respond_problem(req, 401, "log in to upload: send 'Authorization: Bearer <token>' "
                                       "with an access token from POST /api/v1/auth/login or "
                                       "an API key");
        return KINO_EINVAL;
    }
    if (status != 0) {
        http_respond_problem(req, status, "viewers cannot upload; ask an admin to make your "
                                          "account a creator");
        return KINO_EINVAL;
    }
    snprintf(owner_id, KINO_ID_LEN + 1, "%s", caller.user_id);
    return 0;
}

/* Called first with (NULL, 0) once the headers are in, then with each chunk. */
int api_upload_body(struct http_request *req, const char *data, size_t len)
{
    struct upload *up = http_request_state(req);
    struct kino *k = api_kino(req);
    if (!up) {
        char owner_id[KINO_ID_LEN + 1];
        if (check_uploader(req, owner_id) < 0)
            return KINO_EINVAL;
        int64_t declared = http_request_content_length(req);
        if (declared > 0 && (uint64_t)declared > k->cfg.max_upload_bytes + 64 * 1024) {
            char detail[256];
            snprintf(detail, sizeof(detail),
                     "the upload is %lld bytes; this server accepts files up to %llu bytes "
                     "(the max-upload setting); send a smaller file or raise KINO_MAX_UPLOAD",
                     (long long)declared, (unsigned long long)k->cfg.max_upload_bytes);
            http_respond_problem(req, 413, detail);
            return KINO_ETOOBIG;
        }
        up = xcalloc(1, sizeof(*up));
        up->req = req;
        up->k = k;
        up->fd = -1;
        id_new(up->id);
        snprintf(up->owner_id, sizeof(up->owner_id), "%s", owner_id);
        buf_init(&up->title, API_TITLE_MAX);
        buf_init(&up->description, API_DESCRIPTION_MAX);
        buf_init(&up->tags, API_TAGS_MAX * (API_TAG_LEN_MAX + 2));
        buf_init(&up->visibility, 15);
        http_request_set_state(req, up, upload_free);
        const char *ctype = http_request_header(req, "Content-Type");
        if (multipart_new(ctype ? ctype : "", &callbacks, up, &up->mp, &up->err) < 0) {
            http_respond_problem(req, 400,
                                 "send the file as multipart/form-data with a 'file' field, "
                                 "e.g. curl -F file=@video.mp4 http://HOST/api/v1/upload");
            return KINO_EPROTO;
        }
        if (!data)
            return 0;
    }
    if (len == 0)
        return 0;
    if (multipart_feed(up->mp, data, len, &up->err) < 0) {
        respond_failure(up);
        return up->err.code ? up->err.code : KINO_EPROTO;
    }
    return 0;
}

/* "clip.final.MP4" → ".mp4": kept on the stored source so tools can see what it was. */
static void safe_extension(const char *filename, char *out, size_t outsz)
{
    out[0] = '\0';
    const char *dot = filename ? strrchr(filename, '.') : NULL;
    if (!dot || strlen(dot) > 9 || strlen(dot) < 2)
        return;
    for (const char *p = dot + 1; *p; p++)
        if (!isalnum((unsigned char)*p))
            return;
    size_t n = 0;
    for (const char *p = dot; *p && n + 1 < outsz; p++)
        out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
}

static void default_title(const char *filename, struct buf *title)
{
    if (title->len || !filename || !*filename)
        return;
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    (void)buf_add(title, base, n < API_TITLE_MAX ? n : API_TITLE_MAX);
}

void api_upload_handle(struct http_request *req)
{
    struct upload *up = http_request_state(req);
    struct kino *k = api_kino(req);
    if (!up) { /* no body at all */
        http_respond_problem(req, 400,
                             "the request has no body; send the file as multipart/form-data "
                             "with a 'file' field, e.g. curl -F file=@video.mp4 URL");
        return;
    }
    if (multipart_finish(up->mp, &up->err) < 0) {
        respond_failure(up);
        return;
    }
    if (!up->have_file) {
        http_respond_problem(req, 400,
                             "the form has no 'file' part; add the file as a field named "
                             "'file', e.g. curl -F file=@video.mp4 URL");
        return;
    }
    const char *visibility = up->visibility.len ? up->visibility.ptr : MEDIA_PUBLIC;
    if (!model_media_visibility_valid(visibility)) {
        http_respond_problem(req, 400, "the 'visibility' field must be public, unlisted or "
                                       "private (or left out: public)");
        return;
    }
    char *tags = NULL;
    int rc = api_tags_from_csv(up->tags.ptr, &tags, &up->err);
    if (rc < 0) {
        http_respond_problem(req, 400, up->err.msg);
        return;
    }
    if (close(up->fd) < 0) {
        up->fd = -1;
        free(tags);
        http_respond_problem(req, 500, "cannot store the upload; try again later");
        return;
    }
    up->fd = -1;

    char ext[12], key[64];
    safe_extension(up->filename, ext, sizeof(ext));
    snprintf(key, sizeof(key), "sources/%s/source%s", up->id, ext);
    default_title(up->filename, &up->title);

    int64_t now = time_now_ms();
    struct media_row m = {
        .title = up->title.ptr,
        .description = up->description.ptr,
        .tags_json = tags,
        .progress = 0,
        .renditions_json = "[]",
        .source_key = key,
        .source_name = up->filename,
        .source_size = (int64_t)up->file_bytes,
        .created_at = now,
        .updated_at = now,
    };
    snprintf(m.id, sizeof(m.id), "%s", up->id);
    snprintf(m.type, sizeof(m.type), "video");
    snprintf(m.status, sizeof(m.status), MEDIA_QUEUED);
    snprintf(m.owner_id, sizeof(m.owner_id), "%s", up->owner_id);
    snprintf(m.visibility, sizeof(m.visibility), "%s", visibility);

    rc = blob_put_file(k->blob, key, up->tmp_path, &up->err);
    if (rc == 0) {
        up->tmp_path[0] = '\0'; /* storage owns it now */
        struct db_conn *c = db_acquire(k->db);
        rc = db_begin(c, &up->err);
        if (rc == 0)
            rc = model_media_insert(c, &m, &up->err);
        if (rc == 0)
            rc = model_job_enqueue(c, m.id, (int)k->cfg.max_attempts, now, &up->err);
        if (rc == 0)
            rc = db_commit(c, &up->err);
        else
            db_rollback(c);
        db_release(c);
        if (rc < 0) {
            char prefix[64];
            snprintf(prefix, sizeof(prefix), "sources/%s", up->id);
            (void)blob_delete_prefix(k->blob, prefix, NULL);
        }
    }
    if (rc < 0) {
        http_respond_error(req, rc, &up->err);
        free(tags);
        return;
    }
    if (k->jobs)
        jobs_pool_notify(k->jobs);

    char location[64];
    snprintf(location, sizeof(location), "/api/v1/media/%s", m.id);
    http_add_header(req, "Location", location);
    api_respond_json(req, 201, api_media_json(&m));
    free(tags);
}
