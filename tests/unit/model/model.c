/* SPDX-License-Identifier: MIT */
/*
 * The data-access contract on SQLite: media rows (owner and visibility
 * included, and the list's scopes and paging), and the job queue's state
 * machine (lease, renew, finish, retry, hand back, expiry). Each test gets a
 * fresh database file in a temporary folder.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "db/db.h"
#include "model/model.h"

static struct db *db;
static struct db_conn *c;
static char dir[] = "/tmp/kino-model-XXXXXX";

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    cr_assert_not_null(mkdtemp(dir));
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/kino.db", dir);
    struct kino_err err = { 0 };
    cr_assert_eq(db_open(url, 2, &db, &err), 0, "%s", err.msg);
    cr_assert_eq(db_migrate(db, &err), 0, "%s", err.msg);
    cr_assert_eq(db_migrate(db, &err), 0, "migrations run twice: %s", err.msg);
    c = db_acquire(db);
}

static void teardown(void)
{
    db_release(c);
    db_close(db);
    fs_remove_tree(dir);
}

TestSuite(model, .init = setup, .fini = teardown);

/* owner NULL: no owner; visibility NULL: left to the default. */
static void add_owned_media(const char *id, int64_t created, const char *owner,
                            const char *visibility)
{
    struct media_row m = { .title = "t", .description = "d", .tags_json = "[\"a\"]",
                           .renditions_json = "[]", .source_key = "sources/x/source.mp4",
                           .created_at = created, .updated_at = created };
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.type, sizeof(m.type), "video");
    snprintf(m.status, sizeof(m.status), MEDIA_QUEUED);
    snprintf(m.owner_id, sizeof(m.owner_id), "%s", owner ? owner : "");
    snprintf(m.visibility, sizeof(m.visibility), "%s", visibility ? visibility : "");
    struct kino_err err = { 0 };
    cr_assert_eq(model_media_insert(c, &m, &err), 0, "%s", err.msg);
}

static void add_media(const char *id, int64_t created)
{
    add_owned_media(id, created, NULL, NULL);
}

static void add_user(const char *email, char id[KINO_ID_LEN + 1])
{
    struct user_row u;
    struct kino_err err = { 0 };
    cr_assert_eq(model_user_create(c, email, "", AUTH_ROLE_CREATOR, "$argon2id$x", 1, &u, &err), 0,
                 "%s", err.msg);
    snprintf(id, KINO_ID_LEN + 1, "%s", u.id);
}

Test(model, media_round_trip)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    struct media_row m;
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &m, NULL), 0);
    cr_assert_str_eq(m.status, "queued");
    cr_assert_str_eq(m.type, "video");
    cr_assert_str_eq(m.title, "t");
    cr_assert_str_eq(m.tags_json, "[\"a\"]");
    cr_assert_null(m.error);
    cr_assert_eq(m.created_at, 1000);
    media_row_release(&m);
    cr_assert_eq(model_media_get(c, "BBBBBBBBBBBBBBBB", &m, NULL), KINO_ENOTFOUND);
}

Test(model, list_pages_newest_first)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    add_media("BBBBBBBBBBBBBBBB", 2000);
    add_media("CCCCCCCCCCCCCCCC", 2000);
    struct media_row *rows;
    size_t n;
    cr_assert_eq(model_media_list(c, MEDIA_SCOPE_ALL, NULL, 0, NULL, 2, &rows, &n, NULL), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(rows[0].id, "CCCCCCCCCCCCCCCC");
    cr_assert_str_eq(rows[1].id, "BBBBBBBBBBBBBBBB");
    model_media_rows_free(rows, n);
    cr_assert_eq(model_media_list(c, MEDIA_SCOPE_ALL, NULL, 2000, "BBBBBBBBBBBBBBBB", 2, &rows, &n,
                                  NULL),
                 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(rows[0].id, "AAAAAAAAAAAAAAAA");
    model_media_rows_free(rows, n);
}

Test(model, owner_and_visibility_are_stored_and_read)
{
    char alice[KINO_ID_LEN + 1];
    add_user("alice@example.com", alice);
    add_owned_media("AAAAAAAAAAAAAAAA", 1000, alice, MEDIA_UNLISTED);
    add_media("BBBBBBBBBBBBBBBB", 1000);
    struct media_row m;
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &m, NULL), 0);
    cr_assert_str_eq(m.owner_id, alice);
    cr_assert_str_eq(m.visibility, "unlisted");
    media_row_release(&m);
    cr_assert_eq(model_media_get(c, "BBBBBBBBBBBBBBBB", &m, NULL), 0);
    cr_assert_str_eq(m.owner_id, "", "no owner reads as an empty id");
    cr_assert_str_eq(m.visibility, "public", "visibility defaults to public");
    media_row_release(&m);

    char vis[16];
    cr_assert_eq(model_media_visibility(c, "AAAAAAAAAAAAAAAA", vis, NULL), 0);
    cr_assert_str_eq(vis, "unlisted");
    cr_assert_eq(model_media_visibility(c, "CCCCCCCCCCCCCCCC", vis, NULL), KINO_ENOTFOUND);
}

