/* SPDX-License-Identifier: MIT */
/* JSON-lines logger (see log.h). */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/banned.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
    min_level = level;
}

int log_parse_level(const char *name, enum log_level *ret_level)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *ret_level = (enum log_level)i;
            return 0;
        }
    }
    return KINO_EINVAL;
}

char *log_json_escape(const char *s, char *out, unsigned outsz)
{
    unsigned o = 0;
    if (outsz == 0)
        return out;
    for (; s && *s && o + 7 < outsz; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (unsigned)snprintf(out + o, outsz - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

void log_fields(enum log_level level, const char *id, const char *msg, const char *fields)
{
    if (level < min_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);

    char line[4096], esc_msg[2048], esc_id[128];
    int n = snprintf(line, sizeof(line),
                     "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\"%s%s%s,"
                     "\"msg\":\"%s\"%s%s}\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
                     id ? ",\"id\":\"" : "", id ? log_json_escape(id, esc_id, sizeof(esc_id)) : "",
                     id ? "\"" : "", log_json_escape(msg, esc_msg, sizeof(esc_msg)),
                     fields && *fields ? "," : "", fields ? fields : "");
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        /* Truncated: keep the line valid JSON-ish by ending it; a log line never grows unbounded. */
        n = (int)sizeof(line) - 1;
        line[n - 2] = '}';
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void log_msg(enum log_level level, const char *id, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_fields(level, id, msg, NULL);
}
