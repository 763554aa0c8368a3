/* SPDX-License-Identifier: MIT */
/*
 * The accounts data-access contract on SQLite: users (unique email whatever
 * its case, paging, role, disabling), refresh-token rotation with reuse
 * detection and expiry, API keys (found by digest, not when revoked or the
 * owner is disabled, revoked by their owner only). A fresh database per test.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/util.h"
#include "db/db.h"
#include "model/model.h"

static struct db *db;
static struct db_conn *c;
static char dir[] = "/tmp/kino-users-XXXXXX";

#define HASH "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
#define DAY  (86400 * 1000LL)

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    cr_assert_not_null(mkdtemp(dir));
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/kino.db", dir);
    struct kino_err err = { 0 };
    cr_assert_eq(db_open(url, 2, &db, &err), 0, "%s", err.msg);
    cr_assert_eq(db_migrate(db, &err), 0, "%s", err.msg);
    c = db_acquire(db);
}

static void teardown(void)
{
    db_release(c);
    db_close(db);
    fs_remove_tree(dir);
}

TestSuite(users, .init = setup, .fini = teardown);

static struct user_row add_user(const char *email, enum auth_role role, int64_t now)
{
    struct user_row u;
    struct kino_err err = { 0 };
    cr_assert_eq(model_user_create(c, email, "Name", role, HASH, now, &u, &err), 0, "%s", err.msg);
    return u;
}

Test(users, create_and_read_back_by_id_and_email_in_any_case)
{
    struct user_row u = add_user("Ada@Example.COM", AUTH_ROLE_ADMIN, 1000);
    cr_assert_eq(strlen(u.id), KINO_ID_LEN);
    cr_assert_str_eq(u.email, "ada@example.com");

    struct user_row r;
    cr_assert_eq(model_user_get(c, u.id, &r, NULL), 0);
    cr_assert_str_eq(r.email, "ada@example.com");
    cr_assert_str_eq(r.display_name, "Name");
    cr_assert_eq(r.role, AUTH_ROLE_ADMIN);
    cr_assert_str_eq(r.password_hash, HASH);
    cr_assert_eq(r.disabled, 0);
    cr_assert_eq(r.created_at, 1000);

    cr_assert_eq(model_user_get_by_email(c, "ADA@example.com", &r, NULL), 0);
    cr_assert_str_eq(r.id, u.id);
    cr_assert_eq(model_user_get_by_email(c, "bob@example.com", &r, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_user_get(c, "AAAAAAAAAAAAAAAA", &r, NULL), KINO_ENOTFOUND);
}

Test(users, a_longer_email_does_not_find_the_account_it_starts_with)
{
    /* The longest email an account can have, then the same with more after it: the lookup
     * must not cut the longer one down to the stored one (a login by the wrong email). */
    char email[USER_EMAIL_MAX + 8];
    memset(email, 'a', USER_EMAIL_MAX);
    memcpy(email + USER_EMAIL_MAX - 12, "@example.com", 12);
    email[USER_EMAIL_MAX] = '\0';
    struct user_row u = add_user(email, AUTH_ROLE_VIEWER, 1000), r;
    cr_assert_eq(model_user_get_by_email(c, email, &r, NULL), 0);
    cr_assert_str_eq(r.id, u.id);
    memcpy(email + USER_EMAIL_MAX, ".evil", 6);
    cr_assert_eq(model_user_get_by_email(c, email, &r, NULL), KINO_ENOTFOUND);
}

Test(users, duplicate_email_is_a_conflict_that_names_it)
{
    add_user("ada@example.com", AUTH_ROLE_CREATOR, 1000);
    struct kino_err err = { 0 };
    cr_assert_eq(model_user_create(c, "ADA@example.com", NULL, AUTH_ROLE_VIEWER, HASH, 2000, NULL,
                                   &err),
                 KINO_ECONFLICT);
    cr_assert(strstr(err.msg, "ada@example.com") && strstr(err.msg, "already exists"), "%s",
              err.msg);
    struct user_row *rows;
    size_t n;
    cr_assert_eq(model_user_list(c, 0, NULL, 10, &rows, &n, NULL), 0);
    cr_assert_eq(n, 1);
    free(rows);
}

