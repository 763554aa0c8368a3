/* SPDX-License-Identifier: MIT */
/*
 * The caller's own account: GET /api/v1/me, and their API keys (list, create
 * — the only time the key itself is shown — and revoke).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/util.h"
#include "db/db.h"
#include "core/banned.h"

void api_me_get(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct api_caller caller;
    if (api_caller_require(req, &caller) < 0)
        return;
    struct kino_err err = { 0 };
    struct user_row u;
    struct db_conn *c = db_acquire(k->db);
    int rc = model_user_get(c, caller.user_id, &u, &err);
    db_release(c);
    if (rc < 0)
        http_respond_error(req, rc, &err);
    else
        api_respond_json(req, 200, json_pack("{s:o}", "user", api_user_json(&u)));
}

static json_t *time_or_null(int64_t ms)
{
    char text[40];
    return ms ? json_string(time_format_rfc3339(ms, text, sizeof(text))) : json_null();
}

void api_me_keys_list(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct api_caller caller;
    if (api_caller_require(req, &caller) < 0)
        return;
    struct kino_err err = { 0 };
    struct api_key_row *rows;
    size_t n;
    struct db_conn *c = db_acquire(k->db);
    int rc = model_api_key_list(c, caller.user_id, &rows, &n, &err);
    db_release(c);
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items,
                              json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "id", rows[i].id, "name",
                                        rows[i].name, "prefix", rows[i].prefix, "created_at",
                                        time_or_null(rows[i].created_at), "last_used_at",
                                        time_or_null(rows[i].last_used_at), "revoked_at",
                                        time_or_null(rows[i].revoked_at)));
    free(rows);
    api_respond_json(req, 200, json_pack("{s:o}", "items", items));
}

void api_me_keys_create(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct api_caller caller;
    if (api_caller_require(req, &caller) < 0)
        return;
    json_t *obj = api_small_body_object(req, "{\"name\": \"ci upload\"}");
    if (!obj)
        return;
    static const char *const allowed[] = { "name", NULL };
    struct kino_err err = { 0 };
    const char *name;
    int rc = api_json_only_keys(obj, allowed, "a new API key takes only a name", &err);
    if (rc == 0)
        rc = api_json_string(obj, "name", 1, &name, &err);
    if (rc == 0 && (name[0] == '\0' || strlen(name) > API_KEY_NAME_MAX))
        rc = kino_err_set(&err, KINO_EINVAL,
                          "name must be 1 to %d bytes, saying what the key is for (e.g. \"ci\")",
                          API_KEY_NAME_MAX);
    char key[AUTH_SECRET_SIZE];
    struct api_key_row row;
    if (rc == 0 && (rc = auth_secret_new(AUTH_SECRET_API_KEY, key, sizeof(key))) == 0) {
        struct db_conn *c = db_acquire(k->db);
        rc = model_api_key_insert(c, caller.user_id, name, key, time_now_ms(), &row, &err);
        db_release(c);
    }
    json_decref(obj);
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }
    char created[40];
    http_add_header(req, "Cache-Control", "no-store");
    api_respond_json(req, 201,
                     json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", row.id, "name", row.name,
                               "prefix", row.prefix, "created_at",
                               time_format_rfc3339(row.created_at, created, sizeof(created)),
                               "key", key));
    sodium_memzero(key, sizeof(key));
}

void api_me_keys_delete(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct api_caller caller;
    if (api_caller_require(req, &caller) < 0)
        return;
    const char *id = http_request_param(req, "id");
    int rc = KINO_ENOTFOUND;
    struct kino_err err = { 0 };
    if (id_valid(id)) {
        struct db_conn *c = db_acquire(k->db);
        rc = model_api_key_revoke(c, id, caller.user_id, time_now_ms(), &err);
        db_release(c);
    }
    if (rc == KINO_ENOTFOUND)
        http_respond_problem(req, 404, "you have no active API key with this id; list your keys "
                                       "with GET /api/v1/me/api-keys");
    else if (rc < 0)
        http_respond_error(req, rc, &err);
    else
        http_respond_empty(req, 204);
}
