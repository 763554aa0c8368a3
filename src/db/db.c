/* SPDX-License-Identifier: MIT */
/*
 * Backend dispatch, the connection pool and migrations. Callers never call a
 * backend's ops directly (SQLite's os.h pattern): checks live here once.
 */
#include "db/db_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/banned.h"

int db_open(const char *url, unsigned pool_size, struct db **ret_db, struct kino_err *err)
{
    const char *path = url;
    if (strncmp(url, "sqlite:", 7) == 0)
        path = url + 7;
    else if (strstr(url, "://"))
        return kino_err_set(err, KINO_ECONFIG,
                            "database URL '%s' is not supported; use sqlite:PATH", url);
    struct db *db;
    int rc = db_sqlite_open(path, &db, err);
    if (rc < 0)
        return rc;
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->available, NULL);
    db->pool_size = pool_size ? pool_size : 1;

    /* Open one connection now so that a bad path fails at start-up, not on first use. */
    struct db_conn *conn;
    rc = db->ops->connect(db, &conn, err);
    if (rc < 0) {
        db_close(db);
        return rc;
    }
    db->opened = 1;
    conn->next_free = NULL;
    db->free_list = conn;
    *ret_db = db;
    return 0;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    while (db->free_list) {
        struct db_conn *c = db->free_list;
        db->free_list = c->next_free;
        db->ops->disconnect(c);
    }
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->available);
    db->ops->close(db);
}

struct db_conn *db_acquire(struct db *db)
{
    pthread_mutex_lock(&db->lock);
    for (;;) {
        if (db->free_list) {
            struct db_conn *c = db->free_list;
            db->free_list = c->next_free;
            pthread_mutex_unlock(&db->lock);
            return c;
        }
        if (db->opened < db->pool_size) {
            db->opened++;
            pthread_mutex_unlock(&db->lock);
            struct db_conn *c;
            struct kino_err err = { 0 };
            if (db->ops->connect(db, &c, &err) == 0)
                return c;
            /* The first connection worked, so this is transient (fds, memory): wait for one. */
            pthread_mutex_lock(&db->lock);
            db->opened--;
        }
        pthread_cond_wait(&db->available, &db->lock);
    }
}

void db_release(struct db_conn *conn)
{
    if (!conn)
        return;
    if (conn->in_transaction)
        db_rollback(conn);
    struct db *db = conn->db;
    pthread_mutex_lock(&db->lock);
    conn->next_free = db->free_list;
    db->free_list = conn;
    pthread_cond_signal(&db->available);
    pthread_mutex_unlock(&db->lock);
}

int db_exec(struct db_conn *conn, const char *sql, struct kino_err *err)
{
    return conn->db->ops->exec(conn, sql, err);
}

int db_begin(struct db_conn *conn, struct kino_err *err)
{
    int rc = conn->db->ops->exec(conn, conn->db->ops->begin_sql, err);
    if (rc == 0)
        conn->in_transaction = 1;
    return rc;
}

int db_commit(struct db_conn *conn, struct kino_err *err)
{
    int rc = conn->db->ops->exec(conn, "COMMIT", err);
    if (rc == 0)
        conn->in_transaction = 0;
    else
        db_rollback(conn);
    return rc;
}

void db_rollback(struct db_conn *conn)
{
    (void)conn->db->ops->exec(conn, "ROLLBACK", NULL);
    conn->in_transaction = 0;
}

int db_prepare(struct db_conn *conn, const char *sql, struct db_stmt **ret_stmt,
               struct kino_err *err)
{
    return conn->db->ops->prepare(conn, sql, ret_stmt, err);
}

void db_bind_text(struct db_stmt *st, int idx, const char *value)
{
    if (value)
        st->conn->db->ops->bind_text(st, idx, value);
    else
        st->conn->db->ops->bind_null(st, idx);
}

void db_bind_int64(struct db_stmt *st, int idx, int64_t value)
{
    st->conn->db->ops->bind_int64(st, idx, value);
}

void db_bind_double(struct db_stmt *st, int idx, double value)
{
    st->conn->db->ops->bind_double(st, idx, value);
}

void db_bind_null(struct db_stmt *st, int idx)
{
    st->conn->db->ops->bind_null(st, idx);
}

int db_step(struct db_stmt *st, struct kino_err *err)
{
    return st->conn->db->ops->step(st, err);
}

const char *db_column_text(struct db_stmt *st, int col)
{
    return st->conn->db->ops->column_text(st, col);
}

int64_t db_column_int64(struct db_stmt *st, int col)
{
    return st->conn->db->ops->column_int64(st, col);
}

double db_column_double(struct db_stmt *st, int col)
{
    return st->conn->db->ops->column_double(st, col);
}

int db_column_is_null(struct db_stmt *st, int col)
{
    return st->conn->db->ops->column_is_null(st, col);
}

int64_t db_changes(struct db_conn *conn)
{
    return conn->db->ops->changes(conn);
}

void db_finalize(struct db_stmt *st)
{
    if (st)
        st->conn->db->ops->finalize(st);
}

int db_ping(struct db *db, struct kino_err *err)
{
    struct db_conn *c = db_acquire(db);
    struct db_stmt *st;
    int rc = db_prepare(c, "SELECT 1", &st, err);
    if (rc == 0) {
        rc = db_step(st, err);
        rc = rc == KINO_ROW ? 0 : (rc < 0 ? rc : KINO_EDB);
        db_finalize(st);
    }
    db_release(c);
    return rc;
}

/*
 * Each migration runs in its own transaction together with the row that
 * records it, so a crash mid-way leaves the schema at a known version.
 */
int db_migrate(struct db *db, struct kino_err *err)
{
    struct db_conn *c = db_acquire(db);
    int rc = db_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
                     err);
    for (unsigned v = 1; rc == 0 && v <= db->ops->n_migrations; v++) {
        struct db_stmt *st;
        if ((rc = db_begin(c, err)) < 0)
            break;
        if ((rc = db_prepare(c, "SELECT 1 FROM schema_migrations WHERE version = $1", &st, err)) < 0)
            break;
        db_bind_int64(st, 1, v);
        rc = db_step(st, err);
        db_finalize(st);
        if (rc == KINO_ROW) {
            db_rollback(c);
            rc = 0;
            continue;
        }
        if (rc < 0 || (rc = db_exec(c, db->ops->migrations[v - 1], err)) < 0)
            break;
        if ((rc = db_prepare(c, "INSERT INTO schema_migrations (version) VALUES ($1)", &st, err)) < 0)
            break;
        db_bind_int64(st, 1, v);
        rc = db_step(st, err);
        db_finalize(st);
        if (rc < 0 || (rc = db_commit(c, err)) < 0)
            break;
    }
    db_release(c);
    return rc < 0 ? rc : 0;
}
