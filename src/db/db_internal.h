/* SPDX-License-Identifier: MIT */
/*
 * What a database backend implements. Only db.c and the backends include this.
 * A backend embeds `struct db` first in its own struct and fills a const ops
 * table; db.c adds the connection pool and the migrations on top.
 */
#ifndef KINO_DB_INTERNAL_H
#define KINO_DB_INTERNAL_H

#include <pthread.h>

#include "db/db.h"

struct db_ops {
    const char *name;
    /* Open one connection. */
    int (*connect)(struct db *db, struct db_conn **ret_conn, struct kino_err *err);
    void (*disconnect)(struct db_conn *conn);
    int (*exec)(struct db_conn *conn, const char *sql, struct kino_err *err);
    int (*prepare)(struct db_conn *conn, const char *sql, struct db_stmt **ret, struct kino_err *err);
    void (*bind_text)(struct db_stmt *st, int idx, const char *value);
    void (*bind_int64)(struct db_stmt *st, int idx, int64_t value);
    void (*bind_double)(struct db_stmt *st, int idx, double value);
    void (*bind_null)(struct db_stmt *st, int idx);
    int (*step)(struct db_stmt *st, struct kino_err *err);
    const char *(*column_text)(struct db_stmt *st, int col);
    int64_t (*column_int64)(struct db_stmt *st, int col);
    double (*column_double)(struct db_stmt *st, int col);
    int (*column_is_null)(struct db_stmt *st, int col);
    int64_t (*changes)(struct db_conn *conn);
    void (*finalize)(struct db_stmt *st);
    const char *begin_sql; /* "BEGIN IMMEDIATE" for SQLite */
    void (*close)(struct db *db);
    /* Migrations, oldest first; each entry one version. */
    const char *const *migrations;
    unsigned n_migrations;
};

/* Every connection starts with this. */
struct db_conn {
    struct db *db;
    struct db_conn *next_free;
    int in_transaction;
};

/* Every statement starts with this. */
struct db_stmt {
    struct db_conn *conn;
};

struct db {
    const struct db_ops *ops;
    pthread_mutex_t lock;
    pthread_cond_t available;
    struct db_conn *free_list;
    unsigned pool_size, opened;
};

/* Backend constructors: fill *ret_db with a struct embedding struct db. */
int db_sqlite_open(const char *path, struct db **ret_db, struct kino_err *err);

#endif
