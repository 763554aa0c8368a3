/* SPDX-License-Identifier: MIT */
/* /api/v1/media: list, read, edit, delete, and the playback URLs of one media. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "blob/blob.h"
#include "core/mem.h"
#include "core/util.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "core/banned.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100

void api_respond_json(struct http_request *req, unsigned status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    http_respond_json(req, status, text);
    free(text);
    json_decref(obj);
}

static json_t *parse_or(const char *text, json_t *fallback)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (!v)
        return fallback;
    json_decref(fallback);
    return v;
}

json_t *api_media_json(const struct media_row *m)
{
    char created[40], updated[40];
    int ready = strcmp(m->status, MEDIA_READY) == 0;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(m->id));
    json_object_set_new(o, "type", json_string(m->type));
    json_object_set_new(o, "title", json_string(m->title));
    json_object_set_new(o, "description", json_string(m->description));
    json_object_set_new(o, "tags", parse_or(m->tags_json, json_array()));
    json_object_set_new(o, "status", json_string(m->status));
    json_object_set_new(o, "progress", json_real(m->progress));
    json_object_set_new(o, "playable", json_boolean(m->playable));
    json_object_set_new(o, "error", m->error ? json_string(m->error) : json_null());
    /* Unknown until the pipeline has measured them. */
    json_object_set_new(o, "duration_s", ready ? json_real(m->duration_s) : json_null());
    json_object_set_new(o, "width", ready && m->width ? json_integer(m->width) : json_null());
    json_object_set_new(o, "height", ready && m->height ? json_integer(m->height) : json_null());
    json_object_set_new(o, "renditions", parse_or(m->renditions_json, json_array()));
    json_object_set_new(o, "created_at",
                        json_string(time_format_rfc3339(m->created_at, created, sizeof(created))));
    json_object_set_new(o, "updated_at",
                        json_string(time_format_rfc3339(m->updated_at, updated, sizeof(updated))));
    json_object_set_new(o, "owner_id", m->owner_id[0] ? json_string(m->owner_id) : json_null());
    json_object_set_new(o, "visibility",
                        json_string(m->visibility[0] ? m->visibility : MEDIA_PUBLIC));
    return o;
}

#define NO_SUCH_MEDIA "no media with this id; list media with GET /api/v1/media"

/*
 * Identify the caller and read the media named by the {id} parameter, if the
 * caller may see it. A media they may not see is answered exactly like one
 * that does not exist (404, same body), so ids of private media do not leak.
 * Answers itself and returns < 0 on any failure.
 */
static int load_visible_media(struct http_request *req, struct api_caller *caller,
                              struct media_row *ret)
{
    struct kino *k = api_kino(req);
    const char *id = http_request_param(req, "id");
    struct kino_err err = { 0 };
    if (api_caller_get(req, caller) < 0)
        return KINO_EINVAL;
    if (!id_valid(id)) {
        http_respond_problem(req, 404, NO_SUCH_MEDIA);
        return KINO_ENOTFOUND;
    }
    struct db_conn *c = db_acquire(k->db);
    int rc = model_media_get(c, id, ret, &err);
    db_release(c);
    if (rc == 0 && !access_can_view(caller, ret->owner_id, ret->visibility)) {
        media_row_release(ret);
        rc = KINO_ENOTFOUND;
    }
    if (rc == KINO_ENOTFOUND)
        http_respond_problem(req, 404, NO_SUCH_MEDIA);
    else if (rc < 0)
        http_respond_error(req, rc, &err);
    return rc;
}

/*
 * load_visible_media, then unless the caller may change the media (its owner,
 * admins): 401 for an anonymous caller, whom logging in may help, else 403.
 */
static int load_changeable_media(struct http_request *req, struct media_row *ret)
{
    struct api_caller caller;
    int rc = load_visible_media(req, &caller, ret);
    if (rc < 0)
        return rc;
    unsigned status = access_change_status(&caller, ret->owner_id);
    if (status == 0)
        return 0;
    media_row_release(ret);
    if (status == 401)
        api_answer_login_required(req);
    else
        http_respond_problem(req, 403, "only the media's owner or an admin may change or delete it");
    return KINO_EINVAL;
}

