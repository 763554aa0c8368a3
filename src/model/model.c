/* SPDX-License-Identifier: MIT */
/* Media and job data access (see model.h). */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/model_internal.h"
#include "core/banned.h"

void media_row_release(struct media_row *row)
{
    if (!row)
        return;
    free(row->title);
    free(row->description);
    free(row->tags_json);
    free(row->error);
    free(row->renditions_json);
    free(row->source_key);
    free(row->source_name);
    memset(row, 0, sizeof(*row));
}

void model_media_rows_free(struct media_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        media_row_release(&rows[i]);
    free(rows);
}

#define MEDIA_COLUMNS                                                                              \
    "id, type, title, description, tags, status, progress, error, duration_s, width, height, "     \
    "renditions, source_key, source_name, source_size, created_at, updated_at, playable, "     \
    "owner_id, visibility"

static void read_media(struct db_stmt *st, struct media_row *r)
{
    memset(r, 0, sizeof(*r));
    model_copy_fixed(r->id, sizeof(r->id), db_column_text(st, 0));
    model_copy_fixed(r->type, sizeof(r->type), db_column_text(st, 1));
    r->title = xstrdup(db_column_text(st, 2) ? db_column_text(st, 2) : "");
    r->description = xstrdup(db_column_text(st, 3) ? db_column_text(st, 3) : "");
    r->tags_json = xstrdup(db_column_text(st, 4) ? db_column_text(st, 4) : "[]");
    model_copy_fixed(r->status, sizeof(r->status), db_column_text(st, 5));
    r->progress = db_column_double(st, 6);
    r->error = model_dup_or_null(db_column_text(st, 7));
    r->duration_s = db_column_double(st, 8);
    r->width = (int)db_column_int64(st, 9);
    r->height = (int)db_column_int64(st, 10);
    r->renditions_json = xstrdup(db_column_text(st, 11) ? db_column_text(st, 11) : "[]");
    r->source_key = model_dup_or_null(db_column_text(st, 12));
    r->source_name = model_dup_or_null(db_column_text(st, 13));
    r->source_size = db_column_int64(st, 14);
    r->created_at = db_column_int64(st, 15);
    r->updated_at = db_column_int64(st, 16);
    r->playable = db_column_int64(st, 17) != 0;
    model_copy_fixed(r->owner_id, sizeof(r->owner_id), db_column_text(st, 18));
    model_copy_fixed(r->visibility, sizeof(r->visibility), db_column_text(st, 19));
}

int model_media_visibility_valid(const char *v)
{
    return v && (strcmp(v, MEDIA_PUBLIC) == 0 || strcmp(v, MEDIA_UNLISTED) == 0 ||
                 strcmp(v, MEDIA_PRIVATE) == 0);
}

int model_media_insert(struct db_conn *c, const struct media_row *r, struct kino_err *err)
{
    int64_t rc = model_run(c,
                     "INSERT INTO media (" MEDIA_COLUMNS ") VALUES "
                     "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
                     "$19, $20)",
                     err, "ttttttdtdiitttiiiitt", r->id, r->type, r->title ? r->title : "",
                     r->description ? r->description : "", r->tags_json ? r->tags_json : "[]",
                     r->status, r->progress, r->error, r->duration_s, (int64_t)r->width,
                     (int64_t)r->height, r->renditions_json ? r->renditions_json : "[]",
                     r->source_key, r->source_name, r->source_size, r->created_at, r->updated_at,
                     (int64_t)r->playable, r->owner_id[0] ? r->owner_id : NULL,
                     r->visibility[0] ? r->visibility : MEDIA_PUBLIC);
    return rc < 0 ? (int)rc : 0;
}

int model_media_get(struct db_conn *c, const char *id, struct media_row *ret, struct kino_err *err)
{
    struct db_stmt *st;
    int rc = model_query(c, &st, "SELECT " MEDIA_COLUMNS " FROM media WHERE id = $1", err, "t", id);
    if (rc < 0)
        return rc;
    rc = db_step(st, err);
    if (rc == KINO_ROW) {
        read_media(st, ret);
        rc = 0;
    } else if (rc == KINO_DONE) {
        rc = kino_err_set(err, KINO_ENOTFOUND, "no media with id '%s'", id);
    }
    db_finalize(st);
    return rc;
}

