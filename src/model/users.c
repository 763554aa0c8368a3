/* SPDX-License-Identifier: MIT */
/*
 * Accounts data access (see model.h): users, refresh tokens with rotation and
 * reuse detection, API keys. Secrets arrive here only as digests, except the
 * API key whose digest and display prefix are taken here.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/model.h"
#include "model/model_internal.h"
#include "core/banned.h"

/* ---- users ------------------------------------------------------------- */

#define USER_COLUMNS                                                                               \
    "id, email, display_name, role, password_hash, disabled, created_at, updated_at"

static void read_user(struct db_stmt *st, struct user_row *r)
{
    memset(r, 0, sizeof(*r));
    model_copy_fixed(r->id, sizeof(r->id), db_column_text(st, 0));
    model_copy_fixed(r->email, sizeof(r->email), db_column_text(st, 1));
    model_copy_fixed(r->display_name, sizeof(r->display_name), db_column_text(st, 2));
    /* The CHECK constraint keeps anything else out of the column. */
    if (auth_role_parse(db_column_text(st, 3) ? db_column_text(st, 3) : "", &r->role, NULL) < 0)
        r->role = AUTH_ROLE_NONE;
    model_copy_fixed(r->password_hash, sizeof(r->password_hash), db_column_text(st, 4));
    r->disabled = db_column_int64(st, 5) != 0;
    r->created_at = db_column_int64(st, 6);
    r->updated_at = db_column_int64(st, 7);
}