Test(users, bad_email_name_or_role_is_refused)
{
    struct kino_err err = { 0 };
    cr_assert_eq(model_user_create(c, "nobody", NULL, AUTH_ROLE_ADMIN, HASH, 1, NULL, &err),
                 KINO_EINVAL);
    cr_assert(strstr(err.msg, "not an email address"), "%s", err.msg);
    cr_assert_eq(model_user_create(c, "@x", NULL, AUTH_ROLE_ADMIN, HASH, 1, NULL, NULL),
                 KINO_EINVAL);
    cr_assert_eq(model_user_create(c, "a b@x", NULL, AUTH_ROLE_ADMIN, HASH, 1, NULL, NULL),
                 KINO_EINVAL);
    cr_assert_eq(model_user_create(c, "a@x", NULL, AUTH_ROLE_NONE, HASH, 1, NULL, NULL),
                 KINO_EINVAL);
    cr_assert_eq(model_user_create(c, "a@x", NULL, AUTH_ROLE_ADMIN, "plain", 1, NULL, NULL),
                 KINO_EINVAL);
}

Test(users, list_pages_newest_first)
{
    struct user_row a = add_user("a@x.org", AUTH_ROLE_VIEWER, 1000);
    struct user_row b = add_user("b@x.org", AUTH_ROLE_VIEWER, 2000);
    struct user_row cc = add_user("c@x.org", AUTH_ROLE_VIEWER, 3000);
    struct user_row *rows;
    size_t n;
    cr_assert_eq(model_user_list(c, 0, NULL, 2, &rows, &n, NULL), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(rows[0].id, cc.id);
    cr_assert_str_eq(rows[1].id, b.id);
    struct user_row last = rows[1];
    free(rows);
    cr_assert_eq(model_user_list(c, last.created_at, last.id, 2, &rows, &n, NULL), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(rows[0].id, a.id);
    free(rows);
}

Test(users, set_role_and_disabled)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_VIEWER, 1000);
    cr_assert_eq(model_user_set_role(c, u.id, AUTH_ROLE_CREATOR, 2000, NULL), 0);
    cr_assert_eq(model_user_set_disabled(c, u.id, 1, 3000, NULL), 0);
    struct user_row r;
    cr_assert_eq(model_user_get(c, u.id, &r, NULL), 0);
    cr_assert_eq(r.role, AUTH_ROLE_CREATOR);
    cr_assert_eq(r.disabled, 1);
    cr_assert_eq(r.updated_at, 3000);
    cr_assert_eq(model_user_set_role(c, u.id, AUTH_ROLE_NONE, 4000, NULL), KINO_EINVAL);
    cr_assert_eq(model_user_set_role(c, "AAAAAAAAAAAAAAAA", AUTH_ROLE_ADMIN, 4000, NULL),
                 KINO_ENOTFOUND);
    cr_assert_eq(model_user_set_disabled(c, "AAAAAAAAAAAAAAAA", 1, 4000, NULL), KINO_ENOTFOUND);
}

/* A fresh refresh token and its digest. */
static void new_refresh(char tok[AUTH_SECRET_SIZE], char hash[AUTH_SECRET_HASH_SIZE])
{
    cr_assert_eq(auth_secret_new(AUTH_SECRET_REFRESH, tok, AUTH_SECRET_SIZE), 0);
    auth_secret_hash(tok, hash);
}

Test(users, refresh_rotates_within_its_family)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_VIEWER, 1000);
    char t1[AUTH_SECRET_SIZE], h1[AUTH_SECRET_HASH_SIZE], t2[AUTH_SECRET_SIZE],
        h2[AUTH_SECRET_HASH_SIZE], t3[AUTH_SECRET_SIZE], h3[AUTH_SECRET_HASH_SIZE];
    new_refresh(t1, h1);
    new_refresh(t2, h2);
    new_refresh(t3, h3);
    struct refresh_row first, second, third;
    cr_assert_eq(model_refresh_insert(c, u.id, NULL, h1, 1000, 1000 + DAY, &first, NULL), 0);
    struct kino_err err = { 0 };
    cr_assert_eq(model_refresh_rotate(c, h1, h2, 2000, 2000 + DAY, &second, &err), 0, "%s",
                 err.msg);
    cr_assert_str_eq(second.family_id, first.family_id);
    cr_assert_str_eq(second.user_id, u.id);
    cr_assert_eq(second.expires_at, 2000 + DAY);
    cr_assert_eq(model_refresh_rotate(c, h2, h3, 3000, 3000 + DAY, &third, NULL), 0);
    cr_assert_str_eq(third.family_id, first.family_id);
    cr_assert_eq(model_refresh_rotate(c, "00", h1, 3000, 3000 + DAY, NULL, NULL), KINO_ENOTFOUND);
}