int model_media_visibility(struct db_conn *c, const char *id, char ret[16], struct kino_err *err)
{
    struct db_stmt *st;
    int rc = model_query(c, &st, "SELECT visibility FROM media WHERE id = $1", err, "t", id);
    if (rc < 0)
        return rc;
    rc = db_step(st, err);
    if (rc == KINO_ROW) {
        model_copy_fixed(ret, 16, db_column_text(st, 0));
        rc = 0;
    } else if (rc == KINO_DONE) {
        rc = kino_err_set(err, KINO_ENOTFOUND, "no media with id '%s'", id);
    }
    db_finalize(st);
    return rc;
}

/*
 * The list query for a scope and a position. Parameters are numbered in the
 * order they are bound: the user id (when the scope needs one), then the
 * position (when there is one), then the limit. The SQL is put together from
 * fixed pieces only; every value is bound.
 */
static int prepare_list(struct db_conn *c, enum media_scope scope, const char *user_id,
                        int64_t after_created_at, const char *after_id, int limit,
                        struct db_stmt **ret, struct kino_err *err)
{
    const char *scope_sql = NULL;
    int uses_user = 0;
    if (scope == MEDIA_SCOPE_OWNED) {
        if (!user_id)
            return kino_err_set(err, KINO_EINVAL, "listing own media needs a user");
        scope_sql = "owner_id = $1";
        uses_user = 1;
    } else if (scope == MEDIA_SCOPE_LISTED) {
        scope_sql = user_id ? "(visibility = 'public' OR owner_id = $1)" : "visibility = 'public'";
        uses_user = user_id != NULL;
    }
    int pos = uses_user ? 2 : 1;
    char seek[128] = "";
    if (after_id)
        snprintf(seek, sizeof(seek), "(created_at < $%d OR (created_at = $%d AND id < $%d))", pos,
                 pos, pos + 1);
    char sql[640];
    snprintf(sql, sizeof(sql),
             "SELECT " MEDIA_COLUMNS " FROM media %s%s%s%s "
             "ORDER BY created_at DESC, id DESC LIMIT $%d",
             scope_sql || after_id ? "WHERE " : "", scope_sql ? scope_sql : "",
             scope_sql && after_id ? " AND " : "", seek, pos + (after_id ? 2 : 0));

    int rc = db_prepare(c, sql, ret, err);
    if (rc < 0)
        return rc;
    int i = 1;
    if (uses_user)
        db_bind_text(*ret, i++, user_id);
    if (after_id) {
        db_bind_int64(*ret, i++, after_created_at);
        db_bind_text(*ret, i++, after_id);
    }
    db_bind_int64(*ret, i, limit);
    return 0;
}

int model_media_list(struct db_conn *c, enum media_scope scope, const char *user_id,
                     int64_t after_created_at, const char *after_id, int limit,
                     struct media_row **ret_rows, size_t *ret_n, struct kino_err *err)
{
    struct db_stmt *st;
    int rc = prepare_list(c, scope, user_id, after_created_at, after_id, limit, &st, err);
    if (rc < 0)
        return rc;
    struct media_row *rows = xcalloc((size_t)limit + 1, sizeof(*rows));
    size_t n = 0;
    while ((rc = db_step(st, err)) == KINO_ROW && n < (size_t)limit)
        read_media(st, &rows[n++]);
    db_finalize(st);
    if (rc < 0) {
        model_media_rows_free(rows, n);
        return rc;
    }
    *ret_rows = rows;
    *ret_n = n;
    return 0;
}

static int changed_one(int64_t rc, const char *id, struct kino_err *err)
{
    if (rc < 0)
        return (int)rc;
    if (rc == 0)
        return kino_err_set(err, KINO_ENOTFOUND, "no media with id '%s'", id);
    return 0;
}

