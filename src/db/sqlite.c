/* SPDX-License-Identifier: MIT */
/*
 * The SQLite backend: one file, WAL journal so readers never wait for the
 * writer, a busy timeout so concurrent writers queue instead of failing.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "db/db_internal.h"
#include "core/banned.h"

struct sqlite_db {
    struct db base; /* first: db_sqlite_open hands out &base */
    char *path;
};

struct sqlite_conn {
    struct db_conn base;
    sqlite3 *handle;
};

struct sqlite_stmt {
    struct db_stmt base;
    sqlite3_stmt *handle;
};

static const char *const migrations[] = {
    /* 1: media and the job queue */
    "CREATE TABLE media ("
    "  id TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL DEFAULT 'video',"
    "  title TEXT NOT NULL DEFAULT '',"
    "  description TEXT NOT NULL DEFAULT '',"
    "  tags TEXT NOT NULL DEFAULT '[]',"      /* JSON array of strings */
    "  status TEXT NOT NULL,"
    "  progress REAL NOT NULL DEFAULT 0,"
    "  error TEXT,"
    "  duration_s REAL,"
    "  width INTEGER,"
    "  height INTEGER,"
    "  renditions TEXT NOT NULL DEFAULT '[]',"  /* JSON array, see api/media.c */
    "  source_key TEXT,"
    "  source_name TEXT,"
    "  source_size INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"            /* ms since the epoch */
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX media_newest ON media (created_at DESC, id DESC);"
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY,"
    "  media_id TEXT NOT NULL REFERENCES media (id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL DEFAULT 'transcode',"
    "  state TEXT NOT NULL,"                    /* queued|running|done|failed|dead */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  max_attempts INTEGER NOT NULL,"
    "  lease_owner TEXT,"
    "  lease_expires_at INTEGER,"
    "  run_after INTEGER NOT NULL,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX jobs_ready ON jobs (state, run_after, created_at);"
    "CREATE INDEX jobs_media ON jobs (media_id);",
    /* 2: a media can be watched before its ladder is finished */
    "ALTER TABLE media ADD COLUMN playable INTEGER NOT NULL DEFAULT 0;",
    /* 3: accounts (docs/internals/auth.md); media get an owner and a visibility (public for
     * media uploaded before accounts existed: they were open to all then). Secrets are stored only as SHA-256 hex digests (auth_secret_hash). */
    "CREATE TABLE users ("
    "  id TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE,"             /* lower-cased by model/users.c */
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  role TEXT NOT NULL CHECK (role IN ('admin', 'creator', 'viewer')),"
    "  password_hash TEXT NOT NULL,"            /* $argon2id$... */
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX users_newest ON users (created_at DESC, id DESC);"
    "CREATE TABLE refresh_tokens ("
    "  id TEXT PRIMARY KEY,"
    "  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  family_id TEXT NOT NULL,"                /* every rotation of one login */
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"                        /* rotated: replaying it is reuse */
    "  revoked_at INTEGER"
    ");"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);"
    "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);"
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY,"
    "  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"                   /* the first 8 characters, to tell keys apart */
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER,"
    "  revoked_at INTEGER"
    ");"
    "CREATE INDEX api_keys_user ON api_keys (user_id, created_at);"
    "ALTER TABLE media ADD COLUMN owner_id TEXT REFERENCES users (id);"
    "ALTER TABLE media ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'"
    "  CHECK (visibility IN ('public', 'unlisted', 'private'));"
    "CREATE INDEX media_owner ON media (owner_id, created_at DESC, id DESC);",
};

