/* SPDX-License-Identifier: MIT */
/*
 * Data access for media and jobs, written once over the db driver. Every
 * function takes a connection the caller holds (db_acquire), so the caller
 * decides what forms one transaction. Times are ms since the epoch.
 *
 * Job states: queued → running → done | failed | dead, and running → queued
 * again when a lease expires (crash) or a worker hands it back (shutdown).
 */
#ifndef KINO_MODEL_MODEL_H
#define KINO_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/util.h"
#include "db/db.h"

/* Media statuses, as stored and as shown in the API. */
#define MEDIA_UPLOADING "uploading"
#define MEDIA_QUEUED "queued"
#define MEDIA_PROCESSING "processing"
#define MEDIA_READY "ready"
#define MEDIA_FAILED "failed"

/* One media row. Strings are owned by the row; release with media_row_release. */
struct media_row {
    char id[KINO_ID_LEN + 1];
    char type[8];        /* "video" | "audio" */
    char *title;
    char *description;
    char *tags_json;     /* JSON array of strings */
    char status[16];
    double progress;     /* 0..1 */
    int playable;        /* every rendition has its first segments published */
    char *error;         /* NULL unless failed */
    double duration_s;   /* 0 until known */
    int width, height;   /* 0 until known */
    char *renditions_json; /* JSON array */
    char *source_key;    /* blob key of the uploaded file */
    char *source_name;   /* file name the client gave */
    int64_t source_size;
    int64_t created_at, updated_at;
};

void media_row_release(struct media_row *row);

/* Insert `row` (all fields taken as given). */
int model_media_insert(struct db_conn *c, const struct media_row *row, struct kino_err *err);

/* Read one; KINO_ENOTFOUND when there is none. `ret` is released by the caller. */
int model_media_get(struct db_conn *c, const char *id, struct media_row *ret,
                    struct kino_err *err);

/*
 * Newest first, at most `limit` rows strictly after the position
 * (after_created_at, after_id) in that order; pass after_id NULL for the first
 * page. Caller frees *ret_rows with model_media_rows_free.
 */
int model_media_list(struct db_conn *c, int64_t after_created_at, const char *after_id,
                     int limit, struct media_row **ret_rows, size_t *ret_n, struct kino_err *err);
void model_media_rows_free(struct media_row *rows, size_t n);

/* Change title/description/tags; NULL leaves a field alone. KINO_ENOTFOUND if absent. */
int model_media_update_meta(struct db_conn *c, const char *id, const char *title,
                            const char *description, const char *tags_json, int64_t now,
                            struct kino_err *err);

/*
 * Set status, progress and error (NULL clears it); any status but "ready" also
 * clears playable (a new run publishes afresh). KINO_ENOTFOUND if the media is gone.
 */
int model_media_set_status(struct db_conn *c, const char *id, const char *status, double progress,
                           const char *error, int64_t now, struct kino_err *err);

/* The first segments of every rendition are published: viewers may start. */
int model_media_set_playable(struct db_conn *c, const char *id, int64_t now, struct kino_err *err);

/* Raise progress (never lowers it). KINO_ENOTFOUND if the media is gone. */
int model_media_set_progress(struct db_conn *c, const char *id, double progress, int64_t now,
                             struct kino_err *err);

/* Mark ready (and playable) with what the pipeline measured. KINO_ENOTFOUND if the media is gone. */
int model_media_set_ready(struct db_conn *c, const char *id, const char *type, double duration_s,
                          int width, int height, const char *renditions_json, int64_t now,
                          struct kino_err *err);

/* Delete the row (its jobs go with it). KINO_ENOTFOUND if absent. */
int model_media_delete(struct db_conn *c, const char *id, struct kino_err *err);

/* A leased job. */
struct job_row {
    char id[KINO_ID_LEN + 1];
    char media_id[KINO_ID_LEN + 1];
    int attempts;      /* including the current one */
    int max_attempts;
};

/* Queue a transcode job for `media_id`. */
int model_job_enqueue(struct db_conn *c, const char *media_id, int max_attempts, int64_t now,
                      struct kino_err *err);

/*
 * Take the oldest runnable job: it becomes running, owned by `owner` until
 * now + lease_ms. KINO_ENOTFOUND when none is runnable. Atomic: two workers
 * never get the same job.
 */
int model_job_lease(struct db_conn *c, const char *owner, int64_t now, int64_t lease_ms,
                    struct job_row *ret, struct kino_err *err);

/* Extend the lease. KINO_ENOTFOUND when the job is no longer ours (deleted, or expired and taken). */
int model_job_renew(struct db_conn *c, const char *job_id, const char *owner, int64_t now,
                    int64_t lease_ms, struct kino_err *err);

/* End a job we own in `state` ("done", "failed" or "dead") with `error` (may be NULL). */
int model_job_finish(struct db_conn *c, const char *job_id, const char *owner, const char *state,
                     const char *error, int64_t now, struct kino_err *err);

/* Put a job we own back in the queue to run at `run_after`, keeping `error` as its last error. */
int model_job_retry(struct db_conn *c, const char *job_id, const char *owner, int64_t run_after,
                    const char *error, int64_t now, struct kino_err *err);

/*
 * Hand back a job we own without counting the attempt (shutdown): it is
 * queued again at once.
 */
int model_job_release(struct db_conn *c, const char *job_id, const char *owner, int64_t now,
                      struct kino_err *err);

/*
 * Requeue running jobs whose lease expired before `now` (their worker died).
 * A job that has used all its attempts becomes dead and its media failed.
 * *ret_n (may be NULL) gets the number requeued or killed.
 */
int model_job_requeue_expired(struct db_conn *c, int64_t now, int64_t *ret_n,
                              struct kino_err *err);

#endif