Test(users, replaying_a_rotated_token_revokes_the_whole_family)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_VIEWER, 1000);
    char t[4][AUTH_SECRET_SIZE], h[4][AUTH_SECRET_HASH_SIZE];
    for (int i = 0; i < 4; i++)
        new_refresh(t[i], h[i]);
    /* Another login of the same user: a different family that must survive. */
    char ot[AUTH_SECRET_SIZE], oh[AUTH_SECRET_HASH_SIZE], ot2[AUTH_SECRET_SIZE],
        oh2[AUTH_SECRET_HASH_SIZE];
    new_refresh(ot, oh);
    new_refresh(ot2, oh2);
    cr_assert_eq(model_refresh_insert(c, u.id, NULL, h[0], 1000, 1000 + DAY, NULL, NULL), 0);
    cr_assert_eq(model_refresh_insert(c, u.id, NULL, oh, 1000, 1000 + DAY, NULL, NULL), 0);
    cr_assert_eq(model_refresh_rotate(c, h[0], h[1], 2000, 2000 + DAY, NULL, NULL), 0);

    /* The thief replays the first token: reuse, and the family (h[1] included) is revoked. */
    struct kino_err err = { 0 };
    cr_assert_eq(model_refresh_rotate(c, h[0], h[2], 3000, 3000 + DAY, NULL, &err),
                 KINO_ECONFLICT);
    cr_assert(strstr(err.msg, "reused"), "%s", err.msg);
    cr_assert_eq(model_refresh_rotate(c, h[1], h[3], 4000, 4000 + DAY, NULL, NULL),
                 KINO_ECONFLICT, "the legitimate successor must be revoked too");
    /* The reuse was committed, not rolled back, and the replayed successor was not stored. */
    cr_assert_eq(model_refresh_rotate(c, h[2], h[3], 4000, 4000 + DAY, NULL, NULL),
                 KINO_ENOTFOUND);
    /* The other login still works. */
    cr_assert_eq(model_refresh_rotate(c, oh, oh2, 4000, 4000 + DAY, NULL, NULL), 0);
}

Test(users, expired_refresh_is_invalid_and_changes_nothing)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_VIEWER, 1000);
    char t1[AUTH_SECRET_SIZE], h1[AUTH_SECRET_HASH_SIZE], t2[AUTH_SECRET_SIZE],
        h2[AUTH_SECRET_HASH_SIZE];
    new_refresh(t1, h1);
    new_refresh(t2, h2);
    cr_assert_eq(model_refresh_insert(c, u.id, NULL, h1, 1000, 5000, NULL, NULL), 0);
    struct kino_err err = { 0 };
    cr_assert_eq(model_refresh_rotate(c, h1, h2, 5000, 5000 + DAY, NULL, &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "expired"), "%s", err.msg);
    /* Not marked used: still expired (not "reuse"), and the successor was not stored. */
    cr_assert_eq(model_refresh_rotate(c, h1, h2, 6000, 6000 + DAY, NULL, NULL), KINO_EINVAL);
    cr_assert_eq(model_refresh_rotate(c, h2, h1, 6000, 6000 + DAY, NULL, NULL), KINO_ENOTFOUND);
}

Test(users, logout_and_disabling_revoke_refresh_tokens)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_VIEWER, 1000);
    char t[4][AUTH_SECRET_SIZE], h[4][AUTH_SECRET_HASH_SIZE];
    for (int i = 0; i < 4; i++)
        new_refresh(t[i], h[i]);
    cr_assert_eq(model_refresh_insert(c, u.id, NULL, h[0], 1000, 1000 + DAY, NULL, NULL), 0);
    cr_assert_eq(model_refresh_insert(c, u.id, NULL, h[1], 1000, 1000 + DAY, NULL, NULL), 0);
    cr_assert_eq(model_refresh_revoke_family_of(c, h[0], 2000, NULL), 0);
    cr_assert_eq(model_refresh_revoke_family_of(c, h[0], 2100, NULL), 0, "logout twice is fine");
    cr_assert_eq(model_refresh_revoke_family_of(c, h[3], 2100, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_refresh_rotate(c, h[0], h[2], 3000, 3000 + DAY, NULL, NULL),
                 KINO_ECONFLICT);

    cr_assert_eq(model_user_set_disabled(c, u.id, 1, 4000, NULL), 0);
    cr_assert_eq(model_refresh_rotate(c, h[1], h[2], 5000, 5000 + DAY, NULL, NULL),
                 KINO_ECONFLICT, "disabling revokes every refresh token of the account");
    int64_t n = -1;
    cr_assert_eq(model_refresh_revoke_user(c, u.id, 6000, &n, NULL), 0);
    cr_assert_eq(n, 0);
}

