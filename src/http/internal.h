/* SPDX-License-Identifier: MIT */
/*
 * Private to http/: the server and request structs shared by server.c (MHD
 * lifecycle) and response.c (building answers). Includes microhttpd.h, so it
 * must never be included from outside src/http/.
 */
#ifndef KINO_HTTP_INTERNAL_H
#define KINO_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "http/http.h"
#include "http/router.h"

#define HTTP_REQUEST_ID_MAX 64

struct http_server {
    struct MHD_Daemon *daemon;
    const struct http_route *routes;
    size_t n_routes;
    void *app;
    size_t max_body_bytes;
    uint16_t port;
    char listen_addr[80];      /* "127.0.0.1:8080", "[::1]:8080": base URL without Host */
    int listen_fd;             /* ours until MHD_quiesce_daemon hands it back */
    atomic_int in_flight;      /* requests with headers in and not yet completed */
    atomic_int stopping;       /* answers carry Connection: close once set */
    int stopped;
};

struct http_header {
    struct http_header *next;
    char *name;
    char *value;
};

struct http_alloc {
    struct http_alloc *next;
    char *ptr;
};

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *conn;
    int fd; /* the connection's socket, MHD's: only polled and shut for reading */
    char id[HTTP_REQUEST_ID_MAX + 1];
    char *method;
    char *path;
    struct timespec started;
    int64_t content_length;
    struct router_match match;
    struct buf body;

    /* The answer is staged here and queued by server.c when MHD allows it:
     * MHD_queue_response fails while the body is being received. */
    struct MHD_Response *response;
    unsigned status;
    uint64_t bytes;
    int responded;
    int queued;
    int close_after; /* add Connection: close: the rest of the body is discarded */
    struct http_header *headers;

    int discarding;     /* on_body stopped or the buffer overflowed: drop the rest */
    uint64_t discarded;

    void *state;
    void (*cleanup)(void *state);
    char *base_url;
    struct http_alloc *allocs; /* decoded query values, freed with the request */
};

/* Stage `resp` (takes ownership) as the answer with `status`; body size `bytes` for the log. */
void http_stage_response(struct http_request *req, struct MHD_Response *resp, unsigned status,
                         uint64_t bytes);

/* The standard reason phrase for a status ("Not Found"), "Unknown" if none. */
const char *http_reason_phrase(unsigned status);

#endif
