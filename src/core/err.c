/* SPDX-License-Identifier: MIT */
/* Error names, messages and the kino_err out-parameter. */
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/banned.h"

void kino_err_clear(struct kino_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

int kino_err_set(struct kino_err *err, int code, const char *fmt, ...)
{
    if (!err || err->code != 0)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *kino_err_name(int code)
{
    switch (code) {
#define KINO_ERR_NAME(name, value, msg)                                                           \
    case KINO_##name:                                                                              \
        return "KINO_" #name;
        KINO_ERR_MAP(KINO_ERR_NAME)
#undef KINO_ERR_NAME
    case 0:
        return "OK";
    }
    if (code < 0 && code > -4096) {
        const char *name = strerrorname_np(-code);
        if (name)
            return name;
    }
    return "EUNKNOWN";
}

const char *kino_strerror(int code)
{
    switch (code) {
#define KINO_ERR_MSG(name, value, msg)                                                            \
    case KINO_##name:                                                                              \
        return msg;
        KINO_ERR_MAP(KINO_ERR_MSG)
#undef KINO_ERR_MSG
    case 0:
        return "success";
    }
    if (code < 0 && code > -4096) {
        const char *desc = strerrordesc_np(-code);
        if (desc)
            return desc;
    }
    return "unknown error";
}

const char *kino_err_message(const struct kino_err *err, int code)
{
    if (err && err->msg[0])
        return err->msg;
    return kino_strerror(code);
}
