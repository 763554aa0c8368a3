/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/auth: register, login, refresh, logout (docs/api.md, "Accounts and
 * authentication"; the design in docs/internals/auth.md). Login answers an
 * unknown email, a disabled account and a wrong password alike, after exactly
 * one Argon2 verification each, and only once the rate limits allow it.
 * Nothing here logs a request body, a password or a token.
 */
#include <ctype.h>
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

static const char wrong_login[] = "the email or password is wrong";

void api_answer_retry(struct http_request *req, unsigned status, unsigned seconds,
                      const char *detail)
{
    char secs[16];
    snprintf(secs, sizeof(secs), "%u", seconds);
    http_add_header(req, "Retry-After", secs);
    http_respond_problem(req, status, detail);
}

void api_answer_hashing_busy(struct http_request *req)
{
    api_answer_retry(req, 503, LOGIN_GUARD_BUSY_RETRY_S,
                     "the server is busy checking other passwords; try again in a few seconds");
}

static void answer_401(struct http_request *req, const char *detail)
{
    http_add_header(req, "WWW-Authenticate", "Bearer realm=\"kino\"");
    http_respond_problem(req, 401, detail);
}

/* Accounts are counted by their lower-cased email, as they are stored (ASCII only). */
static void account_key(const char *email, char out[USER_EMAIL_MAX + 1])
{
    size_t i = 0;
    for (; email[i] && i < USER_EMAIL_MAX; i++)
        out[i] = (char)tolower((unsigned char)email[i]);
    out[i] = '\0';
}

/*
 * The answer of a login or a refresh: a new access token for `u` and the
 * refresh token the client now holds. Token answers must not be cached (RFC 6749 §5.1).
 */
static void respond_tokens(struct http_request *req, const struct user_row *u,
                           const char *refresh_token, int64_t refresh_expires_at, int64_t now)
{
    struct kino *k = api_kino(req);
    struct kino_err err = { 0 };
    struct buf access = BUF_INIT(AUTH_TOKEN_MAX);
    int ttl = (int)k->cfg.access_token_seconds;
    int rc = auth_token_issue(k->keys, u->id, u->role, now / 1000, ttl, &access, &err);
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return;
    }
    http_add_header(req, "Cache-Control", "no-store");
    api_respond_json(req, 200,
                     json_pack("{s:s, s:s, s:i, s:s, s:I, s:o}", "access_token", access.ptr,
                               "token_type", "Bearer", "expires_in", ttl, "refresh_token",
                               refresh_token, "refresh_expires_in",
                               (json_int_t)((refresh_expires_at - now) / 1000), "user",
                               api_user_json(u)));
    buf_release(&access);
}

static int64_t refresh_expiry(const struct kino *k, int64_t now)
{
    return now + (int64_t)k->cfg.refresh_token_days * 86400 * 1000;
}

/* ---- register ---------------------------------------------------------- */

/* Hash a new password inside the hashing gate: -EAGAIN when the gate stays full. */
static int hash_password(struct kino *k, const char *password, char out[AUTH_HASH_MAX],
                         struct kino_err *err)
{
    int rc = login_guard_hash_enter(k->login_guard);
    if (rc < 0)
        return rc;
    rc = auth_password_hash(k->passwords, password, out, err);
    login_guard_hash_leave(k->login_guard);
    return rc;
}

