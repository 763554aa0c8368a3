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

#include "auth/auth.h"
#include "core/err.h"
#include "core/util.h"
#include "db/db.h"

/* Media statuses, as stored and as shown in the API. */
#define MEDIA_UPLOADING "uploading"
#define MEDIA_QUEUED "queued"
#define MEDIA_PROCESSING "processing"
#define MEDIA_READY "ready"
#define MEDIA_FAILED "failed"

/* Visibilities (docs/internals/auth.md): who may see a media. */
#define MEDIA_PUBLIC "public"     /* listed, anyone may watch */
#define MEDIA_UNLISTED "unlisted" /* anyone with the id or a playback URL, not listed */
#define MEDIA_PRIVATE "private"   /* its owner and admins only */

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
    char owner_id[KINO_ID_LEN + 1]; /* the account that uploaded it; "" when none (older media) */
    char visibility[16];            /* MEDIA_PUBLIC | MEDIA_UNLISTED | MEDIA_PRIVATE */
};

void media_row_release(struct media_row *row);

/* 1 when `v` is one of the three visibilities above. */
int model_media_visibility_valid(const char *v);

/* Insert `row` (all fields taken as given; owner_id "" stores no owner, visibility "" public). */
int model_media_insert(struct db_conn *c, const struct media_row *row, struct kino_err *err);

/* Read one; KINO_ENOTFOUND when there is none. `ret` is released by the caller. */
int model_media_get(struct db_conn *c, const char *id, struct media_row *ret,
                    struct kino_err *err);

/*
 * Only the visibility of one media: what the plain streaming path needs on every
 * request, one primary-key lookup. `ret` gets at least 16 bytes. KINO_ENOTFOUND
 * when there is no such media.
 */
int model_media_visibility(struct db_conn *c, const char *id, char ret[16], struct kino_err *err);

/* Which media a list holds (the API picks one from the caller's role and ?owner=). */
enum media_scope {
    MEDIA_SCOPE_ALL,    /* every media: what admins see */
    MEDIA_SCOPE_LISTED, /* public media, and all of `user_id`'s own (user_id NULL: public only) */
    MEDIA_SCOPE_OWNED,  /* only the media of `user_id` */
};

/*
 * Newest first, at most `limit` rows of `scope` strictly after the position
 * (after_created_at, after_id) in that order; pass after_id NULL for the first
 * page. The scope is applied in the query itself, so the page is full and the
 * position seek stays right whatever is filtered out. Caller frees *ret_rows
 * with model_media_rows_free.
 */
int model_media_list(struct db_conn *c, enum media_scope scope, const char *user_id,
                     int64_t after_created_at, const char *after_id, int limit,
                     struct media_row **ret_rows, size_t *ret_n, struct kino_err *err);
void model_media_rows_free(struct media_row *rows, size_t n);

/*
 * Change title/description/tags/visibility; NULL leaves a field alone.
 * KINO_ENOTFOUND if absent; KINO_EINVAL for an unknown visibility.
 */
int model_media_update_meta(struct db_conn *c, const char *id, const char *title,
                            const char *description, const char *tags_json,
                            const char *visibility, int64_t now, struct kino_err *err);

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

/* ---- accounts (users.c; docs/internals/auth.md) ------------------------- */

#define USER_EMAIL_MAX 254 /* bytes, as in RFC 5321 */
#define USER_NAME_MAX  200 /* bytes of a display name */

/* One account. Fixed-size: nothing to release. */
struct user_row {
    char id[KINO_ID_LEN + 1];
    char email[USER_EMAIL_MAX + 1]; /* lower case */
    char display_name[USER_NAME_MAX + 1];
    enum auth_role role;            /* never AUTH_ROLE_NONE */
    char password_hash[AUTH_HASH_MAX];
    int disabled;
    int64_t created_at, updated_at;
};

/*
 * Check an email as accounts take it: 3..USER_EMAIL_MAX bytes, one '@' with
 * something on both sides, no spaces or control characters. 0 or KINO_EINVAL
 * with a message a user can act on.
 */
int model_user_check_email(const char *email, struct kino_err *err);

/*
 * Create an account with a new random id; the email is stored lower-cased.
 * `password_hash` is auth_password_hash's output, stored as is. `display_name`
 * may be NULL (""). Fills *ret (may be NULL). KINO_EINVAL for a bad email, name
 * or role; KINO_ECONFLICT when an account already has this email.
 */
int model_user_create(struct db_conn *c, const char *email, const char *display_name,
                      enum auth_role role, const char *password_hash, int64_t now,
                      struct user_row *ret, struct kino_err *err);

/* Read one by id, or by email (compared lower-cased). KINO_ENOTFOUND when there is none. */
int model_user_get(struct db_conn *c, const char *id, struct user_row *ret, struct kino_err *err);
int model_user_get_by_email(struct db_conn *c, const char *email, struct user_row *ret,
                            struct kino_err *err);

/*
 * Newest first, at most `limit` accounts strictly after (after_created_at,
 * after_id); after_id NULL for the first page. Caller frees *ret_rows with free().
 */
int model_user_list(struct db_conn *c, int64_t after_created_at, const char *after_id, int limit,
                    struct user_row **ret_rows, size_t *ret_n, struct kino_err *err);

/* Change the role (KINO_EINVAL for AUTH_ROLE_NONE). KINO_ENOTFOUND when there is no such user. */
int model_user_set_role(struct db_conn *c, const char *id, enum auth_role role, int64_t now,
                        struct kino_err *err);

