/* SPDX-License-Identifier: MIT */
/*
 * The database: a small driver interface (connections, prepared statements,
 * transactions) with one backend per engine, chosen at start-up from a URL
 * ("sqlite:PATH" or a plain path; PostgreSQL later). SQL is written once with
 * $1, $2... placeholders, which every backend accepts. The only module that
 * includes sqlite3.h. Schema migrations run at start-up (db_migrate).
 *
 * Threading: a struct db is shared by all threads; each thread takes a
 * connection with db_acquire for a unit of work and gives it back with
 * db_release. A connection and its statements are used by one thread at a time.
 */
#ifndef KINO_DB_DB_H
#define KINO_DB_DB_H

#include <stdint.h>

#include "core/err.h"

struct db;
struct db_conn;
struct db_stmt;

/*
 * Open the database at `url` with up to `pool_size` connections. Creates the
 * file if missing. Caller frees with db_close. -errno/KINO_EDB with a message.
 */
int db_open(const char *url, unsigned pool_size, struct db **ret_db, struct kino_err *err);

/* Close every connection. All must have been released. Accepts NULL. */
void db_close(struct db *db);

/* Bring the schema to the newest version; idempotent. KINO_EDB on failure. */
int db_migrate(struct db *db, struct kino_err *err);

/* Check that the database answers (for /ready). */
int db_ping(struct db *db, struct kino_err *err);

/* Take a connection, waiting for one if all are in use; never NULL. */
struct db_conn *db_acquire(struct db *db);

/* Give it back. Rolls back a transaction left open. Accepts NULL. */
void db_release(struct db_conn *conn);

/* Run SQL without parameters or results (may hold several statements). */
int db_exec(struct db_conn *conn, const char *sql, struct kino_err *err);

/* Transactions. db_begin takes the write lock up front so two writers never deadlock. */
int db_begin(struct db_conn *conn, struct kino_err *err);
int db_commit(struct db_conn *conn, struct kino_err *err);
void db_rollback(struct db_conn *conn);

/*
 * Prepare one statement. Caller frees with db_finalize (cached statements are
 * a later optimisation; preparing is cheap next to the work done here).
 */
int db_prepare(struct db_conn *conn, const char *sql, struct db_stmt **ret_stmt,
               struct kino_err *err);

/* Bind parameter `idx` (1-based, $1 is 1). Text is copied; NULL text binds SQL NULL. */
void db_bind_text(struct db_stmt *st, int idx, const char *value);
void db_bind_int64(struct db_stmt *st, int idx, int64_t value);
void db_bind_double(struct db_stmt *st, int idx, double value);
void db_bind_null(struct db_stmt *st, int idx);

/* Advance: KINO_ROW when a row is ready, KINO_DONE at the end, or KINO_EDB with a message. */
int db_step(struct db_stmt *st, struct kino_err *err);

/* Columns of the current row (0-based). Text is borrowed until the next step or finalize. */
const char *db_column_text(struct db_stmt *st, int col); /* NULL for SQL NULL */
int64_t db_column_int64(struct db_stmt *st, int col);
double db_column_double(struct db_stmt *st, int col);
int db_column_is_null(struct db_stmt *st, int col);

/* Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
int64_t db_changes(struct db_conn *conn);

void db_finalize(struct db_stmt *st);

#endif
