/* SPDX-License-Identifier: MIT */
/*
 * The worker pool's handling of a transcode that stops making progress. FFmpeg
 * cannot be made to stall on demand, so these tests hand the pool a transcoder
 * (jobs_config.transcode) that reports progress the way the pipeline does —
 * at least twice a second, also while stuck — and check what a user sees: the
 * media fails with the stall message, nothing of the attempt is left behind,
 * and the job is not retried. A control test shows that a slow job whose
 * progress keeps advancing is not cut off.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob/blob.h"
#include "core/util.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "model/model.h"

#define MEDIA_ID "STALLSTALLSTALL1"

static char dir[] = "/tmp/kino-pool-XXXXXX";
static struct db *db;
static struct blob *blob;

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    cr_assert_not_null(mkdtemp(dir));
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/kino.db", dir);
    struct kino_err err = { 0 };
    cr_assert_eq(db_open(url, 4, &db, &err), 0, "%s", err.msg);
    cr_assert_eq(db_migrate(db, &err), 0, "%s", err.msg);
    cr_assert_eq(blob_open(dir, &blob, &err), 0, "%s", err.msg);

    /* A queued media with a source file and its job. */
    char path[256];
    snprintf(path, sizeof(path), "%s/sources/%s", dir, MEDIA_ID);
    cr_assert_eq(fs_mkdirs(path), 0);
    snprintf(path, sizeof(path), "%s/sources/%s/source.mp4", dir, MEDIA_ID);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("not read by these tests' transcoders", f);
    fclose(f);
    struct media_row m = { .title = "t", .description = "", .tags_json = "[]",
                           .renditions_json = "[]",
                           .source_key = "sources/" MEDIA_ID "/source.mp4",
                           .created_at = time_now_ms(), .updated_at = time_now_ms() };
    snprintf(m.id, sizeof(m.id), MEDIA_ID);
    snprintf(m.type, sizeof(m.type), "video");
    snprintf(m.status, sizeof(m.status), MEDIA_QUEUED);
    struct db_conn *c = db_acquire(db);
    cr_assert_eq(model_media_insert(c, &m, &err), 0, "%s", err.msg);
    cr_assert_eq(model_job_enqueue(c, MEDIA_ID, 3, time_now_ms(), &err), 0, "%s", err.msg);
    db_release(c);
}

static void teardown(void)
{
    blob_free(blob);
    db_close(db);
    fs_remove_tree(dir);
}

TestSuite(pool, .init = setup, .fini = teardown, .timeout = 60);

/* Leaves a file in its output folder, then reports the same fraction until it is cut off. */
static int stuck_transcode(const struct media_options *opt, const char *src, const char *out_dir,
                           const struct media_hooks *hooks, struct media_result *ret,
                           struct kino_err *err)
{
    (void)opt, (void)src, (void)ret, (void)err;
    char path[1024];
    cr_assert_eq(fs_mkdirs(out_dir), 0);
    snprintf(path, sizeof(path), "%s/partial.m4s", out_dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    for (int i = 0; i < 30 * 50; i++) { /* 30 s at most: the test fails by timing out first */
        if (hooks->progress(hooks->ctx, 0.25))
            return KINO_ECANCELED;
        usleep(20 * 1000);
    }
    return kino_err_set(err, KINO_EINTERNAL, "was never cut off");
}

/* Advances a little every 100 ms for 1.5 s — longer than the stall limit — then fails on its
 * own with a recognisable message. */
static int slow_transcode(const struct media_options *opt, const char *src, const char *out_dir,
                          const struct media_hooks *hooks, struct media_result *ret,
                          struct kino_err *err)
{
    (void)opt, (void)src, (void)out_dir, (void)ret;
    for (int i = 1; i <= 15; i++) {
        if (hooks->progress(hooks->ctx, i / 100.0))
            return KINO_ECANCELED;
        usleep(100 * 1000);
    }
    return kino_err_set(err, KINO_EMEDIA, "slow but steady: reached the end");
}

static struct jobs_pool *start_pool(jobs_transcode_fn transcode)
{
    char work[256];
    snprintf(work, sizeof(work), "%s/tmp/work", dir);
    struct jobs_config cfg = { .workers = 1, .lease_seconds = 30, .stall_seconds = 1,
                               .work_dir = work, .transcode = transcode };
    media_options_init(&cfg.media);
    struct jobs_pool *pool;
    struct kino_err err = { 0 };
    cr_assert_eq(jobs_pool_start(&cfg, db, blob, &pool, &err), 0, "%s", err.msg);
    jobs_pool_notify(pool);
    return pool;
}

/* Poll until the media leaves queued/processing; returns its final row. */
static void wait_for_outcome(struct media_row *m)
{
    struct kino_err err = { 0 };
    for (int i = 0; i < 20 * 50; i++) {
        struct db_conn *c = db_acquire(db);
        cr_assert_eq(model_media_get(c, MEDIA_ID, m, &err), 0, "%s", err.msg);
        db_release(c);
        if (strcmp(m->status, MEDIA_FAILED) == 0 || strcmp(m->status, MEDIA_READY) == 0)
            return;
        media_row_release(m);
        usleep(20 * 1000);
    }
    cr_assert_fail("the media never left processing");
}

Test(pool, a_job_without_progress_is_cut_off_and_fails_for_good)
{
    struct jobs_pool *pool = start_pool(stuck_transcode);
    struct media_row m;
    wait_for_outcome(&m);
    jobs_pool_free(pool);

    cr_assert_str_eq(m.status, MEDIA_FAILED);
    cr_assert_not_null(m.error);
    cr_assert(strstr(m.error, "stopped making progress") && strstr(m.error, "1 s"),
              "error shown to the user: %s", m.error);
    media_row_release(&m);

    /* Nothing of the attempt is left: not the scratch output, not the processing marker. */
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/tmp/work/%s", dir, MEDIA_ID);
    cr_assert_neq(stat(path, &st), 0, "the attempt's output folder is still there");
    snprintf(path, sizeof(path), "%s/media/%s/processing", dir, MEDIA_ID);
    cr_assert_neq(stat(path, &st), 0, "the processing marker is still there");

    /* A damaged file is not retried: the queue has nothing runnable. */
    struct job_row job;
    struct db_conn *c = db_acquire(db);
    cr_assert_eq(model_job_lease(c, "test", time_now_ms() + 3600 * 1000, 30000, &job, NULL),
                 KINO_ENOTFOUND);
    db_release(c);
}

Test(pool, a_slow_job_that_keeps_advancing_is_not_cut_off)
{
    struct jobs_pool *pool = start_pool(slow_transcode);
    struct media_row m;
    wait_for_outcome(&m);
    jobs_pool_free(pool);
    cr_assert_str_eq(m.status, MEDIA_FAILED);
    cr_assert(m.error && strstr(m.error, "slow but steady"), "error: %s", m.error);
    media_row_release(&m);
}
