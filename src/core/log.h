/* SPDX-License-Identifier: MIT */
/*
 * JSON-lines logging on stderr: one object per line with time, level, the id of
 * the request or job it concerns, and a message. Only the top layers (HTTP
 * handlers, the job runner, the CLI) log; library code returns errors instead.
 * Thread-safe: each line is written with a single write(2).
 */
#ifndef KINO_CORE_LOG_H
#define KINO_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below `level` are dropped. Default LOG_INFO. Call before threads start. */
void log_set_level(enum log_level level);

/* Parse "debug|info|warn|error"; return 0 or KINO_EINVAL. */
int log_parse_level(const char *name, enum log_level *ret_level);

/*
 * Write {"ts":..., "level":..., "id":id, "msg":...} with `msg` formatted
 * printf-style. `id` may be NULL (omitted).
 */
void log_msg(enum log_level level, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Like log_msg, with `fields`: extra members already formatted as JSON object
 * members without braces (`"status":200,"path":"\/x"`), or NULL. Build string
 * values with log_json_escape().
 */
void log_fields(enum log_level level, const char *id, const char *msg, const char *fields);

/*
 * Write `s` JSON-escaped (without quotes) into `out` (size `outsz`), truncating
 * safely; return `out`.
 */
char *log_json_escape(const char *s, char *out, unsigned outsz);

#endif
