/* SPDX-License-Identifier: MIT */
/*
 * The caller's own account: GET and PATCH /api/v1/me (display name, password),
 * and their API keys (list, create — the only time the key itself is shown —
 * and revoke). A password change is a login attempt for the login guard, and
 * never logs or answers a password.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/login_guard.h"
#include "core/log.h"
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

/* ---- PATCH /api/v1/me -------------------------------------------------- */

struct me_change {
    const char *display_name;     /* NULL: unchanged */
    const char *password;         /* the new password; NULL: unchanged */
    const char *current_password; /* required with password */
};

/* The fields and their types; the rules that need the caller come after. */
static int parse_me_change(json_t *obj, struct me_change *ret, struct kino_err *err)
{
    static const char *const allowed[] = { "display_name", "password", "current_password", NULL };
    memset(ret, 0, sizeof(*ret));
    int rc = api_json_only_keys(obj, allowed,
                                "PATCH /api/v1/me takes display_name, and password with "
                                "current_password",
                                err);
    if (rc == 0)
        rc = api_json_string(obj, "display_name", 0, &ret->display_name, err);
    if (rc == 0)
        rc = api_json_string(obj, "password", 0, &ret->password, err);
    if (rc == 0)
        rc = api_json_string(obj, "current_password", 0, &ret->current_password, err);
    return rc;
}

/* The checks that cost nothing, so a bad request never reaches a password verification. */
static int check_me_change(const struct me_change *ch, struct kino_err *err)
{
    if (ch->display_name && strlen(ch->display_name) > USER_NAME_MAX)
        return kino_err_set(err, KINO_EINVAL, "display_name has at most %d bytes",
                            USER_NAME_MAX);
    if (ch->password && !ch->current_password)
        return kino_err_set(err, KINO_EINVAL,
                            "to change the password, send current_password too: the password "
                            "you log in with now");
    if (!ch->password && ch->current_password)
        return kino_err_set(err, KINO_EINVAL,
                            "current_password goes with a new password; leave it out to change "
                            "only display_name");
    if (ch->password)
        return auth_password_check_policy(ch->password, err);
    return 0;
}

/*
 * Verify the current password of `u` and hash the new one into `new_hash`.
 * The verification is a login attempt for the login guard (same address and
 * account limits as POST /auth/login), so a stolen access token cannot be used
 * here to guess the account's password; both Argon2 runs go through the
 * hashing gate. 0, or the request has been answered (403, 429, 503, ...) and < 0.
 */
static int verify_and_hash(struct http_request *req, const struct user_row *u,
                           const struct me_change *ch, char new_hash[AUTH_HASH_MAX])
{
    struct kino *k = api_kino(req);
    char address[LOGIN_GUARD_ADDRESS_KEY_MAX];
    login_guard_address_key(http_request_client_address(req), address);
    unsigned wait = login_guard_attempt(k->login_guard, address, u->email);
    if (wait) {
        char detail[200];
        snprintf(detail, sizeof(detail),
                 "too many password attempts from this address or for this account; try again "
                 "in %u seconds",
                 wait);
        api_answer_retry(req, 429, wait, detail);
        return KINO_EINVAL;
    }
    int rc = login_guard_hash_enter(k->login_guard);
    if (rc < 0) {
        api_answer_hashing_busy(req);
        return rc;
    }
    struct kino_err err = { 0 };
    int right = auth_password_verify(k->passwords, u->password_hash, ch->current_password,
                                     NULL) == 0;
    if (right) {
        login_guard_succeeded(k->login_guard, u->email);
        rc = auth_password_hash(k->passwords, ch->password, new_hash, &err);
    }
    login_guard_hash_leave(k->login_guard);
    if (!right) {
        http_respond_problem(req, 403, "the current password is wrong");
        return KINO_EINVAL;
    }
    if (rc < 0)
        http_respond_error(req, rc, &err);
    return rc;
}

/*
 * Store the change in one transaction. A new password also revokes every
 * refresh token of the account, so every other session (perhaps a thief's)
 * ends with the old password; *ret_revoked gets how many.
 */
