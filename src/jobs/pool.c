/* SPDX-License-Identifier: MIT */
/*
 * Worker threads and the life of one transcode job: lease, run the pipeline
 * with lease renewal and progress, publish, record. See jobs.h for the contract
 * and docs/internals/jobs.md for the states.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "jobs/jobs.h"
#include "model/model.h"
#include "core/banned.h"

/* How often an idle worker looks at the queue when nobody wakes it (another process may enqueue). */
#define IDLE_POLL_MS 1000
/* How often progress is written to the media row: often enough for a progress bar, rarely
 * enough that the database is not the bottleneck. */
#define PROGRESS_EVERY_MS 500
/* First retry delay after a failure that is not the input's fault; doubles per attempt. */
#define RETRY_BASE_MS 5000

struct worker {
    struct jobs_pool *pool;
    pthread_t thread;
    char owner[96]; /* lease owner: host:pid:n, unique per worker across processes */
    int started;
    char media_id[KINO_ID_LEN + 1]; /* of the running job, "" when idle; guarded by pool->lock */
    atomic_int cancel;              /* set by jobs_pool_cancel for the running job */
};

struct jobs_pool {
    struct jobs_config cfg;
    char *work_dir;
    struct db *db;
    struct blob *blob;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_int stopping;
    atomic_llong last_janitor_ms;
    unsigned pending_notifies; /* guarded by lock */
    struct worker *workers;
    unsigned n_workers;
};

/* State of one running job, handed to the pipeline's hooks. */
struct job_run {
    struct worker *w;
    const struct job_row *job;
    const char *out_dir;
    int64_t last_renew_ms, last_progress_ms;
    int lost;          /* the lease is gone: the media was deleted or another worker took the job */
    int stopped;       /* the pool is stopping */
    int marked;        /* the "processing" marker is in storage */
    int playable;      /* the media row says playable */
    int publish_rc;    /* why publishing failed, when it did */
    int stalled;       /* cut off: no progress for stall_seconds */
    double best_fraction;
    int64_t last_advance_ms;
    struct kino_err publish_err;
};

/*
 * While a media is being processed its storage prefix holds this object, so
 * that the streaming path — which never asks the database — can tell growing
 * playlists (not to be cached) from finished ones.
 */
#define PROCESSING_MARKER "processing"

static void requeue_expired(struct jobs_pool *pool, const char *who)
{
    struct kino_err err = { 0 };
    int64_t n = 0;
    struct db_conn *c = db_acquire(pool->db);
    int rc = db_begin(c, &err);
    if (rc == 0)
        rc = model_job_requeue_expired(c, time_now_ms(), &n, &err);
    if (rc == 0)
        rc = db_commit(c, &err);
    db_release(c);
    if (rc < 0)
        log_msg(LOG_ERROR, who, "requeueing expired jobs failed: %s", kino_err_message(&err, rc));
    else if (n > 0)
        log_msg(LOG_WARN, who, "requeued %lld job(s) whose worker stopped answering", (long long)n);
}

static int on_progress(void *ctx, double fraction)
{
    struct job_run *run = ctx;
    struct jobs_pool *pool = run->w->pool;
    if (atomic_load(&pool->stopping)) {
        run->stopped = 1;
        return 1;
    }
    if (atomic_load(&run->w->cancel)) {
        run->lost = 1;
        return 1;
    }
    int64_t now = time_mono_ms();
    /* The pipeline calls in at least twice a second even when it is stuck on a bad file;
     * a job that makes no headway for stall_seconds is cut off rather than holding a
     * worker (and renewing its lease) forever. */
    if (fraction > run->best_fraction + 1e-6) {
        run->best_fraction = fraction;
        run->last_advance_ms = now;
    } else if (pool->cfg.stall_seconds &&
               now - run->last_advance_ms > (int64_t)pool->cfg.stall_seconds * 1000) {
        run->stalled = 1;
        return 1;
    }
    int64_t renew_every = (int64_t)pool->cfg.lease_seconds * 1000 / 3;
    int write_progress = now - run->last_progress_ms >= PROGRESS_EVERY_MS;
    int renew = now - run->last_renew_ms >= renew_every;
    if (!write_progress && !renew)
        return 0;

    struct kino_err err = { 0 };
    struct db_conn *c = db_acquire(pool->db);
    int rc = 0;
    if (renew) {
        rc = model_job_renew(c, run->job->id, run->w->owner, time_now_ms(),
                             (int64_t)pool->cfg.lease_seconds * 1000, &err);
        run->last_renew_ms = now;
    }
    if (rc == 0 && write_progress) {
        /* Keep 1.0 for "ready": the pipeline still has to be published after the last frame. */
        double shown = fraction < 0 ? 0 : fraction > 0.99 ? 0.99 : fraction;
        rc = model_media_set_progress(c, run->job->media_id, shown, time_now_ms(), &err);
        run->last_progress_ms = now;
    }
    db_release(c);
    if (rc == KINO_ENOTFOUND) {
        run->lost = 1;
        return 1;
    }
    if (rc < 0) /* a busy or restarting database must not kill a long transcode */
        log_msg(LOG_WARN, run->job->id, "progress update failed: %s", kino_err_message(&err, rc));
    return 0;
}