Test(model, an_owner_must_be_an_account)
{
    struct media_row m = { .renditions_json = "[]", .created_at = 1, .updated_at = 1 };
    snprintf(m.id, sizeof(m.id), "AAAAAAAAAAAAAAAA");
    snprintf(m.type, sizeof(m.type), "video");
    snprintf(m.status, sizeof(m.status), MEDIA_QUEUED);
    snprintf(m.owner_id, sizeof(m.owner_id), "NOSUCHUSER000000");
    cr_assert_lt(model_media_insert(c, &m, NULL), 0);
}

Test(model, visibility_changes_with_the_metadata)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    struct kino_err err = { 0 };
    cr_assert_eq(model_media_update_meta(c, "AAAAAAAAAAAAAAAA", NULL, NULL, NULL, MEDIA_PRIVATE,
                                         2000, &err),
                 0, "%s", err.msg);
    char vis[16];
    cr_assert_eq(model_media_visibility(c, "AAAAAAAAAAAAAAAA", vis, NULL), 0);
    cr_assert_str_eq(vis, "private");
    cr_assert_eq(model_media_update_meta(c, "AAAAAAAAAAAAAAAA", "new", NULL, NULL, NULL, 3000,
                                         NULL),
                 0);
    cr_assert_eq(model_media_visibility(c, "AAAAAAAAAAAAAAAA", vis, NULL), 0);
    cr_assert_str_eq(vis, "private", "NULL leaves the visibility alone");
    cr_assert_eq(model_media_update_meta(c, "AAAAAAAAAAAAAAAA", "x", NULL, NULL, "secret", 4000,
                                         NULL),
                 KINO_EINVAL);
    struct media_row m;
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &m, NULL), 0);
    cr_assert_str_eq(m.title, "new", "a refused change changes nothing");
    cr_assert_str_eq(m.visibility, "private");
    media_row_release(&m);
    cr_assert(model_media_visibility_valid("unlisted"));
    cr_assert_not(model_media_visibility_valid("Public"));
    cr_assert_not(model_media_visibility_valid(""));
    cr_assert_not(model_media_visibility_valid(NULL));
}

/*
 * Walk a whole list `limit` rows at a time, seeking from the last row of each
 * page as the API's cursor does, and return the first letters of the ids
 * joined with ','. A filter applied after the LIMIT would end the walk early
 * or skip rows, and the word would differ.
 */
static char *walk(enum media_scope scope, const char *user_id, int limit)
{
    static char out[512];
    size_t len = 0;
    out[0] = '\0';
    int64_t after_created = 0;
    char after_id[KINO_ID_LEN + 1] = "";
    for (int page = 0; page < 20; page++) {
        struct media_row *rows;
        size_t n;
        struct kino_err err = { 0 };
        cr_assert_eq(model_media_list(c, scope, user_id, after_created,
                                      after_id[0] ? after_id : NULL, limit + 1, &rows, &n, &err),
                     0, "%s", err.msg);
        size_t shown = n > (size_t)limit ? (size_t)limit : n;
        for (size_t i = 0; i < shown && len + 3 < sizeof(out); i++)
            len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%c", len ? "," : "",
                                    rows[i].id[0]);
        if (shown) {
            after_created = rows[shown - 1].created_at;
            snprintf(after_id, sizeof(after_id), "%s", rows[shown - 1].id);
        }
        int more = n > shown;
        model_media_rows_free(rows, n);
        if (!more)
            return out;
    }
    cr_assert_fail("the list never ended");
    return NULL;
}