static int apply_me_change(struct db_conn *c, const char *id, const struct me_change *ch,
                           const char *new_hash, int64_t *ret_revoked, struct kino_err *err)
{
    int64_t now = time_now_ms();
    int rc = db_begin(c, err);
    if (rc < 0)
        return rc;
    if (ch->display_name)
        rc = model_user_set_display_name(c, id, ch->display_name, now, err);
    if (rc == 0 && new_hash)
        rc = model_user_set_password_hash(c, id, new_hash, now, err);
    if (rc == 0 && new_hash)
        rc = model_refresh_revoke_user(c, id, now, ret_revoked, err);
    if (rc == 0)
        rc = db_commit(c, err);
    if (rc < 0)
        db_rollback(c);
    return rc;
}

void api_me_patch(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct api_caller caller;
    if (api_caller_require(req, &caller) < 0)
        return;
    json_t *obj = api_small_body_object(req, "{\"display_name\": \"Ada\"}");
    if (!obj)
        return;
    struct kino_err err = { 0 };
    struct me_change ch;
    int rc = parse_me_change(obj, &ch, &err);
    /* A leaked key must not be able to take the account over. */
    if (rc == 0 && ch.password && caller.via_api_key) {
        json_decref(obj);
        http_respond_problem(req, 403, "log in with your password to change it; API keys cannot");
        return;
    }
    if (rc == 0)
        rc = check_me_change(&ch, &err);
    struct user_row u;
    if (rc == 0) {
        struct db_conn *c = db_acquire(k->db);
        rc = model_user_get(c, caller.user_id, &u, &err);
        db_release(c);
    }
    if (rc < 0) {
        json_decref(obj);
        http_respond_error(req, rc, &err);
        return;
    }

    char new_hash[AUTH_HASH_MAX];
    if (ch.password && verify_and_hash(req, &u, &ch, new_hash) < 0) {
        json_decref(obj);
        return;
    }
    int64_t revoked = 0;
    struct db_conn *c = db_acquire(k->db);
    rc = apply_me_change(c, caller.user_id, &ch, ch.password ? new_hash : NULL, &revoked, &err);
    if (rc == 0)
        rc = model_user_get(c, caller.user_id, &u, &err);
    db_release(c);
    int changed_password = ch.password != NULL;
    json_decref(obj);
    sodium_memzero(new_hash, sizeof(new_hash));
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }
    if (changed_password)
        log_msg(LOG_INFO, http_request_id(req),
                "user %s changed their password; %lld refresh tokens revoked", caller.user_id,
                (long long)revoked);
    api_respond_json(req, 200, json_pack("{s:o}", "user", api_user_json(&u)));
}

/* ---- API keys ---------------------------------------------------------- */

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

/*
 * Insert a key unless the account already has API_KEY_ACTIVE_MAX active ones
 * (KINO_ECONFLICT). The count and the insert share a write transaction, so two
 * creations at once cannot both take the last place.
 */
static int insert_key_under_cap(struct db_conn *c, const char *user_id, const char *name,
                                const char *key, struct api_key_row *ret, struct kino_err *err)
{
    int rc = db_begin(c, err);
    if (rc < 0)
        return rc;
    int64_t active = 0;
    rc = model_api_key_count_active(c, user_id, &active, err);
    if (rc == 0 && active >= API_KEY_ACTIVE_MAX)
        rc = kino_err_set(err, KINO_ECONFLICT,
                          "you have %d active API keys; revoke one with DELETE "
                          "/api/v1/me/api-keys/{id}",
                          API_KEY_ACTIVE_MAX);
    if (rc == 0)
        rc = model_api_key_insert(c, user_id, name, key, time_now_ms(), ret, err);
    if (rc == 0)
        rc = db_commit(c, err);
    if (rc < 0)
        db_rollback(c);
    return rc;
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
        rc = insert_key_under_cap(c, caller.user_id, name, key, &row, &err);
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