void api_auth_register(struct http_request *req)
{
    struct kino *k = api_kino(req);
    if (strcmp(k->cfg.registration, "on") != 0) {
        http_respond_problem(req, 403, "registration is closed on this server; ask an admin to "
                                       "create your account (kino user add)");
        return;
    }
    json_t *obj = api_small_body_object(
        req, "{\"email\": \"ada@example.com\", \"password\": \"…\", \"display_name\": \"Ada\"}");
    if (!obj)
        return;
    static const char *const allowed[] = { "email", "password", "display_name", NULL };
    struct kino_err err = { 0 };
    const char *email = NULL, *password = NULL, *name = NULL;
    int rc = api_json_only_keys(obj, allowed, "register takes email, password and display_name",
                                &err);
    if (rc == 0)
        rc = api_json_string(obj, "email", 1, &email, &err);
    if (rc == 0)
        rc = api_json_string(obj, "password", 1, &password, &err);
    if (rc == 0)
        rc = api_json_string(obj, "display_name", 0, &name, &err);
    if (rc == 0)
        rc = model_user_check_email(email, &err);
    if (rc == 0)
        rc = auth_password_check_policy(password, &err);
    if (rc == 0 && name && strlen(name) > USER_NAME_MAX)
        rc = kino_err_set(&err, KINO_EINVAL, "display_name has at most %d bytes", USER_NAME_MAX);

    /* A taken email is answered before the hash is paid for; the UNIQUE constraint still
     * decides between two registrations racing for the same email. */
    struct user_row u;
    if (rc == 0) {
        struct db_conn *c = db_acquire(k->db);
        rc = model_user_get_by_email(c, email, &u, NULL);
        db_release(c);
        if (rc == 0)
            rc = kino_err_set(&err, KINO_ECONFLICT,
                              "an account with this email already exists; log in, or register "
                              "with another email");
        else if (rc == KINO_ENOTFOUND)
            rc = 0;
    }
    char hash[AUTH_HASH_MAX];
    if (rc == 0 && (rc = hash_password(k, password, hash, &err)) == 0) {
        enum auth_role role = AUTH_ROLE_CREATOR;
        (void)auth_role_parse(k->cfg.registration_role, &role, NULL);
        struct db_conn *c = db_acquire(k->db);
        rc = model_user_create(c, email, name, role, hash, time_now_ms(), &u, &err);
        db_release(c);
        sodium_memzero(hash, sizeof(hash));
    }
    json_decref(obj);
    if (rc == -EAGAIN)
        api_answer_hashing_busy(req);
    else if (rc < 0)
        http_respond_error(req, rc, &err);
    else
        api_respond_json(req, 201, json_pack("{s:o}", "user", api_user_json(&u)));
}

/* ---- login ------------------------------------------------------------- */

/*
 * One verification for `password` whatever the account: against its hash when
 * it exists and is enabled, else against the dummy hash, so the three failures
 * cost the same. After a good password, rehash it if the cost setting changed.
 * 0 when the login is good.
 */
static int check_password(struct kino *k, const struct user_row *u, int found,
                          const char *password, struct http_request *req)
{
    int rc;
    if (found && !u->disabled) {
        rc = auth_password_verify(k->passwords, u->password_hash, password, NULL);
    } else {
        (void)auth_password_verify_dummy(k->passwords, password, NULL);
        rc = KINO_EINVAL;
    }
    if (rc == 0 && auth_password_needs_rehash(k->passwords, u->password_hash)) {
        char hash[AUTH_HASH_MAX];
        struct kino_err err = { 0 };
        int hr = auth_password_hash(k->passwords, password, hash, &err);
        if (hr == 0) {
            struct db_conn *c = db_acquire(k->db);
            hr = model_user_set_password_hash(c, u->id, hash, time_now_ms(), &err);
            db_release(c);
        }
        if (hr < 0) /* the login stands; the old hash still verifies */
            log_msg(LOG_WARN, http_request_id(req), "could not rehash the password of user %s: %s",
                    u->id, kino_err_message(&err, hr));
        sodium_memzero(hash, sizeof(hash));
    }
    return rc;
}

void api_auth_login(struct http_request *req)
{
    struct kino *k = api_kino(req);
    json_t *obj = api_small_body_object(req, "{\"email\": \"…\", \"password\": \"…\"}");
    if (!obj)
        return;
    struct kino_err err = { 0 };
    const char *email, *password;
    int rc = api_json_string(obj, "email", 1, &email, &err);
    if (rc == 0)
        rc = api_json_string(obj, "password", 1, &password, &err);
    if (rc < 0) {
        json_decref(obj);
        http_respond_error(req, rc, &err);
        return;
    }

    /* The limits come first: a refused attempt costs no verification. */
    char address[LOGIN_GUARD_ADDRESS_KEY_MAX], account[USER_EMAIL_MAX + 1];
    login_guard_address_key(http_request_client_address(req), address);
    account_key(email, account);
    unsigned wait = login_guard_attempt(k->login_guard, address, account);
    if (wait) {
        json_decref(obj);
        char detail[160];
        snprintf(detail, sizeof(detail),
                 "too many login attempts from this address or for this account; try again in "
                 "%u seconds",
                 wait);
        api_answer_retry(req, 429, wait, detail);
        return;
    }

    struct user_row u = { 0 };
    struct db_conn *c = db_acquire(k->db);
    rc = model_user_get_by_email(c, email, &u, &err);
    db_release(c);
    int found = rc == 0;
    if (rc == KINO_ENOTFOUND)
        rc = 0;
    if (rc == 0 && (rc = login_guard_hash_enter(k->login_guard)) == 0) {
        rc = check_password(k, &u, found, password, req);
        login_guard_hash_leave(k->login_guard);
        if (rc < 0)
            rc = KINO_EINVAL;
    }
    json_decref(obj);

    char refresh[AUTH_SECRET_SIZE], digest[AUTH_SECRET_HASH_SIZE];
    int64_t now = time_now_ms();
    if (rc == 0) {
        login_guard_succeeded(k->login_guard, account);
        auth_secret_new(AUTH_SECRET_REFRESH, refresh, sizeof(refresh));
        auth_secret_hash(refresh, digest);
        c = db_acquire(k->db);
        rc = model_refresh_insert(c, u.id, NULL, digest, now, refresh_expiry(k, now), NULL, &err);
        db_release(c);
        if (rc < 0)
            http_respond_error(req, rc, &err);
        else
            respond_tokens(req, &u, refresh, refresh_expiry(k, now), now);
        sodium_memzero(refresh, sizeof(refresh));
    } else if (rc == KINO_EINVAL) {
        answer_401(req, wrong_login);
    } else if (rc == -EAGAIN) {
        api_answer_hashing_busy(req);
    } else {
        http_respond_error(req, rc, &err);
    }
}