Test(users, deleting_a_user_deletes_their_tokens_and_keys)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_VIEWER, 1000);
    char t[AUTH_SECRET_SIZE], h[AUTH_SECRET_HASH_SIZE];
    new_refresh(t, h);
    cr_assert_eq(model_refresh_insert(c, u.id, NULL, h, 1000, 1000 + DAY, NULL, NULL), 0);
    cr_assert_eq(model_api_key_insert(c, u.id, "ci", "kk_abcdefghijklmnop", 1000, NULL, NULL), 0);
    cr_assert_eq(db_exec(c, "DELETE FROM users", NULL), 0);
    cr_assert_eq(model_refresh_rotate(c, h, "ff", 2000, 2000 + DAY, NULL, NULL), KINO_ENOTFOUND);
    struct api_key_row *rows;
    size_t n;
    cr_assert_eq(model_api_key_list(c, u.id, &rows, &n, NULL), 0);
    cr_assert_eq(n, 0);
    free(rows);
}

Test(users, api_keys_are_found_by_digest_while_active)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_CREATOR, 1000);
    char key[AUTH_SECRET_SIZE], hash[AUTH_SECRET_HASH_SIZE];
    cr_assert_eq(auth_secret_new(AUTH_SECRET_API_KEY, key, sizeof(key)), 0);
    auth_secret_hash(key, hash);
    struct api_key_row k, f;
    cr_assert_eq(model_api_key_insert(c, u.id, "backup script", key, 1000, &k, NULL), 0);
    cr_assert_eq(strncmp(k.prefix, key, 8), 0);
    cr_assert_eq(strlen(k.prefix), 8);

    cr_assert_eq(model_api_key_find(c, hash, 2000, &f, NULL), 0);
    cr_assert_str_eq(f.id, k.id);
    cr_assert_str_eq(f.user_id, u.id);
    cr_assert_str_eq(f.name, "backup script");
    cr_assert_eq(f.last_used_at, 2000);
    cr_assert_eq(f.revoked_at, 0);

    /* The key itself is not a digest: looking it up by the plain secret finds nothing. */
    cr_assert_eq(model_api_key_find(c, key, 2000, &f, NULL), KINO_ENOTFOUND);

    struct api_key_row *rows;
    size_t n;
    cr_assert_eq(model_api_key_list(c, u.id, &rows, &n, NULL), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(rows[0].prefix, k.prefix);
    cr_assert_eq(rows[0].last_used_at, 2000);
    free(rows);
}

Test(users, a_disabled_users_key_is_not_found)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_CREATOR, 1000);
    char key[AUTH_SECRET_SIZE], hash[AUTH_SECRET_HASH_SIZE];
    cr_assert_eq(auth_secret_new(AUTH_SECRET_API_KEY, key, sizeof(key)), 0);
    auth_secret_hash(key, hash);
    cr_assert_eq(model_api_key_insert(c, u.id, "k", key, 1000, NULL, NULL), 0);
    cr_assert_eq(model_user_set_disabled(c, u.id, 1, 2000, NULL), 0);
    struct api_key_row f;
    cr_assert_eq(model_api_key_find(c, hash, 3000, &f, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_user_set_disabled(c, u.id, 0, 4000, NULL), 0);
    cr_assert_eq(model_api_key_find(c, hash, 5000, &f, NULL), 0, "enabled again");
}