int model_user_check_email(const char *email, struct kino_err *err)
{
    size_t n = strlen(email);
    if (n < 3 || n > USER_EMAIL_MAX)
        return kino_err_set(err, KINO_EINVAL, "an email address has 3 to %d characters",
                            USER_EMAIL_MAX);
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@'))
        return kino_err_set(err, KINO_EINVAL,
                            "'%s' is not an email address: give one like name@example.com", email);
    for (const char *p = email; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return kino_err_set(err, KINO_EINVAL,
                                "an email address cannot contain spaces or control characters");
    return 0;
}

/* Emails are unique regardless of case: store and look up the lower-case form (ASCII only). */
static void lower_email(const char *in, char out[USER_EMAIL_MAX + 1])
{
    size_t i = 0;
    for (; in[i] && i < USER_EMAIL_MAX; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static int user_changed(int64_t rc, const char *id, struct kino_err *err)
{
    if (rc < 0)
        return (int)rc;
    if (rc == 0)
        return kino_err_set(err, KINO_ENOTFOUND, "no user with id '%s'", id);
    return 0;
}

static int get_one_user(struct db_stmt *st, int rc, const char *what, const char *key,
                        struct user_row *ret, struct kino_err *err)
{
    if (rc < 0)
        return rc;
    rc = db_step(st, err);
    if (rc == KINO_ROW) {
        read_user(st, ret);
        rc = 0;
    } else if (rc == KINO_DONE) {
        rc = kino_err_set(err, KINO_ENOTFOUND, "no user with %s '%s'", what, key);
    }
    db_finalize(st);
    return rc;
}

int model_user_get(struct db_conn *c, const char *id, struct user_row *ret, struct kino_err *err)
{
    struct db_stmt *st = NULL;
    int rc = model_query(c, &st, "SELECT " USER_COLUMNS " FROM users WHERE id = $1", err, "t", id);
    return get_one_user(st, rc, "id", id, ret, err);
}

int model_user_get_by_email(struct db_conn *c, const char *email, struct user_row *ret,
                            struct kino_err *err)
{
    /* No account has a longer email; lower_email would cut it down to one that may exist. */
    if (strlen(email) > USER_EMAIL_MAX)
        return kino_err_set(err, KINO_ENOTFOUND, "no user with this email");
    char lower[USER_EMAIL_MAX + 1];
    lower_email(email, lower);
    struct db_stmt *st = NULL;
    int rc = model_query(c, &st, "SELECT " USER_COLUMNS " FROM users WHERE email = $1", err, "t",
                         lower);
    return get_one_user(st, rc, "email", lower, ret, err);
}

int model_user_create(struct db_conn *c, const char *email, const char *display_name,
                      enum auth_role role, const char *password_hash, int64_t now,
                      struct user_row *ret, struct kino_err *err)
{
    int rc = model_user_check_email(email, err);
    if (rc < 0)
        return rc;
    if (!display_name)
        display_name = "";
    if (strlen(display_name) > USER_NAME_MAX)
        return kino_err_set(err, KINO_EINVAL, "a display name has at most %d bytes",
                            USER_NAME_MAX);
    if (role == AUTH_ROLE_NONE || strcmp(auth_role_name(role), "none") == 0)
        return kino_err_set(err, KINO_EINVAL, "a user's role is admin, creator or viewer");
    if (!password_hash || strncmp(password_hash, "$argon2", 7) != 0)
        return kino_err_set(err, KINO_EINVAL, "the password hash is not an Argon2 hash");

    struct user_row row = { .role = role, .created_at = now, .updated_at = now };
    id_new(row.id);
    lower_email(email, row.email);
    model_copy_fixed(row.display_name, sizeof(row.display_name), display_name);
    model_copy_fixed(row.password_hash, sizeof(row.password_hash), password_hash);

    /* The UNIQUE constraint decides (no race between a check and the insert); its message is
     * SQLite's, so when the email is taken say so in words a user can act on. */
    struct kino_err ierr = { 0 };
    int64_t n = model_run(c,
                          "INSERT INTO users (" USER_COLUMNS ") "
                          "VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
                          &ierr, "ttttti", row.id, row.email, row.display_name,
                          auth_role_name(role), row.password_hash, now);
    if (n < 0) {
        struct user_row other;
        if (model_user_get_by_email(c, row.email, &other, NULL) == 0)
            return kino_err_set(err, KINO_ECONFLICT,
                                "an account with the email %s already exists; choose another "
                                "email or change that account",
                                row.email);
        return kino_err_set(err, (int)n, "%s", ierr.msg);
    }
    if (ret)
        *ret = row;
    return 0;
}

int model_user_list(struct db_conn *c, int64_t after_created_at, const char *after_id, int limit,
                    struct user_row **ret_rows, size_t *ret_n, struct kino_err *err)
{
    struct db_stmt *st;
    int rc;
    if (limit < 1)
        limit = 1;
    if (after_id)
        rc = model_query(c, &st,
                         "SELECT " USER_COLUMNS " FROM users "
                         "WHERE created_at < $1 OR (created_at = $1 AND id < $2) "
                         "ORDER BY created_at DESC, id DESC LIMIT $3",
                         err, "iti", after_created_at, after_id, (int64_t)limit);
    else
        rc = model_query(c, &st,
                         "SELECT " USER_COLUMNS " FROM users "
                         "ORDER BY created_at DESC, id DESC LIMIT $1",
                         err, "i", (int64_t)limit);
    if (rc < 0)
        return rc;
    struct user_row *rows = xcalloc((size_t)limit, sizeof(*rows));
    size_t n = 0;
    while (n < (size_t)limit && (rc = db_step(st, err)) == KINO_ROW)
        read_user(st, &rows[n++]);
    db_finalize(st);
    if (rc < 0) {
        free(rows);
        return rc;
    }
    *ret_rows = rows;
    *ret_n = n;
    return 0;
}

int model_user_set_role(struct db_conn *c, const char *id, enum auth_role role, int64_t now,
                        struct kino_err *err)
{
    if (role == AUTH_ROLE_NONE || strcmp(auth_role_name(role), "none") == 0)
        return kino_err_set(err, KINO_EINVAL, "a user's role is admin, creator or viewer");
    int64_t rc = model_run(c, "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1", err,
                           "tti", id, auth_role_name(role), now);
    return user_changed(rc, id, err);
}

int model_user_set_disabled(struct db_conn *c, const char *id, int disabled, int64_t now,
                            struct kino_err *err)
{
    int64_t rc = model_run(c, "UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1", err,
                           "tii", id, (int64_t)(disabled != 0), now);
    if ((rc = user_changed(rc, id, err)) < 0 || !disabled)
        return (int)rc;
    return model_refresh_revoke_user(c, id, now, NULL, err);
}

int model_user_set_password_hash(struct db_conn *c, const char *id, const char *password_hash,
                                 int64_t now, struct kino_err *err)
{
    if (!password_hash || strncmp(password_hash, "$argon2", 7) != 0)
        return kino_err_set(err, KINO_EINVAL, "the password hash is not an Argon2 hash");
    int64_t rc = model_run(c, "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                           err, "tti", id, password_hash, now);
    return user_changed(rc, id, err);
}

int model_user_set_display_name(struct db_conn *c, const char *id, const char *display_name,
                                int64_t now, struct kino_err *err)
{
    if (strlen(display_name) > USER_NAME_MAX)
        return kino_err_set(err, KINO_EINVAL, "a display name has at most %d bytes",
                            USER_NAME_MAX);
    int64_t rc = model_run(c, "UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1",
                           err, "tti", id, display_name, now);
    return user_changed(rc, id, err);
}

/* ---- refresh tokens ---------------------------------------------------- */

int model_refresh_insert(struct db_conn *c, const char *user_id, const char *family_id,
                         const char *token_hash, int64_t now, int64_t expires_at,
                         struct refresh_row *ret, struct kino_err *err)
{
    struct refresh_row row = { .created_at = now, .expires_at = expires_at };
    id_new(row.id);
    model_copy_fixed(row.user_id, sizeof(row.user_id), user_id);
    if (family_id)
        model_copy_fixed(row.family_id, sizeof(row.family_id), family_id);
    else
        id_new(row.family_id);
    int64_t rc = model_run(c,
                           "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, "
                           "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                           err, "ttttii", row.id, row.user_id, row.family_id, token_hash, now,
                           expires_at);
    if (rc < 0)
        return (int)rc;
    if (ret)
        *ret = row;
    return 0;
}

int model_refresh_revoke_family(struct db_conn *c, const char *family_id, int64_t now,
                                int64_t *ret_n, struct kino_err *err)
{
    int64_t rc = model_run(c,
                           "UPDATE refresh_tokens SET revoked_at = $2 "
                           "WHERE family_id = $1 AND revoked_at IS NULL",
                           err, "ti", family_id, now);
    if (rc < 0)
        return (int)rc;
    if (ret_n)
        *ret_n = rc;
    return 0;
}

int model_refresh_revoke_user(struct db_conn *c, const char *user_id, int64_t now, int64_t *ret_n,
                              struct kino_err *err)
{
    int64_t rc = model_run(c,
                           "UPDATE refresh_tokens SET revoked_at = $2 "
                           "WHERE user_id = $1 AND revoked_at IS NULL",
                           err, "ti", user_id, now);
    if (rc < 0)
        return (int)rc;
    if (ret_n)
        *ret_n = rc;
    return 0;
}

int model_refresh_revoke_family_of(struct db_conn *c, const char *token_hash, int64_t now,
                                   struct kino_err *err)
{
    int64_t rc = model_run(c,
                           "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL "
                           "AND family_id = (SELECT family_id FROM refresh_tokens "
                           "                 WHERE token_hash = $1)",
                           err, "ti", token_hash, now);
    if (rc < 0)
        return (int)rc;
    if (rc == 0) {
        /* Nothing revoked: an unknown token, or a family already revoked (a second logout). */
        struct db_stmt *st;
        int q = model_query(c, &st, "SELECT 1 FROM refresh_tokens WHERE token_hash = $1", err, "t",
                            token_hash);
        if (q < 0)
            return q;
        q = db_step(st, err);
        db_finalize(st);
        if (q < 0)
            return q;
        if (q == KINO_DONE)
            return kino_err_set(err, KINO_ENOTFOUND, "no such refresh token");
    }
    return 0;
}

/* The decision of rotate, inside its transaction; the caller commits or rolls back. */
static int rotate_locked(struct db_conn *c, const char *token_hash, const char *new_token_hash,
                         int64_t now, int64_t new_expires_at, struct refresh_row *ret,
                         struct kino_err *err)
{
    struct db_stmt *st;
    int rc = model_query(c, &st,
                         "SELECT t.id, t.user_id, t.family_id, t.expires_at, "
                         "t.used_at IS NOT NULL OR t.revoked_at IS NOT NULL, u.disabled "
                         "FROM refresh_tokens t JOIN users u ON u.id = t.user_id "
                         "WHERE t.token_hash = $1",
                         err, "t", token_hash);
    if (rc < 0)
        return rc;
    rc = db_step(st, err);
    if (rc != KINO_ROW) {
        db_finalize(st);
        return rc < 0 ? rc : kino_err_set(err, KINO_ENOTFOUND, "no such refresh token");
    }
    struct refresh_row old = { 0 };
    model_copy_fixed(old.id, sizeof(old.id), db_column_text(st, 0));
    model_copy_fixed(old.user_id, sizeof(old.user_id), db_column_text(st, 1));
    model_copy_fixed(old.family_id, sizeof(old.family_id), db_column_text(st, 2));
    old.expires_at = db_column_int64(st, 3);
    int spent = db_column_int64(st, 4) != 0;
    int disabled = db_column_int64(st, 5) != 0;
    db_finalize(st);

    if (spent) {
        /* Either the client or a thief holds a newer token of this family: end it for both. */
        if ((rc = model_refresh_revoke_family(c, old.family_id, now, NULL, err)) < 0)
            return rc;
        return KINO_ECONFLICT;
    }
    if (now >= old.expires_at)
        return kino_err_set(err, KINO_EINVAL, "the refresh token has expired; log in again");
    if (disabled)
        return kino_err_set(err, KINO_EINVAL, "the account is disabled");
    int64_t n = model_run(c, "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1", err, "ti",
                          old.id, now);
    if (n < 0)
        return (int)n;
    return model_refresh_insert(c, old.user_id, old.family_id, new_token_hash, now,
                                new_expires_at, ret, err);
}

int model_refresh_rotate(struct db_conn *c, const char *token_hash, const char *new_token_hash,
                         int64_t now, int64_t new_expires_at, struct refresh_row *ret,
                         struct kino_err *err)
{
    /* BEGIN IMMEDIATE: two requests presenting the same token are serialised, so exactly one
     * rotates it and the other sees it used. */
    int rc = db_begin(c, err);
    if (rc < 0)
        return rc;
    rc = rotate_locked(c, token_hash, new_token_hash, now, new_expires_at, ret, err);
    if (rc == 0 || rc == KINO_ECONFLICT) {
        int crc = db_commit(c, err);
        if (crc < 0)
            return crc;
        if (rc == KINO_ECONFLICT)
            return kino_err_set(err, KINO_ECONFLICT,
                                "refresh token reused after rotation: every session of this "
                                "login was ended; log in again");
        return 0;
    }
    db_rollback(c);
    return rc;
}

/* ---- API keys ---------------------------------------------------------- */

#define KEY_COLUMNS "k.id, k.user_id, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at"

static void read_key(struct db_stmt *st, struct api_key_row *r)
{
    memset(r, 0, sizeof(*r));
    model_copy_fixed(r->id, sizeof(r->id), db_column_text(st, 0));
    model_copy_fixed(r->user_id, sizeof(r->user_id), db_column_text(st, 1));
    model_copy_fixed(r->name, sizeof(r->name), db_column_text(st, 2));
    model_copy_fixed(r->prefix, sizeof(r->prefix), db_column_text(st, 3));
    r->created_at = db_column_int64(st, 4);
    r->last_used_at = db_column_int64(st, 5); /* NULL reads as 0 */
    r->revoked_at = db_column_int64(st, 6);
}

int model_api_key_insert(struct db_conn *c, const char *user_id, const char *name, const char *key,
                         int64_t now, struct api_key_row *ret, struct kino_err *err)
{
    if (!name)
        name = "";
    if (strlen(name) > API_KEY_NAME_MAX)
        return kino_err_set(err, KINO_EINVAL, "an API key's name has at most %d bytes",
                            API_KEY_NAME_MAX);
    if (strlen(key) < API_KEY_PREFIX_LEN)
        return kino_err_set(err, KINO_EINVAL, "an API key has more than %d characters",
                            API_KEY_PREFIX_LEN);
    struct api_key_row row = { .created_at = now };
    id_new(row.id);
    model_copy_fixed(row.user_id, sizeof(row.user_id), user_id);
    model_copy_fixed(row.name, sizeof(row.name), name);
    memcpy(row.prefix, key, API_KEY_PREFIX_LEN);
    char hash[AUTH_SECRET_HASH_SIZE];
    auth_secret_hash(key, hash);
    int64_t rc = model_run(c,
                           "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at) "
                           "VALUES ($1, $2, $3, $4, $5, $6)",
                           err, "ttttti", row.id, row.user_id, row.name, hash, row.prefix, now);
    if (rc < 0)
        return (int)rc;
    if (ret)
        *ret = row;
    return 0;
}

int model_api_key_find(struct db_conn *c, const char *key_hash, int64_t now,
                       struct api_key_row *ret, struct kino_err *err)
{
    struct db_stmt *st;
    int rc = model_query(c, &st,
                         "SELECT " KEY_COLUMNS " FROM api_keys k JOIN users u ON u.id = k.user_id "
                         "WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.disabled = 0",
                         err, "t", key_hash);
    if (rc < 0)
        return rc;
    rc = db_step(st, err);
    struct api_key_row row;
    if (rc == KINO_ROW)
        read_key(st, &row);
    db_finalize(st);
    if (rc < 0)
        return rc;
    if (rc == KINO_DONE)
        return kino_err_set(err, KINO_ENOTFOUND, "no such API key, or it was revoked");
    if (row.last_used_at == 0 || now - row.last_used_at >= 60000) {
        int64_t n = model_run(c, "UPDATE api_keys SET last_used_at = $2 WHERE id = $1", err, "ti",
                              row.id, now);
        if (n < 0)
            return (int)n;
        row.last_used_at = now;
    }
    *ret = row;
    return 0;
}

int model_api_key_list(struct db_conn *c, const char *user_id, struct api_key_row **ret_rows,
                       size_t *ret_n, struct kino_err *err)
{
    struct db_stmt *st;
    int rc = model_query(c, &st,
                         "SELECT " KEY_COLUMNS " FROM api_keys k WHERE k.user_id = $1 "
                         "ORDER BY k.created_at DESC, k.id DESC",
                         err, "t", user_id);
    if (rc < 0)
        return rc;
    size_t n = 0, cap = 8;
    struct api_key_row *rows = xcalloc(cap, sizeof(*rows));
    while ((rc = db_step(st, err)) == KINO_ROW) {
        if (n == cap) {
            cap *= 2;
            rows = xrealloc(rows, cap * sizeof(*rows));
        }
        read_key(st, &rows[n++]);
    }
    db_finalize(st);
    if (rc < 0) {
        free(rows);
        return rc;
    }
    *ret_rows = rows;
    *ret_n = n;
    return 0;
}

int model_api_key_count_active(struct db_conn *c, const char *user_id, int64_t *ret_n,
                               struct kino_err *err)
{
    struct db_stmt *st;
    int rc = model_query(c, &st,
                         "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL",
                         err, "t", user_id);
    if (rc < 0)
        return rc;
    rc = db_step(st, err);
    if (rc == KINO_ROW)
        *ret_n = db_column_int64(st, 0);
    db_finalize(st);
    if (rc < 0)
        return rc;
    return rc == KINO_ROW ? 0 : kino_err_set(err, KINO_EINTERNAL, "COUNT(*) gave no row");
}

int model_api_key_revoke(struct db_conn *c, const char *id, const char *user_id, int64_t now,
                         struct kino_err *err)
{
    int64_t rc = model_run(c,
                           "UPDATE api_keys SET revoked_at = $3 "
                           "WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                           err, "tti", id, user_id, now);
    if (rc < 0)
        return (int)rc;
    if (rc == 0)
        return kino_err_set(err, KINO_ENOTFOUND, "you have no active API key with id '%s'", id);
    return 0;
}