/*
 * Disable (1) or enable (0). Disabling also revokes every refresh token of the
 * account; API keys are refused while it is disabled (model_api_key_find).
 * Run it in a transaction if both must happen together. KINO_ENOTFOUND.
 */
int model_user_set_disabled(struct db_conn *c, const char *id, int disabled, int64_t now,
                            struct kino_err *err);

/* Replace the password hash (a new password, or a rehash at a new cost). KINO_ENOTFOUND. */
int model_user_set_password_hash(struct db_conn *c, const char *id, const char *password_hash,
                                 int64_t now, struct kino_err *err);

/* Change the display name ("" allowed). KINO_EINVAL over USER_NAME_MAX bytes; KINO_ENOTFOUND. */
int model_user_set_display_name(struct db_conn *c, const char *id, const char *display_name,
                                int64_t now, struct kino_err *err);

/*
 * Refresh tokens, stored as auth_secret_hash digests. A family is one login:
 * each rotation marks the presented token used and adds its successor to the
 * same family, so a replayed (used) token gives away a stolen one and the whole
 * family is revoked.
 */
struct refresh_row {
    char id[KINO_ID_LEN + 1];
    char user_id[KINO_ID_LEN + 1];
    char family_id[KINO_ID_LEN + 1];
    int64_t created_at, expires_at;
};

/*
 * Store a refresh token digest for `user_id`, valid until `expires_at`.
 * `family_id` NULL starts a new family (a login). Fills *ret (may be NULL).
 */
int model_refresh_insert(struct db_conn *c, const char *user_id, const char *family_id,
                         const char *token_hash, int64_t now, int64_t expires_at,
                         struct refresh_row *ret, struct kino_err *err);

/*
 * Rotate: in one transaction of its own (the connection must not be in one),
 * find the token whose digest is `token_hash` and
 *  - none: KINO_ENOTFOUND;
 *  - already used or revoked (a replay): revoke its whole family, commit, and
 *    return KINO_ECONFLICT: "reuse detected", the caller answers 401;
 *  - expired (now >= expires_at) or its account disabled: KINO_EINVAL, nothing changes;
 *  - else mark it used and insert `new_token_hash` (valid until new_expires_at)
 *    in the same family; 0, and *ret (may be NULL) describes the new token.
 */
int model_refresh_rotate(struct db_conn *c, const char *token_hash, const char *new_token_hash,
                         int64_t now, int64_t new_expires_at, struct refresh_row *ret,
                         struct kino_err *err);

/*
 * Revoke every token of the family that holds `token_hash` (logout).
 * KINO_ENOTFOUND when no token has this digest.
 */
int model_refresh_revoke_family_of(struct db_conn *c, const char *token_hash, int64_t now,
                                   struct kino_err *err);

/* Revoke a family / every token of a user. Idempotent; *ret_n (may be NULL): how many. */
int model_refresh_revoke_family(struct db_conn *c, const char *family_id, int64_t now,
                                int64_t *ret_n, struct kino_err *err);
int model_refresh_revoke_user(struct db_conn *c, const char *user_id, int64_t now, int64_t *ret_n,
                              struct kino_err *err);

/* API keys, stored as auth_secret_hash digests plus the key's first 8 characters for lists. */
#define API_KEY_NAME_MAX 100
#define API_KEY_PREFIX_LEN 8
#define API_KEY_ACTIVE_MAX 100 /* active (not revoked) keys an account may hold */

struct api_key_row {
    char id[KINO_ID_LEN + 1];
    char user_id[KINO_ID_LEN + 1];
    char name[API_KEY_NAME_MAX + 1];
    char prefix[API_KEY_PREFIX_LEN + 1];
    int64_t created_at;
    int64_t last_used_at; /* 0 when never used */
    int64_t revoked_at;   /* 0 when active */
};

/*
 * Store a new key of `user_id`: `key` is the secret shown once to its owner;
 * only auth_secret_hash(key) and its first API_KEY_PREFIX_LEN characters are
 * kept. Fills *ret (may be NULL). KINO_EINVAL for a name over
 * API_KEY_NAME_MAX bytes or a key shorter than the prefix.
 */
int model_api_key_insert(struct db_conn *c, const char *user_id, const char *name, const char *key,
                         int64_t now, struct api_key_row *ret, struct kino_err *err);

/*
 * The active key with digest `key_hash` whose account is enabled, and record
 * `now` as its last use (written at most once a minute per key, so a busy
 * script does not write on every request). KINO_ENOTFOUND otherwise (unknown, revoked or account
 * disabled: the caller answers 401 for all three).
 */
int model_api_key_find(struct db_conn *c, const char *key_hash, int64_t now,
                       struct api_key_row *ret, struct kino_err *err);

/* The keys of `user_id`, revoked ones included, newest first. Caller free()s *ret_rows. */
int model_api_key_list(struct db_conn *c, const char *user_id, struct api_key_row **ret_rows,
                       size_t *ret_n, struct kino_err *err);

/* How many keys of `user_id` are active (not revoked), counted in SQL, into *ret_n. */
int model_api_key_count_active(struct db_conn *c, const char *user_id, int64_t *ret_n,
                               struct kino_err *err);

/* Revoke key `id` of `user_id`. KINO_ENOTFOUND when `user_id` has no active key `id`. */
int model_api_key_revoke(struct db_conn *c, const char *id, const char *user_id, int64_t now,
                         struct kino_err *err);

#endif