Test(model, lists_hold_what_each_caller_may_see_and_page_through_it)
{
    char alice[KINO_ID_LEN + 1], bob[KINO_ID_LEN + 1];
    add_user("alice@example.com", alice);
    add_user("bob@example.com", bob);
    /* Ids start with a distinct letter, so a list reads as a word; newest first.
     * F and G share a created_at: the id breaks the tie, also inside a filtered set. */
    add_owned_media("AAAAAAAAAAAAAAAA", 1000, alice, MEDIA_PUBLIC);
    add_owned_media("BBBBBBBBBBBBBBBB", 2000, alice, MEDIA_UNLISTED);
    add_owned_media("CCCCCCCCCCCCCCCC", 3000, alice, MEDIA_PRIVATE);
    add_owned_media("DDDDDDDDDDDDDDDD", 4000, bob, MEDIA_PUBLIC);
    add_owned_media("EEEEEEEEEEEEEEEE", 5000, bob, MEDIA_PRIVATE);
    add_owned_media("FFFFFFFFFFFFFFFF", 6000, bob, MEDIA_UNLISTED);
    add_owned_media("GGGGGGGGGGGGGGGG", 6000, alice, MEDIA_PRIVATE);
    add_owned_media("HHHHHHHHHHHHHHHH", 7000, NULL, MEDIA_PUBLIC); /* from before accounts */

    for (int limit = 1; limit <= 3; limit++) {
        cr_assert_str_eq(walk(MEDIA_SCOPE_ALL, NULL, limit), "H,G,F,E,D,C,B,A", "limit %d", limit);
        cr_assert_str_eq(walk(MEDIA_SCOPE_LISTED, NULL, limit), "H,D,A",
                         "anonymous: public only (limit %d)", limit);
        cr_assert_str_eq(walk(MEDIA_SCOPE_LISTED, alice, limit), "H,G,D,C,B,A",
                         "alice: public and all her own (limit %d)", limit);
        cr_assert_str_eq(walk(MEDIA_SCOPE_LISTED, bob, limit), "H,F,E,D,A",
                         "bob: public and all his own (limit %d)", limit);
        cr_assert_str_eq(walk(MEDIA_SCOPE_OWNED, alice, limit), "G,C,B,A", "limit %d", limit);
        cr_assert_str_eq(walk(MEDIA_SCOPE_OWNED, bob, limit), "F,E,D", "limit %d", limit);
    }
    struct media_row *rows;
    size_t n;
    cr_assert_eq(model_media_list(c, MEDIA_SCOPE_OWNED, NULL, 0, NULL, 5, &rows, &n, NULL),
                 KINO_EINVAL, "own media of nobody is a caller's mistake");
}

Test(model, job_lease_is_exclusive_and_renewable)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    cr_assert_eq(model_job_enqueue(c, "AAAAAAAAAAAAAAAA", 3, 1000, NULL), 0);
    struct job_row job;
    cr_assert_eq(model_job_lease(c, "w1", 2000, 30000, &job, NULL), 0);
    cr_assert_str_eq(job.media_id, "AAAAAAAAAAAAAAAA");
    cr_assert_eq(job.attempts, 1);
    cr_assert_eq(model_job_lease(c, "w2", 2000, 30000, &job, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_job_renew(c, job.id, "w1", 3000, 30000, NULL), 0);
    cr_assert_eq(model_job_renew(c, job.id, "w2", 3000, 30000, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_job_finish(c, job.id, "w1", "done", NULL, 4000, NULL), 0);
    cr_assert_eq(model_job_lease(c, "w2", 5000, 30000, &job, NULL), KINO_ENOTFOUND);
}

Test(model, expired_lease_goes_back_to_the_queue_then_dies)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    cr_assert_eq(model_job_enqueue(c, "AAAAAAAAAAAAAAAA", 2, 1000, NULL), 0);
    struct job_row job;
    int64_t n;
    cr_assert_eq(model_job_lease(c, "w1", 2000, 1000, &job, NULL), 0);
    cr_assert_eq(model_media_set_status(c, "AAAAAAAAAAAAAAAA", MEDIA_PROCESSING, 0.3, NULL, 2000,
                                        NULL), 0);
    cr_assert_eq(model_job_requeue_expired(c, 2500, &n, NULL), 0);
    cr_assert_eq(n, 0, "a live lease is left alone");
    cr_assert_eq(model_job_requeue_expired(c, 3001, &n, NULL), 0);
    cr_assert_eq(n, 1);
    struct media_row queued;
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &queued, NULL), 0);
    cr_assert_str_eq(queued.status, "queued", "the media shows the job is waiting again");
    cr_assert_float_eq(queued.progress, 0.0, 1e-9, "and its progress starts over");
    media_row_release(&queued);
    cr_assert_eq(model_job_lease(c, "w2", 3002, 1000, &job, NULL), 0, "requeued job runs again");
    cr_assert_eq(job.attempts, 2);
    cr_assert_eq(model_job_renew(c, job.id, "w1", 3003, 1000, NULL), KINO_ENOTFOUND,
                 "the old worker lost it");
    cr_assert_eq(model_job_requeue_expired(c, 9000, &n, NULL), 0);
    cr_assert_eq(model_job_lease(c, "w3", 9001, 1000, &job, NULL), KINO_ENOTFOUND,
                 "out of attempts: dead");
    struct media_row m;
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &m, NULL), 0);
    cr_assert_str_eq(m.status, "failed");
    cr_assert_not_null(m.error);
    media_row_release(&m);
}