/* ---- refresh and logout ------------------------------------------------ */

/* The refresh_token of the body; answers 400 itself and returns NULL when it is missing. */
static const char *body_refresh_token(struct http_request *req, json_t *obj)
{
    struct kino_err err = { 0 };
    const char *token;
    if (api_json_string(obj, "refresh_token", 1, &token, &err) < 0) {
        http_respond_problem(req, 400, "the body must be {\"refresh_token\": \"kr_…\"}, with the "
                                       "refresh_token of the last login or refresh");
        return NULL;
    }
    return token;
}

void api_auth_refresh(struct http_request *req)
{
    struct kino *k = api_kino(req);
    json_t *obj = api_small_body_object(req, "{\"refresh_token\": \"kr_…\"}");
    const char *token = obj ? body_refresh_token(req, obj) : NULL;
    if (!token) {
        json_decref(obj);
        return;
    }
    if (!auth_secret_valid(token, AUTH_SECRET_REFRESH)) {
        json_decref(obj);
        answer_401(req, "this is not a refresh token; log in again with POST /api/v1/auth/login");
        return;
    }
    char digest[AUTH_SECRET_HASH_SIZE], next[AUTH_SECRET_SIZE], next_digest[AUTH_SECRET_HASH_SIZE];
    auth_secret_hash(token, digest);
    json_decref(obj);
    auth_secret_new(AUTH_SECRET_REFRESH, next, sizeof(next));
    auth_secret_hash(next, next_digest);

    struct kino_err err = { 0 };
    struct refresh_row row;
    struct user_row u;
    int64_t now = time_now_ms();
    struct db_conn *c = db_acquire(k->db);
    int rc = model_refresh_rotate(c, digest, next_digest, now, refresh_expiry(k, now), &row, &err);
    if (rc == 0)
        rc = model_user_get(c, row.user_id, &u, &err);
    db_release(c);
    if (rc == KINO_ECONFLICT)
        answer_401(req, "this refresh token was already used, so it may have been stolen: every "
                        "session of this login is signed out; log in again");
    else if (rc == KINO_ENOTFOUND || rc == KINO_EINVAL)
        answer_401(req, "the refresh token is unknown or expired, or the account is disabled; "
                        "log in again with POST /api/v1/auth/login");
    else if (rc < 0)
        http_respond_error(req, rc, &err);
    else
        respond_tokens(req, &u, next, row.expires_at, now);
    sodium_memzero(next, sizeof(next));
}

void api_auth_logout(struct http_request *req)
{
    struct kino *k = api_kino(req);
    json_t *obj = api_small_body_object(req, "{\"refresh_token\": \"kr_…\"}");
    const char *token = obj ? body_refresh_token(req, obj) : NULL;
    if (!token) {
        json_decref(obj);
        return;
    }
    /* Idempotent: a token that is unknown, already revoked or not even one is answered 204,
     * since what the client wants — this login no longer works — holds either way. */
    int rc = 0;
    struct kino_err err = { 0 };
    if (auth_secret_valid(token, AUTH_SECRET_REFRESH)) {
        char digest[AUTH_SECRET_HASH_SIZE];
        auth_secret_hash(token, digest);
        struct db_conn *c = db_acquire(k->db);
        rc = model_refresh_revoke_family_of(c, digest, time_now_ms(), &err);
        db_release(c);
    }
    json_decref(obj);
    if (rc < 0 && rc != KINO_ENOTFOUND)
        http_respond_error(req, rc, &err);
    else
        http_respond_empty(req, 204);
}
