/* SPDX-License-Identifier: MIT */
/*
 * The authorisation rules of src/api/access.c, cell by cell: every caller
 * (anonymous, viewer, creator, admin; owner of the media or not) against every
 * visibility, for view, listed and change, and who may upload. Then the list
 * query of each caller checked against access_is_listed on a real database, so
 * the rule written in SQL and the rule written in C cannot drift apart.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/util.h"
#include "db/db.h"
#include "model/model.h"

#define OWNER "OWNER00000000000"
#define OTHER "OTHER00000000000"

static struct api_caller caller(enum auth_role role, const char *user_id)
{
    struct api_caller c = { .role = role };
    snprintf(c.user_id, sizeof(c.user_id), "%s", user_id ? user_id : "");
    return c;
}

static const char *const visibilities[] = { MEDIA_PUBLIC, MEDIA_UNLISTED, MEDIA_PRIVATE };

/* Expected answers for one caller: view and listed per visibility (in the order above), change. */
struct row {
    const char *who;
    struct api_caller c;
    const char *owner_id; /* of the media */
    int view[3], listed[3], change;
};

static void check_rows(const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        for (int v = 0; v < 3; v++) {
            cr_expect_eq(access_can_view(&r->c, r->owner_id, visibilities[v]), r->view[v],
                         "%s, %s media: view", r->who, visibilities[v]);
            cr_expect_eq(access_is_listed(&r->c, r->owner_id, visibilities[v]), r->listed[v],
                         "%s, %s media: listed", r->who, visibilities[v]);
        }
        cr_expect_eq(access_can_change(&r->c, r->owner_id), r->change, "%s: change", r->who);
    }
}

Test(access, every_role_owner_or_not_against_every_visibility)
{
    /*                                                    view         listed      change
     *                                                 pub unl pri   pub unl pri          */
    const struct row rows[] = {
        { "anonymous", caller(AUTH_ROLE_NONE, NULL), OWNER, { 1, 1, 0 }, { 1, 0, 0 }, 0 },
        { "viewer, not owner", caller(AUTH_ROLE_VIEWER, OTHER), OWNER, { 1, 1, 0 }, { 1, 0, 0 }, 0 },
        { "creator, not owner", caller(AUTH_ROLE_CREATOR, OTHER), OWNER, { 1, 1, 0 }, { 1, 0, 0 }, 0 },
        { "creator, owner", caller(AUTH_ROLE_CREATOR, OWNER), OWNER, { 1, 1, 1 }, { 1, 1, 1 }, 1 },
        /* A creator made viewer keeps their own media: the role gates uploading only. */
        { "viewer, owner", caller(AUTH_ROLE_VIEWER, OWNER), OWNER, { 1, 1, 1 }, { 1, 1, 1 }, 1 },
        { "admin, not owner", caller(AUTH_ROLE_ADMIN, OTHER), OWNER, { 1, 1, 1 }, { 1, 1, 1 }, 1 },
        { "admin, owner", caller(AUTH_ROLE_ADMIN, OWNER), OWNER, { 1, 1, 1 }, { 1, 1, 1 }, 1 },
    };
    check_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(access, media_without_an_owner_belong_to_nobody_but_admins)
{
    /* Media uploaded before accounts existed: owner NULL or "" must never match a caller,
     * least of all an anonymous one whose user id is "". */
    const char *no_owner[] = { NULL, "" };
    for (int i = 0; i < 2; i++) {
        const struct row rows[] = {
            { "anonymous", caller(AUTH_ROLE_NONE, NULL), no_owner[i], { 1, 1, 0 }, { 1, 0, 0 }, 0 },
            { "viewer", caller(AUTH_ROLE_VIEWER, OTHER), no_owner[i], { 1, 1, 0 }, { 1, 0, 0 }, 0 },
            { "creator", caller(AUTH_ROLE_CREATOR, OTHER), no_owner[i], { 1, 1, 0 }, { 1, 0, 0 }, 0 },
            { "admin", caller(AUTH_ROLE_ADMIN, OTHER), no_owner[i], { 1, 1, 1 }, { 1, 1, 1 }, 1 },
        };
        check_rows(rows, sizeof(rows) / sizeof(rows[0]));
    }
}

Test(access, an_anonymous_caller_is_never_an_owner)
{
    /* Defence in depth: a caller struct with a user id but no role is not the owner. */
    struct api_caller c = caller(AUTH_ROLE_NONE, OWNER);
    cr_expect_not(access_can_view(&c, OWNER, MEDIA_PRIVATE));
    cr_expect_not(access_is_listed(&c, OWNER, MEDIA_UNLISTED));
    cr_expect_not(access_can_change(&c, OWNER));
}

Test(access, an_unknown_visibility_is_private)
{
    const char *odd[] = { NULL, "", "Public", "secret" };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        struct api_caller anon = caller(AUTH_ROLE_NONE, NULL);
        struct api_caller other = caller(AUTH_ROLE_CREATOR, OTHER);
        struct api_caller owner = caller(AUTH_ROLE_CREATOR, OWNER);
        struct api_caller admin = caller(AUTH_ROLE_ADMIN, OTHER);
        const char *v = odd[i];
        cr_expect_not(access_can_view(&anon, OWNER, v), "'%s'", v ? v : "NULL");
        cr_expect_not(access_can_view(&other, OWNER, v), "'%s'", v ? v : "NULL");
        cr_expect_not(access_is_listed(&other, OWNER, v), "'%s'", v ? v : "NULL");
        cr_expect(access_can_view(&owner, OWNER, v), "'%s'", v ? v : "NULL");
        cr_expect(access_can_view(&admin, OWNER, v), "'%s'", v ? v : "NULL");
    }
}