void api_media_get(struct http_request *req)
{
    struct api_caller caller;
    struct media_row m;
    if (load_visible_media(req, &caller, &m) < 0)
        return;
    api_respond_json(req, 200, api_media_json(&m));
    media_row_release(&m);
}

/*
 * Which media the caller's list holds: ?owner=me only their own; otherwise
 * what access_is_listed allows, as a query (filtering rows after the LIMIT
 * would leave pages short and the cursor wrong). Answers itself and returns
 * < 0 when the request cannot be served.
 */
static int list_scope(struct http_request *req, const struct api_caller *caller,
                      enum media_scope *ret)
{
    const char *owner = http_request_query(req, "owner");
    if (owner) {
        if (strcmp(owner, "me") != 0) {
            http_respond_problem(req, 400, "owner accepts only 'me' (your own media); omit it "
                                           "to list every media you may see");
            return KINO_EINVAL;
        }
        if (caller->role == AUTH_ROLE_NONE) {
            struct api_caller who;
            (void)api_caller_require(req, &who); /* answers the 401 with its challenge */
            return KINO_EINVAL;
        }
        *ret = MEDIA_SCOPE_OWNED;
        return 0;
    }
    *ret = caller->role == AUTH_ROLE_ADMIN ? MEDIA_SCOPE_ALL : MEDIA_SCOPE_LISTED;
    return 0;
}

void api_media_list(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct kino_err err = { 0 };
    int64_t limit = LIST_DEFAULT, after_created = 0;
    char after_id[KINO_ID_LEN + 1];
    const char *limit_arg = http_request_query(req, "limit");
    const char *cursor = http_request_query(req, "cursor");
    struct api_caller caller;
    enum media_scope scope;

    if (api_caller_get(req, &caller) < 0 || list_scope(req, &caller, &scope) < 0)
        return;
    if (limit_arg && parse_int64(limit_arg, 1, LIST_MAX, &limit) < 0) {
        http_respond_problem(req, 400, "limit must be a whole number from 1 to 100");
        return;
    }
    if (cursor && *cursor && api_cursor_decode(cursor, &after_created, after_id) < 0) {
        http_respond_problem(req, 400, "the cursor is not one this server issued; use the "
                                       "next_cursor of the previous page, or omit it to start over");
        return;
    }
    /* One row more than asked tells whether there is a next page. */
    struct media_row *rows;
    size_t n;
    struct db_conn *c = db_acquire(k->db);
    int rc = model_media_list(c, scope, caller.user_id[0] ? caller.user_id : NULL, after_created,
                              cursor && *cursor ? after_id : NULL, (int)limit + 1, &rows, &n,
                              &err);
    db_release(c);
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, api_media_json(&rows[i]));
    if (n > shown)
        api_respond_page(req, items, rows[shown - 1].created_at, rows[shown - 1].id);
    else
        api_respond_page(req, items, 0, NULL);
    model_media_rows_free(rows, n);
}

int api_tags_from_csv(const char *csv, char **ret_json, struct kino_err *err)
{
    json_t *arr = json_array();
    const char *p = csv ? csv : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            if ((size_t)(b - a) > API_TAG_LEN_MAX || json_array_size(arr) >= API_TAGS_MAX) {
                json_decref(arr);
                return kino_err_set(err, KINO_EINVAL, "at most %d tags of at most %d characters",
                                    API_TAGS_MAX, API_TAG_LEN_MAX);
            }
            json_array_append_new(arr, json_stringn(a, (size_t)(b - a)));
        }
        p = comma ? comma + 1 : end;
    }
    *ret_json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

