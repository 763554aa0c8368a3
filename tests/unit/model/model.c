/* SPDX-License-Identifier: MIT */
/*
 * The data-access contract on SQLite: media rows and the job queue's state
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

static void add_media(const char *id, int64_t created)
{
    struct media_row m = { .title = "t", .description = "d", .tags_json = "[\"a\"]",
                           .renditions_json = "[]", .source_key = "sources/x/source.mp4",
                           .created_at = created, .updated_at = created };
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.type, sizeof(m.type), "video");
    snprintf(m.status, sizeof(m.status), MEDIA_QUEUED);
    cr_assert_eq(model_media_insert(c, &m, NULL), 0);
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
    cr_assert_eq(model_media_list(c, 0, NULL, 2, &rows, &n, NULL), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(rows[0].id, "CCCCCCCCCCCCCCCC");
    cr_assert_str_eq(rows[1].id, "BBBBBBBBBBBBBBBB");
    model_media_rows_free(rows, n);
    cr_assert_eq(model_media_list(c, 2000, "BBBBBBBBBBBBBBBB", 2, &rows, &n, NULL), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(rows[0].id, "AAAAAAAAAAAAAAAA");
    model_media_rows_free(rows, n);
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