Test(access, creators_and_admins_upload)
{
    struct api_caller anon = caller(AUTH_ROLE_NONE, NULL);
    struct api_caller viewer = caller(AUTH_ROLE_VIEWER, OTHER);
    struct api_caller creator = caller(AUTH_ROLE_CREATOR, OTHER);
    struct api_caller admin = caller(AUTH_ROLE_ADMIN, OTHER);
    cr_expect_eq(access_upload_status(&anon), 401);
    cr_expect_eq(access_upload_status(&viewer), 403);
    cr_expect_eq(access_upload_status(&creator), 0);
    cr_expect_eq(access_upload_status(&admin), 0);
}

Test(access, who_may_not_change_is_told_401_when_anonymous_else_403)
{
    struct api_caller anon = caller(AUTH_ROLE_NONE, NULL);
    struct api_caller viewer = caller(AUTH_ROLE_VIEWER, OTHER);
    struct api_caller other = caller(AUTH_ROLE_CREATOR, OTHER);
    struct api_caller owner = caller(AUTH_ROLE_CREATOR, OWNER);
    struct api_caller admin = caller(AUTH_ROLE_ADMIN, OTHER);
    cr_expect_eq(access_change_status(&anon, OWNER), 401);
    cr_expect_eq(access_change_status(&viewer, OWNER), 403);
    cr_expect_eq(access_change_status(&other, OWNER), 403);
    cr_expect_eq(access_change_status(&owner, OWNER), 0);
    cr_expect_eq(access_change_status(&admin, OWNER), 0);
    cr_expect_eq(access_change_status(&anon, NULL), 401);
    cr_expect_eq(access_change_status(&other, NULL), 403);
}

/* ---- the list query agrees with access_is_listed ---------------------------- */

static struct db *db;
static struct db_conn *conn;
static char dir[] = "/tmp/kino-access-XXXXXX";

static void db_setup(void)
{
    cr_assert(sodium_init() >= 0);
    cr_assert_not_null(mkdtemp(dir));
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/kino.db", dir);
    struct kino_err err = { 0 };
    cr_assert_eq(db_open(url, 1, &db, &err), 0, "%s", err.msg);
    cr_assert_eq(db_migrate(db, &err), 0, "%s", err.msg);
    conn = db_acquire(db);
}

