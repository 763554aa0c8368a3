/* SPDX-License-Identifier: MIT */
/* Statement helpers shared by the model files (see model_internal.h). */
#include "model/model_internal.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/mem.h"
#include "core/banned.h"

static int prepare_bind(struct db_conn *c, const char *sql, struct db_stmt **ret,
                        struct kino_err *err, const char *types, va_list ap)
{
    struct db_stmt *st;
    int rc = db_prepare(c, sql, &st, err);
    if (rc < 0)
        return rc;
    for (int i = 0; types[i]; i++) {
        switch (types[i]) {
        case 't': db_bind_text(st, i + 1, va_arg(ap, const char *)); break;
        case 'i': db_bind_int64(st, i + 1, va_arg(ap, int64_t)); break;
        case 'd': db_bind_double(st, i + 1, va_arg(ap, double)); break;
        }
    }
    *ret = st;
    return 0;
}

int64_t model_run(struct db_conn *c, const char *sql, struct kino_err *err, const char *types, ...)
{
    struct db_stmt *st;
    va_list ap;
    va_start(ap, types);
    int rc = prepare_bind(c, sql, &st, err, types, ap);
    va_end(ap);
    if (rc < 0)
        return rc;
    rc = db_step(st, err);
    db_finalize(st);
    return rc < 0 ? rc : db_changes(c);
}

int model_query(struct db_conn *c, struct db_stmt **ret, const char *sql, struct kino_err *err,
                const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int rc = prepare_bind(c, sql, ret, err, types, ap);
    va_end(ap);
    return rc;
}

char *model_dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void model_copy_fixed(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}