int model_media_update_meta(struct db_conn *c, const char *id, const char *title,
                            const char *description, const char *tags_json,
                            const char *visibility, int64_t now, struct kino_err *err)
{
    if (visibility && !model_media_visibility_valid(visibility))
        return kino_err_set(err, KINO_EINVAL,
                            "visibility must be 'public', 'unlisted' or 'private'");
    int64_t rc = model_run(c,
                     "UPDATE media SET title = COALESCE($2, title), "
                     "description = COALESCE($3, description), tags = COALESCE($4, tags), "
                     "visibility = COALESCE($5, visibility), updated_at = $6 WHERE id = $1",
                     err, "ttttti", id, title, description, tags_json, visibility,
                     now);
    return changed_one(rc, id, err);
}

int model_media_set_status(struct db_conn *c, const char *id, const char *status, double progress,
                           const char *error, int64_t now, struct kino_err *err)
{
    int64_t rc = model_run(c,
                     "UPDATE media SET status = $2, progress = $3, error = $4, updated_at = $5, "
                     "playable = CASE WHEN $2 = 'ready' THEN playable ELSE 0 END WHERE id = $1",
                     err, "ttdti", id, status, progress, error, now);
    return changed_one(rc, id, err);
}

int model_media_set_playable(struct db_conn *c, const char *id, int64_t now, struct kino_err *err)
{
    int64_t rc = model_run(c, "UPDATE media SET playable = 1, updated_at = $2 WHERE id = $1", err,
                           "ti", id, now);
    return changed_one(rc, id, err);
}

int model_media_set_progress(struct db_conn *c, const char *id, double progress, int64_t now,
                             struct kino_err *err)
{
    int64_t rc = model_run(c,
                     "UPDATE media SET progress = MAX(progress, $2), updated_at = $3 WHERE id = $1",
                     err, "tdi", id, progress, now);
    return changed_one(rc, id, err);
}

int model_media_set_ready(struct db_conn *c, const char *id, const char *type, double duration_s,
                          int width, int height, const char *renditions_json, int64_t now,
                          struct kino_err *err)
{
    int64_t rc = model_run(c,
                     "UPDATE media SET status = 'ready', progress = 1, error = NULL, playable = 1, type = $2, "
                     "duration_s = $3, width = $4, height = $5, renditions = $6, updated_at = $7 "
                     "WHERE id = $1",
                     err, "ttdiiti", id, type, duration_s, (int64_t)width, (int64_t)height,
                     renditions_json, now);
    return changed_one(rc, id, err);
}

int model_media_delete(struct db_conn *c, const char *id, struct kino_err *err)
{
    return changed_one(model_run(c, "DELETE FROM media WHERE id = $1", err, "t", id), id, err);
}

int model_job_enqueue(struct db_conn *c, const char *media_id, int max_attempts, int64_t now,
                      struct kino_err *err)
{
    char id[KINO_ID_LEN + 1];
    id_new(id);
    int64_t rc = model_run(c,
                     "INSERT INTO jobs (id, media_id, state, attempts, max_attempts, run_after, "
                     "created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $4, $4, $4)",
                     err, "ttii", id, media_id, (int64_t)max_attempts, now);
    return rc < 0 ? (int)rc : 0;
}

int model_job_lease(struct db_conn *c, const char *owner, int64_t now, int64_t lease_ms,
                    struct job_row *ret, struct kino_err *err)
{
    /* One statement picks and claims, so two workers can never take the same job. */
    struct db_stmt *st;
    int rc = model_query(c, &st,
                   "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, "
                   "attempts = attempts + 1, updated_at = $3 "
                   "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $3 "
                   "            ORDER BY created_at LIMIT 1) "
                   "RETURNING id, media_id, attempts, max_attempts",
                   err, "tii", owner, now + lease_ms, now);
    if (rc < 0)
        return rc;
    rc = db_step(st, err);
    if (rc == KINO_ROW) {
        model_copy_fixed(ret->id, sizeof(ret->id), db_column_text(st, 0));
        model_copy_fixed(ret->media_id, sizeof(ret->media_id), db_column_text(st, 1));
        ret->attempts = (int)db_column_int64(st, 2);
        ret->max_attempts = (int)db_column_int64(st, 3);
        rc = db_step(st, err) < 0 ? KINO_EDB : 0;
    } else if (rc == KINO_DONE) {
        rc = KINO_ENOTFOUND;
    }
    db_finalize(st);
    return rc;
}