static void db_teardown(void)
{
    db_release(conn);
    db_close(db);
    fs_remove_tree(dir);
}

static void add_user(const char *email, enum auth_role role, char id[KINO_ID_LEN + 1])
{
    struct user_row u;
    struct kino_err err = { 0 };
    cr_assert_eq(model_user_create(conn, email, "", role, "$argon2id$x", 1, &u, &err), 0, "%s",
                 err.msg);
    snprintf(id, KINO_ID_LEN + 1, "%s", u.id);
}

/* The scope GET /api/v1/media uses for a caller without ?owner (api/media.c). */
static enum media_scope scope_of(const struct api_caller *c)
{
    return c->role == AUTH_ROLE_ADMIN ? MEDIA_SCOPE_ALL : MEDIA_SCOPE_LISTED;
}

Test(access, the_list_query_holds_exactly_the_listed_media, .init = db_setup,
     .fini = db_teardown)
{
    char admin[KINO_ID_LEN + 1], alice[KINO_ID_LEN + 1], bob[KINO_ID_LEN + 1];
    char vic[KINO_ID_LEN + 1];
    add_user("admin@example.com", AUTH_ROLE_ADMIN, admin);
    add_user("alice@example.com", AUTH_ROLE_CREATOR, alice);
    add_user("bob@example.com", AUTH_ROLE_CREATOR, bob);
    add_user("vic@example.com", AUTH_ROLE_VIEWER, vic);
    /* One media per (owner, visibility): alice, bob, vic (a creator made viewer), nobody. */
    const char *owners[] = { alice, bob, vic, "" };
    int64_t t = 1000;
    for (size_t o = 0; o < 4; o++) {
        for (int v = 0; v < 3; v++) {
            struct media_row m = { .renditions_json = "[]", .created_at = t, .updated_at = t };
            t += 1000;
            id_new(m.id);
            snprintf(m.type, sizeof(m.type), "video");
            snprintf(m.status, sizeof(m.status), MEDIA_READY);
            snprintf(m.owner_id, sizeof(m.owner_id), "%s", owners[o]);
            snprintf(m.visibility, sizeof(m.visibility), "%s", visibilities[v]);
            cr_assert_eq(model_media_insert(conn, &m, NULL), 0);
        }
    }
    struct media_row *all;
    size_t n_all;
    cr_assert_eq(model_media_list(conn, MEDIA_SCOPE_ALL, NULL, 0, NULL, 100, &all, &n_all, NULL),
                 0);
    cr_assert_eq(n_all, 12);

    const struct api_caller callers[] = {
        caller(AUTH_ROLE_NONE, NULL),      caller(AUTH_ROLE_VIEWER, vic),
        caller(AUTH_ROLE_CREATOR, alice),  caller(AUTH_ROLE_CREATOR, bob),
        caller(AUTH_ROLE_ADMIN, admin),
    };
    for (size_t i = 0; i < sizeof(callers) / sizeof(callers[0]); i++) {
        const struct api_caller *c = &callers[i];
        struct media_row *rows;
        size_t n;
        cr_assert_eq(model_media_list(conn, scope_of(c), c->user_id[0] ? c->user_id : NULL, 0,
                                      NULL, 100, &rows, &n, NULL),
                     0);
        /* Both lists are newest first: walk them side by side. */
        size_t j = 0;
        for (size_t a = 0; a < n_all; a++) {
            int listed = access_is_listed(c, all[a].owner_id, all[a].visibility);
            int returned = j < n && strcmp(rows[j].id, all[a].id) == 0;
            cr_expect_eq(returned, listed, "caller %zu (role %d), media of '%s', %s: listed %d",
                         i, c->role, all[a].owner_id, all[a].visibility, listed);
            j += returned;
        }
        cr_expect_eq(j, n, "caller %zu got rows that are not in the whole list", i);
        model_media_rows_free(rows, n);
    }
    model_media_rows_free(all, n_all);
}