/* Check a PATCH body's tags: an array of non-empty strings within the limits. */
static int tags_from_json(json_t *v, char **ret_json, struct kino_err *err)
{
    size_t i;
    json_t *t;
    if (!json_is_array(v) || json_array_size(v) > API_TAGS_MAX)
        return kino_err_set(err, KINO_EINVAL, "tags must be an array of at most %d strings",
                            API_TAGS_MAX);
    json_array_foreach(v, i, t) {
        if (!json_is_string(t) || json_string_length(t) == 0 ||
            json_string_length(t) > API_TAG_LEN_MAX)
            return kino_err_set(err, KINO_EINVAL,
                                "each tag must be a non-empty string of at most %d characters",
                                API_TAG_LEN_MAX);
    }
    *ret_json = json_dumps(v, JSON_COMPACT);
    return 0;
}

void api_media_patch(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct kino_err err = { 0 };
    struct media_row m;
    if (load_changeable_media(req, &m) < 0)
        return;
    media_row_release(&m);

    struct str body = http_request_body(req);
    json_error_t jerr;
    json_t *obj = json_loadb(body.ptr, body.len, 0, &jerr);
    char *tags = NULL;
    const char *title = NULL, *description = NULL, *visibility = NULL;
    int rc = 0;
    if (!obj || !json_is_object(obj)) {
        rc = kino_err_set(&err, KINO_EINVAL,
                          "the body must be a JSON object such as {\"title\": \"…\"}%s%s",
                          obj ? "" : ": ", obj ? "" : jerr.text);
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v) {
            if (strcmp(key, "title") == 0 && json_is_string(v) &&
                json_string_length(v) <= API_TITLE_MAX) {
                title = json_string_value(v);
            } else if (strcmp(key, "description") == 0 && json_is_string(v) &&
                       json_string_length(v) <= API_DESCRIPTION_MAX) {
                description = json_string_value(v);
            } else if (strcmp(key, "tags") == 0) {
                if ((rc = tags_from_json(v, &tags, &err)) < 0)
                    break;
            } else if (strcmp(key, "visibility") == 0) {
                if (!json_is_string(v) || !model_media_visibility_valid(json_string_value(v))) {
                    rc = kino_err_set(&err, KINO_EINVAL,
                                      "visibility must be 'public', 'unlisted' or 'private'");
                    break;
                }
                visibility = json_string_value(v);
            } else if (strcmp(key, "title") == 0 || strcmp(key, "description") == 0) {
                rc = kino_err_set(&err, KINO_EINVAL,
                                  "%s must be a string of at most %d characters", key,
                                  strcmp(key, "title") == 0 ? API_TITLE_MAX : API_DESCRIPTION_MAX);
                break;
            } else {
                rc = kino_err_set(&err, KINO_EINVAL,
                                  "'%s' cannot be changed; PATCH accepts title, description, "
                                  "tags and visibility",
                                  key);
                break;
            }
        }
    }
    if (rc == 0) {
        struct db_conn *c = db_acquire(k->db);
        rc = model_media_update_meta(c, http_request_param(req, "id"), title, description, tags,
                                     visibility, time_now_ms(), &err);
        if (rc == 0)
            rc = model_media_get(c, http_request_param(req, "id"), &m, &err);
        db_release(c);
    }
    if (rc < 0) {
        http_respond_error(req, rc, &err);
    } else {
        api_respond_json(req, 200, api_media_json(&m));
        media_row_release(&m);
    }
    free(tags);
    json_decref(obj);
}

void api_media_delete(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct kino_err err = { 0 };
    struct media_row m;
    if (load_changeable_media(req, &m) < 0)
        return;
    media_row_release(&m);
    const char *id = http_request_param(req, "id");
    /* The row goes first: a worker running this media's job sees its lease vanish at its
     * next renewal and stops; anything it publishes after that it deletes itself. */
    struct db_conn *c = db_acquire(k->db);
    int rc = model_media_delete(c, id, &err);
    db_release(c);
    if (rc == KINO_ENOTFOUND) {
        http_respond_problem(req, 404, NO_SUCH_MEDIA);
        return;
    }
    if (rc == 0 && k->jobs)
        jobs_pool_cancel(k->jobs, id);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "media/%s", id);
    if (rc == 0)
        rc = blob_delete_prefix(k->blob, prefix, &err);
    snprintf(prefix, sizeof(prefix), "sources/%s", id);
    if (rc == 0)
        rc = blob_delete_prefix(k->blob, prefix, &err);
    if (rc < 0)
        http_respond_error(req, rc, &err);
    else
        http_respond_empty(req, 204);
}