static char *renditions_json(const struct media_result *res)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < res->n_renditions; i++) {
        const struct media_rendition *r = &res->renditions[i];
        if (r->is_audio && !res->is_audio_only)
            continue; /* the shared audio is part of every video rendition's bandwidth */
        json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:s}", "name", r->name, "type",
                              r->is_audio ? "audio" : "video", "width", r->width, "height",
                              r->height, "bandwidth", (json_int_t)r->bandwidth,
                              "average_bandwidth", (json_int_t)r->average_bandwidth, "codecs",
                              r->codecs);
        if (!r->is_audio)
            json_object_set_new(o, "frame_rate", json_real(r->frame_rate));
        /* Audio has a poster only when its file had cover art; the API looks here. */
        if (r->is_audio && res->has_poster)
            json_object_set_new(o, "thumbnail", json_true());
        json_array_append_new(arr, o);
    }
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

static int put_output(struct job_run *run, const char *relpath, struct kino_err *err)
{
    char key[600], local[PATH_MAX];
    snprintf(key, sizeof(key), "media/%s/%s", run->job->media_id, relpath);
    snprintf(local, sizeof(local), "%s/%s", run->out_dir, relpath);
    return blob_put_file(run->w->pool->blob, key, local, err);
}

static int put_marker(struct job_run *run, struct kino_err *err)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "%s", PROCESSING_MARKER);
    char local[PATH_MAX];
    snprintf(local, sizeof(local), "%s/%s", run->out_dir, rel);
    FILE *f = fopen(local, "w");
    if (!f)
        return kino_err_set(err, -errno, "cannot write %s: %s", local, strerror(errno));
    fclose(f);
    int rc = put_output(run, rel, err);
    if (rc == 0)
        run->marked = 1;
    return rc;
}

static void remove_output(struct job_run *run)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "media/%s", run->job->media_id);
    (void)blob_delete_prefix(run->w->pool->blob, prefix, NULL);
}

/* media_publish_fn: move one finished file of the pipeline into storage as it is made. */
static int on_publish(void *ctx, const char *relpath)
{
    struct job_run *run = ctx;
    struct jobs_pool *pool = run->w->pool;
    int rc = 0;
    if (!run->marked)
        rc = put_marker(run, &run->publish_err);
    if (rc == 0)
        rc = put_output(run, relpath, &run->publish_err);
    if (rc < 0) {
        run->publish_rc = rc;
        return 1;
    }
    if (!run->playable && strcmp(relpath, "master.m3u8") == 0) {
        /* The pipeline publishes the master once every rendition has a segment. */
        struct kino_err err = { 0 };
        struct db_conn *c = db_acquire(pool->db);
        rc = model_media_set_playable(c, run->job->media_id, time_now_ms(), &err);
        db_release(c);
        if (rc == KINO_ENOTFOUND) {
            run->lost = 1;
            return 1;
        }
        run->playable = rc == 0;
        if (rc == 0)
            log_msg(LOG_INFO, run->job->id, "media %s is playable", run->job->media_id);
    }
    return 0;
}

/* Publishing order: a player must never find a playlist naming a file not yet there. */
static int publish_rank(const char *relpath)
{
    const char *dot = strrchr(relpath, '.');
    if (strcmp(relpath, "master.m3u8") == 0 || strcmp(relpath, "manifest.mpd") == 0)
        return 2;
    if (dot && (strcmp(dot, ".m3u8") == 0 || strcmp(dot, ".mpd") == 0 || strcmp(dot, ".vtt") == 0))
        return 1;
    return 0;
}

