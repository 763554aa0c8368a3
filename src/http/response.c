/* SPDX-License-Identifier: MIT */
/*
 * Building answers: plain and JSON bodies, RFC 9457 problems, the error →
 * status table, and files with ETag, If-None-Match, If-Range and one byte range,
 * sent by sendfile. Answers are staged on the request; server.c queues them.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "http/internal.h"
#include "http/range.h"
#include "core/banned.h"

const char *http_reason_phrase(unsigned status)
{
    const char *r = MHD_get_reason_phrase_for(status);
    return r && *r ? r : "Unknown";
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    struct http_header *h = xcalloc(1, sizeof(*h));
    h->name = xstrdup(name);
    h->value = xstrdup(value);
    struct http_header **tail = &req->headers;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
}

void http_stage_response(struct http_request *req, struct MHD_Response *resp, unsigned status,
                         uint64_t bytes)
{
    if (req->responded) {
        /* A handler bug, not the client's: keep the first answer, say so once. */
        log_msg(LOG_ERROR, req->id, "%s %s answered twice; the second answer (%u) is dropped",
                req->method, req->path, status);
        MHD_destroy_response(resp);
        return;
    }
    MHD_add_response_header(resp, "X-Request-Id", req->id);
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "Content-Length, Content-Range, ETag, Location, X-Request-Id");
    for (struct http_header *h = req->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    req->response = resp;
    req->status = status;
    /* MHD drops the body of HEAD, 1xx, 204 and 304 answers; the log counts what is sent. */
    int bodyless = strcmp(req->method, "HEAD") == 0 || status < 200 || status == 204 ||
                   status == 304;
    req->bytes = bodyless ? 0 : bytes;
    req->responded = 1;
}

void http_respond(struct http_request *req, unsigned status, const char *content_type,
                  const void *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(len ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (!resp)
        abort(); /* only fails on allocation, which we treat as fatal everywhere */
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    http_stage_response(req, resp, status, len);
}

void http_respond_json(struct http_request *req, unsigned status, const char *json)
{
    http_respond(req, status, "application/json", json, strlen(json));
}

void http_respond_empty(struct http_request *req, unsigned status)
{
    http_respond(req, status, NULL, NULL, 0);
}

void http_respond_problem(struct http_request *req, unsigned status, const char *detail)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("about:blank"));
    json_object_set_new(o, "title", json_string(http_reason_phrase(status)));
    json_object_set_new(o, "status", json_integer(status));
    /* json_string refuses invalid UTF-8; a detail quoting client input must not vanish. */
    json_t *d = json_string(detail ? detail : "");
    json_object_set_new(o, "detail", d ? d : json_string("(detail was not valid UTF-8)"));
    json_t *inst = json_string(req->path);
    json_object_set_new(o, "instance", inst ? inst : json_string(""));
    json_object_set_new(o, "request_id", json_string(req->id));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        abort();
    http_respond(req, status, "application/problem+json", text, strlen(text));
    free(text);
}

unsigned http_status_for_error(int code)
{
    switch (code) {
    case KINO_EINVAL:
    case KINO_EPROTO:
        return 400;
    case KINO_ENOTFOUND:
        return 404;
    case KINO_ECONFLICT:
    case KINO_ECANCELED:
        return 409;
    case KINO_ETOOBIG:
        return 413;
    case KINO_EMEDIA:
        return 422;
    case -ENOSPC:
        return 507;
    default:
        return 500;
    }
}

void http_respond_error(struct http_request *req, int code, const struct kino_err *err)
{
    unsigned status = http_status_for_error(code);
    const char *msg = kino_err_message(err, code);
    if (status == 500) {
        /* Internal details stay in the log; the client gets the id to quote. */
        log_msg(LOG_ERROR, req->id, "%s %s failed: %s: %s", req->method, req->path,
                kino_err_name(code), msg);
        char detail[256];
        snprintf(detail, sizeof(detail),
                 "the server failed on this request; see the server log for request id %s",
                 req->id);
        http_respond_problem(req, status, detail);
        return;
    }
    http_respond_problem(req, status, msg);
}

/* ---- files ---- */

static void http_date(time_t t, char *out, size_t n)
{
    /* Not strftime: its day and month names follow the locale. */
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Weak comparison of our (strong) tag against an If-None-Match list or "*". */
static int none_match(const char *header, const char *etag)
{
    size_t elen = strlen(etag);
    const char *s = header;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (*s == '*')
            return 1;
        if (s[0] == 'W' && s[1] == '/')
            s += 2;
        if (*s != '"')
            return 0; /* malformed: treat as no match and serve the file */
        const char *end = strchr(s + 1, '"');
        if (!end)
            return 0;
        size_t n = (size_t)(end - s) + 1;
        if (n == elen && memcmp(s, etag, n) == 0)
            return 1;
        s = end + 1;
    }
    return 0;
}

/* If-Range: a strong tag equal to ours, or a date equal to our Last-Modified. */
static int if_range_holds(const char *header, const char *etag, const char *last_modified)
{
    while (*header == ' ' || *header == '\t')
        header++;
    if (header[0] == 'W' && header[1] == '/')
        return 0; /* weak tags never validate a range */
    if (header[0] == '"')
        return strcmp(header, etag) == 0;
    return strcmp(header, last_modified) == 0;
}

void http_respond_file(struct http_request *req, const struct http_file *f)
{
    char etag[64], last_modified[64], buf[96];
    snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "\"", f->size, (uint64_t)f->mtime);
    http_date(f->mtime, last_modified, sizeof(last_modified));
    http_add_header(req, "ETag", etag);
    http_add_header(req, "Last-Modified", last_modified);
    http_add_header(req, "Accept-Ranges", "bytes");
    if (f->cache_control)
        http_add_header(req, "Cache-Control", f->cache_control);

    const char *inm = http_request_header(req, "If-None-Match");
    if (inm && none_match(inm, etag)) {
        close(f->fd);
        http_respond_empty(req, 304);
        return;
    }

    struct range r = { 0, 0 };
    enum range_kind kind = RANGE_NONE;
    const char *range = http_request_header(req, "Range");
    const char *if_range = http_request_header(req, "If-Range");
    if (range && (!if_range || if_range_holds(if_range, etag, last_modified)))
        kind = range_parse(range, f->size, &r);

    if (kind == RANGE_UNSATISFIABLE) {
        close(f->fd);
        snprintf(buf, sizeof(buf), "bytes */%" PRIu64, f->size);
        http_add_header(req, "Content-Range", buf);
        snprintf(buf, sizeof(buf), "the requested range is outside the file (%" PRIu64 " bytes)",
                 f->size);
        http_respond_problem(req, 416, buf);
        return;
    }

    uint64_t offset = 0, len = f->size;
    unsigned status = 200;
    if (kind == RANGE_ONE) {
        offset = r.start;
        len = r.end - r.start + 1;
        status = 206;
        snprintf(buf, sizeof(buf), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, r.start, r.end,
                 f->size);
        http_add_header(req, "Content-Range", buf);
    }

    struct MHD_Response *resp;
    if (len == 0) {
        /* An fd response of size 0 gains nothing; answer from an empty buffer. */
        close(f->fd);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        /* MHD owns the fd from here and closes it when the response is destroyed. */
        resp = MHD_create_response_from_fd_at_offset64(len, f->fd, offset);
    }
    if (!resp) {
        if (len)
            close(f->fd);
        http_respond_problem(req, 500, "the server could not prepare the file; try again");
        return;
    }
    if (f->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    http_stage_response(req, resp, status, len);
}
