/* SPDX-License-Identifier: MIT */
/*
 * Error codes and the error out-parameter shared by every module.
 *
 * Functions return 0 on success or a negative code: -errno for system errors,
 * or one of the KINO_E* codes below. Where a person will read the reason, the
 * caller passes a `struct kino_err *` last (may be NULL); the failing layer
 * fills it with the code and a message that says what happened and what to do.
 */
#ifndef KINO_CORE_ERR_H
#define KINO_CORE_ERR_H

#include <stddef.h>

/*
 * X(NAME, value, message): one table gives the enum, kino_err_name() and
 * kino_strerror(). Values start far below any -errno so both can share an int.
 */
#define KINO_ERR_MAP(X)                                                                            \
    X(EINVAL, -1000, "invalid argument")                                                           \
    X(ENOTFOUND, -1001, "not found")                                                               \
    X(ETOOBIG, -1002, "too large")                                                                 \
    X(EMEDIA, -1003, "unsupported or broken media")                                                \
    X(EDB, -1004, "database error")                                                                \
    X(ESTORAGE, -1005, "storage error")                                                            \
    X(ECONFLICT, -1006, "conflict with the current state")                                         \
    X(ECANCELED, -1007, "canceled")                                                                \
    X(ECONFIG, -1008, "invalid configuration")                                                     \
    X(EPROTO, -1009, "malformed request")                                                          \
    X(EINTERNAL, -1010, "internal error")

enum kino_err_code {
#define KINO_ERR_ENUM(name, value, msg) KINO_##name = (value),
    KINO_ERR_MAP(KINO_ERR_ENUM)
#undef KINO_ERR_ENUM
};

/* Row/done results of iterators (db_step and the like); not errors. */
enum { KINO_ROW = 1, KINO_DONE = 0 };

#define KINO_ERR_MSG_MAX 256

/* A code plus a fixed-size message; filled where the failure happens, never allocates. */
struct kino_err {
    int code;                    /* 0 or a negative code as above */
    char msg[KINO_ERR_MSG_MAX];  /* NUL-terminated, human readable, "" when unset */
};

/* Reset to "no error". Accepts NULL. */
void kino_err_clear(struct kino_err *err);

/*
 * Record `code` and a printf-style message in `err` (may be NULL) and return
 * `code`, so a failing function can `return kino_err_set(err, KINO_EINVAL, "...")`.
 * An earlier message is kept: the innermost layer knows the most.
 */
int kino_err_set(struct kino_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "KINO_ENOTFOUND", "ENOENT"...; never NULL. */
const char *kino_err_name(int code);

/* A short description of the code (strerror for -errno); never NULL. */
const char *kino_strerror(int code);

/* The message of `err` if it has one, else kino_strerror(code). */
const char *kino_err_message(const struct kino_err *err, int code);

#endif