/* Collect the files under `dir` (relative to out_dir, "" for the top) into `list`. */
static int list_files(const char *out_dir, const char *dir, char ***list, size_t *n, int depth)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s%s%s", out_dir, *dir ? "/" : "", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char rel[PATH_MAX];
        if (snprintf(rel, sizeof(rel), "%s%s%s", dir, *dir ? "/" : "", e->d_name) >=
            (int)sizeof(rel)) {
            rc = -ENAMETOOLONG;
            break;
        }
        if (e->d_type == DT_DIR) {
            /* The pipeline's layout is two levels deep; more means something is wrong. */
            rc = depth < 4 ? list_files(out_dir, rel, list, n, depth + 1) : -ELOOP;
        } else if (e->d_type == DT_REG) {
            *list = xrealloc(*list, (*n + 1) * sizeof(**list));
            (*list)[(*n)++] = xstrdup(rel);
        }
    }
    closedir(d);
    return rc;
}

/* Publish what the pipeline left in out_dir: media first, playlists after, the master last. */
static int publish_remaining(struct job_run *run, struct kino_err *err)
{
    char **files = NULL;
    size_t n = 0;
    int rc = list_files(run->out_dir, "", &files, &n, 0);
    if (rc < 0)
        kino_err_set(err, rc, "cannot read the output folder %s: %s", run->out_dir,
                     strerror(-rc));
    if (rc == 0 && !run->marked)
        rc = put_marker(run, err);
    for (int rank = 0; rank <= 2 && rc == 0; rank++)
        for (size_t i = 0; i < n && rc == 0; i++)
            if (publish_rank(files[i]) == rank)
                rc = put_output(run, files[i], err);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return rc;
}

/* Record success: publish the rest of the output, then mark the media ready. */
static int publish(struct job_run *run, const struct media_result *res, struct kino_err *err)
{
    struct jobs_pool *pool = run->w->pool;
    const struct job_row *job = run->job;
    int rc = publish_remaining(run, err);
    if (rc < 0)
        return rc;
    char *rend = renditions_json(res);
    struct db_conn *c = db_acquire(pool->db);
    int64_t now = time_now_ms();
    rc = db_begin(c, err);
    if (rc == 0)
        rc = model_media_set_ready(c, job->media_id, res->is_audio_only ? "audio" : "video",
                                   res->duration_s, res->width, res->height, rend, now, err);
    if (rc == 0)
        rc = model_job_finish(c, job->id, run->w->owner, "done", NULL, now, err);
    if (rc == 0)
        rc = db_commit(c, err);
    else
        db_rollback(c);
    db_release(c);
    free(rend);
    if (rc == KINO_ENOTFOUND) {
        /* Deleted while we worked: the delete already removed what existed then;
         * what we just published is ours to remove. */
        run->lost = 1;
        remove_output(run);
        return rc;
    }
    if (rc == 0) {
        char key[64];
        snprintf(key, sizeof(key), "media/%s/%s", job->media_id, PROCESSING_MARKER);
        (void)blob_delete_prefix(pool->blob, key, NULL);
    }
    return rc;
}

/* Record a failure: permanent for bad input, a retry with backoff otherwise. */
static void record_failure(struct job_run *run, int code, const struct kino_err *err)
{
    struct jobs_pool *pool = run->w->pool;
    const struct job_row *job = run->job;
    const char *msg = kino_err_message(err, code);
    int permanent = code == KINO_EMEDIA || job->attempts >= job->max_attempts;
    char user_msg[KINO_ERR_MSG_MAX + 96];
    if (code == KINO_EMEDIA)
        snprintf(user_msg, sizeof(user_msg), "%s", msg);
    else
        snprintf(user_msg, sizeof(user_msg),
                 "processing failed after %d attempt(s): %s; upload the file again, and if it "
                 "keeps failing report it with the server log",
                 job->attempts, msg);

    struct kino_err dberr = { 0 };
    struct db_conn *c = db_acquire(pool->db);
    int64_t now = time_now_ms();
    int rc = db_begin(c, &dberr);
    if (permanent) {
        if (rc == 0)
            rc = model_job_finish(c, job->id, run->w->owner, code == KINO_EMEDIA ? "failed" : "dead",
                                  msg, now, &dberr);
        if (rc == 0)
            rc = model_media_set_status(c, job->media_id, MEDIA_FAILED, 0, user_msg, now, &dberr);
    } else {
        int64_t delay = (int64_t)RETRY_BASE_MS << (job->attempts > 10 ? 10 : job->attempts - 1);
        if (rc == 0)
            rc = model_job_retry(c, job->id, run->w->owner, now + delay, msg, now, &dberr);
        if (rc == 0)
            rc = model_media_set_status(c, job->media_id, MEDIA_QUEUED, 0, NULL, now, &dberr);
    }
    if (rc == 0)
        rc = db_commit(c, &dberr);
    db_release(c);
    log_msg(permanent ? LOG_WARN : LOG_ERROR, job->id, "media %s %s: %s", job->media_id,
            permanent ? "failed" : "will be retried", msg);
    if (rc < 0 && rc != KINO_ENOTFOUND)
        log_msg(LOG_ERROR, job->id, "recording the failure failed: %s",
                kino_err_message(&dberr, rc));
    if (rc == 0 && code == KINO_EMEDIA) {
        /* Unusable input is final: nothing of it stays but the row that says why. */
        char prefix[64];
        remove_output(run);
        snprintf(prefix, sizeof(prefix), "sources/%s", job->media_id);
        (void)blob_delete_prefix(pool->blob, prefix, NULL);
    }
}

