/* SPDX-License-Identifier: MIT */
/* Shared between the API's handler files only. */
#ifndef KINO_API_INTERNAL_H
#define KINO_API_INTERNAL_H

#include <jansson.h>

#include "auth/auth.h"
#include "http/http.h"
#include "kino.h"
#include "model/model.h"

/* The process context of a request. */
static inline struct kino *api_kino(struct http_request *req)
{
    return http_request_app(req);
}

/* The media object of the API (see docs/api.md). Caller owns the reference. */
json_t *api_media_json(const struct media_row *m);

/* Answer `status` with `obj` as JSON; steals the reference. */
void api_respond_json(struct http_request *req, unsigned status, json_t *obj);

/*
 * List cursors: the position of the last item shown, "<created_at>.<id>" in
 * unpadded base64url — opaque to clients, stable while items are added, and
 * a cheap seek on a (created_at, id) index. Decoding gives KINO_EINVAL for
 * anything this server did not make (api_respond_page makes them).
 */
int api_cursor_decode(const char *cursor, int64_t *ret_created_at, char ret_id[KINO_ID_LEN + 1]);

/*
 * Answer 200 {"items": items, "next_cursor": ...} (steals `items`). When more
 * items follow, `last_id` (with `last_created_at`) is the last one shown and
 * the cursor points after it; NULL: this was the last page, next_cursor null.
 */
void api_respond_page(struct http_request *req, json_t *items, int64_t last_created_at,
                      const char *last_id);

/* "a, b,,c" → ["a","b","c"] as JSON text (caller frees); KINO_EINVAL with a message past the limits. */
int api_tags_from_csv(const char *csv, char **ret_json, struct kino_err *err);

/* Limits on metadata, shared by upload and PATCH. */
#define API_TITLE_MAX 500
#define API_DESCRIPTION_MAX 10000
#define API_TAGS_MAX 50
#define API_TAG_LEN_MAX 64

/* ---- who is calling, and what they may do (caller.c, access.c) ---- */

/* The caller of one request, as api_caller_get found them. */
struct api_caller {
    enum auth_role role;            /* AUTH_ROLE_NONE: anonymous */
    char user_id[KINO_ID_LEN + 1];  /* "" when anonymous */
    int via_api_key;                /* authenticated by an API key rather than an access token */
};

/*
 * Identify the caller from `Authorization: Bearer <credential>`, where the
 * credential is a JWT access token or an API key ("kk_..."). No header:
 * anonymous (0). The role is the account's current one, read from the
 * database on every request, so a changed role or a disabled account takes
 * effect at once, whatever tokens are out there. A credential that is
 * malformed, expired, tampered, revoked, or whose account is disabled or gone:
 * answers 401 (with WWW-Authenticate) itself and returns < 0 — a bad
 * credential is never silently treated as anonymous. Other failures answer
 * 500 and return < 0.
 */
int api_caller_get(struct http_request *req, struct api_caller *ret);

/* api_caller_get, then 401 (returns < 0) when the caller is anonymous. */
int api_caller_require(struct http_request *req, struct api_caller *ret);

/* Answer `status` (429, 503) with `Retry-After: seconds` and a problem saying `detail`. */
void api_answer_retry(struct http_request *req, unsigned status, unsigned seconds,
                      const char *detail);

/* 503 + Retry-After when the login guard's hashing gate stayed full (login_guard.h). */
void api_answer_hashing_busy(struct http_request *req);

/* Answer 401 "log in first" with the Bearer challenge, for an anonymous caller. */
void api_answer_login_required(struct http_request *req);

/*
 * The authorisation rules, as pure functions of the caller and the media's
 * owner (NULL or "" when it has none) and visibility (MEDIA_PUBLIC,
 * MEDIA_UNLISTED, MEDIA_PRIVATE) — one place, unit-tested cell by cell
 * (docs/internals/auth.md has the table).
 *  - view: public and unlisted: anyone with the id; private: owner and admins.
 *  - listed: shown in GET /api/v1/media: public ones, one's own, and to admins all.
 *  - change (PATCH, DELETE): the owner and admins.
 * An unknown visibility string is treated as private.
 */
int access_can_view(const struct api_caller *c, const char *owner_id, const char *visibility);
int access_is_listed(const struct api_caller *c, const char *owner_id, const char *visibility);
int access_can_change(const struct api_caller *c, const char *owner_id);

/* 0 when the caller may upload (creators and admins); else the status to answer: 401 or 403. */
unsigned access_upload_status(const struct api_caller *c);

/*
 * For media the caller may view: 0 when they may also change it; else 401 for
 * an anonymous caller (logging in may help) or 403 (it would not).
 */
unsigned access_change_status(const struct api_caller *c, const char *owner_id);

/* ---- small JSON bodies (body.c) ---- */

/* The largest body of the account endpoints: their JSON objects are a few hundred bytes. */
#define API_SMALL_BODY_MAX (16 * 1024)

/*
 * on_body for routes that take a small JSON body: 413 as soon as a
 * Content-Length over API_SMALL_BODY_MAX is announced (before the body is
 * read), or once a chunked body passes it; otherwise keeps the body for
 * api_small_body_object.
 */
int api_small_body(struct http_request *req, const char *data, size_t len);

/* The body read by api_small_body as a JSON object (caller decrefs); else answers 400 with
 * `example` (e.g. "{\"name\": \"ci\"}") in the detail and returns NULL. */
json_t *api_small_body_object(struct http_request *req, const char *example);

/*
 * obj[name] as a string (borrowed from obj) in *ret; NULL when absent or null
 * and not `required`. KINO_EINVAL with a message when required and absent, or
 * not a string, or with a NUL inside.
 */
int api_json_string(json_t *obj, const char *name, int required, const char **ret,
                    struct kino_err *err);

/* KINO_EINVAL naming the first key of obj not in the NULL-terminated `allowed`; `what` says
 * which keys are accepted. */
int api_json_only_keys(json_t *obj, const char *const *allowed, const char *what,
                       struct kino_err *err);

/* ---- accounts (auth.c, me.c, users.c) ---- */

/* The user object of the API: id, email, display_name, role, disabled, created_at. */
json_t *api_user_json(const struct user_row *u);

void api_auth_register(struct http_request *req);
void api_auth_login(struct http_request *req);
void api_auth_refresh(struct http_request *req);
void api_auth_logout(struct http_request *req);
void api_me_get(struct http_request *req);
void api_me_patch(struct http_request *req);
void api_me_keys_list(struct http_request *req);
void api_me_keys_create(struct http_request *req);
void api_me_keys_delete(struct http_request *req);
void api_users_list(struct http_request *req);
void api_users_patch(struct http_request *req);

void api_upload_handle(struct http_request *req);
int api_upload_body(struct http_request *req, const char *data, size_t len);
void api_media_list(struct http_request *req);
void api_media_get(struct http_request *req);
void api_media_patch(struct http_request *req);
void api_media_delete(struct http_request *req);
void api_media_playback(struct http_request *req);
void api_health(struct http_request *req);
void api_ready(struct http_request *req);

#endif
