/* SPDX-License-Identifier: MIT */
/*
 * The HTTP layer: a server on libmicrohttpd (epoll thread pool, keep-alive),
 * a router with path parameters, request accessors, responses (JSON, RFC 9457
 * problems, files with Range/ETag/HEAD served by sendfile), CORS, a request id
 * and one JSON log line per request, and a streaming multipart/form-data parser.
 * The only module that includes microhttpd.h; none of its types appear here.
 *
 * Threading: handlers run on the server's threads, several at once. A handler
 * must not block on the network (disk I/O and short database calls are fine).
 */
#ifndef KINO_HTTP_HTTP_H
#define KINO_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"

struct http_server;
struct http_request;

/* Called once the request is complete (with its body, unless the route streams it).
 * It must answer exactly once with one of the http_respond_* functions; if it
 * does not, the server answers 500. */
typedef void (*http_handler_fn)(struct http_request *req);

/*
 * For routes that stream their body (uploads): called first with data=NULL,len=0
 * once the headers are in (before any body byte, and before "100 Continue" is
 * sent), so that http_request_content_length and the headers can be checked
 * early; then with each non-empty chunk of the body as it arrives, in order,
 * before the handler. `data` is borrowed for the call only. Return 0 to go on.
 * To stop, answer with http_respond_* (e.g. 413, 400) and return a negative code:
 * the handler is then not called and the connection is closed after the answer.
 * An answer from the (NULL, 0) call goes out at once, without reading the body.
 * An answer given later can only be sent once the body is read (libmicrohttpd
 * 0.9.75 cannot answer mid-body): the rest is read and dropped, and past 16 MiB
 * more the connection is cut without an answer. Returning negative without
 * answering gives a 500. State set with http_request_set_state is cleaned up
 * however the request ends.
 */
typedef int (*http_body_fn)(struct http_request *req, const char *data, size_t len);

struct http_route {
    const char *method;  /* "GET", "POST", ...; a GET route also answers HEAD */
    const char *pattern; /* "/api/v1/media/{id}"; a last segment "{*rest}" matches the rest of the path */
    http_handler_fn handler;
    http_body_fn on_body; /* NULL: the body is buffered up to max_body_bytes (413 past it) */
};

struct http_server_config {
    const char *host;        /* "127.0.0.1", "0.0.0.0", "::" */
    uint16_t port;           /* 0: pick a free port (see http_server_port) */
    unsigned threads;        /* event threads in MHD's pool; 0 = number of cores */
    size_t max_body_bytes;   /* cap on buffered bodies (JSON); default 1 MiB when 0 */
    unsigned connection_timeout_s; /* idle keep-alive connections are closed after this; 0 = 60 */
};

/*
 * Start serving `routes` (borrowed until http_server_free) on the configured
 * address. `app` is handed to every handler (http_request_app). Fails with
 * -errno (e.g. -EADDRINUSE) and a message in `err` that names the address.
 */
int http_server_start(const struct http_server_config *cfg, const struct http_route *routes,
                      size_t n_routes, void *app, struct http_server **ret_server,
                      struct kino_err *err);

/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *srv);

/*
 * Graceful stop: stop accepting connections, wait up to `grace_ms` for
 * requests in flight to finish (idle keep-alive connections are not waited
 * for; answers given meanwhile carry Connection: close), then close everything.
 * A second call does nothing. Call it from the thread that started the server,
 * never from a handler.
 */
void http_server_stop(struct http_server *srv, unsigned grace_ms);

/* Stop (immediately if not yet stopped) and free. Accepts NULL. Not from a handler. */
void http_server_free(struct http_server *srv);

/* ---- request accessors (all strings borrowed until the request ends) ---- */

void *http_request_app(struct http_request *req);
const char *http_request_id(struct http_request *req);     /* X-Request-Id or a random one */
const char *http_request_method(struct http_request *req); /* "GET", "HEAD", ... */
const char *http_request_path(struct http_request *req);   /* the path as sent, without the query */
/*
 * A route parameter ("{id}", or "rest" for "{*rest}"), percent-decoded; NULL if
 * absent. Never empty, never contains NUL; a `{name}` value never contains "/",
 * and a `{*rest}` value has no "." or ".." segment (such paths get 404), so
 * rest can name a file under a directory safely.
 */
const char *http_request_param(struct http_request *req, const char *name);
/* A query-string argument, decoded ('+' is a space); "" for "?flag"; NULL if absent or malformed. */
const char *http_request_query(struct http_request *req, const char *name);
/* A request header (case-insensitive name); NULL if absent. */
const char *http_request_header(struct http_request *req, const char *name);
/* Declared Content-Length, or -1 when the body is chunked or absent. */
int64_t http_request_content_length(struct http_request *req);
/* The buffered body (routes without on_body); empty when none. */
struct str http_request_body(struct http_request *req);
/* "scheme://host[:port]" the client used (from the Host header), for absolute URLs. */
const char *http_request_base_url(struct http_request *req);
/*
 * The peer's IP address as text ("192.0.2.7", "2001:db8::1"; an IPv4 client of
 * a "::" listener as its IPv4 form), or "unknown" when MHD cannot tell. This is
 * the TCP peer: behind a proxy it is the proxy's address.
 */