static void hand_back(struct job_run *run)
{
    struct jobs_pool *pool = run->w->pool;
    struct kino_err err = { 0 };
    struct db_conn *c = db_acquire(pool->db);
    int64_t now = time_now_ms();
    int rc = db_begin(c, &err);
    if (rc == 0)
        rc = model_job_release(c, run->job->id, run->w->owner, now, &err);
    if (rc == 0)
        rc = model_media_set_status(c, run->job->media_id, MEDIA_QUEUED, 0, NULL, now, &err);
    if (rc == 0)
        rc = db_commit(c, &err);
    db_release(c);
    if (rc == KINO_ENOTFOUND)
        log_msg(LOG_INFO, run->job->id, "media %s was deleted while processing; job dropped",
                run->job->media_id);
    else if (rc < 0)
        log_msg(LOG_ERROR, run->job->id, "handing the job back failed (its lease will expire "
                "instead): %s", kino_err_message(&err, rc));
    else
        log_msg(LOG_INFO, run->job->id, "job handed back to the queue for the next start");
}

static void run_job(struct worker *w, const struct job_row *job)
{
    struct jobs_pool *pool = w->pool;
    char out_dir[PATH_MAX];
    struct job_run run = { .w = w, .job = job, .out_dir = out_dir };
    run.last_renew_ms = run.last_progress_ms = run.last_advance_ms = time_mono_ms();
    struct kino_err err = { 0 };
    struct media_row media = { 0 };
    struct buf src = BUF_INIT(PATH_MAX);
    snprintf(out_dir, sizeof(out_dir), "%s/%s", pool->work_dir, job->media_id);
    int64_t started = time_mono_ms();

    struct db_conn *c = db_acquire(pool->db);
    int rc = model_media_get(c, job->media_id, &media, &err);
    if (rc == 0)
        rc = model_media_set_status(c, job->media_id, MEDIA_PROCESSING, 0, NULL, time_now_ms(),
                                    &err);
    db_release(c);
    if (rc == KINO_ENOTFOUND) { /* deleted before it ran; its job row went with it */
        log_msg(LOG_INFO, job->id, "media %s no longer exists; job dropped", job->media_id);
        goto out;
    }
    if (rc == 0)
        rc = blob_local_path(pool->blob, media.source_key ? media.source_key : "", &src, &err);
    log_msg(LOG_INFO, job->id, "transcoding media %s (attempt %d of %d)", job->media_id,
            job->attempts, job->max_attempts);

    struct media_result res;
    if (rc == 0) {
        (void)fs_remove_tree(out_dir); /* left over from an attempt that crashed */
        struct media_hooks hooks = { .progress = on_progress, .publish = on_publish, .ctx = &run };
        rc = pool->cfg.transcode(&pool->cfg.media, src.ptr, out_dir, &hooks, &res, &err);
    }
    if (rc == KINO_ECANCELED && run.publish_rc < 0) { /* storage failed, not a cancel */
        rc = run.publish_rc;
        err = run.publish_err;
    } else if (rc == KINO_ECANCELED && run.stalled) {
        kino_err_clear(&err);
        rc = kino_err_set(&err, KINO_EMEDIA,
                          "processing stopped making progress (nothing new decoded for %u s): "
                          "the file is probably damaged; check that it plays, or re-export it "
                          "and upload it again",
                          pool->cfg.stall_seconds);
    }
    if (rc == 0) /* even when stopping: the work is done, publishing it is quick */
        rc = publish(&run, &res, &err);
    if (rc < 0)
        remove_output(&run); /* a partial ladder must not outlive its job */

    if (rc == 0) {
        log_msg(LOG_INFO, job->id, "media %s ready: %zu rendition(s), %.1f s of media in %.1f s",
                job->media_id, res.n_renditions, res.duration_s,
                (double)(time_mono_ms() - started) / 1000.0);
    } else if (run.lost || rc == KINO_ENOTFOUND) {
        log_msg(LOG_INFO, job->id, "media %s was deleted while processing; job dropped",
                job->media_id);
    } else if (rc == KINO_ECANCELED && run.stopped) {
        hand_back(&run);
    } else {
        record_failure(&run, rc, &err);
    }
out:
    (void)fs_remove_tree(out_dir);
    buf_release(&src);
    media_row_release(&media);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct jobs_pool *pool = w->pool;
    int64_t janitor_every = (int64_t)pool->cfg.lease_seconds * 1000 / 2;

    while (!atomic_load(&pool->stopping)) {
        int64_t now = time_mono_ms();
        long long last = atomic_load(&pool->last_janitor_ms);
        if (now - last >= janitor_every &&
            atomic_compare_exchange_strong(&pool->last_janitor_ms, &last, now))
            requeue_expired(pool, w->owner);

        struct job_row job;
        struct kino_err err = { 0 };
        struct db_conn *c = db_acquire(pool->db);
        int rc = model_job_lease(c, w->owner, time_now_ms(),
                                 (int64_t)pool->cfg.lease_seconds * 1000, &job, &err);
        db_release(c);
        if (rc == 0) {
            pthread_mutex_lock(&pool->lock);
            snprintf(w->media_id, sizeof(w->media_id), "%s", job.media_id);
            atomic_store(&w->cancel, 0);
            pthread_mutex_unlock(&pool->lock);
            run_job(w, &job);
            pthread_mutex_lock(&pool->lock);
            w->media_id[0] = '\0';
            pthread_mutex_unlock(&pool->lock);
            continue;
        }
        if (rc != KINO_ENOTFOUND)
            log_msg(LOG_ERROR, w->owner, "leasing a job failed: %s", kino_err_message(&err, rc));

        pthread_mutex_lock(&pool->lock);
        if (!pool->pending_notifies && !atomic_load(&pool->stopping)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)IDLE_POLL_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&pool->wake, &pool->lock, &until);
        }
        if (pool->pending_notifies)
            pool->pending_notifies--;
        pthread_mutex_unlock(&pool->lock);
    }
    return NULL;
}

