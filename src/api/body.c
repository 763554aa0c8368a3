/* SPDX-License-Identifier: MIT */
/*
 * Small JSON request bodies (accounts, API keys): read into a buffer capped at
 * API_SMALL_BODY_MAX, refused with 413 before any parsing, and as soon as a
 * larger Content-Length is announced, before the body is read at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/mem.h"
#include "core/banned.h"

static void free_body(void *state)
{
    struct buf *b = state;
    buf_release(b);
    free(b);
}

static void refuse_too_big(struct http_request *req)
{
    char detail[160];
    snprintf(detail, sizeof(detail),
             "the request body is larger than %d bytes; this endpoint takes a small JSON object",
             API_SMALL_BODY_MAX);
    http_respond_problem(req, 413, detail);
}

int api_small_body(struct http_request *req, const char *data, size_t len)
{
    if (!data) {
        if (http_request_content_length(req) > API_SMALL_BODY_MAX) {
            refuse_too_big(req);
            return KINO_ETOOBIG;
        }
        struct buf *b = xmalloc(sizeof(*b));
        buf_init(b, API_SMALL_BODY_MAX);
        http_request_set_state(req, b, free_body);
        return 0;
    }
    /* Chunked bodies announce no length: the cap is checked as they arrive. */
    if (buf_add(http_request_state(req), data, len) < 0) {
        refuse_too_big(req);
        return KINO_ETOOBIG;
    }
    return 0;
}

json_t *api_small_body_object(struct http_request *req, const char *example)
{
    const struct buf *b = http_request_state(req);
    json_error_t jerr;
    json_t *obj = b && b->len ? json_loadb(b->ptr, b->len, 0, &jerr) : NULL;
    if (json_is_object(obj))
        return obj;
    /* Where the JSON breaks, but not jansson's text: it quotes the input near the error,
     * which may be a password. */
    char detail[400], where[80] = "";
    if (b && b->len && !obj)
        snprintf(where, sizeof(where), " (the JSON is malformed at line %d, column %d)",
                 jerr.line, jerr.column);
    snprintf(detail, sizeof(detail), "the body must be a JSON object such as %s%s", example, where);
    http_respond_problem(req, 400, detail);
    json_decref(obj);
    return NULL;
}

int api_json_string(json_t *obj, const char *name, int required, const char **ret,
                    struct kino_err *err)
{
    json_t *v = json_object_get(obj, name);
    *ret = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return kino_err_set(err, KINO_EINVAL, "'%s' is required", name);
        return 0;
    }
    /* jansson accepts "\u0000" inside strings; a C string would silently end there. */
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return kino_err_set(err, KINO_EINVAL, "'%s' must be a string", name);
    *ret = json_string_value(v);
    return 0;
}

int api_json_only_keys(json_t *obj, const char *const *allowed, const char *what,
                       struct kino_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int known = 0;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known)
            return kino_err_set(err, KINO_EINVAL, "'%.64s' is not a field of this request; %s",
                                key, what);
    }
    return 0;
}