const char *http_request_client_address(struct http_request *req);

/*
 * Per-request state for handlers and body callbacks. `cleanup` (may be NULL)
 * runs exactly once when the request ends, however it ends — completed,
 * answered early, or the client went away mid-body — so a streaming upload
 * can remove its temporary file. Setting new state replaces the old without
 * running its cleanup.
 */
void http_request_set_state(struct http_request *req, void *state, void (*cleanup)(void *state));
void *http_request_state(struct http_request *req);

/* ---- responses: each http_respond_* answers the request once ---- */

/*
 * Add a header to the coming response (e.g. "Location", "Cache-Control"); call it
 * before the http_respond_* call. Copies both. Every answer also carries
 * X-Request-Id and the CORS headers.
 */
void http_add_header(struct http_request *req, const char *name, const char *value);

/* Answer with `len` bytes of `body` (copied) and the given Content-Type. */
void http_respond(struct http_request *req, unsigned status, const char *content_type,
                  const void *body, size_t len);

/* Answer with a JSON text (copied), Content-Type application/json. */
void http_respond_json(struct http_request *req, unsigned status, const char *json);

/* Answer with no body (204, 304, ...). */
void http_respond_empty(struct http_request *req, unsigned status);

/*
 * Answer with an RFC 9457 problem (application/problem+json):
 * {"type":"about:blank","title":<standard reason phrase>,"status":status,
 *  "detail":detail,"instance":request path,"request_id":...}.
 * `detail` says what happened and what to do.
 */
void http_respond_problem(struct http_request *req, unsigned status, const char *detail);

/*
 * http_respond_problem with the status that goes with a kino error code, detail
 * from `err` (or the code's description). For a 500 the message is logged with
 * the request id and the client gets only "see the server log for request id …".
 */
void http_respond_error(struct http_request *req, int code, const struct kino_err *err);

/*
 * The HTTP status for a kino error code: KINO_EINVAL, KINO_EPROTO 400; KINO_ENOTFOUND
 * 404; KINO_ECONFLICT, KINO_ECANCELED 409; KINO_ETOOBIG 413; KINO_EMEDIA 422;
 * -ENOSPC 507; anything else 500.
 */
unsigned http_status_for_error(int code);

/* How to serve a file. */
struct http_file {
    int fd;                    /* open for reading; http_respond_file takes ownership */
    uint64_t size;
    time_t mtime;
    const char *content_type;  /* e.g. "video/iso.segment" */
    const char *cache_control; /* NULL: none */
};

/*
 * Serve a file with sendfile: 200 with Content-Length, or for GET/HEAD with a
 * single `Range: bytes=` a 206 with Content-Range (416 with `bytes * /size`
 * and a problem body when it cannot be satisfied; several ranges or a
 * malformed header are answered with the whole file). A strong ETag
 * "<size hex>-<mtime hex>", Last-Modified, Accept-Ranges: bytes, and
 * Cache-Control from f->cache_control on every answer; If-None-Match (a list,
 * weak comparison, or *) → 304 without a body; If-Range that does not match
 * (ETag or Last-Modified date) → the whole file. HEAD sends the headers only,
 * with the Content-Length a GET would get. Takes ownership of f->fd in every
 * case (it is closed when the answer is done or dropped). The fd is read from
 * its start, whatever its file offset.
 */
void http_respond_file(struct http_request *req, const struct http_file *f);

/* ---- multipart/form-data, streaming (RFC 7578) ---- */

/* Callbacks of the multipart parser; each returns 0 to go on or a negative code to stop. */
struct multipart_callbacks {
    /* A part starts. `name` is the form field name, `filename` NULL for plain fields,
     * `content_type` NULL when the part has none. All three are borrowed for the call. */
    int (*part_begin)(void *ctx, const char *name, const char *filename, const char *content_type);
    /* The next bytes of the part, exactly as sent (len > 0; borrowed for the call). */
    int (*part_data)(void *ctx, const char *data, size_t len);
    int (*part_end)(void *ctx);
};

/* Opaque parser state; a fixed amount of memory whatever the body size. */
struct multipart;

/*
 * Make a parser for a body with the given Content-Type header. Fails with
 * KINO_EPROTO and a message when it is not multipart/form-data or has no boundary.
 * Caller frees with multipart_free.
 */
int multipart_new(const char *content_type, const struct multipart_callbacks *cb, void *ctx,
                  struct multipart **ret_mp, struct kino_err *err);

/*
 * Feed the next `len` bytes. Returns 0, a callback's negative code, or
 * KINO_EPROTO (with a message) on malformed input: headers too long (over
 * 8 KiB per part), a part without Content-Disposition, data after the end.
 */
int multipart_feed(struct multipart *mp, const char *data, size_t len, struct kino_err *err);

/* After the last chunk: 0 if the closing boundary was seen, else KINO_EPROTO ("body ended early"). */
int multipart_finish(struct multipart *mp, struct kino_err *err);

void multipart_free(struct multipart *mp);

#endif