static int owned_one(int64_t rc, const char *job_id, struct kino_err *err)
{
    if (rc < 0)
        return (int)rc;
    if (rc == 0)
        return kino_err_set(err, KINO_ENOTFOUND, "job %s is no longer held by this worker", job_id);
    return 0;
}

int model_job_renew(struct db_conn *c, const char *job_id, const char *owner, int64_t now,
                    int64_t lease_ms, struct kino_err *err)
{
    int64_t rc = model_run(c,
                     "UPDATE jobs SET lease_expires_at = $3, updated_at = $4 "
                     "WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
                     err, "ttii", job_id, owner, now + lease_ms, now);
    return owned_one(rc, job_id, err);
}

int model_job_finish(struct db_conn *c, const char *job_id, const char *owner, const char *state,
                     const char *error, int64_t now, struct kino_err *err)
{
    int64_t rc = model_run(c,
                     "UPDATE jobs SET state = $3, last_error = COALESCE($4, last_error), "
                     "lease_owner = NULL, lease_expires_at = NULL, updated_at = $5 "
                     "WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
                     err, "tttti", job_id, owner, state, error, now);
    return owned_one(rc, job_id, err);
}

int model_job_retry(struct db_conn *c, const char *job_id, const char *owner, int64_t run_after,
                    const char *error, int64_t now, struct kino_err *err)
{
    int64_t rc = model_run(c,
                     "UPDATE jobs SET state = 'queued', run_after = $3, last_error = $4, "
                     "lease_owner = NULL, lease_expires_at = NULL, updated_at = $5 "
                     "WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
                     err, "ttiti", job_id, owner, run_after, error, now);
    return owned_one(rc, job_id, err);
}

int model_job_release(struct db_conn *c, const char *job_id, const char *owner, int64_t now,
                      struct kino_err *err)
{
    int64_t rc = model_run(c,
                     "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), "
                     "run_after = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = $3 "
                     "WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
                     err, "tti", job_id, owner, now);
    return owned_one(rc, job_id, err);
}

int model_job_requeue_expired(struct db_conn *c, int64_t now, int64_t *ret_n, struct kino_err *err)
{
    int64_t failed = model_run(c,
                         "UPDATE media SET status = 'failed', updated_at = $1, error = "
                         "'processing stopped unexpectedly several times (the worker crashed or "
                         "was killed); upload the file again, and if it keeps failing report it "
                         "with the server log' "
                         "WHERE id IN (SELECT media_id FROM jobs WHERE state = 'running' "
                         "AND lease_expires_at < $1 AND attempts >= max_attempts)",
                         err, "i", now);
    if (failed < 0)
        return (int)failed;
    int64_t n = model_run(c,
                    "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' "
                    "ELSE 'queued' END, last_error = 'lease expired: the worker stopped "
                    "answering', lease_owner = NULL, lease_expires_at = NULL, run_after = $1, "
                    "updated_at = $1 WHERE state = 'running' AND lease_expires_at < $1",
                    err, "i", now);
    if (n < 0)
        return (int)n;
    int64_t q = model_run(c,
                    "UPDATE media SET status = 'queued', progress = 0, playable = 0, updated_at = $1 WHERE "
                    "status = 'processing' AND id IN (SELECT media_id FROM jobs WHERE "
                    "state = 'queued')",
                    err, "i", now);
    if (q < 0)
        return (int)q;
    if (ret_n)
        *ret_n = n;
    return 0;
}