static int fail(sqlite3 *h, int rc, struct kino_err *err, const char *what)
{
    return kino_err_set(err, KINO_EDB, "database: %s: %s", what,
                        h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
}

static int sq_connect(struct db *db, struct db_conn **ret_conn, struct kino_err *err)
{
    struct sqlite_db *sdb = (struct sqlite_db *)db;
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(sdb->path, &h,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int code = kino_err_set(err, KINO_EDB, "cannot open the database %s: %s", sdb->path,
                                h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return code;
    }
    sqlite3_busy_timeout(h, 10000);
    char *msg = NULL;
    rc = sqlite3_exec(h,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = kino_err_set(err, KINO_EDB, "cannot use the database %s: %s", sdb->path,
                                msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(h);
        return code;
    }
    struct sqlite_conn *c = xcalloc(1, sizeof(*c));
    c->base.db = db;
    c->handle = h;
    *ret_conn = &c->base;
    return 0;
}

static void sq_disconnect(struct db_conn *conn)
{
    struct sqlite_conn *c = (struct sqlite_conn *)conn;
    sqlite3_close(c->handle);
    free(c);
}

static int sq_exec(struct db_conn *conn, const char *sql, struct kino_err *err)
{
    struct sqlite_conn *c = (struct sqlite_conn *)conn;
    char *msg = NULL;
    int rc = sqlite3_exec(c->handle, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = kino_err_set(err, KINO_EDB, "database: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return code;
    }
    return 0;
}

/*
 * kino's SQL numbers its parameters $1, $2 as PostgreSQL does. SQLite reads
 * "$3" as a *named* parameter and numbers names in order of first appearance,
 * so "SET a = $3 WHERE id = $1" would bind the wrong values. "?3" is SQLite's
 * numbered form: rewrite $N to ?N outside string literals.
 */
static char *numbered_params(const char *sql)
{
    char *out = xstrdup(sql);
    int in_string = 0;
    for (char *p = out; *p; p++) {
        if (*p == '\'')
            in_string = !in_string;
        else if (!in_string && *p == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    }
    return out;
}

static int sq_prepare(struct db_conn *conn, const char *sql, struct db_stmt **ret,
                      struct kino_err *err)
{
    struct sqlite_conn *c = (struct sqlite_conn *)conn;
    sqlite3_stmt *h;
    char *native = numbered_params(sql);
    int rc = sqlite3_prepare_v2(c->handle, native, -1, &h, NULL);
    free(native);
    if (rc != SQLITE_OK)
        return fail(c->handle, rc, err, "prepare");
    struct sqlite_stmt *st = xcalloc(1, sizeof(*st));
    st->base.conn = conn;
    st->handle = h;
    *ret = &st->base;
    return 0;
}

#define H(st) (((struct sqlite_stmt *)(st))->handle)

static void sq_bind_text(struct db_stmt *st, int idx, const char *v)
{
    sqlite3_bind_text(H(st), idx, v, -1, SQLITE_TRANSIENT);
}
static void sq_bind_int64(struct db_stmt *st, int idx, int64_t v) { sqlite3_bind_int64(H(st), idx, v); }
static void sq_bind_double(struct db_stmt *st, int idx, double v) { sqlite3_bind_double(H(st), idx, v); }
static void sq_bind_null(struct db_stmt *st, int idx) { sqlite3_bind_null(H(st), idx); }

static int sq_step(struct db_stmt *st, struct kino_err *err)
{
    int rc = sqlite3_step(H(st));
    if (rc == SQLITE_ROW)
        return KINO_ROW;
    if (rc == SQLITE_DONE)
        return KINO_DONE;
    return fail(sqlite3_db_handle(H(st)), rc, err, "query");
}

static const char *sq_column_text(struct db_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(H(st), col);
}
static int64_t sq_column_int64(struct db_stmt *st, int col) { return sqlite3_column_int64(H(st), col); }
static double sq_column_double(struct db_stmt *st, int col) { return sqlite3_column_double(H(st), col); }
static int sq_column_is_null(struct db_stmt *st, int col)
{
    return sqlite3_column_type(H(st), col) == SQLITE_NULL;
}

static int64_t sq_changes(struct db_conn *conn)
{
    return sqlite3_changes64(((struct sqlite_conn *)conn)->handle);
}

static void sq_finalize(struct db_stmt *st)
{
    sqlite3_finalize(H(st));
    free(st);
}

static void sq_close(struct db *db)
{
    struct sqlite_db *sdb = (struct sqlite_db *)db;
    free(sdb->path);
    free(sdb);
}

static const struct db_ops sqlite_ops = {
    .name = "sqlite",
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .column_text = sq_column_text,
    .column_int64 = sq_column_int64,
    .column_double = sq_column_double,
    .column_is_null = sq_column_is_null,
    .changes = sq_changes,
    .finalize = sq_finalize,
    /* IMMEDIATE takes the write lock at BEGIN: a deferred transaction that
     * later upgrades can fail with SQLITE_BUSY without waiting. */
    .begin_sql = "BEGIN IMMEDIATE",
    .close = sq_close,
    .migrations = migrations,
    .n_migrations = sizeof(migrations) / sizeof(migrations[0]),
};

int db_sqlite_open(const char *path, struct db **ret_db, struct kino_err *err)
{
    if (!*path)
        return kino_err_set(err, KINO_ECONFIG, "the database path is empty");
    struct sqlite_db *sdb = xcalloc(1, sizeof(*sdb));
    sdb->base.ops = &sqlite_ops;
    sdb->path = xstrdup(path);
    *ret_db = &sdb->base;
    return 0;
}