Test(users, api_keys_are_revoked_by_their_owner_only)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_CREATOR, 1000);
    struct user_row other = add_user("b@x.org", AUTH_ROLE_ADMIN, 1000);
    char key[AUTH_SECRET_SIZE], hash[AUTH_SECRET_HASH_SIZE];
    cr_assert_eq(auth_secret_new(AUTH_SECRET_API_KEY, key, sizeof(key)), 0);
    auth_secret_hash(key, hash);
    struct api_key_row k, f;
    cr_assert_eq(model_api_key_insert(c, u.id, "k", key, 1000, &k, NULL), 0);
    cr_assert_eq(model_api_key_revoke(c, k.id, other.id, 2000, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_api_key_find(c, hash, 2500, &f, NULL), 0);
    cr_assert_eq(model_api_key_revoke(c, k.id, u.id, 3000, NULL), 0);
    cr_assert_eq(model_api_key_find(c, hash, 3500, &f, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_api_key_revoke(c, k.id, u.id, 4000, NULL), KINO_ENOTFOUND);
    struct api_key_row *rows;
    size_t n;
    cr_assert_eq(model_api_key_list(c, u.id, &rows, &n, NULL), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(rows[0].revoked_at, 3000);
    free(rows);
}

Test(users, active_api_keys_are_counted_per_owner_without_the_revoked)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_CREATOR, 1000);
    struct user_row other = add_user("b@x.org", AUTH_ROLE_CREATOR, 1000);
    int64_t n = -1;
    cr_assert_eq(model_api_key_count_active(c, u.id, &n, NULL), 0);
    cr_assert_eq(n, 0, "no keys yet");

    struct api_key_row k[3];
    for (int i = 0; i < 3; i++) {
        char key[AUTH_SECRET_SIZE];
        cr_assert_eq(auth_secret_new(AUTH_SECRET_API_KEY, key, sizeof(key)), 0);
        cr_assert_eq(model_api_key_insert(c, u.id, "k", key, 1000 + i, &k[i], NULL), 0);
    }
    char key[AUTH_SECRET_SIZE];
    cr_assert_eq(auth_secret_new(AUTH_SECRET_API_KEY, key, sizeof(key)), 0);
    cr_assert_eq(model_api_key_insert(c, other.id, "k", key, 1000, NULL, NULL), 0);

    cr_assert_eq(model_api_key_count_active(c, u.id, &n, NULL), 0);
    cr_assert_eq(n, 3, "another account's key is not counted");
    cr_assert_eq(model_api_key_revoke(c, k[1].id, u.id, 2000, NULL), 0);
    cr_assert_eq(model_api_key_count_active(c, u.id, &n, NULL), 0);
    cr_assert_eq(n, 2, "a revoked key is not counted");
    cr_assert_eq(model_api_key_count_active(c, other.id, &n, NULL), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(model_api_key_count_active(c, "nosuchuser00000", &n, NULL), 0);
    cr_assert_eq(n, 0);
}

Test(users, set_display_name)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_CREATOR, 1000);
    struct user_row r;
    cr_assert_eq(model_user_set_display_name(c, u.id, "Ada L.", 2000, NULL), 0);
    cr_assert_eq(model_user_get(c, u.id, &r, NULL), 0);
    cr_assert_str_eq(r.display_name, "Ada L.");
    cr_assert_eq(r.updated_at, 2000);

    char longest[USER_NAME_MAX + 2];
    memset(longest, 'n', USER_NAME_MAX + 1);
    longest[USER_NAME_MAX + 1] = '\0';
    cr_assert_eq(model_user_set_display_name(c, u.id, longest, 3000, NULL), KINO_EINVAL);
    longest[USER_NAME_MAX] = '\0';
    cr_assert_eq(model_user_set_display_name(c, u.id, longest, 3000, NULL), 0);
    cr_assert_eq(model_user_get(c, u.id, &r, NULL), 0);
    cr_assert_eq(strlen(r.display_name), USER_NAME_MAX);
    cr_assert_eq(model_user_set_display_name(c, u.id, "", 4000, NULL), 0);
    cr_assert_eq(model_user_get(c, u.id, &r, NULL), 0);
    cr_assert_str_eq(r.display_name, "");
    cr_assert_eq(model_user_set_display_name(c, "nosuchuser00000", "x", 5000, NULL),
                 KINO_ENOTFOUND);
}

Test(users, media_get_an_owner_and_a_public_visibility_column)
{
    struct user_row u = add_user("a@x.org", AUTH_ROLE_CREATOR, 1000);
    cr_assert_eq(db_exec(c,
                         "INSERT INTO media (id, status, created_at, updated_at) "
                         "VALUES ('AAAAAAAAAAAAAAAA', 'queued', 1, 1)",
                         NULL),
                 0);
    struct db_stmt *st;
    cr_assert_eq(db_prepare(c, "SELECT owner_id, visibility FROM media", &st, NULL), 0);
    cr_assert_eq(db_step(st, NULL), KINO_ROW);
    cr_assert(db_column_is_null(st, 0));
    cr_assert_str_eq(db_column_text(st, 1), "public");
    db_finalize(st);
    /* An owner must exist; a visibility must be one of the three. */
    cr_assert_neq(db_exec(c, "UPDATE media SET owner_id = 'nobody'", NULL), 0);
    cr_assert_neq(db_exec(c, "UPDATE media SET visibility = 'secret'", NULL), 0);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE media SET owner_id = '%s', visibility = 'private'", u.id);
    cr_assert_eq(db_exec(c, sql, NULL), 0);
}