/* Audio has a poster.jpg only when the file had cover art: the job marks its rendition. */
static int audio_has_poster(const char *renditions_json)
{
    json_t *arr = renditions_json ? json_loads(renditions_json, 0, NULL) : NULL;
    size_t i;
    json_t *o;
    int yes = 0;
    json_array_foreach(arr, i, o) yes = yes || json_is_true(json_object_get(o, "thumbnail"));
    json_decref(arr);
    return yes;
}

/* The URL of `file` under the token: "<base>/play/<token>/<file>". */
static json_t *play_url(const char *base, const struct buf *token, const char *file)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s/play/%s/%s", base, token->ptr, file);
    return json_string(url);
}

void api_media_playback(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct api_caller caller;
    struct media_row m;
    struct kino_err err = { 0 };
    if (load_visible_media(req, &caller, &m) < 0)
        return;
    if (!m.playable) {
        char detail[200];
        snprintf(detail, sizeof(detail),
                 "the media is %s and cannot be played yet; poll GET /api/v1/media/%s until "
                 "playable is true",
                 m.status, m.id);
        http_respond_problem(req, 409, detail);
        media_row_release(&m);
        return;
    }
    /*
     * The URLs carry a token that names this media and an expiry, signed with
     * the server's key: the streaming path checks it without the database and
     * a CDN can cache by path. Whoever holds the URLs can play until then,
     * whatever the media's visibility: handing them out is the authorisation.
     */
    int64_t expires_at = time_now_ms() / 1000 + auth_play_default_ttl(m.duration_s);
    struct buf token = BUF_INIT(AUTH_PLAY_MAX);
    int rc = auth_play_sign(k->keys, m.id, expires_at, &token, &err);
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        buf_release(&token);
        media_row_release(&m);
        return;
    }
    /*
     * HLS plays from the moment the media is playable. The storyboard and the
     * MPD are written once the whole ladder is done (and only then is the
     * media's type known for sure), so until the media is ready they are null
     * rather than URLs that would answer 404. A poster is published just
     * before the media becomes playable (a video's first one, replaced by the
     * final one at the end; an audio file's cover art): it is given while
     * processing when it is there.
     */
    const char *base = k->cfg.public_url[0] ? k->cfg.public_url : http_request_base_url(req);
    int ready = strcmp(m.status, MEDIA_READY) == 0;
    int is_video = strcmp(m.type, "audio") != 0;
    char poster_key[64];
    snprintf(poster_key, sizeof(poster_key), "media/%s/poster.jpg", m.id);
    int early_poster = !ready && blob_exists(k->blob, poster_key, NULL) == 1;
    char expires[40];
    json_t *body = json_object();
    json_object_set_new(body, "hls", play_url(base, &token, "master.m3u8"));
    json_object_set_new(body, "dash",
                        ready ? play_url(base, &token, "manifest.mpd") : json_null());
    json_object_set_new(body, "thumbnail",
                        (ready && (is_video || audio_has_poster(m.renditions_json))) ||
                                early_poster
                            ? play_url(base, &token, "poster.jpg")
                            : json_null());
    json_object_set_new(body, "storyboard",
                        ready && is_video ? play_url(base, &token, "storyboard/storyboard.vtt")
                                          : json_null());
    json_object_set_new(body, "expires_at",
                        json_string(time_format_rfc3339(expires_at * 1000, expires,
                                                        sizeof(expires))));
    /* The answer holds credentials made for this caller: no shared cache may keep it. */
    http_add_header(req, "Cache-Control", "no-store");
    api_respond_json(req, 200, body);
    buf_release(&token);
    media_row_release(&m);
}
