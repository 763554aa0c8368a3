/* SPDX-License-Identifier: MIT */
/*
 * The worker pool: threads that lease transcode jobs from the queue in the
 * database, run the media pipeline, publish the output to storage and record
 * the result. A lease is renewed while a job runs; a job whose worker died is
 * requeued when its lease expires (checked at start-up and periodically). On
 * stop, running jobs are cut off and handed back to the queue so that the
 * next start runs them again.
 *
 * Threading: jobs_pool_* may be called from any thread; each job is owned by
 * one worker thread from lease to finish.
 */
#ifndef KINO_JOBS_JOBS_H
#define KINO_JOBS_JOBS_H

#include "blob/blob.h"
#include "core/err.h"
#include "db/db.h"
#include "media/media.h"

struct jobs_pool;

/* media_transcode's signature: what a worker runs for each job. */
typedef int (*jobs_transcode_fn)(const struct media_options *opt, const char *src_path,
                                 const char *out_dir, const struct media_hooks *hooks,
                                 struct media_result *ret, struct kino_err *err);

struct jobs_config {
    unsigned workers;        /* threads; 0 starts none (jobs only requeued) */
    unsigned lease_seconds;  /* lease length; renewed every third of it */
    unsigned stall_seconds;  /* a job with no progress for this long fails; 0 = never */
    const char *work_dir;    /* local scratch folder for pipeline output */
    struct media_options media; /* pipeline settings, copied */
    /* NULL: media_transcode. The pool's own tests put a transcoder here that behaves in ways
     * FFmpeg cannot be made to on demand (stalling, failing at a chosen point). */
    jobs_transcode_fn transcode;
};

/*
 * Start the pool on `db` and `blob` (borrowed until jobs_pool_free). Requeues
 * jobs whose lease expired while nobody ran them. Caller frees with jobs_pool_free.
 */
int jobs_pool_start(const struct jobs_config *cfg, struct db *db, struct blob *blob,
                    struct jobs_pool **ret_pool, struct kino_err *err);

/* A job was queued: wake an idle worker now instead of at its next poll. */
void jobs_pool_notify(struct jobs_pool *pool);

/*
 * The media was deleted: if a worker of this pool is transcoding it, cut the
 * pipeline off now rather than at its next lease renewal. Workers in other
 * processes notice at their renewal.
 */
void jobs_pool_cancel(struct jobs_pool *pool, const char *media_id);

/*
 * Stop: cancel running pipelines, hand their jobs back to the queue, and
 * join the threads. Returns once every worker has exited.
 */
void jobs_pool_stop(struct jobs_pool *pool);

/* Stop if needed, then free. Accepts NULL. */
void jobs_pool_free(struct jobs_pool *pool);

#endif
