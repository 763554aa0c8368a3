/* SPDX-License-Identifier: MIT */
/*
 * Private to src/model/: the statement helpers every model file uses, so that
 * each query is one call with its $N arguments (sql.c).
 */
#ifndef KINO_MODEL_MODEL_INTERNAL_H
#define KINO_MODEL_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

/*
 * Run a statement without results, binding the variadic arguments described by
 * `types`, one letter each: 't' const char * (NULL binds NULL), 'i' int64_t,
 * 'd' double. Returns the number of rows changed or a negative code.
 */
int64_t model_run(struct db_conn *c, const char *sql, struct kino_err *err, const char *types,
                  ...);

/* Prepare a query with bound arguments (as model_run); the caller steps and finalizes. */
int model_query(struct db_conn *c, struct db_stmt **ret, const char *sql, struct kino_err *err,
                const char *types, ...);

/* xstrdup(s), or NULL for NULL. */
char *model_dup_or_null(const char *s);

/* Copy `src` (NULL reads as "") into a fixed buffer, truncating. */
void model_copy_fixed(char *dst, size_t size, const char *src);

#endif