int jobs_pool_start(const struct jobs_config *cfg, struct db *db, struct blob *blob,
                    struct jobs_pool **ret_pool, struct kino_err *err)
{
    int rc = fs_mkdirs(cfg->work_dir);
    if (rc < 0)
        return kino_err_set(err, rc, "cannot create the work folder %s: %s", cfg->work_dir,
                            strerror(-rc));
    struct jobs_pool *pool = xcalloc(1, sizeof(*pool));
    pool->cfg = *cfg;
    if (!pool->cfg.transcode)
        pool->cfg.transcode = media_transcode;
    pool->work_dir = xstrdup(cfg->work_dir);
    pool->cfg.work_dir = pool->work_dir;
    pool->db = db;
    pool->blob = blob;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    atomic_init(&pool->stopping, 0);
    atomic_init(&pool->last_janitor_ms, time_mono_ms());

    requeue_expired(pool, "jobs");

    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    pool->n_workers = cfg->workers;
    pool->workers = xcalloc(cfg->workers ? cfg->workers : 1, sizeof(*pool->workers));
    for (unsigned i = 0; i < cfg->workers; i++) {
        struct worker *w = &pool->workers[i];
        w->pool = pool;
        snprintf(w->owner, sizeof(w->owner), "%s:%d:%u", host, (int)getpid(), i);
        if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
            jobs_pool_free(pool);
            return kino_err_set(err, -rc, "cannot start worker thread %u: %s", i, strerror(rc));
        }
        w->started = 1;
    }
    *ret_pool = pool;
    return 0;
}

void jobs_pool_notify(struct jobs_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->pending_notifies++;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

void jobs_pool_cancel(struct jobs_pool *pool, const char *media_id)
{
    pthread_mutex_lock(&pool->lock);
    for (unsigned i = 0; i < pool->n_workers; i++)
        if (strcmp(pool->workers[i].media_id, media_id) == 0)
            atomic_store(&pool->workers[i].cancel, 1);
    pthread_mutex_unlock(&pool->lock);
}

void jobs_pool_stop(struct jobs_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stopping, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->n_workers; i++) {
        if (pool->workers[i].started) {
            pthread_join(pool->workers[i].thread, NULL);
            pool->workers[i].started = 0;
        }
    }
}

void jobs_pool_free(struct jobs_pool *pool)
{
    if (!pool)
        return;
    jobs_pool_stop(pool);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    free(pool->workers);
    free(pool->work_dir);
    free(pool);
}
