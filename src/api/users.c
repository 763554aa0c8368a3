/* SPDX-License-Identifier: MIT */
/*
 * The user object, and the admin's account management: GET /api/v1/users (a
 * cursor-paged list) and PATCH /api/v1/users/{id} (role, disabled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/util.h"
#include "db/db.h"
#include "core/banned.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100

json_t *api_user_json(const struct user_row *u)
{
    char created[40];
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "id", u->id, "email", u->email,
                     "display_name", u->display_name, "role", auth_role_name(u->role),
                     "disabled", u->disabled, "created_at",
                     time_format_rfc3339(u->created_at, created, sizeof(created)));
}

/* The caller, who must be an admin; answers 401/403 itself and returns < 0 otherwise. */
static int require_admin(struct http_request *req, struct api_caller *ret)
{
    int rc = api_caller_require(req, ret);
    if (rc < 0)
        return rc;
    if (ret->role != AUTH_ROLE_ADMIN) {
        http_respond_problem(req, 403, "only admins manage accounts; ask an admin");
        return KINO_EINVAL;
    }
    return 0;
}

void api_users_list(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct api_caller caller;
    if (require_admin(req, &caller) < 0)
        return;
    int64_t limit = LIST_DEFAULT, after_created = 0;
    char after_id[KINO_ID_LEN + 1];
    const char *limit_arg = http_request_query(req, "limit");
    const char *cursor = http_request_query(req, "cursor");
    if (limit_arg && parse_int64(limit_arg, 1, LIST_MAX, &limit) < 0) {
        http_respond_problem(req, 400, "limit must be a whole number from 1 to 100");
        return;
    }
    int seek = cursor && *cursor;
    if (seek && api_cursor_decode(cursor, &after_created, after_id) < 0) {
        http_respond_problem(req, 400, "the cursor is not one this server issued; use the "
                                       "next_cursor of the previous page, or omit it to start over");
        return;
    }
    /* One row more than asked tells whether there is a next page. */
    struct kino_err err = { 0 };
    struct user_row *rows;
    size_t n;
    struct db_conn *c = db_acquire(k->db);
    int rc = model_user_list(c, after_created, seek ? after_id : NULL, (int)limit + 1, &rows, &n,
                             &err);
    db_release(c);
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, api_user_json(&rows[i]));
    if (n > shown)
        api_respond_page(req, items, rows[shown - 1].created_at, rows[shown - 1].id);
    else
        api_respond_page(req, items, 0, NULL);
    free(rows);
}

/* What a PATCH asks for; has_* say which fields were given. */
struct user_change {
    int has_role, has_disabled;
    enum auth_role role;
    int disabled;
};

static int parse_change(json_t *obj, struct user_change *ret, struct kino_err *err)
{
    static const char *const allowed[] = { "role", "disabled", NULL };
    memset(ret, 0, sizeof(*ret));
    int rc = api_json_only_keys(obj, allowed, "PATCH accepts role and disabled", err);
    if (rc < 0)
        return rc;
    const char *role;
    if ((rc = api_json_string(obj, "role", 0, &role, err)) < 0)
        return kino_err_set(err, rc, "role must be one of admin, creator, viewer");
    if (role) {
        if (auth_role_parse(role, &ret->role, NULL) < 0)
            return kino_err_set(err, KINO_EINVAL, "role must be one of admin, creator, viewer");
        ret->has_role = 1;
    }
    json_t *d = json_object_get(obj, "disabled");
    if (d && !json_is_null(d)) {
        if (!json_is_boolean(d))
            return kino_err_set(err, KINO_EINVAL, "disabled must be true or false");
        ret->has_disabled = 1;
        ret->disabled = json_is_true(d);
    }
    return 0;
}

/* Apply the change in one transaction: a role and a disabling land together or not at all. */
static int apply_change(struct db_conn *c, const char *id, const struct user_change *ch,
                        struct kino_err *err)
{
    int64_t now = time_now_ms();
    int rc = db_begin(c, err);
    if (rc < 0)
        return rc;
    if (ch->has_role)
        rc = model_user_set_role(c, id, ch->role, now, err);
    if (rc == 0 && ch->has_disabled)
        rc = model_user_set_disabled(c, id, ch->disabled, now, err);
    if (rc == 0)
        rc = db_commit(c, err);
    if (rc < 0)
        db_rollback(c);
    return rc;
}

void api_users_patch(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct api_caller caller;
    if (require_admin(req, &caller) < 0)
        return;
    const char *id = http_request_param(req, "id");
    static const char not_found[] = "no account with this id; list accounts with GET /api/v1/users";
    if (!id_valid(id)) {
        http_respond_problem(req, 404, not_found);
        return;
    }
    json_t *obj = api_small_body_object(req, "{\"role\": \"viewer\", \"disabled\": true}");
    if (!obj)
        return;
    struct kino_err err = { 0 };
    struct user_change ch;
    int rc = parse_change(obj, &ch, &err);
    json_decref(obj);
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }

    struct user_row u;
    struct db_conn *c = db_acquire(k->db);
    rc = model_user_get(c, id, &u, &err);
    if (rc == KINO_ENOTFOUND) {
        http_respond_problem(req, 404, not_found);
    } else if (rc < 0) {
        http_respond_error(req, rc, &err);
    } else if (strcmp(u.id, caller.user_id) == 0 &&
               ((ch.has_role && ch.role != u.role) || (ch.has_disabled && ch.disabled))) {
        /* Were it allowed, the last admin could lock everyone out of administration. */
        http_respond_problem(req, 409, "admins cannot change their own role or disable "
                                       "themselves; ask another admin");
        rc = KINO_ECONFLICT;
    } else if ((rc = apply_change(c, id, &ch, &err)) < 0 ||
               (rc = model_user_get(c, id, &u, &err)) < 0) {
        http_respond_error(req, rc, &err);
    }
    db_release(c);
    if (rc == 0)
        api_respond_json(req, 200, json_pack("{s:o}", "user", api_user_json(&u)));
}