Test(model, handing_back_does_not_count_an_attempt)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    cr_assert_eq(model_job_enqueue(c, "AAAAAAAAAAAAAAAA", 1, 1000, NULL), 0);
    struct job_row job;
    cr_assert_eq(model_job_lease(c, "w1", 2000, 1000, &job, NULL), 0);
    cr_assert_eq(model_job_release(c, job.id, "w1", 2100, NULL), 0);
    cr_assert_eq(model_job_lease(c, "w1", 2200, 1000, &job, NULL), 0);
    cr_assert_eq(job.attempts, 1);
}

Test(model, retry_waits_until_run_after)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    cr_assert_eq(model_job_enqueue(c, "AAAAAAAAAAAAAAAA", 3, 1000, NULL), 0);
    struct job_row job;
    cr_assert_eq(model_job_lease(c, "w1", 2000, 1000, &job, NULL), 0);
    cr_assert_eq(model_job_retry(c, job.id, "w1", 7000, "boom", 2100, NULL), 0);
    cr_assert_eq(model_job_lease(c, "w1", 6999, 1000, &job, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_job_lease(c, "w1", 7000, 1000, &job, NULL), 0);
}

Test(model, deleting_media_removes_its_job)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    cr_assert_eq(model_job_enqueue(c, "AAAAAAAAAAAAAAAA", 3, 1000, NULL), 0);
    struct job_row job;
    cr_assert_eq(model_job_lease(c, "w1", 2000, 1000, &job, NULL), 0);
    cr_assert_eq(model_media_delete(c, "AAAAAAAAAAAAAAAA", NULL), 0);
    cr_assert_eq(model_job_renew(c, job.id, "w1", 2100, 1000, NULL), KINO_ENOTFOUND);
    cr_assert_eq(model_media_delete(c, "AAAAAAAAAAAAAAAA", NULL), KINO_ENOTFOUND);
}

Test(model, playable_follows_the_runs)
{
    add_media("AAAAAAAAAAAAAAAA", 1000);
    struct media_row m;
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &m, NULL), 0);
    cr_assert_eq(m.playable, 0, "a new upload is not playable");
    media_row_release(&m);
    cr_assert_eq(model_media_set_playable(c, "AAAAAAAAAAAAAAAA", 2000, NULL), 0);
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &m, NULL), 0);
    cr_assert_eq(m.playable, 1);
    media_row_release(&m);
    cr_assert_eq(model_media_set_status(c, "AAAAAAAAAAAAAAAA", MEDIA_QUEUED, 0, NULL, 3000, NULL),
                 0);
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &m, NULL), 0);
    cr_assert_eq(m.playable, 0, "a run that starts over publishes afresh");
    media_row_release(&m);
    cr_assert_eq(model_media_set_ready(c, "AAAAAAAAAAAAAAAA", "video", 10, 1280, 720, "[]", 4000,
                                       NULL),
                 0);
    cr_assert_eq(model_media_get(c, "AAAAAAAAAAAAAAAA", &m, NULL), 0);
    cr_assert_eq(m.playable, 1, "ready media are playable");
    media_row_release(&m);
    cr_assert_eq(model_media_set_playable(c, "BBBBBBBBBBBBBBBB", 5000, NULL), KINO_ENOTFOUND);
}
